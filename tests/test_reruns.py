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


def _customers_by_tier(at) -> list[dict]:
    """The backtest's "Customers by tier" table as the page shows it."""
    frames = [d.value for d in at.dataframe if "best_customers" in d.value.columns]
    assert len(frames) == 1
    return frames[0].to_dict("records")


def test_a_tier_slider_retiers_the_backtest_without_scoring_it_again(workspace, monkeypatch):
    """The backtest's counts are keyed by the ICP without its tier rules: a threshold moved re-tiers
    them in memory, and the page shows what scoring every customer afresh gives."""
    from icp.market import targets
    from icp.numbers import money
    from icp.profile.draft import ICP_KEY
    from icp.profile.model import ICP

    counted = []
    count = targets.backtest_counts

    def counting(*args, **kwargs):
        counted.append(args)
        return count(*args, **kwargs)

    monkeypatch.setattr(targets, "backtest_counts", counting)
    at = open_page(workspace, "views/targets.py")
    assert len(counted) == 1
    for key, value in (("tier3", 10), ("tier2", 40), ("tier1", 60), ("tier3", 35)):
        at.slider(key=key).set_value(value).run()
        assert not at.exception
        icp = Workspace(workspace.id).load_settings(ICP_KEY, ICP)
        assert getattr(icp.tiers, key) == value
        # Counted again here (not through the page): tests/test_targets.py proves these figures the
        # same as scoring every customer and deal afresh with the thresholds.
        afresh = targets.backtest_of(count(workspace, icp), icp.tiers)
        shown = _customers_by_tier(at)
        assert [(r["tier"], r["customers"], r["best_customers"], r["value_mean"]) for r in shown] == [
            (t.tier, t.customers, t.best_customers, money(t.value_mean, icp.market.currency)) for t in afresh.customers]
    assert len(counted) == 1  # four moves, no new count


def test_a_rerun_with_nothing_changed_computes_nothing(workspace, monkeypatch):
    """A rerun that changes nothing (another widget, a refresh of the same view) reads every engine
    result of the Targets page from the session's cache."""
    from icp.market import targets

    at = open_page(workspace, "views/targets.py")
    called = []
    for name in ("tier_summary", "targets_page", "backtest_counts", "target_source", "target_list"):
        original = getattr(targets, name)
        monkeypatch.setattr(targets, name, lambda *a, original=original, name=name, **k: (
            called.append(name), original(*a, **k))[1])
    at.run()
    assert not at.exception
    assert called == []



def test_each_session_sees_the_backtest_of_its_own_workspace(workspace, small):
    """The cached backtest is keyed by workspace id and data version, in each session's own cache:
    two sessions on two workspaces each show their own figures."""
    from icp.market import targets
    from icp.numbers import money
    from icp.profile.draft import ICP_KEY
    from icp.profile.model import ICP

    other = Workspace.create("Other")
    other.add_list("customers", small["customers"])  # no deals, no universe: another backtest
    shown = {}
    for ws in (workspace, other):
        at = open_page(ws, "views/targets.py")
        shown[ws.id] = _customers_by_tier(at)
    for ws in (workspace, other):
        icp = Workspace(ws.id).load_settings(ICP_KEY, ICP)
        expected = targets.backtest(ws, icp)
        assert [(r["tier"], r["customers"], r["value_mean"]) for r in shown[ws.id]] == [
            (t.tier, t.customers, money(t.value_mean, icp.market.currency)) for t in expected.customers]
    assert shown[workspace.id] != shown[other.id]
