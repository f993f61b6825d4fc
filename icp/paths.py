"""Where workspaces live, and the rule for a workspace id."""

import os
import re
import secrets
from pathlib import Path

from icp.errors import WorkspaceNotFound

# 24 random bytes: 192 bits, far past guessing; URL-safe so it can sit in a query parameter.
_ID_BYTES = 24
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
# The demo every visitor without a link reads (see icp.demo_workspace.shared_demo). Not an id we
# could make, so no link reaches it and no workspace file can be named so.
SHARED_DEMO = "demo"


def data_dir() -> Path:
    """The folder of workspace files: $ICP_DATA_DIR, else the per-user data folder."""
    configured = os.environ.get("ICP_DATA_DIR")
    if configured:
        folder = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        folder = Path(base) / "icp-explorer" / "workspaces"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_workspace_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)


def check_workspace_id(workspace_id: object) -> str:
    """Refuse anything that is not exactly an id we could have made, before it touches a path."""
    if not isinstance(workspace_id, str) or not _ID_PATTERN.fullmatch(workspace_id):
        raise WorkspaceNotFound("That workspace link is not valid. Open the demo or start a new workspace.")
    return workspace_id


def workspace_file(workspace_id: str, folder: Path | None = None) -> Path:
    return (folder or data_dir()) / f"{check_workspace_id(workspace_id)}.duckdb"
