"""The one definition of a trimmed value, used wherever a value is compared with what an ICP names.

A value is trimmed of exactly the characters Python's `str.strip()` removes (`TRIM_CHARACTERS`),
then lower-cased. The engines' own TRIM disagree on what a space is (DuckDB strips the Unicode
space separators but not tabs or line breaks, PostgreSQL and Spark only ' ', Snowflake documents
' ' alone), so '\u00a0Fintech' matched 'Fintech' in one engine and not in another; every place that
trims (the criteria's values in Python, the score in the app and in each dialect of scoring.sql,
carrying criteria to a list, the items of a list on the Patterns page) names these characters, and
ingest (icp.normalize) takes exactly them for spaces, so a label the app shows is already trimmed.

Shared by every layer, so it lives at the top of `icp/`: the analysis layer may not import the
profile layer, where the scoring SQL is built per dialect (`icp.profile.scoring`).
"""

import sqlglot
from sqlglot import exp

# U+0009-000D, U+001C-0020, U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F,
# U+3000: the characters for which str.isspace() is true (tests/test_sql_engines.py checks it).
TRIM_CHARACTERS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                   + "\u2028\u2029\u202f\u205f\u3000")


def _runs(characters: str) -> list[tuple[int, int]]:
    """The code points of `characters` as runs (first, last) of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for code in sorted(map(ord, characters)):
        if runs and code == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


# How scoring.sql's header names them: "U+0009-000D, U+001C-0020, U+0085, ...".
TRIM_DESCRIPTION = ", ".join(f"U+{a:04X}-{b:04X}" if b > a + 1 else ", ".join(f"U+{c:04X}" for c in range(a, b + 1))
                             for a, b in _runs(TRIM_CHARACTERS))


# DuckDB's TRIM(x, characters) costs about ten times its plain TRIM (4 s against 0.4 s for 3M
# cells, measured), while an anchored RE2 replacement of the same class costs about twice: the
# app scores and tests criteria on millions of accounts with this one.
# The characters as the inside of an RE2 class, "\\x{9}-\\x{d}\\x{1c}-...": ingest's notion of a
# space (icp.normalize) is the same set.
TRIM_CLASS_BODY = "".join(f"\\x{{{a:x}}}" + (f"-\\x{{{b:x}}}" if b > a else "") for a, b in _runs(TRIM_CHARACTERS))
_CLASS = f"[{TRIM_CLASS_BODY}]"
TRIM_PATTERN = f"^{_CLASS}+|{_CLASS}+$"


def trim(text: str) -> str:
    return text.strip(TRIM_CHARACTERS)


def normalize(text: str) -> str:
    """What a value is compared as: trimmed, then lower-cased."""
    return trim(text).lower()


def trimmed(value: exp.Expression) -> exp.Expression:
    """`value` trimmed, in DuckDB."""
    return exp.RegexpReplace(this=value, expression=exp.Literal.string(TRIM_PATTERN),
                             replacement=exp.Literal.string(""), modifiers=exp.Literal.string("g"))


def trimmed_sql(expression: str) -> str:
    """DuckDB SQL of `expression` (SQL text, such as a column or lambda variable) trimmed."""
    return trimmed(sqlglot.parse_one(expression, read="duckdb")).sql("duckdb")


def normalized_sql(expression: str) -> str:
    """DuckDB SQL of `expression` trimmed and lower-cased, as `normalize` does in Python."""
    return exp.Lower(this=trimmed(sqlglot.parse_one(expression, read="duckdb"))).sql("duckdb")
