"""The app through Streamlit's AppTest: every page renders, and the Data page works as a user uses it."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(f"views/{p.name}" for p in (ROOT / "views").glob("*.py"))
CUSTOMERS = (
    "Company name,Website,Industry,Number of Employees,ARR,Churned\n"
    "Acme,acme.io,Fintech,120,\"$48,000\",No\n"
    "Beta,beta.io,Retail,15,\"$6,000\",Yes\n"
    "Gamma,gamma.io,fintech,300,\"$90,000\",No\n"
)


def app(workspace: Workspace | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if workspace is not None:
        at.query_params["ws"] = workspace.id
    return at


@pytest.fixture
def demo_copy(demo_template, workspace_folder):
    return Workspace.copy_of(demo_template, "Demo copy")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_demo(page, demo_copy):
    at = app(demo_copy).run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def test_first_visit_opens_a_demo_workspace_of_its_own(demo_template, monkeypatch):
    # The template built by the fixture is reused, so this only copies it.
    monkeypatch.setattr("icp.demo_workspace.template_path", lambda folder=None: demo_template)
    first = app().run()
    second = app().run()
    assert not first.exception and not second.exception
    ids = first.query_params["ws"], second.query_params["ws"]
    assert ids[0] != ids[1]
    assert {Workspace(i).name for i in ids} == {"Demo: Northwind Analytics"}
    assert "customers" in Workspace(ids[0]).lists()


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
