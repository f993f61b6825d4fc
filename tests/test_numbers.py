"""icp/numbers.py: money with currency and scale, counts and shares, as every page and the PDF write them."""

import math

from icp.numbers import compact, count, money, percent


def test_money_has_its_currency_and_scale():
    assert money(859_399_762, "USD") == "$859.4M"
    assert money(51_735_865.6667, "EUR") == "€51.7M"
    assert money(974_800_000, "") == "974.8M"
    assert money(1.1e9, "$") == "$1.1B"
    assert money(81_200, "GBP") == "£81.2k"
    assert money(2_000, "CHF") == "CHF 2.0k"
    assert money(-48_000, "USD") == "-$48.0k"
    assert money(None) == "–" and money(math.nan) == "–"
    # Rounding up to the next scale writes it in that scale, never "1,000.0k".
    assert compact(999_960) == "1.0M" and compact(512) == "512" and compact(12.5) == "12.50"


def test_counts_keep_a_decimal_only_below_ten_and_not_whole():
    assert count(12_345) == "12,345"
    assert count(0.4) == "0.4"
    assert count(269.746) == "270"
    assert count(2.5) == "2.5" and count(3.0) == "3"


def test_shares_are_percentages():
    assert percent(0.7) == "70%"
    assert percent(0.125) == "12.5%"
    assert percent(None) == "–"
