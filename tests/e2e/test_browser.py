"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Starts the server headless on a free loopback port with its own workspace folder, waits for
each rerun to finish (`data-test-script-state='notRunning'`), then acts as a user would.
Screenshots of every page land in docs/screenshots/.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"
PAGES = [("Start", "start"), ("1. Data", "data"), ("2. Success", "success"), ("3. Patterns", "patterns"),
         ("4. Segments", "segments"), ("5. ICP", "icp"), ("6. Market", "market"), ("7. Targets", "targets"),
         ("8. Export", "export")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on loopback; restartable on the same port and data folder."""

    def __init__(self, data_dir: Path):
        self.port, self.data_dir, self.process = free_port(), data_dir, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"ICP_DATA_DIR": str(self.data_dir)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("streamlit did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("e2e-workspaces"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield context.new_page()
    context.close()


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settle(page)


def metric(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
    return card.get_by_test_id("stMetricValue").inner_text()


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


def upload(page, path: Path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))
    settle(page)
    page.get_by_role("button", name="Load as customers").or_(
        page.get_by_role("button", name="Replace the customers list")).first.click()
    settle(page)


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

