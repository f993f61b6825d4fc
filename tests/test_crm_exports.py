"""Target lists a sales team can import: the tiers they choose, a word when the key a CRM matches
records on is missing, numbers as a CRM's number field takes them, and, in targets.xlsx, the number
a criterion read from a column written as text."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from icp.analysis.success import SuccessCriterion as Outcome
from icp.analysis.success import SuccessSettings
from icp.data.workspace import Workspace
from icp.export import tables as exports
from icp.market.targets import contract_columns, targets_export
from icp.profile.model import ICP, Criterion
from tests.helpers import write
from tests.literal_text import shown
from ui.settings import ICP_KEY

SUCCESS = SuccessSettings(criteria=(Outcome(column="arr", label="ARR", direction="higher"),))
REVENUE = Criterion(attribute="revenue", label="Annual revenue", kind="range", role="must", low=1e8, high=None)
FINTECH = Criterion(attribute="industry", label="Industry", kind="in_set", role="nice", values=("Fintech",))
ICP_ = ICP(criteria=(REVENUE, FINTECH), success=SUCCESS)

CUSTOMERS = """Company,Website,Industry,Annual Revenue,ARR
Acme,acme.com,Fintech,250 MM,90000
Bolt,bolt.io,Retail,5 MM,12000
"""


def _universe(id_header: str, ids: list[str], domains: bool = True) -> str:
    head = f"{id_header},Company,{'Website,' if domains else ''}Industry,Annual Revenue"
    rows = [("Zeta Pay", "zeta.com", "Fintech", "974.8 MM"), ("Yak Bank", "", "Fintech", "120000000"),
            ("Xeno Shop", "xeno.com", "Retail", "$2.5M"), ("Wolf Ledger", "wolf.com", "Fintech", "1,234.56")]
    lines = [head] + [",".join([i, name, *([site] if domains else []), industry, f'"{revenue}"'])
                      for i, (name, site, industry, revenue) in zip(ids, rows, strict=True)]
    return "\n".join(lines) + "\n"


def _workspace(tmp_path, universe: str) -> Workspace:
    ws = Workspace.create("crm")
    ws.add_list("customers", write(tmp_path / "customers.csv", CUSTOMERS))
    ws.add_list("universe", write(tmp_path / "universe.csv", universe))
    ws.save_settings(ICP_KEY, ICP_)
    return ws


SALESFORCE_IDS = ["0015g00000AbCdEAAV", "0015g00000AbCdFAAV", "0015g00000AbCdG", "0015g00000AbCdHAAV"]


def _crm_numbers(values: list) -> list:
    import duckdb

    con = duckdb.connect()
    try:
        return [r[0] for r in con.execute(
            f"SELECT {exports.crm_number_sql('v')} FROM (SELECT unnest(?::DOUBLE[]) AS v, generate_subscripts(?::DOUBLE[], 1) AS i) ORDER BY i",
            [values, values]).fetchall()]
    finally:
        con.close()


def test_crm_numbers_are_written_as_a_number_field_takes_them():
    assert _crm_numbers([974800000.0, 974799999.99999994, 1234.56, 12.5, 126, -3.0]) == [
        "974800000", "974800000", "1234.56", "12.5", "126", "-3"]
    assert _crm_numbers([None, float("nan"), float("inf")]) == [None, None, None]


def test_the_crm_files_hold_the_tiers_chosen_and_plain_numbers(tmp_path):
    ws = _workspace(tmp_path, _universe("Account ID", SALESFORCE_IDS))
    frame = targets_export(ws, ICP_)
    mapping = exports.role_mapping(ws, "universe")
    tiers = dict(zip(frame["Company"], frame["icp_tier"], strict=True))
    assert tiers["Xeno Shop"] == "Not a fit" and tiers["Wolf Ledger"] == "Not a fit"  # revenue under the must
    every = exports.hubspot_frame(frame, mapping)
    chosen = exports.hubspot_frame(frame, mapping, ["Tier 1", "Tier 2", "Tier 3"])
    assert len(every) == 4
    assert set(chosen["Company name"]) == {"Zeta Pay", "Yak Bank"}
    assert set(exports.salesforce_frame(frame, mapping, ["Not a fit"])["Account Name"]) == {"Xeno Shop", "Wolf Ledger"}
    rows = list(csv.DictReader(io.StringIO(exports.targets_csv(every).decode())))
    revenue = {r["Company name"]: r["Annual Revenue"] for r in rows}
    assert revenue == {"Zeta Pay": "974800000", "Yak Bank": "120000000", "Xeno Shop": "2500000",
                       "Wolf Ledger": "1234.56"}


def test_salesforce_ids_go_first_and_other_ids_are_left_out(tmp_path):
    ws = _workspace(tmp_path, _universe("Account ID", SALESFORCE_IDS))
    frame = targets_export(ws, ICP_)
    mapping = exports.role_mapping(ws, "universe")
    sf = exports.salesforce_frame(frame, mapping)
    assert list(sf.columns[:2]) == ["Id", "Account Name"]
    assert dict(zip(sf["Account Name"], sf["Id"], strict=True))["Zeta Pay"] == SALESFORCE_IDS[0]
    assert exports.crm_warnings("salesforce", sf) == []
    assert exports.crm_notes(ws, "salesforce") == []
    # HubSpot never takes another CRM's id as its Record ID: it would update the wrong companies.
    hub = exports.hubspot_frame(frame, mapping)
    assert "Record ID" not in hub.columns
    assert exports.crm_notes(ws, "hubspot") == exports.crm_warnings("hubspot", hub) == [
        "1 of 4 accounts have no domain: HubSpot cannot match them to existing companies and creates them "
        "as new ones."]


def test_a_list_without_the_crms_key_is_said(tmp_path):
    ws = _workspace(tmp_path, _universe("Deal ID", ["7", "8", "9", "10"], domains=False))
    frame = targets_export(ws, ICP_)
    mapping = exports.role_mapping(ws, "universe")
    hub_notes = exports.crm_notes(ws, "hubspot")
    assert len(hub_notes) == 1 and "no website or domain column" in hub_notes[0]
    assert hub_notes == exports.crm_warnings("hubspot", exports.hubspot_frame(frame, mapping))
    sf_notes = exports.crm_notes(ws, "salesforce")
    assert len(sf_notes) == 1 and "no Salesforce Account IDs" in sf_notes[0]
    assert sf_notes == exports.crm_warnings("salesforce", exports.salesforce_frame(frame, mapping))


def test_hubspots_own_record_id_is_kept_and_matches(tmp_path):
    ws = _workspace(tmp_path, _universe("Record ID", ["101", "102", "103", "104"], domains=False))
    frame = targets_export(ws, ICP_)
    hub = exports.hubspot_frame(frame, exports.role_mapping(ws, "universe"))
    assert hub.columns[0] == "Record ID"
    assert sorted(hub["Record ID"]) == ["101", "102", "103", "104"]
    assert exports.crm_notes(ws, "hubspot") == []


def test_the_xlsx_shows_the_number_a_criterion_read_beside_the_text(tmp_path):
    ws = _workspace(tmp_path, _universe("Account ID", SALESFORCE_IDS))
    frame = targets_export(ws, ICP_, numbers_read=True)
    assert list(frame.columns[-4:]) == ["icp_fit_score", "icp_tier", "icp_reasons", "Annual Revenue as a number"]
    read = dict(zip(frame["Company"], frame["Annual Revenue as a number"], strict=True))
    assert read["Zeta Pay"] == pytest.approx(974.8e6) and read["Wolf Ledger"] == pytest.approx(1234.56)
    # The contract columns are exactly the export without it.
    assert contract_columns(frame).equals(targets_export(ws, ICP_))
    book = openpyxl.load_workbook(io.BytesIO(exports.targets_xlsx(frame, ICP_)))
    sheet = book["Targets"]
    header = [c.value for c in sheet[1]]
    column = header.index("Annual Revenue as a number")
    cells = {row[header.index("Company")]: row[column] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["Zeta Pay"] == pytest.approx(974.8e6) and isinstance(cells["Zeta Pay"], float)
    # Shown compact (974.8M), the whole number kept in the cell.
    shown_as = {sheet.cell(row=r, column=column + 1).number_format for r in range(2, sheet.max_row + 1)}
    assert shown_as == {'[>=1000000]#,##0.0,,"M";[>=1000]#,##0.0,"k";General'}
    about = {r[0]: r[1] for r in book["ICP"].iter_rows(values_only=True) if r and r[0]}
    assert "Annual Revenue as a number" in about["Numbers read"]


def test_a_column_of_plain_numbers_gets_no_second_column(tmp_path):
    universe = "Company,Industry,Annual Revenue\nZeta Pay,Fintech,974800000\nXeno Shop,Retail,2500000\n"
    ws = _workspace(tmp_path, universe)
    frame = targets_export(ws, ICP_, numbers_read=True)
    assert list(frame.columns) == list(targets_export(ws, ICP_).columns)


def test_the_export_page_lets_the_user_pick_tiers_and_warns_about_the_key(tmp_path):
    ws = _workspace(tmp_path, _universe("Deal ID", ["7", "8", "9", "10"], domains=False))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.query_params["ws"] = ws.id
    at.run()
    at.switch_page("views/export.py").run()
    assert not at.exception
    picker = at.multiselect(key="crm_tiers")
    assert picker.value == ["Tier 1", "Tier 2", "Tier 3"]
    warnings = " ".join(shown(w.value) for w in at.warning)
    assert "no website or domain column" in warnings and "no Salesforce Account IDs" in warnings

    def crm_buttons():
        return {b.proto.label: b.proto.disabled for b in at.get("download_button") if "import" in b.proto.label}

    assert crm_buttons() == {"HubSpot import (CSV)": False, "Salesforce import (CSV)": False}
    picker.set_value([]).run()
    assert crm_buttons() == {"HubSpot import (CSV)": True, "Salesforce import (CSV)": True}
