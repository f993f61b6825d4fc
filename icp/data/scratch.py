"""Scratch folders, and the sweep of those a killed process left behind.

A process killed with SIGKILL runs no `finally`: the throw-away workspace of `icp build` (80-170 MB),
the temp folder of `icp score`, an upload's temp copy and the `.icp-out-*` stage in an output
folder would stay for ever. So every scratch folder sits under one parent in the temp folder,
named by its process's id and start time (a reused pid is another process), and a stage made
elsewhere is noted in one; the next process to make a scratch folder removes those whose
process is gone, with the stages they note.
"""

import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGE_PREFIX = ".icp-out-"
_OWNED = re.compile(r"(\d+)-(\d+)-")
_NOTES = "stages"
_swept_roots: set[Path] = set()
_private: list[Path] = []  # this process's own parent, when the shared one cannot be trusted


def _start_time(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), "0" where /proc cannot say, None when
    there is no such process or it has exited (a zombie only waits to be reaped)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _signalled(pid)
    except OSError:
        return _signalled(pid)
    # The command name, in parentheses, may hold spaces and parentheses: fields count from the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _signalled(pid: int) -> str | None:
    if os.name == "nt":  # os.kill would end the process there: every process counts as running
        return "0"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "0"


def me() -> str:
    """This process, as scratch names carry it: `<pid>-<start time>`."""
    pid = os.getpid()
    return f"{pid}-{_start_time(pid) or '0'}"


def _gone(name: str) -> bool:
    """Whether the process a scratch name carries has ended (a name of another form is never ours)."""
    found = _OWNED.match(name)
    return bool(found) and _start_time(int(found[1])) != found[2]


def root() -> Path:
    """The parent of every scratch folder: private to this user. A folder of that name someone
    else made (the temp folder is shared) is never used or swept: this process then gets a
    private parent of its own, which nothing sweeps."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"icp-scratch-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return _private_parent()
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != uid) or info.st_mode & 0o077:
        return _private_parent()
    return folder


def _private_parent() -> Path:
    if not _private or not _private[-1].is_dir():
        _private.append(Path(tempfile.mkdtemp(prefix="icp-scratch-")))
    return _private[-1]


@contextmanager
def folder(kind: str) -> Iterator[Path]:
    """A scratch folder for this process, removed when the block ends, and by the next process's
    sweep if this one is killed first."""
    parent = root()
    if parent not in _swept_roots:
        sweep(parent)
        _swept_roots.add(parent)
    made = parent / f"{me()}-{kind}-{secrets.token_hex(6)}"
    made.mkdir(mode=0o700)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def stage_name() -> str:
    return f"{STAGE_PREFIX}{me()}-{secrets.token_hex(6)}"


def note_stage(scratch: Path, stage: Path, made: Path | None = None) -> None:
    """Note a stage folder made outside the temp folder, for the sweep to remove with `scratch`,
    and the first folder its run made for it (`made`: removed with its children if they are all
    empty). Noted before the stage is made, so there is no moment a kill would leave it unnoted."""
    with open(scratch / _NOTES, "a", encoding="utf-8") as notes:
        notes.write(f"{stage.resolve()}\t{made.resolve() if made else ''}\n")


def remove_empty(folder: Path, made: Path | None) -> None:
    """Remove `folder` and its parents up to `made`, each only if empty (None: nothing to remove)."""
    if made is None or not folder.is_relative_to(made):
        return
    for each in [folder, *folder.parents]:
        try:
            each.rmdir()
        except OSError:
            return
        if each == made:
            return


def sweep(parent: Path | None = None) -> list[Path]:
    """Remove the scratch folders (and the stages they note) of processes that have ended.
    Costs one directory listing and a /proc read per folder; returns what was removed."""
    parent = parent or root()
    removed = []
    for entry in sorted(parent.iterdir()) if parent.is_dir() else []:
        if not _gone(entry.name):
            continue
        owner = _OWNED.match(entry.name)[0]
        try:
            noted = (entry / _NOTES).read_text(encoding="utf-8").splitlines()
        except OSError:
            noted = []
        for line in noted:
            stage, _, made = line.partition("\t")
            stage = Path(stage)
            # Only a stage of the same dead process: a note never makes the sweep remove anything
            # else, but empty folders.
            if stage.name.startswith(f"{STAGE_PREFIX}{owner}") and stage.is_dir() and not stage.is_symlink():
                shutil.rmtree(stage, ignore_errors=True)
                removed.append(stage)
                remove_empty(stage.parent, Path(made) if made else None)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def sweep_stages(out: Path) -> list[Path]:
    """Remove the `.icp-out-*` stages in an output folder whose process has ended: those the temp
    folder's notes no longer reach (a reboot empties the temp folder, not the output folder)."""
    removed = []
    for stage in sorted(out.glob(f"{STAGE_PREFIX}*")) if out.is_dir() else []:
        if _gone(stage.name[len(STAGE_PREFIX):]) and stage.is_dir() and not stage.is_symlink():
            shutil.rmtree(stage, ignore_errors=True)
            removed.append(stage)
    return removed


# DuckDB's settings for every connection the engine opens, from the environment. Its own default
# memory limit is 80% of the machine, which a 10M-row sort or join will fill before it spills; the
# limit makes it spill to the temp directory instead, so a big file costs disk, not the machine.
MEMORY_LIMIT_ENV = "ICP_MEMORY_LIMIT"
TEMP_DIR_ENV = "ICP_TEMP_DIR"
_SIZE = re.compile(r"\s*\d+(?:\.\d+)?\s*(?:[kmgt]i?b?|b|bytes?)?\s*|\s*\d+(?:\.\d+)?\s*%\s*", re.IGNORECASE)


def duckdb_config(memory_limit: str | None = None, temp_directory: str | os.PathLike[str] | None = None
                  ) -> dict[str, str]:
    """The `config` of a DuckDB connection: `ICP_MEMORY_LIMIT` (as DuckDB writes sizes, "1GB",
    "512MB", or a share of the machine's memory, "50%"), else `memory_limit`, else DuckDB's own;
    `ICP_TEMP_DIR` for the files it spills to, else `temp_directory`, else DuckDB's own (beside a
    database file, `.tmp` in the working folder for one in memory)."""
    config = {}
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or memory_limit
    if limit:
        if not _SIZE.fullmatch(limit):
            from icp.errors import IcpError

            raise IcpError(f"{MEMORY_LIMIT_ENV}={limit!r}: write a size such as 1GB, 512MB or 50%.")
        if limit.endswith("%"):
            share = float(limit[:-1]) / 100
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
            limit = f"{max(64, int(total * share / 2**20))}MB" if total else None
        if limit:
            config["memory_limit"] = limit
    temp = os.environ.get(TEMP_DIR_ENV, "").strip() or temp_directory
    if temp:
        config["temp_directory"] = str(temp)
    return config
