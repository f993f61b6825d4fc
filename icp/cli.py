"""The `icp` command line: the same engine functions as the app, for headless use.

Exit 0 on success; on bad input exit 2 with one `error:` line on stderr and no traceback.
"""

import argparse
import re
import sys
from pathlib import Path

from icp import __version__
from icp.errors import IcpError

# C0 and C1 control characters and DEL: a file name or a value holding a newline or a terminal
# escape code is written as its escape, so it can neither forge an output line nor drive the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _say(text: str, stream=None) -> None:
    print(_CONTROL.sub(lambda m: repr(m.group())[1:-1], text), file=stream or sys.stdout)


def _demo(args: argparse.Namespace) -> None:
    from icp.data.demo import write_demo

    files = write_demo(Path(args.out), small=args.small)
    for kind, path in files.items():
        _say(f"{kind}: {path}")


def _mapping(args: argparse.Namespace):
    from icp.data.mapping import parse_map_args, read_mapping

    base = read_mapping(args.mapping) if args.mapping else None
    return parse_map_args(args.map or [], base)


def _label_merges(args: argparse.Namespace):
    from icp.data.mapping import read_label_merges

    return read_label_merges(args.mapping) if args.mapping else {}


def _carrying(args: argparse.Namespace) -> dict:
    from icp.data.mapping import parse_links, parse_scales

    return {"links": parse_links(args.link or []), "scales": parse_scales(args.scale or [])}


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        _say(f"warning: {warning}", sys.stderr)


def _build(args: argparse.Namespace) -> None:
    from icp.export.build import build

    files = {kind: getattr(args, kind) for kind in ("customers", "deals", "orders", "universe", "targets")}
    segment_by = args.segment_by.split(",") if args.segment_by else None
    warnings: list[str] = []
    for name, path in build(files, args.out, settings=args.settings, segment_by=segment_by,
                            warnings=warnings, mapping=_mapping(args), label_merges=_label_merges(args),
                            **_carrying(args)).items():
        _say(f"{name}: {path}")
    _warn(warnings)


def _score(args: argparse.Namespace) -> None:
    from icp.export.build import score_file

    mapping = _mapping(args)
    other = sorted(set(mapping) - {"targets"})
    if other:
        raise IcpError(f"--map/--mapping: icp score reads one file, named 'accounts' (or 'targets'), not '{other[0]}'.")
    warnings: list[str] = []
    if _label_merges(args):
        warnings.append(f"{args.mapping}: icp score does not merge labels; its label_merges were not applied.")
    carrying = _carrying(args)
    if any(kind != "targets" for kind, *_ in carrying["links"] + carrying["scales"]):
        raise IcpError("--link/--scale: icp score carries the ICP to its one file, named 'accounts' (or 'targets').")
    _say(str(score_file(args.icp, args.accounts, args.out, mapping=mapping.get("targets"), warnings=warnings,
                        **carrying)))
    _warn(warnings)


def _sql(args: argparse.Namespace) -> None:
    from icp.export.build import read_icp
    from icp.profile.scoring import scoring_sql

    print(scoring_sql(read_icp(args.icp), args.dialect))


def _carry_arguments(command: argparse.ArgumentParser, list_name: str) -> None:
    command.add_argument("--link", action="append", metavar="LIST:COLUMN=ATTRIBUTE",
                         help=f"read an ICP criterion from a column named otherwise (repeatable), e.g. "
                              f"{list_name}:on_prem_only=requires_on_prem")
    command.add_argument("--scale", action="append", metavar="LIST:COLUMN=FACTOR",
                         help=f"a column's unit factor: its value x FACTOR is in the customers' unit, e.g. "
                              f"{list_name}:revenue=0.000001 for dollars against millions")


def _mapping_arguments(command: argparse.ArgumentParser, example: str) -> None:
    command.add_argument("--map", action="append", metavar="LIST:COLUMN=ROLE",
                         help=f"give a column a role (repeatable), e.g. {example}; ROLE may also be "
                              "'attribute' (analyse it), 'ignore' (never analyse it) or 'none'")
    command.add_argument("--mapping", metavar="mapping.json",
                         help="column roles (and label merges) per list, as the Data page downloads them "
                              "(--map wins over it)")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are bad input too: one `error:` line, exit 2."""

    def error(self, message: str):
        _say(f"error: {self.prog}: {message} (see --help)", sys.stderr)
        raise SystemExit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="icp", description="ICP Explorer: find, size and use your Ideal Customer Profile.")
    p.add_argument("--version", action="version", version=f"icp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write the bundled demo files (customers, deals, universe) to OUT")
    demo.add_argument("out", metavar="OUT", help="folder to write the demo CSV files into")
    demo.add_argument("--small", action="store_true",
                      help="a universe of 3,000 accounts instead of 60,000 (as in data/samples/demo-small)")
    demo.set_defaults(run=_demo)

    build = sub.add_parser("build", help="run the whole workflow and write icp.json, segments.csv, market.json, "
                                         "targets.csv and scoring.sql to --out")
    build.add_argument("--customers", required=True, metavar="F", help="customer list (CSV, TSV, XLSX, Parquet)")
    for kind in ("deals", "orders", "universe", "targets"):
        build.add_argument(f"--{kind}", metavar="F", help=f"{kind} list")
    build.add_argument("--settings", metavar="icp.json", help="reuse a saved ICP and its settings")
    build.add_argument("--segment-by", metavar="DIM[,DIM]",
                       help="segment dimensions: role names or headers as written (default: industry,employees)")
    build.add_argument("--out", required=True, metavar="DIR", help="output folder")
    _mapping_arguments(build, "customers:Sector=industry")
    _carry_arguments(build, "universe")
    build.set_defaults(run=_build)

    score = sub.add_parser("score", help="score an account file with a saved ICP")
    score.add_argument("--icp", required=True, metavar="icp.json")
    score.add_argument("--accounts", required=True, metavar="F")
    score.add_argument("--out", required=True, metavar="targets.csv")
    _mapping_arguments(score, "accounts:Sector=industry")
    _carry_arguments(score, "accounts")
    score.set_defaults(run=_score)

    sql = sub.add_parser("sql", help="print the ICP's fit score as SQL")
    sql.add_argument("--icp", required=True, metavar="icp.json")
    sql.add_argument("--dialect", default="duckdb", choices=["duckdb", "postgres", "snowflake", "bigquery", "spark"])
    sql.set_defaults(run=_sql)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already reported
        return 2 if exit_.code else 0
    try:
        args.run(args)
    except IcpError as err:
        _say(f"error: {err}", sys.stderr)
        return 2
    except OSError as err:
        where = getattr(err, "filename", None) or "output"
        _say(f"error: {where}: {err.strerror or err}", sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
