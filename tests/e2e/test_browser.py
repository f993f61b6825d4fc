"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Starts the server headless on a free loopback port with its own workspace folder, waits for
each rerun to finish (`data-test-script-state='notRunning'`), then acts as a user would.
Screenshots of every page land in docs/screenshots/.
"""

from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.e2e.harness import CHROMIUM, PAGES, SHOTS, metric, open_page, settle, upload

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def test_a_newcomer_walks_every_step_of_the_demo_and_downloads_the_one_pager(server, page, tmp_path):
    page.goto(server.url)
    settle(page)
    assert "ws=" in page.url
    assert page.get_by_text("Demo: Northwind Analytics").first.is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for title, name in PAGES:
        if title != "Start":
            open_page(page, title)
        assert page.get_by_test_id("stException").count() == 0, title
        page.screenshot(path=str(SHOTS / f"{name}.png"))
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download the one-pager (PDF)").click()
    saved = tmp_path / "icp.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="targets.csv").click()
    targets = tmp_path / "targets.csv"
    download.value.save_as(targets)
    header = targets.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith("icp_fit_score,icp_tier,icp_reasons")


def test_a_tier_slider_moves_the_counts_and_a_refresh_and_a_restart_keep_it(server, page):
    page.goto(server.url)
    settle(page)
    open_page(page, "7. Targets")
    workspace_url = page.url
    before = metric(page, "Tier 3")
    slider = page.get_by_test_id("stSlider").filter(has_text="Tier 3 from fit score").get_by_role("slider")
    slider.focus()
    for _ in range(15):
        page.keyboard.press("ArrowLeft")
    settle(page)
    after = metric(page, "Tier 3")
    assert after != before
    page.reload()
    settle(page)
    assert metric(page, "Tier 3") == after
    server.stop()
    server.start()
    page.goto(workspace_url)
    settle(page)
    assert page.get_by_text("Demo: Northwind Analytics").first.is_visible()
    assert metric(page, "Tier 3") == after


def test_upload_a_real_file_and_a_generated_one(server, page, tmp_path):
    page.goto(server.url)
    settle(page)
    page.get_by_role("button", name="New workspace").click()
    settle(page)
    open_page(page, "1. Data")
    generated = tmp_path / "my customers.csv"
    generated.write_text("Company name,Website,Industry,ARR\nAcme,acme.io,Fintech,\"$48,000\"\n"
                         "Beta,beta.io,Retail,12k\nGamma,gamma.io,fintech,9000\n", encoding="utf-8")
    upload(page, generated)
    assert page.get_by_text("my customers.csv: 3 customers loaded.").is_visible()
    real = SHARED_DATA / "maven_crm" / "accounts.csv"
    if not real.exists():
        pytest.skip("../shared/data is not available")
    upload(page, real)
    assert page.get_by_text("accounts.csv: 85 customers loaded.").is_visible()
    broken = tmp_path / "empty.csv"
    broken.write_bytes(b"")
    upload(page, broken)
    assert page.get_by_text("empty.csv: the file is empty. Nothing in the workspace was changed.").is_visible()
    assert page.get_by_test_id("stSidebar").get_by_text("85 rows").is_visible()

