"""Results computed from a workspace's data, remembered in this process while the data is unchanged."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import duckdb
import numpy as np

from icp.data.catalog import stamp

# What the memo may hold: at 10M accounts a criterion's passes take 10 MB.
_MEMO_BYTES = 256 * 2**20


# -- remembered results ----------------------------------------------------------------------------

T = TypeVar("T")


class _Memo:
    """Results computed from a workspace's data, remembered in this process while the data is
    unchanged: every key starts with the workspace's stamp (its file, creation time and data
    version, which any change to a list bumps), so a stale result is never found again, only left
    to age out. Least recently used first out, past `max_bytes` (NumPy arrays count their bytes,
    anything else a kilobyte). Thread-safe: Streamlit serves each session in its own thread."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], size: Callable[[T], int] | None = None) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]  # type: ignore[return-value]
        value = compute()
        if size is not None:
            nbytes = size(value)
        else:
            nbytes = value.nbytes if isinstance(value, np.ndarray) else 1024
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, nbytes)
                self._bytes += nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


MEMO = _Memo(_MEMO_BYTES)


def remembered(con: duckdb.DuckDBPyConnection, key: tuple, compute: Callable[[], T],
               size: Callable[[T], int] | None = None) -> T:
    """`compute()`, remembered under `key` for this workspace's data as it is now."""
    here = stamp(con)
    return compute() if here is None else MEMO.get((here, *key), compute, size)
