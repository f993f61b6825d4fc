"""Invariant: a column that says nothing about who a customer is never changes the ICP.

Real CRM exports carry phone numbers, postal codes, record ids, addresses, links, notes and system
columns beside the attributes that matter. Each kind is added to a customers file, alone and all at
once; the drafted ICP, the pattern tests and the segment and cluster choices must stay as they were.
"""

import json
import random
import uuid

import pandas as pd
import pytest

from icp import analysis
from icp.analysis.success import default_settings
from icp.data import demo
from icp.data.workspace import Workspace
from icp.profile.draft import draft_icp
from tests.helpers import shared_file


def _sf_id(rng: random.Random, prefix: str) -> str:
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "Ec" + "".join(rng.choice(chars) for _ in range(13))


def _words(rng: random.Random, n: int) -> str:
    vocabulary = ("renewal", "call", "pricing", "asked", "about", "the", "integration", "with", "their", "team",
                  "budget", "next", "quarter", "champion", "left", "legal", "review", "pending", "demo", "went")
    return " ".join(rng.choice(vocabulary) for _ in range(n)).capitalize() + "."


# header -> value of row i (seeded): the unrelated columns of real exports.
UNRELATED = {
    "Phone": lambda rng, i: f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
    "Mobile": lambda rng, i: f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
    "BillingPostalCode": lambda rng, i: f"{rng.randint(0, 99999):05d}",
    "Postcode": lambda rng, i: rng.choice(["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"]),
    "Related Record": lambda rng, i: _sf_id(rng, "a00"),
    "OwnerId": lambda rng, i: _sf_id(random.Random(i % 4), "005"),
    "External Key": lambda rng, i: str(uuid.UUID(int=rng.getrandbits(128))),
    "Legacy Number": lambda rng, i: str(rng.randint(10_000_000, 99_999_999)),
    "Account Code": lambda rng, i: f"CD{rng.randint(100000, 999999)}",
    "Row": lambda rng, i: str(i + 1),
    "BillingStreet": lambda rng, i: f"{rng.randint(1, 9999)} {rng.choice(['Main', 'Oak', 'Pine', 'Market'])} "
                                    f"{rng.choice(['St', 'Street', 'Ave', 'Road', 'Blvd'])}",
    "LinkedIn": lambda rng, i: f"https://www.linkedin.com/company/acct-{rng.randint(1000, 99999)}",
    "Primary Contact Email": lambda rng, i: f"contact{rng.randint(1, 10**6)}@example{rng.randint(1, 999)}.com",
    "Metadata": lambda rng, i: json.dumps({"score": rng.randint(1, 9), "src": rng.choice("abc")}),
    "Notes": lambda rng, i: _words(rng, rng.randint(6, 14)),
    "Record Type": lambda rng, i: "Business Account",
}
REASON = {
    "Phone": "phone", "Mobile": "phone", "BillingPostalCode": "postal_code", "Postcode": "postal_code",
    "Related Record": "identifier", "OwnerId": "identifier", "External Key": "identifier",
    "Legacy Number": "identifier", "Account Code": "identifier", "Row": "identifier", "BillingStreet": "address",
    "LinkedIn": "url", "Primary Contact Email": "email", "Metadata": "json", "Notes": "free_text",
    "Record Type": "constant",
}


def with_unrelated(frame: pd.DataFrame, headers: list[str], seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    extra = {h: [UNRELATED[h](rng, i) for i in range(len(frame))] for h in headers}
    return frame.assign(**extra)


def planted_customers(n: int = 160, seed: int = 3) -> pd.DataFrame:
    """Customers where Fintech and 51-200 employees go with high ARR: something real to find."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        industry = rng.choice(["Fintech", "Retail", "Healthcare", "Logistics"])
        size = rng.choice(["11-50", "51-200", "201-500"])
        good = (industry == "Fintech") + (size == "51-200") + rng.random()
        rows.append({
            "Company name": f"Company {i:03d}", "Website": f"company{i:03d}.com", "Industry": industry,
            "Number of Employees": size, "Country": rng.choice(["United States", "Germany", "France"]),
            "ARR": round(10_000 * (1 + 3 * good) * rng.uniform(0.8, 1.2)),
            "Churned": "Yes" if rng.random() < 0.4 - 0.15 * good else "No",
        })
    return pd.DataFrame(rows)


def criteria(icp) -> list[tuple]:
    return [(c.attribute, c.role, c.kind, c.values, c.low, c.high, c.flag, c.weight) for c in icp.criteria]


def understanding(path, tmp_path, deals=None) -> dict:
    """Everything the analysis makes of a customers file that a column could change."""
    ws = Workspace.create(folder=tmp_path)
    ws.add_list("customers", path)
    if deals is not None:
        ws.add_list("deals", deals)
    settings = default_settings(ws)
    report = analysis.find_patterns(ws, settings)
    return {
        "criteria": criteria(draft_icp(ws, settings)),
        "tested": report.tested,
        "findings": [(f.attribute, f.value, f.in_group, f.group_size, round(f.q_value, 12)) for f in report.findings],
        "segments": [a.name for a in analysis.segment_options(ws)],
        "clusters": [a.name for a in analysis.cluster_features(ws)],
        "excluded": {c.source: c.excluded for c in ws.report("customers").columns if c.excluded},
    }


def compare(base: dict, changed: dict, added: list[str]) -> None:
    assert changed["excluded"] == {h: REASON[h] for h in added}
    for key in ("criteria", "tested", "findings", "segments", "clusters"):
        assert changed[key] == base[key], key


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    frame = planted_customers()
    path = folder / "customers.csv"
    frame.to_csv(path, index=False)
    return frame, understanding(path, folder)


def test_the_planted_file_has_something_to_lose(planted):
    _, base = planted
    assert base["criteria"] and base["tested"] >= 10
    assert {"industry", "size_band"} <= set(base["segments"])


@pytest.mark.parametrize("header", list(UNRELATED))
def test_one_unrelated_column_changes_nothing(planted, header, tmp_path):
    frame, base = planted
    path = tmp_path / "customers.csv"
    with_unrelated(frame, [header]).to_csv(path, index=False)
    compare(base, understanding(path, tmp_path), [header])


def test_every_unrelated_column_at_once_changes_nothing_on_the_demo(tmp_path):
    files = demo.write_demo(tmp_path / "demo")
    base = understanding(files["customers"], tmp_path, files["deals"])
    assert len(base["criteria"]) >= 3
    frame = pd.read_csv(files["customers"], dtype=str, keep_default_na=False)
    path = tmp_path / "customers-with-more.csv"
    with_unrelated(frame, list(UNRELATED)).to_csv(path, index=False)
    compare(base, understanding(path, tmp_path, files["deals"]), list(UNRELATED))


@pytest.mark.realdata
def test_maven_accounts_with_a_phone_and_a_postal_code(tmp_path):
    """The file of the bug report: a Phone and a BillingPostalCode switched every pattern test off."""
    accounts = shared_file("maven_crm/accounts.csv")
    pipeline = shared_file("maven_crm/sales_pipeline.csv")
    base = understanding(accounts, tmp_path, pipeline)
    assert base["criteria"] and base["tested"] > 0
    frame = pd.read_csv(accounts, dtype=str, keep_default_na=False)
    path = tmp_path / "accounts-with-phone.csv"
    with_unrelated(frame, ["Phone", "BillingPostalCode"]).to_csv(path, index=False)
    compare(base, understanding(path, tmp_path, pipeline), ["Phone", "BillingPostalCode"])
