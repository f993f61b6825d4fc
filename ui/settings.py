"""Settings the user tunes on a page, kept in the workspace so a refresh or restart finds them."""

from streamlit.runtime.scriptrunner import get_script_run_ctx

from icp.analysis.success import SuccessSettings, settings_in_use
from icp.data.workspace import Workspace
from icp.profile.draft import ICP_KEY, draft_icp
from icp.profile.model import ICP
from ui.cache import success_in_use

SUCCESS_KEY = "success"


def success_settings(workspace: Workspace) -> SuccessSettings:
    """The saved success settings if they still fit this data, else the defaults for it; checked
    once per data version and saved settings, not on every rerun of every page."""
    saved = workspace.load_settings(SUCCESS_KEY, SuccessSettings)
    if get_script_run_ctx() is None:  # outside a page run (a test's setup): a session cache cannot be read
        return settings_in_use(workspace, saved)
    return success_in_use(workspace.id, workspace.data_version, saved.model_dump_json() if saved else None)


def working_icp(workspace: Workspace) -> ICP:
    """The ICP being edited: the saved working copy, else a draft from the evidence (saved at once,
    so every page and every tab sees the same one)."""
    saved = workspace.load_settings(ICP_KEY, ICP)
    if saved is not None:
        return saved
    if get_script_run_ctx() is None:
        drafted = draft_icp(workspace, success_settings(workspace))
    else:
        import streamlit as st

        with st.spinner("Drafting the ICP from the evidence…"):  # seconds on a large customer list
            drafted = draft_icp(workspace, success_settings(workspace))
    workspace.save_settings(ICP_KEY, drafted)
    return drafted
