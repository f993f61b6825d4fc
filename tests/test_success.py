"""Success: the value score, the best-customer set and the default criteria."""


import duckdb
import pydantic
import pytest

from icp.analysis.success import (
    CriterionError,
    SuccessCriterion,
    SuccessSettings,
    default_settings,
    score_customers,
    score_summary,
    scored_customers,
)
from icp.data.workspace import Workspace
from icp.errors import IcpError
from tests.helpers import write

ARR = SuccessCriterion(column="arr", label="ARR", direction="higher", weight=2)
TICKETS = SuccessCriterion(column="tickets", label="Tickets", direction="lower", weight=1)
HAND = SuccessSettings(criteria=(ARR, TICKETS), best_share=0.4)


def table(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (account_key VARCHAR, arr DOUBLE, tickets INTEGER, noise DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    return con


def scored(con, settings: SuccessSettings) -> dict[str, tuple]:
    rows = con.execute(
        f"SELECT account_key, value_score, is_best, value_rank FROM {scored_customers(settings, source='t')}"
    ).fetchall()
    return {key: tuple(rest) for key, *rest in rows}


HAND_ROWS = [("a", 10, 5, 1), ("b", 20, 1, 2), ("c", 20, None, 3), ("d", 40, 3, 4), ("e", 30, 3, 5)]


def test_hand_example_mid_rank_weighted_mean_with_a_missing_value():
    result = scored(table(HAND_ROWS), HAND)
    # ARR, higher is better, n = 5 (10, 20, 20, 30, 40): 100 x (below + half of equal) / 5
    #   a 10 -> 0.5/5 = 10;  b, c 20 -> (1 + 1)/5 = 40;  e 30 -> 3.5/5 = 70;  d 40 -> 4.5/5 = 90
    # Tickets, lower is better, n = 4 (c is missing): 100 x (above + half of equal) / 4
    #   a 5 -> 0.5/4 = 12.5;  b 1 -> 3.5/4 = 87.5;  d, e 3 -> (1 + 1)/4 = 50
    # Score = (2 x ARR + 1 x tickets) / 3, but c has no tickets so its score is its ARR rank alone.
    expected = {"a": (20 + 12.5) / 3, "b": (80 + 87.5) / 3, "c": 40.0, "d": (180 + 50) / 3, "e": (140 + 50) / 3}
    assert {k: v[0] for k, v in result.items()} == pytest.approx(expected)
    # best_share 0.4 of 5 scored = 2: d (76.7) and e (63.3).
    assert {k for k, v in result.items() if v[1]} == {"d", "e"}
    assert {k: v[2] for k, v in result.items()} == {"d": 1, "e": 2, "b": 3, "c": 4, "a": 5}


def test_weight_zero_criteria_are_ignored():
    noisy = SuccessSettings(criteria=(ARR, TICKETS, SuccessCriterion(column="noise", label="N", direction="lower", weight=0)))
    con = table(HAND_ROWS)
    assert scored(con, noisy) == scored(con, HAND.model_copy(update={"best_share": 0.25}))


def test_a_customer_with_no_values_is_unscored_and_changes_no_one_else():
    con = table([*HAND_ROWS, ("f", None, None, 9)])
    result = scored(con, HAND)
    assert result["f"] == (None, False, None)
    assert {k: v for k, v in result.items() if k != "f"} == scored(table(HAND_ROWS), HAND)


def test_ties_at_the_boundary_go_to_the_first_account_keys():
    con = table([("k3", 50, 0, 0), ("k1", 50, 0, 0), ("k2", 50, 0, 0), ("k0", 10, 0, 0)])
    result = scored(con, SuccessSettings(criteria=(ARR,), best_share=0.5))
    # Three tie at the top; round(0.5 x 4) = 2 places go to k1 and k2.
    assert {k for k, v in result.items() if v[1]} == {"k1", "k2"}
    assert [k for k, v in sorted(result.items(), key=lambda kv: kv[1][2])] == ["k1", "k2", "k3", "k0"]


def test_at_least_one_best_customer_and_half_rounds_up():
    few = table([("a", 1, 0, 0), ("b", 2, 0, 0), ("c", 3, 0, 0)])
    assert [k for k, v in scored(few, SuccessSettings(criteria=(ARR,), best_share=0.1)).items() if v[1]] == ["c"]
    six = table([(str(i), i, 0, 0) for i in range(6)])
    assert sum(v[1] for v in scored(six, SuccessSettings(criteria=(ARR,), best_share=0.25)).values()) == 2


def test_min_score_mode_takes_everyone_at_or_above_it():
    result = scored(table(HAND_ROWS), HAND.model_copy(update={"min_score": 55.0}))
    assert {k for k, v in result.items() if v[1]} == {"b", "d", "e"}  # 55.8, 76.7, 63.3
    result = scored(table(HAND_ROWS), HAND.model_copy(update={"min_score": 40.0}))
    assert {k for k, v in result.items() if v[1]} == {"b", "c", "d", "e"}  # c is exactly 40


def test_booleans_count_as_zero_and_one():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', true), ('b', false), ('c', false)) v(account_key, churned)")
    churn = SuccessCriterion(column="churned", label="Churned", direction="lower", weight=2)
    result = scored(con, SuccessSettings(criteria=(churn,)))
    # Lower is better: b and c have one above them and tie -> (1 + 1)/3; a has none above -> 0.5/3.
    assert {k: v[0] for k, v in result.items()} == pytest.approx({"a": 50 / 3, "b": 200 / 3, "c": 200 / 3})


def test_no_weighted_criterion_is_a_plain_error():
    zero = SuccessSettings(criteria=(ARR.model_copy(update={"weight": 0}),))
    with pytest.raises(IcpError, match="Give at least one criterion a weight above zero."):
        scored_customers(zero)


def test_settings_round_trip_and_refuse_unknown_fields():
    settings = HAND.model_copy(update={"min_score": 60.0, "value_column": "arr"})
    assert SuccessSettings.model_validate_json(settings.model_dump_json()) == settings
    with pytest.raises(pydantic.ValidationError):
        SuccessSettings.model_validate({"criteria": [], "colour": "red"})
    with pytest.raises(pydantic.ValidationError):
        SuccessCriterion(column="arr", label="ARR", direction="sideways")
    with pytest.raises(pydantic.ValidationError):
        SuccessSettings(criteria=(ARR, ARR))
    with pytest.raises(pydantic.ValidationError):
        SuccessSettings(criteria=(ARR,), best_share=0.95)


def test_a_hostile_column_name_is_quoted_not_run():
    con = duckdb.connect()
    con.execute('CREATE TABLE t (account_key VARCHAR, "x""; DROP TABLE t; --" DOUBLE)')
    con.execute("INSERT INTO t VALUES ('a', 1), ('b', 2)")
    odd = SuccessCriterion(column='x"; DROP TABLE t; --', label="Odd", direction="higher")
    assert scored(con, SuccessSettings(criteria=(odd,), best_share=0.5))["b"][1] is True
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_a_hundred_thousand_customers_are_ranked_in_sql():
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT 'k' || i AS account_key, (i * 7919 % 100000)::DOUBLE AS arr,
        CASE WHEN i % 7 = 0 THEN NULL ELSE i % 23 END AS tickets, 0.0 AS noise FROM range(100000) r(i)""")
    customers = scored_customers(HAND.model_copy(update={"best_share": 0.25}), source="t")
    best, ranked = con.execute(f"SELECT count(*) FILTER (WHERE is_best), max(value_rank) FROM {customers}").fetchone()
    assert (best, ranked) == (25000, 100000)


# -- on the demo ---------------------------------------------------------------------------------

@pytest.fixture
def demo(demo_template) -> Workspace:
    return Workspace.copy_of(demo_template, "Demo")


def test_demo_default_criteria(demo):
    settings = default_settings(demo)
    weights = {c.column: (c.direction, c.weight) for c in settings.criteria}
    assert settings.value_column == "arr"
    assert {k: v for k, v in weights.items() if v[1] > 0} == {
        "arr": ("higher", 2), "churned": ("lower", 2), "nps": ("higher", 1), "expansion": ("higher", 1),
        "support_tickets": ("lower", 0.5), "sales_cycle_days": ("lower", 0.5),
    }
    # Listed for the page but not counted twice: a second money measure, a second cycle, win rate.
    assert weights["won_value"] == ("higher", 0) and weights["median_cycle_days"] == ("lower", 0)
    assert weights["win_rate"] == ("higher", 0)


def test_demo_best_customers_are_worth_more_and_churn_less(demo):
    settings = default_settings(demo)
    frame = score_customers(demo, settings)
    assert len(frame) == 400 and frame["is_best"].sum() == 100
    assert list(frame["value_rank"]) == list(range(1, 401))
    assert list(frame.columns[:5]) == ["account_key", "account_name", "value_score", "is_best", "value_rank"]
    best, rest = frame[frame["is_best"]], frame[~frame["is_best"]]
    assert best["arr"].median() >= 2 * rest["arr"].median()
    assert best["churned"].mean() < rest["churned"].mean()
    assert best["value_score"].min() > rest["value_score"].max()

    summary = score_summary(demo, settings)
    assert (summary.scored, summary.unscored, summary.best) == (400, 0, 100)
    assert summary.best_share_actual == 0.25
    assert summary.threshold_score == pytest.approx(best["value_score"].min())
    by_column = {c.column: c for c in summary.criteria}
    assert by_column["nps"].filled == frame["nps"].notna().sum() < 400
    assert by_column["arr"].best_mean == pytest.approx(best["arr"].mean())
    assert by_column["arr"].ratio >= 2
    assert by_column["churned"].best_mean < by_column["churned"].rest_mean


def test_demo_changing_a_weight_changes_the_best_set(demo):
    settings = default_settings(demo)
    nps_first = settings.model_copy(update={"criteria": tuple(
        c.model_copy(update={"weight": {"nps": 10, "arr": 0}.get(c.column, c.weight)}) for c in settings.criteria
    )})
    before = set(score_customers(demo, settings).query("is_best")["account_key"])
    after = set(score_customers(demo, nps_first).query("is_best")["account_key"])
    assert len(after) == 100 and len(before ^ after) >= 30


def test_demo_scores_are_deterministic_and_can_be_limited(demo):
    settings = default_settings(demo)
    first = score_customers(demo, settings)
    assert first.equals(score_customers(demo, settings))
    assert score_customers(demo, settings, limit=10).equals(first.head(10))


def test_demo_unknown_or_non_numeric_criteria_are_refused_plainly(demo):
    settings = default_settings(demo)
    ghost = settings.model_copy(update={"criteria": (*settings.criteria, SuccessCriterion(
        column="profit_margin", label="Margin", direction="higher"))})
    with pytest.raises(CriterionError, match="no column 'profit_margin'"):
        score_customers(demo, ghost)
    words = settings.model_copy(update={"criteria": (SuccessCriterion(column="industry", label="Industry", direction="higher"),)})
    with pytest.raises(CriterionError, match="needs numbers"):
        score_summary(demo, words)


def test_a_workspace_without_customers_says_to_upload_them():
    empty = Workspace.create()
    with pytest.raises(IcpError, match="Upload a customer list"):
        default_settings(empty)
    with pytest.raises(IcpError, match="Upload a customer list"):
        score_customers(empty, HAND)


# -- other shapes of data -------------------------------------------------------------------------

def test_accounts_and_deals_only_use_win_rate_and_won_value(tmp_path):
    ws = Workspace.create()
    ws.add_list("customers", write(tmp_path / "accounts.csv", "Company,Industry\nAcme,Fintech\nBeta,Retail\nGamma,Retail\n"))
    ws.add_list("deals", write(tmp_path / "deals.csv", (
        "Deal ID,Company,Deal Stage,Amount\n"
        "D1,Acme,Closed Won,10000\nD2,Acme,Closed Won,5000\nD3,Beta,Closed Lost,7000\n"
        "D4,Beta,Closed Won,1000\nD5,Gamma,Closed Lost,3000\n")))
    settings = default_settings(ws)
    weights = {c.column: c.weight for c in settings.criteria if c.weight > 0}
    assert weights == {"won_value": 2, "win_rate": 1} and settings.value_column == "won_value"
    frame = score_customers(ws, settings)
    assert list(frame["account_name"]) == ["Acme", "Beta", "Gamma"]
    assert frame["is_best"].sum() == 1  # round(0.25 x 3) = 1


def test_orders_alone_value_by_revenue_and_tenure(tmp_path):
    ws = Workspace.create()
    ws.add_list("orders", write(tmp_path / "orders.csv", (
        "Order ID,Order Date,Customer,Sales,Profit\n"
        "O1,1/15/2022,Chevron,100,10\nO2,3/20/2023,Chevron,50,5\nO3,2/2/2022,Apple,1000,300\n")))
    settings = default_settings(ws)
    weights = {c.column: c.weight for c in settings.criteria}
    assert weights["order_revenue"] == 2 and weights["tenure_days"] == 2 and weights["order_profit"] == 0
    assert settings.value_column == "order_revenue"
    # Apple has the revenue (75 vs 25), Chevron the tenure (75 vs 25): a tie at 50, broken by key.
    frame = score_customers(ws, settings)
    assert list(frame["value_score"]) == [50, 50] and list(frame["account_name"]) == ["Apple", "Chevron"]
    summary = score_summary(ws, settings)
    assert (summary.scored, summary.best, summary.threshold_score) == (2, 1, 50)
