"""The one rule for every cell of every CSV and XLSX the product writes, whatever the cell's origin
(uploaded data, headers, icp.json fields, text typed in the app), as a Python function and as the
SQL expression DuckDB evaluates where an export is written by SQL for speed. The decision and its
reasons are in docs/reliability.md ("Cells of CSV and XLSX exports").

1. Control characters an XLSX cell cannot hold (XML 1.0 forbids them) are dropped, in the CSV too,
   so both files hold the same text.
2. A cell that is a plain number ("-12.5", "+3", "-1,200") is left as it is: a spreadsheet reads it
   as a number, never as a formula.
3. Otherwise a `'` is put before the cell when, after any spaces, line breaks and invisible
   characters, it starts with `=`, `+`, `-`, `@`, a tab, a CR or an LF, or the full-width
   `＝ ＋ － ＠` (OWASP's rule, with LF and the full-width forms added);
4. and right after every `;` and tab inside it whose following text starts, after the same
   characters, with one of those but the tab. A spreadsheet opened in a locale whose list
   separator is `;` splits an unquoted cell there, and text import splits on tabs by default:
   each piece would be a cell of its own. A tab after a split is a split of its own.

Steps 3 and 4 look at the same text (the cell after step 1) and neither finds what the other put
in, so the rule is idempotent: text neutralized twice is prefixed once. Every pattern is written
once here and rendered for both regex engines, Python's `re` and RE2 (DuckDB);
tests/test_cells.py checks the two against each other on every kind of cell.
"""

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# (first, last) code points.
# XML 1.0 forbids these in text (openpyxl refuses them; Excel will not open a file holding them).
_DROPPED = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F))
# What may stand before a formula's first character unseen or be trimmed away by a spreadsheet or
# a viewer: spaces of every width, line breaks, DEL and C1 controls, zero-width and bidi marks, BOM.
_SKIPPED = ((0x0A, 0x0A), (0x0D, 0x0D), (0x20, 0x20), (0x7F, 0xA0), (0xAD, 0xAD), (0x1680, 0x1680),
            (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F),
            (0x3000, 0x3000), (0xFEFF, 0xFEFF))
# A formula's first character (OWASP's list, with LF), and the full-width forms an IME types.
_TRIGGERS = tuple((ord(c), ord(c)) for c in "=+-@\r\n＝＋－＠")
_TAB = ((0x09, 0x09),)
# Where a spreadsheet may split an unquoted cell into cells of its own.
_SEPARATORS = ((ord(";"), ord(";")), *_TAB)
_NUMBER = r"[+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_INSERT = r"\1'\2"  # the replacement of `split`, the same in both engines


def _class(ranges, engine: str) -> str:
    def char(code: int) -> str:
        return f"\\u{code:04x}" if engine == "python" else f"\\x{{{code:x}}}"
    return "[" + "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges) + "]"


def _patterns(engine: str) -> dict[str, str]:
    dropped, separators = _class(_DROPPED, engine), _class(_SEPARATORS, engine)
    start = f"^{_class((*_SKIPPED, *_TAB), engine)}*{_class((*_TRIGGERS, *_TAB), engine)}"
    # A piece holds no separator, so no match of `split` swallows the separator of the next.
    piece = f"{_class(_SKIPPED, engine)}*{_class(_TRIGGERS, engine)}"
    return {"dropped": dropped, "start": start, "split": f"({separators})({piece})", "number": _NUMBER,
            "unsafe": f"{dropped}|{start}|{separators}{piece}"}


_PY = {name: re.compile(pattern) for name, pattern in _patterns("python").items()}
_SQL = _patterns("re2")


def neutralize(text: str) -> str:
    """The text as every CSV and XLSX export writes it (see the module's rule)."""
    text = _PY["dropped"].sub("", text)
    if _PY["number"].fullmatch(text):
        return text
    split = _PY["split"].sub(_INSERT, text)
    return "'" + split if _PY["start"].match(text) else split


def value(cell):
    """A Python cell for a file: text neutralized, anything else (numbers, None, dates) as it is."""
    return neutralize(cell) if isinstance(cell, str) else cell


def neutralized(series: pd.Series) -> pd.Series:
    """A column as neutralized text (pandas "string", missing stays missing). One search by Arrow,
    with DuckDB's regex engine and pattern, finds the cells the rule may change (a ninth of the time
    Python's `re` takes over a column); only those go through `neutralize`."""
    text = series.astype("string")
    found = pc.match_substring_regex(pa.array(text, from_pandas=True), _SQL["unsafe"])
    flagged = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    if flagged.any():
        text = text.copy()
        text[flagged] = [neutralize(cell) for cell in text[flagged]]
    return text


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_changes(expr: str) -> str:
    """A SQL condition: whether the rule may change the cell (true for every cell it changes). One
    regex search, which for 200,000 rows by 10 columns takes 0.1 s."""
    return f"regexp_matches({expr}, {_literal(_SQL['unsafe'])})"


def sql(expr: str) -> str:
    """SQL (DuckDB) giving `neutralize` of the text expression `expr`; NULL stays NULL. Cells that
    need nothing, nearly all, cost one regex search; `expr` is bound once by a lambda."""
    quote = _literal("'")
    chain = (f"CASE WHEN regexp_full_match(w, {_literal(_SQL['number'])}) THEN w "
             f"ELSE CASE WHEN regexp_matches(w, {_literal(_SQL['start'])}) THEN {quote} ELSE '' END "
             f"|| regexp_replace(w, {_literal(_SQL['split'])}, {_literal(_INSERT)}, 'g') END")
    return (f"CASE WHEN {sql_changes(expr)} "
            f"THEN list_transform([regexp_replace({expr}, {_literal(_SQL['dropped'])}, '', 'g')], "
            f"lambda w: {chain})[1] ELSE {expr} END")
