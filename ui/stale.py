"""Figures resting on an old success definition, said on every page that shows them."""

import streamlit as st

from icp.data.workspace import Workspace
from icp.profile.model import ICP
from ui.settings import success_settings


def warn_if_success_changed(workspace: Workspace, icp: ICP, *, on_icp_page: bool = False) -> bool:
    """Warn when the ICP was drafted under another definition of best customers than the Success
    page's now; elsewhere than the ICP page, link to it, where it is redrafted or kept. Whether it was."""
    if icp.success == success_settings(workspace):
        return False
    st.warning("This ICP was drafted when best customers were defined otherwise (Success page): its evidence, "
               "tiers, backtest and market figures rest on the old definition. "
               + ("Redraft from the current one, or keep these criteria and measure their evidence under it."
                  if on_icp_page else
                  "On the ICP page, redraft it from the current one, or keep its criteria and measure their "
                  "evidence under it."), icon=":material/history:")
    if not on_icp_page:
        st.page_link("views/icp.py", label="Redraft or keep on the ICP page", icon=":material/target:")
    return True
