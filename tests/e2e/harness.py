"""The real-browser harness: `streamlit run` on a free loopback port and Debian's Chromium.

Shared by every end-to-end test: the server fixture, the browser, and the few things a user
does on every page (wait for the rerun to finish, open a page, read a metric, upload a file).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"
PAGES = [("Start", "start"), ("1. Data", "data"), ("2. Success", "success"), ("3. Patterns", "patterns"),
         ("4. Segments", "segments"), ("5. ICP", "icp"), ("6. Market", "market"), ("7. Targets", "targets"),
         ("8. Export", "export")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` (or another script) on loopback; restartable on the same port and data folder."""

    def __init__(self, data_dir: Path, script: str = "app.py"):
        self.port, self.data_dir, self.script, self.process = free_port(), data_dir, script, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"ICP_DATA_DIR": str(self.data_dir)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(self.port),
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


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settle(page)


def metric(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
    return card.get_by_test_id("stMetricValue").inner_text()


def upload(page, path: Path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))
    settle(page)
    page.get_by_role("button", name="Load as customers").or_(
        page.get_by_role("button", name="Replace the customers list")).first.click()
    settle(page)
