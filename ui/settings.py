"""Settings the user tunes on a page, kept in the workspace so a refresh or restart finds them."""

from icp.errors import IcpError
from icp.success import SuccessSettings, default_settings, score_summary
from icp.workspace import Workspace

SUCCESS_KEY = "success"


def success_settings(workspace: Workspace) -> SuccessSettings:
    """The saved success settings if they still fit this data, else the defaults for it."""
    saved = workspace.load_settings(SUCCESS_KEY, SuccessSettings)
    if saved is not None:
        try:
            score_summary(workspace, saved)  # checks every criterion still names a numeric column
            return saved
        except IcpError:
            pass
    return default_settings(workspace)
