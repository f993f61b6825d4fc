"""A founder's own data in a real browser: a maven-like CRM export and an Inc.-5000-like universe.

The three files are written with a fixed seed (tests/maven_like.py), shaped like the Maven CRM sample
(its exact headers, its misspelled "technolgy" sector, revenue in millions, deals with no account) and
like an Inc. 5000 list ("12.3 Million"). They go in through the Data page's uploader of a new workspace,
exactly as a user would load them; then every page is opened, checked for what a user should see
there, and saved full-page to docs/screenshots/maven/.
"""

import re
from pathlib import Path

import pytest

from tests.e2e.harness import CHROMIUM, PAGES, SHOTS, metric, open_page, settle
from tests.maven_like import ACCOUNTS, DEALS, UNIVERSE, write_maven_like

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

MAVEN_SHOTS = SHOTS / "maven"


def load(page, path: Path, kind: str) -> None:
    """Pick what the file is, choose it in the uploader and press the load button, as a user does."""
    page.get_by_test_id("stSelectbox").filter(has_text="This file is the").click()
    page.get_by_role("option", name=re.compile(f"^{kind}:")).click()
    settle(page)
    page.locator("input[type=file]").first.set_input_files(str(path))
    settle(page)
    page.get_by_role("button", name=f"Load as {kind}").click()
    settle(page)


def edit_cell(page, grid, row: int, across: float, text: str) -> None:
    """Double-click a cell of a data editor (row 1 is the first under the header), type, press Enter;
    tried again a little slower while the grid is still being drawn, as test_browser's mapping edit is."""
    row_height = 35
    for attempt in range(5):
        page.keyboard.press("Escape")
        page.wait_for_timeout(400 * (attempt + 1))
        box = grid.bounding_box()
        if box is None:  # the grid is still being drawn after the last rerun
            continue
        page.mouse.dblclick(box["x"] + box["width"] * across, box["y"] + row_height * row + row_height / 2)
        editor = page.locator("#portal input, #portal textarea, .gdg-overlay input, .gdg-overlay textarea").first
        try:
            editor.wait_for(state="visible", timeout=2000 * (attempt + 1))
        except Exception:  # noqa: BLE001 - no editor opened: try again
            continue
        page.keyboard.press("Control+A")
        page.keyboard.type(text, delay=40)
        page.wait_for_timeout(200)
        page.keyboard.press("Enter")
        settle(page)
        return
    raise AssertionError(f"no editor opened on row {row} of the grid")


def fix_the_universe_columns(page) -> None:
    """What the ICP page's warning asks: the universe's revenue is in dollars (the customers' in
    millions). Its head count, in "workers", is read as Employees without help (icp/data/roles.py)."""
    main = page.get_by_test_id("stMain")
    assert main.get_by_text(re.compile(r'Universe: .revenue. is about [\d,]+x the customers')).is_visible()
    employees = main.get_by_text(re.compile(r"no column holds .Employees."))
    assert employees.count() == 0
    grid = main.get_by_test_id("stDataFrame").nth(1)  # the criteria, then the criteria in each list
    grid.scroll_into_view_if_needed()
    grid.locator("canvas").first.wait_for(state="visible")
    unit = main.get_by_text(re.compile(r"is about [\d,]+x the customers"))
    # A dropdown typed into before it has opened loses the keys: what did not take is done again.
    for _ in range(3):
        if unit.count():
            edit_cell(page, grid, 1, 0.93, "0.000001")  # Annual revenue: unit factor
        save = page.get_by_role("button", name="Save the columns")
        if save.count():
            save.click()
            settle(page)
        if not unit.count():
            break
    assert employees.count() == 0 and unit.count() == 0


def number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def shoot(page, name: str) -> None:
    """The whole page, not the window: Streamlit scrolls inside its main block, so the window grows to it."""
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=60_000)
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMainBlockContainer']\").scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, height + 120)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(MAVEN_SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_maven_like_crm_and_an_inc5000_universe_through_every_page(server, page, tmp_path):
    accounts, pipeline, universe = write_maven_like(tmp_path)
    page.goto(server.url)
    settle(page)
    page.get_by_role("button", name="New workspace").click()
    settle(page)
    open_page(page, "1. Data")
    load(page, accounts, "customers")
    page.get_by_text(f"accounts.csv: {ACCOUNTS} customers loaded.").wait_for()
    load(page, pipeline, "deals")
    page.get_by_text(re.compile(r"^sales_pipeline\.csv: [\d,]+ deals loaded\.$")).wait_for()
    load(page, universe, "universe")
    page.get_by_text(f"inc5000-universe.csv: {UNIVERSE:,} universe accounts loaded.").wait_for()
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert f"customers: {ACCOUNTS} rows · accounts.csv" in sidebar
    deals = number(re.search(r"deals: ([\d,]+) rows · sales_pipeline\.csv", sidebar).group(1))
    assert 0.9 * DEALS <= deals <= DEALS
    assert f"universe: {UNIVERSE:,} rows · inc5000-universe.csv" in sidebar
    assert "Demo" not in sidebar

    MAVEN_SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for title, name in PAGES:
        open_page(page, title)
        main = page.get_by_test_id("stMain")
        assert page.get_by_test_id("stException").count() == 0, title
        assert "Traceback" not in main.inner_text(), title
        if name == "icp":
            fix_the_universe_columns(page)
        shoot(page, name)  # first, so a failing page is on record too
        if name == "start":
            assert (f"This workspace holds {ACCOUNTS} customers, {deals:,} deals, {UNIVERSE:,} universe"
                    in main.inner_text())
        elif name == "data":
            main.get_by_test_id("stDataFrame").first.wait_for()  # the overview of the three lists
            assert main.get_by_role("radiogroup").inner_text().split() == ["customers", "deals", "universe"]
        elif name == "success":
            seen["best"] = number(metric(page, "Best customers"))
            assert 0 < seen["best"] < ACCOUNTS
            # A customer with no closed deal has no value on any criterion: left out, not scored zero.
            assert 0.85 * ACCOUNTS <= number(metric(page, "Scored customers")) <= ACCOUNTS
            assert main.get_by_text(f"Best customers ({seen['best']})").is_visible()
        elif name == "patterns":
            assert main.get_by_text("Strongest findings").is_visible()
        elif name == "segments":
            assert main.get_by_test_id("stMultiSelect").first.is_visible()
        elif name == "icp":
            assert main.get_by_text("Criteria", exact=True).is_visible()
        elif name == "market":
            seen["tam"], seen["sam"] = number(metric(page, "TAM")), number(metric(page, "SAM"))
            assert seen["tam"] == UNIVERSE
            assert 0 < seen["sam"] <= seen["tam"]
        elif name == "targets":
            seen["tier1"] = number(metric(page, "Tier 1"))
            assert 0 < seen["tier1"] <= seen["sam"]
            assert main.get_by_test_id("stDataFrame").first.is_visible()
        elif name == "export":
            assert main.get_by_role("button", name="Download the one-pager (PDF)").is_visible()
    print(f"maven-like: {seen}")
