"""icp.market.validation and the stability check of the draft: out-of-sample figures beside in-sample ones on the
demo, chance findings on null data, determinism, leave-one-out on small data, an overfit draft."""

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from icp.analysis import find_patterns
from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings, default_settings
from icp.data.workspace import Workspace
from icp.market.validation import saved_validation, separation, validate
from icp.profile.draft import DraftRules, assign_folds, draft_icp, open_drafter
from icp.profile.model import ICP, Evidence, describe, parse_icp
from tests.helpers import null_customers, workspace_of

ARR_ONLY = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher", weight=2),),
                           best_share=0.2, value_column="arr")
# Drafts every value with a lift of 1.3 or more, whatever its evidence: a rule set made to overfit.
EVERYTHING = DraftRules(min_evidence=("strong", "moderate", "weak", "none"))


# --- the pieces ---------------------------------------------------------------------------------------


def test_folds_are_stratified_seeded_and_leave_one_out_at_n():
    customers = [(f"k{i:02d}", i < 10) for i in range(40)]
    folds = assign_folds(customers, 5, random_state=0)
    assert sorted(folds) == sorted(k for k, _ in customers)
    for fold in range(5):
        members = [k for k, f in folds.items() if f == fold]
        assert len(members) == 8
        assert sum(k < "k10" for k in members) == 2  # 2 of the 10 best customers in every fold
    assert assign_folds(reversed(customers), 5, random_state=0) == folds  # input order does not matter
    assert assign_folds(customers, 5, random_state=1) != folds
    assert sorted(assign_folds(customers, 40).values()) == list(range(40))  # leave-one-out


def test_auc_counts_ties_half_and_lift_is_tier1_best_share_over_overall():
    score = np.array([100, 100, 50, 0, 50, 100, 0, 0], dtype=float)
    best = np.array([1, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
    tier1 = score >= 75
    auc, lift = separation(score, best, tier1, np.random.default_rng(0))
    assert auc.value == pytest.approx(roc_auc_score(best, score), abs=1e-4)
    # Tier 1 holds 2 best of 3 against 4 of 8 overall.
    assert lift.value == pytest.approx((2 / 3) / (4 / 8), abs=1e-4)
    assert auc.low <= auc.value <= auc.high and lift.low <= lift.value <= lift.high


def test_evidence_stability_is_optional_and_consistent():
    base = {"in_group": 5, "group_size": 10, "in_rest": 5, "rest_size": 30, "lift": 3.0, "lift_low": 1.5,
            "lift_high": 6.0, "q_value": 0.01, "evidence": "moderate", "sentence": "x"}
    assert Evidence(**base).drafted_in is None  # icp.json written before stability still loads
    assert Evidence(**base, drafted_in=3, folds=5).folds == 5
    with pytest.raises(ValidationError):
        Evidence(**base, drafted_in=3)
    with pytest.raises(ValidationError):
        Evidence(**base, drafted_in=6, folds=5)


def test_patterns_restricted_to_some_customers_bind_their_keys(tmp_path):
    ws = workspace_of(null_customers(1, 60), tmp_path)
    settings = default_settings(ws)
    whole = find_patterns(ws, settings)
    with ws.connect() as con:
        keys = sorted(k for (k,) in con.execute("SELECT account_key FROM customer_accounts").fetchall())
    assert find_patterns(ws, settings, accounts=keys) == whole
    half = find_patterns(ws, settings, accounts=[*keys[:30], "x') OR TRUE; DROP TABLE customers; --"])
    # The labels stay those of all customers: the 30 hold whatever share of best customers they hold.
    assert half.group_size + half.rest_size == 30 and half.group_size < whole.group_size
    assert ws.count("customers") == 60


# --- the demo -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    workspace = Workspace.copy_of(demo_template, "Demo", tmp_path_factory.mktemp("validation-demo"))
    # The demo template keeps the check it made (a visitor sees it at once): the one validate gives.
    kept = saved_validation(workspace, default_settings(workspace))
    assert kept is not None
    return workspace, kept, draft_icp(workspace)


def test_demo_holds_out_of_sample_next_to_in_sample(demo):
    _, result, _ = demo
    assert (result.method, result.folds, result.customers, result.best_customers) == ("k-fold", 5, 400, 100)
    oos, ins = result.out_of_sample_auc, result.in_sample_auc
    assert 0.75 <= oos.value <= 0.9 and oos.low < oos.value < oos.high and oos.high - oos.low < 0.15
    assert ins.value >= oos.value - 0.02 and ins.low < ins.value < ins.high
    assert result.out_of_sample_tier1_lift.value >= 1.8 and result.out_of_sample_tier1_lift.low > 1.4
    assert result.in_sample_tier1_lift.value is not None
    assert result.verdict == "holds"
    assert result.sentence.startswith(
        f"Out of sample the ICP separates best customers from the rest with AUC {oos.value:.2f} "
        f"({oos.low:.2f}-{oos.high:.2f}); in sample {ins.value:.2f}; Tier 1 holds best customers")


def test_demo_planted_criteria_are_drafted_in_every_fold(demo):
    _, result, icp = demo
    stable = {(c.attribute, c.role): c for c in result.criteria if c.drafted_in == c.folds == 5}
    assert {("tech_stack", "must"), ("employees", "must"), ("industry", "must")} <= set(stable)
    assert stable[("tech_stack", "must")].text == "Tech stack has Snowflake"
    assert stable[("industry", "must")].text in ("Industry is Healthcare or Fintech", "Industry is Fintech or Healthcare")
    # The default draft is exactly the criteria the validation calls kept, each with its stability.
    assert [describe(c) for c in icp.criteria] == [c.text for c in result.criteria if c.kept]
    assert all(c.evidence.folds == 5 and c.evidence.drafted_in >= 3 for c in icp.criteria)
    assert all(c.drafted_in <= 2 for c in result.criteria if not c.kept)
    # Saved and reloaded, the stability travels with the ICP.
    assert parse_icp(icp.model_dump_json()) == icp


def test_demo_time_split_drafts_on_earlier_customers_and_tests_on_later_deals(demo):
    _, result, _ = demo
    split = result.time_split
    assert split is not None and result.time_split_note == ""
    assert split.train_customers == 199 and split.train_best >= 30
    assert split.deals_won >= 100 and split.deals_lost >= 100
    assert split.deal_auc.value >= 0.65 and split.deal_auc.low > 0.6
    assert split.tiers[0].win_rate > split.win_rate
    assert split.sentence.startswith(f"Drafted on the 199 customers who started before {split.cut:%Y-%m-%d}")


# --- null data ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_null_data_drafts_no_criterion(tmp_path):
    """Twenty seeds of customers whose attributes are independent of their outcomes."""
    stable_drafted, raw_drafted = [], []
    for seed in range(20):
        folder = tmp_path / str(seed)
        folder.mkdir()
        ws = workspace_of(null_customers(seed), folder)
        with open_drafter(ws, default_settings(ws)) as drafter:
            # The stable draft keeps some of the raw draft's criteria: with none drafted raw, it has
            # none either, and the five fold drafts need not be made.
            if drafter.raw().criteria:
                raw_drafted.append(seed)
                if drafter.draft().criteria:
                    stable_drafted.append(seed)
        ws.delete()
    assert len(stable_drafted) <= 1, stable_drafted
    # Without the stability check these seeds draft nothing either: under the false discovery rate a
    # chance criterion is rare (3 of 150 seeds drafted one; seed 65 below is one of them).
    assert raw_drafted == []


def test_a_chance_criterion_is_dropped_as_unstable(tmp_path):
    ws = workspace_of(null_customers(65), tmp_path)
    raw = draft_icp(ws, stable=False)
    assert [(describe(c), c.evidence.evidence) for c in raw.criteria] == [("Employees 201–500", "moderate")]
    assert raw.criteria[0].evidence.drafted_in is None
    assert draft_icp(ws).criteria == ()
    result = validate(ws)
    assert [(c.text, c.drafted_in, c.folds, c.kept) for c in result.criteria] == [("Employees 201–500", 1, 5, False)]
    assert result.verdict == "does not hold"
    assert result.sentence.startswith("No criterion is drafted from these customers")


def test_a_stable_chance_criterion_is_caught_out_of_sample(tmp_path):
    """Folds share four fifths of their customers, so a strong chance finding can be re-drafted in most
    of them; validation out of sample is what shows it does not hold beyond these customers."""
    ws = workspace_of(null_customers(78), tmp_path)
    result = validate(ws)
    assert [(c.text, c.drafted_in, c.kept) for c in result.criteria] == [
        ("Industry is Software", 4, True), ("Tech stack has HubSpot", 4, True)]
    # In sample 0.70, out of sample 0.55: a gap just under the overfit gate (0.15), so it "does not hold"
    # (a fold whose draft is empty scores its customers 0, no ICP yet).
    assert result.verdict == "does not hold"
    assert result.in_sample_auc.value - result.out_of_sample_auc.value > 0.1
    assert result.sentence.startswith("Out of sample the ICP barely separates best customers from the rest: AUC 0.55")


# --- determinism, small data, overfit --------------------------------------------------------------------


def test_same_input_same_output(tmp_path):
    ws = workspace_of(null_customers(1), tmp_path)
    assert validate(ws) == validate(ws)
    first = validate(ws, rules=EVERYTHING, stable=False)
    assert validate(ws, rules=EVERYTHING, stable=False) == first
    other = validate(ws, rules=EVERYTHING, stable=False, random_state=1)
    assert other.random_state == 1 and other.out_of_sample_auc != first.out_of_sample_auc
    assert other.in_sample_auc.value == first.in_sample_auc.value  # the full-data draft does not depend on it


def test_small_data_uses_leave_one_out_and_is_directional(tmp_path):
    ws = workspace_of(null_customers(5, 40, fintech_boost=3.0), tmp_path)
    result = validate(ws, ARR_ONLY)
    assert (result.method, result.folds, result.customers, result.best_customers) == ("leave-one-out", 40, 40, 8)
    assert result.verdict == "directional"
    assert result.sentence.startswith("With only 8 best customers (fewer than 30) this is directional: out of sample")
    assert result.time_split is None
    assert result.time_split_note == "There are no closed deals with created dates, so there is no time split."


def test_drafting_every_chance_difference_is_overfit(tmp_path):
    """Null data, and rules that draft every value 1.3x as common among best customers whatever the
    evidence, with the stability check off: the draft fits its own customers and no others."""
    ws = workspace_of(null_customers(1), tmp_path)
    result = validate(ws, rules=EVERYTHING, stable=False)
    assert result.best_customers >= 30 and len(result.criteria) >= 5
    assert result.in_sample_auc.value >= 0.7
    assert result.out_of_sample_auc.value <= 0.55
    assert result.verdict == "overfit"
    assert result.sentence.startswith(
        f"The ICP is overfit: it separates best customers from the rest with AUC {result.in_sample_auc.value:.2f} "
        "in sample but only")
    # The default draft of the same customers drafts nothing, so nothing is overfit.
    assert validate(ws).verdict == "does not hold"


def test_an_icp_without_stability_still_loads():
    icp = ICP(success=ARR_ONLY)
    assert parse_icp(icp.model_dump_json(exclude={"criteria"})) == icp
