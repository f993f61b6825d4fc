"""Rule segments: every combination of 1-3 dimension values, measured and ranked.

Counting is SQL over the scored customers (one GROUP BY); the small per-segment table is then
finished in numpy: empirical Bayes shrinkage, so that a segment of two lucky accounts does not
top the list, and a rank the user weights (profitability, velocity, likelihood to close,
retention).
"""

import duckdb
import numpy as np
import pandas as pd
from pydantic import Field

from icp.analysis.attributes import Attribute
from icp.analysis.stats import wilson_interval
from icp.errors import AnalysisError
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.relation import Relation, as_relation

UNKNOWN = "(unknown)"
# Strength of the beta prior, in pseudo-observations, when the spread across segments cannot
# say how much segments really differ (one segment, all-or-nothing rates, no extra spread).
FALLBACK_PRIOR_STRENGTH = 10.0
# tau² is floored at this share of the within-segment variance, so k stays finite (at most 1e6).
_TAU2_FLOOR = 1e-6
_QUANTILES = (0.25, 0.5, 0.75)
# Numeric roles whose band column the ingest already derives.
_BANDS = {
    "employees": Attribute(name="size_band", label="Company size", kind="category"),
    "revenue": Attribute(name="revenue_band", label="Revenue band", kind="category"),
}
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_MEASURES = [
    "accounts", "best_customers", "best_share", "best_share_low", "best_share_high", "best_share_shrunk",
    "value_total", "value_mean", "value_mean_shrunk", "win_rate", "win_rate_shrunk", "median_cycle_days",
    "churn_rate", "churn_rate_shrunk", "confidence", "score", "rank",
]
CSV_MEASURES = ["accounts", "best_customers", "value_mean", "win_rate", "churn_rate", "rank"]
# Below this many accounts a segment is listed after the ranked ones, not among them: shrinkage
# alone still let a one-account segment with no best customer rank second on maven's data. Ten is
# where the confidence flag stops saying "low".
MIN_SEGMENT_ACCOUNTS = 10
# A small customer base has few segments that big (85 customers by industry and size: none): the
# page's default minimum then comes down to what ranks the few biggest, never under this floor.
MIN_SEGMENT_FLOOR = 3
RANKED_AT_LEAST = 3
# The measure each rank term reads, and why a term is missing when no segment has that measure.
TERM_MEASURES = {
    "profitability": "value_mean_shrunk",
    "velocity": "median_cycle_days",
    "likelihood_to_close": "win_rate_shrunk",
    "retention": "churn_rate_shrunk",
}
ABSENT_REASONS = {
    "profitability": "no customer has a value",
    "velocity": "no won deal or customer has a sales cycle",
    "likelihood_to_close": "no customer is linked to a won or lost deal",
    "retention": "no customer's churn is known",
}


class RankWeights(Frozen):
    """How much each term counts in a segment's score (sliders, 0-10)."""

    profitability: float = Field(default=1.0, ge=0, le=10)
    velocity: float = Field(default=1.0, ge=0, le=10)
    likelihood_to_close: float = Field(default=1.0, ge=0, le=10)
    retention: float = Field(default=1.0, ge=0, le=10)


DEFAULT_WEIGHTS = RankWeights()
DEFAULT_DIMENSIONS = ("industry", "size_band")


class SegmentSettings(Frozen):
    """The user's choice of segment dimensions and rank weights, saved with the workspace."""

    dimensions: tuple[str, ...] = Field(default=DEFAULT_DIMENSIONS, min_length=1, max_length=3)
    weights: RankWeights = DEFAULT_WEIGHTS
    min_accounts: int = Field(default=MIN_SEGMENT_ACCOUNTS, ge=1)


class MinimumChoice(Frozen):
    """The minimum segment size the user set on the Segments page; None follows the data
    (suggested_min_accounts)."""

    accounts: int | None = Field(default=None, ge=1)


# --- estimators ---------------------------------------------------------------------------------

def beta_prior_strength(successes, trials) -> float:
    """Strength m (pseudo-observations) of the beta prior of segment rates, by method of moments.

    Over the K segments with trials n_i > 0, successes x_i, rates r_i = x_i / n_i, N = Σ n_i and
    overall rate p = Σ x_i / N, the between-segment correlation ρ = 1 / (m + 1) solves the
    expected weighted spread of the rates (the one-way ANOVA estimator):

        S = Σ n_i (r_i - p)²,   ρ = (S / (p (1 - p)) - (K - 1)) / (N - Σ n_i² / N - (K - 1)),
        m = (1 - ρ) / ρ.

    When it cannot be estimated (K < 2, p is 0 or 1, every n_i = 1, or ρ outside (0, 1): no
    spread beyond binomial noise) the strength is FALLBACK_PRIOR_STRENGTH.
    """
    x, n = _used(successes, trials)
    total = n.sum()
    if len(n) < 2 or total == 0:
        return FALLBACK_PRIOR_STRENGTH
    p = x.sum() / total
    denominator = total - (n**2).sum() / total - (len(n) - 1)
    if not 0 < p < 1 or denominator <= 0:
        return FALLBACK_PRIOR_STRENGTH
    spread = (n * (x / n - p) ** 2).sum()
    rho = (spread / (p * (1 - p)) - (len(n) - 1)) / denominator
    return (1 - rho) / rho if 0 < rho < 1 else FALLBACK_PRIOR_STRENGTH


def shrink_rates(successes, trials) -> np.ndarray:
    """Rates pulled toward the overall rate p with a Beta(m·p, m·(1 - p)) prior:
    (x_i + m·p) / (n_i + m), m from `beta_prior_strength`. NaN where a segment has no trials."""
    x, n = (np.asarray(a, dtype=float) for a in (successes, trials))
    n = np.nan_to_num(n)
    x = np.where(n > 0, np.nan_to_num(x), 0.0)
    if n.sum() == 0:
        return np.full(len(n), np.nan)
    m = beta_prior_strength(x, n)
    p = x.sum() / n.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (x + m * p) / (n + m), np.nan)


def normal_shrinkage_k(counts, means, variances) -> float:
    """Pseudo-observations k = σ²_within / τ²_between of the normal-normal model, by method of moments.

    Over the K segments with n_i > 0 values, means ȳ_i, sample variances s_i², N = Σ n_i and
    overall mean ȳ = Σ n_i ȳ_i / N:

        σ² = Σ (n_i - 1) s_i² / Σ (n_i - 1)                          (pooled within segments)
        τ² = (Σ n_i (ȳ_i - ȳ)² - (K - 1) σ²) / (N - Σ n_i² / N)      (one-way ANOVA)
        k  = σ² / max(τ², 1e-6 σ²)

    When σ² cannot be estimated (no segment has two values) or K < 2, k = FALLBACK_PRIOR_STRENGTH.
    """
    n, y, s2 = (np.asarray(a, dtype=float) for a in (counts, means, variances))
    used = np.nan_to_num(n) > 0
    n, y, s2 = n[used], y[used], s2[used]
    dof = np.clip(n - 1, 0, None).sum()
    if len(n) < 2 or dof == 0:
        return FALLBACK_PRIOR_STRENGTH
    sigma2 = (np.where(n > 1, (n - 1) * np.nan_to_num(s2), 0.0)).sum() / dof
    if sigma2 == 0:
        return 0.0
    total = n.sum()
    grand = (n * y).sum() / total
    tau2 = ((n * (y - grand) ** 2).sum() - (len(n) - 1) * sigma2) / (total - (n**2).sum() / total)
    return sigma2 / max(tau2, _TAU2_FLOOR * sigma2)


def shrink_means(counts, means, variances) -> np.ndarray:
    """Means pulled toward the overall mean: (n_i·ȳ_i + k·ȳ) / (n_i + k), k from
    `normal_shrinkage_k`. NaN where a segment has no values."""
    n, y = (np.asarray(a, dtype=float) for a in (counts, means))
    n = np.nan_to_num(n)
    if n.sum() == 0:
        return np.full(len(n), np.nan)
    k = normal_shrinkage_k(n, y, variances)
    grand = (n * np.nan_to_num(y)).sum() / n.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (n * np.nan_to_num(y) + k * grand) / (n + k), np.nan)


def _used(successes, trials) -> tuple[np.ndarray, np.ndarray]:
    x, n = (np.nan_to_num(np.asarray(a, dtype=float)) for a in (successes, trials))
    return x[n > 0], n[n > 0]


# --- dimensions ---------------------------------------------------------------------------------

def segment_dimensions(attributes: list[Attribute]) -> list[Attribute]:
    """Attributes a segment can be cut by, in the given order: categories and flags as they are,
    employees and revenue as their band columns, other numbers as quantile bands (cut in SQL by
    `rule_segments`). Lists are left out: an account with several items is in several segments."""
    found: dict[str, Attribute] = {}
    for attribute in attributes:
        if attribute.kind == "list":
            continue
        chosen = _BANDS.get(attribute.role, attribute) if attribute.kind == "number" else attribute
        found.setdefault(chosen.name, chosen)
    return list(found.values())


def _source_columns(con: duckdb.DuckDBPyConnection, source: Relation) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {as_relation(source).select()}").fetchall()}


def _number_label(value: float) -> str:
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _band_expr(con, source: Relation, column: str, slot: int, params: dict) -> str:
    """CASE over the column's quartile cut points (bound as parameters), labels like "10–50"."""
    low, cuts, high = con.execute(
        f"SELECT min(c), quantile_disc(c, {list(_QUANTILES)}), max(c) "
        f"FROM (SELECT {_q(column)} AS c FROM {source} AS s)"
    ).fetchone()
    if low is None:
        return "$unknown"
    edges = sorted({low, *cuts})
    uppers = [*edges[1:], high]
    labels = [_number_label(lo) if lo == hi else f"{_number_label(lo)}–{_number_label(hi)}"
              for lo, hi in zip(edges, uppers, strict=True)]
    column_ref = _q(column)
    cases = []
    for i, (cut, label) in enumerate(zip(edges[1:], labels, strict=False)):
        params[f"cut_{slot}_{i}"], params[f"band_{slot}_{i}"] = cut, label
        cases.append(f"WHEN {column_ref} < $cut_{slot}_{i} THEN $band_{slot}_{i}")
    params[f"band_{slot}_last"] = labels[-1]
    return f"CASE WHEN {column_ref} IS NULL THEN $unknown {' '.join(cases)} ELSE $band_{slot}_last END"


def _dimension_expr(con, source: Relation, column: str, dtype: str, slot: int, params: dict) -> str:
    if dtype.startswith(_NUMERIC_TYPES):
        return _band_expr(con, source, column, slot, params)
    return f"coalesce(nullif(CAST({_q(column)} AS VARCHAR), ''), $unknown)"


# --- aggregation (SQL) --------------------------------------------------------------------------

def _has_deal_cycles(con) -> bool:
    """Whether won deals' cycle days can be reached from accounts through deal_links."""
    found = {(t, c) for t, c in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN ('deals', 'deal_links')"
    ).fetchall()}
    needed = {("deals", "_row"), ("deals", "cycle_days"), ("deals", "deal_outcome"),
              ("deal_links", "_row"), ("deal_links", "account_key")}
    return needed <= found


def _measure(columns: dict[str, str], name: str, cast: str) -> str:
    return f"CAST({_q(name)} AS {cast})" if name in columns else f"NULL::{cast}"


# Per segment, over the accounts' measures picked by _measure_picks.
_AGGREGATES = """
    count(*) AS accounts,
    count(*) FILTER (WHERE _best) AS best_customers,
    sum(_value) AS value_total,
    avg(_value) AS value_mean,
    var_samp(_value) AS value_var,
    count(_value) AS value_n,
    sum(_won) AS won,
    sum(_won + _lost) AS closed,
    sum(_won) / nullif(sum(_won + _lost), 0) AS win_rate,
    median(_cycle) AS median_cycle_days,
    sum(_churned) AS churned,
    count(_churned) AS churn_n"""


def _measure_picks(columns: dict[str, str], value: str, by_deals: bool) -> list[str]:
    cycle = "NULL::DOUBLE" if by_deals else _measure(columns, "median_cycle_days", "DOUBLE")
    return [
        f"{_measure(columns, 'account_key', 'VARCHAR')} AS _key",
        f"{_measure(columns, value, 'DOUBLE')} AS _value",
        f"{_measure(columns, 'is_best', 'BOOLEAN')} AS _best",
        f"{_measure(columns, 'deals_won', 'DOUBLE')} AS _won",
        f"{_measure(columns, 'deals_lost', 'DOUBLE')} AS _lost",
        f"{_measure(columns, 'churned', 'DOUBLE')} AS _churned",
        f"{cycle} AS _cycle",
    ]


def _deal_cycles(dims: list[str]) -> str:
    """Median cycle of the won deals of each segment's accounts, through deal_links."""
    keys = ", ".join(f"src.{d}" for d in dims)
    return f"""
        SELECT {keys}, median(d."cycle_days") AS deal_cycle
        FROM src JOIN deal_links l ON l.account_key = src._key JOIN deals d ON d._row = l._row
        WHERE d."deal_outcome" = $won
        GROUP BY {keys}"""


def _segment_sql(con, source: Relation, dimensions: list[str], value: str, columns: dict[str, str]):
    """One GROUP BY over the source (plus one over its won deals when they can be reached)."""
    params: dict = {"unknown": UNKNOWN}
    dims = [_q(d) for d in dimensions]
    picks = [f"{_dimension_expr(con, source, d, columns[d], i, params)} AS {_q(d)}"
             for i, d in enumerate(dimensions)]
    by_deals = _has_deal_cycles(con) and "account_key" in columns
    picks += _measure_picks(columns, value, by_deals)
    dim_list = ", ".join(dims)
    sql = f"""
        WITH src AS (SELECT {', '.join(picks)} FROM {source} AS s),
        seg AS (SELECT {dim_list}, {_AGGREGATES} FROM src GROUP BY {dim_list})"""
    if not by_deals:
        return sql + " SELECT * FROM seg", params
    params["won"] = "won"
    return sql + f""",
        cyc AS ({_deal_cycles(dims)})
        SELECT seg.* REPLACE (cyc.deal_cycle AS median_cycle_days)
        FROM seg LEFT JOIN cyc USING ({dim_list})""", params


def _check_dimensions(dimensions: list[str], columns: dict[str, str]) -> None:
    if not 1 <= len(dimensions) <= 3 or len(set(dimensions)) != len(dimensions):
        raise AnalysisError("Pick one to three different dimensions.")
    missing = [d for d in dimensions if d not in columns]
    if missing:
        raise AnalysisError(f"Unknown dimension column(s): {', '.join(missing)}.")
    clashing = [d for d in dimensions if d in _MEASURES]
    if clashing:
        raise AnalysisError(f"A dimension cannot be named like a segment measure: {', '.join(clashing)}.")


# --- finishing (numpy) --------------------------------------------------------------------------

def _confidence(accounts: pd.Series) -> pd.Series:
    return pd.Series(np.select([accounts < 10, accounts < 30], ["low", "medium"], "high"), index=accounts.index)


def _percentile(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Percentile rank (0-100] among the segments that have the value; NaN where they do not."""
    return (values if higher_is_better else -values).rank(pct=True, method="average") * 100


def _scores(frame: pd.DataFrame, weights: RankWeights) -> pd.Series:
    """Weighted mean of the percentile ranks of the terms each segment has (missing is not zero)."""
    terms = {
        "profitability": _percentile(frame["value_mean_shrunk"], True),
        "velocity": _percentile(frame["median_cycle_days"], False),
        "likelihood_to_close": _percentile(frame["win_rate_shrunk"], True),
        "retention": _percentile(1 - frame["churn_rate_shrunk"], True),
    }
    ranks = pd.DataFrame(terms, index=frame.index)
    weight = pd.Series(weights.model_dump())[ranks.columns]
    present = ranks.notna() & (weight > 0)
    total_weight = present.mul(weight).sum(axis=1)
    weighted = ranks.fillna(0).mul(weight).where(present, 0).sum(axis=1)
    return (weighted / total_weight.where(total_weight > 0)).astype(float)


def _dimensions_of(frame: pd.DataFrame) -> list[str]:
    return list(frame.columns[: frame.columns.get_loc("accounts")])


def rank_segments(frame: pd.DataFrame, weights: RankWeights, min_accounts: int = 1) -> pd.DataFrame:
    """`score` and `rank` (1 = best) of a `rule_segments` frame under other weights, without SQL:
    score desc, then accounts desc, then dimension values; a segment with no weighted term is last.
    Segments under `min_accounts` are scored among themselves only and come after every other, so
    percentiles of the ranked segments do not move with them either."""
    dimensions = _dimensions_of(frame)
    small = frame["accounts"] < min_accounts
    score = pd.concat([_scores(frame[~small], weights), _scores(frame[small], weights)]).reindex(frame.index)
    ranked = frame.assign(score=score, _small=small).sort_values(
        ["_small", "score", "accounts", *dimensions], ascending=[True, False, False, *[True] * len(dimensions)],
        na_position="last", kind="mergesort",
    ).reset_index(drop=True)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    return ranked[dimensions + _MEASURES]


def split_small(frame: pd.DataFrame, min_accounts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ranked segments, and those under `min_accounts` that are listed apart."""
    small = frame["accounts"] < min_accounts
    return frame[~small].reset_index(drop=True), frame[small].reset_index(drop=True)


def suggested_min_accounts(accounts) -> tuple[int, str]:
    """The minimum segment size the Segments page starts from for segments of these sizes
    (`accounts`, one per segment), and why, as a clause the page can write after "at least N accounts".

    MIN_SEGMENT_ACCOUNTS when at least RANKED_AT_LEAST segments (or every segment of at least
    MIN_SEGMENT_FLOOR accounts, when fewer) are that big; else the size of the RANKED_AT_LEAST-th
    biggest segment, never under MIN_SEGMENT_FLOOR, so the first view ranks something whenever a
    segment holds MIN_SEGMENT_FLOOR accounts. `icp build` and segments.csv do not use it."""
    sizes = sorted((int(a) for a in accounts), reverse=True)
    customers = sum(sizes)
    wanted = min(RANKED_AT_LEAST, sum(size >= MIN_SEGMENT_FLOOR for size in sizes))
    if wanted == 0:
        return MIN_SEGMENT_FLOOR, (f"no segment of these {customers:,} customers holds even {MIN_SEGMENT_FLOOR} "
                                   "accounts: segment by fewer dimensions")
    big = sum(size >= MIN_SEGMENT_ACCOUNTS for size in sizes)
    if big >= wanted:
        return MIN_SEGMENT_ACCOUNTS, (f"the default: from {MIN_SEGMENT_ACCOUNTS} accounts a segment's "
                                      "confidence is no longer low")
    minimum = max(MIN_SEGMENT_FLOOR, sizes[wanted - 1])
    reach = "no segment reaches" if big == 0 else f"only {big} segment{'' if big == 1 else 's'} reach"
    return minimum, (f"{reach} {MIN_SEGMENT_ACCOUNTS} accounts with these {customers:,} customers, so the minimum "
                     f"comes down to {minimum} (never under {MIN_SEGMENT_FLOOR}) to rank the biggest; "
                     "their confidence is low")


def absent_terms(frame: pd.DataFrame) -> dict[str, str]:
    """Rank terms no segment has a measure for, each with the reason: a weight on them ranks nothing."""
    return {term: ABSENT_REASONS[term] for term, measure in TERM_MEASURES.items()
            if measure in frame and not frame[measure].notna().any()}


def _measures(raw: pd.DataFrame, dimensions: list[str]) -> pd.DataFrame:
    """The per-segment counts from SQL turned into shares, intervals and shrunk estimates."""
    frame = raw[dimensions].copy()
    frame["accounts"] = raw["accounts"].astype("int64")
    frame["best_customers"] = raw["best_customers"].astype("int64")
    frame["best_share"] = frame["best_customers"] / frame["accounts"]
    intervals = [wilson_interval(x, n) for x, n in zip(frame["best_customers"], frame["accounts"], strict=True)]
    frame["best_share_low"] = [low for low, _ in intervals]
    frame["best_share_high"] = [high for _, high in intervals]
    frame["best_share_shrunk"] = shrink_rates(frame["best_customers"], frame["accounts"])
    frame["value_total"] = raw["value_total"].astype(float)
    frame["value_mean"] = raw["value_mean"].astype(float)
    frame["value_mean_shrunk"] = shrink_means(raw["value_n"], raw["value_mean"], raw["value_var"])
    frame["win_rate"] = raw["win_rate"].astype(float)
    frame["win_rate_shrunk"] = shrink_rates(raw["won"], raw["closed"])
    frame["median_cycle_days"] = raw["median_cycle_days"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["churn_rate"] = (raw["churned"] / raw["churn_n"]).astype(float)
    frame["churn_rate_shrunk"] = shrink_rates(raw["churned"], raw["churn_n"])
    frame["confidence"] = _confidence(frame["accounts"])
    frame["score"], frame["rank"] = np.nan, 0
    return frame


def rule_segments(
    con: duckdb.DuckDBPyConnection,
    source: Relation,
    dimensions: list[str],
    *,
    value_column: str | None,
    weights: RankWeights = DEFAULT_WEIGHTS,
    min_accounts: int = 1,
) -> pd.DataFrame:
    """One row per combination of the dimensions' values present in `source`, ranked (1 = best).

    The source is the customers with `value_score` and `is_best` (icp/analysis/success.py);
    `deals_won`, `deals_lost`, `median_cycle_days`, `churned` and `account_key` are used when present.
    The value measured is `value_column` when given, else `value_score`.
    """
    columns = _source_columns(con, source)
    _check_dimensions(dimensions, columns)
    value = value_column or "value_score"
    missing = [c for c in (value, "is_best") if c not in columns]
    if missing:
        raise AnalysisError(f"The customer data has no {' or '.join(missing)} column; score the customers first.")
    sql, params = _segment_sql(con, source, dimensions, value, columns)
    frame = _measures(con.execute(sql, params).df(), dimensions)
    # The priors learned from every segment; segments under min_accounts are ranked after the rest.
    return rank_segments(frame, weights, min_accounts)


def segments_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The `segments.csv` contract (docs/contracts.md): dimensions, then CSV_MEASURES, by rank."""
    dimensions = _dimensions_of(frame)
    return frame.sort_values("rank")[dimensions + CSV_MEASURES].reset_index(drop=True)
