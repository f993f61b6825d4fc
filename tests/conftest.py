"""Shared fixtures: an isolated workspace folder per test, and the demo's files, template and build made once
per run. Plain helper functions (`write`, `shared_file`, `run_icp`, ...) are in tests/helpers.py."""

from pathlib import Path

import pytest


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
