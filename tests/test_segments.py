"""Rule segments: shrinkage estimators checked by hand, SQL aggregation, ranking and the CSV contract."""

import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from icp.analysis.attributes import Attribute
from icp.analysis.segments import (
    FALLBACK_PRIOR_STRENGTH,
    MIN_SEGMENT_ACCOUNTS,
    RankWeights,
    SegmentSettings,
    absent_terms,
    beta_prior_strength,
    normal_shrinkage_k,
    rank_segments,
    rule_segments,
    segment_dimensions,
    segments_csv,
    shrink_means,
    shrink_rates,
    split_small,
)
from icp.errors import AnalysisError
from icp.relation import Relation

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCE = Relation.of_table("customers")


def _connect(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """An in-memory database whose `customers` table has the given rows (and nothing else)."""
    con = duckdb.connect()
    frame = pd.DataFrame(rows)
    con.register("frame", frame)
    con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    con.unregister("frame")
    return con


def _account(key, industry, *, value=50.0, best=False, won=None, lost=None, cycle=None, churned=None, **extra):
    return {"account_key": key, "industry": industry, "value_score": value, "is_best": best,
            "deals_won": won, "deals_lost": lost, "median_cycle_days": cycle, "churned": churned, **extra}


def _only(**weights) -> RankWeights:
    zero = {"profitability": 0, "velocity": 0, "likelihood_to_close": 0, "retention": 0}
    return RankWeights(**{**zero, **weights})


# --- estimators by hand -------------------------------------------------------------------------

def test_shrunk_means_match_the_hand_computation():
    # n = 4, 4, 4; means 10, 20, 30; within variance 100 each.
    # sigma² = (3·100·3) / 9 = 100.  grand mean = 20.
    # tau² = (4·10² + 0 + 4·10² - 2·100) / (12 - 48/12) = 600 / 8 = 75.  k = 100 / 75 = 4/3.
    # shrunk(10) = (4·10 + 4/3·20) / (4 + 4/3) = (40 + 26.67) / 5.33 = 12.5; likewise 20 and 27.5.
    assert normal_shrinkage_k([4, 4, 4], [10, 20, 30], [100, 100, 100]) == pytest.approx(4 / 3)
    assert shrink_means([4, 4, 4], [10, 20, 30], [100, 100, 100]) == pytest.approx([12.5, 20.0, 27.5])


def test_shrunk_means_without_values_or_spread():
    # A segment with no values has nothing to shrink; identical values within segments: exact means.
    shrunk = shrink_means([4, 0, 4], [10, np.nan, 30], [0, np.nan, 0])
    assert shrunk[0] == 10 and np.isnan(shrunk[1]) and shrunk[2] == 30
    # No segment with two values: sigma² unknown, k falls back.
    assert normal_shrinkage_k([1, 1], [10, 20], [np.nan, np.nan]) == FALLBACK_PRIOR_STRENGTH


def test_beta_binomial_shrinkage_matches_the_hand_computation():
    # x = 1, 5, 9 of n = 10 each: p = 15/30 = 0.5, rates 0.1, 0.5, 0.9.
    # S = 10·0.4² + 0 + 10·0.4² = 3.2;  S / (p(1-p)) = 12.8;  minus (K-1) = 10.8.
    # denominator = N - Σn²/N - (K-1) = 30 - 10 - 2 = 18;  rho = 0.6;  m = 0.4 / 0.6 = 2/3.
    # shrunk(1/10) = (1 + 2/3·0.5) / (10 + 2/3) = (4/3) / (32/3) = 0.125; likewise 0.5 and 0.875.
    assert beta_prior_strength([1, 5, 9], [10, 10, 10]) == pytest.approx(2 / 3)
    assert shrink_rates([1, 5, 9], [10, 10, 10]) == pytest.approx([0.125, 0.5, 0.875])


def test_beta_prior_falls_back_when_it_cannot_be_estimated():
    # No spread beyond binomial noise (rho <= 0), one segment, or an all-or-nothing overall rate.
    assert beta_prior_strength([5, 5], [10, 10]) == FALLBACK_PRIOR_STRENGTH
    assert beta_prior_strength([3], [10]) == FALLBACK_PRIOR_STRENGTH
    assert beta_prior_strength([0, 0], [10, 5]) == FALLBACK_PRIOR_STRENGTH
    # 1 of 2 and 11 of 18 are within noise of p = 12/20 = 0.6, so m = 10:
    # (1 + 10·0.6) / (2 + 10) = 7/12; a segment without trials stays NaN.
    assert beta_prior_strength([1, 11], [2, 18]) == FALLBACK_PRIOR_STRENGTH
    shrunk = shrink_rates([1, 11, 0], [2, 18, 0])
    assert shrunk[0] == pytest.approx(7 / 12) and np.isnan(shrunk[2])


# --- aggregation --------------------------------------------------------------------------------

def test_win_rate_is_summed_over_deals_not_averaged_over_accounts():
    con = _connect([
        _account("a", "Fintech", won=3, lost=1),
        _account("b", "Fintech", won=0, lost=4),
        _account("c", "Fintech", won=1, lost=0),
        _account("d", "Retail", won=0, lost=0),  # open deals only
        _account("e", "Retail"),  # no deals at all
    ])
    frame = rule_segments(con, SOURCE, ["industry"], value_column=None).set_index("industry")
    assert frame.loc["Fintech", "win_rate"] == 4 / 9  # not the mean of 0.75, 0 and 1
    assert np.isnan(frame.loc["Retail", "win_rate"]) and np.isnan(frame.loc["Retail", "win_rate_shrunk"])
    assert segments_csv(frame.reset_index())["win_rate"].isna().sum() == 1


def test_measures_of_one_segment():
    con = _connect([
        _account("a", "Fintech", value=10, best=True, churned=False),
        _account("b", "Fintech", value=30, best=False, churned=True),
        _account("c", "Fintech", value=None, best=True, churned=None),
        _account("d", None, value=40, best=False, churned=False),
    ])
    frame = rule_segments(con, SOURCE, ["industry"], value_column=None).set_index("industry")
    fintech = frame.loc["Fintech"]
    assert (fintech["accounts"], fintech["best_customers"]) == (3, 2)
    assert fintech["best_share"] == pytest.approx(2 / 3)
    # Wilson 95% for 2 of 3.
    assert (fintech["best_share_low"], fintech["best_share_high"]) == pytest.approx((0.2077, 0.9385), abs=1e-4)
    assert (fintech["value_total"], fintech["value_mean"]) == (40, 20)  # missing value not counted as 0
    assert fintech["churn_rate"] == 0.5  # of the two accounts whose churn is known
    assert fintech["confidence"] == "low"
    assert frame.loc["(unknown)", "accounts"] == 1


def test_value_column_replaces_the_value_score():
    con = _connect([_account("a", "Fintech", arr=1000.0), _account("b", "Fintech", arr=3000.0)])
    frame = rule_segments(con, SOURCE, ["industry"], value_column="arr")
    assert frame.loc[0, "value_total"] == 4000 and frame.loc[0, "value_mean"] == 2000


def test_two_dimensions_give_one_row_per_combination_present():
    rows = [
        _account("a", "Fintech", size_band="11-50"),
        _account("b", "Fintech", size_band="11-50"),
        _account("c", "Fintech", size_band="51-200"),
        _account("d", "Retail", size_band="51-200"),
        _account("e", "Retail", size_band=None),
    ]
    frame = rule_segments(_connect(rows), SOURCE, ["industry", "size_band"], value_column=None)
    assert list(frame.columns[:3]) == ["industry", "size_band", "accounts"]
    combos = {(r.industry, r.size_band): r.accounts for r in frame.itertuples()}
    assert combos == {("Fintech", "11-50"): 2, ("Fintech", "51-200"): 1, ("Retail", "51-200"): 1,
                      ("Retail", "(unknown)"): 1}
    assert sorted(frame["rank"]) == [1, 2, 3, 4]


def test_numeric_dimension_is_cut_into_quantile_bands():
    rows = [_account(f"k{i}", "Fintech", founded_year=1990 + i) for i in range(20)] + [_account("z", "Fintech")]
    frame = rule_segments(_connect(rows), SOURCE, ["founded_year"], value_column=None)
    bands = dict(zip(frame["founded_year"], frame["accounts"], strict=True))
    assert bands.pop("(unknown)") == 1
    assert len(bands) == 4 and sum(bands.values()) == 20
    assert all("–" in label for label in bands)
    assert "1990–1994" in bands  # the lowest band starts at the minimum


def test_median_cycle_comes_from_won_deals_when_the_deals_table_exists():
    con = _connect([_account("a", "Fintech", cycle=999.0), _account("b", "Fintech", cycle=999.0)])
    con.execute("""
        CREATE TABLE deals AS SELECT * FROM (VALUES
            (1, 10.0, 'won'), (2, 20.0, 'won'), (3, 40.0, 'won'), (4, 500.0, 'lost'), (5, 7.0, 'open'))
            t(_row, cycle_days, deal_outcome);
        CREATE TABLE deal_links AS SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, 'b'), (5, NULL))
            t(_row, account_key)""")
    frame = rule_segments(con, SOURCE, ["industry"], value_column=None)
    assert frame.loc[0, "median_cycle_days"] == 20.0  # of 10, 20, 40: not the lost deal, not the roll-up


def test_median_cycle_falls_back_to_the_account_roll_up():
    con = _connect([_account("a", "Fintech", cycle=10.0), _account("b", "Fintech", cycle=30.0),
                    _account("c", "Fintech", cycle=None)])
    assert rule_segments(con, SOURCE, ["industry"], value_column=None).loc[0, "median_cycle_days"] == 20.0


def test_min_accounts_and_confidence():
    rows = ([_account(f"f{i}", "Fintech") for i in range(30)] + [_account(f"r{i}", "Retail") for i in range(12)]
            + [_account("s", "Solo")])
    frame = rule_segments(_connect(rows), SOURCE, ["industry"], value_column=None, min_accounts=2)
    assert dict(zip(frame["industry"], frame["confidence"], strict=True)) == {
        "Fintech": "high", "Retail": "medium", "Solo": "low"}
    assert frame["industry"].iloc[-1] == "Solo"  # below the minimum: listed last, not hidden


def test_segments_below_the_minimum_are_ranked_after_every_other():
    rows = _lucky_table() + [_account("z", "Zero")]  # one account, no deals, no best customer
    frame = rule_segments(_connect(rows), SOURCE, ["industry"], value_column=None,
                          weights=_only(likelihood_to_close=1), min_accounts=MIN_SEGMENT_ACCOUNTS)
    assert list(frame["industry"]) == ["Solid", "Mid", "Weak", "Lucky", "Zero"]
    assert frame["rank"].tolist() == [1, 2, 3, 4, 5]
    ranked, small = split_small(frame, MIN_SEGMENT_ACCOUNTS)
    assert list(ranked["industry"]) == ["Solid", "Mid", "Weak"] and list(small["industry"]) == ["Lucky", "Zero"]
    # The small ones do not move the percentiles of the ranked ones.
    assert ranked["score"].tolist() == pytest.approx([100, 200 / 3, 100 / 3])


def test_the_default_minimum_segment_size_is_ten():
    assert MIN_SEGMENT_ACCOUNTS == 10 and SegmentSettings().min_accounts == 10


def test_rank_terms_no_segment_has_are_named_with_the_reason():
    no_churn = rule_segments(_connect(_lucky_table()), SOURCE, ["industry"], value_column=None)
    assert set(absent_terms(no_churn)) == {"velocity", "retention"}
    assert absent_terms(no_churn)["retention"] == "no customer's churn is known"
    with_churn = [_account(f"c{i}", "Fintech", churned=i % 2 == 0, cycle=10.0) for i in range(4)]
    assert absent_terms(rule_segments(_connect(with_churn), SOURCE, ["industry"], value_column=None)) == {
        "likelihood_to_close": "no customer is linked to a won or lost deal"}


def test_bad_dimensions_are_refused():
    con = _connect([_account("a", "Fintech")])
    with pytest.raises(AnalysisError, match="one to three"):
        rule_segments(con, SOURCE, [], value_column=None)
    with pytest.raises(AnalysisError, match="Unknown"):
        rule_segments(con, SOURCE, ["nope"], value_column=None)
    with pytest.raises(AnalysisError, match="no arr"):
        rule_segments(con, SOURCE, ["industry"], value_column="arr")


def test_hostile_column_names_are_quoted():
    con = _connect([_account("a", "Fintech", **{'we"ird; DROP TABLE customers; --': "x"})])
    frame = rule_segments(con, SOURCE, ['we"ird; DROP TABLE customers; --'], value_column=None)
    assert frame.iloc[0, 0] == "x" and con.execute("SELECT count(*) FROM customers").fetchone() == (1,)


# --- ranking ------------------------------------------------------------------------------------

def _lucky_table() -> list[dict]:
    """Lucky: 2 accounts, 2 of 2 deals won. Solid: 120 of 160. Mid: 80 of 160. Weak: 40 of 160."""
    rows = [_account(f"l{i}", "Lucky", won=1, lost=0) for i in range(2)]
    for name, won in (("Solid", 3), ("Mid", 2), ("Weak", 1)):
        rows += [_account(f"{name}{i}", name, won=won, lost=4 - won) for i in range(40)]
    return rows


def test_two_lucky_accounts_do_not_top_the_ranking_after_shrinkage():
    frame = rule_segments(_connect(_lucky_table()), SOURCE, ["industry"], value_column=None,
                          weights=_only(likelihood_to_close=1)).set_index("industry")
    assert frame["win_rate"].idxmax() == "Lucky"  # on raw win rate it would be first
    # m ≈ 3.05 by moments, p = 242/482: Lucky (2 + 3.05·0.502) / 5.05 ≈ 0.70 < Solid ≈ 0.745.
    assert frame.loc["Lucky", "win_rate_shrunk"] == pytest.approx(0.6994, abs=1e-3)
    assert frame["rank"].idxmin() == "Solid"
    assert frame.loc["Lucky", "rank"] == 2


def test_weights_change_the_order():
    rows = ([_account(f"a{i}", "Slow rich", value=80 + i % 5, cycle=90.0 + i) for i in range(20)]
            + [_account(f"b{i}", "Fast poor", value=20 + i % 5, cycle=10.0 + i) for i in range(20)]
            + [_account(f"c{i}", "Middling", value=50 + i % 5, cycle=50.0 + i) for i in range(20)])
    con = _connect(rows)
    by_value = rule_segments(con, SOURCE, ["industry"], value_column=None, weights=_only(profitability=1))
    by_speed = rule_segments(con, SOURCE, ["industry"], value_column=None, weights=_only(velocity=1))
    assert list(by_value["industry"]) == ["Slow rich", "Middling", "Fast poor"]
    assert list(by_speed["industry"]) == ["Fast poor", "Middling", "Slow rich"]
    assert by_value["score"].tolist() == pytest.approx([100, 200 / 3, 100 / 3])  # percentile ranks
    # A slider change re-ranks the same table without another query.
    pd.testing.assert_frame_equal(rank_segments(by_value, _only(velocity=1)), by_speed)


def test_missing_terms_are_left_out_not_zero():
    rows = ([_account(f"a{i}", "Dealless", value=90) for i in range(5)]
            + [_account(f"b{i}", "Dealful", value=10, won=1, lost=1) for i in range(5)])
    frame = rule_segments(_connect(rows), SOURCE, ["industry"], value_column=None).set_index("industry")
    # Dealless only has profitability, where it is the best of two: 100, not (100 + 0) / 2.
    assert frame.loc["Dealless", "score"] == 100
    assert frame.loc["Dealful", "score"] == 75  # profitability 50 and likelihood to close 100
    assert frame.loc["Dealless", "rank"] == 1


def test_ties_go_to_more_accounts_then_dimension_values():
    rows = ([_account(f"a{i}", "Beta") for i in range(3)] + [_account(f"b{i}", "Alpha") for i in range(3)]
            + [_account(f"c{i}", "Gamma") for i in range(5)])
    frame = rule_segments(_connect(rows), SOURCE, ["industry"], value_column=None)
    assert list(frame["industry"]) == ["Gamma", "Alpha", "Beta"]


def test_rank_weights_are_bounded_settings():
    with pytest.raises(ValueError):
        RankWeights(velocity=11)
    with pytest.raises(ValueError):
        RankWeights(speed=1)


# --- dimensions and contract --------------------------------------------------------------------

def test_segment_dimensions_map_numbers_to_bands():
    attributes = [
        Attribute(name="industry", label="Industry", kind="category", role="industry"),
        Attribute(name="employees", label="Employees", kind="number", role="employees"),
        Attribute(name="tech_stack", label="Tech stack", kind="list", role="tech_stack"),
        Attribute(name="founded_year", label="Year founded", kind="number", role="founded_year"),
        Attribute(name="public", label="Public", kind="flag"),
        Attribute(name="size_band", label="Company size", kind="category"),
        Attribute(name="revenue", label="Annual revenue", kind="number", role="revenue"),
    ]
    assert [a.name for a in segment_dimensions(attributes)] == [
        "industry", "size_band", "founded_year", "public", "revenue_band"]


def test_segments_csv_has_exactly_the_contract_columns():
    rows = [_account("a", "Fintech", size_band="11-50"), _account("b", "Retail", size_band="11-50")]
    frame = rule_segments(_connect(rows), SOURCE, ["industry", "size_band"], value_column=None)
    out = segments_csv(frame.sample(frac=1, random_state=1))
    assert list(out.columns) == ["industry", "size_band", "accounts", "best_customers", "value_mean",
                                 "win_rate", "churn_rate", "rank"]
    assert out["rank"].tolist() == [1, 2]


# --- real data ----------------------------------------------------------------------------------

@pytest.mark.realdata
def test_win_rate_per_sector_matches_the_maven_pipeline():
    accounts_csv = SHARED_DATA / "maven_crm" / "accounts.csv"
    pipeline_csv = SHARED_DATA / "maven_crm" / "sales_pipeline.csv"
    if not (accounts_csv.exists() and pipeline_csv.exists()):
        pytest.skip(f"{SHARED_DATA / 'maven_crm'} is not available")
    from icp.data.workspace import Workspace

    ws = Workspace.create()
    ws.add_list("customers", accounts_csv)
    ws.add_list("deals", pipeline_csv)
    source = Relation.of_query("SELECT *, win_rate * 100 AS value_score, win_rate > 0.63 AS is_best "
                               "FROM customer_accounts")
    with ws.connect() as con:
        frame = rule_segments(con, source, ["industry"], value_column=None)

    with accounts_csv.open(newline="", encoding="utf-8") as f:
        sector_of = {row["account"]: row["sector"] for row in csv.DictReader(f)}
    counts = defaultdict(lambda: {"Won": 0, "Lost": 0})
    with pipeline_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["account"] in sector_of and row["deal_stage"] in ("Won", "Lost"):
                counts[sector_of[row["account"]]][row["deal_stage"]] += 1
    expected = {sector: c["Won"] / (c["Won"] + c["Lost"]) for sector, c in counts.items()}

    got = dict(zip(frame["industry"], frame["win_rate"], strict=True))
    assert set(got) == set(expected)
    for sector, rate in expected.items():
        assert got[sector] == pytest.approx(rate, rel=1e-12), sector
    assert frame["accounts"].sum() == len(sector_of)


def test_the_suggested_minimum_follows_the_segment_sizes_never_under_three():
    from icp.analysis.segments import MIN_SEGMENT_FLOOR, suggested_min_accounts

    assert MIN_SEGMENT_FLOOR == 3
    # Enough big segments: the default of ten.
    assert suggested_min_accounts([40, 25, 12, 3, 1])[0] == MIN_SEGMENT_ACCOUNTS
    assert suggested_min_accounts([15, 15, 1])[0] == MIN_SEGMENT_ACCOUNTS  # every segment of 3+ reaches ten
    # 85 customers by industry and size: the third biggest sets it, so three segments are ranked.
    minimum, why = suggested_min_accounts([6, 5, 5, 4, 4, 3, *[2] * 20, *[1] * 18])
    assert minimum == 5 and "no segment reaches 10 accounts with these 85 customers" in why
    assert suggested_min_accounts([12, 4, 4, 4, 2])[0] == 4
    assert suggested_min_accounts([5, 2, 2, 1])[0] == 5 and suggested_min_accounts([3, 3])[0] == 3
    # Never under three, even when nothing reaches it.
    minimum, why = suggested_min_accounts([2, 2, 1])
    assert minimum == 3 and "segment by fewer dimensions" in why
    assert suggested_min_accounts([])[0] == 3
