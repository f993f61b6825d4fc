"""An engine error said on the page: its sentence as literal text, then what was kept."""

from collections.abc import Callable

import streamlit as st

from icp.errors import IcpError
from ui.text import literal


def said_text(err: IcpError, then: str = "") -> str:
    """`err`'s sentence as literal markdown, then `then` (the page's own words: what was kept, e.g.
    "Nothing in the workspace was changed.")."""
    return f"{literal(err)} {then}" if then else literal(err)


def said(err: IcpError, then: str = "", show: Callable[[str], object] = st.warning) -> None:
    """Shows `said_text(err, then)` with `show`: st.warning, st.error, st.info, st.caption, or a
    column's own (`right.error`)."""
    show(said_text(err, then))
