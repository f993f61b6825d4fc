"""A hostile workbook uploaded in one browser while another person keeps working on the same server.

The workbook is under 5 kB: a header at A1 and one cell at XFD1048576. Read in the server's own
process, the Excel reader would allocate every cell between the two and abort the server, ending
every session; here it is read by a child process after a scan of what it holds, so the uploader
gets one sentence and the other person never notices.
"""

import urllib.request
from pathlib import Path

import pytest

from tests.e2e.harness import CHROMIUM, PAGES, metric, settle
from tests.hostile import _corner
from ui.text import WORD_JOINER

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

RUN_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
REFUSAL = ("corner.xlsx: sheet 'Data' spans A1:XFD1048576, 17,179,869,184 cells, over the limit of 10,000,000 for "
           "one sheet; delete what lies outside the table, or save the sheet as CSV and upload that. Nothing in the "
           "workspace was changed.")


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def test_a_workbook_spanning_the_whole_grid_is_one_sentence_and_the_server_keeps_serving(server, browser, tmp_path):
    corner = tmp_path / "corner.xlsx"
    _corner("XFD1048576")(corner)
    assert corner.stat().st_size < 5000
    uploader, other = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    try:
        up, on = uploader.new_page(), other.new_page()
        for page in (up, on):
            page.goto(server.url)
        for page in (up, on):
            settle(page)
        nav(up, "1. Data")
        nav(on, "6. Market")
        for page in (up, on):
            settle(page)
        som = metric(on, "SOM")

        # The file goes in (its sheets are listed at once) and is loaded, while the other person
        # walks through every page.
        up.locator("input[type=file]").first.set_input_files(str(corner))
        settle(up)
        up.get_by_role("button", name="Replace the customers list").click()
        for title, _ in PAGES:
            nav(on, title)
            settle(on)
            assert on.get_by_test_id("stException").count() == 0, title
        up.wait_for_selector(RUN_DONE, timeout=120_000)

        # The uploader sees the one sentence, and nothing else went wrong.
        # (The page keeps "A1:XFD" from reading as an emoji code with an invisible word joiner.)
        errors = [e.inner_text().strip().replace(WORD_JOINER, "")
                  for e in up.get_by_test_id("stAlertContentError").all()]
        assert errors == [REFUSAL]
        assert up.get_by_test_id("stException").count() == 0
        assert "Traceback" not in up.content()

        # The other person's session is alive: a slider on the Market page still moves SOM.
        nav(on, "6. Market")
        settle(on)
        reach = on.get_by_test_id("stSlider").filter(has_text="Reachable share of SAM").get_by_role("slider")
        reach.focus()
        for _ in range(10):
            on.keyboard.press("ArrowRight")
        settle(on)
        assert metric(on, "SOM") != som
        assert on.get_by_test_id("stException").count() == 0

        # And the server itself never went down.
        assert server.process.poll() is None
        with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as reply:
            assert reply.status == 200
    finally:
        uploader.close()
        other.close()
