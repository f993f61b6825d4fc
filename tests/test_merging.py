"""Which rows are one account (ids first, never two different ids), how deals link to them, and
durations that cannot be true (a deal closed before it was created) kept out of every analysis."""

import csv

import pytest

from icp.analysis.success import SuccessCriterion, SuccessSettings, score_customers
from icp.cli import main
from icp.data.workspace import Workspace
from tests.helpers import write

# A Data Loader export: "Acme" and "Acme, Inc." are different accounts (different Ids, industries, cities).
ACCOUNTS = """Id,Name,Website,Industry,BillingCity
001Ec00000AcmeAAA,Acme,acme.com,Fintech,Boston
001Ec00000AcmeBBB,"Acme, Inc.",acmeinc.com,Retail,Denver
001Ec00000BetaAAA,Beta,beta.io,Fintech,Austin
001Ec00000BetaAAA,Beta Corp,www.beta.io,,
,Gamma,gamma.com,Healthcare,Reno
,Gamma Labs,gamma.com,,
001Ec00000DeltAAA,Delta,delta.com,Retail,Miami
,Delta,,Retail,
"""

DEALS = """Id,AccountId,Account Name,Name,StageName,Amount,CreatedDate,CloseDate
006A,001Ec00000AcmeAAA,Acme,Acme renewal,Closed Won,100,2023-01-01T10:00:00.000Z,2023-02-01
006B,001Ec00000AcmeBBB,"Acme, Inc.",Acme Inc upsell,Closed Lost,50,2023-01-05T10:00:00.000Z,2023-03-01
006C,,Acme,Acme by name only,Closed Won,70,2023-02-01T10:00:00.000Z,2023-03-15
006D,001Ec00000BetaAAA,Beta,Beta new,Closed Won,40,2024-06-01T10:00:00.000Z,2023-06-01
006E,,Gamma,Gamma new,Closed Won,30,2023-01-01T10:00:00.000Z,2023-01-31
006F,,Gamma,Gamma far,Closed Lost,30,1990-01-01T10:00:00.000Z,2023-01-31
"""


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace.create(folder=tmp_path)
    workspace.add_list("customers", write(tmp_path / "accounts.csv", ACCOUNTS))
    workspace.add_list("deals", write(tmp_path / "opportunities.csv", DEALS))
    return workspace


def accounts(ws) -> dict[str, tuple]:
    with ws.connect() as con:
        rows = con.execute("SELECT account_name, account_id, industry, city, _rows FROM customers ORDER BY _row")
        return {r[0]: r[1:] for r in rows.fetchall()}


def test_different_ids_are_never_one_account_and_one_id_always_is(ws):
    found = accounts(ws)
    assert found["Acme"] == ("001Ec00000AcmeAAA", "Fintech", "Boston", 1)
    assert found["Acme, Inc."] == ("001Ec00000AcmeBBB", "Retail", "Denver", 1)
    # Same id, another name and a blank industry: one account, its first filled values kept.
    assert found["Beta"] == ("001Ec00000BetaAAA", "Fintech", "Austin", 2)
    # No id: the same domain is one account.
    assert found["Gamma"] == (None, "Healthcare", "Reno", 2)
    # A row without an id joins the one account that has its name.
    assert found["Delta"] == ("001Ec00000DeltAAA", "Retail", "Miami", 2)
    report = ws.report("customers")
    assert (report.rows_read, report.rows_kept, report.duplicates_merged) == (8, 5, 3)


def test_the_panel_lists_merges_with_examples(ws):
    report = ws.report("customers")
    assert [(m.by, m.rows, m.row_numbers) for m in report.merges] == [
        ("id", 2, [3, 4]), ("domain", 2, [5, 6]), ("name", 2, [7, 8])]
    assert (report.merges[2].value, report.merges[1].value) == ("delta", "gamma.com")
    assert report.merges[0].names == ["Beta", "Beta Corp"] and report.merges[0].value == "001Ec00000BetaAAA"
    note = next(n for n in report.notes if "duplicate rows merged" in n)
    assert "3 duplicate rows" in note and "Beta + Beta Corp (rows 3, 4, same id)" in note


def test_merging_can_be_turned_off_per_list(ws):
    report = ws.set_merging("customers", False)
    assert (report.rows_kept, report.duplicates_merged, report.merges, report.merge_duplicates) == (8, 0, [], False)
    assert any("Merging is off" in n for n in report.notes)
    # A later change of roles keeps it off; turning it on merges again.
    assert ws.set_mapping("customers", {"BillingCity": None}).rows_kept == 8
    assert ws.set_merging("customers", True).rows_kept == 5


def test_a_deal_links_by_id_and_a_name_two_accounts_share_links_to_neither(ws):
    with ws.connect() as con:
        linked = dict(con.execute(
            "SELECT d.deal_id, c.account_name FROM deals d JOIN deal_links l USING (_row) "
            "LEFT JOIN customers c USING (account_key)").fetchall())
    # "Acme" names two accounts ("Acme" and "Acme, Inc." normalize alike): by name alone it is neither.
    assert linked == {"006A": "Acme", "006B": "Acme, Inc.", "006C": None, "006D": "Beta", "006E": "Gamma",
                      "006F": "Gamma"}
    report = ws.report("deals")
    assert (report.linked_rows, report.unlinked_rows, report.ambiguous_rows) == (5, 1, 1)
    frame = ws.frame("customer_accounts").set_index("account_name")
    assert (frame.loc["Acme", "deals_won"], frame.loc["Acme, Inc.", "deals_lost"]) == (1, 1)


def test_a_deal_closed_before_it_was_created_has_no_sales_cycle(ws):
    with ws.connect() as con:
        cycles = dict(con.execute("SELECT deal_id, cycle_days FROM deals").fetchall())
    assert cycles["006A"] == 31 and cycles["006E"] == 30
    # Created a year after it closed (a data-load date); created 33 years before: both left empty.
    assert cycles["006D"] is None and cycles["006F"] is None
    closed = next(c for c in ws.report("deals").columns if c.role == "closed_date")
    assert closed.implausible == 2 and closed.parse_failures == 0
    assert closed.implausible_examples[0] == "row 4: created 2024-06-01, closed 2023-06-01 (-366 days)"
    assert any("2 deals closed before they were created" in n for n in ws.report("deals").notes)
    frame = ws.frame("customer_accounts").set_index("account_name")
    assert frame.loc["Beta", "deals_won"] == 1 and frame.loc["Beta", "median_cycle_days"] != frame.loc[
        "Beta", "median_cycle_days"]  # NaN: its one won deal has no cycle


CYCLES = """Company name,ARR,Sales Cycle Days
Alpha,100,30
Beta,100,-400
Gamma,100,45
Delta,100,60
Epsilon,100,99999
Zeta,100,90
"""


def test_a_negative_cycle_never_reaches_a_success_score(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    report = ws.add_list("customers", write(tmp_path / "c.csv", CYCLES))
    column = next(c for c in report.columns if c.role == "sales_cycle_days")
    assert (column.implausible, column.parse_failures, column.implausible_examples) == (2, 0, ["-400", "99999"])
    settings = SuccessSettings(criteria=(SuccessCriterion(column="sales_cycle_days", label="Sales cycle",
                                                   direction="lower", weight=1),), best_share=0.25)
    scored = score_customers(ws, settings).set_index("account_name")
    # "Lower is better" would have made -400 the best customer; it has no cycle to score.
    assert scored.loc["Beta", "value_score"] != scored.loc["Beta", "value_score"]  # NaN
    assert not scored.loc["Beta", "is_best"] and not scored.loc["Epsilon", "is_best"]
    assert scored.loc["Alpha", "is_best"]


HEADCOUNTS = """Company name,ARR,Employees
Alpha,100,120
Beta,100,1e15
Gamma,100,"2,500"
Delta,100,1000000000000000
Epsilon,100,10000000
"""


def test_a_headcount_no_company_has_is_left_empty_and_said(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    report = ws.add_list("customers", write(tmp_path / "c.csv", HEADCOUNTS))
    column = next(c for c in report.columns if c.role == "employees")
    assert (column.implausible, column.parse_failures) == (2, 0)
    assert column.implausible_examples == ["1e15", "1000000000000000"]
    with ws.connect() as con:
        got = dict(con.execute("SELECT account_name, employees FROM customers").fetchall())
    assert got == {"Alpha": 120, "Beta": None, "Gamma": 2500, "Delta": None, "Epsilon": 10_000_000}
    assert any("2 values of Employees over 10,000,000 employees" in note for note in report.notes)


@pytest.mark.slow
def test_icp_score_writes_every_row_of_same_name_accounts_and_of_a_partner_file(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = tmp_path / "out"
    assert main(["build", "--customers", str(tmp_path / "demo" / "customers.csv"), "--out", str(out)]) == 0
    accounts_file = write(tmp_path / "accounts.csv", ACCOUNTS)
    partners = write(tmp_path / "partners.csv", "Name,Customer,City\n" + "".join(
        f"Partner {i},{i % 2},Town {i}\n" for i in range(8)))
    for source in (accounts_file, partners):
        target = tmp_path / f"scored-{source.stem}.csv"
        assert main(["score", "--icp", str(out / "icp.json"), "--accounts", str(source), "--out", str(target)]) == 0
        with open(source, newline="") as f:
            given = list(csv.reader(f))[1:]
        with open(target, newline="") as f:
            scored = list(csv.reader(f))[1:]
        width = len(given[0])
        assert sorted(row[:width] for row in scored) == sorted(given)


NAMESAKES = """Company,Country,City,Industry
Bolt,Estonia,Tallinn,Auto & transportation
Bolt,United States,San Francisco,Fintech
Bolt,EE,tallinn,
Fabric,United States,Bellevue,E-commerce
Fabric,United States,New York,Logistics
10stamps,Germany,Munich,Big Data
10Stamps GmbH,Germany,,Big Data
"""


def test_companies_named_alike_that_disagree_on_where_or_what_they_are_stay_apart(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    report = ws.add_list("customers", write(tmp_path / "unicorns.csv", NAMESAKES))
    # Two Bolts (Tallinn, San Francisco) and two Fabrics (Bellevue, New York) are four companies; the
    # third Bolt agrees with the first where both are filled, and 10stamps is one company.
    assert (report.rows_kept, report.duplicates_merged) == (5, 2)
    with ws.connect() as con:
        rows = con.execute("SELECT account_name, city, _rows FROM customers ORDER BY _row").fetchall()
    assert rows == [("Bolt", "Tallinn", 2), ("Bolt", "San Francisco", 1), ("Fabric", "Bellevue", 1),
                    ("Fabric", "New York", 1), ("10stamps", "Munich", 2)]


def test_a_row_without_an_id_joins_no_account_it_disagrees_with(tmp_path):
    text = ("Id,Name,Industry\n1,Acme,Fintech\n,Acme,Retail\n2,Beta,Fintech\n3,Beta,Fintech\n,Beta,Fintech\n"
            "4,Gamma,Health\n,Gamma,\n")
    ws = Workspace.create(folder=tmp_path)
    report = ws.add_list("customers", write(tmp_path / "c.csv", text))
    with ws.connect() as con:
        rows = con.execute("SELECT account_id, account_name, industry, _rows FROM customers ORDER BY _row").fetchall()
    # The Retail "Acme" is another company; the id-less "Beta" names two accounts, so neither; the
    # id-less "Gamma" with no industry is Gamma 4.
    assert rows == [("1", "Acme", "Fintech", 1), (None, "Acme", "Retail", 1), ("2", "Beta", "Fintech", 1),
                    ("3", "Beta", "Fintech", 1), (None, "Beta", "Fintech", 1), ("4", "Gamma", "Health", 2)]
    assert report.duplicates_merged == 1


def test_salesforce_ids_of_15_and_18_characters_link(tmp_path):
    # Accounts from Data Loader (18), opportunities from a report (15).
    ws = Workspace.create(folder=tmp_path)
    ws.add_list("customers", write(tmp_path / "a.csv", "Id,Name\n001Ec00000AcmeAIAK,Acme\n001Ec00000BetaAIA2,Beta\n"))
    report = ws.add_list("deals", write(tmp_path / "o.csv", "Opportunity ID,Account ID,Stage\n"
                                        "006Ec00000Opp01,001Ec00000AcmeA,Closed Won\n006Ec00000Opp02,001Ec00000BetaA,Closed Lost\n"))
    assert (report.linked_rows, report.unlinked_rows) == (2, 0)


PIPEDRIVE_STAGES = """Deal - Title,Deal - Organization,Deal - Stage,Deal - Value
A deal,Alpha,Qualified,100
B deal,Beta,Contact Made,200
C deal,Gamma,Proposal Made,300
D deal,Delta,Negotiations Started,400
"""


def test_deal_stages_that_never_read_as_won_or_lost_are_said(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    report = ws.add_list("deals", write(tmp_path / "deals.csv", PIPEDRIVE_STAGES))
    [note] = [n for n in report.notes if "No deal stage reads as won or lost" in n]
    assert "Contact Made, Negotiations Started, Proposal Made, Qualified" in note
    # Once a stage does read as won or lost, nothing is said.
    closed = PIPEDRIVE_STAGES.replace("Proposal Made", "Closed Won")
    report = ws.add_list("deals", write(tmp_path / "deals2.csv", closed))
    assert not any("No deal stage reads" in n for n in report.notes)


def test_icp_build_warns_when_no_deal_reads_as_won_or_lost(tmp_path, capsys):
    from icp.cli import main

    customers = write(tmp_path / "customers.csv", "Company name,ARR\nAlpha,100\nBeta,200\nGamma,300\nDelta,50\n")
    deals = write(tmp_path / "deals.csv", PIPEDRIVE_STAGES)
    assert main(["build", "--customers", str(customers), "--deals", str(deals), "--out", str(tmp_path / "out")]) == 0
    assert f"warning: {deals}: No deal stage reads as won or lost" in capsys.readouterr().err
