"""Typed values from raw text cells, as DuckDB TEMP macros plus a few Python helpers.

The macros run inside DuckDB so a column of millions of cells is normalized at vectorized speed;
Python only ever sees a column's DISTINCT values (countries). They are TEMP, so installing them
never changes a workspace database file. Temp objects belong to one connection, and
``con.cursor()`` is a new connection: call ``install`` on each.

A macro parameter is pasted into the body wherever it is used, so an expression that costs a
regex and is needed more than once is bound once as ``list_transform([expr], lambda x: ...)[1]``.
"""

import functools
import re
import unicodedata

import duckdb
import pycountry
from rapidfuzz import fuzz, process

from icp.trim import TRIM_CLASS_BODY


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL literal for one of this module's constant patterns (never for a cell value)."""
    return "'" + text.replace("'", "''") + "'"


def _list(*items: str) -> str:
    return "[" + ", ".join(_lit(i) for i in items) + "]"


def _in(*items: str) -> str:
    return "(" + ", ".join(_lit(i) for i in items) + ")"


# --- icp_number --------------------------------------------------------------------------------

# A closed list, so "12 apples" stays NULL instead of becoming 12.
_CURRENCY = (
    r"(?:[$€£¥₹]|us\$|[acr]\$|usd|eur|gbp|chf|jpy|cny|rmb|inr|rs\.?|aud|cad|nzd|sgd|hkd"
    r"|sek|nok|dkk|pln|czk|brl|mxn|zar|krw|aed)"
)
_UNIT = (
    r"(thousands?|tsd|k|millions?|mio|mm|mn|m|milliarden|milliarde|mrd|billions?|bn|b"
    r"|trillions?|tn|t|lakhs?|lacs?|crores?)"
)
# The separator rules are the order of these alternatives (RE2 keeps the first that fits):
#   comma thousands, western 1,234,567 or Indian 12,34,567, with optional dot decimals;
#   dot thousands with comma decimals (1.234,56); several dots (1.200.000);
#   space or apostrophe thousands (1 200 000, 1'234.50);
#   else at most one separator, and it is the decimal one (3,5 / 1.2 / 1.200 / 1,5000).
# Each alternative has its own groups, so which one matched says what the separators mean.
_AMOUNT = (
    r"(?:(\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d\d)*,\d{3})(\.\d+)?"
    r"|(\d{1,3}(?:\.\d{3})+)(,\d+)"
    r"|(\d{1,3}(?:\.\d{3}){2,})"
    r"|(\d{1,3}(?:[ '’]\d{3})+)([.,]\d+)?"
    r"|(\d+)([.,]\d+)?)"
)
_NUMBER_RE = (
    rf"^(\()? ?([-+−])? ?{_CURRENCY}? ?([-+−])? ?{_AMOUNT}"
    rf" ?{_UNIT}?\.? ?(?:%|{_CURRENCY})? ?(\))?$"
)
_NUMBER_PARTS = _list(
    "open", "sign1", "sign2", "i1", "f1", "i2", "f2", "i3", "i4", "f4", "i5", "f5", "unit", "close"
)  # fmt: skip

_NUMBER = f"""coalesce(
    CASE WHEN isfinite(TRY_CAST(s AS DOUBLE)) THEN TRY_CAST(s AS DOUBLE) END,
    list_transform([regexp_extract(lower(_icp_squash(s)), {_lit(_NUMBER_RE)}, {_NUMBER_PARTS})],
        lambda n: CASE WHEN (n.open = '') = (n.close = '') THEN
            CASE WHEN n.open = '(' OR n.sign1 IN ('-', '−') OR n.sign2 IN ('-', '−')
                THEN -1 ELSE 1 END
            * TRY_CAST(translate(n.i1 || n.i2 || n.i3 || n.i4 || n.i5, ',. ''’', '')
                       || '.' || ltrim(n.f1 || n.f2 || n.f4 || n.f5, '.,') AS DOUBLE)
            * CASE WHEN n.unit = '' THEN 1
                WHEN n.unit IN {_in("k", "tsd", "thousand", "thousands")} THEN 1e3
                WHEN n.unit IN {_in("lakh", "lakhs", "lac", "lacs")} THEN 1e5
                WHEN n.unit IN {_in("crore", "crores")} THEN 1e7
                WHEN n.unit IN {_in("m", "mm", "mn", "mio", "million", "millions")} THEN 1e6
                WHEN n.unit IN {_in("t", "tn", "trillion", "trillions")} THEN 1e12
                ELSE 1e9 END
        END)[1])"""

# --- icp_employees, icp_band_text -------------------------------------------------------------

_BAND_VALUE = r"((?:[$€£] ?)?\d(?:[\d.,'’ ]*\d)? ?(?:k|m|mm|mn|mio|b|bn)?)"
_BAND_RE = (
    rf"^(?:(?:<=?|≤|under|less than|fewer than|below|up to) ?{_BAND_VALUE}"
    rf"|(?:>=?|≥|over|more than|above|at least) ?{_BAND_VALUE}"
    rf"|{_BAND_VALUE} ?(?:-|–|—|to) ?{_BAND_VALUE}"
    rf"|{_BAND_VALUE} ?(?:\+|or more|and (?:more|above|over)))$"
)
_BAND_PARTS = _list("below", "above", "low", "high", "plus")
# Words around a headcount that say nothing about its size: "~50", "approx. 200 employees".
_HEADCOUNT_NOISE = r"^(?:~|approx\.?|about|ca\.?|circa) ?| ?(?:employees?|people|staff|ftes?|persons)$"

# --- icp_date ----------------------------------------------------------------------------------

_DATE_RE = (
    r"^(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"  # 2022-11-09, 2022/11/09
    r"|(\d{1,2})([-/.])(\d{1,2})[-/.](\d{4}|\d{2})"  # 11/9/2022, 9.11.2022, 11/9/22
    r"|(\d{4})(\d{2})(\d{2})"  # 20221109
    r"|(\d{4})[-/](\d{1,2})"  # 2012-06 (not 2012.06, that is a number)
    r"|(\d{1,2})[-/](\d{4}))"  # 06/2012
    r"(?:[t ]\d{1,2}:\d{2}.*)?$"  # a time of day is dropped
)
_DATE_PARTS = _list(
    "y", "m", "d", "a", "sep", "b", "yy", "y8", "m8", "d8", "ym_y", "ym_m", "my_m", "my_y"
)  # fmt: skip
# Month names are cut to three letters first, because %b does not read "November" or "Sept".
# "%d %b %y" comes before "%d %b %Y", which would read "9 Nov 22" as the year 22.
_MONTH_FORMATS = _list("%b %d %Y", "%d %b %y", "%d %b %Y", "%b %Y")

# --- icp_domain, icp_name_key ------------------------------------------------------------------

# Labels of letters/digits/hyphens, and a top-level label starting with a letter (so no IPs).
_DOMAIN_RE = r"^((?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}[\p{L}\p{N}-]*[\p{L}\p{N}])$"

_LEGAL_SUFFIXES = (
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "kg", "se", "sa", "sas", "sarl", "sl", "bv", "nv", "plc", "pty", "pte", "pvt",
    "llp", "lp", "srl", "spa", "oy", "ab", "as", "kk",
)  # fmt: skip
# Several may trail, joined by "and" after & is spelled out: "GmbH & Co. KG", "Pty Ltd", "& Co".
_LEGAL_TAIL_RE = rf"(?: (?:and )?(?:{'|'.join(_LEGAL_SUFFIXES)}))+$"

_MISSING = (
    "-", "--", "---", "—", "–", "n/a", "na", "n.a.", "#n/a", "null", "none", "nan", "-nan", "unknown",
    "not available", "?",
)  # fmt: skip

# --- fast paths ---------------------------------------------------------------------------------

# Most cells of a real export are already clean. The macros below whose rules cost several regexes
# first ask one cheap question (a full match against a simple pattern) and, for a clean value,
# return what their full rules would, without running them: a million domains in 0.2 s instead of
# 5 s. The full rules stay as they were (`_FULL`), for every other value; the tests check both
# agree. Each fast path is written inline, not as a call to a second macro, because DuckDB expands
# a macro's calls when it creates it, and every connection creates them all.
# A value with no space other than single inner spaces: _icp_squash leaves it as it is.
_SQUASHED = f"[^{TRIM_CLASS_BODY}]+(?: [^{TRIM_CLASS_BODY}]+)*"
# A lower-case ASCII domain, the DOMAIN_RE shape: nothing for icp_domain to strip (unless "www...").
_BARE_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]"
# ASCII letters and digits in single-spaced words: only the legal tail is left for icp_name_key.
_PLAIN_NAME = r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*"
_PLAIN_YEAR = r"1[89]\d\d|20\d\d|2100"
# A plain count, short enough for a DOUBLE to hold exactly.
_PLAIN_COUNT = r"\d{1,15}"

# signature -> (when the fast path applies, its value); both may use the parameter freely, since
# the macros are called on columns.
_FAST_PATHS: dict[str, tuple[str, str]] = {
    "icp_cell(s)": (f"regexp_full_match(s, {_lit(_SQUASHED)})",
                    f"CASE WHEN lower(s) IN {_in(*_MISSING)} THEN NULL ELSE s END"),
    # A plain number is read by the cast alone; the regex rules run only where it fails.
    "icp_number(s)": ("isfinite(TRY_CAST(s AS DOUBLE))", "TRY_CAST(s AS DOUBLE)"),
    "icp_employees(s)": (f"regexp_full_match(s, {_lit(_PLAIN_COUNT)})", "TRY_CAST(s AS DOUBLE)"),
    "icp_domain(s)": (f"regexp_full_match(s, {_lit(_BARE_DOMAIN)}) AND NOT starts_with(s, 'www')", "s"),
    "icp_year(s)": (f"regexp_full_match(s, {_lit(_PLAIN_YEAR)})", "CAST(s AS INTEGER)"),
    # A plain name without a legal tail is its own key, lower-cased.
    "icp_name_key(s)": (f"regexp_full_match(s, {_lit(_PLAIN_NAME)}) "
                        f"AND NOT regexp_matches(lower(s), {_lit(_LEGAL_TAIL_RE)})", "lower(s)"),
}

# name(params) -> body, in dependency order.
_MACROS: dict[str, str] = {
    # Every Unicode space (NBSP from Excel, tabs, newlines) becomes one space; "" becomes NULL.
    # A space is any character scoring trims (icp.trim): RE2's \s and \p{Z} left out vertical tabs,
    # U+001C-001F and U+0085, so "\x85Fintech" was a label of its own yet scored as Fintech.
    "_icp_squash(s)": f"nullif(trim(regexp_replace(s, '[{TRIM_CLASS_BODY}]+', ' ', 'g')), '')",
    # A cell as a value: NULL when empty or a placeholder for "missing" (pandas' NA spellings,
    # dashes as accountants write them, "unknown").
    "icp_cell(s)": f"""CASE WHEN lower(_icp_squash(s)) IN {_in(*_MISSING)} THEN NULL ELSE _icp_squash(s) END""",
    "icp_number(s)": _NUMBER,
    # Nobody has 1.2 employees: a lone dot before three digits is a thousands separator here.
    "_icp_count(s)": r"""CASE WHEN regexp_full_match(s, '\d{1,3}\.\d{3}')
        THEN CAST(replace(s, '.', '') AS DOUBLE) ELSE icp_number(s) END""",
    "_icp_headcount_text(s)": f"regexp_replace(lower(_icp_squash(s)), {_lit(_HEADCOUNT_NOISE)}, '', 'g')",
    # A capture-group extract costs ~15x a plain match, so it only runs on cells that are bands.
    "_icp_band_parts(h)": f"""CASE WHEN regexp_full_match(h, {_lit(_BAND_RE)})
        THEN regexp_extract(h, {_lit(_BAND_RE)}, {_BAND_PARTS}) END""",
    # Every number of a headcount goes through one _icp_count, so its large body is pasted once.
    "_icp_headcount(h, b)": """list_transform([list_transform(CASE
            WHEN b.low <> '' THEN [b.low, b.high]
            WHEN b IS NOT NULL THEN [b.below || b.above || b.plus]
            WHEN NOT regexp_matches(h, '^[-(]') THEN [h] END, lambda x: _icp_count(x))], lambda c: CASE
        WHEN regexp_full_match(h, 'self[- ]?employed') THEN 1
        WHEN b.below <> '' THEN c[1] / 2
        WHEN len(c) = 2 THEN CASE WHEN c[1] <= c[2] THEN (c[1] + c[2]) / 2 END
        ELSE c[1] END)[1]""",
    # A range is its midpoint, "<10" half its bound, an open band ("10001+", "over 5000") its
    # lower bound; a reversed range or a negative count is NULL.
    "icp_employees(s)": """list_transform([_icp_headcount_text(s)], lambda h:
        list_transform([_icp_band_parts(h)], lambda b: _icp_headcount(h, b))[1])[1]""",
    # The cell (trimmed, spaces collapsed) when it is a band of the shapes above, amounts included.
    "icp_band_text(s)": f"""CASE WHEN regexp_full_match(_icp_headcount_text(s), {_lit(_BAND_RE)})
        THEN _icp_squash(s) END""",
    # Bands are whole numbers; midpoints like 10.5 round up, the way a person would read them.
    "icp_size_band(n)": """CASE WHEN n >= 1 THEN CASE
        WHEN n < 10.5 THEN '1-10' WHEN n < 50.5 THEN '11-50' WHEN n < 200.5 THEN '51-200'
        WHEN n < 500.5 THEN '201-500' WHEN n < 1000.5 THEN '501-1000'
        WHEN n < 5000.5 THEN '1001-5000' ELSE '5001+' END END""",
    "icp_revenue_band(v)": """CASE WHEN v >= 0 THEN CASE
        WHEN v < 1e6 THEN '<1M' WHEN v < 1e7 THEN '1M-10M' WHEN v < 5e7 THEN '10M-50M'
        WHEN v < 1e8 THEN '50M-100M' WHEN v < 5e8 THEN '100M-500M' WHEN v < 1e9 THEN '500M-1B'
        ELSE '1B+' END END""",
    "icp_domain(s)": f"""nullif(regexp_extract(rtrim(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(lower(_icp_squash(s)),
            '^(?:(?:[a-z][a-z0-9+.-]*:)?//|mailto:)', ''),
            '^[^/?#]*@', ''),
            '[/?#:>].*$', ''),
            '^www\\d*\\.', ''), '.'), {_lit(_DOMAIN_RE)}, 1), '')""",
    "icp_bool(s)": f"""list_transform([lower(_icp_squash(s))], lambda b: CASE
        WHEN b IN {_in("yes", "y", "true", "t", "1", "1.0", "x", "on")} THEN true
        WHEN b IN {_in("no", "n", "false", "f", "0", "0.0", "off")} THEN false END)[1]""",
    # Time of day and zone are dropped (the date as written). Dotted dates are always day first;
    # two-digit years 00-68 are 20xx and 69-99 19xx, as strptime's %y reads them.
    "icp_date(s, dayfirst)": f"""list_transform([lower(_icp_squash(s))], lambda t:
        list_transform([regexp_extract(t, {_lit(_DATE_RE)}, {_DATE_PARTS})], lambda d: CASE
            WHEN d.y <> '' THEN TRY_CAST(d.y || '-' || d.m || '-' || d.d AS DATE)
            WHEN d.a <> '' THEN TRY_CAST(
                CASE WHEN length(d.yy) = 4 THEN d.yy
                     WHEN d.yy < '69' THEN '20' || d.yy ELSE '19' || d.yy END
                || '-' || CASE WHEN dayfirst OR d.sep = '.' THEN d.b ELSE d.a END
                || '-' || CASE WHEN dayfirst OR d.sep = '.' THEN d.a ELSE d.b END AS DATE)
            WHEN d.y8 BETWEEN '1900' AND '2100' THEN TRY_CAST(d.y8 || '-' || d.m8 || '-' || d.d8 AS DATE)
            WHEN d.ym_y <> '' THEN TRY_CAST(d.ym_y || '-' || d.ym_m || '-1' AS DATE)
            WHEN d.my_y <> '' THEN TRY_CAST(d.my_y || '-' || d.my_m || '-1' AS DATE)
            WHEN regexp_matches(t, '[a-z]') THEN CAST(try_strptime(trim(regexp_replace(
                regexp_replace(regexp_replace(t,
                    '^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? ', ''),
                    '\\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*|(\\d)(?:st|nd|rd|th)\\b',
                    '\\1\\2', 'g'),
                    '[ ,./-]+', ' ', 'g')), {_MONTH_FORMATS}) AS DATE)
        END)[1])[1]""",
    "icp_year(s)": r"""TRY_CAST(nullif(
        regexp_extract(s, '(?:^|\D)(1[89]\d\d|20\d\d|2100)(?:\D|$)', 1), '') AS INTEGER)""",
    # Items are trimmed with inner spaces collapsed; duplicates differing only in case are dropped.
    "icp_list(s)": r"""list_transform(
        [list_filter(list_transform(string_split_regex(s, '[;,|\r\n]'), lambda x: _icp_squash(x)),
                     lambda x: x IS NOT NULL)],
        lambda items: nullif(list_filter(items, lambda x, i:
            list_position(list_transform(items, lambda y: lower(y)), lower(x)) = i), []))[1]""",
    # lower() keeps ß, casefold() does not: "Straße" and "STRASSE" should be one label.
    "icp_label_key(s)": "replace(lower(_icp_squash(s)), 'ß', 'ss')",
    # Dots and apostrophes join (A.C.M.E., McDonald's); other punctuation separates words.
    "icp_name_key(s)": f"""nullif(trim(regexp_replace(trim(regexp_replace(regexp_replace(
        replace(strip_accents(lower(s)), '&', ' and '),
        '[.''’`]', '', 'g'),
        '[^\\p{{L}}\\p{{N}}]+', ' ', 'g')), {_lit(_LEGAL_TAIL_RE)}, '')), '')""",
}

# The full rules of the macros with a fast path, as written before it (for the tests).
_FULL = {signature: _MACROS[signature] for signature in _FAST_PATHS}
# The full rules where the fast path does not apply. DuckDB computes a subexpression used twice
# once, for every row, even inside an ELSE: icp_cell's rules squash the cell twice, so they are
# written with the squashed cell bound once by a lambda, which keeps that work to the other rows.
_FALLBACKS = {
    "icp_cell(s)": f"""list_transform([_icp_squash(s)], lambda q:
        CASE WHEN lower(q) IN {_in(*_MISSING)} THEN NULL ELSE q END)[1]""",
}
for _signature, (_when, _value) in _FAST_PATHS.items():
    _MACROS[_signature] = (f"CASE WHEN {_when} THEN {_value} "
                           f"ELSE ({_FALLBACKS.get(_signature, _MACROS[_signature])}) END")

_INSTALL_SQL = ";\n".join(
    f"CREATE OR REPLACE TEMP MACRO {signature} AS {body}" for signature, body in _MACROS.items()
)


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the icp_ macros as TEMP macros of this connection."""
    con.execute(_INSTALL_SQL)


# --- countries --------------------------------------------------------------------------------

# Keys are normalized with _country_key. Names, official names and codes come from pycountry.
_COUNTRY_ALIASES = {
    "america": "US", "usa": "US", "united states": "US",
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB",
    "deutschland": "DE", "espana": "ES", "brasil": "BR", "italia": "IT", "osterreich": "AT",
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "nederland": "NL", "holland": "NL",
    "belgie": "BE", "belgique": "BE", "sverige": "SE", "norge": "NO", "danmark": "DK",
    "suomi": "FI", "polska": "PL", "turkey": "TR",
    "korea": "KR", "korea south": "KR", "republic of korea": "KR", "korea north": "KP",
    "russia": "RU", "czech republic": "CZ", "uae": "AE", "emirates": "AE",
    "ivory coast": "CI", "macedonia": "MK", "swaziland": "SZ", "burma": "MM", "cape verde": "CV",
    "east timor": "TL", "vatican": "VA", "vatican city": "VA", "palestine": "PS",
    "micronesia": "FM", "drc": "CD", "dr congo": "CD", "democratic republic of the congo": "CD",
    "prc": "CN", "mainland china": "CN", "macau": "MO", "eire": "IE", "republic of ireland": "IE",
}  # fmt: skip
# In a spreadsheet "NA" means "not available" far more often than Namibia (pandas agrees).
_NOT_A_COUNTRY = frozenset({"na"})
_FUZZY_MIN_CHARS = 5
_FUZZY_MIN_SCORE = 85


def _country_key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[.'’]", "", text)  # U.S.A. -> usa, Côte d'Ivoire -> cote divoire
    text = " ".join(re.sub(r"[\W_]+", " ", text).split())
    return text.removeprefix("the ")


@functools.cache
def _country_index() -> dict[str, str]:
    index = {}
    for country in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            if value := getattr(country, attr, None):
                index[_country_key(value)] = country.alpha_2
    return index | _COUNTRY_ALIASES


@functools.cache
def _fuzzy_choices() -> dict[str, str]:
    """Names long enough to fuzzy-match; codes are left out, "Germny" must not become "GNQ"."""
    return {key: code for key, code in _country_index().items() if len(key) >= _FUZZY_MIN_CHARS}


@functools.lru_cache(maxsize=65536)
def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 code of a country name, code or common variant; None if unknown.

    Two-letter input is read as an ISO code, never as a US state: "CA" is Canada, "TX" is None.
    Region names are not looked up (pycountry's regions include "APAC" in Uganda and "North" in
    Cameroon), and typos are matched against country names only ("Untied States" -> US), not
    with pycountry's substring search, which maps "Other" to GB.
    """
    if value is None:
        return None
    key = _country_key(value)
    if not key or key in _NOT_A_COUNTRY:
        return None
    if code := _country_index().get(key):
        return code
    if len(key) < _FUZZY_MIN_CHARS:
        return None
    choices = _fuzzy_choices()
    match = process.extractOne(key, choices.keys(), scorer=fuzz.ratio, score_cutoff=_FUZZY_MIN_SCORE)
    return choices[match[0]] if match else None

