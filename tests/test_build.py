"""`icp build`, `icp score` and `icp sql` end to end: the section-4 output contracts."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from icp.cli import main
from icp.export.build import scratch_workspace
from icp.market.targets import target_source
from tests.helpers import run_icp, shared_file

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ["icp.json", "icp.pdf", "market.json", "scoring.sql", "segments.csv", "targets.csv", "targets.xlsx"]
# Every test here builds or reads a build of the demo (seconds each): not for the fast loop.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(built_demo):
    """The demo built once per run (conftest's built_demo); the tests here only read it."""
    return built_demo


def run_subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "icp", *args], cwd=ROOT, capture_output=True, text=True)


# In this process; the score and sql commands keep one `python -m icp` run each below.
run_cli = run_icp


def test_build_writes_every_contract_file(built, demo_files):
    assert sorted(p.name for p in built.iterdir()) == CONTRACT
    market = json.loads((built / "market.json").read_text())
    assert set(market) == {"tam", "sam", "som", "assumptions"}
    assert market["tam"]["accounts"] == 60_000 and 0 < market["som"]["accounts"] < market["sam"]["accounts"]
    segments = pd.read_csv(built / "segments.csv")
    assert list(segments.columns) == ["industry", "size_band", "accounts", "best_customers", "value_mean",
                                      "win_rate", "churn_rate", "rank"]
    targets = pd.read_csv(built / "targets.csv")
    universe = pd.read_csv(demo_files["universe"], nrows=1)
    assert list(targets.columns) == [*universe.columns, "icp_fit_score", "icp_tier", "icp_reasons"]
    assert targets["icp_fit_score"].is_monotonic_decreasing
    assert set(targets["icp_tier"]) <= {"Tier 1", "Tier 2", "Tier 3", "Not a fit"}
    assert len(targets) == 60_000 - 400  # the universe minus the customers
    from pypdf import PdfReader
    from python_calamine import CalamineWorkbook

    pdf = PdfReader(built / "icp.pdf")
    assert 1 <= len(pdf.pages) <= 2 and f"{market['sam']['accounts']:,}" in pdf.pages[0].extract_text()

    book = CalamineWorkbook.from_path(str(built / "targets.xlsx"))
    assert book.sheet_names == ["Targets", "ICP"]
    assert len(book.get_sheet_by_name("Targets").to_python()) == len(targets) + 1


def test_build_with_the_saved_settings_reproduces_targets_exactly(built, demo_files, tmp_path):
    again = tmp_path / "again"
    args = ["build", "--customers", str(demo_files["customers"]), "--deals", str(demo_files["deals"]),
            "--universe", str(demo_files["universe"]), "--settings", str(built / "icp.json"), "--out", str(again)]
    assert main(args) == 0
    assert (again / "targets.csv").read_bytes() == (built / "targets.csv").read_bytes()
    assert (again / "scoring.sql").read_text() == (built / "scoring.sql").read_text()


def test_a_crafted_icp_json_is_one_sentence_naming_it_in_build_and_score(built, demo_files, tmp_path, capsys):
    data = json.loads((built / "icp.json").read_text())
    first = data["criteria"][0]
    twin = {"attribute": first["attribute"], "label": first["label"], "role": "nice",
            **({"kind": "range", "low": 1} if first["kind"] != "range" else {"kind": "in_set", "values": ["x"]})}
    data["criteria"].append(twin)
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps(data))
    out = tmp_path / "out"
    for args in (["build", "--customers", str(demo_files["customers"]), "--settings", str(crafted), "--out", str(out)],
                 ["score", "--icp", str(crafted), "--accounts", str(demo_files["universe"]),
                  "--out", str(out / "targets.csv")]):
        capsys.readouterr()
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith(f"error: {crafted}: is not a usable ICP: two criteria read '{first['attribute']}'")
        assert not out.exists()


def test_scoring_sql_in_duckdb_equals_the_targets_file(built, demo_files):
    files = {"customers": demo_files["customers"], "deals": demo_files["deals"], "universe": demo_files["universe"]}
    with scratch_workspace(files) as workspace:
        source, _ = target_source(workspace)
        with workspace.connect() as con:
            accounts = con.execute(source).df()
    con = duckdb.connect()
    con.register("frame", accounts)
    con.execute("CREATE TABLE accounts AS SELECT * FROM frame")
    scored = con.execute((built / "scoring.sql").read_text()).df()
    expected = pd.read_csv(built / "targets.csv")[["Domain", "icp_fit_score", "icp_tier"]]
    merged = expected.merge(scored[["domain", "icp_fit_score", "icp_tier"]], left_on="Domain", right_on="domain",
                            suffixes=("_csv", "_sql"))
    assert len(merged) == len(expected) == len(scored)
    assert (merged["icp_fit_score_csv"] == merged["icp_fit_score_sql"]).all()
    assert (merged["icp_tier_csv"] == merged["icp_tier_sql"]).all()


def test_score_and_sql_commands(built, demo_files, tmp_path):
    out = tmp_path / "scored.csv"
    result = run_subprocess("score", "--icp", str(built / "icp.json"), "--accounts", str(demo_files["universe"]),
                            "--out", str(out))
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(out)
    assert len(scored) == 60_000 and list(scored.columns[-3:]) == ["icp_fit_score", "icp_tier", "icp_reasons"]
    for dialect in ("duckdb", "postgres", "snowflake", "bigquery", "spark"):
        run = run_subprocess if dialect == "duckdb" else run_cli
        result = run("sql", "--icp", str(built / "icp.json"), "--dialect", dialect)
        assert result.returncode == 0 and "SELECT" in result.stdout and "icp_tier" in result.stdout


def test_bad_input_is_one_error_line_and_nothing_is_written(demo_files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    cases = [
        ["build", "--customers", str(demo_files["customers"]), "--universe", str(broken), "--out", str(out)],
        ["build", "--customers", str(tmp_path / "missing.csv"), "--out", str(out)],
        ["build", "--customers", str(demo_files["customers"]), "--segment-by", "zodiac", "--out", str(out)],
        ["score", "--icp", str(broken), "--accounts", str(demo_files["universe"]), "--out", str(out / "t.csv")],
    ]
    messages = []
    for args in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.stderr
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
        messages.append(lines[0])
    assert "broken.xlsx" in messages[0] and "missing.csv" in messages[1] and "zodiac" in messages[2]
    assert "broken.xlsx" in messages[3]


def test_build_on_the_maven_crm_with_inc5000_as_universe(tmp_path):
    accounts = shared_file("maven_crm/accounts.csv")
    pipeline = shared_file("maven_crm/sales_pipeline.csv")
    universe = shared_file("inc5000.csv")
    out = tmp_path / "maven"
    result = run_cli("build", "--customers", str(accounts), "--deals", str(pipeline), "--universe", str(universe),
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == CONTRACT
    assert json.loads((out / "market.json").read_text())["tam"]["accounts"] == 5000
    segments = pd.read_csv(out / "segments.csv")
    assert {"industry", "accounts", "win_rate", "rank"} <= set(segments.columns)


def test_one_customer_file_is_enough(demo_files, tmp_path):
    out = tmp_path / "alone"
    result = run_cli("build", "--customers", str(demo_files["customers"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    market = json.loads((out / "market.json").read_text())
    assert market["tam"] == {"accounts": None, "value": None} and "universe" in market["assumptions"]["note"]
    targets = pd.read_csv(out / "targets.csv")
    # With no universe or targets, the customers themselves are scored: every uploaded row, the 12
    # appended duplicates with the score of the account they repeat.
    assert len(targets) == 412
    repeated = targets[targets["Record ID"].isna()]
    assert len(repeated) == 12 and repeated["icp_tier"].notna().all()


# Cells a spreadsheet would run, control characters, quoting and a repeated account: `icp score`
# writes them in SQL, short ways included, and must write what the exports write.
HOSTILE_HEADER = 'Company,Domain,"=cmd|calc",Industry,Employees,"Note, ""quoted""",+plus\r\n'
HOSTILE_ROWS = [
    'Acme,acme.com,=1+1,Fintech,200,"line one\r\nline two",-5\r\n',
    'Beta,beta.io,@SUM(A1),healthcare,51,\tleading tab,+7\r\n',
    'Acme Inc,acme.com,plain,,300,"a, b",\r\n',
    'Gamma,gamma.org,-3.5,Retail,n/a,"=HYPERLINK(""x"")",x\r\n',
    'Delta,delta.net,,Fintech,5000,Zürich €,1\r\n',
]


@pytest.mark.parametrize("controls", [False, True])
def test_icp_score_writes_the_targets_csv_of_the_exports_byte_for_byte(built, tmp_path, controls):
    from icp.export.build import read_icp, score_file
    from icp.export.tables import targets_csv
    from icp.market.targets import targets_export

    rows = HOSTILE_ROWS + (['Epsilon,eps.io,bell\x07here,Fintech,90,x\x0by,\x01=2\r\n'] if controls else [])
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes((HOSTILE_HEADER + "".join(rows)).encode("utf-8"))
    icp = read_icp(built / "icp.json")
    scored = score_file(built / "icp.json", accounts, tmp_path / "scored" / "targets.csv")
    with scratch_workspace({"targets": accounts}) as workspace:
        expected = targets_csv(targets_export(workspace, icp))
    assert scored.read_bytes() == expected
    text = expected.decode("utf-8")
    assert "'=1+1" in text and "'@SUM(A1)" in text and "'=cmd|calc" in text and "\x07" not in text
    # The repeated account is scored once; both of its rows come out, with one score.
    acme = [row for row in csv.reader(io.StringIO(text, newline="")) if row[0].startswith("Acme")]
    assert [row[0] for row in acme] == ["Acme", "Acme Inc"] and acme[0][-3:] == acme[1][-3:]


def test_icp_score_reasons_with_a_control_character_in_the_icp(built, tmp_path):
    from icp.export.build import read_icp, score_file
    from icp.export.tables import targets_csv
    from icp.market.targets import targets_export

    icp = read_icp(built / "icp.json")
    first = icp.criteria[0].model_copy(update={"label": "Odd\x02label"})
    odd = icp.model_copy(update={"criteria": (first, *icp.criteria[1:])})
    (tmp_path / "icp.json").write_text(odd.model_dump_json(), encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes((HOSTILE_HEADER + "".join(HOSTILE_ROWS)).encode("utf-8"))
    scored = score_file(tmp_path / "icp.json", accounts, tmp_path / "out" / "targets.csv")
    with scratch_workspace({"targets": accounts}) as workspace:
        assert scored.read_bytes() == targets_csv(targets_export(workspace, odd))


def test_build_warns_when_the_icp_has_no_must(built, demo_files, tmp_path, capsys):
    # Issue 16: with nice criteria only, SAM is the whole TAM; said on stderr and in market.json.
    icp = json.loads((built / "icp.json").read_text())
    for criterion in icp["criteria"]:
        if criterion["role"] == "must":
            criterion["role"] = "nice"
    settings = tmp_path / "nice.json"
    settings.write_text(json.dumps(icp))
    out = tmp_path / "nice"
    args = ["build", "--customers", str(demo_files["customers"]), "--deals", str(demo_files["deals"]),
            "--universe", str(demo_files["universe"]), "--settings", str(settings), "--out", str(out)]
    assert main(args) == 0
    assert "no must criterion" in capsys.readouterr().err
    market = json.loads((out / "market.json").read_text())
    assert any("Make the strongest finding a must" in w for w in market["assumptions"]["warnings"])
    assert market["assumptions"]["currency_code"] == "USD"  # the demo's ARR cells say "$24,000"
