"""No cell of any CSV or XLSX the product writes can run as a formula, whatever it came from: every
export (icp build's files, icp score's by both of its ways, the app's downloads through the engine
functions its pages call) made from a workspace whose values, headers, file names and icp.json
fields are each form of formula injection, read back cell by cell, while numbers stay numbers.
The check here is the hazard itself, written apart from icp.cells."""

import csv
import io
import json
import random
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from icp.analysis import rule_segments
from icp.analysis.segments import segments_csv
from icp.data.roles import template_csv
from icp.data.workspace import Workspace
from icp.export import tables as exports
from icp.export.build import build, read_icp, score_file
from icp.market.targets import target_list, targets_export
from icp.profile.model import Criterion, Evidence, Template

FORMS = [
    "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil","x")', "+1+1", "-1+1", "@SUM(A1)",
    "\t=1+1", "\r=1+1", "\n=1+1", " =1+1", "\u00a0=1+1", "\u3000@x", "\ufeff=1", "\u200b=1",
    "＝1+1", "＋1", "－1", "＠SUM(A1)", "Acme;=1+1", "Acme; @x", "Acme\t=1+1", "\x01=1",
]
HEADER = ["Company", "Domain", "Industry", "Employees", "ARR", "Churned", "Balance", "+Plan", '=HYPERLINK("h")',
          "@Owner;-x"]
BALANCES = ["-120.5", "-3", "300", "+7"]
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9][0-9,]*(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_STARTS = set("=+-@\r\n＝＋－＠")


def _hidden(char: str) -> bool:
    """What a spreadsheet or a viewer may skip or not show before a formula's first character."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def _starts_a_formula(text: str, at_start: bool) -> bool:
    """Whether `text` (a cell, or what follows a ; or a tab in one) is run as a formula: after what
    may be skipped, one of = + - @ CR LF or their full-width forms; at a cell's start a tab too."""
    for char in text:
        if char in _STARTS or (at_start and char == "\t"):
            return True
        if char == "\t" or not _hidden(char):
            return False
    return False


def _assert_inert(cell, where: str) -> None:
    if not isinstance(cell, str) or _PLAIN_NUMBER.fullmatch(cell):
        return
    assert not _starts_a_formula(cell, at_start=True), f"{where}: {cell!r}"
    for i, char in enumerate(cell):
        if char in ";\t":
            assert not _starts_a_formula(cell[i + 1:], at_start=False), f"{where}: {cell!r} after {char!r}"


def _csv_cells(data: bytes | str, where: str) -> list[list[str]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, where
    for row in rows:
        for cell in row:
            _assert_inert(cell, where)
    return rows


def _xlsx_cells(data: bytes, where: str) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(data))
    sheets = {}
    for sheet in book.worksheets:
        _assert_inert(sheet.title, f"{where} sheet name")
        rows = []
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}!{cell.coordinate}: a formula"
                _assert_inert(cell.value, f"{where}!{sheet.title}!{cell.coordinate}")
            rows.append([cell.value for cell in row])
        sheets[sheet.title] = rows
    return sheets


def _column(rows: list[list], header: str) -> list:
    i = rows[0].index(header)
    return [row[i] for row in rows[1:]]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """The hostile files, and an icp.json whose fields are hostile too."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = random.Random(5)
    customers, universe = folder / "=cmd;@x customers.csv", folder / "+universe @x.csv"
    with open(customers, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(120):
            # Each of the first five forms is the industry of 24 customers, as in issue 15.
            writer.writerow([f"{FORMS[i % len(FORMS)]} {i}", f"c{i}.com", FORMS[i % 5], rng.choice([10, 50, 200, 1000]),
                             rng.randint(1, 100) * 1000 * (3 if i % 5 == 0 else 1), "Yes" if i % 4 == 0 else "No",
                             rng.choice(BALANCES), FORMS[(i // 3) % 4 + 5], FORMS[i % len(FORMS)], FORMS[-i % 7]])
    with open(universe, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*HEADER[:4], "Balance", "+Plan", '=HYPERLINK("h")'])
        for i in range(300):
            writer.writerow([f"{FORMS[i % len(FORMS)]} u{i}", f"u{i}.com", FORMS[i % 5], rng.choice([10, 50, 200, 1000]),
                             rng.choice(BALANCES), FORMS[i % len(FORMS)], FORMS[(i + 3) % len(FORMS)]])
    drafted = build({"customers": customers, "universe": universe}, folder / "drafted")
    icp = read_icp(drafted["icp.json"])
    evidence = Evidence(in_group=1, group_size=2, in_rest=1, rest_size=2, lift=1.0, lift_low=0.5, lift_high=2.0,
                        q_value=0.5, evidence="weak", sentence="@evidence;=1+1")
    hostile_icp = icp.model_copy(update={
        "name": FORMS[0], "data_fingerprint": '=HYPERLINK("http://x","fp")',
        "criteria": (*icp.criteria,
                     Criterion(attribute="industry", label="=Industry;@x", kind="in_set", role="nice",
                               values=(FORMS[0], "-1+1"), evidence=evidence)),
        "template": Template(segment_description=FORMS[1], goals="+goal"),
    })
    settings = folder / "hostile icp.json"
    settings.write_text(hostile_icp.model_dump_json(indent=2), encoding="utf-8")
    parquet = folder / "universe.parquet"
    frame = pd.read_csv(universe, dtype=str, keep_default_na=False)
    frame["Balance"] = pd.to_numeric(frame["Balance"])  # a typed column: icp score writes it the pandas way
    frame.to_parquet(parquet)
    return {"folder": folder, "customers": customers, "universe": universe, "parquet": parquet,
            "settings": settings, "icp": hostile_icp, "drafted": drafted}


def _check_build(files: dict[str, Path]) -> None:
    targets = _csv_cells(files["targets.csv"].read_bytes(), "targets.csv")
    assert any(c.startswith("'=cmd|") for c in _column(targets, "Company"))
    assert any("Acme;'=1+1" in c for c in _column(targets, "Company"))
    assert set(_column(targets, "Balance")) <= set(BALANCES)  # numbers as they were, signs and all
    assert "'+Plan" in targets[0] and "'@Owner;'-x" not in targets[0]  # the universe has no @Owner column
    segments = _csv_cells(files["segments.csv"].read_text(encoding="utf-8"), "segments.csv")
    assert any(row[0] == "'" + FORMS[0] for row in segments[1:])
    book = _xlsx_cells(files["targets.xlsx"].read_bytes(), "targets.xlsx")
    assert set(book) == {"Targets", "ICP"}
    balances = _column(book["Targets"], "Balance")
    assert {type(v) for v in balances} <= {int, float} and set(balances) <= {-120.5, -3, 300, 7}
    # XML keeps a line break as LF: a CR of the CSV reads back as LF.
    assert [c.replace("\r", "\n") for c in _column(book["Targets"], "Company")] == [
        c.replace("\r", "\n") for c in _column(targets, "Company")]


@pytest.mark.slow
def test_icp_build_writes_no_live_cell_anywhere(hostile, tmp_path):
    _check_build(hostile["drafted"])
    saved = build({"customers": hostile["customers"], "universe": hostile["universe"]}, tmp_path / "saved",
                  settings=hostile["settings"], segment_by=["Industry", '=HYPERLINK("h")'])
    _check_build(saved)
    about = {row[0]: row[1] for row in _xlsx_cells(saved["targets.xlsx"].read_bytes(), "xlsx")["ICP"] if row[0]}
    assert about["Name"] == "'" + FORMS[0]
    assert about["Data fingerprint"] == "'" + hostile["icp"].data_fingerprint
    criteria = _xlsx_cells(saved["targets.xlsx"].read_bytes(), "xlsx")["ICP"]
    assert ["nice", "'=Industry;'@x is =cmd|' /C calc'!A0 or -1+1", 1, "'@evidence;'=1+1"] in [r[:4] for r in criteria]
    reasons = _column(_csv_cells(saved["targets.csv"].read_bytes(), "targets.csv"), "icp_reasons")
    # The criterion's words come after "; " in the reasons: a split there would start a formula.
    assert any(";' =Industry;'@x is " in r for r in reasons), reasons[:3]


@pytest.mark.parametrize("accounts", ["universe", "parquet"])
def test_icp_score_writes_no_live_cell_by_either_way(hostile, tmp_path, accounts):
    """A text file is written by DuckDB's COPY (icp.cells' SQL); a typed one through pandas."""
    out = score_file(hostile["settings"], hostile[accounts], tmp_path / "scored.csv")
    rows = _csv_cells(out.read_bytes(), "icp score")
    assert any(c.startswith("'=cmd|") for c in _column(rows, "Company"))
    assert set(_column(rows, "Balance")) <= set(BALANCES) | {"7.0", "300.0", "-3.0"}
    assert not any(b.startswith("'") for b in _column(rows, "Balance"))


def test_the_apps_downloads_hold_no_live_cell(hostile, tmp_path):
    """What the Export and Segments pages offer, made by the engine functions they call."""
    workspace = Workspace.create("hostile", folder=tmp_path)
    workspace.add_list("customers", hostile["customers"])
    workspace.add_list("universe", hostile["universe"])
    icp = hostile["icp"]
    frame = targets_export(workspace, icp)
    mapping = exports.role_mapping(workspace, target_list(workspace))
    for name, data in [("targets.csv", exports.targets_csv(frame)),
                       ("hubspot", exports.targets_csv(exports.hubspot_frame(frame, mapping))),
                       ("salesforce", exports.targets_csv(exports.salesforce_frame(frame, mapping))),
                       ("template", template_csv())]:
        _csv_cells(data, name)
    sheets = _xlsx_cells(exports.targets_xlsx(frame, icp), "targets.xlsx")
    assert sheets["ICP"][0][:2] == ["Name", "'" + FORMS[0]]
    dims = ["industry", "hyperlink_h"]
    table = rule_segments(workspace, icp.success, dims, icp.segments.weights)
    segments = _csv_cells(exports.segments_csv_text(segments_csv(table)), "segments.csv")
    assert {row[0] for row in segments[1:]} >= {"'" + FORMS[0], "'+1+1", "'-1+1", "'@SUM(A1)"}


def test_the_hostile_inputs_reach_the_exports_unchanged_but_for_the_quote(hostile):
    """The check above would pass on files that lost the hostile cells; they are all there."""
    rows = _csv_cells(hostile["drafted"]["targets.csv"].read_bytes(), "targets.csv")
    companies = {c.replace("'", "") for c in _column(rows, "Company")}
    written = pd.read_csv(hostile["universe"], dtype=str, keep_default_na=False)["Company"]
    assert companies == {re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", c).replace("'", "") for c in written}
    assert json.loads(hostile["settings"].read_text())["name"] == FORMS[0]
