"""Text that must never be read as markdown: a workspace full of it, and what a reader sees of
ui.text.literal's output.

Every piece of markdown below points at `host` (the browser test's loopback listener): a link, an
image, raw HTML with an image, bold, a code span, a Streamlit colour directive and math. The pieces
are in the workspace name and the file names (so the sidebar shows all of them on every page), a
column header, category values (industry and that column), company names (two rows of one domain,
so a note quotes the merged names) and an ARR value that cannot be read (so a note quotes it). Best
customers are in the markdown industry, so the Patterns headline quotes it; the ICP wants the
markdown column, which the universe lacks, so the ICP, Market and Targets pages warn about it by its
header.
"""

import random
import re
from dataclasses import dataclass
from pathlib import Path

from icp.data.workspace import Workspace
from ui.text import WORD_JOINER

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """The text a markdown renderer shows for `literal`'s output: CommonMark's backslash escapes
    resolved, the invisible word joiners left out."""
    return _ESCAPED.sub(r"\1", markdown).replace(WORD_JOINER, "")


@dataclass(frozen=True)
class Pieces:
    host: str

    @property
    def link(self) -> str:
        return f"[zlink]({self.host}/l)"

    @property
    def image(self) -> str:
        return f"![zimg]({self.host}/a.png)"

    @property
    def html(self) -> str:
        return f"<img src={self.host}/b.png>"

    bold = "**zbold**"
    tick = "`ztick`"
    color = ":red[zred]"
    math = "$zmath$"

    @property
    def all(self) -> list[str]:
        return [self.link, self.image, self.html, self.bold, self.tick, self.color, self.math]

    # What identifies each piece in any form (its text, its address): seen anywhere outside the
    # piece's escaped form, the piece reached markdown as it was written.
    MARKERS = ("zlink", "zimg", "b.png", "zbold", "ztick", "zred", "zmath")

    @property
    def workspace_name(self) -> str:
        return f"Team {self.link} {self.image} {self.bold} {self.tick}"

    @property
    def customers_file(self) -> str:
        return f"cust` {self.link} {self.image} `.csv"

    @property
    def universe_file(self) -> str:
        return f"market {self.html} {self.color} {self.math}.csv"

    @property
    def column(self) -> str:
        return f"Plan {self.link} {self.bold}"

    @property
    def industry(self) -> str:
        return f"Fintech {self.image} {self.bold} {self.color}"

    @property
    def plan(self) -> str:
        return f"Gold {self.link} {self.tick} {self.math}"

    @property
    def unreadable(self) -> str:
        return self.link

    def company(self, i: int) -> str:
        return f"Acme {i} {self.bold} {self.html}"


def shown_on(page: str, p: Pieces) -> list[str]:
    """What a page ("start", "data", ... as the views are named) shows of the data as written, in
    markdown: the sidebar on every page, and the page's own sentences."""
    carried = [f"“{p.column}”"]  # the universe lacks the ICP's column: a warning names it
    return [p.workspace_name, p.customers_file, p.universe_file] + {
        "data": [p.company(101), f"'{p.unreadable}'", f"from {p.customers_file},"],
        "patterns": [p.industry],
        "icp": carried,
        "market": [*carried, p.industry],
        "targets": carried,
    }.get(page, [])


def customers_csv(p: Pieces) -> str:
    rng = random.Random(3)
    lines = [f"Company name,Website,Industry,Employees,ARR,Churned,{p.column}"]
    for i in range(200):
        best = i < 60
        industry = p.industry if (rng.random() < (0.95 if best else 0.05)) else rng.choice(["Retail", "Health", "Energy"])
        plan = p.plan if rng.random() < (0.7 if best else 0.25) else rng.choice(["Basic", "Pro"])
        arr = p.unreadable if i == 150 else rng.randint(80, 200) * 1000 if best else rng.randint(5, 40) * 1000
        site = "dup.io" if i in (101, 102) else f"a{i}.io"
        churned = "Yes" if rng.random() < (0.05 if best else 0.3) else "No"
        lines.append(f"{p.company(i)},{site},{industry},{rng.randint(10, 900)},{arr},{churned},{plan}")
    return "\n".join(lines) + "\n"


def universe_csv() -> str:
    return "Company name,Website,Employees,Industry\n" + "".join(
        f"U{i},u{i}.io,{i * 7 % 900 + 10},{['Retail', 'Health', 'Energy'][i % 3]}\n" for i in range(300))


def hostile_workspace(p: Pieces, files: Path, folder: Path | None = None) -> Workspace:
    (files / "customers.csv").write_text(customers_csv(p), encoding="utf-8")
    (files / "universe.csv").write_text(universe_csv(), encoding="utf-8")
    workspace = Workspace.create(p.workspace_name, folder)
    workspace.add_list("customers", files / "customers.csv", display_name=p.customers_file)
    workspace.add_list("universe", files / "universe.csv", display_name=p.universe_file)
    return workspace
