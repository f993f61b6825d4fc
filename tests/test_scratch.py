"""Nothing is left on disk: not by a killed `icp build`, a refused `icp score`, or an upload."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from streamlit.testing.v1 import AppTest

from icp.cli import main
from icp.data import reader, scratch
from icp.data.workspace import Workspace
from tests.helpers import make_icp

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("Company name,Website,Industry,Employees,ARR,Churned\n"
         + "".join(f"Co {i},co{i}.io,{['Fintech', 'Retail'][i % 2]},{50 + i},{1000 * (i % 7 + 1)},"
                   f"{['No', 'Yes'][i % 5 == 0]}\n" for i in range(40)))


@pytest.fixture
def temp(tmp_path, monkeypatch) -> Path:
    """A temp folder of this test's own, for this process and the ones it starts."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def leftovers(temp: Path) -> list[str]:
    """What scratch folders hold in the temp folder (the private parent itself may stay, empty)."""
    return sorted(str(p.relative_to(temp)) for p in temp.rglob("*") if p.name != f"icp-scratch-{os.getuid()}")


def icp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "icp", *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ | {"TMPDIR": os.environ["TMPDIR"]})


def kill_midway(out: Path, files: dict[str, Path]) -> None:
    """Start `python -m icp build` and SIGKILL it once its stage is in the output folder (every
    input read into its scratch workspace; the PDF not yet written)."""
    args = [arg for kind in ("customers", "deals") for arg in (f"--{kind}", str(files[kind]))]
    process = subprocess.Popen([sys.executable, "-m", "icp", "build", *args, "--out", str(out)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while process.poll() is None and not list(out.glob(".icp-out-*")):
            time.sleep(0.01)
        assert process.poll() is None, f"the build ended before it could be killed: {process.stderr.read()!r}"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()  # reaped: a zombie still has its /proc entry
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_killed_build_leaves_nothing_once_the_next_run_starts(temp, tmp_path, demo_files):
    small = tmp_path / "small.csv"
    small.write_text(SMALL)
    out = tmp_path / "new" / "out"
    kill_midway(out, demo_files)
    # What the killed run left: its stage in the output folder, its scratch workspace in the temp folder.
    assert [p.name[:9] for p in out.iterdir()] == [".icp-out-"]
    left = leftovers(temp)
    assert any(name.endswith(".duckdb") for name in left), left

    # The next run, anywhere, with another output folder, removes both, and the folders the killed run made.
    result = icp("build", "--customers", str(small), "--out", str(tmp_path / "next"))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "new").exists()
    assert leftovers(temp) == []
    assert sorted(p.name for p in (tmp_path / "next").iterdir()) == sorted(
        ["icp.json", "icp.pdf", "market.json", "scoring.sql", "segments.csv", "targets.csv", "targets.xlsx"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_stage_whose_notes_are_gone_is_removed_by_the_next_run_into_its_folder(temp, tmp_path, demo_files):
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("the user's own file")
    kill_midway(out, demo_files)
    # A reboot empties the temp folder, not the output folder.
    for entry in (temp / f"icp-scratch-{os.getuid()}").iterdir():
        subprocess.run(["rm", "-rf", str(entry)], check=True)
    small = tmp_path / "small.csv"
    small.write_text(SMALL)
    result = icp("build", "--customers", str(small), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not list(out.glob(".icp-out-*"))
    assert (out / "kept.txt").read_text() == "the user's own file"
    assert leftovers(temp) == []


@pytest.mark.parametrize("bad", ["accounts", "icp.json"])
def test_a_refused_score_leaves_nothing(temp, tmp_path, bad, capsys):
    icp_json, accounts = tmp_path / "icp.json", tmp_path / "accounts.csv"
    icp_json.write_text(make_icp().model_dump_json())
    accounts.write_text(SMALL)
    if bad == "accounts":
        accounts.write_bytes(b"\x00\x01\x02 not a table")
    else:
        icp_json.write_text('{"criteria": "not a list"')
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "scored" / "today" / "targets.csv"
    assert main(["score", "--icp", str(icp_json), "--accounts", str(accounts), "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and bad in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "the refusal left an output folder"
    assert leftovers(temp) == []

    # The same command on good files makes the folders, and only the file asked for.
    accounts.write_text(SMALL)
    icp_json.write_text(make_icp().model_dump_json())
    assert main(["score", "--icp", str(icp_json), "--accounts", str(accounts), "--out", str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["targets.csv"]
    assert leftovers(temp) == []


def test_a_refused_build_into_an_existing_folder_leaves_it_as_it_was(temp, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("mine")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01 not a table")
    assert main(["build", "--customers", str(bad), "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["kept.txt"]
    assert leftovers(temp) == []


# --- the sweep itself ---------------------------------------------------------------------------------
def ended_pid() -> str:
    """`<pid>-<start>` of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "import icp.data.scratch as s; print(s.me())"],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return process.communicate()[0].strip()


def test_the_sweep_removes_only_what_ended_processes_left(temp, tmp_path):
    with scratch.folder("upload") as mine:
        removed = _sweep_a_dead_run(tmp_path)
        assert mine.is_dir(), "a running process's folder is kept"
    assert [p.name for p in scratch.root().iterdir()] == ["not-ours"]
    assert removed


def _sweep_a_dead_run(tmp_path: Path) -> list[Path]:
    parent = scratch.root()
    dead = ended_pid()
    out = tmp_path / "out"
    out.mkdir()
    stage = out / f"{scratch.STAGE_PREFIX}{dead}-abc"
    stage.mkdir()
    (stage / "icp.pdf").write_bytes(b"half")
    precious = tmp_path / "precious"
    precious.mkdir()
    entry = parent / f"{dead}-build-abc"
    entry.mkdir()
    (entry / "x.duckdb").write_bytes(b"scratch")
    scratch.note_stage(entry, stage)
    scratch.note_stage(entry, precious)  # a note naming anything but that process's stage is not followed
    other_form = parent / "not-ours"
    other_form.mkdir()
    removed = scratch.sweep(parent)
    assert set(removed) == {stage, entry}
    assert not stage.exists() and not entry.exists()
    assert precious.is_dir() and other_form.is_dir() and out.is_dir()
    return removed


def test_a_scratch_parent_someone_else_could_write_is_not_used(temp):
    shared = temp / f"icp-scratch-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    planted = shared / f"{ended_pid()}-build-abc"
    planted.mkdir()
    assert scratch.root() != shared
    with scratch.folder("build") as made:
        assert not made.is_relative_to(shared)
    assert planted.is_dir()


def test_a_stage_of_a_running_process_is_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    live = out / scratch.stage_name()
    live.mkdir()
    assert scratch.sweep_stages(out) == [] and live.is_dir()


# --- uploads in the app ---------------------------------------------------------------------------------
def _workbook(path: Path) -> bytes:
    book = Workbook()
    book.active.title = "Customers"
    for row in [line.split(",") for line in SMALL.splitlines()]:
        book.active.append(row)
    book.create_sheet("Notes").append(["nothing here"])
    book.save(path)
    return path.read_bytes()


def test_an_upload_is_on_disk_only_while_it_is_read(temp, tmp_path, monkeypatch):
    listed = []
    real = reader.list_sheets
    monkeypatch.setattr(reader, "list_sheets", lambda *a, **k: listed.append(a[0]) or real(*a, **k))
    workspace = Workspace.create("Mine")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = workspace.id
    at.run().switch_page("views/data.py").run()
    at.selectbox[0].set_value("customers")
    at.file_uploader[0].set_value(("accounts.xlsx", _workbook(tmp_path / "a.xlsx"),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    for _ in range(4):  # reruns while the file sits in the uploader: nothing written, the sheets listed once
        at.run()
        assert not at.exception and leftovers(temp) == []
    assert len(listed) == 1
    assert [o for o in at.selectbox[1].options] == ["Customers", "Notes"]
    next(b for b in at.button if b.label == "Load as customers").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert workspace.report("customers").rows_kept == 40
    assert leftovers(temp) == []

    at.file_uploader[0].set_value(("bad.csv", b"", "text/csv"))
    at.run()
    next(b for b in at.button if b.label == "Replace the customers list").click().run()
    assert any("bad.csv" in e.value for e in at.error)
    assert leftovers(temp) == []
