"""Step 4, Segments: rule segments ranked by the user's weights, and clusters found in the data."""

import streamlit as st

from icp.analysis.segments import (
    MinimumChoice,
    RankWeights,
    SegmentSettings,
    absent_terms,
    rank_segments,
    segments_csv,
    split_small,
    suggested_min_accounts,
)
from icp.errors import IcpError
from icp.export.charts import cluster_scatter, segment_chart
from icp.export.tables import segments_csv_text
from ui.cache import clusters, pattern_attributes, rule_segments, segment_options
from ui.fragment import fragment
from ui.said import said
from ui.settings import success_settings
from ui.state import current_workspace, require_customers
from ui.text import literal

SEGMENTS_KEY = "segments"
MIN_KEY = "segments_min_accounts"
SHOWN_SEGMENTS = 200
# Rank terms as their sliders name them, with each slider's key.
TERM_SLIDERS = {
    "profitability": ("Profitability (mean value)", "w_profit"),
    "velocity": ("Velocity (shorter sales cycle)", "w_velocity"),
    "likelihood_to_close": ("Likelihood to close (win rate)", "w_close"),
    "retention": ("Retention (less churn)", "w_retention"),
}
SHOWN_MEASURES = ["accounts", "best_customers", "best_share", "best_share_low", "best_share_high", "value_total",
                  "value_mean", "win_rate", "median_cycle_days", "churn_rate", "confidence", "score", "rank"]

workspace = current_workspace()
st.title(":material/grid_view: Segments")
require_customers(workspace)

success = success_settings(workspace)
version = workspace.data_version
options = {a.name: a.label for a in segment_options(workspace.id, workspace.data_version)}


@fragment
def rule_segments_section():
    """Dimensions and rank weights with the table they rank; a slider reruns only this tab."""
    saved = workspace.load_settings(SEGMENTS_KEY, SegmentSettings) or SegmentSettings()
    default_dims = [d for d in saved.dimensions if d in options] or list(options)[:2]
    pick, weigh = st.columns([1, 1], gap="large")
    with pick:
        dimensions = st.multiselect("Segment by (one to three)", list(options), default=default_dims,
                                    format_func=options.get, max_selections=3, key="segment_dimensions")
    if not dimensions:
        st.info("Pick at least one dimension to segment by.")
        return
    try:
        # Measured once with the saved weights: which terms the data has decides which sliders show.
        table = rule_segments(workspace.id, version, success.model_dump_json(), tuple(dimensions),
                              saved.weights.model_dump_json(), 1)
    except IcpError as err:
        said(err)
        return
    # The minimum follows the segments' sizes until the user sets one.
    suggested, why = suggested_min_accounts(table["accounts"])
    chosen = (workspace.load_settings(MIN_KEY, MinimumChoice) or MinimumChoice()).accounts
    if "segment_min_accounts" not in st.session_state or (
            chosen is None and st.session_state.get("segment_min_suggested") != suggested):
        st.session_state["segment_min_accounts"] = chosen or suggested
    st.session_state["segment_min_suggested"] = suggested
    with pick:
        min_accounts = st.slider("Rank only segments of at least this many accounts", 1, 50,
                                 key="segment_min_accounts",
                                 help="Smaller segments are listed apart, after the ranked ones.")
    if (min_accounts if min_accounts != suggested else None) != chosen:
        chosen = None if min_accounts == suggested else min_accounts
        workspace.save_settings(MIN_KEY, MinimumChoice(accounts=chosen))
    absent = absent_terms(table)
    with weigh:
        st.markdown("**Rank segments by**")
        w = saved.weights.model_dump()
        for term, (label, key) in TERM_SLIDERS.items():
            if term not in absent:
                w[term] = st.slider(label, 0.0, 10.0, w[term], 0.5, key=key)
        if absent:
            st.caption("No " + ", no ".join(TERM_SLIDERS[t][0].split(" (")[0].lower() for t in absent)
                       + " slider: " + "; ".join(absent.values()) + ".")
        weights = RankWeights(**w)
    choice = SegmentSettings(dimensions=tuple(dimensions), weights=weights, min_accounts=min_accounts)
    if choice != saved:
        workspace.save_settings(SEGMENTS_KEY, choice)
    table = rank_segments(table, weights, min_accounts)
    ranked, small = split_small(table, min_accounts)
    because = (f"set by you ({suggested} would follow these segments' sizes)" if chosen is not None
               else why)
    st.caption(
        f"{len(ranked):,} segment{'' if len(ranked) == 1 else 's'} of at least {min_accounts:,} accounts, ranked; "
        f"{literal(because)}. "
        "Rates and means are shrunk toward the overall figure (empirical Bayes) and smaller segments are listed "
        "apart, so a segment of two lucky accounts does not top the list; confidence says how many accounts "
        "stand behind each row."
        + (" Few segments are this big: segment by fewer dimensions, or lower the minimum."
           if len(ranked) < 3 and not small.empty else "")
    )
    st.altair_chart(segment_chart(ranked.head(60), dimensions, options), width="stretch")
    config = {
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
    }
    st.dataframe(ranked.head(SHOWN_SEGMENTS)[[*dimensions, *SHOWN_MEASURES]], hide_index=True,
                 width="stretch", column_config=config, key="ranked_segments")
    if not small.empty:
        with st.expander(f"{len(small):,} segment{'' if len(small) == 1 else 's'} under {min_accounts:,} "
                         "accounts, not ranked"):
            st.caption("Too few accounts to rank against the rest; scored among themselves only.")
            st.dataframe(small.head(SHOWN_SEGMENTS)[[*dimensions, *SHOWN_MEASURES]], hide_index=True,
                         width="stretch", column_config=config, key="small_segments")
    st.download_button("Download segments.csv", segments_csv_text(segments_csv(table)),
                       file_name="segments.csv", mime="text/csv", icon=":material/download:")


@fragment
def clusters_section():
    """Features and k with the clusters they give; a change reruns only this tab."""
    features = {a.name: a.label for a in pattern_attributes(workspace.id, workspace.data_version)}
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
            said(err)
        else:
            if result.silhouette:
                st.caption(f"{result.n_clusters} clusters: the best silhouette of k = "
                           f"{', '.join(str(x) for x in result.silhouette)}.")
            st.altair_chart(cluster_scatter(result.points, result.axes), width="stretch")
            st.dataframe(result.profiles.drop(columns=["cluster", "top_features", "sets_apart"]), hide_index=True,
                         width="stretch", column_config={
                             "name": st.column_config.TextColumn("cluster"),
                             "share": st.column_config.NumberColumn(format="percent"),
                             "best_share": st.column_config.NumberColumn("best share", format="percent"),
                             "value_mean": st.column_config.NumberColumn("mean value", format="localized"),
                         })
            # Written out below the table: in a table cell the three contrasts were cut off.
            st.markdown("**What sets each cluster apart** (inside the cluster vs the rest)")
            st.markdown("\n".join(f"- **{literal(row.name)}**: {literal(row.sets_apart or 'nothing stands out')}"
                                   for row in result.profiles.itertuples()))


rules_tab, clusters_tab = st.tabs(["Rule segments", "Clusters"])
with rules_tab:
    rule_segments_section()
with clusters_tab:
    clusters_section()
st.page_link("views/icp.py", label="Next: write the ICP", icon=":material/arrow_forward:")
