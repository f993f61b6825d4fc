"""Charts carry only the rows they draw: a histogram of 100,000 customers sends 40 bars, not 100,000 rows."""

import html
import re
import struct

import numpy as np
import pandas as pd
import vl_convert as vlc

from icp.export.charts import BAND_ORDER, best_vs_rest, lift_chart, segment_chart, value_distribution


def test_the_value_histogram_is_binned_before_it_reaches_the_browser():
    rng = np.random.default_rng(7)
    scores = pd.DataFrame({"value_score": rng.uniform(0, 100, 100_000)})
    scores.loc[::50, "value_score"] = np.nan  # unscored customers are left out
    scores.loc[0, "value_score"] = 100.0  # the top score belongs to the last bin, not a bin of its own
    scores["is_best"] = scores["value_score"] >= 75
    chart = value_distribution(scores, 75.0)
    data = chart.layer[0].data
    assert len(data) <= 40
    assert data["customers"].sum() == scores["value_score"].notna().sum()
    assert set(data["start"]) == set(range(0, 100, 5))
    best = data.loc[data["group"] == "best customers", "customers"].sum()
    assert best == scores["is_best"].sum()
    assert data.loc[data["start"] == 95, "customers"].sum() == (scores["value_score"] >= 95).sum()
    assert vlc.vegalite_to_svg(chart.to_json()).startswith("<svg")


# -- what a founder sees (issue 16) --------------------------------------------------------------------

def _svg_texts(chart) -> list[str]:
    """The text of every label in the chart as vl-convert draws it (cut labels end in "…")."""
    svg = vlc.vegalite_to_svg(chart.to_json())
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _png_height(chart) -> int:
    return struct.unpack(">II", vlc.vegalite_to_png(chart.to_json())[16:24])[1]


def _findings(n: int, label: str = "Annual revenue") -> pd.DataFrame:
    # "Annual revenue: " and the value make 70 characters: within LABEL_CHARS, so never cut.
    values = [f"value number {i:02d} of a long list of bands, in full words" for i in range(n)]
    return pd.DataFrame({"label": label, "value": values, "lift": np.linspace(0.5, 3, n), "lift_low": 0.3,
                         "lift_high": 4.0, "evidence": "strong", "sentence": "s", "q_value": 0.01,
                         "share_group": 0.2, "share_rest": 0.1})


def _segments(first: list[str], second: list[str] | None = None) -> pd.DataFrame:
    rows = [(a, b) for a in first for b in (second or [None])]
    n = len(rows)
    frame = pd.DataFrame({"industry": [a for a, _ in rows], "accounts": range(1, n + 1), "best_customers": 1,
                          "value_mean": 1.0, "win_rate": 0.2, "churn_rate": 0.1,
                          "score": np.linspace(0, 100, n), "rank": range(1, n + 1)})
    if second:
        frame["employees"] = [b for _, b in rows]
    return frame


def test_the_value_histogram_is_bars_standing_on_zero():
    """Bins drawn from start to end with a count on y were read by Vega-Lite as horizontal ranges:
    each bin a dash floating at its count. Binned bars stand on the axis, as tall as their count."""
    scores = pd.DataFrame({"value_score": np.repeat([2.0, 52.0, 97.0], [10, 40, 80])})
    scores["is_best"] = scores["value_score"] >= 75
    chart = value_distribution(scores, 75.0)
    bars = chart.to_dict()["layer"][0]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["bin"] == "binned"
    svg = vlc.vegalite_to_svg(chart.to_json())
    marks = svg[svg.index('class="mark-rect'):]
    heights = [float(h) for h in re.findall(r'd="M[^h"]*h[^v"]*v(-?[\d.]+)', marks[:marks.index("</g>")])]
    assert heights, svg[:2000]
    assert max(abs(h) for h in heights) > 100  # the tallest bar is most of the plot, not a 5 px dash


def test_row_labels_are_whole_up_to_the_label_bound():
    """Streamlit's theme cuts axis labels at 100 px, Vega's default at 180: six rows all read
    "Annual revenue: …". Labels are already bounded to LABEL_CHARS, so the charts show them whole."""
    findings = _findings(6)
    segments = _segments(list(findings["value"]))
    for chart in (lift_chart(findings), best_vs_rest(findings), segment_chart(segments, ["industry"], {})):
        themed = chart.configure_axis(labelLimit=100)  # as Streamlit's theme does
        texts = _svg_texts(themed)
        assert not any(t.endswith("…") for t in texts), texts
        for value in findings["value"]:
            assert any(value in t for t in texts), (value, texts)


def test_heights_follow_the_rows_and_the_app_cannot_squeeze_them():
    """Streamlit fits a chart without its own autosize into the spec's height, axes and legend
    included: six rows of a heat map got 40 px. The charts grow with their rows and fit only
    their width to the page."""
    few, many = _findings(3), _findings(14)
    bands = BAND_ORDER[:12]
    pairs = [
        (lift_chart(few), lift_chart(many)),
        (best_vs_rest(few), best_vs_rest(many)),
        (segment_chart(_segments(list(few["value"])), ["industry"], {}),
         segment_chart(_segments(list(many["value"])), ["industry"], {})),
        (segment_chart(_segments(["Fintech", "Retail"], bands[:2]), ["industry", "employees"], {}),
         segment_chart(_segments(["Fintech", "Retail"], bands), ["industry", "employees"], {})),
    ]
    for small, large in pairs:
        for chart in (small, large):
            assert chart.to_dict()["autosize"]["type"] == "fit-x"
        assert _png_height(large) > _png_height(small) + 40
    heat = pairs[3][1]
    assert _png_height(heat) >= 12 * 20  # at least 20 px a row
    assert "Company size" in _svg_texts(segment_chart(
        _segments(["Fintech", "Retail"], bands[:6]), ["industry", "employees"], {"employees": "Company size"}))


def _one_attribute(rows: list[tuple[str, float | None, float | None]]) -> pd.DataFrame:
    """Findings of one attribute in the report's order (strongest evidence first)."""
    return pd.DataFrame([{"value": v, "low": low, "high": high, "share_group": 0.2 + i / 100,
                          "share_rest": 0.1} for i, (v, low, high) in enumerate(rows)])


def _drawn_order(chart) -> list[str]:
    return list(chart.to_dict()["encoding"]["y"]["sort"])


def test_one_attribute_chart_shows_bands_and_ranges_smallest_first_and_categories_as_given():
    # The maven walk-through: employee bands came in evidence order, 5001+ first.
    employees = _one_attribute([("5001+", 5001, None), ("11-50", 11, 51), ("51-200", 51, 201),
                                ("501-1000", 501, 1001), ("201-500", 201, 501), ("1001-5000", 1001, 5001)])
    assert _drawn_order(best_vs_rest(employees)) == ["11-50", "51-200", "201-500", "501-1000", "1001-5000",
                                                     "5001+"]
    # Quantile ranges of a number: an open low end first, an open high end last.
    revenue = _one_attribute([("1,200+", 1200, None), ("<17", None, 17), ("300–1,200", 300, 1200),
                              ("17–47", 17, 47), ("47–300", 47, 300)])
    assert _drawn_order(best_vs_rest(revenue)) == ["<17", "17–47", "47–300", "300–1,200", "1,200+"]
    # Bands held as text (a CRM's own size bands) have no bounds: still in size order.
    bands = _one_attribute([("1001-5000", None, None), ("1-10", None, None), ("201-500", None, None)])
    assert _drawn_order(best_vs_rest(bands)) == ["1-10", "201-500", "1001-5000"]
    # Categories keep the report's order.
    industries = _one_attribute([("retail", None, None), ("software", None, None), ("finance", None, None)])
    assert _drawn_order(best_vs_rest(industries)) == ["retail", "software", "finance"]
