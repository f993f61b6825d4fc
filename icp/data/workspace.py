"""A workspace: one DuckDB database file holding a user's lists, their mapping and quality reports.

Every change is one transaction: a file that fails to read or normalize leaves the workspace
exactly as it was. Each list keeps its uploaded columns unchanged in `raw_<list>` (text, one
row per file row, `_row` = row number) next to the typed, normalized `<list>` table.
"""

import contextlib
import dataclasses
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd
from pydantic import BaseModel, ValidationError

from icp import normalize
from icp.data import demo, scratch
from icp.data.ingest import (
    MAX_EMPLOYEES,
    auto_roles,
    build_normalized,
    merged_rows_table,
    plan_columns,
    resolve_mapping,
)
from icp.data.links import CUSTOMER_VIEW, relink
from icp.data.reader import ReadResult, read_into
from icp.data.reports import ColumnReport, ListReport, MergeExample
from icp.data.roles import ACCOUNT_LISTS, LIST_KINDS
from icp.data.semantics import REASONS
from icp.errors import IcpError, InputFileError, WorkspaceError, WorkspaceNotFound
from icp.limits import Limits
from icp.normalize import quote_ident as _q
from icp.paths import SHARED_DEMO, check_workspace_id, data_dir, new_workspace_id, workspace_file

SCHEMA_VERSION = 1
# The one answer to a link that opens nothing, whether no file has that id or it is someone else's.
NOT_FOUND = "No workspace with that link exists here. Open the demo or start a new one."
M = TypeVar("M", bound=BaseModel)
_INCOMING = "_incoming"
# `_meta` key of a copy of the demo no change has reached yet (its value: when it was copied). A
# copy is made for a change and the key removed when that change is in, so a copy still holding
# it is one whose change failed in a process that was killed: icp.demo_workspace sweeps those.
UNTOUCHED = "untouched_since"
_READ_ONLY = ("The demo is shared by everyone and cannot be changed here. Open the demo from the start "
              "page (your first change makes a copy of your own) or start a new workspace.")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS _lists (kind VARCHAR PRIMARY KEY, report JSON NOT NULL);
"""
_SETTINGS_TABLE = "CREATE TABLE IF NOT EXISTS _settings (key VARCHAR PRIMARY KEY, value JSON, saved_at TIMESTAMPTZ)"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclasses.dataclass(frozen=True)
class _Pinned:
    meta: dict[str, str]
    lists: list[tuple[str, str]]
    settings: dict[str, str]
    relations: frozenset[str]


class Workspace:
    """Handle on one workspace file; cheap to create, holds no open connection between calls."""

    def __init__(self, workspace_id: str, folder: Path | None = None):
        self._folder = folder
        self._owner: str | None = None
        self._on_copy: Callable[[Workspace], None] | None = None
        self._pinned: _Pinned | None = None  # what `pin` read; None: read from the file each time
        # The shared demo: the template itself, opened read-only (see `copy_on_write`).
        self.shared = workspace_id == SHARED_DEMO
        if self.shared:
            # icp.demo_workspace builds the template there before anyone opens it.
            self.id, self.path = SHARED_DEMO, Workspace.demo_template(folder)
            if not self.path.exists():
                raise WorkspaceNotFound(NOT_FOUND)
            return
        self.id = check_workspace_id(workspace_id)
        self.path = workspace_file(self.id, folder)
        if not self.path.exists():
            raise WorkspaceNotFound(NOT_FOUND)

    @staticmethod
    def demo_template(folder: Path | None = None) -> Path:
        """Where the shared demo's template file is (icp.demo_workspace builds it): outside the
        workspace folder's own ids, so no one can open or change it as a workspace. Its name changes
        with the workspace schema and the demo data, so a new version builds a new one."""
        # The last figure: bump it when the ingest changes what a template holds.
        return (folder or data_dir()) / "templates" / f"demo-{SCHEMA_VERSION}-{demo.DEMO_SEED}-5.duckdb"

    # -- life cycle -----------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str = "Untitled workspace", folder: Path | None = None) -> "Workspace":
        workspace_id = new_workspace_id()
        path = workspace_file(workspace_id, folder)
        con = duckdb.connect(str(path), config=scratch.duckdb_config())
        try:
            con.execute(_SCHEMA)
            con.executemany("INSERT INTO _meta VALUES (?, ?)", [
                ("name", name), ("created_at", _now().isoformat()), ("data_version", "0"),
                ("schema_version", str(SCHEMA_VERSION)),
            ])
        finally:
            con.close()
        return cls(workspace_id, folder)

    @classmethod
    def copy_of(cls, template: Path, name: str | None, folder: Path | None = None, *, owner: str | None = None,
                untouched: bool = False) -> "Workspace":
        """A new workspace whose content is a copy of a template database file (the demo), named
        `name` (else as the template), owned by `owner` (the mark icp.data.owners reads), and marked
        `untouched` until `changing` brings a change in."""
        workspace_id = new_workspace_id()
        target = workspace_file(workspace_id, folder)
        shutil.copyfile(template, target)
        workspace = cls(workspace_id, folder)
        marks = [("owner", owner)] if owner else []
        marks += [(UNTOUCHED, _now().isoformat())] if untouched else []
        if marks:
            with workspace.connect() as con:
                con.executemany("INSERT OR REPLACE INTO _meta VALUES (?, ?)", marks)
        if name:
            workspace.rename(name)
        return workspace

    def copy_on_write(self, owner: str | None, on_copy: Callable[["Workspace"], None]) -> "Workspace":
        """Let this handle on the shared demo take changes: the first one goes to a copy of the
        visitor's own (owned by `owner`), made then; `on_copy` is told once the change is in."""
        self._owner, self._on_copy = owner, on_copy
        return self

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Around every change. On the shared demo the change goes to a new copy, and the handle
        then points at it; a change that fails removes the copy and leaves the handle as it was, so
        nothing of a refused change is left anywhere."""
        self._pinned = None  # what is pinned is read again after a change
        if not self.shared:
            yield
            return
        if self._on_copy is None:
            raise WorkspaceError(_READ_ONLY)
        template = self.path
        copy = Workspace.copy_of(template, None, self._folder, owner=self._owner, untouched=True)
        self.id, self.path, self.shared = copy.id, copy.path, False
        try:
            yield
        except BaseException:
            copy.delete()
            self.id, self.path, self.shared = SHARED_DEMO, template, True
            raise
        with self.connect() as con:
            con.execute("DELETE FROM _meta WHERE key = ?", [UNTOUCHED])
        self._on_copy(self)

    @classmethod
    def all_ids(cls, folder: Path | None = None) -> list[str]:
        return sorted(p.stem for p in (folder or data_dir()).glob("*.duckdb"))

    def delete(self) -> None:
        if self.shared:
            raise WorkspaceError(_READ_ONLY)
        self.path.unlink(missing_ok=True)
        Path(f"{self.path}.wal").unlink(missing_ok=True)

    @contextmanager
    def connect(self, read_only: bool = False, macros: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one piece of work. The normalization macros cost ~70 ms a connection, so
        only ingest asks for them; every read a page makes opens without."""
        try:
            # The shared demo is only ever opened read-only: every visitor reads the one file.
            con = duckdb.connect(str(self.path), read_only=read_only or self.shared, config=scratch.duckdb_config())
        except duckdb.Error as err:
            if _damaged(err):
                raise WorkspaceError(_DAMAGED) from err
            raise WorkspaceError(f"The workspace file could not be opened ({_first_line(err)}).") from err
        try:
            # A progress bar on stdout is noise for the CLI and the server log.
            con.execute("SET enable_progress_bar = false")
            if macros:
                normalize.install(con)
            yield con
        except duckdb.Error as err:
            # A damaged file often opens and fails only when a block is read: same sentence, no traceback.
            if _damaged(err):
                raise WorkspaceError(_DAMAGED) from err
            if self.shared and "read-only mode" in str(err):  # a change that did not go through `changing`
                raise WorkspaceError(_READ_ONLY) from err
            raise
        finally:
            con.close()

    def check(self) -> None:
        """Open the file and read what every page reads (metadata, list reports): a damaged workspace
        is a WorkspaceError here, before anything is shown."""
        with self.connect() as con:
            con.execute("SELECT * FROM _meta").fetchall()
            con.execute("SELECT * FROM _lists").fetchall()

    def pin(self) -> "Workspace":
        """`check`, keeping what it read: the name, data version, settings, list reports and which
        tables exist then come from memory until this handle makes a change (or is pinned again),
        not from opening the file (about 20 ms each). For one page run, which reads them a dozen
        times; another tab's change shows on the next run."""
        with self.connect() as con:
            relations = _relations(con)
            settings = (dict(con.execute("SELECT key, value FROM _settings").fetchall())
                        if "_settings" in relations else {})
            self._pinned = _Pinned(meta=dict(con.execute("SELECT key, value FROM _meta").fetchall()),
                                   lists=con.execute("SELECT kind, report FROM _lists").fetchall(),
                                   settings=settings, relations=frozenset(relations))
        return self

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.changing(), self.connect(macros=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                _bump_version(con)
                con.execute("COMMIT")
            except BaseException:
                # A rollback that fails (a damaged file) must not hide why; closing discards the changes.
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise

    # -- metadata -------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        if self._pinned is not None:
            return self._pinned.meta.get(key)
        with self.connect() as con:
            row = con.execute("SELECT value FROM _meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    @property
    def name(self) -> str:
        return self._meta("name") or "Untitled workspace"

    @property
    def data_version(self) -> int:
        """Goes up on every change: the key of every cache of this workspace's data."""
        return int(self._meta("data_version") or 0)

    def rename(self, name: str) -> None:
        name = " ".join(name.split())[:120]
        if not name:
            raise WorkspaceError("A workspace name cannot be empty.")
        with self.changing(), self.connect() as con:
            con.execute("INSERT OR REPLACE INTO _meta VALUES ('name', ?)", [name])

    # -- settings -------------------------------------------------------------------------------
    def save_settings(self, key: str, settings: BaseModel) -> None:
        """Keep a settings model (success criteria, segment choice, ...) in the workspace, so a
        refresh, another tab or a restart finds it as the user left it."""
        with self.changing(), self.connect() as con:
            con.execute(_SETTINGS_TABLE)
            con.execute("INSERT OR REPLACE INTO _settings VALUES (?, ?, ?)",
                        [key, settings.model_dump_json(), _now()])

    def load_settings(self, key: str, model: type[M]) -> M | None:
        """The saved settings, or None when there are none or they no longer fit the model."""
        if self._pinned is not None:
            text = self._pinned.settings.get(key)
        else:
            with self.connect() as con:
                # A read writes nothing: no settings table yet is no settings.
                if "_settings" not in _relations(con):
                    return None
                row = con.execute("SELECT value FROM _settings WHERE key = ?", [key]).fetchone()
            text = None if row is None else row[0]
        if text is None:
            return None
        try:
            return model.model_validate_json(text)
        except ValidationError:
            return None

    # -- lists ----------------------------------------------------------------------------------
    def lists(self) -> dict[str, ListReport]:
        if self._pinned is not None:
            rows = self._pinned.lists
        else:
            with self.connect() as con:
                rows = con.execute("SELECT kind, report FROM _lists").fetchall()
        reports = {kind: ListReport.model_validate_json(report) for kind, report in rows}
        return {kind: reports[kind] for kind in LIST_KINDS if kind in reports}

    def report(self, kind: str) -> ListReport:
        reports = self.lists()
        if kind not in reports:
            raise WorkspaceError(f"This workspace has no {kind} list yet.")
        return reports[kind]

    def add_list(
        self,
        kind: str,
        path: str | Path,
        *,
        display_name: str | None = None,
        sheet: str | None = None,
        mapping: Mapping[str, str | None] | None = None,
        replace: bool = True,
        limits: Limits | None = None,
        merge: bool = True,
    ) -> ListReport:
        """Read a file as list `kind` (replacing the one there when `replace`).

        `mapping`: column -> role name, or None (no role), "attribute" (analyse it whatever it looks
        like) or "ignore" (never analyse it); columns not named are mapped automatically.
        `merge`: rows of one account (same id, else domain, else name) become one account.
        """
        _check_kind(kind)
        display = display_name or Path(path).name
        with self._transaction() as con:
            if not replace and _has_list(con, kind):
                raise WorkspaceError(f"This workspace already has a {kind} list; replace it or remove it first.")
            read = read_into(con, _INCOMING, Path(path), display_name=display, sheet=sheet,
                             limits=limits or Limits.from_env())
            try:
                chosen = frozenset(c for c, role in (mapping or {}).items() if role is not None)
                # Labels the user merged in the list this one replaces still apply to the same headers.
                row = con.execute("SELECT report FROM _lists WHERE kind = ?", [kind]).fetchone()
                earlier = ListReport.model_validate_json(row[0]).label_merges if row else {}
                report = self._store(con, kind, read, mapping, display, merge=merge, chosen=chosen,
                                     label_merges={c: m for c, m in earlier.items() if c in read.columns})
            except duckdb.Error as err:  # a value no rule foresaw: say so, never a traceback
                if _damaged(err):  # the workspace's fault, not the file's
                    raise
                raise InputFileError(display, f"could not be normalized ({_first_line(err)}).") from err
        return report

    def set_mapping(self, kind: str, mapping: Mapping[str, str | None], merge: bool | None = None,
                    label_merges: Mapping[str, Mapping[str, str]] | None = None) -> ListReport:
        """Change which columns play which role (values as for `add_list`), or whether rows of one
        account are merged; the list is normalized again from its raw values."""
        _check_kind(kind)
        old = self.report(kind)
        merged = old.mapping | dict(mapping)
        # The user's own choices: those made now, and earlier ones not undone now.
        chosen = frozenset({c.source for c in old.columns if c.chosen and c.source not in mapping}
                           | {c for c, role in mapping.items() if role is not None})
        with self._transaction() as con:
            read = ReadResult(
                file=old.file, format=old.format, encoding=old.encoding, delimiter=old.delimiter,
                sheet=old.sheet, sheets=[], header_row=old.header_row,
                columns=[c.source for c in old.columns], rows=old.rows_read,
            )
            report = self._store(con, kind, read, merged, old.file, keep_confidence=old, source="raw_" + kind,
                                 merge=old.merge_duplicates if merge is None else merge, chosen=chosen,
                                 label_merges=old.label_merges if label_merges is None else label_merges)
        return report

    def merge_labels(self, kind: str, column: str, merges: Mapping[str, str]) -> ListReport:
        """Merge category labels of one column ({label: label it becomes}, e.g. a misspelling into
        the common spelling), on top of those merged before; the list is normalized again."""
        old = self.report(kind)
        if column not in {c.source for c in old.columns}:
            raise WorkspaceError(f"The {kind} list has no column {column!r}.")
        kept = {**old.label_merges.get(column, {}), **merges}
        return self.set_mapping(kind, {}, label_merges={**old.label_merges, column: kept})

    def forget_label_merges(self, kind: str) -> ListReport:
        """Every label as normalized again, without the merges the user made."""
        return self.set_mapping(kind, {}, label_merges={})

    def set_merging(self, kind: str, merge: bool) -> ListReport:
        """Merge the rows of one account (the default), or keep every row an account of its own."""
        return self.set_mapping(kind, {}, merge=merge)

    def remove_list(self, kind: str) -> None:
        _check_kind(kind)
        with self._transaction() as con:
            if not _has_list(con, kind):
                raise WorkspaceError(f"This workspace has no {kind} list to remove.")
            con.execute(f"DROP TABLE IF EXISTS {_q(kind)}")
            con.execute(f"DROP TABLE IF EXISTS {_q('raw_' + kind)}")
            con.execute(f"DROP TABLE IF EXISTS {_q(merged_rows_table(kind))}")
            con.execute("DELETE FROM _lists WHERE kind = ?", [kind])
            self._relink(con)

    def _store(self, con, kind, read: ReadResult, mapping, display, keep_confidence: ListReport | None = None,
               source: str = _INCOMING, merge: bool = True, chosen: frozenset[str] = frozenset(),
               label_merges: Mapping[str, Mapping[str, str]] | None = None):
        """Build list `kind` from the raw rows in table `source`: a new upload's rows (which are
        then kept as `raw_<kind>`), or the list's own raw table when only the mapping changed."""
        automatic, profiles = auto_roles(con, source, read.columns, kind)
        roles, choices = resolve_mapping(read.columns, kind, automatic, mapping, display, keep_confidence)
        con.execute(f"DROP TABLE IF EXISTS {_q(kind)}")
        plans = plan_columns(con, source, read.columns, roles, profiles=profiles, choices=choices, chosen=chosen)
        label_merges = {c: dict(m) for c, m in (label_merges or {}).items() if m}
        plans = [dataclasses.replace(p, merges=tuple(label_merges[p.source].items()))
                 if p.kind == "category" and p.source in label_merges else p for p in plans]
        made = build_normalized(con, source, kind, kind, plans, merge=merge)
        columns, kept, merged = made.columns, made.kept, made.merged
        if source == _INCOMING:
            # Copied in row order as read (a scan of one table keeps it), with no sort. Reading the
            # file straight into the workspace instead was slower: a column of row numbers filled
            # in an open transaction is written again at commit.
            con.execute(f"DROP TABLE IF EXISTS {_q('raw_' + kind)}")
            con.execute(f"CREATE TABLE {_q('raw_' + kind)} AS SELECT * FROM {_INCOMING}")
            con.execute(f"DROP TABLE {_INCOMING}")
        report = ListReport(
            kind=kind, file=display, format=read.format, sheet=read.sheet, encoding=read.encoding,
            delimiter=read.delimiter, header_row=read.header_row, rows_read=read.rows, rows_kept=kept,
            duplicates_merged=merged, linked_rows=None, unlinked_rows=None, ingested_at=_now(),
            columns=columns, notes=_notes(kind, columns, merged, made.merges, merge) + _stage_notes(con, kind),
            merge_duplicates=merge, merges=made.merges, label_merges=label_merges,
        )
        con.execute("INSERT OR REPLACE INTO _lists VALUES (?, ?)", [kind, report.model_dump_json()])
        self._relink(con)
        return self.report_in(con, kind)

    def _relink(self, con) -> None:
        counts = relink(con)
        for child, (linked, unlinked, ambiguous, unnamed) in counts.items():
            row = con.execute("SELECT report FROM _lists WHERE kind = ?", [child]).fetchone()
            report = ListReport.model_validate_json(row[0]).model_copy(
                update={"linked_rows": linked, "unlinked_rows": unlinked, "ambiguous_rows": ambiguous,
                        "unnamed_rows": unnamed})
            con.execute("UPDATE _lists SET report = ? WHERE kind = ?", [report.model_dump_json(), child])

    @staticmethod
    def report_in(con, kind: str) -> ListReport:
        row = con.execute("SELECT report FROM _lists WHERE kind = ?", [kind]).fetchone()
        return ListReport.model_validate_json(row[0])

    # -- reading data ---------------------------------------------------------------------------
    def frame(self, table: str, limit: int | None = 1000, offset: int = 0) -> pd.DataFrame:
        """Rows of a workspace table for display (paged: never the whole of a big list)."""
        with self.connect(read_only=False) as con:
            if table not in _relations(con):
                raise WorkspaceError(f"This workspace has no table {table}.")
            sql = f"SELECT * FROM {_q(table)} ORDER BY _row"
            params: list = []
            if limit is not None:
                sql += " LIMIT ? OFFSET ?"
                params = [limit, offset]
            return con.execute(sql, params).df()

    def count(self, table: str) -> int:
        with self.connect() as con:
            if table not in _relations(con):
                return 0
            return con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]

    def has_customers(self) -> bool:
        if self._pinned is not None:
            return CUSTOMER_VIEW in self._pinned.relations
        with self.connect() as con:
            return CUSTOMER_VIEW in _relations(con)


# What DuckDB says when a database file is not whole: overwritten, truncated, or a block changed.
_DAMAGE_SIGNS = ("not a valid DuckDB database file", "Could not read enough bytes", "Corrupt database file",
                 "database has been invalidated")
_DAMAGED = ("This workspace's file is damaged and cannot be read. Start a new workspace or open a fresh "
            "demo; other workspaces are not affected.")


def _damaged(err: Exception) -> bool:
    return isinstance(err, duckdb.Error) and any(sign in str(err) for sign in _DAMAGE_SIGNS)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _check_kind(kind: str) -> None:
    if kind not in LIST_KINDS:
        raise WorkspaceError(f"'{kind}' is not a kind of list; use one of: {', '.join(LIST_KINDS)}.")


def _has_list(con, kind: str) -> bool:
    return con.execute("SELECT count(*) FROM _lists WHERE kind = ?", [kind]).fetchone()[0] > 0


def _relations(con) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "UNION SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal"
    ).fetchall()}


def _bump_version(con) -> None:
    con.execute(
        "UPDATE _meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'"
    )


def _stage_notes(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """Where deals have stages but not one reads as won or lost: every deal would count as open,
    and the win rate and the backtest would be missing without a word."""
    if kind != "deals":
        return []
    present = {c for c, in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name <> 'temp' "
                                        "AND table_name = 'deals'").fetchall()}
    if not {"deal_stage", "deal_outcome"} <= present:
        return []
    closed, stages = con.execute(
        "SELECT count(*) FILTER (WHERE deal_outcome IN ('won', 'lost')), "
        "list(DISTINCT deal_stage ORDER BY deal_stage) FILTER (WHERE deal_stage IS NOT NULL)[1:6] FROM deals"
    ).fetchone()
    if closed or not stages:
        return []
    return [f"No deal stage reads as won or lost ({', '.join(stages)}...), so every deal counts as open and the win "
            "rate and the backtest cannot be measured. Give the column that says won or lost the Deal stage "
            "role, or map the won and closed flags, under Columns and roles."]


def _notes(kind: str, columns: list[ColumnReport], merged: int, merges: list[MergeExample], merge: bool) -> list[str]:
    roles = {c.role for c in columns if c.role}
    notes = []
    if kind in ACCOUNT_LISTS:
        if not roles & {"account_name", "domain", "account_id"}:
            notes.append("No column was recognised as the company name, website or ID: "
                         "rows cannot be merged or linked. Set one in the mapping.")
        if merged:
            shown = "; ".join(_merge_words(m) for m in merges[:3])
            notes.append(f"{merged:,} duplicate rows merged into the accounts they repeat (same id, else same "
                         f"domain, else same name; never two different ids), e.g. {shown}. "
                         "Merging can be turned off for this list.")
        elif not merge:
            notes.append("Merging is off for this list: every row is an account of its own.")
    if kind == "deals" and not roles & {"deal_stage", "won", "closed"}:
        notes.append("No deal stage column was found, so won and lost deals cannot be told apart.")
    left_out = [c for c in columns if c.excluded and c.excluded not in ("empty",)]
    if left_out:
        shown = ", ".join(f"{c.source} ({REASONS[c.excluded]})" for c in left_out[:8])
        more = f" and {len(left_out) - 8} more" if len(left_out) > 8 else ""
        notes.append(f"Not analysed: {shown}{more}. They stay in the list and in every export; "
                     "change this under Columns and roles.")
    for c in [c for c in columns if c.implausible][:5]:
        if c.kind == "employees":
            notes.append(f"{c.implausible:,} values of {c.source} over {MAX_EMPLOYEES:,} employees, more than any "
                         f"company has (e.g. {'; '.join(c.implausible_examples)}): left empty for analysis.")
            continue
        what = ("deals closed before they were created or over 20 years later"
                if c.role == "closed_date" else f"values of {c.source} out of bounds")
        notes.append(f"{c.implausible:,} {what} (e.g. {'; '.join(c.implausible_examples)}): "
                     "their duration is left empty for analysis.")
    failing = [c for c in columns if c.parse_failures]
    for c in failing[:5]:
        notes.append(f"{c.source}: {c.parse_failures:,} values could not be read as {c.kind} "
                     f"(e.g. {', '.join(repr(x) for x in c.failure_examples)}); they are left empty.")
    return notes


def _merge_words(m: MergeExample) -> str:
    names = " + ".join(dict.fromkeys(n for n in m.names if n)) or "rows"
    rows = ", ".join(str(r) for r in m.row_numbers)
    return f"{names} (rows {rows}, same {m.by})"


__all__ = ["IcpError", "Workspace"]
