"""Step 3, Patterns: what sets a group of accounts (best customers, or churned / lost ones) apart from the rest.

Every value of every attribute is one 2x2 table (group or rest, has the value or not), counted in
DuckDB and tested with Fisher's exact test; Benjamini-Hochberg over all of a report's tests turns
p-values into q-values, and the q-value alone gives the evidence word. A small group does not
weaken the word (Fisher is exact at any size, so q stays honest); instead every finding resting
on fewer than 30 group members is flagged "directional", in its own field and in its sentence.
"""

import math
from typing import NamedTuple

import duckdb

from icp.analysis.attributes import Attribute, AttributeKind
from icp.analysis.stats import (
    DIRECTIONAL_BELOW,
    Evidence,
    TwoByTwo,
    benjamini_hochberg,
    evidence_label,
    is_directional,
    lift_interval,
    two_by_two,
)
from icp.frozen import Frozen
from icp.normalize import quote_ident
from icp.numbers import YEARS, figure
from icp.relation import Relation, as_relation
from icp.trim import normalized_sql, trimmed_sql

# Below this many accounts on either side a shared value is an anecdote, not a pattern.
MIN_SIDE = 3
# A finding "passes" (counts in the headline) at the usual 5% false discovery rate.
PASS_Q = 0.05
# The best numeric range must hold at least this share of the group, so it describes many of them.
BEST_RANGE_MIN_SHARE = 0.10
_GROUP = quote_ident("__icp_in_group")


class Count(Frozen):
    """How many accounts of the group and of the rest (with a known value) have one value of an attribute."""

    value: str
    low: float | None = None  # numeric ranges: inclusive low, exclusive high, None = open
    high: float | None = None
    in_group: int
    group_size: int
    in_rest: int
    rest_size: int
    best_range: bool = False
    # Ranges the best range was picked from: picking the best after looking makes its raw
    # p-value too small, so it is multiplied by this (Bonferroni) before entering the FDR family.
    choices: int = 1


class NumericBands(Frozen):
    """A numeric attribute cut into bands, and the best range found over them."""

    bands: list[Count]  # each band held by at least min_count accounts
    best: Count | None  # the best range; when it is a single band, that (flagged) band itself

    def tested(self) -> list[Count]:
        """What enters the report: the bands, and the best range when it spans several of them."""
        return self.bands if self.best is None or self.best in self.bands else [*self.bands, self.best]


class Finding(Frozen):
    """One tested value: its counts, lift with a 95% interval, evidence and a sentence saying so."""

    attribute: str
    label: str
    kind: AttributeKind
    value: str
    low: float | None
    high: float | None
    in_group: int
    group_size: int
    in_rest: int
    rest_size: int
    share_group: float
    share_rest: float
    lift: float
    lift_low: float
    lift_high: float
    corrected: bool  # lift and interval use the 0.5 continuity correction (a zero count)
    p_value: float
    q_value: float
    evidence: Evidence
    directional: bool
    best_range: bool
    sentence: str


class PatternReport(Frozen):
    """Every tested value, strongest evidence first, and a one-line summary."""

    findings: list[Finding]
    tested: int
    group_size: int
    rest_size: int
    directional: bool
    headline: str


class _Band(NamedTuple):
    low: float | None
    high: float | None
    low_text: str | None
    high_text: str | None  # as the user reads it: "200" for 51-200, "10M" for 1M-10M


class _Scheme(NamedTuple):
    bands: tuple[_Band, ...]
    dash: str


# The bands users already speak in (the labels of icp_size_band / icp_revenue_band), not quantiles.
_STANDARD = {
    "employees": _Scheme((
        _Band(None, 11, "1", "10"), _Band(11, 51, "11", "50"), _Band(51, 201, "51", "200"),
        _Band(201, 501, "201", "500"), _Band(501, 1001, "501", "1000"), _Band(1001, 5001, "1001", "5000"),
        _Band(5001, None, "5001", None),
    ), "-"),
    "revenue": _Scheme((
        _Band(None, 1e6, None, "1M"), _Band(1e6, 1e7, "1M", "10M"), _Band(1e7, 5e7, "10M", "50M"),
        _Band(5e7, 1e8, "50M", "100M"), _Band(1e8, 5e8, "100M", "500M"), _Band(5e8, 1e9, "500M", "1B"),
        _Band(1e9, None, "1B", None),
    ), "-"),
}


# --- SQL ---------------------------------------------------------------------------------------


def _labelled(source: Relation, label_sql: str) -> Relation:
    """The source rows with the group label as a column; rows whose label is NULL take no side."""
    return Relation.of_query(
        f"SELECT * FROM (SELECT CAST(({label_sql}) AS BOOLEAN) AS {_GROUP}, * FROM {as_relation(source)} AS _source) "
        f"WHERE {_GROUP} IS NOT NULL"
    )


def _sizes(con: duckdb.DuckDBPyConnection, labelled: Relation, column: str | None = None) -> tuple[int, int]:
    """Group and rest sizes, counting only accounts where `column` is known when one is given."""
    known = f"{quote_ident(column)} IS NOT NULL" if column else "TRUE"
    return con.execute(
        f"WITH labelled AS {labelled} SELECT count(*) FILTER (WHERE {_GROUP}), count(*) FILTER (WHERE NOT {_GROUP}) "
        f"FROM labelled WHERE {known}"
    ).fetchone()


def _list_rows(con, labelled: Relation, column: str) -> list[tuple[str, int, int]]:
    """(item, in group, in rest) per list item, case-insensitive; an account counts once per item.

    An item is shown in its most common spelling (ties: the first alphabetically).
    """
    col = quote_ident(column)
    return con.execute(f"""
        WITH labelled AS {labelled},
        known AS (SELECT {_GROUP} AS g, {col} AS items FROM labelled WHERE {col} IS NOT NULL),
        account_items AS (
            SELECT g, unnest(list_distinct(list_transform(items, lambda x: {normalized_sql('x')}))) AS key FROM known),
        spellings AS (
            SELECT {normalized_sql('item')} AS key, {trimmed_sql('item')} AS spelling, count(*) AS n
            FROM (SELECT unnest(items) AS item FROM known) GROUP BY ALL),
        names AS (SELECT key, first(spelling ORDER BY n DESC, spelling) AS value FROM spellings GROUP BY key)
        SELECT any_value(names.value), count(*) FILTER (WHERE g), count(*) FILTER (WHERE NOT g)
        FROM account_items JOIN names USING (key) WHERE key <> '' GROUP BY key ORDER BY 1""").fetchall()


def _band_rows(con, labelled: Relation, column: str, scheme: _Scheme) -> dict[int, tuple[int, int]]:
    """{band index: (in group, in rest)}; band edges are bound parameters."""
    col = quote_ident(column)
    edges = [band.high for band in scheme.bands[:-1]]
    whens = " ".join(f"WHEN {col} < ? THEN {i}" for i in range(len(edges)))
    rows = con.execute(
        f"WITH labelled AS {labelled} SELECT CASE {whens} ELSE {len(edges)} END AS band, "
        f"count(*) FILTER (WHERE {_GROUP}), count(*) FILTER (WHERE NOT {_GROUP}) "
        f"FROM labelled WHERE {col} IS NOT NULL GROUP BY 1",
        edges,
    ).fetchall()
    return {band: (g, r) for band, g, r in rows}


# --- counts per attribute kind -----------------------------------------------------------------


def _value_counts(rows, min_count: int) -> list[Count]:
    """Each value held by at least min_count accounts, against every other account with a known value."""
    group_size, rest_size = sum(g for _, g, _ in rows), sum(r for _, _, r in rows)
    if len(rows) < 2 or group_size == 0 or rest_size == 0:
        return []
    return [
        Count(value=value, in_group=g, group_size=group_size, in_rest=r, rest_size=rest_size)
        for value, g, r in rows if g + r >= min_count
    ]


def _value_sql(attribute: Attribute) -> str:
    if attribute.kind == "flag":
        return f"CASE WHEN {quote_ident(attribute.name)} THEN 'yes' ELSE 'no' END"
    return f"CAST({quote_ident(attribute.name)} AS VARCHAR)"


def _all_value_rows(con, labelled: Relation, attributes: list[Attribute]) -> dict[str, list[tuple[str, int, int]]]:
    """`_value_rows` of every category and flag attribute in one query (one UNION ALL branch each):
    a report over many attributes, drafted again fold by fold, pays for one query, not one each."""
    if not attributes:
        return {}
    branches = " UNION ALL ".join(
        f"SELECT {i} AS a, {_value_sql(attribute)} AS value, count(*) FILTER (WHERE {_GROUP}) AS g, "
        f"count(*) FILTER (WHERE NOT {_GROUP}) AS r FROM labelled WHERE {quote_ident(attribute.name)} IS NOT NULL "
        "GROUP BY 2" for i, attribute in enumerate(attributes))
    found: dict[str, list[tuple[str, int, int]]] = {a.name: [] for a in attributes}
    for i, value, g, r in con.execute(f"WITH labelled AS {labelled} {branches} ORDER BY 1, 2").fetchall():
        found[attributes[i].name].append((value, g, r))
    return found


def _category_counts(rows: list[tuple[str, int, int]], min_count: int) -> list[Count]:
    return _value_counts(rows, min_count)


def _flag_counts(rows: list[tuple[str, int, int]], min_count: int) -> list[Count]:
    """Only "yes" is tested: "no" is the same table mirrored, with the same p-value."""
    counts = _value_counts(rows, min_count)
    return [count for count in counts if count.value == "yes"]


def _list_counts(con, labelled: Relation, attribute: Attribute, min_count: int) -> list[Count]:
    group_size, rest_size = _sizes(con, labelled, attribute.name)
    if group_size == 0 or rest_size == 0:
        return []
    return [
        Count(value=value, in_group=g, group_size=group_size, in_rest=r, rest_size=rest_size)
        for value, g, r in _list_rows(con, labelled, attribute.name) if g + r >= min_count
    ]


# --- numeric bands -----------------------------------------------------------------------------


def _round_edge(x: float, spread: float) -> float:
    """Two significant figures, or two of the data's spread when finer (so years stay 1995, not 2000)."""
    if x == 0:
        return 0.0
    magnitude = min(math.floor(math.log10(abs(x))), math.floor(math.log10(spread)))
    return float(round(x, 1 - magnitude))


def _quantile_scheme(con, labelled: Relation, attribute: Attribute, bands: int) -> _Scheme | None:
    """Quantile bands with readable, deduplicated edges; None when they leave fewer than two bands."""
    col = quote_ident(attribute.name)
    quantiles, low, high = con.execute(
        f"WITH labelled AS {labelled} SELECT quantile_cont({col}, ?), min({col}), max({col}) FROM labelled",
        [[i / bands for i in range(1, bands)]],
    ).fetchone()
    if low is None or low == high:
        return None
    edges = sorted({e for e in (_round_edge(q, high - low) for q in quantiles) if low < e <= high})
    if not edges:
        return None
    bounds = [None, *edges, None]
    grouped = attribute.role not in YEARS
    # Edges as exact as they are (digits=None), so two of them never read alike ("1.003M", "1.005M").
    texts = [None, *(figure(e, grouped, digits=None) for e in edges), None]
    return _Scheme(tuple(_Band(bounds[i], bounds[i + 1], texts[i], texts[i + 1]) for i in range(len(edges) + 1)), "–")


def _range_text(first: _Band, last: _Band, dash: str) -> str:
    if first.low_text is None:
        return f"<{last.high_text}"
    if last.high_text is None:
        return f"{first.low_text}+"
    return f"{first.low_text}{dash}{last.high_text}"


def _scheme(con, labelled: Relation, attribute: Attribute, bands: int, min_count: int):
    """The role's standard bands when the data spread over at least two of them, else quantile bands.

    Returns (scheme, counts per band), or None when there is nothing to cut.
    """
    standard = _STANDARD.get(attribute.role or "")
    if standard is not None:
        rows = _band_rows(con, labelled, attribute.name, standard)
        if sum(g + r >= min_count for g, r in rows.values()) >= 2:
            return standard, rows
    scheme = _quantile_scheme(con, labelled, attribute, bands)
    return None if scheme is None else (scheme, _band_rows(con, labelled, attribute.name, scheme))


def _run_strength(a: int, c: int, sizes: tuple[int, int]) -> float:
    """How surely a run is enriched: log lift over its standard error (the Wald z, times 1/1.96)."""
    group_size, rest_size = sizes
    lift, _, high, _ = lift_interval(a, group_size - a, c, rest_size - c)
    return math.log(lift) / math.log(high / lift)


def _best_range(bands: list[tuple[_Band, int, int]], sizes: tuple[int, int], dash: str, min_count: int):
    """The contiguous run of bands (all but one at most) most surely enriched in the group.

    "Most surely" is the largest z of the log lift, among runs with a lift above 1: the highest
    lift alone would always be a single band, since merging bands averages their lifts. The run
    must hold at least max(min_count, 10% of the group) group members.
    """
    group_size, rest_size = sizes
    need = max(min_count, math.ceil(BEST_RANGE_MIN_SHARE * group_size))
    runs = []
    for i in range(len(bands)):
        for j in range(i, min(i + len(bands) - 1, len(bands))):
            a = sum(g for _, g, _ in bands[i:j + 1])
            c = sum(r for _, _, r in bands[i:j + 1])
            if a >= need:
                runs.append((a, c, i, j))
    # a * rest > c * group is a lift above 1, without dividing by a zero count.
    enriched = [run for run in runs if run[0] * rest_size > run[1] * group_size]
    if not enriched:
        return None
    # Ties: more group members, then the earlier and the shorter run.
    a, c, i, j = max(enriched, key=lambda run: (_run_strength(run[0], run[1], sizes), run[0], -run[2], -run[3]))
    first, last = bands[i][0], bands[j][0]
    return Count(
        value=_range_text(first, last, dash), low=first.low, high=last.high, in_group=a, group_size=group_size,
        in_rest=c, rest_size=rest_size, best_range=True, choices=len(runs),
    )


def numeric_bands(
    con: duckdb.DuckDBPyConnection, source: Relation, attribute: Attribute, label_sql: str, bands: int = 5,
    min_count: int = 5,
) -> NumericBands:
    """Counts per band of a numeric attribute (each with at least min_count accounts), and the best range."""
    labelled = _labelled(source, label_sql)
    cut = _scheme(con, labelled, attribute, bands, min_count)
    if cut is None:
        return NumericBands(bands=[], best=None)
    scheme, rows = cut
    sizes = sum(g for g, _ in rows.values()), sum(r for _, r in rows.values())
    filled = [(band, *rows[i]) for i, band in enumerate(scheme.bands) if i in rows]
    if len(filled) < 2 or 0 in sizes:
        return NumericBands(bands=[], best=None)
    counts = [
        Count(value=_range_text(band, band, scheme.dash), low=band.low, high=band.high, in_group=g,
              group_size=sizes[0], in_rest=r, rest_size=sizes[1])
        for band, g, r in filled if g + r >= min_count
    ]
    best = _best_range(filled, sizes, scheme.dash, min_count)
    if best is None or all((c.low, c.high) != (best.low, best.high) for c in counts):
        return NumericBands(bands=counts, best=best)
    # A best range of one band is that band's own test: flag the band, with its own (unadjusted) p-value.
    flagged = [c.model_copy(update={"best_range": (c.low, c.high) == (best.low, best.high)}) for c in counts]
    return NumericBands(bands=flagged, best=next(c for c in flagged if c.best_range))


def _counts(con, source: Relation, label_sql: str, attribute: Attribute, min_count: int, bands: int,
            values: dict[str, list[tuple[str, int, int]]]) -> list[Count]:
    """The counts tested for one attribute; `values`: the category and flag rows, fetched at once."""
    if attribute.kind == "number":
        return numeric_bands(con, source, attribute, label_sql, bands, min_count).tested()
    if attribute.kind == "list":
        return _list_counts(con, _labelled(source, label_sql), attribute, min_count)
    counter = _flag_counts if attribute.kind == "flag" else _category_counts
    return counter(values[attribute.name], min_count)


# --- findings and report -----------------------------------------------------------------------


def _subject(attribute: Attribute, count: Count) -> str:
    """What the sentence is about: the value itself for categories and list items, else the attribute."""
    if attribute.kind == "flag":
        return attribute.label
    if attribute.kind == "number":
        return f"{attribute.label} {count.value}" + (" (best range)" if count.best_range else "")
    return count.value


def _against_rest(table: TwoByTwo) -> str:
    """The lift, or plain shares where a zero count makes a ratio meaningless."""
    if table.c == 0:
        return "none of the rest"
    if table.a == 0:
        return f"{table.share_in_rest:.0%} of the rest"
    return f"{'<0.1' if table.lift < 0.1 else f'{table.lift:.1f}'}x the rest"


def _sentence(subject: str, table: TwoByTwo, evidence: Evidence, directional: bool, group_name: str) -> str:
    words = "no evidence beyond chance" if evidence == "none" else f"{evidence} evidence"
    text = (
        f"{subject}: {table.a:,} of {table.a + table.b:,} {group_name} ({table.share_in_group:.0%}), "
        f"{_against_rest(table)}; {words}"
    )
    return text + (f"; directional (fewer than {DIRECTIONAL_BELOW} {group_name})" if directional else "")


def _finding(attribute: Attribute, count: Count, table: TwoByTwo, p: float, q: float, group_name: str) -> Finding:
    evidence = evidence_label(q)
    directional = is_directional(count.group_size)
    return Finding(
        attribute=attribute.name, label=attribute.label, kind=attribute.kind, value=count.value,
        low=count.low, high=count.high, in_group=count.in_group, group_size=count.group_size,
        in_rest=count.in_rest, rest_size=count.rest_size, share_group=table.share_in_group,
        share_rest=table.share_in_rest, lift=table.lift, lift_low=table.lift_low, lift_high=table.lift_high,
        corrected=table.corrected, p_value=p, q_value=q, evidence=evidence, directional=directional,
        best_range=count.best_range, sentence=_sentence(_subject(attribute, count), table, evidence, directional, group_name),
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _headline(findings: list[Finding], attributes: int, group_name: str, min_count: int, directional: bool) -> str:
    # A directional report says so once: in the strongest finding's sentence when there is one.
    note = f" Directional: fewer than {DIRECTIONAL_BELOW} {group_name}." if directional else ""
    if not findings:
        return f"No attribute value is common enough to test (each needs at least {min_count} accounts).{note}"
    tested = f"{_plural(len(findings), 'value')} of {_plural(attributes, 'attribute')} tested"
    passing = sum(f.q_value < PASS_Q for f in findings)
    if passing == 0:
        return f"No attribute separates {group_name} from the rest beyond chance ({tested}).{note}"
    verb = "separates" if passing == 1 else "separate"
    return (
        f"{passing:,} of {tested} {verb} {group_name} from the rest beyond chance; "
        f"the strongest: {findings[0].sentence}."
    )


def _too_few(group_size: int, rest_size: int, group_name: str) -> PatternReport:
    if group_size < MIN_SIDE:
        headline = f"Too few {group_name} to compare: {group_size:,} (at least {MIN_SIDE} are needed)."
    else:
        headline = f"Too few accounts outside the {group_name} to compare: {rest_size:,} (at least {MIN_SIDE} are needed)."
    return PatternReport(
        findings=[], tested=0, group_size=group_size, rest_size=rest_size,
        directional=is_directional(group_size), headline=headline,
    )


def compare(
    con: duckdb.DuckDBPyConnection, source: Relation, label_sql: str, attributes: list[Attribute], *,
    group_name: str = "best customers", min_count: int = 5, bands: int = 5,
) -> PatternReport:
    """Test every value of every attribute for the group (rows where label_sql is true) against the rest.

    `source`: the rows to compare; label_sql a boolean expression over its columns (NULL: left out).
    """
    group_size, rest_size = _sizes(con, _labelled(source, label_sql))
    if min(group_size, rest_size) < MIN_SIDE:
        return _too_few(group_size, rest_size, group_name)
    values = _all_value_rows(con, _labelled(source, label_sql),
                             [a for a in attributes if a.kind in ("category", "flag")])
    tested = [
        (index, attribute, count) for index, attribute in enumerate(attributes)
        for count in _counts(con, source, label_sql, attribute, min_count, bands, values)
    ]
    tables = [
        two_by_two(c.in_group, c.group_size - c.in_group, c.in_rest, c.rest_size - c.in_rest) for _, _, c in tested
    ]
    p_values = [min(1.0, table.p_value * count.choices) for table, (_, _, count) in zip(tables, tested, strict=True)]
    q_values = benjamini_hochberg(p_values)
    ranked = sorted(
        zip(tested, tables, p_values, q_values, strict=True),
        key=lambda row: (row[3], -abs(math.log(row[1].lift)), row[0][0], row[0][2].best_range, row[0][2].value),
    )
    findings = [_finding(attribute, count, table, p, q, group_name) for (_, attribute, count), table, p, q in ranked]
    directional = is_directional(group_size)
    attributes_tested = len({index for index, _, _ in tested})
    return PatternReport(
        findings=findings, tested=len(findings), group_size=group_size, rest_size=rest_size,
        directional=directional, headline=_headline(findings, attributes_tested, group_name, min_count, directional),
    )
