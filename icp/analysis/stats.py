"""Small, exact statistics for comparing a group of accounts (best customers, churned ones) with the rest.

The test is always Fisher's exact test, two-sided. It is exact for any sample size, and scipy's
implementation takes milliseconds even for 100 million accounts (measured: 2x2 tables of 1e5 to
1e8 accounts, near-null and strong), so a chi-square approximation would buy nothing but error.
"""

import functools
import math
from typing import Literal

from icp.frozen import Frozen

Evidence = Literal["strong", "moderate", "weak", "none"]

# q-value thresholds of the evidence words, strictest first. "moderate" is the usual 5% false
# discovery rate; "weak" is worth a look but would be wrong about one time in five.
EVIDENCE_THRESHOLDS: tuple[tuple[float, Evidence], ...] = (
    (0.01, "strong"), (0.05, "moderate"), (0.2, "weak"),
)
# The spec's honesty rule: with fewer best customers than this, findings are "directional".
DIRECTIONAL_BELOW = 30
# Haldane-Anscombe correction, added to every cell when a zero would make the lift or its log
# interval infinite or undefined.
CONTINUITY = 0.5


class TwoByTwo(Frozen):
    """A group against the rest on one yes/no property, with the lift and its test."""

    a: int  # in the group, has the property
    b: int  # in the group, has not
    c: int  # in the rest, has
    d: int  # in the rest, has not
    share_in_group: float
    share_in_rest: float
    lift: float
    lift_low: float
    lift_high: float
    corrected: bool  # lift and interval use the 0.5 continuity correction (a or c was 0)
    p_value: float  # Fisher's exact test, two-sided


@functools.cache
def _z(confidence: float) -> float:
    # scipy is imported where it is used: it is half a second of start-up, which `icp score` and
    # every page that shows no statistics would pay for nothing.
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there is nothing to estimate from."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def lift_interval(a: int, b: int, c: int, d: int, confidence: float = 0.95) -> tuple[float, float, float, bool]:
    """Lift (ratio of shares), its Katz log interval, and whether the continuity correction was used.

    Only a zero in a or c breaks the log method (b = 0 or d = 0 is fine), so only then are all
    four cells corrected, for the estimate and the interval alike, so the two stay consistent.
    """
    corrected = a == 0 or c == 0
    if corrected:
        a, b, c, d = (x + CONTINUITY for x in (a, b, c, d))
    lift = (a / (a + b)) / (c / (c + d))
    spread = _z(confidence) * math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return lift, lift * math.exp(-spread), lift * math.exp(spread), corrected


@functools.lru_cache(maxsize=65536)
def _fisher_p(a: int, b: int, c: int, d: int) -> float:
    """Cached: a report tests the same table more than once (a band, and the best range it may be)."""
    from scipy.stats import fisher_exact

    return min(1.0, float(fisher_exact([[a, b], [c, d]]).pvalue))


def two_by_two(a: int, b: int, c: int, d: int) -> TwoByTwo:
    """Compare the share with a property in a group (a of a + b) with the rest (c of c + d)."""
    if min(a, b, c, d) < 0 or a + b == 0 or c + d == 0:
        raise ValueError(f"a 2x2 table needs counts >= 0 and both sides non-empty, got {(a, b, c, d)}")
    lift, low, high, corrected = lift_interval(a, b, c, d)
    return TwoByTwo(
        a=a, b=b, c=c, d=d, share_in_group=a / (a + b), share_in_rest=c / (c + d),
        lift=lift, lift_low=low, lift_high=high, corrected=corrected, p_value=_fisher_p(a, b, c, d),
    )


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given.

    q of the i-th smallest p is min over j >= i of p_j * m / j, capped at 1, so q never
    decreases as p grows.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


def evidence_label(q: float) -> Evidence:
    """The evidence word for a q-value (see EVIDENCE_THRESHOLDS); small groups are flagged separately."""
    for threshold, label in EVIDENCE_THRESHOLDS:
        if q < threshold:
            return label
    return "none"


def is_directional(group_size: int) -> bool:
    """Too few group members for findings to be more than directional, whatever their q-value."""
    return group_size < DIRECTIONAL_BELOW
