"""icp.analysis.stats against values computed by hand (the arithmetic is in the comments)."""

import math

import pytest
from scipy.stats import fisher_exact

from icp.analysis.stats import (
    benjamini_hochberg,
    evidence_label,
    is_directional,
    lift_interval,
    two_by_two,
    wilson_interval,
)

Z95 = 1.959963984540054  # the 97.5% normal quantile


def test_two_by_two_shares_lift_and_katz_interval_by_hand():
    table = two_by_two(20, 30, 10, 90)
    assert table.share_in_group == pytest.approx(0.4)  # 20 / 50
    assert table.share_in_rest == pytest.approx(0.1)  # 10 / 100
    assert table.lift == pytest.approx(4.0)
    # Katz: SE(log lift) = sqrt(1/20 - 1/50 + 1/10 - 1/100) = sqrt(0.12) = 0.346410
    # log(4) ± 1.959964 * 0.346410 = 1.386294 ± 0.678948 -> exp: 2.0286 .. 7.8872
    assert table.lift_low == pytest.approx(2.0286, abs=1e-4)
    assert table.lift_high == pytest.approx(7.8872, abs=1e-4)
    assert table.lift_low == pytest.approx(4 * math.exp(-Z95 * math.sqrt(0.12)))
    assert not table.corrected


def test_two_by_two_p_value_is_fishers_exact_two_sided():
    table = two_by_two(20, 30, 10, 90)
    assert table.p_value == fisher_exact([[20, 30], [10, 90]]).pvalue
    assert table.p_value == pytest.approx(5.00705e-05, rel=1e-5)


def test_zero_in_the_rest_uses_the_continuity_correction_and_stays_finite():
    table = two_by_two(5, 45, 0, 100)
    assert table.corrected
    assert (table.share_in_group, table.share_in_rest) == (0.1, 0.0)  # shares stay the raw ones
    # Every cell + 0.5: (5.5 / 51) / (0.5 / 101) = 21.7843
    assert table.lift == pytest.approx(21.7843, abs=1e-4)
    # SE = sqrt(0.181818 - 0.019608 + 2 - 0.009901) = sqrt(2.152309) = 1.467075
    se = math.sqrt(1 / 5.5 - 1 / 51 + 1 / 0.5 - 1 / 101)
    assert se == pytest.approx(1.467075, abs=1e-6)
    assert table.lift_low == pytest.approx(21.7843 * math.exp(-Z95 * se), rel=1e-5)
    assert math.isfinite(table.lift_high)
    # The only table at least as extreme is this one: C(50,5) / C(150,5) = 2,118,760 / 591,600,030
    assert table.p_value == pytest.approx(2_118_760 / 591_600_030, rel=1e-9)


def test_zero_in_the_group_is_corrected_too_and_the_interval_reaches_below_one():
    table = two_by_two(0, 50, 12, 88)
    assert table.corrected and table.share_in_group == 0.0
    # (0.5 / 51) / (12.5 / 101) = 0.079216
    assert table.lift == pytest.approx(0.079216, abs=1e-6)
    assert 0 < table.lift_low < table.lift < table.lift_high


def test_zeros_outside_a_and_c_need_no_correction():
    lift, low, high, corrected = lift_interval(10, 0, 10, 10)
    assert not corrected
    assert lift == pytest.approx(2.0)  # 10/10 against 10/20
    assert low < 2.0 < high


def test_two_by_two_refuses_an_empty_side():
    with pytest.raises(ValueError):
        two_by_two(0, 0, 3, 4)
    with pytest.raises(ValueError):
        two_by_two(3, 4, 0, 0)


def test_wilson_interval_for_41_of_150_by_the_textbook_formula():
    # p = 0.273333, z^2/n = 0.025610, centre = (p + z^2/2n) / (1 + z^2/n) = 0.278993
    # half = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) = 0.070652
    low, high = wilson_interval(41, 150)
    assert low == pytest.approx(0.2083, abs=1e-4)
    assert high == pytest.approx(0.3496, abs=1e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)  # z^2 / (n + z^2) = 3.8415 / 23.8415
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(1 - 0.1611, abs=1e-4)
    wide, narrow = wilson_interval(41, 150, 0.99), wilson_interval(41, 150, 0.9)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def test_benjamini_hochberg_by_hand():
    # sorted: 0.005 * 4/1 = 0.02, 0.01 * 4/2 = 0.02, 0.03 * 4/3 = 0.04, 0.04 * 4/4 = 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_is_monotone_capped_and_keeps_order():
    # raw p * m / rank: 0.9 * 2 = 1.8 -> capped at 1, then the running minimum from the top
    assert benjamini_hochberg([0.9, 0.95]) == pytest.approx([0.95, 0.95])
    # sorted: 0.001 * 3/1 = 0.003, 0.04 * 3/2 = 0.06, 0.045 * 3/3 = 0.045; 0.06 takes the smaller 0.045 above it
    assert benjamini_hochberg([0.045, 0.001, 0.04]) == pytest.approx([0.045, 0.003, 0.045])
    p = [0.2, 0.001, 0.5, 0.03, 0.03, 0.8]
    q = benjamini_hochberg(p)
    ordered = [q[i] for i in sorted(range(len(p)), key=p.__getitem__)]
    assert ordered == sorted(ordered) and all(qi >= pi for pi, qi in zip(p, q, strict=True))
    assert benjamini_hochberg([]) == []


@pytest.mark.parametrize(("q", "label"), [
    (0.0, "strong"), (0.0099, "strong"), (0.01, "moderate"), (0.0499, "moderate"),
    (0.05, "weak"), (0.1999, "weak"), (0.2, "none"), (1.0, "none"),
])
def test_evidence_label_thresholds(q, label):
    assert evidence_label(q) == label


def test_directional_below_30():
    assert is_directional(0) and is_directional(29)
    assert not is_directional(30)
