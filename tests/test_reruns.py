"""A page run opens the workspace file a few times, not a dozen: app.py and the page share one
handle that read the name, data version, settings and list reports once. What another tab changes
shows on the next run all the same."""

from pathlib import Path

import pytest

import icp.data.workspace
from icp.data.demo import write_demo
from icp.data.workspace import Workspace
from tests.helpers import open_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["views/data.py", "views/success.py", "views/icp.py", "views/market.py", "views/targets.py"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("small"), small=True)


@pytest.fixture
def workspace(small):
    ws = Workspace.create("Reruns")
    for kind in ("customers", "deals", "universe"):
        ws.add_list(kind, small[kind])
    return ws


@pytest.mark.parametrize("page", PAGES)
def test_a_warm_rerun_opens_the_workspace_a_few_times(workspace, page, monkeypatch):
    at = open_page(workspace, page)
    at.run()  # warm: every cache filled
    opened = []
    connect = icp.data.workspace.duckdb.connect

    def counting(database, *args, **kwargs):
        if str(database) == str(workspace.path):
            opened.append(database)
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(icp.data.workspace.duckdb, "connect", counting)
    at.run()
    assert not at.exception
    # One to read what every page reads, then only what the page itself shows (a table, a page of
    # accounts); each read of the name, version, a setting or a report opened the file before.
    assert 1 <= len(opened) <= 5, len(opened)


def test_another_tabs_change_shows_on_the_next_run(workspace):
    at = open_page(workspace, "views/data.py")
    assert "Reruns" in " ".join(m.value for m in at.sidebar.markdown)
    Workspace(workspace.id).rename("Renamed elsewhere")
    at.run()
    assert "Renamed elsewhere" in " ".join(m.value for m in at.sidebar.markdown)
    other = Workspace(workspace.id)
    other.remove_list("universe")
    at.run()
    assert not at.exception
    assert "universe" not in " ".join(m.value for m in at.sidebar.markdown).casefold()
