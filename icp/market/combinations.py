"""Which accounts pass which criteria, remembered while the data is unchanged.

A slider moves one threshold or one criterion at a time, so what is computed from the data is
remembered per process (`tally`): which accounts pass each criterion (one bit per account and
criterion), the combinations of passes and how many accounts share each. Tiers and SAM are then the
scoring SQL run over those few combinations, and a changed criterion costs one scan of its own
column. Also the one rule for "the universe less its customers" (`not_customers`)."""

from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd

from icp.analysis.success import scored_customers
from icp.data.catalog import columns_of, query_columns, registered, rows_of, stamp
from icp.data.links import CUSTOMER_VIEW
from icp.data.memo import MEMO, remembered
from icp.errors import IcpError
from icp.normalize import quote_ident as _q
from icp.profile.model import ICP, Criterion, TierRules
from icp.profile.scoring import columns_read, combinations_sql, pass_sql, score_sql, spellings_sql
from icp.relation import Relation, as_relation

SCORE_COLUMNS = ("icp_fit_score", "icp_tier", "icp_in_sam", "icp_insufficient", "icp_reasons")
# Combinations are counted with a dense histogram up to this many criteria, else by sorting.
_DENSE_CRITERIA = 20
# A list column with more distinct items than this is tested item by item in every row.
_MAX_ITEMS = 100_000


def _scorable(con: duckdb.DuckDBPyConnection, source: Relation, icp: ICP) -> Relation:
    """The accounts of `source` ready for `score_sql`: an empty column for each attribute the ICP reads
    that it lacks (a missing value passes no criterion, so a universe bought without, say, a tech
    stack is scored on what it has instead of failing), and without columns named like the score's
    own (a targets.csv scored before and uploaded again would otherwise shadow the new score)."""
    have = query_columns(con, source)
    stale = [name for name in have if name.casefold() in SCORE_COLUMNS]
    missing = {name: kind for name, kind in columns_read(icp).items() if name not in have}
    if not stale and not missing:
        return source
    star = f"* EXCLUDE ({', '.join(_q(name) for name in stale)})" if stale else "*"
    extra = "".join(f", CAST(NULL AS {kind}) AS {_q(name)}" for name, kind in missing.items())
    return Relation.of_query(f"SELECT {star}{extra} FROM {source}")


def scored(con: duckdb.DuckDBPyConnection, icp: ICP, source: Relation, *, reasons: bool = False) -> Relation:
    """The accounts of `source` with their fit (`score_sql`), unordered: every caller here counts,
    joins or orders by its own keys (sorting first cost 1.7 s against 0.3 s for the tier counts of
    1M accounts). List criteria are matched on the spellings that pass among the source's distinct items."""
    source = as_relation(source)
    return Relation.of_query(score_sql(icp, _scorable(con, source, icp), reasons=reasons, ordered=False,
                                       spellings=_spellings(con, icp, source)))


def _spellings(con: duckdb.DuckDBPyConnection, icp: ICP,
               source: Relation) -> tuple[tuple[str, ...] | None, ...] | None:
    """For each `contains` criterion on a list column of `source`, the items that pass
    its item test (see `score_sql`) among every item the column can hold; None for the other
    criteria, or for all. In a workspace those are the items of that column in any of its tables,
    remembered per data version, which include those of any subquery over them; elsewhere, the
    items of `source` itself."""
    if not any(c.kind == "contains" for c in icp.criteria):
        return None
    have = query_columns(con, source)
    workspace = stamp(con) is not None
    found: list[tuple[str, ...] | None] = []
    for criterion in icp.criteria:
        column = criterion.attribute
        if criterion.kind != "contains" or have.get(column) != "VARCHAR[]":
            found.append(None)
            continue
        items = _list_items(con, column) if workspace else _distinct_items(con, [source], column)
        found.append(None if items is None else tuple(
            row[0] for row in con.execute(spellings_sql(criterion), [items]).fetchall()))
    return tuple(found) if any(f is not None for f in found) else None


def _list_items(con: duckdb.DuckDBPyConnection, column: str) -> list[str] | None:
    """Every distinct item of the list column `column` across the workspace's tables (see
    `_distinct_items`), remembered per data version."""
    def scan() -> list[str] | None:
        tables = [row[0] for row in con.execute(
            "SELECT c.table_name FROM duckdb_columns() AS c JOIN duckdb_tables() AS t "
            "USING (database_name, schema_name, table_name) "
            "WHERE c.column_name = ? AND c.data_type = 'VARCHAR[]' AND NOT t.temporary", [column]).fetchall()]
        return _distinct_items(con, [Relation.of_table(t) for t in tables], column)
    return remembered(con, ("items", column), scan, size=lambda items: 1024 + sum(64 + len(i) for i in items or ()))


def _distinct_items(con: duckdb.DuckDBPyConnection, sources: list[Relation], column: str) -> list[str] | None:
    """The distinct items of a list column of `sources`; None past
    _MAX_ITEMS, where keeping them is not worth it."""
    if not sources:
        return []
    union = " UNION ALL ".join(f"SELECT unnest({_q(column)}) AS item FROM {source}" for source in sources)
    found = con.execute(f"SELECT DISTINCT item FROM ({union}) WHERE item IS NOT NULL "
                        f"LIMIT {_MAX_ITEMS + 1}").fetchall()
    return [row[0] for row in found] if len(found) <= _MAX_ITEMS else None


def predicate(criterion: Criterion) -> tuple:
    """What decides whether an account passes a criterion (not its role, weight or label)."""
    return criterion.attribute, criterion.kind, criterion.values, criterion.low, criterion.high, criterion.flag


def _table_rows(con: duckdb.DuckDBPyConnection, here: tuple, table: str) -> int | None:
    """Rows of a workspace table whose rowids are exactly 0..n-1 (lists are written whole, never
    deleted from), so each account has one slot in a NumPy array; else None."""
    def count() -> int | None:
        if hides_rowid(con, table):
            return None
        n, top = con.execute(f"SELECT count(*), max(rowid) FROM {_q(table)}").fetchall()[0]
        return n if n and top == n - 1 else None
    return MEMO.get((here, "rows", table), count)


def hides_rowid(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether a column of the user's named `rowid` (in any case) hides the table's row id: callers
    then take the path that does not index accounts by rowid."""
    return any(column.lower() == "rowid" for column in columns_of(con, table))


def _passed(con: duckdb.DuckDBPyConnection, here: tuple, table: str, criterion: Criterion, rows: int,
            present: dict[str, str]) -> np.ndarray:
    """Whether each account of `table` (by rowid) passes `criterion`; a column the table lacks
    holds no value, and a missing value passes nothing."""
    if criterion.attribute not in present:
        return np.zeros(rows, dtype=bool)

    def scan() -> np.ndarray:
        spellings = None
        if criterion.kind == "contains" and present[criterion.attribute] == "VARCHAR[]":
            # Which items pass depends on the item alone: the column's few distinct items are
            # tested once, and the accounts then matched on them exactly, without lower-casing
            # millions of items again (a tenth of the time).
            items = _list_items(con, criterion.attribute)
            if items is not None:
                spellings = tuple(row[0] for row in con.execute(spellings_sql(criterion), [items]).fetchall())
        passed = np.zeros(rows, dtype=bool)
        if spellings == ():
            return passed
        found = con.execute(pass_sql(criterion, table, spellings)).fetchnumpy()
        passed[found["r"]] = found["p"]
        return passed
    return MEMO.get((here, "passes", table, predicate(criterion)), scan)


def _known(con: duckdb.DuckDBPyConnection, here: tuple, table: str, column: str, rows: int,
           present: dict[str, str]) -> np.ndarray:
    """Whether each account of `table` (by rowid) has a value in `column`."""
    if column not in present:
        return np.zeros(rows, dtype=bool)

    def scan() -> np.ndarray:
        found = con.execute(f"SELECT rowid AS r, {_q(column)} IS NOT NULL AS k FROM {_q(table)}").fetchnumpy()
        known = np.zeros(rows, dtype=bool)
        known[found["r"]] = found["k"]
        return known
    return MEMO.get((here, "known", table, column), scan)


def not_customers(con: duckdb.DuckDBPyConnection, customers: str, select: str = "u.*") -> Relation:
    """The universe accounts (`u`) that match no customer of the table `customers` by
    account key, domain or normalized name: the accounts targets are drawn from when there is no
    targets list. The one rule for "the universe minus the customers", for pages and counts alike.

    ANTI JOINs, one per key: hash joins, ten times faster on a million accounts than the
    equivalent NOT EXISTS subqueries. A key missing from an account matches nothing.
    """
    universe, theirs = columns_of(con, "universe"), columns_of(con, customers)
    keys = [k for k in ("account_key", "domain", "name_key") if k in universe and k in theirs]
    joins = " ".join(f"ANTI JOIN {_q(customers)} AS c{i} ON c{i}.{_q(k)} = u.{_q(k)}" for i, k in enumerate(keys))
    return Relation.of_query(f"SELECT {select} FROM universe AS u {joins}")


def _not_customers_mask(con: duckdb.DuckDBPyConnection, here: tuple, customers: str, rows: int) -> np.ndarray:
    """`not_customers` as a mask over the universe's rowids."""
    def scan() -> np.ndarray:
        found = con.execute(f"SELECT r FROM {not_customers(con, customers, 'u.rowid AS r')}").fetchnumpy()
        kept = np.zeros(rows, dtype=bool)
        kept[found["r"]] = True
        return kept
    return MEMO.get((here, "not_customers", customers), scan)


class Combinations(NamedTuple):
    """The accounts of a list table by the combination of criteria they pass (see `combinations`)."""

    codes: np.ndarray  # every account's combination (bit i: criterion i passed; then a bit per must: known)
    kept: np.ndarray | None  # the accounts counted, by rowid (None: all of them)
    # each combination that occurs: code, n (accounts), icp_fit_score, icp_tier, icp_in_sam, icp_insufficient
    scored: pd.DataFrame


def combinations(con: duckdb.DuckDBPyConnection, icp: ICP, table: str, *,
                 not_customers_of: str | None = None) -> Combinations | None:
    """The accounts of workspace table `table` (with `not_customers_of`, only the universe accounts
    that are not customers) grouped by the combination of criteria they pass, each combination
    scored, tiered and placed in SAM or not by the scoring SQL (`combinations_sql`).

    Built from remembered results: which accounts pass each criterion (one scan of its column, once
    per data version), every account's combination and how many share each. Thresholds mode; None
    where it cannot be done this way (capacity mode, a table with gaps in its rowids, more than 62
    criteria, not a workspace file), for the caller to score every account instead.
    """
    columns_read(icp)  # the same error as scoring, for criteria reading one column as two types
    here = stamp(con)
    if here is None or icp.tiers.mode != "thresholds" or len(icp.criteria) + len(icp.musts) > 62:
        return None
    rows = _table_rows(con, here, table)
    if rows is None:
        return None
    tests = tuple(predicate(c) for c in icp.criteria) + tuple(("known", c.attribute) for c in icp.musts)

    # A bit per criterion (passed), then one per must (its value known): what tier, SAM and
    # "insufficient data" read.
    musts = [i for i, c in enumerate(icp.criteria) if c.role == "must"]
    bits = len(icp.criteria) + len(musts)

    def combine() -> np.ndarray:
        present = columns_of(con, table)
        # The smallest unsigned type with a bit each: one byte per account for up to 8.
        width = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= bits)
        codes = np.zeros(rows, dtype=width)
        for i, criterion in enumerate(icp.criteria):
            codes |= _passed(con, here, table, criterion, rows, present).astype(width) << width(i)
        for j, i in enumerate(musts):
            known = _known(con, here, table, icp.criteria[i].attribute, rows, present)
            codes |= known.astype(width) << width(len(icp.criteria) + j)
        return codes

    codes = MEMO.get((here, "codes", table, tests), combine)
    kept = None if not_customers_of is None else _not_customers_mask(con, here, not_customers_of, rows)

    def histogram() -> tuple[np.ndarray, np.ndarray]:
        counted = codes if kept is None else codes[kept]
        if bits <= _DENSE_CRITERIA:
            dense = np.bincount(counted, minlength=1)
            found = np.flatnonzero(dense)
            return found, dense[found]
        return np.unique(counted, return_counts=True)

    # Weights, roles and thresholds do not change which accounts pass what: a slider on them
    # reads this back and scores the few combinations only.
    found, counts = MEMO.get((here, "histogram", table, not_customers_of, tests), histogram)
    found = found.astype(np.uint64)
    frame = pd.DataFrame({f"p{i}": (found >> np.uint64(i)) & np.uint64(1) == 1 for i in range(len(icp.criteria))})
    for j, i in enumerate(musts):
        frame[f"k{i}"] = (found >> np.uint64(len(icp.criteria) + j)) & np.uint64(1) == 1
    frame["code"] = found.astype(np.int64)
    frame["n"] = counts.astype(np.int64)
    name = "_icp_combinations"  # a relation of this connection alone: the same query text every time
    with registered(con, name, frame):
        scored_ = con.execute(f"SELECT code, n, icp_fit_score, icp_tier, icp_in_sam, icp_insufficient "
                              f"FROM ({combinations_sql(icp, name)})").df()
    return Combinations(codes, kept, scored_)


def tally(con: duckdb.DuckDBPyConnection, icp: ICP, table: str, *,
          not_customers_of: str | None = None) -> dict[tuple[str, bool, bool], int] | None:
    """Accounts per (tier, in SAM, insufficient data), as scoring each account would count them
    (see `combinations`)."""
    found = combinations(con, icp, table, not_customers_of=not_customers_of)
    return None if found is None else counted(found)


def counted(found: Combinations) -> dict[tuple[str, bool, bool], int]:
    """Accounts per (tier, in SAM, insufficient data) of some combinations."""
    counts: dict[tuple[str, bool, bool], int] = {}
    frame = found.scored
    for tier, in_sam, short, n in zip(frame["icp_tier"], frame["icp_in_sam"], frame["icp_insufficient"], frame["n"],
                                      strict=True):
        key = (str(tier), bool(in_sam), bool(short))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def sam_tally(con: duckdb.DuckDBPyConnection, icp: ICP, table: str,
              **kwargs) -> dict[tuple[str, bool, bool], int] | None:
    """`tally` whatever the tier mode, for callers that only read SAM (which tiers do not change)."""
    if icp.tiers.mode != "thresholds":
        icp = icp.model_copy(update={"tiers": TierRules()})
    return tally(con, icp, table, **kwargs)


def customers_scored(con: duckdb.DuckDBPyConnection, icp: ICP) -> Relation:
    """Every customer with its ICP fit (icp_fit_score, icp_tier, icp_in_sam) and its success under
    the ICP's success settings (value_score, is_best), as one query."""
    view = columns_of(con, CUSTOMER_VIEW)
    missing = [c.label for c in icp.success.weighted if c.column not in view]
    if missing:
        raise IcpError(f"The customers have no {', '.join(missing)} column any more; "
                       "pick the success criteria again on the Success page.")
    return Relation.of_query(f'WITH "_icp_fit" AS {scored(con, icp, rows_of(CUSTOMER_VIEW))} '
                             f"SELECT * FROM {scored_customers(icp.success, source='_icp_fit')}")
