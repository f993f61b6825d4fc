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


def test_one_figure_rule_for_criteria_bands_and_profiles():
    from icp.numbers import figure

    assert [figure(x) for x in (1_200, 1e7, 5e8, 2.5e9, 0.35, 2.5)] == ["1,200", "10M", "500M", "2.5B", "0.35", "2.5"]
    # Years (and ids) are never grouped nor scaled.
    assert figure(1995, grouped=False) == "1995" and figure(1995) == "1,995"
    # Rounding to the next scale goes up a scale ("1B", never "1e+03M"); band edges keep every digit.
    assert figure(999_999_999) == "1B" and figure(1_003_000) == "1M" and figure(1_003_000, digits=None) == "1.003M"
    assert figure(None) == "–" and figure(math.nan) == "–"


def test_criteria_text_writes_figures_through_the_shared_rule():
    from icp.profile.model import Criterion, describe

    assert describe(Criterion(attribute="revenue", label="Revenue", kind="range", low=1e7, high=5e8)) == (
        "Revenue from 10M to under 500M")
    assert describe(Criterion(attribute="score", label="Score", kind="range", low=0.5, high=2.5)) == (
        "Score from 0.5 to under 2.5")
    # A year range was "Founded 1,995–2,009".
    assert describe(Criterion(attribute="founded_year", label="Founded", kind="range", low=1995, high=2010)) == (
        "Founded 1995–2009")
    assert describe(Criterion(attribute="founded_year", label="Founded", kind="range", low=2015)) == (
        "Founded at least 2015")


def test_cluster_profiles_write_rates_and_flags_as_percentages():
    import numpy as np
    import pandas as pd

    from icp.analysis.clusters import cluster_profiles

    labels = np.array([0] * 10 + [1] * 10)
    X = pd.DataFrame({"won": [True] * 7 + [False] * 3 + [True] * 2 + [False] * 8,
                      "win_rate": [0.7] * 10 + [0.2] * 10,
                      "founded": [1995.0] * 10 + [2012.0] * 10})
    text = cluster_profiles(X, labels, None, titles={"won": "Won", "win_rate": "Win rate"}).loc[0, "sets_apart"]
    assert "Won 70% vs 20%" in text and "Win rate 70% vs 20%" in text and "founded 1995 vs 2012" in text
    assert "0.7" not in text


def test_the_backtest_verdict_gives_win_rates_as_percentages():
    from icp.market.targets import DealTier, _verdict

    deals = tuple(DealTier(tier=t, won=w, lost=10 - w, win_rate=w / 10) for t, w in (("Tier 1", 7), ("Tier 2", 5)))
    verdict = _verdict({"customer_auc": None, "tier1_lift": None, "best_customers": 0, "deal_auc": 0.8,
                        "deals": deals, "deal_win_rate": 0.625})
    assert "Tier 1 deals are won 70% of the time against 62.5% overall." in verdict


def test_draft_and_pattern_bands_share_the_rule():
    from icp.profile.draft import _number

    assert _number(1995, "founded_year") == "1995" and _number(1_200, "employees") == "1,200"
    assert _number(2.5e9, "revenue") == "2.5B"


def test_tables_show_rates_as_percentages_money_compact_and_years_bare():
    from icp.data.roles import table_format

    assert table_format("win_rate") == table_format("churn_rate") == "percent"
    for money_column in ("revenue", "arr", "amount", "won_value", "order_revenue", "sam_value"):
        assert table_format(money_column) == "compact", money_column
    assert table_format("founded_year") == "%d"
    assert table_format("employees") == table_format("median_cycle_days") == table_format("growth_%") == "localized"
