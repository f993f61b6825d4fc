"""Benchmark at scale: universes of 100k, 1M and 10M accounts through the functions the app and CLI call.

    .venv/bin/python bench/scale.py                       # 100k, 1M and 10M; writes docs/benchmarks.md
    .venv/bin/python bench/scale.py --sizes 100k,1M --no-docs
    .venv/bin/python bench/scale.py --skip-10m            # the same as --sizes 100k,1M

For each size it writes a universe CSV (bench/universe.py: the demo's 60,000 companies, then more
drawn the same way) into a scratch folder and measures, each step in a fresh Python process
(its peak memory is the process's own, read by `os.wait4`):

- the floor: DuckDB's bare `read_csv` of the file (`count(*)`, and `CREATE TABLE AS` into a
  database file, as ingest stores one), a bare GROUP BY aggregate over the file and over the
  ingested table, and a bare `COPY (SELECT * FROM read_csv(in)) TO out (HEADER)`;
- ingest: `Workspace.add_list("universe", csv)` into a workspace holding the demo customers and
  deals, time and peak memory;
- the slider path: `targets.tier_counts` and `market.market_size` (what the Targets, ICP and Market
  pages call through ui/cache.py when a slider moves), first call in the process, the same call
  again, after a tier threshold changes and after one criterion changes; and `targets_page`
  (the table on the Targets page) and `backtest` after a threshold change;
- scoring against a plain-pandas implementation of the same rules (bench/pandas_scoring.py) over
  the same typed universe, after checking both give the same tiers and SAM (and, up to 100k
  accounts, the same score, tier and SAM flag for every account);
- clustering the universe with `clusters.cluster_accounts`, as the Segments page calls it
  (the customers' attributes, k chosen by silhouette);
- the PDF one-pager (`pdf.one_pager`) of the workspace, and of the demo (as bench/pdf.py);
- `icp score` on the universe CSV, CSV to CSV, as a command in its own process;
- the Targets page in Streamlit's AppTest: first render, the rerun after the Tier 3 slider moves,
  and a rerun with nothing changed.

Above `--full-up-to` (1M by default) only the floors, ingest, the slider path and `icp score` run:
the 10M target is that ingest, scoring and tiers complete without running out of memory.
It prints every figure and the targets of issue 8 with their ratios, and writes docs/benchmarks.md
(unless --no-docs). Figures, never timed assertions: on a shared machine they are noisy.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
DEFAULT_SIZES = "100k,1M,10M"
MB = 2**20

# Issue 8's targets (on a 2-core machine).
SLIDER_TARGET_S = 0.25
INGEST_RATIO = 2.0
INGEST_PEAK_MB = 1536
SCORE_CLI_RATIO = 4.0
SCORE_CLI_RATIO_BIG = 3.0
SCORE_PEAK_MB = 1024
SCORE_PEAK_MB_BIG = 2048
PANDAS_SPEEDUP = 10.0
CLUSTER_TARGET_S = 10.0
PDF_TARGET_S = 3.0
TARGET_ROWS = 1_000_000
BIG_ROWS = 10_000_000


# --- helpers --------------------------------------------------------------------------------------

def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import duckdb

    return {"cores": os.cpu_count(), "memory_gib": round(memory), "cpu": cpu, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "load": os.getloadavg()[0]}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _timed(fn, runs: int = 1) -> tuple[float, object]:
    """Median seconds of `runs` calls and the last result."""
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return _median(seconds), result


def run_process(args: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """Run a command; (wall seconds, its peak RSS in MB, exit status). wait4 gives this child's own
    rusage, so the peak is the command's and nobody else's."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, proc.returncode


def work(name: str, params: dict, scratch: Path) -> dict:
    """Run worker `name` in a fresh process; its result, with `wall_s` and `peak_mb` added."""
    out = scratch / f"result-{name}-{time.monotonic_ns()}.json"
    env = os.environ | {"ICP_DATA_DIR": str(scratch / "workspaces"), "PYTHONPATH": str(ROOT)}
    wall, peak, code = run_process([sys.executable, str(Path(__file__)), "--worker", name,
                                    json.dumps(params | {"result": str(out)})], env)
    if code != 0 or not out.exists():
        raise RuntimeError(f"worker {name} failed (exit {code})")
    result = json.loads(out.read_text())
    out.unlink()
    return result | {"wall_s": wall, "peak_mb": peak}


# --- workers: each runs in its own process --------------------------------------------------------

WORKERS = {}


def worker(fn):
    WORKERS[fn.__name__] = fn
    return fn


@worker
def generate(p: dict) -> dict:
    sys.path.insert(0, str(BENCH))
    from universe import crm_icp, write_universe

    path = write_universe(p["csv"], p["rows"], shape=p.get("shape", "demo"))
    if p.get("icp"):
        Path(p["icp"]).write_text(crm_icp().model_dump_json(indent=2), encoding="utf-8")
    return {"mb": path.stat().st_size / MB}


@worker
def floor_read(p: dict) -> dict:
    """count(*) over read_csv and a GROUP BY over the file; no database file."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    count_s, rows = _timed(lambda: con.execute("SELECT count(*) FROM read_csv(?)", [p["csv"]]).fetchone()[0], 3)
    agg_s, _ = _timed(lambda: con.execute(
        'SELECT "Industry", count(*), avg("Employees"), max("Revenue") FROM read_csv(?) GROUP BY 1',
        [p["csv"]]).fetchall(), 3)
    return {"count_s": count_s, "rows": rows, "agg_csv_s": agg_s}


@worker
def floor_ctas(p: dict) -> dict:
    """CREATE TABLE AS SELECT * FROM read_csv(file) into a new database file, committed and closed;
    with `text`, every column read as text (the uploaded cells kept as they are, as `raw_<list>`)."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect(p["db"])
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv(?{', all_varchar = true' if p.get('text') else ''})",
                [p["csv"]])
    con.close()
    return {"seconds": time.perf_counter() - start}


def _workspace(p: dict):
    from icp.data.workspace import Workspace

    return Workspace(p["ws"])


@worker
def ingest(p: dict) -> dict:
    """The demo customers and deals (not timed), then the universe through Workspace.add_list."""
    from icp.data.demo import write_demo
    from icp.data.workspace import Workspace

    files = write_demo(Path(p["demo_dir"]))
    workspace = Workspace.create(f"bench {p['label']}")
    for kind in ("customers", "deals"):
        workspace.add_list(kind, files[kind])
    before = _rss_mb()
    start = time.perf_counter()
    report = workspace.add_list("universe", p["csv"], display_name=Path(p["csv"]).name)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "ws": workspace.id, "rows": report.rows_kept, "rss_before_mb": before,
            "db_mb": workspace.path.stat().st_size / MB}


@worker
def demo_icp(p: dict) -> dict:
    """The ICP drafted from the demo customers and deals alone (as `slider` drafts it, from the
    customers), for `--only score`."""
    from icp.analysis.success import default_settings
    from icp.data.demo import write_demo
    from icp.data.workspace import Workspace
    from icp.profile.draft import draft_icp

    files = write_demo(Path(p["demo_dir"]))
    workspace = Workspace.create("bench icp")
    for kind in ("customers", "deals"):
        workspace.add_list(kind, files[kind])
    icp = draft_icp(workspace, default_settings(workspace))
    Path(p["icp"]).write_text(icp.model_dump_json(indent=2), encoding="utf-8")
    return {"criteria": len(icp.criteria)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _criterion_changes(icp) -> list:
    """Three ICPs that each change one criterion: the first range widened, else the first weight."""
    changed = []
    criteria = list(icp.criteria)
    ranges = [i for i, c in enumerate(criteria) if c.kind == "range" and c.role != "disqualify"]
    for step in (1.1, 1.2, 1.3):
        if ranges:
            i = ranges[0]
            c = criteria[i]
            update = {"high": c.high * step} if c.high is not None else {"low": c.low / step}
        else:
            i = next(i for i, c in enumerate(criteria) if c.role != "disqualify")
            c = criteria[i]
            update = {"weight": min(10.0, c.weight + step)}
        changed.append(icp.model_copy(update={"criteria": tuple(
            c.model_copy(update=update) if j == i else c for j, c in enumerate(criteria))}))
    return changed


def _threshold_changes(icp) -> list:
    rules = icp.tiers
    return [icp.model_copy(update={"tiers": rules.model_copy(update={"tier3": max(0.0, rules.tier3 - d)})})
            for d in (5, 10, 15)]


@worker
def slider(p: dict) -> dict:
    """tier_counts + market_size as a slider move calls them; the drafted ICP is written for the others."""
    from icp.analysis.success import default_settings
    from icp.market.sizing import market_size
    from icp.market.targets import backtest, targets_page, tier_counts
    from icp.profile.draft import draft_icp

    workspace = _workspace(p)
    draft_s, icp = _timed(lambda: draft_icp(workspace, default_settings(workspace)))
    Path(p["icp"]).write_text(icp.model_dump_json(indent=2), encoding="utf-8")

    def step(version) -> dict:
        start = time.perf_counter()
        tiers = tier_counts(workspace, version)
        middle = time.perf_counter()
        size = market_size(workspace, version)
        end = time.perf_counter()
        return {"total": end - start, "tiers": middle - start, "market": end - middle,
                "counts": dict(zip(tiers["tier"], tiers["accounts"].astype(int).tolist(), strict=True)),
                "sam": size.sam.accounts, "tam": size.tam.accounts}

    def median_of(steps: list[dict]) -> dict:
        return {k: _median([s[k] for s in steps]) for k in ("total", "tiers", "market")}

    runs = p["runs"]
    first = step(icp)
    again = median_of([step(icp) for _ in range(runs)])
    threshold = median_of([step(v) for v in _threshold_changes(icp)[:runs]])
    criterion = median_of([step(v) for v in _criterion_changes(icp)[:runs]])
    moved = _threshold_changes(icp)[-1]
    page_s, _ = _timed(lambda: targets_page(workspace, moved, tiers=["Tier 1", "Tier 2", "Tier 3"],
                                            sort="icp_fit_score", descending=True, offset=0, limit=50), runs)
    backtest_s, _ = _timed(lambda: backtest(workspace, moved))
    with workspace.connect() as con:
        agg_table_s, _ = _timed(lambda: con.execute(
            "SELECT industry, count(*), avg(employees), max(revenue) FROM universe GROUP BY 1").fetchall(), runs)
    return {"draft_s": draft_s, "first": first, "again": again, "threshold": threshold, "criterion": criterion,
            "page_s": page_s, "backtest_s": backtest_s, "agg_table_s": agg_table_s,
            "criteria": len(icp.criteria), "sam": first["sam"], "tam": first["tam"], "tiers": first["counts"]}


@worker
def pandas_reference(p: dict) -> dict:
    """The same scoring in plain pandas and in DuckDB (the engine's SQL) over the typed universe."""
    sys.path.insert(0, str(BENCH))
    import pandas_scoring

    from icp.data.catalog import rows_of
    from icp.market.combinations import scored
    from icp.profile.model import parse_icp

    workspace = _workspace(p)
    icp = parse_icp(Path(p["icp"]).read_text(encoding="utf-8"))

    def duckdb_counts() -> dict:
        # The engine's scoring SQL written and run, as a page does: the first time in this
        # process it also finds the list items that pass (see icp.market.combinations._spellings).
        with workspace.connect() as con:
            rows = con.execute(f"SELECT icp_tier, icp_in_sam, count(*) FROM "
                               f"{scored(con, icp, rows_of('universe'))} GROUP BY ALL").fetchall()
        return {(tier, bool(sam)): int(n) for tier, sam, n in rows}

    duckdb_first_s, by_duckdb = _timed(duckdb_counts)
    duckdb_s, _ = _timed(duckdb_counts, p["runs"])
    with workspace.connect() as con:
        load_s, frame = _timed(lambda: con.execute("SELECT * FROM universe").df())
        checked = check_rows(con, icp, frame) if p["check_rows"] else 0
    pandas_s, by_pandas = _timed(lambda: pandas_scoring.tier_and_sam_counts(frame, icp), p["runs"])
    if by_pandas != by_duckdb:
        raise AssertionError(f"pandas and DuckDB disagree: {by_pandas} != {by_duckdb}")
    return {"load_s": load_s, "duckdb_first_s": duckdb_first_s, "duckdb_s": duckdb_s, "pandas_s": pandas_s,
            "rows_checked": checked}


def check_rows(con, icp, frame) -> int:
    """Assert the plain-pandas scorer gives every account of `frame` (the universe table) DuckDB's
    score, tier and SAM flag; returns the number of accounts checked."""
    sys.path.insert(0, str(BENCH))
    import pandas_scoring

    from icp.data.catalog import rows_of
    from icp.market.combinations import scored

    duck = con.execute(f"SELECT account_key, icp_fit_score, icp_tier, icp_in_sam "
                       f"FROM {scored(con, icp, rows_of('universe'))}").df()
    mine = pandas_scoring.score(frame, icp).assign(account_key=frame["account_key"].to_numpy())
    both = duck.merge(mine, on="account_key", suffixes=("_duckdb", "_pandas"), validate="one_to_one")
    assert len(both) == len(frame) == len(duck)
    for column in ("icp_fit_score", "icp_tier", "icp_in_sam"):
        differ = both[both[f"{column}_duckdb"] != both[f"{column}_pandas"]]
        if len(differ):
            raise AssertionError(f"{len(differ)} accounts differ in {column}, e.g.\n{differ.head()}")
    return len(both)


@worker
def clusters(p: dict) -> dict:
    from icp.analysis import cluster_features
    from icp.analysis.clusters import cluster_accounts
    from icp.data.catalog import columns_of
    from icp.relation import Relation

    workspace = _workspace(p)
    with workspace.connect() as con:
        present = columns_of(con, "universe")
        features = [a for a in cluster_features(workspace) if a.name in present]
        seconds, result = _timed(lambda: cluster_accounts(con, Relation.of_table("universe"), features))
    return {"seconds": seconds, "k": result.n_clusters, "features": len(features), "rows": len(result.labels)}


@worker
def pdf(p: dict) -> dict:
    from icp.export.pdf import one_pager
    from icp.profile.model import parse_icp

    workspace = _workspace(p)
    icp = parse_icp(Path(p["icp"]).read_text(encoding="utf-8"))
    seconds = []
    for _ in range(p["runs"]):
        start = time.perf_counter()
        document = one_pager(workspace, icp)
        seconds.append(time.perf_counter() - start)
    return {"first_s": seconds[0], "median_s": _median(seconds), "runs": seconds, "bytes": len(document)}


@worker
def pdf_demo(p: dict) -> dict:
    sys.path.insert(0, str(BENCH))
    import pdf as pdf_bench

    median, runs, document = pdf_bench.measure()
    return {"median_s": median, "runs": runs, "bytes": len(document)}


@worker
def apptest(p: dict) -> dict:
    """The Targets page through Streamlit's AppTest, as the browser would drive it."""
    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(ROOT))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.query_params["ws"] = p["ws"]
    start = time.perf_counter()
    at.run()
    at.switch_page("views/targets.py").run()
    first = time.perf_counter() - start
    _check(at)
    moved = []
    for value in (20, 15, 10)[:p["runs"]]:
        at.slider(key="tier3").set_value(value)
        start = time.perf_counter()
        at.run()
        moved.append(time.perf_counter() - start)
        _check(at)
    start = time.perf_counter()
    at.run()
    unchanged = time.perf_counter() - start
    _check(at)
    return {"first_s": first, "slider_s": _median(moved), "slider_runs": moved, "unchanged_s": unchanged}


def _check(at) -> None:
    if at.exception:
        raise RuntimeError(f"the Targets page failed: {at.exception[0].message}")


# --- the run ------------------------------------------------------------------------------------

def label(rows: int) -> str:
    sys.path.insert(0, str(BENCH))
    from universe import size_label

    return size_label(rows)


def _median_run(times: int, measure) -> dict:
    """`measure()` run `times` times: the last run's figures, with the median of the seconds (the
    ratios of issue 8 compare two of them on a shared machine, where one run varies by 15%), every
    run's seconds, and the highest peak."""
    results = [measure() for _ in range(times)]
    return results[-1] | {"seconds": _median([r["seconds"] for r in results]),
                          "seconds_runs": [r["seconds"] for r in results],
                          "peak_mb": max(r["peak_mb"] for r in results)}


def measure_size(rows: int, scratch: Path, full: bool, log, runs: int = 3, score_only: bool = False) -> dict:
    name = label(rows)
    # The figures the ratio targets compare are medians of `runs` runs, but at 10M (a minute each).
    times = runs if rows < BIG_ROWS else 1
    csv = scratch / f"universe-{name}.csv"
    log(f"[{name}] writing the universe CSV")
    figures: dict = {"rows": rows, "generate": work("generate", {"csv": str(csv), "rows": rows}, scratch)}
    log(f"[{name}] floors")
    if not score_only:
        figures["floor_read"] = work("floor_read", {"csv": str(csv)}, scratch)
    db = scratch / f"floor-{name}.duckdb"

    def into_table(text: bool) -> dict:
        db.unlink(missing_ok=True)
        result = work("floor_ctas", {"csv": str(csv), "db": str(db), "text": text}, scratch)
        db.unlink(missing_ok=True)
        return result

    if not score_only:
        figures["floor_ctas"] = _median_run(times, lambda: into_table(False))
        figures["floor_text"] = _median_run(times, lambda: into_table(True))
    copied = scratch / f"copy-{name}.csv"

    def copy(sql: str) -> dict:
        wall, peak, code = run_process([sys.executable, "-c", "import duckdb, sys; duckdb.execute(sys.argv[1])", sql])
        copied.unlink(missing_ok=True)
        return {"seconds": wall, "peak_mb": peak}

    figures["floor_copy"] = _median_run(times, lambda: copy(
        f"COPY (SELECT * FROM read_csv('{csv}')) TO '{copied}' (HEADER)"))
    # What targets.csv needs at the least: every cell as uploaded, best first (here: by revenue).
    figures["floor_copy_sorted"] = {} if score_only else _median_run(times, lambda: copy(
        f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true) "
        f"ORDER BY TRY_CAST(\"Revenue\" AS DOUBLE) DESC) TO '{copied}' (HEADER)"))

    def step(key: str, measure) -> bool:
        """Run one measurement; at 10M a failure (say, out of memory) is recorded, not raised, so
        the figures of the other sizes are still written."""
        log(f"[{name}] {key}")
        try:
            figures[key] = measure()
        except RuntimeError as err:
            if rows < BIG_ROWS:
                raise
            figures[key] = {"failed": str(err)}
            log(f"[{name}] {key} failed: {err}")
        return "failed" not in figures[key]

    ws = None
    icp_path = scratch / f"icp-{name}.json"
    out = scratch / f"targets-{name}.csv"

    def scored_by_cli(icp: Path, accounts: Path, written: Path) -> dict:
        wall, peak, code = run_process([sys.executable, "-m", "icp", "score", "--icp", str(icp), "--accounts",
                                        str(accounts), "--out", str(written)],
                                       os.environ | {"ICP_DATA_DIR": str(scratch / "workspaces")})
        written.unlink(missing_ok=True)
        if code != 0:
            raise RuntimeError(f"icp score of {accounts.name} failed (exit {code})")
        return {"seconds": wall, "peak_mb": peak}

    def cli() -> dict:
        return scored_by_cli(icp_path, csv, out)

    def ingest() -> dict:
        result = work("ingest", {"csv": str(csv), "label": name, "demo_dir": str(scratch / "demo")}, scratch)
        made.append(result["ws"])
        return result

    made: list[str] = []
    if score_only:
        # The demo-shaped file is scored with the ICP drafted from the demo customers, as below.
        work("demo_icp", {"icp": str(icp_path), "demo_dir": str(scratch / "demo")}, scratch)
        step("cli_score", lambda: _median_run(times, cli))
    elif step("ingest", lambda: _median_run(times, ingest)):
        ws = figures["ingest"]["ws"]
        _remove_workspaces(scratch, made[:-1])
        if step("slider", lambda: work("slider", {"ws": ws, "icp": str(icp_path), "runs": runs}, scratch)):
            step("cli_score", lambda: _median_run(times, cli))
    # The same accounts as a CRM export writes them (bench/universe.py --shape crm), scored with an
    # ICP of a list, a range, a category and a flag the file lacks: `icp score` against its floor.
    crm, crm_icp, crm_out = scratch / f"crm-{name}.csv", scratch / f"crm-icp-{name}.json", scratch / f"crm-{name}-out.csv"
    log(f"[{name}] CRM-shaped file")
    figures["crm_generate"] = work("generate", {"csv": str(crm), "rows": rows, "shape": "crm", "icp": str(crm_icp)},
                                   scratch)
    figures["crm_floor_copy"] = _median_run(times, lambda: copy(
        f"COPY (SELECT * FROM read_csv('{crm}')) TO '{copied}' (HEADER)"))

    step("crm_cli_score", lambda: _median_run(times, lambda: scored_by_cli(crm_icp, crm, crm_out)))
    crm.unlink(missing_ok=True)
    full = full and ws is not None and "failed" not in figures.get("slider", {"failed": ""})
    if full:
        step("pandas", lambda: work("pandas_reference", {"ws": ws, "icp": str(icp_path),
                                                        "check_rows": rows <= 100_000, "runs": runs}, scratch))
        step("clusters", lambda: work("clusters", {"ws": ws}, scratch))
        step("pdf", lambda: work("pdf", {"ws": ws, "icp": str(icp_path), "runs": runs}, scratch))
        step("apptest", lambda: work("apptest", {"ws": ws, "runs": runs}, scratch))
    csv.unlink(missing_ok=True)
    _remove_workspaces(scratch, made)
    return figures


def _remove_workspaces(scratch: Path, ids: list[str]) -> None:
    for workspace_id in ids:
        for path in (scratch / "workspaces").glob(f"{workspace_id}.duckdb*"):
            path.unlink()


def run(sizes: list[int], full_up_to: int, scratch: Path, log, quick: bool = False, score_only: bool = False) -> dict:
    (scratch / "workspaces").mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "date": datetime.date.today().isoformat(), "sizes": {}}
    if not quick and not score_only:
        log("demo one-pager PDF")
        results["pdf_demo"] = work("pdf_demo", {}, scratch)
    for rows in sizes:
        results["sizes"][label(rows)] = measure_size(rows, scratch, rows <= full_up_to and not score_only, log,
                                                     1 if quick else 3, score_only)
    results["load_after"] = os.getloadavg()[0]
    return results


# --- report ---------------------------------------------------------------------------------------

def _s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MB"


def _ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}x"


def targets(results: dict) -> list[dict]:
    """One row per target of issue 8: what, figure, floor, ratio, target, pass (None when not measured)."""
    sizes = results["sizes"]
    one = sizes.get(label(TARGET_ROWS))
    big = sizes.get(label(BIG_ROWS))
    rows = []

    def add(what, figure, floor, ratio, target, passed):
        rows.append({"what": what, "figure": figure, "floor": floor, "ratio": ratio, "target": target,
                     "pass": passed})

    if one and "slider" in one:
        s = one["slider"]
        agg = s["agg_table_s"]
        for key, words in (("threshold", "a tier threshold"), ("criterion", "one criterion")):
            t = s[key]["total"]
            add(f"Slider on 1M: tiers and SAM after {words} changes (`tier_counts` + `market_size`)",
                _s(t), f"{_s(agg)} bare GROUP BY over the table", _ratio(t / agg), f"≤ {_s(SLIDER_TARGET_S)}",
                t <= SLIDER_TARGET_S)
        ing, ctas = one["ingest"]["seconds"], one["floor_ctas"]["seconds"]
        add("Ingest of a 1M-row CSV (`Workspace.add_list`)", _s(ing), f"{_s(ctas)} bare `read_csv` into a table",
            _ratio(ing / ctas), f"≤ {INGEST_RATIO:g}x", ing / ctas <= INGEST_RATIO)
        peak, floor_peak = one["ingest"]["peak_mb"], one["floor_ctas"]["peak_mb"]
        add("Ingest of a 1M-row CSV: peak memory (whole process)", _mb(peak), f"{_mb(floor_peak)} bare `read_csv`",
            _ratio(peak / floor_peak), f"≤ {INGEST_PEAK_MB / 1024:g} GB", peak <= INGEST_PEAK_MB)
    if one:
        cli, copy = one["cli_score"]["seconds"], one["floor_copy"]["seconds"]
        add("`icp score` on 1M accounts, CSV to CSV (own process)", _s(cli), f"{_s(copy)} bare `COPY` CSV to CSV",
            _ratio(cli / copy), f"≤ {SCORE_CLI_RATIO:g}x", cli / copy <= SCORE_CLI_RATIO)
        if "crm_cli_score" in one and "failed" not in one["crm_cli_score"]:
            cli, copy = one["crm_cli_score"]["seconds"], one["crm_floor_copy"]["seconds"]
            add("`icp score` on 1M accounts of a CRM export (list, range, category, a flag it lacks)", _s(cli),
                f"{_s(copy)} bare `COPY` CSV to CSV", _ratio(cli / copy), f"≤ {SCORE_CLI_RATIO:g}x",
                cli / copy <= SCORE_CLI_RATIO)
        for key, words in (("cli_score", "`icp score` on 1M accounts"),
                           ("crm_cli_score", "`icp score` on 1M accounts of a CRM export")):
            if key in one and "peak_mb" in one[key]:
                peak = one[key]["peak_mb"]
                add(f"{words}: peak memory (whole process)", _mb(peak), "–", "–", f"≤ {SCORE_PEAK_MB / 1024:g} GB",
                    peak <= SCORE_PEAK_MB)
        if "pandas" in one:
            duck, pan = one["pandas"]["duckdb_first_s"], one["pandas"]["pandas_s"]
            add("Scoring 1M accounts (score, tier, SAM; DuckDB's first run) against plain pandas", _s(duck),
                f"{_s(pan)} plain pandas",
                f"{pan / duck:.1f}x faster", f"≥ {PANDAS_SPEEDUP:g}x faster", pan / duck >= PANDAS_SPEEDUP)
        if "clusters" in one:
            c = one["clusters"]["seconds"]
            add("Clustering 1M accounts (`cluster_accounts`, k by silhouette)", _s(c), "–", "–",
                f"≤ {_s(CLUSTER_TARGET_S)}", c <= CLUSTER_TARGET_S)
    if big and "floor_ctas" in big:
        steps = ("ingest", "slider", "cli_score")
        done = all(k in big and "failed" not in big[k] for k in steps)
        peaks = {k: big[k]["peak_mb"] for k in steps if k in big and "peak_mb" in big[k]}
        failed = [k for k in steps if k not in big or "failed" in big[k]]
        add("10M accounts: ingest, tiers and SAM, `icp score` complete (peak memory of each process)",
            ("completed; " if done else f"**failed: {', '.join(failed)}**; ")
            + ", ".join(f"{k} {_mb(v)}" for k, v in peaks.items()),
            f"{_mb(big['floor_ctas']['peak_mb'])} bare `read_csv`", "–", "no out-of-memory", done)
    if big:
        for key, floor, words in (("cli_score", "floor_copy", "`icp score` on 10M accounts"),
                                  ("crm_cli_score", "crm_floor_copy", "`icp score` on 10M accounts of a CRM export")):
            if key not in big or "failed" in big[key] or floor not in big:
                continue
            cli, copy, peak = big[key]["seconds"], big[floor]["seconds"], big[key]["peak_mb"]
            add(words, _s(cli), f"{_s(copy)} bare `COPY` CSV to CSV", _ratio(cli / copy),
                f"≤ {SCORE_CLI_RATIO_BIG:g}x", cli / copy <= SCORE_CLI_RATIO_BIG)
            add(f"{words}: peak memory (whole process)", _mb(peak), "–", "–", f"≤ {SCORE_PEAK_MB_BIG / 1024:g} GB",
                peak <= SCORE_PEAK_MB_BIG)
    demo = results.get("pdf_demo")
    if demo:
        add("ICP one-pager PDF of the demo (`one_pager`, median of 3)", _s(demo["median_s"]), "–", "–",
            f"≤ {_s(PDF_TARGET_S)}", demo["median_s"] <= PDF_TARGET_S)
    return rows


def details(results: dict) -> tuple[list[str], list[list[str]]]:
    """Every figure: one row per measurement, one column per size."""
    names = list(results["sizes"])
    lines = [
        ("universe CSV", lambda f: f"{f['generate']['mb']:,.0f} MB"),
        ("floor: `count(*)` over `read_csv`", lambda f: _s(f["floor_read"]["count_s"])),
        ("floor: `CREATE TABLE AS` `read_csv` (file)", lambda f: _s(f["floor_ctas"]["seconds"])),
        ("floor: its peak memory", lambda f: _mb(f["floor_ctas"]["peak_mb"])),
        ("floor: `CREATE TABLE AS` `read_csv`, every column as text", lambda f: _s(f["floor_text"]["seconds"])
         if "floor_text" in f else "–"),
        ("floor: GROUP BY over the CSV", lambda f: _s(f["floor_read"]["agg_csv_s"])),
        ("floor: GROUP BY over the ingested table", lambda f: _s(f["slider"]["agg_table_s"])),
        ("floor: `COPY` CSV to CSV (own process)", lambda f: _s(f["floor_copy"]["seconds"])),
        ("floor: `COPY` CSV to CSV as text, sorted (own process)", lambda f: _s(f["floor_copy_sorted"]["seconds"])
         if "floor_copy_sorted" in f else "–"),
        ("ingest (`add_list`)", lambda f: _s(f["ingest"]["seconds"])),
        ("ingest / `CREATE TABLE AS` floor", lambda f: _ratio(f["ingest"]["seconds"] / f["floor_ctas"]["seconds"])),
        ("ingest: peak memory (process)", lambda f: _mb(f["ingest"]["peak_mb"])),
        ("workspace file", lambda f: _mb(f["ingest"]["db_mb"])),
        ("draft the ICP (customers only)", lambda f: _s(f["slider"]["draft_s"])),
        ("tiers + SAM: first call", lambda f: _s(f["slider"]["first"]["total"])),
        ("tiers + SAM: same ICP again", lambda f: _s(f["slider"]["again"]["total"])),
        ("tiers + SAM: tier threshold changed", lambda f: _s(f["slider"]["threshold"]["total"])),
        ("… of which `tier_counts`", lambda f: _s(f["slider"]["threshold"]["tiers"])),
        ("tiers + SAM: one criterion changed", lambda f: _s(f["slider"]["criterion"]["total"])),
        ("… of which `tier_counts`", lambda f: _s(f["slider"]["criterion"]["tiers"])),
        ("… of which `market_size`", lambda f: _s(f["slider"]["criterion"]["market"])),
        ("Targets table page (`targets_page`, 50 rows)", lambda f: _s(f["slider"]["page_s"])),
        ("backtest", lambda f: _s(f["slider"]["backtest_s"])),
        ("`icp score` CSV to CSV (own process)", lambda f: _s(f["cli_score"]["seconds"])),
        ("`icp score` / `COPY` floor", lambda f: _ratio(f["cli_score"]["seconds"] / f["floor_copy"]["seconds"])),
        ("`icp score`: peak memory", lambda f: _mb(f["cli_score"]["peak_mb"])),
        ("CRM-shaped file (bench/universe.py --shape crm)", lambda f: f"{f['crm_generate']['mb']:,.0f} MB"),
        ("… floor: `COPY` CSV to CSV (own process)", lambda f: _s(f["crm_floor_copy"]["seconds"])),
        ("… `icp score` CSV to CSV (own process)", lambda f: _s(f["crm_cli_score"]["seconds"])),
        ("… `icp score` / `COPY` floor",
         lambda f: _ratio(f["crm_cli_score"]["seconds"] / f["crm_floor_copy"]["seconds"])),
        ("… `icp score`: peak memory", lambda f: _mb(f["crm_cli_score"]["peak_mb"])),
        ("scoring in DuckDB (score, tier, SAM counts): first run", lambda f: _s(f["pandas"]["duckdb_first_s"])),
        ("… and again", lambda f: _s(f["pandas"]["duckdb_s"])),
        ("the same in plain pandas (typed table already in memory)", lambda f: _s(f["pandas"]["pandas_s"])),
        ("plain pandas / DuckDB's first run", lambda f: f"{f['pandas']['pandas_s'] / f['pandas']['duckdb_first_s']:.1f}x"),
        ("accounts checked equal, one by one", lambda f: f"{f['pandas']['rows_checked']:,}" if f["pandas"]["rows_checked"]
         else "– (up to 100k)"),
        ("clustering (`cluster_accounts`)", lambda f: _s(f["clusters"]["seconds"])),
        ("clustering: peak memory", lambda f: _mb(f["clusters"]["peak_mb"])),
        ("PDF one-pager: first", lambda f: _s(f["pdf"]["first_s"])),
        ("PDF one-pager: median", lambda f: _s(f["pdf"]["median_s"])),
        ("Targets page (AppTest): first render", lambda f: _s(f["apptest"]["first_s"])),
        ("Targets page (AppTest): rerun after a slider move", lambda f: _s(f["apptest"]["slider_s"])),
        ("Targets page (AppTest): rerun, nothing changed", lambda f: _s(f["apptest"]["unchanged_s"])),
    ]
    table = []
    for what, get in lines:
        cells = []
        for n in names:
            try:
                cells.append(get(results["sizes"][n]))
            except (KeyError, ZeroDivisionError):
                cells.append("–")
        table.append([what, *cells])
    return ["", *names], table


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *("| " + " | ".join(r) + " |" for r in rows)])


def target_table(results: dict) -> str:
    rows = [[t["what"], t["figure"], t["floor"], t["ratio"], t["target"],
             "–" if t["pass"] is None else ("pass" if t["pass"] else "**miss**")] for t in targets(results)]
    return _markdown(["target", "figure", "floor", "ratio", "target", "result"], rows)


def _why(one: dict) -> dict[str, str]:
    """Where the time of a missed target goes, with the floors of the work its contract asks for."""
    ctas, copy = one["floor_ctas"]["seconds"], one["floor_copy"]["seconds"]
    text = one.get("floor_text", {}).get("seconds")
    ordered = one.get("floor_copy_sorted", {}).get("seconds")
    keep = (f" On its own, reading the file as text into a table costs {_s(text)}, {text / ctas:.2f}x the "
            "floor, before any value is normalized.") if text else ""
    sort = (f" On its own, reading the file as text, sorting it and writing it back costs {_s(ordered)}, "
            f"{ordered / copy:.2f}x the floor.") if ordered else ""
    return {
        "Ingest of a 1M-row CSV (`Workspace.add_list`)": (
            "Ingest keeps each list twice, the uploaded text as it is (`raw_<list>`, which the exports "
            "and a new role mapping read) and the typed, normalized table with duplicates merged, where "
            "the floor writes one table of typed columns, which DuckDB compresses faster than text." + keep),
        "`icp score` on 1M accounts, CSV to CSV (own process)": (
            "targets.csv is every uploaded cell unchanged, best first, and made safe for a spreadsheet, "
            "with the reasons of each account (about as many bytes again as the file); on top of that "
            "`icp score` starts Python and imports the engine (about 2 s of CPU, 1.5 s of it scikit-learn "
            "and SciPy, which icp.profile.model imports through icp.analysis), reads the file as text into "
            "a table, normalizes the columns the ICP and the account key read, looks for repeated accounts, "
            "searches every cell for a formula and scores, where the floor copies the file as it is." + sort),
        "`icp score` on 1M accounts of a CRM export (list, range, category, a flag it lacks)": (
            "As above; its floor copies numbers typed as numbers, where `icp score` keeps every cell as "
            "text, and the ICP's flag names no column, so the columns whose names are close enough for "
            "icp.carry to link it are normalized too (here none)."),
    }


def report(results: dict) -> str:
    m = results["machine"]
    one = results["sizes"].get(label(TARGET_ROWS))
    reasons = _why(one) if one else {}
    missed = [t["what"] for t in targets(results) if t["pass"] is False and t["what"] in reasons]
    why = "".join(f"- {what}: {reasons[what]}\n" for what in missed)
    header, rows = details(results)
    demo = results["pdf_demo"]
    busy = max(m["load"], results["load_after"]) > 0.5
    return f"""# Benchmarks

Measured by `bench/scale.py` on {results['date']}: {m['cores']} cores, {m['memory_gib']} GiB ({m['cpu']}),
Python {m['python']}, DuckDB {m['duckdb']}; load average {m['load']:.1f} at the start and
{results['load_after']:.1f} at the end{' (other work was running: read the figures as noisy)' if busy else ''}.
Figures, never timed assertions in tests. Regenerate on a quiet machine with

    .venv/bin/python bench/scale.py

## Targets (issue 8)

{target_table(results)}

Ratios are figure / floor; below 10M, both sides of a ratio (ingest, `icp score` and the floors)
are medians of three runs, since one run on a shared machine varies by 15%. The slider figures are the engine calls a slider move makes, through
ui/cache.py, server side (median of three moves, in a process that has served the page before);
the AppTest figures below add Streamlit's own rerun of the whole Targets page. The first call
after the data changes (or in a new server process, "first call" below) finds which accounts pass
each criterion, one scan of its column; a later move scores only the few dozen combinations of
passed criteria, plus one scan of a criterion whose test changed.
{chr(10) + "Where the missed targets' time goes:" + chr(10) + chr(10) + why if why else ""}
## Every figure

{_markdown(header, rows)}

Each step runs in a fresh Python process; peak memory is that process's maximum resident set
(Python, the libraries and DuckDB together). The universe is bench/universe.py's: the demo's
60,000 companies, then more drawn the same way, with unique domains and 2% blank cells; the
workspace also holds the demo's 400 customers and ~2,000 deals, and the ICP is the one drafted
from them. Floors are DuckDB alone on the same file: `read_csv` into a database file as ingest
stores one, a GROUP BY (industry: count, mean employees, max revenue), and `COPY` CSV to CSV in its
own process as `icp score` runs in its own. Two more floors price what the contracts ask for on
top: the file read as text into a table (the uploaded cells, which a workspace keeps as they are),
and the file copied as text sorted (targets.csv is the uploaded cells, best first).

## The ICP one-pager PDF

The demo one-pager (`one_pager(workspace, icp)` on the demo workspace, bench/pdf.py's measurement):
median {_s(demo['median_s'])} of 3 ({', '.join(f'{s:.2f}' for s in demo['runs'])} s) against a target
of under {PDF_TARGET_S:g} s; the PDF is {demo['bytes']:,} bytes. Timed: gathering market, tiers,
backtest, findings and segments from the workspace, rendering both charts, laying out the page.
The first build in a process also pays vl-convert's start-up, hence the median.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"universe sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--skip-10m", action="store_true", help="leave out sizes of 10M and more")
    parser.add_argument("--full-up-to", default="1M",
                        help="run pandas, clustering, PDF and AppTest up to this size (default 1M)")
    parser.add_argument("--no-docs", action="store_true", help="print the figures only; leave docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true",
                        help="one run of each measurement and no demo PDF: a smoke test of this script")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed after)")
    parser.add_argument("--only", choices=["score"],
                        help="measure `icp score` alone (both file shapes) and its floor; print, never write the docs")
    parser.add_argument("--json", type=Path, help="also write every figure here as JSON")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="measure nothing: print and write the docs from the figures of an earlier --json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("params", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        params = json.loads(args.params)
        result = WORKERS[args.worker](params)
        Path(params["result"]).write_text(json.dumps(result), encoding="utf-8")
        return

    if args.quick and not args.no_docs:
        parser.error("--quick figures are a smoke test, not for docs/benchmarks.md: add --no-docs")
    if args.only and not args.no_docs:
        parser.error("--only measures a part of docs/benchmarks.md: add --no-docs (and --json to keep the figures)")
    if args.from_json:
        publish(json.loads(args.from_json.read_text(encoding="utf-8")), args.no_docs)
        return
    sys.path.insert(0, str(BENCH))
    from universe import parse_size

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.skip_10m:
        sizes = [s for s in sizes if s < BIG_ROWS]
    scratch = args.work or Path(tempfile.mkdtemp(prefix="icp-scale-"))
    scratch.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    try:
        results = run(sizes, parse_size(args.full_up_to), scratch, log, args.quick, args.only == "score")
    finally:
        if args.work is None:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    publish(results, args.no_docs)


# Sections of docs/benchmarks.md other scripts write (bench/sql_engines.py, bench/app.py): kept as they are.
_OTHER_SECTIONS = ("## Scoring SQL in PostgreSQL", "<!-- app:start -->")


def _other_sections() -> str:
    """The part of docs/benchmarks.md from the first section another script writes to the end."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    starts = [text.find(mark) for mark in _OTHER_SECTIONS if mark in text]
    return "\n" + text[min(starts):] if starts else ""


def publish(results: dict, no_docs: bool) -> None:
    header, rows = details(results)
    print(_markdown(header, rows))
    print()
    print(target_table(results))
    if not no_docs:
        DOCS.write_text(report(results) + _other_sections(), encoding="utf-8")
        print(f"\nwrote {DOCS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
