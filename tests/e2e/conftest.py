"""Fixtures of the real-browser suite: one server for the run, one browser per module, a fresh context per test.

One server for every module: each start costs the server's own imports and a cold first page, and
the tests that count workspace files compare the folder before and after, so they share it."""

import shutil
from pathlib import Path

import pytest

from tests.e2e.harness import ARGS, CHROMIUM, Server, playwright

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e drives a real browser: marked e2e (and slow), so `-m "not e2e"` leaves them out,
    and grouped, so that with two workers (scripts/test.sh) they run one after another on one of them:
    two browsers and two servers at once on two cores would time each other out."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo_template):
    folder = tmp_path_factory.mktemp("e2e-workspaces")
    # The demo template the run built once (it takes seconds), where this server looks for it.
    (folder / "templates").mkdir()
    shutil.copyfile(demo_template, folder / "templates" / demo_template.name)
    srv = Server(folder)
    srv.start()
    yield srv
    srv.stop()


# Per module: Playwright's sync API runs an event loop while it is open, and the load test
# (bench/load.py) starts asyncio in its own module.
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
