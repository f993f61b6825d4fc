"""Step 6, Market: TAM, SAM and SOM implied by the ICP, with every assumption written out."""

import streamlit as st

from icp.analysis.attributes import dimension_label
from icp.errors import IcpError
from icp.export.charts import market_funnel
from icp.market.sizing import (
    value_name,
    win_rate_assumption,
    win_rate_setting,
)
from icp.numbers import count, money
from icp.profile.model import MarketAssumptions
from ui.cache import closed_deals, market_by_segment, market_size
from ui.fragment import fragment
from ui.said import said
from ui.settings import ICP_KEY, working_icp
from ui.stale import warn_if_success_changed
from ui.state import current_workspace, reports, require_customers
from ui.text import literal

workspace = current_workspace()
st.title(":material/public: Market")
lists = reports(workspace)
require_customers(workspace)
warn_if_success_changed(workspace, working_icp(workspace))


@fragment
def assumptions_and_market():
    """The assumptions and the market they size; a slider reruns only this section."""
    icp = working_icp(workspace)
    m = icp.market
    st.caption("TAM: every account in your universe. SAM: those passing every **must** criterion and no "
               "disqualifier. SOM: the part of SAM you can reach and win within the horizon.")
    with st.container(border=True):
        left, right = st.columns(2)
        rate = win_rate_setting(m, *closed_deals(workspace.id, workspace.data_version))
        reachable = left.slider("Reachable share of SAM", 1, 100, int(round(m.reachable_share * 100)), format="%d%%",
                                key="market_reach") / 100
        horizon = left.slider("Horizon (years)", 0.5, 5.0, float(m.horizon_years), 0.5, key="market_horizon")
        win_rate = right.slider("Expected win rate", 1, 100, int(round(rate.in_use * 100)), format="%d%%",
                                key="market_win", help=rate.measured_note) / 100
        measured_name = value_name(icp.model_copy(update={"market": m.model_copy(update={"acv": None})}))
        acv = right.number_input(f"ACV (leave empty to use your best customers' {measured_name})", min_value=0.0,
                                 value=m.acv, key="market_acv")
        currency = right.text_input("Currency (USD, EUR, $, €; empty: not shown)", value=m.currency, max_chars=8,
                                    key="market_currency").strip()
        typed_tam = typed_sam = None
        if "universe" not in lists:
            st.info("There is no universe list, so TAM and SAM are counts you type in (and are labelled as such).")
            typed_tam = st.number_input("TAM (accounts)", min_value=0, value=m.typed_tam or 0, key="market_tam") or None
            typed_sam = st.number_input("SAM (accounts)", min_value=0, value=m.typed_sam or 0, key="market_sam") or None
    assumptions = MarketAssumptions(
        reachable_share=reachable, horizon_years=horizon, acv=acv,
        win_rate=win_rate_assumption(win_rate, rate.measured), typed_tam=typed_tam, typed_sam=typed_sam,
        currency=currency)
    if assumptions != m:
        icp = icp.model_copy(update={"market": assumptions})
        workspace.save_settings(ICP_KEY, icp)

    try:
        size = market_size(workspace.id, workspace.data_version, icp.model_dump_json())
    except IcpError as err:
        said(err)
        return
    label = " (typed in)" if size.typed_in else ""
    cols = st.columns(3)
    per_account = {"TAM": size.tam_acv, "SAM": size.acv, "SOM": size.acv}
    for col, (name, figure) in zip(cols, (("TAM", size.tam), ("SAM", size.sam), ("SOM", size.som)), strict=True):
        # The SOM is shown unrounded below ten accounts: "0 accounts" beside a non-zero value contradicts it.
        accounts = count(size.som_exact) if name == "SOM" else count(figure.accounts)
        col.metric(f"{name}{label if name != 'SOM' else ''}", f"{accounts} accounts")
        if figure.value is not None:
            col.caption(literal(f"{money(figure.value, size.currency)} in value "
                                f"({size.assumptions['acv_name']} {money(per_account[name], size.currency)} per account)"))
    for warning in size.warnings:
        st.warning(literal(warning), icon=":material/warning:")
    st.altair_chart(market_funnel(size.tam.accounts, size.sam.accounts, size.som.accounts), width="stretch")
    st.markdown("**Assumptions**")
    # The sentences say it all; the bare numbers beside them are for market.json.
    st.markdown("\n".join(f"- {literal(v)}" for k, v in size.assumptions.items()
                           if isinstance(v, str) and v and k not in ("acv_name", "currency_code", "currency")))
    if size.currency_note:
        st.caption(literal(size.currency_note))
    if "universe" in lists:
        st.subheader("By segment")
        dims = list(icp.segments.dimensions)
        try:
            table = market_by_segment(workspace.id, workspace.data_version, icp.model_dump_json(), tuple(dims))
            unit = f" ({size.currency})" if size.currency else ""
            st.dataframe(table.head(200), hide_index=True, width="stretch", column_config={
                **{d: st.column_config.TextColumn(dimension_label(d)) for d in dims},
                **{f"{m}_accounts": st.column_config.NumberColumn(f"{m.upper()} accounts", format="localized")
                   for m in ("tam", "sam", "som")},
                "sam_value": st.column_config.NumberColumn(f"SAM value{unit}", format="compact")})
        except IcpError as err:
            said(err, show=st.caption)


assumptions_and_market()
st.page_link("views/targets.py", label="Next: score and tier target accounts", icon=":material/arrow_forward:")
