"""Seeded demo data: CRM-style customer and deal exports plus a company universe, with a planted ICP.

The app loads this when nothing has been uploaded and ``icp demo OUT`` writes it. The exports carry the
mess real ones do (money and employee formats, country spellings, label variants, duplicates, blanks)
and a planted pattern, so every analysis page has something true to find and something false
(country, channel) that it must not find.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

DEMO_SEED = 7

PLANTED = (
    "Ideal customers are Fintech or Healthcare companies with 51-1000 employees that use Snowflake. "
    "They pay about 2.5-3x the ARR of other customers, churn about a quarter as often, expand more, "
    "give higher NPS, open fewer support tickets, close faster and win about twice as many deals. "
    "Bad fits have fewer than 20 employees or sell Hardware: they churn four to five times as often as "
    "the rest, pay little, open many tickets and rarely win. Country and sales channel have no effect."
)


class DemoData(NamedTuple):
    customers: pd.DataFrame
    deals: pd.DataFrame
    universe: pd.DataFrame
    truth: pd.DataFrame  # per universe row: domain, planted_fit, planted_bad; for tests, never written


INDUSTRIES = np.array(
    ["Fintech", "Healthcare", "Retail", "Manufacturing", "Education", "Media", "Logistics", "Real Estate",
     "Energy", "Insurance", "Telecom", "Travel", "Government", "Nonprofit", "Software"]
)
_INDUSTRY_P = [.09, .10, .09, .09, .06, .06, .06, .05, .04, .05, .04, .04, .03, .04, .16]
FIT_INDUSTRIES = ("Fintech", "Healthcare")
# Industries whose data teams buy warehouses; keeps Snowflake from being a Fintech/Healthcare marker alone.
_DATA_HEAVY = ("Fintech", "Healthcare", "Insurance", "Software")

MODELS = np.array(["B2B SaaS", "Marketplace", "E-commerce", "Services", "Hardware"])
_MODEL_P = np.array([  # per industry, in INDUSTRIES order
    [.55, .15, .05, .23, .02], [.35, .07, .05, .43, .10], [.10, .20, .50, .12, .08],
    [.10, .05, .10, .25, .50], [.35, .10, .10, .40, .05], [.25, .15, .20, .35, .05],
    [.25, .20, .05, .40, .10], [.20, .30, .00, .48, .02], [.15, .05, .05, .40, .35],
    [.35, .10, .05, .48, .02], [.20, .05, .10, .35, .30], [.20, .35, .20, .23, .02],
    [.15, .00, .00, .75, .10], [.15, .05, .10, .68, .02], [.68, .10, .04, .13, .05],
])

FUNDING = np.array(["Bootstrapped", "Seed", "Series A", "Series B", "Series C+", "Public"])
_FUNDING_P = np.array([  # by size: under 51, 51-1000, over 1000 employees
    [.45, .33, .15, .05, .02, .00], [.25, .10, .25, .22, .15, .03], [.15, .00, .05, .12, .30, .38],
])

TOOLS = ["Salesforce", "HubSpot", "Snowflake", "Segment", "AWS", "GCP", "Azure", "Stripe", "Zendesk",
         "Intercom", "Shopify", "WordPress", "Jira", "Slack", "dbt"]
# Adoption logit = intercept + slope * log(employees / 45), plus the industry and model terms in _universe.
_TOOL_LOGIT = np.array([-1.2, -0.5, -1.7, -2.0, .2, -1.4, -1.1, -1.6, -1.0, -1.6, -3.2, -.3, -.6, .6, -3.2])
_TOOL_SLOPE = np.array([0.5, -0.1, 0.45, 0.2, 0.1, 0.0, 0.15, 0.0, 0.2, 0.0, 0.0, -0.2, 0.3, 0.2, 0.0])

# iso, universe name, share, top-level domain
_COUNTRIES = [
    ("US", "United States", .425, ".com"), ("GB", "United Kingdom", .10, ".co.uk"),
    ("DE", "Germany", .08, ".de"), ("FR", "France", .05, ".fr"), ("NL", "Netherlands", .04, ".nl"),
    ("CA", "Canada", .06, ".ca"), ("AU", "Australia", .04, ".com.au"), ("BR", "Brazil", .03, ".com.br"),
    ("IN", "India", .04, ".in"), ("ES", "Spain", .03, ".es"), ("SE", "Sweden", .02, ".se"),
    ("IE", "Ireland", .015, ".ie"), ("CH", "Switzerland", .015, ".ch"), ("SG", "Singapore", .015, ".sg"),
    ("IL", "Israel", .01, ".co.il"), ("JP", "Japan", .01, ".jp"), ("MX", "Mexico", .01, ".mx"),
    ("PL", "Poland", .01, ".pl"),
]
_ISO = np.array([c[0] for c in _COUNTRIES])
_COUNTRY_NAME = {c[0]: c[1] for c in _COUNTRIES}
_TLD = np.array([c[3] for c in _COUNTRIES], dtype=object)
# How CRM users type the big three; the rest are typed as the plain name.
_COUNTRY_TYPED = {
    "US": (["United States", "USA", "U.S.", "US"], [.5, .2, .1, .2]),
    "GB": (["United Kingdom", "UK"], [.65, .35]),
    "DE": (["Germany", "Deutschland"], [.8, .2]),
}
_EURO = {"DE", "FR", "NL", "ES", "IE"}
_LEGAL = {"GB": " Ltd", "IE": " Ltd", "AU": " Pty Ltd", "IN": " Pvt Ltd", "SG": " Pte Ltd", "DE": " GmbH",
          "CH": " AG", "NL": " B.V.", "FR": " SAS", "SE": " AB"}

_HEADS = np.array(
    ["Ac", "Al", "Am", "Ar", "Ax", "Bel", "Bri", "Cal", "Cor", "Cy", "Da", "Del", "Dyn", "El", "En", "Ev",
     "Fal", "Fen", "Flo", "Gal", "Gen", "Hal", "Hel", "In", "Is", "Jun", "Kal", "Kin", "Lu", "Lum", "Mar",
     "Mer", "Nov", "Nu", "Oc", "Om", "Or", "Pal", "Pax", "Pri", "Qua", "Ra", "Ren", "Sol", "Syn", "Ta",
     "Ter", "Tri", "Ul", "Ven", "Ver", "Vi", "Vol", "Wel", "Xe", "Za", "Zen", "Zo", "Ky", "Bo", "Ca", "Cle",
     "Dor", "Ela", "Fi", "Gra", "Hy", "Ix", "Jo", "Ke", "Le", "Mo", "Ne", "Ob", "Pe", "Ro", "Sa", "Te", "Va",
     "Wi"], dtype=object)
_MIDS = np.array(
    ["ra", "ro", "lo", "la", "ne", "na", "ta", "ti", "to", "vo", "va", "mi", "mo", "ri", "rix", "dex", "tex",
     "lia", "nia", "via", "gen", "sys", "ly", "ion", "ium", "ex", "on", "an", "el", "ar", "is", "us", "io",
     "ic", "ent", "ora", "ara", "ino", "ova", "eta", "vi", "ber", "cor", "dia", "fin", "lux", "mar", "nex",
     "qui", "sen"], dtype=object)
_TAILS = np.array(
    ["n", "x", "s", "ra", "ly", "ia", "on", "go", "ta", "ro", "za", "le", "da", "ny", "tt", "ve"],
    dtype=object)
_GENERIC_WORDS = np.array(
    ["Labs", "Systems", "Analytics", "Technologies", "Group", "Solutions", "Works", "Partners", "Digital",
     "Networks", "Dynamics", "Ventures"], dtype=object)
_INDUSTRY_WORDS = np.array([  # in INDUSTRIES order
    ["Pay", "Capital", "Finance", "Ledger", "Money", "Credit"],
    ["Health", "Care", "Medical", "Bio", "Clinics", "Therapeutics"],
    ["Goods", "Supply", "Market", "Outfitters", "Brands", "Stores"],
    ["Industries", "Manufacturing", "Robotics", "Materials", "Components", "Machines"],
    ["Learning", "Academy", "Education", "Tutors", "Campus", "Schools"],
    ["Media", "Studios", "Publishing", "Press", "Films", "Sound"],
    ["Logistics", "Freight", "Shipping", "Transport", "Fleet", "Cargo"],
    ["Properties", "Realty", "Homes", "Estates", "Spaces", "Living"],
    ["Energy", "Power", "Solar", "Grid", "Renewables", "Fuels"],
    ["Insurance", "Assurance", "Underwriters", "Mutual", "Cover", "Risk"],
    ["Telecom", "Mobile", "Connect", "Wireless", "Fiber", "Communications"],
    ["Travel", "Trips", "Journeys", "Hotels", "Voyages", "Tours"],
    ["GovTech", "Civic", "Municipal", "Public", "Services", "Agency"],
    ["Foundation", "Alliance", "Trust", "Initiative", "Fund", "Society"],
    ["Software", "Cloud", "Data", "AI", "Apps", "Code"],
], dtype=object)

_BANDS = [(1, "1-10"), (11, "11-50"), (51, "51-200"), (201, "201-500"), (501, "501-1000"),
          (1001, "1001-5000"), (5001, "5001-10000"), (10001, "10001+")]
_CAMEL = {"Fintech": "FinTech", "Healthcare": "HealthCare", "Real Estate": "Real estate",
          "Nonprofit": "NonProfit"}
_REPS = ["Maya Patel", "Jonas Weber", "Chris Lee", "Sofia Alvarez", "Tom Becker", "Priya Nair", "Ben Carter",
         "Elena Rossi"]
_OPEN_STAGES = np.array(["Qualified", "Proposal", "Negotiation"])
# Fixed, so that the files never depend on the day they are written.
_START, _END = np.datetime64("2019-01-01"), np.datetime64("2025-09-30")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row, each row drawn from its own probability vector."""
    cum = np.cumsum(probs, axis=1)
    draw = rng.random((len(cum), 1)) * cum[:, -1:]
    return np.minimum((cum <= draw).sum(axis=1), probs.shape[1] - 1)


def _universe(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Companies, with internal column names and a Snowflake flag; drawn in surplus and deduplicated so
    names and domains are unique."""
    m = n + n // 2 + 100
    ind = rng.choice(len(INDUSTRIES), m, p=_INDUSTRY_P)
    iso = rng.choice(len(_COUNTRIES), m, p=[c[2] for c in _COUNTRIES])
    emp = np.clip(np.rint(np.exp(rng.normal(np.log(45), 1.4, m))), 1, 250_000).astype(np.int64)
    z = np.log(emp / 45)
    revenue = (np.rint(emp * np.exp(rng.normal(np.log(150_000), 0.5, m)) / 1000) * 1000).astype(np.int64)
    founded = 2025 - np.clip(np.rint(np.exp(rng.normal(np.log(9) + 0.25 * z, 0.6))), 1, 120).astype(np.int64)
    model = _pick(rng, _MODEL_P[ind])
    funding = _pick(rng, _FUNDING_P[np.digitize(emp, [51, 1001])])

    logit = _TOOL_LOGIT + z[:, None] * _TOOL_SLOPE
    logit[:, TOOLS.index("Snowflake")] += 1.6 * np.isin(INDUSTRIES[ind], _DATA_HEAVY)
    logit[:, TOOLS.index("Stripe")] += 1.6 * np.isin(MODELS[model], ["B2B SaaS", "Marketplace", "E-commerce"])
    logit[:, TOOLS.index("Shopify")] += 3.5 * (MODELS[model] == "E-commerce")
    logit[:, TOOLS.index("Jira")] += 1.2 * (INDUSTRIES[ind] == "Software")
    has = rng.random(logit.shape) < _sigmoid(logit)
    # dbt rides on a warehouse.
    has[:, TOOLS.index("dbt")] |= has[:, TOOLS.index("Snowflake")] & (rng.random(m) < 0.45)
    codes = has @ (1 << np.arange(len(TOOLS)))
    uniq, inv = np.unique(codes, return_inverse=True)
    stacks = np.array(["; ".join(t for j, t in enumerate(TOOLS) if c >> j & 1) for c in uniq], dtype=object)

    stem = _HEADS[rng.integers(0, len(_HEADS), m)] + _MIDS[rng.integers(0, len(_MIDS), m)]
    stem = np.where(rng.random(m) < 0.6, stem + _TAILS[rng.integers(0, len(_TAILS), m)], stem)
    word_kind = rng.choice(3, m, p=[.45, .40, .15])  # industry word, generic word, none
    word = np.select(
        [word_kind == 0, word_kind == 1],
        [_INDUSTRY_WORDS[ind, rng.integers(0, _INDUSTRY_WORDS.shape[1], m)],
         _GENERIC_WORDS[rng.integers(0, len(_GENERIC_WORDS), m)]],
        "",
    ).astype(object)
    name = np.where(word == "", stem, stem + " " + word)
    s = np.char.lower(stem.astype(str)).astype(object)
    w = np.char.lower(np.char.replace(word.astype(str), " ", "")).astype(object)
    pattern = rng.choice(8, m, p=[.33, .20, .12, .05, .05, .05, .03, .17])  # the last: country domain
    domain = np.select(
        [pattern == k for k in range(7)],
        [s + ".com", np.where(w == "", s + "tech", s + w) + ".com", s + ".io", "get" + s + ".com",
         s + "hq.com", s + ".co", s + ".ai"],
        s + _TLD[iso],
    )
    df = pd.DataFrame({
        "name": name, "domain": domain, "industry": INDUSTRIES[ind], "employees": emp, "revenue": revenue,
        "iso": _ISO[iso], "founded": founded, "tech": stacks[inv], "model": MODELS[model],
        "funding": FUNDING[funding], "snowflake": has[:, TOOLS.index("Snowflake")],
    })
    df = df.drop_duplicates("domain").drop_duplicates("name")
    if len(df) < n:
        raise ValueError(f"could not make {n} distinct company names; ask for fewer")
    return df.head(n).reset_index(drop=True)


def _money(values: np.ndarray) -> list[str]:
    return [f"${v:,.0f}" for v in values]


def _revenue_text(rng: np.random.Generator, revenue: np.ndarray, iso: np.ndarray) -> list[str | None]:
    """"$12,500,000", "12.5M"/"850K", "€3.4 Mio" (European rows, in euros) or blank: a CRM's free text."""
    style = rng.choice(4, len(revenue), p=[.55, .25, .12, .08])
    out: list[str | None] = []
    for v, country, k in zip(revenue, iso, style, strict=True):
        eur = round(v / 1.08e6, 1)
        if k == 3:
            out.append(None)
        elif k == 2 and country in _EURO and eur >= 1:
            out.append(f"€{eur:g} Mio")
        elif k >= 1:
            out.append(f"{v / 1e6:.1f}".removesuffix(".0") + "M" if v >= 1e6 else f"{v / 1e3:.0f}K")
        else:
            out.append(f"${v:,.0f}")
    return out


def _employees_text(rng: np.random.Generator, emp: np.ndarray) -> list[str]:
    """Mostly plain counts, "1,250" with a separator, and about 10% HubSpot-style bands."""
    style = rng.random(len(emp))
    edges = np.array([lo for lo, _ in _BANDS])
    bands = [_BANDS[i][1] for i in np.searchsorted(edges, emp, side="right") - 1]
    return [b if s < .10 else f"{e:,}" if s < .55 and e >= 1000 else str(e)
            for e, s, b in zip(emp, style, bands, strict=True)]


_WEB_FORMS = ["https://www.{}", "{}", "www.{}/", "http://{}", "https://{}/"]


def _website(domains: np.ndarray, forms: np.ndarray) -> list[str]:
    return [_WEB_FORMS[f].format(d) for d, f in zip(domains, forms, strict=True)]


def _industry_text(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    """About 5% typed differently: lower case, camel case, trailing space."""
    kind = np.where(rng.random(len(industry)) < .05, rng.integers(1, 4, len(industry)), 0)
    variants = [lambda s: s, str.lower, lambda s: _CAMEL.get(s, s.upper()), lambda s: _CAMEL.get(s, s) + " "]
    return [variants[k](s) for s, k in zip(industry, kind, strict=True)]


def _country_text(rng: np.random.Generator, iso: np.ndarray) -> list[str]:
    out = []
    for code in iso:
        names, p = _COUNTRY_TYPED.get(code, ([_COUNTRY_NAME[code]], [1.0]))
        out.append(names[rng.choice(len(names), p=p)])
    return out


def _date_text(rng: np.random.Generator, dates: np.ndarray) -> list[str]:
    """ISO, or US m/d/Y for about 30% of rows, the way records imported from several tools end up."""
    us = rng.random(len(dates)) < .30
    stamps = pd.DatetimeIndex(dates)
    return [f"{d.month}/{d.day}/{d.year}" if flag else f"{d:%Y-%m-%d}"
            for d, flag in zip(stamps, us, strict=True)]


def _blank(rng: np.random.Generator, df: pd.DataFrame, columns: list[str], share: float) -> None:
    for col in columns:
        df.loc[rng.random(len(df)) < share, col] = None


def _with_duplicates(rng: np.random.Generator, customers: pd.DataFrame, domains: np.ndarray,
                     names: np.ndarray, web_form: np.ndarray) -> pd.DataFrame:
    """About 3% of accounts again, as a later import from a spreadsheet appends them: no record id, the
    website typed another way and, for half of them, ", Inc." on the name. Appended at the end."""
    dup = np.sort(rng.choice(len(customers), max(1, round(len(customers) * .03)), replace=False))
    copies = customers.iloc[dup].copy()
    other_form = (web_form[dup] + rng.integers(1, len(_WEB_FORMS), len(dup))) % len(_WEB_FORMS)
    copies["Website"] = _website(domains[dup], other_form)
    renamed = rng.random(len(dup)) < .5
    copies.loc[renamed, "Company name"] = [f"{nm}, Inc." for nm in names[dup[renamed]]]
    return pd.concat([customers, copies], ignore_index=True)


def _deal_table(rng: np.random.Generator, groups: list[tuple]) -> pd.DataFrame:
    """A deals export from groups of (company, stage, amount, create date, close date); ids by creation."""
    deals = pd.concat([
        pd.DataFrame({"Company": list(company), "Deal Stage": stage, "Amount": amount,
                      "Create Date": pd.DatetimeIndex(created), "Close Date": pd.DatetimeIndex(closed)})
        for company, stage, amount, created, closed in groups
    ], ignore_index=True)
    deals = deals.sort_values(["Create Date", "Company"], kind="stable", ignore_index=True)
    deals["Amount"] = _money(deals["Amount"].to_numpy())
    deals["Create Date"] = deals["Create Date"].dt.strftime("%Y-%m-%d")
    deals["Close Date"] = deals["Close Date"].dt.strftime("%Y-%m-%d")
    deals.insert(0, "Deal ID", np.arange(20_000_001, 20_000_001 + len(deals)))
    deals["Owner"] = rng.choice(_REPS, len(deals))
    return deals


class _Latent(NamedTuple):
    """What the generator knows of every universe account and the reader must find."""

    parts: np.ndarray  # how many of the three profile parts an account has
    fit: np.ndarray  # all three: the planted ICP
    bad: np.ndarray  # the planted disqualifiers
    z: np.ndarray  # log size
    health: np.ndarray  # the one latent that drives every outcome
    won: np.ndarray
    arr: np.ndarray
    cycle: np.ndarray
    quote: np.ndarray


def _latent(rng: np.random.Generator, u: pd.DataFrame) -> _Latent:
    n = len(u)
    emp = u["employees"].to_numpy()
    z = np.log(emp / 45)
    parts = (u["industry"].isin(FIT_INDUSTRIES).to_numpy().astype(int) + ((emp >= 51) & (emp <= 1000))
             + u["snowflake"].to_numpy())
    fit = parts == 3
    bad = (emp < 20) | (u["model"] == "Hardware").to_numpy()
    # One latent health per account drives every outcome, so outcomes agree with each other as in life;
    # each profile part helps a little on its own, all three together help a lot.
    health = 0.35 * parts + 1.3 * fit - 1.2 * bad + rng.normal(0, 0.7, n)
    won = rng.random(n) < _sigmoid(-1.6 + 0.8 * health)
    arr = np.exp(np.log(14_000) + 0.55 * health + 0.2 * z + rng.normal(0, 0.4, n))
    arr = np.maximum(np.rint(arr / 500), 3) * 500
    cycle = np.exp(rng.normal(np.log(60) - 0.2 * health + 0.12 * z, 0.35))
    cycle = np.clip(np.rint(cycle), 7, 365).astype(int)
    quote = np.rint(arr * rng.uniform(0.8, 1.3, n) / 500) * 500
    return _Latent(parts, fit, bad, z, health, won, arr, cycle, quote)


def generate(seed: int = DEMO_SEED, n_customers: int = 400, n_universe: int = 60_000) -> DemoData:
    """Customers, deals and universe for one seed; the same seed always gives the same frames."""
    rng = np.random.default_rng(seed)
    u = _universe(rng, n_universe)
    n = len(u)
    latent = _latent(rng, u)
    parts, fit, bad, _, _, won, arr, cycle, quote = latent

    # Sales works a pipeline tilted toward the profile, as real teams do. Sorting by log(u) / weight is a
    # weighted sample without replacement; its order is the order accounts entered the pipeline, and the
    # pipeline stops at the n-th win, so every loss before it is a closed-lost prospect.
    weight = np.where(fit, 6.0, 1 + 0.3 * parts) * np.where(bad, 1.2, 1)
    order = np.argsort(-np.log(rng.random(n)) / weight, kind="stable")
    wins = np.cumsum(won[order])
    if wins[-1] < n_customers:
        raise ValueError(f"a universe of {n_universe} companies is too small for {n_customers} customers")
    stop = int(np.searchsorted(wins, n_customers)) + 1
    closed, opened = order[:stop], order[stop:stop + n_customers * 5 // 8]
    created = _START + np.sort(rng.integers(0, (_END - _START).astype(int) - 45, stop))
    closes = np.minimum(created + cycle[closed], _END)
    is_won = won[closed]

    cust = closed[is_won]
    since = closes[is_won]
    customers, crm_name, tenure, expands, expansion = _customer_table(rng, u, latent, cust, since, created[is_won])

    # Deal account names are typed by reps: mostly the CRM name, sometimes another case or legal suffix.
    typed = rng.choice(4, len(cust), p=[.88, .04, .04, .04])
    won_company = [[nm, nm.upper(), nm.lower(), f"{base}, Inc."][t]
                   for nm, base, t in zip(crm_name, u.iloc[cust]["name"], typed, strict=True)]
    exp_created = since[expands] + rng.integers(120, tenure[expands] - 30)
    lost = closed[~is_won]
    names = u["name"].to_numpy()
    still_open = np.full(len(opened), np.datetime64("NaT"), "datetime64[D]")
    deals = _deal_table(rng, [
        (won_company, "Closed Won", arr[cust], created[is_won], since),
        (np.array(won_company, dtype=object)[expands], "Closed Won", expansion[expands], exp_created,
         np.minimum(exp_created + cycle[cust][expands] // 2, _END)),
        (names[lost], "Closed Lost", quote[lost], created[~is_won], closes[~is_won]),
        (names[opened], _OPEN_STAGES[rng.choice(3, len(opened), p=[.45, .35, .2])], quote[opened],
         _END - rng.integers(5, 180, len(opened)), still_open),
    ])

    universe = pd.DataFrame({
        "Company": u["name"], "Domain": u["domain"], "Industry": u["industry"], "Employees": u["employees"],
        "Revenue": u["revenue"],
        # Enrichment vendors mix ISO codes and names.
        "Country": np.where(rng.random(n) < .6, u["iso"], u["iso"].map(_COUNTRY_NAME)),
        "Founded": u["founded"], "Technologies": u["tech"], "Business Model": u["model"],
        "Funding Stage": u["funding"],
    })
    truth = pd.DataFrame({"domain": u["domain"], "planted_fit": fit, "planted_bad": bad})
    return DemoData(customers, deals, universe, truth)


def _customer_table(rng: np.random.Generator, u: pd.DataFrame, latent: _Latent, cust: np.ndarray,
                    since: np.ndarray, created: np.ndarray) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """The customers as a HubSpot company export (with the CRM's duplicates), and what the deals
    need of them: the CRM names, tenure, who expanded and by how much."""
    k = len(cust)
    h = latent.health[cust]
    tenure = (_END - since).astype(int)
    churned = (tenure >= 120) & (rng.random(k) < _sigmoid(-1.1 - 0.9 * h + 0.7 * latent.bad[cust]))
    expands = ~churned & (tenure >= 180) & (rng.random(k) < _sigmoid(-0.6 + 0.7 * h))
    expansion = latent.arr[cust] * np.exp(rng.normal(np.log(0.3) + 0.1 * h, 0.5, k))
    expansion = np.where(expands, np.rint(expansion / 500), 0) * 500
    nps = np.clip(np.rint(5 + 15 * h + rng.normal(0, 25, k)), -100, 100).astype(int)
    acc = u.iloc[cust]
    iso = acc["iso"].to_numpy()
    legal = rng.random(k) < .08
    crm_name = [f"{nm}{_LEGAL.get(c, ', Inc.')}" if lg else nm
                for nm, c, lg in zip(acc["name"], iso, legal, strict=True)]
    web_form = rng.choice(len(_WEB_FORMS), k, p=[.35, .30, .15, .10, .10])
    customers = pd.DataFrame({
        "Company name": crm_name,
        "Website": _website(acc["domain"].to_numpy(), web_form),
        "Industry": _industry_text(rng, acc["industry"].to_numpy()),
        "Number of Employees": _employees_text(rng, acc["employees"].to_numpy()),
        "Annual Revenue": _revenue_text(rng, acc["revenue"].to_numpy(), iso),
        "Country/Region": _country_text(rng, iso),
        "Year Founded": pd.array(acc["founded"].to_numpy(), dtype="Int64"),
        "Technologies": acc["tech"].str.replace("; ", ";").to_numpy(),  # HubSpot multi-select style
        "Business Model": acc["model"].to_numpy(),
        "Funding Stage": acc["funding"].to_numpy(),
        # Pure noise on purpose: the analysis must not find an effect here.
        "Channel": rng.choice(["Direct", "Partner", "Self-serve"], k, p=[.5, .2, .3]),
        "Use Case": rng.choice(["Analytics", "Reporting", "Forecasting", "Compliance"], k,
                               p=[.35, .3, .2, .15]),
        "Customer Since": _date_text(rng, since),
        "ARR": _money(latent.arr[cust]),
        "Churned": np.where(churned, "Yes", "No"),
        "Expansion ARR": _money(expansion),
        "NPS": pd.array(nps, dtype="Int64"),
        "Support Tickets (12m)": rng.poisson(np.exp(np.log(7) - 0.4 * h + 0.15 * latent.z[cust])),
        "Sales Cycle Days": (since - created).astype(int),
    })
    _blank(rng, customers, ["Industry", "Number of Employees", "Country/Region", "Year Founded",
                            "Technologies", "Business Model", "Funding Stage", "Use Case"], .02)
    _blank(rng, customers, ["NPS"], .15)

    customers = _with_duplicates(rng, customers, acc["domain"].to_numpy(), acc["name"].to_numpy(), web_form)
    n_accounts = len(acc)
    record_ids = pd.array([*range(1001, 1001 + n_accounts), *[None] * (len(customers) - n_accounts)], dtype="Int64")
    customers.insert(0, "Record ID", record_ids)
    return customers, crm_name, tenure, expands, expansion


SMALL_UNIVERSE = 3_000  # `icp demo --small`: the sample in data/samples/demo-small, a few hundred KB


def write_demo(out_dir: str | Path, seed: int = DEMO_SEED, *, small: bool = False) -> dict[str, Path]:
    """Write customers.csv, deals.csv and universe.csv into out_dir; returns their paths by name.
    `small` writes a universe of 3,000 accounts instead of 60,000 (the customers and deals drawn
    from it likewise fewer), small enough to keep beside the code and upload in a few seconds."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(seed, n_customers=120, n_universe=SMALL_UNIVERSE) if small else generate(seed)
    paths = {}
    for name in ("customers", "deals", "universe"):
        paths[name] = out / f"{name}.csv"
        getattr(data, name).to_csv(paths[name], index=False, encoding="utf-8", lineterminator="\n")
    return paths
