"""An uploaded file as the engine reads it: a path on disk, there only while it is read.

Streamlit holds an upload in memory and reruns the page on every widget change; a copy written on
each rerun and never removed filled the disk (one 20 MB file, ten reruns: 220 MB). So a copy is
made only for a read, in a scratch folder removed after it (and swept if the server is killed),
and what a read finds (a workbook's sheets) is kept per uploaded file, not read again per rerun.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from icp.data import reader, scratch
from icp.errors import IcpError

_SHEETS = "upload_sheets"


@contextmanager
def on_disk(upload: UploadedFile) -> Iterator[Path]:
    """The upload's bytes in a file named as uploaded, removed when the block ends."""
    with scratch.folder("upload") as folder:
        path = folder / Path(upload.name).name
        path.write_bytes(upload.getbuffer())
        yield path


def sheets(upload: UploadedFile) -> list[str]:
    """A workbook's sheets, listed once per uploaded file; an IcpError when they cannot be."""
    known = st.session_state.get(_SHEETS)
    if known is None or known[0] != upload.file_id:
        try:
            with on_disk(upload) as path:
                known = (upload.file_id, reader.list_sheets(path, display_name=upload.name), None)
        except IcpError as err:
            known = (upload.file_id, [], str(err))
        st.session_state[_SHEETS] = known
    if known[2] is not None:
        raise IcpError(known[2])
    return known[1]
