"""Numbers in tables as a founder reads them: shares as percentages, money compact, years bare.

Only how a table shows its columns; the data (and every export) keeps its figures as they are.
"""

import pandas as pd
import streamlit as st

from icp.data.roles import table_format


def number_columns(frame: pd.DataFrame, labels: dict[str, str] | None = None,
                   titles: dict[str, str] | None = None) -> dict:
    """A column_config entry for each numeric column of `frame` (yes/no columns left as they are),
    formatted by icp.data.roles.table_format; `labels` maps a shown column name to the engine's name
    when the table renamed it ("win rate" for win_rate). `titles` heads columns (any kind) in the
    user's words ("Win rate" over win_rate)."""
    engine_name = {shown: name for name, shown in (labels or {}).items()}
    titles = titles or {}
    config = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            if column in titles:
                config[column] = st.column_config.Column(titles[column])
            continue
        config[column] = st.column_config.NumberColumn(titles.get(column), format=table_format(
            engine_name.get(column, column)))
    return config
