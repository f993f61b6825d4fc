"""Targets: which accounts are scored, tier counts, paging in SQL, the targets.csv contract and the
backtest, checked by hand on small workspaces and against the planted pattern of the demo."""

import io

import pandas as pd
import pytest

from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.export.tables import targets_csv
from icp.market.targets import backtest, target_source, targets_export, targets_page, tier_counts
from icp.profile.model import ICP, TIERS, Criterion, TierRules

SUCCESS = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher"),),
                          best_share=0.5, value_column="arr")
FINTECH = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech",))
MID_SIZE = Criterion(attribute="employees", label="Employees", kind="range", low=50, high=500)
# Fit score = 50 per criterion passed; only Fintech accounts are in SAM and can be Tier 1.
ICP_ = ICP(criteria=(FINTECH, MID_SIZE), success=SUCCESS)

UNIVERSE_HEADER = ["Company", "Domain", "Industry", "Employees"]
UNIVERSE = [
    ("Alpha Inc", "alpha.com", "Fintech", "100"),  # a customer, by domain
    ("Beta Corp", "beta.io", "Fintech", "100"),  # a customer, by name
    ("Gamma", "gamma.com", "Fintech", "100"),  # 100, Tier 1
    ("Delta", "delta.com", "Fintech", "1000"),  # 50, Tier 2
    ("O'Brien Analytics", "obrien.com", "Retail", "100"),  # 50 but misses the must: not a fit
    ("Epsilon", "epsilon.com", "Fintech", "30"),  # 50, Tier 2
    ("Zeta", "zeta.com", "Retail", "5000"),  # 0, Not a fit
    ("Eta", "eta.com", "Fintech", "200"),  # 100, Tier 1
]
CUSTOMER_HEADER = ["Company name", "Website", "Industry", "Employees", "ARR"]
CUSTOMERS = [
    ("Alpha Holdings", "alpha.com", "Fintech", "100", "100"),
    ("Beta Corp", "beta-corp.com", "Fintech", "100", "50"),
]


def _csv(tmp_path, name: str, header: list[str], rows: list[tuple]):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def make_workspace(tmp_path, **lists: tuple[list[str], list[tuple]]) -> Workspace:
    ws = Workspace.create("targets test")
    for kind, (header, rows) in lists.items():
        ws.add_list(kind, _csv(tmp_path, kind, header, rows))
    return ws


@pytest.fixture
def market(tmp_path) -> Workspace:
    return make_workspace(tmp_path, universe=(UNIVERSE_HEADER, UNIVERSE), customers=(CUSTOMER_HEADER, CUSTOMERS))


def _count(ws: Workspace, sql: str) -> int:
    with ws.connect() as con:
        return con.execute(f"SELECT count(*) FROM {sql}").fetchone()[0]


def _names(ws: Workspace, sql: str) -> set[str]:
    with ws.connect() as con:
        return {r[0] for r in con.execute(f"SELECT account_name FROM {sql}").fetchall()}


# -- which accounts ---------------------------------------------------------------------------------

def test_target_source_prefers_targets_then_universe_minus_customers_then_customers(tmp_path):
    ws = make_workspace(tmp_path, customers=(CUSTOMER_HEADER, CUSTOMERS))
    sql, words = target_source(ws)
    assert _count(ws, sql) == 2
    assert words.startswith("2 customers")

    ws.add_list("universe", _csv(tmp_path, "universe", UNIVERSE_HEADER, UNIVERSE))
    sql, words = target_source(ws)
    assert words == "6 universe accounts that are not customers yet (2 of the 8 are customers)"
    # Alpha Inc shares the domain of a customer, Beta Corp its name: both are left out.
    assert _names(ws, sql) == {"Gamma", "Delta", "O'Brien Analytics", "Epsilon", "Zeta", "Eta"}

    ws.add_list("targets", _csv(tmp_path, "targets", ["Company", "Domain"], [("Dream Co", "dream.com")]))
    sql, words = target_source(ws)
    assert _names(ws, sql) == {"Dream Co"}
    assert words == "1 accounts in the targets list"


def test_a_workspace_with_no_accounts_says_what_to_upload():
    with pytest.raises(IcpError, match="upload a targets, universe or customer list"):
        target_source(Workspace.create("empty"))


def test_tier_counts_have_all_four_tiers_in_order_then_insufficient_data(market):
    counts = tier_counts(market, ICP_)
    assert counts["tier"].tolist() == [*TIERS, "Insufficient data"]
    assert counts["accounts"].tolist() == [2, 2, 0, 2, 0]
    assert counts["accounts"].sum() == _count(market, target_source(market)[0])
    assert counts["share"].sum() == pytest.approx(1.0)


# -- pages ------------------------------------------------------------------------------------------

def test_pages_are_ordered_and_counted_in_sql(market):
    page, total = targets_page(market, ICP_)
    assert total == 6
    assert list(page.columns) == ["account_name", "domain", "industry", "employees", "icp_fit_score",
                                  "icp_tier", "icp_reasons", "account_key"]
    # Score first, then file order.
    order = ["Gamma", "Eta", "Delta", "O'Brien Analytics", "Epsilon", "Zeta"]
    assert page["account_name"].tolist() == order
    page, total = targets_page(market, ICP_, offset=2, limit=2)
    assert (page["account_name"].tolist(), total) == (order[2:4], 6)
    assert page["icp_reasons"].str.contains("Employees").all()
    page, total = targets_page(market, ICP_, offset=100)
    assert (len(page), total) == (0, 6)
    page, _ = targets_page(market, ICP_, sort="account_name", descending=False)
    assert page["account_name"].tolist() == sorted(order)


def test_pages_filter_by_tier_and_search(market):
    page, total = targets_page(market, ICP_, tiers=["Tier 2"])
    assert (set(page["account_name"]), total) == ({"Delta", "Epsilon"}, 2)
    page, total = targets_page(market, ICP_, search="o'BRIEN")
    assert (page["account_name"].tolist(), total) == (["O'Brien Analytics"], 1)
    page, total = targets_page(market, ICP_, search="eta")  # Zeta and Eta; Beta is a customer
    assert (set(page["account_name"]), total) == ({"Zeta", "Eta"}, 2)
    page, total = targets_page(market, ICP_, search="%")  # a substring, not a pattern
    assert total == 0
    _, total = targets_page(market, ICP_, search="x'; DROP TABLE universe; --")
    assert total == 0 and market.count("universe") == 8


def test_pages_refuse_unknown_sorts_and_tiers(market):
    with pytest.raises(IcpError, match="Cannot sort by 'nope'"):
        targets_page(market, ICP_, sort="nope")
    with pytest.raises(IcpError, match="Cannot sort"):
        targets_page(market, ICP_, sort="icp_fit_score; DROP TABLE universe")
    with pytest.raises(IcpError, match="Unknown tier"):
        targets_page(market, ICP_, tiers=["Tier 9"])


# -- export -----------------------------------------------------------------------------------------

EXPORT_HEADER = ["Company name", "Website", "Industry", "Employees", "Balance", "Note"]
EXPORT_ROWS = [
    ('=HYPERLINK("x")', "x.com", "Retail", "100", "-120.5", "@SUM(A1)"),  # 50, misses the must: not a fit
    ("Acme", "acme.com", "Fintech", "100", "300", "+1 555 0100"),  # 100
    ("Bolt", "bolt.com", "Fintech", "5000", "-3", "plain"),  # 50
    ("Core", "core.com", "Fintech", "120", "1200", "-"),  # 100
]


def test_export_keeps_the_input_columns_and_the_writer_neutralizes_formulas(tmp_path):
    ws = make_workspace(tmp_path, targets=(EXPORT_HEADER, EXPORT_ROWS))
    export = targets_export(ws, ICP_)
    assert list(export.columns) == [*EXPORT_HEADER, "icp_fit_score", "icp_tier", "icp_reasons"]
    # The frame holds the data's own cells; the file writer neutralizes them (icp.cells).
    assert export["Company name"].tolist() == ["Acme", "Core", "=HYPERLINK(\"x\")", "Bolt"]
    assert export["icp_fit_score"].tolist() == [100, 100, 50, 50]
    assert export["icp_tier"].tolist() == ["Tier 1", "Tier 1", "Not a fit", "Tier 2"]
    written = pd.read_csv(io.BytesIO(targets_csv(export)), dtype=str, keep_default_na=False)
    assert written["Company name"].tolist() == ["Acme", "Core", "'=HYPERLINK(\"x\")", "Bolt"]
    # Numbers, signed or not, stay numbers; other text starting = + - @ gets a leading quote.
    assert written["Balance"].tolist() == ["300", "1200", "-120.5", "-3"]
    assert pd.to_numeric(written["Balance"]).tolist() == [300, 1200, -120.5, -3]
    assert written["Note"].tolist() == ["'+1 555 0100", "'-", "'@SUM(A1)", "plain"]
    assert written["Employees"].tolist() == ["100", "120", "100", "5000"]


def test_export_of_a_scored_file_replaces_the_old_scores(tmp_path):
    header = ["Company name", "Industry", "icp_fit_score", "Employees"]
    ws = make_workspace(tmp_path, targets=(header, [("Acme", "Fintech", "3", "100")]))
    export = targets_export(ws, ICP_)
    assert list(export.columns) == ["Company name", "Industry", "Employees", "icp_fit_score", "icp_tier", "icp_reasons"]
    assert export["icp_fit_score"].tolist() == [100]


def test_export_of_the_universe_leaves_customers_out_and_keeps_its_headers(market):
    export = targets_export(market, ICP_)
    assert list(export.columns) == [*UNIVERSE_HEADER, "icp_fit_score", "icp_tier", "icp_reasons"]
    assert export["Company"].tolist() == ["Gamma", "Eta", "Delta", "O'Brien Analytics", "Epsilon", "Zeta"]


# -- backtest ---------------------------------------------------------------------------------------

BACKTEST_CUSTOMERS = (
    ["Company name", "Website", "Industry", "Employees", "ARR", "Plan"],
    [
        ("Alpha", "a.com", "Fintech", "100", "100", "Enterprise"),  # best; ICP_ 100, Tier 1
        ("Bravo", "b.com", "Fintech", "1000", "90", "Enterprise"),  # best; 50, Tier 2
        ("Charlie", "c.com", "Retail", "100", "80", "Enterprise"),  # best; 50, not in SAM: not a fit
        ("Delta", "d.com", "Fintech", "100", "10", "Starter"),  # 100, Tier 1
        ("Echo", "e.com", "Retail", "1000", "20", "Starter"),  # 0
        ("Foxtrot", "f.com", "Retail", "5", "30", "Enterprise"),  # 0
    ],
)
BACKTEST_UNIVERSE = (
    UNIVERSE_HEADER,
    [("Papa", "p.com", "Retail", "100"), ("Quebec Labs", "q.io", "Fintech", "100"), ("Romeo", "r.com", "Media", "10")],
)
BACKTEST_DEALS = (
    ["Deal ID", "Company", "Website", "Deal Stage"],
    [
        ("1", "Alpha", "a.com", "Closed Won"),  # customer Alpha: 100
        ("2", "Bravo", "b.com", "Closed Won"),  # customer Bravo: 50
        ("3", "Delta", "d.com", "Closed Lost"),  # customer Delta: 100
        ("4", "Papa Trading", "p.com", "Closed Lost"),  # universe Papa by domain: 50, Retail: not a fit
        ("5", "Quebec Labs", None, "Closed Won"),  # universe Quebec Labs by name: 100
        ("6", "Zulu", "z.com", "Closed Lost"),  # nowhere: not scored
        ("7", "Alpha", "a.com", "Negotiation"),  # open: not counted
    ],
)


@pytest.fixture
def history(tmp_path) -> Workspace:
    return make_workspace(tmp_path, customers=BACKTEST_CUSTOMERS, universe=BACKTEST_UNIVERSE, deals=BACKTEST_DEALS)


def test_backtest_by_hand_where_the_icp_barely_separates(history):
    result = backtest(history, ICP_)
    # Best customers (top half by ARR): Alpha, Bravo, Charlie, scoring 100, 50, 50; the rest 100, 0, 0.
    # Of the 9 (best, rest) pairs the best scores higher in 6 and ties in 1: AUC = 6.5 / 9.
    assert result.customer_auc == pytest.approx(6.5 / 9)
    tiers = {t.tier: t for t in result.customers}
    assert (tiers["Tier 1"].customers, tiers["Tier 1"].best_customers) == (2, 1)
    assert tiers["Tier 1"].value_mean == pytest.approx(55.0)
    assert tiers["Tier 3"].best_share is None
    assert (result.best_customers, result.customers_scored, result.tier1_lift) == (3, 6, pytest.approx(1.0))
    # Won 100, 50, 100 against lost 100, 50: 1 + 0.5 + 0 + 0.5 + 1 + 0.5 = 3.5 of 6 pairs.
    assert result.deal_auc == pytest.approx(3.5 / 6)
    assert (result.deals_won, result.deals_lost, result.deals_unscored) == (3, 2, 1)
    assert (result.deals_via_customer, result.deals_via_universe) == (3, 2)
    deals = {t.tier: t for t in result.deals}
    assert (deals["Tier 1"].won, deals["Tier 1"].lost) == (2, 1)
    assert (deals["Tier 2"].won, deals["Tier 2"].lost) == (1, 0)  # Bravo won
    assert (deals["Not a fit"].won, deals["Not a fit"].lost) == (0, 1)  # Papa lost
    assert result.verdict.startswith(
        "The ICP barely separates best customers from the rest (AUC 0.72, Tier 1 1.0x as often as average); "
        "revisit the criteria.")
    assert "With only 3 best customers, treat this as directional." in result.verdict
    assert "barely separates won deals from lost ones (AUC 0.58)" in result.verdict


def test_backtest_by_hand_where_the_icp_separates_well(history):
    enterprise = Criterion(attribute="plan", label="Plan", kind="in_set", values=("Enterprise",))
    result = backtest(history, ICP(criteria=(enterprise,), success=SUCCESS))
    # Best all score 100; the rest 0, 0 and 100 (Foxtrot): AUC = (2 + 0.5) x 3 / 9. Tier 1 holds
    # the 3 best and Foxtrot: a best share of 3/4 against 1/2 overall, a lift of 1.5.
    assert result.customer_auc == pytest.approx(7.5 / 9)
    assert result.tier1_lift == pytest.approx(1.5)
    assert result.verdict.startswith(
        "Tier 1 customers are best customers 1.5x as often as average (AUC 0.83): the ICP separates them well.")
    # The universe has no Plan column, so its deal accounts score 0: won 100, 100, 0 against 0, 0.
    assert result.deal_auc == pytest.approx(5 / 6)


def test_backtest_in_capacity_mode_uses_the_targets_tier1_line(history):
    # One Tier 1 slot among the targets goes to Quebec Labs (100), so Tier 1 is a score of 100.
    capacity = ICP_.model_copy(update={"tiers": TierRules(mode="capacity", reps=1, accounts_per_rep=1)})
    assert backtest(history, capacity).customers == backtest(history, ICP_).customers


def test_backtest_without_outcomes_says_what_it_needs(tmp_path):
    ws = make_workspace(tmp_path, universe=(UNIVERSE_HEADER, UNIVERSE))
    result = backtest(ws, ICP_)
    assert (result.customer_auc, result.deal_auc, result.customers_scored) == (None, None, 0)
    assert [t.tier for t in result.customers] == list(TIERS) == [t.tier for t in result.deals]
    assert result.verdict.startswith("There are not enough outcomes to backtest the ICP")


# -- the demo ---------------------------------------------------------------------------------------

DEMO_ICP_CRITERIA = (
    Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech", "Healthcare")),
    Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, weight=2),
    Criterion(attribute="tech_stack", label="Tech stack", kind="contains", values=("Snowflake",)),
    Criterion(attribute="business_model", label="Business model", kind="in_set", role="disqualify",
              values=("Hardware",)),
)


def test_the_planted_icp_predicts_success_on_the_demo(demo_template):
    from icp.analysis.success import default_settings

    ws = Workspace.copy_of(demo_template, "Demo")
    icp = ICP(criteria=DEMO_ICP_CRITERIA, success=default_settings(ws))
    sql, words = target_source(ws)
    assert 59_500 <= _count(ws, sql) <= 59_600
    assert "universe accounts that are not customers yet" in words
    result = backtest(ws, icp)
    assert result.customer_auc >= 0.7
    assert result.deal_auc >= 0.6
    assert result.tier1_lift >= 1.5
    assert "separates them well" in result.verdict
    counts = tier_counts(ws, icp)
    assert counts["accounts"].sum() == _count(ws, sql)
    assert counts.set_index("tier").loc["Tier 1", "accounts"] > 0


# -- the backtest re-tiered: counted once per criteria, tiered by any thresholds --------------------

def _backtest_afresh(ws: Workspace, icp: ICP):
    """The backtest scored from scratch with the ICP's own tier rules: every customer and deal
    account tiered by the scoring SQL, as `backtest` computed it before its counts were kept."""
    from icp.market import targets

    with ws.connect() as con:
        tiered = targets._tiered_by_score(con, icp)
        customers, deals = targets._customer_histogram(con, tiered), targets._deal_histogram(con, tiered)
    part = targets._customer_part(customers) | targets._deal_part(deals)
    return targets.Backtest(**part, verdict=targets._verdict(part))


THRESHOLDS = [(75, 50, 25), (100, 100, 100), (100, 50, 0), (50, 50, 50), (90, 40, 10), (0, 0, 0), (60, 30, 5)]


@pytest.mark.parametrize("tiers", THRESHOLDS)
def test_the_backtest_retiered_from_its_counts_is_the_one_scored_afresh(history, tiers):
    from icp.market.targets import backtest_counts, backtest_of

    icp = ICP_.model_copy(update={"tiers": TierRules(tier1=tiers[0], tier2=tiers[1], tier3=tiers[2])})
    counts = backtest_counts(history, ICP_)  # counted with the default tiers: the thresholds play no part
    assert backtest_of(counts, icp.tiers) == _backtest_afresh(history, icp) == backtest(history, icp)


def test_the_backtest_counts_do_not_depend_on_the_tier_rules(history):
    from icp.market.targets import backtest_counts

    first = backtest_counts(history, ICP_)
    for tiers in THRESHOLDS[1:]:
        other = backtest_counts(history, ICP_.model_copy(update={"tiers": TierRules(
            tier1=tiers[0], tier2=tiers[1], tier3=tiers[2])}))
        pd.testing.assert_frame_equal(other.customers, first.customers)
        pd.testing.assert_frame_equal(other.deals, first.deals)


def test_the_backtest_in_capacity_mode_retiered_is_the_one_scored_afresh(history):
    capacity = ICP_.model_copy(update={"tiers": TierRules(mode="capacity", reps=1, accounts_per_rep=1)})
    assert backtest(history, capacity) == _backtest_afresh(history, capacity)


def test_the_demo_backtest_retiered_at_every_threshold_is_the_one_scored_afresh(demo_template):
    """Many score levels, the universe's deal accounts, value means: the same figures, to the last digit."""
    from icp.analysis.success import default_settings
    from icp.market.targets import backtest_counts, backtest_of

    ws = Workspace.copy_of(demo_template, "Demo")
    icp = ICP(criteria=DEMO_ICP_CRITERIA, success=default_settings(ws))
    counts = backtest_counts(ws, icp)
    for tiers in [*THRESHOLDS, (80, 60, 20), (67, 33, 17)]:
        tiered = icp.model_copy(update={"tiers": TierRules(tier1=tiers[0], tier2=tiers[1], tier3=tiers[2])})
        assert backtest_of(counts, tiered.tiers) == _backtest_afresh(ws, tiered), tiers
