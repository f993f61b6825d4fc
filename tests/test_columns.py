"""Column semantics before roles (icp/data/semantics.py): what a column holds decides which role it may
take and whether any analysis reads it; the user can overrule either."""

import csv
import io

import pytest

from icp import analysis
from icp.data.roles import header_parts
from icp.data.workspace import Workspace
from icp.errors import InputFileError
from tests.helpers import write


def load(tmp_path, text: str, kind: str = "customers", name: str = "file.csv", **kwargs):
    ws = Workspace.create(folder=tmp_path)
    return ws, ws.add_list(kind, write(tmp_path / name, text), **kwargs)


def table(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def columns(report) -> dict:
    return {c.source: c for c in report.columns}


ODOO_PARTNERS = """ID,Name,Is a Company,Customer,Vendor,Email,Phone,City,Country
__export__.res_partner_14_a3f2c1d9,Deco Addict,True,1,0,deco@example.com,(603)-996-3829,Pleasant Hill,United States
__export__.res_partner_15_b1e2d3f4,Gemini Furniture,True,1,0,gemini@example.com,(941)-284-4875,Fairfield,United States
__export__.res_partner_16_c9a8b7e6,Ready Mat,True,1,0,ready@example.com,(803)-873-6126,Tracy,United States
__export__.res_partner_17_d4c3b2a1,The Jackson Group,True,1,0,jackson@example.com,(334)-502-1024,Turlock,United States
__export__.res_partner_18_e5f6a7b8,Wood Corner,True,1,1,wood@example.com,(623)-853-7197,Turlock,United States
__export__.res_partner_19_f1e2d3c4,Azure Interior,True,1,0,azure@example.com,(870)-931-0505,Fremont,United States
__export__.res_partner_20_a0b1c2d3,Lumber Inc,True,1,1,lumber@example.com,(828)-316-0593,Stockton,United States
__export__.res_partner_21_b4a3c2d1,Brandon Freeman,False,1,0,brandon@example.com,(355)-687-3262,Fairfield,United States
"""


def test_a_0_1_flag_is_never_the_company_name(tmp_path):
    _, report = load(tmp_path, ODOO_PARTNERS)
    assert report.mapping["Name"] == "account_name" and report.mapping["Customer"] != "account_name"
    assert report.mapping["ID"] == "account_id"
    assert (report.rows_read, report.rows_kept, report.duplicates_merged) == (8, 8, 0)
    assert columns(report)["Customer"].excluded == "constant"  # every partner here is a customer


@pytest.mark.parametrize(("header", "values", "role"), [
    ("Customer", ["1", "0"] * 10, None),  # a flag
    ("Customer", ["Acme"] * 20, None),  # one value for twenty accounts
    ("Customer", [f"Company {i}" for i in range(20)], "account_name"),
    ("Website", ["https://www.linkedin.com/company/x"] * 20, None),  # one domain for every account
    ("Website", [f"https://www.c{i}.com/about" for i in range(20)], "domain"),
    ("Industry", [f"a0{i:02d}Ec000009WFurIAG"[:18] for i in range(20)], None),  # record ids
    ("Annual Revenue", ["n/a", "lots", "some", "unknown"] * 5, None),
    ("Annual Revenue", ["$1.2M", "18.3 MM", "€3 Mio", "1,200,000"] * 5, "revenue"),
])
def test_a_header_gets_its_role_only_when_the_values_fit(tmp_path, header, values, role):
    other = "Company name" if header != "Customer" else "Code"
    _, report = load(tmp_path, table([header, other], [[v, f"x{i}"] for i, v in enumerate(values)]))
    assert report.mapping[header] == role


def test_a_deals_list_takes_the_status_with_won_and_lost_not_the_pipeline_stage(tmp_path):
    text = "Deal - Title,Deal - Stage,Deal - Status,Organization - Name\n" + "\n".join(
        f"Deal {i},{['Qualified', 'Demo Scheduled', 'Negotiations Started'][i % 3]},"
        f"{['Won', 'Lost', 'Open'][i % 3]},Org {i % 5}" for i in range(30))
    ws, report = load(tmp_path, text, kind="deals")
    assert report.mapping["Deal - Status"] == "deal_stage" and report.mapping["Deal - Stage"] is None
    assert report.mapping["Deal - Title"] == "deal_name" and report.mapping["Organization - Name"] == "account_name"
    with ws.connect() as con:
        assert dict(con.execute("SELECT deal_outcome, count(*) FROM deals GROUP BY 1").fetchall()) == {
            "won": 10, "lost": 10, "open": 10}


def test_on_a_deals_list_name_and_id_are_the_deals_own(tmp_path):
    text = "Id,AccountId,Name,StageName,IsWon,IsClosed\n" + "\n".join(
        f"006Ec00000{i:04d}AbCDEF,001Ec00000{i % 4:04d}XyZABC,Opp {i},Closed Won,true,true" for i in range(8))
    _, report = load(tmp_path, text, kind="deals")
    assert report.mapping == {"Id": "deal_id", "AccountId": "account_id", "Name": "deal_name",
                              "StageName": "deal_stage", "IsWon": "won", "IsClosed": "closed"}


def test_won_and_closed_flags_decide_the_outcome_over_the_stage_words(tmp_path):
    # Custom stage names that say nothing of the outcome: the flags do.
    text = ("Id,Name,StageName,IsWon,IsClosed\nd1,A,Signed contract,true,true\nd2,B,Gone quiet,false,true\n"
            "d3,C,Gone quiet,false,false\nd4,D,Signed contract,,\n")
    ws, _ = load(tmp_path, text, kind="deals")
    with ws.connect() as con:
        outcome = dict(con.execute("SELECT deal_id, deal_outcome FROM deals").fetchall())
    assert outcome == {"d1": "won", "d2": "lost", "d3": "open", "d4": "won"}


@pytest.mark.parametrize(("header", "values", "reason"), [
    ("Phone", ["(415) 555-0142", "+1 212 555 0199", "020 7946 0958", "415.555.0100"] * 5, "phone"),
    ("Tel", [f"+49 30 {i:07d}" for i in range(20)], "phone"),
    ("Fax", [f"{5550100 + i}" for i in range(20)], "phone"),
    ("Zip", [f"{i * 4111 % 99999:05d}" for i in range(20)], "postal_code"),
    ("Billing Code", ["94105", "10001", "60601-1234"] * 7, "postal_code"),
    ("Where", [f"{i} Market Street" for i in range(1, 21)], "address"),
    ("Street", ["Hauptstraße 5", "Rue de Rivoli 12", "Calle Mayor 3", "Via Roma 7"] * 5, "address"),
    ("Pricing page", [f"https://c{i}.com/pricing" for i in range(20)], "url"),
    ("Contact", [f"p{i}@c{i}.com" for i in range(20)], "email"),
    ("Payload", ['{"a": 1}', '{"a": 2}', '[1, 2]', '{"b": null}'] * 5, "json"),
    ("Relates to", [f"a00Ec{i:05d}WFurIAG" for i in range(20)], "identifier"),
    ("Reference", [f"{i:08x}-aaaa-bbbb-cccc-{i:012d}" for i in range(20)], "identifier"),
    ("Ref", [f"INV-2023-{1000 + i}" for i in range(20)], "identifier"),
    ("Code", [f"{i:05d}" for i in range(20)], "identifier"),  # leading zeros: a code
    ("Seq", [str(i) for i in range(1, 21)], "identifier"),  # 1..n: a row number
    ("About", ["We sell pallets and crates to regional grocers in the Midwest"] * 10
     + ["A family-run logistics firm with twelve depots in three states"] * 10, "free_text"),
    ("Kind", ["Business Account"] * 20, "constant"),
    ("Blank", [""] * 20, "empty"),
])
def test_columns_no_analysis_reads(tmp_path, header, values, reason):
    rows = [[f"Company {i}", v, "Fintech"] for i, v in enumerate(values)]
    ws, report = load(tmp_path, table(["Company name", header, "Industry"], rows))
    assert columns(report)[header].excluded == reason
    assert header not in {a.label for a in analysis.pattern_attributes(ws)}
    assert header not in {a.label for a in analysis.segment_options(ws)}
    assert any(header in note for note in report.notes) or reason == "empty"


@pytest.mark.parametrize(("header", "values", "kind"), [
    ("Plan", ["P1", "P2", "P3"] * 7, "category"),  # a short code that repeats names a class
    ("Seats", [str(v) for v in (12, 150, 7, 42, 3000, 88, 16)] * 3, "number"),
    ("Discount", ["0", "0.2", "0.15", "0.1", "0.45"] * 4, "number"),  # decimals, not phone numbers
    ("Ratio", ["0.1234567", "12.3456789", "45.6789012"] * 7, "number"),
    ("Sic", ["7372", "6022", "8062"] * 7, "category"),  # an industry code, not an amount
    ("Signed", ["2023-04-05T17:22:31.000Z", "2022-11-09T08:00:00.000Z", "2021-01-31T23:59:59.000Z"] * 7, "date"),
    ("Expected", ["2023-05-12", "2023-06-01", "2024-01-15"] * 7, "date"),
    ("Key Account", ["Yes", "No", "No"] * 7, "flag"),
    ("Email Opt Out", ["true", "false", "false"] * 7, "flag"),
    ("Region 2", ["EMEA", "AMER", "APAC"] * 7, "category"),
])
def test_attributes_that_only_look_odd_stay_analysed(tmp_path, header, values, kind):
    rows = [[f"Company {i}", v] for i, v in enumerate(values)]
    _, report = load(tmp_path, table(["Company name", header], rows))
    column = columns(report)[header]
    assert (column.excluded, column.kind) == (None, kind)


SMALL = """Company name,Industry,ARR,Phone,Description
Acme,Fintech,100,(415) 555-0142,They buy our analytics suite for their finance team
Beta,Retail,50,(212) 555-0199,A retailer that came through a partner referral last spring
Gamma,Fintech,90,(617) 555-0123,Payments company with a large data team and a long renewal
"""


def test_the_user_can_analyse_a_left_out_column_and_leave_out_any_other(tmp_path):
    ws, report = load(tmp_path, SMALL)
    assert columns(report)["Description"].excluded == "free_text"
    report = ws.set_mapping("customers", {"Description": "attribute", "Industry": "ignore"})
    found = columns(report)
    assert (found["Description"].excluded, found["Description"].kind, found["Description"].chosen) == (
        None, "category", True)
    assert (found["Industry"].role, found["Industry"].excluded) == (None, "user")
    assert report.mapping["Description"] == "attribute" and report.mapping["Industry"] == "ignore"
    assert {a.name for a in analysis.pattern_attributes(ws)} == {"description"}
    # Another change keeps both choices; taking the role back gives it back.
    report = ws.set_mapping("customers", {"ARR": "arr"})
    assert report.mapping["Description"] == "attribute" and report.mapping["Industry"] == "ignore"
    report = ws.set_mapping("customers", {"Industry": "industry", "Description": None})
    assert report.mapping["Industry"] == "industry" and columns(report)["Description"].excluded == "free_text"


def test_a_mapping_given_on_upload_is_checked(tmp_path):
    ws = Workspace.create(folder=tmp_path)
    path = write(tmp_path / "small.csv", SMALL)
    with pytest.raises(InputFileError, match="small.csv: 'everything' is not a role for a customers list"):
        ws.add_list("customers", path, mapping={"Phone": "everything"})
    report = ws.add_list("customers", path, mapping={"Phone": "attribute"})
    assert columns(report)["Phone"].excluded is None and report.mapping["Phone"] == "attribute"


@pytest.mark.parametrize(("header", "entity", "field"), [
    ("Organization - Annual revenue", "account", "Annual revenue"),
    ("Deal - Status", "deal", "Status"),
    ("Person - Email", "other", "Email"),
    ("Account.Industry", "account", "Industry"),
    ("property_annualrevenue", None, "annualrevenue"),
    ("property_hs_is_closed_won", None, "is_closed_won"),
    ("Address 1: Country/Region", None, "Country/Region"),
    ("NumberofLocations__c", None, "NumberofLocations"),
    ("Revenue - 2023", None, "Revenue - 2023"),  # a dash after a word that names no record
])
def test_vendor_headers_are_read_as_the_vendor_writes_them(header, entity, field):
    parts = header_parts(header)
    assert (parts.entity, parts.field) == (entity, field)
