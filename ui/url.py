"""A widget's value kept in the page's URL, so a refresh (which empties the session) finds it.

For view state that is not the workspace's: a search or a comparison one visitor is looking at.
Saved as a workspace setting it would make the shared demo a copy of one's own at the first
keystroke, and change what every other tab of the workspace shows.
"""

from collections.abc import Collection

import streamlit as st


def restore(key: str, param: str, allowed: Collection[str] | None = None) -> bool:
    """Before the widget is drawn: its value from the URL when the session has none (after a
    refresh). True when the session holds a value for it, so the widget is drawn without a default."""
    value = st.query_params.get(param)
    if key not in st.session_state and value and (allowed is None or value in allowed):
        st.session_state[key] = value
    return key in st.session_state


def keep(param: str, value: str | None) -> None:
    """After the widget: its value in the URL, or no parameter when it is empty."""
    if value:
        if st.query_params.get(param) != value:
            st.query_params[param] = value
    elif param in st.query_params:
        del st.query_params[param]
