"""Step 7, Targets: every target account scored and tiered, and a backtest of the ICP."""

import streamlit as st

from icp.errors import IcpError
from icp.export.charts import tier_bars
from icp.market.targets import INSUFFICIENT
from icp.numbers import count, money, percent
from icp.profile.model import TIERS, tier_rules_as_set
from ui.cache import (
    backtest,
    carry_report,
    target_description,
    target_kind,
    targets_page,
    tier_summary,
    validated,
)
from ui.fragment import fragment
from ui.said import said
from ui.settings import ICP_KEY, working_icp
from ui.stale import warn_if_success_changed
from ui.state import current_workspace, require_customers
from ui.tables import number_columns
from ui.text import literal
from ui.url import keep, restore

PAGE_ROWS = 50

workspace = current_workspace()
st.title(":material/format_list_numbered: Targets")
require_customers(workspace)
warn_if_success_changed(workspace, working_icp(workspace))

described = target_description(workspace.id, workspace.data_version)
st.caption(f"Scoring {literal(described)}. The fit score is the weighted share of the ICP's must and nice criteria an "
           "account meets (0 when a disqualifier applies). Tiers rank the accounts in SAM: an account that misses "
           "a must is not a fit, and one whose must values are unknown is counted apart as insufficient data.")


@fragment
def tiers_table_and_backtest():
    """Everything a tier slider, filter or page change touches; a change reruns only this, not the
    sidebar and header. The ICP is read inside, since a fragment rerun keeps the first run's arguments."""
    icp = tiers_and_table(working_icp(workspace))
    backtest_section(icp)
    validation_section(icp)


def tiers_and_table(icp):
    """Tier rules, counts and the paged table; returns the ICP with the tier rules as set."""
    rules = icp.tiers
    with st.container(border=True):
        by_capacity = st.toggle("Size Tier 1 to sales capacity", value=rules.mode == "capacity", key="tier_mode")
        if by_capacity:
            left, right = st.columns(2)
            reps = left.number_input("Reps", 1, 10_000, rules.reps, key="tier_reps")
            per_rep = right.number_input("Accounts per rep", 1, 100_000, rules.accounts_per_rep, key="tier_per_rep")
            t2, t3 = st.slider("Tier 2 and Tier 3 from fit score", 0, 100, (int(rules.tier2), int(rules.tier3)),
                               key="tier_low")[::-1]
            new = tier_rules_as_set(rules, "capacity", tier2=t2, tier3=t3, reps=reps, accounts_per_rep=per_rep)
        else:
            t1 = st.slider("Tier 1 from fit score", 0, 100, int(rules.tier1), key="tier1")
            t2 = st.slider("Tier 2 from fit score", 0, 100, min(int(rules.tier2), t1), key="tier2")
            t3 = st.slider("Tier 3 from fit score", 0, 100, min(int(rules.tier3), t2), key="tier3")
            new = tier_rules_as_set(rules, "thresholds", tier1=t1, tier2=t2, tier3=t3)
    if new != rules:
        icp = icp.model_copy(update={"tiers": new})
        workspace.save_settings(ICP_KEY, icp)
        workspace.pin()  # what the rest of the run reads comes from memory again, not from the file
    version, icp_json = workspace.data_version, icp.model_dump_json()
    listed = target_kind(workspace.id, version)
    for resolution in carry_report(workspace.id, version, icp_json):
        if resolution.list == listed and (warning := resolution.sentence()):
            st.warning(literal(warning), icon=":material/warning:")
    try:
        counts, limit = tier_summary(workspace.id, version, icp_json)
    except IcpError as err:  # no ICP yet: no tiers to show
        said(err, show=st.info)
        return icp
    if limit:
        st.info(literal(limit), icon=":material/info:")
    cols = st.columns(len(counts))
    for col, row in zip(cols, counts.itertuples(), strict=True):
        # The share as plain text: a metric's delta arrow reads as a change since last time.
        col.metric(row.tier, count(row.accounts),
                   help=("not a fit only because a must criterion's value is unknown; 'Not a fit' in the exports"
                         if row.tier == INSUFFICIENT else None))
        col.caption(f"{percent(row.share)} of the accounts")
    st.altair_chart(tier_bars(counts), width="stretch")

    st.subheader("Accounts")
    f1, f2, f3, f4 = st.columns([2, 2, 2, 1])
    shown_tiers = f1.multiselect("Tiers", list(TIERS), default=["Tier 1", "Tier 2", "Tier 3"], key="target_tiers")
    restore("target_search", "search")
    search = f2.text_input("Search name or domain", key="target_search")
    keep("search", search)
    sortable = {"icp_fit_score": "fit score", "account_name": "company name",
                **{c.attribute: c.label for c in icp.criteria}}
    sort = f3.selectbox("Sort by", list(sortable), format_func=sortable.get, key="target_sort")
    descending = f3.toggle("Highest first", value=True, key="target_desc")
    page = f4.number_input("Page", min_value=1, value=1, key="target_page")
    try:
        rows, total = targets_page(workspace.id, version, icp_json, tuple(shown_tiers) or None, search or None,
                                   sort, descending, (page - 1) * PAGE_ROWS, PAGE_ROWS)
    except IcpError as err:
        said(err)
        return icp
    pages = max(1, -(-total // PAGE_ROWS))
    st.caption(f"{total:,} accounts match; page {page} of {pages:,}, {PAGE_ROWS} rows a page.")
    grid = rows.drop(columns=["account_key"], errors="ignore")
    # Only how the grid shows numbers (revenue 3B, not 3000000000); the exports keep them as they are.
    st.dataframe(grid, hide_index=True, width="stretch",
                 column_config={
                     **number_columns(grid),
                     "icp_fit_score": st.column_config.ProgressColumn("fit score", min_value=0, max_value=100,
                                                                      format="%.1f"),
                     "icp_tier": "tier",
                     "icp_reasons": st.column_config.TextColumn("reasons", width="large"),
                 })
    return icp


def validation_section(icp):
    st.subheader("Out of sample: does the way the ICP is drafted hold beyond its own customers?")
    asked = st.button("Check it out of sample", key="validate",
                      help="drafts the ICP on part of the customers and scores the rest, fold by fold (a few seconds)")
    try:
        result = validated(workspace, icp.success, compute=asked)
    except IcpError as err:
        said(err)
        return
    if result is None:
        st.caption("The backtest above tests the ICP on the customers it was drafted from, which flatters it. "
                   "Check it out of sample to see whether it holds for customers it has not seen.")
        return
    (st.success if result.verdict == "holds" else st.warning)(literal(result.sentence))
    rows = [("AUC best vs rest", result.out_of_sample_auc, result.in_sample_auc),
            ("Tier 1 lift", result.out_of_sample_tier1_lift, result.in_sample_tier1_lift)]
    st.dataframe([{"figure": name, "out of sample": _figure(out), "in sample": _figure(inside)}
                  for name, out, inside in rows], hide_index=True, width="stretch")
    st.caption(f"{literal(result.method)}: {result.folds} folds over {result.customers:,} customers "
               f"({result.best_customers:,} best); each fold drafted on the others and scored blind. "
               "Stability of each drafted criterion (drafted in how many folds):")
    st.dataframe([{"criterion": c.text, "role": c.role,
                   "drafted in": f"{c.drafted_in} of {c.folds}" if c.folds else "", "kept": c.kept}
                  for c in result.criteria], hide_index=True, width="stretch")
    if result.time_split is not None:
        st.caption(literal(result.time_split.sentence))
    elif result.time_split_note:
        st.caption(literal(result.time_split_note))


def _figure(figure) -> str:
    if figure.value is None:
        return "–"
    interval = f" ({figure.low:.2f}–{figure.high:.2f})" if figure.low is not None else ""
    return f"{figure.value:.2f}{interval}"


def backtest_section(icp):
    st.subheader("Backtest on the customers it was drafted from (in sample)")
    try:
        result = backtest(workspace.id, workspace.data_version, icp.model_dump_json())
    except IcpError as err:
        said(err)
        return
    (st.success if result.customer_auc and result.customer_auc >= 0.6 else st.warning)(literal(result.verdict))
    # The mean value is money (ARR, ...): written with the ICP's currency and scale ("$81.2k").
    customers = [c.model_dump() | {"value_mean": money(c.value_mean, icp.market.currency)} for c in result.customers]
    left, right = st.columns(2)
    with left:
        st.markdown("**Customers by tier**")
        st.dataframe(customers, hide_index=True, width="stretch",
                     column_config={"best_customers": st.column_config.NumberColumn("best customers"),
                                    "best_share": st.column_config.NumberColumn("best share", format="percent"),
                                    "value_mean": st.column_config.TextColumn("mean value")})
        if result.customer_auc is not None:
            st.caption(f"AUC best vs rest: {result.customer_auc:.2f}; Tier 1 lift: "
                       f"{result.tier1_lift:.1f}x" if result.tier1_lift else f"AUC: {result.customer_auc:.2f}")
    with right:
        st.markdown("**Deals by tier of their account**")
        if result.deals_won + result.deals_lost:
            st.dataframe([d.model_dump() for d in result.deals], hide_index=True, width="stretch",
                         column_config={"win_rate": st.column_config.NumberColumn("win rate", format="percent")})
            st.caption(f"AUC won vs lost: {result.deal_auc:.2f}" if result.deal_auc is not None else "")
            if result.deals_unscored:
                st.caption(f"{result.deals_unscored:,} closed deals could not be matched to an account.")
        else:
            st.info("No closed deals to test against.")


tiers_table_and_backtest()
st.page_link("views/export.py", label="Next: export the one-pager and the target lists", icon=":material/arrow_forward:")
