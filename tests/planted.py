"""A planted profile for the carrying tests: customers whose success follows known rules, and a
universe that names and scales its columns otherwise, with the truth of which universe account fits.

Customers (a CRM export): Industry, Number of Employees, Country, Annual Revenue in millions,
"Requires on-prem" (Yes/No), ARR, Churned. Fintech and Healthcare companies of 51-1,000 employees
succeed (high ARR, rarely churn); a company that requires on-prem churns and is never a best customer.
Country and revenue are noise. The universe (a bought list): Company, Web, Sector, Headcount,
Revenue in dollars and on_prem_only (True/False): the same rules decide who truly fits.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

INDUSTRIES = ["Fintech", "Healthcare", "Retail", "Logistics", "Media"]
COUNTRIES = ["United States", "Germany", "France", "United Kingdom"]


@dataclass(frozen=True)
class Planted:
    customers: Path
    universe: Path
    truth: pd.Series  # universe domain -> whether it truly fits


def _companies(rng: np.random.Generator, n: int) -> pd.DataFrame:
    industry = rng.choice(INDUSTRIES, n, p=[0.25, 0.2, 0.25, 0.15, 0.15])
    employees = np.clip(np.round(np.exp(rng.normal(5.2, 1.4, n))), 2, 20_000).astype(int)
    on_prem = rng.random(n) < 0.12
    revenue_m = np.round(np.exp(rng.normal(3.0, 1.2, n)), 2)  # millions, unrelated to fit
    country = rng.choice(COUNTRIES, n)
    fit = np.isin(industry, ["Fintech", "Healthcare"]) & (employees >= 51) & (employees <= 1000)
    return pd.DataFrame({"industry": industry, "employees": employees, "on_prem": on_prem,
                         "revenue_m": revenue_m, "country": country, "fit": fit & ~on_prem})


def write_planted(folder: Path, seed: int = 7, customers: int = 600, universe: int = 20_000) -> Planted:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    c = _companies(rng, customers)
    good = c["fit"].to_numpy()
    arr = np.round(np.where(good, rng.lognormal(11.3, 0.35, customers), rng.lognormal(10.2, 0.5, customers)), -2)
    churn_p = np.where(c["on_prem"], 0.75, np.where(good, 0.05, 0.3))
    frame = pd.DataFrame({
        "Company name": [f"Customer {i:04d}" for i in range(customers)],
        "Website": [f"customer{i:04d}.com" for i in range(customers)],
        "Industry": c["industry"], "Number of Employees": c["employees"], "Country": c["country"],
        "Annual Revenue": c["revenue_m"], "Requires on-prem": np.where(c["on_prem"], "Yes", "No"),
        "ARR": arr, "Churned": np.where(rng.random(customers) < churn_p, "Yes", "No"),
    })
    customers_path = folder / "customers.csv"
    frame.to_csv(customers_path, index=False)

    u = _companies(rng, universe)
    domains = [f"prospect{i:05d}.io" for i in range(universe)]
    market = pd.DataFrame({
        "Company": [f"Prospect {i:05d}" for i in range(universe)], "Web": domains,
        "Sector": u["industry"], "Headcount": u["employees"],
        "Revenue": (u["revenue_m"] * 1e6).round(0).astype(int),  # dollars
        "on_prem_only": np.where(u["on_prem"], "True", "False"),
    })
    universe_path = folder / "universe.csv"
    market.to_csv(universe_path, index=False)
    return Planted(customers_path, universe_path, pd.Series(u["fit"].to_numpy(), index=domains))
