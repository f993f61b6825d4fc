"""A universe list of any size for the benchmarks: the demo's 60,000 companies, then more drawn the same way.

    .venv/bin/python bench/universe.py 1M /tmp/universe-1M.csv

The first rows are the demo universe (`icp.data.demo.generate`), so the demo customers and deals link
to it as they do in the demo workspace; the rest are drawn with the demo's distributions
(industry, size, revenue, country, founding year, business model, funding, tech stack with the
same correlations, so the demo's ICP finds its planted fit in them). Domains are unique, as in a
bought list; names may repeat, as they do in real markets. About 2% of the industry, employees,
revenue and tech-stack cells are blank, as in a vendor export. Written in chunks through Arrow,
so ten million rows need a few hundred MB of memory and about a minute.

`--shape crm` writes the same companies as a CRM export writes them instead: nine columns headed
otherwise, the website with a `www.` prefix, the country as its ISO code, the tech stack joined
with ", " and a True/False column (`Public`), with no blank cells; `crm_icp` is an ICP for it with
a list criterion, a range, a category and a flag the file lacks.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from icp.data import demo

CHUNK = 250_000
SEED = 20_251_122
BLANK_SHARE = 0.02
COLUMNS = ("Company", "Domain", "Industry", "Employees", "Revenue", "Country", "Founded", "Technologies",
           "Business Model", "Funding Stage")
_TLDS = [c[3] for c in demo._COUNTRIES]
_SHARES = [c[2] for c in demo._COUNTRIES]
_NAMES = {c[0]: c[1] for c in demo._COUNTRIES}


def parse_size(text: str) -> int:
    """'100k' -> 100_000, '1M' -> 1_000_000, '2500' -> 2500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale > 1 else text
    return int(float(number) * scale)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def _stacks(rng: np.random.Generator, ind: np.ndarray, model: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Tech stacks as '; '-joined text, with the demo's adoption model (icp.data.demo._universe)."""
    tools = demo.TOOLS
    logit = demo._TOOL_LOGIT + z[:, None] * demo._TOOL_SLOPE
    logit[:, tools.index("Snowflake")] += 1.6 * np.isin(demo.INDUSTRIES[ind], demo._DATA_HEAVY)
    logit[:, tools.index("Stripe")] += 1.6 * np.isin(demo.MODELS[model], ["B2B SaaS", "Marketplace", "E-commerce"])
    logit[:, tools.index("Shopify")] += 3.5 * (demo.MODELS[model] == "E-commerce")
    logit[:, tools.index("Jira")] += 1.2 * (demo.INDUSTRIES[ind] == "Software")
    has = rng.random(logit.shape) < demo._sigmoid(logit)
    has[:, tools.index("dbt")] |= has[:, tools.index("Snowflake")] & (rng.random(len(ind)) < 0.45)
    codes = has @ (1 << np.arange(len(tools)))
    uniq, inv = np.unique(codes, return_inverse=True)
    text = np.array(["; ".join(t for j, t in enumerate(tools) if c >> j & 1) for c in uniq], dtype=object)
    return text[inv]


def _unique(domains: np.ndarray, seen: dict[str, int]) -> list[str]:
    """Each domain once: a repeat gets a number before its first dot (stems are letters only, so a
    numbered domain never equals a drawn one)."""
    out = []
    for d in domains:
        k = seen.get(d, 0)
        seen[d] = k + 1
        if k:
            stem, _, tld = d.partition(".")
            d = f"{stem}{k + 1}.{tld}"
        out.append(d)
    return out


def _chunk(rng: np.random.Generator, m: int, seen: dict[str, int]) -> dict[str, np.ndarray | list]:
    ind = rng.choice(len(demo.INDUSTRIES), m, p=demo._INDUSTRY_P)
    iso = rng.choice(len(_TLDS), m, p=np.asarray(_SHARES) / sum(_SHARES))
    emp = np.clip(np.rint(np.exp(rng.normal(np.log(45), 1.4, m))), 1, 250_000).astype(np.int64)
    z = np.log(emp / 45)
    revenue = (np.rint(emp * np.exp(rng.normal(np.log(150_000), 0.5, m)) / 1000) * 1000).astype(np.int64)
    founded = 2025 - np.clip(np.rint(np.exp(rng.normal(np.log(9) + 0.25 * z, 0.6))), 1, 120).astype(np.int64)
    model = demo._pick(rng, demo._MODEL_P[ind])
    funding = demo._pick(rng, demo._FUNDING_P[np.digitize(emp, [51, 1001])])
    stacks = _stacks(rng, ind, model, z)

    stem = demo._HEADS[rng.integers(0, len(demo._HEADS), m)] + demo._MIDS[rng.integers(0, len(demo._MIDS), m)]
    stem = np.where(rng.random(m) < 0.6, stem + demo._TAILS[rng.integers(0, len(demo._TAILS), m)], stem)
    kind = rng.choice(3, m, p=[.45, .40, .15])
    word = np.select(
        [kind == 0, kind == 1],
        [demo._INDUSTRY_WORDS[ind, rng.integers(0, demo._INDUSTRY_WORDS.shape[1], m)],
         demo._GENERIC_WORDS[rng.integers(0, len(demo._GENERIC_WORDS), m)]], "").astype(object)
    name = np.where(word == "", stem, stem + " " + word)
    s = np.char.lower(stem.astype(str)).astype(object)
    w = np.char.lower(np.char.replace(word.astype(str), " ", "")).astype(object)
    pattern = rng.choice(8, m, p=[.33, .20, .12, .05, .05, .05, .03, .17])
    domain = np.select(
        [pattern == k for k in range(7)],
        [s + ".com", np.where(w == "", s + "tech", s + w) + ".com", s + ".io", "get" + s + ".com",
         s + "hq.com", s + ".co", s + ".ai"],
        s + np.asarray(_TLDS, dtype=object)[iso])
    iso_code = demo._ISO[iso]
    country = np.where(rng.random(m) < .6, iso_code, np.vectorize(_NAMES.get, otypes=[object])(iso_code))
    return {
        "Company": name, "Domain": _unique(domain, seen), "Industry": demo.INDUSTRIES[ind], "Employees": emp,
        "Revenue": revenue, "Country": country, "Founded": founded, "Technologies": stacks,
        "Business Model": demo.MODELS[model], "Funding Stage": demo.FUNDING[funding],
    }


SHAPES = ("demo", "crm")
CRM_COLUMNS = ("Company Name", "Website", "Industry", "Employee Count", "Country", "Year Founded", "Annual Revenue",
               "Tech Stack", "Public")


def _crm_table(columns: dict, rng: np.random.Generator) -> pa.Table:
    """The rows of `_chunk` as a CRM export writes them (see the module's `--shape crm`)."""
    iso = {name: code for code, name in _NAMES.items()}
    country = [iso.get(c, c) for c in columns["Country"]]
    employees = np.asarray(columns["Employees"])
    public = rng.random(len(employees)) < np.clip(employees / 20_000, 0.01, 0.6)
    values = {
        "Company Name": list(columns["Company"]), "Website": ["www." + d for d in columns["Domain"]],
        "Industry": list(columns["Industry"]), "Employee Count": employees, "Country": country,
        "Year Founded": np.asarray(columns["Founded"]), "Annual Revenue": np.asarray(columns["Revenue"]),
        "Tech Stack": [s.replace("; ", ", ") for s in columns["Technologies"]],
        "Public": np.where(public, "True", "False").tolist(),
    }
    numbers = ("Employee Count", "Year Founded", "Annual Revenue")
    return pa.Table.from_arrays([pa.array(values[n], pa.int64() if n in numbers else pa.string()) for n in CRM_COLUMNS],
                                names=list(CRM_COLUMNS))


def crm_icp():
    """An ICP for the `crm` shape: tech stack has Snowflake (a list), 51-5,000 employees (a range),
    Fintech or Healthcare (a category), and SOC 2 certified (a flag no column holds)."""
    from icp.analysis.success import SuccessSettings
    from icp.profile.model import ICP, Criterion

    return ICP(success=SuccessSettings(criteria=()), criteria=(
        Criterion(attribute="tech_stack", label="Tech stack", kind="contains", role="must", values=("Snowflake",),
                  weight=3),
        Criterion(attribute="employees", label="Employees", kind="range", role="must", low=51, high=5001, weight=2),
        Criterion(attribute="industry", label="Industry", kind="in_set", role="nice", values=("Fintech", "Healthcare"),
                  weight=2),
        Criterion(attribute="soc2_certified", label="SOC 2 certified", kind="flag", role="nice", flag=True, weight=1),
    ))


def _table(columns: dict, rng: np.random.Generator | None) -> pa.Table:
    arrays = []
    for name in COLUMNS:
        values = columns[name]
        blank = None
        if rng is not None and name in ("Industry", "Employees", "Revenue", "Technologies"):
            blank = rng.random(len(values)) < BLANK_SHARE
        kind = pa.int64() if name in ("Employees", "Revenue", "Founded") else pa.string()
        arrays.append(pa.array(np.asarray(values) if kind == pa.int64() else list(values), kind, mask=blank))
    return pa.Table.from_arrays(arrays, names=list(COLUMNS))


def write_universe(path: str | Path, n: int, seed: int = SEED, shape: str = "demo") -> Path:
    """Write a universe CSV of `n` accounts to `path` (UTF-8, header row, comma separated), in the
    demo's columns or (`shape="crm"`) as a CRM export writes them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if shape == "crm":
        return _write_crm(path, n, seed)
    base = demo.generate(demo.DEMO_SEED).universe.head(n)
    seen = {d: 1 for d in base["Domain"]}
    rng = np.random.default_rng(seed)
    with pacsv.CSVWriter(path, _table({c: base[c].to_numpy() for c in COLUMNS}, None).schema) as writer:
        writer.write_table(_table({c: base[c].to_numpy() for c in COLUMNS}, None))
        left = n - len(base)
        while left > 0:
            m = min(CHUNK, left)
            writer.write_table(_table(_chunk(rng, m, seen), rng))
            left -= m
    return path


def _write_crm(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    seen: dict[str, int] = {}
    writer = None
    try:
        left = n
        while left > 0:
            m = min(CHUNK, left)
            table = _crm_table(_chunk(rng, m, seen), rng)
            writer = writer or pacsv.CSVWriter(path, table.schema)
            writer.write_table(table)
            left -= m
    finally:
        if writer is not None:
            writer.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", help="number of accounts: 100k, 1M, 10M, 2500, ...")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--shape", choices=SHAPES, default="demo", help="the demo's columns, or a CRM export's")
    parser.add_argument("--icp", type=Path, help="with --shape crm: also write its ICP (crm_icp) here")
    args = parser.parse_args()
    path = write_universe(args.out, parse_size(args.size), shape=args.shape)
    if args.icp:
        args.icp.write_text(crm_icp().model_dump_json(indent=2), encoding="utf-8")
    print(f"{path}: {path.stat().st_size / 2**20:,.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
