"""Step 3, Patterns: what best (or churned, or low-value) customers share, with the evidence."""

import streamlit as st

from icp.analysis import SIDES, findings_frame
from icp.errors import IcpError
from icp.export.charts import best_vs_rest, lift_chart
from ui.cache import pattern_report, sides
from ui.said import said
from ui.settings import success_settings
from ui.state import current_workspace, require_customers
from ui.text import literal
from ui.url import keep, restore

SHOWN_FINDINGS = 200

workspace = current_workspace()
st.title(":material/insights: Patterns")
st.caption(
    "Every value of every attribute, compared between a group and the rest: share, lift, a 95% interval "
    "and Fisher's exact test, with the false-discovery rate controlled (Benjamini-Hochberg) so that "
    "testing many values does not manufacture findings."
)
require_customers(workspace)

settings = success_settings(workspace)
version = workspace.data_version
available = sides(workspace.id, version)
restored = restore("pattern_side", "compare", available)
side = st.segmented_control("Compare", available, default=None if restored else available[0],
                            format_func=lambda s: SIDES[s][0], key="pattern_side") or available[0]
keep("compare", side)
try:
    report = pattern_report(workspace.id, version, settings.model_dump_json(), side)
except IcpError as err:
    said(err)
    st.stop()

passing = [f for f in report.findings if f.evidence in ("strong", "moderate")]
(st.success if passing else st.info)(literal(report.headline))
if report.directional:
    st.warning(f"Fewer than 30 {SIDES[side][2]}: every finding here is directional, a lead to check, not proof.")
if not report.findings:
    st.stop()

report_frame = findings_frame(report)
st.subheader("Strongest findings")
st.altair_chart(lift_chart(report_frame), width="stretch")
st.caption("Each dot is how many times more common a value is in the group than in the rest; the line is its "
           "95% interval. Dots right of 1x are over-represented, left of 1x under-represented.")

st.subheader("Every tested value")
table = report_frame[["sentence", "evidence", "lift", "lift_low", "lift_high", "q_value", "in_group",
                      "group_size", "in_rest", "rest_size"]].head(SHOWN_FINDINGS)
picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                      key="findings_table", column_config={
    "sentence": st.column_config.TextColumn("finding", width="large"),
    "lift": st.column_config.NumberColumn(format="%.2f"), "lift_low": st.column_config.NumberColumn(format="%.2f"),
    "lift_high": st.column_config.NumberColumn(format="%.2f"),
    "q_value": st.column_config.NumberColumn("q (FDR)", format="%.4f"),
})
if len(report_frame) > SHOWN_FINDINGS:
    st.caption(f"The first {SHOWN_FINDINGS} of {len(report_frame):,}, strongest evidence first.")

st.subheader("One attribute, group against the rest")
st.caption("Click a finding above to show its attribute here.")
labels = dict(zip(report_frame["attribute"], report_frame["label"], strict=False))
rows = picked.selection.rows if picked is not None else []
if rows and rows[0] < len(report_frame):
    st.session_state["pattern_attribute"] = report_frame["attribute"].iloc[rows[0]]
restore("pattern_attribute", "attribute", labels)
attribute = st.selectbox("Attribute", list(labels), format_func=labels.get, key="pattern_attribute")
keep("attribute", attribute)
values = report_frame[(report_frame["attribute"] == attribute) & ~report_frame["best_range"]]
st.altair_chart(best_vs_rest(values, SIDES[side][2]), width="stretch")
st.page_link("views/segments.py", label="Next: segments and clusters", icon=":material/arrow_forward:")
