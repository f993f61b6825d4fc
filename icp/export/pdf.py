"""The ICP one-pager (the Export step): criteria with their evidence, the negative
profile, the template text, a segment chart and a lift chart, SAM/SOM with assumptions, tier
counts, the backtest line and the best Tier 1 accounts by name, on one page (two at most), A4 or
Letter. It is written for a sales reader: template fields nobody wrote are left out rather than
printed as placeholders, and the data fingerprint stays in the app and icp.json.

`one_pager` gathers the parts from a workspace; `render_one_pager` lays out parts already computed,
so any text can be fed to it. Every block of text has a line budget (a sentence read as a whole,
such as the backtest's, is first set smaller) and is cut with a note past it, and the layout places
each block only where it fits whole: however long the text, the page never overflows and the
document stays within two pages.

Charts are the app's own Altair charts (icp/export/charts.py) rendered to PNG by vl-convert. The fonts
are bundled in icp/export/fonts (DejaVu Sans, Droid Sans Fallback for CJK) and used by both the PDF and
the charts, so "Zürich" and "株式会社" print the same on any machine.
"""

import functools
import io
import struct
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

import altair as alt
import pandas as pd
import pypdfium2
import vl_convert
from fpdf import FPDF

from icp.analysis import find_patterns, findings_frame, rule_segments, segment_options
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.export.charts import BEST, NEGATIVE, lift_chart, segment_chart
from icp.market.sizing import MarketFigure, MarketSize, market_size, no_icp_yet
from icp.market.targets import TIERS, backtest, target_source, targets_page, tier_summary
from icp.market.validation import Validation, saved_validation, validate
from icp.numbers import count, money, percent
from icp.profile.carry import carry_report
from icp.profile.carry import warnings as carry_warnings
from icp.profile.model import ICP, Criterion, describe

FONT_DIR = Path(__file__).parent / "fonts"
PageSize = Literal["A4", "Letter"]
PAGE_SIZES: tuple[str, ...] = ("A4", "Letter")

_FONT, _FALLBACK = "DejaVu", "DroidFallback"
# The charts name both families: a label with CJK then does not depend on the renderer's own
# fallback search, which would pick whatever the machine happens to have installed.
_CHART_FONT = "DejaVu Sans, Droid Sans Fallback"

NAVY, INK, MUTED, RULE = "#1e3a8a", "#111827", "#6b7280", "#d1d5db"
_ROLE_LABEL = {"must": "Must", "nice": "Nice", "disqualify": "Disqualify"}
_ROLE_COLOR = {"must": NAVY, "nice": BEST, "disqualify": NEGATIVE}
_ROLE_ORDER = {"must": 0, "nice": 1, "disqualify": 2}

CUT = "… (continued in the app)"
_CELL_CUT = "…"
BODY = 7.2  # pt
_LINE = 3.2  # mm per line of body text
_MARGIN = 10.0
_BOTTOM = 12.0  # leaves room for the footer
_BAND = 19.0  # header band height
_GAP = 6.0  # between columns
# What fpdf2 replaces with the page count as it closes the document: its default, "{nb}", was
# replaced inside data too ("{nb} GmbH" printed as "1 GmbH"). Every printed string goes through
# `_clean`, which turns NUL into a space, so no data can hold this. fpdf2 sets aside three digits
# for "{nb}" and one per character for any other alias: three characters keep the footer in place.
_PAGE_COUNT = "\x00n\x00"
_TITLE_CHARS = 200  # of the document title in the PDF's properties

# Budgets that keep any ICP within two pages: page 1 holds at most the header, the descriptions
# and the criteria table (~200 mm), page 2 the market/template columns and the charts (~185 mm).
MAX_CRITERIA = 18
_DESCRIPTION_LINES = 5
_CELL_LINES = 2
_FIELD_LINES = 3
_CHART_MAX, _CHART_MIN = 68.0, 42.0  # mm; a chart shrinks to the room left on the page, down to the minimum
_SEGMENTS_SHOWN = 15  # top-ranked segments in the chart: more would shrink its labels below legibility
_FINDINGS_SHOWN = 10
_TOP_ACCOUNTS = 10  # named Tier 1 accounts at the foot of the page, as many as fit
_SHRINK_STEP = 0.3  # pt: a text that may shrink tries sizes this far apart before it is cut
_LEAST = 6.0  # pt: the smallest body text, still legible in print


@dataclass(frozen=True)
class OnePagerContent:
    """Everything the one-pager shows, already computed. A part that could not be computed is None,
    with the reason in `notes` under the part's name (market, tiers, backtest, findings, segments)."""

    icp: ICP
    market: MarketSize | None = None
    tiers: pd.DataFrame | None = None  # tier_counts(): tier, accounts, share
    tier_source: str = ""  # which accounts the tiers count, in words (target_source)
    tier_limit: str = ""  # what caps the tiers when the tier rules cannot (targets.tier_limit)
    backtest: str | None = None  # the backtest's verdict
    # the best Tier 1 accounts by fit score (targets_page: account_name, domain, icp_fit_score, icp_reasons)
    top_accounts: pd.DataFrame | None = None
    validation: str | None = None  # the out-of-sample check's sentence (icp.market.validation)
    stability: str = ""  # how many drafted criteria held in most folds, in words
    # the ICP in the other lists: where a criterion is read from a column named otherwise or in
    # another unit, and every warning about it (no column, low coverage, a suspected unit)
    carried: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    findings: pd.DataFrame | None = None  # findings_frame() of best customers against the rest
    segments: pd.DataFrame | None = None  # rule_segments() by segment_dimensions, best rank first
    segment_dimensions: tuple[str, ...] = ()
    segment_labels: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    printed: date = field(default_factory=date.today)


# -- gathering ---------------------------------------------------------------------------------------

T = TypeVar("T")
_NO_CUSTOMERS = "There are no customers (or orders) in this workspace: upload them on the Data page."


def _attempt(notes: dict[str, str], part: str, compute: Callable[[], T]) -> T | None:
    """The part, or None with the user-facing reason noted: a missing list costs one section, not the PDF."""
    try:
        return compute()
    except IcpError as err:
        notes.setdefault(part, str(err))
        return None


def gather(workspace: Workspace, icp: ICP) -> OnePagerContent:
    """The one-pager's parts from a workspace, each optional (no universe: no SAM/SOM, and a note why)."""
    notes: dict[str, str] = {}
    segments = findings = None
    options: dict[str, str] = {}
    dimensions: tuple[str, ...] = ()
    if not workspace.has_customers():
        # Patterns and segments compare customers; without any there is nothing to chart.
        notes["findings"] = notes["segments"] = _NO_CUSTOMERS
    else:
        findings = _attempt(notes, "findings",
                            lambda: findings_frame(find_patterns(workspace, icp.success, "best")))
        options = _attempt(notes, "segments", lambda: {a.name: a.label for a in segment_options(workspace)}) or {}
        # The ICP's own segment dimensions where the data has them, else the first it has (as `icp build` does).
        dimensions = tuple(d for d in icp.segments.dimensions if d in options) or tuple(options)[:1]
        if dimensions:
            segments = _attempt(notes, "segments", lambda: rule_segments(
                workspace, icp.success, list(dimensions), icp.segments.weights, icp.segments.min_accounts))
        else:
            notes.setdefault("segments", "The customers have no attribute to segment by.")
    source = _attempt(notes, "tiers", lambda: target_source(workspace))
    checked = _attempt(notes, "validation", lambda: _validation(workspace, icp)) if workspace.has_customers() else None
    resolutions = _attempt(notes, "carried", lambda: carry_report(workspace, icp)) or []
    carried = tuple(f"{r.list.capitalize()}: {r.label} from “{r.column}”"
                    + (f" ×{r.factor:g}" if r.factor != 1 else "") + (" (linked by name)" if r.how == "linked" else "")
                    for r in resolutions if r.column is not None and (r.how != "same" or r.factor != 1))
    empty = no_icp_yet(icp)
    tiers, limit = _attempt(notes, "tiers", lambda: tier_summary(workspace, icp)) or (None, None)
    market = _attempt(notes, "market", lambda: market_size(workspace, icp))
    # The market's own warnings (no must criterion, small samples) lead; its carry warnings repeat
    # the list-by-list ones, shown once.
    cautions = tuple(dict.fromkeys(([empty] if empty else []) + list(market.warnings if market else ())
                                   + carry_warnings(resolutions)))
    return OnePagerContent(
        icp=icp,
        market=market,
        tiers=tiers,
        tier_source=source[1] if source else "",
        tier_limit=limit or "",
        backtest=_attempt(notes, "backtest", lambda: backtest(workspace, icp).verdict),
        top_accounts=None if empty else _attempt(
            notes, "top_accounts", lambda: targets_page(workspace, icp, tiers=[TIERS[0]], limit=_TOP_ACCOUNTS)[0]),
        validation=checked.sentence if checked else None,
        stability=_stability(checked) if checked else "",
        carried=carried,
        cautions=cautions,
        findings=findings,
        segments=segments,
        segment_dimensions=dimensions,
        segment_labels=options,
        notes=notes,
    )


def _validation(workspace: Workspace, icp: ICP) -> Validation:
    """The out-of-sample check for the ICP's success settings: kept in the workspace, else made now."""
    return saved_validation(workspace, icp.success) or validate(workspace, icp.success)


def _stability(checked: Validation) -> str:
    kept = [c for c in checked.criteria if c.kept]
    if not checked.criteria:
        return ""
    return (f"{len(kept)} of {len(checked.criteria)} drafted criteria held in most of {checked.folds} folds "
            f"({checked.method}); the others stay on the Patterns page.")


def one_pager(workspace: Workspace, icp: ICP, *, page_size: PageSize = "A4") -> bytes:
    """The ICP one-pager PDF of `icp` over the workspace's data."""
    return render_one_pager(gather(workspace, icp), page_size)


# -- text --------------------------------------------------------------------------------------------

def _clean(text: str) -> str:
    """Printable text: control and format characters (a stray NUL, a right-to-left override) and
    lone surrogates from a mis-decoded file become spaces instead of garbling the line."""
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\t", " ").replace("\r\n", "\n")
    return "".join(ch if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co") else " "
                   for ch in text)


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


# -- charts ------------------------------------------------------------------------------------------

@functools.cache
def _register_chart_fonts() -> None:
    # Once per process: vl-convert keeps its font database between calls.
    vl_convert.register_font_directory(str(FONT_DIR))


def for_print(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """An app chart as the PDF draws it: in the bundled fonts, labels a little larger, and at the
    width it asks for plus its labels. The app's charts fit their whole width, labels included, to
    the page: at the PDF's 220 px that left the lift plot 45 px."""
    return (chart.configure(font=_CHART_FONT)
            .configure_axis(labelFontSize=12, titleFontSize=12)
            .configure_legend(labelFontSize=11, titleFontSize=11)
            .properties(autosize=alt.AutoSizeParams(type="pad")))


def chart_png(chart: alt.TopLevelMixin) -> bytes:
    """An app chart as a PNG at twice its size, as `for_print` styles it."""
    _register_chart_fonts()
    return vl_convert.vegalite_to_png(for_print(chart).to_json(), scale=2)


def _png_size(png: bytes) -> tuple[int, int]:
    # Width and height are the first fields of the IHDR chunk, which a PNG always starts with.
    return struct.unpack(">II", png[16:24])


# -- layout blocks -----------------------------------------------------------------------------------
# A block measures its height at a width before it is drawn, so a row of columns is placed only
# where all of it fits; the renderer turns the page itself and never lets fpdf2 break mid-block.

class _Pdf(FPDF):
    """An FPDF with the bundled fonts, a footer, and `fit`, which every printed string goes through."""

    def __init__(self, page_size: str, footer: str):
        super().__init__(format=page_size)
        self.footer_text = footer
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(False, margin=_BOTTOM)
        self.alias_nb_pages(_PAGE_COUNT)
        self.add_font(_FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(_FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self._covered = set(self.fonts[_FONT.lower()].cmap) & set(self.fonts[_FONT.lower() + "B"].cmap)
        self._fallback = False

    def _cover(self, text: str) -> None:
        """Load the CJK fallback font on the first character DejaVu lacks. Parsing it takes a
        quarter of a second, which a document in Latin, Greek or Cyrillic script never pays."""
        if self._fallback or all(ord(ch) in self._covered for ch in text if not ch.isspace()):
            return
        self.add_font(_FALLBACK, "", FONT_DIR / "DroidSansFallbackFull.ttf")
        # Not an exact match: bold CJK prints in the regular fallback rather than not at all.
        self.set_fallback_fonts([_FALLBACK], exact_match=False)
        self._fallback = True

    def lines(self, text: str, width: float) -> list[str]:
        return self.multi_cell(width, text=text, align="L", dry_run=True, output="LINES")

    def fit(self, text: str, width: float, max_lines: int, more: str = CUT) -> tuple[str, int]:
        """`text` cleaned and wrapped at `width` in the current font, cut to `max_lines` lines, the
        last ending in `more` when cut; and the number of lines it takes."""
        text = _clean(text).strip()
        self._cover(text)
        # Wrapping a whole pasted document costs seconds, so a growing prefix is wrapped instead.
        # Line breaking is greedy: once a prefix wraps to two lines more than are kept, its first
        # `max_lines` lines are those of the whole text (only its last line can end mid-word).
        # A line holds at most about width / (a quarter em) characters: DejaVu's narrowest glyphs.
        prefix = int(width / (0.25 * self.font_size) + 1) * (max_lines + 2)
        lines = self.lines(text[:prefix], width) if text else []
        while len(lines) < max_lines + 2 and prefix < len(text):
            prefix *= 4
            lines = self.lines(text[:prefix], width)
        if len(lines) <= max_lines:
            return text, len(lines)
        last = lines[max_lines - 1]
        while last and len(self.lines(last.rstrip() + more, width)) > 1:
            # Whole words first; a line without spaces (CJK, a long URL) loses characters.
            last = last.rsplit(" ", 1)[0] if " " in last.strip() else last[:-1]
        return "\n".join([*lines[:max_lines - 1], last.rstrip() + more]), max_lines

    def line_of(self, text: str, width: float) -> str:
        return self.fit(text, width, 1, _CELL_CUT)[0]

    def footer(self) -> None:
        self.set_y(-_BOTTOM + 4)
        self.set_font(_FONT, "", 6)
        self.set_text_color(MUTED)
        self.cell(self.epw * 0.8, 3, self.line_of(self.footer_text, self.epw * 0.8))
        self.cell(self.epw * 0.2, 3, f"page {self.page_no()} of {_PAGE_COUNT}", align="R")


@dataclass
class _Text:
    text: str
    max_lines: int = _FIELD_LINES
    size: float = BODY
    style: str = ""
    color: str = INK
    more: str = CUT
    after: float = 1.0
    # The smallest size the text may shrink to before it is cut: a sentence read as a whole (the
    # backtest's verdict) is better a little smaller than ending "… (continued in the app)".
    least: float | None = None
    _fitted: dict[float, tuple[str, int, float]] = field(default_factory=dict, init=False, repr=False)

    def _fit(self, pdf: _Pdf, w: float) -> tuple[str, int, float]:
        if w not in self._fitted:
            whole, size = _clean(self.text).strip(), self.size
            while True:
                pdf.set_font(_FONT, self.style, size)
                text, lines = pdf.fit(self.text, w, self.max_lines, self.more)
                if text == whole or self.least is None or size - _SHRINK_STEP < self.least:
                    break
                size -= _SHRINK_STEP
            self._fitted[w] = text, lines, size
        pdf.set_font(_FONT, self.style, self._fitted[w][2])
        return self._fitted[w]

    def height(self, pdf: _Pdf, w: float) -> float:
        _, lines, size = self._fit(pdf, w)
        return lines * _LINE * size / BODY + self.after

    def draw(self, pdf: _Pdf, x: float, w: float) -> None:
        text, _, size = self._fit(pdf, w)
        pdf.set_text_color(self.color)
        pdf.set_x(x)
        if text:
            pdf.multi_cell(w, _LINE * size / BODY, text, align="L", new_x="LEFT", new_y="NEXT")
        pdf.set_y(pdf.get_y() + self.after)


_HEADING = 6.0  # mm


@dataclass
class _Heading:
    title: str

    def height(self, pdf: _Pdf, w: float) -> float:
        return _HEADING

    def draw(self, pdf: _Pdf, x: float, w: float) -> None:
        y = pdf.get_y() + 1
        pdf.set_font(_FONT, "B", 8.5)
        pdf.set_text_color(NAVY)
        pdf.set_xy(x, y)
        pdf.cell(w, 3.6, pdf.line_of(self.title, w))
        pdf.set_draw_color(BEST)
        pdf.set_line_width(0.3)
        pdf.line(x, y + 4.1, x + w, y + 4.1)
        pdf.set_y(y - 1 + _HEADING)


_FIGURES = 12.5  # mm


@dataclass
class _Figures:
    """Big numbers side by side: (label, figure, detail)."""

    figures: Sequence[tuple[str, str, str]]

    def height(self, pdf: _Pdf, w: float) -> float:
        return _FIGURES

    def draw(self, pdf: _Pdf, x: float, w: float) -> None:
        y, gap = pdf.get_y(), 2.0
        box = (w - gap * (len(self.figures) - 1)) / len(self.figures)
        for i, (label, figure, detail) in enumerate(self.figures):
            left = x + i * (box + gap)
            pdf.set_fill_color("#eff6ff")
            pdf.rect(left, y, box, _FIGURES - 1.5, style="F")
            for top, size, style, color, text in ((y + 0.8, 6, "B", MUTED, label), (y + 3.4, 10, "B", NAVY, figure),
                                                  (y + 7.6, 6, "", INK, detail)):
                pdf.set_font(_FONT, style, size)
                pdf.set_text_color(color)
                pdf.set_xy(left + 1.5, top)
                pdf.cell(box - 3, size * 0.4, pdf.line_of(text, box - 3))
        pdf.set_y(y + _FIGURES)


@dataclass
class _Image:
    png: bytes
    max_height: float

    def _size(self, w: float) -> tuple[float, float]:
        px_w, px_h = _png_size(self.png)
        width, height = w, w * px_h / px_w
        if height > self.max_height:
            width, height = self.max_height * px_w / px_h, self.max_height
        return width, height

    def height(self, pdf: _Pdf, w: float) -> float:
        return self._size(w)[1] + 1

    def draw(self, pdf: _Pdf, x: float, w: float) -> None:
        width, height = self._size(w)
        pdf.image(io.BytesIO(self.png), x=x + (w - width) / 2, y=pdf.get_y(), w=width, h=height)
        pdf.set_y(pdf.get_y() + height + 1)


@dataclass
class _Row:
    """A table row: cells of (text, share of the width, style, color), each cut to a few lines."""

    cells: Sequence[tuple[str, float, str, str]]
    size: float = BODY - 0.4
    pad: float = 0.8
    lines: int = _CELL_LINES
    _fitted: dict[float, list[tuple[str, int]]] = field(default_factory=dict, init=False, repr=False)

    def _fit(self, pdf: _Pdf, w: float) -> list[tuple[str, int]]:
        if w not in self._fitted:
            fitted = []
            for text, share, style, _ in self.cells:
                pdf.set_font(_FONT, style, self.size)
                fitted.append(pdf.fit(text, w * share - 2 * self.pad, self.lines, _CELL_CUT))
            self._fitted[w] = fitted
        return self._fitted[w]

    def height(self, pdf: _Pdf, w: float) -> float:
        return max(n for _, n in self._fit(pdf, w)) * _LINE + 2 * self.pad

    def draw(self, pdf: _Pdf, x: float, w: float) -> None:
        top, height, left = pdf.get_y(), self.height(pdf, w), x
        for (_, share, style, color), (text, _) in zip(self.cells, self._fit(pdf, w), strict=True):
            pdf.set_font(_FONT, style, self.size)
            pdf.set_text_color(color)
            pdf.set_xy(left + self.pad, top + self.pad)
            pdf.multi_cell(w * share - 2 * self.pad, _LINE, text, align="L")
            left += w * share
        pdf.set_draw_color(RULE)
        pdf.set_line_width(0.15)
        pdf.line(x, top + height, x + w, top + height)
        pdf.set_y(top + height)


Block = _Text | _Heading | _Figures | _Image | _Row


def _place(pdf: _Pdf, columns: Sequence[Sequence[Block]]) -> None:
    """Side-by-side columns of blocks from the current line, on a new page when they would not fit."""
    width = (pdf.epw - _GAP * (len(columns) - 1)) / len(columns)
    tallest = max(sum(block.height(pdf, width) for block in column) for column in columns)
    if pdf.get_y() + tallest > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    for i, column in enumerate(columns):
        pdf.set_y(top)
        for block in column:
            block.draw(pdf, pdf.l_margin + i * (width + _GAP), width)
    pdf.set_y(top + tallest)


# -- sections ----------------------------------------------------------------------------------------

def _header(pdf: _Pdf, content: OnePagerContent) -> None:
    icp = content.icp
    pdf.set_fill_color(NAVY)
    pdf.rect(0, 0, pdf.w, _BAND, style="F")
    pdf.set_text_color("#ffffff")
    pdf.set_font(_FONT, "B", 15)
    pdf.set_xy(_MARGIN, 4)
    pdf.cell(pdf.epw, 6.5, pdf.line_of(icp.name, pdf.epw))
    pdf.set_font(_FONT, "", 7.5)
    pdf.set_text_color("#dbeafe")
    pdf.set_xy(_MARGIN, 11.5)
    # No data fingerprint: it tells a sales reader nothing; the app and icp.json keep it.
    meta = f"Version {icp.version} · created {icp.created_at:%Y-%m-%d} · printed {content.printed:%Y-%m-%d}"
    pdf.cell(pdf.epw, 4, pdf.line_of(meta, pdf.epw))
    pdf.set_y(_BAND + 3)


def _descriptions(content: OnePagerContent) -> list[list[Block]]:
    template = content.icp.template
    # A description nobody wrote is left out: a placeholder tells the reader about the app, not the customer.
    return [[_Heading(title), _Text(text, _DESCRIPTION_LINES)]
            for title, text in (("Ideal customer", template.segment_description),
                                ("Negative profile", template.negative_description)) if text.strip()]


_CRITERIA_COLUMNS = (0.11, 0.31, 0.07, 0.51)


def _criterion_row(c: Criterion) -> _Row:
    evidence = c.evidence.sentence if c.evidence else "No evidence: added by hand."
    shares = _CRITERIA_COLUMNS
    return _Row([(_ROLE_LABEL[c.role], shares[0], "B", _ROLE_COLOR[c.role]), (describe(c), shares[1], "", INK),
                 (f"{c.weight:g}", shares[2], "", INK), (evidence, shares[3], "", MUTED)])


def _shown_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """At most MAX_CRITERIA, in role order. Past the limit each role keeps an equal share (the rest
    of a role's share goes to the others), so a long list of musts cannot push the negative profile
    off the page."""
    by_role = {role: [c for c in criteria if c.role == role] for role in _ROLE_ORDER}
    present = [role for role, found in by_role.items() if found]
    quota = MAX_CRITERIA // len(present)
    spare = MAX_CRITERIA - sum(min(quota, len(by_role[role])) for role in present)
    shown = []
    for role in present:
        take = min(len(by_role[role]), quota + spare)
        spare -= max(take - quota, 0)
        shown += by_role[role][:take]
    return shown


def _criteria(content: OnePagerContent) -> list[Block]:
    criteria = content.icp.criteria
    blocks: list[Block] = [_Heading("Criteria"), _Text(
        "Must: a hard filter, defines the SAM · Nice: adds its weight to the fit score · "
        "Disqualify: fit score 0. Evidence: best customers (or churned ones) against the rest.",
        1, size=6.3, color=MUTED)]
    if not criteria:
        return [*blocks, _Text("No criteria yet: draft them from the evidence on the ICP page.")]
    shown = _shown_criteria(criteria)
    blocks.append(_Row([(name, share, "B", MUTED) for name, share in
                        zip(("Role", "Criterion", "Weight", "Evidence"), _CRITERIA_COLUMNS, strict=True)]))
    blocks += [_criterion_row(c) for c in shown]
    shown_ids = {id(c) for c in shown}
    hidden = [c for c in criteria if id(c) not in shown_ids]
    if hidden:
        per_role = ", ".join(f"{sum(c.role == role for c in hidden)} {_ROLE_LABEL[role].lower()}"
                             for role in _ROLE_ORDER if any(c.role == role for c in hidden))
        blocks.append(_Text(f"… and {len(hidden)} more criteria ({per_role}), listed in the app and in icp.json.",
                            1, color=MUTED))
    return blocks


def _market(content: OnePagerContent) -> list[Block]:
    blocks: list[Block] = [_Heading("Market")]
    size = content.market
    if size is None:
        note = content.notes.get("market", "The market could not be sized.")
        return [*blocks, _Text(f"No SAM or SOM: they need a universe list or typed-in counts. {note}", 4,
                               color=MUTED)]

    def figure(label: str, f: MarketFigure, detail: str) -> tuple[str, str, str]:
        # The SOM is printed unrounded below ten accounts, as its money is computed from it.
        accounts = count(size.som_exact) if f is size.som else f"{f.accounts:,}"
        value = "no money figure" if f.value is None else money(f.value, size.currency)
        return label, accounts, f"{value}{detail}"

    typed = " (typed in)" if size.typed_in else ""
    blocks.append(_Figures([figure("TAM accounts" + typed, size.tam, ""), figure("SAM accounts" + typed, size.sam, ""),
                            figure("SOM accounts", size.som, f" within {size.assumptions['horizon_years']:g} yr")]))
    a = size.assumptions
    # Named for what it is ("mean ARR", not "ACV" for a lifetime total); the TAM's does not follow the ICP.
    name = str(a.get('acv_name', 'ACV'))
    per_account = (f"{name[:1].upper()}{name[1:]} per account: SAM and SOM {a['acv_source']}; "
                   f"TAM {a.get('tam_acv_source', a['acv_source'])}")
    for text in (a["sam"], a["som"], f"Win rate {a['win_rate_source']}", per_account, a["currency"]):
        blocks.append(_Text(f"• {text}", 3, size=6.6, more=_CELL_CUT, after=0.4, least=_LEAST))
    return blocks


def _targets(content: OnePagerContent) -> list[Block]:
    blocks: list[Block] = [_Heading("Targets")]
    tiers, rules = content.tiers, content.icp.tiers
    if tiers is None:
        blocks.append(_Text(content.notes.get("tiers", "No accounts to tier."), 3, color=MUTED))
    else:
        counts = " · ".join(f"{r.tier} {r.accounts:,} ({percent(r.share)})" for r in tiers.itertuples())
        blocks.append(_Text(counts, 2, style="B", color=NAVY))
        cut = (f"Tier 1 ≥ {rules.tier1:g}, Tier 2 ≥ {rules.tier2:g}, Tier 3 ≥ {rules.tier3:g}"
               if rules.mode == "thresholds" else
               f"Tier 1 sized to capacity: {rules.reps:,} reps × {rules.accounts_per_rep:,} accounts")
        # Without what caps Tier 1, "sized to capacity" beside a Tier 1 of 2 reads as a broken control.
        limit = f" {content.tier_limit}" if content.tier_limit else ""
        blocks.append(_Text(f"Fit score {cut}; of {content.tier_source or 'the scored accounts'}.{limit}", 4,
                            size=6.6, color=MUTED, more=_CELL_CUT, least=_LEAST))
    verdict = content.backtest or content.notes.get("backtest", "No backtest.")
    blocks.append(_Text(f"Backtest (in sample): {verdict}", 6, least=_LEAST))
    if content.validation:
        blocks.append(_Text(f"Out of sample: {content.validation} {content.stability}", 6, least=_LEAST))
    if content.carried:
        blocks.append(_Text(f"Read in other lists: {'; '.join(content.carried)}.", 2, size=6.6, more=_CELL_CUT))
    for caution in content.cautions[:4]:
        blocks.append(_Text(f"Caution: {caution}", 2, size=6.6, color=MUTED, more=_CELL_CUT))
    return blocks


def _template(content: OnePagerContent) -> list[Block]:
    t = content.icp.template
    personas = "; ".join(
        ", ".join(part for part in (p.title, p.department, p.seniority) if part.strip()) for p in t.personas)
    fields = [("Goals", t.goals), ("Challenges", t.challenges), ("Pain points", t.pain_points),
              ("Watering holes", t.watering_holes), ("Buyer personas", personas)]
    blocks: list[Block] = [_Heading("Goals, pains and personas")]
    for label, text in fields:
        if text.strip():
            blocks += [_Text(label, 1, size=6.6, style="B", color=NAVY, after=0.2), _Text(text, _FIELD_LINES)]
    # Fields nobody wrote are left out, and with none written so is the heading: the column goes
    # to the targets (see render_one_pager).
    return blocks if len(blocks) > 1 else []


def _chart_column(title: str, chart: alt.TopLevelMixin | None, note: str, max_height: float) -> list[Block]:
    if chart is None:
        return [_Heading(title), _Text(note, 3, color=MUTED)]
    return [_Heading(title), _Image(chart_png(chart), max_height)]


def _charts(pdf: _Pdf, content: OnePagerContent) -> None:
    room = pdf.page_break_trigger - pdf.get_y() - _HEADING - 1
    # Shrunk into the room left on this page when that keeps it legible, else full size on the next.
    height = _CHART_MAX if room < _CHART_MIN else min(_CHART_MAX, room)
    dims, labels = list(content.segment_dimensions), dict(content.segment_labels)
    segments, findings = content.segments, content.findings
    by = " × ".join(labels.get(d, d) for d in dims[:2])
    _place(pdf, [
        _chart_column(
            f"Segments: {by}, top {_SEGMENTS_SHOWN}" if by else "Segments",
            segment_chart(segments.head(_SEGMENTS_SHOWN), dims, labels).properties(width=300)
            if segments is not None and len(segments) else None,
            content.notes.get("segments", "No segment to chart."), height),
        _chart_column(
            "Best customers against the rest: lift, 95% interval",
            lift_chart(findings, limit=_FINDINGS_SHOWN).properties(width=220)
            if findings is not None and len(findings) else None,
            content.notes.get("findings", "No pattern to chart: there are no best customers to compare."), height),
    ])


_ACCOUNT_COLUMNS = (0.22, 0.17, 0.05, 0.56)
_ACCOUNTS_LEAST = 3  # rows worth a table: fewer on what is left of page 1 and the table starts page 2


def _account_row(account: pd.Series) -> _Row:
    name = account.get("account_name")
    name = name if isinstance(name, str) and name.strip() else str(account.get("account_key", ""))
    domain = account.get("domain")
    reasons = account.get("icp_reasons")
    cells = (name, domain if isinstance(domain, str) else "", f"{account['icp_fit_score']:g}",
             reasons if isinstance(reasons, str) else "")
    return _Row([(text, share, style, color) for text, share, style, color in zip(
        cells, _ACCOUNT_COLUMNS, ("B", "", "", ""), (INK, INK, INK, MUTED), strict=True)], lines=1)


def _top_accounts(pdf: _Pdf, content: OnePagerContent) -> None:
    """The best Tier 1 accounts by name, in the room left at the foot of the page: whom to call
    first is what a sales reader looks for. As many rows as fit; a page of their own only while
    on page 1, so the document stays within two pages."""
    top = content.top_accounts
    if top is None or not len(top):
        return
    in_tier = content.tiers.loc[content.tiers["tier"] == TIERS[0], "accounts"] if content.tiers is not None else []
    of = f" of {int(in_tier.iloc[0]):,}" if len(in_tier) else ""
    header = _Row([(name, share, "B", MUTED) for name, share in
                   zip(("Account", "Domain", "Fit", "Why"), _ACCOUNT_COLUMNS, strict=True)], lines=1)
    rows = [_account_row(account) for _, account in top.iterrows()]
    heading = _Heading(f"Top Tier 1 accounts: the {len(rows)}{of} with the best fit score")

    def fitting() -> int:
        room = pdf.page_break_trigger - pdf.get_y() - heading.height(pdf, pdf.epw) - header.height(pdf, pdf.epw)
        shown = 0
        for row in rows:
            room -= row.height(pdf, pdf.epw)
            if room < 0:
                break
            shown += 1
        return shown

    shown = fitting()
    if shown < min(_ACCOUNTS_LEAST, len(rows)) and pdf.page_no() == 1:
        pdf.add_page()
        shown = fitting()
    if not shown:
        return
    heading.title = f"Top Tier 1 accounts: the {shown}{of} with the best fit score"
    _place(pdf, [[heading, header, *rows[:shown]]])


def _balanced(pdf: _Pdf, left: list[Block], right: list[Block], last: list[Block]) -> list[list[Block]]:
    """Two columns, `last` under the shorter: the page keeps its room at the foot for the accounts
    (with no template text written, the market and the targets side by side)."""
    width = (pdf.epw - _GAP) / 2
    if sum(b.height(pdf, width) for b in right) < sum(b.height(pdf, width) for b in left):
        return [left, [*right, *last]]
    return [[*left, *last], right]


def render_one_pager(content: OnePagerContent, page_size: PageSize = "A4") -> bytes:
    """The one-pager PDF of already-computed parts: one page, two when the text is long."""
    if page_size not in PAGE_SIZES:
        raise IcpError(f"The one-pager prints on A4 or Letter, not '{page_size}'.")
    icp = content.icp
    pdf = _Pdf(page_size, f"ICP Explorer · {_one_line(icp.name)} · version {icp.version}")
    title = _one_line(icp.name)
    pdf.set_title(title if len(title) <= _TITLE_CHARS else title[:_TITLE_CHARS - 1] + _CELL_CUT)
    pdf.set_creator("ICP Explorer")
    pdf.add_page()
    _header(pdf, content)
    descriptions = _descriptions(content)
    if descriptions:
        _place(pdf, descriptions)
    _place(pdf, [_criteria(content)])
    _place(pdf, _balanced(pdf, _market(content), _template(content), _targets(content)))
    _charts(pdf, content)
    _top_accounts(pdf, content)
    return bytes(pdf.output())


def first_page_png(pdf: bytes, dpi: int = 110) -> bytes:
    """The first page of a PDF as a PNG: the app's preview, and docs/one-pager.png."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=dpi / 72).to_pil()
        page.close()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
