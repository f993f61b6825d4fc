"""Streamlit glue shared by the pages: which workspace this session is on, and cached reads of it."""
