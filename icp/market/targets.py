"""Targets: which accounts to sell to next, scored and tiered by the ICP, paged for the screen,
exported for a CRM, and a backtest of whether the ICP's score predicts success at all.

Scores, filters, sorting and paging are SQL over the workspace, so the rows of a universe of a
million accounts never leave DuckDB; only one page, four tier counts or a small score histogram
do. Tier counts and the page sorted by fit score come from the combinations of criteria the
accounts pass (one yes/no per account and criterion, found by DuckDB and remembered while the
data is unchanged, market.combinations): a slider on a tier threshold scores a few dozen
combinations, not a million accounts.
"""

from collections.abc import Collection
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from icp import cells
from icp.data.catalog import columns_of, query_columns, registered, rows_of, stamp
from icp.data.ingest import merged_rows_table
from icp.data.links import CUSTOMER_VIEW
from icp.data.memo import remembered
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.frozen import Frozen
from icp.market.combinations import (
    Combinations,
    _not_customers_mask,
    _table_rows,
    combinations,
    counted,
    customers_scored,
    hides_rowid,
    not_customers,
    scored,
)
from icp.market.sizing import no_icp_yet
from icp.normalize import quote_ident as _q
from icp.numbers import percent
from icp.profile.carry import carried
from icp.profile.model import ICP, TIERS, TierRules, describe
from icp.relation import Relation

ICP_COLUMNS = ("icp_fit_score", "icp_tier", "icp_reasons")
_NO_ACCOUNTS = "There are no accounts to score: upload a targets, universe or customer list on the Data page."
_PAGE = "_icp_page"
_PAGE_ROWS = "_icp_page_rows"
# Below this many best customers a backtest is a direction, not a measurement (as on the Patterns page).
_DIRECTIONAL_BELOW = 30
_GOOD_AUC = 0.6
_GOOD_LIFT = 1.2


class _Source(NamedTuple):
    kind: str  # the list whose uploaded rows the export shows
    relation: str  # the table or view the accounts come from (account_key is unique in it)
    sql: str  # parenthesized subquery of those accounts (with _row and account_key)


# -- which accounts ---------------------------------------------------------------------------------

def _customer_relation(con: duckdb.DuckDBPyConnection) -> str | None:
    """The customers' account table: the list itself, else the view rolled up from orders."""
    if columns_of(con, "customers"):
        return "customers"
    return CUSTOMER_VIEW if columns_of(con, CUSTOMER_VIEW) else None


def _source(con: duckdb.DuckDBPyConnection) -> _Source:
    if columns_of(con, "targets"):
        return _Source("targets", "targets", rows_of("targets"))
    customers = _customer_relation(con)
    if columns_of(con, "universe"):
        sql = rows_of("universe") if customers is None else not_customers(con, customers)
        return _Source("universe", "universe", sql)
    if customers is None:
        raise IcpError(_NO_ACCOUNTS)
    # Customers rolled up from orders alone export the first order row of each account.
    return _Source("customers" if customers == "customers" else "orders", CUSTOMER_VIEW, rows_of(CUSTOMER_VIEW))


def target_list(workspace: Workspace) -> str:
    """The list whose accounts are the targets: targets, universe, customers or orders."""
    with workspace.connect() as con:
        return _source(con).kind


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """count(*) of `sql`, remembered while the data is unchanged: the Targets caption, the Export
    page's CRM notes (two, each asking) and the one-pager count the same accounts."""
    return remembered(con, ("count", str(sql)), lambda: con.execute(f"SELECT count(*) FROM {sql}").fetchone()[0])


def _targets_count(con: duckdb.DuckDBPyConnection, source: _Source) -> int:
    """How many target accounts: the universe minus the customers is the mask the tiers are counted
    with (one anti-join per data version, market.combinations), else counted."""
    customers = _customer_relation(con) if source.kind == "universe" else None
    here = stamp(con) if customers is not None else None
    rows = None if here is None else _table_rows(con, here, "universe")
    if rows is None:
        return _count(con, source.sql)
    return int(_not_customers_mask(con, here, customers, rows).sum())


def target_source(workspace: Workspace) -> tuple[Relation, str]:
    """(SQL source, description for the page): the targets list; else the universe minus existing
    customers; else the customers themselves, so one file is enough."""
    with workspace.connect() as con:
        source = _source(con)
        n = _targets_count(con, source)
        if source.kind == "targets":
            return source.sql, f"{n:,} accounts in the targets list"
        if source.kind == "universe":
            if _customer_relation(con) is None:
                return source.sql, f"{n:,} universe accounts (there is no customer list to leave out)"
            universe = _count(con, "universe")
            return source.sql, (f"{n:,} universe accounts that are not customers yet "
                                f"({universe - n:,} of the {universe:,} are customers)")
        return source.sql, f"{n:,} customers: there is no targets or universe list, so the customers themselves are scored"


# -- tiers and pages ---------------------------------------------------------------------------------

def _carried(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source) -> ICP:
    """The ICP reading the target list's own columns, in its units (icp.carry)."""
    return carried(con, icp, Relation.of_table(source.relation), source.kind)


def _combinations(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source) -> Combinations | None:
    """The target accounts by the combination of criteria they pass (market.combinations); None
    when they cannot be had that way (capacity mode, customers rolled up from orders, ...)."""
    if source.kind == "targets":
        return combinations(con, icp, "targets")
    if source.kind == "universe":
        return combinations(con, icp, "universe", not_customers_of=_customer_relation(con))
    return None


def _in_file_order(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the table's rows are stored in file order (rowid order is _row order), as ingest
    writes every list."""
    if hides_rowid(con, table):
        return False
    return remembered(con, ("file_order", table), lambda: con.execute(
        f"SELECT count(*) FROM (SELECT _row, lag(_row) OVER (ORDER BY rowid) AS before FROM {_q(table)}) "
        "WHERE _row <= before").fetchall()[0][0] == 0)


def _page_by_score(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source, tiers: list[str] | None,
                   descending: bool, offset: int, limit: int) -> tuple[pa.Table, int] | None:
    """(the rowids of the page's accounts, how many accounts match) for a page sorted by fit score,
    picked from the remembered combinations of passed criteria (market.combinations) instead of
    scoring and sorting every account: the accounts of each score, in file order, are the order
    `targets_page` sorts by (score, then _row). None when that cannot be done."""
    found = _combinations(con, icp, source)
    if found is None or not _in_file_order(con, source.kind):
        return None
    wanted = found.scored if tiers is None else found.scored[found.scored["icp_tier"].isin(tiers)]
    total = int(wanted["n"].sum())
    levels = wanted.groupby("icp_fit_score")["n"].sum().sort_index(ascending=not descending)
    picked, start = [], 0
    for score, n in levels.items():
        if start >= offset + limit:
            break
        end = start + int(n)
        if end > offset:
            codes = wanted.loc[wanted["icp_fit_score"] == score, "code"].to_numpy()
            here = np.isin(found.codes, codes)
            if found.kept is not None:
                here &= found.kept
            rowids = np.flatnonzero(here)
            if len(rowids) != n:
                return None
            picked.append(rowids[max(offset - start, 0):min(offset + limit, end) - start])
        start = end
    rowids = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return pa.table({"r": pa.array(rowids, pa.int64())}), total


# Not a fit for want of data is counted apart from not a fit (its tier in targets.csv is 'Not a fit').
INSUFFICIENT = "Insufficient data"
TIER_ROWS = (*TIERS, INSUFFICIENT)


def _tier_rows(workspace: Workspace, icp: ICP) -> list[tuple[str, bool, bool, int]]:
    """(tier, in SAM, insufficient data, accounts) over the target accounts."""
    empty = no_icp_yet(icp)
    if empty is not None:
        raise IcpError(empty)
    with workspace.connect() as con:
        source = _source(con)
        icp = _carried(con, icp, source)
        found = _combinations(con, icp, source)
        if found is None:
            return [(str(t), bool(s), bool(short), int(n)) for t, s, short, n in con.execute(
                f"SELECT icp_tier, icp_in_sam, icp_insufficient, count(*) FROM {scored(con, icp, source.sql)} "
                "GROUP BY ALL").fetchall()]
        return [(tier, in_sam, short, n) for (tier, in_sam, short), n in counted(found).items()]


def tier_limit(workspace: Workspace, icp: ICP) -> str | None:
    """What caps the tiers, when a tier control can change nothing: Tier 1 sized to a capacity
    larger than SAM (only SAM accounts are tiered), or thresholds over a SAM where every account
    scores the same (no nice criterion to rank them by). None when the controls do what they say."""
    return _limit(icp, _tier_rows(workspace, icp))


def tier_summary(workspace: Workspace, icp: ICP) -> tuple[pd.DataFrame, str | None]:
    """`tier_counts` and `tier_limit` from one count of the tiers."""
    rows = _tier_rows(workspace, icp)
    return _counts(rows), _limit(icp, rows)


def _limit(icp: ICP, rows: list[tuple[str, bool, bool, int]]) -> str | None:
    # A SAM account meeting no criterion at all scores 0 and is never tiered (possible only
    # without a must): what Tier 1 can hold is the SAM accounts that are tiered at all.
    in_sam = sum(n for tier, s, _, n in rows if s and tier != "Not a fit")
    one = in_sam == 1
    must = (("meets" if one else "meet") + " every must criterion and no disqualifier" if icp.musts
            else "in SAM " + ("meets" if one else "meet") + " any criterion")
    rules = icp.tiers
    if rules.mode == "capacity" and in_sam < rules.capacity:
        return (f"Tier 1 is capped by SAM: only {in_sam:,} {'account' if in_sam == 1 else 'accounts'} {must}, "
                f"fewer than the capacity of {rules.capacity:,} ({rules.reps:,} reps × {rules.accounts_per_rep:,} "
                "accounts); more reps or accounts per rep change nothing.")
    if rules.mode == "thresholds" and in_sam and not any(c.weight > 0 for c in icp.nices):
        return (f"Every account in SAM ({in_sam:,} that {must}) scores 100: with no nice criterion to rank "
                "them by, the thresholds change nothing. Make a criterion nice on the ICP page to spread the scores.")
    return None


def tier_counts(workspace: Workspace, icp: ICP) -> pd.DataFrame:
    """tier, accounts, share: the four tiers and "Insufficient data" (accounts that are not a fit
    only because a must criterion's value is unknown, left out of "Not a fit"), in order, zero
    where none."""
    return _counts(_tier_rows(workspace, icp))


def _counts(tier_rows: list[tuple[str, bool, bool, int]]) -> pd.DataFrame:
    rows = [(tier, short, n) for tier, _, short, n in tier_rows]
    counts: dict[str, int] = {}
    for tier, short, n in rows:
        row = INSUFFICIENT if short else tier
        counts[row] = counts.get(row, 0) + int(n)
    frame = pd.DataFrame({"tier": list(TIER_ROWS), "accounts": [int(counts.get(t, 0)) for t in TIER_ROWS]})
    total = frame["accounts"].sum()
    frame["share"] = frame["accounts"] / total if total else 0.0
    return frame


def _page_columns(source_columns: dict[str, str], icp: ICP) -> list[str]:
    shown = [c for c in ("account_name", "domain") if c in source_columns]
    shown += [a for a in dict.fromkeys(c.attribute for c in icp.criteria) if a in source_columns and a not in shown]
    return [*shown, *ICP_COLUMNS, "account_key"]


def _filters(source_columns: dict[str, str], tiers: list[str] | None, search: str | None) -> tuple[str, str, dict]:
    """(WHERE on the accounts, WHERE on their tiers, parameters): the search is applied before
    scoring, so only the accounts it finds are scored; the tier filter after."""
    by_search, by_tier, params = "", "", {}
    if tiers is not None:
        unknown = [t for t in tiers if t not in TIERS]
        if unknown:
            raise IcpError(f"Unknown tier {', '.join(unknown)}; the tiers are {', '.join(TIERS)}.")
        by_tier = "WHERE list_contains($tiers, icp_tier)"
        params["tiers"] = list(tiers)
    if search:
        fields = [c for c in ("account_name", "domain") if c in source_columns] or ["account_key"]
        by_search = "WHERE " + " OR ".join(
            f"contains(lower(coalesce(CAST({_q(f)} AS VARCHAR), '')), lower($search))" for f in fields)
        params["search"] = search
    return by_search, by_tier, params


def targets_page(
    workspace: Workspace,
    icp: ICP,
    *,
    tiers: list[str] | None = None,
    search: str | None = None,
    sort: str = "icp_fit_score",
    descending: bool = True,
    offset: int = 0,
    limit: int = 100,
) -> tuple[pd.DataFrame, int]:
    """One page of scored targets, filtered and ordered in SQL, and how many match in all.

    `search` is a case-insensitive substring of the name or domain (bound, never spliced); ties
    in the sort keep file order, so pages never overlap. The reasons are written for the page's
    accounts only: as text for a million accounts they would cost more than the whole scoring.
    """
    if offset < 0 or limit < 1:
        raise IcpError("A page starts at row 0 or later and shows at least one row.")
    with workspace.connect() as con:
        source = _source(con)
        icp = _carried(con, icp, source)
        source_columns = query_columns(con, source.sql)
        columns = _page_columns(source_columns, icp)
        sortable = [c for c in columns if c != "icp_reasons"]
        if sort not in sortable:
            raise IcpError(f"Cannot sort by '{sort}'; sort by one of: {', '.join(sortable)}.")
        by_search, by_tier, params = _filters(source_columns, tiers, search)
        order = f"{_q(sort)} {'DESC' if descending else 'ASC'} NULLS LAST, _row, account_key"
        fast = None if search or sort != "icp_fit_score" else _page_by_score(
            con, icp, source, tiers, descending, offset, limit)
        if fast is not None:
            return _scored_rows(con, icp, source, columns, order, *fast)
        return _filtered_page(con, icp, source, columns, order, by_search, by_tier,
                              params | {"limit": limit, "offset": offset})


def _scored_rows(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source, columns: list[str], order: str,
                 rowids: pa.Table, total: int) -> tuple[pd.DataFrame, int]:
    """The page of accounts `rowids`, scored with their reasons, in the page's order. The rowids are
    a relation of this connection, so the query's text, and the work of writing it, is the same for
    every page."""
    with registered(con, _PAGE_ROWS, rowids):
        page = Relation.of_query(f"SELECT * FROM {_q(source.kind)} WHERE rowid IN (SELECT r FROM {_PAGE_ROWS})")
        frame = con.execute(f"""
            SELECT {', '.join(_q(c) for c in columns)} FROM {scored(con, icp, page, reasons=True)}
            ORDER BY {order}""").df()
    return frame, total


def _filtered_page(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source, columns: list[str], order: str,
                   by_search: str, by_tier: str, params: dict) -> tuple[pd.DataFrame, int]:
    """A page of the accounts a search or tier filter keeps, in any order, and how many it keeps."""
    sortable = [c for c in columns if c != "icp_reasons"]
    # The scored accounts are materialized once for the count and the page: a tier filter
    # pushed down into the scoring would evaluate the score a second time, twice the cost.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_PAGE} AS
        WITH m AS MATERIALIZED (
            SELECT {', '.join(_q(c) for c in sortable)}, _row
            FROM {scored(con, icp, source.sql)} {by_search}),
        f AS (SELECT * FROM m {by_tier})
        SELECT *, row_number() OVER (ORDER BY {order}) AS _pos
        FROM (SELECT *, (SELECT count(*) FROM f) AS _total FROM f ORDER BY {order} LIMIT $limit OFFSET $offset)""",
                params)
    shown = Relation.of_query(f"SELECT * FROM {_q(source.relation)} "
                              f"WHERE account_key IN (SELECT account_key FROM {_PAGE})")
    reasons = scored(con, icp, shown, reasons=True)
    shown = ", ".join("r.icp_reasons" if c == "icp_reasons" else f"p.{_q(c)}" for c in columns)
    frame = con.execute(f"""
        SELECT {shown}, p._total FROM {_PAGE} AS p LEFT JOIN ({reasons}) AS r ON r.account_key = p.account_key
        ORDER BY p._pos""").df()
    if len(frame):
        total = int(frame["_total"].iloc[0])
    elif params["offset"] == 0:
        total = 0
    else:
        # A page past the end has no row to carry the total.
        filters = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        total = con.execute(f"""
            SELECT count(*) FROM (SELECT icp_tier FROM {scored(con, icp, source.sql)} {by_search}) {by_tier}""",
                            filters).fetchone()[0]
    return frame.drop(columns="_total"), total


# -- export -----------------------------------------------------------------------------------------

def targets_export(workspace: Workspace, icp: ICP, *, numbers_read: bool = False) -> pd.DataFrame:
    """The `targets.csv` contract: the uploaded columns unchanged (original headers, file order),
    then icp_fit_score, icp_tier and icp_reasons; best score first, then file order.

    The cells are the data's own: the writers (icp.export.tables) neutralize them as they write.
    Score columns in the input (a targets.csv scored before) are replaced by the new ones.

    `numbers_read` adds, after the contract columns, "<header> as a number" for each column a
    range criterion reads whose cells are not all plain numbers ("974.8 MM", "51-200"): the number
    the ICP compared with its bounds, so a reader of targets.xlsx sees why an account passed.
    `contract_columns` drops them again.
    """
    with workspace.connect() as con:
        source = _source(con)
        raw = Relation.of_table("raw_" + source.kind)
        read = _numbers_read(con, icp, source, raw, workspace) if numbers_read else []
        return con.execute(_export_sql(con, icp, source, raw, columns_of(con, f"raw_{source.kind}"), read)).df()


def contract_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A `targets_export` frame without the optional columns after icp_reasons."""
    return frame.loc[:, :"icp_reasons"]


def _numbers_read(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source, raw: Relation,
                  workspace: Workspace) -> list[tuple[str, str]]:
    """(header, expression over the scored accounts `s`) of the numbers the range criteria read from
    columns written as text in the file."""
    headers = {c.name: c.source for c in workspace.report(source.kind).columns}
    raw_columns = columns_of(con, f"raw_{source.kind}")
    taken = set(raw_columns) | set(ICP_COLUMNS)
    found = []
    for attribute in dict.fromkeys(c.attribute for c in _carried(con, icp, source).criteria if c.kind == "range"):
        header = headers.get(attribute)
        if header is None or header not in raw_columns or f"{header} as a number" in taken:
            continue
        written_as_text = con.execute(
            f"SELECT count(*) FROM {raw} WHERE nullif(trim({_q(header)}), '') IS NOT NULL "
            f"AND NOT regexp_full_match(trim({_q(header)}), '[+-]?[0-9]+([.][0-9]+)?') LIMIT 1").fetchone()[0]
        if written_as_text:
            found.append((f"{header} as a number", f"s.{_q(attribute)}"))
    return found


def _uploaded_rows(con: duckdb.DuckDBPyConnection, source: _Source, raw: Relation) -> tuple[Relation, str]:
    """(the uploaded rows, the column of each naming its account's first row): every row of the
    file comes out of an export, a merged duplicate with its account's score, not only one row
    per account. Customers rolled up from orders give one row (the first order) per account."""
    merged = merged_rows_table(source.kind)
    if source.kind == "orders" or not columns_of(con, merged):
        return raw, "_row"
    return (Relation.of_query(f"SELECT r.*, coalesce(m.account_row, r._row) AS _account_row FROM {raw} AS r "
                              f"LEFT JOIN {_q(merged)} AS m USING (_row)"), "_account_row")


def _export_picks(raw_columns: dict[str, str]) -> list[tuple[str, str]]:
    """(name, expression) of the targets.csv columns: the uploaded ones, then the three scores."""
    picks = [(name, f"r.{_q(name)}") for name in raw_columns
             if name not in ("_row", "_account_row") and name.casefold() not in ICP_COLUMNS]
    return [*picks, ("icp_fit_score", "s.icp_fit_score"), ("icp_tier", "s.icp_tier"),
            ("icp_reasons", "s.icp_reasons")]


def _export_sql(con: duckdb.DuckDBPyConnection, icp: ICP, source: _Source, raw: Relation,
                raw_columns: dict[str, str], extra: list[tuple[str, str]] = ()) -> str:
    icp = _carried(con, icp, source)
    picks = ", ".join(f"{expr} AS {_q(name)}" for name, expr in [*_export_picks(raw_columns), *extra])
    rows, account_row = _uploaded_rows(con, source, raw)
    return f"""
        SELECT {picks}
        FROM {scored(con, icp, source.sql, reasons=True)} AS s
        JOIN {rows} AS r ON r.{account_row} = s._row
        ORDER BY s.icp_fit_score DESC, r._row"""


def _csv_cell(expr: str) -> str:
    """A text cell of targets.csv as icp.export.tables.targets_csv writes it: neutralized (icp.cells), and
    empty as missing (pandas writes both as nothing)."""
    return f"nullif({cells.sql(expr)}, '')"


_SAID = "_icp_said"  # temp table of targets_csv_sql: each (tier, reasons) the accounts have, numbered


def targets_csv_sql(con: duckdb.DuckDBPyConnection, icp: ICP, raw: Relation,
                    safe: Collection[str] = ()) -> tuple[str, list[str], dict[str, list]] | None:
    """(the rows of targets.csv as text cells, ready for COPY ... TO CSV, the header's column names,
    and the values the query binds) for the targets of `con`, whose uploaded rows are in table `raw`
    (`_row` and text columns); None when a column is not text (only a text cell has a SQL twin of
    the exports).
    The `safe` columns of `raw` hold no cell the neutralizing rule changes (`safe_columns`): their
    cells are written as they are, without searching each one.

    The accounts have few different tiers and reasons (one per combination of criteria met, missed
    or unknown), numbered here in temp table _icp_said: the rows are sorted carrying that number,
    not the reasons' text (often longer than the rest of the row), which is looked up in the bound
    lists only as each row is written: the sort moves and holds a number instead of the reasons'
    text (on the bench's universe, about half of each written row)."""
    source = _source(con)
    icp = _carried(con, icp, source)
    raw_columns = query_columns(con, raw)
    if any(kind != "VARCHAR" for name, kind in raw_columns.items() if name != "_row"):
        return None
    picks = _export_picks(raw_columns)
    said = {"icp_tier": "list_extract($icp_tiers, _said)", "icp_reasons": "list_extract($icp_reasons, _said)"}
    inner = ", ".join(f"{expr} AS c{i}" for i, (name, expr) in enumerate(picks) if name not in ICP_COLUMNS)
    plain = {name for name in safe if name in raw_columns}
    texts = ", ".join(f"{_csv_plain_cell(icp, name, said.get(name, f'c{i}'), plain) or _csv_cell(said.get(name, f'c{i}'))}"
                      f" AS c{i}" for i, (name, _) in enumerate(picks))
    rows, account_row = _uploaded_rows(con, source, raw)
    scores = scored(con, icp, source.sql, reasons=True)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_SAID} AS
        SELECT row_number() OVER (ORDER BY icp_tier, icp_reasons) AS _said, icp_tier, icp_reasons
        FROM (SELECT DISTINCT icp_tier, icp_reasons FROM {scores})""")
    numbered = con.execute(f"SELECT list(icp_tier ORDER BY _said), list(icp_reasons ORDER BY _said) FROM {_SAID}"
                           ).fetchone()
    score = next(i for i, (name, _) in enumerate(picks) if name == "icp_fit_score")
    sql = f"""
        SELECT {texts} FROM (
            SELECT {inner}, k.icp_fit_score AS c{score}, k._said, r._row AS _order
            FROM (SELECT s._row, s.icp_fit_score, d._said FROM {scores} AS s JOIN {_SAID} AS d
                  ON d.icp_tier IS NOT DISTINCT FROM s.icp_tier AND d.icp_reasons IS NOT DISTINCT FROM s.icp_reasons
                  ) AS k
            JOIN {rows} AS r ON r.{account_row} = k._row
            ORDER BY k.icp_fit_score DESC, _order)"""
    return sql, [name for name, _ in picks], {"icp_tiers": numbered[0] or [], "icp_reasons": numbered[1] or []}


def safe_columns(con: duckdb.DuckDBPyConnection, raw: Relation) -> set[str]:
    """The text columns of the uploaded rows `raw` none of whose cells the neutralizing rule changes,
    found in one scan."""
    columns = [name for name, kind in query_columns(con, raw).items()
               if name != "_row" and kind == "VARCHAR"]
    if not columns:
        return set()
    tests = [f"bool_or({cells.sql_changes(_q(c))})" for c in columns]
    found = con.execute(f"SELECT {', '.join(tests)} FROM {raw}").fetchone()
    return {column for column, unsafe in zip(columns, found, strict=True) if not unsafe}


def _csv_plain_cell(icp: ICP, name: str, expr: str, plain: set[str]) -> str | None:
    """The cell of a column whose text is known to be safe as it is, else None: a `plain` uploaded
    column; the score, a number; the tier, one of four names; the reasons, which start with
    'met', 'missed' or 'disqualified' (or are empty) and join the criteria's words with '; ' and
    ' | ', unless those words are changed by the rule after a '; '."""
    if name in plain:
        return f"nullif({expr}, '')"
    if name == "icp_fit_score":
        return f"CAST({expr} AS VARCHAR)"
    if name == "icp_tier":
        return expr
    if name == "icp_reasons":
        words = [describe(c) for c in icp.criteria] + [c.label for c in icp.criteria]
        if all(cells.neutralize("; " + w) == "; " + w for w in words):
            return f"nullif({expr}, '')"
    return None


# -- backtest ---------------------------------------------------------------------------------------

class CustomerTier(Frozen):
    tier: str
    customers: int
    best_customers: int
    best_share: float | None
    value_mean: float | None  # mean of the success value column (ARR, ...); None without one


class DealTier(Frozen):
    tier: str
    won: int
    lost: int
    win_rate: float | None


class Backtest(Frozen):
    """How well the fit score separates best customers from the rest and won deals from lost ones."""

    customers: tuple[CustomerTier, ...]  # the four tiers, in order
    customers_scored: int  # customers with a value score (the others cannot be best or not)
    best_customers: int
    best_share: float | None
    tier1_lift: float | None  # best share in Tier 1 / overall best share
    customer_auc: float | None  # None when there are no best customers or no others
    deals: tuple[DealTier, ...]
    deals_won: int
    deals_lost: int
    deals_via_customer: int  # closed deals scored by the customer they are linked to
    deals_via_universe: int  # by the universe account with their domain or name
    deals_unscored: int  # closed deals with no account found
    deal_win_rate: float | None
    deal_auc: float | None
    verdict: str


def _auc(frame: pd.DataFrame, positives: str, negatives: str) -> float | None:
    """ROC AUC from a score histogram (score, count of positives, count of negatives): each
    distinct score is weighted by its count, which is exactly the AUC over the accounts."""
    from sklearn.metrics import roc_auc_score  # imported here: `icp score` never loads scikit-learn

    if frame[positives].sum() == 0 or frame[negatives].sum() == 0:
        return None
    scores = np.concatenate([frame["score"], frame["score"]])
    labels = np.concatenate([np.ones(len(frame)), np.zeros(len(frame))])
    weights = np.concatenate([frame[positives], frame[negatives]]).astype(float)
    used = weights > 0
    return float(roc_auc_score(labels[used], scores[used], sample_weight=weights[used]))


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _customer_histogram(con: duckdb.DuckDBPyConnection, icp: ICP) -> pd.DataFrame:
    """Scored customers per (tier, fit score): customers, best, value sum and count."""
    view = columns_of(con, CUSTOMER_VIEW)
    if not view:
        return pd.DataFrame(columns=["tier", "score", "customers", "best", "rest", "value_sum", "value_n"])
    value = icp.success.value_column
    v = f"CAST({_q(value)} AS DOUBLE)" if value in view else "NULL::DOUBLE"
    return con.execute(f"""
        SELECT icp_tier AS tier, icp_fit_score AS score, count(*) AS customers,
            count(*) FILTER (WHERE is_best) AS best, count(*) FILTER (WHERE NOT is_best) AS rest,
            sum({v}) AS value_sum, count({v}) AS value_n
        FROM {customers_scored(con, icp)}
        WHERE value_score IS NOT NULL
        GROUP BY ALL""").df()


def _deal_histogram(con: duckdb.DuckDBPyConnection, icp: ICP) -> pd.DataFrame:
    """Closed deals per (how scored, tier, fit score): won and lost.

    A deal is scored by the customer deal_links ties it to; failing that, by the universe account
    with its domain, else its normalized name (prospects that never bought live in the universe).
    """
    deals = columns_of(con, "deals")
    if "deal_outcome" not in deals:
        return pd.DataFrame(columns=["via", "tier", "score", "won", "lost"])
    customers, universe = columns_of(con, CUSTOMER_VIEW), columns_of(con, "universe")
    ctes = ["closed AS (SELECT * FROM deals WHERE deal_outcome IN ('won', 'lost'))"]
    joins, via, scores, tiers = [], [], [], []
    if customers and columns_of(con, "deal_links"):
        ctes.append(f"fit_c AS {scored(con, icp, rows_of(CUSTOMER_VIEW))}")
        joins.append("LEFT JOIN deal_links l ON l._row = d._row LEFT JOIN fit_c c ON c.account_key = l.account_key")
        via.append("WHEN c.account_key IS NOT NULL THEN 'customer'")
        scores.append("c.icp_fit_score")
        tiers.append("c.icp_tier")
    keys = [k for k in ("domain", "name_key") if k in deals and k in universe]
    registered = []
    if keys:
        # Which universe account each closed deal reaches depends on the data alone: found once
        # per data version (two scans of the universe), then only those accounts are scored. The
        # tiers here are score thresholds (see _tiered_by_score), so a subset scores exactly as
        # the whole would.
        maps, rowids = _deal_accounts(con, keys)
        # Fixed names (relations of this connection alone): the same text for every call.
        registered = [(f"_icp_deal_u{i}", m) for i, m in enumerate(maps)]
        registered.append(("_icp_deal_rows", rowids))
        for name, table in registered:
            con.register(name, table)
        in_universe = carried(con, icp, Relation.of_table("universe"), "universe")
        deal_accounts = Relation.of_query(
            f"SELECT * FROM universe WHERE rowid IN (SELECT r FROM {registered[-1][0]})")
        ctes.append(f"fit_u AS {scored(con, in_universe, deal_accounts)}")
        for i, k in enumerate(keys):
            joins.append(f"LEFT JOIN {registered[i][0]} AS u{i} ON u{i}.k = d.{_q(k)}")
        matched = ", ".join(f"u{i}.account_key" for i in range(len(keys)))
        joins.append(f"LEFT JOIN fit_u u ON u.account_key = coalesce({matched})")
        via.append("WHEN u.account_key IS NOT NULL THEN 'universe'")
        scores.append("u.icp_fit_score")
        tiers.append("u.icp_tier")
    try:
        return con.execute(f"""
            WITH {', '.join(ctes)}
            SELECT {f"CASE {' '.join(via)} END" if via else 'NULL'} AS via,
                {_first_of(tiers)} AS tier, {_first_of(scores)} AS score,
                count(*) FILTER (WHERE d.deal_outcome = 'won') AS won,
                count(*) FILTER (WHERE d.deal_outcome = 'lost') AS lost
            FROM closed d {' '.join(joins)}
            GROUP BY ALL""").df()
    finally:
        for name, _ in registered:
            con.unregister(name)


def _deal_accounts(con: duckdb.DuckDBPyConnection, keys: list[str]) -> tuple[list[pa.Table], pa.Table]:
    """For each key (domain, name_key): the universe account (k, account_key) each closed deal's key
    reaches, the first in file order when several share it; and the rowids of those accounts."""
    def find() -> tuple[list[pa.Table], pa.Table]:
        maps = [con.sql(
            f"SELECT {_q(k)} AS k, arg_min(account_key, _row) AS account_key FROM universe "
            f"WHERE {_q(k)} IN (SELECT {_q(k)} FROM deals WHERE deal_outcome IN ('won', 'lost')) GROUP BY 1"
        ).to_arrow_table() for k in keys]
        reached = pa.concat_arrays([m["account_key"].combine_chunks() for m in maps]).unique()
        rowids = con.sql("SELECT rowid AS r FROM universe WHERE account_key IN (SELECT unnest($keys))",
                         params={"keys": reached.to_pylist()}).to_arrow_table()
        return maps, rowids
    return remembered(con, ("deal_accounts", tuple(keys)), find)


def _first_of(options: list[str]) -> str:
    return f"coalesce({', '.join(options)})" if options else "NULL"


def _customer_part(hist: pd.DataFrame) -> dict:
    by_tier = hist.groupby("tier")[["customers", "best", "rest", "value_sum", "value_n"]].sum()
    tiers = []
    for tier in TIERS:
        row = by_tier.loc[tier] if tier in by_tier.index else None
        n, best = (int(row["customers"]), int(row["best"])) if row is not None else (0, 0)
        tiers.append(CustomerTier(
            tier=tier, customers=n, best_customers=best, best_share=_share(best, n),
            value_mean=_share(float(row["value_sum"]), float(row["value_n"])) if row is not None else None,
        ))
    total, best = int(hist["customers"].sum()), int(hist["best"].sum())
    overall = _share(best, total)
    tier1 = tiers[0].best_share
    by_score = hist.groupby("score", as_index=False)[["best", "rest"]].sum()
    return {
        "customers": tuple(tiers), "customers_scored": total, "best_customers": best, "best_share": overall,
        "tier1_lift": tier1 / overall if tier1 is not None and overall else None,
        "customer_auc": _auc(by_score, "best", "rest"),
    }


def _deal_part(hist: pd.DataFrame) -> dict:
    found = hist[hist["via"].notna()]
    by_tier = found.groupby("tier")[["won", "lost"]].sum()
    tiers = []
    for tier in TIERS:
        won, lost = (int(by_tier.loc[tier, "won"]), int(by_tier.loc[tier, "lost"])) if tier in by_tier.index else (0, 0)
        tiers.append(DealTier(tier=tier, won=won, lost=lost, win_rate=_share(won, won + lost)))
    won, lost = int(found["won"].sum()), int(found["lost"].sum())
    via = hist.assign(deals=hist["won"] + hist["lost"]).groupby("via", dropna=False)["deals"].sum()
    return {
        "deals": tuple(tiers), "deals_won": won, "deals_lost": lost,
        "deals_via_customer": int(via.get("customer", 0)), "deals_via_universe": int(via.get("universe", 0)),
        "deals_unscored": int(hist.loc[hist["via"].isna(), ["won", "lost"]].to_numpy().sum()),
        "deal_win_rate": _share(won, won + lost),
        "deal_auc": _auc(found.groupby("score", as_index=False)[["won", "lost"]].sum(), "won", "lost"),
    }


def _verdict(part: dict) -> str:
    auc, lift, best = part["customer_auc"], part["tier1_lift"], part["best_customers"]
    sentences = []
    if auc is not None:
        if lift is None:
            sentences.append(f"No customer is in Tier 1, so the top tier cannot be checked (AUC {auc:.2f}); "
                             "revisit the criteria or the tier thresholds.")
        elif auc >= _GOOD_AUC and lift >= _GOOD_LIFT:
            sentences.append(f"Tier 1 customers are best customers {lift:.1f}x as often as average "
                             f"(AUC {auc:.2f}): the ICP separates them well.")
        else:
            sentences.append(f"The ICP barely separates best customers from the rest (AUC {auc:.2f}, "
                             f"Tier 1 {lift:.1f}x as often as average); revisit the criteria.")
        if best < _DIRECTIONAL_BELOW:
            sentences.append(f"With only {best} best customers, treat this as directional.")
    deal_auc = part["deal_auc"]
    if deal_auc is not None:
        tier1 = part["deals"][0]
        if deal_auc >= _GOOD_AUC:
            sentences.append(f"Won deals score higher than lost ones (AUC {deal_auc:.2f}).")
        else:
            sentences.append(f"The fit score barely separates won deals from lost ones (AUC {deal_auc:.2f}).")
        if tier1.win_rate is not None:
            sentences.append(f"Tier 1 deals are won {percent(tier1.win_rate)} of the time against "
                             f"{percent(part['deal_win_rate'])} overall.")
    if not sentences:
        return ("There are not enough outcomes to backtest the ICP: it needs best customers and others, "
                "or won and lost deals.")
    return " ".join(sentences)


def _tiered_by_score(con: duckdb.DuckDBPyConnection, icp: ICP) -> ICP:
    """The ICP with Tier 1 as a score threshold. Capacity mode sizes Tier 1 within the accounts it
    is given; applied to the customers, it would make the top N customers Tier 1, which says more
    about the length of the customer list than about the ICP. The lowest Tier 1 score among the
    targets is the line the sales team will actually work to (the Tier 1 threshold when no target
    is in SAM)."""
    if icp.tiers.mode != "capacity":
        return icp
    source = _source(con)
    cutoff = con.execute(
        f"SELECT min(icp_fit_score) FILTER (WHERE icp_tier = 'Tier 1') "
        f"FROM {scored(con, _carried(con, icp, source), source.sql)}"
    ).fetchone()[0]
    rules = icp.tiers
    tier1 = rules.tier1 if cutoff is None else cutoff
    thresholds = rules.model_copy(update={
        "mode": "thresholds", "tier1": tier1, "tier2": min(rules.tier2, tier1), "tier3": min(rules.tier3, tier1)})
    return icp.model_copy(update={"tiers": thresholds})


def backtest(workspace: Workspace, icp: ICP) -> Backtest:
    """Score the customers and the accounts of closed deals with the ICP and measure how well the
    score separates best customers from the rest (lift of Tier 1, AUC) and won deals from lost.

    In capacity mode Tier 1 is the accounts scoring at least the lowest Tier 1 score of the targets.
    """
    return backtest_of(backtest_counts(workspace, icp), backtest_rules(workspace, icp))


# Tier rules that make every account the ICP tiers at all (in SAM, scoring above 0) Tier 1 and every
# other 'Not a fit': counts made with them say which accounts any thresholds would tier, and the
# thresholds then tier them by score alone (see `_tier` in icp.profile.scoring: a tier is a
# threshold on the score, for those accounts only).
_ANY_TIER = TierRules(mode="thresholds", tier1=0, tier2=0, tier3=0)


class BacktestCounts(NamedTuple):
    """The customers and closed deals by fit score, as `backtest` counts them before tiering: the
    same for any tier rules, so a tier slider re-tiers these instead of scoring again."""

    customers: pd.DataFrame  # tier ('Tier 1': tiered by any thresholds, else 'Not a fit'), score, customers, best, rest, value_sum, value_n
    deals: pd.DataFrame  # via, tier (as above), score, won, lost


def backtest_counts(workspace: Workspace, icp: ICP) -> BacktestCounts:
    """`BacktestCounts` of the ICP: its criteria and success settings are read, never its tier rules."""
    icp = icp.model_copy(update={"tiers": _ANY_TIER})
    with workspace.connect() as con:
        return BacktestCounts(_customer_histogram(con, icp), _deal_histogram(con, icp))


def backtest_rules(workspace: Workspace, icp: ICP) -> TierRules:
    """The thresholds the backtest tiers by: the ICP's own; in capacity mode, Tier 1 from the lowest
    Tier 1 score of the targets (`_tiered_by_score`), which scores the targets."""
    if icp.tiers.mode != "capacity":
        return icp.tiers
    with workspace.connect() as con:
        return _tiered_by_score(con, icp).tiers


def backtest_of(counts: BacktestCounts, rules: TierRules) -> Backtest:
    """The backtest from its counts, tiered by threshold `rules` (as `backtest` computes it)."""
    part = _customer_part(_tiered(counts.customers, rules)) | _deal_part(_tiered(counts.deals, rules))
    return Backtest(**part, verdict=_verdict(part))


def _tiered(hist: pd.DataFrame, rules: TierRules) -> pd.DataFrame:
    """`hist` (counted with `_ANY_TIER`) with each row's tier under threshold `rules`: the comparisons
    of the scoring SQL's CASE, on the same DOUBLE scores."""
    if rules.mode != "thresholds":
        raise ValueError("the backtest tiers by thresholds; see backtest_rules")
    fit = (hist["tier"] == TIERS[0]).to_numpy(dtype=bool)
    score = pd.to_numeric(hist["score"]).to_numpy(dtype=float, na_value=np.nan)
    tier = np.select([fit & (score >= rules.tier1), fit & (score >= rules.tier2), fit & (score >= rules.tier3)],
                     list(TIERS[:3]), default=TIERS[3])
    return hist.assign(tier=np.where(hist["tier"].isna(), None, tier) if len(hist) else hist["tier"])
