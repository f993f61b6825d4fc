"""What the pages used to compute themselves, now in the engine: each rule tested without Streamlit."""

from datetime import UTC, datetime

import pytest

from icp.analysis.success import CriterionSummary, SuccessSettings, SuccessSummary, apart_lines
from icp.data.labels import LabelMerge
from icp.data.listing import (
    GENERIC,
    LEFT_OUT,
    duplicate_rows,
    label_merge_rows,
    list_rows,
    merged_labels,
    quality_rows,
    role_changes,
    role_choices,
    role_rows,
    rows_loaded,
)
from icp.data.reports import ColumnReport, ListReport, MergeExample
from icp.data.roles import ANALYSE, IGNORE
from icp.market.sizing import FALLBACK_WIN_RATE, win_rate_assumption, win_rate_setting
from icp.profile.model import (
    ICP,
    Criterion,
    MarketAssumptions,
    TierRules,
    criteria_from_rows,
    criteria_rows,
    tier_rules_as_set,
)

# -- the ICP page's criteria table -------------------------------------------------------------------

INDUSTRY = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech", "Health"))
EMPLOYEES = Criterion(attribute="employees", label="Employees", kind="range", role="nice", low=50, high=1000, weight=2)
STACK = Criterion(attribute="tech_stack", label="Tech stack", kind="contains", role="nice", values=("Snowflake",))
PROFILE = ICP(criteria=(INDUSTRY, EMPLOYEES, STACK), success=SuccessSettings(criteria=()))


def _rows(**edits: dict) -> list[dict]:
    """The table of PROFILE, with rows edited by position: _rows(r1={"from": 5})."""
    rows = criteria_rows(PROFILE)
    for key, change in edits.items():
        rows[int(key[1:])] |= change
    return rows


def test_an_unchanged_table_gives_an_equal_icp():
    assert criteria_from_rows(PROFILE, criteria_rows(PROFILE)) == PROFILE


def test_the_table_shows_each_criterion_as_the_page_did():
    first, second, _ = criteria_rows(PROFILE)
    assert first | {"evidence": "", "stable": ""} == {
        "role": "must", "criterion": "Industry is Fintech or Health", "values": "Fintech, Health", "from": None,
        "to (under)": None, "weight": 1.0, "evidence": "", "stable": ""}
    assert (second["from"], second["to (under)"], second["evidence"]) == (50, 1000, "added by hand")


def test_values_are_split_on_commas_and_role_and_weight_are_taken():
    edited = criteria_from_rows(PROFILE, _rows(r0={"values": " fintech ,, Retail ", "role": "nice", "weight": 3.5}))
    assert edited.criteria[0].values == ("fintech", "Retail")
    assert (edited.criteria[0].role, edited.criteria[0].weight) == ("nice", 3.5)
    assert edited.criteria[1:] == PROFILE.criteria[1:]


def test_an_empty_from_or_to_is_an_open_end_and_values_are_kept_on_a_range():
    edited = criteria_from_rows(PROFILE, _rows(r1={"from": float("nan"), "to (under)": 500.0, "values": "x"}))
    assert (edited.criteria[1].low, edited.criteria[1].high, edited.criteria[1].values) == (None, 500.0, ())


def test_a_reversed_range_is_refused():
    with pytest.raises(ValueError, match="the lower bound must be below the upper bound"):
        criteria_from_rows(PROFILE, _rows(r1={"from": 2000.0, "to (under)": 10.0}))


def test_empty_values_are_refused():
    with pytest.raises(ValueError, match="criterion on Tech stack: list at least one value"):
        criteria_from_rows(PROFILE, _rows(r2={"values": " , "}))


def test_a_duplicate_is_refused():
    doubled = PROFILE.model_copy(update={"criteria": (*PROFILE.criteria, INDUSTRY.model_copy(
        update={"values": ("Retail",), "role": "nice"}))})
    rows = criteria_rows(doubled)
    rows[3]["values"] = "health, FINTECH"
    with pytest.raises(ValueError, match='the ICP already has that criterion: must "Industry is Fintech or Health"'):
        criteria_from_rows(doubled, rows)


def test_a_row_deleted_from_the_table_drops_its_criterion():
    rows = [row | {"index": i} for i, row in enumerate(criteria_rows(PROFILE))]
    edited = criteria_from_rows(PROFILE, [rows[0], rows[2]])
    assert edited.criteria == (INDUSTRY, STACK)


# -- the Success page's "What sets the best customers apart" -----------------------------------------

def _summary(*criteria: CriterionSummary) -> SuccessSummary:
    return SuccessSummary(scored=10, unscored=0, best=3, threshold_score=70.0, best_share_actual=0.3, criteria=criteria)


def _criterion(column: str, label: str, best: float | None, rest: float | None, weight: float = 1.0) -> CriterionSummary:
    return CriterionSummary(column=column, label=label, direction="higher", weight=weight, filled=10,
                            best_mean=best, rest_mean=rest)


def test_apart_lines_write_churn_rates_money_and_other_figures_each_their_way():
    lines = apart_lines(_summary(
        _criterion("churned", "Churned", 0.1, 0.4),
        _criterion("win_rate", "Win rate", 0.7, 0.35),
        _criterion("arr", "ARR", 1_200_000, 400_000),
        _criterion("nps", "NPS", 52.25, 20.0),
        _criterion("tenure_months", "Tenure [months]", 30.0, 0.0),
    ))
    assert lines == [
        "Churned: 10% of best customers against 40% of the rest",
        "Win rate: 70% on average among best customers against 35% for the rest, 2.0x",
        "ARR: 1.2M on average among best customers against 400.0k for the rest, 3.0x",
        "NPS: 52.2 on average among best customers against 20.0 for the rest, 2.6x",
        # No ratio over a rest of zero; the label stays plain text (the page escapes it).
        "Tenure [months]: 30.0 on average among best customers against 0.0 for the rest",
    ]


def test_apart_lines_leave_out_unweighted_criteria_and_those_without_both_groups():
    assert apart_lines(_summary(_criterion("arr", "ARR", 10.0, 5.0, weight=0), _criterion("nps", "NPS", None, 5.0),
                                _criterion("csat", "CSAT", 4.0, None))) == []


# -- the Targets page's tier sliders ------------------------------------------------------------------

RULES = TierRules(tier1=75, tier2=50, tier3=25, reps=5, accounts_per_rep=50)


def test_threshold_sliders_are_clamped_to_the_tier_above():
    assert tier_rules_as_set(RULES, "thresholds", tier1=40, tier2=60, tier3=70) == TierRules(
        tier1=40, tier2=40, tier3=40, reps=5, accounts_per_rep=50)
    assert tier_rules_as_set(RULES, "thresholds", tier1=80, tier2=60, tier3=30) == TierRules(
        tier1=80, tier2=60, tier3=30, reps=5, accounts_per_rep=50)


def test_by_capacity_tier_1_keeps_its_threshold_raised_to_tier_2():
    assert tier_rules_as_set(RULES, "capacity", tier2=60, tier3=20, reps=3, accounts_per_rep=10) == TierRules(
        mode="capacity", tier1=75, tier2=60, tier3=20, reps=3, accounts_per_rep=10)
    assert tier_rules_as_set(RULES, "capacity", tier2=90, tier3=20, reps=3, accounts_per_rep=10).tier1 == 90


def test_unchanged_sliders_give_equal_rules():
    assert tier_rules_as_set(RULES, "thresholds", tier1=75, tier2=50, tier3=25) == RULES


# -- the Market page's win rate -----------------------------------------------------------------------

def test_the_win_rate_in_use_is_the_assumption_else_the_measured_one():
    measured = win_rate_setting(MarketAssumptions(), won=3, lost=7)
    assert (measured.in_use, measured.measured, measured.measured_note) == (0.3, 0.3, "measured in your deals: 30%")
    assert win_rate_setting(MarketAssumptions(win_rate=0.5), won=3, lost=7).in_use == 0.5


def test_without_closed_deals_the_win_rate_is_the_fallback_and_says_it_is_assumed():
    fallback = win_rate_setting(MarketAssumptions(), won=0, lost=0)
    assert fallback.in_use == fallback.measured == FALLBACK_WIN_RATE
    assert fallback.measured_note.startswith("assumed 20%: there are no won or lost deals")


def test_a_chosen_win_rate_equal_to_the_measured_one_follows_the_deals():
    assert win_rate_assumption(0.3, 0.3012) is None
    assert win_rate_assumption(0.31, 0.3) == 0.31


# -- the Data page's tables ---------------------------------------------------------------------------

def _column(source: str, **fields) -> ColumnReport:
    return ColumnReport(**{"source": source, "name": source.lower(), "role": None, "kind": "category",
                           "confidence": None, "filled_pct": 100.0, "distinct": 3, "parse_failures": 0,
                           "failure_examples": [], "normalized": "", **fields})


REPORT = ListReport(
    kind="customers", file="crm.csv", format="csv", sheet=None, encoding="utf-8", delimiter=",", header_row=1,
    rows_read=1204, rows_kept=1200, duplicates_merged=4, linked_rows=None, unlinked_rows=None,
    ingested_at=datetime(2026, 1, 1, tzinfo=UTC), notes=[],
    columns=[
        _column("Industry", role="industry", confidence=0.8),
        _column("Employees", role="employees", confidence=1.0, chosen=True, kind="number"),
        _column("Phone", excluded="phone", kind="text"),
        _column("Notes", excluded="phone", chosen=True, kind="text", failure_examples=["a", "b"]),
        _column("Tier"),
    ],
    merges=[MergeExample(by="domain", value="acme.com", rows=2, row_numbers=[3, 9], names=["Acme", "ACME Inc"])],
    label_merges={"Industry": {"Fintec": "Fintech", "Helth": "Health"}},
)


def test_rows_loaded_name_the_rows_by_what_they_are():
    assert rows_loaded("customers", REPORT) == "1,200 customers"
    assert rows_loaded("universe", REPORT) == "1,200 universe accounts"


def test_the_overview_says_how_many_rows_are_linked_to_customers():
    deals = REPORT.model_copy(update={"kind": "deals", "linked_rows": 90, "unlinked_rows": 1010})
    customers, linked = list_rows({"customers": REPORT, "deals": deals})
    assert customers["linked to customers"] == "" and customers["rows read"] == 1204
    assert linked["linked to customers"] == "90 of 1,100"


def test_the_role_table_shows_roles_by_label_and_why_a_column_is_not_analysed():
    rows = role_rows(REPORT)
    assert [r["role"] for r in rows] == ["Industry", "Employees", LEFT_OUT, LEFT_OUT, GENERIC]
    assert [r["confidence"] for r in rows] == ["0.80", "set by you", "", "", ""]
    assert rows[2]["why not analysed"] == "phone numbers"
    assert rows[3]["why not analysed"] == "phone numbers (your choice)"
    assert role_choices("customers")[:3] == [GENERIC, LEFT_OUT, "Company name"]


def test_role_changes_turn_the_edited_labels_into_the_mapping():
    before = role_rows(REPORT)
    after = [dict(r) for r in before]
    after[0]["role"] = GENERIC  # a role taken away: no role
    after[1]["role"] = LEFT_OUT  # left out
    after[2]["role"] = GENERIC  # not analysed, now analysed
    after[4]["role"] = "Annual revenue"  # a role by its label
    assert role_changes("customers", before, after) == {
        "Industry": None, "Employees": IGNORE, "Phone": ANALYSE, "Tier": "revenue"}
    assert role_changes("customers", before, before) == {}


def test_the_quality_and_merge_tables_and_the_merged_labels():
    notes = quality_rows(REPORT)[3]
    assert (notes["examples of failures"], notes["not analysed"], notes["role"]) == ("a, b", "phone numbers", "")
    assert duplicate_rows(REPORT) == [{"same": "domain", "shared value": "acme.com", "rows merged": 2,
                                       "row numbers": "3, 9", "as written": "Acme · ACME Inc"}]
    assert merged_labels(REPORT) == "Industry: Fintec → Fintech, Helth → Health"
    offered = LabelMerge(column="Industry", label="Fintec", label_rows=2, into="Fintech", into_rows=40, similarity=92.0)
    assert label_merge_rows([offered]) == [{"merge": True, "column": "Industry", "label": "Fintec", "rows": 2,
                                            "into": "Fintech", "rows of it": 40}]
