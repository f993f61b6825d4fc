"""Column roles (docs/contracts.md, "Column roles") and the automatic mapping of a file's headers to them."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from icp.numbers import RATES, YEARS

ListKind = Literal["customers", "deals", "orders", "targets", "universe", "competitors", "partners"]
LIST_KINDS: tuple[ListKind, ...] = (
    "customers", "deals", "orders", "targets", "universe", "competitors", "partners",
)
ACCOUNT_LISTS = frozenset({"customers", "targets", "universe", "competitors", "partners"})
# What a mapping may say of a column besides a role: analyse it whatever it looks like, or never.
ANALYSE, IGNORE = "attribute", "ignore"

# How a role's values are normalized (see icp/normalize.py for the macros behind each).
ValueKind = Literal[
    "text", "domain", "category", "country", "employees", "money", "number", "year", "list", "flag",
    "churn", "date", "stage",
]


@dataclass(frozen=True)
class Role:
    name: str
    kind: ValueKind
    label: str
    lists: frozenset[str]
    headers: tuple[str, ...]  # spellings seen in real exports, compared after `header_key`


_ACCOUNT = ACCOUNT_LISTS | {"deals", "orders"}
# Who an account is: also carried by deals and orders exports (Pipedrive's "Organization - Industry").
_FIRMO = ACCOUNT_LISTS | {"deals", "orders"}
_CUST = frozenset({"customers"})
_DEALS = frozenset({"deals"})
_ORDERS = frozenset({"orders"})

ROLES: tuple[Role, ...] = (
    Role("account_name", "text", "Company name", _ACCOUNT, (
        "company name", "company", "account name", "account", "organization", "organisation",
        "organization name", "customer", "customer name", "client", "client name", "name", "business name",
        "company_name", "associated company", "potential customer", "partner", "associated company primary")),
    Role("domain", "domain", "Website / domain", _ACCOUNT, (
        "website", "company domain name", "domain", "url", "website url", "company website", "web",
        "homepage", "domain name", "company url", "email domain")),
    Role("account_id", "text", "Account ID", _ACCOUNT, (
        "record id", "account id", "id", "company id", "customer id", "client id", "crm id", "hubspot id",
        "salesforce id", "account number", "organization id", "organisation id", "associated company id",
        "associated company ids", "associated company ids primary", "associatedcompanyid", "partner id",
        "object id")),
    Role("industry", "category", "Industry", _FIRMO, (
        "industry", "sector", "vertical", "market", "industry group", "primary industry", "category")),
    Role("employees", "employees", "Employees", _FIRMO, (
        "number of employees", "employees", "employee count", "headcount", "size", "company size",
        "staff", "no of employees", "num employees", "employee range", "fte", "number of employees range",
        "workers", "workforce", "total employees")),
    Role("revenue", "money", "Annual revenue", ACCOUNT_LISTS | {"deals"}, (
        "annual revenue", "revenue", "annual revenue usd", "turnover", "company revenue", "revenue usd",
        "estimated revenue", "est revenue", "estimated annual revenue")),
    Role("country", "country", "Country", _FIRMO, (
        "country region", "country", "billing country", "hq country", "country code", "headquarters country",
        "nation", "office location", "company country", "country name", "shipping country", "mailing country")),
    Role("region", "category", "Region", _FIRMO, ("region", "continent", "sales region", "territory", "geo")),
    Role("state", "category", "State / province", _FIRMO, (
        "state", "state region", "billing state", "province", "state code", "hq state", "billing state province",
        "state province", "shipping state", "mailing state")),
    Role("city", "category", "City", _FIRMO, (
        "city", "billing city", "hq city", "town", "headquarters city", "shipping city", "mailing city")),
    Role("founded_year", "year", "Year founded", _FIRMO, (
        "year founded", "founded", "founded year", "year established", "established", "founding year",
        "founded on", "inception year", "year started")),
    Role("tech_stack", "list", "Tech stack", _FIRMO, (
        "technologies", "tech stack", "technographics", "technology", "tools", "stack", "tech used",
        "installed technologies")),
    Role("business_model", "category", "Business model", _FIRMO, ("business model", "company type", "model")),
    Role("funding_stage", "category", "Funding stage", _FIRMO, (
        "funding stage", "last funding type", "latest funding round", "stage of company")),
    Role("channel", "category", "Channel", ACCOUNT_LISTS | {"orders"}, (
        "channel", "acquisition channel", "lead source", "original source", "source", "sales channel",
        "account source")),
    Role("use_case", "category", "Use case", _FIRMO, ("use case", "use cases", "primary use case")),
    # Outcomes of customers.
    Role("arr", "money", "ARR", _CUST, ("arr", "annual recurring revenue", "current arr")),
    Role("acv", "money", "ACV", _CUST, ("acv", "annual contract value", "contract value")),
    Role("mrr", "money", "MRR", _CUST, ("mrr", "monthly recurring revenue")),
    Role("ltv", "money", "Lifetime value", _CUST, (
        "ltv", "clv", "lifetime value", "customer lifetime value", "total revenue")),
    Role("churned", "churn", "Churned", _CUST, (
        "churned", "churn", "is churned", "status", "customer status", "account status", "churn flag")),
    Role("customer_since", "date", "Customer since", _CUST, (
        "customer since", "became a customer date", "start date", "contract start", "signup date",
        "close date")),
    Role("tenure_months", "number", "Tenure (months)", _CUST, (
        "tenure", "tenure months", "months as customer", "customer age months", "tenure in months")),
    Role("expansion", "money", "Expansion", _CUST, (
        "expansion", "expansion arr", "expansion revenue", "upsell", "net expansion", "upsell revenue")),
    Role("nps", "number", "NPS", _CUST, ("nps", "net promoter score", "nps score")),
    Role("csat", "number", "CSAT", _CUST, ("csat", "customer satisfaction", "satisfaction", "csat score")),
    Role("support_tickets", "number", "Support tickets", _CUST, (
        "support tickets", "tickets", "support ticket count", "number of tickets", "ticket count")),
    Role("sales_cycle_days", "number", "Sales cycle (days)", _CUST | _DEALS, (
        "sales cycle days", "sales cycle", "days to close", "cycle length", "time to close")),
    Role("cac", "money", "CAC", _CUST, ("cac", "acquisition cost", "customer acquisition cost")),
    # Deals.
    Role("deal_id", "text", "Deal ID", _DEALS, (
        "deal id", "opportunity id", "opp id", "record id", "id", "lead id", "object id")),
    Role("deal_name", "text", "Deal name", _DEALS, (
        "deal name", "opportunity name", "name", "title", "deal title", "topic", "opportunity", "subject")),
    Role("deal_stage", "stage", "Deal stage", _DEALS, (
        "deal stage", "stage", "opportunity stage", "stage name", "status", "outcome", "result",
        "deal status", "status reason")),
    Role("won", "flag", "Won", _DEALS, ("is won", "won", "is closed won", "closed won")),
    Role("closed", "flag", "Closed", _DEALS, ("is closed", "closed")),
    Role("amount", "money", "Amount", _DEALS, (
        "amount", "deal amount", "close value", "value", "deal value", "opportunity amount", "est revenue",
        "estimated revenue", "expected revenue", "opportunity value")),
    Role("created_date", "date", "Created", _DEALS, (
        "create date", "created date", "engage date", "open date", "created on", "created", "created time",
        "deal created", "add time", "created at", "creation date")),
    Role("closed_date", "date", "Closed", _DEALS, (
        "close date", "closed date", "closed on", "won date", "actual close date", "closing date",
        "deal closed on", "close time", "closed at", "date closed", "won time")),
    Role("owner", "category", "Owner", _DEALS, (
        "deal owner", "owner", "sales agent", "sales rep", "rep", "opportunity owner", "salesperson",
        "sales person", "assigned to")),
    # Orders.
    Role("order_id", "text", "Order ID", _ORDERS, (
        "order id", "invoice id", "invoice number", "transaction id", "order number")),
    Role("order_date", "date", "Order date", _ORDERS, ("order date", "invoice date", "date", "transaction date")),
    Role("order_value", "money", "Order value", _ORDERS, (
        "sales", "amount", "total", "revenue", "order value", "invoice amount", "net amount", "order total")),
    Role("profit", "money", "Profit", _ORDERS, ("profit", "gross profit", "margin")),
    Role("quantity", "number", "Quantity", _ORDERS, ("quantity", "qty", "units", "seats", "licenses")),
)
ROLE_BY_NAME = {role.name: role for role in ROLES}

# On a deals list a bare "Name" or "Id" is the deal's own (Salesforce's Opportunity object), and
# the account is "Account Name" / "AccountId"; the account roles do not take those spellings there.
# A deal's revenue ("Est. Revenue") is its amount: the account's revenue on a deals list needs the
# account's prefix ("Organization - Annual revenue").
_NOT_ON: dict[str, dict[str, frozenset[str] | None]] = {
    "deals": {"account_name": frozenset({"name"}), "account_id": frozenset({"id", "recordid", "objectid"}),
              "revenue": None},
}

_EXACT = 1.0
_PREFIX = 0.8  # "Support Tickets (12m)" starts with a known spelling
_FUZZY_FLOOR = 86  # rapidfuzz ratio below which a header is not taken as a misspelling


def header_key(header: str) -> str:
    """Case-, space- and punctuation-insensitive form of a header."""
    return re.sub(r"[^0-9a-z]", "", header.casefold())


# --- how vendors write headers ------------------------------------------------------------------

# The record a prefixed header belongs to: Pipedrive writes "Deal - Title" and "Organization - Name"
# in one export, Salesforce reports "Account.Name", Dynamics "(Do Not Modify) Account".
_ACCOUNT_ENTITIES = frozenset({"organization", "organisation", "org", "company", "account", "partner"})
_DEAL_ENTITIES = frozenset({"deal", "opportunity", "opp"})
_OTHER_ENTITIES = frozenset({
    "person", "contact", "lead", "activity", "product", "owner", "user", "createdby", "lastmodifiedby",
    "parent", "note", "email", "campaign"})
_ENTITY_WORDS = "|".join(sorted(_ACCOUNT_ENTITIES | _DEAL_ENTITIES | _OTHER_ENTITIES, key=len, reverse=True))
_DASHED = re.compile(rf"^\s*({_ENTITY_WORDS})\s+[-–—]\s+(.+)$", re.IGNORECASE)
_DOTTED = re.compile(rf"^\s*({_ENTITY_WORDS})\.([A-Za-z].*)$", re.IGNORECASE)
_SYSTEM = re.compile(r"^\s*\(do not modify\)\s*(.+)$", re.IGNORECASE)
# A field of HubSpot synced to a warehouse (Fivetran, Airbyte, Stitch): property_annualrevenue.
_PROPERTY = re.compile(r"^\s*propert(?:y|ies)[_.](.+)$", re.IGNORECASE)
# Dynamics' composite address parts: "Address 1: Country/Region".
_ADDRESS_PART = re.compile(r"^\s*address\s*\d\s*:\s*(.+)$", re.IGNORECASE)
_VENDOR_AFFIXES = (
    re.compile(r"__c$", re.IGNORECASE),  # Salesforce custom field
    re.compile(r"^hs_", re.IGNORECASE),  # HubSpot internal property
)


@dataclass(frozen=True)
class HeaderParts:
    """A header read as a vendor writes it: which record it belongs to and the field's own name."""

    entity: Literal["account", "deal", "other"] | None
    field: str
    system: bool = False  # Dynamics' "(Do Not Modify)" columns: the record's id, checksum, modified date


def _entity(word: str) -> Literal["account", "deal", "other"]:
    word = word.casefold()
    if word in _ACCOUNT_ENTITIES:
        return "account"
    return "deal" if word in _DEAL_ENTITIES else "other"


def header_parts(header: str) -> HeaderParts:
    text = header.strip()
    if m := _SYSTEM.match(text):
        field = m.group(1).strip()
        key = header_key(field)
        entity = _entity(key) if key in (_ACCOUNT_ENTITIES | _DEAL_ENTITIES) else None
        return HeaderParts(entity, "id" if entity else field, system=True)
    if m := _PROPERTY.match(text):
        text = m.group(1)
    for affix in _VENDOR_AFFIXES:
        text = affix.sub("", text)
    if m := _ADDRESS_PART.match(text):
        text = m.group(1)
    for pattern in (_DASHED, _DOTTED):
        if m := pattern.match(text):
            return HeaderParts(_entity(m.group(1)), m.group(2).strip())
    return HeaderParts(None, text)


# A field of a deal record on a deals list, by its own name (Pipedrive "Deal - Title").
_DEAL_FIELDS = {
    "title": "deal_name", "name": "deal_name", "id": "deal_id", "value": "amount", "amount": "amount",
    "status": "deal_stage", "stage": "deal_stage", "owner": "owner", "organization": "account_name",
    "organisation": "account_name", "organizationname": "account_name", "account": "account_name",
    "accountname": "account_name", "accountid": "account_id", "organizationid": "account_id",
}


@dataclass(frozen=True)
class RoleMatch:
    column: str
    role: str
    confidence: float


def roles_for(list_kind: str) -> list[Role]:
    return [role for role in ROLES if list_kind in role.lists]


def _spellings(role: Role, list_kind: str) -> list[str]:
    rules = _NOT_ON.get(list_kind, {})
    if role.name in rules and rules[role.name] is None:
        return []
    skip = rules.get(role.name) or frozenset()
    return [s for s in (header_key(h) for h in role.headers) if s not in skip]


def _by_spelling(key: str, roles: list[Role], list_kind: str) -> list[RoleMatch]:
    found = []
    for order, role in enumerate(roles):
        spellings = _spellings(role, list_kind)
        # Earlier spellings are the more specific ones; a tiny penalty keeps ties stable.
        tie = order * 1e-4
        if key in spellings:
            found.append(RoleMatch("", role.name, _EXACT - spellings.index(key) * 1e-3 - tie))
            continue
        prefix = [s for s in spellings if len(s) >= 4 and key.startswith(s)]
        if prefix:
            found.append(RoleMatch("", role.name, _PREFIX * len(max(prefix, key=len)) / len(key) + 0.1 - tie))
            continue
        # A misspelling, not a shorter word: "company" is not a typo of "company id".
        near = [s for s in spellings if key not in s and s not in key]
        best = process.extractOne(key, near, scorer=fuzz.ratio) if near else None
        if best and best[1] >= _FUZZY_FLOOR and len(key) >= 5:
            found.append(RoleMatch("", role.name, round(best[1] / 100 * 0.75, 3) - tie))
    return found


def candidates(header: str, list_kind: str) -> list[RoleMatch]:
    """Every role the header could be, with a confidence: by its spelling, read the way the vendor
    wrote it (a prefix naming another record, such as Pipedrive's "Person - Name", is no role here)."""
    parts = header_parts(header)
    key = header_key(parts.field)
    if not key:
        return []
    allowed = roles_for(list_kind)
    if parts.system:
        if parts.entity == "account" and list_kind != "deals":
            return [RoleMatch(header, "account_id", _EXACT)]
        if parts.entity == "deal" and list_kind == "deals":
            return [RoleMatch(header, "deal_id", _EXACT)]
        return []
    if parts.entity == "other":
        return []
    if parts.entity == "deal":
        if list_kind != "deals":
            return []
        role = _DEAL_FIELDS.get(key)
        if role is not None:
            # Pipedrive's "Deal - Organization" names the account, as "Organization - Name" does (which wins).
            return [RoleMatch(header, role, _EXACT - (0.05 if role.startswith("account") else 0))]
    if parts.entity == "account":
        # A field of the account record: its name and id are the account's, whatever the list.
        account_roles = [r for r in allowed if r.lists & ACCOUNT_LISTS and r.name not in ("deal_name", "deal_id")]
        return [RoleMatch(header, m.role, m.confidence) for m in _by_spelling(key, account_roles, "customers")]
    return [RoleMatch(header, m.role, m.confidence) for m in _by_spelling(key, allowed, list_kind)]


def guess_roles(headers: list[str], list_kind: str,
                fit: Callable[[str, str], float] | None = None) -> dict[str, RoleMatch]:
    """Best role per header; each role goes to at most one column, the most confident.

    `fit(column, role)` (0 to 1) says how well a column's values suit a role: a match is weighed by
    it, and a column whose values cannot be the role (a 0/1 flag as the company name) never gets it.
    """
    matches = []
    for h in headers:
        for m in candidates(h, list_kind):
            weight = 1.0 if fit is None else fit(h, m.role)
            if weight > 0:
                matches.append(RoleMatch(h, m.role, m.confidence * weight))
    matches.sort(key=lambda m: (-m.confidence, headers.index(m.column)))
    taken_roles: set[str] = set()
    result: dict[str, RoleMatch] = {}
    for match in matches:
        if match.role in taken_roles or match.column in result:
            continue
        taken_roles.add(match.role)
        result[match.column] = RoleMatch(match.column, match.role, round(min(match.confidence, 1.0), 3))
    return result


# The template's columns: real-export spellings of the customer roles, with an example row.
_TEMPLATE = {
    "Company name": "Acme Analytics", "Website": "acme.io", "Record ID": "1001", "Industry": "Fintech",
    "Number of Employees": "51-200", "Annual Revenue": "$12.5M", "Country/Region": "United States",
    "Year Founded": "2014", "Technologies": "Snowflake; HubSpot; AWS", "Business Model": "B2B SaaS",
    "Funding Stage": "Series B", "Channel": "Direct", "Use Case": "Reporting", "ARR": "$48,000", "Churned": "No",
    "Expansion ARR": "$6,000", "NPS": "40", "Support Tickets": "3", "Sales Cycle Days": "35",
}


def template_csv() -> str:
    """A customers CSV a newcomer can fill in: the column names the app recognises, one example row."""
    quoted = [f'"{v}"' if "," in v or ";" in v else v for v in _TEMPLATE.values()]
    return ",".join(_TEMPLATE) + "\n" + ",".join(quoted) + "\n"


# Columns holding money that no role names: the deal and order roll-ups and the market's sums.
_MONEY_COLUMNS = frozenset({"won_value", "order_revenue", "order_profit", "sam_value", "value_mean"})


def table_format(column: str) -> str:
    """How a table shows a numeric column (a Streamlit NumberColumn format): shares as percentages
    ("percent": 0.7857 reads 78.57%), money compact ("compact": 3000000000 reads 3B), years bare
    ("%d": 1995), any other figure with separators ("localized": 2,822)."""
    if column in RATES:
        return "percent"
    if column in YEARS:
        return "%d"
    role = ROLE_BY_NAME.get(column)
    if column in _MONEY_COLUMNS or (role is not None and role.kind == "money"):
        return "compact"
    return "localized"
