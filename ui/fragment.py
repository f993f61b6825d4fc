"""Sections of a page that rerun alone (st.fragment), with the app's rule for engine errors.

app.py shows an engine error as its sentence around the whole page, but Streamlit catches what a
fragment raises inside the fragment and shows a traceback there; each fragment catches it itself.
"""

from collections.abc import Callable
from functools import wraps

import streamlit as st

from icp.errors import IcpError
from ui.said import said
from ui.state import refresh_run


def fragment(section: Callable[[], None]) -> Callable[[], None]:
    @wraps(section)
    def shown() -> None:
        refresh_run()
        try:
            section()
        except IcpError as err:
            said(err, show=st.error)

    return st.fragment(shown)
