"""icp.normalize: every macro through a real DuckDB connection, values always bound as parameters."""

import datetime as dt

import duckdb
import pytest

from icp import normalize
from icp.normalize import country_code, install, quote_ident


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    install(connection)
    yield connection
    connection.close()


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()[0]


NUMBERS = [
    ("1200000", 1_200_000),
    ("1,200,000", 1_200_000),
    ("$1.2M", 1_200_000),
    ("1.2m", 1_200_000),
    ("18.3 MM", 18_300_000),
    ("€3 Mio", 3_000_000),
    ("3,5 Mio", 3_500_000),
    ("EUR 3.5 million", 3_500_000),
    ("£250k", 250_000),
    ("17,50,000", 1_750_000),
    (" 40,00,000 ", 4_000_000),
    ("1,00,00,000", 10_000_000),
    ("1.200.000", 1_200_000),
    ("1.234,56", 1234.56),
    ("1.234.567,89", 1_234_567.89),
    ("1,234.56", 1234.56),
    ("(1,234)", -1234),
    ("($1,234.50)", -1234.5),
    ("-12.5", -12.5),
    ("-$1,000", -1000),
    ("$-1,000", -1000),
    ("12%", 12),
    ("$2B", 2e9),
    ("1.5 bn", 1.5e9),
    ("2 Mrd", 2e9),
    ("2 Milliarden", 2e9),
    ("3 Mio. €", 3_000_000),
    ("250k€", 250_000),
    ("1.5 Tsd", 1500),
    ("4 thousand", 4000),
    ("1.1t", 1.1e12),
    ("USD 1,000", 1000),
    ("5e6", 5_000_000),
    ("1 200 000", 1_200_000),
    ("1\u00a0234,56", 1234.56),
    ("1'234.50", 1234.5),
    ("3,5", 3.5),
    ("1,5000", 1.5),
    ("1.200", 1.2),
    ("12.", 12),
    ("Rs. 5,00,000", 500_000),
    ("2 crore", 20_000_000),
    ("0", 0),
]
NOT_NUMBERS = [
    " -   ", "n/a", "-", "unknown", "", "   ", None, "1.2.3", "1,2,3", "1,23.4", "(12", "12 apples",
    "nan", "inf", "2012-06", "51-200",
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), NUMBERS)
def test_icp_number(con, raw, expected):
    assert one(con, "SELECT icp_number(?)", raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_icp_number_is_null_for_non_numbers(con, raw):
    assert one(con, "SELECT icp_number(?)", raw) is None


EMPLOYEES = [
    ("1200", 1200),
    ("1,200", 1200),
    ("1.200", 1200),  # a headcount is whole: the dot groups thousands
    ("1.2k", 1200),
    ("51-200", 125.5),
    ("51 - 200", 125.5),
    ("51 to 200", 125.5),
    ("51–200", 125.5),
    ("1,001-5,000", 3000.5),
    ("10001+", 10001),
    ("10,000+", 10000),
    ("over 5000", 5000),
    (">5000", 5000),
    ("5000 or more", 5000),
    ("<10", 5),
    ("under 10", 5),
    ("self-employed", 1),
    ("Self Employed", 1),
    ("~50 employees", 50),
    ("approx. 200", 200),
]
NOT_EMPLOYEES = ["", None, "n/a", "unknown", "-5", "(5)", "200-51", "lots"]


@pytest.mark.parametrize(("raw", "expected"), EMPLOYEES)
def test_icp_employees(con, raw, expected):
    assert one(con, "SELECT icp_employees(?)", raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", NOT_EMPLOYEES)
def test_icp_employees_is_null_for_non_headcounts(con, raw):
    assert one(con, "SELECT icp_employees(?)", raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("51-200", "51-200"),
        (" 51 - 200 ", "51 - 200"),
        ("10001+", "10001+"),
        ("over 5000", "over 5000"),
        ("<10", "<10"),
        ("51-200 employees", "51-200 employees"),
        ("$1M-$10M", "$1M-$10M"),
        ("1200", None),
        ("self-employed", None),
        ("", None),
        (None, None),
    ],
)
def test_icp_band_text(con, raw, expected):
    assert one(con, "SELECT icp_band_text(?)", raw) == expected


@pytest.mark.parametrize(
    ("headcount", "band"),
    [
        (None, None), (0, None), (-3, None), (1, "1-10"), (5.5, "1-10"), (10, "1-10"), (11, "11-50"),
        (50, "11-50"), (125.5, "51-200"), (200, "51-200"), (201, "201-500"), (500, "201-500"),
        (501, "501-1000"), (1000, "501-1000"), (1001, "1001-5000"), (5000, "1001-5000"),
        (5001, "5001+"), (10001, "5001+"),
    ],
)  # fmt: skip
def test_icp_size_band(con, headcount, band):
    assert one(con, "SELECT icp_size_band(CAST(? AS DOUBLE))", headcount) == band


@pytest.mark.parametrize(
    ("revenue", "band"),
    [
        (None, None), (-1, None), (0, "<1M"), (999_999, "<1M"), (1e6, "1M-10M"), (9.99e6, "1M-10M"),
        (1e7, "10M-50M"), (5e7, "50M-100M"), (1e8, "100M-500M"), (5e8, "500M-1B"), (1e9, "1B+"),
        (5e12, "1B+"),
    ],
)  # fmt: skip
def test_icp_revenue_band(con, revenue, band):
    assert one(con, "SELECT icp_revenue_band(CAST(? AS DOUBLE))", revenue) == band


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("http://acme.com:8080/x?y=1", "acme.com"),
        ("//acme.com/", "acme.com"),
        ("sub.acme-corp.io/path#top", "sub.acme-corp.io"),
        ("john@Acme.co.uk", "acme.co.uk"),
        ("mailto:sales@acme.io", "acme.io"),
        ("John Doe <john@acme.com>", "acme.com"),
        ("münchen.de", "münchen.de"),
        ("acme", None),
        ("acme .com", None),
        ("acme.com, beta.com", None),
        ("192.168.0.1", None),
        ("-acme.com", None),
        ("", None),
        (None, None),
    ],
)
def test_icp_domain(con, raw, expected):
    assert one(con, "SELECT icp_domain(?)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yes", True), ("Y", True), ("TRUE", True), ("t", True), ("1", True), ("1.0", True),
        ("x", True), ("X", True), ("On", True), (" yes ", True),
        ("no", False), ("N", False), ("false", False), ("F", False), ("0", False), ("off", False),
        ("churned", None), ("active", None), ("maybe", None), ("", None), (None, None),
    ],
)  # fmt: skip
def test_icp_bool(con, raw, expected):
    assert one(con, "SELECT icp_bool(?)", raw) is expected


DATES = [
    ("2022-11-09", False, dt.date(2022, 11, 9)),
    ("2022-11-09T10:00:00Z", False, dt.date(2022, 11, 9)),
    ("2022-11-09 23:30:00.123+01:00", False, dt.date(2022, 11, 9)),
    ("11/9/2022", False, dt.date(2022, 11, 9)),
    ("11/9/2022", True, dt.date(2022, 9, 11)),
    ("11/9/2022 10:30 AM", False, dt.date(2022, 11, 9)),
    ("11/9/22", False, dt.date(2022, 11, 9)),
    ("1/2/69", False, dt.date(1969, 1, 2)),
    ("13/1/2022", True, dt.date(2022, 1, 13)),
    ("9.11.2022", False, dt.date(2022, 11, 9)),
    ("9.11.2022", True, dt.date(2022, 11, 9)),
    ("2022/11/09", False, dt.date(2022, 11, 9)),
    ("Nov 9, 2022", False, dt.date(2022, 11, 9)),
    ("Nov. 9, 2022", True, dt.date(2022, 11, 9)),
    ("November 9th, 2022", False, dt.date(2022, 11, 9)),
    ("Wed, Nov 9, 2022", False, dt.date(2022, 11, 9)),
    ("9 Nov 2022", False, dt.date(2022, 11, 9)),
    ("9. November 2022", False, dt.date(2022, 11, 9)),
    ("09-Nov-22", False, dt.date(2022, 11, 9)),
    ("Sept 9, 2022", False, dt.date(2022, 9, 9)),
    ("November 2022", False, dt.date(2022, 11, 1)),
    ("20221109", False, dt.date(2022, 11, 9)),
    ("19000101", False, dt.date(1900, 1, 1)),
    ("2012-06", False, dt.date(2012, 6, 1)),
    ("06/2012", False, dt.date(2012, 6, 1)),
]
NOT_DATES = [
    "44874",  # an Excel serial number
    "21010101", "20221332", "2022-02-30", "13/25/2022", "1/13/2022", "2012", "2012.0", "2012.06",
    "5.1234", "n/a", "", None,
]  # fmt: skip


@pytest.mark.parametrize(("raw", "dayfirst", "expected"), DATES)
def test_icp_date(con, raw, dayfirst, expected):
    assert one(con, "SELECT icp_date(?, ?)", raw, dayfirst) == expected


@pytest.mark.parametrize("raw", NOT_DATES)
def test_icp_date_is_null_for_non_dates(con, raw):
    assert one(con, "SELECT icp_date(?, true)", raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2012", 2012), ("2012.0", 2012), ("Founded 1996", 1996), ("2012-06-01", 2012),
        ("12/5/2012", 2012), ("1800", 1800), ("2100", 2100), ("1799", None), ("2101", None),
        ("20221109", None), ("n/a", None), ("", None), (None, None),
    ],
)  # fmt: skip
def test_icp_year(con, raw, expected):
    assert one(con, "SELECT icp_year(?)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a; b, c|d\ne", ["a", "b", "c", "d", "e"]),
        ("Tech, tech ,TECH; Retail", ["Tech", "Retail"]),
        ("SaaS;saas;B2B;Saas", ["SaaS", "B2B"]),
        ("  x  ", ["x"]),
        ("a;;b\r\n", ["a", "b"]),
        (";,|", None),
        ("", None),
        (None, None),
    ],
)
def test_icp_list(con, raw, expected):
    assert one(con, "SELECT icp_list(?)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Software   Development ", "software development"),
        ("SOFTWARE\u00a0development", "software development"),
        ("Straße", "strasse"),
        ("   ", None),
        ("", None),
        (None, None),
    ],
)
def test_icp_label_key(con, raw, expected):
    assert one(con, "SELECT icp_label_key(?)", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme, Inc.", "acme"),
        ("ACME Inc", "acme"),
        ("acme", "acme"),
        ("Acme Corporation", "acme"),
        ("Acme-Corp", "acme"),
        ("A.C.M.E. Ltd", "acme"),
        ("Acme Pty Ltd", "acme"),
        ("Acme GmbH & Co. KG", "acme"),
        ("Société Générale S.A.", "societe generale"),
        ("Procter & Gamble Co.", "procter and gamble"),
        ("AT&T", "at and t"),
        ("McDonald's Corp.", "mcdonalds"),
        ("Smith & Co", "smith"),
        ("Inc", "inc"),
        ("  ", None),
        (None, None),
    ],
)
def test_icp_name_key(con, raw, expected):
    assert one(con, "SELECT icp_name_key(?)", raw) == expected


COUNTRIES = [
    ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("United States of America", "US"),
    ("US", "US"), ("us", "US"), ("UK", "GB"), ("Great Britain", "GB"), ("England", "GB"),
    ("Scotland", "GB"), ("Wales", "GB"), ("Deutschland", "DE"), ("germany ", "DE"), ("DEU", "DE"),
    ("Espana", "ES"), ("España", "ES"), ("Brasil", "BR"), ("Korea, South", "KR"),
    ("South Korea", "KR"), ("Russia", "RU"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
    ("Viet Nam", "VN"), ("Vietnam", "VN"), ("Holland", "NL"), ("The Netherlands", "NL"),
    ("UAE", "AE"), ("Hong Kong", "HK"), ("Taiwan", "TW"), ("Ivory Coast", "CI"),
    ("Côte d'Ivoire", "CI"), ("Türkiye", "TR"), ("Turkey", "TR"), ("CA", "CA"),
    ("Untied States", "US"), ("Phillipines", "PH"), ("Austria", "AT"), ("Australia", "AU"),
    ("TX", None), ("APAC", None), ("EMEA", None), ("North", None), ("Other", None),
    ("N/A", None), ("NA", None), ("Narnia", None), ("", None), ("  ", None), (None, None),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), COUNTRIES)
def test_country_code(raw, expected):
    assert country_code(raw) == expected


def test_quote_ident_doubles_embedded_quotes():
    assert quote_ident('a "b" c') == '"a ""b"" c"'


def test_macros_are_temp_and_leave_the_database_file_alone(tmp_path):
    path = str(tmp_path / "workspace.duckdb")
    with duckdb.connect(path) as first:
        first.execute("CREATE TABLE t (s VARCHAR)")
        install(first)
        install(first)  # idempotent
        assert first.execute("SELECT icp_number('1k')").fetchone()[0] == 1000
    with duckdb.connect(path, read_only=True) as again:
        names = again.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE '%icp%'"
        ).fetchall()
        assert names == []
        install(again)  # works on a read-only workspace too: nothing is written to the file
        assert again.execute("SELECT icp_year('1996')").fetchone()[0] == 1996


def test_every_public_macro_is_installed(con):
    installed = {
        row[0]
        for row in con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE database_name = 'temp' AND function_type = 'macro'"
        ).fetchall()
    }
    public = {signature.split("(")[0] for signature in normalize._MACROS if signature.startswith("icp_")}
    assert public == {
        "icp_number", "icp_employees", "icp_size_band", "icp_revenue_band", "icp_band_text", "icp_domain",
        "icp_bool", "icp_date", "icp_year", "icp_list", "icp_label_key", "icp_name_key", "icp_cell",
    }  # fmt: skip
    assert public <= installed


def test_macros_work_on_a_column(con):
    values = ["$1.2M", "n/a", "3,5 Mio", None, "17,50,000"]
    total = con.execute(
        "SELECT sum(icp_number(s)), count(icp_number(s)) FROM unnest(?::VARCHAR[]) AS u(s)", [values]
    ).fetchone()
    assert total == (pytest.approx(1_200_000 + 3_500_000 + 1_750_000), 3)


@pytest.mark.parametrize(("raw", "expected"), [
    (" -   ", None), ("N/A", None), ("#N/A", None), ("Unknown", None), ("", None), ("  ", None), (None, None),
    (" Acme  Corp ", "Acme Corp"), ("0", "0"), ("-5", "-5"), ("None of the above", "None of the above"),
])
def test_icp_cell_turns_placeholders_for_missing_into_null(con, raw, expected):
    assert con.execute("SELECT icp_cell(?)", [raw]).fetchone()[0] == expected
