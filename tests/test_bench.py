"""bench/: the plain-pandas scorer the benchmark compares against stays equal to the engine's
scoring (so the comparison is honest), and bench/scale.py runs from end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from icp.analysis.success import SuccessSettings
from icp.data.catalog import rows_of
from icp.data.demo import write_demo
from icp.data.workspace import Workspace
from icp.market.combinations import scored
from icp.profile.model import ICP, Criterion, TierRules

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import pandas_scoring  # noqa: E402
import universe  # noqa: E402

# Every kind and role; weights whose binary sums are inexact (3.7 + 2.9); a weight of 0; values
# spelled with other case and spaces; a list criterion with more spellings than list_contains
# calls; a column the data lacks.
CRITERIA = (
    Criterion(attribute="tech_stack", label="Tech", kind="contains", values=("snowflake ", "DBT"), role="must",
              weight=3.7),
    Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, role="must", weight=2.9),
    Criterion(attribute="industry", label="Industry", kind="in_set", values=("FinTech", " healthcare"), weight=1.3),
    Criterion(attribute="revenue", label="Revenue", kind="range", low=1e7, weight=0.1),
    Criterion(attribute="country", label="Country", kind="in_set", values=("US",), weight=0),
    Criterion(attribute="tech_stack", label="Cloud", kind="contains",
              values=("AWS", "gcp", "Azure", "Slack", "Jira", "Stripe"), weight=2.2),
    Criterion(attribute="no_such_column", label="Nothing", kind="in_set", values=("a",), weight=1),
    Criterion(attribute="business_model", label="Model", kind="in_set", values=("Hardware",), role="disqualify",
              weight=2),
)
TIERS = [
    TierRules(tier1=62.5, tier2=33.3, tier3=12.5),
    TierRules(mode="capacity", reps=3, accounts_per_rep=40, tier1=90, tier2=33.3, tier3=10),
]


def icp(criteria=CRITERIA, tiers=TIERS[0]) -> ICP:
    return ICP(success=SuccessSettings(criteria=()), criteria=criteria, tiers=tiers)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """The demo customers, and a universe of the demo's 60,000 companies and 2,000 drawn by bench/universe.py."""
    folder = tmp_path_factory.mktemp("bench")
    files = write_demo(folder / "demo")
    workspace = Workspace.create("bench", folder=folder)
    workspace.add_list("customers", files["customers"])
    workspace.add_list("universe", universe.write_universe(folder / "universe.csv", 62_000))
    return workspace


def _compare(workspace: Workspace, table: str, rules: ICP) -> int:
    with workspace.connect() as con:
        frame = con.execute(f"SELECT * FROM {table}").df()
        duck = con.execute(f"SELECT account_key, icp_fit_score, icp_tier, icp_in_sam "
                           f"FROM {scored(con, rules, rows_of(table))}").df()
    mine = pandas_scoring.score(frame, rules).assign(account_key=frame["account_key"].to_numpy())
    both = duck.merge(mine, on="account_key", suffixes=("_duckdb", "_pandas"), validate="one_to_one")
    assert len(both) == len(frame)
    for column in ("icp_fit_score", "icp_tier", "icp_in_sam"):
        differ = both[both[f"{column}_duckdb"] != both[f"{column}_pandas"]]
        assert differ.empty, f"{column} differs for {len(differ)} accounts:\n{differ.head()}"
    return len(both)


@pytest.mark.parametrize("tiers", TIERS, ids=["thresholds", "capacity"])
def test_the_pandas_reference_scores_the_universe_as_duckdb_does(workspace, tiers):
    assert _compare(workspace, "universe", icp(tiers=tiers)) == 62_000
    # The counts the benchmark compares are the same too.
    rules = icp(tiers=tiers)
    with workspace.connect() as con:
        frame = con.execute("SELECT * FROM universe").df()
        counts = con.execute(f"SELECT icp_tier, icp_in_sam, count(*) FROM {scored(con, rules, rows_of('universe'))} "
                             "GROUP BY ALL").fetchall()
    assert pandas_scoring.tier_and_sam_counts(frame, rules) == {(t, bool(s)): n for t, s, n in counts}


def test_the_pandas_reference_reads_flags_and_edge_cases_as_duckdb_does(workspace):
    flags = (
        Criterion(attribute="churned", label="Churned", kind="flag", flag=False, role="must", weight=1.5),
        Criterion(attribute="employees", label="Small", kind="range", high=20, role="disqualify"),
        Criterion(attribute="tech_stack", label="Nothing", kind="contains", values=("no such tool",), weight=4),
    )
    assert _compare(workspace, "customers", icp(criteria=flags)) > 300
    assert _compare(workspace, "customers", icp(criteria=())) > 300  # no criterion: everyone scores 100


@pytest.mark.slow
def test_the_scale_benchmark_runs_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "2k", "--no-docs", "--quick",
         "--work", str(tmp_path / "work"), "--json", str(tmp_path / "figures.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| ingest (`add_list`) |" in result.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())["sizes"]["2k"]
    assert figures["ingest"]["rows"] == 2_000
    assert figures["pandas"]["rows_checked"] == 2_000
    assert figures["slider"]["tam"] == 2_000 and 0 <= figures["slider"]["sam"] <= 2_000
    assert figures["clusters"]["rows"] == 2_000
    # The CRM-shaped file (bench/universe.py --shape crm) is scored too, beside its own floor.
    assert figures["crm_generate"]["mb"] > 0 and "failed" not in figures["crm_cli_score"]
    assert figures["crm_cli_score"]["peak_mb"] > 0 and figures["crm_floor_copy"]["seconds"] > 0


def test_a_ratio_figure_is_the_median_of_its_runs():
    import scale

    figures = iter([{"seconds": 3.0, "peak_mb": 10, "ws": "a"}, {"seconds": 1.0, "peak_mb": 30, "ws": "b"},
                    {"seconds": 2.0, "peak_mb": 20, "ws": "c"}])
    result = scale._median_run(3, lambda: next(figures))
    assert result == {"seconds": 2.0, "seconds_runs": [3.0, 1.0, 2.0], "peak_mb": 30, "ws": "c"}
