"""Target exports: the CSV and the XLSX hold the same cells, formulas are neutralized in both while
numbers stay numbers, the XLSX is laid out for work, and the CRM frames use the vendors' names."""

import csv
import io

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings
from icp.cells import neutralize
from icp.data.workspace import Workspace
from icp.export import tables as exports
from icp.export.tables import (
    hubspot_frame,
    role_mapping,
    salesforce_frame,
    targets_csv,
    targets_xlsx,
)
from icp.market.targets import targets_export
from icp.profile.draft import draft_icp
from icp.profile.model import ICP, Criterion, Evidence, TierRules, describe

SUCCESS = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher"),), value_column="arr")
EVIDENCE = Evidence(in_group=41, group_size=150, in_rest=20, rest_size=300, lift=3.1, lift_low=2.0, lift_high=4.5,
                    q_value=0.001, evidence="strong", sentence="Fintech is 3.1x more common among best customers")
ICP_ = ICP(
    name="Mid-market fintech", version=3, data_fingerprint="abc123def456", success=SUCCESS,
    criteria=(
        Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech",),
                  weight=2.5, evidence=EVIDENCE),
        Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001),
        Criterion(attribute="industry", label="Industry", kind="in_set", role="disqualify", values=("=cmd",)),
    ),
)
INJECTED = ['=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx"]
TIERS = ["Tier 1", "Tier 2", "Tier 3", "Not a fit", "Tier 1", "Tier 2"]


def _frame() -> pd.DataFrame:
    """A scored targets frame as targets_export gives it: text input columns, then the ICP columns."""
    return pd.DataFrame({
        "Company": INJECTED,
        "Website": ["https://www.Alpha.com/about", "beta.io", "gamma.com", None, "epsilon.com", "zeta.com"],
        "Industry": ["Fintech", "Retail", "Fintech", "Hardware", "Fintech", "Retail"],
        "Employees": ["51-200", "1,000", "30", "5", "200", ""],
        "Revenue": ["1200000", "-12.5", "3", None, "$1.2M", "10"],
        "Country": ["US", "DE", "FR", "US", "GB", "US"],
        "State": ["CA", "", "", "NY", "", "WA"],
        "City": ["San Francisco", "Berlin", "Paris", "New York", "London", "Seattle"],
        "Zip": ["02110", "10115", "75001", "10001", "00100", "98101"],  # leading zeros: stays text
        "Mixed": ["12", "n/a", "3", "4", "5", "6"],  # one word: the whole column stays text
        "Amount": [1200000, -12.5, 3, float("nan"), 5, 6],  # a number column
        "icp_fit_score": [92.5, 60.0, 30.0, 0.0, 80.0, 55.0],
        "icp_tier": TIERS,
        "icp_reasons": ["met: Industry is Fintech", "-missed: Industry", "", "disqualified: Industry", "", ""],
    })


MAPPING = {"account_name": "Company", "domain": "Website", "industry": "Industry", "employees": "Employees",
           "revenue": "Revenue", "country": "Country", "state": "State", "city": "City"}


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _xlsx(data: bytes):
    return load_workbook(io.BytesIO(data))


def _assert_same_cells(csv_rows: list[list[str]], sheet) -> None:
    """Row for row: text equal as text, numbers equal as numbers, empty equal to empty. XML keeps a
    line break as LF, so a CR of the CSV reads back as LF."""
    xlsx_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(xlsx_rows) == len(csv_rows)
    for csv_row, xlsx_row in zip(csv_rows, xlsx_rows, strict=True):
        assert len(xlsx_row) == len(csv_row)
        for text, value in zip(csv_row, xlsx_row, strict=True):
            if isinstance(value, int | float):
                assert float(text) == value
            else:
                assert text.replace("\r", "\n") == ("" if value is None else str(value).replace("\r", "\n"))


# -- CSV and XLSX ------------------------------------------------------------------------------------

def test_injected_formulas_are_neutralized_in_csv_and_xlsx_and_numbers_stay_numbers():
    frame = _frame()
    rows = _csv_rows(targets_csv(frame))
    assert rows[0][0] == "Company"
    assert [r[0] for r in rows[1:]] == ["'" + t for t in INJECTED]
    assert [r[-1] for r in rows[1:]][1] == "'-missed: Industry"
    sheet = _xlsx(targets_xlsx(frame, ICP_))["Targets"]
    # An XLSX writer may store a CR in a cell as a line feed (openpyxl does without lxml).
    assert [c.value.replace("\r", "\n") for c in sheet["A"][1:]] == ["'" + t.replace("\r", "\n") for t in INJECTED]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    headers = [c.value for c in sheet[1]]
    column = {h: [c.value for c in sheet[get_column_letter(i + 1)][1:]] for i, h in enumerate(headers)}
    assert column["Revenue"] == ["1200000", "-12.5", "3", None, "$1.2M", "10"]  # "$1.2M" is text
    assert column["Amount"] == [1200000, -12.5, 3, None, 5, 6]
    assert column["Zip"][0] == "02110"
    assert column["Mixed"] == ["12", "n/a", "3", "4", "5", "6"]
    _assert_same_cells(rows, sheet)


def test_a_text_column_of_plain_numbers_is_written_as_numbers():
    frame = pd.DataFrame({"Revenue": ["1200000", "-12.5", None, "+3"], "icp_fit_score": [90.0, 50, 20, 0]})
    sheet = _xlsx(targets_xlsx(frame, ICP_))["Targets"]
    assert [c.value for c in sheet["A"][1:]] == [1200000, -12.5, None, 3]
    assert [c.data_type for c in sheet["A"][1:]] == ["n", "n", "n", "n"]
    _assert_same_cells(_csv_rows(targets_csv(frame)), sheet)


def test_text_already_neutralized_is_not_prefixed_twice():
    once = pd.DataFrame({"Company": ["'" + t for t in INJECTED], "icp_fit_score": [1.0] * 6})
    rows = _csv_rows(targets_csv(once))
    assert [r[0] for r in rows[1:]] == ["'" + t for t in INJECTED]
    sheet = _xlsx(targets_xlsx(once, ICP_))["Targets"]
    # An XLSX writer may store a CR in a cell as a line feed (openpyxl does without lxml).
    assert [c.value.replace("\r", "\n") for c in sheet["A"][1:]] == ["'" + t.replace("\r", "\n") for t in INJECTED]
    assert targets_csv(pd.read_csv(io.BytesIO(targets_csv(once)), dtype=str)) == targets_csv(once)


def test_hostile_headers_and_control_characters_are_made_safe():
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": ["a\x00b\x1fc"], "icp_fit_score": [1.0]})
    rows = _csv_rows(targets_csv(frame))
    assert rows == [["'=cmd|' /C calc'!A0", "icp_fit_score"], ["abc", "1.0"]]
    _assert_same_cells(rows, _xlsx(targets_xlsx(frame, ICP_))["Targets"])


def test_xlsx_layout_header_panes_filter_formats_widths():
    frame = _frame()
    frame.loc[0, "icp_reasons"] = "x" * 500
    sheet = _xlsx(targets_xlsx(frame, ICP_))["Targets"]
    assert all(c.font.b and c.fill.fgColor.rgb.endswith("DDEBF7") for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{len(frame) + 1}"
    score = [c for c in sheet[1] if c.value == "icp_fit_score"][0].column_letter
    assert all(c.number_format == "0.0" for c in sheet[score][1:])
    assert sheet[score][1].value == 92.5
    widths = {c.column_letter: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    assert widths["N"] == 50  # capped
    assert widths["A"] >= len('=HYPERLINK("http://x","y")')


def test_icp_sheet_has_the_icp_its_criteria_and_tier_rules():
    book = _xlsx(targets_xlsx(_frame(), ICP_))
    assert book.sheetnames == ["Targets", "ICP"]
    rows = [list(r) for r in book["ICP"].iter_rows(values_only=True)]
    about = {r[0]: r[1] for r in rows[:4]}
    assert about["Name"] == "Mid-market fintech"
    assert about["Version"] == 3
    assert about["Created"] == ICP_.created_at.strftime("%Y-%m-%d %H:%M UTC")
    assert about["Data fingerprint"] == "abc123def456"
    start = rows.index(["Role", "Criterion", "Weight", "Evidence"]) + 1
    criteria = rows[start:start + len(ICP_.criteria)]
    assert [r[1] for r in criteria] == [neutralize(describe(c)) for c in ICP_.criteria]
    assert criteria[0] == ["must", "Industry is Fintech", 2.5, EVIDENCE.sentence]
    assert criteria[1][:3] == ["nice", "Employees 51–1,000", 1]
    assert criteria[2][:2] == ["disqualify", "Industry is =cmd"]  # text after the first character is safe
    tiers = rows[rows.index(["Tier", "Rule", None, None]) + 1:]
    assert [r[0] for r in tiers] == ["Tier 1", "Tier 2", "Tier 3", "Not a fit"]
    assert "at least 75" in tiers[0][1] and "at least 25" in tiers[2][1]
    capacity = ICP_.model_copy(update={"tiers": TierRules(mode="capacity", reps=4, accounts_per_rep=25)})
    rows = [r[1] for r in _xlsx(targets_xlsx(_frame(), capacity))["ICP"].iter_rows(values_only=True)]
    assert any("best 100 accounts in SAM" in str(r) for r in rows)


def test_past_the_sheet_row_limit_the_best_rows_are_written_and_the_icp_sheet_says_so(monkeypatch):
    monkeypatch.setattr(exports, "_EXCEL_ROWS", 4)
    book = _xlsx(targets_xlsx(_frame(), ICP_))
    assert [c.value for c in book["Targets"]["A"][1:]] == ["'" + t for t in INJECTED[:3]]
    assert book["Targets"].auto_filter.ref == "A1:N4"
    note = [r[1] for r in book["ICP"].iter_rows(values_only=True) if r[0] == "Note"]
    assert note and "best 3 of 6 accounts" in note[0]


# -- CRM imports -------------------------------------------------------------------------------------

def test_hubspot_frame_has_the_import_names_and_tier_values():
    frame = _frame()
    hub = hubspot_frame(frame, MAPPING)
    assert list(hub.columns) == [
        "Company name", "Company Domain Name", "Industry", "Number of Employees", "Annual Revenue",
        "Country/Region", "City", "State/Region", "Ideal Customer Profile Tier", "ICP fit score", "ICP reasons",
    ]
    assert list(hub["Company name"]) == INJECTED  # same rows, same order
    tiers = hub["Ideal Customer Profile Tier"]
    assert list(tiers.fillna("")) == ["tier_1", "tier_2", "tier_3", "", "tier_1", "tier_2"]
    assert list(hub["Company Domain Name"].fillna("")) == ["alpha.com", "beta.io", "gamma.com", "", "epsilon.com",
                                                           "zeta.com"]
    # Read as the workspace reads them: a band is its midpoint, "$1.2M" a number, blanks empty.
    assert list(hub["Number of Employees"].astype("Float64").fillna(-1)) == [126, 1000, 30, 5, 200, -1]
    assert list(hub["Annual Revenue"].astype("Float64").fillna(-1)) == [1200000, -12.5, 3, -1, 1200000, 10]
    assert list(hub["ICP fit score"]) == list(frame["icp_fit_score"])
    rows = _csv_rows(targets_csv(hub))
    assert [r[0] for r in rows[1:]] == ["'" + t for t in INJECTED]
    # Whole amounts without ".0", cents as they are: what a CRM number field takes.
    assert rows[1][3:5] == ["126", "1200000"]
    assert rows[2][4] == "-12.5"
    assert rows[4][8] == ""  # Not a fit: no tier


def test_crm_frames_leave_out_columns_they_cannot_fill():
    frame = _frame().drop(columns=["icp_reasons"])
    hub = hubspot_frame(frame, {"account_name": "Company", "domain": "Website", "city": "No such column"})
    assert list(hub.columns) == ["Company name", "Company Domain Name", "Ideal Customer Profile Tier",
                                 "ICP fit score"]
    sf = salesforce_frame(frame, {"revenue": "Revenue"})
    assert list(sf.columns) == ["AnnualRevenue", "ICP_Tier__c", "ICP_Fit_Score__c"]


def test_salesforce_frame_has_the_account_field_names_and_tiers():
    frame = _frame()
    sf = salesforce_frame(frame.iloc[::-1], MAPPING)
    assert list(sf.columns) == [
        "Account Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
        "BillingState", "BillingCity", "ICP_Tier__c", "ICP_Fit_Score__c", "ICP_Reasons__c",
    ]
    assert list(sf["Account Name"]) == INJECTED[::-1]
    assert list(sf["ICP_Tier__c"].fillna("")) == ["Tier 2", "Tier 1", "", "Tier 3", "Tier 2", "Tier 1"]
    assert sf["Website"].iloc[-1] == "https://www.Alpha.com/about"  # a Website holds the URL as given
    assert list(sf["NumberOfEmployees"].astype("Float64").fillna(-1)) == [-1, 200, 5, 30, 1000, 126]
    rows = _csv_rows(targets_csv(sf))
    assert rows[0][-3:] == ["ICP_Tier__c", "ICP_Fit_Score__c", "ICP_Reasons__c"]


# -- the demo ----------------------------------------------------------------------------------------

def test_demo_targets_round_trip_and_crm_frames(demo_template):
    ws = Workspace.copy_of(demo_template, "Demo")
    icp = draft_icp(ws)
    frame = targets_export(ws, icp).head(300)
    rows = _csv_rows(targets_csv(frame))
    assert rows[0] == list(frame.columns)
    book = _xlsx(targets_xlsx(frame, icp))
    sheet = book["Targets"]
    _assert_same_cells(rows, sheet)
    # The demo's revenue column is all plain numbers: numbers in the sheet.
    revenue = list(frame.columns).index("Revenue")
    assert all(isinstance(r[revenue], int | float) for r in sheet.iter_rows(min_row=2, values_only=True)
               if r[revenue] is not None)
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    described = [r[1] for r in book["ICP"].iter_rows(values_only=True)]
    assert all(neutralize(describe(c)) in described for c in icp.criteria)

    mapping = role_mapping(ws, "universe")
    assert mapping["account_name"] == "Company" and mapping["domain"] == "Domain"
    hub = hubspot_frame(frame, mapping)
    assert list(hub.columns) == [
        "Company name", "Company Domain Name", "Industry", "Number of Employees", "Annual Revenue",
        "Country/Region", "Ideal Customer Profile Tier", "ICP fit score", "ICP reasons",
    ]
    expected = frame["icp_tier"].map({"Tier 1": "tier_1", "Tier 2": "tier_2", "Tier 3": "tier_3"})
    assert list(hub["Ideal Customer Profile Tier"].fillna("")) == list(expected.fillna(""))
    assert list(hub["Company name"]) == list(frame["Company"])


def test_the_xlsx_is_the_same_bytes_each_time_and_reads_back_through_the_apps_own_reader(tmp_path):
    import duckdb

    from icp.data.reader import read_into

    frame = _frame()
    data = targets_xlsx(frame, ICP_)
    assert targets_xlsx(frame, ICP_) == data  # no clock in the file: the same ICP, the same bytes
    path = tmp_path / "targets.xlsx"
    path.write_bytes(data)
    con = duckdb.connect()
    result = read_into(con, "t", path, sheet="Targets")
    assert result.columns == _csv_rows(targets_csv(frame))[0]
    got = con.execute('SELECT * EXCLUDE (_row) FROM temp.main."t" ORDER BY _row').fetchall()
    expected = _csv_rows(targets_csv(frame))[1:]
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        for value, text in zip(row, want, strict=True):
            if text and value is not None and text.lstrip("-").replace(".", "", 1).isdigit():
                assert float(value) == float(text)
            else:
                assert (value or "").replace("\r", "\n") == text.replace("\r", "\n")
