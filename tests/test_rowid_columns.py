"""A column named like DuckDB's row id (`rowid`, `RowID`, `ROWID`) is only a name.

DuckDB lets a table's own column shadow its `rowid` pseudo-column, and the engine numbers rows and
indexes accounts by rowid; a CRM export with such a column once gave a traceback in the CLI and an
error box in the app. The same files with the column renamed must give the same results.
"""

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from icp.cli import main
from icp.data.reader import read_into

SPELLINGS = ("rowid", "RowID", "ROWID")


def _with_column(source: Path, target: Path, header: str, values, rows: int | None = None) -> Path:
    frame = pd.read_csv(source, dtype=str, keep_default_na=False, nrows=rows)
    frame.insert(0, header, values(len(frame)))
    if target.suffix == ".csv":
        frame.to_csv(target, index=False, quoting=csv.QUOTE_MINIMAL)
    elif target.suffix == ".parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_excel(target, index=False)
    return target


def _shuffled(n: int) -> list[str]:
    # A column whose values are the row numbers in another order: an engine reading it as the row id
    # would put every account's score on another account, silently.
    return [str((i * 7919) % n) for i in range(n)]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_a_rowid_column_is_read_as_a_column(tmp_path, suffix):
    rows = 40
    frame = pd.DataFrame({"RowID": [f"R-{i}" for i in range(rows)], "Company": [f"Co {i}" for i in range(rows)]})
    path = tmp_path / f"accounts{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    con = duckdb.connect()
    read_into(con, "t", path)
    got = con.execute('SELECT _row, "RowID", "Company" FROM temp.main.t ORDER BY _row').fetchall()
    assert got == [(i + 1, f"R-{i}", f"Co {i}") for i in range(rows)]


def _build(folder: Path, out: Path, headers: dict[str, str]) -> dict[str, str]:
    # A slice of the demo's universe is enough to see every account keep its own score.
    files = {name: _with_column(folder / f"{name}.csv", out.parent / f"{out.name}-{name}.csv", header, _shuffled,
                                3_000 if name == "universe" else None)
             for name, header in headers.items()}
    code = main(["build", "--customers", str(files["customers"]), "--deals", str(files["deals"]),
                 "--universe", str(files["universe"]), "--out", str(out)])
    assert code == 0
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir()) if p.suffix in (".csv", ".json", ".sql")}


@pytest.mark.slow
def test_the_workflow_on_files_with_a_rowid_column_equals_the_same_column_named_otherwise(tmp_path):
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    lists = ("customers", "deals", "universe")
    plain = _build(folder, tmp_path / "plain", dict.fromkeys(lists, "Row Number"))
    shadowed = _build(folder, tmp_path / "shadowed", dict(zip(lists, SPELLINGS, strict=True)))
    assert shadowed.keys() == plain.keys()
    for name, text in plain.items():
        mine = shadowed[name]
        for spelling in SPELLINGS:
            mine = mine.replace(f'"{spelling}"', '"Row Number"').replace(f"{spelling},", "Row Number,")
        if name == "icp.json":
            mine, text = json.loads(mine), json.loads(text)
            for doc in (mine, text):
                doc.pop("data_fingerprint", None)
                doc.pop("created_at", None)
        assert mine == text, f"{name} differs"
