"""The exported scoring.sql gives the same scores and tiers in Spark as in DuckDB, account by account."""

import random

import duckdb
import pytest

from icp.analysis.success import SuccessCriterion, SuccessSettings
from icp.profile.model import ICP, Criterion, TierRules
from icp.profile.scoring import scoring_sql
from tests.helpers import local_spark

# PySpark warns about pandas 3 on import; these tests never hand Spark a pandas frame.
pytestmark = [pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
              pytest.mark.spark, pytest.mark.slow]  # a Spark session takes seconds to start

SUCCESS = SuccessSettings(criteria=(SuccessCriterion(column="arr", label="ARR", direction="higher"),))
INDUSTRIES = ["Fintech", "FINTECH ", " healthcare", "Healthcare", "Retail", "O'Brien\"; DROP TABLE t; --", None]
ITEMS = ["Snowflake", " dbt ", "LOOKER", "Oracle", "salesforce", None]
CRITERIA = (
    Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech", "Healthcare")),
    Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, weight=5),
    Criterion(attribute="is_public", label="Public", kind="flag", flag=False, weight=10),
    Criterion(attribute="tech_stack", label="Stack", kind="contains", values=("Snowflake", "DBT"), weight=0),
    Criterion(attribute="tech_stack", label="Legacy", kind="contains", role="disqualify", values=("oracle",)),
    Criterion(attribute="employees", label="Tiny", kind="range", role="disqualify", high=5),
)
# Weights 1 + 5 + 10 = 16 make exact half-way scores (1/16 = 6.25, 5/16 = 31.25): both engines round them up.
THRESHOLDS = ICP(name="Thresholds", success=SUCCESS, criteria=CRITERIA, tiers=TierRules(tier1=90, tier2=60, tier3=30))
# Weights 1 + 2 + 1.5 + 0.7 = 5.2 give repeating decimals; Tier 1 is cut inside a block of equal scores.
CAPACITY = ICP(name="Capacity", success=SUCCESS, tiers=TierRules(mode="capacity", reps=3, accounts_per_rep=10,
                                                                  tier2=50, tier3=20), criteria=(
    CRITERIA[0], CRITERIA[1].model_copy(update={"weight": 2}), CRITERIA[2].model_copy(update={"weight": 1.5}),
    CRITERIA[3].model_copy(update={"weight": 0.7}), CRITERIA[4], CRITERIA[5],
))


def accounts(n: int = 500) -> list[tuple]:
    rng = random.Random(7)
    rows = []
    for i in rng.sample(range(n), n):  # keys not in insertion order
        employees = rng.choice([None, 4.0, 5.0, 51.0, 1001.0, 1000.5, float(rng.randint(1, 5000))])
        stack = None if rng.random() < 0.15 else [rng.choice(ITEMS) for _ in range(rng.randint(0, 3))]
        rows.append((f"k{i:04d}", rng.choice(INDUSTRIES), employees, stack, rng.choice([True, False, None])))
    return rows


@pytest.fixture(scope="session")
def spark():
    session = local_spark("icp-scoring-test")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def both(spark):
    """The same accounts as table `accounts` in DuckDB and as temp view `accounts` in Spark."""
    from pyspark.sql.types import ArrayType, BooleanType, DoubleType, StringType, StructField, StructType

    rows = accounts()
    con = duckdb.connect()
    con.execute("CREATE TABLE accounts (account_key VARCHAR, industry VARCHAR, employees DOUBLE, "
                "tech_stack VARCHAR[], is_public BOOLEAN)")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)", rows)
    schema = StructType([
        StructField("account_key", StringType()), StructField("industry", StringType()),
        StructField("employees", DoubleType()), StructField("tech_stack", ArrayType(StringType())),
        StructField("is_public", BooleanType()),
    ])
    spark.createDataFrame(rows, schema).createOrReplaceTempView("accounts")
    return con, spark


@pytest.mark.parametrize("icp", [THRESHOLDS, CAPACITY], ids=["thresholds", "capacity"])
def test_spark_scores_and_tiers_equal_duckdb(both, icp):
    con, spark = both
    frame = con.execute(scoring_sql(icp, "duckdb")).df()
    in_duckdb = {row.account_key: (round(row.icp_fit_score, 1), row.icp_tier) for row in frame.itertuples()}
    result = spark.sql(scoring_sql(icp, "spark"))
    assert result.columns == ["account_key", "industry", "employees", "tech_stack", "is_public",
                              "icp_fit_score", "icp_tier"]
    in_spark = {row.account_key: (round(row.icp_fit_score, 1), row.icp_tier) for row in result.collect()}
    assert len(in_duckdb) == 500
    assert in_spark == in_duckdb
    tiers = [tier for _, tier in in_duckdb.values()]
    assert len(set(tiers)) == 4  # the data reach every tier, so the comparison means something
    if icp.tiers.mode == "capacity":
        assert tiers.count("Tier 1") == icp.tiers.capacity
