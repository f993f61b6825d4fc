"""ICP versions: saved with a number, name and date, listed, reloaded, and compared."""

import pytest

from icp.data.workspace import Workspace
from icp.errors import WorkspaceError
from icp.market.versions import criteria_diff, list_versions, load_version, save_version
from tests.helpers import sample


def test_versions_are_numbered_listed_and_reloaded_across_connections():
    ws = Workspace.create()
    assert list_versions(ws) == []
    first = save_version(ws, sample(), "  First   draft ")
    second = save_version(ws, sample().model_copy(update={"criteria": sample().criteria[:2]}), "Narrower")
    assert (first.version, first.name, second.version) == (1, "First draft", 2)
    listed = list_versions(Workspace(ws.id))
    assert [(v.version, v.name, v.criteria) for v in listed] == [(1, "First draft", 4), (2, "Narrower", 2)]
    assert load_version(ws, 1) == first
    with pytest.raises(WorkspaceError, match="no ICP version 9"):
        load_version(ws, 9)
    with pytest.raises(WorkspaceError):
        save_version(ws, sample(), "   ")


def test_criteria_diff_names_added_removed_and_changed():
    before = sample()
    industry, employees, stack, model = before.criteria
    after = before.model_copy(update={"criteria": (
        industry.model_copy(update={"values": ("Fintech",)}),   # changed values
        employees.model_copy(update={"role": "must"}),          # nice -> must is a change, not remove + add
        model,                                                   # unchanged
        stack.model_copy(update={"attribute": "crm", "label": "CRM", "values": ("HubSpot",)}),  # added
    )})
    diff = {(d.label, d.change): (d.before, d.after) for d in criteria_diff(before, after)}
    assert diff == {
        ("Industry", "changed"): ("must: Industry is Fintech or Café Zürich (weight 1)", "must: Industry is Fintech (weight 1)"),
        ("Employees", "changed"): ("nice: Employees 51–1,000 (weight 2)", "must: Employees 51–1,000 (weight 2)"),
        ("Tech stack", "removed"): ("nice: Tech stack has Snowflake (weight 1)", None),
        ("CRM", "added"): (None, "nice: CRM has HubSpot (weight 1)"),
    }


def test_two_items_of_one_list_are_two_criteria_in_the_diff():
    before = sample()
    stack = before.criteria[2]
    second = stack.model_copy(update={"values": ("Salesforce",)})
    after = before.model_copy(update={"criteria": (*before.criteria, second)})
    changes = criteria_diff(after, before.model_copy(update={"criteria": (
        *before.criteria[:2], stack.model_copy(update={"role": "must"}), before.criteria[3], second)}))
    assert [(c.change, c.after) for c in changes] == [("changed", "must: Tech stack has Snowflake (weight 1)")]
