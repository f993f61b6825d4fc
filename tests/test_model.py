"""The ICP model: complete criteria, ordered tiers, a JSON round trip and plain errors on bad files."""

import json

import pytest

from icp.errors import InputFileError
from icp.profile.model import Criterion, TierRules, parse_icp
from tests.helpers import sample


def test_json_round_trip_keeps_everything():
    icp = sample()
    again = parse_icp(icp.model_dump_json())
    assert again == icp
    assert [c.label for c in again.musts] == ["Industry"]
    assert [c.label for c in again.disqualifiers] == ["Business model"]
    assert json.loads(icp.model_dump_json())["schema_version"] == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "in_set"}, "at least one value"),
    ({"kind": "range"}, "lower or an upper bound"),
    ({"kind": "range", "low": 10, "high": 5}, "below the upper bound"),
    ({"kind": "flag"}, "yes or no"),
])
def test_incomplete_criteria_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Criterion(attribute="x", label="X", **kwargs)


def test_tiers_must_go_down_and_capacity_multiplies():
    with pytest.raises(ValueError, match="go down"):
        TierRules(tier1=40, tier2=60)
    assert TierRules(mode="capacity", reps=4, accounts_per_rep=25).capacity == 100


def test_bad_files_get_one_plain_sentence_naming_the_file():
    data = json.loads(sample().model_dump_json())
    data["surprise"] = 1
    with pytest.raises(InputFileError, match=r"^my icp.json: has a field this version does not know: 'surprise'\."):
        parse_icp(json.dumps(data), "my icp.json")
    data.pop("surprise")
    data["schema_version"] = 7
    with pytest.raises(InputFileError, match="schema_version 7; this version reads 1"):
        parse_icp(json.dumps(data))
    with pytest.raises(InputFileError, match="is not valid JSON"):
        parse_icp("{not json")
    data["schema_version"] = 1
    data["tiers"]["tier1"] = 500
    with pytest.raises(InputFileError, match="tiers.tier1"):
        parse_icp(json.dumps(data))


def test_criteria_read_as_plain_words():
    from icp.profile.model import describe

    words = [describe(c) for c in sample().criteria]
    assert words == ["Industry is Fintech or Café Zürich", "Employees 51–1,000", "Tech stack has Snowflake",
                     "Business model is Hardware"]
    assert describe(Criterion(attribute="revenue", label="Revenue", kind="range", low=1e6)) == "Revenue at least 1M"
    assert describe(Criterion(attribute="revenue", label="Revenue", kind="range", low=1e7, high=5e8)) == (
        "Revenue from 10M to under 500M")
    assert describe(Criterion(attribute="public", label="Public", kind="flag", flag=False)) == "Public: no"
    assert describe(Criterion(attribute="score", label="Score", kind="range", low=0.5, high=2.5)) == (
        "Score from 0.5 to under 2.5")


def test_criteria_testing_one_column_two_ways_are_one_sentence_naming_the_file():
    data = json.loads(sample().model_dump_json())
    data["criteria"].append({"attribute": "industry", "label": "Industry", "kind": "range", "low": 1})
    with pytest.raises(InputFileError, match=r"^crafted.json: is not a usable ICP: two criteria read 'industry' in "
                                             r"different ways \(values and a number range\)"):
        parse_icp(json.dumps(data), "crafted.json")
    # Two tests of one column in the same way stay allowed (a must and a disqualifier on industry).
    data["criteria"][-1] = {"attribute": "industry", "label": "Industry", "kind": "in_set", "values": ["Retail"],
                            "role": "disqualify"}
    assert len(parse_icp(json.dumps(data)).criteria) == 5
