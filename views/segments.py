"""Step 4, Segments: rule segments ranked by the user's weights, and clusters found in the data."""

import streamlit as st

from icp.analysis import cluster_features, segment_options
from icp.charts import cluster_scatter, segment_chart
from icp.errors import IcpError
from icp.exports import segments_csv_text
from icp.segments import RankWeights, SegmentSettings, segments_csv
from ui.cache import clusters, rule_segments
from ui.fragment import fragment
from ui.settings import success_settings
from ui.state import current_workspace, require_customers
from ui.text import literal

SEGMENTS_KEY = "segments"
SHOWN_SEGMENTS = 200
SHOWN_MEASURES = ["accounts", "best_customers", "best_share", "best_share_low", "best_share_high", "value_total",
                  "value_mean", "win_rate", "median_cycle_days", "churn_rate", "confidence", "score", "rank"]

workspace = current_workspace()
st.title(":material/grid_view: Segments")
require_customers(workspace)

success = success_settings(workspace)
version = workspace.data_version
options = {a.name: a.label for a in segment_options(workspace)}


@fragment
def rule_segments_section():
    """Dimensions and rank weights with the table they rank; a slider reruns only this tab."""
    saved = workspace.load_settings(SEGMENTS_KEY, SegmentSettings) or SegmentSettings()
    default_dims = [d for d in saved.dimensions if d in options] or list(options)[:2]
    pick, weigh = st.columns([1, 1], gap="large")
    with pick:
        dimensions = st.multiselect("Segment by (one to three)", list(options), default=default_dims,
                                    format_func=options.get, max_selections=3, key="segment_dimensions")
        min_accounts = st.slider("Hide segments with fewer accounts than", 1, 50, saved.min_accounts,
                                 key="segment_min_accounts")
    with weigh:
        st.markdown("**Rank segments by**")
        w = saved.weights
        weights = RankWeights(
            profitability=st.slider("Profitability (mean value)", 0.0, 10.0, w.profitability, 0.5, key="w_profit"),
            velocity=st.slider("Velocity (shorter sales cycle)", 0.0, 10.0, w.velocity, 0.5, key="w_velocity"),
            likelihood_to_close=st.slider("Likelihood to close (win rate)", 0.0, 10.0, w.likelihood_to_close, 0.5,
                                          key="w_close"),
            retention=st.slider("Retention (less churn)", 0.0, 10.0, w.retention, 0.5, key="w_retention"),
        )
    if not dimensions:
        st.info("Pick at least one dimension to segment by.")
    else:
        choice = SegmentSettings(dimensions=tuple(dimensions), weights=weights, min_accounts=min_accounts)
        if choice != saved:
            workspace.save_settings(SEGMENTS_KEY, choice)
        try:
            table = rule_segments(workspace.id, version, success.model_dump_json(), tuple(dimensions),
                                  weights.model_dump_json(), min_accounts)
        except IcpError as err:
            st.warning(literal(err))
        else:
            st.caption(
                f"{len(table):,} segments. Rates and means are shrunk toward the overall figure (empirical Bayes), "
                "so a segment of two lucky accounts does not top the list; confidence says how many accounts "
                "stand behind each row."
            )
            st.altair_chart(segment_chart(table.head(60), dimensions, options), width="stretch")
            shown = table.head(SHOWN_SEGMENTS)[[*dimensions, *SHOWN_MEASURES]]
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                **{d: st.column_config.TextColumn(options.get(d, d)) for d in dimensions},
                "best_customers": st.column_config.NumberColumn("best customers"),
                "best_share": st.column_config.NumberColumn("best share", format="percent"),
                "best_share_low": st.column_config.NumberColumn("best share from", format="percent"),
                "best_share_high": st.column_config.NumberColumn("to (95%)", format="percent"),
                "value_mean": st.column_config.NumberColumn("mean value", format="localized"),
                "value_total": st.column_config.NumberColumn("total value", format="localized"),
                "win_rate": st.column_config.NumberColumn("win rate", format="percent"),
                "median_cycle_days": st.column_config.NumberColumn("median cycle (days)", format="%.0f"),
                "churn_rate": st.column_config.NumberColumn("churn rate", format="percent"),
                "score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%.0f"),
            })
            st.download_button("Download segments.csv", segments_csv_text(segments_csv(table)),
                               file_name="segments.csv", mime="text/csv", icon=":material/download:")


@fragment
def clusters_section():
    """Features and k with the clusters they give; a change reruns only this tab."""
    features = {a.name: a.label for a in cluster_features(workspace)}
    chosen = st.multiselect("Cluster on", list(features), default=list(features), format_func=features.get,
                            key="cluster_features")
    automatic = st.toggle("Choose the number of clusters automatically (silhouette)", value=True, key="cluster_auto")
    k = None if automatic else st.slider("Number of clusters", 2, 10, 4, key="cluster_k")
    if not chosen:
        st.info("Pick at least one attribute to cluster on.")
    else:
        try:
            with st.spinner("Clustering…"):
                result = clusters(workspace.id, version, success.model_dump_json(), tuple(chosen), k)
        except IcpError as err:
            st.warning(literal(err))
        else:
            if result.silhouette:
                st.caption(f"{result.n_clusters} clusters: the best silhouette of k = "
                           f"{', '.join(str(x) for x in result.silhouette)}.")
            st.altair_chart(cluster_scatter(result.points), width="stretch")
            st.dataframe(result.profiles.drop(columns=["top_features"]), hide_index=True, width="stretch",
                         column_config={
                             "share": st.column_config.NumberColumn(format="percent"),
                             "best_share": st.column_config.NumberColumn("best share", format="percent"),
                             "value_mean": st.column_config.NumberColumn("mean value", format="localized"),
                             "sets_apart": st.column_config.TextColumn("what sets it apart", width="large"),
                         })


rules_tab, clusters_tab = st.tabs(["Rule segments", "Clusters"])
with rules_tab:
    rule_segments_section()
with clusters_tab:
    clusters_section()
st.page_link("views/icp.py", label="Next: write the ICP", icon=":material/arrow_forward:")
