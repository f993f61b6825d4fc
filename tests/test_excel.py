"""icp.data.excel: Excel workbooks read in a child process, after a bounded scan of what they declare.

The hostile workbooks of the corpus go through the workspace, the CLI and the app in
tests/test_hostile_files.py; this file checks the reader's own guarantees: the reader's allocation is
refused before it happens (a memory limit too small for the reader still gives the scan's sentence),
a child that runs out of memory or time is one sentence, the server's process never loads the Excel
reader, an .xls goes the same way, and what the child sends is what the cells hold.
"""

import datetime as dt
import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
import xlwt

from icp.data import excel, reader
from icp.data.reader import list_sheets, read_into
from icp.errors import InputFileError, LimitExceeded
from icp.limits import Limits
from tests.hostile import _VARIED_ROWS, SST_4E9, _bomb, _corner, _sheet_workbook, _text_cell

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def _refused(con, path: Path, limits: Limits, error=InputFileError) -> str:
    """The problem sentence of a refusal, after checking it names the file and leaves no table."""
    with pytest.raises(error) as caught:
        read_into(con, "t", path, limits=limits)
    assert str(caught.value) == f"{path.name}: {caught.value.problem}"
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'").fetchone()[0] == 0
    return caught.value.problem


def _rows(con) -> list[tuple]:
    return con.execute('SELECT * FROM "t" ORDER BY _row').fetchall()


# The reader holds a sheet's whole range and aborts when it cannot: with 100 MB (a fifth of what
# it takes to load pyarrow beside it), any of these would end in the memory sentence, or, without
# the child, in a dead process. The scan's sentence comes first.
TIGHT = 100
HOSTILE = [
    ("corner.xlsx", _corner("XFD1048576"), r"sheet 'Data' spans A1:XFD1048576, 17,179,869,184 cells, over the limit"),
    ("cv.xlsx", _corner("CV1048576"), r"sheet 'Data' spans A1:CV1048576, 104,857,600 cells, over the limit"),
    ("strings.xlsx", _sheet_workbook('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', SST_4E9),
     r"the workbook declares 4,000,000,000 shared strings but holds 2; the file is damaged\."),
    ("far.xlsx", _sheet_workbook(f'<row r="1">{_text_cell("A1", "id")}{_text_cell("A99999999999", "x")}</row>'),
     r"sheet 'Data' has a cell at A99999999999, beyond the last cell an Excel sheet can have \(XFD1048576\)"),
    # Without a reference, a cell goes where the reader would put it: after the last cell of its row.
    ("wide.xlsx", _sheet_workbook('<row r="1">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 16_385 + "</row>"),
     r"sheet 'Data' has a cell at XFE1, beyond the last cell"),
    ("dimension.xlsx",
     _sheet_workbook(f'<row r="1">{_text_cell("A1", "id")}</row><row r="2">{_text_cell("A2", "1")}</row>'),
     None),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, make, problem", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_what_a_workbook_declares_is_refused_before_the_reader_allocates(con, tmp_path, name, make, problem):
    path = tmp_path / name
    make(path)
    if problem is None:  # a workbook that declares its range as reaching past Excel's last cell
        _patch(path, "xl/worksheets/sheet1.xml", rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD99999999999"/>')
        problem = r"sheet 'Data' declares its range as reaching XFD99999999999, beyond the last cell"
    assert path.stat().st_size < 8 * 1024 or name == "wide.xlsx"  # a few kB
    assert re.match(problem, _refused(con, path, Limits(max_excel_mb=TIGHT)))
    assert list_sheets(path) == ["Data"]  # listed from workbook.xml, the rest never touched


def _patch(path: Path, member: str, old: bytes, new: bytes) -> None:
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == member:
                data, found = re.subn(old, new, data)
                assert found == 1
            target.writestr(info, data)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_rows_past_the_limit_are_counted_in_the_scan_before_the_reader_allocates(con, tmp_path):
    # 48 MB of sheet in 0.4 MB, under the zip-bomb ratio, 670,000 rows without cell references.
    path = tmp_path / "rows.xlsx"
    _bomb(path, 48, chunk=_VARIED_ROWS)
    ratio = max(i.file_size / i.compress_size for i in zipfile.ZipFile(path).infolist())
    assert 100 < ratio < 200
    # The reader alone would need more than this (the second read proves it); the scan stops at
    # the 100,051st row it counts, whatever the memory limit.
    assert _refused(con, path, Limits(max_rows=100_000, max_excel_mb=TIGHT), LimitExceeded) == (
        "sheet 'Sheet' has more than 100,000 data rows, the limit.")
    assert _refused(con, path, Limits(max_excel_mb=TIGHT), LimitExceeded) == (
        f"reading the workbook takes more memory than the limit of {TIGHT} MB; save the sheet as CSV and "
        "upload that instead.")


def _workbook(path: Path, rows: int = 3) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(["id", "name", "arr", "joined", "note"])
    for i in range(rows):
        sheet.append([i, f"Company {i}", 1000.5 + i, dt.date(2021, 1, 1) + dt.timedelta(days=i), "x" * (i % 7)])
    book.save(path)
    return path


@pytest.mark.timeout(60)
def test_a_child_out_of_memory_is_one_sentence_and_the_next_read_works(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx", 2000)
    for mb in (1, 50):
        assert _refused(con, path, Limits(max_excel_mb=mb), LimitExceeded) == (
            f"reading the workbook takes more memory than the limit of {mb} MB; save the sheet as CSV and upload "
            "that instead.")
    assert read_into(con, "t", path).rows == 2000


@pytest.mark.timeout(60)
def test_a_child_out_of_time_is_killed_and_is_one_sentence(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx", 20_000)
    # Starting Python and loading pyarrow alone take longer than this.
    assert _refused(con, path, Limits(max_excel_seconds=0.05), LimitExceeded) == (
        "reading the workbook takes longer than the limit of 0.05 s; save the sheet as CSV and upload that "
        "instead.")
    assert read_into(con, "t", path).rows == 20_000


_SERVER = textwrap.dedent("""
    import json, os, sys
    import duckdb
    from icp.errors import InputFileError
    from icp.data.reader import list_sheets, read_into
    con = duckdb.connect()
    found = {}
    for path in sys.argv[1:]:
        found[os.path.basename(path)] = {"sheets": list_sheets(path)}
        try:
            found[os.path.basename(path)]["rows"] = read_into(con, "t", path).rows
        except InputFileError as err:
            found[os.path.basename(path)]["refused"] = err.problem
    children = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
    print(json.dumps({"found": found, "calamine": "python_calamine" in sys.modules, "children": children}))
""")


@pytest.mark.timeout(120)
def test_the_server_process_never_loads_the_excel_reader_and_leaves_nothing_behind(tmp_path):
    good = _workbook(tmp_path / "good.xlsx")
    old = _xls(tmp_path / "old.xls")
    corner = tmp_path / "corner.xlsx"
    _corner("XFD1048576")(corner)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = os.environ | {"TMPDIR": str(scratch)}
    run = subprocess.run([sys.executable, "-c", _SERVER, str(good), str(old), str(corner)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=100)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    result = json.loads(run.stdout)
    assert result["found"]["good.xlsx"] == {"sheets": ["Accounts"], "rows": 3}
    assert result["found"]["old.xls"] == {"sheets": ["Notes", "Data"], "refused": (
        "sheet 'Notes' has a header row but no data rows.")}
    assert result["found"]["corner.xlsx"]["refused"].startswith("sheet 'Data' spans A1:XFD1048576")
    assert result["calamine"] is False
    assert result["children"] == []  # every child waited for
    assert list(scratch.iterdir()) == []  # and no file left where temporary files go


def _xls(path: Path) -> Path:
    """An old binary workbook, written by xlwt: a title sheet, then the data with typed cells."""
    book = xlwt.Workbook()
    book.add_sheet("Notes").write(0, 0, "Read me")
    sheet = book.add_sheet("Data")
    for column, header in enumerate(["name", "n", "joined", "active"]):
        sheet.write(0, column, header)
    sheet.write(1, 0, "Acme")
    sheet.write(1, 1, 2019.0)
    sheet.write(1, 2, dt.date(2021, 9, 21), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(1, 3, True)
    sheet.write(2, 0, "Beta")
    sheet.write(2, 1, 1.5)
    book.save(str(path))
    return path


@pytest.mark.timeout(60)
def test_an_xls_is_listed_and_read_in_the_child(con, tmp_path):
    path = _xls(tmp_path / "old.xls")
    assert list_sheets(path) == ["Notes", "Data"]
    result = read_into(con, "t", path, sheet="Data")
    assert (result.format, result.sheet, result.sheets, result.columns) == (
        "xls", "Data", ["Notes", "Data"], ["name", "n", "joined", "active"])
    assert _rows(con) == [(1, "Acme", "2019", "2021-09-21", "true"), (2, "Beta", "1.5", None, None)]
    # Memory and time limits hold for it as for an xlsx.
    assert "more memory than the limit of 1 MB" in _refused(con, path, Limits(max_excel_mb=1), LimitExceeded)


@pytest.mark.timeout(60)
def test_a_damaged_xls_is_one_sentence(con, tmp_path):
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(3).randbytes(5000))
    assert _refused(con, path, Limits()) == excel.DAMAGED_WORKBOOK
    with pytest.raises(InputFileError, match=r"^broken\.xls: not a valid Excel workbook"):
        list_sheets(path)


@pytest.mark.timeout(60)
def test_a_cell_too_long_is_refused_in_the_child_with_its_column_name(con, tmp_path):
    path = tmp_path / "notes.xlsx"
    book = openpyxl.Workbook()
    for row in (["id", "Notes "], [1, "short"], [2, "y" * 50]):
        book.active.append(row)
    book.save(path)
    # The sentence a CSV file gets, with the column's name as read (the header trimmed).
    assert _refused(con, path, Limits(max_cell_chars=10), LimitExceeded) == (
        "a cell in column 'Notes' has 50 characters, over the limit of 10.")


def test_a_table_of_contents_larger_than_any_workbooks_is_refused_before_zipfile_reads_it(con, tmp_path, monkeypatch):
    path = _workbook(tmp_path / "book.xlsx")
    directory = zipfile.ZipFile(path).start_dir
    monkeypatch.setattr(reader, "_MAX_ZIP_DIRECTORY", 200)
    problem = _refused(con, path, Limits(), LimitExceeded)
    assert re.fullmatch(r"the workbook's table of contents takes 0\.0\d+ MB, far more than a real spreadsheet's; "
                        r"it is refused as a possible zip bomb\.", problem), problem
    assert directory > 0


def test_a_zip64_table_of_contents_is_measured_as_zipfile_would_read_it(con, tmp_path):
    # A zip64 end record before the usual one, declaring a 50 MB table: zipfile would take its word.
    whole = _workbook(tmp_path / "book.xlsx").read_bytes()
    end = whole.rfind(b"PK\x05\x06")
    count, size, offset = struct.unpack("<HII", whole[end + 10 : end + 20])
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, 50 * 1024 * 1024, offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    path = tmp_path / "zip64.xlsx"
    path.write_bytes(whole[:end] + record + locator + whole[end:])
    assert _refused(con, path, Limits(), LimitExceeded) == (
        "the workbook's table of contents takes 50 MB, far more than a real spreadsheet's; it is refused as a "
        "possible zip bomb.")


# --- the scan ------------------------------------------------------------------------------------


def test_number_and_letter_patterns_match_exactly_what_lies_beyond():
    for bound in (0, 5, 9, 10, 99, 100, 123, 100_001, 1_048_576):
        pattern = re.compile(excel._number_above(bound))
        assert [n for n in range(0, 1_200_000, 7) if bool(pattern.fullmatch(str(n).encode())) != (n > bound)] == []
    for bound in (0, 1, 10, 26, 27, 52, 100, 702, 703, 16_384):
        pattern = re.compile(excel._letters_above(bound))
        for n in range(1, 18_279):
            letters = excel._column_letters(n)
            assert bool(pattern.fullmatch(letters.encode())) == (n > bound), (bound, letters)
            assert bool(pattern.fullmatch(letters.lower().encode())) == (n > bound), (bound, letters)


def _scans(path: Path, limits: Limits) -> dict[str, object]:
    """The extent each of the three scans finds (or the sentence it refuses with)."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for scan in (excel._scan_fast, excel._scan_cells, excel._scan_slow):
            try:
                found = scan(archive, "xl/worksheets/sheet1.xml", "Data", limits.model_dump())
                out[scan.__name__] = (found.top, found.bottom, found.left, found.right, found.values)
            except excel._SlowScan:
                out[scan.__name__] = "slow"
            except excel._Refused as refused:
                out[scan.__name__] = refused.problem
    return out


def test_an_ordinary_workbook_takes_the_fast_scan_and_its_bounds_hold(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", 5000)
    found = _scans(path, Limits())
    # The fast scan bounds from A1 and counts every cell written; the exact scans agree with each other.
    assert found["_scan_fast"][:4] == found["_scan_cells"][:4] == found["_scan_slow"][:4] == (1, 5001, 1, 5)
    assert found["_scan_fast"][4] >= found["_scan_cells"][4] == found["_scan_slow"][4] > 4 * 5001


@pytest.mark.parametrize("cells, fast", [
    # Cells without a reference, and rows without one: placed as the reader places them.
    ('<row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c></row><row/>'
     '<row><c t="inlineStr"><is><t>c</t></is></c></row>', "slow"),
    # Lower-case references and leading zeros, which the reader reads.
    (f'<row r="1">{_text_cell("a1", "a")}{_text_cell("B01", "b")}</row><row r="3">{_text_cell("c03", "c")}</row>',
     "(1, 3, 1, 3, 3)"),
    # An empty cell far away, written <c/>: the fast bounds pass the limit, the exact scans leave it out.
    (f'<row r="1">{_text_cell("A1", "a")}</row><row r="2">{_text_cell("A2", "b")}<c r="CV1048576" s="1"/></row>',
     "sheet 'Data' spans A1:CV1048576"),
])
def test_the_scans_agree_with_the_reader(con, tmp_path, cells, fast):
    path = tmp_path / "odd.xlsx"
    _sheet_workbook(cells)(path)
    found = _scans(path, Limits())
    assert str(found["_scan_fast"]).startswith(fast), found
    exact = found["_scan_slow"]
    assert found["_scan_cells"] in ("slow", exact)
    result = read_into(con, "t", path, sheet="Data", limits=Limits())
    # The reader's range is the exact scan's: its header row and columns, its last row.
    top, bottom, left, right, _ = exact
    assert len(result.columns) == right - left + 1
    assert result.header_row == top and result.header_row + result.rows <= bottom


@pytest.mark.parametrize("first", [_text_cell("A1", "a"), '<c t="inlineStr"><is><t>a</t></is></c>'],
                         ids=["references", "a cell without one"])
def test_a_far_cell_alone_in_its_chunk_of_the_scan_is_counted(tmp_path, first):
    # 1.2 MB of empty rows between the first cell and the last: the last is alone in its chunk.
    path = tmp_path / "far.xlsx"
    _sheet_workbook(f"<row>{first}</row>" + "<row/>" * 200_000 + f'<row>{_text_cell("XFD200002", "z")}</row>')(path)
    found = _scans(path, Limits())
    spans = "sheet 'Data' spans A1:XFD200002, 3,276,832,768 cells, over the limit"
    exact = [found["_scan_slow"]] if first.startswith('<c t=') else [found["_scan_cells"], found["_scan_slow"]]
    assert all(str(result).startswith(spans) for result in exact), found


def test_a_prefixed_namespace_is_read_and_scanned_fast(con, tmp_path):
    # As the .NET Open XML SDK writes a sheet: every element with the prefix x.
    path = _workbook(tmp_path / "book.xlsx", 3)
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<(/?)([A-Za-z])", rb"<\1x:\2", data).replace(b"xmlns=", b"xmlns:x=")
            target.writestr(info, data)
    assert b"<x:c r=" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    found = _scans(path, Limits())
    assert found["_scan_fast"][:4] == (1, 4, 1, 5) and found["_scan_cells"] == found["_scan_slow"]
    read_into(con, "t", path)
    assert _rows(con)[0][:4] == (1, "0", "Company 0", "1000.5")


def test_cells_become_the_text_a_user_sees_column_by_column_as_cell_by_cell():
    rng = random.Random(3)
    floats = ([rng.uniform(-1e6, 1e6) for _ in range(2000)] + [float(rng.randint(-10**6, 10**6)) for _ in range(2000)]
              + [0.0, -0.0, 1e16, 1e16 - 2, -1e16, float("nan"), float("inf"), float("-inf"), 1e-05, 0.1, 5e-324])
    dates = [dt.date(1, 1, 1), dt.date(999, 12, 31), dt.date(9999, 12, 31)] + [
        dt.date(1900, 1, 1) + dt.timedelta(days=rng.randint(0, 60_000)) for _ in range(500)]
    texts = ["", "a", " ", "ü😀", "=1+1"]
    mixed = ["a", 1.0, 2.5, None, True, dt.datetime(2021, 9, 21, 10, 30), dt.time(10, 30), dt.timedelta(days=1)]
    for column in (floats, dates, texts, mixed):
        assert excel._column_texts(column).to_pylist() == [excel._cell_text(cell) for cell in column]
