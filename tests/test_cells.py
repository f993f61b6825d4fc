"""The one neutralizing rule for CSV and XLSX cells (icp.cells): what it changes and what it leaves,
the Python function and the SQL expression agreeing on every kind of cell, and no file writer
outside the modules that apply it."""

import random
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from icp import cells
from icp.cells import neutralize

ROOT = Path(__file__).resolve().parents[1]

LIVE = [
    '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-1+1", "@SUM(A1)", "-", "+", "@", "=",
    "\tx", "\rx", "\nx", "\r\n=1",
    " =1+1", "   @SUM(A1)", "\u00a0=1", "\u3000+1", "\u2003-x", "\ufeff=1", "\u200b=1", "\u202e=1", "\x7f=1",
    "＝1+1", "＋1", "－x", "＠SUM(A1)", " ＝1",
]


@pytest.mark.parametrize("text", LIVE)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize("text, written", [
    ("Acme;=1+1", "Acme;'=1+1"),
    ("Acme; =1+1", "Acme;' =1+1"),
    ("a;b;@x;-y", "a;b;'@x;'-y"),
    ("Acme\t=1+1", "Acme\t'=1+1"),
    ("Acme\t\t=1", "Acme\t\t'=1"),
    ("=a;=b", "'=a;'=b"),
    ("\t-x", "'\t'-x"),  # a leading tab starts a formula (OWASP), and is a split before "-x"
    ("; \n1", ";' \n1"),
    ("x;-5", "x;'-5"),  # a number only stays as it is when it is the whole cell
])
def test_every_piece_a_semicolon_or_tab_would_split_off_is_neutralized_too(text, written):
    assert neutralize(text) == written


@pytest.mark.parametrize("text", [
    "-12.5", "+3", "-1,200", "1200000", "-.5", "-1e5", "+2.5E-3", "0",
    "", "Acme", "a=b", "a-b", "user@example.com", "Salesforce; HubSpot; AWS", "Zürich", "株式会社",
    "a,=b",  # a comma is never a split: every writer quotes the cell
    "Acme\t\tb", "a; b", "a;'=b", " Acme",
    "'=1+1", "Acme;'=1", "−5",  # already neutralized; U+2212 MINUS SIGN starts no formula
])
def test_numbers_plain_text_and_neutralized_text_are_left_alone(text):
    assert neutralize(text) == text


def test_control_characters_an_xlsx_cannot_hold_are_dropped_then_the_rest_is_judged():
    assert neutralize("a\x00b\x1fc\x0bd") == "abcd"
    assert neutralize("\x01=1") == "'=1"
    assert neutralize("-\x015") == "-5"
    every = "".join(map(chr, range(0xD800)))
    assert set(every) - set(neutralize(every)) == set(ILLEGAL_CHARACTERS_RE.findall(every))


def test_cell_values_keep_numbers_and_empty_cells():
    assert [cells.value(v) for v in (3, -2.5, None, "-5", "=x")] == [3, -2.5, None, "-5", "'=x"]


ALPHABET = list("=+-@;\t\r\n ,'a1.eE") + ["\x00", "\x01", "\x0b", "\x7f", "\u00a0", "\u3000", "\ufeff", "\u200b",
                                           "＝", "＋", "－", "＠", "−", "é", "株"]


def _random_cells(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))) for _ in range(n)]


def test_the_sql_expression_gives_the_python_function_on_every_kind_of_cell():
    texts = _random_cells(20_000) + LIVE + ["-12.5", "x;-5", None]
    con = duckdb.connect()
    con.register("t", pd.DataFrame({"i": range(len(texts)), "v": pd.array(texts, dtype="string")}))
    found = con.execute(f"SELECT {cells.sql('v')} AS n, {cells.sql_changes('v')} AS c FROM t ORDER BY i").fetchall()
    for text, (written, flagged) in zip(texts, found, strict=True):
        assert written == (None if text is None else neutralize(text)), repr(text)
        # The search that lets a column or a cell skip the rule finds every cell the rule changes.
        assert text is None or flagged or neutralize(text) == text, repr(text)


# What a spreadsheet may skip before a formula, and what starts one, among the characters of ALPHABET.
_HIDDEN = set(" \u00a0\u3000\ufeff\u200b\x7f")
_STARTS = set("=+-@\r\n＝＋－＠")


def _live(piece: str, tab_starts: bool) -> bool:
    """Whether a spreadsheet may run `piece` as a formula; a tab starts one only at a cell's start,
    elsewhere it splits the cell."""
    starts = _STARTS | ({"\t"} if tab_starts else set())
    for char in piece:
        if char in starts:
            return True
        if char not in _HIDDEN:
            return False
    return False


def test_no_cell_or_piece_of_a_cell_is_left_to_start_a_formula_and_only_quotes_are_added():
    for text in _random_cells(20_000, seed=3):
        written = neutralize(text)
        assert written.replace("'", "") == re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text).replace("'", "")
        if re.fullmatch(r"[+-]?([0-9][0-9,]*(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", written):
            continue
        assert not _live(written, tab_starts=True), repr(text)
        for i, char in enumerate(written):
            assert char not in ";\t" or not _live(written[i + 1:], tab_starts=False), repr(text)


def test_the_rule_is_idempotent_and_the_column_form_matches_the_cell_form():
    texts = _random_cells(5_000, seed=11)
    assert all(neutralize(neutralize(t)) == neutralize(t) for t in texts)
    column = pd.Series([*texts, None], dtype=object)
    assert cells.neutralized(column).tolist() == [*map(neutralize, texts), pd.NA]


# Calls that write a CSV or an XLSX, and where each may be: in icp.export.tables and icp.export.build, which put
# every cell through icp.cells (icp.export.xlsx writes what it is given); the demo's own input files and the reader's UTF-8 copy of an upload,
# which are no exports.
_WRITERS = re.compile(r"\.to_csv\(|\.to_excel\(|csv\.writer\(|Workbook\(|xlsx\.workbook\(|COPY \(|xlsxwriter")
_ALLOWED = {"icp/export/tables.py": 3, "icp/export/build.py": 2, "icp/data/demo.py": 1, "icp/data/reader.py": 1}


def test_every_csv_and_xlsx_writer_is_one_that_applies_the_rule():
    found = {}
    for path in [*(ROOT / "icp").rglob("*.py"), *(ROOT / "views").rglob("*.py"), *(ROOT / "ui").rglob("*.py"),
                 ROOT / "app.py"]:
        count = len(_WRITERS.findall(path.read_text(encoding="utf-8")))
        if count:
            found[path.relative_to(ROOT).as_posix()] = count
    assert found == _ALLOWED
