"""icp.data.reader: every supported format read into a temp table of raw text, and every refusal."""

import codecs
import csv
import datetime as dt
import io
import random
import re
import tempfile
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from icp.data import reader
from icp.data.reader import list_sheets, read_into
from icp.errors import InputFileError, LimitExceeded
from icp.limits import Limits

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def _rows(con, table="t"):
    return con.execute(f'SELECT * FROM "{table}" ORDER BY _row').fetchall()


def _exists(con, table="t"):
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]
    ).fetchone()[0]
    return found == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- CSV and other text ------------------------------------------------------------------------


def test_utf8_csv_keeps_every_value_exactly(con, tmp_path):
    path = _write(
        tmp_path / "leads.csv",
        b'name, city ,note\nAcme,  Z\xc3\xbcrich ,=1+1\nBeta,S\xc3\xa3o Paulo,"a, b"\n#1 Co,,x # y\n',
    )
    result = read_into(con, "t", path)

    assert result.format == "csv" and result.encoding == "utf-8" and result.delimiter == ","
    assert result.header_row == 1 and result.rows == 3 and result.sheets == []
    assert result.columns == ["name", "city", "note"]
    assert _rows(con) == [
        (1, "Acme", "  Zürich ", "=1+1"),
        (2, "Beta", "São Paulo", "a, b"),
        (3, "#1 Co", None, "x # y"),
    ]
    types = {name: kind for name, kind, *_ in con.execute('DESCRIBE "t"').fetchall()}
    assert types == {"_row": "BIGINT", "name": "VARCHAR", "city": "VARCHAR", "note": "VARCHAR"}


def test_utf8_bom_and_crlf(con, tmp_path):
    path = _write(tmp_path / "bom.csv", codecs.BOM_UTF8 + "id,name\r\n1,Zürich\r\n2,Köln\r\n".encode())
    result = read_into(con, "t", path)

    assert result.encoding == "utf-8-sig"
    assert result.columns == ["id", "name"]
    assert _rows(con) == [(1, "1", "Zürich"), (2, "2", "Köln")]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF16_LE + "id,city\r\n1,Zürich 😀\r\n2,São Paulo\r\n".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "id,city\r\n1,Zürich 😀\r\n2,São Paulo\r\n".encode("utf-16-be"), "utf-16"),
        ("id,city\r\n1,Zürich 😀\r\n2,São Paulo\r\n".encode("utf-16-le"), "utf-16-le"),
    ],
    ids=["le-bom", "be-bom", "le-no-bom"],
)
def test_utf16(con, tmp_path, data, encoding):
    # DuckDB's own utf-16 reader rejects characters outside the BMP such as 😀.
    result = read_into(con, "t", _write(tmp_path / "u16.csv", data))

    assert result.encoding == encoding
    assert result.columns == ["id", "city"]
    assert _rows(con) == [(1, "1", "Zürich 😀"), (2, "2", "São Paulo")]


def test_latin1_semicolon(con, tmp_path):
    text = "Firma;Stadt;Umsatz\nM\xfcller AG;Z\xfcrich;1,5\nItá Ltda;São Paulo;2\n"
    result = read_into(con, "t", _write(tmp_path / "kunden.csv", text.encode("latin-1")))

    assert result.encoding == "latin-1" and result.delimiter == ";"
    assert _rows(con) == [(1, "Müller AG", "Zürich", "1,5"), (2, "Itá Ltda", "São Paulo", "2")]


def test_windows_1252_punctuation(con, tmp_path):
    text = "company,note\nCafé,It’s “great”\nEuro,€100\n"
    result = read_into(con, "t", _write(tmp_path / "excel.csv", text.encode("cp1252")))

    assert result.encoding == "cp1252"
    assert _rows(con) == [(1, "Café", "It’s “great”"), (2, "Euro", "€100")]


def test_tab_separated(con, tmp_path):
    result = read_into(con, "t", _write(tmp_path / "accounts.tsv", b"id\tname\n1\t x \n2\tAcme, Inc.\n"))

    assert result.delimiter == "\t"
    assert _rows(con) == [(1, "1", " x "), (2, "2", "Acme, Inc.")]


def test_quoted_newline_inside_a_cell(con, tmp_path):
    path = _write(tmp_path / "notes.csv", b'id,note\r\n1,"line one\r\nline two"\r\n2,plain\r\n')
    result = read_into(con, "t", path)

    assert result.rows == 2
    assert _rows(con) == [(1, "1", "line one\r\nline two"), (2, "2", "plain")]


def test_title_lines_above_the_header(con, tmp_path):
    path = _write(tmp_path / "report.csv", b"Customer export\n\nname,city,n\nAcme,Paris,1\nBeta,Lyon,2\n")
    result = read_into(con, "t", path)

    assert result.header_row == 3
    assert result.columns == ["name", "city", "n"]
    assert _rows(con) == [(1, "Acme", "Paris", "1"), (2, "Beta", "Lyon", "2")]


def test_quoted_value_after_the_sniffer_sample(con, tmp_path):
    body = b"".join(b"%d,name %d,Paris\n" % (i, i) for i in range(25_000))
    path = _write(tmp_path / "late.csv", b"id,name,city\n" + body + b'25000,"Acme, Inc.",Lyon\n')
    result = read_into(con, "t", path)

    assert result.rows == 25_001
    assert con.execute('SELECT name, city FROM "t" WHERE _row = 25001').fetchone() == ("Acme, Inc.", "Lyon")


def test_sql_looking_names_are_only_names(con, tmp_path):
    con.execute('CREATE TABLE "t" AS SELECT 42 AS keep')
    path = _write(tmp_path / "evil.csv", b'id,"x""; DROP TABLE t; --"\n1,=HYPERLINK("x")\n')
    table = 'my "table"; --'
    result = read_into(con, table, path)

    assert result.columns == ["id", 'x"; DROP TABLE t; --']
    assert con.execute('SELECT "x""; DROP TABLE t; --" FROM "my ""table""; --"').fetchall() == [
        ('=HYPERLINK("x")',)
    ]
    assert con.execute('SELECT keep FROM main."t"').fetchall() == [(42,)]


def test_blank_duplicate_and_reserved_headers(con, tmp_path):
    path = _write(tmp_path / "dups.csv", b"a,,a,A, b ,_row,a_2\n1,2,3,4,5,6,7\n")
    result = read_into(con, "t", path)

    assert result.columns == ["a", "column_2", "a_2", "A_3", "b", "_row_2", "a_2_2"]
    assert _rows(con) == [(1, "1", "2", "3", "4", "5", "6", "7")]


def test_path_with_glob_characters_reads_only_that_file(con, tmp_path):
    path = _write(tmp_path / "Leads [final]*.csv", b"id\n1\n")
    _write(tmp_path / "Leads [final]X.csv", b"id\n2\n3\n")
    result = read_into(con, "t", path)

    assert result.rows == 1 and _rows(con) == [(1, "1")]


def test_rows_read_inside_a_transaction_are_numbered_from_1(con, tmp_path):
    path = _write(tmp_path / "a.csv", b"name\n" + b"".join(b"c%d\n" % i for i in range(3000)))
    con.execute("BEGIN TRANSACTION")  # as a workspace reads a file: its rowids start at an offset
    assert read_into(con, "t", path).rows == 3000
    assert con.execute('SELECT min(_row), max(_row), count(DISTINCT _row) FROM "t"').fetchone() == (1, 3000, 3000)
    assert con.execute('SELECT name FROM "t" WHERE _row = 2001').fetchone() == ("c2000",)
    con.execute("COMMIT")


def test_rowids_with_gaps_are_numbered_in_order_all_the_same(con):
    from icp.data.reader import _number_rows

    con.execute("CREATE TEMP TABLE g AS SELECT NULL::BIGINT AS _row, 'v' || range AS v FROM range(6)")
    con.execute("DELETE FROM g WHERE v IN ('v1', 'v4')")
    _number_rows(con, "g")
    assert con.execute("SELECT _row, v FROM g ORDER BY rowid").fetchall() == [(1, "v0"), (2, "v2"), (3, "v3"), (4, "v5")]


def test_a_million_rows_go_straight_through_duckdb(con, tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    con.execute(
        f"COPY (SELECT i AS seq, 'name ' || i AS name, i % 97 AS n FROM range(1000000) t(i)) "
        f"TO '{path}' (HEADER)"
    )

    def no_python_copy(*args, **kwargs):
        raise AssertionError("a clean file was copied through the csv module")

    monkeypatch.setattr(reader, "_requoted_table", no_python_copy)
    result = read_into(con, "t", path)

    assert result.rows == 1_000_000
    assert con.execute('SELECT count(*) FROM "t" WHERE _row <> seq::BIGINT + 1').fetchone() == (0,)


# --- Excel ---------------------------------------------------------------------------------------


def _workbook(path: Path, cached_value: str | None = None) -> Path:
    """A workbook with an empty first sheet and, on "Data", two title rows above the header.

    openpyxl writes formulas without a cached value; ``cached_value`` patches one into the XML,
    as Excel would have saved it, for the formula in G6.
    """
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Data")
    sheet["B2"] = "Customer report"
    sheet["B3"] = "generated 2024-05-01"
    sheet.append([])
    sheet.append([None, "name", " n ", "joined", "seen", "active", "double", "at", "note"])
    sheet.append(
        [
            None,
            "Acme",
            2019,
            dt.date(2021, 9, 21),
            dt.datetime(2021, 9, 21, 10, 30),
            True,
            "=C6*2",
            dt.time(10, 30),
            "  padded ",
        ]
    )
    sheet.append([None, "Beta", 1.5, None, None, False, "=1+1", None, "=not a formula?"])
    sheet["I7"].data_type = "s"
    book.save(path)
    if cached_value is not None:
        # openpyxl writes the empty cached value as <v />, <v/> or <v></v> depending on lxml.
        _patch_member(
            path,
            "xl/worksheets/sheet2.xml",
            rb"<f>C6\*2</f><v ?/>|<f>C6\*2</f><v></v>",
            f"<f>C6*2</f><v>{cached_value}</v>".encode(),
        )
    return path


def _patch_member(path: Path, member: str, old: bytes, new: bytes) -> None:
    """Replace the one match of the regex `old` in an archive member."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == member:
                content, found = re.subn(old, new, content)
                assert found == 1
            target.writestr(info, content)


def test_xlsx_title_rows_types_and_cached_formula(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx", cached_value="4038")
    result = read_into(con, "t", path)

    assert result.format == "xlsx" and result.sheet == "Data" and result.sheets == ["Notes", "Data"]
    assert result.header_row == 5
    assert result.columns == ["name", "n", "joined", "seen", "active", "double", "at", "note"]
    assert _rows(con) == [
        (1, "Acme", "2019", "2021-09-21", "2021-09-21T10:30:00", "true", "4038", "10:30:00", "  padded "),
        (2, "Beta", "1.5", None, None, "false", None, None, "=not a formula?"),
    ]


def test_xlsx_formula_without_cached_value_reads_as_empty(con, tmp_path):
    # openpyxl never computes formulas, so a workbook it wrote holds no value for them to read.
    read_into(con, "t", _workbook(tmp_path / "book.xlsx"))

    assert con.execute('SELECT double FROM "t" ORDER BY _row').fetchall() == [(None,), (None,)]


def test_xlsx_sheet_choice_and_list(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    assert list_sheets(path) == ["Notes", "Data"]
    assert read_into(con, "t", path, sheet="Data").rows == 2

    with pytest.raises(InputFileError, match=r"book\.xlsx: sheet 'Notes' is empty"):
        read_into(con, "t", path, sheet="Notes")
    assert not _exists(con)
    with pytest.raises(InputFileError, match=r"no sheet 'Customers'; the sheets are 'Notes', 'Data'"):
        read_into(con, "t", path, sheet="Customers")
    assert not _exists(con)


def test_format_comes_from_content_not_the_extension(con, tmp_path):
    path = tmp_path / "actually_excel.csv"
    path.write_bytes(_workbook(tmp_path / "book.xlsx").read_bytes())

    assert read_into(con, "t", path).format == "xlsx"
    assert list_sheets(tmp_path / "actually_excel.csv") == ["Notes", "Data"]


def test_list_sheets_of_text_and_damaged_files(tmp_path):
    assert list_sheets(_write(tmp_path / "a.csv", b"id\n1\n")) == []
    with pytest.raises(InputFileError, match=r"Leads\.xlsx: not a valid Excel workbook"):
        list_sheets(_write(tmp_path / "x.xlsx", b"id,name\n1,a\n"), display_name="Leads.xlsx")


# --- Parquet -------------------------------------------------------------------------------------


def test_parquet_columns_become_text(con, tmp_path):
    path = tmp_path / "accounts.parquet"
    con.execute(
        "COPY (SELECT * FROM (VALUES (1, ' Acme ', DATE '2021-09-21', ['a', 'b'], 2.5), "
        '(2, NULL, NULL, [], NULL)) v(id, "name ", joined, tags, score)) '
        f"TO '{path}' (FORMAT parquet)"
    )
    result = read_into(con, "t", path)

    assert result.format == "parquet" and result.rows == 2
    assert result.columns == ["id", "name", "joined", "tags", "score"]
    assert _rows(con) == [
        (1, "1", " Acme ", "2021-09-21", "[a, b]", "2.5"),
        (2, "2", None, None, "[]", None),
    ]


# --- refusals ------------------------------------------------------------------------------------

SHOWN = "Upload (2).csv"


def _refused(con, path, error=InputFileError, match=None, display_name=SHOWN, **kwargs):
    with pytest.raises(error, match=match) as caught:
        read_into(con, "t", path, display_name=display_name, **kwargs)
    assert str(caught.value).startswith(f"{display_name}: ")
    assert not _exists(con)
    return caught.value


def test_missing_file(con, tmp_path):
    _refused(con, tmp_path / "nope.csv", match="not found")


@pytest.mark.parametrize("data", [b"", b"  \r\n\n\t \n", codecs.BOM_UTF8])
def test_empty_file(con, tmp_path, data):
    _refused(con, _write(tmp_path / "e.csv", data), match="the file is empty")


def test_header_only(con, tmp_path):
    _refused(con, _write(tmp_path / "h.csv", b"id,name\n"), match="header row but no data rows")


def test_xlsx_header_only(con, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "name"])
    book.save(tmp_path / "h.xlsx")
    _refused(con, tmp_path / "h.xlsx", match="header row but no data rows", display_name="h.xlsx")


@pytest.mark.parametrize(
    "data",
    [random.Random(7).randbytes(20_000), b"\x7fELF\x02\x01\x01" + bytes(200) + b"id,name\n" * 50],
    ids=["random", "executable"],
)
def test_binary_named_csv(con, tmp_path, data):
    _refused(con, _write(tmp_path / "b.csv", data), match="not a text spreadsheet")


def test_unsupported_extension(con, tmp_path):
    error = _refused(con, _write(tmp_path / "deck.pdf", b"%PDF-1.4"), display_name="deck.pdf")
    assert "'.pdf' files are not supported" in str(error)
    assert ".csv .tsv .txt .xlsx .xlsm .xls .parquet" in str(error)


@pytest.mark.parametrize(
    "data",
    [b"id,name\n1,a\n", b"PK\x03\x04 truncated"],
    ids=["text", "truncated"],
)
def test_xlsx_that_is_not_a_workbook(con, tmp_path, data):
    _refused(
        con,
        _write(tmp_path / "x.xlsx", data),
        match=r"not a valid Excel workbook \(the file is damaged or truncated\)",
        display_name="x.xlsx",
    )


def test_xlsx_cut_in_half(con, tmp_path):
    whole = _workbook(tmp_path / "book.xlsx").read_bytes()
    path = _write(tmp_path / "half.xlsx", whole[: len(whole) // 2])
    _refused(con, path, match="not a valid Excel workbook", display_name="half.xlsx")


def test_zip_bomb(con, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", bytes(20 * 1024 * 1024))
    _refused(con, path, LimitExceeded, match="zip bomb", display_name="bomb.xlsx")


def test_inflated_size_limit(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    _refused(
        con,
        path,
        LimitExceeded,
        # A workbook of a few kB under a limit of 1 kB: the size reads in kB-sized megabytes, not "0 MB".
        match=r"would take 0\.0\d+ MB once uncompressed, over the limit of 0\.001 MB",
        display_name="book.xlsx",
        limits=Limits(max_inflated_mb=0.001),
    )


def test_damaged_parquet(con, tmp_path):
    text = _write(tmp_path / "text.parquet", b"id,name\n1,a\n")
    _refused(con, text, match="not a valid Parquet file", display_name="text.parquet")

    whole = tmp_path / "whole.parquet"
    con.execute(f"COPY (SELECT range AS id FROM range(1000)) TO '{whole}' (FORMAT parquet)")
    cut = _write(tmp_path / "cut.parquet", whole.read_bytes()[:300])
    _refused(con, cut, match="not a valid Parquet file", display_name="cut.parquet")


def test_file_size_limit(con, tmp_path):
    path = _write(tmp_path / "big.csv", b"id,name\n" + b"1,a\n" * 1000)
    _refused(con, path, LimitExceeded, match="over the limit of 0.001 MB", limits=Limits(max_file_mb=0.001))


def test_column_limit(con, tmp_path):
    path = _write(tmp_path / "wide.csv", b"a,b,c\n1,2,3\n")
    _refused(con, path, LimitExceeded, match="3 columns, over the limit of 2", limits=Limits(max_columns=2))


def test_row_limit(con, tmp_path):
    path = _write(tmp_path / "long.csv", b"a\n1\n2\n3\n")
    _refused(con, path, LimitExceeded, match="more than 2 data rows", limits=Limits(max_rows=2))
    assert read_into(con, "t", path, limits=Limits(max_rows=3)).rows == 3


def test_xlsx_row_limit(con, tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    _refused(
        con,
        path,
        LimitExceeded,
        match="sheet 'Data' has more than 1 data rows",
        display_name="book.xlsx",
        limits=Limits(max_rows=1),
    )


def test_million_character_cell_is_refused_with_its_size(con, tmp_path):
    path = _write(tmp_path / "essay.csv", b"id,note\n1,short\n2," + b"x" * 1_000_000 + b"\n")
    _refused(
        con, path, LimitExceeded, match="column 'note' has 1,000,000 characters, over the limit of 100,000"
    )


def test_line_longer_than_the_parser_allows(con, tmp_path):
    path = _write(tmp_path / "huge.csv", b"id,note\n1," + b"x" * 3_000_000 + b"\n")
    _refused(con, path, LimitExceeded, match="is longer than 2,000,000 bytes")


def test_unterminated_quote(con, tmp_path):
    body = b"".join(b"%d,name %d,Paris\n" % (i, i) for i in range(3000))
    path = _write(tmp_path / "q.csv", b"id,name,city\n" + body + b'3000,"Acme,Lyon\n' + body)
    _refused(con, path, match="line 3,002 has a quoted value whose closing quote is missing")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            b"id,name,city\n" + b"1,a,b\n" * 3000 + b"2,a,b,extra\n" + b"1,a,b\n" * 3000,
            "columns could not be worked out",
        ),
        (b"id,name,city\n1,a,b,c\n" + b"1,a,b\n" * 30, "columns could not be worked out"),
    ],
    ids=["in-sample", "early"],
)
def test_rows_with_different_field_counts(con, tmp_path, data, match):
    _refused(con, _write(tmp_path / "ragged.csv", data), match=match)


def test_failed_read_removes_the_previous_table(con, tmp_path):
    read_into(con, "t", _write(tmp_path / "good.csv", b"id\n1\n"))
    _refused(con, _write(tmp_path / "bad.csv", b"id\n"), match="no data rows")


# --- stray quotes --------------------------------------------------------------------------------
# CRM exports hold a double quote inside an unquoted value (27" monitor, 5'10"). Excel, LibreOffice
# and Python's csv module read it as a character; so must the reader, with every value exactly as
# the csv module reads it, and every other refusal kept.


def _as_csv_module_reads(data: bytes, encoding: str = "utf-8", delimiter: str = ","):
    """The header and the table rows Python's csv module gives (an empty value is NULL in the table)."""
    text = data.decode(encoding)
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False) if r]
    return records[0], [(n, *(cell or None for cell in r)) for n, r in enumerate(records[1:], start=1)]


@pytest.fixture(params=["duckdb", "csv-module"])
def reading(request, monkeypatch):
    """Each file is read twice: as DuckDB reads it when it can, and through the csv module's quoted
    copy, which a file goes through when DuckDB refuses it (made to refuse every file here)."""
    if request.param == "csv-module":

        def refuse(*args, **kwargs):
            raise duckdb.InvalidInputException("CSV Error on Line: 2\nValue with unterminated quote found.")

        monkeypatch.setattr(reader, "_duckdb_table", refuse)
    return request.param


STRAY_QUOTES = {
    "header": (
        b'Company,Industry"; DROP TABLE x; --,ARR\nAcme,Retail,100\nBeta,Media,200\n',
        ["Company", 'Industry"; DROP TABLE x; --', "ARR"],
        [(1, "Acme", "Retail", "100"), (2, "Beta", "Media", "200")],
    ),
    "inches": (
        b'Company,Product,Industry\nAcme,27" monitor,Retail\nBeta,desk,Media\n',
        ["Company", "Product", "Industry"],
        [(1, "Acme", '27" monitor', "Retail"), (2, "Beta", "desk", "Media")],
    ),
    "feet-and-inches": (
        b"Name,Height,City\nBob,5'10\",Paris\nAl,6'1\",Lyon\n",
        ["Name", "Height", "City"],
        [(1, "Bob", "5'10\"", "Paris"), (2, "Al", "6'1\"", "Lyon")],
    ),
    "then-a-quoted-comma": (
        b'Company,Product,Industry\nAcme,27" monitor,"Retail, online"\nBeta,desk,Media\n',
        ["Company", "Product", "Industry"],
        [(1, "Acme", '27" monitor', "Retail, online"), (2, "Beta", "desk", "Media")],
    ),
    "several-lines": (
        b'Company,Product,Note\r\n'
        b'Acme,27" monitor,"say ""hi"", then\r\nbye"\r\n'
        b'Beta,"Big" Corp,12" vinyl and 7" single\r\n'
        b"Gamma,,5'10\" tall\r\n"
        b'Delta,end",a""b\r\n',
        ["Company", "Product", "Note"],
        [
            (1, "Acme", '27" monitor', 'say "hi", then\r\nbye'),
            (2, "Beta", "Big Corp", '12" vinyl and 7" single'),
            (3, "Gamma", None, "5'10\" tall"),
            (4, "Delta", 'end"', 'a""b'),
        ],
    ),
}


@pytest.mark.parametrize("example", STRAY_QUOTES, ids=list(STRAY_QUOTES))
def test_stray_quotes_read_as_the_csv_module_reads_them(con, tmp_path, reading, example):
    data, columns, rows = STRAY_QUOTES[example]
    result = read_into(con, "t", _write(tmp_path / "crm.csv", data))

    assert (result.delimiter, result.header_row, result.columns, result.rows) == (",", 1, columns, len(rows))
    assert _rows(con) == rows
    assert _as_csv_module_reads(data) == (columns, rows)


def test_stray_quotes_after_line_30000(con, tmp_path, reading):
    body = b"".join(b"Company %d,desk,Retail\n" % i for i in range(30_000))
    late = b'Acme,27" monitor,"Retail, online"\nBob,5\'10",x\nCy,"a ""b""",c"\n'
    data = b"Company,Product,Industry\n" + body + late + body
    result = read_into(con, "t", _write(tmp_path / "late.csv", data))

    assert result.rows == 60_003
    assert con.execute('SELECT * FROM "t" WHERE _row BETWEEN 30000 AND 30004 ORDER BY _row').fetchall() == [
        (30000, "Company 29999", "desk", "Retail"),
        (30001, "Acme", '27" monitor', "Retail, online"),
        (30002, "Bob", "5'10\"", "x"),
        (30003, "Cy", 'a "b"', 'c"'),
        (30004, "Company 0", "desk", "Retail"),
    ]
    assert _rows(con) == _as_csv_module_reads(data)[1]


def _mixed_endings(seed: int, lines: int, late: int = 0) -> bytes:
    """A file whose lines end in CR, LF or CRLF in turn (seeded), some quoted values holding a line
    break (a lone CR among them, also at a value's start) in even seeds, none quoted in odd ones; the
    first `late` lines all end in LF."""
    rng = random.Random(seed)
    endings = (b"\r", b"\n", b"\r\n")
    out = [b"Company,Notes,Employees\n" if late else b"Company,Notes,Employees" + rng.choice(endings)]
    for i in range(lines):
        notes = rng.choice([b"plain", b""] if seed % 2 else
                           [b"plain", b'"\rstarts with CR"', b'"two\r\nlines"', b'"a\rb"', b'"x\ny"', b""])
        ending = b"\n" if i < late else rng.choice(endings)
        out.append(b"Co %d,%s,%d%s" % (i, notes, rng.randint(1, 5000), ending))
    return b"".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_lines_ended_by_cr_lf_and_crlf_in_turn_read_as_the_csv_module_reads_them(con, tmp_path, seed):
    data = _mixed_endings(seed, 40)
    result = read_into(con, "t", _write(tmp_path / "mixed.csv", data))
    columns, rows = _as_csv_module_reads(data)
    assert result.columns == columns == ["Company", "Notes", "Employees"]
    assert _rows(con) == rows and len(rows) == 40


def test_line_endings_that_change_after_the_sniffed_head(con, tmp_path):
    data = _mixed_endings(7, 30_020, late=30_000)
    result = read_into(con, "t", _write(tmp_path / "late-endings.csv", data))
    assert result.rows == 30_020
    assert _rows(con) == _as_csv_module_reads(data)[1]


@pytest.mark.parametrize(
    ("data", "delimiter", "columns", "rows"),
    [
        (
            b'Name;Height "in";City\nBob;5\'10";Paris\nAl;27" screen;"Lyon; France"\n',
            ";",
            ["Name", 'Height "in"', "City"],
            [(1, "Bob", "5'10\"", "Paris"), (2, "Al", '27" screen', "Lyon; France")],
        ),
        (
            b'Company\tIndustry"; DROP TABLE x; --\tNote\n'
            b'Acme\t27" monitor\t"a\tb"\nBeta\tMedia; Film\t5\'10"\n',
            "\t",
            ["Company", 'Industry"; DROP TABLE x; --', "Note"],
            [(1, "Acme", '27" monitor', "a\tb"), (2, "Beta", "Media; Film", "5'10\"")],
        ),
    ],
    ids=["semicolon", "tab"],
)
def test_stray_quotes_with_other_delimiters(con, tmp_path, reading, data, delimiter, columns, rows):
    result = read_into(con, "t", _write(tmp_path / "crm.txt", data))

    assert (result.delimiter, result.columns) == (delimiter, columns)
    assert _rows(con) == rows
    assert _as_csv_module_reads(data, delimiter=delimiter) == (columns, rows)


def test_stray_quotes_with_a_bom_and_crlf(con, tmp_path, reading):
    text = 'Firma,Produkt,Ort\r\nMüller AG,27" Monitor,"Zürich, CH"\r\nBeta,5\'10",Köln\r\n'
    data = codecs.BOM_UTF8 + text.encode()
    result = read_into(con, "t", _write(tmp_path / "bom.csv", data))

    assert (result.encoding, result.columns) == ("utf-8-sig", ["Firma", "Produkt", "Ort"])
    assert _rows(con) == [(1, "Müller AG", '27" Monitor', "Zürich, CH"), (2, "Beta", "5'10\"", "Köln")]
    assert _as_csv_module_reads(data, "utf-8-sig")[1] == _rows(con)


@pytest.mark.parametrize(
    ("text", "encoding", "rows"),
    [
        (
            'Firma,Produkt,Notiz\nCafé,27" écran,"Détail, “en ligne”"\nEuro,€100 5\'10",ok\n',
            "cp1252",
            [(1, "Café", '27" écran', "Détail, “en ligne”"), (2, "Euro", "€100 5'10\"", "ok")],
        ),
        (
            'Firma,Produkt,Notiz\nCafé,27" écran,"Détail, en ligne"\nSão,5\'10",ok\n',
            "latin-1",
            [(1, "Café", '27" écran', "Détail, en ligne"), (2, "São", "5'10\"", "ok")],
        ),
    ],
    ids=["cp1252", "latin-1"],
)
def test_stray_quotes_in_windows_and_latin1_text(con, tmp_path, reading, text, encoding, rows):
    data = text.encode(encoding)
    result = read_into(con, "t", _write(tmp_path / "excel.csv", data))

    assert result.encoding == encoding
    assert _rows(con) == rows
    assert _as_csv_module_reads(data, encoding) == (["Firma", "Produkt", "Notiz"], rows)


def test_a_well_formed_file_stays_on_duckdbs_fast_path(con, tmp_path, monkeypatch):
    def no_copy(*args, **kwargs):
        raise AssertionError("a well-formed file went through the csv module")

    monkeypatch.setattr(reader, "_requoted_table", no_copy)
    body = b"".join(b'%d,"Acme, Inc. %d","say ""hi"""\r\n' % (i, i) for i in range(30_000))
    result = read_into(con, "t", _write(tmp_path / "clean.csv", b"id,name,note\r\n" + body))

    assert result.rows == 30_000
    assert _rows(con)[-1] == (30_000, "29999", "Acme, Inc. 29999", 'say "hi"')


def test_a_stray_quote_that_misleads_duckdbs_sniffer(con, tmp_path):
    # The sniffer alone takes ';' with three lines above the header and finds no data rows.
    data = b'Product\tSize\nDesk\t120 cm\nLamp\t40 cm\nMonitor 27" - 24"\tmatte ;" glossy"\n'
    result = read_into(con, "t", _write(tmp_path / "sizes.tsv", data))

    assert (result.delimiter, result.header_row, result.columns) == ("\t", 1, ["Product", "Size"])
    assert _rows(con) == [
        (1, "Desk", "120 cm"),
        (2, "Lamp", "40 cm"),
        (3, 'Monitor 27" - 24"', 'matte ;" glossy"'),
    ]


def test_a_quoted_value_with_text_after_it_reads_as_a_spreadsheet_reads_it(con, tmp_path):
    # DuckDB refuses these; Excel and the csv module drop the quotes and keep the text.
    data = b'id,name,city\n1,"Acme, Inc" Ltd,Paris\n2,"Big" Corp,Lyon\n'
    read_into(con, "t", _write(tmp_path / "names.csv", data))

    assert _rows(con) == [(1, "1", "Acme, Inc Ltd", "Paris"), (2, "2", "Big Corp", "Lyon")]


def test_stray_quotes_keep_the_unterminated_quote_refusal(con, tmp_path, reading):
    body = b"".join(b'%d,name %d,27" monitor\n' % (i, i) for i in range(3000))
    path = _write(tmp_path / "q.csv", b"id,name,product\n" + body + b'3000,"Acme,Lyon\n' + body)
    _refused(con, path, match=r"line 3,002 has a quoted value whose closing quote is missing\.$")


def test_an_unterminated_quote_is_refused_even_when_the_field_count_matches(con, tmp_path, reading):
    # The csv module reads the rest of the file as the second field: two fields, as in the header.
    path = _write(tmp_path / "q.csv", b'id,name\n1,27" monitor\n2,"Acme\n3,Beta\n4,Gamma\n')
    _refused(con, path, match=r"line 3 has a quoted value whose closing quote is missing\.$")


def test_an_unterminated_quote_in_a_large_file_is_refused_without_reading_it_whole(con, tmp_path, reading,
                                                                                  monkeypatch):
    tail = b"".join(b"%d,name %d\n" % (i, i) for i in range(300_000))  # 4.5 MB after the open quote
    path = _write(tmp_path / "q.csv", b'id,name\n1,27" monitor\n2,"Acme\n' + tail)
    deepest = []
    next_line = reader._Lines.__next__

    def counted(lines):
        line = next_line(lines)
        deepest.append(lines.read)
        return line

    monkeypatch.setattr(reader._Lines, "__next__", counted)
    _refused(con, path, match=r"line 3 has a quoted value whose closing quote is missing\.$")
    # The open value is given up on once it is longer than a line may be, far from the file's end.
    assert deepest and max(deepest) < 300_000 // 2


@pytest.mark.parametrize(
    ("rows_before", "match"),
    [
        (30, r"the columns could not be worked out: the rows do not all have the same number of fields"),
        (30_000, r"line 30,003 has 4 fields but the header has 3\.$"),
    ],
    ids=["in-sample", "after-sample"],
)
def test_stray_quotes_keep_the_field_count_refusal(con, tmp_path, reading, rows_before, match):
    body = b"".join(b"%d,desk,Retail\n" % i for i in range(rows_before))
    data = b'id,product,industry\n1,27" monitor,Retail\n' + body + b'2,5\'10",Retail,extra\n' + body
    _refused(con, _write(tmp_path / "ragged.csv", data), match=match)


def test_a_quote_left_open_until_a_later_stray_quote_is_refused(con, tmp_path, reading):
    # The csv module ends the quoted value at the next quote, two lines down: the record has 2 fields.
    data = b'id,name,product\n1,Acme,desk\n2,"Beta,lamp\n3,Gamma,chair\n4,Delta,27" monitor\n5,Eps,desk\n'
    path = _write(tmp_path / "open.csv", data)
    _refused(con, path, match=r"line 3 has a quoted value whose closing quote is missing\.$")


def test_stray_quotes_keep_the_limits(con, tmp_path, reading):
    path = _write(tmp_path / "crm.csv", b'a,b,c\n1,27" monitor,x\n2,y,z\n3,"q",r\n')
    rows, columns = Limits(max_rows=2), Limits(max_columns=2)
    _refused(con, path, LimitExceeded, match=r"the file has more than 2 data rows, the limit\.$", limits=rows)
    _refused(con, path, LimitExceeded, match=r"3 columns, over the limit of 2\.$", limits=columns)
    _refused(
        con,
        path,
        LimitExceeded,
        match=r"a cell in column 'b' has 11 characters, over the limit of 10\.$",
        limits=Limits(max_cell_chars=10),
    )
    long_line = _write(tmp_path / "long.csv", b'a,b\n1,27" monitor\n2,' + b"x" * 3_000_000 + b"\n")
    _refused(con, long_line, LimitExceeded, match="is longer than 2,000,000 bytes")


def test_the_quoted_copy_is_always_removed(con, tmp_path, reading, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    read_into(con, "t", _write(tmp_path / "ok.csv", b'a,b\n1,27" monitor\n2,"Big" Corp\n'))
    assert _rows(con) == [(1, "1", '27" monitor'), (2, "2", "Big Corp")]
    _refused(con, _write(tmp_path / "bad.csv", b'a,b\n1,27" monitor\n2,"Big" Corp,x\n'), match="3 fields")
    assert list(temp.iterdir()) == []


SALESFORCE_FOOTER = (
    b'\n""\n""\n"Copyright (c) 2000-2023 salesforce.com, inc. All rights reserved."\n'
    b'"Confidential Information - Do Not Distribute"\n'
    b'"Generated By:  Jane Doe  4/5/2023 10:22 AM"\n"Acme, Inc."\n'
)


@pytest.mark.parametrize("rows", [2, 30_000])
def test_a_salesforce_report_footer_is_left_out(con, tmp_path, rows):
    body = b'"Acme","Jane Doe","Retail, online"\n' * (rows - 1) + b'"Beta","Bob","Media"\n'
    data = b'"Account Name","Account Owner","Industry"\n' + body + SALESFORCE_FOOTER
    result = read_into(con, "t", _write(tmp_path / "report.csv", data))

    assert result.columns == ["Account Name", "Account Owner", "Industry"] and result.rows == rows
    assert _rows(con)[-2:] == [
        (rows - 1, "Acme", "Jane Doe", "Retail, online"),
        (rows, "Beta", "Bob", "Media"),
    ]


@pytest.mark.parametrize(
    ("footer", "line"),
    [
        (SALESFORCE_FOOTER[1:], 30_002),  # no blank line before it
        (b'\n""\n"Confidential Information - Do Not Distribute"\n', 30_003),  # not Salesforce's
        (SALESFORCE_FOOTER + b'"Gamma","Media"\n', 30_003),  # data after it
        (SALESFORCE_FOOTER.replace(b'"Acme, Inc."', b"Acme Inc"), 30_003),  # a line not quoted
    ],
    ids=["no-blank-line", "no-copyright", "data-after", "unquoted-line"],
)
def test_only_a_true_salesforce_footer_is_left_out(con, tmp_path, footer, line):
    data = b'"Account Name","Industry"\n' + b'"Acme","Retail, online"\n' * 30_000 + footer
    path = _write(tmp_path / "report.csv", data)
    _refused(con, path, match=rf"line {line:,} has 1 fields but the header has 2\.$")


# --- the public files in ../shared/data ----------------------------------------------------------


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "rows", "encoding"),
    [
        ("maven_crm/accounts.csv", 85, "utf-8"),
        ("maven_crm/sales_pipeline.csv", 8_800, "utf-8"),
        ("inc5000.csv", 5_000, "utf-8"),
        ("aws_saas_sales.csv", 9_994, "utf-8-sig"),
        ("unicorn_companies_raw.csv", 1_074, "utf-8"),
        ("crunchbase_2015_acquisitions.csv", 18_968, "utf-8"),
        ("crunchbase_investments_vc_trimmed.csv", 49_438, "latin-1"),
    ],
)
def test_real_csv_files(con, relative, rows, encoding):
    result = read_into(con, "t", _shared(relative))

    assert (result.rows, result.encoding, result.delimiter) == (rows, encoding, ",")
    assert con.execute('SELECT count(*), min(_row), max(_row) FROM "t"').fetchone() == (rows, 1, rows)


@pytest.mark.realdata
def test_real_inc5000_padded_header(con):
    result = read_into(con, "t", _shared("inc5000.csv"))

    assert "REVENUE" in result.columns
    assert con.execute('SELECT count(*) FROM "t" WHERE "REVENUE" = \'18.3 MM\'').fetchone()[0] >= 1


@pytest.mark.realdata
def test_real_aws_bom_is_not_part_of_the_first_header(con):
    assert read_into(con, "t", _shared("aws_saas_sales.csv")).columns[0] == "Row ID"


@pytest.mark.realdata
def test_real_crunchbase_latin1(con):
    result = read_into(con, "t", _shared("crunchbase_investments_vc_trimmed.csv"))

    assert result.columns[0] == "market" and result.columns[-1] == "funding_total_usd"
    assert con.execute("SELECT count(*) FROM \"t\" WHERE region = 'Itá'").fetchone()[0] > 0
    assert con.execute('SELECT market, funding_total_usd FROM "t" WHERE _row = 1').fetchone() == (
        " News ",
        " 17,50,000 ",
    )


@pytest.mark.realdata
def test_real_unicorn_workbook(con):
    path = _shared("unicorn_companies.xlsx")
    result = read_into(con, "t", path)

    assert result.sheet == "Unicorn_Companies" and result.rows == 1_074 and result.header_row == 1
    assert len(result.sheets) == 9 and list_sheets(path) == result.sheets
    first = con.execute('SELECT "Company", "Date Joined", "Year Founded" FROM "t" WHERE _row = 1').fetchone()
    assert first == ("Assembly", "2021-09-21", "2019")
    with pytest.raises(InputFileError, match="sheet 'Top 5 Countries with companies' is empty"):
        read_into(con, "t", path, sheet="Top 5 Countries with companies")
    pivot = read_into(con, "t", path, sheet="CountOfCompanies By YearJoined")
    assert pivot.header_row == 3 and pivot.columns == ["Year Joined", "Count of Company"]
