"""icp.reader: every supported format read into a temp table of raw text, and every refusal."""

import codecs
import datetime as dt
import io
import random
import re
import time
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from icp.errors import InputFileError, LimitExceeded
from icp.limits import Limits
from icp.reader import list_sheets, read_into

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
    from icp.reader import _number_rows

    con.execute("CREATE TEMP TABLE g AS SELECT NULL::BIGINT AS _row, 'v' || range AS v FROM range(6)")
    con.execute("DELETE FROM g WHERE v IN ('v1', 'v4')")
    _number_rows(con, "g")
    assert con.execute("SELECT _row, v FROM g ORDER BY rowid").fetchall() == [(1, "v0"), (2, "v2"), (3, "v3"), (4, "v5")]


def test_a_million_rows_go_straight_through_duckdb(con, tmp_path):
    path = tmp_path / "big.csv"
    con.execute(
        f"COPY (SELECT i AS seq, 'name ' || i AS name, i % 97 AS n FROM range(1000000) t(i)) "
        f"TO '{path}' (HEADER)"
    )
    started = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE plain AS SELECT * FROM read_csv('{path}', all_varchar = true)")
    duckdb_alone = time.perf_counter() - started

    started = time.perf_counter()
    result = read_into(con, "t", path)
    ours = time.perf_counter() - started

    assert result.rows == 1_000_000
    assert con.execute('SELECT count(*) FROM "t" WHERE _row <> seq::BIGINT + 1').fetchone() == (0,)
    assert ours < 4 * duckdb_alone + 1.5, (ours, duckdb_alone)


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


def test_million_character_cell_is_refused_quickly(con, tmp_path):
    path = _write(tmp_path / "essay.csv", b"id,note\n1,short\n2," + b"x" * 1_000_000 + b"\n")
    started = time.perf_counter()
    _refused(
        con, path, LimitExceeded, match="column 'note' has 1,000,000 characters, over the limit of 100,000"
    )
    assert time.perf_counter() - started < 5


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
