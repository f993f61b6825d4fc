"""The demo workspace: the generated demo files loaded once into a template, copied per user."""

import os
import tempfile
from pathlib import Path

from icp import demo
from icp.paths import data_dir
from icp.success import default_settings
from icp.validation import save_validation, validate
from icp.workspace import SCHEMA_VERSION, Workspace

DEMO_NAME = "Demo: Northwind Analytics"
# Bump when the demo data or the ingest changes what a template holds.
_TEMPLATE_VERSION = f"{SCHEMA_VERSION}-{demo.DEMO_SEED}-4"


def template_path(folder: Path | None = None) -> Path:
    """The demo template file, built on first use. It sits outside the workspace folder's own ids,
    so no one can open or change it as a workspace."""
    templates = (folder or data_dir()) / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    target = templates / f"demo-{_TEMPLATE_VERSION}.duckdb"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=templates) as tmp:
        files = demo.write_demo(Path(tmp) / "files")
        workspace = Workspace.create(DEMO_NAME, folder=Path(tmp))
        for kind in ("customers", "deals", "universe"):
            workspace.add_list(kind, files[kind], display_name=files[kind].name)
        # The out-of-sample check takes seconds: made once here, a visitor sees it at once.
        success = default_settings(workspace)
        save_validation(workspace, success, validate(workspace, success))
        # Atomic: two sessions building at once both end with one whole file.
        os.replace(workspace.path, target)
    return target


def open_demo(folder: Path | None = None) -> Workspace:
    """A fresh workspace of the user's own, holding the demo data."""
    return Workspace.copy_of(template_path(folder), DEMO_NAME, folder)
