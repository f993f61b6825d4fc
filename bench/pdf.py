"""Benchmark: build the demo ICP one-pager three times and print the median seconds (target: under 3 s).

    .venv/bin/python bench/pdf.py [--pdf OUT.pdf] [--png docs/one-pager.png]

Timed: `one_pager(workspace, icp)`, that is gathering market, tiers, backtest, findings and segments
from the demo workspace, rendering both charts and laying out the PDF. Not timed: building the demo
workspace and drafting the ICP, which the app has done before anyone asks for a PDF. The first
build also pays vl-convert's start-up, so the median is of three.

bench/scale.py runs this measurement too and writes it to docs/benchmarks.md with the figures at
scale; this script only prints it.

`--pdf` keeps the last PDF built; `--png` its first page as a picture (pdfium, `first_page_png`),
which is how docs/one-pager.png is made.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

RUNS = 3
TARGET_SECONDS = 3.0


def measure(runs: int = RUNS) -> tuple[float, list[float], bytes]:
    """(median seconds, every run's seconds, the last PDF) of `one_pager` on a fresh demo workspace."""
    with tempfile.TemporaryDirectory(prefix="icp-bench-") as folder:
        # Set before icp is imported, so nothing here touches the user's own workspaces.
        os.environ["ICP_DATA_DIR"] = folder
        from icp.demo_workspace import open_demo
        from icp.export.pdf import one_pager
        from icp.profile.draft import draft_icp

        workspace = open_demo()
        icp = draft_icp(workspace)
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            pdf = one_pager(workspace, icp)
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), seconds, pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="write the last PDF built here")
    parser.add_argument("--png", type=Path, help="write its first page here as a PNG")
    args = parser.parse_args()
    median, seconds, pdf = measure()
    if args.pdf:
        args.pdf.write_bytes(pdf)
    if args.png:
        from icp.export.pdf import first_page_png

        args.png.write_bytes(first_page_png(pdf))
    print(f"one_pager on the demo workspace: median {median:.2f} s of {RUNS} "
          f"({', '.join(f'{s:.2f}' for s in seconds)}), {len(pdf):,} bytes; "
          f"{median / TARGET_SECONDS:.2f} of the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
