"""Turn a raw table (every cell as uploaded text) into the typed, normalized table of one list.

All the work is SQL over DuckDB (the macros of icp.normalize); Python only decides what to run
and maps small sets of distinct values (countries). Identifiers are quoted, values never spliced.
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import NamedTuple

import duckdb
import pandas as pd

from icp.data import semantics
from icp.data.catalog import registered
from icp.data.reports import ColumnReport, ListReport, MergeExample
from icp.data.roles import (
    ACCOUNT_LISTS,
    ANALYSE,
    IGNORE,
    ROLE_BY_NAME,
    ROLES,
    RoleMatch,
    guess_roles,
    roles_for,
)
from icp.errors import InputFileError
from icp.normalize import _BARE_DOMAIN, country_code
from icp.normalize import quote_ident as _q

# Profiling a generic column looks at the first rows only: enough to tell a number from a label.
_PROFILE_ROWS = 200_000
_NUMBER_SHARE = 0.95
_DATE_SHARE = 0.95
_LIST_SHARE = 0.3
_MAX_CATEGORIES = 1000
# A column whose distinct values are at most this share of its rows (in the first _PROFILE_ROWS) is
# normalized once per distinct value and joined back: a million rows of a dozen industries cost a
# dozen rule runs, not a million. Kinds whose rules are cheap on a clean cell (a plain number is
# read by a cast) are looked up only when nearly all their values repeat, since grouping and
# joining a column costs about as much; text and domains, read row by row, never are.
_LOOKUP_SHARE = {"list": 0.5, "employees": 0.5, "date": 0.5, "flag": 0.5, "churn": 0.5,
                 "money": 0.05, "number": 0.05, "year": 0.05}

# "www." and a lower-case ASCII domain: icp_domain strips the one "www." and keeps the rest as it is.
_WWW_DOMAIN = "'" + r"www\." + _BARE_DOMAIN + "'"


def merged_rows_table(list_kind: str) -> str:
    """The table mapping each merged row of an account list (all but an account's first) to its
    account's first row: how an export gives back every uploaded row, not one per account."""
    return f"rows_{list_kind}"


DERIVED = (
    "_row", "_rows", "account_key", "name_key", "size_band", "employees_band", "revenue_band",
    "deal_outcome", "cycle_days",
)

_CHURN_WORDS = r"churn|cancel|lost|inactive|former|terminat|closed|left"
_ACTIVE_WORDS = r"active|current|customer|live|retain|renew|paying"
_WON_WORDS = r"\bwon\b|\bwin\b|signed|booked|closed ?- ?won|^closedwon$"
_LOST_WORDS = r"\blost\b|\bloss\b|dead|disqualif|rejected|no decision|closed ?- ?lost|^closedlost$|churn"


# Durations past these are a data error (a load date taken for a creation date), never a customer.
DURATION_LIMITS = {"sales_cycle_days": 20 * 365.25, "tenure_months": 20 * 12, "cycle_days": 20 * 365.25}
# No company employs more (the largest employers have about 2-3 million): a headcount above is a
# typo or a cell of another column, and would stretch every band and chart of company size.
MAX_EMPLOYEES = 10_000_000


@dataclass(frozen=True)
class ColumnPlan:
    source: str
    name: str
    role: str | None
    kind: str
    confidence: float | None
    dayfirst: bool = False
    excluded: str | None = None  # why no analysis reads the column (a key of semantics.REASONS)
    chosen: bool = False  # the role or the exclusion is the user's own choice
    # Category labels the user merged: (label, label it becomes), matched by case and spacing.
    merges: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Normalized:
    """What build_normalized made: the column reports, rows kept, duplicate rows merged and the
    first accounts that merged several rows."""

    columns: list[ColumnReport]
    kept: int
    merged: int
    merges: list[MergeExample]


def auto_roles(con: duckdb.DuckDBPyConnection, table: str, headers: list[str], list_kind: str,
               ) -> tuple[dict[str, RoleMatch], dict[str, semantics.Profile]]:
    """The role of each header that has one, chosen by its spelling and checked against its values,
    and every column's profile (for `plan_columns`)."""
    profiles = semantics.profile(con, table, headers)
    roles = guess_roles(headers, list_kind,
                        fit=lambda header, role: semantics.role_fit(role, profiles[header], list_kind))
    return roles, profiles


def snake_case(header: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in header.casefold()).split()
    name = "_".join(words) or "column"
    return f"c_{name}" if name[0].isdigit() else name


def _raw(ref: str) -> str:
    return f"icp_cell({ref})"


def resolve_mapping(headers: list[str], kind: str, automatic: dict[str, RoleMatch], mapping, display: str,
                    previous: ListReport | None = None):
    """Automatic roles, overridden by the user's choices: (roles, choices to analyse or leave out
    columns without a role). A role of None makes a column generic."""
    if not mapping:
        return automatic, {}
    allowed = {r.name for r in roles_for(kind)}
    chosen_roles: dict[str, RoleMatch] = {}
    choices: dict[str, str] = {}
    old_columns = {c.source: c for c in previous.columns} if previous is not None else {}
    for column, role in mapping.items():
        if column not in headers:
            raise InputFileError(display, f"has no column named '{column}'.")
        if role in (ANALYSE, IGNORE):
            choices[column] = role
            continue
        if role is None:
            continue
        if role not in allowed:
            raise InputFileError(display, f"'{role}' is not a role for a {kind} list.")
        confidence = 1.0
        old = old_columns.get(column)
        if old is not None and old.role == role and old.confidence is not None:
            confidence = old.confidence
        chosen_roles[column] = RoleMatch(column, role, confidence)
    taken = {}
    for match in chosen_roles.values():
        if match.role in taken:
            raise InputFileError(
                display, f"columns '{taken[match.role]}' and '{match.column}' cannot both be {ROLE_BY_NAME[match.role].label}.")
        taken[match.role] = match.column
    roles = dict(chosen_roles)
    # Columns the user did not mention keep their automatic role unless it is now taken.
    for column, match in automatic.items():
        if column not in mapping and match.role not in taken:
            roles[column] = match
            taken[match.role] = column
    return roles, choices


def profile_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, tuple[str, int]]:
    """Guess the kind of each generic (unmapped) column from its values; with its distinct values."""
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
        kinds[col] = (_kind_from_profile(col, filled, numbers, flags, dates, distinct, lists), distinct)
    return kinds


def _kind_from_profile(header, filled, numbers, flags, dates, distinct, lists) -> str:
    if filled == 0:
        return "text"
    if flags == filled and distinct <= 2:
        return "flag"
    if numbers >= _NUMBER_SHARE * filled:
        # A code made of digits (SIC 7372, a product code) names a class; it is not an amount.
        words = semantics.header_words(header)
        return "category" if words and words[-1] in ("code", "sic", "naics") else "number"
    if dates >= _DATE_SHARE * filled:
        return "date"
    if lists >= _LIST_SHARE * filled or header.casefold().endswith("list"):
        return "list"
    if distinct <= _MAX_CATEGORIES and distinct <= max(20, filled // 2):
        return "category"
    return "text"


def plan_columns(
    con: duckdb.DuckDBPyConnection, table: str, headers: list[str], roles: dict[str, RoleMatch],
    only: Collection[str] | None = None, *, profiles: dict[str, semantics.Profile] | None = None,
    choices: dict[str, str] | None = None, chosen: Collection[str] = (),
) -> list[ColumnPlan]:
    """One plan per header: its column name, role, kind and whether analysis may read it. With
    `only` (column names), the others are named but not profiled (their kind is left as text): for
    callers that build only those columns (`icp score`), each column's kind being worked out from
    its own values. `choices`: the user's "attribute" (analyse it) or "ignore" per generic column;
    `chosen`: the headers whose role the user chose."""
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
    if profiles is None:
        profiles = semantics.profile(con, table, generic)
    choices = choices or {}
    plans = []
    for header in headers:
        match = roles.get(header)
        if match:
            plans.append(ColumnPlan(header, match.role, match.role, ROLE_BY_NAME[match.role].kind, match.confidence,
                                    chosen=header in chosen))
            continue
        kind, distinct = kinds.get(header, ("text", None))
        choice = choices.get(header)
        if choice == "ignore":
            reason = "user"
        elif choice == "attribute" or header not in kinds:
            reason = None
        else:
            reason = semantics.excluded(header, profiles[header], distinct)
        if semantics.text_kind(reason):
            kind = "text"
        plans.append(ColumnPlan(header, names[header], None, kind, None, excluded=reason,
                                chosen=choice in ("attribute", "ignore")))
    dates = [p for p in plans if p.kind == "date" and (only is None or p.name in only)]
    firsts = _day_first(con, table, [p.source for p in dates])
    return [replace(p, dayfirst=firsts.get(p.source, False)) for p in plans]


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
        # A bare domain written with "www." (as many exports write websites) is that domain: its
        # full rules, four regex rewrites a cell, run only on the others (2 s a million cells).
        return f"CASE WHEN regexp_full_match({cell}, {_WWW_DOMAIN}) THEN substr({cell}, 5) ELSE icp_domain({cell}) END"
    if kind in ("money", "number"):
        if (limit := DURATION_LIMITS.get(plan.role)) is not None:
            return f"list_transform([icp_number({cell})], lambda v: CASE WHEN v BETWEEN 0 AND {limit} THEN v END)[1]"
        return f"icp_number({cell})"
    if kind == "employees":
        return f"list_transform([icp_employees({cell})], lambda v: CASE WHEN v <= {MAX_EMPLOYEES} THEN v END)[1]"
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
        if plan.merges:
            _merge_labels(con, alias, plan.merges)
        return
    distinct = [r[0] for r in con.execute(
        f"SELECT DISTINCT cell FROM {_q(cells)} WHERE cell IS NOT NULL").fetchall()]
    frame = pd.DataFrame({"raw": pd.Series(distinct, dtype="string"),
                          "value": pd.Series([country_code(v) for v in distinct], dtype="string")})
    with registered(con, "_country_frame", frame):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(alias)} AS SELECT raw, value FROM _country_frame")


def _merge_labels(con, alias: str, merges: tuple[tuple[str, str], ...]) -> None:
    """Rewrite the user's merged labels in label table `alias`; matched by case and spacing, so a
    merge made on one upload still applies when the most common spelling of a label changes."""
    frame = pd.DataFrame(merges, columns=["merged", "kept"], dtype="string")
    with registered(con, "_label_merges", frame):
        con.execute(
            f"""UPDATE {_q(alias)} SET value = m.kept FROM _label_merges AS m
            WHERE icp_label_key({_q(alias)}.value) = icp_label_key(regexp_replace(m.merged, '\\s+', ' ', 'g'))"""
        )


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


_STATS = 7  # aggregates per column in _stats


def _stats(plan: ColumnPlan, r: str, n: str, rows: str, first: str, table: str) -> tuple[str, str]:
    """(the aggregates filled, distinct, failures, changed, example, implausible, implausible
    examples; SELECT of up to 3 failed cells) for a column of `table` whose cell is `r` and value
    `n`, each standing for `rows` rows, the first being `first`. A duration read as a number but
    out of bounds (a negative sales cycle) is implausible, not a failure to read."""
    kind = plan.kind
    changed = _changed_filter(kind, r, n)
    failed = f"{r} IS NOT NULL AND ({n} IS NULL{' OR len(' + n + ') = 0' if kind == 'list' else ''})"
    implausible = "false"
    if plan.role in DURATION_LIMITS:
        implausible = f"icp_number({r}) IS NOT NULL AND {n} IS NULL"
        failed = f"{r} IS NOT NULL AND icp_number({r}) IS NULL"
    elif kind == "employees":
        implausible = f"icp_employees({r}) IS NOT NULL AND {n} IS NULL"
        failed = f"{r} IS NOT NULL AND icp_employees({r}) IS NULL"
    stats = (
        f"sum({rows}) FILTER (WHERE {r} IS NOT NULL), count(DISTINCT {n}), "
        f"sum({rows}) FILTER (WHERE {failed}), sum({rows}) FILTER (WHERE {changed}), "
        f"arg_min({r} || ' → ' || CAST({n} AS VARCHAR), {first}) FILTER (WHERE {changed} AND NOT ({failed})), "
        f"sum({rows}) FILTER (WHERE {implausible}), "
        f"list({r} ORDER BY {first}) FILTER (WHERE {implausible})[1:3]"
    )
    examples = (f"SELECT {r} FROM {table} WHERE {failed} "
                f"GROUP BY {r} ORDER BY min({first}) LIMIT 3")
    return stats, examples


def build_normalized(
    con: duckdb.DuckDBPyConnection, source: str, target: str, list_kind: str, plans: list[ColumnPlan],
    *, reports: bool = True, ordered: bool = True, merge: bool = True, derived: Collection[str] | None = None,
) -> Normalized:
    """Create table `target` (typed, one row per account for account lists) from raw table `source`.

    Returns the column reports (none when not `reports`: `icp score` has no use for them), rows kept,
    duplicate rows merged and examples of merged accounts. Unless `ordered`, the rows are in no
    particular order: for a throw-away table that every reader orders itself (`icp score`), which is
    then written once. Unless `merge`, every row of an account list is an account of its own.
    `derived` names the derived columns (`DERIVED`) to make, when not all: `icp score` makes only
    those its ICP reads (the account key, and what merging reads, are always made).

    A column with few distinct values (industries, countries, headcounts, tech stacks) is normalized
    once per distinct value through a lookup joined back to the rows; a column of mostly distinct
    values (names, domains) row by row. The rules, and so the values, are the same either way.
    """
    total = con.execute(f"SELECT count(*) FROM {_q(source)}").fetchone()[0]
    lookups = _lookups(con, source, plans)
    typed = _typed(plans, list_kind, lookups, source, reports=reports, merge=merge, wanted=derived)
    repeats = None  # whether an account repeats, once known
    if list_kind in ACCOUNT_LISTS:
        con.execute(f"DROP TABLE IF EXISTS {_q(merged_rows_table(target))}")
    if list_kind in ACCOUNT_LISTS and not (reports or ordered):
        # Written once as it is; merged afterwards only if an account does repeat.
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT _row, CAST(1 AS BIGINT) AS _rows, account_key, "
                    f"{', '.join(_q(n) for n in typed.names)} FROM ({typed.sql})")
        _attach_to_ids(con, target, plans)
        repeats = _repeats(con, target)
        if repeats:
            con.execute(f"ALTER TABLE {_q(target)} RENAME TO _typed")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS {typed.sql}")
        if list_kind in ACCOUNT_LISTS:
            _attach_to_ids(con, "_typed", plans)
    columns = _column_reports(con, plans, list_kind, lookups, total) if reports else []
    for i in lookups:
        con.execute(f"DROP TABLE {_q(f'_lookup_{i}')}")
    merges = _write_target(con, target, list_kind, plans, typed, repeats, reports=reports, ordered=ordered)
    con.execute("DROP TABLE IF EXISTS _typed")
    con.execute("DROP TABLE IF EXISTS _repeated")
    kept = con.execute(f"SELECT count(*) FROM {_q(target)}").fetchone()[0]
    return Normalized(columns, kept, total - kept, merges)


def _lookups(con: duckdb.DuckDBPyConnection, source: str, plans: list[ColumnPlan]) -> set[int]:
    """The columns normalized through a lookup of their distinct values (built here as _lookup_<i>):
    categories and countries always, the kinds of _LOOKUP_SHARE when few of their first rows differ."""
    lookups = {i for i, p in enumerate(plans) if p.kind in ("category", "country")}
    candidates = [i for i, p in enumerate(plans) if p.kind in _LOOKUP_SHARE]
    if candidates:
        estimates = ", ".join(f"approx_count_distinct({_q(plans[i].source)})" for i in candidates)
        profiled, *distinct = con.execute(
            f"SELECT count(*), {estimates} FROM {_q(source)} WHERE _row <= ?", [_PROFILE_ROWS]).fetchone()
        lookups |= {i for i, n in zip(candidates, distinct, strict=True)
                    if n <= _LOOKUP_SHARE[plans[i].kind] * profiled}
    for i in sorted(lookups):
        _build_lookup(con, source, plans[i], f"_lookup_{i}")
    return lookups


class _Typed(NamedTuple):
    sql: str  # SELECT of the typed rows (and each direct column's cell as _r<i>, for its report)
    names: list[str]  # the columns the list's table keeps, derived ones of account lists included
    derived: dict[str, str]  # derived column -> expression
    band: str | None  # the expression of the employees band, when a headcount column has one


def _typed(plans: list[ColumnPlan], list_kind: str, lookups: set[int], source: str, *, reports: bool,
           merge: bool, wanted: Collection[str] | None = None) -> _Typed:
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
    derived = _derived_columns(plans, list_kind, merge)
    if wanted is not None:
        # _attach_to_ids links a row without an id by the name key; the account key is the merge's.
        roles = {p.role for p in plans}
        wanted = {*wanted, "account_key", *(["name_key"] if {"account_id", "account_name"} <= roles else [])}
        derived = {name: expr for name, expr in derived.items() if name in wanted}
    extra = "".join(f", {expr} AS {_q(name)}" for name, expr in derived.items())
    sql = f"""SELECT *{extra} FROM (
            SELECT {', '.join(named)} FROM (
                SELECT {', '.join(cells)} FROM {_q(source)} AS t {' '.join(joins)}))"""
    names = [p.name for p in plans]
    if list_kind in ACCOUNT_LISTS:
        names += [n for n in derived if n != "account_key"]
        names += ["employees_band"] if band is not None else []
    return _Typed(sql, names, derived, band)


def _column_reports(con: duckdb.DuckDBPyConnection, plans: list[ColumnPlan], list_kind: str, lookups: set[int],
                    total: int) -> list[ColumnReport]:
    """Each column's report, from _typed and the lookups: how filled, how many distinct values, what
    did not parse and what normalization changed."""
    queries = {}
    for i, plan in enumerate(plans):
        if i in lookups:
            queries[i] = _stats(plan, "cell", "value", "n", "first_row", _q(f"_lookup_{i}"))
        else:
            queries[i] = _stats(plan, f"_r{i}", _q(plan.name), "1", "_row", "_typed")
    # The row-by-row columns' figures in one scan of _typed; each lookup's in its own small table.
    found = {i: con.execute(f"SELECT {queries[i][0]} FROM {_q(f'_lookup_{i}')}").fetchone()
             for i in queries if i in lookups}
    direct = [i for i in queries if i not in lookups]
    if direct:
        row = con.execute(f"SELECT {', '.join(queries[i][0] for i in direct)} FROM _typed").fetchone()
        found |= {i: row[_STATS * j: _STATS * (j + 1)] for j, i in enumerate(direct)}
    cycles = _implausible_cycles(con, plans) if list_kind == "deals" else None
    columns = []
    for i, plan in enumerate(plans):
        examples = queries[i][1]
        filled, n_distinct, failures, changed, example, implausible, odd = found[i]
        filled, failures, changed = int(filled or 0), int(failures or 0), int(changed or 0)
        implausible, odd = int(implausible or 0), [str(x) for x in odd or []]
        if cycles and plan.role == "closed_date":
            implausible, odd = cycles
        failure_examples = [r[0] for r in con.execute(examples).fetchall()] if failures else []
        note = ""
        if changed and plan.kind in _KIND_WORDS:
            note = f"{changed:,} {_KIND_WORDS[plan.kind]}" + (f", e.g. {example}" if example and plan.kind not in ("flag", "churn", "list") else "")
        columns.append(ColumnReport(
            source=plan.source, name=plan.name, role=plan.role, kind=plan.kind, confidence=plan.confidence,
            filled_pct=round(100 * filled / total, 1) if total else 0.0, distinct=n_distinct,
            parse_failures=failures, failure_examples=failure_examples, normalized=note,
            excluded=plan.excluded, chosen=plan.chosen, implausible=implausible, implausible_examples=odd,
        ))
    return columns


def _write_target(con: duckdb.DuckDBPyConnection, target: str, list_kind: str, plans: list[ColumnPlan],
                  typed: _Typed, repeats: bool | None, *, reports: bool, ordered: bool) -> list[MergeExample]:
    """The list's table from _typed: as it is for deals and orders; for account lists, one row per
    account, the rows of an account that repeats merged (and which rows, in merged_rows_table).
    Returns examples of merged accounts when `reports`."""
    names, merges = typed.names, []
    if list_kind not in ACCOUNT_LISTS:
        names = names + (["employees_band"] if typed.band is not None else []) + list(typed.derived)
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT _row, {', '.join(_q(n) for n in names)} "
                    f"FROM _typed ORDER BY _row")
    elif repeats is not False:  # else written once above, as it is
        # The first filled value in file order wins for each column of a merged account. Accounts
        # that appear once (nearly all of them) are copied as they are, without aggregating.
        merged = ", ".join(f"arg_min({_q(n)}, _row) AS {_q(n)}" for n in names)
        picked = ", ".join(_q(n) for n in names)
        once = f"SELECT _row, CAST(1 AS BIGINT) AS _rows, account_key, {picked} FROM _typed"
        if repeats or _repeats(con, "_typed"):
            if reports:
                merges = _merge_examples(con, plans)
            con.execute(f"""CREATE TABLE {_q(merged_rows_table(target))} AS
                SELECT t._row, f.account_row FROM _typed AS t JOIN (
                    SELECT account_key, min(_row) AS account_row FROM _typed
                    WHERE account_key IN (SELECT account_key FROM _repeated) GROUP BY account_key) AS f
                USING (account_key) WHERE t._row <> f.account_row""")
            once = f"""{once} WHERE account_key NOT IN (SELECT account_key FROM _repeated)
                UNION ALL
                SELECT min(_row) AS _row, count(*) AS _rows, account_key, {merged}
                FROM _typed WHERE account_key IN (SELECT account_key FROM _repeated) GROUP BY account_key"""
        con.execute(f"CREATE TABLE {_q(target)} AS SELECT * FROM ({once}){' ORDER BY _row' if ordered else ''}")
    return merges


_MERGE_EXAMPLES = 5
_MERGED_BY = {"i": "id", "d": "domain", "n": "name"}


def _merge_examples(con: duckdb.DuckDBPyConnection, plans: list[ColumnPlan]) -> list[MergeExample]:
    """The first accounts of _typed (in file order) that merge several rows: which rows, what they
    are called and what they share."""
    roles = {p.role for p in plans}
    shown = [f'CAST({_q(r)} AS VARCHAR)' for r in ("account_name", "domain", "account_id") if r in roles]
    label = f"coalesce({', '.join(shown)}, '')" if shown else "''"
    # A row without an id that joined an account with one did so by its domain, else its name.
    joined = ("""CASE WHEN count(*) FILTER (WHERE "account_id" IS NULL) = 0 THEN 'id'
                 WHEN count(DISTINCT "domain") = 1 AND count("domain") = count(*) THEN 'domain' ELSE 'name' END"""
              if "account_id" in roles and "domain" in roles else "NULL")
    domain = 'any_value("domain")' if "domain" in roles else "NULL"
    name = 'any_value("name_key")' if "account_name" in roles else "NULL"
    rows = con.execute(f"""
        SELECT account_key, count(*), list(_row ORDER BY _row)[1:5], list({label} ORDER BY _row)[1:5],
            {joined}, {domain}, {name}
        FROM _typed WHERE account_key IN (SELECT account_key FROM _repeated)
        GROUP BY account_key ORDER BY min(_row) LIMIT ?""", [_MERGE_EXAMPLES]).fetchall()
    examples = []
    for key, n, numbers, names, joined_by, shared_domain, shared_name in rows:
        by = _MERGED_BY[key[0]] if key[0] != "i" or joined_by is None else joined_by
        value = {"domain": shared_domain, "name": shared_name}.get(by) if key[0] == "i" else None
        examples.append(MergeExample(by=by, value=value or key[2:].split("|")[0], rows=n, row_numbers=numbers,
                                     names=names))
    return examples


# Where two rows named alike disagree (both filled, different), they are two companies: two "Bolt"s,
# one in Tallinn and one in San Francisco.
_TELLING_APART = ("country", "state", "city", "industry")


def _conflict(a: str, b: str, roles: set[str]) -> str:
    """SQL true when rows `a` and `b` disagree on a filled column that tells companies apart."""
    checks = [f'({a}."{r}" IS NOT NULL AND {b}."{r}" IS NOT NULL AND {a}."{r}" <> {b}."{r}")'
              for r in _TELLING_APART if r in roles]
    return " OR ".join(checks) or "false"


def _attach_to_ids(con: duckdb.DuckDBPyConnection, table: str, plans: list[ColumnPlan]) -> None:
    """Settle which rows are one account beyond the plain key (same id, else domain, else name):
    - a row without an account id joins the one account with an id that has its domain (else its
      name) and does not disagree with it on country, state, city or industry; shared by several
      such accounts, it stays an account of its own. Rows with different ids are never one account.
    - rows without an id named alike (no domain to go by) that disagree on country, state, city or
      industry are not one account: each keeps the name with those values as its key."""
    roles = {p.role for p in plans}
    t = _q(table)
    if "account_id" in roles and roles & {"domain", "account_name"}:
        without, with_id = con.execute(f'SELECT count(*) FILTER (WHERE "account_id" IS NULL), count("account_id") '
                                       f"FROM {t}").fetchone()
        if without and with_id:
            keys = []
            telling = "".join(f', "{r}"' for r in _TELLING_APART if r in roles)
            if "domain" in roles:
                keys.append(f"""SELECT 'd:' || "domain" AS k, account_key{telling} FROM {t}
                    WHERE "account_id" IS NOT NULL AND "domain" IS NOT NULL""")
            if "account_name" in roles:
                keys.append(f"""SELECT 'n:' || "name_key" AS k, account_key{telling} FROM {t}
                    WHERE "account_id" IS NOT NULL AND "name_key" IS NOT NULL""")
            con.execute(f"""UPDATE {t} SET account_key = m.key FROM (
                    SELECT r._row, min(a.account_key) AS key
                    FROM {t} AS r JOIN ({' UNION ALL '.join(keys)}) AS a ON a.k = r.account_key
                    WHERE r."account_id" IS NULL
                    GROUP BY r._row
                    HAVING count(DISTINCT a.account_key) = 1 AND NOT bool_or({_conflict('r', 'a', roles)})) AS m
                WHERE {t}._row = m._row""")
    apart = [r for r in _TELLING_APART if r in roles]
    if "account_name" in roles and apart:
        _split_namesakes(con, t, apart)


def _split_namesakes(con: duckdb.DuckDBPyConnection, t: str, apart: list[str]) -> None:
    """Rows keyed by a name alone (no id, no domain) whose filled values disagree are split: in file
    order, a row joins the first group of its name none of whose rows disagrees with it, else
    starts its own. Only such names are fetched, a handful of rows in a real file."""
    differ = " OR ".join(f'count(DISTINCT "{r}") > 1' for r in apart)
    values = ", ".join(f'CAST("{r}" AS VARCHAR)' for r in apart)
    rows = con.execute(f"""SELECT _row, account_key, {values} FROM {t}
        WHERE account_key IN (SELECT account_key FROM {t} WHERE starts_with(account_key, 'n:')
                              GROUP BY account_key HAVING {differ})
        ORDER BY account_key, _row""").fetchall()
    if not rows:
        return
    groups: dict[str, list[list[tuple]]] = {}
    keys = []
    for row, key, *found in rows:
        number = _join_group(tuple(found), groups.setdefault(key, []))
        keys.append((row, f"{key}|{number}" if number else key))
    con.execute("CREATE OR REPLACE TEMP TABLE _namesakes (_row BIGINT, account_key VARCHAR)")
    con.executemany("INSERT INTO _namesakes VALUES (?, ?)", keys)
    con.execute(f"UPDATE {t} SET account_key = n.account_key FROM _namesakes AS n WHERE {t}._row = n._row")
    con.execute("DROP TABLE _namesakes")


def _join_group(values: tuple, groups: list[list[tuple]]) -> int:
    """The number of the first group none of whose rows disagrees with `values` (a value missing on
    either side agrees with anything), after adding them to it; a new group if there is none."""
    for number, group in enumerate(groups):
        if not any(a is not None and b is not None and a != b for other in group for a, b in zip(values, other, strict=True)):
            group.append(values)
            return number
    groups.append([values])
    return len(groups) - 1


def _implausible_cycles(con: duckdb.DuckDBPyConnection, plans: list[ColumnPlan]) -> tuple[int, list[str]] | None:
    """Deals closed before they were created, or more than 20 years after: how many, and the first
    three in words. Their sales cycle is left empty (`_derived_columns`)."""
    roles = {p.role for p in plans}
    if not {"created_date", "closed_date"} <= roles:
        return None
    n, examples = con.execute(f"""
        SELECT count(*), list(format('row {{}}: created {{}}, closed {{}} ({{:,}} days)', _row, "created_date",
                                     "closed_date", d) ORDER BY _row)[1:3]
        FROM (SELECT _row, "created_date", "closed_date",
                     datediff('day', "created_date", "closed_date") AS d FROM _typed)
        WHERE d < 0 OR d > {DURATION_LIMITS['cycle_days']}""").fetchone()
    return int(n), list(examples or [])


def _repeats(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether an account key of `table` repeats; temp table _repeated holds those that do."""
    con.execute("CREATE OR REPLACE TEMP TABLE _repeated AS "
                f"SELECT account_key FROM {_q(table)} GROUP BY account_key HAVING count(*) > 1")
    return con.execute("SELECT count(*) FROM _repeated").fetchone()[0] > 0


def _derived_columns(plans: list[ColumnPlan], list_kind: str, merge: bool = True) -> dict[str, str]:
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
        if roles & {"deal_stage", "won", "closed"}:
            derived["deal_outcome"] = _outcome_expr(roles)
        cycle = []
        if "sales_cycle_days" in roles:
            cycle.append('"sales_cycle_days"')
        if {"created_date", "closed_date"} <= roles:
            # Closed before created (a data-load date taken for the creation date), or after 20 years: empty.
            cycle.append("list_transform([CAST(datediff('day', \"created_date\", \"closed_date\") AS DOUBLE)], "
                         f"lambda d: CASE WHEN d BETWEEN 0 AND {DURATION_LIMITS['cycle_days']} THEN d END)[1]")
        if cycle:
            derived["cycle_days"] = f"coalesce({', '.join(cycle)})"
    if list_kind in ACCOUNT_LISTS:
        # Same id, else same domain, else same normalized name: one account (an id-less row may
        # then join an account with an id, `_attach_to_ids`). Unmerged, every row is its own.
        key = []
        if merge:
            key += ["'i:' || \"account_id\""] if "account_id" in roles else []
            key += ["'d:' || \"domain\""] if "domain" in roles else []
            key += ["'n:' || icp_name_key(\"account_name\")"] if "account_name" in roles else []
        key.append("'r:' || CAST(_row AS VARCHAR)")
        derived["account_key"] = f"coalesce({', '.join(key)})"
    return derived


def _outcome_expr(roles: set[str]) -> str:
    """Won, lost or open: from the won and closed flags where a CRM exports them (Salesforce's
    IsWon / IsClosed, HubSpot's hs_is_closed_won), else from the words of the stage."""
    flags = []
    if "won" in roles:
        flags.append('WHEN "won" THEN \'won\'')
        if "closed" in roles:
            flags.append('WHEN "closed" AND NOT "won" THEN \'lost\'')
    if "closed" in roles:
        flags.append('WHEN NOT "closed" THEN \'open\'')
    stage = "lower(\"deal_stage\")"
    words = (
        f"WHEN \"deal_stage\" IS NULL THEN NULL "
        f"WHEN regexp_matches({stage}, '{_LOST_WORDS}') THEN 'lost' "
        f"WHEN regexp_matches({stage}, '{_WON_WORDS}') THEN 'won' ELSE 'open' END"
    ) if "deal_stage" in roles else "ELSE NULL END"
    return f"CASE {' '.join(flags)} {words}"
