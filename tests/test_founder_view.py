"""What a founder sees on real CRM exports (issue 16): segments, clusters and the Data page."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp.analysis import available_sides
from icp.data.roles import ROLE_BY_NAME
from icp.data.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def app(workspace: Workspace) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = workspace.id
    return at


def _customers_without_churn(tmp_path: Path) -> Workspace:
    """30 customers in two sectors and one more alone in a third; nobody's churn is known."""
    rows = ["Company name,Website,Industry,Number of Employees,ARR"]
    for i in range(30):
        industry = "Fintech" if i % 2 else "Retail"
        rows.append(f"Co {i},co{i}.io,{industry},{20 + 10 * i},{1000 * (i + 1)}")
    rows.append("Lonely,lonely.io,Mining,40,500")
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace.create("Founder")
    ws.add_list("customers", path)
    return ws


def test_small_segments_are_listed_apart_and_sliders_show_only_for_known_measures(tmp_path):
    ws = _customers_without_churn(tmp_path)
    at = app(ws).run()
    at.switch_page("views/segments.py").run()
    at.multiselect(key="segment_dimensions").set_value(["industry"]).run()
    assert not at.exception
    assert at.slider(key="segment_min_accounts").value == 10
    ranked = at.dataframe[0].value
    assert set(ranked["industry"]) == {"Fintech", "Retail"}
    [apart] = [e for e in at.expander if "not ranked" in e.label]
    assert apart.label.startswith("1 segment under 10 accounts")
    assert list(apart.dataframe[0].value["industry"]) == ["Mining"]
    keys = {s.key for s in at.slider}
    assert "w_retention" not in keys and "w_profit" in keys
    assert any("no customer's churn is known" in c.value for c in at.caption)
    # Settable: with a minimum of one, the lone account is ranked with the rest.
    at.slider(key="segment_min_accounts").set_value(1).run()
    assert "Mining" in set(at.dataframe[0].value["industry"])


def test_clusters_are_named_and_what_sets_them_apart_is_written_out_whole(tmp_path):
    ws = _customers_without_churn(tmp_path)
    at = app(ws).run()
    at.switch_page("views/segments.py").run()
    assert not at.exception
    profiles = next(d.value for d in at.dataframe if "name" in d.value.columns)
    assert "cluster" not in profiles.columns and "sets_apart" not in profiles.columns
    assert not any(name.isdigit() for name in profiles["name"])
    written = next(m.value for m in at.markdown if m.value.startswith("- **"))
    assert written.count("\n") == len(profiles) - 1 and " vs " in written
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if '"mostly ' in c.proto.spec)
    assert spec["encoding"]["color"]["field"] == "name"
    assert spec["encoding"]["x"]["title"].startswith("mostly ")


def _data_page(ws: Workspace) -> AppTest:
    at = app(ws).run()
    at.switch_page("views/data.py").run()
    return at


def test_the_data_page_suggests_merging_a_misspelled_label_and_applies_it(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Company,Industry\n" + "".join(
        f"Co {i},{'Technology' if i < 6 else 'Technolgy' if i < 8 else 'Retail'}\n" for i in range(10)))
    ws = Workspace.create("Typos")
    ws.add_list("customers", path)
    at = _data_page(ws)
    offered = next(e.value for e in at.data_editor if "into" in e.value.columns)
    assert offered.iloc[0][["column", "label", "rows", "into", "rows of it"]].tolist() == [
        "Industry", "Technolgy", 2, "Technology", 6]
    at.button(key="merge_labels").click().run()
    assert not at.exception and not at.error
    assert ws.frame("customers")["industry"].value_counts().to_dict() == {"Technology": 8, "Retail": 2}
    assert any("Merged by you" in c.value and "Technolgy" in c.value for c in at.caption)
    assert not any("into" in e.value.columns for e in at.data_editor)


CUSTOMERS = "Company name,Website,Industry,Sales cycle\nAcme,acme.io,Fintech,30\nBeta,beta.io,Retail,45\n"


def test_the_list_just_loaded_is_shown_and_the_uploader_is_emptied():
    ws = Workspace.create("Two lists")
    at = _data_page(ws)
    for kind, name in (("customers", "c.csv"), ("universe", "u.csv")):
        at.selectbox[0].set_value(kind)
        at.file_uploader[0].set_value((name, CUSTOMERS.encode(), "text/csv")).run()
        next(b for b in at.button if b.label in (f"Load as {kind}", f"Replace the {kind} list")).click().run()
        assert not at.exception and not at.error
        assert at.radio(key="shown_list_radio").value == kind
        assert not at.file_uploader[0].value  # a fresh, empty uploader
        assert not any(b.label.startswith("Replace the") and not b.disabled for b in at.button)


def test_roles_show_their_labels_and_a_role_set_by_hand_says_so(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    ws = Workspace.create("Roles")
    ws.add_list("customers", path)
    ws.set_mapping("customers", {"Sales cycle": "sales_cycle_days"})
    at = _data_page(ws)
    table = at.data_editor[0].value.set_index("column")
    assert table.loc["Sales cycle", "role"] == "Sales cycle (days)"
    assert table.loc["Sales cycle", "confidence"] == "set by you"
    assert table.loc["Industry", "role"] == "Industry" and table.loc["Industry", "confidence"] not in ("", "set by you")
    # A role picked by its label is stored by its name.
    row = list(table.index).index("Industry")
    at.session_state[f"mapping_customers_{ws.data_version}"] = {
        "edited_rows": {row: {"role": ROLE_BY_NAME["country"].label}}, "added_rows": [], "deleted_rows": []}
    at.run()
    next(b for b in at.button if b.label == "Apply mapping").click().run()
    assert not at.exception and not at.error
    assert ws.report("customers").mapping["Industry"] == "country"
    quality = next(d for d in at.dataframe if "normalized" in d.value.columns)
    assert "sales_cycle_days" not in set(quality.value["role"])
    assert json.loads(quality.proto.columns)["normalized"]["width"] == "large"  # room for the whole note


def test_the_overview_says_why_deals_are_not_linked(tmp_path):
    customers = tmp_path / "c.csv"
    customers.write_text("Company name,Website\nAcme,acme.io\nAcme,acme.com\nBeta,beta.io\n")
    deals = tmp_path / "d.csv"
    deals.write_text("Deal name,Account,Stage,Amount\nd1,Beta,Closed Won,10\nd2,Acme,Closed Lost,5\n"
                     "d3,Nobody,Closed Won,7\nd4,,Prospecting,3\n")
    ws = Workspace.create("Links")
    ws.add_list("customers", customers, merge=False)
    ws.add_list("deals", deals)
    at = _data_page(ws)
    overview = at.dataframe[0].value.set_index("list")
    assert overview.loc["deals", "linked to customers"] == "1 of 4"
    assert overview.loc["deals", "not linked because"] == (
        "1 match no customer's id, domain or name; 1 name an account several customers share; "
        "1 name no account at all")


@pytest.fixture
def demo_copy(demo_template, workspace_folder):
    return Workspace.copy_of(demo_template, "Demo copy")


def _refreshed(at: AppTest, page: str) -> AppTest:
    """The page opened again from its URL in a new session, as a browser refresh does."""
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in at.query_params.items():
        again.query_params[name] = value[0] if isinstance(value, list) else value
    again.run()
    return again.switch_page(page).run()


def test_the_targets_search_survives_a_refresh(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/targets.py").run()
    name = at.dataframe[0].value["account_name"].iloc[0]
    at.text_input(key="target_search").set_value(name).run()
    assert at.query_params["search"] in (name, [name])
    again = _refreshed(at, "views/targets.py")
    assert not again.exception
    assert again.text_input(key="target_search").value == name
    assert name in set(again.dataframe[0].value["account_name"])


def test_the_patterns_comparison_survives_a_refresh(demo_copy):
    at = app(demo_copy).run()
    at.switch_page("views/patterns.py").run()
    at.session_state["pattern_side"] = available_sides(demo_copy)[1]  # what clicking the second option does
    at.run()
    chosen = at.session_state["pattern_side"]
    assert at.selectbox(key="pattern_attribute").value != "industry"
    at.session_state["pattern_attribute"] = "industry"  # what picking it in the box does
    at.run()
    assert not at.exception
    again = _refreshed(at, "views/patterns.py")
    assert not again.exception
    assert again.session_state["pattern_side"] == chosen
    assert again.session_state["pattern_attribute"] == "industry"
