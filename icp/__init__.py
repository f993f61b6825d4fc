"""ICP Explorer engine: workspaces, ingest, analysis and exports. Never imports streamlit."""

__version__ = "0.1.0"
