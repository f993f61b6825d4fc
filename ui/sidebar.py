"""The sidebar every page shares: the workspace and the status of its lists."""

import streamlit as st

from icp.data.workspace import Workspace
from icp.errors import IcpError
from ui.auth import sign_in_required, sign_out_button
from ui.said import said
from ui.state import owned, reports, switch_to, switch_to_demo
from ui.text import literal


def render(workspace: Workspace | None) -> None:
    with st.sidebar:
        sign_out_button()
        st.subheader("Workspace")
        if workspace is not None:
            st.markdown(f"**{literal(workspace.name)}**")
            with st.popover("Rename", width="stretch"):
                name = st.text_input("New name", value=workspace.name, key="rename_to")
                if st.button("Save name", key="rename_save"):
                    try:
                        workspace.rename(name)
                        st.toast("Workspace renamed")
                        st.rerun()
                    except IcpError as err:
                        said(err, show=st.error)
        if st.button("New workspace", icon=":material/add:", width="stretch"):
            switch_to(owned(Workspace.create("My workspace")))
        if st.button("Open a fresh demo", icon=":material/science:", width="stretch"):
            switch_to_demo()
        if workspace is None:
            return
        if workspace.shared:
            st.caption("This demo is shared by every visitor and stays as it is: your first change (an "
                       "upload, a setting, a rename) makes a copy of your own, with a link to bookmark.")
        else:
            st.caption("Bookmark this page's link to come back to this workspace; "
                       + ("only you can open it, even with the link." if sign_in_required()
                          else "anyone with the link can open it."))
        st.subheader("Data")
        lists = reports(workspace)
        if not lists:
            st.info("No lists yet: upload your customers on the Data page.")
        for kind, report in lists.items():
            st.markdown(f"- **{kind}**: {report.rows_kept:,} rows · {literal(report.file)}")
