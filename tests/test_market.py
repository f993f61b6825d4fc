"""Market size: TAM, SAM and SOM counted by hand on small workspaces, typed-in counts, the
market.json contract and the per-segment table."""

import json

import pandas as pd
import pytest

from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.market.sizing import (
    FALLBACK_WIN_RATE,
    apportion,
    default_win_rate,
    market_by_segment,
    market_json,
    market_size,
)
from icp.profile.model import ICP, Criterion, MarketAssumptions

SUCCESS = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher"),),
                          best_share=0.5, value_column="arr")
FINTECH = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech",))

# Ten universe accounts: five Fintech (one written in lower case), one with no industry.
UNIVERSE = [
    ("Alpha", "alpha.com", "Fintech", "120"),
    ("Bravo", "bravo.com", "fintech", "40"),
    ("Charlie", "charlie.com", "Fintech", "900"),
    ("Delta", "delta.com", "Fintech", "15"),
    ("Echo", "echo.com", "Fintech", "300"),
    ("Foxtrot", "foxtrot.com", "Retail", "120"),
    ("Golf", "golf.com", "Retail", "60"),
    ("Hotel", "hotel.com", "Media", "2000"),
    ("India", "india.com", "Media", "80"),
    ("Juliett", "juliett.com", "", "10"),
]
# Best customers (top half by ARR): A 100, C 90, B 70. Inside the ICP (Fintech): A and B, mean 85.
CUSTOMERS = [
    ("Cust A", "cust-a.com", "Fintech", "100"),
    ("Cust B", "cust-b.com", "Fintech", "70"),
    ("Cust C", "cust-c.com", "Retail", "90"),
    ("Cust D", "cust-d.com", "Retail", "10"),
    ("Cust E", "cust-e.com", "Fintech", "20"),
    ("Cust F", "cust-f.com", "Retail", "30"),
]
# Three won and seven lost deals: a win rate of 30%.
DEALS = [(f"D{i}", f"Prospect {i}", "Closed Won" if i < 3 else "Closed Lost") for i in range(10)]


def _csv(tmp_path, name: str, header: list[str], rows: list[tuple]):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def make_workspace(tmp_path, *, universe=True, customers=True, deals=True) -> Workspace:
    ws = Workspace.create("market test")
    if universe:
        ws.add_list("universe", _csv(tmp_path, "universe", ["Company", "Domain", "Industry", "Employees"], UNIVERSE))
    if customers:
        ws.add_list("customers", _csv(tmp_path, "customers", ["Company name", "Website", "Industry", "ARR"], CUSTOMERS))
    if deals:
        ws.add_list("deals", _csv(tmp_path, "deals", ["Deal ID", "Company", "Deal Stage"], DEALS))
    return ws


def make_icp(criteria=(FINTECH,), success=SUCCESS, **market) -> ICP:
    return ICP(criteria=criteria, success=success, market=MarketAssumptions(**{"reachable_share": 0.4, **market}))


def test_tam_sam_som_and_money_by_hand(tmp_path):
    size = market_size(make_workspace(tmp_path), make_icp())
    assert size.tam.accounts == 10
    assert size.sam.accounts == 5  # Alpha, Bravo (lower case), Charlie, Delta, Echo
    assert size.win_rate == pytest.approx(0.3)
    # SOM = 5 x 0.4 x 0.3 = 0.6 accounts, shown as 1; its money is from the unrounded 0.6.
    assert size.som.accounts == 1
    assert size.acv == pytest.approx(85.0)  # mean ARR of Cust A and Cust B
    # The TAM's money is every best customer's mean (100, 90, 70), whatever the ICP.
    assert size.tam.value == pytest.approx(10 * (100 + 90 + 70) / 3)
    assert size.sam.value == pytest.approx(425.0)
    assert size.som.value == pytest.approx(0.6 * 85.0)
    assert size.typed_in is False
    words = size.assumptions
    assert words["reach"] == "reachable share 40% of SAM within 1 year"
    assert "3 won of 10 closed deals" in words["win_rate_source"]
    assert "2 best customers inside the ICP" in words["acv_source"]
    assert "Industry is Fintech" in words["sam"]
    assert "ARR" in size.currency_note


def test_a_disqualifier_leaves_sam_and_the_horizon_is_written_out(tmp_path):
    big = Criterion(attribute="employees", label="Employees", kind="range", role="disqualify", low=500)
    size = market_size(make_workspace(tmp_path), make_icp((FINTECH, big), horizon_years=2))
    assert size.sam.accounts == 4  # Charlie has 900 employees
    assert size.assumptions["reach"] == "reachable share 40% of SAM within 2 years"
    assert "and not: Employees at least 500" in size.assumptions["sam"]


def test_assumptions_override_the_measured_win_rate_and_acv(tmp_path):
    size = market_size(make_workspace(tmp_path), make_icp(win_rate=0.5, acv=1000))
    assert (size.win_rate, size.acv) == (0.5, 1000)
    assert size.som.accounts == 1  # 5 x 0.4 x 0.5 = 1.0
    assert size.som.value == pytest.approx(1000.0)
    assert "as set in the assumptions" in size.assumptions["win_rate_source"]
    assert size.currency_note.startswith("Money is in the currency the ACV was typed in")


def test_acv_falls_back_to_all_best_customers_and_is_none_without_money(tmp_path):
    ws = make_workspace(tmp_path)
    energy = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Energy",))
    size = market_size(ws, make_icp((energy,)))
    assert size.sam.accounts == 0
    assert size.acv == pytest.approx((100 + 90 + 70) / 3)
    assert "all 3 best customers" in size.assumptions["acv_source"]
    no_money = market_size(ws, make_icp(success=SUCCESS.model_copy(update={"value_column": None})))
    assert no_money.acv is None
    assert [f.value for f in (no_money.tam, no_money.sam, no_money.som)] == [None, None, None]
    assert no_money.sam.accounts == 5


def test_win_rate_without_deals_falls_back_and_says_so(tmp_path):
    ws = make_workspace(tmp_path, deals=False)
    assert default_win_rate(ws) == FALLBACK_WIN_RATE
    size = market_size(ws, make_icp())
    assert size.win_rate == FALLBACK_WIN_RATE
    assert "assumed" in size.assumptions["win_rate_source"]
    assert default_win_rate(make_workspace(tmp_path)) == pytest.approx(0.3)


def test_typed_in_counts_without_a_universe(tmp_path):
    ws = make_workspace(tmp_path, universe=False)
    size = market_size(ws, make_icp(typed_tam=1000, typed_sam=200))
    assert size.typed_in is True
    assert (size.tam.accounts, size.sam.accounts) == (1000, 200)
    assert size.som.accounts == 24  # 200 x 0.4 x 0.3
    assert "typed in" in size.assumptions["tam"] and "typed in" in size.assumptions["sam"]
    assert size.sam.value == pytest.approx(200 * 85.0)


def test_no_universe_and_no_typed_counts_is_a_plain_error(tmp_path):
    ws = make_workspace(tmp_path, universe=False)
    with pytest.raises(IcpError, match="upload one on the Data page|Upload one"):
        market_size(ws, make_icp())
    with pytest.raises(IcpError, match="SAM count"):
        market_size(ws, make_icp(typed_tam=1000))
    with pytest.raises(IcpError, match="larger than the TAM"):
        market_size(ws, make_icp(typed_tam=10, typed_sam=20))


def test_a_universe_without_a_criterion_column_is_scored_on_what_it_has(tmp_path):
    snowflake = Criterion(attribute="tech_stack", label="Tech stack", kind="contains", role="must",
                          values=("Snowflake",))
    size = market_size(make_workspace(tmp_path), make_icp((FINTECH, snowflake)))
    assert (size.tam.accounts, size.sam.accounts) == (10, 0)


def test_market_json_has_exactly_the_contract_keys(tmp_path):
    doc = market_json(market_size(make_workspace(tmp_path), make_icp()))
    assert list(doc) == ["tam", "sam", "som", "assumptions"]
    for key in ("tam", "sam", "som"):
        assert set(doc[key]) == {"accounts", "value"}
    assert doc["sam"] == {"accounts": 5, "value": pytest.approx(425.0)}
    assert json.loads(json.dumps(doc)) == doc


def test_segments_add_up_to_the_totals(tmp_path):
    ws = make_workspace(tmp_path)
    icp = make_icp()
    size = market_size(ws, icp)
    for dims in (["industry"], ["industry", "size_band"]):
        frame = market_by_segment(ws, icp, dims)
        assert list(frame.columns) == [*dims, "tam_accounts", "sam_accounts", "som_accounts", "sam_value"]
        assert frame["tam_accounts"].sum() == size.tam.accounts
        assert frame["sam_accounts"].sum() == size.sam.accounts
        assert frame["som_accounts"].sum() == size.som.accounts
        assert frame["sam_value"].sum() == pytest.approx(size.sam.value)
    by_industry = market_by_segment(ws, icp, ["industry"]).set_index("industry")
    # The ingest spells "fintech" as "Fintech"; a blank industry is its own segment.
    assert by_industry.loc["Fintech"].tolist() == [5, 5, 1, pytest.approx(425.0)]
    assert by_industry.loc["(unknown)", "tam_accounts"] == 1
    assert by_industry.index[0] == "Fintech"  # largest SAM first


def test_segments_refuse_bad_dimensions(tmp_path):
    ws = make_workspace(tmp_path)
    for dims, message in ((["country"], "no Country to segment by"), (["employees"], "category or band"), ([], "one to three")):
        with pytest.raises(IcpError, match=message):
            market_by_segment(ws, make_icp(), dims)
    with pytest.raises(IcpError, match="universe"):
        market_by_segment(make_workspace(tmp_path, universe=False), make_icp(), ["industry"])


def test_apportioned_counts_are_whole_and_add_up():
    exact = pd.Series([0.6, 0.6, 0.6, 1.2]).to_numpy()
    counts = apportion(exact, 3)
    assert counts.tolist() == [1, 1, 0, 1]  # remainders .6, .6, .6, .2: the first two .6 get one each
    assert all(abs(c - e) < 1 for c, e in zip(counts, exact, strict=True))


# -- issue 16: what a founder sees -----------------------------------------------------------------

def _nice(label: str, attribute: str, values: tuple[str, ...], evidence: str, q: float, lift: float) -> Criterion:
    from icp.profile.model import Evidence
    return Criterion(attribute=attribute, label=label, kind="in_set", role="nice", values=values,
                     evidence=Evidence(in_group=3, group_size=3, in_rest=1, rest_size=3, lift=lift, lift_low=1.0,
                                       lift_high=9.0, q_value=q, evidence=evidence, sentence=""))


def test_only_nice_criteria_warn_that_sam_is_tam_and_name_the_strongest_finding(tmp_path):
    ws = make_workspace(tmp_path)
    fintech = _nice("Industry", "industry", ("Fintech",), "strong", 0.01, 3.0)
    retail = _nice("Size", "size_band", ("51-200",), "weak", 0.2, 1.5)
    size = market_size(ws, make_icp((retail, fintech)))
    assert size.sam.accounts == size.tam.accounts
    [warning] = [w for w in size.warnings if "no must criterion" in w]
    assert "SAM is the whole TAM" in warning and "Industry is Fintech" in warning
    assert warning in market_json(size)["assumptions"]["warnings"]
    # With a must, no such warning.
    assert not [w for w in market_size(ws, make_icp()).warnings if "no must criterion" in w]


def test_tam_money_does_not_depend_on_the_icp(tmp_path):
    ws = make_workspace(tmp_path)
    energy = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Energy",))
    retail = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Retail",))
    sizes = [market_size(ws, make_icp(criteria)) for criteria in ((FINTECH,), (energy,), (retail,))]
    best_mean = (100 + 90 + 70) / 3  # every best customer, whatever the ICP
    assert [s.tam.value for s in sizes] == [pytest.approx(10 * best_mean)] * 3
    assert sizes[0].tam_acv == pytest.approx(best_mean)
    assert sizes[0].sam.value == pytest.approx(5 * 85.0)  # SAM keeps the in-ICP mean
    words = sizes[0].assumptions
    assert "all 3 best customers, whatever the ICP" in words["tam_acv_source"]
    assert "inside the ICP" in words["acv_source"]
    # Named for what it is: the mean of the ARR column, not an "ACV".
    assert words["acv_name"] == "mean ARR"
    assert "mean ARR of all best customers" in words["money"] and "inside the ICP" in words["money"]


def test_som_below_one_account_is_shown_unrounded_beside_its_money(tmp_path):
    size = market_size(make_workspace(tmp_path), make_icp(reachable_share=0.2))
    # SAM 5 x 0.2 x 0.3 = 0.3 accounts: rounds to 0, yet its money is 0.3 x 85.
    assert size.som.accounts == 0 and size.som.value == pytest.approx(0.3 * 85.0)
    assert size.som_exact == pytest.approx(0.3)
    assert market_json(size)["assumptions"]["som_accounts_exact"] == pytest.approx(0.3)
    assert "unrounded 0.3 accounts" in size.assumptions["money"]


def test_money_in_the_assumptions_has_its_currency_and_scale(tmp_path):
    size = market_size(make_workspace(tmp_path), make_icp(acv=48_000, currency="USD"))
    assert size.assumptions["acv_source"].startswith("$48.0k, as set")
    assert size.currency == "USD" and "USD" in size.currency_note
    assert size.assumptions["money"].startswith("accounts x the ACV typed in ($48.0k)")
    assert size.tam.value == pytest.approx(10 * 48_000)  # typed in, it is the TAM's too
    unknown = market_size(make_workspace(tmp_path), make_icp())
    assert "set the currency on the Market page" in unknown.currency_note


def test_tier_limit_says_what_caps_the_tiers(tmp_path):
    from icp.market.targets import tier_counts, tier_limit
    from icp.profile.model import TierRules

    ws = make_workspace(tmp_path)
    capacity = make_icp().model_copy(update={"tiers": TierRules(mode="capacity", reps=5, accounts_per_rep=50)})
    sentence = tier_limit(ws, capacity)
    in_sam = tier_counts(ws, capacity).set_index("tier").loc[["Tier 1", "Tier 2", "Tier 3"], "accounts"].sum()
    assert sentence.startswith(f"Tier 1 is capped by SAM: only {in_sam:,} accounts meet every must")
    assert "capacity of 250" in sentence
    # Only musts: every SAM account scores 100, so a threshold moves nothing.
    assert "thresholds change nothing" in tier_limit(ws, make_icp())
    # A nice criterion spreads the scores: the controls work, nothing to say.
    big = Criterion(attribute="employees", label="Employees", kind="range", role="nice", low=100)
    assert tier_limit(ws, make_icp((FINTECH, big))) is None


def test_the_currency_is_detected_from_the_cells_or_the_header(tmp_path):
    dollars = [(n, d, i, f"${int(v) * 1000:,}") for n, d, i, v in CUSTOMERS]
    ws = make_workspace(tmp_path, customers=False)
    ws.add_list("customers", _csv(tmp_path, "customers", ["Company name", "Website", "Industry", "ARR"], dollars))
    size = market_size(ws, make_icp())
    assert size.currency == "USD"
    assert size.assumptions["acv_source"].startswith("$85.0k, the mean ARR")
    assert "read from the cells of “ARR”" in size.currency_note
    euros = make_workspace(tmp_path, customers=False)
    euros.add_list("customers", _csv(tmp_path, "customers", ["Company name", "Website", "Industry", "ARR (EUR)"],
                                     CUSTOMERS))
    success = SUCCESS.model_copy(update={"criteria": (Outcome(column="arr_eur", label="ARR", direction="higher"),),
                                         "value_column": "arr_eur"})
    assert market_size(euros, make_icp(success=success)).currency == "EUR"
    # Typed in, it wins over what the data says.
    assert market_size(ws, make_icp(currency="GBP")).currency == "GBP"


def test_a_missing_segment_dimension_is_named_in_the_users_words_with_what_to_do(tmp_path):
    # The maven walk-through: "The universe list has no size_band column to segment by." This
    # universe has a head count but no revenue: the same for its revenue band.
    ws = make_workspace(tmp_path)
    with pytest.raises(IcpError) as err:
        market_by_segment(ws, make_icp(), ["industry", "revenue_band"])
    message = str(err.value)
    assert "revenue_band" not in message
    assert message.startswith("The universe list has no Revenue band to segment by")
    assert "give the universe column that holds it the Annual revenue role (Revenue band is cut from it)" in message
    assert "Data page" in message
