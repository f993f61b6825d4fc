"""Load test: one server on loopback, N concurrent sessions each moving Tier sliders on its own large workspace.

    .venv/bin/python bench/load.py [--sessions 20] [--seconds 60] [--rows 100000] [--think 0.5] [--solo 5] [--docs]

1. Prepare: one workspace is built with the engine from the demo generator (`icp.data.demo.generate`
   with a universe of `--rows` companies, its ~400 customers and ~2,000 deals linked to it) and
   its ICP drafted and saved, as a user who has reached the Targets page has; it is then copied
   once per session (`Workspace.copy_of`), so setup costs one build, not N.
2. One `streamlit run app.py` on a free loopback port (127.0.0.1 only), `ICP_DATA_DIR` set to
   those copies, and no file watcher (`--server.fileWatcherType none`), as a deployment runs: the
   watcher is for development; it watches the whole checkout (the .venv too) and, when a source
   file changes mid-run, reloads the `icp` modules, after which `st.cache_data` cannot pickle
   results whose classes were reloaded (a spurious error when others edit the code during a run).
3. Every session opens its own workspace on the Targets page (`/targets?ws=<id>`), all at once;
   then the first one alone moves a slider `--solo` times: the latency without contention.
4. For `--seconds`, every session moves one of the three Tier sliders to a new value, waits for
   the rerun to finish, pauses `--think` seconds (a person looking at the counts), and again.
   Latency is from sending the change to the run's `script_finished`.

Counted as errors: an exception or error box drawn, a run that does not finish successfully or
within 120 s, a disconnect, a Tier metric missing, tier counts that do not add up to the same
total on every run, two runs with the same thresholds giving different counts (in any session:
the workspaces are copies), and tracebacks in the server's log. Memory: the server's resident set
(VmRSS of it and any children, /proc) sampled every 0.25 s, and its VmHWM at the end.

The sessions speak Streamlit's websocket protocol (bench/load_client.py) rather than drive 20
Chromium tabs: on a 2-core machine twenty browsers would take most of the CPU themselves and
measure the browser, not the server. The client does what the browser does on the wire (the same
BackMsg / ForwardMsg classes from the installed streamlit, the slider ids and fragment ids read
from the deltas it receives), so the server does the same work per change; the real-browser
suite (tests/e2e) checks separately that the page works in Chromium.

`--docs` writes the figures into docs/reliability.md between `<!-- load:start -->` and
`<!-- load:end -->` (nothing else in that file is touched).
"""

import argparse
import asyncio
import datetime
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from websockets.exceptions import WebSocketException

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project root is not
    sys.path.insert(0, str(ROOT))

from bench.load_client import Session, SessionBroken  # noqa: E402

DOCS = ROOT / "docs" / "reliability.md"
START, END = "<!-- load:start -->", "<!-- load:end -->"
PAGE = "targets"
TIERS = ("Tier 1", "Tier 2", "Tier 3", "Not a fit")
# Each slider moves within its own band, so the thresholds stay ordered and the app never clamps them.
BANDS = {"Tier 1 from fit score": (55, 95), "Tier 2 from fit score": (30, 54), "Tier 3 from fit score": (5, 29)}
RUN_TIMEOUT = 120.0
OPEN_TIMEOUT = 300.0  # N sessions opening at once share the CPU
SAMPLE_EVERY = 0.25


# -- preparing the workspaces ----------------------------------------------------------------------
def prepare(folder: Path, sessions: int, rows: int, seed: int = 7) -> list[str]:
    """N copies of one workspace: demo customers and deals, a universe of `rows` companies, a drafted ICP."""
    from icp.analysis.success import default_settings
    from icp.data import demo
    from icp.data.workspace import Workspace
    from icp.profile.draft import draft_icp
    from ui.settings import ICP_KEY  # where the pages read the working ICP (ui.settings imports no streamlit)

    build = folder / "build"
    build.mkdir(parents=True)
    data = demo.generate(seed, n_universe=rows)
    template = Workspace.create("Load test", folder=build)
    for kind in ("customers", "deals", "universe"):
        path = build / f"{kind}.csv"
        getattr(data, kind).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        template.add_list(kind, path, display_name=path.name)
    template.save_settings(ICP_KEY, draft_icp(template, default_settings(template)))
    served = folder / "workspaces"
    served.mkdir()
    return [Workspace.copy_of(template.path, f"Load test {i + 1}", served).id for i in range(sessions)]


# -- the server and its memory ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"ICP_DATA_DIR": str(data_dir)}
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("streamlit did not start within 60 s")


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (by the parent field of /proc/<pid>/stat)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def rss_mb(pid: int) -> float:
    return sum(_status_kb(p, "VmRSS") for p in _tree(pid)) / 1024


def hwm_mb(pid: int) -> float:
    return sum(_status_kb(p, "VmHWM") for p in _tree(pid)) / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(rss_mb(self.pid))
            self.stopped.wait(SAMPLE_EVERY)


# -- the sessions ----------------------------------------------------------------------------------
@dataclass
class Totals:
    open_latencies: list[float] = field(default_factory=list)
    solo_latencies: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    per_session: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fragment_runs: int = 0
    messages: int = 0
    bytes: int = 0
    counts_by_thresholds: dict[tuple, tuple] = field(default_factory=dict)
    total_accounts: int | None = None

    def check_counts(self, who: str, thresholds: tuple, metrics: dict[str, str]) -> None:
        missing = [t for t in TIERS if t not in metrics]
        if missing:
            self.errors.append(f"{who}: metrics {missing} not drawn")
            return
        counts = tuple(int(metrics[t].replace(",", "")) for t in TIERS)
        if self.total_accounts is None:
            self.total_accounts = sum(counts)
        elif sum(counts) != self.total_accounts:
            self.errors.append(f"{who}: tiers add up to {sum(counts)}, not {self.total_accounts}")
        seen = self.counts_by_thresholds.setdefault(thresholds, counts)
        if seen != counts:
            self.errors.append(f"{who}: thresholds {thresholds} gave {counts}, earlier {seen}")


@dataclass
class Phases:
    """What the sessions wait on: every page open, the lone session's baseline, the common start."""

    opened: list[int] = field(default_factory=list)
    all_open: asyncio.Event = field(default_factory=asyncio.Event)
    solo_done: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    stop_at: float = 0.0


async def one_user(index: int, url: str, workspace_id: str, phases: Phases, think: float, solo: int,
                   totals: Totals) -> None:
    who = f"session {index + 1}"
    rng = random.Random(index)
    moves = 0
    try:
        async with Session(url, f"ws={workspace_id}", PAGE, OPEN_TIMEOUT) as session:
            try:
                run = await session.open()
            finally:
                phases.opened.append(index)
            session.timeout = RUN_TIMEOUT
            totals.open_latencies.append(run.seconds)
            totals.errors.extend(f"{who} (open): {e}" for e in run.errors)
            totals.messages, totals.bytes = totals.messages + run.messages, totals.bytes + run.bytes
            missing = set(BANDS) - set(session.widgets)
            if missing:
                totals.errors.append(f"{who}: sliders {sorted(missing)} not drawn")
                return
            values = {label: int(session.widgets[label].value[0]) for label in BANDS}
            totals.check_counts(who, tuple(values.values()), run.metrics)
            if index == 0:  # the baseline: one session alone on the server, before the others start
                try:
                    await phases.all_open.wait()
                    for _ in range(solo):
                        run = await move(session, rng, values)
                        totals.solo_latencies.append(run.seconds)
                        totals.errors.extend(f"{who} (alone): {e}" for e in run.errors)
                        totals.check_counts(who, tuple(values.values()), run.metrics)
                        await asyncio.sleep(think)
                finally:
                    phases.solo_done.set()
            await phases.started.wait()
            while time.monotonic() < phases.stop_at:
                run = await move(session, rng, values)
                moves += 1
                totals.latencies.append(run.seconds)
                totals.fragment_runs += run.fragment
                totals.messages, totals.bytes = totals.messages + run.messages, totals.bytes + run.bytes
                totals.errors.extend(f"{who}: {e}" for e in run.errors)
                totals.check_counts(who, tuple(values.values()), run.metrics)
                if think:
                    await asyncio.sleep(think)
    except SessionBroken as err:
        totals.errors.append(f"{who}: {err}")
    except (OSError, WebSocketException) as err:
        totals.errors.append(f"{who}: could not connect ({err!r})")
    finally:
        totals.per_session.append(moves)


async def move(session: Session, rng: random.Random, values: dict[str, int]):
    """Move one Tier slider, picked at random, to another value in its band; returns the run."""
    label = rng.choice(list(BANDS))
    low, high = BANDS[label]
    values[label] = rng.choice([v for v in range(low, high + 1) if v != values[label]])
    return await session.set_sliders({label: values[label]})


async def drive(url: str, ids: list[str], seconds: float, think: float, solo: int, totals: Totals) -> float:
    """Open every session at once; let the first move `solo` times alone (the baseline); then move sliders
    in all of them for `seconds`. Returns the seconds from the start of moving to the last run's end."""
    phases = Phases()
    users = [asyncio.create_task(one_user(i, url, ws, phases, think, solo, totals)) for i, ws in enumerate(ids)]
    while len(set(phases.opened) | {i for i, user in enumerate(users) if user.done()}) < len(ids):
        await asyncio.sleep(0.05)  # every session has opened its page (or failed to)
    phases.all_open.set()
    while not phases.solo_done.is_set() and not users[0].done():
        await asyncio.sleep(0.05)
    began = time.monotonic()
    phases.stop_at = began + seconds
    phases.started.set()
    await asyncio.gather(*users)
    return time.monotonic() - began


def tracebacks(log: str) -> list[str]:
    """The exception line closing each traceback in a log (the first unindented line after it)."""
    found, inside = [], False
    for line in log.splitlines():
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line[0].isspace():
            found.append(line[:300])
            inside = False
    return found


# -- the run ---------------------------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, round(share * len(ranked) + 0.5) - 1))]


@dataclass
class Report:
    sessions: int
    seconds: float  # the window in which moves start
    rows: int
    think: float
    prepare_seconds: float
    moved_seconds: float  # from the first move to the end of the last (the window plus runs in flight)
    interactions: int
    per_session: list[int]
    fragment_runs: int
    errors: list[str]
    open_p50: float
    open_max: float
    solo_p50: float
    solo_moves: int
    p50: float
    p95: float
    max: float
    rss_start_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    hwm_mb: float
    messages: int
    bytes: int
    total_accounts: int | None
    distinct_counts: int  # different tier counts seen: the moves did change what the server computed
    load_before: float  # the machine's 1-minute load average before the server started: other work

    @property
    def rate(self) -> float:
        return self.interactions / max(self.moved_seconds, 1e-9)

    def summary(self) -> str:
        return "\n".join([
            f"sessions {self.sessions}, {self.rows:,}-row universe each ({self.total_accounts or 0:,} target "
            f"accounts tiered per run), workspaces prepared in {self.prepare_seconds:.0f} s",
            f"moves started for {self.seconds:g} s, last finished after {self.moved_seconds:.0f} s; "
            f"think {self.think:g} s after each",
            f"interactions {self.interactions} ({self.rate:.2f}/s; per session min {min(self.per_session, default=0)}, "
            f"max {max(self.per_session, default=0)}; {self.fragment_runs} fragment reruns), errors {len(self.errors)}",
            f"latency p50 {self.p50:.2f} s, p95 {self.p95:.2f} s, max {self.max:.2f} s; one session alone: "
            f"p50 {self.solo_p50:.2f} s ({self.solo_moves} moves); page open (all at once) p50 "
            f"{self.open_p50:.2f} s, max {self.open_max:.2f} s",
            f"load average before {self.load_before:.1f}; server RSS start {self.rss_start_mb:.0f} MB, end {self.rss_end_mb:.0f} MB, "
            f"peak {self.rss_peak_mb:.0f} MB (VmHWM {self.hwm_mb:.0f} MB)",
            f"{self.messages:,} messages, {self.bytes / 1e6:.1f} MB received; {self.distinct_counts} different "
            "tier counts seen",
            *(f"  error: {e}" for e in self.errors[:20]),
            *([f"  … and {len(self.errors) - 20} more errors"] if len(self.errors) > 20 else []),
        ])


def run(sessions: int = 20, seconds: float = 60, rows: int = 100_000, think: float = 0.5, solo: int = 5,
        folder: Path | None = None) -> Report:
    """The whole load test in a temporary folder (or `folder`, kept with the server's log); returns its figures."""
    with tempfile.TemporaryDirectory(prefix="icp-load-") as tmp:
        base = folder or Path(tmp)
        began = time.monotonic()
        ids = prepare(base, sessions, rows)
        prepare_seconds = time.monotonic() - began
        log = base / "server.log"
        load_before = os.getloadavg()[0]
        process, url = start_server(base / "workspaces", log)
        sampler = MemorySampler(process.pid)
        try:
            rss_start = rss_mb(process.pid)
            sampler.start()
            totals = Totals()
            moved = asyncio.run(drive(url, ids, seconds, think, solo, totals))
            rss_end = rss_mb(process.pid)
            hwm = hwm_mb(process.pid)
        finally:
            sampler.stopped.set()
            sampler.join()
            process.terminate()
            process.wait(timeout=30)
        totals.errors.extend(f"server log: {line}" for line in tracebacks(log.read_text(errors="replace")))
        return Report(
            sessions=sessions, seconds=seconds, rows=rows, think=think, prepare_seconds=prepare_seconds,
            moved_seconds=moved, interactions=len(totals.latencies), per_session=sorted(totals.per_session),
            fragment_runs=totals.fragment_runs, errors=totals.errors,
            open_p50=percentile(totals.open_latencies, 0.5), open_max=max(totals.open_latencies, default=0.0),
            solo_p50=percentile(totals.solo_latencies, 0.5), solo_moves=len(totals.solo_latencies),
            p50=percentile(totals.latencies, 0.5), p95=percentile(totals.latencies, 0.95),
            max=max(totals.latencies, default=0.0), rss_start_mb=rss_start, rss_end_mb=rss_end,
            rss_peak_mb=max(sampler.samples + [rss_start, rss_end]), hwm_mb=hwm, messages=totals.messages,
            bytes=totals.bytes, total_accounts=totals.total_accounts,
            distinct_counts=len(set(totals.counts_by_thresholds.values())), load_before=load_before)


# -- docs ------------------------------------------------------------------------------------------
def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB"


def docs_block(report: Report) -> str:
    import streamlit

    r = report
    return "\n".join([
        f"Measured by `bench/load.py --sessions {r.sessions} --seconds {r.seconds:g} --rows {r.rows} "
        f"--think {r.think:g} --docs` on {datetime.date.today():%Y-%m-%d}, {machine()}, shared with other "
        f"work (1-minute load average {r.load_before:.1f} just before the server started), streamlit "
        f"{streamlit.__version__}, one server on 127.0.0.1.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| sessions at once, each on its own workspace, Targets page | {r.sessions} |",
        f"| universe per workspace | {r.rows:,} companies ({r.total_accounts or 0:,} target accounts tiered "
        "per rerun) |",
        f"| moving Tier sliders | moves started for {r.seconds:g} s (the last finished after "
        f"{r.moved_seconds:.0f} s), {r.think:g} s pause after each rerun |",
        f"| slider moves (reruns requested and finished) | {r.interactions:,} ({r.rate:.2f}/s; "
        f"{min(r.per_session, default=0)} to {max(r.per_session, default=0)} per session) |",
        f"| requests in all (page opens + moves alone + moves together) | {r.sessions + r.solo_moves + r.interactions:,} "
        f"({r.sessions} + {r.solo_moves} + {r.interactions}); {r.messages:,} messages, {r.bytes / 1e6:.1f} MB "
        "back |",
        "| errors (exceptions, error boxes, failed or late runs, disconnects, wrong or inconsistent counts, "
        f"server tracebacks) | {len(r.errors)} |",
        f"| latency, slider change to rerun finished: p50 / p95 / max | {r.p50:.2f} s / {r.p95:.2f} s / "
        f"{r.max:.2f} s |",
        f"| the same, one session alone on the server (p50 of {r.solo_moves}) | {r.solo_p50:.2f} s |",
        f"| first page open, all sessions at once: p50 / max | {r.open_p50:.2f} s / {r.open_max:.2f} s |",
        f"| server memory (RSS): start / end / peak | {r.rss_start_mb:.0f} MB / {r.rss_end_mb:.0f} MB / "
        f"{r.rss_peak_mb:.0f} MB (VmHWM {r.hwm_mb:.0f} MB) |",
        "",
        f"{r.fragment_runs:,} of the {r.interactions:,} slider moves reran only the page's fragment. The sessions "
        "speak Streamlit's websocket protocol (`bench/load_client.py`) instead of running a browser each, so "
        "the figures are the server's.",
    ])


def write_docs(report: Report, path: Path = DOCS) -> None:
    """Rewrite only the text between the markers; create the file with a title and the markers if absent."""
    if not path.exists():
        path.write_text(f"# Reliability\n\n{START}\n{END}\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{path} lacks the markers {START} … {END}; add them where the figures belong")
    path.write_text(f"{head}{START}\n{docs_block(report)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--think", type=float, default=0.5, help="pause after each rerun, seconds")
    parser.add_argument("--solo", type=int, default=5, help="moves of one session alone first (the baseline)")
    parser.add_argument("--docs", action="store_true", help="write the figures into docs/reliability.md")
    args = parser.parse_args()
    if not (1 <= args.sessions <= 100 and 0 < args.seconds <= 600):
        parser.error("bounded on purpose: 1-100 sessions, at most 600 seconds")
    report = run(args.sessions, args.seconds, args.rows, args.think, args.solo)
    print(report.summary())
    if args.docs:
        write_docs(report)
        print(f"written to {DOCS.relative_to(ROOT)}")
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
