"""Settings the user tunes on a page, kept in the workspace so a refresh or restart finds them."""

from icp.draft import ICP_KEY, draft_icp
from icp.errors import IcpError
from icp.model import ICP
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


def working_icp(workspace: Workspace) -> ICP:
    """The ICP being edited: the saved working copy, else a draft from the evidence (saved at once,
    so every page and every tab sees the same one)."""
    saved = workspace.load_settings(ICP_KEY, ICP)
    if saved is not None:
        return saved
    drafted = draft_icp(workspace, success_settings(workspace))
    workspace.save_settings(ICP_KEY, drafted)
    return drafted
