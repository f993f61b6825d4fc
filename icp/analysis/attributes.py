"""What the analysis can use from a workspace's customers: attributes (who they are) and outcomes
(how well they do), read from the customer view and the list reports."""

from typing import Literal

from icp.data.links import CUSTOMER_VIEW
from icp.data.roles import ROLE_BY_NAME
from icp.data.workspace import Workspace
from icp.frozen import Frozen

AttributeKind = Literal["category", "list", "number", "flag"]

# Roles that measure how a customer did, never who it is: they are success criteria, not attributes.
OUTCOME_ROLES = frozenset({
    "arr", "acv", "mrr", "ltv", "churned", "customer_since", "tenure_months", "expansion", "nps", "csat",
    "support_tickets", "sales_cycle_days", "cac",
})
# Columns the deal and order roll-ups add to the customer view (icp/data/links.py).
ROLLUP_COLUMNS = {
    "deals": "Deals", "deals_won": "Deals won", "deals_lost": "Deals lost", "deals_open": "Open deals",
    "win_rate": "Win rate", "won_value": "Won deal value", "median_cycle_days": "Median sales cycle (days)",
    "order_count": "Orders", "order_revenue": "Order revenue", "order_profit": "Order profit",
    "first_order": "First order", "last_order": "Last order", "tenure_days": "Tenure (days)",
}
_DERIVED = {"size_band": "Company size", "revenue_band": "Revenue band"}
# The role each derived band is cut from.
_DERIVED_FROM = {"size_band": "employees", "revenue_band": "revenue"}
_KIND_OF_VALUES: dict[str, AttributeKind] = {
    "category": "category", "country": "category", "list": "list", "employees": "number",
    "money": "number", "number": "number", "year": "number", "flag": "flag", "churn": "flag",
}


class Attribute(Frozen):
    """A column of the customer view that describes who an account is."""

    name: str  # column in the customer view (and in every account list)
    label: str  # in the user's words: the role's label or the file's header
    kind: AttributeKind
    role: str | None = None


class Outcome(Frozen):
    """A numeric column of the customer view that measures how well a customer did."""

    name: str
    label: str
    role: str | None = None


def _source_report(workspace: Workspace):
    lists = workspace.lists()
    return lists.get("customers") or lists.get("orders")


def _view_columns(workspace: Workspace) -> dict[str, str]:
    with workspace.connect() as con:
        return dict(con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND database_name <> 'temp'",
            [CUSTOMER_VIEW],
        ).fetchall())


def dimension_label(name: str) -> str:
    """A segment dimension in the user's words: a band's name ("Company size"), its role's label
    ("Industry"), else the column's own name."""
    if name in _DERIVED:
        return _DERIVED[name]
    role = ROLE_BY_NAME.get(name)
    return role.label if role else name


def missing_dimension(name: str, list_kind: str) -> str:
    """Why a list cannot be segmented by a dimension it lacks, and what to do, in the user's words:
    "The universe list has no Company size to segment by: on the Data page, give the universe column
    that holds it the Employees role (Company size is cut from it)." """
    label = dimension_label(name)
    source = _DERIVED_FROM.get(name, name if name in ROLE_BY_NAME else None)
    if source is None:
        return f"The {list_kind} list has no column “{name}” to segment by."
    role = ROLE_BY_NAME[source].label
    cut = f" ({label} is cut from it)" if name in _DERIVED else ""
    return (f"The {list_kind} list has no {label} to segment by: on the Data page, give the {list_kind} column "
            f"that holds it the {role} role{cut}.")


def customer_attributes(workspace: Workspace) -> list[Attribute]:
    """Attributes of the customers in file order, then the derived bands."""
    report = _source_report(workspace)
    if report is None:
        return []
    present = _view_columns(workspace)
    found = []
    for column in report.columns:
        kind = _KIND_OF_VALUES.get(column.kind)
        # Identifiers, phone numbers, addresses, free text, constants: never who an account is.
        if kind is None or column.excluded or column.role in OUTCOME_ROLES or column.name not in present:
            continue
        label = ROLE_BY_NAME[column.role].label if column.role else column.source
        found.append(Attribute(name=column.name, label=label, kind=kind, role=column.role))
    found += [Attribute(name=name, label=label, kind="category") for name, label in _DERIVED.items() if name in present]
    return found


def customer_outcomes(workspace: Workspace) -> list[Outcome]:
    """Numeric outcome columns of the customers (roles and roll-ups), the raw material of success criteria."""
    report = _source_report(workspace)
    if report is None:
        return []
    present = _view_columns(workspace)
    numeric = {name for name, dtype in present.items() if dtype in ("DOUBLE", "BIGINT", "INTEGER", "BOOLEAN", "HUGEINT")}
    found = [
        Outcome(name=c.name, label=ROLE_BY_NAME[c.role].label, role=c.role)
        for c in report.columns if c.role in OUTCOME_ROLES and c.name in numeric
    ]
    found += [Outcome(name=name, label=label) for name, label in ROLLUP_COLUMNS.items() if name in numeric]
    return found
