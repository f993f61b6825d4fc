"""ICP Explorer: the router. Page code lives in views/, the engine in icp/."""

import streamlit as st

from icp.errors import IcpError
from ui import sidebar
from ui.state import current_workspace, start_run
from ui.text import literal

st.set_page_config(page_title="ICP Explorer", page_icon=":material/target:", layout="wide")

start_run()
workspace = current_workspace()
sidebar.render(workspace)

pages = [
    st.Page("views/home.py", title="Start", icon=":material/home:", default=True),
    st.Page("views/data.py", title="1. Data", icon=":material/upload_file:", url_path="data"),
    st.Page("views/success.py", title="2. Success", icon=":material/emoji_events:", url_path="success"),
    st.Page("views/patterns.py", title="3. Patterns", icon=":material/insights:", url_path="patterns"),
    st.Page("views/segments.py", title="4. Segments", icon=":material/grid_view:", url_path="segments"),
    st.Page("views/icp.py", title="5. ICP", icon=":material/target:", url_path="icp"),
    st.Page("views/market.py", title="6. Market", icon=":material/public:", url_path="market"),
    st.Page("views/targets.py", title="7. Targets", icon=":material/format_list_numbered:", url_path="targets"),
    st.Page("views/export.py", title="8. Export", icon=":material/download:", url_path="export"),
]
pg = st.navigation(pages)
if workspace is None:
    st.stop()
try:
    pg.run()
except IcpError as err:  # e.g. a workspace damaged in a block only this page reads: a sentence, not a traceback
    st.error(literal(err))
