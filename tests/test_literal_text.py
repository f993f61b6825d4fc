"""Text from data is never read as markdown: file, sheet and workspace names, headers, values,
company names and the engine's sentences that quote them render as the characters they are, on
every page and in the sidebar. (The browser test, tests/e2e/test_literal_text.py, proves it in
Streamlit's own renderer, with a listener that would see any image the browser fetched.)"""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from tests.literal_text import Pieces, hostile_workspace, shown, shown_on
from ui.settings import working_icp
from ui.text import WORD_JOINER, literal

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(f"views/{p.name}" for p in (ROOT / "views").glob("*.py"))
HOST = "http://127.0.0.1:9"

# Streamlit renders these string fields as markdown wherever they are (alerts, markdown, captions,
# headings, toasts, metrics, every widget's label and help, expanders, status boxes, tabs, popovers)...
_MARKDOWN_FIELDS = {"body", "label", "help"}
# ...except in these, which show their text as it is.
_NOT_MARKDOWN = {"Html", "Json", "Text", "SubtitleTrack", "Code", "Exception"}
# Options are markdown in radios, select sliders and segmented controls or pills (ButtonGroup), not
# in selectboxes and multiselects.
_MARKDOWN_OPTIONS = {"Radio": "options", "Slider": "options", "Option": "content"}


def _strings(message, found: list[str]) -> list[str]:
    kind = message.DESCRIPTOR.name
    for field, value in message.ListFields():
        values = list(value) if field.is_repeated else [value]
        if field.type == field.TYPE_MESSAGE:
            for v in values:
                _strings(v, found)
        elif field.type == field.TYPE_STRING and kind not in _NOT_MARKDOWN and (
                field.name in _MARKDOWN_FIELDS or _MARKDOWN_OPTIONS.get(kind) == field.name):
            found += values
    return found


def markdown_sources(at: AppTest) -> list[str]:
    """Every string the page and the sidebar hand to Streamlit's markdown renderer."""
    found: list[str] = []
    nodes = [at._tree]
    while nodes:
        node = nodes.pop()
        if getattr(node, "proto", None) is not None:
            _strings(node.proto, found)
        nodes += list(getattr(node, "children", {}).values())
    return found


def assert_nothing_is_markdown(sources: list[str], pieces: Pieces) -> None:
    """Every piece of markdown appears, if at all, only in its escaped form."""
    for source in sources:
        rest = source
        for piece in pieces.all:
            rest = rest.replace(literal(piece), "")
        left = [m for m in Pieces.MARKERS if m in rest]
        assert not left, f"{left} reach markdown unescaped in: {source!r}"


def app(workspace: Workspace) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ws"] = workspace.id
    return at


# -- the function ---------------------------------------------------------------------------------

OPENERS = set("\\`*_~[]()!<>&#|$:{}")


@pytest.mark.parametrize("text", [
    "cust` [x](http://127.0.0.1:9/l) ![i](http://127.0.0.1:9/a.png) `.csv",
    "**b** __u__ *i* _i_ ~~s~~ ~s~ `c` ``c`` <img src=x> <http://x.io> &amp; &#58; \\[x\\] a\\b",
    ":red[x] :blue-background[y] :material/home: :smile: :streamlit: $x^2$ $$y$$ {#id .class}",
    "a | b | c", "www.example.com a@b.co mailto:a@b.co HTTPS://X.IO",
])
def test_literal_escapes_everything_that_opens_markdown(text):
    escaped = literal(text)
    assert shown(escaped) == text
    # With every escaped pair taken out, nothing that opens markdown is left.
    assert not OPENERS & set(re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)), escaped


@pytest.mark.parametrize("text", ["- item", "+ item", "* item", "# heading", "> quote", "= underline", "1. item",
                                  "12) item"])
def test_literal_escapes_a_block_marker_at_the_start(text):
    # The text may follow a template's "- " list marker, where a marker of its own would nest a block.
    marker = text.split(" ")[0]
    assert literal(text).startswith(f"{marker[:-1]}\\{marker[-1]}")
    assert shown(literal(text)) == text


def test_literal_splits_what_is_found_after_the_escapes_are_resolved():
    # GFM's bare links, Streamlit's icons, logo and arrows are found in the text left once escapes
    # are resolved; a word joiner splits each.
    text = "see http://a.io, https://b.io, www.c.io, d@e.io, :material/home: :material_home: :streamlit: a -> b"
    escaped = literal(text)
    for split in ("http\\:", "https\\:", "www", "@", "\\:", "-"):
        assert split + WORD_JOINER in escaped
    assert ":material" not in escaped and ":streamlit" not in escaped and "->" not in escaped
    assert shown(escaped) == text
    assert literal("x: y -x -- 3 >=4") == "x\\: y -x -" + WORD_JOINER + "- 3 \\>=4"  # only what would match


def test_literal_folds_line_breaks_and_indents_that_would_start_a_block():
    assert shown(literal("  a\n\n    b\r\nc  \n")) == "a b c"
    assert literal(42) == "42" and literal("") == ""


# -- the app --------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_names_and_values_as_written(page, tmp_path):
    pieces = Pieces(HOST)
    ws = hostile_workspace(pieces, tmp_path)
    at = app(ws).run()
    if page != "views/home.py":
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    sources = markdown_sources(at)
    assert_nothing_is_markdown(sources, pieces)
    for text in shown_on(Path(page).stem.replace("home", "start"), pieces):
        assert any(text in shown(s) for s in sources), f"{page} does not show {text!r}"


def test_an_upload_named_in_markdown_is_named_as_written_when_refused_and_when_loaded(tmp_path):
    pieces = Pieces(HOST)
    ws = Workspace.create("Mine")
    at = app(ws).run()
    at.switch_page("views/data.py").run()
    name = f"{pieces.link} {pieces.image} {pieces.html}.csv"
    for upload, content in ((f"empty {name}", b""), (name, b"Company name,ARR\nAcme,1000\nBeta,2000\n")):
        at.file_uploader[0].set_value((upload, content, "text/csv"))
        at.run()
        [load] = [b for b in at.button if b.label in ("Load as customers", "Replace the customers list")]
        load.click().run()
        assert not at.exception
        sources = markdown_sources(at)
        assert_nothing_is_markdown(sources, pieces)
        assert any(upload in shown(s) for s in sources), upload
    assert any(f"{name}: 2 customers loaded." in shown(s.value) for s in at.success)
    assert ws.report("customers").file == name


def test_an_icp_file_named_in_markdown_is_refused_by_its_name_as_written(tmp_path):
    pieces = Pieces(HOST)
    ws = hostile_workspace(pieces, tmp_path)
    at = app(ws).run()
    at.switch_page("views/export.py").run()
    name = f"{pieces.image} {pieces.bold}.json"
    at.file_uploader(key="icp_upload").set_value((name, b'{"schema_version": 1, "extra": 1}', "application/json"))
    at.run()
    [b for b in at.button if b.label == "Use this ICP"][0].click().run()
    sources = markdown_sources(at)
    assert_nothing_is_markdown(sources, pieces)
    assert any(name in shown(e.value) and "current ICP was kept" in e.value for e in at.error)
    assert working_icp(ws).name != name
