"""Named, dated ICP versions kept in the workspace, and what changes between two of them."""

from datetime import UTC, datetime
from typing import Literal

import pandas as pd

from icp.data.workspace import Workspace
from icp.errors import WorkspaceError
from icp.frozen import Frozen
from icp.market.combinations import scored
from icp.market.targets import target_source
from icp.profile.model import ICP, Criterion, describe, parse_icp

_TABLE = """CREATE TABLE IF NOT EXISTS _icp_versions (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, saved_at VARCHAR NOT NULL, icp JSON NOT NULL)"""


class VersionInfo(Frozen):
    version: int
    name: str
    saved_at: datetime
    criteria: int


class CriterionChange(Frozen):
    attribute: str
    label: str
    change: Literal["added", "removed", "changed"]
    before: str | None  # "must: Industry is Fintech (weight 2)"
    after: str | None


def save_version(workspace: Workspace, icp: ICP, name: str) -> ICP:
    """Store `icp` as the next version under `name`; returns it with its version number and date."""
    name = " ".join(name.split())[:120]
    if not name:
        raise WorkspaceError("Give the version a name.")
    with workspace.changing(), workspace.connect() as con:
        con.execute(_TABLE)
        con.execute("BEGIN TRANSACTION")
        number = con.execute("SELECT coalesce(max(version), 0) + 1 FROM _icp_versions").fetchone()[0]
        saved = icp.model_copy(update={"version": number, "name": name,
                                       "created_at": datetime.now(UTC).replace(microsecond=0)})
        con.execute("INSERT INTO _icp_versions VALUES (?, ?, ?, ?)",
                    [number, name, saved.created_at.isoformat(), saved.model_dump_json()])
        con.execute("COMMIT")
    return saved


def _has_versions(con) -> bool:
    """Whether any version was saved. A read creates nothing: the shared demo is read-only."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_icp_versions' "
                       "AND NOT temporary").fetchone()[0] > 0


def list_versions(workspace: Workspace) -> list[VersionInfo]:
    with workspace.connect() as con:
        if not _has_versions(con):
            return []
        rows = con.execute("SELECT version, name, saved_at, icp FROM _icp_versions ORDER BY version").fetchall()
    return [VersionInfo(version=v, name=n, saved_at=datetime.fromisoformat(at), criteria=len(parse_icp(doc).criteria)) for v, n, at, doc in rows]


def load_version(workspace: Workspace, version: int) -> ICP:
    with workspace.connect() as con:
        row = (con.execute("SELECT icp FROM _icp_versions WHERE version = ?", [version]).fetchone()
               if _has_versions(con) else None)
    if row is None:
        raise WorkspaceError(f"This workspace has no ICP version {version}.")
    return parse_icp(row[0], f"ICP version {version}")


def _said(c: Criterion) -> str:
    return f"{c.role}: {describe(c)} (weight {c.weight:g})"


def _side(c: Criterion) -> tuple[str, bool, tuple[str, ...]]:
    # List items are criteria of their own ("has Snowflake", "has Salesforce"), so they key by item.
    return c.attribute, c.role == "disqualify", c.values if c.kind == "contains" else ()


def criteria_diff(before: ICP, after: ICP) -> list[CriterionChange]:
    """Criteria added, removed or changed (role, values, range, weight). A criterion is the same one
    when it tests the same attribute on the same side: a nice that became a must has changed."""
    old = {_side(c): c for c in before.criteria}
    new = {_side(c): c for c in after.criteria}
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.model_dump(exclude={"evidence"}) == b.model_dump(exclude={"evidence"}):
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        c = b or a
        changes.append(CriterionChange(attribute=c.attribute, label=c.label, change=change,
                                       before=_said(a) if a else None, after=_said(b) if b else None))
    return changes


def tier_changes(workspace: Workspace, before: ICP, after: ICP) -> pd.DataFrame:
    """How many target accounts move from each tier to each other tier between two ICPs
    (tier_before, tier_after, accounts), moves only, most first."""
    source, _ = target_source(workspace)
    with workspace.connect() as con:
        old, new = scored(con, before, source), scored(con, after, source)
        return con.execute(f"""
            SELECT a.icp_tier AS tier_before, b.icp_tier AS tier_after, count(*) AS accounts
            FROM {old} a JOIN {new} b USING (account_key)
            WHERE a.icp_tier <> b.icp_tier
            GROUP BY ALL ORDER BY accounts DESC, tier_before, tier_after""").df()
