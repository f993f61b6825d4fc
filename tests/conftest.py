"""Shared fixtures: an isolated workspace folder per test, and the public files in ../shared/data."""

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


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a clean skip when that folder is not beside the checkout."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
