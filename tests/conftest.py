"""Shared fixtures: an isolated workspace folder per test, and the demo's files, template and build made once
per run. Plain helper functions (`write`, `shared_file`, `run_icp`, ...) are in tests/helpers.py."""

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own data folder, so no test sees another's workspaces or a user's."""
    folder = tmp_path_factory.mktemp("workspaces")
    monkeypatch.setenv("ICP_DATA_DIR", str(folder))
    return folder


def _built_once(tmp_path_factory, name: str, build: Callable[[Path], object]):
    """What `build` makes in a folder of its own, made once for the whole run: with pytest-xdist's
    workers, the first to ask builds it under a file lock in their shared temporary folder and the
    others wait and reuse it (each built the same demo before, tens of seconds apiece). `build`
    returns a path or a dict of paths, kept beside the folder as JSON."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder, made = root / name, root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            result = build(folder)
            kept = {k: str(v) for k, v in result.items()} if isinstance(result, dict) else str(result)
            made.write_text(json.dumps(kept), encoding="utf-8")
    kept = json.loads(made.read_text(encoding="utf-8"))
    return {k: Path(v) for k, v in kept.items()} if isinstance(kept, dict) else Path(kept)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo template built once per test run (it takes a few seconds)."""
    from icp.demo_workspace import template_path

    return _built_once(tmp_path_factory, "demo-template", template_path)


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> dict[str, Path]:
    """The demo's customers, deals and universe, written once per run; tests only read them."""
    from icp.data.demo import write_demo

    return _built_once(tmp_path_factory, "demo-files", write_demo)


@pytest.fixture(scope="session")
def built_demo(demo_files, tmp_path_factory) -> Path:
    """`icp build` on the whole demo (customers, deals, universe), run once per run (it takes ~18 s).
    Read it only: a test that changes an output copies it first."""
    from icp.cli import main

    def build(folder: Path) -> Path:
        out = folder / "out"
        assert main(["build", "--customers", str(demo_files["customers"]), "--deals", str(demo_files["deals"]),
                     "--universe", str(demo_files["universe"]), "--out", str(out)]) == 0
        return out

    return _built_once(tmp_path_factory, "built-demo", build)
