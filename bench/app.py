"""The app on a universe of a million accounts (issue 19): page times in Streamlit's AppTest and in a real browser.

    .venv/bin/python bench/app.py [--rows 1M] [--work DIR] [--runs 3] [--no-browser] [--docs]

1. Prepare (once: `--work DIR` keeps it for the next run): a workspace as bench/scale.py builds one,
   the demo's ~400 customers and ~2,000 deals and a universe of `--rows` companies
   (bench/universe.py), with the ICP drafted from them and saved, as a user who reached the Targets
   page has it; and a small workspace (the small demo) to warm a process up on.
2. AppTest, each run in a fresh Python process (the medians of `--runs` are reported):
   - *cold process*: the Targets page opened by link (`/targets?ws=…`) in a process that has served
     nothing yet, so Python's imports of the app (pandas, DuckDB, scikit-learn, Altair, …) count;
   - *first render*: the same, in a process that has served every page of the small workspace
     before (a server that is up): the million-account workspace is new to it, so nothing of it
     is cached, neither Streamlit's session caches nor the engine's memo;
   - then, in that session: a Tier 3 slider move, a rerun with nothing changed, and a switch to
     every page in the sidebar's order (each page's first visit in the session), then again.
3. The browser (`--no-browser` leaves it out): `streamlit run app.py` on a free loopback port
   (tests/e2e/harness.py's server, with the file watcher off as a deployment runs) and Debian's
   Chromium driven by Playwright. The server first serves every page of the small workspace; then
   a new browser context opens `/targets?ws=<1M>` and clicks through every page of the sidebar
   twice. Each figure is from the navigation (or click) to the page's title being drawn and the
   app's `data-test-script-state` being `notRunning` again. Then the server is restarted and the
   Targets link opened first thing: the cold-server figure.

`--load` also runs bench/load.py (20 sessions moving Tier sliders for 60 s, each on its own
100,000-account workspace) and reports its latencies beside these.

Prints every figure; `--docs` writes them into docs/benchmarks.md between `<!-- app:start -->` and
`<!-- app:end -->` (nothing else in that file is touched). Figures, never timed assertions.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- app:start -->", "<!-- app:end -->"
# The sidebar's pages: (title in the sidebar, page file, a word of the page's own title).
PAGES = [("Start", "views/home.py", "ICP Explorer"), ("1. Data", "views/data.py", "Data"),
         ("2. Success", "views/success.py", "Success"), ("3. Patterns", "views/patterns.py", "Patterns"),
         ("4. Segments", "views/segments.py", "Segments"), ("5. ICP", "views/icp.py", "Ideal Customer Profile"),
         ("6. Market", "views/market.py", "Market"), ("7. Targets", "views/targets.py", "Targets"),
         ("8. Export", "views/export.py", "Export")]
FIRST_RENDER_TARGET_S = 1.5
SWITCH_TARGET_S = 1.0


# -- preparing ---------------------------------------------------------------------------------------
def prepare(work: Path, rows: int) -> dict:
    """The million-account workspace and the small one, built once into `work`."""
    found = work / "workspaces.json"
    if found.exists():
        return json.loads(found.read_text())
    sys.path.insert(0, str(BENCH))
    from universe import write_universe

    from icp.analysis.success import default_settings
    from icp.data.demo import write_demo
    from icp.data.workspace import Workspace
    from icp.profile.draft import draft_icp
    from ui.settings import ICP_KEY

    folder = work / "workspaces"
    folder.mkdir(parents=True, exist_ok=True)
    csv = write_universe(work / "universe.csv", rows)
    big = Workspace.create(f"Bench {rows:,}", folder=folder)
    files = write_demo(work / "demo")
    for kind in ("customers", "deals"):
        big.add_list(kind, files[kind])
    big.add_list("universe", csv, display_name=csv.name)
    big.save_settings(ICP_KEY, draft_icp(big, default_settings(big)))
    csv.unlink()
    small_files = write_demo(work / "small", small=True)
    small = Workspace.create("Warm-up", folder=folder)
    for kind in ("customers", "deals", "universe"):
        small.add_list(kind, small_files[kind])
    made = {"big": big.id, "small": small.id, "rows": rows}
    found.write_text(json.dumps(made))
    return made


# -- AppTest (each run in its own process) -----------------------------------------------------------
def apptest_worker(params: dict) -> dict:
    """One run: the Targets page by link in a cold process, or (warm) after the small workspace's pages."""
    from streamlit.testing.v1 import AppTest

    def new_session(workspace_id: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
        at.query_params["ws"] = workspace_id
        return at

    def timed(at: AppTest, step) -> float:
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"the page failed: {at.exception[0].message}")
        return seconds

    out: dict = {}
    if params["warm"]:
        warm = new_session(params["small"])
        warm.run()
        for _, path, _ in PAGES:
            timed(warm, lambda path=path: warm.switch_page(path).run())
    at = new_session(params["big"])
    out["targets_first_s"] = timed(at, lambda: at.switch_page("views/targets.py").run())
    if not params["warm"]:
        return out
    slider = at.slider(key="tier3")
    slider.set_value(slider.value - 5 if slider.value >= 5 else slider.value + 5)
    out["slider_s"] = timed(at, at.run)
    out["unchanged_s"] = timed(at, at.run)
    for visit in (1, 2):
        for _, path, _ in PAGES:
            out[f"switch{visit}:{path}"] = timed(at, lambda path=path: at.switch_page(path).run())
    return out


def run_worker(kind: str, params: dict, data_dir: Path) -> dict:
    env = os.environ | {"ICP_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(Path(__file__)), "--worker", kind, json.dumps(params)], env=env,
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the browser -------------------------------------------------------------------------------------
def browser_worker(params: dict) -> dict:
    os.environ["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"  # others' edits must not reload the app mid-run
    from tests.e2e.harness import ARGS, CHROMIUM, Server, playwright

    def drawn(page, word: str, start: float) -> float:
        page.locator("h1").filter(has_text=word).first.wait_for(timeout=300_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
        return time.perf_counter() - start

    def visit(page, url: str, word: str) -> float:
        start = time.perf_counter()
        page.goto(url)
        return drawn(page, word, start)

    def click(page, title: str, word: str) -> float:
        start = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        return drawn(page, word, start)

    out: dict = {}
    server = Server(Path(params["data_dir"]))
    server.start()
    try:
        with playwright.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            warm = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            visit(warm, f"{server.url}/?ws={params['small']}", "ICP Explorer")
            for title, _, word in PAGES:
                click(warm, title, word)
            warm.context.close()
            page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            out["targets_first_s"] = visit(page, f"{server.url}/targets?ws={params['big']}", "Targets")
            for round_ in (1, 2):
                for title, path, word in PAGES:
                    out[f"switch{round_}:{path}"] = click(page, title, word)
            page.context.close()
            server.stop()
            server.start()  # the same port and data, a new process: nothing imported, nothing cached
            page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            out["cold_targets_s"] = visit(page, f"{server.url}/targets?ws={params['big']}", "Targets")
            page.context.close()
            chromium.close()
    finally:
        server.stop()
    return out


# -- figures -----------------------------------------------------------------------------------------
def medians(runs: list[dict]) -> dict:
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {"runs": runs}


def switches(figures: dict, visit: int) -> dict[str, float]:
    return {path: figures[f"switch{visit}:{path}"] for _, path, _ in PAGES}


def _s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _figures(results: dict | None) -> list[tuple[str, float | None, float | None]]:
    """(what, AppTest seconds, browser seconds) of one bench run, in the table's order."""
    if results is None:
        return []
    app, web = results["apptest"], results.get("browser")
    rows = [("Targets page by link, in a process that has served nothing (imports included)",
             app["cold"]["targets_first_s"], web["cold_targets_s"] if web else None),
            ("Targets page by link, first render (server up, this workspace new to it)",
             app["warm"]["targets_first_s"], web["targets_first_s"] if web else None),
            ("Targets: rerun after a Tier 3 slider move", app["warm"]["slider_s"], None),
            ("Targets: rerun, nothing changed", app["warm"]["unchanged_s"], None)]
    for visit, words in ((1, "first visit"), (2, "again")):
        for title, path, _ in PAGES:
            rows.append((f"Switch to {title} ({words})", switches(app["warm"], visit)[path],
                         switches(web, visit)[path] if web else None))
    return rows


def _target(what: str) -> str:
    if what.startswith("Switch"):
        return f"≤ {SWITCH_TARGET_S:g} s"
    return f"≤ {FIRST_RENDER_TARGET_S:g} s" if "first render" in what else "–"


def table(results: dict, before: dict | None = None) -> str:
    """The figures; with `before` (an earlier run's --json, e.g. of the previous commit), beside them."""
    now, then = _figures(results), {what: (a, b) for what, a, b in _figures(before)}

    def cell(x: float | None) -> str:
        return "–" if x is None else _s(x)

    if before is None:
        lines = ["| what | AppTest | browser | target |", "|---|---|---|---|"]
        lines += [f"| {what} | {cell(a)} | {cell(b)} | {_target(what)} |" for what, a, b in now]
    else:
        lines = ["| what | AppTest before | AppTest | browser before | browser | target |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {what} | {cell(then.get(what, (None, None))[0])} | {cell(a)} | "
                  f"{cell(then.get(what, (None, None))[1])} | {cell(b)} | {_target(what)} |" for what, a, b in now]
    return "\n".join(lines)


def verdicts(results: dict) -> list[str]:
    said = []
    for name in ("apptest", "browser"):
        figures = results.get(name)
        if figures is None:
            continue
        warm = figures["warm"] if name == "apptest" else figures
        first = warm["targets_first_s"]
        worst = max(max(switches(warm, 1).values()), max(switches(warm, 2).values()))
        said.append(f"{name}: Targets first render {_s(first)} "
                    f"({'pass' if first <= FIRST_RENDER_TARGET_S else 'miss'}), slowest page switch {_s(worst)} "
                    f"({'pass' if worst <= SWITCH_TARGET_S else 'miss'})")
    return said


def _load_lines(results: dict, before: dict | None = None) -> str:
    found = results.get("load_test")
    if found is None:
        return ""
    then = (before or {}).get("load_test")
    was = (f" Before: p50 {_s(then['p50'])}, p95 {_s(then['p95'])}, one session alone p50 {_s(then['solo_p50'])}, "
           f"{then['interactions']} moves, {then['errors']} errors (load average {then['load_before']:.1f} before it "
           "started)." if then else "")
    return (f"\nbench/load.py, 20 sessions each moving Tier sliders on its own 100,000-account workspace for 60 s "
            f"(load average {found['load_before']:.1f} before it started): p50 {_s(found['p50'])}, p95 "
            f"{_s(found['p95'])}, one session alone p50 {_s(found['solo_p50'])}, {found['interactions']} moves, "
            f"{found['errors']} errors (target: p50 ≤ 3 s, no errors).{was}\n")


def _before_words(before: dict | None) -> str:
    if before is None:
        return ""
    m = before["machine"]
    return (f"\"Before\" is {before.get('label', 'an earlier run')}, measured the same way on {before['date']} (load "
            f"average {m['load']:.1f} at the start, {before['load_after']:.1f} at the end; {before['runs_each']} "
            f"run{'s' if before['runs_each'] > 1 else ''} each).\n\n")


def section(results: dict, before: dict | None = None) -> str:
    m = results["machine"]
    return f"""{START}
## The app at {results['rows']:,} accounts (issue 19)

Measured by `bench/app.py` on {results['date']}: {m['cores']} cores, Python {m['python']}; load average
{m['load']:.1f} at the start and {results['load_after']:.1f} at the end (medians of {results['runs_each']} runs;
{'other work was running: read the figures as noisy' if max(m['load'], results['load_after']) > 0.5 else 'a quiet machine'}).
The workspace holds the demo's customers and deals and a universe of {results['rows']:,} companies
(bench/universe.py), with the ICP drafted from them. AppTest runs each measurement in a fresh process;
the browser is Debian's Chromium (Playwright) against `streamlit run app.py`, each figure from the
click (or the link opened) until the page's title is drawn and the script has finished. "First
render" is the Targets page opened by its link in a server that has served other workspaces
(Python's imports done) but not this one: nothing of it is cached yet.

{_before_words(before)}{table(results, before)}

{chr(10).join(f'- {line}' for line in verdicts(results))}
{_load_lines(results, before)}
Where the rest of the time goes (cProfile of each page run in AppTest): a new server process
first imports the app, and `icp.analysis` imports scikit-learn and SciPy's statistics (about 2 s)
whatever the page; the first render of Targets on a workspace new to the process finds which
accounts pass each criterion (one scan each), the universe minus the customers, the closed deals'
universe accounts and the coverage of each criterion (about 1.5 s of DuckDB scans, remembered
afterwards); every engine call opens the workspace file (15-35 ms a connection on this machine, 0.2 ms
while another connection holds it open; a tier move makes five). The Export page's first visit
counts the CRM notes over the universe minus the customers four times (`crm_notes`). The browser
adds the websocket round trip and Chromium's drawing of the grids and charts on the same two cores.
Tier slider moves no longer score the backtest (re-tiered from counts kept per ICP criteria and data
version), the criteria's columns, the target list or the unchanged page of the table again.

Regenerate with `.venv/bin/python bench/app.py --work /tmp/icp-app-bench --docs` (the workspace is
built once into the folder and reused).
{END}"""


def publish(results: dict, before: dict | None = None) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before_text, rest = text.split(START, 1)
        text = before_text + section(results, before) + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section(results, before) + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1M", help="universe size (default 1M)")
    parser.add_argument("--work", type=Path, help="folder for the workspaces, kept and reused (default: a new one)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each AppTest measurement (median)")
    parser.add_argument("--no-browser", action="store_true", help="AppTest only")
    parser.add_argument("--browser-runs", type=int, default=1, help="runs of the browser measurement (median)")
    parser.add_argument("--load", action="store_true", help="also run bench/load.py (20 sessions, 60 s)")
    parser.add_argument("--docs", action="store_true", help="write the figures into docs/benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write every figure here as JSON")
    parser.add_argument("--before", type=Path, metavar="FILE",
                        help="an earlier run's --json (say, of the previous commit) to show beside these figures")
    parser.add_argument("--before-label", default="the previous commit", help="what --before measured, in words")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="measure nothing: print (and with --docs write) the figures of an earlier --json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("params", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = {"apptest": apptest_worker, "browser": browser_worker}[args.worker]
        print(json.dumps(worker(json.loads(args.params))))
        return

    import tempfile

    before = None
    if args.before:
        before = json.loads(args.before.read_text(encoding="utf-8")) | {"label": args.before_label}
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        print(table(results, before))
        print("\n".join(verdicts(results)))
        if args.docs:
            publish(results, before)
        return

    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(ROOT))
    from universe import parse_size

    work = args.work or Path(tempfile.mkdtemp(prefix="icp-app-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "workspaces"
    os.environ["ICP_DATA_DIR"] = str(data_dir)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    log("preparing the workspaces")
    made = prepare(work, parse_size(args.rows))
    results = {"date": datetime.date.today().isoformat(), "rows": made["rows"], "runs_each": args.runs,
               "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0], "load": os.getloadavg()[0]}}
    params = {"big": made["big"], "small": made["small"], "data_dir": str(data_dir)}
    results["apptest"] = {}
    for kind, warm in (("cold", False), ("warm", True)):
        runs = []
        for i in range(args.runs):
            log(f"AppTest, {kind}, run {i + 1}")
            runs.append(run_worker("apptest", params | {"warm": warm}, data_dir))
        results["apptest"][kind] = medians(runs)
    if not args.no_browser:
        runs = []
        for i in range(args.browser_runs):
            log(f"browser, run {i + 1}")
            runs.append(run_worker("browser", params, data_dir))
        results["browser"] = medians(runs)
    if args.load:
        log("bench/load.py: 20 sessions moving Tier sliders for 60 s")
        from bench import load

        report = load.run()
        results["load_test"] = {"summary": report.summary(), "p50": report.p50, "p95": report.p95,
                                "solo_p50": report.solo_p50, "errors": len(report.errors),
                                "interactions": report.interactions, "load_before": report.load_before}
    results["load_after"] = os.getloadavg()[0]
    print(table(results, before))
    print("\n".join(verdicts(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.docs:
        publish(results, before)
        log(f"wrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
