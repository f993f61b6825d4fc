"""Header spellings from real exports map to the roles of docs/contracts.md."""

import pytest

from icp.data.roles import guess_roles, header_key


def roles(headers, kind="customers"):
    return {m.column: m.role for m in guess_roles(headers, kind).values()}


def test_header_key_ignores_case_space_and_punctuation():
    assert header_key(" Country/Region ") == header_key("country_region") == "countryregion"


@pytest.mark.parametrize(("headers", "expected"), [
    # HubSpot company export
    (["Record ID", "Company name", "Company Domain Name", "Industry", "Number of Employees",
      "Annual Revenue", "Country/Region", "Year Founded"],
     {"Record ID": "account_id", "Company name": "account_name", "Company Domain Name": "domain",
      "Industry": "industry", "Number of Employees": "employees", "Annual Revenue": "revenue",
      "Country/Region": "country", "Year Founded": "founded_year"}),
    # Salesforce account export
    (["Account ID", "Account Name", "Website", "Billing Country", "Employees", "Annual Revenue"],
     {"Account ID": "account_id", "Account Name": "account_name", "Website": "domain",
      "Billing Country": "country", "Employees": "employees", "Annual Revenue": "revenue"}),
    # snake_case data-vendor export
    (["organization", "url", "vertical", "employee_count", "annual_revenue_usd", "hq_country", "founded_year",
      "tech stack"],
     {"organization": "account_name", "url": "domain", "vertical": "industry", "employee_count": "employees",
      "annual_revenue_usd": "revenue", "hq_country": "country", "founded_year": "founded_year",
      "tech stack": "tech_stack"}),
])
def test_account_headers_from_real_exports(headers, expected):
    assert roles(headers) == expected


def test_outcome_headers_and_a_suffixed_spelling():
    found = roles(["ARR", "Churned", "NPS", "Support Tickets (12m)", "Sales Cycle Days", "Expansion ARR"])
    assert found == {"ARR": "arr", "Churned": "churned", "NPS": "nps", "Support Tickets (12m)": "support_tickets",
                     "Sales Cycle Days": "sales_cycle_days", "Expansion ARR": "expansion"}


def test_a_misspelled_header_is_matched_with_lower_confidence():
    match = guess_roles(["Indstry"], "customers")["Indstry"]
    assert match.role == "industry"
    assert 0.5 < match.confidence < 0.9


def test_each_role_goes_to_one_column_only():
    found = roles(["Company", "Company name", "Revenue", "Annual Revenue"])
    assert sorted(found.values()) == ["account_name", "revenue"]
    assert found["Company name"] == "account_name" and found["Annual Revenue"] == "revenue"


def test_roles_depend_on_the_kind_of_list():
    assert roles(["Amount", "Deal Stage", "Close Date", "Company"], "deals") == {
        "Amount": "amount", "Deal Stage": "deal_stage", "Close Date": "closed_date", "Company": "account_name"}
    assert roles(["Sales", "Order Date", "Customer"], "orders") == {
        "Sales": "order_value", "Order Date": "order_date", "Customer": "account_name"}
    # ARR means nothing on a universe list.
    assert roles(["ARR", "Company"], "universe") == {"Company": "account_name"}


def test_unrelated_headers_stay_generic():
    assert roles(["Segment", "Discount", "Subregion", "funding_rounds"]) == {}


def test_the_template_csv_is_recognised_role_for_role(tmp_path):
    from icp.data.roles import template_csv
    from icp.data.workspace import Workspace

    path = tmp_path / "template.csv"
    path.write_text(template_csv(), encoding="utf-8")
    report = Workspace.create().add_list("customers", path)
    mapped = {c.source: c.role for c in report.columns}
    assert all(role is not None for role in mapped.values()), mapped
    assert len(set(mapped.values())) == len(mapped) >= 15
    assert all(c.parse_failures == 0 for c in report.columns)


@pytest.mark.parametrize("header", ["workers", "Workforce", "Total Employees", "total_employees"])
def test_head_count_spellings_of_company_lists_are_employees(header):
    # The Inc. 5000 list calls its head count "workers".
    for kind in ("customers", "universe"):
        assert roles(["name", header, "revenue"], kind) == {"name": "account_name", header: "employees",
                                                           "revenue": "revenue"}
