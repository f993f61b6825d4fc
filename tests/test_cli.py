"""The `icp` command line: exit codes, one-line errors, files written."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from icp.cli import main
from tests.helpers import run_icp

ROOT = Path(__file__).resolve().parents[1]


def test_demo_writes_the_three_demo_files(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "out")]) == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["customers.csv", "deals.csv", "universe.csv"]
    assert len(pd.read_csv(tmp_path / "out" / "universe.csv")) >= 50_000
    assert "customers:" in capsys.readouterr().out


def test_bad_output_folder_is_one_error_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, "-m", "icp", "demo", str(blocker / "out")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "file" in lines[0]
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2_without_traceback():
    result = subprocess.run([sys.executable, "-m", "icp", "nonsense"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_usage_mistake_is_one_error_line():
    # In this process; test_usage_errors_exit_2_without_traceback runs the parser in its own.
    result = run_icp("sql", "--dialect", "oracle")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "oracle" in lines[0]


@pytest.mark.parametrize("name", ["evil\nerror: forged line.csv", "\x1b[2J\x1b[31mred\x1b[0m.csv", "bell\x07\x9b.csv"])
def test_control_characters_in_a_file_name_are_written_escaped(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 not a table")
    result = subprocess.run([sys.executable, "-m", "icp", "build", "--customers", str(path), "--out",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not any(ch in result.stderr + result.stdout for ch in "\x1b\x07\x9b")
    assert repr(str(path))[1:-1] in lines[0]
