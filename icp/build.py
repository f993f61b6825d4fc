"""The whole workflow without the app: files in, contract files out (`icp build`, `icp score`).

Everything is written into a scratch folder first and moved into the output folder only when all
of it succeeded, so a bad input never leaves half a result behind.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from icp import analysis
from icp.draft import draft_icp
from icp.errors import IcpError, InputFileError
from icp.exports import targets_csv, targets_xlsx
from icp.market import market_json, market_size
from icp.model import ICP, parse_icp
from icp.pdf import one_pager
from icp.scoring import scoring_sql
from icp.segments import segments_csv
from icp.success import default_settings
from icp.targets import targets_export
from icp.workspace import Workspace

# `--segment-by` takes role names; numbers segment by their bands.
_BAND_OF = {"employees": "size_band", "revenue": "revenue_band"}


@contextmanager
def scratch_workspace(files: Mapping[str, str | Path | None]) -> Iterator[Workspace]:
    """A throw-away workspace holding the given lists, in its own folder (never the user's)."""
    with tempfile.TemporaryDirectory(prefix="icp-build-") as folder:
        workspace = Workspace.create("icp build", folder=Path(folder))
        for kind, path in files.items():
            if path is None:
                continue
            if not Path(path).exists():
                raise InputFileError(str(path), "does not exist.")
            workspace.add_list(kind, path, display_name=str(path))
        yield workspace


def read_icp(path: str | Path) -> ICP:
    try:
        text = Path(path).read_bytes()
    except OSError as err:
        raise InputFileError(str(path), f"cannot be read ({err.strerror or err}).") from err
    return parse_icp(text, str(path))


@contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A scratch folder beside `out`; its files replace those in `out` only if the block succeeds."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(str(out), f"cannot be used as the output folder ({err.strerror or err}).") from err
    stage = Path(tempfile.mkdtemp(prefix=".icp-out-", dir=out))
    try:
        yield stage
        for item in stage.iterdir():
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _dimensions(workspace: Workspace, segment_by: list[str] | None) -> list[str]:
    """The segment dimensions asked for (role names), else industry and size band where present."""
    options = [a.name for a in analysis.segment_options(workspace)]
    if not segment_by:
        present = [d for d in ("industry", "size_band") if d in options]
        return present or options[:1]
    wanted = [_BAND_OF.get(d.strip(), d.strip()) for d in segment_by]
    unknown = [d for d in wanted if d not in options]
    if unknown:
        raise IcpError(f"--segment-by: the customers have no {', '.join(unknown)}; "
                       f"choose from {', '.join(sorted(options))}.")
    return wanted


def _market(workspace: Workspace, icp: ICP) -> dict:
    """market.json; without a universe or typed counts the sizes are unknown (null), and say why."""
    try:
        return market_json(market_size(workspace, icp))
    except IcpError as err:
        unknown = {"accounts": None, "value": None}
        return {"tam": unknown, "sam": unknown, "som": unknown, "assumptions": {"note": str(err)}}


def build(files: Mapping[str, str | Path | None], out: str | Path, *, settings: str | Path | None = None,
          segment_by: list[str] | None = None) -> dict[str, Path]:
    """Run the workflow with defaults (or a saved ICP's settings) and write the contract files to `out`."""
    saved = read_icp(settings) if settings else None
    with scratch_workspace(files) as workspace, _staged(Path(out)) as stage:
        icp = saved or draft_icp(workspace, default_settings(workspace))
        dims = list(icp.segments.dimensions) if saved and not segment_by else _dimensions(workspace, segment_by)
        icp = icp.model_copy(update={"segments": icp.segments.model_copy(update={"dimensions": tuple(dims)})})
        segments = analysis.rule_segments(workspace, icp.success, dims, icp.segments.weights)
        written = {
            "icp.json": icp.model_dump_json(indent=2),
            "segments.csv": segments_csv(segments).to_csv(index=False),
            "market.json": json.dumps(_market(workspace, icp), indent=2),
            "scoring.sql": scoring_sql(icp, "duckdb"),
        }
        for name, text in written.items():
            (stage / name).write_text(text, encoding="utf-8")
        targets = targets_export(workspace, icp)
        (stage / "targets.csv").write_bytes(targets_csv(targets))
        (stage / "targets.xlsx").write_bytes(targets_xlsx(targets, icp))
        (stage / "icp.pdf").write_bytes(one_pager(workspace, icp))
    return {name: Path(out) / name for name in [*written, "targets.csv", "targets.xlsx", "icp.pdf"]}


def score_file(icp_path: str | Path, accounts: str | Path, out: str | Path) -> Path:
    """Score any account file with a saved ICP into a targets.csv."""
    icp = read_icp(icp_path)
    out = Path(out)
    with scratch_workspace({"targets": accounts}) as workspace, _staged(out.parent) as stage:
        (stage / out.name).write_bytes(targets_csv(targets_export(workspace, icp)))
    return out
