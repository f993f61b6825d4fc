"""Tables as files: `targets.csv` and `targets.xlsx` (docs/contracts.md), the same accounts shaped for
a CRM import (HubSpot companies, Salesforce accounts), and `segments.csv`.

Every text cell, headers and the ICP sheet included, goes through icp.cells' rule as it is written,
in the CSV and the XLSX alike; number columns stay numbers.

CRM import names, as documented by the vendors:

- HubSpot companies: the import tool maps a column whose header is a property's label
  ("Set up your import files", knowledge.hubspot.com); a company import needs "Company Domain Name".
  "Ideal Customer Profile Tier" is the default property `hs_ideal_customer_profile`, a dropdown whose
  internal values are `tier_1`, `tier_2`, `tier_3` (labels "Tier 1".."Tier 3"). A dropdown takes the
  option's internal value on import, so the file holds `tier_1`..`tier_3`; "Not a fit" accounts get
  no tier. "ICP fit score" and "ICP reasons" are custom properties (number, multi-line text) to create
  before the import or while mapping it. HubSpot's "Industry" is a dropdown of HubSpot's own
  industries: values outside that list do not import.
- Salesforce accounts (Data Import Wizard): "Account Name" is the label of `Name`; the other standard
  fields go by their API names (Account object reference). `ICP_Tier__c` (text or a picklist of
  "Tier 1".."Tier 3"), `ICP_Fit_Score__c` (number, 1 decimal) and `ICP_Reasons__c` (long text area:
  reasons outgrow a 255-character text field) are custom fields that must exist on Account first.

Headcounts and revenue are written as numbers read the way the workspace reads them ("51-200" is
126, "$1.2M" is 1200000, "974.8 MM" is 974800000, never "974800000.0"): both CRMs reject text in a
number field. The CRM's own record id goes first when the list carries it (HubSpot's "Record ID",
Salesforce Account IDs), and `crm_warnings` says when the key a CRM matches records on is missing.
"""


from collections.abc import Callable, Iterable, Iterator

import duckdb
import pandas as pd

from icp import cells, normalize
from icp.data import scratch
from icp.data.workspace import Workspace
from icp.export import xlsx
from icp.market.targets import target_list, target_source
from icp.profile.model import ICP, describe

# Text the XLSX may write as a number without changing it: no thousands commas, no exponent, no
# leading zero (ZIP codes, IDs) and at most 15 digits, the precision of an Excel number.
_XLSX_NUMBER = r"[+-]?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,14})?"
_EXCEL_ROWS = 1_048_576  # rows of a sheet, the header included
_EXCEL_CELL_CHARS = 32_767
_XLSX_BLOCK = 10_000  # rows turned into XML at a time
_WIDTH_MIN, _WIDTH_MAX = 8, 50
_READ_SUFFIX = " as a number"  # the numbers criteria read, after the contract columns (targets_export)
_SCORE_HEADERS = frozenset({"icp_fit_score", "ICP fit score", "ICP_Fit_Score__c"})

# (header in the CRM, role of the input column it comes from)
_HUBSPOT_COLUMNS = (
    ("Company name", "account_name"), ("Company Domain Name", "domain"), ("Industry", "industry"),
    ("Number of Employees", "employees"), ("Annual Revenue", "revenue"), ("Country/Region", "country"),
    ("City", "city"), ("State/Region", "state"),
)
_HUBSPOT_ICP = (("Ideal Customer Profile Tier", "icp_tier"), ("ICP fit score", "icp_fit_score"),
                ("ICP reasons", "icp_reasons"))
_HUBSPOT_TIERS = {"Tier 1": "tier_1", "Tier 2": "tier_2", "Tier 3": "tier_3"}
_SALESFORCE_COLUMNS = (
    ("Account Name", "account_name"), ("Website", "domain"), ("Industry", "industry"),
    ("NumberOfEmployees", "employees"), ("AnnualRevenue", "revenue"), ("BillingCountry", "country"),
    ("BillingState", "state"), ("BillingCity", "city"),
)
_SALESFORCE_ICP = (("ICP_Tier__c", "icp_tier"), ("ICP_Fit_Score__c", "icp_fit_score"),
                   ("ICP_Reasons__c", "icp_reasons"))
_SALESFORCE_TIERS = {"Tier 1": "Tier 1", "Tier 2": "Tier 2", "Tier 3": "Tier 3"}
# Roles whose values a CRM field takes only in a normalized form, as SQL over a text column `v`.
_NUMBERS = {"employees": "CAST(round(icp_employees(v)) AS BIGINT)", "revenue": "icp_number(v)"}
_HUBSPOT_PARSED = _NUMBERS | {"domain": "icp_domain(v)"}  # Company Domain Name is a bare domain
_CRM = {"hubspot": (_HUBSPOT_COLUMNS, _HUBSPOT_ICP, _HUBSPOT_TIERS, _HUBSPOT_PARSED),
        "salesforce": (_SALESFORCE_COLUMNS, _SALESFORCE_ICP, _SALESFORCE_TIERS, _NUMBERS)}
# A Salesforce Account's record id: key prefix 001, 15 characters (case-sensitive) or 18.
_SALESFORCE_ACCOUNT_ID = r"001[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?"


# -- cells -------------------------------------------------------------------------------------------

def _is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _prepared(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[bool]]:
    """The frame as both files hold it (headers and text neutralized, infinities empty) and, per
    column, whether the XLSX writes it as numbers: number columns, and text columns whose every
    value is a number written plainly (one stray word keeps the whole column text, so a column
    never mixes numbers and text)."""
    columns, numeric = [], []
    for _, series in frame.items():
        if _is_number_column(series):
            finite = series.astype("Float64").abs().lt(float("inf")).fillna(False)
            columns.append(series.where(finite))
            numeric.append(True)
        else:
            text = cells.neutralized(series)
            filled = text.dropna()
            columns.append(text)
            numeric.append(len(filled) > 0 and bool(filled.str.fullmatch(_XLSX_NUMBER).all()))
    prepared = pd.DataFrame(dict(enumerate(columns)), index=frame.index)
    prepared.columns = [cells.neutralize(str(c)) for c in frame.columns]
    return prepared, numeric


# -- CSV ---------------------------------------------------------------------------------------------

def targets_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header row; every text cell neutralized.

    Rows end in CRLF (RFC 4180): with a bare LF, a cell holding a lone CR would not be quoted and
    would split its row in two when read back.
    """
    prepared, _ = _prepared(frame)
    return prepared.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def segments_csv_text(segments: pd.DataFrame) -> str:
    """`segments.csv` from the `icp.segments.segments_csv` frame: headers and category values
    neutralized, measures as pandas writes them, rows ending in LF as they always have."""
    prepared, _ = _prepared(segments)
    return prepared.to_csv(index=False)


# -- XLSX --------------------------------------------------------------------------------------------

def _values(series: pd.Series, as_number: bool) -> list:
    """Python values for the sheet: None for empty, numbers as int or float, text as str."""
    values = series.astype(object).where(series.notna(), None).tolist()
    if not as_number or _is_number_column(series):
        # Excel refuses a longer cell; only hostile input gets near it.
        return [v[:_EXCEL_CELL_CHARS] if isinstance(v, str) else v for v in values]
    return [None if v is None else float(v) if "." in v else int(v) for v in values]


def _sheet_value(value):
    """A header or ICP sheet cell: neutralized, and text cut where Excel would refuse the file."""
    value = cells.value(value)
    return value[:_EXCEL_CELL_CHARS] if isinstance(value, str) else value


def _width(header: str, series: pd.Series) -> float:
    longest = series.astype("string").str.len().max()  # NA when the column is empty
    return min(max(len(header), 0 if pd.isna(longest) else int(longest), _WIDTH_MIN - 2) + 2, _WIDTH_MAX)


def _row(number: int, values: list, style: int = xlsx.PLAIN) -> str:
    return "".join(xlsx.cell(f"{xlsx.column_letter(i)}{number}", v, style) for i, v in enumerate(values))


def _targets_sheet(frame: pd.DataFrame) -> xlsx.Sheet:
    prepared, numeric = _prepared(frame)
    headers = list(prepared.columns)
    last = f"{xlsx.column_letter(len(headers) - 1)}{len(prepared) + 1}"
    values = [_values(prepared.iloc[:, i], numeric[i]) for i in range(len(headers))]
    styles = [xlsx.ONE_DECIMAL if h in _SCORE_HEADERS and numeric[i]
              else xlsx.COMPACT if h.endswith(_READ_SUFFIX) and numeric[i] else xlsx.PLAIN for i, h in enumerate(headers)]

    def rows() -> Iterator[str]:
        # A block of rows at a time: a million accounts' cells as XML at once would take gigabytes.
        yield _row(1, [_sheet_value(h) for h in headers], xlsx.HEADER)
        for start in range(0, len(prepared), _XLSX_BLOCK):
            columns = [xlsx.column_cells(xlsx.column_letter(i), column[start:start + _XLSX_BLOCK], start + 2, style)
                       for i, (column, style) in enumerate(zip(values, styles, strict=True))]
            yield from ("".join(row) for row in zip(*columns, strict=True))

    return xlsx.Sheet("Targets", rows(), widths=[_width(h, prepared.iloc[:, i]) for i, h in enumerate(headers)],
                      frozen_header=True, filter_ref=f"A1:{last}", dimension=f"A1:{last}")


def _tier_rules(icp: ICP) -> list[tuple[str, str]]:
    rules = icp.tiers
    if rules.mode == "capacity":
        tier1 = (f"the best {rules.capacity:,} accounts in SAM by fit score "
                 f"({rules.reps} reps x {rules.accounts_per_rep} accounts each)")
    else:
        tier1 = f"in SAM (every must met, no disqualifier) and fit score at least {rules.tier1:g}"
    return [
        ("Tier 1", tier1),
        ("Tier 2", f"fit score at least {rules.tier2:g}"),
        ("Tier 3", f"fit score at least {rules.tier3:g}"),
        ("Not a fit", f"fit score under {rules.tier3:g}, or 0: disqualified or meeting nothing"),
    ]


def _icp_sheet(icp: ICP, shown: int, total: int, numbers_read: list[str]) -> xlsx.Sheet:
    about: list[list] = [
        ["Name", icp.name],
        ["Version", icp.version],
        ["Created", icp.created_at.strftime("%Y-%m-%d %H:%M %Z").strip()],
        ["Data fingerprint", icp.data_fingerprint],
    ]
    if shown < total:
        about.append(["Note", f"The Targets sheet holds the best {shown:,} of {total:,} accounts, as many as "
                              "a sheet can; the CSV export has them all."])
    if numbers_read:
        about.append(["Numbers read", f"{', '.join(numbers_read)}: the number the criteria compared with "
                                      "their bounds, read from a column written as text in the file."])
    criteria_header = ["Role", "Criterion", "Weight", "Evidence"]
    criteria = [[c.role, describe(c), c.weight, c.evidence.sentence if c.evidence else ""] for c in icp.criteria]
    tier_header = ["Tier", "Rule"]
    tiers = [list(rule) for rule in _tier_rules(icp)]
    # Every cell of the sheet, whatever field of icp.json it comes from, through the one rule.
    about, criteria, tiers = ([[_sheet_value(v) for v in row] for row in rows] for rows in (about, criteria, tiers))
    every = [*about, criteria_header, *criteria, tier_header, *tiers]
    # Criteria and evidence are sentences: they get twice the room of a data column.
    widths = [min(max(max(len(str(row[i])) for row in every if len(row) > i) + 2, _WIDTH_MIN), 2 * _WIDTH_MAX)
              for i in range(len(criteria_header))]
    lines: list[tuple[list, int]] = [(row, xlsx.PLAIN) for row in about]
    lines += [([], xlsx.PLAIN), (criteria_header, xlsx.HEADER), *((row, xlsx.PLAIN) for row in criteria)]
    lines += [([], xlsx.PLAIN), (tier_header, xlsx.HEADER), *((row, xlsx.PLAIN) for row in tiers)]
    return xlsx.Sheet("ICP", [_row(n, row, style) for n, (row, style) in enumerate(lines, start=1)], widths=widths)


def targets_xlsx(frame: pd.DataFrame, icp: ICP) -> bytes:
    """A workbook with the sheet "Targets" (the CSV's cells, with text columns that are wholly
    numbers written as numbers; bold filled header, frozen first row, autofilter, fitted widths,
    fit score as 0.0; `targets_export(numbers_read=True)` adds the numbers criteria read from text
    columns) and the sheet "ICP" (name, version, date, data fingerprint, the criteria with their
    weight and evidence, the tier rules, which columns are numbers read).

    A sheet holds 1,048,575 accounts; beyond that the best ones are written and the ICP sheet says so.
    A cell longer than Excel's 32,767 characters is cut there.
    """
    shown = frame.head(_EXCEL_ROWS - 1)
    after = list(frame.columns).index("icp_reasons") + 1 if "icp_reasons" in frame.columns else len(frame.columns)
    numbers_read = [str(c) for c in frame.columns[after:] if str(c).endswith(_READ_SUFFIX)]
    return xlsx.workbook([_targets_sheet(shown), _icp_sheet(icp, len(shown), len(frame), numbers_read)])


# -- CRM imports -------------------------------------------------------------------------------------

def role_mapping(workspace: Workspace, list_kind: str) -> dict[str, str]:
    """role -> header in the uploaded file, for the list whose rows the targets export shows."""
    return {c.role: c.source for c in workspace.report(list_kind).columns if c.role}


def _parsed(series: pd.Series, sql: str) -> pd.Series:
    """A column read with the workspace's own normalization macros (see icp.normalize)."""
    values = pd.DataFrame({"i": range(len(series)), "v": series.astype("string").to_numpy()})
    con = duckdb.connect(config=scratch.duckdb_config())
    try:
        normalize.install(con)
        con.register("values_", values)
        result = con.execute(f"SELECT {sql} AS v FROM values_ ORDER BY i").df()["v"]
    finally:
        con.close()
    if pd.api.types.is_float_dtype(result) and (result.dropna() % 1 == 0).all():
        # Whole amounts as written in the file ("30270000", not "30270000.0").
        result = result.astype("Int64")
    result.index = series.index
    return result


def crm_number_sql(number: str) -> str:
    """SQL writing the number `number` as a CRM's number field takes it: no separators, no exponent,
    no ".0" on a whole amount (HubSpot and Salesforce read "974800000.0" as text in some locales),
    cents at most; NULL for no number, NaN or an infinity. Run in the query that parses the column,
    so a million accounts are written by DuckDB, not a Python loop."""
    cents = f"round(CAST({number} AS DOUBLE), 2)"
    return (f"CASE WHEN {cents} IS NULL OR isnan({cents}) OR isinf({cents}) THEN NULL "
            f"WHEN {cents} = trunc({cents}) THEN CAST(CAST({cents} AS HUGEINT) AS VARCHAR) "
            f"ELSE rtrim(printf('%.2f', {cents}), '0') END")


def _is_hubspot_record_id(header: str) -> bool:
    """The id column of HubSpot's own export, which its import matches companies on."""
    return header.strip().casefold() == "record id"


def _salesforce_ids(series: pd.Series) -> bool:
    filled = series.dropna().astype("string").str.strip()
    filled = filled[filled != ""]
    return len(filled) > 0 and bool(filled.str.fullmatch(_SALESFORCE_ACCOUNT_ID).all())


def _record_id(kind: str, frame: pd.DataFrame, mapping: dict[str, str]) -> tuple[str, str] | None:
    """(header in the CRM, header in `frame`) of the CRM's own record id, when the list carries it:
    HubSpot's "Record ID" column of its own export, or Salesforce Account IDs (15 or 18 characters
    starting 001). Any other id (Pipedrive's, Odoo's) would update the wrong records: left out."""
    source = mapping.get("account_id")
    if source not in frame.columns:
        return None
    if kind == "hubspot" and _is_hubspot_record_id(source):
        return "Record ID", source
    if kind == "salesforce" and _salesforce_ids(frame[source]):
        return "Id", source
    return None


def _crm_frame(kind: str, frame: pd.DataFrame, mapping: dict[str, str], tiers: Iterable[str] | None) -> pd.DataFrame:
    columns, icp_columns, tier_values, parsed = _CRM[kind]
    if tiers is not None and "icp_tier" in frame.columns:
        frame = frame[frame["icp_tier"].isin(list(tiers))]
    out = {}
    if (record := _record_id(kind, frame, mapping)) is not None:
        out[record[0]] = frame[record[1]].astype("string").str.strip()
    for header, role in columns:
        source = mapping.get(role)
        if source in frame.columns:
            series = frame[source]
            if role in _NUMBERS:
                series = _parsed(series, crm_number_sql(parsed[role]))
            elif role in parsed:
                series = _parsed(series, parsed[role])
            out[header] = series
    for header, column in icp_columns:
        if column in frame.columns:
            series = frame[column]
            out[header] = series.map(tier_values).astype("string") if column == "icp_tier" else series
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def hubspot_frame(frame: pd.DataFrame, mapping: dict[str, str], tiers: Iterable[str] | None = None) -> pd.DataFrame:
    """The targets as a HubSpot company import, rows in the same order: "Record ID" when the list is
    HubSpot's own export, the columns of `_HUBSPOT_COLUMNS` that `mapping` (role -> header in
    `frame`) finds, then the ICP columns there are. The tier is the internal value of "Ideal Customer
    Profile Tier" (tier_1..tier_3), empty for "Not a fit". `tiers` keeps only the accounts of those
    tiers (None: all). Write it with `targets_csv`, which neutralizes its text."""
    return _crm_frame("hubspot", frame, mapping, tiers)


def salesforce_frame(frame: pd.DataFrame, mapping: dict[str, str], tiers: Iterable[str] | None = None) -> pd.DataFrame:
    """The targets as a Salesforce Account import (Data Import Wizard), rows in the same order: "Id"
    when the list holds Salesforce Account IDs, then the Account fields and ICP_Tier__c,
    ICP_Fit_Score__c and ICP_Reasons__c, custom fields that must exist on Account. The tier is
    "Tier 1".."Tier 3", empty for "Not a fit"; `tiers` as in `hubspot_frame`."""
    return _crm_frame("salesforce", frame, mapping, tiers)


def _empty(series: pd.Series) -> int:
    return int((series.isna() | (series.astype("string").str.strip() == "")).sum())


def crm_warnings(kind: str, shaped: pd.DataFrame) -> list[str]:
    """What the CRM will do wrong with the file `hubspot_frame`/`salesforce_frame` made, in words:
    the key it matches existing records on is missing, or empty for some accounts."""
    return _warnings(kind, set(shaped.columns), len(shaped), lambda header: _empty(shaped[header]))


def _warnings(kind: str, headers: set[str], rows: int, empty: Callable[[str], int]) -> list[str]:
    if kind == "hubspot":
        if "Record ID" in headers:
            return []
        if "Company Domain Name" not in headers:
            return ["The list has no website or domain column: HubSpot matches companies on Company Domain "
                    "Name, so every row would be created as a new company, beside any you already have. "
                    "Give a column the role Website / domain on the Data page."]
        missing = empty("Company Domain Name")
        return [f"{missing:,} of {rows:,} accounts have no domain: HubSpot cannot match them to existing "
                "companies and creates them as new ones."] if missing else []
    notes = []
    if "Account Name" not in headers:
        notes.append("The list has no company name column: Salesforce requires Account Name, so the import "
                     "fails. Give a column the role Company name on the Data page.")
    elif missing := empty("Account Name"):
        notes.append(f"{missing:,} of {rows:,} accounts have no name: Salesforce refuses those rows.")
    if "Id" not in headers:
        notes.append("The list has no Salesforce Account IDs: the Data Import Wizard matches accounts by "
                     "Account Name and Site, so a name spelled differently from Salesforce's becomes a new, "
                     "duplicate account.")
    return notes


def crm_notes(workspace: Workspace, kind: str) -> list[str]:
    """`crm_warnings` for the workspace's target accounts, counted in SQL rather than by shaping
    every account: the headers the import would have, and how many accounts leave its key empty."""
    mapping = role_mapping(workspace, target_list(workspace))
    columns, _, _, _ = _CRM[kind]
    headers = {header for header, role in columns if role in mapping}
    role_of = dict(columns)
    sql, _ = target_source(workspace)
    with workspace.connect(read_only=True) as con:
        have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()}

        def empty(header: str) -> int:
            role = role_of[header]
            if role not in have:
                return 0
            column = normalize.quote_ident(role)
            return con.execute(f"SELECT count(*) FROM {sql} WHERE nullif(trim(CAST({column} AS VARCHAR)), '') IS NULL"
                               ).fetchone()[0]

        rows = con.execute(f"SELECT count(*) FROM {sql}").fetchone()[0]
        if "account_id" in mapping and "account_id" in have:
            if kind == "hubspot" and _is_hubspot_record_id(mapping["account_id"]):
                headers.add("Record ID")
            if kind == "salesforce" and con.execute(
                    f"SELECT count(v) > 0 AND bool_and(regexp_full_match(v, ?)) FROM (SELECT nullif(trim("
                    f"CAST(account_id AS VARCHAR)), '') AS v FROM {sql}) WHERE v IS NOT NULL",
                    [_SALESFORCE_ACCOUNT_ID]).fetchone()[0]:
                headers.add("Id")
        return _warnings(kind, headers, rows, empty)
