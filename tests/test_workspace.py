"""Workspaces: lists added, replaced and removed in one transaction each, normalized next to the raw values."""

import hashlib

import duckdb
import pytest

from icp.data.workspace import Workspace
from icp.errors import InputFileError, WorkspaceError, WorkspaceNotFound
from icp.limits import Limits
from tests.helpers import write

CUSTOMERS = """Company name,Website,Industry,Number of Employees,Annual Revenue,Country/Region,Technologies,ARR,Churned,Customer Since
Acme Inc.,https://www.acme.io/about,Fintech,51-200,$1.2M,USA,Snowflake; AWS,"$48,000",No,2021-03-01
Beta GmbH,beta.de,fintech ,"1,250",€3 Mio,Deutschland,HubSpot|Stripe,12k,Yes,2022-07-15
Gamma,gamma.com,Healthcare,10001+,18.3 MM,U.S.,,"$9,000",no,2020-01-10
"ACME, Inc",acme.io,FinTech,60,,United States,Snowflake,,,
Delta Ltd,,Retail,8,lots,UK,Shopify,"1,000",yes,2023-05-05
"""

DEALS = """Deal ID,Company,Deal Stage,Amount,Create Date,Close Date
D1,Acme Inc,Closed Won,"$10,000",2021-01-01,2021-02-10
D2,acme inc.,Closed Lost,5000,2021-05-01,2021-06-01
D3,Beta GmbH,Closed Won,7000,2022-01-01,2022-01-31
D4,Nobody Corp,Closed Lost,3000,2022-01-01,2022-03-01
D5,,Qualified,2000,2022-02-01,
D6,Gamma,Negotiation,1000,2022-02-01,
"""


def snapshot(workspace: Workspace) -> str:
    """Everything a workspace holds, as one digest: tables, their rows and the metadata."""
    con = duckdb.connect(str(workspace.path), read_only=True)
    try:
        parts = []
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall():
            rows = con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
            parts.append(f"{table}:{rows!r}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    finally:
        con.close()


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace.create("Test")
    ws.add_list("customers", write(tmp_path / "customers.csv", CUSTOMERS))
    return ws


def test_create_open_rename_and_refuse_unknown_ids():
    ws = Workspace.create("First")
    assert Workspace(ws.id).name == "First"
    ws.rename("  Second   name ")
    assert Workspace(ws.id).name == "Second name"
    with pytest.raises(WorkspaceError):
        ws.rename("   ")
    with pytest.raises(WorkspaceNotFound):
        Workspace("A" * 32)
    with pytest.raises(WorkspaceNotFound):
        Workspace("../../etc/passwd")


def test_customers_are_normalized_and_duplicates_merged(workspace):
    report = workspace.report("customers")
    assert (report.rows_read, report.rows_kept, report.duplicates_merged) == (5, 4, 1)
    rows = workspace.frame("customers").set_index("account_name")
    assert list(rows.index) == ["Acme Inc.", "Beta GmbH", "Gamma", "Delta Ltd"]
    acme = rows.loc["Acme Inc."]
    assert acme["domain"] == "acme.io" and acme["_rows"] == 2
    assert acme["country"] == "US" and acme["arr"] == 48_000
    assert acme["employees"] == pytest.approx(125.5) and acme["employees_band"] == "51-200"
    assert list(acme["tech_stack"]) == ["Snowflake", "AWS"]
    beta = rows.loc["Beta GmbH"]
    assert beta["industry"] == "Fintech"  # "fintech " and "FinTech" merge into the most common spelling
    assert beta["revenue"] == 3_000_000 and beta["arr"] == 12_000 and bool(beta["churned"]) is True
    assert beta["employees"] == 1250 and beta["country"] == "DE"
    gamma = rows.loc["Gamma"]
    assert gamma["revenue"] == pytest.approx(18_300_000) and gamma["employees"] == 10001
    assert gamma["size_band"] == "5001+" and gamma["country"] == "US"
    delta = rows.loc["Delta Ltd"]
    assert delta["country"] == "GB" and delta["size_band"] == "1-10"
    assert str(delta["customer_since"])[:10] == "2023-05-05"


def test_raw_columns_are_kept_unchanged(workspace):
    raw = workspace.frame("raw_customers")
    assert list(raw.columns[1:]) == ["Company name", "Website", "Industry", "Number of Employees", "Annual Revenue",
                                     "Country/Region", "Technologies", "ARR", "Churned", "Customer Since"]
    assert raw["Industry"].tolist()[:2] == ["Fintech", "fintech "]
    assert raw["Annual Revenue"].tolist()[1] == "€3 Mio"
    assert len(raw) == 5
    # Row numbers count file rows from 1, though the rows were read inside a transaction, whose
    # uncommitted rowids start at an offset; merged accounts keep their first row's number.
    assert raw["_row"].tolist() == [1, 2, 3, 4, 5]
    assert set(workspace.frame("customers")["_row"]) <= {1, 2, 3, 4, 5}


def test_quality_report_counts_fill_failures_and_normalization(workspace):
    columns = {c.source: c for c in workspace.report("customers").columns}
    revenue = columns["Annual Revenue"]
    assert revenue.role == "revenue" and revenue.filled_pct == 80.0
    assert revenue.parse_failures == 1 and revenue.failure_examples == ["lots"]
    assert "read as numbers" in revenue.normalized
    industry = columns["Industry"]
    assert industry.distinct == 3  # Fintech, Healthcare, Retail
    assert industry.parse_failures == 0
    assert columns["Country/Region"].normalized.startswith("5 mapped to ISO country codes")
    assert any("could not be read" in note for note in workspace.report("customers").notes)


def test_deals_roll_up_and_link_by_normalized_name(workspace, tmp_path):
    report = workspace.add_list("deals", write(tmp_path / "deals.csv", DEALS))
    assert report.rows_kept == 6
    # D1, D2 (name differs in case and suffix), D3, D6 link; D4 names no customer; D5 names nobody.
    assert (report.linked_rows, report.unlinked_rows) == (4, 2)
    with workspace.connect() as con:
        acme = con.execute(
            "SELECT deals_won, deals_lost, win_rate, won_value, median_cycle_days FROM customer_accounts "
            "WHERE account_name = 'Acme Inc.'").fetchone()
        gamma = con.execute(
            "SELECT deals_open, win_rate FROM customer_accounts WHERE account_name = 'Gamma'").fetchone()
    assert acme == (1, 1, 0.5, 10_000, 40)
    assert gamma == (1, None)


def test_a_bad_file_leaves_the_workspace_exactly_as_it_was(workspace, tmp_path):
    before, version = snapshot(workspace), workspace.data_version
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(InputFileError) as err:
        workspace.add_list("customers", empty)
    assert "empty.csv" in str(err.value)
    header_only = write(tmp_path / "header.csv", "Company,Industry\n")
    with pytest.raises(InputFileError):
        workspace.add_list("universe", header_only)
    wide = write(tmp_path / "wide.csv", ",".join(f"c{i}" for i in range(50)) + "\n" + ",".join("1" * 50) + "\n")
    with pytest.raises(InputFileError) as err:
        workspace.add_list("customers", wide, limits=Limits(max_columns=10))
    assert "wide.csv" in str(err.value) and "column" in str(err.value)
    assert snapshot(workspace) == before and workspace.data_version == version


def test_replace_and_remove_a_list(workspace, tmp_path):
    version = workspace.data_version
    workspace.add_list("customers", write(tmp_path / "c2.csv", "Company,Industry\nOne,Retail\nTwo,Media\n"))
    assert workspace.report("customers").rows_kept == 2 and workspace.data_version == version + 1
    with pytest.raises(WorkspaceError):
        workspace.add_list("customers", tmp_path / "c2.csv", replace=False)
    workspace.remove_list("customers")
    assert workspace.lists() == {} and workspace.count("customers") == 0
    with pytest.raises(WorkspaceError):
        workspace.remove_list("customers")


def test_mapping_can_be_edited_and_is_validated(workspace):
    report = workspace.set_mapping("customers", {"Industry": None, "Technologies": "industry"})
    columns = {c.source: c for c in report.columns}
    assert columns["Industry"].role is None and columns["Industry"].name == "industry_2"
    assert columns["Technologies"].role == "industry" and columns["Technologies"].confidence == 1.0
    rows = workspace.frame("customers")
    assert "Snowflake; AWS" in set(rows["industry"])
    with pytest.raises(InputFileError):
        workspace.set_mapping("customers", {"Website": "arr", "ARR": "arr"})
    with pytest.raises(InputFileError):
        workspace.set_mapping("customers", {"No such column": "industry"})
    with pytest.raises(InputFileError):
        workspace.set_mapping("customers", {"Website": "deal_stage"})
    assert workspace.report("customers").mapping["Technologies"] == "industry"


def test_hostile_headers_and_values_never_reach_sql_as_text(tmp_path):
    ws = Workspace.create()
    text = ('Company,"x""; DROP TABLE customers; --",Industry,Country\n'
            '"Robert\'); DROP TABLE _lists;--",=1+1,"a\'b","\'); DROP TABLE raw_customers; --"\n'
            'Acme,1,Retail,Deutschland\n')
    report = ws.add_list("customers", write(tmp_path / "evil.csv", text))
    assert [c.source for c in report.columns] == ["Company", 'x"; DROP TABLE customers; --', "Industry", "Country"]
    rows = ws.frame("customers")
    assert rows.loc[0, "account_name"] == "Robert'); DROP TABLE _lists;--"
    assert rows.loc[0, "x_drop_table_customers"] == "=1+1"
    assert ws.frame("raw_customers").loc[0, 'x"; DROP TABLE customers; --'] == "=1+1"
    # Country values go through a lookup of distinct values: a hostile one is just not a country.
    assert rows["country"].isna().iloc[0] and rows.loc[1, "country"] == "DE"
    assert set(ws.lists()) == {"customers"}


def test_orders_alone_become_customer_accounts(tmp_path):
    ws = Workspace.create()
    orders = (
        "Order ID,Order Date,Customer,Customer ID,Industry,Country,Sales,Profit\n"
        "O1,1/15/2022,Chevron,1017,Energy,Ireland,100.5,10\n"
        "O1,1/15/2022,Chevron,1017,Energy,Ireland,50,5\n"
        "O2,3/20/2023,Chevron,1017,Energy,Ireland,25,-2\n"
        "O3,2/2/2022,Apple,1002,Tech,United States,1000,300\n"
    )
    report = ws.add_list("orders", write(tmp_path / "orders.csv", orders))
    assert (report.linked_rows, report.unlinked_rows) == (4, 0)
    frame = ws.frame("customer_accounts").set_index("account_name")
    chevron = frame.loc["Chevron"]
    assert chevron["order_count"] == 2 and chevron["order_revenue"] == pytest.approx(175.5)
    assert chevron["order_profit"] == pytest.approx(13) and chevron["tenure_days"] == 429
    assert chevron["industry"] == "Energy" and chevron["country"] == "IE"
    assert len(frame) == 2


def test_unknown_list_kinds_are_refused(workspace, tmp_path):
    with pytest.raises(WorkspaceError):
        workspace.add_list("friends", write(tmp_path / "f.csv", "a\n1\n"))


def test_a_failure_half_way_through_rolls_everything_back(workspace, tmp_path, monkeypatch):
    before, version = snapshot(workspace), workspace.data_version

    def broken(con):
        raise duckdb.IOException("disk full")

    # The new tables are written by the time links are rebuilt; all of it must go.
    monkeypatch.setattr("icp.data.workspace.relink", broken)
    with pytest.raises(InputFileError) as err:
        workspace.add_list("deals", write(tmp_path / "deals.csv", DEALS))
    assert "deals.csv" in str(err.value) and "disk full" in str(err.value)
    assert snapshot(workspace) == before and workspace.data_version == version


def test_damaged_and_zip_bomb_workbooks_are_refused_and_change_nothing(workspace, tmp_path):
    import zipfile

    before = snapshot(workspace)
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(InputFileError) as err:
        workspace.add_list("universe", damaged)
    assert "damaged.xlsx" in str(err.value)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (30 * 1024 * 1024))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InputFileError) as err:
        workspace.add_list("universe", bomb, limits=Limits(max_inflated_mb=10))
    assert "bomb.xlsx" in str(err.value)
    assert snapshot(workspace) == before


def test_settings_survive_reopening_and_bad_ones_are_ignored(workspace):
    from pydantic import BaseModel, ConfigDict

    class Choice(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        share: float

    class Other(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        name: str

    version = workspace.data_version
    assert workspace.load_settings("choice", Choice) is None
    with workspace.connect() as con:  # reading wrote nothing
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_settings'").fetchone() == (0,)
    workspace.save_settings("choice", Choice(share=0.3))
    reopened = Workspace(workspace.id)
    assert reopened.load_settings("choice", Choice) == Choice(share=0.3)
    # Settings are not data: caches of the lists stay valid.
    assert reopened.data_version == version
    # Saved settings that no longer fit the model are treated as absent, not as a crash.
    assert reopened.load_settings("choice", Other) is None


def test_empty_columns_are_read_and_rows_are_kept_in_file_order(tmp_path):
    """Looked-up columns (industry, headcount, segment) are normalized once per distinct value and
    joined back; the table is still stored in file order, and a column with no value at all reads."""
    lines = [f"Co {i},co{i}.com,,,{('Fintech', 'Retail', 'Health')[i % 3]},{(i * 7) % 500}" for i in range(3000)]
    path = write(tmp_path / "u.csv", "Company,Website,Industry,Employees,Segment,Score\n" + "\n".join(lines) + "\n")
    ws = Workspace.create()
    report = ws.add_list("universe", path)
    assert report.rows_kept == 3000
    frame = ws.frame("universe", limit=None)
    assert frame["industry"].isna().all() and frame["employees"].isna().all()
    assert frame["segment"].tolist()[:4] == ["Fintech", "Retail", "Health", "Fintech"]
    with ws.connect() as con:
        assert con.execute("SELECT count(*) FROM universe WHERE _row <> rowid + 1").fetchone() == (0,)
