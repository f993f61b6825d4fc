"""Fit score, tier and reasons of accounts against an ICP, as one SQL query for DuckDB or a warehouse.

What an account passes (each criterion on one column of the accounts):

- an account passes a criterion only when its value is known (NULL never passes), and
  - `in_set`: the value, trimmed and lower-cased, equals one of the criterion's values, trimmed
    and lower-cased. Trimmed means of exactly the characters Python's str.strip() removes
    (`icp.trim`), in the app and in every dialect;
  - `range`: low <= value < high (a missing bound is open; NaN is in no range);
  - `contains`: the list holds an item that, trimmed and lower-cased, equals one of the values;
  - `flag`: value = flag.
- Fit score (DOUBLE, 0-100, 1 decimal) = 100 x the weight of the passed `must` and `nice`
  criteria / the weight of all `must` and `nice` criteria, in integers: weights are counted in
  whole thousandths (`weight_units`), and the score in tenths is 1000 x passed / all, rounded
  half up exactly ((2 x 1000 x passed + all) DIV (2 x all)), then divided by 10. A weight under
  half a thousandth counts for nothing; 0 when no `must` or `nice` criterion has a weight (no
  ICP yet: nothing is a fit); 0 when any `disqualify` criterion passes.
- `icp_in_sam`: every `must` passes and no `disqualify` passes. This is what defines SAM.
- Tier: a tier ranks SAM accounts. Outside SAM (a must missed or not known, or a disqualifier
  passed) and at a score of 0 an account is 'Not a fit'. In SAM: 'Tier 1' in thresholds mode at
  >= tier1, in capacity mode the first `tiers.capacity` accounts of SAM by (score DESC, key ASC);
  then 'Tier 2' at >= tier2, 'Tier 3' at >= tier3, else 'Not a fit'. Capacity mode therefore
  needs a key column with one distinct value per account (`account_key`), or ties are arbitrary.
- `icp_insufficient` (inside the app): not a fit only for want of data: no disqualifier passes, no
  must is known to fail, and a must's value is unknown. Counted apart from 'Not a fit'.
- `icp_reasons`: `met: ... | missed: ... | disqualified: ...`, each criterion in the words of
  `icp.profile.model.describe`, empty parts left out; a missed criterion whose value is missing reads
  `Label (unknown)`.
- Column types: numbers DOUBLE, lists VARCHAR[] (the dialect's array of strings), flags BOOLEAN,
  categories VARCHAR.

The query is a sqlglot expression tree rendered for the dialect, so column names are identifiers
(quoted, except Snowflake's plain names: `_identifiers`) and every value of the ICP is a literal
escaped by the dialect's own rules; no user text is ever formatted into SQL. What differs per
dialect: the list predicate (`_contains`), how the trim characters are written and PostgreSQL's
lower-casing collation (`_normalized`), Snowflake's integer division (`_int_div`), and
PostgreSQL's exported query, shaped so each criterion is tested once (`_query_once`). Tiers
compare the score as output, so no account shown at 75.0 misses a 75 threshold.

Inside the app, DuckDB runs the same rules shaped for speed (`score_sql` in its DuckDB dialect):
each criterion is tested once, in a level of its own that EXCLUDE drops from the output, and a
list criterion may be given the list items that pass it (`spellings`), matched exactly with
list_contains. `combinations_sql` applies the score, tier and SAM expressions to combinations of
passed criteria rather than to accounts. The exported scoring.sql keeps the portable shape.
"""

import functools
import itertools
import math
import re
from functools import reduce

import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from icp import trim
from icp.profile.model import COLUMN_TYPES, ICP, Criterion, TierRules, describe
from icp.relation import Relation

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark")
# sqlglot loads a dialect on its first use. Two server threads first using one at once could
# render with the generic dialect instead (a `:items` placeholder DuckDB cannot parse, seen under
# load); loading them here, under the import lock, leaves nothing to race for.
for _dialect in DIALECTS:
    Dialect.get_or_raise(_dialect)
_EXPORT_KEY = "account_key"  # the tie-break column the exported scoring.sql reads in capacity mode
_OUTPUTS = ("icp_fit_score", "icp_tier", "icp_in_sam", "icp_insufficient", "icp_reasons")
_ALIAS = "s"
_ITEM = "item"  # lambda / UNNEST variable of the list predicate; quoted, so it never clashes with keywords
_ROW = "icp_account"  # the whole row of an account in PostgreSQL's scoring.sql (see _query_once)
_HELPER = "__icp_pass_"  # columns holding each criterion's test in DuckDB's score_sql, dropped from its output
# Weights (0-10, any float) are counted in whole thousandths, so the score is integer arithmetic,
# exact and the same in every engine: PostgreSQL rounded 100 x a DOUBLE sum through 15 significant
# digits (51.24999999999999 to 51.3, 51.2 elsewhere) and BigQuery added FLOAT64 weights.
WEIGHT_UNITS = 1000
# PostgreSQL lower-cases by the database's collation: in a C-locale database 'Ô' stays 'Ô'. ICU's
# root locale lower-cases every letter whatever the database's own.
_POSTGRES_LOWER_COLLATION = "und-x-icu"
# Snowflake upper-cases unquoted names, so a table made the ordinary way (CREATE TABLE accounts
# (industry ...)) is ACCOUNTS(INDUSTRY) and a quoted "industry" finds nothing. A plain name goes
# unquoted; one that is not plain, or a reserved word (docs.snowflake.com, "Reserved & limited
# keywords"), stays quoted and must be spelled exactly so.
_SNOWFLAKE_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_SNOWFLAKE_RESERVED = frozenset("""
    ACCOUNT ALL ALTER AND ANY AS ASC BETWEEN BY CASE CAST CHECK COLUMN CONNECT CONNECTION CONSTRAINT
    CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DATABASE DELETE DESC
    DISTINCT DROP ELSE EXISTS FALSE FOLLOWING FOR FROM FULL GRANT GROUP GSCLUSTER HAVING ILIKE IN
    INCREMENT INNER INSERT INTERSECT INTO IS ISSUE JOIN LATERAL LEFT LIKE LOCALTIME LOCALTIMESTAMP
    MINUS NATURAL NOT NULL OF ON OR ORDER ORGANIZATION OUTER QUALIFY REGEXP REVOKE RIGHT RLIKE ROW
    ROWS SAMPLE SCHEMA SELECT SET SOME START TABLE TABLESAMPLE THEN TO TRIGGER TRUE TRY_CAST UNION
    UNIQUE UPDATE USING VALUES VIEW WHEN WHENEVER WHERE WINDOW WITH""".split())


def columns_read(icp: ICP) -> dict[str, str]:
    """Every column the ICP's criteria read, in criteria order, with its DuckDB type."""
    types: dict[str, str] = {}
    for criterion in icp.criteria:
        wanted = COLUMN_TYPES[criterion.kind]
        if types.setdefault(criterion.attribute, wanted) != wanted:
            raise ValueError(f"criteria read column {criterion.attribute!r} both as {types[criterion.attribute]} "
                             f"and as {wanted}; one column has one type")
    return types


def score_sql(icp: ICP, source: Relation | str, *, key: str = "account_key", reasons: bool = True,
              dialect: str = "duckdb", ordered: bool = True,
              spellings: tuple[tuple[str, ...] | None, ...] | None = None) -> str:
    """SELECT s.*, icp_fit_score, icp_tier, icp_in_sam[, icp_reasons] FROM source, best first.

    `ordered=False` leaves out the final ORDER BY, for callers that count, join or order by
    their own keys: sorting a million scored accounts costs several times the scoring itself.

    `source` is a Relation (a table, or a query in DuckDB SQL, parsed and rendered for `dialect`)
    or a plain string naming a table (possibly qualified); `key` is the column that breaks ties in order and in capacity mode.
    The source must not have columns named like the outputs already (`score_frame` drops them).

    `spellings` (DuckDB only), one entry per criterion: for a `contains` criterion, every distinct
    item of the source's list column that passes the item test (`spellings_sql`), so that lists
    are matched on them exactly instead of trimming and lower-casing each item of each list; None
    for the other criteria, or to test items as the exported SQL does.
    """
    _check_dialect(dialect)
    if spellings is not None and (dialect != "duckdb" or len(spellings) != len(icp.criteria)):
        raise ValueError("spellings are for DuckDB, one entry per criterion")
    return _score_sql(icp.criteria, icp.tiers, source, key, reasons, dialect, ordered, spellings)


@functools.lru_cache(maxsize=256)
def _score_sql(criteria: tuple[Criterion, ...], tiers: TierRules, source: str, key: str, reasons: bool,
               dialect: str, ordered: bool, spellings: tuple[tuple[str, ...] | None, ...] | None = None) -> str:
    """score_sql, remembered: building and rendering the expression tree costs tens of milliseconds,
    and every page rerun asks for the same few queries again. Only the criteria and tier rules of
    an ICP go into the query, so only they are part of the key."""
    accounts, passes, helpers = _source(source), None, ()
    if dialect == "duckdb" and criteria:
        # Each criterion is tested once, in a level of its own, and the score, SAM flag, tier and
        # reasons read the result: written inline, a list test (the costly one) ran up to three
        # times per account. The helper columns are left out of the output with DuckDB's EXCLUDE.
        helpers = tuple(f"{_HELPER}{i}" for i in range(len(criteria)))
        spelled = spellings or (None,) * len(criteria)
        tested = exp.select(_star(), *(exp.alias_(_passes(c, dialect, words), name, quoted=True)
                                       for c, name, words in zip(criteria, helpers, spelled, strict=True)))
        tested = tested.from_(accounts)
        accounts = tested.subquery(exp.to_identifier(_ALIAS, quoted=True))
        passes = [(c, _col(name)) for c, name in zip(criteria, helpers, strict=True)]
    query = _query(criteria, tiers, accounts, key=key, capacity_key=key, in_sam=True, reasons=reasons,
                   dialect=dialect, passes=passes, hidden=helpers)
    if not ordered:
        query.set("order", None)
    return _identifiers(query, dialect).sql(dialect=dialect)


# Up to this many spellings, a list is matched by one list_contains per spelling (native, fast).
_CONTAINS_CALLS = 4


def pass_sql(criterion: Criterion, table: str, spellings: tuple[str, ...] | None = None) -> str:
    """SELECT rowid, whether each account of `table` passes `criterion` (DuckDB): the same test
    `score_sql` makes, one criterion at a time, for callers that keep each criterion's result and
    count combinations of them (`combinations_sql`) instead of scoring every account again.

    `spellings` (a `contains` criterion only) are the column's distinct items that pass
    (`spellings_sql`): a list passes exactly when it holds one of them, which is tested without
    trimming and lower-casing every item of every list again.
    """
    accounts = exp.to_table(table, dialect="duckdb")
    for part in accounts.parts:
        part.set("quoted", True)
    accounts.set("alias", exp.TableAlias(this=exp.to_identifier(_ALIAS, quoted=True)))
    test = _passes(criterion, "duckdb", spellings)
    return exp.select(exp.alias_(exp.column("rowid", table=_ALIAS, quoted=True), "r", quoted=True),
                      exp.alias_(test, "p", quoted=True)).from_(accounts).sql("duckdb")


def spellings_sql(criterion: Criterion) -> str:
    """SELECT the items of the list given as its one parameter (`?`) that pass a `contains`
    criterion's item test (the test `score_sql` applies to each item of a list)."""
    item = exp.column(_ITEM, quoted=True)
    items = exp.Unnest(expressions=[exp.Placeholder()], alias=exp.TableAlias(
        this=exp.to_identifier("items", quoted=True), columns=[exp.to_identifier(_ITEM, quoted=True)]))
    return exp.select(item).from_(items).where(
        _normalized(item.copy(), "duckdb").isin(*_lowered(criterion.values))).sql("duckdb")


@functools.lru_cache(maxsize=256)
def _combinations_sql(criteria: tuple[Criterion, ...], tiers: TierRules, table: str) -> str:
    passes = [(c, exp.column(f"p{i}", table=_ALIAS, quoted=True)) for i, c in enumerate(criteria)]
    knowns = [exp.column(f"k{i}", table=_ALIAS, quoted=True) if c.role == "must" else None
              for i, c in enumerate(criteria)]
    query = _query(criteria, tiers, _source(table), key=None, capacity_key=None, in_sam=True, reasons=False,
                   dialect="duckdb", passes=passes, knowns=knowns)
    query.set("order", None)
    return query.sql(dialect="duckdb")


def combinations_sql(icp: ICP, table: str) -> str:
    """SELECT every row of `table` with its icp_fit_score, icp_tier, icp_in_sam and
    icp_insufficient, where `table` holds combinations of passed criteria instead of accounts:
    boolean columns p0, p1, ... (whether criterion i passed), k<i> for each must criterion i
    (whether its value is known) and anything else (how many accounts share the combination, ...).

    The score, tier and SAM flag of a combination come from the very expressions `score_sql`
    applies to an account, so counting accounts by combination counts what scoring each account
    would. Thresholds mode only: Tier 1 sized to capacity depends on which accounts come first,
    not only on what they pass.
    """
    if icp.tiers.mode != "thresholds":
        raise ValueError("combinations_sql tiers by thresholds; capacity mode needs every account scored")
    return _combinations_sql(icp.criteria, icp.tiers, table)


def scoring_sql(icp: ICP, dialect: str = "duckdb") -> str:
    """The exported `scoring.sql`: a header saying what it reads, then one query over `accounts`.

    It returns every column of `accounts` plus icp_fit_score and icp_tier, ordered by score. Only
    capacity mode reads a key (`account_key`): a warehouse table need not have one otherwise.
    """
    _check_dialect(dialect)
    capacity_key = _EXPORT_KEY if icp.tiers.mode == "capacity" else None
    if dialect == "postgres" and icp.criteria:
        query = _query_once(icp.criteria, icp.tiers, _source("accounts"), capacity_key, dialect)
    else:
        query = _query(icp.criteria, icp.tiers, _source("accounts"), key=None, capacity_key=capacity_key,
                       in_sam=False, reasons=False, dialect=dialect)
    return _header(icp, dialect, capacity_key) + _identifiers(query, dialect).sql(dialect=dialect, pretty=True) + ";\n"


def score_frame(con, icp: ICP, source: Relation | str, key: str = "account_key") -> pd.DataFrame:
    """`score_sql` run on a DuckDB connection, reasons included.

    Scores from an earlier run (a targets.csv scored again) are replaced: left in, the old
    icp_fit_score would shadow the new one in the outer query.
    """
    accounts = _source(source)
    present = {column for column, *_ in con.execute(exp.select("*").from_(accounts).limit(0).sql("duckdb")).description}
    stale = [exp.column(name, quoted=True) for name in _OUTPUTS if name in present]
    if stale:
        accounts.set("alias", None)
        source = Relation.of_query(exp.select(exp.Star(except_=stale)).from_(accounts).sql("duckdb"))
    return con.execute(score_sql(icp, source, key=key)).df()


# --- the query ----------------------------------------------------------------------------------

def _query(criteria: tuple[Criterion, ...], tiers: TierRules, source: exp.Expression, *, key: str | None,
           capacity_key: str | None, in_sam: bool, reasons: bool, dialect: str,
           passes: list[tuple[Criterion, exp.Expression]] | None = None, hidden: tuple[str, ...] = (),
           knowns: list[exp.Expression | None] | None = None) -> exp.Select:
    # Two levels, so that the outer `s.*` is exactly the input columns plus the score, and the
    # tier, SAM flag and reasons can follow it in the order of the targets.csv contract without
    # any helper column that would need a dialect-specific `* EXCLUDE` to drop (only DuckDB's own
    # score_sql has one, the `hidden` columns of each criterion's test, below these two).
    if passes is None:
        passes = [(c, _passes(c, dialect)) for c in criteria]
    scored = exp.select(_star(), exp.alias_(_score(passes, dialect), "icp_fit_score", quoted=True)).from_(source)
    sam = _in_sam(passes)
    outputs = [_star(hidden), exp.alias_(_tier(tiers, sam, capacity_key), "icp_tier", quoted=True)]
    if in_sam:
        outputs.append(exp.alias_(sam, "icp_in_sam", quoted=True))
        if knowns is None:
            knowns = [exp.not_(_col(c.attribute).is_(exp.null())) if c.role == "must" else None for c, _ in passes]
        outputs.append(exp.alias_(_insufficient(passes, knowns), "icp_insufficient", quoted=True))
    if reasons:
        # Where the test of each criterion is a column (DuckDB), the reasons are looked up by
        # which criteria passed, out of a list of every possible text, instead of pieced together
        # for each account: a third of the cost, and a short key to sort by rather than a text.
        text = _reasons_looked_up(passes) if hidden else None
        outputs.append(exp.alias_(text or _reasons(passes), "icp_reasons", quoted=True))
    order = [exp.Ordered(this=_col("icp_fit_score"), desc=True)]
    if key is not None:
        order.append(_ascending(_col(key)))
    return exp.select(*outputs).from_(scored.subquery(exp.to_identifier(_ALIAS, quoted=True))).order_by(*order)


def _query_once(criteria: tuple[Criterion, ...], tiers: TierRules, source: exp.Expression,
                capacity_key: str | None, dialect: str) -> exp.Select:
    """The exported query shaped so that each criterion and the score are computed once per account.

    PostgreSQL flattens the levels of `_query` and pastes the score expression, tests and all,
    into every tier comparison and the sort: its list tests (EXISTS over UNNEST) ran about 11
    times per account, 29 s for a million. Here the first level tests each criterion once and
    carries the account as one whole-row value, the second (a LATERAL, which PostgreSQL caches
    per combination of passed criteria) computes the score and SAM flag, OFFSET 0 keeps either
    from being flattened, and `(row).*` gives back exactly the columns of accounts. Testing in a
    LATERAL beside `s.*` instead cost a quarter more CPU: PostgreSQL caches that level too, and
    every account misses the cache.
    """
    row = exp.to_identifier(_ROW, quoted=True)
    tests = exp.select(exp.alias_(exp.column(row.copy()), _ROW, quoted=True),
                       *(exp.alias_(_passes(c, dialect), f"p{i}", quoted=True) for i, c in enumerate(criteria)))
    # The account's alias is a name an accounts column will not have (icp_ names are the
    # output's): a column called like the alias would be read instead of the whole row.
    for column in tests.find_all(exp.Column):
        if column.table == _ALIAS:
            column.set("table", row.copy())
    accounts = source.copy()
    accounts.set("alias", exp.TableAlias(this=row.copy()))
    tests = tests.from_(accounts).offset(0)
    passes = [(c, exp.column(f"p{i}", table="p", quoted=True)) for i, c in enumerate(criteria)]
    sam = _in_sam(passes)
    scored = exp.select(exp.alias_(_score(passes, dialect), "icp_fit_score", quoted=True))
    if not isinstance(sam, exp.Boolean):
        scored = scored.select(exp.alias_(sam, "icp_in_sam", quoted=True))
        sam = exp.column("icp_in_sam", table="q", quoted=True)
    score = exp.column("icp_fit_score", table="q", quoted=True)
    key = None
    if capacity_key is not None:
        key = exp.Dot(this=exp.Paren(this=exp.column(row.copy(), table="p", quoted=True)),
                      expression=exp.to_identifier(capacity_key, quoted=True))
    every_column = exp.Dot(this=exp.Paren(this=exp.column(row.copy(), table="p", quoted=True)), expression=exp.Star())
    query = exp.select(every_column, score, exp.alias_(_tier(tiers, sam, capacity_key, score, key), "icp_tier",
                                                      quoted=True))
    lateral = exp.Lateral(this=scored.offset(0).subquery(), alias=exp.TableAlias(this=exp.to_identifier("q", quoted=True)))
    query = query.from_(tests.subquery(exp.to_identifier("p", quoted=True))).join(lateral, join_type="CROSS")
    return query.order_by(exp.Ordered(this=score.copy(), desc=True))


def _identifiers(query: exp.Expression, dialect: str) -> exp.Expression:
    """Snowflake's names unquoted where a name made the ordinary way is found only so (see
    _SNOWFLAKE_PLAIN); the other dialects keep every name quoted, which matches ordinary names."""
    if dialect == "snowflake":
        for identifier in query.find_all(exp.Identifier):
            name = identifier.name
            identifier.set("quoted", not _SNOWFLAKE_PLAIN.fullmatch(name) or name.upper() in _SNOWFLAKE_RESERVED)
    return query


def _source(source: Relation | str) -> exp.Expression:
    """The accounts to score, aliased `s`: a Relation, or a plain string naming a (possibly qualified) table."""
    if isinstance(source, Relation) and source.table is None:
        accounts = sqlglot.parse_one(source, read="duckdb")
        if not isinstance(accounts, exp.Subquery):
            raise ValueError(f"source is not one query: {source!r}")
    else:
        if not isinstance(source, Relation) and source.lstrip().startswith("("):
            raise TypeError(f"a query to score is a Relation (Relation.of_query), not a string: {source[:60]!r}")
        accounts = exp.to_table(source.table if isinstance(source, Relation) else source, dialect="duckdb")
        for part in accounts.parts:
            part.set("quoted", True)
    accounts.set("alias", exp.TableAlias(this=exp.to_identifier(_ALIAS, quoted=True)))
    return accounts


def _passes(criterion: Criterion, dialect: str, spellings: tuple[str, ...] | None = None) -> exp.Expression:
    """TRUE or FALSE, never NULL: whether the account passes the criterion (a missing value does not).

    `spellings`: see `score_sql` (a contains criterion, DuckDB)."""
    column = _col(criterion.attribute)
    if spellings is not None:
        if criterion.kind != "contains" or dialect != "duckdb":
            raise ValueError("spellings are the passing items of a contains criterion, in DuckDB")
        return _spelled(column, spellings)
    if criterion.kind == "in_set":
        test: exp.Expression = _normalized(column, dialect).isin(*_lowered(criterion.values))
    elif criterion.kind == "range":
        bounds = []
        if criterion.low is not None:
            bounds.append(exp.GTE(this=column.copy(), expression=_number(criterion.low)))
        if criterion.high is not None:
            bounds.append(exp.LT(this=column.copy(), expression=_number(criterion.high)))
        else:
            # NaN is not a number, so it is in no range. DuckDB, PostgreSQL, Snowflake and Spark sort
            # NaN above every number (NaN >= 51 holds), BigQuery compares it false: an upper bound
            # sends it out everywhere, and infinity itself stays in.
            bounds.append(exp.LTE(this=column.copy(), expression=exp.cast(exp.Literal.string("inf"), "DOUBLE")))
        test = exp.and_(*bounds)
    elif criterion.kind == "contains":
        test = _contains(column, criterion.values, dialect)
    else:
        test = exp.EQ(this=column, expression=exp.Boolean(this=criterion.flag))
    return exp.func("COALESCE", test, exp.false())


def _spelled(column: exp.Column, spellings: tuple[str, ...]) -> exp.Expression:
    """Whether the list holds one of `spellings` exactly: list_contains per spelling (native and
    fast) for a few, a lambda comparing items for more, FALSE for none."""
    if not spellings:
        return exp.false()
    words = [exp.Literal.string(s) for s in spellings]
    if len(words) <= _CONTAINS_CALLS:
        found = exp.or_(*(exp.func("list_contains", column.copy(), w) for w in words))
    else:
        item = exp.column(_ITEM, quoted=True)
        kept = exp.ArrayFilter(this=column, expression=exp.Lambda(
            this=item.isin(*words), expressions=[exp.to_identifier(_ITEM, quoted=True)]))
        found = exp.GT(this=exp.ArraySize(this=kept), expression=exp.Literal.number(0))
    return exp.func("COALESCE", found, exp.false())


def _contains(column: exp.Column, values: tuple[str, ...], dialect: str) -> exp.Expression:
    """Whether the list holds an item equal, trimmed and case-insensitively, to one of the values.

    Written per dialect because the engines disagree on arrays: Postgres has no lambdas and its
    ARRAY_LENGTH of an empty array is NULL, so Postgres and BigQuery get EXISTS over UNNEST, their
    idiom; DuckDB, Snowflake and Spark count the items left by a lambda filter. Snowflake's
    semi-structured ARRAY holds VARIANTs, so its items are cast to VARCHAR before comparing.
    """
    item = exp.column(_ITEM, quoted=True)
    if dialect == "snowflake":
        item = exp.cast(item, "VARCHAR")
    test = _normalized(item, dialect).isin(*_lowered(values))
    if dialect in ("postgres", "bigquery"):
        unnest = exp.Unnest(expressions=[column], alias=exp.TableAlias(
            this=exp.to_identifier("items", quoted=True), columns=[exp.to_identifier(_ITEM, quoted=True)]))
        return exp.Exists(this=exp.select(exp.Literal.number(1)).from_(unnest).where(test))
    kept = exp.ArrayFilter(this=column, expression=exp.Lambda(this=test, expressions=[exp.to_identifier(_ITEM, quoted=True)]))
    return exp.GT(this=exp.ArraySize(this=kept), expression=exp.Literal.number(0))


def weight_units(weight: float) -> int:
    """A criterion's weight as the whole number of 1/WEIGHT_UNITS the score counts it in."""
    return round(weight * WEIGHT_UNITS)


def _score(passes: list[tuple[Criterion, exp.Expression]], dialect: str) -> exp.Expression:
    counted = [(weight_units(c.weight), p) for c, p in passes if c.role != "disqualify"]
    counted = [(units, p) for units, p in counted if units > 0]
    # No must or nice criterion with a weight: no ICP yet, and no account is a fit.
    score: exp.Expression = exp.Literal.number(0)
    if counted:
        total = sum(units for units, _ in counted)
        # BIGINT before multiplying: PostgreSQL's and Spark's INTEGER would overflow past 2^31.
        won = exp.cast(_sum([exp.Case(ifs=[exp.If(this=p.copy(), true=exp.Literal.number(units))],
                                      default=exp.Literal.number(0)) for units, p in counted]), "BIGINT")
        # Tenths of a percent, 1000 x won / total rounded half up exactly: (2 x 1000 x won + total) DIV (2 x total).
        dividend = exp.Add(this=exp.Mul(this=exp.Literal.number(2 * WEIGHT_UNITS), expression=won),
                           expression=exp.Literal.number(total))
        tenths = _int_div(exp.Paren(this=dividend), exp.Literal.number(2 * total), dialect)
        score = exp.Div(this=exp.cast(tenths, "DOUBLE"), expression=exp.Literal.number(10))
    disqualified = [p.copy() for c, p in passes if c.role == "disqualify"]
    if disqualified:
        score = exp.Case(ifs=[exp.If(this=exp.or_(*disqualified), true=exp.Literal.number(0))], default=score)
    return exp.cast(score, "DOUBLE")


def _int_div(dividend: exp.Expression, divisor: exp.Expression, dialect: str) -> exp.Expression:
    """Floor division of non-negative integers.

    sqlglot writes Snowflake's as CAST(TRUNC(a / b)), where a / b is a NUMBER rounded to a few
    decimals that can round up to the next whole number. There it is FLOOR of a DOUBLE quotient:
    a and b are whole numbers far below 2^53, so the division errs by under 1e-13 while a quotient
    that is not whole stays at least 1 / b below the next whole number, and FLOOR is exact.
    """
    if dialect == "snowflake":
        return exp.Floor(this=exp.Div(this=exp.cast(dividend, "DOUBLE"), expression=divisor))
    return exp.IntDiv(this=dividend, expression=divisor)


def _in_sam(passes: list[tuple[Criterion, exp.Expression]]) -> exp.Expression:
    tests = [p.copy() for c, p in passes if c.role == "must"]
    tests += [exp.not_(p.copy()) for c, p in passes if c.role == "disqualify"]
    return exp.and_(*tests) if tests else exp.true()


def _insufficient(passes: list[tuple[Criterion, exp.Expression]],
                  knowns: list[exp.Expression | None]) -> exp.Expression:
    """Not a fit for want of data: no disqualifier applies and no must is known to fail, but a must's
    value is unknown. Such accounts are 'Not a fit' (a tier ranks SAM accounts), counted apart."""
    musts = [(p, k) for (c, p), k in zip(passes, knowns, strict=True) if c.role == "must"]
    if not musts:
        return exp.false()
    tests = [exp.not_(p.copy()) for c, p in passes if c.role == "disqualify"]
    tests += [exp.or_(p.copy(), exp.not_(k.copy())) for p, k in musts]
    tests.append(exp.or_(*(exp.not_(k.copy()) for _, k in musts)))
    return exp.and_(*tests)


def _tier(rules: TierRules, sam: exp.Expression, capacity_key: str | None,
          score: exp.Expression | None = None, key: exp.Expression | None = None) -> exp.Expression:
    """The tier CASE of `score` (default: s.icp_fit_score); `capacity_key` is read only in capacity
    mode, where callers always give one, as `key` when given (default: s.<capacity_key>)."""
    score = score if score is not None else _col("icp_fit_score")
    # A disqualified account (or one meeting nothing) scores 0 and is never tiered, whatever Tier 3 is;
    # nor is one outside SAM (a must missed, or not known): a tier ranks the accounts the ICP is for.
    ifs = [exp.If(this=exp.LTE(this=score.copy(), expression=exp.Literal.number(0)),
                  true=exp.Literal.string("Not a fit"))]
    if not isinstance(sam, exp.Boolean):
        ifs.append(exp.If(this=exp.not_(sam.copy()), true=exp.Literal.string("Not a fit")))
    if rules.mode == "capacity":
        # Partitioned by SAM membership, so the numbering counts only accounts in SAM; a constant
        # partition is left out because BigQuery refuses to partition by a constant.
        window = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
            exp.Ordered(this=score.copy(), desc=True), _ascending(key if key is not None else _col(capacity_key))]))
        if not isinstance(sam, exp.Boolean):
            window.set("partition_by", [sam.copy()])
        first = exp.LTE(this=window, expression=exp.Literal.number(rules.capacity))
    else:
        first = exp.GTE(this=score.copy(), expression=exp.Literal.number(rules.tier1))
    ifs.append(exp.If(this=first, true=exp.Literal.string("Tier 1")))
    ifs += [_at_least(score, rules.tier2, "Tier 2"), _at_least(score, rules.tier3, "Tier 3")]
    return exp.Case(ifs=ifs, default=exp.Literal.string("Not a fit"))


def _reasons(passes: list[tuple[Criterion, exp.Expression]]) -> exp.Expression:
    """`met: A; B | missed: C (unknown) | disqualified: D`, built from '; '-led pieces.

    Each part is '; A; B' or ''; NULLIF turns '' into NULL, which `||` propagates, so an empty part
    vanishes without repeating its pieces (`||` propagates NULL in all five dialects).
    """
    met, missed, disqualified = [], [], []
    for criterion, passed in passes:
        text = describe(criterion)
        if criterion.role == "disqualify":
            disqualified.append(_case(passed, "; " + text))
            continue
        met.append(_case(passed, "; " + text))
        missed.append(exp.Case(ifs=[
            exp.If(this=passed.copy(), true=exp.Literal.string("")),
            exp.If(this=_col(criterion.attribute).is_(exp.null()),
                   true=exp.Literal.string(f"; {criterion.label} (unknown)")),
        ], default=exp.Literal.string("; " + text)))
    parts = [_part(name, pieces) for name, pieces in
             (("met", met), ("missed", missed), ("disqualified", disqualified)) if pieces]
    if not parts:
        return exp.Literal.string("")
    # Every part starts with ' | '; the first one's is cut off.
    return exp.Substring(this=_concat(parts), start=exp.Literal.number(4))


# Above this many possible reason texts, they are pieced together per account after all.
_MAX_REASON_TEXTS = 6561


def _reasons_looked_up(passes: list[tuple[Criterion, exp.Expression]]) -> exp.Expression | None:
    """The `_reasons` text as list[code + 1] of a list literal of every text, where the code counts
    in mixed radix: per criterion 0 passed, 1 missed with its value unknown, 2 missed (a
    disqualifier: 0 not passed, 1 passed). None when there would be too many texts."""
    states = [2 if criterion.role == "disqualify" else 3 for criterion, _ in passes]
    if not passes or math.prod(states) > _MAX_REASON_TEXTS:
        return None
    terms, place = [], 1
    for (criterion, passed), radix in zip(passes, states, strict=True):
        if radix == 2:
            state = exp.Case(ifs=[exp.If(this=passed.copy(), true=exp.Literal.number(1))], default=exp.Literal.number(0))
        else:
            state = exp.Case(ifs=[
                exp.If(this=passed.copy(), true=exp.Literal.number(0)),
                exp.If(this=_col(criterion.attribute).is_(exp.null()), true=exp.Literal.number(1)),
            ], default=exp.Literal.number(2))
        terms.append(exp.Mul(this=state, expression=exp.Literal.number(place)) if place > 1 else state)
        place *= radix
    texts = exp.Array(expressions=[exp.Literal.string(t) for t in _reason_texts(tuple(c for c, _ in passes))])
    code = exp.Add(this=exp.Paren(this=_sum(terms)), expression=exp.Literal.number(1))
    # offset=1: the code is already a 1-based position, which sqlglot must not shift again.
    return exp.Bracket(this=texts, expressions=[code], offset=1)


def _reason_texts(criteria: tuple[Criterion, ...]) -> list[str]:
    """Every text `_reasons` can give, in the order of `_reasons_looked_up`'s code."""
    choices = [(0, 1) if c.role == "disqualify" else (0, 1, 2) for c in criteria]
    texts = []
    # itertools.product varies its last factor fastest; the code's first criterion is the lowest digit.
    for reversed_states in itertools.product(*reversed(choices)):
        met, missed, disqualified = [], [], []
        for criterion, state in zip(criteria, reversed(reversed_states), strict=True):
            if criterion.role == "disqualify":
                if state:
                    disqualified.append(describe(criterion))
            elif state == 0:
                met.append(describe(criterion))
            else:
                missed.append(f"{criterion.label} (unknown)" if state == 1 else describe(criterion))
        parts = (("met", met), ("missed", missed), ("disqualified", disqualified))
        texts.append(" | ".join(f"{name}: {'; '.join(pieces)}" for name, pieces in parts if pieces))
    return texts


def _part(name: str, pieces: list[exp.Expression]) -> exp.Expression:
    listed = exp.Nullif(this=_concat(pieces), expression=exp.Literal.string(""))
    text = exp.DPipe(this=exp.Literal.string(f" | {name}: "),
                     expression=exp.Substring(this=listed, start=exp.Literal.number(3)))
    return exp.func("COALESCE", text, exp.Literal.string(""))


# --- the header of scoring.sql ------------------------------------------------------------------

def _header(icp: ICP, dialect: str, capacity_key: str | None) -> str:
    reads = {name: _type(kind, dialect) for name, kind in columns_read(icp).items()}
    lines = [
        f"ICP fit score: {_one_line(icp.name)}, version {icp.version}, {icp.created_at.date().isoformat()}",
        f"Dialect: {dialect}. Generated by ICP Explorer.",
        "Reads a table named accounts with these columns:",
        *(f"  {_one_line(name)} {kind}" for name, kind in reads.items()),
    ]
    if capacity_key is not None and capacity_key not in reads:
        lines.append(f"  {capacity_key} {_type('VARCHAR', dialect)} (one per account: breaks ties when Tier 1 "
                     f"is sized to capacity, {icp.tiers.capacity} accounts)")
    lines += [
        "Returns every column of accounts plus icp_fit_score (0-100, 1 decimal) and icp_tier",
        "(Tier 1, Tier 2, Tier 3, Not a fit), best first. A missing value never passes a criterion.",
        "Text is compared trimmed of exactly the characters Python's str.strip() removes",
        f"({trim.TRIM_DESCRIPTION}),",
        f"then lower-cased. The score is integer arithmetic: weights in 1/{WEIGHT_UNITS}ths, the score in",
        "tenths rounded half up exactly, so it is the same in every engine.",
        *_DIALECT_NOTES[dialect],
    ]
    return "".join(f"-- {line}\n" for line in lines)


_DIALECT_NOTES = {
    "duckdb": ["Names are quoted as written; a lower-case name matches a column made without quotes."],
    "postgres": [
        f'Lower-cases through the ICU collation "{_POSTGRES_LOWER_COLLATION}" (ASCII text through "C", which is the',
        "same and faster) whatever the database's locale (in the C locale lower() changes only ASCII):",
        "needs PostgreSQL built with ICU, as Debian's and most packages are, and a UTF-8 database.",
        "Names are quoted as written; a lower-case name matches a column made without quotes.",
    ],
    "snowflake": [
        "Names made of letters, digits, _ and $ that are not reserved words are unquoted, so they match",
        "a table and columns created without quotes (Snowflake stores those upper-case; the result's",
        "columns are ICP_FIT_SCORE and ICP_TIER); any other name is quoted and must be spelled exactly so.",
    ],
    "bigquery": ["Names are quoted as written; BigQuery matches column names whatever their case."],
    "spark": ["Names are quoted as written; Spark matches column names whatever their case."],
}


def _type(duckdb_type: str, dialect: str) -> str:
    if dialect == "duckdb":
        return duckdb_type
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect=dialect)


def _one_line(text: str) -> str:
    """Text that cannot end its `--` comment: control characters and line breaks become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


# --- small builders -----------------------------------------------------------------------------

def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")


def _col(name: str) -> exp.Column:
    return exp.column(name, table=_ALIAS, quoted=True)


def _star(hidden: tuple[str, ...] = ()) -> exp.Column:
    """`s.*`, leaving out the `hidden` helper columns (DuckDB's EXCLUDE)."""
    star = exp.Star(except_=[exp.column(name, quoted=True) for name in hidden]) if hidden else exp.Star()
    return exp.Column(this=star, table=exp.to_identifier(_ALIAS, quoted=True))


def _ascending(expression: exp.Expression) -> exp.Ordered:
    # Spelled out because the engines disagree on where NULL keys sort by default.
    return exp.Ordered(this=expression, desc=False, nulls_first=False)


def _normalized(value: exp.Expression, dialect: str) -> exp.Expression:
    """`value` trimmed of exactly icp.trim.TRIM_CHARACTERS and lower-cased, as `trim.normalize` does.

    Each engine is given the characters, because their own TRIMs disagree (icp/trim.py); DuckDB
    trims with icp.trim's regular expression, the fastest there. The characters are written so the
    file stays plain ASCII where the dialect allows: PostgreSQL's U&'\\0009...' and BigQuery's code
    points; Snowflake and Spark read them from one literal (control characters escaped).
    """
    if dialect == "duckdb":
        return exp.Lower(this=trim.trimmed(value))
    if dialect == "postgres":
        characters: exp.Expression = exp.UnicodeString(this="".join(f"\\{ord(ch):04X}" for ch in trim.TRIM_CHARACTERS))
    elif dialect == "bigquery":
        characters = exp.CodePointsToString(this=exp.Array(
            expressions=[exp.Literal.number(ord(ch)) for ch in trim.TRIM_CHARACTERS]))
    else:
        characters = exp.Literal.string(trim.TRIM_CHARACTERS)
    trimmed = exp.Trim(this=value.copy(), expression=characters, position="BOTH")
    if dialect != "postgres":
        return exp.Lower(this=trimmed)

    def lowered(collation: str) -> exp.Expression:
        # Each branch re-labelled "default", or the CASE would mix two explicit collations.
        low = exp.Lower(this=exp.Collate(this=trimmed.copy(), expression=exp.to_identifier(collation, quoted=True)))
        return exp.Collate(this=low, expression=exp.to_identifier("default", quoted=True))

    # ICU's lower() costs twice the C collation's, which lower-cases ASCII exactly as ICU does: a
    # third of the time of 1M accounts' list tests went there. Only text with other letters needs ICU.
    ascii = exp.EQ(this=exp.func("OCTET_LENGTH", value.copy()), expression=exp.Length(this=value.copy()))
    return exp.Case(ifs=[exp.If(this=ascii, true=lowered("C"))], default=lowered(_POSTGRES_LOWER_COLLATION))


def _lowered(values: tuple[str, ...]) -> list[exp.Literal]:
    return [exp.Literal.string(v) for v in dict.fromkeys(trim.normalize(v) for v in values)]


def _number(value: float) -> exp.Literal:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a number a criterion or weight can use")
    # Whole numbers as integers for readable SQL; large ones stay floats to fit every engine's literals.
    return exp.Literal.number(int(value) if float(value).is_integer() and abs(value) < 1e15 else value)


def _at_least(score: exp.Expression, threshold: float, tier: str) -> exp.If:
    return exp.If(this=exp.GTE(this=score.copy(), expression=_number(threshold)), true=exp.Literal.string(tier))


def _case(condition: exp.Expression, text: str) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=condition.copy(), true=exp.Literal.string(text))], default=exp.Literal.string(""))


def _concat(pieces: list[exp.Expression]) -> exp.Expression:
    return reduce(lambda left, right: exp.DPipe(this=left, expression=right), pieces)


def _sum(terms: list[exp.Expression]) -> exp.Expression:
    return reduce(lambda left, right: exp.Add(this=left, expression=right), terms)
