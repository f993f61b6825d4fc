"""Market size: TAM, SAM and SOM of an ICP, in accounts and money, with the assumptions written out.

TAM is every account of the universe list, SAM the universe accounts that pass every `must`
criterion and no `disqualify` one, SOM the SAM accounts reachable within the horizon times the
expected win rate. Counting is SQL over the universe, so a slider change on a million accounts
stays fast; only the handful of totals (or one row per segment) leave DuckDB.

A slider moves one threshold or one criterion at a time, so what is computed from the data is
remembered per process while the data is unchanged (`tally`): which accounts pass each criterion
(one bit per account and criterion), the combinations of passes and how many accounts share each.
Tiers and SAM are then the scoring SQL run over those few combinations, and a changed criterion
costs one scan of its own column.
"""

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple, TypeVar

import duckdb
import numpy as np
import pandas as pd

from icp.analysis.attributes import dimension_label, missing_dimension
from icp.analysis.success import scored_customers_sql
from icp.data.links import CUSTOMER_VIEW
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.numbers import money, percent
from icp.profile.carry import carried, resolve, warnings
from icp.profile.model import ICP, Criterion, TierRules, describe
from icp.profile.scoring import columns_read, combinations_sql, pass_sql, score_sql, spellings_sql

# Used when neither the assumptions nor the deals give a win rate; said so next to the figures.
FALLBACK_WIN_RATE = 0.2
_UNKNOWN = "(unknown)"
_NO_MARKET = ("There is no universe list to size the market from. Upload one on the Data page "
              "(every company in your market), or type in the TAM and SAM account counts.")
SCORE_COLUMNS = ("icp_fit_score", "icp_tier", "icp_in_sam", "icp_insufficient", "icp_reasons")
_SEGMENT_COLUMNS = ["tam_accounts", "sam_accounts", "som_accounts", "sam_value"]
# What the memo may hold: at 10M accounts a criterion's passes take 10 MB.
_MEMO_BYTES = 256 * 2**20
# Combinations are counted with a dense histogram up to this many criteria, else by sorting.
_DENSE_CRITERIA = 20
# A list column with more distinct items than this is tested item by item in every row.
_MAX_ITEMS = 100_000


class MarketFigure(Frozen):
    accounts: int
    value: float | None  # accounts x ACV; None when there is no money measure


class MarketSize(Frozen):
    tam: MarketFigure
    sam: MarketFigure
    som: MarketFigure
    assumptions: dict[str, str | float | int | None]
    typed_in: bool  # TAM and SAM are counts the user typed, not counted in a universe list
    acv: float | None  # the SAM's and SOM's: the mean value of the best customers inside the ICP
    win_rate: float
    currency_note: str
    # The TAM's value per account: the mean value of all best customers, whatever the ICP, so
    # editing the ICP never moves the TAM's money.
    tam_acv: float | None = None
    # The SOM before rounding: 0.4 accounts is shown as such, not as 0 beside a non-zero value.
    som_exact: float = 0.0
    currency: str = ""  # the money's currency ("USD", "EUR", a symbol), "" when unknown
    # What the figures rest on that may not hold: a criterion no universe column holds, one linked
    # by a guess, one known for few accounts, a suspected unit; small samples.
    warnings: tuple[str, ...] = ()


# -- reading the workspace -------------------------------------------------------------------------

# connection -> {relation: {column: type}}: the workspace's tables and views, read once per
# connection (a connection lives for one engine call; these modules never create a persistent table).
_CATALOGS: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict]" = weakref.WeakKeyDictionary()
_CATALOGS_LOCK = threading.Lock()
_STAMPS: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, tuple | None]" = weakref.WeakKeyDictionary()


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> type of a workspace table or view, in column order; empty when it does not exist."""
    with _CATALOGS_LOCK:
        catalog = _CATALOGS.get(con)
    if catalog is None:
        catalog = {}
        for table, column, kind in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name <> 'temp' ORDER BY table_name, column_index"
        ).fetchall():
            catalog.setdefault(table, {})[column] = kind
        with _CATALOGS_LOCK:
            _CATALOGS[con] = catalog
    return dict(catalog.get(relation, {}))


def query_columns(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    """Column name -> type of a parenthesized subquery's result."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()}


def rows_of(relation: str) -> str:
    return f"(SELECT * FROM {_q(relation)})"


def _scorable(con: duckdb.DuckDBPyConnection, sql: str, icp: ICP) -> str:
    """The subquery `sql` ready for `score_sql`: an empty column for each attribute the ICP reads
    that it lacks (a missing value passes no criterion, so a universe bought without, say, a tech
    stack is scored on what it has instead of failing), and without columns named like the score's
    own (a targets.csv scored before and uploaded again would otherwise shadow the new score)."""
    have = query_columns(con, sql)
    stale = [name for name in have if name.casefold() in SCORE_COLUMNS]
    missing = {name: kind for name, kind in columns_read(icp).items() if name not in have}
    if not stale and not missing:
        return sql
    star = f"* EXCLUDE ({', '.join(_q(name) for name in stale)})" if stale else "*"
    extra = "".join(f", CAST(NULL AS {kind}) AS {_q(name)}" for name, kind in missing.items())
    return f"(SELECT {star}{extra} FROM {sql})"


def scored(con: duckdb.DuckDBPyConnection, icp: ICP, sql: str, *, reasons: bool = False) -> str:
    """`score_sql` over the subquery `sql`, unordered: every caller here counts, joins or orders by
    its own keys (sorting first cost 1.7 s against 0.3 s for the tier counts of 1M accounts).
    List criteria are matched on the spellings that pass among the source's distinct items."""
    return score_sql(icp, _scorable(con, sql, icp), reasons=reasons, ordered=False,
                     spellings=_spellings(con, icp, sql))


def _spellings(con: duckdb.DuckDBPyConnection, icp: ICP, sql: str) -> tuple[tuple[str, ...] | None, ...] | None:
    """For each `contains` criterion on a list column of the subquery `sql`, the items that pass
    its item test (see `score_sql`) among every item the column can hold; None for the other
    criteria, or for all. In a workspace those are the items of that column in any of its tables,
    remembered per data version, which include those of any subquery over them; elsewhere, the
    items of `sql` itself."""
    if not any(c.kind == "contains" for c in icp.criteria):
        return None
    have = query_columns(con, sql)
    workspace = stamp(con) is not None
    found: list[tuple[str, ...] | None] = []
    for criterion in icp.criteria:
        column = criterion.attribute
        if criterion.kind != "contains" or have.get(column) != "VARCHAR[]":
            found.append(None)
            continue
        items = _list_items(con, column) if workspace else _distinct_items(con, [sql], column)
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
        return _distinct_items(con, [_q(t) for t in tables], column)
    return remembered(con, ("items", column), scan, size=lambda items: 1024 + sum(64 + len(i) for i in items or ()))


def _distinct_items(con: duckdb.DuckDBPyConnection, sources: list[str], column: str) -> list[str] | None:
    """The distinct items of a list column of `sources` (tables or subqueries); None past
    _MAX_ITEMS, where keeping them is not worth it."""
    if not sources:
        return []
    union = " UNION ALL ".join(f"SELECT unnest({_q(column)}) AS item FROM {source}" for source in sources)
    found = con.execute(f"SELECT DISTINCT item FROM ({union}) WHERE item IS NOT NULL "
                        f"LIMIT {_MAX_ITEMS + 1}").fetchall()
    return [row[0] for row in found] if len(found) <= _MAX_ITEMS else None


# -- remembered results ----------------------------------------------------------------------------

T = TypeVar("T")


class _Memo:
    """Results computed from a workspace's data, remembered in this process while the data is
    unchanged: every key starts with the workspace's stamp (its file, creation time and data
    version, which any change to a list bumps), so a stale result is never found again, only left
    to age out. Least recently used first out, past `max_bytes` (NumPy arrays count their bytes,
    anything else a kilobyte). Thread-safe: Streamlit serves each session in its own thread."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], size: Callable[[T], int] | None = None) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]  # type: ignore[return-value]
        value = compute()
        if size is not None:
            nbytes = size(value)
        else:
            nbytes = value.nbytes if isinstance(value, np.ndarray) else 1024
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, nbytes)
                self._bytes += nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


MEMO = _Memo(_MEMO_BYTES)


def stamp(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(file, created_at, data_version) of the workspace open on `con`; None when it is not a
    workspace file (nothing is remembered for it then). Read once per connection, which lives for
    one engine call."""
    with _CATALOGS_LOCK:
        if con in _STAMPS:
            return _STAMPS[con]
    try:
        row = con.execute(
            "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
            "(SELECT value FROM _meta WHERE key = 'created_at'), "
            "(SELECT value FROM _meta WHERE key = 'data_version')").fetchall()[0]
    except duckdb.Error:
        row = None
    found = row if row and row[0] and row[2] is not None else None
    with _CATALOGS_LOCK:
        _STAMPS[con] = found
    return found


def remembered(con: duckdb.DuckDBPyConnection, key: tuple, compute: Callable[[], T],
               size: Callable[[T], int] | None = None) -> T:
    """`compute()`, remembered under `key` for this workspace's data as it is now."""
    here = stamp(con)
    return compute() if here is None else MEMO.get((here, *key), compute, size)


def _predicate(criterion: Criterion) -> tuple:
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
    return MEMO.get((here, "passes", table, _predicate(criterion)), scan)


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


def not_customers(con: duckdb.DuckDBPyConnection, customers: str, select: str = "u.*") -> str:
    """Subquery of the universe accounts (`u`) that match no customer of the table `customers` by
    account key, domain or normalized name: the accounts targets are drawn from when there is no
    targets list. The one rule for "the universe minus the customers", for pages and counts alike.

    ANTI JOINs, one per key: hash joins, ten times faster on a million accounts than the
    equivalent NOT EXISTS subqueries. A key missing from an account matches nothing.
    """
    universe, theirs = columns_of(con, "universe"), columns_of(con, customers)
    keys = [k for k in ("account_key", "domain", "name_key") if k in universe and k in theirs]
    joins = " ".join(f"ANTI JOIN {_q(customers)} AS c{i} ON c{i}.{_q(k)} = u.{_q(k)}" for i, k in enumerate(keys))
    return f"(SELECT {select} FROM universe AS u {joins})"


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
    tests = tuple(_predicate(c) for c in icp.criteria) + tuple(("known", c.attribute) for c in icp.musts)

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
    con.register(name, frame)
    try:
        scored_ = con.execute(f"SELECT code, n, icp_fit_score, icp_tier, icp_in_sam, icp_insufficient "
                              f"FROM ({combinations_sql(icp, name)})").df()
    finally:
        con.unregister(name)
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


def customers_sql(con: duckdb.DuckDBPyConnection, icp: ICP) -> str:
    """Every customer with its ICP fit (icp_fit_score, icp_tier, icp_in_sam) and its success under
    the ICP's success settings (value_score, is_best), as one query."""
    view = columns_of(con, CUSTOMER_VIEW)
    missing = [c.label for c in icp.success.weighted if c.column not in view]
    if missing:
        raise IcpError(f"The customers have no {', '.join(missing)} column any more; "
                       "pick the success criteria again on the Success page.")
    return (f'WITH "_icp_fit" AS ({scored(con, icp, rows_of(CUSTOMER_VIEW))}) '
            f"SELECT * FROM ({scored_customers_sql(icp.success, source='_icp_fit')})")


_pct = percent


def _years(horizon: float) -> str:
    number = f"{horizon:g}"
    return f"{number} year" if horizon == 1 else f"{number} years"


def _round_half_up(x: float) -> int:
    # Python's round() goes to the even neighbour; a count of 2.5 accounts reads better as 3.
    return math.floor(x + 0.5)


# -- win rate --------------------------------------------------------------------------------------

def _closed_deals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(won, lost) over every deal in the deals list, linked to an account or not."""
    if "deal_outcome" not in columns_of(con, "deals"):
        return 0, 0
    return remembered(con, ("closed_deals",), lambda: con.execute(
        "SELECT count(*) FILTER (WHERE deal_outcome = 'won'), count(*) FILTER (WHERE deal_outcome = 'lost') "
        "FROM deals"
    ).fetchall()[0])


def default_win_rate(workspace: Workspace) -> float:
    """won / (won + lost) over all deals; FALLBACK_WIN_RATE when no deal is closed."""
    with workspace.connect() as con:
        won, lost = _closed_deals(con)
    return won / (won + lost) if won + lost else FALLBACK_WIN_RATE


def _win_rate(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float, str]:
    if icp.market.win_rate is not None:
        return icp.market.win_rate, f"{_pct(icp.market.win_rate)}, as set in the assumptions"
    won, lost = _closed_deals(con)
    if won + lost:
        rate = won / (won + lost)
        return rate, f"{_pct(rate)}, measured: {won:,} won of {won + lost:,} closed deals"
    return FALLBACK_WIN_RATE, (f"{_pct(FALLBACK_WIN_RATE)}, assumed: there are no won or lost deals "
                               "to measure it from")


# -- ACV -------------------------------------------------------------------------------------------

def _sam_rules(icp: ICP) -> tuple:
    """What decides which accounts are in SAM: the must and disqualify criteria's tests."""
    return (tuple((c.role, _predicate(c)) for c in icp.criteria if c.role != "nice"), icp.carry)


def _acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str, int | None]:
    """The SAM's value per account, where it comes from and how many best customers it is the mean
    of: typed in (None of them), else the mean value of the best customers inside the ICP (in SAM),
    else of all best customers; None when there is no money measure."""
    if icp.market.acv is not None:
        return icp.market.acv, f"{money(icp.market.acv, icp.market.currency)}, as set in the assumptions", None
    # Only SAM and the success settings matter: remembered, a tier or weight slider costs nothing here.
    return remembered(con, ("acv", icp.success, _sam_rules(icp), icp.market.currency),
                      lambda: _measured_acv(con, icp))[:3]


def _tam_acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str]:
    """The TAM's value per account: what is typed in, else the mean value of all best customers.
    Not the in-ICP mean: the TAM is every account of the market, whatever the ICP says, so its
    money must not move when a criterion is edited."""
    if icp.market.acv is not None:
        return icp.market.acv, f"{money(icp.market.acv, icp.market.currency)}, as set in the assumptions"
    found = remembered(con, ("acv", icp.success, _sam_rules(icp), icp.market.currency),
                       lambda: _measured_acv(con, icp))
    return found[3], found[4]


def _measured_acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str, int | None, float | None, str]:
    """(SAM value per account, its words, how many it is the mean of, TAM value per account, its words)."""
    value = icp.success.value_column
    view = columns_of(con, CUSTOMER_VIEW)
    if not view:
        none = "none: there are no customers to take it from"
        return None, none, None, None, none
    if value is None or value not in view:
        none = "none: the customers have no money column (ARR, ACV, ...) to take it from"
        return None, none, None, None, none
    label = _value_label(icp)
    cur = icp.market.currency
    v = f"CAST({_q(value)} AS DOUBLE)"
    in_icp, n_in, overall, n_all = con.execute(f"""
        SELECT avg({v}) FILTER (WHERE is_best AND icp_in_sam), count({v}) FILTER (WHERE is_best AND icp_in_sam),
               avg({v}) FILTER (WHERE is_best), count({v}) FILTER (WHERE is_best)
        FROM ({customers_sql(con, icp)})""").fetchone()
    if not n_all:
        none = f"none: no best customer has a {label} value"
        return None, none, None, None, none
    tam_words = f"{money(overall, cur)}, the mean {label} of all {n_all:,} best customers, whatever the ICP"
    if n_in:
        return (in_icp, f"{money(in_icp, cur)}, the mean {label} of the {n_in:,} best customers inside the ICP",
                n_in, overall, tam_words)
    return (overall, (f"{money(overall, cur)}, the mean {label} of all {n_all:,} best customers "
                      "(none of them is inside the ICP)"), n_all, overall, tam_words)


def _value_label(icp: ICP) -> str:
    value = icp.success.value_column
    return next((c.label for c in icp.success.criteria if c.column == value), value or "")


# What a money column's header or cells may say of its currency: a code, or a symbol in the cells.
_CURRENCY_CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CNY", "INR", "CAD", "AUD", "NZD", "SGD", "HKD", "SEK",
                   "NOK", "DKK", "PLN", "BRL", "MXN", "ZAR")
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
# Cells read to detect the currency: enough to see what a column writes, cheap on any list.
_CURRENCY_SAMPLE = 2000


def detected_currency(con: duckdb.DuckDBPyConnection, column: str | None) -> tuple[str, str]:
    """(currency code, where it was read) of the uploaded column that became `column`: a code in
    its header ("ARR (EUR)"), else one currency symbol or code written in most of its cells
    ("$48,000"); ("", "") when the data does not say, or says two things."""
    if not column or "_lists" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
        return "", ""
    from icp.data.reports import ListReport  # the report's model; market never needs it otherwise

    for kind, text in con.execute("SELECT kind, report FROM _lists ORDER BY kind").fetchall():
        found = next((c for c in ListReport.model_validate_json(text).columns if c.name == column), None)
        if found is None:
            continue
        header = found.source.upper()
        codes = [code for code in _CURRENCY_CODES if code in header.replace("_", " ").split()
                 or f"({code})" in header or f"[{code}]" in header]
        if len(codes) == 1:
            return codes[0], f"the header “{found.source}”"
        raw = f"raw_{kind}"
        if found.source not in columns_of(con, raw):
            continue
        marks = {**_CURRENCY_SYMBOLS, **{code: code for code in _CURRENCY_CODES}}
        tests = ", ".join(f"count(*) FILTER (WHERE upper(v) LIKE '%' || $m{i} || '%')" for i in range(len(marks)))
        row = con.execute(
            f"SELECT count(*), {tests} FROM (SELECT {_q(found.source)} AS v FROM {_q(raw)} "
            f"WHERE nullif(trim({_q(found.source)}), '') IS NOT NULL LIMIT {_CURRENCY_SAMPLE})",
            {f"m{i}": mark.upper() for i, mark in enumerate(marks)}).fetchone()
        filled, hits = row[0], dict.fromkeys(marks.values(), 0)
        for code, n in zip(marks.values(), row[1:], strict=True):  # "$" and "USD" count as one
            hits[code] += n
        seen = {code for code, n in hits.items() if n}
        if filled and len(seen) == 1 and max(hits.values()) * 2 > filled:
            return seen.pop(), f"the cells of “{found.source}”"
    return "", ""


def value_name(icp: ICP) -> str:
    """What the value per account is, named for what it is: "ACV" when typed in as one, else the
    mean of the customers' own value column ("mean ARR", "mean Won value"), which need not be annual
    (a total won over the whole history is a lifetime value, not an ACV)."""
    if icp.market.acv is not None:
        return "ACV"
    label = _value_label(icp)
    return f"mean {label}" if label else "value"


# -- sizing ----------------------------------------------------------------------------------------

def _sam_words(icp: ICP) -> str:
    musts = "; ".join(describe(c) for c in icp.musts) or "no must criterion"
    disqualifiers = "; ".join(describe(c) for c in icp.disqualifiers)
    return f"must: {musts}" + (f"; and not: {disqualifiers}" if disqualifiers else "")


def _tam_sam(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[int, int]:
    """Accounts in the universe, and those of them in SAM."""
    icp = carried(con, icp, _q("universe"), "universe")
    counts = sam_tally(con, icp, "universe")
    if counts is None:
        return con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE icp_in_sam) FROM ({scored(con, icp, rows_of('universe'))})"
        ).fetchall()[0]
    return sum(counts.values()), sum(n for (_, in_sam, _), n in counts.items() if in_sam)


def _counts(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[int, int, bool, dict[str, str]]:
    """(TAM, SAM, typed_in, their descriptions) from the universe list, else the typed-in counts."""
    if columns_of(con, "universe"):
        tam, sam = remembered(con, ("tam_sam", _sam_rules(icp)), lambda: _tam_sam(con, icp))
        return tam, sam, False, {
            "tam": f"{tam:,} accounts in the universe list",
            "sam": f"{sam:,} universe accounts pass the ICP ({_sam_words(icp)})",
        }
    typed_tam, typed_sam = icp.market.typed_tam, icp.market.typed_sam
    if typed_sam is None:
        raise IcpError(_NO_MARKET if typed_tam is None else
                       "Type in the SAM count too (accounts that pass the ICP's must criteria), "
                       "or upload a universe list to count it.")
    if typed_tam is not None and typed_sam > typed_tam:
        raise IcpError(f"The SAM typed in ({typed_sam:,}) is larger than the TAM ({typed_tam:,}); "
                       "the SAM is part of the TAM.")
    tam = typed_sam if typed_tam is None else typed_tam
    tam_words = (f"{tam:,} accounts, typed in (no universe list)" if typed_tam is not None
                 else f"{tam:,} accounts: no TAM was typed in, so it is shown as at least the SAM")
    return tam, typed_sam, True, {"tam": tam_words, "sam": f"{typed_sam:,} accounts, typed in (no universe list)"}


def _with_currency(words: str, value: float | None, currency: str) -> str:
    """Words that start with a value written without currency, written with it."""
    if value is None:
        return words
    bare = money(value)
    return money(value, currency) + words[len(bare):] if words.startswith(bare) else words


def _money(accounts: float, acv: float | None) -> float | None:
    return None if acv is None else accounts * acv


# Below this many deals or best customers, a measured win rate or ACV is a direction, not a figure.
DIRECTIONAL_BELOW = 30


def no_icp_yet(icp: ICP) -> str | None:
    """Why there is no ICP to size a market or tier accounts with, or None when there is one: with
    no must or nice criterion, every account would score 100 and SAM would be the whole market."""
    if any(c.role != "disqualify" and c.weight > 0 for c in icp.criteria):
        return None
    if not icp.criteria:
        return ("No ICP yet: it has no criteria (nothing separated the best customers from the rest "
                "beyond chance, or every criterion was removed). Add criteria on the ICP page.")
    return ("No ICP yet: it has only disqualifiers, so every other account would be a perfect fit. "
            "Add a must or nice criterion on the ICP page.")


_STRENGTH = {"strong": 3, "moderate": 2, "weak": 1, "none": 0}


def strongest_nice(icp: ICP) -> Criterion | None:
    """The nice criterion with the best evidence (strength, then q-value, then lift; weight where
    none has evidence): the one to make a must when there is none."""
    def rank(c: Criterion) -> tuple:
        e = c.evidence
        if e is None:
            return (-1, 0.0, 0.0, c.weight)
        return (_STRENGTH.get(e.evidence, 0), -e.q_value, e.lift, c.weight)
    return max(icp.nices, key=rank, default=None)


def no_must_warning(icp: ICP) -> str | None:
    """Why SAM equals TAM when the ICP has nice criteria but no must: nice criteria only add to the
    fit score, so no account is filtered out and the SAM says nothing about the ICP."""
    best = strongest_nice(icp)
    if icp.musts or best is None:
        return None
    evidence = (f" ({best.evidence.evidence} evidence, lift {best.evidence.lift:.1f}x)"
                if best.evidence is not None else "")
    return ("The ICP has no must criterion, so SAM is the whole TAM (less any disqualified accounts): "
            "nice criteria only add to the fit score. Make the strongest finding a must on the ICP page: "
            f"{describe(best)}{evidence}.")


def _warnings(con: duckdb.DuckDBPyConnection, icp: ICP, won_lost: tuple[int, int] | None,
              best_in_acv: int | None) -> tuple[str, ...]:
    """What the market figures rest on that may not hold: no must criterion (SAM is then TAM), the
    ICP's criteria in the universe (a criterion no column holds, a link found by a guess, low
    coverage, a suspected unit), and a win rate or ACV measured on few deals or customers."""
    no_must = no_must_warning(icp)
    found: list[str] = [no_must] if no_must else []
    if columns_of(con, "universe"):
        key = ("carry", tuple((c.role, _predicate(c), c.label) for c in icp.criteria), icp.carry)
        found += remembered(con, key, lambda: warnings(resolve(con, icp, _q("universe"), "universe", measure=True)))
    if won_lost is not None and sum(won_lost) < DIRECTIONAL_BELOW:
        found.append(f"The win rate rests on {sum(won_lost):,} closed deals: directional.")
    if best_in_acv is not None and best_in_acv < DIRECTIONAL_BELOW:
        found.append(f"The {value_name(icp)} per account rests on {best_in_acv:,} best customers: directional.")
    return tuple(found)


def market_size(workspace: Workspace, icp: ICP) -> MarketSize:
    """TAM, SAM and SOM in accounts and money, with every assumption in words and numbers."""
    m = icp.market
    empty = no_icp_yet(icp)
    if empty is not None:
        raise IcpError(empty)
    with workspace.connect() as con:
        tam, sam, typed_in, words = _counts(con, icp)
        win_rate, win_words = _win_rate(con, icp)
        acv, acv_words, best_in_acv = _acv(con, icp)
        tam_acv, tam_acv_words = _tam_acv(con, icp)
        won_lost = _closed_deals(con) if icp.market.win_rate is None else None
        cautions = _warnings(con, icp, won_lost, best_in_acv)
        detected, read_from = ("", "") if m.currency or m.acv is not None else remembered(
            con, ("currency", icp.success.value_column), lambda: detected_currency(con, icp.success.value_column))
    if detected:
        # A detected currency writes the figures as a set one would, and says where it was read.
        m = m.model_copy(update={"currency": detected})
        icp = icp.model_copy(update={"market": m})
        acv_words, tam_acv_words = _with_currency(acv_words, acv, detected), _with_currency(tam_acv_words, tam_acv,
                                                                                            detected)
    som_exact = sam * m.reachable_share * win_rate
    som = _round_half_up(som_exact)
    name = value_name(icp)
    if acv is None:
        currency, money_words = "No money figures: there is no value per account.", "none: there is no value per account"
    else:
        where = ("the currency the ACV was typed in" if m.acv is not None
                 else f"the currency of the customers' {_value_label(icp)}, as uploaded")
        where += f", read from {read_from}" if detected else ""
        currency = (f"Money is in {m.currency} ({where})." if m.currency
                    else f"Money is in {where}; set the currency on the Market page to show it.")
        # The SOM's money and the accounts shown beside it are the same unrounded count.
        per_account = (f"accounts x the ACV typed in ({money(acv, m.currency)})" if m.acv is not None else
                       f"TAM: accounts x {name} of all best customers ({money(tam_acv, m.currency)}), which no "
                       f"ICP edit moves; SAM and SOM: accounts x {name} of the best customers inside the ICP "
                       f"({money(acv, m.currency)})")
        money_words = f"{per_account}; the SOM's from its unrounded {som_exact:,.1f} accounts"
    assumptions: dict[str, str | float | int | None] = {
        "tam": words["tam"],
        "sam": words["sam"],
        "reach": f"reachable share {_pct(m.reachable_share)} of SAM within {_years(m.horizon_years)}",
        "reachable_share": m.reachable_share,
        "horizon_years": m.horizon_years,
        "win_rate": win_rate,
        "win_rate_source": win_words,
        "som": (f"SOM = SAM {sam:,} x {_pct(m.reachable_share)} reachable within {_years(m.horizon_years)} "
                f"x {_pct(win_rate)} win rate = {som_exact:,.1f}, about {som:,} accounts"),
        "acv": acv,
        "acv_source": acv_words,
        "acv_name": name,
        "tam_acv": tam_acv,
        "tam_acv_source": tam_acv_words,
        "som_accounts_exact": som_exact,
        "money": money_words,
        "currency": currency,
        "currency_code": m.currency,
    }
    return MarketSize(
        tam=MarketFigure(accounts=tam, value=_money(tam, tam_acv)),
        sam=MarketFigure(accounts=sam, value=_money(sam, acv)),
        som=MarketFigure(accounts=som, value=_money(som_exact, acv)),
        assumptions=assumptions, typed_in=typed_in, acv=acv, win_rate=win_rate, currency_note=currency,
        warnings=cautions, tam_acv=tam_acv, som_exact=som_exact, currency=m.currency,
    )


def market_json(size: MarketSize) -> dict:
    """The `market.json` contract (docs/contracts.md)."""
    figure = {"tam": size.tam, "sam": size.sam, "som": size.som}
    return {
        **{key: {"accounts": f.accounts, "value": f.value} for key, f in figure.items()},
        "assumptions": {**size.assumptions, "warnings": list(size.warnings)},
    }


# -- per segment -----------------------------------------------------------------------------------

def _check_dimensions(dimensions: list[str], universe: dict[str, str]) -> None:
    if not universe:
        raise IcpError("Sizing the market by segment needs a universe list; upload one on the Data page.")
    if not 1 <= len(dimensions) <= 3 or len(set(dimensions)) != len(dimensions):
        raise IcpError("Pick one to three different dimensions.")
    missing = [d for d in dimensions if d not in universe]
    if missing:
        raise IcpError(" ".join(missing_dimension(d, "universe") for d in missing))
    unfit = [d for d in dimensions if universe[d].endswith("[]") or not universe[d].startswith(("VARCHAR", "BOOLEAN"))]
    if unfit:
        # A number or a list would make one segment per value or per item: bands are the way to cut them.
        raise IcpError("Segment the market by a category or band (e.g. Company size), not by "
                       f"{', '.join(dimension_label(d) for d in unfit)}.")
    clashing = [d for d in dimensions if d in _SEGMENT_COLUMNS]
    if clashing:
        raise IcpError(f"A dimension cannot be named like a market column: {', '.join(clashing)}.")


def apportion(exact: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers near `exact` that add up to `total` (largest remainder), so the segments'
    SOM accounts sum to the market's SOM."""
    floors = np.floor(exact).astype("int64")
    # Stable sort: equal remainders go to the earlier (larger) segments first.
    order = np.argsort(-(exact - floors), kind="stable")[:max(total - int(floors.sum()), 0)]
    floors[order] += 1
    return floors


def market_by_segment(workspace: Workspace, icp: ICP, dimensions: list[str]) -> pd.DataFrame:
    """Per segment of the universe: TAM, SAM and SOM accounts and the SAM value, largest SAM first.

    The SOM accounts are apportioned so the segments add up to `market_size`'s SOM.
    """
    with workspace.connect() as con:
        _check_dimensions(dimensions, columns_of(con, "universe"))
        win_rate, _ = _win_rate(con, icp)
        acv, _, _ = _acv(con, icp)
        rules = _sam_rules(icp)
        icp = carried(con, icp, _q("universe"), "universe")
        picks = ", ".join(f"coalesce(nullif(CAST({_q(d)} AS VARCHAR), ''), $unknown) AS {_q(d)}" for d in dimensions)
        dims = ", ".join(_q(d) for d in dimensions)
        # Remembered by what decides SAM: the Market page asks again on every rerun of its sliders.
        counted = remembered(con, ("segments", rules, tuple(dimensions)), lambda: con.execute(f"""
            SELECT {picks}, count(*) AS tam_accounts, count(*) FILTER (WHERE icp_in_sam) AS sam_accounts
            FROM ({scored(con, icp, rows_of('universe'))})
            GROUP BY ALL ORDER BY sam_accounts DESC, tam_accounts DESC, {dims}""", {"unknown": _UNKNOWN}).df())
        frame = counted.copy()
    frame["tam_accounts"] = frame["tam_accounts"].astype("int64")
    frame["sam_accounts"] = frame["sam_accounts"].astype("int64")
    share = icp.market.reachable_share
    exact = frame["sam_accounts"].to_numpy(dtype=float) * share * win_rate
    # The total exactly as market_size computes it, so the two never disagree by a rounding.
    frame["som_accounts"] = apportion(exact, _round_half_up(int(frame["sam_accounts"].sum()) * share * win_rate))
    frame["sam_value"] = frame["sam_accounts"] * acv if acv is not None else np.nan
    return frame[[*dimensions, *_SEGMENT_COLUMNS]]
