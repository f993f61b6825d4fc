"""The ICP one-pager PDF, read back with pypdf: what it says must be what the ICP and the market say."""

import io
import struct
from dataclasses import replace

import altair as alt
import pandas as pd
import pytest
from pypdf import PdfReader

from icp.draft import draft_icp
from icp.errors import IcpError
from icp.model import Criterion, Persona, Template, describe
from icp.pdf import CUT, MAX_CRITERIA, chart_png, first_page_png, gather, one_pager, render_one_pager
from icp.workspace import Workspace

A4 = (595.28, 841.89)  # points
LETTER = (612.0, 792.0)
NAMES = ("São Paulo", "Zürich", "株式会社")


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    """The demo workspace, its drafted ICP, the gathered parts and the PDF (built once: it takes seconds)."""
    workspace = Workspace.copy_of(demo_template, "Demo", folder=tmp_path_factory.mktemp("pdf"))
    icp = draft_icp(workspace)
    return workspace, icp, gather(workspace, icp), one_pager(workspace, icp)


def _read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def _text(reader: PdfReader) -> str:
    """All pages' text with runs of white space as one space: a wrapped line reads as one."""
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _size(reader: PdfReader) -> tuple[float, float]:
    box = reader.pages[0].mediabox
    return float(box.width), float(box.height)


def _hostile() -> str:
    """Long text with everything a pasted document brings: accents, CJK, emoji, control and
    bidi characters, and a 'word' far wider than a column."""
    return ("Café Zürich São Paulo 株式会社 " + "pain point " * 40 + "\x00\u202e\r\n evil 😀 "
            + "x" * 400 + " ") * 8


def test_demo_one_pager_shows_the_criteria_the_sam_and_charts(demo):
    _, icp, content, pdf = demo
    reader = _read(pdf)
    text = _text(reader)
    assert 1 <= len(reader.pages) <= 2
    assert _size(reader) == pytest.approx(A4, abs=0.5)
    for criterion in icp.criteria:
        assert " ".join(describe(criterion).split()) in text
    assert content.market is not None
    assert f"{content.market.sam.accounts:,}" in text
    assert f"{content.market.som.accounts:,}" in text
    assert icp.data_fingerprint and icp.data_fingerprint in text
    assert f"Version {icp.version}" in text
    assert content.backtest and content.backtest.split(":")[0] in text
    assert len(reader.pages[0].images) >= 1  # the charts are pictures, rendered by vl-convert
    assert "Tier 1" in text and "Negative profile" in text


def test_demo_one_pager_fits_on_one_page(demo):
    # The demo is the showcase of the layout (docs/one-pager.png): dense enough for one page.
    assert len(_read(demo[3]).pages) == 1


def test_first_page_as_a_picture(demo):
    png = first_page_png(demo[3], dpi=40)
    assert png.startswith(b"\x89PNG")
    width, height = struct.unpack(">II", png[16:24])
    assert height / width == pytest.approx(A4[1] / A4[0], rel=0.02)


def test_letter_size(demo):
    workspace, icp, _, _ = demo
    reader = _read(one_pager(workspace, icp, page_size="Letter"))
    assert _size(reader) == pytest.approx(LETTER, abs=0.5)
    assert 1 <= len(reader.pages) <= 2
    assert describe(icp.criteria[0]) in _text(reader)


def test_any_other_page_size_is_refused(demo):
    with pytest.raises(IcpError, match="A4 or Letter"):
        render_one_pager(demo[2], "A3")  # type: ignore[arg-type]


def test_non_latin_names_print(demo):
    _, icp, content, _ = demo
    city = Criterion(attribute="city", label="City", kind="in_set", values=NAMES, role="nice")
    named = icp.model_copy(update={"name": "Café Zürich 株式会社 ICP", "criteria": (*icp.criteria, city)})
    segments = pd.DataFrame({"city": list(NAMES), "accounts": [5, 3, 2], "best_customers": [2, 1, 1],
                             "value_mean": [1.0, 2.0, 3.0], "win_rate": [0.2, 0.3, 0.4],
                             "churn_rate": [0.1, 0.1, 0.1], "score": [90.0, 50.0, 20.0], "rank": [1, 2, 3]})
    pdf = render_one_pager(replace(content, icp=named, segments=segments, segment_dimensions=("city",),
                                   segment_labels={"city": "City"}))
    reader = _read(pdf)
    text = _text(reader)
    for name in NAMES:
        assert name in text
    assert "Café Zürich 株式会社 ICP" in text
    fonts = {str(font.get_object()["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("DroidSansFallback" in font for font in fonts), fonts


def test_latin_only_text_does_not_embed_the_cjk_font(demo):
    reader = _read(demo[3])
    fonts = {str(font.get_object()["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert fonts and not any("Droid" in font for font in fonts)


def test_chart_labels_print_cjk():
    """With no CJK glyph every character is the same box, so two orders of the same characters
    render to the same picture; with the bundled fallback they differ."""
    def picture(label: str) -> bytes:
        return chart_png(alt.Chart(pd.DataFrame({"t": [label]})).mark_text(fontSize=30).encode(text="t:N"))

    assert picture("株式会社") != picture("社会式株")


def _text_positions(reader: PdfReader) -> list[tuple[float, float]]:
    positions = []
    for page in reader.pages:
        def visit(text, cm, tm, font, size, found=positions):
            if text.strip():
                found.append((tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))
        page.extract_text(visitor_text=visit)
    return positions


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_long_and_hostile_text_stays_within_two_pages(demo, page_size):
    _, icp, content, _ = demo
    long = _hostile()
    evidence = icp.criteria[0].evidence.model_copy(update={"sentence": long})
    roles = ("must", "nice", "disqualify")
    criteria = tuple(Criterion(attribute=f"a{i}", label=f"Label {i} " + "long " * 30, kind="in_set",
                               values=tuple(f"Value {j} {NAMES[j % 3]}" for j in range(40)),
                               role=roles[i % 3], evidence=evidence) for i in range(40))
    template = Template(segment_description=long, negative_description=long, goals=long, challenges=long,
                        pain_points=long, watering_holes=long,
                        personas=tuple(Persona(title=long[:300], department="Ops", seniority="VP") for _ in range(30)))
    hostile = icp.model_copy(update={"name": long, "criteria": criteria, "template": template,
                                     "data_fingerprint": long[:200]})
    pdf = render_one_pager(replace(content, icp=hostile, backtest=long, tier_source=long), page_size)
    reader = _read(pdf)
    text = _text(reader)
    assert len(reader.pages) <= 2
    assert CUT in text
    assert f"and {len(criteria) - MAX_CRITERIA} more criteria" in text
    # Every role keeps rows when the list is cut: the negative profile is never pushed off.
    assert all(word in text for word in ("Must", "Nice", "Disqualify"))
    width, height = _size(reader)
    for x, y in _text_positions(reader):
        assert 0 <= x <= width and 0 <= y <= height


def test_missing_parts_are_said_not_drawn(demo):
    _, icp, content, _ = demo
    empty = icp.model_copy(update={"criteria": (), "template": Template()})
    bare = replace(content, icp=empty, market=None, tiers=None, backtest=None, findings=None, segments=None,
                   notes={"market": "There is no universe list to size the market from."})
    text = _text(_read(render_one_pager(bare)))
    assert "No criteria yet" in text
    assert "There is no universe list" in text
    assert "Not written yet: goals" in text


def test_a_workspace_without_a_universe_still_gets_a_pdf(demo, demo_template, tmp_path):
    icp = demo[1]
    workspace = Workspace.copy_of(demo_template, "Demo", folder=tmp_path)
    workspace.remove_list("universe")
    reader = _read(one_pager(workspace, icp))
    text = _text(reader)
    assert 1 <= len(reader.pages) <= 2
    assert "No SAM or SOM" in text and "universe list" in text
    assert describe(icp.criteria[0]) in text
    assert len(reader.pages[0].images) >= 1


def test_a_workspace_without_any_list_still_gets_a_pdf(demo, tmp_path):
    icp = demo[1]
    text = _text(_read(one_pager(Workspace.create("Empty", folder=tmp_path), icp)))
    assert describe(icp.criteria[0]) in text
    assert "There are no customers" in text and "No SAM or SOM" in text
