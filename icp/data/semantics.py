"""What a column holds, read from its header and a sample of its values, before any role is given.

Two questions are answered here, both from one profile per column (counts over the first rows):
- does a column's content suit a role (`role_fit`): a 0/1 flag is never the company name, a
  column of record ids never an industry, a stage column with no won or lost value a poor outcome;
- is a column without a role something no analysis should read (`excluded`): identifiers, phone
  numbers, postal codes, street addresses, URLs, e-mail addresses, JSON, free text, constants.
  Such columns stay in the list and in every export; they are never tested, segmented or clustered.
"""

import re
from dataclasses import dataclass

import duckdb

from icp.data.roles import ACCOUNT_LISTS, ROLE_BY_NAME, header_key, header_parts
from icp.normalize import quote_ident

# Shapes are read off the first rows: enough to tell a phone number from a headcount, and a
# tenth of a second for ten columns.
SAMPLE_ROWS = 5_000
# A column's shape is the one most of its filled cells have.
_MOST = 0.8
_NEARLY_ALL = 0.9

REASONS = {
    "identifier": "identifiers (record ids, codes)",
    "phone": "phone numbers",
    "postal_code": "postal codes",
    "address": "street addresses",
    "url": "web addresses",
    "email": "e-mail addresses",
    "json": "JSON",
    "free_text": "free text",
    "constant": "one value in every row",
    "empty": "no values",
    "coordinates": "map coordinates",
    "person": "people's names",
    "user": "left out by you",
}

# Salesforce record ids (15 or 18 letters and digits), UUIDs / GUIDs, Zoho ids.
_RECORD_ID = (r"(?:[A-Za-z0-9]{15}|[A-Za-z0-9]{18}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
              r"-[0-9a-fA-F]{12}|\{[0-9a-fA-F-]{36}\}|zcrm_\d+)")
_PHONE = r"(?:\+|00)?[\d\s().\-/]{7,24}(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_URL = r"(?i)(?:https?://|www\.)\S+|[a-z0-9.-]+\.[a-z]{2,}/\S*|/[\w.-]+/\S+"
_POSTAL = (r"(?i)\d{5}-\d{4}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4} ?[A-Z]{2}"
           r"|\d{2}-\d{3}")
_STREET_WORDS = (r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|parkway"
                 r"|pkwy|highway|hwy|suite|ste|floor|fl|square|sq|circle|cir|terrace|trail|plaza|unit|po box")
_EURO_STREET = r"straße|strasse|str|weg|gasse|platz|allee|rue|via|calle|carrer|rua|laan|straat|vej|gatan|gata|ulica"
_ADDRESS = (rf"(?i)^\d+[a-z]?\b.*\b(?:{_STREET_WORDS})\b.*|.*\b(?:{_EURO_STREET})\b\.?\s*\d+.*"
            rf"|^(?:p\.?\s?o\.?\s?box)\s*\d+.*")
_WON_OR_LOST = r"(?i)\bwon\b|\bwin\b|\blost\b|closedwon|closedlost|signed|dead|disqualif"

# Header words that say what a column holds whatever its values look like. The first group may be
# any word of the header ("Main Phone", "BillingPostalCode"); the second only its last word, the
# noun the header is about ("Account ID", but not "Key Account").
_ANY_WORD_HINTS: tuple[tuple[str, str], ...] = (
    ("email", r"e ?mail|email|emailaddress"),
    ("phone", r"phone|telephone|tel|fax|mobile|cellphone|phonenumber"),
    ("postal_code", r"zip|zipcode|postal|postcode|postalcode|plz|zippostalcode"),
    ("url", r"url|link|linkedin|twitter|facebook|instagram|youtube|photourl"),
    ("address", r"street|address|addr|streetaddress|addressline|street1|street2"),
    ("person", r"contactname|contactperson|primarycontact|personname|firstname|lastname|fullname|"
               r"contact|person"),
)
_LAST_WORD_HINTS: tuple[tuple[str, str], ...] = (
    ("coordinates", r"latitude|longitude|lat|lng|lon|geocode|coordinates|accuracy"),
    ("identifier", r"id|ids|uuid|guid|key|ticker|symbol|duns|vat|ein|taxid|isin|checksum|serial|externalid"
                   r"|sku|hash|rank|index|no|number"),
    ("free_text", r"description|notes|note|comments|comment|summary|about|bio|remarks|step"),
)
# Zoho calls a postal code "Billing Code".
_CODE_OF_ADDRESS = re.compile(r"(billing|shipping|mailing|postal|post|zip)code")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class Profile:
    """Counts over a column's first filled cells (all but `filled` and the lengths count cells)."""

    filled: int
    distinct: int
    numbers: int
    flags: int
    dates: int
    employees: int
    years: int
    domains: int
    distinct_domains: int
    churn: int
    outcomes: int
    phones: int
    emails: int
    urls: int
    jsons: int
    record_ids: int
    codes: int
    postal: int
    addresses: int
    leading_zeros: int
    digit_strings: int
    digit_width_min: int | None
    digit_width_max: int | None
    integers: int
    integer_min: int | None
    integer_max: int | None
    mean_length: float
    mean_words: float

    def share(self, count: int) -> float:
        return count / self.filled if self.filled else 0.0


_EMPTY = Profile(*([0] * 21), None, None, 0, None, None, 0.0, 0.0)


def _aggregates(c: str) -> list[str]:
    """The Profile's fields, in order, as aggregates over rows (cell `c`, count `n`): one row per
    distinct cell of a column, standing for n cells."""
    def cells(where: str) -> str:
        return f"coalesce(sum(n) FILTER (WHERE {where}), 0)"

    def known(expr: str) -> str:
        return cells(f"({expr}) IS NOT NULL")

    digits = f"regexp_full_match({c}, '\\d+')"
    letter_and_digit = f"regexp_matches({c}, '[0-9]') AND regexp_matches({c}, '[A-Za-z]')"
    churn = (f"coalesce(icp_bool({c}), CASE WHEN regexp_matches(lower({c}), "
             "'churn|cancel|lost|inactive|former|terminat|closed|left|active|current|customer|live|retain|renew|paying')"
             " THEN true END)")
    return [
        "sum(n)",
        "count(*)",
        known(f"icp_number({c})"),
        known(f"icp_bool({c})"),
        known(f"coalesce(icp_date({c}, false), icp_date({c}, true))"),
        known(f"icp_employees({c})"),
        cells(f"icp_year({c}) IS NOT NULL AND length({c}) <= 12"),
        known(f"icp_domain({c})"),
        f"count(DISTINCT icp_domain({c}))",
        known(churn),
        cells(f"regexp_matches({c}, '{_WON_OR_LOST}')"),
        cells(f"regexp_full_match({c}, '{_PHONE}') AND TRY_CAST({c} AS DOUBLE) IS NULL "
              f"AND length(regexp_replace({c}, '\\D', '', 'g')) BETWEEN 7 AND 15 "
              f"AND (regexp_matches({c}, '[\\s().\\-/]') OR starts_with({c}, '+'))"),
        cells(f"regexp_full_match({c}, '{_EMAIL}')"),
        cells(f"regexp_full_match({c}, '{_URL}')"),
        cells(f"(starts_with({c}, '{{') OR starts_with({c}, '[')) AND json_valid({c})"),
        cells(f"regexp_full_match({c}, '{_RECORD_ID}') AND {letter_and_digit}"),
        cells(f"regexp_full_match({c}, '\\S{{4,}}') AND {letter_and_digit}"),
        cells(f"regexp_full_match({c}, '{_POSTAL}')"),
        cells(f"regexp_full_match({c}, '{_ADDRESS}')"),
        cells(f"regexp_full_match({c}, '0\\d+')"),
        cells(digits),
        f"min(length({c})) FILTER (WHERE {digits})",
        f"max(length({c})) FILTER (WHERE {digits})",
        cells(f"{digits} AND TRY_CAST({c} AS BIGINT) IS NOT NULL"),
        f"min(TRY_CAST({c} AS BIGINT)) FILTER (WHERE {digits})",
        f"max(TRY_CAST({c} AS BIGINT)) FILTER (WHERE {digits})",
        f"coalesce(sum(n * length({c})) / sum(n), 0)",
        f"coalesce(sum(n * (length({c}) - length(replace({c}, ' ', '')) + 1)) / sum(n), 0)",
    ]


def profile(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> dict[str, Profile]:
    """A Profile of each column of `table` (raw text with `_row`) over its first SAMPLE_ROWS rows.
    Needs the normalization macros (icp.normalize.install).

    The sample is unpivoted to (column, cell, rows) first, so the rules run once per distinct cell
    of a column and the query is the same size for 3 columns or 300 (a query with the rules pasted
    once per column took seconds just to plan)."""
    if not columns:
        return {}
    picked = ", ".join(f"icp_cell({quote_ident(col)}) AS {quote_ident(f'c{i}')}" for i, col in enumerate(columns))
    on = ", ".join(quote_ident(f"c{i}") for i in range(len(columns)))
    rows = con.execute(f"""
        WITH sample AS (SELECT {picked} FROM {quote_ident(table)} WHERE _row <= ?),
        cells AS (UNPIVOT sample ON {on} INTO NAME col VALUE cell),
        counted AS (SELECT col, cell, count(*) AS n FROM cells GROUP BY ALL)
        SELECT col, {', '.join(_aggregates("cell"))} FROM counted WHERE cell IS NOT NULL GROUP BY col""",
        [SAMPLE_ROWS]).fetchall()
    found = {columns[int(row[0][1:])]: Profile(*row[1:]) for row in rows}
    return {col: found.get(col, _EMPTY) for col in columns}


# --- roles ---------------------------------------------------------------------------------------


def _looks_like(p: Profile, *counts: int) -> bool:
    return any(p.share(n) >= _MOST for n in counts)


def role_fit(role: str, p: Profile, list_kind: str) -> float:
    """How well a column's values suit a role, 0 (never) to 1; an empty column contradicts nothing."""
    if p.filled == 0:
        return 1.0
    kind = ROLE_BY_NAME[role].kind
    flag_like = p.flags == p.filled and p.distinct <= 2
    one_per_row = list_kind in ACCOUNT_LISTS or (list_kind == "deals" and role == "deal_id")
    # One value (or nearly) for every account names none of them; rows of one account repeat (an
    # export with a row per contact), so a name need not be unique.
    varied = p.distinct >= max(2, 0.1 * p.filled) if p.filled >= 3 else True
    if role in ("account_name", "deal_name"):
        if flag_like or _looks_like(p, p.numbers, p.emails, p.phones, p.urls, p.jsons, p.dates, p.record_ids):
            return 0.0
        return 1.0 if varied or not one_per_row else 0.0
    if role in ("account_id", "deal_id", "order_id"):
        if flag_like or p.share(p.jsons) >= _MOST:
            return 0.0
        return 1.0 if varied or not one_per_row else 0.0
    if kind == "domain":
        if p.share(p.domains) < 0.5:
            return 0.0
        # A page of LinkedIn or a CRM's own links is one domain for every account.
        return 1.0 if list_kind not in ACCOUNT_LISTS or p.distinct_domains >= 0.3 * p.domains else 0.0
    if kind in ("category", "country"):
        shaped = (p.jsons, p.emails, p.phones, p.record_ids)
        return 0.0 if _looks_like(p, *shaped) or (p.share(p.urls) >= _MOST and not p.domains) else 1.0
    if kind in ("money", "number"):
        return 1.0 if p.share(p.numbers) >= 0.6 else 0.0
    if kind == "employees":
        return 1.0 if p.share(p.employees) >= 0.6 else 0.0
    if kind == "year":
        return 1.0 if p.share(p.years) >= 0.6 else 0.0
    if kind == "date":
        return 1.0 if p.share(p.dates) >= 0.6 else 0.0
    if kind == "flag":
        return 1.0 if p.share(p.flags) >= _NEARLY_ALL else 0.0
    if kind == "churn":
        return 1.0 if p.share(p.churn) >= 0.6 else 0.0
    if kind == "stage":
        if flag_like:
            return 0.0
        # A pipeline-stage column ("Qualified", "Demo") says nothing of won or lost: the status beside
        # it (Pipedrive's "Deal - Status") is the outcome.
        return 1.0 if p.outcomes else 0.3
    return 1.0


# --- columns no analysis reads ---------------------------------------------------------------------


def header_words(header: str) -> list[str]:
    """The words of a header: "BillingPostalCode" -> billing, postal, code; "hs_object_id" -> hs, object, id."""
    field = header_parts(header).field
    return [w.casefold() for w in _WORD.findall(field)]


def _hint(header: str) -> str | None:
    """What the header's words say the column holds, if they say it."""
    parts = header_parts(header)
    if parts.system:
        return "identifier"
    if parts.entity == "other" and header_key(parts.field) == "name":  # Pipedrive's "Person - Name"
        return "person"
    words = header_words(header)
    joined = header_key(parts.field)
    if not words:
        return None
    pairs = {a + b for a, b in zip(words, words[1:], strict=False)}
    for reason, pattern in _ANY_WORD_HINTS:
        if any(re.fullmatch(pattern, t) for t in {*words, *pairs, joined}):
            return reason
    if _CODE_OF_ADDRESS.fullmatch(joined):
        return "postal_code"
    last = {words[-1], joined, *(pairs and {words[-2] + words[-1]})}
    for reason, pattern in _LAST_WORD_HINTS:
        if any(re.fullmatch(pattern, t) for t in last):
            return reason
    return None


def excluded(header: str, p: Profile, distinct_in_column: int | None = None) -> str | None:
    """Why a column without a role is never analysed (a key of REASONS), or None when it may be.

    `distinct_in_column`: the distinct values over more rows than the sample, when known (a column
    constant in the sample need not be constant further down).
    """
    if p.filled == 0:
        return "empty"
    distinct = p.distinct if distinct_in_column is None else distinct_in_column
    # Whatever else it is, a column with one value in every row separates nothing.
    if distinct <= 1 and p.filled >= 2:
        return "constant"
    hint = _hint(header)
    shares = {name: p.share(getattr(p, name)) for name in (
        "emails", "urls", "jsons", "phones", "record_ids", "codes", "postal", "addresses", "numbers",
        "leading_zeros", "digit_strings", "dates")}
    # Dates are read as dates (and never analysed as who an account is): "2023-04-05T17:22:31.000Z"
    # is not a code, "2023-05-12" not a phone number.
    if shares["dates"] >= _MOST and shares["digit_strings"] < 0.5:
        return None
    # The header says it, and the values do not contradict it.
    if hint == "email" and shares["emails"] >= 0.5:
        return "email"
    if hint == "phone" and (shares["phones"] >= 0.5 or (shares["digit_strings"] >= 0.5
                                                        and (p.digit_width_min or 0) >= 7)):
        return "phone"
    if hint == "postal_code" and p.mean_length <= 10:
        return "postal_code"
    if hint == "coordinates" and shares["numbers"] >= _MOST:
        return "coordinates"
    if hint == "url" and shares["urls"] >= 0.5:
        return "url"
    if hint == "address" and shares["emails"] < 0.5 and shares["urls"] < 0.5 and shares["numbers"] < 0.5:
        return "address"
    if hint == "identifier" and not (p.flags == p.filled and p.distinct <= 2):
        # A system column of dates (Dynamics' "(Do Not Modify) Modified On") is a date.
        return None if header_parts(header).system and shares["dates"] >= _MOST else "identifier"
    if hint == "person" and p.mean_words <= 4 and all(
            shares[k] < 0.5 for k in ("numbers", "dates", "emails", "phones", "urls")):
        return "person"
    if hint == "free_text" and p.mean_words >= 2:
        return "free_text"
    # The values say it.
    if shares["jsons"] >= _NEARLY_ALL:
        return "json"
    if shares["emails"] >= _NEARLY_ALL:
        return "email"
    if shares["urls"] >= _NEARLY_ALL:
        return "url"
    if shares["record_ids"] >= _NEARLY_ALL:
        return "identifier"
    if shares["phones"] >= _MOST:
        return "phone"
    if shares["postal"] >= _MOST and shares["phones"] < 0.5:
        return "postal_code"
    if shares["addresses"] >= 0.6:
        return "address"
    mostly_distinct = p.distinct >= 0.9 * p.filled
    if shares["codes"] >= _NEARLY_ALL and mostly_distinct and p.mean_words <= 1.2:
        return "identifier"
    # Codes keep their leading zeros ("02139", "007"); a quantity never has one.
    if shares["digit_strings"] >= _NEARLY_ALL and shares["leading_zeros"] >= 0.1:
        return "identifier"
    if (shares["digit_strings"] >= _NEARLY_ALL and p.digit_width_min == p.digit_width_max
            and (p.digit_width_min or 0) >= 5 and p.distinct >= 0.5 * p.filled):
        return "identifier"
    # 1, 2, 3, ... n: a row number.
    if (p.filled >= 20 and p.integers == p.filled and p.distinct == p.filled
            and p.integer_max - p.integer_min + 1 == p.filled):
        return "identifier"
    if (p.mean_length >= 40 or p.mean_words >= 6) and p.distinct >= 0.5 * p.filled and shares["numbers"] < 0.5:
        return "free_text"
    return None


def text_kind(reason: str | None) -> bool:
    """Whether an excluded column keeps its cells as text (no number or date is read out of a phone
    number or a postal code); constants and coordinates keep the kind their values have."""
    return reason is not None and reason not in ("constant", "coordinates", "user")
