"""Durability: a process killed mid-ingest, saved versions across restarts, and damaged workspace files.

The workspace is one DuckDB file changed in one transaction at a time, so whatever happens to a
process, reopening the file gives the last committed state; and a file that is damaged on disk is
reported in one sentence, without touching the other workspaces in the folder.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from pydantic import BaseModel, ConfigDict
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from icp.errors import WorkspaceError
from tests.helpers import write

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = (
    "Company name,Website,Industry,Employees,ARR,Churned\n"
    "Northwind,northwind.io,Fintech,120,48000,No\n"
    "Contoso,contoso.com,Retail,15,6000,Yes\n"
    "Fabrikam,fabrikam.net,Fintech,300,90000,No\n"
)
DEALS = "Deal ID,Company,Deal Stage,Amount\nD1,Northwind,Closed Won,10000\nD2,Contoso,Closed Lost,5000\n"
DAMAGED = ("This workspace's file is damaged and cannot be read. Start a new workspace or open a fresh demo; "
           "other workspaces are not affected.")


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    share: float
    note: str


def state(workspace: Workspace) -> dict:
    """Everything the workspace holds: data version, list reports, settings and every table's rows."""
    settings = workspace.load_settings("choice", Choice)
    tables = {}
    with workspace.connect() as con:
        for (table,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1").fetchall():
            tables[table] = con.execute(f'SELECT COLUMNS(*)::VARCHAR FROM "{table}" ORDER BY ALL').fetchall()
    return {
        "data_version": workspace.data_version,
        "lists": {kind: report.model_dump() for kind, report in workspace.lists().items()},
        "settings": settings,
        "tables": tables,
    }


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    ws = Workspace.create("Durable")
    ws.add_list("customers", write(tmp_path / "customers.csv", CUSTOMERS))
    ws.save_settings("choice", Choice(share=0.3, note="kept"))
    return ws


# --- a process killed in the middle of an ingest ----------------------------------------------

# Replaces the customers list with the big file, saying on stdout when it is inside the transaction
# (reading the file) and when it is about to commit.
_INGEST = """
import sys
import icp.data.workspace as w

read_into, bump = w.read_into, w._bump_version
def reading(*args, **kwargs):
    print("reading", flush=True)
    return read_into(*args, **kwargs)
def committing(con):
    print("committing", flush=True)
    return bump(con)
w.read_into, w._bump_version = reading, committing
w.Workspace(sys.argv[1]).add_list("customers", sys.argv[2], display_name="big.csv")
print("done", flush=True)
"""
BIG_ROWS = 1_200_000


def _sizes(workspace: Workspace) -> tuple[int, int]:
    wal = Path(f"{workspace.path}.wal")
    return workspace.path.stat().st_size, wal.stat().st_size if wal.exists() else 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigkill_mid_ingest_leaves_the_last_committed_state(workspace, tmp_path):
    big = tmp_path / "big.csv"
    duckdb.execute(
        f"COPY (SELECT i AS \"Account ID\", 'Company ' || i AS \"Company name\" FROM range({BIG_ROWS}) t(i)) "
        f"TO '{big}' (HEADER)")
    before = state(workspace)
    committed = _sizes(workspace)

    child = subprocess.Popen([sys.executable, "-c", _INGEST, workspace.id, str(big)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.strip() for line in child.stdout), daemon=True)
    reader.start()
    # Kill once the transaction is open and uncommitted data has reached the files on disk.
    deadline = time.monotonic() + 100
    grown = None
    while time.monotonic() < deadline and child.poll() is None:
        now = _sizes(workspace)
        if "reading" in lines and (now[0] > committed[0] or now[1] > committed[1]):
            grown = now
            break
        time.sleep(0.005)
    still_running = child.poll() is None
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join(5)
    stderr = child.stderr.read()

    assert still_running and child.returncode == -signal.SIGKILL, (child.returncode, lines, stderr)
    assert grown is not None, "the ingest wrote nothing to the workspace files before it was killed"
    # It was inside the transaction (reading done, data written) and never reached the commit.
    assert lines == ["reading"], lines

    reopened = Workspace(workspace.id)
    assert state(reopened) == before
    assert reopened.report("customers").rows_kept == 3
    # And the workspace takes the next change as usual.
    report = reopened.add_list("deals", write(tmp_path / "deals.csv", DEALS))
    assert report.rows_kept == 2 and (report.linked_rows, report.unlinked_rows) == (2, 0)
    assert reopened.data_version == before["data_version"] + 1
    assert set(reopened.lists()) == {"customers", "deals"}
    assert reopened.load_settings("choice", Choice) == before["settings"]


# --- saved ICP versions across a restart -------------------------------------------------------

_SAVE = """
import json, sys, time
from icp.profile.model import ICP, Criterion
from icp.analysis.success import default_settings
from icp.market.versions import save_version
from icp.data.workspace import Workspace

ws = Workspace(sys.argv[1])
icp = ICP(success=default_settings(ws), criteria=(
    Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech",)),
    Criterion(attribute="employees", label="Employees", kind="range", low=50, high=1000, weight=2),
))
first = save_version(ws, icp, "First draft")
second = save_version(ws, icp.model_copy(update={"criteria": icp.criteria[:1]}), "  Only   fintech ")
print(json.dumps([first.model_dump(mode="json"), second.model_dump(mode="json")]), flush=True)
time.sleep(60)  # killed here: nothing after the save may be needed for it to last
"""
_LOAD = """
import json, sys
from icp.market.versions import list_versions, load_version
from icp.data.workspace import Workspace

ws = Workspace(sys.argv[1])
listed = [v.model_dump(mode="json") for v in list_versions(ws)]
print(json.dumps({"listed": listed, "loaded": [load_version(ws, v["version"]).model_dump(mode="json")
                                                for v in listed]}))
"""


@pytest.mark.timeout(90)
def test_saved_versions_survive_a_killed_process_and_a_restart(workspace):
    saver = subprocess.Popen([sys.executable, "-c", _SAVE, workspace.id], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = saver.stdout.readline()
    finally:
        saver.kill()
        saver.wait()
    assert line and saver.returncode == -signal.SIGKILL, saver.stderr.read()
    saved = json.loads(line)

    loaded = subprocess.run([sys.executable, "-c", _LOAD, workspace.id], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    found = json.loads(loaded.stdout)
    assert found["loaded"] == saved
    assert [(v["version"], v["name"], v["criteria"]) for v in found["listed"]] == [
        (1, "First draft", 2), (2, "Only fintech", 1)]
    assert [v["saved_at"] for v in found["listed"]] == [s["created_at"] for s in saved]


# --- a damaged workspace file ------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    noise = random.Random(how).randbytes(len(data))
    if how == "overwritten":
        path.write_bytes(noise)
    elif how == "header-overwritten":
        path.write_bytes(noise[:16384] + data[16384:])
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        raise AssertionError(how)


@pytest.fixture
def two_workspaces(tmp_path) -> tuple[Workspace, Workspace]:
    """Two workspaces with the same customers in the same folder; the first is then damaged."""
    customers = write(tmp_path / "customers.csv", CUSTOMERS)
    damaged, healthy = Workspace.create("Damaged"), Workspace.create("Healthy")
    for ws in (damaged, healthy):
        ws.add_list("customers", customers)
    return damaged, healthy


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["overwritten", "header-overwritten", "truncated"])
def test_a_damaged_file_is_one_sentence_and_the_others_keep_working(two_workspaces, tmp_path, how):
    damaged, healthy = two_workspaces
    healthy_before = state(healthy)
    _damage(damaged.path, how)
    deals = write(tmp_path / "deals.csv", DEALS)

    reopened = Workspace(damaged.id)  # the file is there: opening the handle is not reading it
    calls = {
        "check": reopened.check, "name": lambda: reopened.name, "data_version": lambda: reopened.data_version,
        "lists": reopened.lists, "frame": lambda: reopened.frame("customers"),
        "add_list": lambda: reopened.add_list("deals", deals),
        "set_mapping": lambda: reopened.set_mapping("customers", {"Industry": None}),
    }
    for name, call in calls.items():
        with pytest.raises(WorkspaceError) as caught:
            call()
        assert str(caught.value) == DAMAGED, name
        # The reason is kept for the log, never shown: no DuckDB text, no server path.
        assert isinstance(caught.value.__cause__, duckdb.Error), name

    assert state(healthy) == healthy_before
    assert healthy.add_list("deals", deals).rows_kept == 2
    assert healthy.data_version == healthy_before["data_version"] + 1


def _app(workspace_id: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = workspace_id
    return at


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["overwritten", "truncated"])
def test_the_app_reports_a_damaged_workspace_and_offers_a_way_on(two_workspaces, how):
    damaged, healthy = two_workspaces
    _damage(damaged.path, how)
    left = damaged.path.read_bytes()

    at = _app(damaged.id).switch_page("views/data.py").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [DAMAGED]
    assert not at.dataframe and not at.file_uploader  # the page itself did not run
    ways = {b.label for b in at.sidebar.button}
    assert {"New workspace", "Open a fresh demo"} <= ways
    [new] = [b for b in at.sidebar.button if b.label == "New workspace"]
    new.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    fresh = at.query_params["ws"]
    fresh = fresh[0] if isinstance(fresh, list) else fresh
    assert fresh not in (damaged.id, healthy.id) and Workspace(fresh).lists() == {}
    # The damaged file is left as it was, for whoever wants to look at it.
    assert damaged.path.read_bytes() == left

    other = _app(healthy.id).switch_page("views/data.py").run()
    assert not other.exception and not other.error
    assert any("3 rows" in m.value and "customers" in m.value for m in other.sidebar.markdown)
    assert other.dataframe[0].value.loc[0, "rows kept"] == 3
