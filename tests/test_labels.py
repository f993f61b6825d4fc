"""Near-duplicate category labels: suggested merges, applied and kept through re-ingest."""

from icp.data.labels import label_merge_suggestions, suggest_merges
from icp.data.workspace import Workspace
from tests.helpers import shared_file

CUSTOMERS = "Company,Industry,Tier\n" + "".join(
    f"Co {i},{'Technology' if i < 6 else 'Technolgy' if i < 8 else 'Retail'},{'Tier 1' if i % 2 else 'Tier 2'}\n"
    for i in range(10))


def test_the_rarer_spelling_is_suggested_into_the_common_one():
    found = suggest_merges({"technology": 120, "technolgy": 12, "Media": 30, "Medical": 20, "B2B": 5, "B2C": 4,
                            "Tier 1": 8, "Tier 2": 8, "Series A": 3, "Series B": 3}, "sector")
    assert [(m.label, m.label_rows, m.into, m.into_rows) for m in found] == [("technolgy", 12, "technology", 120)]
    assert found[0].column == "sector" and found[0].similarity > 90


def test_maven_accounts_get_no_false_suggestions():
    # Its ten sectors ("technolgy" alone among them, "medical" beside "marketing") hold no near pair.
    ws = Workspace.create("Maven")
    ws.add_list("customers", shared_file("maven_crm/accounts.csv"))
    assert label_merge_suggestions(ws, "customers") == []


def test_a_merge_applies_and_survives_a_new_mapping_and_a_new_upload(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    ws = Workspace.create("Mine")
    ws.add_list("customers", path)
    [merge] = label_merge_suggestions(ws, "customers")
    assert (merge.label, merge.label_rows, merge.into, merge.into_rows) == ("Technolgy", 2, "Technology", 6)

    def industries():
        return ws.frame("customers")["industry"].value_counts().to_dict()

    ws.merge_labels("customers", "Industry", {merge.label: merge.into})
    assert industries() == {"Technology": 8, "Retail": 2}
    assert ws.report("customers").label_merges == {"Industry": {"Technolgy": "Technology"}}
    assert label_merge_suggestions(ws, "customers") == []
    ws.set_mapping("customers", {"Tier": "ignore"})  # normalized again from the raw values
    assert industries() == {"Technology": 8, "Retail": 2}
    ws.add_list("customers", path)  # the same file uploaded again
    assert industries() == {"Technology": 8, "Retail": 2}
    ws.forget_label_merges("customers")
    assert industries() == {"Technology": 6, "Technolgy": 2, "Retail": 2}
