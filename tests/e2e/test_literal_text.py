"""In Chromium, text from data is shown as written and never makes the browser call out.

A loopback listener stands in for an outside server: the workspace's names, headers and values are
markdown links, images and raw HTML pointing at it (tests/literal_text.py). Every page is visited;
the listener must see no connection at all, no page may hold a link, image, bold, code, colour or
math made from the data, and the pieces must be on the page as the characters they are. A second
test checks ui.text.literal against Streamlit's own renderer, in every kind of element that reads
markdown.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.harness import CHROMIUM, PAGES, Server, open_page, settle
from tests.literal_text import Pieces, hostile_workspace, shown_on
from ui.text import WORD_JOINER

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

# What markdown would make of the pieces: an element holding just the piece's text (the app's own
# markdown, a bold workspace name, say, may hold more).
FROM_PIECES = {"a": "zlink", "img": None, "strong": "zbold", "code": "ztick", "span[style*=color]": "zred",
               ".katex": "zmath"}
MARKDOWN = "[data-testid=stMarkdownContainer], [data-testid=stCaptionContainer]"
# In the probe, whose only markdown is the escaped texts, none of these may be anywhere.
MADE = (f":is({MARKDOWN}) :is(a, img, strong, em, code, del, h1, h2, h3, h4, h5, h6, ul, ol, li, blockquote, table, "
        "hr, .katex, span[style*=color], span[role=img])")


class Listener(ThreadingHTTPServer):
    """Counts every connection made to it, whatever the request (or none) that follows."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Answer)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def verify_request(self, request, client_address) -> bool:
        self.connections += 1
        return True


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _text(locator) -> str:
    # text_content includes the tabs not shown; the word joiners literal() puts into the text are invisible.
    return (locator.text_content() or "").replace(WORD_JOINER, "")


def test_no_page_fetches_or_links_what_the_data_says(server, page, tmp_path, listener):
    pieces = Pieces(listener.url)
    workspace = hostile_workspace(pieces, tmp_path, folder=server.data_dir)
    page.goto(f"{server.url}/?ws={workspace.id}")
    settle(page)
    for title, slug in PAGES:
        if title != "Start":
            open_page(page, title)
        for _ in range(60):  # once the page's elements are mounted, any image they hold has been asked for
            shown = _text(page.get_by_test_id("stApp"))
            missing = [text for text in shown_on(slug, pieces) if text not in shown]
            if not missing:
                break
            page.wait_for_timeout(500)
        assert not missing, f"{title} does not show {missing}"
        for selector, marker in FROM_PIECES.items():
            made = page.locator(MARKDOWN).locator(selector)
            if marker is not None:
                made = made.filter(has_text=re.compile(rf"^\s*{marker}\s*$"))
            assert made.count() == 0, f"{title}: {made.first.evaluate('e => e.outerHTML')}"
        assert page.locator(f"[src*='{listener.url}'], [href*='{listener.url}']").count() == 0, title
        sidebar = page.get_by_test_id("stSidebar").inner_text().replace(WORD_JOINER, "")
        assert f"![zimg]({listener.url}/a.png)" in sidebar, title
        if slug == "patterns":  # the headline quotes the industry, image and all
            headline = page.get_by_test_id("stAlert").filter(has_text="![zimg](").first
            assert headline.is_visible() and pieces.industry in headline.inner_text().replace(WORD_JOINER, "")
    page.wait_for_timeout(1000)  # for a late fetch
    assert listener.connections == 0


# Every kind of element that reads markdown, each given literal(text) as its label or body.
PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import streamlit as st
from ui.text import literal

texts = json.loads({texts!r})
for i, text in enumerate(texts):
    st.markdown(literal(text))
    st.markdown(literal(f"markdown {{i}} {{text}}"))
    st.caption(literal(f"caption {{i}} {{text}}"))
    st.info(literal(f"info {{i}} {{text}}"))
    st.metric(literal(f"metric {{i}} {{text}}"), 1, help=literal(f"help {{i}} {{text}}"))
    st.button(literal(f"button {{i}} {{text}}"))
    st.checkbox(literal(f"checkbox {{i}} {{text}}"))
    st.radio("radio", [literal(f"radio {{i}} {{text}}")])
    st.segmented_control("segmented", [literal(f"segmented {{i}} {{text}}")])
    with st.expander(literal(f"expander {{i}} {{text}}")):
        st.write("inside")
    st.tabs([literal(f"tab {{i}} {{text}}")])
"""
KINDS = ["markdown", "caption", "info", "metric", "button", "checkbox", "radio", "segmented", "expander", "tab"]


def test_literal_text_renders_as_itself_in_streamlit(browser, tmp_path, listener):
    pieces = Pieces(listener.url)
    texts = [*pieces.all, " ".join(pieces.all), "cust` [x](y) `.csv", "- item", "+ item", "1. item", "12) item",
             "# heading", "> quote", "= underline", "a | b | c", "__u__ *i* _i_ ~s~ ``c`` &amp; &#58; \\[x\\] a\\b",
             ":blue-background[y] :material/home: :material_home: :smile: :+1: :streamlit: $$y$$ {#id .class} 12:30",
             "a -> b <- c <-> d -- e >= f <= g ~= h", "-> x", "x --",
             f"www.example.com a@b.co mailto:a@b.co {listener.url.upper()}/X"]
    script = tmp_path / "probe.py"
    script.write_text(PROBE.format(root=str(Path(__file__).resolve().parents[2]), texts=json.dumps(texts)))
    wanted = [*texts, *(f"{kind} {i} {text}" for i, text in enumerate(texts) for kind in KINDS)]
    probe = Server(tmp_path, script=str(script))
    probe.start()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(probe.url)
        settle(page)
        for _ in range(60):  # a few hundred elements may still be mounting once the script has finished
            page.wait_for_timeout(500)
            rendered = set(page.locator(MARKDOWN).evaluate_all("all => all.map(e => e.textContent)"))
            missing = [text for text in wanted if text not in {r.replace(WORD_JOINER, "") for r in rendered}]
            if not missing:
                break
        assert page.locator(MADE).count() == 0, page.locator(MADE).first.evaluate("e => e.outerHTML")
        page.close()
    finally:
        probe.stop()
    assert not missing, missing  # alone too, where a block marker at the start would count
    assert listener.connections == 0
