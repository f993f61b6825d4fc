"""The `icp` command line: the same engine functions as the app, for headless use.

Exit 0 on success; on bad input exit 2 with one `error:` line on stderr and no traceback.
"""

import argparse
import sys
from pathlib import Path

from icp import __version__
from icp.errors import IcpError


def _demo(args: argparse.Namespace) -> None:
    from icp.demo import write_demo

    files = write_demo(Path(args.out))
    for kind, path in files.items():
        print(f"{kind}: {path}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="icp", description="ICP Explorer: find, size and use your Ideal Customer Profile.")
    p.add_argument("--version", action="version", version=f"icp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write the bundled demo files (customers, deals, universe) to OUT")
    demo.add_argument("out", metavar="OUT", help="folder to write the demo CSV files into")
    demo.set_defaults(run=_demo)
    return p




def main(argv: list[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as exit_:  # argparse already printed its usage message
        return 2 if exit_.code else 0
    try:
        args.run(args)
    except IcpError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        where = getattr(err, "filename", None) or "output"
        print(f"error: {where}: {err.strerror or err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
