"""The demo workspace: the generated demo files loaded once into a template that every visitor
without a link reads, shared and read-only; a visitor's first change makes a copy of their own.

Copies nobody changed (made before copy-on-write, or by a change whose process was killed) are
removed by `sweep_untouched` once no one has written to them for ICP_DEMO_COPY_HOURS hours.
"""

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from icp.analysis.success import default_settings
from icp.data import demo, scratch
from icp.data.workspace import UNTOUCHED, Workspace
from icp.errors import IcpError
from icp.market.validation import VALIDATION_KEY, save_validation, validate
from icp.paths import SHARED_DEMO, data_dir
from icp.profile.draft import ICP_KEY, draft_icp

DEMO_NAME = "Demo: Northwind Analytics"
_DEMO_LISTS = {"customers": "customers.csv", "deals": "deals.csv", "universe": "universe.csv"}
EXPIRY_ENV = "ICP_DEMO_COPY_HOURS"
DEFAULT_EXPIRY_HOURS = 24.0
# The sweep's bound: at most once per 10 minutes in a process, opening at most 200 files each time
# (a file found changed is not opened again until it is written).
_SWEEP_EVERY_SECONDS = 600.0
_SWEEP_OPENS = 200


def template_path(folder: Path | None = None) -> Path:
    """The demo template file (`Workspace.demo_template`), built on first use."""
    target = Workspace.demo_template(folder)
    templates = target.parent
    templates.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=templates) as tmp:
        files = demo.write_demo(Path(tmp) / "files")
        workspace = Workspace.create(DEMO_NAME, folder=Path(tmp))
        for kind in ("customers", "deals", "universe"):
            workspace.add_list(kind, files[kind], display_name=files[kind].name)
        # The out-of-sample check takes seconds: made once here, a visitor sees it at once.
        success = default_settings(workspace)
        save_validation(workspace, success, validate(workspace, success))
        # The ICP page saves a draft where there is none: made here, reading the demo changes nothing.
        workspace.save_settings(ICP_KEY, draft_icp(workspace, success))
        # Atomic: two sessions building at once both end with one whole file.
        os.replace(workspace.path, target)
    return target


def shared_demo(folder: Path | None = None, *, owner: str | None = None,
                on_copy: Callable[[Workspace], None] | None = None) -> Workspace:
    """The demo every visitor without a link reads: the template itself, read-only, no copy made.
    With `on_copy`, the first change made through this handle (an upload, a setting, a rename)
    goes to a copy of the visitor's own, owned by `owner`; `on_copy` is then told of it."""
    template_path(folder)
    workspace = Workspace(SHARED_DEMO, folder)
    return workspace.copy_on_write(owner, on_copy) if on_copy else workspace


def open_demo(folder: Path | None = None) -> Workspace:
    """A fresh workspace of the user's own, holding the demo data (a copy made now)."""
    return Workspace.copy_of(template_path(folder), DEMO_NAME, folder)


def expiry_hours() -> float:
    """How long a demo copy nobody changed is kept after it was last written: $ICP_DEMO_COPY_HOURS."""
    text = os.environ.get(EXPIRY_ENV, "").strip()
    if not text:
        return DEFAULT_EXPIRY_HOURS
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    if not (math.isfinite(hours) and hours > 0):
        raise IcpError(f"{EXPIRY_ENV} must be a number of hours above 0, not '{text}'.")
    return hours


# Files found changed, with the time they were last written: not opened again until written again.
_kept: dict[Path, float] = {}


def sweep_untouched(folder: Path | None = None, *, hours: float | None = None, now: float | None = None,
                    opens: int = _SWEEP_OPENS) -> list[str]:
    """Remove the demo copies nobody changed that nothing has written for `hours` (default
    $ICP_DEMO_COPY_HOURS). Opens at most `opens` files; returns the ids removed."""
    folder = folder or data_dir()
    hours = expiry_hours() if hours is None else hours
    now = time.time() if now is None else now
    removed: list[str] = []
    for path in sorted(folder.glob("*.duckdb")):
        written = _last_written(path)
        if written is None or now - written < hours * 3600 or _kept.get(path) == written:
            continue
        if opens <= 0:
            break
        opens -= 1
        if not _untouched(path):
            _kept[path] = written
            continue
        # Written since it was looked at: someone is using it after all.
        if _last_written(path) != written:
            continue
        try:
            Workspace(path.stem, folder).delete()
        except (IcpError, OSError):
            continue
        removed.append(path.stem)
    return removed


def _last_written(path: Path) -> float | None:
    """When the workspace file or its write-ahead log was last written; None when it is gone."""
    times = []
    for file in (path, Path(f"{path}.wal")):
        try:
            times.append(file.stat().st_mtime)
        except OSError:
            continue
    return max(times) if path.exists() and times else None


def _untouched(path: Path) -> bool:
    """A copy of the demo no change has reached: marked so when it was made, or (a copy made
    before the demo was shared) holding exactly the demo's lists and settings under its name. A
    file that cannot be read now (in use, damaged) is kept."""
    try:
        con = duckdb.connect(str(path), read_only=True, config=scratch.duckdb_config())
    except duckdb.Error:
        return False
    try:
        meta = dict(con.execute("SELECT key, value FROM _meta").fetchall())
        if UNTOUCHED in meta:
            return True
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
        lists = dict(con.execute("SELECT kind, json_extract_string(report, '$.file') FROM _lists").fetchall())
        settings = ({k for (k,) in con.execute("SELECT key FROM _settings").fetchall()}
                    if "_settings" in tables else set())
        versions = con.execute("SELECT count(*) FROM _icp_versions").fetchone()[0] if "_icp_versions" in tables else 0
    except duckdb.Error:
        return False
    finally:
        con.close()
    return (meta.get("name") == DEMO_NAME and meta.get("data_version") == str(len(_DEMO_LISTS))
            and lists == _DEMO_LISTS and settings <= {VALIDATION_KEY} and not versions)


_sweeping = threading.Lock()
_last_sweep: dict[Path, float] = {}


def housekeeping(folder: Path | None = None) -> None:
    """What the app does on a new visit, at most once every 10 minutes a process (a sweep already
    running is not waited for): remove scratch folders of ended processes and expired demo copies."""
    folder = folder or data_dir()
    if not _sweeping.acquire(blocking=False):
        return
    try:
        clock = time.monotonic()
        if folder in _last_sweep and clock - _last_sweep[folder] < _SWEEP_EVERY_SECONDS:
            return
        _last_sweep[folder] = clock
        scratch.sweep()
        sweep_untouched(folder)
    finally:
        _sweeping.release()
