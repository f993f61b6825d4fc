"""What a DuckDB connection holds: the columns of each table and view (read once per connection), the
columns of a query, a relation as a subquery, and the stamp of the workspace open on it."""

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from icp.normalize import quote_ident as _q
from icp.relation import Relation, as_relation

# -- reading the workspace -------------------------------------------------------------------------

# connection -> {relation: {column: type}}: the workspace's tables and views, read once per
# connection (a connection lives for one engine call; these modules never create a persistent table).
_CATALOGS: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict]" = weakref.WeakKeyDictionary()
_CATALOGS_LOCK = threading.Lock()
_STAMPS: "weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, tuple | None]" = weakref.WeakKeyDictionary()


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> type of a workspace table or view, in column order; empty when it does not exist."""
    with _CATALOGS_LOCK:
        catalog = _CATALOGS.get(con)
    if catalog is None:
        catalog = {}
        for table, column, kind in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name <> 'temp' ORDER BY table_name, column_index"
        ).fetchall():
            catalog.setdefault(table, {})[column] = kind
        with _CATALOGS_LOCK:
            _CATALOGS[con] = catalog
    return dict(catalog.get(relation, {}))


def query_columns(con: duckdb.DuckDBPyConnection, relation: Relation) -> dict[str, str]:
    """Column name -> type of the rows of `relation`."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {as_relation(relation).select()}").fetchall()}


def rows_of(name: str) -> Relation:
    """Every row of the table or view `name`, as a query (which scoring can alias and wrap)."""
    return Relation.of_query(f"SELECT * FROM {_q(name)}")


def stamp(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(file, created_at, data_version) of the workspace open on `con`; None when it is not a
    workspace file (nothing is remembered for it then). Read once per connection, which lives for
    one engine call."""
    with _CATALOGS_LOCK:
        if con in _STAMPS:
            return _STAMPS[con]
    try:
        row = con.execute(
            "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
            "(SELECT value FROM _meta WHERE key = 'created_at'), "
            "(SELECT value FROM _meta WHERE key = 'data_version')").fetchall()[0]
    except duckdb.Error:
        row = None
    found = row if row and row[0] and row[2] is not None else None
    with _CATALOGS_LOCK:
        _STAMPS[con] = found
    return found


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data) -> Iterator[str]:
    """`data` (a DataFrame or Arrow table) as the relation `name` of this connection, for as long as
    the block runs."""
    con.register(name, data)
    try:
        yield name
    finally:
        con.unregister(name)
