"""Column roles (spec section 3) and the automatic mapping of a file's headers to them."""

import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

ListKind = Literal["customers", "deals", "orders", "targets", "universe", "competitors", "partners"]
LIST_KINDS: tuple[ListKind, ...] = (
    "customers", "deals", "orders", "targets", "universe", "competitors", "partners",
)
ACCOUNT_LISTS = frozenset({"customers", "targets", "universe", "competitors", "partners"})

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
_FIRMO = ACCOUNT_LISTS | {"orders"}
_CUST = frozenset({"customers"})
_DEALS = frozenset({"deals"})
_ORDERS = frozenset({"orders"})

ROLES: tuple[Role, ...] = (
    Role("account_name", "text", "Company name", _ACCOUNT, (
        "company name", "company", "account name", "account", "organization", "organisation",
        "organization name", "customer", "customer name", "client", "client name", "name", "business name",
        "company_name", "associated company")),
    Role("domain", "domain", "Website / domain", _ACCOUNT, (
        "website", "company domain name", "domain", "url", "website url", "company website", "web",
        "homepage", "domain name", "company url", "email domain")),
    Role("account_id", "text", "Account ID", _ACCOUNT, (
        "record id", "account id", "id", "company id", "customer id", "client id", "crm id", "hubspot id",
        "salesforce id", "account number")),
    Role("industry", "category", "Industry", _FIRMO, (
        "industry", "sector", "vertical", "market", "industry group", "primary industry", "category")),
    Role("employees", "employees", "Employees", _FIRMO, (
        "number of employees", "employees", "employee count", "headcount", "size", "company size",
        "staff", "no of employees", "num employees", "employee range", "fte")),
    Role("revenue", "money", "Annual revenue", ACCOUNT_LISTS, (
        "annual revenue", "revenue", "annual revenue usd", "turnover", "company revenue", "revenue usd")),
    Role("country", "country", "Country", _FIRMO, (
        "country region", "country", "billing country", "hq country", "country code", "headquarters country",
        "nation", "office location", "company country", "country name")),
    Role("region", "category", "Region", _FIRMO, ("region", "continent", "sales region", "territory", "geo")),
    Role("state", "category", "State / province", _FIRMO, (
        "state", "state region", "billing state", "province", "state code", "hq state")),
    Role("city", "category", "City", _FIRMO, ("city", "billing city", "hq city", "town", "headquarters city")),
    Role("founded_year", "year", "Year founded", _FIRMO, (
        "year founded", "founded", "founded year", "year established", "established", "founding year",
        "founded on", "inception year")),
    Role("tech_stack", "list", "Tech stack", _FIRMO, (
        "technologies", "tech stack", "technographics", "technology", "tools", "stack", "tech used",
        "installed technologies")),
    Role("business_model", "category", "Business model", _FIRMO, ("business model", "company type", "model")),
    Role("funding_stage", "category", "Funding stage", _FIRMO, (
        "funding stage", "last funding type", "latest funding round", "stage of company")),
    Role("channel", "category", "Channel", _FIRMO, (
        "channel", "acquisition channel", "lead source", "original source", "source", "sales channel")),
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
    Role("deal_id", "text", "Deal ID", _DEALS, ("deal id", "opportunity id", "opp id", "deal name")),
    Role("deal_stage", "stage", "Deal stage", _DEALS, (
        "deal stage", "stage", "opportunity stage", "status", "outcome", "result")),
    Role("amount", "money", "Amount", _DEALS, (
        "amount", "deal amount", "close value", "value", "deal value", "opportunity amount")),
    Role("created_date", "date", "Created", _DEALS, (
        "create date", "created date", "engage date", "open date", "created on", "created")),
    Role("closed_date", "date", "Closed", _DEALS, ("close date", "closed date", "closed on", "won date")),
    Role("owner", "category", "Owner", _DEALS, ("deal owner", "owner", "sales agent", "sales rep", "rep")),
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

_EXACT = 1.0
_PREFIX = 0.8  # "Support Tickets (12m)" starts with a known spelling
_FUZZY_FLOOR = 86  # rapidfuzz ratio below which a header is not taken as a misspelling


def header_key(header: str) -> str:
    """Case-, space- and punctuation-insensitive form of a header."""
    return re.sub(r"[^0-9a-z]", "", header.casefold())


@dataclass(frozen=True)
class RoleMatch:
    column: str
    role: str
    confidence: float


def roles_for(list_kind: str) -> list[Role]:
    return [role for role in ROLES if list_kind in role.lists]


def _candidates(header: str, list_kind: str) -> list[RoleMatch]:
    key = header_key(header)
    if not key:
        return []
    found = []
    for order, role in enumerate(roles_for(list_kind)):
        spellings = [header_key(h) for h in role.headers]
        # Earlier spellings are the more specific ones; a tiny penalty keeps ties stable.
        tie = order * 1e-4
        if key in spellings:
            found.append(RoleMatch(header, role.name, _EXACT - spellings.index(key) * 1e-3 - tie))
            continue
        prefix = [s for s in spellings if len(s) >= 4 and key.startswith(s)]
        if prefix:
            found.append(RoleMatch(header, role.name, _PREFIX * len(max(prefix, key=len)) / len(key) + 0.1 - tie))
            continue
        # A misspelling, not a shorter word: "company" is not a typo of "company id".
        near = [s for s in spellings if key not in s and s not in key]
        best = process.extractOne(key, near, scorer=fuzz.ratio) if near else None
        if best and best[1] >= _FUZZY_FLOOR and len(key) >= 5:
            found.append(RoleMatch(header, role.name, round(best[1] / 100 * 0.75, 3) - tie))
    return found


def guess_roles(headers: list[str], list_kind: str) -> dict[str, RoleMatch]:
    """Best role per header; each role goes to at most one column, the most confident."""
    matches = sorted(
        (m for h in headers for m in _candidates(h, list_kind)),
        key=lambda m: (-m.confidence, headers.index(m.column)),
    )
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
