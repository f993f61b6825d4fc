"""The ICP fit score, SAM flag and tier in plain pandas: the reference the DuckDB scoring is measured against.

The rules are those of `icp/profile/scoring.py` (its module docstring), written the way a pandas user
would write them: one boolean Series per criterion, a weighted sum, `np.select` for the tier, and
`explode` for list criteria. It is exact, not approximate, so the benchmark can check it gives the
DuckDB scores before comparing speeds:

- weights are counted in whole thousandths and the score in tenths is rounded half up in integers,
  (2 x 1000 x passed + all) // (2 x all), as the scoring SQL does in every engine;
- text is trimmed of exactly the characters the scoring SQL trims (`icp.trim`), then lower-cased.
"""

import numpy as np
import pandas as pd

from icp.profile.model import ICP, Criterion
from icp.profile.scoring import WEIGHT_UNITS, weight_units
from icp.trim import TRIM_CHARACTERS, normalize

NOT_A_FIT = "Not a fit"


def _lowered(values: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(normalize(v) for v in values))


def _text(column: pd.Series) -> pd.Series:
    return column.astype("string").str.strip(TRIM_CHARACTERS).str.lower()


def passes(frame: pd.DataFrame, criterion: Criterion) -> pd.Series:
    """Whether each account passes the criterion; a missing value (or column) never does."""
    if criterion.attribute not in frame:
        return pd.Series(False, index=frame.index)
    column = frame[criterion.attribute]
    if criterion.kind == "in_set":
        hit = _text(column).isin(_lowered(criterion.values))
    elif criterion.kind == "range":
        numbers = pd.to_numeric(column, errors="coerce").astype("float64")
        hit = pd.Series(True, index=frame.index)
        if criterion.low is not None:
            hit &= numbers >= criterion.low
        if criterion.high is not None:
            hit &= numbers < criterion.high
    elif criterion.kind == "contains":
        items = column.explode()
        found = _text(items).isin(_lowered(criterion.values)).fillna(False).astype(bool)
        hit = found.groupby(level=0).any().reindex(frame.index, fill_value=False)
    else:
        hit = column.eq(criterion.flag)
    return hit.fillna(False).astype(bool)


def _fit(counted: list[tuple[int, pd.Series]]) -> np.ndarray:
    """The fit score of passing the criteria `counted` (weight units, passed): tenths of a percent
    rounded half up in whole numbers, then divided by ten."""
    total = sum(units for units, _ in counted)
    won = sum(p.to_numpy().astype(np.int64) * units for units, p in counted)
    return ((2 * WEIGHT_UNITS * won + total) // (2 * total)) / 10.0


def score(frame: pd.DataFrame, icp: ICP, key: str = "account_key") -> pd.DataFrame:
    """icp_fit_score, icp_tier and icp_in_sam of every row of `frame` (same index)."""
    frame = frame.reset_index(drop=True)
    tested = [(c, passes(frame, c)) for c in icp.criteria]
    counted = [(weight_units(c.weight), p) for c, p in tested if c.role != "disqualify"]
    counted = [(units, p) for units, p in counted if units > 0]
    if counted:
        fit = _fit(counted)
    else:
        fit = np.zeros(len(frame))  # no must or nice criterion: no ICP yet, nothing is a fit
    disqualified = np.zeros(len(frame), dtype=bool)
    for c, p in tested:
        if c.role == "disqualify":
            disqualified |= p.to_numpy()
    fit = np.where(disqualified, 0.0, fit)
    in_sam = ~disqualified
    for c, p in tested:
        if c.role == "must":
            in_sam &= p.to_numpy()

    rules = icp.tiers
    if rules.mode == "capacity":
        # The first `capacity` accounts of SAM by (score DESC, key ASC) are Tier 1.
        ranked = pd.DataFrame({"score": fit, "key": frame[key]})[in_sam]
        ranked = ranked.sort_values(["score", "key"], ascending=[False, True], na_position="last")
        first = np.zeros(len(frame), dtype=bool)
        first[ranked.index[: rules.capacity].to_numpy()] = True
    else:
        first = fit >= float(rules.tier1)
    # A tier ranks SAM accounts: outside SAM (a must missed or unknown, or disqualified), not a fit.
    tier = np.select(
        [(fit <= 0) | ~in_sam, first, fit >= float(rules.tier2), fit >= float(rules.tier3)],
        ["Not a fit", "Tier 1", "Tier 2", "Tier 3"], NOT_A_FIT)
    return pd.DataFrame({"icp_fit_score": fit, "icp_tier": tier, "icp_in_sam": in_sam}, index=frame.index)


def tier_and_sam_counts(frame: pd.DataFrame, icp: ICP, key: str = "account_key") -> dict[tuple[str, bool], int]:
    """Accounts per (tier, in SAM): what a tier or criterion slider needs, from the plain-pandas scores."""
    scored = score(frame, icp, key)
    counts = scored.groupby(["icp_tier", "icp_in_sam"]).size()
    return {(tier, bool(sam)): int(n) for (tier, sam), n in counts.items()}
