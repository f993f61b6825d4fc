"""The app through Streamlit's AppTest: every page renders, and the Data page works as a user uses it."""

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from tests.helpers import PAGES, app
from tests.literal_text import shown
from ui.settings import ICP_KEY, working_icp

CUSTOMERS = (
    "Company name,Website,Industry,Number of Employees,ARR,Churned\n"
    "Acme,acme.io,Fintech,120,\"$48,000\",No\n"
    "Beta,beta.io,Retail,15,\"$6,000\",Yes\n"
    "Gamma,gamma.io,fintech,300,\"$90,000\",No\n"
)


@pytest.fixture
def demo_copy(demo_template, workspace_folder):
    return Workspace.copy_of(demo_template, "Demo copy")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_demo(page, demo_copy):
    at = app(demo_copy).run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def test_first_visit_opens_the_demo_and_a_change_makes_it_ones_own(demo_template, monkeypatch, workspace_folder):
    # The template built by the fixture is the shared demo; tests/test_shared_demo.py has the rest.
    monkeypatch.setattr("icp.data.workspace.Workspace.demo_template", staticmethod(lambda folder=None: demo_template))
    first = app().run()
    second = app().run()
    assert not first.exception and not second.exception
    assert "ws" not in first.query_params and "ws" not in second.query_params
    assert any("Northwind Analytics" in m.value for m in first.sidebar.markdown)
    assert not list(workspace_folder.glob("*.duckdb")), "reading the demo copies nothing"
    first.switch_page("views/success.py").run()
    first.slider(key="best_share").set_value(50).run()
    mine = first.query_params["ws"]
    assert Workspace(mine).name == "Demo: Northwind Analytics" and "customers" in Workspace(mine).lists()
    assert [p.stem for p in workspace_folder.glob("*.duckdb")] == [mine]


def _data_page(workspace: Workspace) -> AppTest:
    at = app(workspace).run()
    return at.switch_page("views/data.py").run()


def test_upload_a_customer_file_from_the_data_page():
    ws = Workspace.create("Mine")
    at = _data_page(ws)
    assert any("No lists yet" in i.value for i in at.info)
    at.selectbox[0].set_value("customers")
    at.file_uploader[0].set_value(("my customers.csv", CUSTOMERS.encode(), "text/csv"))
    at.run()
    [load] = [b for b in at.button if b.label == "Load as customers"]
    load.click().run()
    assert not at.exception and not at.error
    report = ws.report("customers")
    assert report.file == "my customers.csv" and report.rows_kept == 3
    overview = at.dataframe[0].value
    assert overview.loc[0, "rows kept"] == 3
    assert any("3 customers loaded" in m.value for m in at.success)
    at.selectbox[0].set_value("universe")
    at.file_uploader[0].set_value(("market.csv", CUSTOMERS.encode(), "text/csv"))
    at.run()
    [load] = [b for b in at.button if b.label == "Load as universe"]
    load.click().run()
    assert any("market.csv: 3 universe accounts loaded." in m.value for m in at.success)
    # AppTest drops the router's sidebar after switch_page, so read it on the start page.
    start = app(ws).run()
    assert any("my customers.csv" in m.value for m in start.sidebar.markdown)


def test_edit_the_role_mapping(tmp_path):
    ws = Workspace.create("Mine")
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    ws.add_list("customers", path)
    at = _data_page(ws)
    editor_key = f"mapping_customers_{ws.data_version}"
    table = at.data_editor[0].value
    row = table.index[table["column"] == "Industry"][0]
    at.session_state[editor_key] = {"edited_rows": {int(row): {"role": "(attribute)"}}, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    [apply] = [b for b in at.button if b.label == "Apply mapping"]
    apply.click().run()
    assert not at.exception and not at.error
    assert ws.report("customers").mapping["Industry"] is None
    columns = ws.frame("customers").columns
    assert "industry_2" in columns and "industry" not in columns


def test_a_bad_file_shows_an_error_and_changes_nothing(tmp_path):
    ws = Workspace.create("Mine")
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    ws.add_list("customers", path)
    version, before = ws.data_version, ws.frame("customers")
    at = _data_page(ws)
    at.file_uploader[0].set_value(("broken.xlsx", b"PK\x03\x04 this is not really a workbook", "application/zip"))
    at.run()
    # The sheet list cannot be read, so the error shows at once and loading is not offered.
    assert any("broken.xlsx" in e.value for e in at.error)
    assert not at.exception
    at.file_uploader[0].set_value(("empty.csv", b"", "text/csv"))
    at.run()
    [load] = [b for b in at.button if b.label.startswith("Replace the customers")]
    load.click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("empty.csv" in e and "Nothing in the workspace was changed" in e for e in errors)
    assert ws.data_version == version
    assert ws.frame("customers").equals(before)


def _chart_specs(at: AppTest) -> list[dict]:
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _best_names(at: AppTest) -> set[str]:
    [best] = [d for d in at.dataframe if "rank" in d.value.columns and "value score" in d.value.columns][:1]
    return set(best.value["account_name"])


def _findings(at: AppTest) -> list[str]:
    [table] = [d for d in at.dataframe if "sentence" in d.value.columns]
    return list(table.value["sentence"])


def test_a_success_weight_changes_the_best_customers_and_the_findings(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/patterns.py").run()
    findings_before = _findings(at)
    at.switch_page("views/success.py").run()
    assert not at.exception
    best_before = _best_names(at)
    assert len(best_before) == 100
    at.slider(key="weight_arr").set_value(0.0)
    at.slider(key="weight_churned").set_value(0.0)
    at.slider(key="weight_nps").set_value(10.0)
    at.run()
    assert not at.exception
    best_after = _best_names(at)
    assert len(best_after) == 100 and len(best_before ^ best_after) >= 40
    # The choice is kept in the workspace, so a new session (a refresh) finds it.
    fresh = app(demo_copy).run()
    fresh.switch_page("views/success.py").run()
    assert fresh.slider(key="weight_nps").value == 10.0 and _best_names(fresh) == best_after
    at.switch_page("views/patterns.py").run()
    assert not at.exception
    assert _findings(at) != findings_before


def test_two_segment_dimensions_drive_the_table_and_the_chart(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/segments.py").run()
    at.multiselect(key="segment_dimensions").set_value(["industry"]).run()
    assert not at.exception
    one = at.dataframe[0].value
    assert "industry" in one.columns and "size_band" not in one.columns
    apart = at.dataframe[1].value  # segments under the minimum size, listed apart
    assert min(one["accounts"]) >= 10 > max(apart["accounts"])
    assert len(one) + len(apart) == pd.concat([one, apart])["industry"].nunique() == 16  # 15 and (unknown)
    assert _chart_specs(at)[0]["encoding"]["y"]["field"] == "industry"
    at.multiselect(key="segment_dimensions").set_value(["industry", "business_model"]).run()
    assert not at.exception
    two = at.dataframe[0].value
    assert {"industry", "business_model"} <= set(two.columns)
    both = pd.concat([two, at.dataframe[1].value])
    assert len(both) == len(both[["industry", "business_model"]].drop_duplicates()) > len(one) + len(apart)
    spec = _chart_specs(at)[0]
    fields = {layer["encoding"]["x"]["field"] for layer in spec["layer"]} | {
        layer["encoding"]["y"]["field"] for layer in spec["layer"]}
    assert fields == {"industry", "business_model"}
    # Segments ranked by velocity only, then by profitability only, come out in another order.
    at.slider(key="w_profit").set_value(0.0)
    at.slider(key="w_close").set_value(0.0)
    at.slider(key="w_retention").set_value(0.0)
    at.run()
    by_velocity = at.dataframe[0].value[["industry", "business_model"]].head(5).values.tolist()
    at.slider(key="w_velocity").set_value(0.0)
    at.slider(key="w_profit").set_value(10.0)
    at.run()
    by_profit = at.dataframe[0].value[["industry", "business_model"]].head(5).values.tolist()
    assert by_velocity != by_profit


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_editing_a_criterion_changes_sam_and_tiers(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/icp.py").run()
    assert not at.exception
    sam_before, tier1_before = _metric(at, "SAM (accounts)"), _metric(at, "Tier 1")
    not_a_fit_before = _metric(at, "Not a fit")
    editor = at.data_editor[0]
    table = editor.value
    # Loosen the ICP: the tech-stack must becomes a nice-to-have.
    row = int(table.index[table["criterion"] == "Tech stack has Snowflake"][0])
    at.session_state[editor.key] = {"edited_rows": {row: {"role": "nice"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    [save] = [b for b in at.button if b.label == "Save criteria"]
    save.click().run()
    assert not at.exception
    assert int(_metric(at, "SAM (accounts)").replace(",", "")) > int(sam_before.replace(",", ""))
    # The accounts newly in SAM lack Snowflake: they score lower and are tiered, not "not a fit".
    assert _metric(at, "Not a fit") != not_a_fit_before and _metric(at, "Tier 1") == tier1_before


def test_a_tier_slider_changes_the_tier_counts(demo_copy):
    # Tiers rank SAM accounts by score: with every criterion a must, all of SAM scores 100. One
    # made a nice-to-have spreads the scores for the sliders to cut.
    icp = working_icp(demo_copy)
    loosened = tuple(c.model_copy(update={"role": "nice"}) if c.attribute == "tech_stack" else c
                     for c in icp.criteria)
    demo_copy.save_settings(ICP_KEY, icp.model_copy(update={"criteria": loosened}))
    at = app(demo_copy).run()
    at.switch_page("views/targets.py").run()
    assert not at.exception
    before = {t: _metric(at, t) for t in ("Tier 1", "Tier 2", "Tier 3", "Not a fit")}
    at.slider(key="tier1").set_value(10).run()
    assert not at.exception
    after = {t: _metric(at, t) for t in ("Tier 1", "Tier 2", "Tier 3", "Not a fit")}
    number = {k: {t: int(v.replace(",", "")) for t, v in d.items()} for k, d in (("before", before), ("after", after))}
    # SAM accounts without Snowflake move up into Tier 1; what is not a fit stays so.
    assert number["before"]["Tier 2"] > 0 and number["after"]["Tier 2"] == 0
    assert number["after"]["Tier 1"] == number["before"]["Tier 1"] + number["before"]["Tier 2"] + number["before"]["Tier 3"]
    assert after["Not a fit"] == before["Not a fit"]


def test_save_and_compare_two_versions(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/icp.py").run()
    at.text_input(key="version_name").set_value("Drafted").run()
    [save] = [b for b in at.button if b.label == "Save version"]
    save.click().run()
    editor = at.data_editor[0]
    table = editor.value
    row = int(table.index[table["criterion"] == "Tech stack has Snowflake"][0])
    at.session_state[editor.key] = {"edited_rows": {row: {"role": "nice"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    [b for b in at.button if b.label == "Save criteria"][0].click().run()
    at.text_input(key="version_name").set_value("Looser").run()
    [b for b in at.button if b.label == "Save version"][0].click().run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert "**SAM**:" in markdown and "**Accounts that change tier**:" in markdown
    changes = [d.value for d in at.dataframe if "change" in d.value.columns][0]
    assert list(changes["change"]) == ["changed"] and changes.loc[0, "label"] == "Tech stack"


def test_targets_table_filters_sorts_and_pages_on_the_server(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/targets.py").run()
    first = at.dataframe[0].value
    assert len(first) == 50 and first["icp_fit_score"].is_monotonic_decreasing
    at.selectbox(key="target_sort").set_value("account_name")
    at.toggle(key="target_desc").set_value(False)
    at.run()
    names = list(at.dataframe[0].value["account_name"])
    assert names == sorted(names, key=str.casefold) or names == sorted(names)
    at.multiselect(key="target_tiers").set_value(["Tier 1"]).run()
    page_one = at.dataframe[0].value
    assert set(page_one["icp_tier"]) == {"Tier 1"}
    at.number_input(key="target_page").set_value(2).run()
    page_two = at.dataframe[0].value
    assert not at.exception and len(page_two) == 50 and set(page_two["icp_tier"]) == {"Tier 1"}
    assert not set(page_two["account_key" if "account_key" in page_two else "domain"]) & set(
        page_one["account_key" if "account_key" in page_one else "domain"])
    assert page_one["account_name"].iloc[-1].casefold() <= page_two["account_name"].iloc[0].casefold()


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("views/home.py", "views/data.py")])
def test_every_step_on_an_empty_workspace_says_what_to_do(page):
    at = app(Workspace.create("Empty")).run()
    at.switch_page(page).run()
    assert not at.exception and not at.error
    assert any("Upload a customer list" in i.value for i in at.info)


def test_export_page_offers_every_file_and_loads_an_icp_json(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/export.py").run()
    assert not at.exception
    labels = {b.label for b in at.get("download_button")}
    assert {"Download the one-pager (PDF)", "targets.csv", "targets.xlsx", "HubSpot import (CSV)",
            "Salesforce import (CSV)", "icp.json", "scoring.sql (duckdb)"} <= labels
    at.selectbox(key="sql_dialect").set_value("spark").run()
    assert "scoring.sql (spark)" in {b.label for b in at.get("download_button")}
    assert "FILTER(" in at.code[0].value.upper()
    # A saved icp.json, renamed, comes back as the working ICP.
    from ui.settings import working_icp

    current = working_icp(demo_copy)
    renamed = current.model_copy(update={"name": "Loaded from a file"})
    at.file_uploader(key="icp_upload").set_value(("icp.json", renamed.model_dump_json().encode(), "application/json"))
    at.run()
    [use] = [b for b in at.button if b.label == "Use this ICP"]
    use.click().run()
    assert not at.exception
    assert working_icp(demo_copy).name == "Loaded from a file"
    at.file_uploader(key="icp_upload").set_value(("bad.json", b'{"schema_version": 1, "extra": 1}', "application/json"))
    at.run()
    [b for b in at.button if b.label == "Use this ICP"][0].click().run()
    assert any("bad.json" in e.value and "current ICP was kept" in e.value for e in at.error)
    assert working_icp(demo_copy).name == "Loaded from a file"
    # Two criteria testing one column in two ways: one sentence, and every page still works.
    crafted = json.loads(renamed.model_copy(update={"name": "Crafted"}).model_dump_json())
    first = crafted["criteria"][0]
    crafted["criteria"].append({"attribute": first["attribute"], "label": "x", "kind": "flag", "flag": True})
    at.file_uploader(key="icp_upload").set_value(("crafted.json", json.dumps(crafted).encode(), "application/json"))
    at.run()
    [b for b in at.button if b.label == "Use this ICP"][0].click().run()
    # Shown literally (escaped for markdown), so compared without the escapes.
    assert any("crafted.json: is not a usable ICP: two criteria read" in e.value.replace("\\", "")
               and "current ICP was kept" in e.value for e in at.error)
    assert working_icp(demo_copy).name == "Loaded from a file"
    for page in ("views/icp.py", "views/market.py", "views/targets.py", "views/export.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, page


def test_an_engine_error_on_a_page_is_a_sentence_not_a_traceback(demo_copy, monkeypatch):
    # Stands in for a workspace damaged in a block that only the Data page's preview reads.
    from icp.errors import WorkspaceError

    def damaged(*args, **kwargs):
        raise WorkspaceError("This workspace's file is damaged and cannot be read.")

    monkeypatch.setattr(Workspace, "frame", damaged)
    at = app(demo_copy).run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This workspace's file is damaged and cannot be read."]


def test_an_engine_error_inside_a_section_that_reruns_alone_is_a_sentence(demo_copy, monkeypatch):
    # The Targets page's tier section is a fragment: Streamlit catches what it raises itself.
    import icp.market.targets
    from icp.errors import WorkspaceError

    def damaged(*args, **kwargs):
        raise WorkspaceError("This workspace's file is damaged and cannot be read.")

    monkeypatch.setattr(icp.market.targets, "target_list", damaged)
    at = app(demo_copy).run()
    at.switch_page("views/targets.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This workspace's file is damaged and cannot be read."]


EXPORT = (
    "Record ID,Company name,Website,Industry,Phone,Notes,ARR\n"
    "1,Acme,acme.io,Fintech,(415) 555-0142,Met them at a conference and they asked about pricing,\"$48,000\"\n"
    "2,\"Acme, Inc.\",acmeinc.io,Retail,(212) 555-0199,A retailer that came through a partner referral,\"$6,000\"\n"
    "3,Gamma,gamma.io,fintech,(617) 555-0123,Payments company with a large data team and a long renewal,\"$90,000\"\n"
    "3,Gamma Labs,www.gamma.io,,(617) 555-0124,Second row of the same record exported once per contact,\n"
)


def test_the_data_page_says_why_a_column_is_not_analysed_and_the_user_can_change_it(tmp_path):
    ws = Workspace.create("Mine")
    path = tmp_path / "export.csv"
    path.write_text(EXPORT)
    ws.add_list("customers", path)
    at = _data_page(ws)
    table = at.data_editor[0].value.set_index("column")
    assert table.loc["Phone", "role"] == "(not analysed)" and table.loc["Phone", "why not analysed"] == "phone numbers"
    assert table.loc["Notes", "why not analysed"] == "free text" and table.loc["Industry", "role"] == "Industry"
    assert any("Not analysed: Phone (phone numbers), Notes (free text)" in shown(i.value) for i in at.info)
    # Two accounts named alike with different ids stay two; one id twice is one account.
    assert (ws.report("customers").rows_kept, ws.report("customers").duplicates_merged) == (3, 1)
    merges = next(d.value for d in at.dataframe if "shared value" in d.value.columns)
    assert merges.iloc[0].to_dict() == {"same": "id", "shared value": "3", "rows merged": 2, "row numbers": "3, 4",
                                        "as written": "Gamma · Gamma Labs"}
    row = list(table.index).index("Notes")
    at.session_state[f"mapping_customers_{ws.data_version}"] = {
        "edited_rows": {row: {"role": "(attribute)"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    [apply] = [b for b in at.button if b.label == "Apply mapping"]
    apply.click().run()
    assert not at.exception and not at.error
    notes = next(c for c in ws.report("customers").columns if c.source == "Notes")
    assert (notes.excluded, notes.chosen, ws.report("customers").mapping["Notes"]) == (None, True, "attribute")
    # Merging off: every row an account.
    [merge] = [t for t in at.toggle if t.label.startswith("Merge rows of one account")]
    merge.set_value(False).run()
    assert not at.exception
    assert (ws.report("customers").rows_kept, ws.report("customers").merge_duplicates) == (4, False)
    [download] = [b for b in at.get("download_button") if "mapping.json" in b.proto.label]
    assert download.proto.label == "Download the mapping (mapping.json)"
