"""The whole workflow without the app: files in, contract files out (`icp build`, `icp score`).

Everything is written into a scratch folder first and moved into the output folder only when all
of it succeeded, so a bad input never leaves half a result behind, nor an output folder it made.
Scratch folders are named for icp.data.scratch to sweep when a run is killed. The modules behind `icp build`
(analysis, charts, PDF) are imported by it alone, so `icp score` starts quickly.
"""

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from icp import cells, normalize
from icp.data import scratch
from icp.data.ingest import auto_roles, build_normalized, plan_columns, resolve_mapping
from icp.data.reader import read_into
from icp.data.workspace import Workspace
from icp.errors import IcpError, InputFileError
from icp.limits import Limits
from icp.profile.model import ICP, parse_icp
from icp.profile.scoring import columns_read
from icp.relation import Relation

# `--segment-by` takes role names; numbers segment by their bands.
_BAND_OF = {"employees": "size_band", "revenue": "revenue_band"}


@contextmanager
def scratch_workspace(files: Mapping[str, str | Path | None],
                      mapping: Mapping[str, Mapping[str, str | None]] | None = None,
                      label_merges: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> Iterator[Workspace]:
    """A throw-away workspace holding the given lists, in its own folder (never the user's);
    `mapping` fixes roles per list, and `label_merges` merges category labels per list and column
    as the Data page does (see icp.data.mapping)."""
    mapping, label_merges = mapping or {}, label_merges or {}
    unused = sorted(set(mapping) - {kind for kind, path in files.items() if path is not None})
    if unused:
        raise IcpError(f"--map/--mapping: no {unused[0]} file was given to apply its mapping to.")
    unmerged = sorted(set(label_merges) - {kind for kind, path in files.items() if path is not None})
    if unmerged:
        raise IcpError(f"--mapping: no {unmerged[0]} file was given to apply its label merges to.")
    with scratch.folder("build") as folder:
        workspace = Workspace.create("icp build", folder=folder)
        for kind, path in files.items():
            if path is None:
                continue
            if not Path(path).exists():
                raise InputFileError(str(path), "does not exist.")
            report = workspace.add_list(kind, path, display_name=str(path), mapping=mapping.get(kind))
            if merges := {column: dict(m) for column, m in label_merges.get(kind, {}).items() if m}:
                missing = sorted(set(merges) - {c.source for c in report.columns})
                if missing:
                    raise InputFileError(str(path), f"has no column named '{missing[0]}' (its labels are merged "
                                                    "in the mapping's label_merges).")
                # As the Data page's merge does: the list normalized again with the labels merged.
                workspace.set_mapping(kind, {}, label_merges=merges)
        yield workspace


def read_icp(path: str | Path) -> ICP:
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise InputFileError(str(path), f"cannot be read ({err.strerror or err}).") from err
    return parse_icp(text, str(path))


@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A scratch folder in `out`; its files replace those in `out` only if the block succeeds. A
    block that fails leaves no folder this made: a refused run leaves nothing at all."""
    out = Path(out)
    made = next((p for p in reversed([out, *out.parents]) if not p.exists()), None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(str(out), f"cannot be used as the output folder ({err.strerror or err}).") from err
    scratch.sweep_stages(out)
    stage = out / scratch.stage_name()
    try:
        with scratch.folder("stage") as notes:
            scratch.note_stage(notes, stage, made)
            stage.mkdir()
            try:
                yield stage
                for item in stage.iterdir():
                    os.replace(item, out / item.name)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        scratch.remove_empty(out, made)
        raise


def _dimensions(workspace: Workspace, segment_by: list[str] | None) -> list[str]:
    """The segment dimensions asked for (role names, column names or headers as the file writes
    them), else industry and size band where present."""
    from icp import analysis
    from icp.data.roles import ROLE_BY_NAME, header_key

    options = [a.name for a in analysis.segment_options(workspace)]
    if not segment_by:
        present = [d for d in ("industry", "size_band") if d in options]
        return present or options[:1]
    report = workspace.lists().get("customers") or workspace.lists().get("orders")
    aliases: dict[str, str] = {}
    for column in report.columns if report else ():
        name = _BAND_OF.get(column.name, column.name)
        for spelling in (column.source, column.name, ROLE_BY_NAME[column.role].label if column.role else None):
            if spelling:
                aliases.setdefault(header_key(spelling), name)
    if not 1 <= len(segment_by) <= 3 or len({header_key(asked) for asked in segment_by}) != len(segment_by):
        raise IcpError(f"--segment-by: pick one to three different dimensions (got {', '.join(segment_by)}).")
    wanted = []
    for asked in segment_by:
        asked = asked.strip()
        name = _BAND_OF.get(asked, asked)
        if name not in options:
            name = aliases.get(header_key(asked), name)
        wanted.append(name)
    unknown = [asked.strip() for asked, name in zip(segment_by, wanted, strict=True) if name not in options]
    if unknown:
        raise IcpError(f"--segment-by: the customers have no {', '.join(unknown)} to segment by; "
                       f"choose from {', '.join(sorted(options))}.")
    if len(set(wanted)) != len(wanted):
        raise IcpError(f"--segment-by: {', '.join(segment_by)} name one dimension twice; pick one to three "
                       "different dimensions.")
    return wanted


def _market(workspace: Workspace, icp: ICP) -> dict:
    """market.json; without a universe or typed counts the sizes are unknown (null), and say why."""
    from icp.market.sizing import market_json, market_size

    try:
        return market_json(market_size(workspace, icp))
    except IcpError as err:
        unknown = {"accounts": None, "value": None}
        return {"tam": unknown, "sam": unknown, "som": unknown, "assumptions": {"note": str(err)}}


_NO_OUTCOME = ("has no outcome column to measure success by (ARR, churn, NPS, ...): give one its role, e.g. "
               "--map customers:COLUMN=arr.")


def build(files: Mapping[str, str | Path | None], out: str | Path, *, settings: str | Path | None = None,
          segment_by: list[str] | None = None, warnings: list[str] | None = None,
          mapping: Mapping[str, Mapping[str, str | None]] | None = None,
          links: list[tuple[str, str, str]] = (), scales: list[tuple[str, str, float]] = (),
          label_merges: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> dict[str, Path]:
    """Run the workflow with defaults (or a saved ICP's settings) and write the contract files to `out`.
    What the user should know about the result (no ICP yet, a criterion the universe lacks, a
    suspected unit, no attribute to segment by) is appended to `warnings`. `links` and `scales`
    (list, column, attribute or factor) carry criteria to the universe and targets lists;
    `label_merges` (list -> column -> {label: label kept}) merges category labels as the Data page does."""
    from icp import analysis
    from icp.analysis.segments import CSV_MEASURES, segments_csv
    from icp.analysis.success import default_settings
    from icp.export.pdf import one_pager
    from icp.export.tables import segments_csv_text, targets_csv, targets_xlsx
    from icp.market.sizing import no_icp_yet, no_must_warning
    from icp.market.targets import contract_columns, targets_export
    from icp.profile.carry import carry_report, spellings, with_links
    from icp.profile.carry import warnings as carry_warnings
    from icp.profile.draft import draft_icp
    from icp.profile.scoring import scoring_sql

    saved = read_icp(settings) if settings else None
    with scratch_workspace(files, mapping, label_merges) as workspace, _staged(Path(out)) as stage:
        if saved is None:
            success = default_settings(workspace)
            if not success.criteria:
                raise InputFileError(str(files["customers"]), _NO_OUTCOME)
        icp = saved or draft_icp(workspace, success)
        if links or scales:
            lists = workspace.lists()
            source = lists.get("customers") or lists.get("orders")
            icp = with_links(icp, list(links), list(scales),
                             {kind: spellings(lists[kind].columns) for kind in ("universe", "targets") if kind in lists},
                             spellings(source.columns) if source else None)
        told = [no_icp_yet(icp), no_must_warning(icp)] + carry_warnings(carry_report(workspace, icp))
        deals = workspace.lists().get("deals")
        told += [f"{deals.file}: {note}" for note in (deals.notes if deals else ()) if note.startswith("No deal stage")]
        if warnings is not None:
            warnings += [w for w in told if w]
        dims = list(icp.segments.dimensions) if saved and not segment_by else _dimensions(workspace, segment_by)
        options = {a.name for a in analysis.segment_options(workspace)}
        if saved and not segment_by and not set(dims) <= options:
            if warnings is not None:
                warnings.append(f"segments.csv: the saved ICP's segment dimensions ({', '.join(dims)}) are not "
                                "in these customers; the default ones are used.")
            dims = _dimensions(workspace, None)
        icp = icp.model_copy(update={"segments": icp.segments.model_copy(update={"dimensions": tuple(dims)})})
        if dims:
            segments = segments_csv(analysis.rule_segments(workspace, icp.success, dims, icp.segments.weights))
        else:
            segments = pd.DataFrame(columns=CSV_MEASURES)
            if warnings is not None:
                warnings.append("segments.csv: the customers have no attribute to segment by "
                                "(every column is a name, id, contact detail or free text); it holds no rows.")
        written = {
            "icp.json": icp.model_dump_json(indent=2),
            "segments.csv": segments_csv_text(segments),
            "market.json": json.dumps(_market(workspace, icp), indent=2),
            "scoring.sql": scoring_sql(icp, "duckdb"),
        }
        for name, text in written.items():
            (stage / name).write_text(text, encoding="utf-8")
        targets = targets_export(workspace, icp, numbers_read=True)
        (stage / "targets.csv").write_bytes(targets_csv(contract_columns(targets)))
        (stage / "targets.xlsx").write_bytes(targets_xlsx(targets, icp))
        (stage / "icp.pdf").write_bytes(one_pager(workspace, icp))
    return {name: Path(out) / name for name in [*written, "targets.csv", "targets.xlsx", "icp.pdf"]}


def score_file(icp_path: str | Path, accounts: str | Path, out: str | Path,
               mapping: Mapping[str, str | None] | None = None, *, links: list[tuple[str, str, str]] = (),
               scales: list[tuple[str, str, float]] = (), warnings: list[str] | None = None) -> Path:
    """Score any account file with a saved ICP into a targets.csv.

    The file is the one `icp build` writes for the same accounts given as a targets list
    (`targets_export`, then `targets_csv`), byte for byte, made the short way: the accounts are
    read as a workspace reads a list (same reader, limits, roles, normalization and merging of
    duplicate accounts) into a throw-away in-memory database, but only the columns the ICP and the
    account key read are normalized and nothing is stored, and DuckDB writes the CSV itself.
    """
    icp = read_icp(icp_path)
    out = Path(out)
    path, display = Path(accounts), str(accounts)
    if not path.exists():
        raise InputFileError(display, "does not exist.")
    with scratch.folder("score") as folder, _staged(out.parent) as stage:
        con = duckdb.connect(config=scratch.duckdb_config(_SCORE_MEMORY, folder))
        try:
            con.execute("SET enable_progress_bar = false")
            normalize.install(con)
            from icp.market.sizing import no_icp_yet
            from icp.profile.carry import resolve
            from icp.profile.carry import warnings as carry_warnings

            icp = _scorable_targets(con, path, display, icp, mapping, links, scales)
            if warnings is not None:
                told = [no_icp_yet(icp)] + carry_warnings(resolve(con, icp, Relation.of_table("targets"), "targets", measure=True))
                warnings += [w.replace("Targets:", f"{display}:", 1) for w in told if w]
            _write_targets_csv(con, icp, stage / out.name)
        finally:
            con.close()
    return out


_RAW = "_incoming"
# DuckDB's memory for `icp score` unless ICP_MEMORY_LIMIT says otherwise: past it, the file's rows
# spill to the scratch folder, so a file of any size runs in about this much and the process's own.
_SCORE_MEMORY = "600MB"


# The columns deriving others, which a criterion reading only the derived one still needs.
_DERIVED_FROM = {"size_band": "employees", "employees_band": "employees", "revenue_band": "revenue",
                 "name_key": "account_name"}


def _scorable_targets(con: duckdb.DuckDBPyConnection, path: Path, display: str, icp: ICP,
                      mapping: Mapping[str, str | None] | None = None, links=(), scales=()) -> ICP:
    """Put the file's rows as text in temp table _incoming, and its accounts in table `targets`:
    what Workspace.add_list stores for a targets list, with only the columns scoring reads; return
    the ICP with the user's `links` and `scales` for this file (see icp.carry.with_links) in its carry."""
    from icp.profile.carry import _key, linkable_columns, with_links

    read = read_into(con, _RAW, path, display_name=display, limits=Limits.from_env())
    # The columns that decide which rows are one account, as a workspace decides it.
    needed = set(columns_read(icp)) | {"domain", "account_name", "account_id", "country", "state", "city", "industry"}
    needed |= {_DERIVED_FROM[name] for name in needed if name in _DERIVED_FROM}
    try:
        automatic, profiles = auto_roles(con, _RAW, read.columns, "targets")
        roles, choices = resolve_mapping(read.columns, "targets", automatic, mapping, display)
        plans = plan_columns(con, _RAW, read.columns, roles, only=needed, profiles=profiles, choices=choices)
        if links or scales:
            names = {text: p.name for p in plans for text in (p.source, p.name, _key(p.source), _key(p.name))}
            icp = with_links(icp, list(links), list(scales), {"targets": names})
        linked = {link.column for link in icp.carry if link.list == "targets" and link.column}
        if not linked <= needed:
            needed |= linked
            plans = plan_columns(con, _RAW, read.columns, roles, only=needed, profiles=profiles, choices=choices)
        if not set(columns_read(icp)) <= {p.name for p in plans}:
            # A criterion the file names otherwise: icp.carry links it to a column only if that
            # column's name is close to the criterion's, so those columns are built too (a
            # column's plan and values do not depend on which others are built), and no others.
            needed |= linkable_columns(icp, [p.name for p in plans])
            plans = plan_columns(con, _RAW, read.columns, roles, only=needed, profiles=profiles, choices=choices)
        build_normalized(con, _RAW, "targets", "targets", [p for p in plans if p.name in needed],
                         reports=False, ordered=False, derived=needed)
    except duckdb.Error as err:  # as Workspace.add_list says it
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputFileError(display, f"could not be normalized ({first}).") from err
    return icp


def _write_targets_csv(con: duckdb.DuckDBPyConnection, icp: ICP, out: Path) -> None:
    """targets.csv from the accounts in `con` (see `score_file`); through pandas when a column is
    not text, as the exports write it."""
    from icp.data.catalog import query_columns
    from icp.export.tables import targets_csv
    from icp.market.targets import _export_sql, _source, safe_columns, targets_csv_sql

    raw = Relation.of_table(_RAW)
    found = targets_csv_sql(con, icp, raw, safe_columns(con, raw))
    if found is None:
        frame = con.execute(_export_sql(con, icp, _source(con), raw, query_columns(con, raw))).df()
        out.write_bytes(targets_csv(frame))
        return
    sql, names, params = found
    # The header as pandas writes it (csv module, minimal quoting, CRLF), then the rows by DuckDB
    # with the same quoting: a cell is quoted when it holds a comma, a quote or a line break.
    header = [cells.neutralize(name) for name in names]
    line = io.StringIO(newline="")
    csv.writer(line, lineterminator="\r\n").writerow(header)
    named = "SELECT " + ", ".join(f"c{i} AS {normalize.quote_ident(h)}" for i, h in enumerate(header)) + f" FROM ({sql})"
    # DuckDB writes the header itself where it writes these names as the csv module does (tried
    # on no rows first): that spares copying the whole file behind a header written apart.
    if _copy(con, f"{named} LIMIT 0", out, True, params) and out.read_bytes() == line.getvalue().encode():
        _copy(con, named, out, True, params)
        return
    out.write_bytes(line.getvalue().encode())
    rows = out.with_name(out.name + ".rows")
    _copy(con, sql, rows, False, params)
    with open(out, "ab") as target, open(rows, "rb") as source:
        shutil.copyfileobj(source, target, 2**20)
    rows.unlink()


def _copy(con: duckdb.DuckDBPyConnection, sql: str, out: Path, header: bool, params: dict | None = None) -> bool:
    """COPY the rows of `sql` (binding `params`) to a CSV file quoted as targets.csv is; False when
    DuckDB will not take the column names of a header."""
    try:
        con.execute(f"COPY ({sql}) TO '{_sql_text(str(out))}' (FORMAT csv, HEADER {str(header).lower()}, "
                    "DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\r\n', COMMENT '')", params)
    except duckdb.Error:
        if header:
            return False
        raise
    return True


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
