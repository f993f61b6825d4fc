"""ICP Explorer: the router. Page code lives in pages/, the engine in icp/."""

import streamlit as st

from ui import sidebar
from ui.state import current_workspace

st.set_page_config(page_title="ICP Explorer", page_icon=":material/target:", layout="wide")

workspace = current_workspace()
sidebar.render(workspace)

pages = [
    st.Page("pages/home.py", title="Start", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="1. Data", icon=":material/upload_file:", url_path="data"),
]
pg = st.navigation(pages)
if workspace is None:
    st.stop()
pg.run()
