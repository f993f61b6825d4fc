"""Optional sign-in with `st.login` (OpenID Connect).

Off unless `.streamlit/secrets.toml` has an `[auth]` section (see docs/sign-in.md). When on, a
signed-out visitor sees only a sign-in button, and every workspace belongs to the user who made it.
"""

from pathlib import Path

import streamlit as st

from icp.data.owners import owner_key
from ui.text import literal


def sign_in_required() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError as err:
        if not any(Path(f).exists() for f in st.get_option("secrets.files")):
            return False  # no secrets file at all: sign-in is off
        # A secrets file that does not parse may be meant to turn sign-in on: never fail open.
        st.error("The secrets file could not be read, so the app cannot tell whether sign-in is on: " + literal(err))
        st.stop()


def current_owner() -> str | None:
    """The signed-in user's owner key; None when sign-in is off. Signed out: the sign-in page, then stop."""
    if not sign_in_required():
        return None
    if not st.user.is_logged_in:
        st.title(":material/target: ICP Explorer")
        st.markdown("Sign in to open your workspaces. Each workspace is visible only to the person who made it.")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)
        st.stop()
    subject = st.user.get("sub") or st.user.get("email")
    if not subject:
        st.error("Your sign-in did not say who you are (no subject or email claim). Ask your administrator.")
        st.stop()
    return owner_key(st.user.get("iss"), str(subject))


def sign_out_button() -> None:
    if sign_in_required() and st.user.is_logged_in:
        label = st.user.get("email") or st.user.get("name") or "you"
        st.caption(f"Signed in as {literal(label)}")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, width="stretch")
