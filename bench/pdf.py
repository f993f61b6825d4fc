"""Benchmark: build the demo ICP one-pager three times and print the median seconds (target: under 3 s).

    .venv/bin/python bench/pdf.py [--pdf OUT.pdf] [--png docs/one-pager.png]

Timed: `one_pager(workspace, icp)`, that is gathering market, tiers, backtest, findings and segments
from the demo workspace, rendering both charts and laying out the PDF. Not timed: building the demo
workspace and drafting the ICP, which the app has done before anyone asks for a PDF. The first
build also pays vl-convert's start-up, so the median is of three.

`--pdf` keeps the last PDF built; `--png` its first page as a picture (pdfium, `first_page_png`),
which is how docs/one-pager.png is made.
"""

import argparse
import datetime
import os
import statistics
import tempfile
import time
from pathlib import Path

RUNS = 3
TARGET_SECONDS = 3.0
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB"


def write_docs(median: float, runs: list[float], size: int) -> None:
    """docs/benchmarks.md: the figures of the last run, with the machine they came from."""
    DOCS.write_text(
        "# Benchmarks\n\n"
        f"Measured by `bench/pdf.py` on {datetime.date.today():%Y-%m-%d}, {machine()}. Figures, never "
        "timed assertions in tests: machines are shared and noisy.\n\n"
        "| what | median of 3 | runs | target | ratio to target |\n|---|---|---|---|---|\n"
        f"| ICP one-pager PDF of the demo (`one_pager`) | {median:.2f} s | "
        f"{', '.join(f'{s:.2f}' for s in runs)} s | under {TARGET_SECONDS:.0f} s | {median / TARGET_SECONDS:.2f} |\n\n"
        f"The PDF is {size:,} bytes. Timed: gathering market, tiers, backtest, findings and segments from the "
        "workspace, rendering both charts, laying out the page.\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="write the last PDF built here")
    parser.add_argument("--png", type=Path, help="write its first page here as a PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icp-bench-") as folder:
        # Set before icp is imported, so nothing here touches the user's own workspaces.
        os.environ["ICP_DATA_DIR"] = folder
        from icp.demo_workspace import open_demo
        from icp.draft import draft_icp
        from icp.pdf import first_page_png, one_pager

        workspace = open_demo()
        icp = draft_icp(workspace)
        seconds = []
        for _ in range(RUNS):
            start = time.perf_counter()
            pdf = one_pager(workspace, icp)
            seconds.append(time.perf_counter() - start)
    if args.pdf:
        args.pdf.write_bytes(pdf)
    if args.png:
        args.png.write_bytes(first_page_png(pdf))
    median = statistics.median(seconds)
    print(f"one_pager on the demo workspace: median {median:.2f} s of {RUNS} "
          f"({', '.join(f'{s:.2f}' for s in seconds)}), {len(pdf):,} bytes; "
          f"{median / TARGET_SECONDS:.2f} of the {TARGET_SECONDS:.0f} s target")
    write_docs(median, seconds, len(pdf))


if __name__ == "__main__":
    main()
