"""Turn a raw table (every cell as uploaded text) into the typed, normalized table of one list.

All the work is SQL over DuckDB (the macros of icp.normalize); Python only decides what to run
and maps small sets of distinct values (countries). Identifiers are quoted, values never spliced.
"""

from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import pandas as pd

from icp.models import ColumnReport
from icp.normalize import country_code, quote_ident
from icp.roles import ACCOUNT_LISTS, ROLE_BY_NAME, ROLES, RoleMatch, header_key

# Profiling a generic column looks at the first rows only: enough to tell a number from a label.
_PROFILE_ROWS = 200_000
_NUMBER_SHARE = 0.95
_DATE_SHARE = 0.95
_LIST_SHARE = 0.3
_MAX_CATEGORIES = 1000
_ID_HEADERS = ("id", "rowid", "rank", "index", "no", "number", "key", "datekey")
# A column whose distinct values are at most this share of its rows (in the first _PROFILE_ROWS) is
# normalized once per distinct value and joined back: a million rows of a dozen industries cost a
# dozen rule runs, not a million. Kinds whose rules are cheap on a clean cell (a plain number is
# read by a cast) are looked up only when nearly all their values repeat, since grouping and
# joining a column costs about as much; text and domains, read row by row, never are.
_LOOKUP_SHARE = {"list": 0.5, "employees": 0.5, "date": 0.5, "flag": 0.5, "churn": 0.5,
                 "money": 0.05, "number": 0.05, "year": 0.05}

DERIVED = (
    "_row", "_rows", "account_key", "name_key", "size_band", "employees_band", "revenue_band",
    "deal_outcome", "cycle_days",
)

_CHURN_WORDS = r"churn|cancel|lost|inactive|former|terminat|closed|left"
_ACTIVE_WORDS = r"active|current|customer|live|retain|renew|paying"
_WON_WORDS = r"\bwon\b|\bwin\b|signed|booked|closed ?- ?won|^closedwon$"
_LOST_WORDS = r"\blost\b|\bloss\b|dead|disqualif|rejected|no decision|closed ?- ?lost|^closedlost$|churn"


@dataclass(frozen=True)
class ColumnPlan:
    source: str
    name: str
    role: str | None
    kind: str
    confidence: float | None
    dayfirst: bool = False


def _q(name: str) -> str:
    return quote_ident(name)


def snake_case(header: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in header.casefold()).split()
    name = "_".join(words) or "column"
    return f"c_{name}" if name[0].isdigit() else name


def _raw(ref: str) -> str:
    return f"icp_cell({ref})"


def profile_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, str]:
    """Guess the kind of each generic (unmapped) column from its values."""
    if not columns:
        return {}
    parts = []
    for i, col in enumerate(columns):
        r = _raw(_q(col))
        parts += [
            f"count({r}) AS n{i}",
            f"count(icp_number({r})) AS num{i}",
            f"count(icp_bool({r})) AS b{i}",
            f"count(icp_date({r}, false)) AS dt{i}",
            f"count(DISTINCT {r}) AS d{i}",
            f"count(*) FILTER (WHERE {r} SIMILAR TO '.*[;|].*') AS l{i}",
        ]
    row = con.execute(
        f"SELECT {', '.join(parts)} FROM {_q(table)} WHERE _row <= ?", [_PROFILE_ROWS]
    ).fetchone()
    kinds = {}
    for i, col in enumerate(columns):
        filled, numbers, flags, dates, distinct, lists = row[6 * i: 6 * i + 6]
        kinds[col] = _kind_from_profile(col, filled, numbers, flags, dates, distinct, lists)
    return kinds


def _kind_from_profile(header, filled, numbers, flags, dates, distinct, lists) -> str:
    if filled == 0:
        return "text"
    key = header_key(header)
    if key in _ID_HEADERS or key.endswith("id"):
        return "text"
    if flags == filled and distinct <= 2:
        return "flag"
    if numbers >= _NUMBER_SHARE * filled:
        return "number"
    if dates >= _DATE_SHARE * filled:
        return "date"
    if lists >= _LIST_SHARE * filled or key.endswith("list"):
        return "list"
    if distinct <= _MAX_CATEGORIES and distinct <= max(20, filled // 2):
        return "category"
    return "text"


def plan_columns(
    con: duckdb.DuckDBPyConnection, table: str, headers: list[str], roles: dict[str, RoleMatch],
    only: Collection[str] | None = None,
) -> list[ColumnPlan]:
    """One plan per header: its column name, role and kind. With `only` (column names), the
    others are named but not profiled (their kind is left as text): for callers that build only
    those columns (`icp score`), each column's kind being worked out from its own values."""
    role_names = {m.role for m in roles.values()}
    used = set(DERIVED) | role_names | {r.name for r in ROLES}
    names = {}
    for header in headers:
        if header in roles:
            continue
        name, n = snake_case(header), 2
        base = name
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        names[header] = name
    generic = [h for h in headers if h not in roles and (only is None or names[h] in only)]
    kinds = profile_columns(con, table, generic)
    plans = []
    for header in headers:
        match = roles.get(header)
        if match:
            plans.append(ColumnPlan(header, match.role, match.role, ROLE_BY_NAME[match.role].kind, match.confidence))
            continue
        plans.append(ColumnPlan(header, names[header], None, kinds.get(header, "text"), None))
    dates = [p for p in plans if p.kind == "date" and (only is None or p.name in only)]
    firsts = _day_first(con, table, [p.source for p in dates])
    return [ColumnPlan(p.source, p.name, p.role, p.kind, p.confidence, firsts.get(p.source, False)) for p in plans]


def _day_first(con, table: str, columns: list[str]) -> dict[str, bool]:
    """A slash date column is day-first when its first part goes past 12 more often than its second."""
    if not columns:
        return {}
    parts = []
    for col in columns:
        r = _raw(_q(col))
        first = f"TRY_CAST(regexp_extract({r}, '^(\\d{{1,2}})/(\\d{{1,2}})/', 1) AS INTEGER)"
        second = f"TRY_CAST(regexp_extract({r}, '^(\\d{{1,2}})/(\\d{{1,2}})/', 2) AS INTEGER)"
        parts += [f"count(*) FILTER (WHERE {first} > 12)", f"count(*) FILTER (WHERE {second} > 12)"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {_q(table)}").fetchone()
    return {col: row[2 * i] > row[2 * i + 1] for i, col in enumerate(columns)}


def _value_expr(plan: ColumnPlan, cell: str) -> str:
    """The normalized value of a cell that has been through icp_cell already (not categories and
    countries: their values come from a map of the column's distinct labels)."""
    kind = plan.kind
    if kind in ("text", "stage"):
        return cell
    if kind == "domain":
        return f"icp_domain({cell})"
    if kind in ("money", "number"):
        return f"icp_number({cell})"
    if kind == "employees":
        return f"icp_employees({cell})"
    if kind == "year":
        return f"icp_year({cell})"
    if kind == "list":
        return f"icp_list({cell})"
    if kind == "flag":
        return f"icp_bool({cell})"
    if kind == "churn":
        lowered = f"lower({cell})"
        return (
            f"coalesce(icp_bool({cell}), CASE WHEN regexp_matches({lowered}, '{_CHURN_WORDS}') THEN true "
            f"WHEN regexp_matches({lowered}, '{_ACTIVE_WORDS}') THEN false END)"
        )
    if kind == "date":
        return f"icp_date({cell}, {'true' if plan.dayfirst else 'false'})"
    raise ValueError(f"unknown kind {kind}")


def _label_map(con, cells: str, plan: ColumnPlan, alias: str) -> None:
    """Table `alias` (raw, value) from each distinct cell of a category or country column to its
    normalized value; `cells` is the column's lookup (raw, n, first_row, cell)."""
    if plan.kind == "category":
        # The display form of a label is its most common spelling once trimmed (ties: the first seen).
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {_q(alias)} AS
            WITH spellings AS (
                SELECT cell AS raw, regexp_replace(cell, '\\s+', ' ', 'g') AS spelling,
                    sum(n) AS n, min(first_row) AS first_row
                FROM {_q(cells)} WHERE cell IS NOT NULL GROUP BY ALL
            ), keyed AS (
                SELECT *, icp_label_key(spelling) AS key,
                    sum(n) OVER (PARTITION BY icp_label_key(spelling), spelling) AS total,
                    min(first_row) OVER (PARTITION BY icp_label_key(spelling), spelling) AS seen
                FROM spellings)
            SELECT raw, first(spelling ORDER BY total DESC, seen) OVER (PARTITION BY key) AS value FROM keyed"""
        )
        return
    distinct = [r[0] for r in con.execute(
        f"SELECT DISTINCT cell FROM {_q(cells)} WHERE cell IS NOT NULL").fetchall()]
    frame = pd.DataFrame({"raw": pd.Series(distinct, dtype="string"),
                          "value": pd.Series([country_code(v) for v in distinct], dtype="string")})
    con.register("_country_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(alias)} AS SELECT raw, value FROM _country_frame")
    finally:
        con.unregister("_country_frame")


def _build_lookup(con, table: str, plan: ColumnPlan, alias: str) -> None:
    """Table `alias` (raw, n, first_row, cell, value[, band]): each distinct raw value of the column
    with its row count, first row, cell and normalized value, each rule run once per distinct value."""
    cells, labels = f"{alias}_cells", f"{alias}_labels"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_q(cells)} AS
        SELECT raw, n, first_row, icp_cell(raw) AS cell FROM (
            SELECT {_q(plan.source)} AS raw, count(*) AS n, min(_row) AS first_row FROM {_q(table)} GROUP BY ALL)"""
    )
    join = ""
    if plan.kind in ("category", "country"):
        _label_map(con, cells, plan, labels)
        value, join = "m.value", f"LEFT JOIN {_q(labels)} AS m ON m.raw = l.cell"
    else:
        value = _value_expr(plan, "l.cell")
    band = ", icp_band_text(l.cell) AS band" if plan.role == "employees" else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(alias)} AS SELECT l.*, {value} AS value{band} "
                f"FROM {_q(cells)} AS l {join}")
    con.execute(f"DROP TABLE {_q(cells)}")
    con.execute(f"DROP TABLE IF EXISTS {_q(labels)}")


def _changed_filter(kind: str, r: str, n: str) -> str:
    """Rows where normalization did more than a plain cast, for the quality panel's 'normalized' note."""
    if kind in ("money", "number", "employees"):
        return f"TRY_CAST({r} AS DOUBLE) IS NULL AND {n} IS NOT NULL"
    if kind == "year":
        return f"TRY_CAST({r} AS INTEGER) IS NULL AND {n} IS NOT NULL"
    if kind == "date":
        return f"TRY_CAST({r} AS DATE) IS NULL AND {n} IS NOT NULL"
    if kind in ("text", "stage"):
        return "false"
    if kind in ("list", "flag", "churn"):
        return f"{n} IS NOT NULL"
    return f"{n} IS NOT NULL AND CAST({n} AS VARCHAR) <> {r}"


_KIND_WORDS = {
    "money": "read as numbers", "number": "read as numbers", "employees": "read as headcounts",
    "year": "read as years", "date": "read as dates", "domain": "normalized to bare domains",
    "country": "mapped to ISO country codes", "category": "labels merged by case and spacing",
    "list": "split into items on ; , |", "flag": "read as yes/no", "churn": "read as churned yes/no",
}


def _stats(kind: str, r: str, n: str, rows: str, first: str, table: str) -> tuple[str, str]:
    """(the aggregates filled, distinct, failures, changed, example; SELECT of up to 3 failed cells)
    for a column of `table` whose cell is `r` and value `n`, each standing for `rows` rows, the
    first being `first`."""
    changed = _changed_filter(kind, r, n)
    failed = f"{r} IS NOT NULL AND ({n} IS NULL{' OR len(' + n + ') = 0' if kind == 'list' else ''})"
    stats = (
        f"sum({rows}) FILTER (WHERE {r} IS NOT NULL), count(DISTINCT {n}), "
        f"sum({rows}) FILTER (WHERE {failed}), sum({rows}) FILTER (WHERE {changed}), "
        f"arg_min({r} || ' → ' || CAST({n} AS VARCHAR), {first}) FILTER (WHERE {changed} AND NOT ({failed}))"
    )
    examples = (f"SELECT {r} FROM {table} WHERE {r} IS NOT NULL AND {n} IS NULL "
                f"GROUP BY {r} ORDER BY min({first}) LIMIT 3")
    return stats, examples


def build_normalized(
    con: duckdb.DuckDBPyConnection, source: str, target: str, list_kind: str, plans: list[ColumnPlan],
    *, reports: bool = True, ordered: bool = True,
) -> tuple[list[ColumnReport], int, int]:
    """Create table `target` (typed, one row per account for account lists) from raw table `source`.

    Returns the column reports (none when not `reports`: `icp score` has no use for them), rows kept
    and duplicate rows merged. Unless `ordered`, the rows are in no particular order: for a
    throw-away table that every reader orders itself (`icp score`), which is then written once.

    A column with few distinct values (industries, countries, headcounts, tech stacks) is normalized
    once per distinct value through a lookup joined back to the rows; a column of mostly distinct
    values (names, domains) row by row. The rules, and so the values, are the same either way.
    """
    src = _q(source)
    total = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    lookups = {i for i, p in enumerate(plans) if p.kind in ("category", "country")}
    candidates = [i for i, p in enumerate(plans) if p.kind in _LOOKUP_SHARE]
    if candidates:
        estimates = ", ".join(f"approx_count_distinct({_q(plans[i].source)})" for i in candidates)
        profiled, *distinct = con.execute(
            f"SELECT count(*), {estimates} FROM {src} WHERE _row <= ?", [_PROFILE_ROWS]).fetchone()
        lookups |= {i for i, n in zip(candidates, distinct, strict=True)
                    if n <= _LOOKUP_SHARE[plans[i].kind] * profiled}
    for i in sorted(lookups):
        _build_lookup(con, source, plans[i], f"_lookup_{i}")

    # Three levels: cells (or looked-up values), then values under their column names, then the
    # columns derived from those; a direct column's cell is kept as _r<i> for its report.
    joins, cells, named = [], ["t._row AS _row"], ["_row"]
    band = None
    for i, plan in enumerate(plans):
        name = _q(plan.name)
        if i in lookups:
            lookup = _q(f"_lookup_{i}")
            joins.append(f"LEFT JOIN {lookup} AS l{i} ON l{i}.raw = t.{_q(plan.source)}")
            cells.append(f"l{i}.value AS n{i}")
            named.append(f"n{i} AS {name}")
            if plan.role == "employees":
                cells.append(f"l{i}.band AS b{i}")
                band = f"b{i}"
        else:
            cells.append(f"icp_cell(t.{_q(plan.source)}) AS r{i}")
            named.append(f"{_value_expr(plan, f'r{i}')} AS {name}")
            if plan.role == "employees":
                band = f"icp_band_text(r{i})"
    # A headcount written as a band ("51-200") keeps its band next to the number.
    if band is not None:
        named.append(f"{band} AS employees_band")
    if reports:  # each direct column's cell, for its report
        named += [f"r{i} AS _r{i}" for i in range(len(plans)) if i not in lookups]
    derived = _derived_columns(plans, list_kind)
    extra = "".join(f", {expr} AS {_q(name)}" for name, expr in derived.items())
    typed = f"""SELECT *{extra} FROM (
            SELECT {', '.join(named)} FROM (
                SELECT {', '.join(cells)} FROM {src} AS t {' '.join(joins)}))"""
    names = [p.name for p in plans]
    if list_kind in ACCOUNT_LISTS:
        names += [n for n in derived if n != "account_key"]
        names += ["employees_band"] if band is not None else []
    repeats = None  # whether an account repeats, once known
    if list_kind in ACCOUNT_LISTS and not (reports or ordered):
        # Written once as it is; merged afterwards only if an account does repeat.
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT _row, CAST(1 AS BIGINT) AS _rows, account_key, "
                    f"{', '.join(_q(n) for n in names)} FROM ({typed})")
        repeats = _repeats(con, target)
        if repeats:
            con.execute(f"ALTER TABLE {_q(target)} RENAME TO _typed")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS {typed}")

    queries = {}
    for i, plan in enumerate(plans if reports else ()):
        if i in lookups:
            queries[i] = _stats(plan.kind, "cell", "value", "n", "first_row", _q(f"_lookup_{i}"))
        else:
            queries[i] = _stats(plan.kind, f"_r{i}", _q(plan.name), "1", "_row", "_typed")
    # The row-by-row columns' figures in one scan of _typed; each lookup's in its own small table.
    found = {i: con.execute(f"SELECT {queries[i][0]} FROM {_q(f'_lookup_{i}')}").fetchone()
             for i in queries if i in lookups}
    direct = [i for i in queries if i not in lookups]
    if direct:
        row = con.execute(f"SELECT {', '.join(queries[i][0] for i in direct)} FROM _typed").fetchone()
        found |= {i: row[5 * j: 5 * j + 5] for j, i in enumerate(direct)}
    columns = []
    for i, plan in enumerate(plans if reports else ()):
        examples = queries[i][1]
        filled, n_distinct, failures, changed, example = found[i]
        filled, failures, changed = int(filled or 0), int(failures or 0), int(changed or 0)
        failure_examples = [r[0] for r in con.execute(examples).fetchall()] if failures else []
        note = ""
        if changed and plan.kind in _KIND_WORDS:
            note = f"{changed:,} {_KIND_WORDS[plan.kind]}" + (f", e.g. {example}" if example and plan.kind not in ("flag", "churn", "list") else "")
        columns.append(ColumnReport(
            source=plan.source, name=plan.name, role=plan.role, kind=plan.kind, confidence=plan.confidence,
            filled_pct=round(100 * filled / total, 1) if total else 0.0, distinct=n_distinct,
            parse_failures=failures, failure_examples=failure_examples, normalized=note,
        ))
    for i in lookups:
        con.execute(f"DROP TABLE {_q(f'_lookup_{i}')}")

    if list_kind not in ACCOUNT_LISTS:
        names += ["employees_band"] if band is not None else []
        names += list(derived)
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT _row, {', '.join(_q(n) for n in names)} "
                    f"FROM _typed ORDER BY _row")
    elif repeats is not False:  # else written once above, as it is
        # The first filled value in file order wins for each column of a merged account. Accounts
        # that appear once (nearly all of them) are copied as they are, without aggregating.
        merged = ", ".join(f"arg_min({_q(n)}, _row) AS {_q(n)}" for n in names)
        picked = ", ".join(_q(n) for n in names)
        once = f"SELECT _row, CAST(1 AS BIGINT) AS _rows, account_key, {picked} FROM _typed"
        if repeats or _repeats(con, "_typed"):
            once = f"""{once} WHERE account_key NOT IN (SELECT account_key FROM _repeated)
                UNION ALL
                SELECT min(_row) AS _row, count(*) AS _rows, account_key, {merged}
                FROM _typed WHERE account_key IN (SELECT account_key FROM _repeated) GROUP BY account_key"""
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT * FROM ({once}){' ORDER BY _row' if ordered else ''}")
    con.execute("DROP TABLE IF EXISTS _typed")
    con.execute("DROP TABLE IF EXISTS _repeated")
    kept = con.execute(f"SELECT count(*) FROM {_q(target)}").fetchone()[0]
    return columns, kept, total - kept


def _repeats(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether an account key of `table` repeats; temp table _repeated holds those that do."""
    con.execute("CREATE OR REPLACE TEMP TABLE _repeated AS "
                f"SELECT account_key FROM {_q(table)} GROUP BY account_key HAVING count(*) > 1")
    return con.execute("SELECT count(*) FROM _repeated").fetchone()[0] > 0


def _derived_columns(plans: list[ColumnPlan], list_kind: str) -> dict[str, str]:
    """Columns computed from the role columns: bands, keys for linking, deal outcome and cycle."""
    roles = {p.role for p in plans if p.role}
    derived = {}
    if "employees" in roles:
        derived["size_band"] = 'icp_size_band("employees")'
    if "revenue" in roles:
        derived["revenue_band"] = 'icp_revenue_band("revenue")'
    if "account_name" in roles:
        derived["name_key"] = 'icp_name_key("account_name")'
    if list_kind == "deals":
        if "deal_stage" in roles:
            derived["deal_outcome"] = _outcome_expr()
        cycle = []
        if "sales_cycle_days" in roles:
            cycle.append('"sales_cycle_days"')
        if {"created_date", "closed_date"} <= roles:
            cycle.append("CAST(datediff('day', \"created_date\", \"closed_date\") AS DOUBLE)")
        if cycle:
            derived["cycle_days"] = f"coalesce({', '.join(cycle)})"
    if list_kind in ACCOUNT_LISTS:
        # Same domain, else same normalized name, else same id: one account.
        key = []
        if "domain" in roles:
            key.append("'d:' || \"domain\"")
        if "account_name" in roles:
            key.append("'n:' || icp_name_key(\"account_name\")")
        if "account_id" in roles:
            key.append("'i:' || \"account_id\"")
        key.append("'r:' || CAST(_row AS VARCHAR)")
        derived["account_key"] = f"coalesce({', '.join(key)})"
    return derived


def _outcome_expr() -> str:
    stage = "lower(\"deal_stage\")"
    return (
        f"CASE WHEN \"deal_stage\" IS NULL THEN NULL "
        f"WHEN regexp_matches({stage}, '{_LOST_WORDS}') THEN 'lost' "
        f"WHEN regexp_matches({stage}, '{_WON_WORDS}') THEN 'won' ELSE 'open' END"
    )
