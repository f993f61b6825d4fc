"""The session's workspace: taken from the URL (`?ws=<id>`), else the shared demo, read-only until
the visitor's first change, which makes a copy of their own (and puts its id in the URL)."""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from icp.data.owners import claim, open_as
from icp.data.reports import ListReport
from icp.data.workspace import Workspace
from icp.demo_workspace import housekeeping, shared_demo
from icp.errors import IcpError
from icp.paths import SHARED_DEMO
from ui.auth import current_owner
from ui.said import said

_KEY = "workspace_id"
# The handle of this page run: app.py and the page it routes to share it, so the file is opened and
# its metadata read once a run (it was eleven times, about 20 ms each).
_HANDLE = "_workspace_of_this_run"


def start_run() -> None:
    """Called first by app.py on every run: the next `current_workspace` reads the file afresh."""
    st.session_state.pop(_HANDLE, None)


def refresh_run() -> None:
    """When a fragment reruns alone: the handle its page holds reads the metadata again, so a
    change made meanwhile (in another tab) is seen. Within a whole run it is fresh already."""
    ctx = get_script_run_ctx()
    alone = ctx is None or getattr(ctx, "fragment_ids_this_run", True)
    workspace = st.session_state.get(_HANDLE)
    if alone and workspace is not None:
        workspace.pin()


def current_workspace() -> Workspace | None:
    """The workspace of this session, or None (with a message shown) when the link is bad."""
    workspace = st.session_state.get(_HANDLE)
    if workspace is not None and workspace.id == st.session_state.get(_KEY, SHARED_DEMO):
        return workspace
    workspace = _open()
    st.session_state[_HANDLE] = workspace
    return workspace


def _open() -> Workspace | None:
    owner = current_owner()
    try:
        housekeeping()  # at most once every 10 minutes a process, whoever visits
    except IcpError as err:  # a setting the sweep cannot use: said, and the visit goes on
        st.warning(str(err))
    wanted = st.query_params.get("ws") or st.session_state.get(_KEY)
    if wanted is None:
        with st.spinner("Opening the demo workspace…"):
            return shared_demo(owner=owner, on_copy=_remember).pin()
    try:
        workspace = open_as(wanted, owner)
        workspace.pin()  # a damaged file is a message here, not a crash on the page
    except IcpError as err:
        said(err, show=st.error)
        st.session_state.pop(_KEY, None)
        return None
    _remember(workspace)
    return workspace


def _remember(workspace: Workspace) -> None:
    st.session_state[_KEY] = workspace.id
    # Navigation between pages drops query parameters; putting it back keeps the link shareable.
    if st.query_params.get("ws") != workspace.id:
        st.query_params["ws"] = workspace.id


def owned(workspace: Workspace) -> Workspace:
    """A workspace just made for this session, claimed by the signed-in user when sign-in is on."""
    owner = current_owner()
    return workspace if owner is None else claim(workspace, owner)


def switch_to(workspace: Workspace) -> None:
    _remember(workspace)
    st.rerun()


def switch_to_demo() -> None:
    """Back to the shared demo: no link, no copy until the next change."""
    st.session_state.pop(_KEY, None)
    st.query_params.pop("ws", None)
    st.rerun()


@st.cache_data(scope="session", show_spinner=False, max_entries=64)
def list_reports(workspace_id: str, data_version: int) -> dict[str, ListReport]:
    """Keyed by id and data version: a change to the workspace is never served stale."""
    del data_version
    return Workspace(workspace_id).lists()


def reports(workspace: Workspace) -> dict[str, ListReport]:
    return list_reports(workspace.id, workspace.data_version)


def require_customers(workspace: Workspace) -> None:
    """Steps after Data need customers (or orders): say so, with the way there, and stop the page."""
    if {"customers", "orders"} & set(reports(workspace)):
        return
    st.info("Upload a customer list (or orders) on the Data page first.")
    st.page_link("views/data.py", label="Go to Data", icon=":material/arrow_back:")
    st.stop()
