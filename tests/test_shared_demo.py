"""The shared demo: a visitor without a link reads one read-only template, and only their first
change makes a copy of their own; demo copies nobody changed expire. Disk stays bounded."""

import hashlib
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp import demo_workspace
from icp.analysis.success import SuccessSettings
from icp.data.owners import open_as, owner_of
from icp.data.workspace import UNTOUCHED, Workspace
from icp.demo_workspace import DEMO_NAME, expiry_hours, housekeeping, open_demo, shared_demo, sweep_untouched
from icp.errors import IcpError, InputFileError, WorkspaceError, WorkspaceNotFound
from icp.paths import SHARED_DEMO
from icp.profile.draft import ICP_KEY
from icp.profile.model import ICP
from tests.helpers import PAGES, ROOT

HOUR = 3600


@pytest.fixture
def fast_demo(demo_template, monkeypatch):
    """The template the run built once, where the app looks for it."""
    monkeypatch.setattr("icp.data.workspace.Workspace.demo_template", staticmethod(lambda folder=None: demo_template))
    return demo_template


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.duckdb*"))


def visit() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def ws_of(at: AppTest) -> str | None:
    found = at.query_params.get("ws")
    return found[0] if isinstance(found, list) else found


# --- the engine -------------------------------------------------------------------------------------
def test_the_shared_demo_is_read_and_its_first_change_goes_to_a_copy_of_ones_own(fast_demo, workspace_folder):
    before = digest(fast_demo)
    told = []
    demo = shared_demo(owner="alice-key", on_copy=told.append)
    assert demo.shared and demo.id == SHARED_DEMO and demo.name == DEMO_NAME
    assert list(demo.lists()) == ["customers", "deals", "universe"]
    assert files(workspace_folder) == [] and told == []

    demo.rename("Alice's demo")
    assert not demo.shared and told == [demo]
    assert files(workspace_folder) == [f"{demo.id}.duckdb"]
    assert demo.name == "Alice's demo" and owner_of(demo) == "alice-key"
    with demo.connect() as con:  # a changed copy is never swept as untouched
        assert con.execute("SELECT count(*) FROM _meta WHERE key = ?", [UNTOUCHED]).fetchone() == (0,)
    # The next change goes to the same copy; the template and the next visitor never see either.
    demo.save_settings("success", SuccessSettings(criteria=(), best_share=0.5))
    assert files(workspace_folder) == [f"{demo.id}.duckdb"] and told == [demo]
    assert digest(fast_demo) == before
    assert Workspace(SHARED_DEMO).name == DEMO_NAME
    assert Workspace(SHARED_DEMO).load_settings("success", SuccessSettings) is None


def test_a_refused_first_change_leaves_no_copy_and_the_visitor_on_the_shared_demo(fast_demo, workspace_folder,
                                                                                  tmp_path):
    told = []
    demo = shared_demo(on_copy=told.append)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02 not a table")
    with pytest.raises(InputFileError):
        demo.add_list("customers", bad)
    assert demo.shared and demo.id == SHARED_DEMO and told == []
    assert files(workspace_folder) == []
    with pytest.raises(WorkspaceError):
        demo.rename("   ")  # refused before any copy is made
    assert files(workspace_folder) == [] and told == []


def test_a_handle_without_copy_on_write_cannot_change_the_shared_demo(fast_demo, workspace_folder):
    before = digest(fast_demo)
    for change in (lambda d: d.rename("Mine"), lambda d: d.save_settings("success", SuccessSettings(criteria=())),
                   lambda d: d.remove_list("deals"), lambda d: d.delete()):
        with pytest.raises(WorkspaceError, match="shared by everyone"):
            change(shared_demo())
    # A write that went around `changing` is refused by DuckDB, and said as the same sentence.
    with pytest.raises(WorkspaceError, match="shared by everyone"), shared_demo().connect() as con:
        con.execute("DELETE FROM customers")
    assert digest(fast_demo) == before and files(workspace_folder) == []


def test_no_link_opens_the_shared_demo(fast_demo):
    for owner in (None, "alice-key"):
        with pytest.raises(WorkspaceNotFound):
            open_as(SHARED_DEMO, owner)


# --- the app ----------------------------------------------------------------------------------------
def test_visiting_every_page_of_the_demo_writes_nothing(fast_demo, workspace_folder):
    before = digest(fast_demo)
    at = visit()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        assert ws_of(at) is None, page
        assert files(workspace_folder) == [], f"{page} made a copy of the demo"
    assert digest(fast_demo) == before


@pytest.mark.slow
def test_fifty_visits_without_a_link_take_no_disk(fast_demo, workspace_folder):
    """Each visit copied the 9 MB demo (50 visits: 446 MB, never removed); now none copies anything."""
    for _ in range(50):
        at = visit()
        assert not at.exception and ws_of(at) is None
    assert files(workspace_folder) == []


def test_a_change_makes_a_copy_of_ones_own_and_no_other_visitor_sees_it(fast_demo, workspace_folder):
    before = digest(fast_demo)
    first = visit().switch_page("views/success.py").run()
    default_share = first.slider(key="best_share").value
    first.slider(key="best_share").set_value(50).run()
    assert not first.exception and not first.error
    mine = ws_of(first)
    assert mine is not None and files(workspace_folder) == [f"{mine}.duckdb"]
    assert Workspace(mine).load_settings("success", SuccessSettings).best_share == 0.5
    assert first.session_state["workspace_id"] == mine

    # Another visitor at the same time: the untouched demo, at the default, with no link.
    second = visit().switch_page("views/success.py").run()
    assert ws_of(second) is None and second.slider(key="best_share").value == default_share != 50
    # Their own change is a copy of their own, not the first visitor's.
    second.slider(key="best_share").set_value(40).run()
    theirs = ws_of(second)
    assert theirs not in (None, mine)
    assert Workspace(mine).load_settings("success", SuccessSettings).best_share == 0.5
    assert Workspace(theirs).load_settings("success", SuccessSettings).best_share == 0.4
    assert digest(fast_demo) == before

    # The first visitor goes on in their copy: the next change does not copy again.
    first.slider(key="best_share").set_value(60).run()
    assert ws_of(first) == mine and len(files(workspace_folder)) == 2


def test_open_a_fresh_demo_goes_back_to_the_shared_one(fast_demo, workspace_folder):
    at = visit()
    next(b for b in at.sidebar.button if b.label == "New workspace").click().run()
    made = ws_of(at)
    assert made is not None and Workspace(made).name == "My workspace"
    next(b for b in at.sidebar.button if b.label == "Open a fresh demo").click().run()
    assert not at.exception and ws_of(at) is None
    assert any("Northwind Analytics" in m.value for m in at.sidebar.markdown)  # as the sidebar escapes it
    assert files(workspace_folder) == [f"{made}.duckdb"]


def test_a_refused_upload_on_the_demo_makes_no_copy(fast_demo, workspace_folder):
    at = visit().switch_page("views/data.py").run()
    at.selectbox[0].set_value("customers")
    at.file_uploader[0].set_value(("empty.csv", b"", "text/csv"))
    at.run()
    next(b for b in at.button if b.label.startswith("Replace the customers")).click().run()
    assert not at.exception
    assert any("empty.csv" in e.value and "Nothing in the workspace was changed" in e.value for e in at.error)
    assert ws_of(at) is None and files(workspace_folder) == []


# --- expiry of demo copies nobody changed ----------------------------------------------------------
def _age(workspace: Workspace, hours: float) -> None:
    then = time.time() - hours * HOUR
    os.utime(workspace.path, (then, then))


def _untouched_copy(template: Path) -> Workspace:
    """A copy whose first change never came in (its process was killed between copy and change)."""
    return Workspace.copy_of(template, None, untouched=True)


def _legacy_copy(template: Path) -> Workspace:
    """A copy as the versions that copied the demo on every visit made it: no mark, and the
    template then held no ICP draft."""
    copy = Workspace.copy_of(template, DEMO_NAME)
    with copy.connect() as con:
        con.execute("DELETE FROM _settings WHERE key = ?", [ICP_KEY])
    return copy


def test_untouched_demo_copies_expire_and_everything_else_stays(fast_demo, workspace_folder):
    stale = _untouched_copy(fast_demo)
    fresh = _untouched_copy(fast_demo)
    legacy = _legacy_copy(fast_demo)
    legacy_used = _legacy_copy(fast_demo)
    legacy_used.save_settings("success", SuccessSettings(criteria=(), best_share=0.3))
    legacy_drafted = _legacy_copy(fast_demo)  # an ICP saved: drafted or edited, no one can tell, so kept
    legacy_drafted.save_settings(ICP_KEY, Workspace(SHARED_DEMO).load_settings(ICP_KEY, ICP))
    renamed = _legacy_copy(fast_demo)
    renamed.rename("Our pipeline review")
    made_now = open_demo()  # a copy made on purpose (bench/pdf.py): the demo's ICP draft is in it
    changed = shared_demo(on_copy=lambda w: None)
    changed.rename("Changed once")
    own = Workspace.create("My workspace")
    for workspace, hours in ((stale, 25), (fresh, 23), (legacy, 30), (legacy_used, 30), (legacy_drafted, 30),
                             (renamed, 30), (made_now, 30), (changed, 30), (own, 1000)):
        _age(workspace, hours)

    removed = sweep_untouched(hours=24)
    assert sorted(removed) == sorted([stale.id, legacy.id])
    assert sorted(Workspace.all_ids()) == sorted(
        w.id for w in (fresh, legacy_used, legacy_drafted, renamed, made_now, changed, own))
    assert sweep_untouched(hours=24) == []


def test_the_expiry_is_set_by_an_environment_variable(demo_template, workspace_folder, monkeypatch):
    copy = _untouched_copy(demo_template)
    _age(copy, 2)
    assert expiry_hours() == 24
    assert sweep_untouched() == []
    monkeypatch.setenv("ICP_DEMO_COPY_HOURS", "1.5")
    assert expiry_hours() == 1.5
    assert sweep_untouched() == [copy.id]
    for bad in ("soon", "0", "-3", "nan", "inf"):
        monkeypatch.setenv("ICP_DEMO_COPY_HOURS", bad)
        with pytest.raises(IcpError, match="ICP_DEMO_COPY_HOURS must be a number of hours"):
            expiry_hours()


def test_a_sweep_opens_a_bounded_number_of_files_and_never_reopens_one_found_in_use(demo_template,
                                                                                   workspace_folder, monkeypatch):
    kept = [Workspace.create(f"Mine {i}") for i in range(4)]
    copies = [_untouched_copy(demo_template) for _ in range(3)]
    for workspace in kept + copies:
        _age(workspace, 48)
    opened = []
    real = demo_workspace._untouched
    monkeypatch.setattr(demo_workspace, "_untouched", lambda path: opened.append(path) or real(path))

    first = sweep_untouched(hours=24, opens=3)
    assert len(opened) == 3
    second = sweep_untouched(hours=24, opens=10)
    # Files found in use were not opened again; every untouched copy is gone after two sweeps.
    assert len(opened) == 7 and len(set(opened)) == 7
    assert sorted(first + second) == sorted(c.id for c in copies)
    assert sweep_untouched(hours=24, opens=10) == [] and len(opened) == 7
    # Written again, a file is looked at again.
    _age(kept[0], 30)
    assert sweep_untouched(hours=24) == [] and opened[-1] == kept[0].path


def test_a_new_visit_sweeps(fast_demo, workspace_folder):
    copy = _untouched_copy(fast_demo)
    _age(copy, 25)
    at = visit()
    assert not at.exception and not at.warning
    assert Workspace.all_ids() == []


def test_a_bad_expiry_setting_is_a_warning_and_the_visit_goes_on(fast_demo, workspace_folder, monkeypatch):
    monkeypatch.setenv("ICP_DEMO_COPY_HOURS", "a day")
    at = visit()
    assert not at.exception
    assert [w.value for w in at.warning] == ["ICP_DEMO_COPY_HOURS must be a number of hours above 0, not 'a day'."]
    assert any("Northwind Analytics" in m.value for m in at.sidebar.markdown)  # as the sidebar escapes it


def test_housekeeping_runs_at_most_once_per_interval(demo_template, workspace_folder):
    housekeeping(workspace_folder)
    copy = _untouched_copy(demo_template)
    _age(copy, 25)
    housekeeping(workspace_folder)  # within the interval: not swept yet
    assert Workspace.all_ids() == [copy.id]
