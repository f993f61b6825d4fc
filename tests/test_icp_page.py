"""The ICP page as a founder uses it (issue 16): drafting again asks first and keeps the old criteria,
an empty draft says why, a criterion is added once and as a nice-to-have by default, and nothing on the
page goes stale when the success definition, a criterion or a version changes."""

import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from icp.market.versions import list_versions, load_version
from icp.profile.draft import ICP_KEY, draft_descriptions
from icp.profile.model import ICP, Criterion
from tests.helpers import app, null_customers, workspace_of
from ui.settings import SUCCESS_KEY, success_settings, working_icp


@pytest.fixture
def demo_copy(demo_template, workspace_folder):
    return Workspace.copy_of(demo_template, "Demo copy")


def _icp_page(workspace: Workspace) -> AppTest:
    at = app(workspace).run()
    at.switch_page("views/icp.py").run()
    assert not at.exception
    return at


def _click(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, at.exception
    return at


def _labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_draft_again_asks_first_and_keeps_the_old_criteria_as_a_version(demo_copy):
    drafted = working_icp(demo_copy)
    narrowed = drafted.model_copy(update={"criteria": drafted.criteria[:2]})
    demo_copy.save_settings(ICP_KEY, narrowed)
    at = _click(_icp_page(demo_copy), "Draft again from the evidence")
    # Nothing is replaced yet: the page asks.
    assert working_icp(demo_copy).criteria == narrowed.criteria
    assert {"Replace the criteria", "Keep my criteria"} <= _labels(at)
    _click(at, "Replace the criteria")
    assert [c.attribute for c in working_icp(demo_copy).criteria] == [c.attribute for c in drafted.criteria]
    [kept] = list_versions(demo_copy)
    assert load_version(demo_copy, kept.version).criteria == narrowed.criteria
    assert "Replace the criteria" not in _labels(at)


def test_keep_my_criteria_cancels_a_fresh_draft(demo_copy):
    drafted = working_icp(demo_copy)
    narrowed = drafted.model_copy(update={"criteria": drafted.criteria[:1]})
    demo_copy.save_settings(ICP_KEY, narrowed)
    at = _click(_click(_icp_page(demo_copy), "Draft again from the evidence"), "Keep my criteria")
    assert working_icp(demo_copy).criteria == narrowed.criteria
    assert list_versions(demo_copy) == [] and "Replace the criteria" not in _labels(at)


def test_an_empty_draft_says_why_and_keeps_the_criteria(tmp_path):
    # Seed 65 of the null customers drafts one chance criterion on all customers, which does not hold
    # in the folds: the fresh draft is empty.
    ws = workspace_of(null_customers(65), tmp_path)
    mine = working_icp(ws).model_copy(update={"criteria": (
        Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech",)),)})
    ws.save_settings(ICP_KEY, mine)
    at = _click(_icp_page(ws), "Draft again from the evidence")
    said = " ".join(w.value for w in at.warning)
    assert "best customers" in said and "did not hold" in said and "would help" in said
    assert working_icp(ws).criteria == mine.criteria
    assert "Replace the criteria" not in _labels(at) and "Replace with no criteria" in _labels(at)
    _click(at, "Keep my criteria")
    assert working_icp(ws).criteria == mine.criteria and list_versions(ws) == []


def _add(at: AppTest, attribute: str, values: str) -> AppTest:
    at.selectbox(key="add_attr").set_value(attribute).run()
    at.text_input(key="add_values").set_value(values).run()
    return _click(at, "Add")


def test_a_criterion_is_added_as_nice_once_with_its_evidence(demo_copy):
    before = working_icp(demo_copy)
    at = _icp_page(demo_copy)
    assert at.radio(key="add_role").value == "nice"
    _add(at, "country", "US")
    after = working_icp(demo_copy)
    [added] = [c for c in after.criteria if c.attribute == "country"]
    assert added.role == "nice" and len(after.criteria) == len(before.criteria) + 1
    # Its evidence is measured among the best customers, and says it was added by hand.
    assert added.evidence is not None and added.evidence.by_hand == "added"
    assert added.evidence.group_size > 0 and added.evidence.sentence.startswith("Added by hand")
    at = _icp_page(demo_copy)
    _add(at, "country", "us")
    assert working_icp(demo_copy).criteria == after.criteria
    assert any("already" in e.value for e in at.error)


def test_a_changed_success_definition_is_flagged_and_keep_adopts_it(demo_copy):
    at = _icp_page(demo_copy)
    assert not any("defined otherwise" in w.value for w in at.warning)
    changed = success_settings(demo_copy).model_copy(update={"best_share": 0.5})
    demo_copy.save_settings(SUCCESS_KEY, changed)
    at = _icp_page(demo_copy)
    assert any("This ICP was drafted when best customers were defined otherwise" in w.value for w in at.warning)
    assert {"Redraft", "Keep"} <= _labels(at)
    _click(at, "Redraft")
    assert "Replace the criteria" in _labels(at)
    _click(at, "Keep my criteria")
    _click(at, "Keep")
    kept = working_icp(demo_copy)
    assert kept.success == changed
    # Keeping the new definition measures the evidence under it: half the customers are best now.
    assert all(c.evidence.group_size + c.evidence.rest_size > 0 for c in kept.criteria)
    best = next(c for c in kept.criteria if c.role != "disqualify").evidence
    assert best.group_size > best.rest_size * 0.8
    assert not any("defined otherwise" in w.value for w in at.warning)


def _edit_employees_low(at: AppTest, low: float) -> AppTest:
    editor = at.data_editor[0]
    table = editor.value
    row = int(table.index[table["criterion"].str.startswith("Employees")][0])
    at.session_state[editor.key] = {"edited_rows": {row: {"from": low}}, "added_rows": [], "deleted_rows": []}
    at.run()
    return _click(at, "Save criteria")


def test_an_edited_criterion_gets_its_evidence_and_the_generated_text_follows(demo_copy):
    before = working_icp(demo_copy)
    old = next(c for c in before.criteria if c.attribute == "employees" and c.role != "disqualify")
    assert before.template.segment_description == draft_descriptions(before.criteria)[0]
    at = _edit_employees_low(_icp_page(demo_copy), 1001)
    after = working_icp(demo_copy)
    new = next(c for c in after.criteria if c.attribute == "employees" and c.role != "disqualify")
    assert new.low == 1001 and new.evidence.by_hand == "edited"
    assert new.evidence.in_group < old.evidence.in_group and new.evidence.sentence.startswith("Edited by hand")
    table = at.data_editor[0].value
    assert table.loc[table["criterion"].str.startswith("Employees")].iloc[0]["evidence"].startswith("Edited by hand")
    # The segment description the draft wrote now describes the new range.
    assert after.template.segment_description == draft_descriptions(after.criteria)[0]
    assert after.template.segment_description != before.template.segment_description


def test_a_description_written_by_hand_is_kept_and_marked(demo_copy):
    icp = working_icp(demo_copy)
    mine = "Fast-growing fintechs whose data team owns the warehouse."
    demo_copy.save_settings(ICP_KEY, icp.model_copy(update={
        "template": icp.template.model_copy(update={"segment_description": mine})}))
    at = _edit_employees_low(_icp_page(demo_copy), 1001)
    assert working_icp(demo_copy).template.segment_description == mine
    assert any("written by hand" in c.value for c in at.caption)


def test_the_version_saved_is_the_version_exported(demo_copy):
    at = _icp_page(demo_copy)
    for name in ("First", "Second"):
        at.text_input(key="version_name").set_value(name).run()
        _click(at, "Save version")
    assert [v.version for v in list_versions(demo_copy)] == [1, 2]
    # The working ICP (what the PDF, icp.json and the spreadsheets read) is version 2 now.
    assert working_icp(demo_copy).version == 2
    assert isinstance(working_icp(demo_copy), ICP)


def test_a_row_added_in_the_criteria_table_points_to_the_form(demo_copy):
    before = working_icp(demo_copy)
    at = _icp_page(demo_copy)
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {}, "deleted_rows": [],
                                    "added_rows": [{"role": "nice", "values": "Fintech", "weight": 1.0}]}
    at.run()
    assert not at.exception
    assert any("Add a criterion" in i.value for i in at.info)
    assert working_icp(demo_copy).criteria == before.criteria


def _two_industry_criteria(workspace: Workspace) -> ICP:
    icp = working_icp(workspace)
    mine = icp.model_copy(update={"criteria": (
        Criterion(attribute="industry", label="Industry", kind="in_set", role="nice", values=("Fintech",)),
        Criterion(attribute="industry", label="Industry", kind="in_set", role="nice", values=("Healthcare",)))})
    workspace.save_settings(ICP_KEY, mine)
    return mine


def test_an_edit_in_the_criteria_table_that_repeats_a_criterion_is_refused(demo_copy):
    mine = _two_industry_criteria(demo_copy)
    at = _icp_page(demo_copy)
    editor = at.data_editor[0]
    at.session_state[editor.key] = {"edited_rows": {1: {"values": " fintech "}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    from tests.literal_text import shown

    assert [shown(e.value) for e in at.error] == [
        'That edit was not saved: the ICP already has that criterion: nice "Industry is Fintech"']
    assert "Save criteria" not in _labels(at)
    assert working_icp(demo_copy).criteria == mine.criteria


def test_an_old_icp_with_a_criterion_twice_still_loads_and_its_other_rows_can_be_edited(demo_copy):
    mine = _two_industry_criteria(demo_copy)
    twice = mine.model_copy(update={"criteria": (*mine.criteria, mine.criteria[0])})
    demo_copy.save_settings(ICP_KEY, twice)
    assert working_icp(demo_copy).criteria == twice.criteria
    edited = twice.with_edited_criteria([twice.criteria[0], twice.criteria[1].model_copy(update={"weight": 2.0}),
                                         twice.criteria[2]])
    assert edited.criteria[1].weight == 2.0
    with pytest.raises(ValueError, match="already has that criterion"):
        twice.with_edited_criteria([*twice.criteria[:2], twice.criteria[1]])
