"""Each CRM vendor's export, in its exact format (tests/vendor_exports.py), through the engine.

Every file is loaded once into its own workspace; each test then checks one thing about it: the rows,
the role of each named column, the roles a column must not get, why a column is never analysed, the
won / lost / open counts of a deals list, and that every role column was read without failures.
A test that checks many columns reports every wrong one at once.
"""

from dataclasses import dataclass

import duckdb
import pytest

from icp.data.reports import ListReport
from icp.data.roles import ACCOUNT_LISTS
from icp.data.workspace import Workspace
from tests.vendor_exports import VENDOR_FILES, VendorFile


@dataclass(frozen=True, repr=False)
class Loaded:
    vendor: str
    file: VendorFile
    workspace: Workspace
    report: ListReport | None
    error: Exception | None

    def __repr__(self) -> str:  # a failure's traceback shows this: the vendor, not the whole report
        return f"<{self.vendor}: {self.file.path.name}>"

    def loaded_report(self) -> ListReport:
        """The list's report; a file the engine refused fails the test with its sentence, not an error."""
        if self.error is not None:
            pytest.fail(f"{self.vendor}: '{self.file.path.name}' could not be loaded as {self.file.kind}: "
                        f"{type(self.error).__name__}: {self.error}")
        assert self.report is not None
        return self.report

    def columns(self) -> dict:
        return {c.source: c for c in self.loaded_report().columns}


@pytest.fixture(scope="module")
def load_vendor(tmp_path_factory):
    """Write and load each vendor file once per module run, whatever the tests that read it."""
    cache: dict[str, Loaded] = {}

    def load(writer) -> Loaded:
        name = writer.__name__
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            vendor_file = writer(folder)  # a failure here is a bug in the fixture: let it error
            workspace = Workspace.create(name, folder=folder)
            try:
                report, error = workspace.add_list(vendor_file.kind, vendor_file.path), None
            except Exception as err:  # the engine's refusal is what the tests report
                report, error = None, err
            cache[name] = Loaded(name, vendor_file, workspace, report, error)
        return cache[name]

    return load


@pytest.fixture(params=VENDOR_FILES, ids=[w.__name__ for w in VENDOR_FILES])
def vendor(request, load_vendor) -> Loaded:
    return load_vendor(request.param)


def _diff(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}):\n" + "\n".join(f"  {line}" for line in lines)


def test_file_loads_without_error(vendor):
    report = vendor.loaded_report()
    assert getattr(report, "error", None) is None, f"{vendor.vendor}: {report.error}"


def test_every_row_is_read_and_no_two_accounts_are_merged(vendor):
    report = vendor.loaded_report()
    expected = vendor.file.rows
    problems = []
    if report.rows_read != expected:
        problems.append(f"rows_read {report.rows_read}, the file has {expected} data rows")
    if vendor.file.kind in ACCOUNT_LISTS and report.rows_kept != expected:
        problems.append(f"rows_kept {report.rows_kept} of {expected}: {report.duplicates_merged} "
                        "different accounts merged")
    assert not problems, _diff(f"{vendor.vendor}: wrong row counts", problems)


def test_columns_get_their_roles(vendor):
    mapping = vendor.loaded_report().mapping
    wrong = [
        f"{header!r}: expected {want}, got {mapping[header] if header in mapping else 'no such column'}"
        for header, want in vendor.file.expected_roles.items()
        if header not in mapping or mapping[header] != want
    ]
    assert not wrong, _diff(f"{vendor.vendor}: columns with the wrong role", wrong)


def test_columns_do_not_get_the_wrong_role(vendor):
    if not vendor.file.not_roles:
        pytest.skip("no role is ruled out for any column of this file")
    mapping = vendor.loaded_report().mapping
    wrong = [f"{header!r}: must not be {role}" for header, role in vendor.file.not_roles.items()
             if mapping.get(header) == role]
    missing = [f"{header!r}: no such column" for header in vendor.file.not_roles if header not in mapping]
    assert not wrong + missing, _diff(f"{vendor.vendor}: columns with a forbidden role", wrong + missing)


def test_columns_excluded_for_the_right_reason(vendor):
    if not vendor.file.excluded:
        pytest.skip("no column of this file is to be excluded")
    columns = vendor.columns()
    wrong = []
    for header, reason in vendor.file.excluded.items():
        if header not in columns:
            wrong.append(f"{header!r}: no such column")
            continue
        got = getattr(columns[header], "excluded", None)  # the field is new: a clean failure while it is missing
        if got != reason:
            wrong.append(f"{header!r}: expected excluded={reason!r}, got {got!r} (role {columns[header].role})")
    assert not wrong, _diff(f"{vendor.vendor}: columns not excluded as they should be", wrong)


def test_deal_outcomes_are_counted_as_the_vendor_means_them(vendor):
    if vendor.file.outcomes is None:
        pytest.skip("an account list has no deal outcomes")
    vendor.loaded_report()
    try:
        with vendor.workspace.connect(read_only=True) as con:
            rows = con.execute("SELECT deal_outcome, count(*) FROM deals GROUP BY 1").fetchall()
    except duckdb.Error as err:
        pytest.fail(f"{vendor.vendor}: no deal outcomes could be read ({str(err).splitlines()[0]})")
    counted = {outcome: count for outcome, count in rows}
    assert counted == vendor.file.outcomes, (
        f"{vendor.vendor}: deal outcomes {counted}, expected {vendor.file.outcomes}")


def test_role_columns_are_read_without_failures(vendor):
    columns = vendor.columns()
    failing = [
        f"{header!r} ({columns[header].role}, {columns[header].kind}): {columns[header].parse_failures} "
        f"failures, e.g. {columns[header].failure_examples}"
        for header in vendor.file.expected_roles
        if header in columns and columns[header].parse_failures > 0
    ]
    assert not failing, _diff(f"{vendor.vendor}: columns with values that could not be read", failing)
