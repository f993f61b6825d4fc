"""Every chart of the app and the PDF, built once here from plain DataFrames (Altair specs)."""

import re

import altair as alt
import pandas as pd

BEST = "#2563eb"
REST = "#9ca3af"
NEGATIVE = "#dc2626"
# Bands read in size order, not alphabetically ("11-50" before "1001-5000").
BAND_ORDER = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+",
              "<1M", "1M-10M", "10M-50M", "50M-100M", "100M-500M", "500M-1B", "1B+", "(unknown)"]
_EVIDENCE_COLORS = alt.Scale(domain=["strong", "moderate", "weak", "none"],
                             range=["#1d4ed8", "#60a5fa", "#cbd5e1", "#e5e7eb"])
# Longest text a chart shows. Vega sizes a chart to fit its titles: a 100,000-character header made a
# picture of billions of pixels, and vl-convert took 8 GB drawing it. Up to this bound a label is
# shown whole (see _WHOLE).
LABEL_CHARS = 80
_TOOLTIP_CHARS = 300
# Control characters and line breaks in a label: vl-convert's SVG parser aborts the whole process
# (the app's server with it) on a control character, and a label is one line.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")
# Labels are already cut to LABEL_CHARS, so no pixel cut on top: Vega cuts at 180 px and
# Streamlit's theme at 100 px, which left six rows all reading "Annual revenue: …". 0 is no limit.
_WHOLE = 0
# Streamlit fits a chart without an autosize of its own into the spec's height, axes, titles and
# legend included: a heat map of six rows got 40 px. Fitting only the width lets the height
# follow the rows. (The PDF sets its own, see icp.pdf.for_print.)
_FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def _rows_height(rows: int, step: int, least: int) -> int:
    """Height of a plot of `rows` rows: `step` pixels a row, at least `least`."""
    return max(least, step * rows)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """`text` as a chart shows it: on one line, runs of control characters and white space as one
    space, cut to `limit` characters, the last an ellipsis."""
    text = _BREAKS.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _shorts(values: pd.Series) -> pd.Series:
    """Category values as chart labels, text cut by `_short`; values that differ keep labels that
    differ (a cut one that meets another gets a number), so no two categories become one."""
    short, taken = {}, set()
    for value in values.dropna().unique():
        if not isinstance(value, str):
            continue
        text, n = _short(value), 1
        while text in taken:
            n += 1
            text = _short(value, LABEL_CHARS - len(f" ({n})")) + f" ({n})"
        short[value] = text
        taken.add(text)
    return values.map(lambda v: short.get(v, v) if isinstance(v, str) else v)


def value_distribution(scores: pd.DataFrame, threshold: float | None) -> alt.Chart:
    """Histogram of value scores (0-100) in bins of 5, best customers coloured, the cut-off as a rule.
    Binned here, not in the browser: the chart carries 40 rows however many customers there are."""
    scored = scores.loc[scores["value_score"].notna(), ["value_score", "is_best"]]
    start = (scored["value_score"].clip(0, 100) // 5 * 5).clip(upper=95)
    group = scored["is_best"].map({True: "best customers", False: "the rest"})
    data = (pd.DataFrame({"start": start, "group": group}).groupby(["start", "group"]).size()
            .rename("customers").reset_index().assign(end=lambda d: d["start"] + 5))
    bars = alt.Chart(data).mark_bar().encode(
        # "binned": bars from start to end standing on zero; without it Vega-Lite read start-end
        # as a horizontal range and drew each bin as a dash floating at its count.
        x=alt.X("start:Q", bin="binned", scale=alt.Scale(domain=[0, 100]), title="value score"),
        x2="end:Q",
        y=alt.Y("customers:Q", stack=True, title="customers"),
        color=alt.Color("group:N", scale=alt.Scale(domain=["best customers", "the rest"], range=[BEST, REST]),
                        legend=alt.Legend(title=None, orient="top")),
    )
    if threshold is None:
        return bars.properties(height=260, autosize=_FIT_WIDTH)
    rule = alt.Chart(pd.DataFrame({"cut": [threshold]})).mark_rule(strokeDash=[4, 3]).encode(x="cut:Q")
    return (bars + rule).properties(height=260, autosize=_FIT_WIDTH)


def lift_chart(findings: pd.DataFrame, limit: int = 15) -> alt.Chart:
    """The strongest findings as lifts with their 95% intervals, on a log scale around 1x."""
    top = findings.head(limit).assign(
        finding=lambda d: _shorts(d["label"] + ": " + d["value"]),
        sentence=lambda d: d["sentence"].map(lambda t: _short(t, _TOOLTIP_CHARS) if isinstance(t, str) else t),
        lift_low=lambda d: d["lift_low"].clip(lower=0.01),
        lift_high=lambda d: d["lift_high"].clip(upper=1000),
    )
    order = list(top["finding"])
    # Labels closer than this are dropped: at print size 10 and 20 stood side by side, read "1020".
    ticks = alt.Axis(labelOverlap="greedy", labelSeparation=8)
    x = alt.X("lift:Q", scale=alt.Scale(type="log"), title="lift (x the rest, log scale)", axis=ticks)
    y = alt.Y("finding:N", sort=order, title=None, axis=alt.Axis(labelLimit=_WHOLE))
    interval = alt.Chart(top).mark_rule().encode(x=alt.X("lift_low:Q", scale=alt.Scale(type="log"), axis=ticks),
                                                 x2="lift_high:Q", y=y)
    points = alt.Chart(top).mark_circle(size=90).encode(
        x=x, y=y, color=alt.Color("evidence:N", scale=_EVIDENCE_COLORS),
        tooltip=["sentence:N", alt.Tooltip("q_value:Q", format=".3f")],
    )
    one = alt.Chart(pd.DataFrame({"lift": [1.0]})).mark_rule(color="#6b7280", strokeDash=[3, 3]).encode(x="lift:Q")
    return (interval + points + one).properties(height=_rows_height(len(top), 26, 120), autosize=_FIT_WIDTH)


def in_natural_order(findings: pd.DataFrame) -> pd.DataFrame:
    """The values of one attribute in the order a reader expects: numeric ranges smallest first
    ("<17" before "17–47" before "1,200+"), size and revenue bands in size order ("11-50" before
    "1001-5000"), anything else as given (the report's order: strongest evidence first)."""
    if findings.empty:
        return findings
    low = findings["low"] if "low" in findings else pd.Series(None, index=findings.index, dtype=float)
    high = findings["high"] if "high" in findings else pd.Series(None, index=findings.index, dtype=float)
    ranged = low.notna() | high.notna()
    if ranged.all():
        # An open low end ("<17") comes first, an open high end ("1,200+") last.
        key = pd.DataFrame({"low": low.astype(float).fillna(float("-inf")),
                            "high": high.astype(float).fillna(float("inf"))}, index=findings.index)
        return findings.loc[key.sort_values(["low", "high"], kind="stable").index]
    values = findings["value"].astype(str)
    if values.isin(BAND_ORDER).all():
        return findings.iloc[values.map(BAND_ORDER.index).argsort(kind="stable")]
    return findings


def best_vs_rest(findings: pd.DataFrame, group_name: str = "best customers") -> alt.Chart:
    """Share of each value of one attribute among the group and among the rest, the values in
    their natural order (see in_natural_order)."""
    findings = in_natural_order(findings)
    findings = findings.assign(value=_shorts(findings["value"]))
    long = pd.concat([
        findings.assign(group=group_name, share=findings["share_group"]),
        findings.assign(group="the rest", share=findings["share_rest"]),
    ])
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("value:N", sort=list(findings["value"]), title=None, axis=alt.Axis(labelLimit=_WHOLE)),
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of accounts"),
        yOffset="group:N",
        color=alt.Color("group:N", scale=alt.Scale(domain=[group_name, "the rest"], range=[BEST, REST]),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=["value:N", "group:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=_rows_height(len(findings), 36, 120), autosize=_FIT_WIDTH)


def segment_chart(segments: pd.DataFrame, dimensions: list[str], labels: dict[str, str]) -> alt.Chart:
    """One dimension: bars of accounts coloured by score. Two or more: a heat map of the first two."""
    data = segments.assign(**{d: _shorts(segments[d]) for d in dimensions})
    labels = {d: _short(str(labels.get(d, d))) for d in dimensions}
    tooltip = [*dimensions, "accounts:Q", "best_customers:Q", alt.Tooltip("value_mean:Q", format=",.0f"),
               alt.Tooltip("win_rate:Q", format=".0%"), alt.Tooltip("churn_rate:Q", format=".0%"), "rank:Q"]
    score = alt.Color("score:Q", scale=alt.Scale(scheme="blues", domain=[0, 100]), title="segment score")
    if len(dimensions) == 1:
        dim = dimensions[0]
        return alt.Chart(data).mark_bar().encode(
            y=alt.Y(f"{dim}:N", sort=alt.EncodingSortField("rank", order="ascending"), title=labels.get(dim, dim),
                    axis=alt.Axis(labelLimit=_WHOLE)),
            x=alt.X("accounts:Q", title="accounts"), color=score, tooltip=tooltip,
        ).properties(height=_rows_height(len(data), 24, 140), autosize=_FIT_WIDTH)
    first, second = dimensions[:2]
    base = alt.Chart(data).encode(
        x=alt.X(f"{first}:N", title=labels.get(first, first), sort=_order(data[first]),
                axis=alt.Axis(labelLimit=_WHOLE)),
        y=alt.Y(f"{second}:N", title=labels.get(second, second), sort=_order(data[second]),
                axis=alt.Axis(labelLimit=_WHOLE)),
    )
    cells = base.mark_rect().encode(color=score, tooltip=tooltip)
    text = base.mark_text(fontSize=11).encode(text="accounts:Q")
    return (cells + text).properties(height=_rows_height(data[second].nunique(), 36, 180), autosize=_FIT_WIDTH)


def _order(values: pd.Series) -> list[str]:
    """Band values in size order, anything else alphabetically, "(unknown)" last."""
    distinct = [str(v) for v in values.dropna().unique()]
    if all(v in BAND_ORDER for v in distinct):
        return [b for b in BAND_ORDER if b in distinct]
    return sorted(distinct, key=lambda v: (v == "(unknown)", v.casefold()))


def cluster_scatter(points: pd.DataFrame, axes: tuple[str, str] | None = None) -> alt.Chart:
    """2-D projection of accounts coloured by cluster name when the points have one (at most a few
    thousand sampled points); `axes` says what each axis mostly measures."""
    x_title, y_title = axes or ("map axis 1", "map axis 2")
    by = "name:N" if "name" in points else "cluster:N"
    return alt.Chart(points).mark_circle(size=28, opacity=0.7).encode(
        x=alt.X("x:Q", title=x_title), y=alt.Y("y:Q", title=y_title),
        color=alt.Color(by, title="cluster", legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
        tooltip=[by],
    ).properties(height=380, autosize=_FIT_WIDTH)


def market_funnel(tam: int, sam: int, som: int) -> alt.Chart:
    """TAM, SAM and SOM as nested bars, widest first, each labelled with its count."""
    data = pd.DataFrame({"stage": ["TAM", "SAM", "SOM"], "accounts": [tam, sam, som]})
    bars = alt.Chart(data).mark_bar(color=BEST).encode(
        y=alt.Y("stage:N", sort=["TAM", "SAM", "SOM"], title=None),
        x=alt.X("accounts:Q", title="accounts"),
        tooltip=["stage:N", alt.Tooltip("accounts:Q", format=",")],
    )
    labels = bars.mark_text(align="left", dx=4).encode(text=alt.Text("accounts:Q", format=","))
    return (bars + labels).properties(height=150, autosize=_FIT_WIDTH)


def tier_bars(counts: pd.DataFrame) -> alt.Chart:
    """Accounts per tier, in tier order."""
    return alt.Chart(counts).mark_bar().encode(
        x=alt.X("tier:N", sort=list(counts["tier"]), title=None),
        y=alt.Y("accounts:Q", title="accounts"),
        color=alt.Color("tier:N", sort=list(counts["tier"]), legend=None,
                        scale=alt.Scale(range=["#1d4ed8", "#60a5fa", "#bfdbfe", "#e5e7eb", "#fde68a"])),
        tooltip=["tier:N", alt.Tooltip("accounts:Q", format=",")],
    ).properties(height=220, autosize=_FIT_WIDTH)
