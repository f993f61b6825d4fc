"""Shared fixtures: an isolated workspace folder per test, and the public files in ../shared/data."""

import contextlib
import io
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def workspace_folder(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own data folder, so no test sees another's workspaces or a user's."""
    folder = tmp_path_factory.mktemp("workspaces")
    monkeypatch.setenv("ICP_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo template built once per test run (it takes a few seconds)."""
    from icp.demo_workspace import template_path

    return template_path(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> dict[str, Path]:
    """The demo's customers, deals and universe, written once per run; tests only read them."""
    from icp.data.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("demo-files"))


@pytest.fixture(scope="session")
def built_demo(demo_files, tmp_path_factory) -> Path:
    """`icp build` on the whole demo (customers, deals, universe), run once per run (it takes ~18 s).
    Read it only: a test that changes an output copies it first."""
    from icp.cli import main

    out = tmp_path_factory.mktemp("built-demo") / "out"
    assert main(["build", "--customers", str(demo_files["customers"]), "--deals", str(demo_files["deals"]),
                 "--universe", str(demo_files["universe"]), "--out", str(out)]) == 0
    return out


def run_icp(*args: str) -> subprocess.CompletedProcess:
    """`icp ARGS` in this process: the exit code, stdout and stderr `python -m icp ARGS` gives, without
    an interpreter's start-up (seconds on a busy machine). Each command keeps one subprocess test."""
    from icp.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["icp", *args], code, out.getvalue(), err.getvalue())


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a clean skip when that folder is not beside the checkout."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
