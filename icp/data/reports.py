"""What the workspace records about its lists: plain, frozen pydantic models."""

from datetime import datetime

from icp.frozen import Frozen


class ColumnReport(Frozen):
    """One column of an uploaded file: how it was understood and how clean it is."""

    source: str  # header in the file
    name: str  # column in the normalized table
    role: str | None  # section-3 role, None for a generic attribute
    kind: str  # how values were normalized (see icp.data.roles.ValueKind)
    confidence: float | None  # of the automatic role match; 1.0 when the user chose it
    filled_pct: float
    distinct: int
    parse_failures: int
    failure_examples: list[str]
    normalized: str  # what normalization changed, in words ("" when nothing)
    # Why no analysis reads this column (a key of icp.data.semantics.REASONS: "phone", "identifier", …);
    # None when it is analysed. Stays in the list and every export either way.
    excluded: str | None = None
    chosen: bool = False  # the role, or the choice to analyse or leave out, is the user's own
    # Values read but left empty as impossible: a negative sales cycle, a deal closed before it was created.
    implausible: int = 0
    implausible_examples: list[str] = []


class MergeExample(Frozen):
    """Rows of an account list taken for one account, and what they share."""

    by: str  # "id", "domain" or "name"
    value: str  # the shared id, domain or normalized name
    rows: int  # how many rows were merged
    row_numbers: list[int]  # the first few, as numbered in the file's data rows
    names: list[str]  # what those rows call the account


class ListReport(Frozen):
    """One list in a workspace: where it came from and the data-quality panel's figures."""

    kind: str
    file: str
    format: str
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    header_row: int
    rows_read: int
    rows_kept: int
    duplicates_merged: int
    linked_rows: int | None  # deals and orders: rows linked to an account
    unlinked_rows: int | None
    ingested_at: datetime
    columns: list[ColumnReport]
    notes: list[str]  # plain sentences: what the user should know about this list
    merge_duplicates: bool = True  # account lists: rows of one account are merged (turned off per list)
    merges: list[MergeExample] = []  # the first accounts that merged several rows
    ambiguous_rows: int | None = None  # deals and orders: rows naming an account that several accounts share
    unnamed_rows: int | None = None  # deals and orders: rows with no account id, domain or name at all
    # Category labels merged by the user, per column header: {label: label it becomes}. Kept here so a
    # new mapping, a re-upload of the list or a restart normalizes them the same way.
    label_merges: dict[str, dict[str, str]] = {}

    @property
    def unlinked_why(self) -> str:
        """Why the rows of a deals or orders list not linked to a customer are not, in words ("" when
        every row is linked or the list is not linked at all)."""
        if not self.unlinked_rows:
            return ""
        shared, unnamed = self.ambiguous_rows or 0, self.unnamed_rows or 0
        unmatched = self.unlinked_rows - shared - unnamed
        parts = [f"{unmatched:,} match no customer's id, domain or name"] if unmatched > 0 else []
        parts += [f"{shared:,} name an account several customers share"] if shared else []
        parts += [f"{unnamed:,} name no account at all"] if unnamed else []
        return "; ".join(parts)

    @property
    def mapping(self) -> dict[str, str | None]:
        """Role per column; for a column without one, "attribute" or "ignore" where the user chose
        to analyse it or leave it out, else None (analysed unless its content says otherwise)."""
        return {c.source: c.role or (("ignore" if c.excluded == "user" else "attribute") if c.chosen else None)
                for c in self.columns}
