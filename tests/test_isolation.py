"""Isolation: workspace ids cannot be guessed or bent into paths, and two sessions never see each other.

A workspace is reached only through its id: 192 random bits, checked against the exact shape of an
id before any path is built from it. Two app sessions working at once each see only their own
workspace, and the session-scoped caches never hand one session's results to another.
"""

import base64
import builtins
import contextlib
import math
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from icp.errors import WorkspaceNotFound
from icp.paths import new_workspace_id
from tests.helpers import write

ROOT = Path(__file__).resolve().parents[1]
ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
NOT_VALID = "That workspace link is not valid. Open the demo or start a new workspace."
NOT_HERE = "No workspace with that link exists here. Open the demo or start a new one."


# --- ids ---------------------------------------------------------------------------------------


def test_ids_are_random_192_bit_tokens():
    ids = [new_workspace_id() for _ in range(4000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and set(i) <= ID_CHARS for i in ids)
    raw = [base64.urlsafe_b64decode(i) for i in ids]
    assert {len(r) for r in raw} == {24}  # 192 bits, past the 128 a guess would need to beat
    # Every bit position is a fair coin (4000 draws: 0.5 +- 0.05 is more than 6 standard deviations).
    bits = [int.from_bytes(r, "big") for r in raw]
    for position in range(192):
        share = sum(b >> position & 1 for b in bits) / len(bits)
        assert 0.45 < share < 0.55, (position, share)
    # And the characters carry their full 6 bits each: no fixed prefix, counter or timestamp.
    counts = Counter("".join(ids))
    total = sum(counts.values())
    entropy = -sum(n / total * math.log2(n / total) for n in counts.values())
    assert len(counts) == 64 and entropy > 5.99, entropy
    assert len({i[:6] for i in ids}) > 3900


def test_every_way_to_make_a_workspace_gives_a_fresh_id(tmp_path):
    template = Workspace.create("Template", folder=tmp_path)
    made = [Workspace.create() for _ in range(3)] + [Workspace.copy_of(template.path, "Copy") for _ in range(3)]
    ids = [w.id for w in made]
    assert len(set(ids) | {template.id}) == 7
    assert sorted(ids) == Workspace.all_ids()


HOSTILE_IDS = [
    "../x",
    "../" + "A" * 29,  # 32 characters: the length alone does not refuse it
    "%2e%2e",
    "%2e%2e%2f" + "A" * 23,
    "..%2F..%2Fetc%2Fpasswd",
    "/etc/passwd",
    "/" + "A" * 31,
    "A" * 15 + "/" + "A" * 16,
    "A" * 15 + "\\" + "A" * 16,
    "." * 32,
    "A" * 31,
    "A" * 33,
    "A" * 32 + "\n",
    "A" * 31 + "\x00",
    "Ａ" * 32,  # full-width letters
    "",
    "A" * 32 + ".duckdb",
]


FILE_CALLS = [(os, "stat"), (os, "lstat"), (os, "open"), (os, "mkdir"), (os, "listdir"), (os, "scandir"),
              (builtins, "open"), (duckdb, "connect")]


@contextlib.contextmanager
def file_calls(monkeypatch) -> Iterator[list]:
    """Every file-system call (and database connection) made inside the block, recorded."""
    touched: list = []

    def spy(name, real):
        def call(*args, **kwargs):
            touched.append((name, args))
            return real(*args, **kwargs)
        return call

    with monkeypatch.context() as patch:
        for module, name in FILE_CALLS:
            patch.setattr(module, name, spy(name, getattr(module, name)))
        yield touched


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=[repr(h)[:24] for h in HOSTILE_IDS])
def test_path_tricks_are_refused_before_any_path_is_touched(hostile, monkeypatch):
    with file_calls(monkeypatch) as touched, pytest.raises(WorkspaceNotFound) as caught:
        Workspace(hostile)
    assert str(caught.value) == NOT_VALID
    assert touched == []


def test_an_id_of_another_folder_is_not_found_and_nothing_is_created(tmp_path, workspace_folder, monkeypatch):
    elsewhere = Workspace.create("Someone else's", folder=tmp_path)
    before = sorted(os.listdir(workspace_folder))
    with file_calls(monkeypatch) as touched, pytest.raises(WorkspaceNotFound) as caught:
        Workspace(elsewhere.id)
    assert str(caught.value) == NOT_HERE
    # A well-formed id is looked up in this folder only (which also shows the spy above sees calls).
    assert touched and all(str(workspace_folder) in str(args[0]) for _, args in touched)
    assert not any(str(tmp_path) in str(args[0]) for _, args in touched)
    with pytest.raises(WorkspaceNotFound):
        Workspace(new_workspace_id())  # well formed, never made
    assert sorted(os.listdir(workspace_folder)) == before


# --- the app -----------------------------------------------------------------------------------


def app(workspace_id: str | None = None, page: str = "views/data.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if workspace_id is not None:
        at.query_params["ws"] = workspace_id
    return at.switch_page(page)


def everything(at: AppTest) -> str:
    """Every element the session shows, as text (dataframes included)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts.extend(d.value.to_csv() for d in at.dataframe)
    return "\n".join(parts)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("link", ["../x", "%2e%2e%2f" + "A" * 23, "/etc/passwd", "A" * 31, "another-folder"])
def test_the_app_refuses_bad_links_and_shows_nothing_of_another_workspace(link, tmp_path, workspace_folder):
    elsewhere = Workspace.create("Someone else's", folder=tmp_path)
    elsewhere.add_list("customers", write(tmp_path / "theirs.csv", "Company name,ARR\nSecretCo,100\n"))
    wanted = elsewhere.id if link == "another-folder" else link
    before = sorted(os.listdir(workspace_folder))
    at = app(wanted).run()
    assert not at.exception
    assert [e.value for e in at.error] == [NOT_HERE if link == "another-folder" else NOT_VALID]
    assert {"New workspace", "Open a fresh demo"} <= {b.label for b in at.sidebar.button}
    shown = everything(at)
    assert "SecretCo" not in shown and "theirs.csv" not in shown
    assert sorted(os.listdir(workspace_folder)) == before


CUSTOMERS = {
    "one": ("alpha customers.csv", "Company name,Website,ARR,Churned\n"
            "Alpha One,alpha1.io,48000,No\nAlpha Two,alpha2.io,6000,Yes\nAlpha Three,alpha3.io,90000,No\n"),
    "two": ("zeta customers.csv", "Company name,Website,ARR,Churned\n"
            "Zeta One,zeta1.io,1000,Yes\nZeta Two,zeta2.io,2000,No\nZeta Three,zeta3.io,3000,No\n"
            "Zeta Four,zeta4.io,4000,No\nZeta Five,zeta5.io,500000,No\n"),
}


def _at_once(*sessions: AppTest) -> None:
    """One step of each session, interleaved. (AppTest keeps widget formatters in a module-level
    session-state proxy while it collects widget states, so two runs in threads break AppTest itself,
    not the app: the sessions are interleaved step by step instead.)"""
    for at in sessions:
        at.run()


def _best_names(at: AppTest) -> set[str]:
    [best] = [d for d in at.dataframe if {"rank", "value score", "account_name"} <= set(d.value.columns)][:1]
    return set(best.value["account_name"])


@pytest.fixture
def own_session_ids(monkeypatch):
    """AppTest runs every AppTest object under one fixed session id ("test session id"), so
    session-scoped caches would be shared between them as they never are between browser sessions.
    Give each AppTest (each session state) an id of its own, as the server does for each browser tab."""
    from streamlit.testing.v1 import local_script_runner

    init = local_script_runner.LocalScriptRunner.__init__
    ids: dict[int, str] = {}

    def own_id(self, script_path, session_state, *args, **kwargs):
        init(self, script_path, session_state, *args, **kwargs)
        self._session_id = ids.setdefault(id(session_state), uuid.uuid4().hex)

    monkeypatch.setattr(local_script_runner.LocalScriptRunner, "__init__", own_id)
    return ids


@pytest.mark.timeout(120)
def test_two_sessions_at_once_each_see_only_their_own_workspace(monkeypatch, own_session_ids):
    import icp.analysis.success

    computed = []
    score = icp.analysis.success.score_customers

    def counted(workspace, settings):
        computed.append(workspace.id)
        return score(workspace, settings)

    monkeypatch.setattr(icp.analysis.success, "score_customers", counted)
    one, two = Workspace.create("One"), Workspace.create("Two")
    at1, at2 = app(one.id), app(two.id)
    _at_once(at1, at2)
    for at, key in ((at1, "one"), (at2, "two")):
        name, text = CUSTOMERS[key]
        at.selectbox[0].set_value("customers")
        at.file_uploader[0].set_value((name, text.encode(), "text/csv"))
    _at_once(at1, at2)
    for at in (at1, at2):
        [load] = [b for b in at.button if b.label == "Load as customers"]
        load.click()
    _at_once(at1, at2)

    # Same data version, different workspaces: the keys the caches see differ only by the id.
    assert one.data_version == two.data_version == 1
    for at, mine, theirs, ws in ((at1, "one", "two", one), (at2, "two", "one", two)):
        assert not at.exception and not at.error, [e.value for e in at.error]
        name, text = CUSTOMERS[mine]
        rows = [line.split(",") for line in text.splitlines()]
        assert at.session_state["workspace_id"] == ws.id
        assert at.dataframe[0].value.loc[0, "rows kept"] == len(rows) - 1
        [preview] = [d.value for d in at.dataframe if list(d.value.columns) == rows[0]]
        assert preview.values.tolist() == rows[1:]
        assert any(name in m.value for m in at.sidebar.markdown)
        shown = everything(at)
        other_name, other_text = CUSTOMERS[theirs]
        other_ids = {one.id, two.id} - {ws.id}
        assert other_name not in shown and not any(i in shown for i in other_ids)
        assert not any(line.split(",")[0] in shown for line in other_text.splitlines()[1:])

    # The Success page, cached per session: each session scores its own customers.
    at1.switch_page("views/success.py")
    at2.switch_page("views/success.py")
    _at_once(at1, at2)
    assert not at1.exception and not at2.exception
    assert _best_names(at1) == {"Alpha Three"} and _best_names(at2) == {"Zeta Five"}
    assert set(computed) == {one.id, two.id}
    # A rerun is served from the session's cache; another session on the same workspace, same data
    # version and same settings computes for itself: nothing is shared between sessions.
    first_one = computed.count(one.id)
    at1.run()
    assert computed.count(one.id) == first_one
    third = app(one.id, "views/success.py").run()
    assert _best_names(third) == {"Alpha Three"}
    assert computed.count(one.id) == 2 * first_one
    assert len(set(own_session_ids.values())) == 3
