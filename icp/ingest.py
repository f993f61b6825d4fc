"""Turn a raw table (every cell as uploaded text) into the typed, normalized table of one list.

All the work is SQL over DuckDB (the macros of icp.normalize); Python only decides what to run
and maps small sets of distinct values (countries). Identifiers are quoted, values never spliced.
"""

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
    con: duckdb.DuckDBPyConnection, table: str, headers: list[str], roles: dict[str, RoleMatch]
) -> list[ColumnPlan]:
    role_names = {m.role for m in roles.values()}
    generic = [h for h in headers if h not in roles]
    kinds = profile_columns(con, table, generic)
    used = set(DERIVED) | role_names | {r.name for r in ROLES}
    plans = []
    for header in headers:
        match = roles.get(header)
        if match:
            plans.append(ColumnPlan(header, match.role, match.role, ROLE_BY_NAME[match.role].kind, match.confidence))
            continue
        name, n = snake_case(header), 2
        base = name
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        plans.append(ColumnPlan(header, name, None, kinds[header], None))
    dates = [p for p in plans if p.kind == "date"]
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


def _value_expr(plan: ColumnPlan, ref: str, join_alias: str | None) -> str:
    r = _raw(ref)
    kind = plan.kind
    if kind in ("category", "country"):
        return f"{join_alias}.value"
    if kind in ("text", "stage"):
        return r
    if kind == "domain":
        return f"icp_domain({r})"
    if kind in ("money", "number"):
        return f"icp_number({r})"
    if kind == "employees":
        return f"icp_employees({r})"
    if kind == "year":
        return f"icp_year({r})"
    if kind == "list":
        return f"icp_list({r})"
    if kind == "flag":
        return f"icp_bool({r})"
    if kind == "churn":
        lowered = f"lower({r})"
        return (
            f"coalesce(icp_bool({r}), CASE WHEN regexp_matches({lowered}, '{_CHURN_WORDS}') THEN true "
            f"WHEN regexp_matches({lowered}, '{_ACTIVE_WORDS}') THEN false END)"
        )
    if kind == "date":
        return f"icp_date({r}, {'true' if plan.dayfirst else 'false'})"
    raise ValueError(f"unknown kind {kind}")


def _build_lookup(con, table: str, plan: ColumnPlan, alias: str) -> str:
    """A small table from each distinct raw value to its normalized value, joined in later."""
    ref = _raw(_q(plan.source))
    if plan.kind == "category":
        # The display form of a label is its most common spelling once trimmed (ties: the first seen).
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {_q(alias)} AS
            WITH spellings AS (
                SELECT {ref} AS raw, regexp_replace({ref}, '\\s+', ' ', 'g') AS spelling,
                    count(*) AS n, min(_row) AS first_row
                FROM {_q(table)} WHERE {ref} IS NOT NULL GROUP BY ALL
            ), keyed AS (
                SELECT *, icp_label_key(spelling) AS key,
                    sum(n) OVER (PARTITION BY icp_label_key(spelling), spelling) AS total,
                    min(first_row) OVER (PARTITION BY icp_label_key(spelling), spelling) AS seen
                FROM spellings)
            SELECT raw, first(spelling ORDER BY total DESC, seen) OVER (PARTITION BY key) AS value FROM keyed"""
        )
    else:
        distinct = [r[0] for r in con.execute(f"SELECT DISTINCT {ref} FROM {_q(table)} WHERE {ref} IS NOT NULL").fetchall()]
        frame = pd.DataFrame({"raw": pd.Series(distinct, dtype="string"),
                              "value": pd.Series([country_code(v) for v in distinct], dtype="string")})
        con.register("_country_frame", frame)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(alias)} AS SELECT raw, value FROM _country_frame")
        finally:
            con.unregister("_country_frame")
    return alias


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


def build_normalized(
    con: duckdb.DuckDBPyConnection, source: str, target: str, list_kind: str, plans: list[ColumnPlan]
) -> tuple[list[ColumnReport], int, int]:
    """Create table `target` (typed, one row per account for account lists) from raw table `source`.

    Returns the column reports, rows kept and duplicate rows merged.
    """
    joins, selects, stats = [], ["t._row AS _row"], []
    for i, plan in enumerate(plans):
        alias = None
        if plan.kind in ("category", "country"):
            alias = _build_lookup(con, source, plan, f"_lookup_{i}")
            joins.append(f"LEFT JOIN {_q(alias)} ON {_q(alias)}.raw = {_raw('t.' + _q(plan.source))}")
        selects.append(f"{_raw('t.' + _q(plan.source))} AS r{i}")
        selects.append(f"{_value_expr(plan, 't.' + _q(plan.source), _q(alias) if alias else None)} AS n{i}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _norm AS SELECT {', '.join(selects)} FROM {_q(source)} t {' '.join(joins)}")

    for i, plan in enumerate(plans):
        changed = _changed_filter(plan.kind, f"r{i}", f"n{i}")
        failed = f"r{i} IS NOT NULL AND (n{i} IS NULL{' OR len(n' + str(i) + ') = 0' if plan.kind == 'list' else ''})"
        stats += [
            f"count(r{i})", f"count(DISTINCT n{i})", f"count(*) FILTER (WHERE {failed})",
            f"count(*) FILTER (WHERE {changed})",
            f"arg_min(r{i} || ' → ' || CAST(n{i} AS VARCHAR), _row) FILTER (WHERE {changed} AND NOT ({failed}))",
        ]
    row = con.execute(f"SELECT count(*), {', '.join(stats)} FROM _norm").fetchone()
    total = row[0]

    reports = []
    for i, plan in enumerate(plans):
        filled, distinct, failures, changed, example = row[1 + 5 * i: 6 + 5 * i]
        examples = []
        if failures:
            examples = [r[0] for r in con.execute(
                f"SELECT r{i} FROM _norm WHERE r{i} IS NOT NULL AND n{i} IS NULL GROUP BY r{i} ORDER BY min(_row) LIMIT 3"
            ).fetchall()]
        note = ""
        if changed and plan.kind in _KIND_WORDS:
            note = f"{changed:,} {_KIND_WORDS[plan.kind]}" + (f", e.g. {example}" if example and plan.kind not in ("flag", "churn", "list") else "")
        reports.append(ColumnReport(
            source=plan.source, name=plan.name, role=plan.role, kind=plan.kind, confidence=plan.confidence,
            filled_pct=round(100 * filled / total, 1) if total else 0.0, distinct=distinct,
            parse_failures=failures, failure_examples=examples, normalized=note,
        ))

    columns = [f"n{i} AS {_q(p.name)}" for i, p in enumerate(plans)]
    # A headcount written as a band ("51-200") keeps its band next to the number.
    columns += [f"icp_band_text(r{i}) AS employees_band" for i, p in enumerate(plans) if p.role == "employees"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT _row, {', '.join(columns)} FROM _norm")
    derived = _derived_columns(plans, list_kind)
    if derived:
        extra = ", ".join(f"{expr} AS {_q(name)}" for name, expr in derived.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT *, {extra} FROM _typed")
    con.execute("DROP TABLE _norm")
    for i in range(len(plans)):
        con.execute(f"DROP TABLE IF EXISTS _lookup_{i}")

    if list_kind in ACCOUNT_LISTS:
        names = [p.name for p in plans] + [n for n in derived if n != "account_key"]
        names += ["employees_band"] if any(p.role == "employees" for p in plans) else []
        # The first filled value in file order wins for each column of a merged account.
        merged = ", ".join(f"arg_min({_q(n)}, _row) AS {_q(n)}" for n in names)
        con.execute(
            f"""CREATE TABLE {_q(target)} AS
            SELECT min(_row) AS _row, count(*) AS _rows, account_key, {merged}
            FROM _typed GROUP BY account_key ORDER BY min(_row)"""
        )
    else:
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT * FROM _typed ORDER BY _row")
    con.execute("DROP TABLE _typed")
    kept = con.execute(f"SELECT count(*) FROM {_q(target)}").fetchone()[0]
    return reports, kept, total - kept


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
