"""The demo data: deterministic, messy like real exports, and carrying the pattern it promises.

The pattern is checked from the raw CSV columns with small parsers written here, so the test does not
lean on the ingest code it is meant to feed.
"""

import re

import numpy as np
import pandas as pd
import pytest

from icp.data import demo

CUSTOMER_COLUMNS = [
    "Record ID", "Company name", "Website", "Industry", "Number of Employees", "Annual Revenue",
    "Country/Region", "Year Founded", "Technologies", "Business Model", "Funding Stage", "Channel",
    "Use Case", "Customer Since", "ARR", "Churned", "Expansion ARR", "NPS", "Support Tickets (12m)",
    "Sales Cycle Days",
]
DEAL_COLUMNS = ["Deal ID", "Company", "Deal Stage", "Amount", "Create Date", "Close Date", "Owner"]
UNIVERSE_COLUMNS = ["Company", "Domain", "Industry", "Employees", "Revenue", "Country", "Founded",
                    "Technologies", "Business Model", "Funding Stage"]

LEGAL_SUFFIX = re.compile(r"(,? inc\.?|,? llc|( pty| pvt| pte)? ltd| gmbh| ag| b\.v\.| sas| ab)$")
COUNTRY = {"usa": "united states", "u.s.": "united states", "us": "united states", "uk": "united kingdom",
           "deutschland": "germany"}


def money(text: object) -> float:
    """"$12,500,000", "12.5M", "850K", "€3 Mio" -> a number (euros at face value); blank -> NaN."""
    if pd.isna(text):
        return np.nan
    value = str(text).replace("$", "").replace("€", "").replace(",", "").strip()
    for suffix, factor in (("Mio", 1e6), ("M", 1e6), ("K", 1e3)):
        if value.endswith(suffix):
            return float(value.removesuffix(suffix)) * factor
    return float(value)


def employees(text: object) -> float:
    """"1,250" -> 1250; a band "51-200" -> its midpoint; "10001+" -> 10001; blank -> NaN."""
    if pd.isna(text):
        return np.nan
    value = str(text).replace(",", "")
    if value.endswith("+"):
        return float(value[:-1])
    low, _, high = value.partition("-")
    return (float(low) + float(high or low)) / 2


def domain(url: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", url.strip().lower()).split("/")[0]


def account(name: str) -> str:
    return LEGAL_SUFFIX.sub("", name.strip().lower())


def rate(flags: pd.Series) -> float:
    return float(flags.mean())


@pytest.fixture(scope="module")
def data() -> demo.DemoData:
    return demo.generate()


@pytest.fixture(scope="module")
def customers(data: demo.DemoData) -> pd.DataFrame:
    """One row per account (duplicates dropped), with the planted segments worked out from raw columns."""
    c = data.customers.assign(domain=data.customers["Website"].map(domain)).drop_duplicates("domain")
    size = c["Number of Employees"].map(employees)
    fit = (c["Industry"].str.strip().str.lower().isin({"fintech", "healthcare"}) & size.between(51, 1000)
           & c["Technologies"].str.contains("Snowflake", na=False))
    bad = (size < 20) | (c["Business Model"] == "Hardware")
    country = c["Country/Region"].str.lower().map(lambda v: COUNTRY.get(v, v))
    return c.assign(fit=fit, bad=bad, arr=c["ARR"].map(money), churned=c["Churned"] == "Yes", country=country)


def universe_segment(universe: pd.DataFrame) -> pd.Series:
    size = universe["Employees"]
    fit = (universe["Industry"].isin(["Fintech", "Healthcare"]) & size.between(51, 1000)
           & universe["Technologies"].str.contains("Snowflake"))
    bad = (size < 20) | (universe["Business Model"] == "Hardware")
    return pd.Series(np.select([fit, bad], ["fit", "bad"], "rest"), index=universe.index)


def test_same_seed_gives_same_frames(data):
    again = demo.generate()
    for name in demo.DemoData._fields:
        pd.testing.assert_frame_equal(getattr(data, name), getattr(again, name))


def test_write_demo_is_byte_identical(tmp_path):
    first = demo.write_demo(tmp_path / "a")
    second = demo.write_demo(tmp_path / "b", seed=demo.DEMO_SEED)
    assert set(first) == {"customers", "deals", "universe"}
    for name, path in first.items():
        assert path.name == f"{name}.csv"
        assert path.read_bytes() == second[name].read_bytes()
    assert pd.read_csv(first["customers"], nrows=0).columns.tolist() == CUSTOMER_COLUMNS


def test_other_seed_gives_other_data(data):
    other = demo.generate(seed=demo.DEMO_SEED + 1)
    assert not other.customers.equals(data.customers)
    assert not other.universe["Domain"].equals(data.universe["Domain"])


def test_headers_and_sizes(data, customers):
    assert data.customers.columns.tolist() == CUSTOMER_COLUMNS
    assert data.deals.columns.tolist() == DEAL_COLUMNS
    assert data.universe.columns.tolist() == UNIVERSE_COLUMNS
    assert data.truth.columns.tolist() == ["domain", "planted_fit", "planted_bad"]
    assert len(data.universe) >= 50_000
    assert len(customers) == 400
    assert 400 < len(data.customers) <= 420
    assert 1500 <= len(data.deals) <= 2500
    assert data.universe["Domain"].is_unique and data.universe["Company"].is_unique
    # The appended duplicates came from a spreadsheet: no record id, so they merge by domain or name.
    ids = data.customers["Record ID"]
    assert ids.dropna().is_unique and ids.notna().sum() == 400 and ids.iloc[400:].isna().all()
    assert data.deals["Deal ID"].is_unique


def test_successful_customers_share_the_planted_profile(customers):
    fit, rest = customers[customers["fit"]], customers[~customers["fit"]]
    assert 0.30 <= len(fit) / len(customers) <= 0.50  # over-represented, but plenty of others
    assert fit["arr"].median() >= 2 * rest["arr"].median()
    assert rate(fit["churned"]) <= rate(rest["churned"]) / 2
    assert fit["NPS"].mean() > rest["NPS"].mean() + 15
    assert fit["Support Tickets (12m)"].mean() < rest["Support Tickets (12m)"].mean()
    assert fit["Sales Cycle Days"].median() < rest["Sales Cycle Days"].median()
    assert fit["Expansion ARR"].map(money).mean() > 2 * rest["Expansion ARR"].map(money).mean()


def test_bad_fit_customers_churn_and_pay_little(customers):
    bad, rest = customers[customers["bad"]], customers[~customers["bad"]]
    assert len(bad) >= 30
    assert rate(bad["churned"]) >= 2 * rate(rest["churned"])
    assert bad["arr"].median() < rest["arr"].median()
    assert bad["Support Tickets (12m)"].mean() > rest["Support Tickets (12m)"].mean()


def test_country_and_channel_have_no_effect(customers):
    overall = rate(customers["churned"])
    for column, tolerance in (("country", 0.15), ("Channel", 0.10)):
        by_group = customers.groupby(column)["churned"].agg(["mean", "size"])
        big = by_group[by_group["size"] >= 30]
        assert len(big) >= 2, column
        assert (big["mean"] - overall).abs().max() <= tolerance, big


def test_universe_holds_every_customer_and_a_realistic_fit_share(data, customers):
    universe = data.universe
    assert set(customers["domain"]) <= set(universe["Domain"])
    segment = universe_segment(universe)
    assert ((segment == "fit") == data.truth["planted_fit"]).all()
    assert (data.truth["domain"] == universe["Domain"]).all()
    assert 0.03 <= (segment == "fit").mean() <= 0.10
    assert customers["fit"].mean() > 4 * (segment == "fit").mean()
    assert universe["Industry"].nunique() == 15
    assert universe["Employees"].min() >= 1
    # Revenue grows with headcount, as in any firmographic database.
    assert np.corrcoef(np.log(universe["Employees"]), np.log(universe["Revenue"]))[0, 1] > 0.7


def test_deals_cover_customers_prospects_and_win_rates_follow_the_profile(data, customers):
    deals = data.deals.assign(account=data.deals["Company"].map(account))
    won = deals[deals["Deal Stage"] == "Closed Won"]
    assert set(customers["Company name"].map(account)) <= set(won["account"])
    assert not set(deals["account"]) <= set(customers["Company name"].map(account))  # prospects too

    is_open = deals["Deal Stage"].isin(["Qualified", "Proposal", "Negotiation"])
    assert is_open.any() and (deals["Deal Stage"] == "Closed Lost").any()
    assert deals.loc[is_open, "Close Date"].isna().all() and deals.loc[~is_open, "Close Date"].notna().all()

    segment = dict(zip(data.universe["Company"].map(account), universe_segment(data.universe), strict=True))
    closed = deals[~is_open].assign(segment=lambda d: d["account"].map(segment))
    assert closed["segment"].notna().all()
    win = closed.groupby("segment")["Deal Stage"].apply(lambda s: (s == "Closed Won").mean())
    assert win["fit"] >= 1.5 * win["rest"] and win["bad"] < win["rest"]


def test_files_carry_the_mess_ingest_must_handle(data):
    c = data.customers
    assert c["Country/Region"].isin(["USA", "U.S."]).any()
    assert c["Number of Employees"].str.fullmatch(r"\d+-\d+|\d+\+").any()
    assert c["Number of Employees"].str.fullmatch(r"\d{1,3}(,\d{3})+").any()
    assert c["Annual Revenue"].str.contains(r"\d(?:M| Mio)$", na=False).any()
    assert c["Annual Revenue"].str.startswith("€", na=False).any()
    assert c["Website"].map(domain).duplicated().any()
    assert c["Website"].str.startswith("https://").any() and (~c["Website"].str.contains("//")).any()
    industry = c["Industry"].dropna()
    assert (industry != industry.str.strip()).any()
    assert industry.str.strip().str.lower().nunique() < industry.nunique()
    assert c["Customer Since"].str.fullmatch(r"\d{4}-\d\d-\d\d").any()
    assert c["Customer Since"].str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}").any()
    assert c["NPS"].isna().mean() > 0.05 and c["Technologies"].isna().any()
    assert c["ARR"].str.fullmatch(r"\$\d{1,3}(,\d{3})*").all()


def test_planted_description_names_the_pattern():
    for word in ("Fintech", "Healthcare", "51-1000", "Snowflake", "Hardware", "20"):
        assert word in demo.PLANTED
