"""Excel workbooks, read where a hostile one cannot reach the server.

The Excel reader (python-calamine) allocates for what a workbook declares and spans before anything
can look at it: a cell at XFD1048576 makes it allocate the whole grid, a sharedStrings part declaring
four billion strings makes it reserve room for them, a reference such as ``A99999999999`` wraps around
to a billion rows, and an allocation it cannot make aborts the process. So every workbook (xlsx and
the old binary xls) is opened in a child process whose address space and CPU time are limited
(``max_excel_mb``, ``max_excel_seconds``; the parent also kills it when the time is up), and for an
xlsx the child first scans what the workbook declares and holds, streamed from the zip in bounded
chunks, before the reader sees it:

* the sharedStrings part: the ``uniqueCount`` the reader reserves for, and ``count``, against the
  strings the part really holds;
* each sheet it is about to load: the ``dimension`` and every cell reference (or, for cells without
  one, the position the reader would give them) must lie on Excel's grid (A1 to XFD1048576), and the
  used range the reader would allocate (rows × columns between the first and the last cell with
  content) must stay within ``max_excel_cells``, as must the cells themselves; rows past
  ``max_rows`` are refused as they are met. A fast scan bounds all this from above in a few searches
  a chunk; only where its bounds pass a limit, or cells are written in an unusual way, does an
  exact scan look at every cell.

A sheet whose used range is huge but holds a few cells (A1 and XFD1048576) is refused with a sentence
that says so; reading only its real cells would need another reader. The child streams the rows back
on its stdout as Arrow record batches (``_row`` and every column as text, at most ``_BATCH_ROWS`` rows
each), so the parent's memory stays bounded and nothing is written to disk; a refusal comes back as a
line on its stderr. At most two children run at once. The workbook's sheet names are read from
``xl/workbook.xml`` in the parent (an xlsx) or by a child (an xls).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from xml.parsers import expat

from icp.errors import InputFileError, LimitExceeded

if TYPE_CHECKING:
    import pyarrow as pa

    from icp.limits import Limits

DAMAGED_WORKBOOK = "not a valid Excel workbook (the file is damaged or truncated)."

_MB = 1024 * 1024
# Excel's grid: no sheet has a cell beyond XFD1048576.
_EXCEL_ROWS = 1_048_576
_EXCEL_COLUMNS = 16_384
_LAST_CELL = "XFD1048576"
_BATCH_ROWS = 10_000
_HEADER_SCAN_ROWS = 50
_CHUNK_BYTES = _MB
# No tag of a real workbook comes near this; a longer one is a file built to make the scan buffer it.
_MAX_TAG_BYTES = _MB
# workbook.xml lists its sheets first, in a few kB; rels files are as small.
_MAX_LIST_BYTES = 16 * _MB
_ERROR_MARK = b"icp-excel-refused "
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
# The reader looks for the shared strings at this one path, whatever the relationships say.
_SHARED_STRINGS = "xl/sharedStrings.xml"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
# Each child may take max_excel_mb: a few at a time, so that many uploads at once cannot add up to
# more memory than the machine has. The others wait for a turn.
_CHILDREN = threading.BoundedSemaphore(2)


# --- the parent -------------------------------------------------------------------------------


class SheetHeader(NamedTuple):
    """What the child found before the rows: the sheet read, all sheets, the header row and the
    column names made of it."""

    sheet: str
    sheets: list[str]
    header_row: int
    columns: list[str]


def list_sheets(path: Path, name: str, fmt: str, limits: Limits) -> list[str]:
    """Sheet names in workbook order: from ``xl/workbook.xml`` for an xlsx, from a child for an xls."""
    if fmt == "xlsx":
        try:
            with zipfile.ZipFile(path) as archive:
                return [sheet for sheet, _, _ in _workbook_sheets(archive, name)]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as err:
            raise InputFileError(name, DAMAGED_WORKBOOK) from err
    with _Child(path, name, fmt, None, limits, "sheets") as child:
        return child.sheet_names()


@contextlib.contextmanager
def read_sheet(
    path: Path, name: str, fmt: str, sheet: str | None, limits: Limits,
    name_columns: Callable[[list[str | None]], list[str]],
) -> Iterator[_Child]:
    """A child reading the sheet asked for (else the first visible worksheet with data): its
    ``header()``, whose cells ``name_columns`` makes column names of, then ``batches()``; whatever
    happens, the child is gone when the block ends."""
    with _Child(path, name, fmt, sheet, limits, "read", name_columns) as child:
        yield child


class _Child:
    """One child process reading one workbook, killed when its time is up."""

    def __init__(self, path: Path, name: str, fmt: str, sheet: str | None, limits: Limits, mode: str,
                 name_columns: Callable[[list[str | None]], list[str]] | None = None):
        self._name = name
        self._limits = limits
        self._name_columns = name_columns
        self._expired = threading.Event()
        self._reader = None
        self._columns: list[str] = []
        request = {"path": str(path), "name": name, "format": fmt, "sheet": sheet, "mode": mode,
                   "limits": limits.model_dump()}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        # A backtrace would only fill the error file; one arena per thread would reserve address space.
        env.update(RUST_BACKTRACE="0", MALLOC_ARENA_MAX="2", ARROW_DEFAULT_MEMORY_POOL="system")
        _CHILDREN.acquire()
        try:
            # Unlinked at once: nothing is left on disk, whatever becomes of either process.
            self._stderr = tempfile.TemporaryFile(prefix="icp-excel-")
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "icp.data.excel", json.dumps(request)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                    close_fds=True,
                )
            except BaseException:
                self._stderr.close()
                raise
        except BaseException:
            _CHILDREN.release()
            raise
        self._timer = threading.Timer(limits.max_excel_seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def __enter__(self) -> _Child:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._timer.cancel()
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process.stdout.close()
            self._stderr.close()
        finally:
            _CHILDREN.release()

    def _expire(self) -> None:
        self._expired.set()
        with contextlib.suppress(OSError):
            self._process.kill()

    def sheet_names(self) -> list[str]:
        out = self._process.stdout.read(_MAX_LIST_BYTES)
        if self._process.wait() != 0:
            raise self._failure()
        try:
            names = json.loads(out)
        except ValueError as err:
            raise self._failure() from err
        return [str(n) for n in names]

    def header(self) -> SheetHeader:
        import pyarrow as pa

        try:
            self._reader = pa.ipc.open_stream(self._process.stdout)
            found = json.loads(self._reader.schema.metadata[b"icp"])
        except (pa.ArrowException, OSError, ValueError, KeyError, TypeError) as err:
            self._process.wait()
            raise self._failure() from err
        self._columns = self._name_columns(found["header"])
        return SheetHeader(found["sheet"], found["sheets"], found["header_row"], self._columns)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The data rows, numbered from 1; raises the child's refusal when it did not end well."""
        import pyarrow as pa

        if self._reader is None:
            self.header()
        try:
            yield from self._reader
        except (pa.ArrowException, OSError) as err:
            self._process.wait()
            raise self._failure() from err
        if self._process.wait() != 0:
            raise self._failure()

    def _failure(self) -> InputFileError:
        """One sentence for a child that refused the file, ran out of memory or time, or crashed."""
        code = self._process.poll()
        self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - _MB))
        err = self._stderr.read()
        for line in reversed(err.splitlines()):
            if line.startswith(_ERROR_MARK):
                with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                    found = json.loads(line[len(_ERROR_MARK):])
                    if found.get("memory"):
                        break
                    if "long_cell" in found:
                        column, length = found["long_cell"]
                        # The sentence reader._check_cells gives for a long cell of a CSV or Parquet file.
                        return LimitExceeded(
                            self._name,
                            f"a cell in column '{self._columns[column]}' has {length:,} characters, over the "
                            f"limit of {self._limits.max_cell_chars:,}.",
                        )
                    kind = LimitExceeded if found["limit"] else InputFileError
                    return kind(self._name, found["problem"])
        else:
            if self._expired.is_set() or code == -signal.SIGXCPU:
                return LimitExceeded(
                    self._name,
                    f"reading the workbook takes longer than the limit of {self._limits.max_excel_seconds:,g} s; "
                    "save the sheet as CSV and upload that instead.",
                )
            if not _ran_out_of_memory(err):
                return InputFileError(self._name, DAMAGED_WORKBOOK)
        return LimitExceeded(
            self._name,
            f"reading the workbook takes more memory than the limit of {self._limits.max_excel_mb:,g} MB; "
            "save the sheet as CSV and upload that instead.",
        )


def _ran_out_of_memory(stderr: bytes) -> bool:
    return any(sign in stderr for sign in (b"MemoryError", b"memory allocation of", b"Cannot allocate memory",
                                           b"failed to map segment", b"can't start new thread", b"out of memory",
                                           b"std::bad_alloc"))


# --- what an xlsx declares and holds, scanned before the reader sees it -------------------------


class _Refused(Exception):
    """A refusal found in the child: the problem sentence, and whether a limit was the reason."""

    def __init__(self, problem: str, limit: bool = False, long_cell: tuple[int, int] | None = None):
        super().__init__(problem)
        self.problem = problem
        self.limit = limit
        self.long_cell = long_cell


def _damaged() -> _Refused:
    return _Refused(DAMAGED_WORKBOOK)


def _chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """A part's bytes in chunks of about a megabyte, each cut after a complete tag.

    zipfile never inflates more than the size the archive declares (it stops there and checks the
    CRC), and the parent has checked the declared sizes against max_inflated_mb.
    """
    with archive.open(member) as stream:
        tail = b""
        first = True
        while chunk := stream.read(_CHUNK_BYTES):
            if first:
                first = False
                # Parts in UTF-16 or UTF-32 would hide every tag from a byte scan; Excel writes UTF-8.
                if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:4]:
                    raise _damaged()
            data = tail + chunk
            cut = data.rfind(b"<")
            if cut < 0 or data.find(b">", cut) >= 0:
                cut = len(data)
            tail = data[cut:]
            if len(tail) > _MAX_TAG_BYTES:
                raise _damaged()
            yield data[:cut]
        if tail:
            yield tail


# quick-xml, under the reader, matches elements by local name, whatever the prefix.
_PREFIX = rb"(?:[^\s/<>:]*:)?"
_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*)"""
_TAG = re.compile(rb"<(/?)" + _PREFIX + rb"(row|c|dimension)(?=[\s/>])" + _ATTRS + rb">")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension(?=[\s/>])" + _ATTRS + rb">")
_ROOT = re.compile(rb"<([^\s/<>!?:]*:)?worksheet[\s/>]")
_SST = re.compile(rb"<" + _PREFIX + rb"sst(?=[\s/>])" + _ATTRS + rb">")
_SI = re.compile(rb"<" + _PREFIX + rb"si(?=[\s/>])")
_COLON_CELL = re.compile(rb":c[\s/>]")
_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")


def _names(archive: zipfile.ZipFile) -> set[str]:
    return {info.filename for info in archive.infolist()}


_ATTRIBUTE = {key: re.compile(rb"(?:^|\s)" + key + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""")
              for key in (b"r", b"ref", b"count", b"uniqueCount")}


def _attribute(attrs: bytes, key: bytes) -> bytes | None:
    found = _ATTRIBUTE[key].search(attrs)
    if found is None:
        return None
    return found.group(1) if found.group(1) is not None else found.group(2)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_name(row: int, column: int) -> str:
    return f"{_column_letters(column)}{row}"


def _position(ref: bytes) -> tuple[int, int] | None:
    """(row, column), both from 1, of a reference such as ``B7``; None if it is not one."""
    found = _REF.fullmatch(ref)
    if found is None or not found.group(1) or not found.group(2) or int(found.group(2)) == 0:
        return None
    return int(found.group(2)), _column_number(found.group(1))


@dataclass
class _Extent:
    """The cells with content seen so far in one sheet, checked against the limits as they come."""

    sheet: str
    limits: dict
    values: int = 0
    rows: int = 0
    last_row: int = 0
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def off_grid(self, row: int, column: int, what: str = "has a cell at") -> None:
        if row > _EXCEL_ROWS or column > _EXCEL_COLUMNS:
            raise _Refused(
                f"sheet '{self.sheet}' {what} {_cell_name(row, column)}, beyond the last cell an Excel sheet "
                f"can have ({_LAST_CELL}); the file is damaged."
            )

    def bound(self, bottom: int, right: int, values: int) -> None:
        """At most ``values`` cells with content, all within A1 and the given corner."""
        self.off_grid(bottom, right)
        self.top = self.left = 1
        self.bottom, self.right, self.values, self.rows = bottom, right, values, bottom
        self.check()

    def add(self, top: int, bottom: int, left: int, right: int, values: int, rows: set[int]) -> None:
        """Cells with content in rows ``rows``, within the given bounds; refuses past a limit."""
        self.off_grid(bottom, right)
        if self.values == 0:
            self.top, self.bottom, self.left, self.right = top, bottom, left, right
        else:
            self.top, self.bottom = min(self.top, top), max(self.bottom, bottom)
            self.left, self.right = min(self.left, left), max(self.right, right)
        self.values += values
        # Rows come in order in every real file; a row split over two chunks is counted once.
        self.rows += len(rows) - (self.last_row in rows)
        self.last_row = max(rows)
        self.check()

    def check(self) -> None:
        limit = self.limits["max_excel_cells"]
        height, width = self.bottom - self.top + 1, self.right - self.left + 1
        if height * width > limit:
            spans = f"{_cell_name(self.top, self.left)}:{_cell_name(self.bottom, self.right)}"
            raise _Refused(
                f"sheet '{self.sheet}' spans {spans}, {height * width:,} cells, over the limit of {limit:,} for "
                "one sheet; delete what lies outside the table, or save the sheet as CSV and upload that.",
                limit=True,
            )
        if self.values > limit:
            raise _Refused(
                f"sheet '{self.sheet}' holds more than {limit:,} cells, the limit for one sheet; save the sheet "
                "as CSV and upload that.",
                limit=True,
            )
        _check_columns(width, self.limits)
        # The header and the title rows above it are rows too, hence the margin; the rows read are
        # counted exactly as they are sent.
        if self.rows > self.limits["max_rows"] + _HEADER_SCAN_ROWS:
            raise _too_many_rows(f"sheet '{self.sheet}'", self.limits)


class _SlowScan(Exception):
    """A chunk the fast scan cannot vouch for."""


def _scan_sheet(archive: zipfile.ZipFile, member: str, sheet: str, limits: dict) -> _Extent:
    """What the reader would allocate for a sheet, refusing as soon as a limit is passed.

    The fast scan bounds the cells from above (empty ones count, the range starts at A1); where those
    bounds pass a limit, a scan of every cell decides, and where a cell is written in a way the
    first two do not know, a scan tag by tag."""
    try:
        try:
            return _scan_fast(archive, member, sheet, limits)
        except _Refused:
            return _scan_cells(archive, member, sheet, limits)
    except _SlowScan:
        return _scan_slow(archive, member, sheet, limits)


def _check_dimension(chunk: bytes, extent: _Extent) -> None:
    if b"dimension" not in chunk:
        return
    for found in _DIMENSION.finditer(chunk):
        ref = _attribute(found.group(1), b"ref")
        corners = [_position(part) for part in (ref or b"").split(b":")]
        if not ref or None in corners or len(corners) > 2:
            raise _damaged()
        for row, column in corners:
            extent.off_grid(row, column, "declares its range as reaching")


def _scan_fast(archive: zipfile.ZipFile, member: str, sheet: str, limits: dict) -> _Extent:
    """Bounds that hold when every cell is written ``<c r="B7" ...>``, as Excel and the common
    libraries write them: the lowest row and the rightmost column of any cell (empty ones too),
    the number of cells. Each chunk costs a few searches that find nothing in a real file (the last
    cell of a chunk is its lowest, so only a cell below it or right of the rightmost column so far
    is looked for), not one match a cell. Raises _SlowScan on a chunk with a cell written otherwise."""
    extent = _Extent(sheet, limits)
    bottom = right = values = 0
    opening = other = foreign = None
    in_data = False
    for chunk in _chunks(archive, member):
        if opening is None:
            root = _ROOT.search(chunk)
            tag = b"<" + ((root.group(1) or b"") if root else b"") + b"c"
            opening = tag + b' r="'
            other = re.compile(re.escape(tag) + rb'(?! r=")[\s/>]')
            foreign = re.compile(rb"<(?!" + re.escape(tag[1:]) + rb"[\s/>])[^\s/<>:]*:c[\s/>]")
        if not in_data:
            # The reader takes the dimension from before the sheet's data only.
            _check_dimension(chunk, extent)
            in_data = b"sheetData" in chunk
        if other.search(chunk) or (_COLON_CELL.search(chunk) and foreign.search(chunk)):
            raise _SlowScan
        cells = chunk.count(opening)
        if not cells:
            continue
        last = _REF.match(chunk, chunk.rfind(opening) + len(opening))
        if last and last.group(2):
            bottom = max(bottom, int(last.group(2)))
        while _beyond(opening, bottom, right).search(chunk):
            before = bottom, right
            bottom = max([bottom, *map(int, _below(opening, bottom).findall(chunk))])
            right = max([right, *map(_column_number, _right_of(opening, right).findall(chunk))])
            if (bottom, right) == before:  # never, but a scan that cannot move on must not spin
                raise _SlowScan
        values += cells
        extent.bound(bottom, right, values)
    return extent


def _scan_cells(archive: zipfile.ZipFile, member: str, sheet: str, limits: dict) -> _Extent:
    """Every cell written ``<c r="B7" ...>``, one match each (several times the fast scan's time),
    leaving out those written ``<c .../>``, which hold nothing."""
    extent = _Extent(sheet, limits)
    cell = other = foreign = None
    for chunk in _chunks(archive, member):
        if cell is None:
            root = _ROOT.search(chunk)
            tag = b"<" + ((root.group(1) or b"") if root else b"") + b"c"
            cell = re.compile(re.escape(tag) + rb' r="([A-Za-z]+)([0-9]+)"[^>]*?(/?)>')
            other = re.compile(re.escape(tag) + rb'(?! r="[A-Za-z]+[0-9]+")[\s/>]')
            foreign = re.compile(rb"<(?!" + re.escape(tag[1:]) + rb"[\s/>])[^\s/<>:]*:c[\s/>]")
        _check_dimension(chunk, extent)
        if other.search(chunk) or (_COLON_CELL.search(chunk) and foreign.search(chunk)):
            raise _SlowScan
        filled = [(letters, digits) for letters, digits, empty in cell.findall(chunk) if not empty]
        if not filled:
            continue
        columns = {_column_number(letters) for letters in set(map(itemgetter(0), filled))}
        rows = set(map(int, set(map(itemgetter(1), filled))))
        if 0 in rows:
            raise _damaged()
        extent.add(min(rows), max(rows), min(columns), max(columns), len(filled), rows)
    return extent


@functools.lru_cache(maxsize=64)
def _beyond(opening: bytes, row: int, column: int) -> re.Pattern:
    """A cell reference below ``row`` or right of ``column``: one search a chunk finds none."""
    return re.compile(re.escape(opening) + rb"(?:[A-Za-z]*+0*+" + _number_above(row) + rb'"|'
                      + _letters_above(column) + rb"0*+[1-9])")


@functools.lru_cache(maxsize=64)
def _below(opening: bytes, row: int) -> re.Pattern:
    """References to a row after ``row``; the reader reads leading zeros and letters of either case."""
    return re.compile(re.escape(opening) + rb"[A-Za-z]*+0*+(" + _number_above(row) + rb')"')


@functools.lru_cache(maxsize=64)
def _right_of(opening: bytes, column: int) -> re.Pattern:
    return re.compile(re.escape(opening) + rb"(" + _letters_above(column) + rb")0*+[1-9]")


def _number_above(number: int) -> bytes:
    """A pattern for the decimal numbers, without leading zeros, greater than ``number``."""
    digits = str(number)
    choices = [rb"[1-9][0-9]{%d,}" % len(digits)]
    for i, digit in enumerate(digits):
        if digit != "9":
            choices.append(digits[:i].encode() + b"[%d-9]" % (int(digit) + 1) + rb"[0-9]" * (len(digits) - i - 1))
    return b"(?:" + b"|".join(choices) + b")"


def _letters_above(column: int) -> bytes:
    """A pattern for the letters, in either case, of the columns after column ``column``."""
    if column == 0:
        return rb"[A-Za-z]+"
    letters = _column_letters(column)
    choices = [rb"[A-Za-z]{%d,}" % (len(letters) + 1)]
    for i, letter in enumerate(letters):
        if letter != "Z":
            after = chr(ord(letter) + 1)
            choices.append(b"".join(f"[{c}{c.lower()}]".encode() for c in letters[:i])
                           + f"[{after}-Z{after.lower()}-z]".encode() + rb"[A-Za-z]" * (len(letters) - i - 1))
    return b"(?:" + b"|".join(choices) + b")"


def _scan_slow(archive: zipfile.ZipFile, member: str, sheet: str, limits: dict) -> _Extent:
    """Tag by tag, placing cells without a reference where the reader would (the row's ``r``, else
    the row after the last; the column after the last cell of the row), and leaving out the cells
    written as ``<c .../>``, which hold nothing."""
    extent = _Extent(sheet, limits)
    row_index = column_index = 1
    for chunk in _chunks(archive, member):
        rows: set[int] = set()
        values = bottom = right = 0
        top = left = math.inf
        for closing, tag, attrs in _TAG.findall(chunk):
            empty = attrs.endswith(b"/") or attrs.rstrip().endswith(b"/")
            if tag == b"row":
                if closing or empty:
                    row_index, column_index = row_index + 1, 1
                if not closing and (ref := _attribute(attrs, b"r")) is not None:
                    found = _REF.fullmatch(ref)
                    if found is None or not found.group(2) or int(found.group(2)) == 0:
                        raise _damaged()
                    row_index = int(found.group(2)) + empty
                continue
            if closing:
                continue
            if tag == b"dimension":
                _check_dimension(b"<dimension" + attrs + b">", extent)
                continue
            ref = _attribute(attrs, b"r")
            if ref is None:
                row, column = row_index, column_index
            elif (position := _position(ref)) is None:
                raise _damaged()
            else:
                row, column = position
            column_index = column + 1
            if row > _EXCEL_ROWS or column > _EXCEL_COLUMNS:
                extent.off_grid(row, column)
            if not empty:
                values += 1
                rows.add(row)
                top, bottom = min(top, row), max(bottom, row)
                left, right = min(left, column), max(right, column)
        if values:
            extent.add(top, bottom, left, right, values, rows)
    return extent


def _scan_shared_strings(archive: zipfile.ZipFile, sheets: int, limits: dict) -> None:
    """The reader reserves room for ``uniqueCount`` strings before reading one: a declared count may
    not pass what the part holds, nor the cells the workbook's sheets may have."""
    if _SHARED_STRINGS not in _names(archive):
        return
    limit = limits["max_excel_cells"]
    declared: dict[bytes, bytes] = {}
    strings = 0
    found_sst = False
    for chunk in _chunks(archive, _SHARED_STRINGS):
        if not found_sst and (sst := _SST.search(chunk)):
            found_sst = True
            for key in (b"uniqueCount", b"count"):
                if (value := _attribute(sst.group(1), key)) is not None:
                    declared[key] = value
        strings += len(_SI.findall(chunk))
        if strings > limit:
            raise _Refused(f"the workbook holds more than {limit:,} shared strings, more than one sheet may have "
                           "cells; save the sheet as CSV and upload that.", limit=True)
    for key, most in ((b"uniqueCount", max(strings, limit)), (b"count", max(strings, limit * max(sheets, 1)))):
        value = declared.get(key, b"0").strip()
        # A count that is not a number is one the reader cannot reserve for.
        if value.isdigit() and int(value) > most:
            raise _Refused(f"the workbook declares {int(value):,} shared strings but holds {strings:,}; "
                           "the file is damaged.")


# --- workbook.xml and its relationships ---------------------------------------------------------


def _parse(archive: zipfile.ZipFile, member: str, start: Callable[[str, dict], None],
           end: Callable[[str], bool]) -> None:
    """Feed a small XML part to expat until ``end`` says stop; no DTD, at most _MAX_LIST_BYTES."""
    parser = expat.ParserCreate()

    def no_dtd(*_args) -> None:
        raise _damaged()

    done = False

    def on_end(tag: str) -> None:
        nonlocal done
        done = done or end(tag.split(":", 1)[-1])

    parser.StartDoctypeDeclHandler = no_dtd
    parser.StartElementHandler = lambda tag, attrs: start(tag.split(":", 1)[-1], attrs)
    parser.EndElementHandler = on_end
    read = 0
    try:
        with archive.open(member) as stream:
            while not done and (chunk := stream.read(64 * 1024)):
                read += len(chunk)
                if read > _MAX_LIST_BYTES:
                    raise _damaged()
                parser.Parse(chunk, False)
            if not done:
                parser.Parse(b"", True)
    except (expat.ExpatError, KeyError) as err:
        raise _damaged() from err


def _workbook_sheets(archive: zipfile.ZipFile, name: str) -> list[tuple[str, str | None, str]]:
    """(name, relationship id, state) of each sheet in ``xl/workbook.xml``, in workbook order."""
    sheets = []

    def start(tag: str, attrs: dict) -> None:
        if tag == "sheet":
            rid = attrs.get("r:id", attrs.get("relationships:id"))
            sheets.append((attrs.get("name", ""), rid, attrs.get("state", "visible")))

    try:
        if _WORKBOOK not in _names(archive):
            raise _damaged()
        _parse(archive, _WORKBOOK, start, lambda tag: tag == "sheets")
    except _Refused as refused:
        raise InputFileError(name, refused.problem) from refused
    return sheets


def _sheet_parts(archive: zipfile.ZipFile, name: str) -> dict[str, str]:
    """Each sheet's part in the archive, found as the reader finds it."""
    targets: dict[str, str] = {}

    def start(tag: str, attrs: dict) -> None:
        if tag == "Relationship" and "Id" in attrs:
            targets[attrs["Id"]] = attrs.get("Target", "")

    if _WORKBOOK_RELS not in _names(archive):
        raise _damaged()
    _parse(archive, _WORKBOOK_RELS, start, lambda tag: False)
    parts = {}
    for sheet, rid, _ in _workbook_sheets(archive, name):
        target = targets.get(rid or "")
        if target is not None:
            parts[sheet] = target[1:] if target.startswith("/xl/") else (
                target if target.startswith("xl/") else f"xl/{target}")
    return parts


# --- the child --------------------------------------------------------------------------------


def _check_columns(count: int, limits: dict) -> None:
    if count > limits["max_columns"]:
        raise _Refused(f"the file has {count:,} columns, over the limit of {limits['max_columns']:,}.", limit=True)


def _too_many_rows(where: str, limits: dict) -> _Refused:
    return _Refused(f"{where} has more than {limits['max_rows']:,} data rows, the limit.", limit=True)


def _limit_resources(limits: dict) -> None:
    memory = int(limits["max_excel_mb"] * _MB)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    seconds = math.ceil(limits["max_excel_seconds"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    # An abort must not leave a core file of up to max_excel_mb in the server's folder.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child_main(argv: Sequence[str]) -> int:
    request = json.loads(argv[1])
    limits = request["limits"]
    # Loaded before the limits, so that a low one stops the reading, not the loading of the reader.
    import python_calamine as calamine

    _limit_resources(limits)
    try:
        try:
            if request["mode"] == "sheets":
                with calamine.CalamineWorkbook.from_path(request["path"]) as workbook:
                    sys.stdout.write(json.dumps(list(workbook.sheet_names)))
                return 0
            _child_read(request, limits, calamine)
            return 0
        except calamine.PasswordError as err:
            raise _Refused("the workbook is password-protected; save it without a password and upload "
                           "again.") from err
        except (calamine.CalamineError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError,
                ValueError, NotImplementedError, InputFileError) as err:
            raise _damaged() from err
    except _Refused as refused:
        found = {"problem": refused.problem, "limit": refused.limit}
        _report(found | ({"long_cell": refused.long_cell} if refused.long_cell else {}))
    except MemoryError:
        _report({"memory": True})
    except BrokenPipeError:
        pass  # the parent stopped reading: it has its answer already
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 - a panic in the reader arrives as a BaseException
        if _ran_out_of_memory(repr(err).encode()):
            _report({"memory": True})
        else:
            _report({"problem": DAMAGED_WORKBOOK, "limit": False, "detail": repr(err)[:200]})
    return 3


def _report(found: dict) -> None:
    sys.stderr.buffer.write(_ERROR_MARK + json.dumps(found).encode() + b"\n")
    sys.stderr.flush()


def _child_read(request: dict, limits: dict, calamine) -> None:
    path, fmt, sheet = request["path"], request["format"], request["sheet"]
    archive = parts = None
    if fmt == "xlsx":
        archive = zipfile.ZipFile(path)
        parts = _sheet_parts(archive, request["name"])
        _scan_shared_strings(archive, sum(p.startswith("xl/worksheets/") for p in parts.values()), limits)
    workbook = calamine.CalamineWorkbook.from_path(path)

    def load(sheet_name: str):
        if archive is not None:
            if sheet_name not in parts or parts[sheet_name] not in _names(archive):
                raise _damaged()
            if _scan_sheet(archive, parts[sheet_name], sheet_name, limits).values == 0:
                return None
        _import_arrow_meanwhile()
        return workbook.get_sheet_by_name(sheet_name)

    worksheet = _choose_sheet(workbook, sheet, load, calamine)
    where = f"sheet '{worksheet.name}'"
    _check_columns(worksheet.width, limits)
    found = _split_header(worksheet.iter_rows())
    if found is None:
        raise _Refused(f"{where} is empty.")
    header_index, header, data_rows = found
    header_texts = [_cell_text(cell) for cell in header]
    for text in header_texts:
        if text is not None and len(text) > limits["max_cell_chars"]:
            raise _Refused(f"a header has {len(text):,} characters, over the limit of "
                           f"{limits['max_cell_chars']:,}.", limit=True)
    meta = {"sheet": worksheet.name, "sheets": list(workbook.sheet_names), "header_row": header_index + 1,
            "header": header_texts}
    _write_rows(data_rows, len(header), meta, where, limits)


@functools.cache
def _import_arrow_meanwhile() -> None:
    """Import pyarrow (a quarter of a second) while the reader loads a sheet without the GIL; the
    import in _write_rows waits for this one, or does it again to raise what stopped it."""

    def work() -> None:
        with contextlib.suppress(BaseException):
            import pyarrow.compute  # noqa: F401
            import pyarrow.ipc  # noqa: F401

    # Without memory for a thread's stack the import happens later, in the main thread.
    with contextlib.suppress(RuntimeError):
        threading.Thread(target=work, daemon=True).start()


def _choose_sheet(workbook, sheet: str | None, load: Callable, calamine):
    """The sheet asked for, or else the first visible worksheet that has data."""
    if sheet is not None:
        if sheet not in workbook.sheet_names:
            listed = ", ".join(f"'{s}'" for s in workbook.sheet_names)
            raise _Refused(f"there is no sheet '{sheet}'; the sheets are {listed}.")
        worksheet = load(sheet)
        if worksheet is None:
            raise _Refused(f"sheet '{sheet}' is empty.")
        return worksheet
    metadata = sorted(
        (m for m in workbook.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet),
        key=lambda m: m.visible != calamine.SheetVisibleEnum.Visible,
    )
    for meta in metadata:
        worksheet = load(meta.name)
        if worksheet is not None and worksheet.height:
            return worksheet
    raise _Refused("the workbook has no sheet with data.")


def _write_rows(rows: Iterable[list], width: int, meta: dict, where: str, limits: dict) -> None:
    """Send the non-blank rows as Arrow batches of text, numbered from 1, on stdout."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = ["_row", *(f"c{i}" for i in range(width))]
    schema = pa.schema([pa.field("_row", pa.int64()), *(pa.field(n, pa.string()) for n in names[1:])],
                       metadata={"icp": json.dumps(meta)})
    count = 0
    rows = iter(rows)
    with pa.ipc.new_stream(sys.stdout.buffer, schema) as stream:
        while batch := list(islice(rows, _BATCH_ROWS)):
            texts = [_column_texts(column) for column in zip(*batch, strict=True)]
            # Blank rows (no cell with text) are skipped, as in CSV.
            filled = functools.reduce(pc.or_, [pc.is_valid(column) for column in texts])
            kept = pc.sum(filled).as_py() or 0
            if kept < len(batch):
                texts = [column.filter(filled) for column in texts]
            if count + kept > limits["max_rows"]:
                raise _too_many_rows(where, limits)
            # Checked here too so that a cell of a gigabyte never reaches the server.
            for position, column in enumerate(texts):
                longest = pc.max(pc.utf8_length(column)).as_py()
                if longest is not None and longest > limits["max_cell_chars"]:
                    raise _Refused("a cell is too long.", limit=True, long_cell=(position, longest))
            numbers = pa.array(range(count + 1, count + kept + 1), pa.int64())
            stream.write_batch(pa.RecordBatch.from_arrays([numbers, *texts], schema=schema))
            count += kept


def _split_header(rows: Iterator[list]) -> tuple[int, list, Iterator[list]] | None:
    """Find the header among the first rows, skipping title rows; return it and the rows after it.

    ``iter_rows`` starts at the sheet's first row, so a row's index is its row number - 1.
    """
    sample: list[tuple[int, list]] = []
    for index, row in enumerate(rows):
        if _filled(row):
            sample.append((index, row))
            if len(sample) == _HEADER_SCAN_ROWS:
                break
    if not sample:
        return None
    position = _header_position([row for _, row in sample])
    header_index, header = sample[position]
    return header_index, header, chain((row for _, row in sample[position + 1 :]), rows)


def _header_position(rows: list[list]) -> int:
    """First row about as wide as the table and mostly text; a title row is one or two cells."""
    width = max(_filled(row) for row in rows)
    need = 1 if width == 1 else max(2, math.ceil(width / 2))
    wide = [i for i, row in enumerate(rows) if _filled(row) >= need]
    texty = [i for i in wide if 2 * _texts(rows[i]) > _filled(rows[i])]
    return (texty or wide)[0]


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _filled(row: Sequence) -> int:
    return sum(not _is_blank(cell) for cell in row)


def _texts(row: Sequence) -> int:
    return sum(isinstance(cell, str) and not _is_blank(cell) for cell in row)


def _column_texts(column: Sequence) -> pa.Array:
    """``_cell_text`` of every cell, as an Arrow array. A column of only text, only numbers or only
    dates (the common case) is converted as a whole, several times faster than cell by cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = set(map(type, column))
    if kinds == {str}:
        texts = pa.array(column, pa.string())
        return pc.if_else(pc.equal(texts, ""), None, texts)
    if kinds == {float}:
        values = pa.array(column, pa.float64())
        # A whole number as an integer, as str(int(x)) writes it; anything else as repr(x) writes it.
        whole = pc.fill_null(pc.and_(pc.equal(pc.trunc(values), values), pc.less(pc.abs(values), 1e16)), False)
        others: list[str | None] = [None] * len(column)
        for i in pc.indices_nonzero(pc.invert(whole)).to_pylist():
            others[i] = repr(column[i])
        integers = pc.cast(pc.cast(pc.if_else(whole, values, 0.0), pa.int64()), pa.string())
        return pc.if_else(whole, integers, pa.array(others, pa.string()))
    if kinds == {dt.date}:
        return pc.cast(pa.array(column, pa.date32()), pa.string())
    return pa.array([_cell_text(cell) for cell in column], pa.string())


def _cell_text(cell: object) -> str | None:
    """A cell as the text a user sees in it: whole numbers without '.0', dates in ISO format."""
    if isinstance(cell, str):
        return cell or None
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        # Excel stores every number as a double; 2019.0 was typed as 2019.
        return str(int(cell)) if cell.is_integer() and abs(cell) < 1e16 else repr(cell)
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    return str(cell)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv))
