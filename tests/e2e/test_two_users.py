"""Two people at once on one server: each in their own browser context (own cookies and storage),
their actions interleaved so the server runs both sessions' scripts at the same time.

Each makes a new workspace and uploads a different customer list; each then sees only their own
companies, counts, file name and workspace id on every page, and never the other's. Visitors
without a `?ws=` link read the one shared demo; a change (a rename) makes a copy of the changer's
own, which no one else sees: not the other person, not a third visitor, who lands on the demo as
it was and gets a copy of their own with their first change.
"""

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from icp.demo_workspace import DEMO_NAME, template_path
from tests.e2e.harness import CHROMIUM, PAGES, settle

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

RUN_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"  # as harness.settle waits for


@dataclass
class Person:
    """One visitor: a browser context of their own and the distinctive data they upload."""

    word: str  # in every company name and domain: seeing it anywhere means seeing this person's data
    rows: int
    page: object = None
    ids: list[str] = field(default_factory=list)  # every workspace id this person has had

    @property
    def file_name(self) -> str:
        return f"{self.word.lower()}-customers.csv"

    @property
    def ws(self) -> str | None:
        return parse_qs(urlparse(self.page.url).query).get("ws", [None])[0]

    def write_csv(self, folder: Path, seed: int) -> Path:
        rng = np.random.default_rng(seed)
        industries = ["Fintech", "Retail", "Healthcare", "Logistics"]
        lines = ["Company name,Website,Industry,Employees,Country,ARR,Churned,NPS"]
        for i in range(1, self.rows + 1):
            lines.append(f"{self.word} Holding {i:03d},{self.word.lower()}{i:03d}.io,{rng.choice(industries)},"
                         f"{rng.integers(10, 5000)},{rng.choice(['US', 'DE', 'FR', 'GB'])},"
                         f"{rng.integers(5, 200) * 1000},{rng.choice(['Yes', 'No'], p=[.2, .8])},"
                         f"{rng.integers(-50, 90)}")
        path = folder / self.file_name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def html(self) -> str:
        """Everything the browser holds for the page (text, attributes, the data grids' cells) and the URL."""
        return (self.page.content() + self.page.url).lower()


def at_once(people, action) -> None:
    """Start the action in every context before waiting for any: the server runs the reruns together.
    Like harness.settle, with its pause for the rerun to begin taken once for all."""
    for person in people:
        action(person)
    people[0].page.wait_for_timeout(300)
    for person in people:
        person.page.wait_for_selector(RUN_DONE, timeout=120_000)


def nav(person: Person, title: str) -> None:
    person.page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def sidebar_text(person: Person) -> str:
    return person.page.get_by_test_id("stSidebar").inner_text()


def rename(person: Person, name: str) -> None:
    """Rename the workspace in the sidebar, and wait for the rerun after it to show the name."""
    sidebar = person.page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Rename").click()
    person.page.get_by_label("New name").fill(name)
    person.page.get_by_role("button", name="Save name").click()
    sidebar.get_by_text(name, exact=True).wait_for(timeout=120_000)
    settle(person.page)


def sidebar_lists(person: Person) -> list[str]:
    """The sidebar's lines for the workspace's lists: `<kind>: <n> rows · <file>`."""
    return [line for line in sidebar_text(person).splitlines() if " rows · " in line]


def assert_nothing_of(seen: Person, other: Person, where: str, html: str | None = None) -> None:
    html = html or seen.html()
    assert other.word.lower() not in html, f"{other.word}'s companies shown to {seen.word} on {where}"
    assert other.file_name not in html, f"{other.word}'s file name shown to {seen.word} on {where}"
    for ws in other.ids:
        assert ws.lower() not in html, f"{other.word}'s workspace id shown to {seen.word} on {where}"


def test_two_people_at_once_each_see_only_their_own_workspace(server, browser, tmp_path):
    # The demo template is built once per data folder; building it here first keeps both first
    # visits (and the third visitor's) from each spending ~15 s on it.
    template_path(server.data_dir)
    before = set(server.data_dir.glob("*.duckdb"))  # the other modules' workspaces, on the same server
    amber, blue = Person("Ambertide", 37), Person("Bluefjord", 58)
    people = [amber, blue]
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in people]
    try:
        for person, context in zip(people, contexts, strict=True):
            person.page = context.new_page()

        # Both land without a link: both read the shared demo, and no copy is made.
        at_once(people, lambda p: p.page.goto(server.url))
        for person in people:
            assert person.ws is None
            assert person.page.get_by_test_id("stSidebar").get_by_text(DEMO_NAME).is_visible()
        assert set(server.data_dir.glob("*.duckdb")) == before

        # Amber renames the demo: the change makes a copy of hers; Blue still reads the demo as it was.
        rename(amber, "Ambertide demo")
        assert amber.ws is not None and "Ambertide demo" in sidebar_text(amber)
        amber.ids.append(amber.ws)
        blue.page.reload()
        settle(blue.page)
        assert blue.ws is None and blue.page.get_by_test_id("stSidebar").get_by_text(DEMO_NAME).is_visible()
        assert_nothing_of(blue, amber, "the shared demo after Amber's change")

        # Both start a new, empty workspace.
        at_once(people, lambda p: p.page.get_by_role("button", name="New workspace").click())
        for person in people:
            # The click's run switches workspace and reruns: wait for the rerun's sidebar, not the click's.
            person.page.get_by_test_id("stSidebar").get_by_text("My workspace", exact=True).wait_for(timeout=120_000)
            settle(person.page)
            assert person.ws is not None and person.ws not in person.ids
            person.ids.append(person.ws)
            assert "My workspace" in sidebar_text(person)
            assert "No lists yet" in sidebar_text(person)
        assert amber.ws != blue.ws

        # Both upload their own list on the Data page.
        at_once(people, lambda p: nav(p, "1. Data"))
        files = {p.word: p.write_csv(tmp_path, seed) for seed, p in enumerate(people)}
        at_once(people, lambda p: p.page.locator("input[type=file]").first.set_input_files(str(files[p.word])))
        at_once(people, lambda p: p.page.get_by_role("button", name="Load as customers").click())
        for person, other in ((amber, blue), (blue, amber)):
            page = person.page
            assert person.ws == person.ids[-1], "the upload went to another workspace"
            assert page.get_by_text(f"{person.file_name}: {person.rows} customers loaded.").is_visible()
            assert f"customers: {person.rows} rows · {person.file_name}" in sidebar_text(person)
            assert f"{other.rows} rows" not in sidebar_text(person)
            assert page.get_by_test_id("stException").count() == 0

        # The preview grid holds the rows as uploaded (the cells on screen are in the page): own companies only.
        at_once(people, lambda p: p.page.get_by_role("tab", name="Preview").click())
        for person, other in ((amber, blue), (blue, amber)):
            html = person.html()
            assert f"{person.word} holding 001".lower() in html
            assert_nothing_of(person, other, "Data / Preview", html)

        # Every page, both at once: no errors, own data where shown, nothing of the other's anywhere.
        own_seen = {p.word: set() for p in people}
        for title, _ in PAGES:
            at_once(people, lambda p, title=title: nav(p, title))
            for person, other in ((amber, blue), (blue, amber)):
                page = person.page
                assert page.get_by_test_id("stException").count() == 0, (person.word, title)
                assert person.ws == person.ids[-1], f"{person.word} lost their workspace on {title}"
                assert f"customers: {person.rows} rows" in sidebar_text(person), (person.word, title)
                html = person.html()
                assert_nothing_of(person, other, title, html)
                if person.word.lower() in html:
                    own_seen[person.word].add(title)
        # The targets table (customers are the targets here) lists each person's own companies.
        for person in people:
            assert "7. Targets" in own_seen[person.word], own_seen

        # A third visitor without a link reads the demo as it was: nothing of either person's changes.
        third = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(third)
        newcomer = Person("Newcomer", 0, page=third.new_page())
        newcomer.page.goto(server.url)
        settle(newcomer.page)
        assert newcomer.ws is None
        assert newcomer.page.get_by_test_id("stSidebar").get_by_text(DEMO_NAME).is_visible()
        demo_lists = sidebar_lists(newcomer)
        assert [line.split(":")[0] for line in demo_lists] == ["customers", "deals", "universe"], demo_lists
        for other in people:
            assert_nothing_of(newcomer, other, "Start (fresh visitor)")
        # Their first change makes a demo of their own: none of the others' workspaces.
        rename(newcomer, "Newcomer demo")
        assert newcomer.ws is not None and newcomer.ws not in amber.ids + blue.ids
        assert "Newcomer demo" in sidebar_text(newcomer)
        for other in people:
            assert_nothing_of(newcomer, other, "Start (fresh visitor's own demo)")
    finally:
        for context in contexts:
            context.close()
