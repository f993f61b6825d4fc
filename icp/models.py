"""What the workspace records about its lists: plain, frozen pydantic models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnReport(_Frozen):
    """One column of an uploaded file: how it was understood and how clean it is."""

    source: str  # header in the file
    name: str  # column in the normalized table
    role: str | None  # section-3 role, None for a generic attribute
    kind: str  # how values were normalized (see icp.roles.ValueKind)
    confidence: float | None  # of the automatic role match; 1.0 when the user chose it
    filled_pct: float
    distinct: int
    parse_failures: int
    failure_examples: list[str]
    normalized: str  # what normalization changed, in words ("" when nothing)


class ListReport(_Frozen):
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

    @property
    def mapping(self) -> dict[str, str | None]:
        return {c.source: c.role for c in self.columns}
