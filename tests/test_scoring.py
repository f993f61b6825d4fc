"""Scoring: fit score, SAM, tier and reasons against a hand-computed table; scoring.sql in five dialects."""

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from icp.profile.model import Criterion
from icp.profile.scoring import DIALECTS, columns_read, score_frame, score_sql, scoring_sql
from icp.relation import Relation
from tests.helpers import CRITERIA, EMPLOYEES, INDUSTRY, PUBLIC, make_icp

HOSTILE = "O'Brien\"; DROP TABLE t; -- back\\slash"

# Weights of must + nice: industry 1 + employees 2 + tech stack 0.5 = 3.5; score = 100 x passed / 3.5.
# Rows are not in key order, so the capacity tie-break cannot come from insertion order.
ROWS = [
    # key, industry, employees, tech_stack, is_public
    ("a8", "healthcare", 5000.0, ["snowflake"], False),  # 1 + 0.5 = 1.5 -> 42.857 -> 42.9, in SAM
    ("a1", "Fintech", 200.0, ["Snowflake", "Looker"], False),  # 3.5 -> 100.0, in SAM
    ("a2", "FINTECH ", 5000.0, [" DBT "], None),  # case and spaces still match: 1.5 -> 42.9; NULL flag is no disqualifier
    ("a3", "Healthcare", 1001.0, None, False),  # high bound excluded, list unknown: 1 -> 28.571 -> 28.6
    ("a4", "Retail", 51.0, ["Snowflake"], False),  # low bound included: 2.5 -> 71.4, but misses the must
    ("a5", None, 300.0, [], False),  # industry unknown, empty list: 2 -> 57.1, not in SAM
    ("a6", "Fintech", 500.0, ["Snowflake"], True),  # would be 100, disqualified -> 0
    ("a7", "Healthcare", None, ["Looker", None], False),  # a NULL item passes nothing: 1 -> 28.6
]
MET_INDUSTRY = "Industry is Fintech or Healthcare"
MET_EMPLOYEES = "Employees 51–1,000"
MET_STACK = "Tech stack has Snowflake or dbt"
EXPECTED = {
    # key: (score, in_sam, reasons)
    "a1": (100.0, True, f"met: {MET_INDUSTRY}; {MET_EMPLOYEES}; {MET_STACK}"),
    "a2": (42.9, True, f"met: {MET_INDUSTRY}; {MET_STACK} | missed: {MET_EMPLOYEES}"),
    "a3": (28.6, True, f"met: {MET_INDUSTRY} | missed: {MET_EMPLOYEES}; Tech stack (unknown)"),
    "a4": (71.4, False, f"met: {MET_EMPLOYEES}; {MET_STACK} | missed: {MET_INDUSTRY}"),
    "a5": (57.1, False, f"met: {MET_EMPLOYEES} | missed: Industry (unknown); {MET_STACK}"),
    "a6": (0.0, False, f"met: {MET_INDUSTRY}; {MET_EMPLOYEES}; {MET_STACK} | disqualified: Public company: yes"),
    "a7": (28.6, True, f"met: {MET_INDUSTRY} | missed: Employees (unknown); {MET_STACK}"),
    "a8": (42.9, True, f"met: {MET_INDUSTRY}; {MET_STACK} | missed: {MET_EMPLOYEES}"),
}
COLUMNS = "account_key VARCHAR, industry VARCHAR, employees DOUBLE, tech_stack VARCHAR[], is_public BOOLEAN"


def table(name: str = "t", rows=ROWS) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {name} ({COLUMNS})")
    con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)", rows)
    return con


def tiers_of(frame) -> dict[str, str]:
    return dict(zip(frame["account_key"], frame["icp_tier"], strict=True))


def test_hand_table_scores_sam_and_reasons():
    frame = score_frame(table(), make_icp(), "t")
    assert list(frame.columns) == ["account_key", "industry", "employees", "tech_stack", "is_public",
                                   "icp_fit_score", "icp_tier", "icp_in_sam", "icp_insufficient", "icp_reasons"]
    got = {row.account_key: (row.icp_fit_score, row.icp_in_sam, row.icp_reasons) for row in frame.itertuples()}
    assert got == EXPECTED
    # Best first, ties by key: a1 100, a4 71.4, a5 57.1, a2 = a8 42.9, a3 = a7 28.6, a6 0.
    assert list(frame["account_key"]) == ["a1", "a4", "a5", "a2", "a8", "a3", "a7", "a6"]


def test_a_must_is_a_hard_filter_and_an_unknown_must_is_insufficient_data():
    frame = score_frame(table(), make_icp(tier1=90, tier2=40, tier3=25), "t")
    # a4 (71.4) misses the must: not a fit, whatever its score; a5 (57.1) does not know its industry:
    # not a fit too, counted apart as insufficient data; a6 is disqualified (0).
    assert tiers_of(frame) == {"a1": "Tier 1", "a2": "Tier 2", "a8": "Tier 2", "a3": "Tier 3", "a7": "Tier 3",
                               "a4": "Not a fit", "a5": "Not a fit", "a6": "Not a fit"}
    short = dict(zip(frame["account_key"], frame["icp_insufficient"], strict=True))
    assert {key for key, flag in short.items() if flag} == {"a5"}
    # Even above the Tier 1 threshold, an account outside SAM is not a fit.
    frame = score_frame(table(), make_icp(tier1=50, tier2=40, tier3=25), "t")
    assert tiers_of(frame)["a4"] == "Not a fit" and tiers_of(frame)["a5"] == "Not a fit"


def test_an_unknown_must_beside_a_failed_one_or_a_disqualifier_is_plainly_not_a_fit():
    rows = [("b1", None, 5.0, None, True), ("b2", "Retail", None, None, False), ("b3", None, None, None, False)]
    frame = score_frame(table(rows=rows), make_icp(criteria=(INDUSTRY, EMPLOYEES.model_copy(update={"role": "must"}),
                                                           PUBLIC)), "t")
    short = dict(zip(frame["account_key"], frame["icp_insufficient"], strict=True))
    # b1 is disqualified, b2 fails a known must: not for want of data. b3 knows neither must.
    assert short == {"b1": False, "b2": False, "b3": True}


def test_a_score_equal_to_the_threshold_reaches_the_tier():
    # The tier compares the rounded score: a2 and a8 are 42.9 exactly, a3 and a7 are 28.6.
    frame = score_frame(table(), make_icp(tier1=42.9, tier2=42.9, tier3=28.6), "t")
    assert tiers_of(frame) == {"a1": "Tier 1", "a2": "Tier 1", "a8": "Tier 1", "a3": "Tier 3", "a7": "Tier 3",
                               "a4": "Not a fit", "a5": "Not a fit", "a6": "Not a fit"}


def test_capacity_sizes_tier_1_among_accounts_in_sam_with_ties_by_key():
    icp = make_icp(mode="capacity", reps=1, accounts_per_rep=2, tier1=90, tier2=40, tier3=25)
    frame = score_frame(table(), icp, "t")
    # In SAM by score: a1 100, then a2 = a8 42.9 (a2 first by key); a4 (71.4) is out of SAM.
    # a8 falls back to the thresholds: 42.9 >= 40 is Tier 2; a4 and a5 outside SAM are not a fit.
    assert tiers_of(frame) == {"a1": "Tier 1", "a2": "Tier 1", "a8": "Tier 2", "a3": "Tier 3", "a7": "Tier 3",
                               "a4": "Not a fit", "a5": "Not a fit", "a6": "Not a fit"}
    assert (frame["icp_tier"] == "Tier 1").sum() == 2


def test_no_weighted_criteria_is_no_icp_yet_and_nothing_is_a_fit():
    frame = score_frame(table(), make_icp(criteria=()), "t")
    assert set(frame["icp_fit_score"]) == {0.0} and frame["icp_in_sam"].all()
    assert set(frame["icp_tier"]) == {"Not a fit"} and set(frame["icp_reasons"]) == {""}
    weightless = make_icp(criteria=(INDUSTRY.model_copy(update={"weight": 0}), PUBLIC))
    frame = score_frame(table(), weightless, "t")
    assert set(frame["icp_fit_score"]) == {0.0} and set(frame["icp_tier"]) == {"Not a fit"}


def test_a_subquery_source_and_another_key():
    icp = make_icp(mode="capacity", reps=1, accounts_per_rep=1)
    frame = score_frame(table(), icp, Relation.of_query("SELECT *, upper(account_key) AS k FROM t WHERE employees IS NOT NULL"),
                        key="k")
    assert list(frame["k"]) == ["A1", "A4", "A5", "A2", "A8", "A3", "A6"]  # a7 has no employees
    assert list(frame.loc[frame["icp_tier"] == "Tier 1", "k"]) == ["A1"]
    with pytest.raises(TypeError, match="is a Relation"):
        score_sql(make_icp(), "(SELECT * FROM t)")


def test_hostile_values_labels_and_column_names_stay_literals():
    column = 'x"; DROP TABLE t; --'
    con = table()
    con.execute(f'ALTER TABLE t ADD COLUMN "{column.replace(chr(34), chr(34) * 2)}" VARCHAR')
    con.execute(f'UPDATE t SET "{column.replace(chr(34), chr(34) * 2)}" = ? WHERE account_key = ?', [HOSTILE, "a1"])
    con.execute("UPDATE t SET industry = ? WHERE account_key = 'a2'", [HOSTILE.upper() + " "])
    icp = make_icp(criteria=(
        Criterion(attribute="industry", label=HOSTILE, kind="in_set", values=(HOSTILE,)),
        Criterion(attribute=column, label="Odd", kind="in_set", values=(HOSTILE,)),
    ))
    frame = score_frame(con, icp, "t").set_index("account_key")
    # Each account passes one of the two criteria at most (weight 1 each): 1/2 -> 50.
    assert frame.loc["a1", "icp_fit_score"] == 50 and frame.loc["a2", "icp_fit_score"] == 50
    assert frame.loc["a2", "icp_reasons"] == f"met: {HOSTILE} is {HOSTILE} | missed: Odd (unknown)"
    assert frame.loc["a3", "icp_fit_score"] == 0
    assert con.execute("SELECT count(*) FROM t").fetchone() == (8,)


def test_columns_read_and_conflicting_types():
    assert columns_read(make_icp()) == {"industry": "VARCHAR", "employees": "DOUBLE", "tech_stack": "VARCHAR[]",
                                        "is_public": "BOOLEAN"}
    clash = Criterion(attribute="employees", label="Size", kind="in_set", values=("small",))
    with pytest.raises(ValueError, match="two criteria read 'employees' in different ways"):
        make_icp(criteria=(EMPLOYEES, clash))
    # An ICP copied without validation is still refused before any SQL is written.
    with pytest.raises(ValueError, match="one column has one type"):
        columns_read(make_icp(criteria=(EMPLOYEES,)).model_copy(update={"criteria": (EMPLOYEES, clash)}))


def test_unknown_dialect_and_non_finite_bounds_are_refused():
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        score_sql(make_icp(), "t", dialect="mysql")
    endless = Criterion(attribute="employees", label="E", kind="range", low=float("inf"))
    with pytest.raises(ValueError, match="not a number"):
        score_sql(make_icp(criteria=(endless,)), "t")


@pytest.mark.parametrize("tiers", [{}, {"mode": "capacity", "reps": 2, "accounts_per_rep": 1}])
def test_exported_scoring_sql_matches_score_sql(tiers):
    icp = make_icp(tier1=90, tier2=40, tier3=25, **tiers)
    con = table("accounts")
    exported = con.execute(scoring_sql(icp, "duckdb")).df()
    assert list(exported.columns) == ["account_key", "industry", "employees", "tech_stack", "is_public",
                                      "icp_fit_score", "icp_tier"]
    assert list(exported["icp_fit_score"]) == sorted(exported["icp_fit_score"], reverse=True)
    inside = score_frame(con, icp, "accounts")
    columns = ["account_key", "icp_fit_score", "icp_tier"]
    assert (exported[columns].sort_values("account_key").reset_index(drop=True)
            .equals(inside[columns].sort_values("account_key").reset_index(drop=True)))


def test_scoring_sql_header_lists_the_columns_and_cannot_be_escaped():
    icp = make_icp(mode="capacity").model_copy(update={"name": "Evil\nDROP TABLE accounts;\r\u2028x"})
    sql = scoring_sql(icp, "duckdb")
    header = sql[: sql.index("SELECT")].splitlines()
    assert all(line.startswith("-- ") for line in header)
    assert "-- ICP fit score: Evil DROP TABLE accounts; x, version 1, " in header[0]
    for line in ("--   industry VARCHAR", "--   employees DOUBLE", "--   tech_stack VARCHAR[]",
                 "--   is_public BOOLEAN"):
        assert line in header
    assert any(line.startswith("--   account_key VARCHAR") for line in header)  # capacity mode's tie-break
    assert not any("account_key" in line for line in scoring_sql(make_icp(), "bigquery").splitlines()[:8])
    assert "--   tech_stack ARRAY<STRING>" in scoring_sql(icp, "spark")


# The list predicate's expected shape per dialect (whitespace removed, as pretty printing breaks lines).
SHAPES = {
    "duckdb": ("LIST_FILTER(",),
    "postgres": ("EXISTS(", "FROMUNNEST("),
    "bigquery": ("EXISTS(", "FROMUNNEST("),
    "snowflake": ("ARRAY_SIZE(FILTER(", "CAST(itemASVARCHAR)"),  # plain names unquoted, as Snowflake finds them
    "spark": ("SIZE(FILTER(", "`item`->"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", ["thresholds", "capacity"])
def test_every_dialect_renders_parses_back_and_keeps_literals(dialect, mode):
    hostile = Criterion(attribute="industry", label=HOSTILE, kind="in_set", role="disqualify", values=(HOSTILE,))
    icp = make_icp(criteria=(*CRITERIA, hostile), mode=mode)
    for sql, reasons in ((scoring_sql(icp, dialect), False), (score_sql(icp, "t", dialect=dialect), True)):
        tree = sqlglot.parse_one(sql, read=dialect)
        literals = {lit.this for lit in tree.find_all(exp.Literal) if lit.is_string}
        assert HOSTILE.lower() in literals  # the value, exactly, as one string literal
        # and, in score_sql, in the reasons: a piece of them, or (DuckDB) within each whole text
        pieces = {text for text in literals if f"; {HOSTILE} is {HOSTILE}" in text
                  or text.endswith(f"disqualified: {HOSTILE} is {HOSTILE}")}
        assert bool(pieces) is reasons
        assert not list(tree.find_all(exp.Drop))
        for shape in SHAPES[dialect]:
            assert shape in "".join(sql.split())
        if dialect != "duckdb":  # DuckDB-only names
            assert "LIST_" not in sql.upper() and "LAMBDA" not in sql.upper()


def test_scoring_again_replaces_the_old_scores():
    con = table()
    con.execute("CREATE TABLE again AS SELECT *, 0.0 AS icp_fit_score, 'Tier 9' AS icp_tier FROM t")
    frame = score_frame(con, make_icp(), "again")
    assert list(frame.columns).count("icp_fit_score") == 1
    assert {row.account_key: row.icp_fit_score for row in frame.itertuples()} == {k: v[0] for k, v in EXPECTED.items()}


def test_reasons_looked_up_equal_reasons_pieced_together(monkeypatch):
    """DuckDB looks the reasons up by which criteria passed; every combination of passed, missed
    and unknown reads exactly as the portable expression pieces it together."""
    import icp.profile.scoring as scoring

    icp = make_icp(criteria=(*CRITERIA, Criterion(attribute="employees", label="Tiny", kind="range", high=10,
                                                  role="disqualify")))
    con = table()
    values = {"industry": ["Fintech", "Retail", None], "employees": [5.0, 200.0, 5000.0, None],
              "tech_stack": [["dbt"], ["Looker"], None], "is_public": [True, False, None]}
    con.execute("DELETE FROM t")
    rows = [(f"k{i}", ind, emp, stack, pub) for i, (ind, emp, stack, pub) in enumerate(
        (ind, emp, stack, pub) for ind in values["industry"] for emp in values["employees"]
        for stack in values["tech_stack"] for pub in values["is_public"])]
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    looked_up = con.execute(score_sql(icp, "t")).df().set_index("account_key")["icp_reasons"]
    whole = f"'met: {MET_INDUSTRY}; {MET_EMPLOYEES}; {MET_STACK}'"
    assert whole in score_sql(icp, "t")  # a whole text is one literal of the list
    monkeypatch.setattr(scoring, "_MAX_REASON_TEXTS", 0)
    scoring._score_sql.cache_clear()
    try:
        assert whole not in score_sql(icp, "t")
        pieced = con.execute(score_sql(icp, "t")).df().set_index("account_key")["icp_reasons"]
    finally:
        scoring._score_sql.cache_clear()
    assert len(rows) == 108 and len(set(pieced)) >= 30
    assert looked_up.sort_index().equals(pieced.sort_index())
