"""Hostile-workbook builders shared by tests/test_hostile_files.py, tests/test_excel.py and the browser's
tests/e2e/test_hostile_upload.py: zip bombs, workbooks written as a few lines of sheet XML, a corner cell
far away, a shared-strings table that claims four billion strings."""

import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

MB = 1024 * 1024


def _workbook_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _raw_deflate(data: bytes, repeat: int = 1) -> bytes:
    """``data`` deflated once and its blocks repeated: a full flush makes each copy stand alone."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)) * repeat


def _bomb(path: Path, inflated_mb: int, *, declared_mb: int | None = None, chunk: bytes | None = None) -> None:
    """A real workbook whose sheet XML holds ``inflated_mb`` MB of identical rows (a few MB on disk).

    The zip is written by hand so the sheet is not compressed here for real: its deflate stream is
    one compressed megabyte of rows repeated (``chunk``, else one row over and over). ``declared_mb``
    makes the archive lie about the size.
    """
    source = zipfile.ZipFile(io.BytesIO(_workbook_bytes([["Company name", "Website"], ["Acme", "acme.io"]])))
    row = b'<row><c t="inlineStr"><is><t>Acme</t></is></c><c t="inlineStr"><is><t>acme.io</t></is></c></row>'
    chunk = chunk or row * (MB // len(row))
    members = []
    for info in source.infolist():
        data = source.read(info.filename)
        if info.filename == "xl/worksheets/sheet1.xml":
            head, tail = data.split(b"</sheetData>")
            tail = b"</sheetData>" + tail
            raw = _raw_deflate(head) + _raw_deflate(chunk, inflated_mb) + _raw_deflate(tail)
            crc = zlib.crc32(head)
            for _ in range(inflated_mb):
                crc = zlib.crc32(chunk, crc)
            crc = zlib.crc32(tail, crc)
            size = len(head) + len(chunk) * inflated_mb + len(tail)
            if declared_mb is not None:
                size = declared_mb * MB
        else:
            raw, crc, size = _raw_deflate(data), zlib.crc32(data), len(data)
        final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # the last, empty block
        members.append((info.filename.encode(), raw + final, crc, size))
    with open(path, "wb") as out:
        directory = []
        for name, raw, crc, size in members:
            offset = out.tell()
            out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(raw), size,
                                  len(name), 0) + name + raw)
            directory.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                                         len(raw), size, len(name), 0, 0, 0, 0, 0, offset) + name)
        start = out.tell()
        out.write(b"".join(directory))
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(directory), len(directory),
                              out.tell() - start, start, 0))


# A megabyte of rows without cell references, two kinds in a random order: repeated, it deflates 120
# to 175 times, under the ratio refused as a zip bomb, as a real export of repetitive rows does.
_VARIED_ROWS = b"".join(
    b'<row><c t="inlineStr"><is><t>Company %d</t></is></c><c t="inlineStr"><is><t>c%d.io</t></is></c></row>'
    % (kind, kind) for kind in random.Random(5).choices((1, 2), k=12_000))


def _sheet_workbook(cells: str, shared_strings: str | None = None) -> Callable[[Path], None]:
    """A workbook whose sheet 'Data' holds the rows ``cells`` (XML) and, given one, this
    sharedStrings part: each hostile workbook below is a few lines of XML in a few kB."""
    def make(path: Path) -> None:
        book = openpyxl.Workbook()
        book.active.title = "Data"
        out = io.BytesIO()
        book.save(out)
        source = zipfile.ZipFile(out)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data, found = re.subn(rb"<sheetData\s*/>|<sheetData>.*</sheetData>",
                                          f"<sheetData>{cells}</sheetData>".encode(), data)
                    assert found == 1
                target.writestr(info, data)
            if shared_strings is not None:
                target.writestr("xl/sharedStrings.xml", shared_strings)
    return make


def _text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _corner(last: str) -> Callable[[Path], None]:
    """A header cell at A1 and one cell at ``last``: the reader would allocate every cell between."""
    row = int(re.sub("[A-Z]", "", last))
    return _sheet_workbook(f'<row r="1">{_text_cell("A1", "Company name")}</row>'
                           f'<row r="{row}">{_text_cell(last, "x")}</row>')


SST_4E9 = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           'spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>Company name</t></si>'
           '<si><t>Acme</t></si></sst>')
