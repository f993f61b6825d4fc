"""Who a workspace belongs to when sign-in is on.

A signed-in user's workspaces carry a digest of their identity (issuer and subject of the OpenID
Connect token), never the identity itself. Opening a workspace as someone else fails exactly like
opening an id that does not exist, so a leaked link tells a stranger nothing, not even that the
workspace is there. With sign-in off there is no owner and the link alone opens the workspace.
"""

import hashlib

from icp.data.workspace import NOT_FOUND, Workspace
from icp.errors import WorkspaceNotFound
from icp.paths import check_workspace_id


def owner_key(issuer: str | None, subject: str) -> str:
    """A stable digest of one signed-in identity."""
    return hashlib.sha256(f"{issuer or ''}\x00{subject}".encode()).hexdigest()


def claim(workspace: Workspace, owner: str) -> Workspace:
    """Mark a workspace just created for this user (a new one, a demo copy) as theirs."""
    with workspace.connect() as con:
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('owner', ?)", [owner])
    return workspace


def owner_of(workspace: Workspace) -> str | None:
    with workspace.connect() as con:
        row = con.execute("SELECT value FROM _meta WHERE key = 'owner'").fetchone()
    return row[0] if row else None


def open_as(workspace_id: str, owner: str | None) -> Workspace:
    """The workspace, if `owner` may open it: anyone when sign-in is off (owner None), else only
    the user who claimed it. A workspace without an owner is not open to signed-in users: it was
    made before sign-in was turned on, and a link to it proves nothing about who holds it."""
    # Checked here, not only in Workspace: the shared demo's name opens nothing from a link.
    workspace = Workspace(check_workspace_id(workspace_id))
    if owner is not None and owner_of(workspace) != owner:
        raise WorkspaceNotFound(NOT_FOUND)
    return workspace
