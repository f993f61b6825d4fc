"""Out-of-sample validation of the ICP draft: does the profile hold beyond the customers it was drafted from?

The backtest (icp.market.targets) scores the same customers the criteria were read from, so it flatters the
ICP: a chance finding fits the customers that produced it. Here the customers with a value score are
split into folds (stratified by best or not, seeded: the same data and seed give the same folds;
leave-one-out below `LEAVE_ONE_OUT_BELOW` of them). For each fold the ICP is drafted on the other
folds' customers alone (pattern tests and draft rules, including the stability check unless
`stable=False`; the best / churned labels stay those of all customers), and the fold's customers are
scored with that ICP (`score_sql` over their rows of the customer view). Every customer thus has a
fit score from an ICP that never saw it, and the AUC of best against the rest and the Tier 1 lift
are read off those scores, beside the same figures in sample (the draft of all customers scored on
all of them).

Intervals are 95% percentile intervals of a Poisson bootstrap over customers (each customer drawn a
Poisson(1) number of times, 2,000 replicates from a generator seeded by `random_state`): it
resamples the customers around the out-of-sample scores, not the drafting, so it says how surely
these scores separate these customers, not how another draft would.

Where the deals have created dates, a time split is added: the ICP is drafted on the customers who
started (first deal created, else customer since) before the median start, and tested on the closed
deals created from that date on, other than those of the customers it was drafted on.
"""

from datetime import date
from typing import Literal

import duckdb
import numpy as np

from icp.analysis import registered_keys
from icp.analysis.stats import DIRECTIONAL_BELOW
from icp.analysis.success import SuccessSettings, default_settings
from icp.data.catalog import columns_of, rows_of
from icp.data.links import CUSTOMER_VIEW
from icp.data.workspace import Workspace
from icp.frozen import Frozen
from icp.market.combinations import scored
from icp.normalize import quote_ident as _q
from icp.profile.carry import carried
from icp.profile.draft import (
    DEFAULT_RULES,
    Drafter,
    DraftRules,
    assign_folds,
    is_stable,
    open_drafter,
    stable_only,
)
from icp.profile.model import ICP, TIERS, CriterionRole, describe
from icp.relation import Relation

Verdict = Literal["holds", "does not hold", "overfit", "directional"]

# Fewer customers with a value score than this: every customer is a fold of its own.
LEAVE_ONE_OUT_BELOW = 50
# The gates of the verdict, in order: too few best customers (as on the Patterns page) or an
# out-of-sample AUC interval wider than this is "directional"; in sample better than out of sample
# by more than OVERFIT_GAP is "overfit"; AUC and Tier 1 lift at least these "holds", provided their
# intervals stay clear of chance (AUC above 0.5, lift above 1), else the interval is too wide to
# say and it is "directional"; anything else "does not hold".
MAX_AUC_WIDTH = 0.25
OVERFIT_GAP = 0.15
GOOD_AUC = 0.6
GOOD_LIFT = 1.4
BOOTSTRAP_REPLICATES = 2000
# A time split needs this much on each side, or it is skipped with a sentence saying why.
TIME_SPLIT_MIN_CUSTOMERS = 40
TIME_SPLIT_MIN_BEST = 10
TIME_SPLIT_MIN_DEALS = 10  # won and lost each

_HELD_OUT = "_icp_held_out"
_TRAINING = "_icp_training"
_TEST_DEALS = "_icp_test_deals"


class Figure(Frozen):
    """A figure with its 95% interval; None where it cannot be measured (no best customer, no Tier 1)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low


class CriterionStability(Frozen):
    """A criterion of the full-data draft (before the stability check) and how stably it is drafted."""

    attribute: str
    role: CriterionRole
    text: str  # icp.profile.model.describe
    drafted_in: int | None  # of `folds` drafts leaving one fold out (the draft's own stability folds)
    folds: int | None
    kept: bool  # in the default (stable) draft


class DealTierRate(Frozen):
    tier: str
    won: int
    lost: int
    win_rate: float | None


class TimeSplit(Frozen):
    """Drafted on the customers who started before `cut`, tested on the deals created from `cut` on."""

    cut: date
    train_customers: int  # customers who started before the cut: the draft's customers
    train_best: int
    deals_won: int  # closed deals created on or after the cut, scored, not of a training customer
    deals_lost: int
    deal_auc: Figure  # won against lost by fit score
    win_rate: float | None
    tiers: tuple[DealTierRate, ...]  # the four tiers, in order
    criteria: int  # criteria of the ICP drafted before the cut
    sentence: str


class Validation(Frozen):
    """Out-of-sample against in-sample figures of the drafted ICP, per-criterion stability, a verdict."""

    method: Literal["k-fold", "leave-one-out"]
    folds: int
    random_state: int
    stable: bool  # each fold's draft kept only its stable criteria, as the default draft does
    customers: int  # with a value score: the customers cross-validated
    best_customers: int
    out_of_sample_auc: Figure
    in_sample_auc: Figure
    out_of_sample_tier1_lift: Figure  # best share in Tier 1 / overall best share
    in_sample_tier1_lift: Figure
    criteria: tuple[CriterionStability, ...]
    time_split: TimeSplit | None
    time_split_note: str  # why there is no time split; empty when there is one
    verdict: Verdict
    sentence: str


# -- figures from scores -----------------------------------------------------------------------------

def _cells(score: np.ndarray, positive: np.ndarray, tier1: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts per (score level, in Tier 1, positive), flattened, and the number of score levels."""
    levels, level = np.unique(score, return_inverse=True)
    cell = (level * 2 + tier1.astype(int)) * 2 + positive.astype(int)
    return np.bincount(cell, minlength=len(levels) * 4).astype(float), len(levels)


def _auc_and_lift(counts: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """AUC (ties count half) and Tier 1 lift for each row of cell counts (replicates x cells)."""
    by = counts.reshape(len(counts), levels, 2, 2)  # replicate, level, tier1, positive
    pos, neg = by[..., 1].sum(axis=2), by[..., 0].sum(axis=2)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        tier1_pos, tier1_all = by[:, :, 1, 1].sum(axis=1), by[:, :, 1, :].sum(axis=(1, 2))
        lift = (tier1_pos / tier1_all) / (n_pos / (n_pos + n_neg))
    return np.where(np.isfinite(auc), auc, np.nan), np.where(np.isfinite(lift), lift, np.nan)


def _figure(point: float, replicates: np.ndarray) -> Figure:
    if np.isnan(point):
        return Figure(value=None)
    kept = replicates[~np.isnan(replicates)]
    if len(kept) < len(replicates) / 2:
        return Figure(value=round(float(point), 4))
    low, high = np.percentile(kept, [2.5, 97.5])
    return Figure(value=round(float(point), 4), low=round(float(low), 4), high=round(float(high), 4))


def separation(score: np.ndarray, positive: np.ndarray, tier1: np.ndarray,
               rng: np.random.Generator) -> tuple[Figure, Figure]:
    """(AUC of positives against the rest by score, Tier 1 lift), each with a Poisson-bootstrap 95% interval."""
    counts, levels = _cells(score, positive, tier1)
    auc, lift = _auc_and_lift(counts[None, :], levels)
    draws = rng.poisson(counts, size=(BOOTSTRAP_REPLICATES, len(counts))).astype(float)
    auc_b, lift_b = _auc_and_lift(draws, levels)
    return _figure(auc[0], auc_b), _figure(lift[0], lift_b)


# -- scoring customers -------------------------------------------------------------------------------

def _fit(con: duckdb.DuckDBPyConnection, icp: ICP, keys: set[str] | None) -> dict[str, tuple[float, bool]]:
    """account key -> (fit score, in Tier 1) of the customers with these keys (None: all), by the ICP."""
    view = _q(CUSTOMER_VIEW)
    if keys is None:
        rows = con.execute(
            f"SELECT CAST(account_key AS VARCHAR), icp_fit_score, icp_tier = 'Tier 1' "
            f"FROM {scored(con, icp, rows_of(CUSTOMER_VIEW))}").fetchall()
    else:
        with registered_keys(con, keys, _HELD_OUT) as relation:
            source = Relation.of_query(f"SELECT * FROM {view} WHERE CAST(account_key AS VARCHAR) IN "
                                       f"(SELECT account_key FROM {_q(relation)})")
            rows = con.execute(
                f"SELECT CAST(account_key AS VARCHAR), icp_fit_score, icp_tier = 'Tier 1' "
                f"FROM {scored(con, icp, source)}").fetchall()
    return {key: (float(score), bool(tier1)) for key, score, tier1 in rows}


def _arrays(fits: dict[str, tuple[float, bool]], labels: dict[str, bool]):
    keys = sorted(labels)
    score = np.array([fits[k][0] for k in keys], dtype=float)
    tier1 = np.array([fits[k][1] for k in keys], dtype=bool)
    positive = np.array([labels[k] for k in keys], dtype=bool)
    return score, positive, tier1


# -- the time split ----------------------------------------------------------------------------------

def _starts(con: duckdb.DuckDBPyConnection) -> str | None:
    """SELECT of (account key, start date) per customer: its first deal's created date, else
    customer_since; None when neither is there."""
    view, deals = columns_of(con, CUSTOMER_VIEW), columns_of(con, "deals")
    parts = []
    linked = "created_date" in deals and columns_of(con, "deal_links")
    if linked:
        parts.append("min(TRY_CAST(d.created_date AS DATE))")
    if "customer_since" in view:
        parts.append("min(TRY_CAST(c.customer_since AS DATE))")
    if not parts:
        return None
    joins = "LEFT JOIN deal_links l ON l.account_key = c.account_key LEFT JOIN deals d ON d._row = l._row" if linked else ""
    return (f"SELECT CAST(c.account_key AS VARCHAR) AS account_key, coalesce({', '.join(parts)}) AS start "
            f"FROM {_q(CUSTOMER_VIEW)} c {joins} GROUP BY 1")


def _test_deals(con: duckdb.DuckDBPyConnection, cut: date, training: set[str]):
    """The closed deals created on or after the cut that are not a training customer's, as an arrow
    table: customer (its customer's key, or NULL), won, and the universe keys it can be matched on."""
    deals, universe = columns_of(con, "deals"), columns_of(con, "universe")
    keys = [k for k in ("domain", "name_key") if k in deals and k in universe]
    linked = bool(columns_of(con, "deal_links"))
    customer = "CAST(c.account_key AS VARCHAR)" if linked else "CAST(NULL AS VARCHAR)"
    joins = (f"LEFT JOIN deal_links l ON l._row = d._row LEFT JOIN {_q(CUSTOMER_VIEW)} c "
             "ON c.account_key = l.account_key") if linked else ""
    matched = "".join(f", d.{_q(k)}" for k in keys)
    with registered_keys(con, training, _TRAINING) as relation:
        table = con.sql(f"""
            SELECT {customer} AS customer, d.deal_outcome = 'won' AS won{matched}
            FROM deals d {joins}
            WHERE d.deal_outcome IN ('won', 'lost') AND TRY_CAST(d.created_date AS DATE) >= $cut
              AND ({customer} IS NULL OR {customer} NOT IN (SELECT account_key FROM {_q(relation)}))""",
                        params={"cut": cut}).to_arrow_table()
    return table, keys


def _deal_fits(con: duckdb.DuckDBPyConnection, icp: ICP, cut: date, training: set[str]) -> list[tuple[bool, float, str]]:
    """(won, fit score, tier) of each test deal whose account is found: its customer, else the first
    universe account (by file order) with its domain, else its name."""
    table, keys = _test_deals(con, cut, training)
    con.register(_TEST_DEALS, table)
    try:
        view = _q(CUSTOMER_VIEW)
        customers = Relation.of_query(f"SELECT * FROM {view} WHERE CAST(account_key AS VARCHAR) IN "
                                      f"(SELECT customer FROM {_TEST_DEALS})")
        ctes = [f"fc AS {scored(con, icp, customers)}"]
        joins = ["LEFT JOIN fc ON CAST(fc.account_key AS VARCHAR) = t.customer"]
        scores, tiers = ["fc.icp_fit_score"], ["fc.icp_tier"]
        if keys:
            wanted = " OR ".join(f"{_q(k)} IN (SELECT {_q(k)} FROM {_TEST_DEALS} WHERE customer IS NULL)" for k in keys)
            in_universe = carried(con, icp, Relation.of_table("universe"), "universe")
            universe = Relation.of_query(f"SELECT * FROM universe WHERE {wanted}")
            ctes.append(f"fu AS {scored(con, in_universe, universe)}")
            for i, k in enumerate(keys):
                ctes.append(f"u{i} AS (SELECT {_q(k)} AS k, arg_min(icp_fit_score, _row) AS score, "
                            f"arg_min(icp_tier, _row) AS tier FROM fu WHERE {_q(k)} IS NOT NULL GROUP BY 1)")
                joins.append(f"LEFT JOIN u{i} ON t.customer IS NULL AND u{i}.k = t.{_q(k)}")
                scores.append(f"u{i}.score")
                tiers.append(f"u{i}.tier")
        rows = con.execute(f"""
            WITH {', '.join(ctes)}
            SELECT t.won, coalesce({', '.join(scores)}) AS score, coalesce({', '.join(tiers)}) AS tier
            FROM {_TEST_DEALS} t {' '.join(joins)}""").fetchall()
    finally:
        con.unregister(_TEST_DEALS)
    return [(bool(won), float(score), tier) for won, score, tier in rows if score is not None]


def _time_split(drafter: Drafter, stable: bool, random_state: int) -> tuple[TimeSplit | None, str]:
    con = drafter.con
    deals = columns_of(con, "deals")
    if not {"deal_outcome", "created_date"} <= set(deals):
        return None, "There are no closed deals with created dates, so there is no time split."
    starts_sql = _starts(con)
    starts = dict(con.execute(f"SELECT account_key, start FROM ({starts_sql}) WHERE start IS NOT NULL").fetchall())
    dated = [key for key in drafter.scored if key in starts]
    if len(dated) < TIME_SPLIT_MIN_CUSTOMERS:
        return None, (f"Only {len(dated)} customers have a start date (first deal or customer since); "
                      f"a time split needs {TIME_SPLIT_MIN_CUSTOMERS}.")
    cut = sorted(starts[key] for key in dated)[(len(dated) - 1) // 2]  # the median start, a real date
    training = {key for key, start in starts.items() if start < cut}
    best = sum(drafter.scored.get(key, False) for key in training)
    if best < TIME_SPLIT_MIN_BEST:
        return None, (f"Only {best} best customers started before {cut:%Y-%m-%d}; a time split needs "
                      f"{TIME_SPLIT_MIN_BEST} to draft on.")
    icp = drafter.draft(training, stable)
    fits = _deal_fits(con, icp, cut, training)
    won, lost = sum(w for w, _, _ in fits), sum(not w for w, _, _ in fits)
    if min(won, lost) < TIME_SPLIT_MIN_DEALS:
        return None, (f"Only {won} won and {lost} lost deals created since {cut:%Y-%m-%d} could be scored; "
                      f"a time split needs {TIME_SPLIT_MIN_DEALS} of each.")
    score = np.array([s for _, s, _ in fits])
    positive = np.array([w for w, _, _ in fits])
    tier1 = np.array([t == "Tier 1" for _, _, t in fits])
    auc, _ = separation(score, positive, tier1, np.random.default_rng([random_state, 2]))
    rates = []
    for tier in TIERS:
        w = sum(1 for x, _, t in fits if x and t == tier)
        n = sum(1 for _, _, t in fits if t == tier)
        rates.append(DealTierRate(tier=tier, won=w, lost=n - w, win_rate=w / n if n else None))
    win_rate = won / (won + lost)
    sentence = (f"Drafted on the {len(training):,} customers who started before {cut:%Y-%m-%d}, the ICP "
                f"scores won deals created since above lost ones with AUC {_figure_text(auc)}")
    if rates[0].win_rate is not None:
        sentence += f"; Tier 1 deals were won {rates[0].win_rate:.0%} of the time against {win_rate:.0%} overall"
    return TimeSplit(cut=cut, train_customers=len(training), train_best=best, deals_won=won, deals_lost=lost,
                     deal_auc=auc, win_rate=win_rate, tiers=tuple(rates), criteria=len(icp.criteria),
                     sentence=sentence + "."), ""


# -- verdict -----------------------------------------------------------------------------------------

def _figure_text(figure: Figure) -> str:
    if figure.value is None:
        return "n/a"
    if figure.low is None:
        return f"{figure.value:.2f}"
    return f"{figure.value:.2f} ({figure.low:.2f}-{figure.high:.2f})"


def _lift_text(figure: Figure) -> str:
    if figure.value is None:
        return "no customer is in Tier 1"
    interval = f" ({figure.low:.1f}-{figure.high:.1f})" if figure.low is not None else ""
    return f"Tier 1 holds best customers {figure.value:.1f}x as often as average{interval}"


def _verdict(best: int, auc: Figure, in_auc: Figure, lift: Figure, criteria: int) -> tuple[Verdict, str]:
    in_sample = f"in sample {in_auc.value:.2f}" if in_auc.value is not None else "in sample n/a"
    if auc.value is None:
        return "directional", ("There are not enough best customers and others to validate the ICP out of "
                               f"sample ({best} best customers).")
    if best < DIRECTIONAL_BELOW:
        return "directional", (f"With only {best} best customers (fewer than {DIRECTIONAL_BELOW}) this is "
                               f"directional: out of sample the ICP separates best customers from the rest with "
                               f"AUC {_figure_text(auc)}; {in_sample}.")
    if auc.width is None or auc.width > MAX_AUC_WIDTH:
        return "directional", (f"The out-of-sample AUC {_figure_text(auc)} is too uncertain to say whether the "
                               f"ICP holds; {in_sample}.")
    if in_auc.value is not None and in_auc.value - auc.value > OVERFIT_GAP:
        return "overfit", (f"The ICP is overfit: it separates best customers from the rest with AUC "
                           f"{in_auc.value:.2f} in sample but only {_figure_text(auc)} out of sample, so its "
                           "criteria describe these customers rather than the next ones.")
    if auc.value >= GOOD_AUC and lift.value is not None and lift.value >= GOOD_LIFT:
        if (auc.low is not None and auc.low > 0.5) and (lift.low is not None and lift.low > 1):
            return "holds", (f"Out of sample the ICP separates best customers from the rest with AUC "
                             f"{_figure_text(auc)}; {in_sample}; {_lift_text(lift)}.")
        return "directional", (f"Out of sample the ICP seems to separate best customers from the rest (AUC "
                               f"{_figure_text(auc)}; {_lift_text(lift)}), but the intervals reach chance, "
                               f"so this is directional; {in_sample}.")
    if not criteria:
        return "does not hold", ("No criterion is drafted from these customers, so the ICP scores every account "
                                 "alike and cannot separate best customers from the rest (out of sample AUC "
                                 f"{_figure_text(auc)}).")
    return "does not hold", (f"Out of sample the ICP barely separates best customers from the rest: AUC "
                             f"{_figure_text(auc)}, {_lift_text(lift)}; {in_sample}.")


# -- validate ----------------------------------------------------------------------------------------

def validate(workspace: Workspace, success: SuccessSettings | None = None, rules: DraftRules = DEFAULT_RULES, *,
             folds: int = 5, random_state: int = 0, stable: bool = True) -> Validation:
    """Cross-validate the ICP draft of a workspace's customers (see the module docstring).

    `folds` folds (leave-one-out below LEAVE_ONE_OUT_BELOW customers with a value score), assigned
    from `random_state`; `stable=False` validates the raw draft, without the stability check. The
    same workspace, settings and arguments always give an equal result.
    """
    settings = success or default_settings(workspace)
    with open_drafter(workspace, settings, rules) as drafter:
        con, labels = drafter.con, drafter.scored
        counted = drafter.counted()
        full = stable_only(counted, rules) if stable else drafter.raw()
        n = len(labels)
        leave_one_out = n < LEAVE_ONE_OUT_BELOW
        k = n if leave_one_out else min(folds, n)
        fits_in = _fit(con, full, None)
        fits_out: dict[str, tuple[float, bool]] = {}
        if k >= 2:
            fold_of = assign_folds(labels.items(), k, random_state)
            for j in range(k):
                held = {key for key, fold in fold_of.items() if fold == j}
                icp = drafter.draft(drafter.accounts - held, stable)
                fits_out |= _fit(con, icp, held)
        time_split, note = _time_split(drafter, stable, random_state)
    best = sum(labels.values())
    rng = np.random.default_rng([random_state, 1])
    in_auc, in_lift = separation(*_arrays(fits_in, labels), rng)
    if fits_out:
        auc, lift = separation(*_arrays(fits_out, labels), rng)
    else:
        auc, lift = Figure(value=None), Figure(value=None)
    verdict, sentence = _verdict(best, auc, in_auc, lift, len(full.criteria))
    criteria = tuple(
        CriterionStability(attribute=c.attribute, role=c.role, text=describe(c),
                           drafted_in=c.evidence.drafted_in if c.evidence else None,
                           folds=c.evidence.folds if c.evidence else None, kept=is_stable(c, rules))
        for c in counted.criteria
    )
    return Validation(
        method="leave-one-out" if leave_one_out else "k-fold", folds=k, random_state=random_state, stable=stable,
        customers=n, best_customers=best, out_of_sample_auc=auc, in_sample_auc=in_auc,
        out_of_sample_tier1_lift=lift, in_sample_tier1_lift=in_lift, criteria=criteria, time_split=time_split,
        time_split_note=note, verdict=verdict, sentence=sentence,
    )


class SavedValidation(Frozen):
    """A validation kept in the workspace with what it was made from, so a page shows it at once
    while the data and the success settings are unchanged (it takes seconds to make)."""

    data_version: int
    success: SuccessSettings
    result: Validation


VALIDATION_KEY = "validation"


def save_validation(workspace: Workspace, success: SuccessSettings, result: Validation) -> None:
    workspace.save_settings(VALIDATION_KEY, SavedValidation(data_version=workspace.data_version, success=success,
                                                            result=result))


def saved_validation(workspace: Workspace, success: SuccessSettings) -> Validation | None:
    """The kept validation when it was made from this data and these success settings, else None."""
    saved = workspace.load_settings(VALIDATION_KEY, SavedValidation)
    if saved is None or saved.data_version != workspace.data_version or saved.success != success:
        return None
    return saved.result
