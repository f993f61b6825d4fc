"""What the browser walk-through of a maven-like upload found (tests/e2e/test_maven_upload.py), through AppTest:
the same three files, written by the same seeded generator, loaded into a workspace."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from tests.helpers import open_page
from tests.literal_text import shown
from tests.maven_like import write_maven_like

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def maven(tmp_path) -> Workspace:
    accounts, pipeline, universe = write_maven_like(tmp_path)
    ws = Workspace.create("Maven")
    ws.add_list("customers", accounts)
    ws.add_list("deals", pipeline)
    ws.add_list("universe", universe)
    return ws


def _formats(table) -> dict[str, str]:
    """How the table shows each configured column: {column: NumberColumn format}."""
    config = json.loads(table.proto.columns or "{}")
    return {name: (c.get("type_config") or {}).get("format") for name, c in config.items()}


def _texts(at: AppTest) -> str:
    return " ".join(shown(e.value) for kind in ("warning", "caption", "markdown", "info", "success")
                    for e in getattr(at, kind))


def test_success_tables_show_rates_as_percentages_and_money_compact(maven):
    at = open_page(maven, "views/success.py", timeout=180)
    assert "Win rate: 69.7% on average" in _texts(at)  # the summary writes the rate as a percentage
    for table in at.dataframe:  # best customers, and the rest
        formats = _formats(table)
        assert table.value["win_rate"].dropna().between(0, 1).all()  # the data keeps its fractions
        assert formats["win_rate"] == "percent" and formats["won_value"] == "compact", formats
        assert formats["median_cycle_days"] == "localized", formats
    # Money in the summary as in the table, compact ("71.3k", not "71,267.0"); headers in words.
    [money] = [line for line in _texts(at).split("- ") if line.startswith("Won deal value")]
    assert re.search(r"Won deal value: [0-9.]+k on average among best customers against [0-9.]+k", money), money
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["win_rate"]["label"] == "Win rate" and config["won_value"]["label"] == "Won deal value", config


def test_segments_first_view_ranks_segments_and_says_which_minimum_and_why(maven):
    at = open_page(maven, "views/segments.py", timeout=180)
    assert at.multiselect(key="segment_dimensions").value == ["industry", "size_band"]
    minimum = at.slider(key="segment_min_accounts").value
    assert 3 <= minimum < 10
    ranked = at.dataframe[0].value  # the ranked segments: first, before those listed apart
    assert len(ranked) >= 3 and (ranked["accounts"] >= minimum).all()
    caption = _texts(at)
    assert f"of at least {minimum} accounts, ranked" in caption
    assert "no segment reaches 10 accounts with these 85 customers" in caption
    assert f"comes down to {minimum} (never under 3)" in caption
    # A minimum the user sets is kept, and the caption says so.
    at.slider(key="segment_min_accounts").set_value(2).run()
    assert not at.exception
    again = open_page(maven, "views/segments.py", timeout=180)
    assert again.slider(key="segment_min_accounts").value == 2
    assert f"set by you ({minimum} would follow these segments' sizes)" in _texts(again)


def test_targets_grid_shows_numbers_readably_and_keeps_them_as_numbers(maven):
    at = open_page(maven, "views/targets.py", timeout=180)
    [grid] = [d for d in at.dataframe if "icp_tier" in d.value.columns]
    formats = _formats(grid)
    assert grid.value["revenue"].max() >= 1e9  # the universe's "3.0 Billion", read as a number
    assert formats["revenue"] == "compact", formats
    assert formats["employees"] == "localized", formats


def test_export_sql_preview_wraps_its_long_lines(maven):
    at = open_page(maven, "views/export.py", timeout=180)
    [sql] = [c for c in at.code if c.language == "sql"]
    assert max(len(line) for line in sql.value.splitlines()) > 100  # lines a narrow column would cut off
    assert sql.proto.wrap_lines


def test_market_by_segment_names_its_dimensions_in_the_users_words(maven):
    at = open_page(maven, "views/market.py", timeout=180)
    [table] = [d for d in at.dataframe if "sam_value" in d.value.columns]
    labels = {name: c.get("label") for name, c in json.loads(table.proto.columns).items()}
    assert labels["industry"] == "Industry" and labels["size_band"] == "Company size", labels
    assert [labels[f"{m}_accounts"] for m in ("tam", "sam", "som")] == ["TAM accounts", "SAM accounts", "SOM accounts"]
