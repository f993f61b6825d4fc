"""Every public file in ../shared/data loads with the right counts and values (skipped when absent).

Expected figures are counted here straight from the files with the csv module, not through DuckDB.
"""

import csv
from collections import Counter, defaultdict

import pytest

from icp.data.workspace import Workspace
from tests.helpers import shared_file

pytestmark = pytest.mark.realdata


def rows(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def maven(tmp_path_factory):
    accounts = shared_file("maven_crm/accounts.csv")
    pipeline = shared_file("maven_crm/sales_pipeline.csv")
    ws = Workspace.create("Maven", folder=tmp_path_factory.mktemp("maven"))
    ws.add_list("customers", accounts)
    ws.add_list("deals", pipeline)
    return ws, rows(accounts), rows(pipeline)


def test_maven_accounts_are_85_customers(maven):
    ws, accounts, _ = maven
    report = ws.report("customers")
    assert (report.rows_read, report.rows_kept, report.duplicates_merged) == (85, 85, 0)
    assert report.mapping["sector"] == "industry" and report.mapping["office_location"] == "country"
    frame = ws.frame("customers").set_index("account_name")
    acme = frame.loc["Acme Corporation"]
    assert acme["industry"] == "technolgy" and acme["employees"] == 2822 and acme["revenue"] == 1100.04
    assert acme["country"] == "US" and acme["founded_year"] == 1996
    assert frame.loc["Betatech", "country"] == "KE"


def test_maven_pipeline_links_every_named_deal(maven):
    ws, _, pipeline = maven
    report = ws.report("deals")
    named = sum(1 for r in pipeline if r["account"].strip())
    assert report.rows_read == report.rows_kept == 8800
    assert (report.linked_rows, report.unlinked_rows) == (named, 8800 - named)
    stages = Counter(r["deal_stage"] for r in pipeline)
    assert stages == {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}
    with ws.connect() as con:
        outcomes = dict(con.execute("SELECT deal_outcome, count(*) FROM deals GROUP BY 1").fetchall())
    assert outcomes == {"won": 4238, "lost": 2473, "open": 2089}


def test_maven_win_rate_per_account_equals_a_direct_count(maven):
    ws, _, pipeline = maven
    won, lost, value = Counter(), Counter(), defaultdict(float)
    for r in pipeline:
        if r["deal_stage"] == "Won":
            won[r["account"]] += 1
            value[r["account"]] += float(r["close_value"])
        elif r["deal_stage"] == "Lost":
            lost[r["account"]] += 1
    frame = ws.frame("customer_accounts", limit=None).set_index("account_name")
    for account in ("Cancity", "Isdom", "Acme Corporation", "Zumgoity"):
        assert frame.loc[account, "deals_won"] == won[account]
        assert frame.loc[account, "deals_lost"] == lost[account]
        assert frame.loc[account, "win_rate"] == pytest.approx(won[account] / (won[account] + lost[account]))
        assert frame.loc[account, "won_value"] == pytest.approx(value[account])


def test_inc5000_revenue_from_mm_and_the_padded_header():
    path = shared_file("inc5000.csv")
    ws = Workspace.create()
    report = ws.add_list("universe", path)
    assert report.rows_read == 5000
    assert report.mapping["REVENUE"] == "revenue"
    source = {r["COMPANY NAME"]: r for r in rows(path)}
    assert source["Mortgage Capital Trading"][" REVENUE "] == "18.3 MM"
    frame = ws.frame("universe", limit=None).set_index("account_name")
    assert frame.loc["Mortgage Capital Trading", "revenue"] == pytest.approx(18_300_000)
    assert frame.loc["CXtec", "revenue"] == pytest.approx(196_700_000)
    assert frame.loc["CXtec", "employees"] == 400 and frame.loc["CXtec", "founded_year"] == 1878
    revenue = next(c for c in report.columns if c.source == "REVENUE")
    assert revenue.parse_failures == 0 and revenue.filled_pct == 100.0


def test_unicorn_workbook_main_sheet():
    path = shared_file("unicorn_companies.xlsx")
    ws = Workspace.create()
    report = ws.add_list("competitors", path, sheet="Unicorn_Companies")
    assert report.rows_read == 1074 and report.sheet == "Unicorn_Companies"
    frame = ws.frame("competitors", limit=None).set_index("account_name")
    assert frame.loc["Bytedance", "country"] == "CN"
    assert frame.loc["Bytedance", "valuation"] == pytest.approx(180e9)
    assert frame.loc["Bytedance", "founded_year"] == 2012
    assert frame.loc["Bytedance", "industry"] == "Artificial intelligence"


def test_crunchbase_vc_is_read_as_latin1_with_padded_headers_mapped():
    path = shared_file("crunchbase_investments_vc_trimmed.csv")
    ws = Workspace.create()
    report = ws.add_list("universe", path)
    assert report.rows_read == 49_438 and report.encoding in ("latin-1", "iso-8859-1", "cp1252", "windows-1252")
    assert report.mapping["market"] == "industry" and report.mapping["country_code"] == "country"
    raw = ws.frame("raw_universe", limit=3)
    assert raw.loc[0, "market"] == " News " and raw.loc[0, "funding_total_usd"] == " 17,50,000 "
    with ws.connect() as con:
        regions = {r[0] for r in con.execute("SELECT DISTINCT region FROM raw_universe").fetchall()}
        funding = con.execute(
            'SELECT "funding_total_usd" FROM universe WHERE _row = 1').fetchone()[0]
        industries = dict(con.execute("SELECT industry, count(*) FROM universe GROUP BY 1").fetchall())
    assert "Itá" in regions
    assert funding == 1_750_000
    source = Counter(r[" market "].strip() for r in rows(path, encoding="latin-1"))
    # Rows without a name or domain are accounts of their own, so every row is kept.
    assert industries["News"] == source["News"]


def test_aws_saas_orders_roll_up_to_99_accounts():
    path = shared_file("aws_saas_sales.csv")
    ws = Workspace.create()
    report = ws.add_list("orders", path)
    assert report.rows_read == 9994 and (report.linked_rows, report.unlinked_rows) == (9994, 0)
    source = rows(path)
    sales, orders = defaultdict(float), defaultdict(set)
    for r in source:
        sales[r["Customer"]] += float(r["Sales"])
        orders[r["Customer"]].add(r["Order ID"])
    frame = ws.frame("customer_accounts", limit=None).set_index("account_name")
    assert len(frame) == 99 == len(sales)
    for name in ("Chevron", "Phillips 66", "Apple"):
        assert frame.loc[name, "order_revenue"] == pytest.approx(sales[name])
        assert frame.loc[name, "order_count"] == len(orders[name])
    assert frame.loc["Chevron", "industry"] == "Energy"


def test_crunchbase_acquisitions_merge_repeated_companies():
    path = shared_file("crunchbase_2015_acquisitions.csv")
    ws = Workspace.create()
    report = ws.add_list("universe", path)
    assert report.rows_read == 18_968
    assert report.mapping["company_name"] == "account_name"
    # The same company acquired twice is one account; names that differ only by case,
    # punctuation or a legal suffix merge too, so at most the distinct permalinks remain.
    permalinks = {r["company_permalink"] for r in rows(path)}
    assert report.rows_kept <= len(permalinks) == 18_521
    assert report.duplicates_merged == 18_968 - report.rows_kept
