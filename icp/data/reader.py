"""Read one uploaded spreadsheet into a DuckDB temp table of raw text, never changing a value.

The table has ``_row`` (1-based data row number, in file order) followed by every column of the
file as VARCHAR. Everything that can go wrong with a file ends as an ``InputFileError`` (or its
``LimitExceeded`` subclass) whose message names the file, and a failed read leaves no table behind.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import shutil
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Literal, NamedTuple

import duckdb

from icp.data import excel
from icp.data.catalog import registered
from icp.errors import InputFileError, LimitExceeded
from icp.frozen import Frozen
from icp.limits import Limits
from icp.normalize import quote_ident as _q

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls")
SUPPORTED_EXTENSIONS = (*TEXT_EXTENSIONS, *EXCEL_EXTENSIONS, ".parquet")

Format = Literal["csv", "xlsx", "xls", "parquet"]

_MB = 1024 * 1024
_HEAD_BYTES = 64 * 1024
_CHUNK_BYTES = 1024 * 1024
# DuckDB's default max_line_size; _max_line_bytes raises it along with max_cell_chars.
_MIN_LINE_BYTES = 2_000_000
# A real xlsx deflates 5-50x; a member this large inflating this much is a zip bomb.
_BOMB_MEMBER_BYTES = 10 * _MB
_BOMB_RATIO = 200
# A workbook's zip table of contents takes a few kB; this is room for 40,000 parts.
_MAX_ZIP_DIRECTORY = 4 * _MB
_ZIP_END_SEARCH = 22 + 65_535

_DAMAGED_WORKBOOK = excel.DAMAGED_WORKBOOK
_DAMAGED_PARQUET = "not a valid Parquet file (the file is damaged or truncated)."

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET_MAGIC = b"PAR1"
# DuckDB expands these in a path as a glob, which could read other files.
_GLOB_CHARS = re.compile(r"[*?\[\]{}]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_DELIMITERS = ",;\t|"
# What DuckDB reads natively. Others go through a UTF-8 copy: cp1252, and UTF-16, which DuckDB 2.0
# reads as UCS-2 (it refuses characters outside the BMP such as emoji).
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "latin-1": "latin-1"}
# How sniff_csv says it found no quote or escape character (DuckDB 1.x said it with a NUL).
_EMPTY = ("(empty)", "", "\x00")


class ReadResult(Frozen):
    """What was read: the format and dialect found, and the shape of the table created."""

    file: str
    format: Format
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    columns: list[str]
    rows: int


class _Dialect(NamedTuple):
    """How DuckDB is to read a CSV file, in the order of the placeholders in ``_CSV_OPTIONS``."""

    delimiter: str
    quote: str
    escape: str
    skip: int
    encoding: str
    max_line_size: int


def list_sheets(path: str | os.PathLike[str], display_name: str | None = None) -> list[str]:
    """Sheet names of an Excel workbook, in workbook order; empty for CSV and Parquet files."""
    path = Path(path)
    name = display_name or path.name
    limits = Limits.from_env()
    try:
        fmt = _inspect(path, name, limits)
        if fmt not in ("xlsx", "xls"):
            return []
        if fmt == "xlsx":
            _check_zip(path, name, limits)
        return excel.list_sheets(path, name, fmt, limits)
    except Exception as err:
        translated = _translate(err, name, limits)
        if translated is None:
            raise
        raise translated from err


def read_into(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> ReadResult:
    """Create (or replace) temp table ``table`` in ``con`` holding the file's rows as text."""
    path = Path(path)
    name = display_name or path.name
    limits = limits or Limits.from_env()
    try:
        fmt = _inspect(path, name, limits)
        if fmt == "csv":
            result = _read_csv(con, table, path, name, limits)
        elif fmt == "parquet":
            result = _read_parquet(con, table, path, name, limits)
        else:
            result = _read_excel(con, table, path, name, fmt, sheet, limits)
        _check_cells(con, table, name, result.columns, limits)
        return result
    except BaseException as err:
        # A failed re-upload must not leave the previous upload's rows looking current.
        _drop_table(con, table)
        translated = _translate(err, name, limits) if isinstance(err, Exception) else None
        if translated is None:
            raise
        raise translated from err


# --- the file as a whole ---------------------------------------------------------------------


def _inspect(path: Path, name: str, limits: Limits) -> Format:
    """Refuse what is missing, too big, empty or unsupported; return the format from the content."""
    if not path.is_file():
        raise InputFileError(name, "the file was not found.")
    extension = Path(name).suffix.lower() or path.suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        shown = f"'{extension}' files are" if extension else "files without an extension are"
        supported = " ".join(SUPPORTED_EXTENSIONS)
        raise InputFileError(name, f"{shown} not supported; upload one of {supported}.")
    size = os.path.getsize(path)
    if size > limits.max_file_mb * _MB:
        raise LimitExceeded(
            name, f"the file is {size / _MB:,.1f} MB, over the limit of {limits.max_file_mb:,g} MB."
        )
    if size == 0:
        raise InputFileError(name, "the file is empty.")
    with open(path, "rb") as f:
        magic = f.read(len(_OLE2_MAGIC))
    if magic.startswith(_ZIP_MAGIC):
        return "xlsx"
    if magic.startswith(_OLE2_MAGIC):
        return "xls"
    if magic.startswith(_PARQUET_MAGIC):
        return "parquet"
    if extension in EXCEL_EXTENSIONS:
        raise InputFileError(name, _DAMAGED_WORKBOOK)
    if extension == ".parquet":
        raise InputFileError(name, _DAMAGED_PARQUET)
    return "csv"


def _translate(err: Exception, name: str, limits: Limits) -> InputFileError | None:
    """The user-facing error for a library or OS failure; None when ``err`` should propagate."""
    if isinstance(err, InputFileError):
        return None
    if isinstance(err, duckdb.Error):
        return _from_duckdb(err, name, limits)
    if isinstance(err, UnicodeDecodeError):
        return InputFileError(name, f"the file is not valid {err.encoding} text.")
    if isinstance(err, OSError):
        return InputFileError(name, f"the file could not be read ({err.strerror or err}).")
    return None


def _from_duckdb(err: duckdb.Error, name: str, limits: Limits) -> InputFileError:
    message = str(err)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"line {int(line.group(1)):,}" if line else "a line"
    if "Maximum line size" in message:
        return _line_too_long(name, where, limits)
    if "unterminated quote" in message:
        return InputFileError(name, f"{where} has a quoted value whose closing quote is missing.")
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts:
        expected, found = counts.groups()
        return InputFileError(name, f"{where} has {found} fields but the header has {expected}.")
    if "sniffing file" in message:
        return InputFileError(
            name,
            "the columns could not be worked out: the rows do not all have the same number of "
            "fields, or a quote is never closed.",
        )
    if "nvalid unicode" in message or "not utf" in message:
        return InputFileError(name, f"{where} is not valid text in the file's encoding.")
    first_line = message.splitlines()[0] if message else type(err).__name__
    return InputFileError(name, f"the file could not be read ({first_line}).")


def _drop_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute(f"DROP TABLE IF EXISTS {_temp_ref(table)}")


def _temp_ref(table: str) -> str:
    # Fully qualified so a persistent table of the same name is never touched.
    return f"temp.main.{_q(table)}"


def _number_rows(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Fill ``_row`` from the rowid, which follows the file order in a table written in one
    statement: a few hundredths of a second for a million rows, where a ``row_number() OVER ()``
    in that statement costs about 0.4 s (one thread numbers every row). A table created inside a
    transaction counts its rowids from an offset, so they are taken from the first one; should
    they ever not be one run without gaps, the rows are numbered in rowid order the slow way.

    A column of the file named ``rowid`` (in any case) hides DuckDB's row id, so it is renamed for
    the numbering and given its name back: column names are only names."""
    ref = _temp_ref(table)
    hiding = [c for c, in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = ? "
        "AND lower(column_name) = 'rowid'", [table]).fetchall()]
    for i, column in enumerate(hiding):
        con.execute(f"ALTER TABLE {ref} RENAME COLUMN {_q(column)} TO {_q(f'{_HIDDEN_ROWID}{i} ')}")
    try:
        _number_by_rowid(con, ref)
    finally:
        for i, column in enumerate(hiding):
            con.execute(f"ALTER TABLE {ref} RENAME COLUMN {_q(f'{_HIDDEN_ROWID}{i} ')} TO {_q(column)}")


# No file's column is named this: a header cell is trimmed, and this one ends in a space.
_HIDDEN_ROWID = "\x00icp rowid"


def _number_by_rowid(con: duckdb.DuckDBPyConnection, ref: str) -> None:
    first, last, rows = con.execute(f"SELECT min(rowid), max(rowid), count(*) FROM {ref}").fetchone()
    if rows and last - first + 1 == rows:
        con.execute(f"UPDATE {ref} SET _row = rowid - ? + 1", [first])
    elif rows:
        con.execute(f"UPDATE {ref} SET _row = n.r FROM (SELECT rowid AS id, row_number() OVER (ORDER BY rowid) AS r "
                    f"FROM {ref}) AS n WHERE {ref}.rowid = n.id")


def _column_names(header: Sequence[str | None]) -> list[str]:
    """Header cells as unique column names: stripped, blanks named by position, repeats numbered."""
    taken = {"_row"}
    names = []
    for position, cell in enumerate(header, start=1):
        base = (cell or "").strip() or f"column_{position}"
        candidate, suffix = base, 2
        # DuckDB identifiers are case-insensitive, so "Name" and "name" would collide.
        while candidate.casefold() in taken:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


def _check_columns(name: str, count: int, limits: Limits) -> None:
    if count > limits.max_columns:
        raise LimitExceeded(
            name, f"the file has {count:,} columns, over the limit of {limits.max_columns:,}."
        )


def _check_rows(name: str, rows: int, limits: Limits, where: str = "the file") -> None:
    if rows > limits.max_rows:
        raise _too_many_rows(name, limits, where)
    if rows == 0:
        raise InputFileError(name, f"{where} has a header row but no data rows.")


def _too_many_rows(name: str, limits: Limits, where: str) -> LimitExceeded:
    return LimitExceeded(name, f"{where} has more than {limits.max_rows:,} data rows, the limit.")


def _count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {_temp_ref(table)}").fetchone()[0]


def _check_cells(
    con: duckdb.DuckDBPyConnection, table: str, name: str, columns: list[str], limits: Limits
) -> None:
    """Refuse the file if any header or cell is longer than max_cell_chars (one scan of the table)."""
    longest = ", ".join(f"max(length({_q(column)}))" for column in columns)
    lengths = con.execute(f"SELECT {longest} FROM {_temp_ref(table)}").fetchone()
    for column, length in zip(columns, lengths, strict=True):
        if len(column) > limits.max_cell_chars:
            raise LimitExceeded(
                name,
                f"a header has {len(column):,} characters, over the limit of {limits.max_cell_chars:,}.",
            )
        if length is not None and length > limits.max_cell_chars:
            raise LimitExceeded(
                name,
                f"a cell in column '{column}' has {length:,} characters, over the limit of "
                f"{limits.max_cell_chars:,}.",
            )


@contextlib.contextmanager
def _plain_path(path: Path) -> Iterator[Path]:
    """A path DuckDB reads as exactly this one file, linking it elsewhere if it looks like a glob."""
    if not _GLOB_CHARS.search(str(path)):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="icp-reader-") as tmp:
        link = Path(tmp) / "upload"
        try:
            os.symlink(path.resolve(), link)
        except OSError:
            shutil.copyfile(path, link)
        yield link


# --- CSV -------------------------------------------------------------------------------------


def _read_csv(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, name: str, limits: Limits
) -> ReadResult:
    """DuckDB reads the file when it can. A stray quote in an unquoted value (``27" monitor``, a
    header ``Industry";``) may mislead its sniffer or stop its parser, where a spreadsheet reads the
    quote as a character: then the csv module reads the file into a properly quoted copy for it."""
    encoding = _detect_encoding(path, name)
    text_encoding = encoding if encoding in _DUCKDB_ENCODINGS else "utf-8"
    with _duckdb_source(path, encoding) as source:
        _check_width(source, encoding, name, limits)
        head = _Head.of(source, text_encoding)
        duckdb_encoding = _DUCKDB_ENCODINGS.get(encoding, "utf-8")
        dialect = _csv_dialect(con, source, head, duckdb_encoding, _max_line_bytes(limits))
        try:
            columns = _duckdb_table(con, table, source, name, dialect, limits)
        except duckdb.Error as err:
            if not _quotes_may_explain(err, source, head):
                raise
            # The csv module's own header line: DuckDB's may come from records it read otherwise.
            dialect = dialect._replace(skip=head.top(dialect.delimiter))
            columns = _requoted_table(con, table, source, text_encoding, name, dialect, limits)
    rows = _numbered(con, table, name, limits)
    return ReadResult(
        file=name,
        format="csv",
        encoding=encoding,
        delimiter=dialect.delimiter,
        sheet=None,
        sheets=[],
        header_row=dialect.skip + 1,
        columns=columns,
        rows=rows,
    )


def _numbered(con: duckdb.DuckDBPyConnection, table: str, name: str, limits: Limits) -> int:
    """Number the rows read into `table` (`_row`, file order) and count them, refusing too many."""
    _number_rows(con, table)
    rows = _count_rows(con, table)
    _check_rows(name, rows, limits)
    return rows


def _csv_dialect(
    con: duckdb.DuckDBPyConnection, source: Path, head: _Head, encoding: str, max_line_size: int
) -> _Dialect:
    """DuckDB's sniffed dialect, checked against the csv module's reading of the head of a file
    that holds a double quote, which a stray quote may have misled."""
    try:
        dialect = _sniff(con, source, encoding, max_line_size)
    except duckdb.Error as err:
        if not _quotes_may_explain(err, source, head):
            raise
        own = head.dialect_instead_of(None)
        if own is None:
            raise
        return _Dialect(own[0], '"', '"', own[1], encoding, max_line_size)
    if not head.quoted:
        return dialect
    own = head.dialect_instead_of(dialect)
    if own is not None:
        return _Dialect(own[0], '"', '"', own[1], encoding, max_line_size)
    if dialect.quote != '"' or dialect.escape not in ('"', "", "\\"):
        # A double quote read as a character made the sniffer take "'" for the quote.
        return dialect._replace(quote='"', escape='"')
    return dialect


def _duckdb_table(
    con: duckdb.DuckDBPyConnection, table: str, source: Path, name: str, dialect: _Dialect, limits: Limits
) -> list[str]:
    """Read ``source`` into the table with DuckDB in ``dialect``; return the column names."""
    header = _csv_header(con, source, dialect)
    if header is None:
        raise InputFileError(name, "the file is empty.")
    _check_single_column(name, header, dialect.delimiter)
    _check_columns(name, len(header), limits)
    columns = _column_names(header)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_q(table)} AS "
        "SELECT NULL::BIGINT AS _row, * FROM ("
        f"  SELECT * FROM read_csv(?, header = true, names = ?, {_CSV_OPTIONS}) LIMIT ?)",
        [str(source), columns, *dialect, limits.max_rows + 1],
    )
    return columns


# comment='' because DuckDB may otherwise drop rows and cut values at a '#'.
_CSV_OPTIONS = (
    "all_varchar = true, delim = ?, quote = ?, escape = ?, skip = ?, comment = '', "
    "compression = 'none', encoding = ?, max_line_size = ?"
)


def _max_line_bytes(limits: Limits) -> int:
    # Room for one over-limit cell of 4-byte characters, so the cell check can name it.
    return max(_MIN_LINE_BYTES, 4 * limits.max_cell_chars + _MB)


def _sniff(con: duckdb.DuckDBPyConnection, source: Path, encoding: str, max_line_size: int) -> _Dialect:
    delimiter, quote, escape, skip = con.execute(
        "SELECT Delimiter, Quote, Escape, SkipRows FROM sniff_csv(?, comment = '', "
        "compression = 'none', encoding = ?, max_line_size = ?)",
        [str(source), encoding, max_line_size],
    ).fetchone()
    if quote in _EMPTY:
        # The sniffer saw no quoted value in its sample; a later "Acme, Inc." must still parse.
        quote, escape = '"', '"'
    escape = "" if escape in _EMPTY else escape
    return _Dialect(delimiter, quote, escape, skip, encoding, max_line_size)


def _check_width(source: Path, encoding: str, name: str, limits: Limits) -> None:
    """Refuse a far too wide file before DuckDB's sniffer, whose time grows faster than the width
    (100,000 columns: half a minute). Only when, for one delimiter, two records in a row (or the
    only record of a whole file) are wider than the limit; anything less clear is left to the sniffer."""
    size = 2 * _max_line_bytes(limits)
    with open(source, encoding=encoding if encoding in _DUCKDB_ENCODINGS else "utf-8", errors="replace",
              newline="") as f:
        head = f.read(size)
        whole = not f.read(1)
    for delimiter in _DELIMITERS:
        try:
            records = list(islice((r for r in csv.reader(io.StringIO(head), delimiter=delimiter) if r), 3))
        except csv.Error:  # a field longer than the csv module allows: not this check's business
            continue
        widths = [len(record) for record in records]
        if whole and len(widths) == 1:
            widths *= 2
        for width, following in zip(widths, widths[1:], strict=False):
            if width == following:
                _check_columns(name, width, limits)


def _csv_header(
    con: duckdb.DuckDBPyConnection, source: Path, dialect: _Dialect
) -> tuple[str | None, ...] | None:
    """The header cells exactly as written (DuckDB's own names rename blanks and duplicates)."""
    return con.execute(
        f"SELECT * FROM read_csv(?, header = false, {_CSV_OPTIONS}) LIMIT 1",
        [str(source), *dialect],
    ).fetchone()


def _check_single_column(name: str, header: Sequence[str | None], delimiter: str) -> None:
    """The sniffer falls back to one column when rows disagree; refuse rather than misread."""
    text = header[0] or ""
    if len(header) == 1 and any(d in text for d in _DELIMITERS if d != delimiter):
        raise InputFileError(
            name,
            "the columns could not be worked out: the rows do not all have the same number of "
            "fields, or a quote is never closed.",
        )


def _detect_encoding(path: Path, name: str) -> str:
    """The file's text encoding; refuses binary content and files holding only whitespace."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    encoding = _declared_or_utf16(head)
    if encoding is None:
        if b"\x00" in head:
            raise _not_text(name)
        encoding = _undeclared_encoding(path)
    text = head.decode(encoding, errors="replace")
    if len(_CONTROL_CHARS.findall(text)) > len(text) / 100:
        raise _not_text(name)
    if not text.strip() and os.path.getsize(path) <= len(head):
        raise InputFileError(name, "the file is empty.")
    return encoding


def _declared_or_utf16(head: bytes) -> str | None:
    """The encoding a BOM declares, or UTF-16 recognised by its NUL bytes (ASCII text as UTF-16)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even_nuls, odd_nuls = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.05 * pairs:
        return "utf-16-le"
    if even_nuls > 0.4 * pairs and odd_nuls < 0.05 * pairs:
        return "utf-16-be"
    return None


def _undeclared_encoding(path: Path) -> str:
    """UTF-8 when the whole file decodes as it; otherwise the Windows or ISO Western encoding."""
    if _decodes(path, "utf-8"):
        return "utf-8"
    # Latin-1 reads 0x80-0x9F as control codes; Excel on Windows meant cp1252 (’ “ ” € …) there.
    if _contains(path, _C1_BYTES) and _decodes(path, "cp1252"):
        return "cp1252"
    return "latin-1"


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            yield chunk


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _contains(path: Path, pattern: re.Pattern[bytes]) -> bool:
    return any(pattern.search(chunk) for chunk in _chunks(path))


def _not_text(name: str) -> InputFileError:
    return InputFileError(
        name,
        "not a text spreadsheet: the content is binary. Upload a CSV or text file, an Excel "
        "workbook or a Parquet file.",
    )


@contextlib.contextmanager
def _duckdb_source(path: Path, encoding: str) -> Iterator[Path]:
    """A path DuckDB can read in ``_DUCKDB_ENCODINGS``; other encodings go through a UTF-8 copy."""
    if encoding in _DUCKDB_ENCODINGS:
        with _plain_path(path) as source:
            yield source
        return
    with tempfile.TemporaryDirectory(prefix="icp-reader-") as tmp:
        target = Path(tmp) / "transcoded.csv"
        # newline="" keeps CR LF and quoted line breaks byte-for-byte.
        with (
            open(path, encoding=encoding, newline="") as src,
            open(target, "w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, _CHUNK_BYTES)
        yield target


# --- CSV: stray quotes -----------------------------------------------------------------------

_QUOTE_BYTE = re.compile(rb'"')
_CR_BYTE = re.compile(rb"\r")
# How much of a file's head the csv module reads to check DuckDB's sniffer (a few milliseconds).
_SNIFF_CHARS = 256 * 1024
# A Salesforce report's footer: after a blank line, a few one-field lines, among them these.
_FOOTER_RECORDS = 20
_FOOTER_MARK = re.compile(r"\s*(copyright\b.*\bsalesforce\.com\b|generated by\b)", re.IGNORECASE)
_FIELD_LIMIT_LOCK = threading.Lock()


class _Record(NamedTuple):
    """One non-blank record as the csv module reads it."""

    line: int  # the line of the file it starts on, from 1
    lines: int  # how many lines of the file it takes
    cells: list[str]
    after_blank: bool  # a blank line comes right before it
    quoted_line: bool  # it is one line that starts and ends with a quote


class _Lines:
    """The lines of a text file for ``csv.reader``, counted, and each line and each record bounded
    in size: a quote that never closes cannot take the rest of a large file into memory."""

    def __init__(self, file: io.TextIOBase, limit: int, name: str, limits: Limits) -> None:
        self._file, self._limit, self._name, self._limits = file, limit, name, limits
        self.read = 0  # lines read so far
        self.start = 1  # the line the record being read starts on
        self.last = ""  # the last line read
        self.ended = False  # the end of the file was reached
        self._chars = 0  # characters read for the record

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._file.readline(self._limit + 1)
        if not line:
            self.ended = True
            raise StopIteration
        self.read += 1
        self._chars += len(line)
        if len(line) > self._limit:
            raise _line_too_long(self._name, f"line {self.read:,}", self._limits)
        if self._chars > self._limit:  # a record of many lines: a quoted value runs on and on
            raise _unterminated(self._name, self.start)
        self.last = line
        return line

    def next_record(self) -> None:
        self.start, self._chars = self.read + 1, 0


def _records(lines: _Lines, delimiter: str, name: str, *, sample: bool = False) -> Iterator[_Record]:
    """The non-blank records of ``lines`` as the csv module reads them, as a spreadsheet does: a quote
    inside an unquoted value is a character; a quoted value is unquoted, ``""`` in it one quote.
    A quoted value still open at the end of the file is refused; in a ``sample`` (the head of a file),
    it ends the records, as does a field too long for the csv module."""
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    after_blank = False
    while True:
        lines.next_record()
        try:
            cells = next(reader, None)
        except csv.Error as err:  # a field longer than the csv module allows
            if sample:
                return
            raise InputFileError(name, f"line {lines.start:,} could not be read ({err}).") from err
        if cells is None:
            return
        if lines.ended:  # the csv module ended the record only because the file ended
            if sample:
                return
            raise _unterminated(name, lines.start)
        if not cells:
            after_blank = True
            continue
        text = lines.last.rstrip("\r\n")
        quoted = lines.read == lines.start and len(text) >= 2 and text[0] == text[-1] == '"'
        yield _Record(lines.start, lines.read - lines.start + 1, cells, after_blank, quoted)
        after_blank = False


def _is_footer(tail: Sequence[_Record]) -> bool:
    """Whether the last records of a file are a Salesforce report's footer: after a blank line, a few
    lines of one quoted field, one of them its copyright line or its "Generated By" line."""
    return (
        0 < len(tail) <= _FOOTER_RECORDS
        and tail[0].after_blank
        and all(len(record.cells) == 1 and record.quoted_line for record in tail)
        and any(_FOOTER_MARK.match(record.cells[0]) for record in tail)
    )


class _Head:
    """The first lines of a text file as the csv module reads them, to check DuckDB's sniffer."""

    def __init__(self, text: str, whole: bool) -> None:
        self.text, self.whole = text, whole
        self.quoted = '"' in text
        self._records: dict[str, list[_Record]] = {}

    @classmethod
    def of(cls, source: Path, encoding: str) -> _Head:
        with open(source, encoding=encoding, errors="replace", newline="") as f:
            text = f.read(_SNIFF_CHARS)
            whole = not f.read(1)
        if not whole:  # whole lines only
            text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1]
        return cls(text, whole)

    def _read(self, delimiter: str) -> list[_Record]:
        if delimiter not in self._records:
            lines = _Lines(io.StringIO(self.text, newline=""), len(self.text) + 1, "", Limits())
            self._records[delimiter] = list(_records(lines, delimiter, "", sample=True))
        return self._records[delimiter]

    def layout(self, delimiter: str) -> tuple[int, int, int] | None:
        """(lines above the header, fields, records) if, read with ``delimiter``, every record from
        the header on has the header's number of fields; above it may only be one-field title lines,
        and after the data a Salesforce footer. None when the records disagree."""
        records = self._read(delimiter)
        if not records:
            return None
        top = next((i for i, record in enumerate(records) if len(record.cells) > 1), 0)
        width = len(records[top].cells)
        end = next((i for i in range(top + 1, len(records)) if len(records[i].cells) != width), len(records))
        if end < len(records) and not (self.whole and _is_footer(records[end:])):
            return None
        return records[top].line - 1, width, end - top

    def top(self, delimiter: str) -> int:
        """The lines above the header read with ``delimiter``: the one-field title lines on top."""
        records = self._read(delimiter)
        return next((record.line - 1 for record in records if len(record.cells) > 1), 0)

    def dialect_instead_of(self, dialect: _Dialect | None) -> tuple[str, int] | None:
        """(delimiter, lines above the header) to read with when DuckDB's sniffer found none, or one
        the csv module disagrees with (a stray quote misleads the sniffer); None to keep DuckDB's.
        Put instead: the delimiter that gives the most records the header's two fields or more,
        should DuckDB's leave records out or give them different numbers of fields."""
        ranked = []
        for rank, delimiter in enumerate(_DELIMITERS):
            layout = self.layout(delimiter)
            if layout is not None and layout[1] > 1:
                skip, width, records = layout
                ranked.append(((records, width, -skip, -rank), delimiter, skip))
        best = max(ranked, default=None)
        if dialect is not None:
            layout = self.layout(dialect.delimiter)
            if layout is not None and layout[0] == dialect.skip and (
                best is None or (layout[1] > 1 and layout[2] >= best[0][0])
            ):
                return None
        return None if best is None else (best[1], best[2])


def _quotes_may_explain(err: duckdb.Error, source: Path, head: _Head) -> bool:
    """Whether the csv module may read what DuckDB refused: a stray quote (the file holds a quote)
    or lines ended in turn by CR, LF and CRLF (the file holds a CR: DuckDB's sniffer takes one line
    ending for the whole file, where a spreadsheet takes each line's own), and the error is not one
    these cannot cause (a line over the size limit, text not in its encoding)."""
    message = str(err)
    if any(cause in message for cause in ("Maximum line size", "nvalid unicode", "not utf")):
        return False
    return (head.quoted or "\r" in head.text
            or (not head.whole and (_contains(source, _QUOTE_BYTE) or _contains(source, _CR_BYTE))))


def _requoted_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Path,
    encoding: str,
    name: str,
    dialect: _Dialect,
    limits: Limits,
) -> list[str]:
    """Read the file with the csv module into a properly quoted UTF-8 copy (streamed, in a temporary
    folder always removed), which DuckDB reads into the table; return the column names. The limits
    and the refusals are those of DuckDB's own reading."""
    limit = _max_line_bytes(limits)
    _allow_fields_of(limit)
    with tempfile.TemporaryDirectory(prefix="icp-reader-") as tmp:
        target = Path(tmp) / "requoted.csv"
        with (
            open(source, encoding=encoding, newline="") as src,
            open(target, "w", encoding="utf-8", newline="") as dst,
        ):
            lines = _Lines(src, limit, name, limits)
            for _ in range(dialect.skip):
                next(lines, None)
                lines.next_record()
            records = _records(lines, dialect.delimiter, name)
            first = next(records, None)
            if first is None:
                raise InputFileError(name, "the file is empty.")
            _check_single_column(name, first.cells, dialect.delimiter)
            _check_columns(name, len(first.cells), limits)
            columns = _column_names(first.cells)
            writer = csv.writer(dst, quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(_data_rows(records, len(columns), name, limits))
        # Quoting lengthens a line: room for every character doubled, in 4 bytes.
        requoted = _Dialect(",", '"', '"', 0, "utf-8", 8 * limit)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_q(table)} AS "
            "SELECT NULL::BIGINT AS _row, * FROM ("
            f"  SELECT * FROM read_csv(?, header = true, names = ?, {_CSV_OPTIONS}))",
            [str(target), columns, *requoted],
        )
    return columns


def _data_rows(records: Iterator[_Record], width: int, name: str, limits: Limits) -> Iterator[list[str]]:
    """The cells of each data record, refusing a record whose number of fields is not the header's
    (unless it starts a Salesforce footer) and a file with more rows than the limit."""
    for count, record in enumerate(records, start=1):
        if len(record.cells) != width:
            if _starts_footer(record, records):
                return
            if record.lines > 1:  # a quote left open, closed only by a later one
                raise _unterminated(name, record.line)
            raise InputFileError(
                name, f"line {record.line:,} has {len(record.cells)} fields but the header has {width}."
            )
        if count > limits.max_rows:
            raise _too_many_rows(name, limits, "the file")
        yield record.cells


def _starts_footer(record: _Record, rest: Iterator[_Record]) -> bool:
    """Whether ``record`` and all the records after it (read here, at most a footer's worth and one)
    are a Salesforce footer."""
    if not (record.after_blank and record.quoted_line and len(record.cells) == 1):
        return False
    tail = [record]
    try:
        tail.extend(islice(rest, _FOOTER_RECORDS))
        more = next(rest, None) is not None
    except InputFileError:
        return False
    return not more and _is_footer(tail)


def _allow_fields_of(chars: int) -> None:
    """Let the csv module read a field of ``chars`` characters (by default it stops at 131,072).
    The setting is the module's, shared by every thread: it is only ever raised, under a lock."""
    with _FIELD_LIMIT_LOCK:
        if csv.field_size_limit() < chars:
            csv.field_size_limit(chars)


def _unterminated(name: str, line: int) -> InputFileError:
    return InputFileError(name, f"line {line:,} has a quoted value whose closing quote is missing.")


def _line_too_long(name: str, where: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        name,
        f"{where} is longer than {_max_line_bytes(limits):,} bytes; a cell may hold at most "
        f"{limits.max_cell_chars:,} characters.",
    )


# --- Parquet ---------------------------------------------------------------------------------


def _read_parquet(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, name: str, limits: Limits
) -> ReadResult:
    with _plain_path(path) as source:
        source_names = _parquet_columns(con, source, name, limits)
        columns = _column_names(source_names)
        as_text = ", ".join(
            f"CAST({_q(src)} AS VARCHAR) AS {_q(dst)}" for src, dst in zip(source_names, columns, strict=True)
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_q(table)} AS "
            f"SELECT NULL::BIGINT AS _row, {as_text} "
            "FROM (SELECT * FROM read_parquet(?) LIMIT ?)",
            [str(source), limits.max_rows + 1],
        )
    rows = _numbered(con, table, name, limits)
    return ReadResult(
        file=name,
        format="parquet",
        encoding=None,
        delimiter=None,
        sheet=None,
        sheets=[],
        header_row=1,
        columns=columns,
        rows=rows,
    )


def _parquet_columns(con: duckdb.DuckDBPyConnection, source: Path, name: str, limits: Limits) -> list[str]:
    """The file's column names, after refusing a damaged file or one that inflates too far."""
    try:
        inflated = con.execute(
            "SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata(?)", [str(source)]
        ).fetchone()[0]
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(source)]).fetchall()
    except duckdb.Error as err:
        raise InputFileError(name, _DAMAGED_PARQUET) from err
    _check_inflated(name, inflated, limits)
    _check_columns(name, len(described), limits)
    return [row[0] for row in described]


def _check_inflated(name: str, size: int, limits: Limits) -> None:
    if size > limits.max_inflated_mb * _MB:
        raise LimitExceeded(
            name,
            f"the file would take {_megabytes(size / _MB)} MB once uncompressed, over the limit of "
            f"{limits.max_inflated_mb:,g} MB.",
        )


def _megabytes(mb: float) -> str:
    """Whole megabytes, or two significant digits under one (a small limit must not read "0 MB")."""
    return f"{mb:,.0f}" if mb >= 1 else f"{mb:.2g}"


# --- Excel -----------------------------------------------------------------------------------


def _read_excel(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    name: str,
    fmt: Format,
    sheet: str | None,
    limits: Limits,
) -> ReadResult:
    """The rows of one sheet, read by a child process (see icp.data.excel) and inserted batch by batch."""
    if fmt == "xlsx":
        _check_zip(path, name, limits)
    with excel.read_sheet(path, name, fmt, sheet, limits, _column_names) as child:
        found = child.header()
        definitions = ", ".join(f"{_q(column)} VARCHAR" for column in found.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(table)} (_row BIGINT, {definitions})")
        view = f"_icp_reader_{uuid.uuid4().hex}"
        rows = 0
        for batch in child.batches():
            with registered(con, view, batch):
                con.execute(f"INSERT INTO {_temp_ref(table)} SELECT * FROM {_q(view)}")
            rows += batch.num_rows
    _check_rows(name, rows, limits, f"sheet '{found.sheet}'")
    return ReadResult(
        file=name,
        format=fmt,
        encoding=None,
        delimiter=None,
        sheet=found.sheet,
        sheets=found.sheets,
        header_row=found.header_row,
        columns=found.columns,
        rows=rows,
    )


def _check_zip(path: Path, name: str, limits: Limits) -> None:
    """Refuse a damaged archive or a zip bomb from the sizes it declares, before inflating it."""
    _check_directory(path, name)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as err:
        raise InputFileError(name, _DAMAGED_WORKBOOK) from err
    _check_inflated(name, sum(member.file_size for member in members), limits)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _BOMB_MEMBER_BYTES and ratio > _BOMB_RATIO:
            raise LimitExceeded(
                name,
                f"the workbook is compressed {ratio:,.0f} times, far more than a real spreadsheet; "
                "it is refused as a possible zip bomb.",
            )


def _check_directory(path: Path, name: str) -> None:
    """Refuse an archive whose table of contents is larger than any workbook's, from the size its end
    record declares: zipfile holds an object of a few hundred bytes for every 50-byte entry."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - _ZIP_END_SEARCH))
        tail = f.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        return  # zipfile says what is wrong with it
    directory = int.from_bytes(tail[end + 12 : end + 16], "little")
    # Zip64: zipfile takes the size from the zip64 end record just before the locator, when there is one.
    record = tail[max(0, end - 76) : end - 20]
    if end >= 76 and tail[end - 20 : end - 16] == b"PK\x06\x07" and record[:4] == b"PK\x06\x06":
        directory = max(directory, int.from_bytes(record[40:48], "little"))
    if directory > _MAX_ZIP_DIRECTORY:
        raise LimitExceeded(
            name,
            f"the workbook's table of contents takes {_megabytes(directory / _MB)} MB, far more than a real "
            "spreadsheet's; it is refused as a possible zip bomb.",
        )
