"""Cached engine calls. Keyed by workspace id, data version and the settings' JSON, scoped to the
session: a change anywhere gives a new key, and one user's results never reach another."""

import pandas as pd
import streamlit as st

from icp import success
from icp.workspace import Workspace


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def scored_customers(workspace_id: str, data_version: int, settings_json: str) -> pd.DataFrame:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return success.score_customers(Workspace(workspace_id), settings)


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def success_summary(workspace_id: str, data_version: int, settings_json: str) -> success.SuccessSummary:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return success.score_summary(Workspace(workspace_id), settings)
