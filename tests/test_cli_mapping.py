"""Fixing a column mapping on the command line: `--map LIST:COLUMN=ROLE`, `--mapping mapping.json`
(as the Data page downloads it), and `--segment-by` with headers as the file writes them."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from icp.cli import main
from icp.data.mapping import mapping_json, read_mapping
from icp.data.workspace import Workspace
from tests.helpers import run_icp

ROOT = Path(__file__).resolve().parents[1]


def customers_file(folder: Path) -> Path:
    """Customers whose outcome column no rule knows ("Umsatz" is German for revenue)."""
    rows = []
    for i in range(60):
        sector = ["Fintech", "Retail", "Health"][i % 3]
        rows.append({"Firma": f"Company {i}", "Type": ["SMB", "Enterprise"][i % 2], "Sector": sector,
                     "Umsatz": 1000 * (3 if sector == "Fintech" else 1) + i, "Phone": f"(415) 555-{1000 + i}"})
    path = folder / "kunden.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def cli_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "icp", *args], cwd=ROOT, capture_output=True, text=True)


# In this process (an interpreter's start-up is seconds); the test below keeps one `python -m icp` run.
cli = run_icp


def test_without_a_mapping_the_outcome_is_missing(tmp_path):
    result = cli_process("build", "--customers", str(customers_file(tmp_path)), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_map_gives_columns_their_roles(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["build", "--customers", str(customers_file(tmp_path)), "--out", str(out),
            "--map", "customers:Umsatz=arr", "--map", "customers:Sector=industry", "--map", "customers:Firma=account_name",
            "--map", "customers:Phone=ignore"]
    assert main(args) == 0, capsys.readouterr().err
    icp = json.loads((out / "icp.json").read_text())
    assert [c["column"] for c in icp["success"]["criteria"]] == ["arr"]
    assert any(c["attribute"] == "industry" and c["values"] == ["Fintech"] for c in icp["criteria"])
    assert list(pd.read_csv(out / "segments.csv").columns[:1]) == ["industry"]


@pytest.mark.slow
def test_the_data_pages_mapping_file_reproduces_the_workspace(tmp_path, capsys):
    path = customers_file(tmp_path)
    ws = Workspace.create(folder=tmp_path)
    ws.add_list("customers", path, mapping={"Umsatz": "arr", "Sector": "industry", "Phone": "attribute"})
    mapping = tmp_path / "mapping.json"
    mapping.write_text(mapping_json(ws))
    assert read_mapping(mapping)["customers"]["Phone"] == "attribute"
    out = tmp_path / "out"
    assert main(["build", "--customers", str(path), "--mapping", str(mapping), "--out", str(out)]) == 0
    icp = json.loads((out / "icp.json").read_text())
    assert [c["column"] for c in icp["success"]["criteria"]] == ["arr"]
    # --map wins over the file: the phone numbers left out again.
    assert main(["build", "--customers", str(path), "--mapping", str(mapping), "--map", "customers:Phone=ignore",
                 "--out", str(tmp_path / "out2")]) == 0


@pytest.mark.slow
def test_segment_by_takes_headers_as_written(tmp_path, capsys):
    path = customers_file(tmp_path)
    out = tmp_path / "out"
    assert main(["build", "--customers", str(path), "--map", "customers:Umsatz=arr", "--segment-by", "Type,Sector",
                 "--out", str(out)]) == 0
    # "Sector" is read as the industry: the header names its column whatever role it took.
    assert list(pd.read_csv(out / "segments.csv").columns[:2]) == ["type", "industry"]
    assert main(["build", "--customers", str(path), "--map", "customers:Umsatz=arr", "--map",
                 "customers:Sector=none", "--segment-by", "sector", "--out", str(tmp_path / "o2")]) == 0
    assert list(pd.read_csv(tmp_path / "o2" / "segments.csv").columns[:1]) == ["sector"]


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "customers:Umsatz=revenue_per_moon"], "--map: 'revenue_per_moon' (column 'Umsatz') is not a role"),
    (["--map", "customers:Nope=arr"], "kunden.csv: has no column named 'Nope'."),
    (["--map", "Umsatz=arr"], "--map: 'Umsatz=arr' is not LIST:COLUMN=ROLE"),
    (["--map", "leads:Umsatz=arr"], "--map: 'leads' is not a kind of list"),
    (["--map", "deals:Amount=amount"], "--map/--mapping: no deals file was given"),
    (["--map", "customers:Umsatz=arr", "--segment-by", "Colour"], "--segment-by: the customers have no Colour"),
    (["--map", "customers:Umsatz=arr", "--segment-by", "Type,Sector,Type"],
     "--segment-by: pick one to three different dimensions (got Type, Sector, Type)"),
    (["--map", "customers:Umsatz=arr", "--segment-by", "Type,sector,Firma,Phone"],
     "--segment-by: pick one to three different dimensions"),
    (["--map", "customers:Umsatz=arr", "--segment-by", "Sector,industry"], "--segment-by: Sector, industry name one"),
    ([], "kunden.csv: has no outcome column to measure success by (ARR, churn, NPS, ...): give one its role, e.g. "
         "--map customers:COLUMN=arr."),
])
def test_a_wrong_mapping_is_one_error_line(tmp_path, args, message):
    result = cli("build", "--customers", str(customers_file(tmp_path)), "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_mapping_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "mapping.json"
    bad.write_text('{"customers": ["Umsatz", "arr"]}')
    result = cli("build", "--customers", str(customers_file(tmp_path)), "--mapping", str(bad),
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {bad}: is not a mapping")


def test_score_takes_a_mapping_for_its_accounts(tmp_path, capsys):
    path = customers_file(tmp_path)
    out = tmp_path / "out"
    assert main(["build", "--customers", str(path), "--map", "customers:Umsatz=arr", "--map",
                 "customers:Sector=industry", "--out", str(out)]) == 0
    accounts = tmp_path / "accounts.csv"
    pd.DataFrame({"Name": ["A", "B"], "Branche": ["Fintech", "Retail"]}).to_csv(accounts, index=False)
    scored = tmp_path / "scored.csv"
    assert main(["score", "--icp", str(out / "icp.json"), "--accounts", str(accounts), "--out", str(scored),
                 "--map", "accounts:Branche=industry"]) == 0
    frame = pd.read_csv(scored).set_index("Name")
    assert frame.loc["A", "icp_fit_score"] > frame.loc["B", "icp_fit_score"]
    result = cli("score", "--icp", str(out / "icp.json"), "--accounts", str(accounts), "--out", str(scored),
                 "--map", "customers:Branche=industry")
    assert result.returncode == 2 and "icp score reads one file" in result.stderr


def _misspelt_customers(folder: Path) -> Path:
    """Customers whose "technology" is sometimes written "technolgy"."""
    rows = []
    for i in range(60):
        industry = ["technology", "retail", "health"][i % 3]
        if industry == "technology" and i % 4 == 0:
            industry = "technolgy"
        rows.append({"Firma": f"Company {i}", "Industry": industry, "Umsatz": 1000 * (3 if i % 3 == 0 else 1) + i})
    path = folder / "kunden.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_the_mapping_file_carries_the_label_merges_to_icp_build(tmp_path, capsys):
    path = _misspelt_customers(tmp_path)
    ws = Workspace.create(folder=tmp_path)
    ws.add_list("customers", path, mapping={"Umsatz": "arr", "Industry": "industry"})
    ws.add_list("targets", path, mapping={"Industry": "industry"})
    for kind in ("customers", "targets"):
        ws.merge_labels(kind, "Industry", {"technolgy": "technology"})
    mapping = tmp_path / "mapping.json"
    mapping.write_text(mapping_json(ws))
    assert json.loads(mapping.read_text())["label_merges"] == {
        kind: {"Industry": {"technolgy": "technology"}} for kind in ("customers", "targets")}
    assert read_mapping(mapping)["customers"]["Umsatz"] == "arr"
    out = tmp_path / "out"
    assert main(["build", "--customers", str(path), "--targets", str(path), "--mapping", str(mapping),
                 "--out", str(out)]) == 0, capsys.readouterr().err
    segments = pd.read_csv(out / "segments.csv")
    assert "technolgy" not in set(segments["industry"]) and "technology" in set(segments["industry"])
    technology = segments.loc[segments["industry"] == "technology"].iloc[0]
    assert technology["accounts"] == 20, segments.to_dict("records")
    # A target written "technolgy" (Company 0) meets "Industry is technology" as one written right does.
    targets = pd.read_csv(out / "targets.csv").set_index("Firma")
    assert targets.loc["Company 0", "Industry"] == "technolgy"
    assert targets.loc["Company 0", "icp_tier"] == targets.loc["Company 3", "icp_tier"] == "Tier 1"
    assert "Industry is technology" in targets.loc["Company 0", "icp_reasons"]
    icp = json.loads((out / "icp.json").read_text())
    assert all("technolgy" not in c["values"] for c in icp["criteria"])
    # Without the merges (an old mapping.json) the misspelling is a label of its own.
    del_merges = {k: v for k, v in json.loads(mapping.read_text()).items() if k != "label_merges"}
    mapping.write_text(json.dumps(del_merges))
    assert main(["build", "--customers", str(path), "--targets", str(path), "--mapping", str(mapping),
                 "--out", str(tmp_path / "o2")]) == 0
    assert "technolgy" in set(pd.read_csv(tmp_path / "o2" / "segments.csv")["industry"])


@pytest.mark.parametrize(("merges", "message"), [
    (["technolgy", "technology"], "'label_merges' is not label merges per list and column"),
    ({"customers": {"Industry": "technology"}}, "the label merges of column 'Industry' (customers) are not"),
    ({"customers": {"Industry": {"technolgy": 3}}}, "the label merge of 'technolgy' in column 'Industry' (customers) "
                                                    "must name the label it is merged into"),
    ({"leads": {"Industry": {"technolgy": "technology"}}}, "'leads' is not a kind of list"),
    ({"customers": {"Sector": {"technolgy": "technology"}}}, "kunden.csv: has no column named 'Sector'"),
    ({"deals": {"Stage": {"won": "Won"}}}, "--mapping: no deals file was given to apply its label merges to."),
])
def test_malformed_label_merges_are_refused_naming_the_file(tmp_path, merges, message):
    bad = tmp_path / "mapping.json"
    bad.write_text(json.dumps({"customers": {"Umsatz": "arr"}, "label_merges": merges}))
    result = cli("build", "--customers", str(_misspelt_customers(tmp_path)), "--mapping", str(bad),
                 "--out", str(tmp_path / "out"))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    if "kunden.csv" not in message and "--mapping" not in message:
        assert lines[0].startswith(f"error: {bad}: ")
