"""The ICP carried beyond its own customers: criteria found in lists that name them otherwise, units
checked, warnings wherever a result rests on a guess, an honest empty state, and a planted profile
recovered in a universe with other headers."""

import json

import pandas as pd
import pytest

from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings
from icp.cli import main
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.market.sizing import market_json, market_size
from icp.market.targets import targets_export, tier_counts
from icp.profile import carry
from icp.profile.draft import draft_icp
from icp.profile.model import ICP, ColumnLink, Criterion
from tests.planted import write_planted

SUCCESS = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher"),))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    files = write_planted(folder)
    ws = Workspace.create("planted", folder=folder)
    ws.add_list("customers", files.customers)
    ws.add_list("universe", files.universe)
    return ws, files, draft_icp(ws)


def test_the_drafted_profile_is_the_planted_one(planted):
    _, _, icp = planted
    found = {(c.role, c.attribute, c.kind) for c in icp.criteria}
    assert ("must", "industry", "in_set") in found and ("must", "employees", "range") in found
    assert ("disqualify", "requires_on_prem", "flag") in found
    assert {c.attribute for c in icp.criteria} <= {"industry", "employees", "requires_on_prem"}


def test_a_disqualifier_named_otherwise_in_the_universe_is_linked(planted):
    ws, _, icp = planted
    report = {r.attribute: r for r in carry.carry_report(ws, icp)}
    assert (report["industry"].how, report["employees"].how) == ("same", "same")
    on_prem = report["requires_on_prem"]
    assert (on_prem.how, on_prem.column) == ("linked", "on_prem_only") and on_prem.confidence >= 0.5
    assert on_prem.coverage == pytest.approx(1.0)
    assert "read from its column “on_prem_only”, linked by name and values" in on_prem.sentence()


def test_the_planted_profile_is_found_in_a_universe_with_other_headers(planted):
    ws, files, icp = planted
    export = targets_export(ws, icp)
    tier1 = set(export.loc[export["icp_tier"] == "Tier 1", "Web"])
    truth = set(files.truth[files.truth].index)
    precision, recall = len(tier1 & truth) / len(tier1), len(tier1 & truth) / len(truth)
    assert precision >= 0.95 and recall >= 0.9, (precision, recall)
    sam = market_size(ws, icp).sam.accounts
    assert 0.8 <= sam / len(truth) <= 1.25, (sam, len(truth))


def test_without_the_link_on_prem_accounts_would_be_tiered_and_it_is_said(planted):
    ws, files, icp = planted
    unlinked = icp.model_copy(update={"carry": (ColumnLink(list="universe", attribute="requires_on_prem",
                                                           column=None),)})
    export = targets_export(ws, unlinked)
    on_prem = set(pd.read_csv(files.universe).query("on_prem_only")["Web"])
    assert on_prem & set(export.loc[export["icp_tier"] == "Tier 1", "Web"])  # what the link prevents
    size = market_size(ws, unlinked)
    assert size.sam.accounts > market_size(ws, icp).sam.accounts
    assert any("no column holds “Requires on-prem” (a disqualifier)" in w and "SAM may be overstated" in w
               for w in size.warnings)
    assert any("Requires on-prem" in w for w in market_json(size)["assumptions"]["warnings"])


def test_a_must_no_list_column_holds_makes_every_account_insufficient_data(planted):
    ws, _, icp = planted
    lost = icp.model_copy(update={"carry": (ColumnLink(list="universe", attribute="industry", column=None),)})
    counts = tier_counts(ws, lost).set_index("tier")["accounts"]
    on_prem_or_small = counts["Not a fit"]
    assert counts[["Tier 1", "Tier 2", "Tier 3"]].sum() == 0 and counts["Insufficient data"] > 0
    assert counts["Insufficient data"] + on_prem_or_small == counts.sum()
    assert any("no account can pass it" in w for w in market_size(ws, lost).warnings)


UNITS_CUSTOMERS = "Company name,Annual Revenue,ARR\n" + "".join(
    f"C{i},{r},{1000 + i}\n" for i, r in enumerate([5, 12, 20, 35, 50, 80, 120, 200, 8, 15]))
UNITS_UNIVERSE = "Company,Domain,Revenue\n" + "".join(
    f"U{i},u{i}.com,{r}\n" for i, r in enumerate([4e6, 9e6, 11e6, 25e6, 60e6, 99e6, 150e6, 400e6, 30e6, 70e6]))
REVENUE_10_TO_100M = Criterion(attribute="revenue", label="Annual revenue", kind="range", role="must", low=10, high=100)


def test_customers_in_millions_against_a_universe_in_dollars(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    (tmp_path / "c.csv").write_text(UNITS_CUSTOMERS)
    (tmp_path / "u.csv").write_text(UNITS_UNIVERSE)
    ws.add_list("customers", tmp_path / "c.csv")
    ws.add_list("universe", tmp_path / "u.csv")
    icp = ICP(criteria=(REVENUE_10_TO_100M,), success=SUCCESS)
    [revenue] = carry.carry_report(ws, icp)
    assert revenue.suggested_factor == pytest.approx(1e-6) and 1e6 <= revenue.median_ratio <= 3e6
    assert "about 1,636,364x the customers" in revenue.sentence() and "x1e-6" in revenue.sentence()
    # As it is, no dollar figure is 10 to 100: nothing is in SAM.
    assert market_size(ws, icp).sam.accounts == 0
    scaled = icp.model_copy(update={"carry": (ColumnLink(list="universe", attribute="revenue", column="revenue",
                                                         factor=1e-6),)})
    export = targets_export(ws, scaled)
    inside = set(export.loc[export["icp_tier"] == "Tier 1", "Company"])
    assert inside == {"U2", "U3", "U4", "U5", "U8", "U9"}  # 11M, 25M, 60M, 99M, 30M, 70M
    assert market_size(ws, scaled).sam.accounts == 6
    [revenue] = carry.carry_report(ws, scaled)
    assert revenue.sentence() is None  # the factor is set: nothing left to say


def test_no_criteria_is_no_icp_yet_everywhere(tmp_path, capsys):
    ws = Workspace.create(folder=tmp_path)
    (tmp_path / "c.csv").write_text(UNITS_CUSTOMERS)
    (tmp_path / "u.csv").write_text(UNITS_UNIVERSE)
    ws.add_list("customers", tmp_path / "c.csv")
    ws.add_list("universe", tmp_path / "u.csv")
    empty = ICP(success=SUCCESS)
    with pytest.raises(IcpError, match="No ICP yet: it has no criteria"):
        market_size(ws, empty)
    with pytest.raises(IcpError, match="No ICP yet"):
        tier_counts(ws, empty)
    assert set(targets_export(ws, empty)["icp_tier"]) == {"Not a fit"}
    settings = tmp_path / "empty.json"
    settings.write_text(empty.model_dump_json())
    out = tmp_path / "out"
    assert main(["build", "--customers", str(tmp_path / "c.csv"), "--universe", str(tmp_path / "u.csv"),
                 "--settings", str(settings), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: No ICP yet: it has no criteria" in err
    market = json.loads((out / "market.json").read_text())
    assert market["sam"]["accounts"] is None and "No ICP yet" in market["assumptions"]["note"]


@pytest.mark.slow
def test_the_cli_links_and_scales_and_warns(tmp_path, capsys):
    files = write_planted(tmp_path / "planted", customers=600, universe=3000)
    out = tmp_path / "out"
    assert main(["build", "--customers", str(files.customers), "--universe", str(files.universe),
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: Universe: “Requires on-prem” (a disqualifier) is read from its column “on_prem_only”" in err
    market = json.loads((out / "market.json").read_text())
    assert any("on_prem_only" in w for w in market["assumptions"]["warnings"])
    # Told to read it nowhere, the disqualifier is unresolved: said on stderr; the ICP keeps the choice.
    settings = out / "icp.json"
    assert main(["build", "--customers", str(files.customers), "--universe", str(files.universe),
                 "--settings", str(settings), "--link", "universe:Headcount=Number of Employees",
                 "--out", str(tmp_path / "out2")]) == 0
    kept = json.loads((tmp_path / "out2" / "icp.json").read_text())["carry"]
    assert kept == [{"list": "universe", "attribute": "employees", "column": "employees", "factor": 1.0}]
    # icp score on a file naming the flag otherwise: linked, and said.
    accounts = tmp_path / "accounts.csv"
    pd.read_csv(files.universe).head(200).rename(columns={"on_prem_only": "OnPremOnly"}).to_csv(accounts, index=False)
    capsys.readouterr()
    assert main(["score", "--icp", str(settings), "--accounts", str(accounts), "--out", str(tmp_path / "s.csv")]) == 0
    assert "“Requires on-prem” (a disqualifier) is read from its column “onpremonly”" in capsys.readouterr().err
    assert main(["score", "--icp", str(settings), "--accounts", str(accounts), "--out", str(tmp_path / "s.csv"),
                 "--scale", "accounts:Headcount=2"]) == 0
    assert main(["score", "--icp", str(settings), "--accounts", str(accounts), "--out", str(tmp_path / "s.csv"),
                 "--scale", "accounts:Nope=2"]) == 2
    assert "error: --scale: the targets list has no column 'Nope'." in capsys.readouterr().err
