"""scoring.sql scores hand-made edge rows exactly as the app does, row by row, in real engines.

The app's scores (score_frame, DuckDB) are the reference. The exported query runs in DuckDB, in a
real PostgreSQL server (a C-locale database, where only an explicit collation lower-cases 'Ô')
and in PySpark; Snowflake's and BigQuery's are parsed by sqlglot and checked for what makes them
agree (the trim characters, the arithmetic, Snowflake's names).
"""

import math

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from icp.analysis.success import SuccessCriterion, SuccessSettings
from icp.profile.model import ICP, Criterion, TierRules
from icp.profile.scoring import WEIGHT_UNITS, score_frame, scoring_sql
from icp.trim import TRIM_CHARACTERS, normalize, normalized_sql
from tests import postgres
from tests.helpers import local_spark

SUCCESS = SuccessSettings(criteria=(SuccessCriterion(column="arr", label="ARR", direction="higher"),))
NAN, INF = float("nan"), float("inf")
SPACES = "\u00a0\u3000\t\n\r\x0b\x0c\x1c\x1f\x85\u2028\u2029\u2007\u202f"

INDUSTRY = Criterion(attribute="industry", label="Industry", kind="in_set", role="must",
                     values=(" Fintech", "Ôil & Gas\u00a0"))
EMPLOYEES = Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, weight=5)
PUBLIC = Criterion(attribute="is_public", label="Public", kind="flag", flag=False, weight=10)
STACK = Criterion(attribute="tech_stack", label="Stack", kind="contains", values=("Snowflake", "dbt\u3000"), weight=0.7)
LEGACY = Criterion(attribute="tech_stack", label="Legacy", kind="contains", role="disqualify", values=("oracle",))
TINY = Criterion(attribute="employees", label="Tiny", kind="range", role="disqualify", high=5)
BIG = Criterion(attribute="revenue", label="Revenue", kind="range", low=1e6, weight=2.5)
CRITERIA = (INDUSTRY, EMPLOYEES, PUBLIC, STACK, LEGACY, TINY, BIG)

THRESHOLDS = ICP(name="Edges", success=SUCCESS, criteria=CRITERIA, tiers=TierRules(tier1=80, tier2=40, tier3=20))
CAPACITY = ICP(name="Edges by capacity", success=SUCCESS, criteria=CRITERIA,
               tiers=TierRules(mode="capacity", reps=1, accounts_per_rep=6, tier2=40, tier3=20))
# Weights 4.1 and 3.9: the industry alone is 100 x 4.1 / 8 = 51.25 exactly, which as a DOUBLE sum
# is 51.24999999999999: rounded half up it is 51.3, and Tier 1 starts there.
HALF = ICP(name="Half way", success=SUCCESS, tiers=TierRules(tier1=51.3, tier2=51.2, tier3=10), criteria=(
    INDUSTRY.model_copy(update={"role": "nice", "weight": 4.1}), EMPLOYEES.model_copy(update={"weight": 3.9})))
ICPS = {"thresholds": THRESHOLDS, "capacity": CAPACITY, "half": HALF}

ROWS = [
    # key, industry, employees, revenue, tech_stack, is_public
    ("e01", "Fintech", 200.0, 2e6, ["Snowflake"], False),
    ("e02", "\u00a0Fintech", 200.0, 2e6, ["Snowflake"], False),  # Tier 1 in DuckDB, Tier 2 elsewhere before
    ("e03", "Fintech\u3000", 51.0, 1e6, [" dbt "], False),  # both lower bounds are inclusive
    ("e04", "\t\nFINTECH\r\x0b", 1001.0, 999_999.0, ["\u00a0SNOWFLAKE\u3000"], False),  # the upper bound is out
    ("e05", "\x85fintech\u2028\u2029", 1000.999, NAN, ["\x1cdbt\x1f"], True),
    ("e06", SPACES + "Fintech" + SPACES, 50.999, INF, [None, "Looker"], False),
    ("e07", "Fin\u00a0tech", 200.0, 2e6, ["Snowflake"], False),  # a space inside is kept: no match
    ("e08", "\u200bFintech", 200.0, 2e6, [], False),  # a zero-width space is not a space
    ("e09", "ÔIL & GAS", 300.0, 5e6, None, False),  # 'Ô' lower-cases to 'ô' in every database
    ("e10", "ôil & gas", NAN, NAN, ["oracle\u00a0"], False),  # NaN is in no range; padded disqualifier
    ("e11", "Ôil & Gas", 4.999, 2e6, ["Snowflake"], False),  # tiny: disqualified
    ("e12", "Ôil & Gas", 5.0, 2e6, ["Snowflake"], False),
    ("e13", None, 200.0, 2e6, ["Snowflake"], False),  # the must unknown
    ("e14", "", 200.0, 2e6, ["Snowflake"], False),
    ("e15", SPACES, None, None, None, None),
    ("e16", "Retail", 200.0, 2e6, ["Snowflake", "dbt"], False),  # misses the must
    ("e17", "fintech", INF, -INF, ["ORACLE"], False),
    ("e18", "FinTech", -INF, NAN, [None], True),
    ("e19", "Fintech", 200.0, None, ["snowflake", "oracle "], False),
    ("e20", "Ôil & Gas", 999.0, 1e6, ["DBT"], False),
]
COLUMNS = ["account_key", "industry", "employees", "revenue", "tech_stack", "is_public"]


def _app() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE accounts (account_key VARCHAR, industry VARCHAR, employees DOUBLE, revenue DOUBLE, "
                "tech_stack VARCHAR[], is_public BOOLEAN)")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    return con


def _in_app(icp: ICP) -> dict[str, tuple[float, str]]:
    frame = score_frame(_app(), icp, "accounts")
    return {row.account_key: (row.icp_fit_score, row.icp_tier) for row in frame.itertuples()}


def _best_first(scores: list[float]) -> bool:
    return all(a >= b for a, b in zip(scores, scores[1:], strict=False))


# --- the definitions ------------------------------------------------------------------------------

def test_the_trim_characters_are_those_python_strips():
    assert TRIM_CHARACTERS == "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
    con = duckdb.connect()
    for text in [*(row[1] for row in ROWS if row[1] is not None), "\u00a0\u3000", "a\u00a0b", "\x08x\x0e"]:
        assert con.execute(f"SELECT {normalized_sql('x')} FROM (SELECT ? AS x)", [text]).fetchone()[0] == \
            normalize(text) == text.strip().lower()


def test_the_app_scores_the_edges_by_hand():
    """The reference itself, on the rows whose outcome the edges decide."""
    app = _in_app(THRESHOLDS)
    # Must + nice weights in thousandths: industry 1000, employees 5000, public 10000, stack 700,
    # revenue 2500 = 19200; a score is 1000 x the passed ones / 19200, in tenths rounded half up.
    assert app["e01"] == app["e02"] == app["e03"] == (100.0, "Tier 1")  # padding; both lower bounds inclusive
    assert app["e04"] == (60.9, "Tier 2")  # 11700: 1001 and 999,999 are out
    assert app["e05"] == (34.9, "Tier 3")  # 6700: public, NaN revenue is in no range
    assert app["e06"] == (70.3, "Tier 2")  # 13500: 50.999 is out, infinite revenue is in
    assert app["e07"] == app["e16"] == (94.8, "Not a fit")  # misses the must
    assert app["e08"] == (91.1, "Not a fit")  # a zero-width space is no space; an empty stack
    assert app["e09"] == (96.4, "Tier 1")  # 'ÔIL & GAS' is 'Ôil & Gas'
    assert app["e10"] == app["e11"] == app["e17"] == (0.0, "Not a fit")  # disqualified
    assert app["e12"] == (74.0, "Tier 2")  # 14200: 5 employees is not tiny, nor 51
    assert app["e13"][1] == app["e14"][1] == app["e15"][1] == "Not a fit"
    half = _in_app(HALF)
    assert half["e16"] == (48.8, "Tier 3") and half["e07"] == (48.8, "Tier 3")  # 3900 / 8000: 48.75 up
    assert half["e02"] == (100.0, "Tier 1")
    assert half["e03"] == (100.0, "Tier 1") and half["e04"] == (51.3, "Tier 1")  # 4100 / 8000 = 51.25 up
    assert WEIGHT_UNITS == 1000


@pytest.mark.parametrize("name", ICPS)
def test_exported_duckdb_equals_the_app(name):
    icp = ICPS[name]
    rows = _app().execute(scoring_sql(icp, "duckdb")).fetchall()
    got = {row[0]: (row[-2], row[-1]) for row in rows}
    assert got == _in_app(icp)
    assert _best_first([row[-2] for row in rows])


# --- PostgreSQL -------------------------------------------------------------------------------------

def _pg_literal(value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, float):
        if math.isfinite(value):
            return exp.Literal.number(repr(value))
        return exp.cast(exp.Literal.string(repr(value)), "DOUBLE")  # 'nan', 'inf', '-inf'
    if isinstance(value, list):
        return exp.cast(exp.Array(expressions=[_pg_literal(v) for v in value]), "VARCHAR[]")
    return exp.Literal.string(value)


@pytest.fixture(scope="module")
def pg():
    """A throw-away server with the rows in a UTF-8 database of the C locale."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql package: /usr/lib/postgresql/*/bin)")
    server = postgres.Server(bin_dir)
    try:
        server.psql("CREATE DATABASE edges TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';")
        values = exp.values([exp.Tuple(expressions=[_pg_literal(v) for v in row]) for row in ROWS])
        insert = exp.insert(values, "accounts").sql("postgres")
        server.psql("CREATE TABLE accounts (account_key text, industry text, employees double precision, "
                    f"revenue double precision, tech_stack text[], is_public boolean);\n{insert};\n", "edges")
        yield server
    finally:
        server.stop()


def pg_group(test):
    """One worker runs every test of a real engine (a server, a JVM), each started once; seconds each."""
    return pytest.mark.slow(pytest.mark.xdist_group("postgres")(test))


@pg_group
def test_postgres_holds_the_rows_and_is_in_the_c_locale(pg):
    got = {r["account_key"]: r for r in pg.query(
        "SELECT account_key, industry, lower(industry) AS plain_lower, employees, revenue FROM accounts", "edges")}
    assert got["e02"]["industry"] == "\u00a0Fintech" and got["e06"]["industry"] == SPACES + "Fintech" + SPACES
    assert got["e05"]["revenue"] == "NaN" and got["e17"]["revenue"] == "-Infinity"
    # The database's own lower() leaves 'Ô' as it is: the query must not depend on it.
    assert got["e09"]["plain_lower"] == "Ôil & gas"


@pg_group
@pytest.mark.parametrize("name", ICPS)
def test_postgres_scores_every_row_as_the_app(pg, name):
    icp = ICPS[name]
    sql = scoring_sql(icp, "postgres")
    assert "CROSS JOIN LATERAL" in sql and 'COLLATE "und-x-icu"' in sql
    rows = pg.query(sql, "edges")
    assert list(rows[0]) == [*COLUMNS, "icp_fit_score", "icp_tier"]
    got = {r["account_key"]: (float(r["icp_fit_score"]), r["icp_tier"]) for r in rows}
    assert got == _in_app(icp)
    assert _best_first([float(r["icp_fit_score"]) for r in rows])


# --- Spark -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="PySpark is not installed (the test extras bring it)")
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, BooleanType, DoubleType, StringType, StructField, StructType

    # A session tests/test_spark.py left running in this worker is reused: starting one takes seconds.
    running = SparkSession.getActiveSession()
    session = local_spark("icp-sql-engines-test")
    schema = StructType([StructField("account_key", StringType()), StructField("industry", StringType()),
                         StructField("employees", DoubleType()), StructField("revenue", DoubleType()),
                         StructField("tech_stack", ArrayType(StringType())), StructField("is_public", BooleanType())])
    # A view of its own: tests/test_spark.py has an `accounts` view in the same session.
    session.createDataFrame(ROWS, schema).createOrReplaceTempView("edge_accounts")
    yield session
    session.catalog.dropTempView("edge_accounts")
    if running is None:
        session.stop()


@pg_group
@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.parametrize("name", ICPS)
def test_spark_scores_every_row_as_the_app(spark, name):
    icp = ICPS[name]
    sql = scoring_sql(icp, "spark")
    assert sql.count("FROM `accounts` AS `s`") == 1
    result = spark.sql(sql.replace("FROM `accounts` AS `s`", "FROM `edge_accounts` AS `s`"))
    assert result.columns == [*COLUMNS, "icp_fit_score", "icp_tier"]
    rows = result.collect()
    got = {row.account_key: (row.icp_fit_score, row.icp_tier) for row in rows}
    assert got == _in_app(icp)
    assert _best_first([row.icp_fit_score for row in rows])


# --- Snowflake and BigQuery, parsed ----------------------------------------------------------------

def _trim_characters(tree: exp.Expression) -> set[str]:
    """The characters of every TRIM of the tree, read back as the dialect's parser reads them."""
    found = set()
    for trimmed in tree.find_all(exp.Trim):
        characters = trimmed.expression
        if isinstance(characters, exp.CodePointsToString):
            found.add("".join(chr(int(p.this)) for p in characters.this.expressions))
        else:
            found.add(characters.this)
    return found


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery"])
@pytest.mark.parametrize("name", ICPS)
def test_snowflake_and_bigquery_trim_exactly_and_count_in_integers(dialect, name):
    icp = ICPS[name]
    sql = scoring_sql(icp, dialect)
    tree = sqlglot.parse_one(sql, read=dialect)
    assert _trim_characters(tree) == {TRIM_CHARACTERS}
    assert len(list(tree.find_all(exp.Trim))) == len(list(tree.find_all(exp.Lower))) > 0
    # The weights are whole thousandths: CASE WHEN <passed> THEN 4100 ELSE 0 END.
    units = {int(case.args["ifs"][0].args["true"].this) for case in tree.find_all(exp.Case)
             if case.args["ifs"][0].args["true"].is_int and case.args["default"] == exp.Literal.number(0)}
    assert units == {round(c.weight * WEIGHT_UNITS) for c in icp.criteria if c.role != "disqualify" and c.weight}
    # No weight and no share is a fraction: the only non-integer numbers are bounds and thresholds.
    bounds = {float(n) for c in icp.criteria for n in (c.low, c.high) if n is not None}
    thresholds = {icp.tiers.tier1, icp.tiers.tier2, icp.tiers.tier3}
    fractions = {float(lit.this) for lit in tree.find_all(exp.Literal) if lit.is_number and not lit.is_int}
    assert fractions <= bounds | thresholds
    assert not list(tree.find_all(exp.Round))
    if dialect == "snowflake":
        assert list(tree.find_all(exp.Floor)) and not list(tree.find_all(exp.IntDiv))
    else:
        assert len(list(tree.find_all(exp.IntDiv))) == 1


def test_snowflake_names_are_found_as_ordinary_tables_name_them():
    odd = Criterion(attribute="Industry Code", label="Code", kind="in_set", values=("a",))
    reserved = Criterion(attribute="order", label="Order", kind="flag", flag=True)
    icp = THRESHOLDS.model_copy(update={"criteria": (*CRITERIA, odd, reserved)})
    tree = sqlglot.parse_one(scoring_sql(icp, "snowflake"), read="snowflake")
    quoted = {i.name for i in tree.find_all(exp.Identifier) if i.quoted}
    plain = {i.name for i in tree.find_all(exp.Identifier) if not i.quoted}
    assert quoted == {"Industry Code", "order"}
    assert {"accounts", "industry", "employees", "tech_stack", "is_public", "icp_fit_score", "icp_tier"} <= plain
    # Every other dialect keeps names quoted; an ordinary lower-case name matches them there.
    for dialect in ("duckdb", "postgres", "bigquery", "spark"):
        tree = sqlglot.parse_one(scoring_sql(icp, dialect), read=dialect)
        assert all(i.quoted for i in tree.find_all(exp.Identifier))


def test_ingest_takes_for_a_space_exactly_what_scoring_trims():
    """A category label as the app shows it (ingest's icp_cell, merged by icp_label_key) is already
    trimmed as the score trims: "\\x85Fintech" was a label of its own beside "Fintech", yet scored as it."""
    from icp import normalize as ingest

    con = duckdb.connect()
    ingest.install(con)
    for ch in TRIM_CHARACTERS:
        for text, shown in ((ch + "Fintech" + ch, "Fintech"), ("Fin" + ch + ch + "tech", "Fin tech")):
            assert con.execute("SELECT icp_cell(?), icp_label_key(?)", [text, text]).fetchone() == \
                (shown, shown.lower()), hex(ord(ch))
    assert con.execute("SELECT icp_list(?)", ["\x85dbt\x0b; Snowflake\x1c"]).fetchone()[0] == ["dbt", "Snowflake"]
    assert con.execute("SELECT icp_cell(?)", ["\u200bFintech"]).fetchone()[0] == "\u200bFintech"  # not a space
