"""A maven-like CRM export and an Inc.-5000-like universe, written with a fixed seed: the files of the
browser's tests/e2e/test_maven_upload.py and of tests/test_maven_view.py.

They are shaped like the Maven CRM sample (its exact headers, its misspelled "technolgy" sector, revenue
in millions, deals with no account) and like an Inc. 5000 list ("12.3 Million").
"""

from datetime import date, timedelta
from pathlib import Path

import numpy as np

SEED = 20240917
ACCOUNTS, DEALS, UNIVERSE = 85, 800, 3000

SECTORS = {"technolgy": 12, "technology": 2, "medical": 12, "retail": 17, "software": 7, "marketing": 8,
           "finance": 8, "entertainment": 6, "telecommunications": 6, "services": 5, "employment": 2}
ABROAD = ["Kenya", "Japan", "Belgium", "Brazil", "China", "Germany", "Italy", "Jordan", "Korea", "Norway",
          "Panama", "Philipines", "Poland", "Romania"]
FIRST = ["Acme", "Beta", "Bio", "Blue", "Can", "Code", "Dal", "Dom", "Fi", "Gan", "Green", "Hot", "Is", "Kan",
         "Lat", "Opti", "Ron", "Stan", "Sun", "Tres", "Zath", "Zoo", "Bub", "Golden", "Conec"]
SECOND = ["tech", "how", "holding", "com", "flex", "city", "plus", "lane", "ex", "ing", "zap", "core", "net",
          "sys", "dom", "soft", "fase", "tam"]
PRODUCTS = {"GTX Basic": 550, "GTX Pro": 4821, "MG Special": 55, "MG Advanced": 3393, "GTX Plus Pro": 5482,
            "GTX Plus Basic": 1096, "GTK 500": 26768}
AGENTS = ["Moses Frase", "Darcel Schlecht", "Anna Snelling", "Cecily Lampkin", "Versie Hillebrand",
          "Lajuana Vencill", "Maureen Marcano", "James Ascencio", "Vicki Laflamme", "Rosalina Dieter",
          "Hayden Neloms", "Boris Faz", "Zane Levy", "Reed Clapper", "Kami Bicknell", "Gladys Colclough"]
INDUSTRIES = ["Software", "Health", "Retail", "Financial Services", "Marketing & Advertising", "Telecommunications",
              "Media", "Human Resources", "Business Products & Services", "IT Services", "Construction",
              "Logistics & Transportation", "Consumer Products & Services", "Manufacturing", "Education"]
PLACES = [("CA", "San Francisco"), ("CA", "Los Angeles"), ("NY", "New York"), ("TX", "Austin"), ("TX", "Dallas"),
          ("FL", "Miami"), ("IL", "Chicago"), ("MA", "Boston"), ("WA", "Seattle"), ("CO", "Denver"),
          ("GA", "Atlanta"), ("VA", "Arlington"), ("UT", "Salt Lake City"), ("NC", "Charlotte"), ("OH", "Columbus")]
WORDS = ["Apex", "Summit", "Harbor", "Pioneer", "Vertex", "Nimbus", "Granite", "Cedar", "Beacon", "Atlas",
         "Quantum", "Evergreen", "Silver", "Northstar", "Bright", "Liberty", "Falcon", "Orchid", "Redwood", "Cobalt",
         "Keystone", "Meridian", "Prairie", "Horizon", "Lumen", "Crescent", "Ironwood", "Sterling", "Willow", "Aurora"]
KINDS = ["Labs", "Systems", "Partners", "Group", "Solutions", "Works", "Health", "Digital", "Logistics", "Media",
         "Capital", "Analytics", "Networks", "Foods", "Energy"]


def write_maven_like(folder: Path) -> tuple[Path, Path, Path]:
    """accounts.csv and sales_pipeline.csv with Maven CRM's headers, and an Inc.-5000-like universe.csv."""
    rng = np.random.default_rng(SEED)
    names = sorted(rng.choice([a + b for a in FIRST for b in SECOND], ACCOUNTS, replace=False))
    names[0] = "Acme Corporation"
    sectors = rng.permutation([s for s, n in SECTORS.items() for _ in range(n)])
    lines = ["account,sector,year_established,revenue,employees,office_location,subsidiary_of"]
    for i, (name, sector) in enumerate(zip(names, sectors, strict=True)):
        employees = int(np.exp(rng.uniform(np.log(9), np.log(20_000))))
        revenue = round(employees * rng.uniform(0.15, 0.6), 2)  # in millions, two decimals, as maven writes it
        country = "United States" if rng.random() < 0.83 else rng.choice(ABROAD)
        parent = rng.choice(names[:6]) if i >= 6 and rng.random() < 0.18 else ""
        lines.append(f"{name},{sector},{rng.integers(1979, 2018)},{revenue:.2f},{employees},{country},{parent}")
    accounts = folder / "accounts.csv"
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Bigger accounts buy more often and win a little more often, as in maven: something for the
    # patterns to find (their revenue and head count), not a sure thing.
    size = {n: int(line.split(",")[4]) for n, line in zip(names, lines[1:], strict=True)}
    reach = np.sqrt([size[n] for n in names])
    lines = ["opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"]
    ids = set()
    while len(ids) < DEALS:
        ids.add("".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 8)))
    for opportunity in sorted(ids, key=lambda _: rng.random()):
        product = rng.choice(list(PRODUCTS))
        account = rng.choice(names, p=reach / reach.sum())
        stage = rng.choice(["closed", "Engaging", "Prospecting"], p=[0.76, 0.18, 0.06])
        if stage == "closed":
            stage = "Won" if rng.random() < 0.45 + 0.03 * np.log10(size[account]) else "Lost"
        engage = date(2016, 10, 20) + timedelta(days=int(rng.integers(0, 430)))
        close, value = "", ""
        if stage in ("Won", "Lost"):
            close = (engage + timedelta(days=int(rng.integers(1, 140)))).isoformat()
            value = str(int(PRODUCTS[product] * rng.uniform(0.9, 1.1))) if stage == "Won" else "0"
        elif rng.random() < 0.45:  # open deals whose account was never filled in, as in maven
            account = ""
        started = "" if stage == "Prospecting" else engage.isoformat()
        lines.append(f"{opportunity},{rng.choice(AGENTS)},{product},{account},{stage},{started},{close},{value}")
    pipeline = folder / "sales_pipeline.csv"
    pipeline.write_text("\n".join(lines) + "\n", encoding="utf-8")

    companies = [f"{a} {b} {k}" for a in WORDS for b in WORDS if a != b for k in KINDS]
    chosen = rng.choice(companies, UNIVERSE, replace=False)
    revenues = np.sort(np.exp(rng.uniform(np.log(2), np.log(3000), UNIVERSE)))[::-1]  # millions, by rank
    lines = ["rank,name,url,revenue,growth_%,industry,workers,founded,state,city"]
    for rank, (name, revenue) in enumerate(zip(chosen, revenues, strict=True), start=1):
        shown = f"{revenue / 1000:.1f} Billion" if revenue >= 1000 else f"{revenue:.1f} Million"
        workers = max(2, int(revenue * rng.uniform(2, 8)))
        state, city = PLACES[rng.integers(len(PLACES))]
        url = "http://www." + name.lower().replace(" ", "") + ".com"
        lines.append(f"{rank},{name},{url},{shown},{int(rng.integers(40, 20_000))},{rng.choice(INDUSTRIES)},"
                     f"{workers},{rng.integers(1950, 2016)},{state},{city}")
    universe = folder / "inc5000-universe.csv"
    universe.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return accounts, pipeline, universe
