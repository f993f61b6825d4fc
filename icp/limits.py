"""Limits on what an uploaded file may be; each can be set by an environment variable."""

import os

from pydantic import Field

from icp.frozen import Frozen

_ENV = {
    "max_file_mb": "ICP_MAX_FILE_MB",
    "max_rows": "ICP_MAX_ROWS",
    "max_columns": "ICP_MAX_COLUMNS",
    "max_cell_chars": "ICP_MAX_CELL_CHARS",
    "max_inflated_mb": "ICP_MAX_INFLATED_MB",
    "max_excel_cells": "ICP_MAX_EXCEL_CELLS",
    "max_excel_mb": "ICP_MAX_EXCEL_MB",
    "max_excel_seconds": "ICP_MAX_EXCEL_SECONDS",
}


class Limits(Frozen):
    """What a file may be before it is refused, so a hostile file costs seconds, not the server."""

    max_file_mb: float = Field(2048, gt=0, description="file size on disk")
    max_rows: int = Field(20_000_000, gt=0, description="data rows")
    max_columns: int = Field(1000, gt=0, description="columns")
    max_cell_chars: int = Field(100_000, gt=0, description="characters in one cell")
    max_inflated_mb: float = Field(1024, gt=0, description="uncompressed size of a spreadsheet (xlsx)")
    # The Excel reader holds a sheet's whole used range, about 90 bytes a cell: the most one sheet may
    # span, a million rows of 10 columns, takes its process 0.9 GB and about 20 s (2 cores, shared).
    max_excel_cells: int = Field(10_000_000, gt=0, description="cells one Excel sheet may span (rows × columns)")
    max_excel_mb: float = Field(2048, gt=0, description="memory of the process that reads an Excel workbook")
    max_excel_seconds: float = Field(50, gt=0, description="time to read an Excel workbook")

    @classmethod
    def from_env(cls) -> "Limits":
        values = {field: os.environ[var] for field, var in _ENV.items() if os.environ.get(var)}
        return cls(**values)
