"""Step 2, Success: which customers count as the best, by criteria the user weights."""

import streamlit as st

from icp.analysis.success import SuccessSettings, apart_lines, default_settings
from icp.errors import IcpError
from icp.export.charts import value_distribution
from ui.cache import scored_customers, success_summary
from ui.fragment import fragment
from ui.said import said
from ui.settings import SUCCESS_KEY, success_settings
from ui.state import current_workspace, require_customers
from ui.tables import number_columns
from ui.text import literal

SHOWN_ROWS = 200

workspace = current_workspace()
st.title(":material/emoji_events: Success")
st.caption(
    "Each customer gets a value score from 0 to 100: the weighted mean of its percentile rank on each "
    "criterion (a missing value is left out, not counted as zero). The top share are your best customers."
)
require_customers(workspace)


@fragment
def criteria_and_best_customers():
    """The weights and everything they move; a slider reruns only this section."""
    saved = success_settings(workspace)
    controls, results = st.columns([1, 2], gap="large")
    with controls:
        st.subheader("Criteria")
        criteria = []
        for c in saved.criteria:
            arrow = "higher is better" if c.direction == "higher" else "lower is better"
            weight = st.slider(f"{literal(c.label)} ({arrow})", 0.0, 10.0, float(c.weight), 0.5, key=f"weight_{c.column}")
            criteria.append(c.model_copy(update={"weight": weight}))
        st.subheader("Best customers")
        by_threshold = st.toggle("Use a minimum score instead of a share", value=saved.min_score is not None)
        if by_threshold:
            min_score = st.slider("Minimum value score", 0, 100, int(saved.min_score or 75), key="min_score")
            best_share = saved.best_share
        else:
            min_score = None
            best_share = st.slider("Share of customers that count as best", 5, 90, int(round(saved.best_share * 100)),
                                   5, format="%d%%", key="best_share") / 100
        if st.button("Reset to the suggested criteria", icon=":material/restart_alt:"):
            workspace.save_settings(SUCCESS_KEY, default_settings(workspace))
            for key in [k for k in st.session_state if str(k).startswith("weight_")] + ["best_share", "min_score"]:
                st.session_state.pop(key, None)
            st.rerun()

    settings = SuccessSettings(criteria=tuple(criteria), best_share=best_share, min_score=min_score,
                               value_column=saved.value_column)
    if settings != saved:
        workspace.save_settings(SUCCESS_KEY, settings)

    with results:
        try:
            summary = success_summary(workspace.id, workspace.data_version, settings.model_dump_json())
            scores = scored_customers(workspace.id, workspace.data_version, settings.model_dump_json())
        except IcpError as err:
            said(err)
            return
        left, middle, right = st.columns(3)
        left.metric("Best customers", f"{summary.best:,}", help="customers counted as best")
        middle.metric("Scored customers", f"{summary.scored:,}",
                      help=f"{summary.unscored:,} have no value on any weighted criterion" if summary.unscored else None)
        right.metric("Cut-off score", "–" if summary.threshold_score is None else f"{summary.threshold_score:.0f}")
        st.altair_chart(value_distribution(scores, summary.threshold_score), width="stretch")
        st.markdown("**What sets the best customers apart**")
        st.markdown("\n".join(f"- {literal(line)}" for line in apart_lines(summary))
                    or "No weighted criterion has values for both groups.")

    best, rest = scores[scores["is_best"]], scores[~scores["is_best"]]
    st.subheader("Who is in and who is out")
    in_tab, out_tab = st.tabs([f"Best customers ({len(best):,})", f"The rest ({len(rest):,})"])
    columns = {"value_rank": "rank", "value_score": "value score"}
    titles = {c.column: c.label for c in settings.criteria} | {"account_name": "Company"}
    for tab, frame in ((in_tab, best), (out_tab, rest)):
        with tab:
            shown = frame.drop(columns=["account_key", "is_best"]).head(SHOWN_ROWS).rename(columns=columns)
            # Rates as percentages and money compact, as the summary above writes them.
            st.dataframe(shown, hide_index=True, width="stretch",
                         column_config={**number_columns(shown, titles=titles),
                                        "value score": st.column_config.NumberColumn(format="%.1f"),
                                        "rank": st.column_config.NumberColumn(format="%d")})
            if len(frame) > SHOWN_ROWS:
                st.caption(f"The first {SHOWN_ROWS} of {len(frame):,}, by value score.")


criteria_and_best_customers()
st.page_link("views/patterns.py", label="Next: what the best customers share", icon=":material/arrow_forward:")
