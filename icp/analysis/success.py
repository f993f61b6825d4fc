"""Success: which customers are the best ones, by a weighted value score the user controls.

Each customer's value score (0-100) is the weighted mean of its percentile ranks on the chosen
criteria, direction-aware; a missing value leaves that criterion out of the customer's mean
rather than counting as zero. The top share of scored customers (or everyone over a minimum
score) are the "best customers" that patterns, segments and the ICP are measured against.
"""

from typing import Literal

import duckdb
import pandas as pd
from pydantic import Field, field_validator

from icp.analysis.attributes import Outcome, customer_outcomes
from icp.data.links import CUSTOMER_VIEW
from icp.data.roles import table_format
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.numbers import RATES, compact, percent
from icp.relation import Relation

Direction = Literal["higher", "lower"]

# Money measures, in the order one is preferred as the value measure; only that one gets a
# default weight, because ARR, ACV and LTV of the same customer mostly say the same thing twice.
MONEY = ("arr", "acv", "ltv", "mrr", "order_revenue", "won_value")
# Each group measures one thing in different units; as with money, only the first present counts.
_RETENTION_TENURE = ("tenure_months", "tenure_days")
_CYCLES = ("sales_cycle_days", "median_cycle_days")
# Every outcome that can be a criterion, in the order the page lists them, with its better side.
_CATALOGUE: dict[str, Direction] = {
    **dict.fromkeys(MONEY, "higher"),
    "churned": "lower", "tenure_months": "higher", "tenure_days": "higher",
    "expansion": "higher", "nps": "higher", "csat": "higher",
    "support_tickets": "lower", "sales_cycle_days": "lower", "median_cycle_days": "lower", "cac": "lower",
    "win_rate": "higher", "order_profit": "higher",
}  # fmt: skip
_FIXED_WEIGHTS = {"churned": 2.0, "expansion": 1.0, "nps": 1.0, "csat": 1.0, "support_tickets": 0.5, "cac": 0.5}
# Measured per customer, not per deal: with any of them, win rate is left for the user to add.
_CUSTOMER_LEVEL = frozenset({"arr", "acv", "mrr", "ltv", "order_revenue", "churned"})
_NUMERIC_TYPES = frozenset({
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
})
_NO_CUSTOMERS = "This workspace has no customers yet. Upload a customer list (or orders) on the Data page."


class CriterionError(IcpError):
    """A success criterion that cannot be measured on this workspace's customers."""


class SuccessCriterion(Frozen):
    """One outcome of the success definition and which way is better (an ICP's criteria, on the
    accounts' attributes, are icp.profile.model.Criterion)."""

    column: str  # column of the customer view
    label: str
    direction: Direction  # which way is better
    weight: float = Field(1.0, ge=0, le=10)


class SuccessSettings(Frozen):
    criteria: tuple[SuccessCriterion, ...]
    best_share: float = Field(0.25, gt=0, le=0.9)  # top share of scored customers that counts as best
    min_score: float | None = Field(None, ge=0, le=100)  # when set, replaces best_share
    value_column: str | None = None  # money measure for segment value and market sizing

    @field_validator("criteria")
    @classmethod
    def _one_criterion_per_column(cls, criteria: tuple[SuccessCriterion, ...]) -> tuple[SuccessCriterion, ...]:
        columns = [c.column for c in criteria]
        if len(set(columns)) != len(columns):
            raise ValueError("each column can be a criterion only once")
        return criteria

    @property
    def weighted(self) -> tuple[SuccessCriterion, ...]:
        return tuple(c for c in self.criteria if c.weight > 0)


class CriterionSummary(Frozen):
    column: str
    label: str
    direction: Direction
    weight: float
    filled: int  # customers with a value
    best_mean: float | None
    rest_mean: float | None

    @property
    def ratio(self) -> float | None:
        """Best customers' mean over the rest's ("2.7x the ARR"); None when it would mean nothing."""
        if self.best_mean is None or not self.rest_mean:
            return None
        return self.best_mean / self.rest_mean


class SuccessSummary(Frozen):
    scored: int
    unscored: int  # customers with no value on any weighted criterion
    best: int
    threshold_score: float | None  # lowest score among the best
    best_share_actual: float | None  # best / scored
    criteria: tuple[CriterionSummary, ...]


# -- default settings ----------------------------------------------------------------------------

def _default_weight(key: str, present: set[str]) -> float:
    if key in MONEY:
        return 2.0 if key == _first(MONEY, present) else 0.0
    if key in _RETENTION_TENURE:
        return 2.0 if key == _first(_RETENTION_TENURE, present) else 0.0
    if key in _CYCLES:
        return 0.5 if key == _first(_CYCLES, present) else 0.0
    if key == "win_rate":
        return 0.0 if present & _CUSTOMER_LEVEL else 1.0
    return _FIXED_WEIGHTS.get(key, 0.0)


def _first(keys: tuple[str, ...], present: set[str]) -> str | None:
    return next((k for k in keys if k in present), None)


def _filled(workspace: Workspace, outcomes: dict[str, Outcome]) -> set[str]:
    """Outcomes with at least one value: an empty one (a cycle from deals without dates) scores no one."""
    if not outcomes:
        return set()
    counts = ", ".join(f"count({_q(o.name)})" for o in outcomes.values())
    with workspace.connect() as con:
        row = con.execute(f"SELECT {counts} FROM {_q(CUSTOMER_VIEW)}").fetchone()
    return {key for key, count in zip(outcomes, row, strict=True) if count}


def settings_in_use(workspace: Workspace, saved: SuccessSettings | None) -> SuccessSettings:
    """The saved settings if they still fit this data (every criterion names a numeric column of
    the customers), else the defaults for it."""
    if saved is not None:
        try:
            score_summary(workspace, saved)
            return saved
        except IcpError:
            pass
    return default_settings(workspace)


def default_settings(workspace: Workspace) -> SuccessSettings:
    """Criteria from the outcomes the customers have, weighted so that no measure counts twice."""
    _require_customers(workspace)
    # A role column's name may differ from its role; the catalogue speaks in roles.
    outcomes = {o.role or o.name: o for o in customer_outcomes(workspace) if (o.role or o.name) in _CATALOGUE}
    present = _filled(workspace, outcomes)
    criteria = tuple(
        SuccessCriterion(column=outcomes[key].name, label=outcomes[key].label, direction=direction,
                  weight=_default_weight(key, present))
        for key, direction in _CATALOGUE.items() if key in present
    )
    money = _first(MONEY, present)
    return SuccessSettings(criteria=criteria, value_column=outcomes[money].name if money else None)


# -- the score as SQL ----------------------------------------------------------------------------

def _num(value: float) -> str:
    # Weights and shares are validated floats, written as literals so the query embeds as a plain
    # subquery with no parameter list to carry along; no text from the user is ever spliced.
    return repr(float(value))


def _percentile(criterion: SuccessCriterion) -> str:
    """Mid-rank percentile: 100 x (count below + half the count equal) / count with a value.

    rank() - 1 counts the values below; count() over the same ordering counts those below or
    equal (the default frame includes peers), so their mean is below + half of equal.
    """
    value = f"CAST(c.{_q(criterion.column)} AS DOUBLE)"
    order = f"OVER (ORDER BY {value} NULLS LAST)"
    higher = f"100.0 * (rank() {order} - 1 + count({value}) {order}) / (2 * count({value}) OVER ())"
    better = higher if criterion.direction == "higher" else f"100.0 - {higher}"
    return f"CASE WHEN {value} IS NOT NULL THEN {better} END"


def _score(weighted: tuple[SuccessCriterion, ...]) -> str:
    parts = [(_q(f"_icp_p{i}"), _num(c.weight)) for i, c in enumerate(weighted)]
    total = " + ".join(f"coalesce({w} * {p}, 0)" for p, w in parts)
    weights = " + ".join(f"CASE WHEN {p} IS NOT NULL THEN {w} ELSE 0 END" for p, w in parts)
    return f"({total}) / nullif({weights}, 0)"


def _is_best(settings: SuccessSettings) -> str:
    if settings.min_score is not None:
        return f"coalesce(value_score >= {_num(settings.min_score)}, false)"
    wanted = f"greatest(1, round({_num(settings.best_share)} * \"_icp_scored\"))"
    return f"coalesce(value_rank <= {wanted}, false)"


def scored_customers(settings: SuccessSettings, source: str = CUSTOMER_VIEW) -> Relation:
    """Every row of `source` plus value_score, is_best and value_rank (1 = best).

    Unscored customers have a NULL score and rank and are never best. Ties are ranked by
    account_key, so the best set is the same on every run. `source` is a table, view or CTE
    name (it is quoted as an identifier) with an account_key column.
    """
    weighted = _check_weighted(settings)
    percentiles = ", ".join(f"{_percentile(c)} AS {_q(f'_icp_p{i}')}" for i, c in enumerate(weighted))
    helpers = ", ".join(_q(f"_icp_p{i}") for i in range(len(weighted)))
    return Relation.of_query(f"""
        SELECT * EXCLUDE ("_icp_scored", value_rank), {_is_best(settings)} AS is_best, value_rank
        FROM (
            SELECT *,
                CASE WHEN value_score IS NOT NULL
                    THEN row_number() OVER (ORDER BY value_score DESC NULLS LAST, account_key) END AS value_rank,
                count(value_score) OVER () AS "_icp_scored"
            FROM (
                SELECT * EXCLUDE ({helpers}), {_score(weighted)} AS value_score
                FROM (SELECT c.*, {percentiles} FROM {_q(source)} c)))""")


def _check_weighted(settings: SuccessSettings) -> tuple[SuccessCriterion, ...]:
    if not settings.criteria:
        raise IcpError("There is no outcome column to measure success by (ARR, churn, NPS...). "
                       "Map one on the Data page.")
    if not settings.weighted:
        raise IcpError("Give at least one criterion a weight above zero.")
    return settings.weighted


# -- on a workspace -------------------------------------------------------------------------------

def _require_customers(workspace: Workspace) -> None:
    if not workspace.has_customers():
        raise IcpError(_NO_CUSTOMERS)


def _checked_columns(con: duckdb.DuckDBPyConnection, settings: SuccessSettings) -> set[str]:
    """The customer view's columns, once every column the settings name is there and numeric."""
    types = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND database_name <> 'temp'",
        [CUSTOMER_VIEW],
    ).fetchall())
    if not types:
        raise IcpError(_NO_CUSTOMERS)
    for criterion in settings.criteria:
        kind = types.get(criterion.column)
        if kind is None:
            raise CriterionError(f"The customers have no column '{criterion.column}' for the criterion "
                                 f"{criterion.label}; pick another or map it on the Data page.")
        if kind not in _NUMERIC_TYPES and not kind.startswith("DECIMAL"):
            raise CriterionError(f"The criterion {criterion.label} needs numbers or yes/no values, "
                                 f"but column '{criterion.column}' holds {kind.lower()}.")
    if settings.value_column is not None and settings.value_column not in types:
        raise CriterionError(f"The customers have no column '{settings.value_column}' to measure value by.")
    return set(types)


def _criterion_columns(settings: SuccessSettings) -> list[str]:
    return [c.column for c in settings.criteria]


def score_customers(workspace: Workspace, settings: SuccessSettings, limit: int | None = None) -> pd.DataFrame:
    """Every customer (or the first `limit`) by rank: key, name, score, best or not, criterion values."""
    with workspace.connect() as con:
        names = _checked_columns(con, settings)
        shown = ["account_key", *(["account_name"] if "account_name" in names else []),
                 "value_score", "is_best", "value_rank", *_criterion_columns(settings)]
        sql = (f"SELECT {', '.join(_q(c) for c in shown)} FROM {scored_customers(settings)} "
               "ORDER BY value_rank NULLS LAST, account_key LIMIT ?")
        # LIMIT NULL means no limit in DuckDB, so the full list needs no second query text.
        return con.execute(sql, [limit]).df()


def score_summary(workspace: Workspace, settings: SuccessSettings) -> SuccessSummary:
    """Counts, the score threshold and, per criterion, the best customers' mean against the rest's."""
    per_criterion = ", ".join(
        f"count({v}), avg({v}) FILTER (WHERE is_best), avg({v}) FILTER (WHERE NOT is_best)"
        for v in (f"CAST({_q(c)} AS DOUBLE)" for c in _criterion_columns(settings))
    )
    with workspace.connect() as con:
        _checked_columns(con, settings)
        row = con.execute(
            f"SELECT count(value_score), count(*) - count(value_score), count(*) FILTER (WHERE is_best), "
            f"min(value_score) FILTER (WHERE is_best), {per_criterion} FROM {scored_customers(settings)}"
        ).fetchone()
    scored, unscored, best, threshold = row[:4]
    criteria = tuple(
        CriterionSummary(column=c.column, label=c.label, direction=c.direction, weight=c.weight,
                         filled=row[4 + 3 * i], best_mean=row[5 + 3 * i], rest_mean=row[6 + 3 * i])
        for i, c in enumerate(settings.criteria)
    )
    return SuccessSummary(scored=scored, unscored=unscored, best=best, threshold_score=threshold,
                          best_share_actual=best / scored if scored else None, criteria=criteria)


def apart_lines(summary: SuccessSummary) -> list[str]:
    """What sets the best customers apart, one plain-text line per weighted criterion with values in
    both groups: churn as the share of each group, rates (win rate) as percentages, money compact,
    other figures to one decimal, with best over rest as a ratio ("2.7x") where it means something."""
    lines = []
    for c in summary.criteria:
        if c.weight == 0 or c.best_mean is None or c.rest_mean is None:
            continue
        if c.column == "churned":
            lines.append(f"{c.label}: {percent(c.best_mean)} of best customers against {percent(c.rest_mean)} of the rest")
            continue
        ratio = f", {c.ratio:.1f}x" if c.ratio is not None and c.rest_mean > 0 else ""
        # A rate (win rate) averages to a share: "70% on average", never "0.7".
        best_mean, rest_mean = ((percent(c.best_mean), percent(c.rest_mean)) if c.column in RATES
                                else (compact(c.best_mean), compact(c.rest_mean))
                                if table_format(c.column) == "compact"
                                else (f"{c.best_mean:,.1f}", f"{c.rest_mean:,.1f}"))
        lines.append(f"{c.label}: {best_mean} on average among best customers against {rest_mean} for the rest{ratio}")
    return lines
