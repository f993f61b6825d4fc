"""Rows a DuckDB query reads FROM, passed between modules with their kind known.

Modules hand each other the accounts to read: a table, a view, or a SELECT over them. As plain
strings, which of a bare name, a quoted name, a parenthesized subquery or a whole SELECT a string
held was a docstring convention, and a name quoted twice or a SELECT without its parentheses
failed only when the SQL ran. A `Relation` is always the text that goes after FROM, made by one
of two constructors, and says whether it is a table (`.table`, its unquoted name) or a query.
It is a `str`, so it formats into the SQL around it as it is.
"""

from icp.normalize import quote_ident


class Relation(str):
    """`"name"` (a quoted table or view) or `(SELECT ...)`; `.table` is the name, or None for a query."""

    table: str | None

    def __new__(cls, *_):
        raise TypeError("make a Relation with Relation.of_table(name) or Relation.of_query(select)")

    @classmethod
    def _made(cls, sql: str, table: str | None) -> "Relation":
        relation = str.__new__(cls, sql)
        relation.table = table
        return relation

    @classmethod
    def of_table(cls, name: str) -> "Relation":
        """A table or view of the connection, by its name as stored (quoted here, once)."""
        if not isinstance(name, str) or not name or isinstance(name, Relation):
            raise TypeError(f"a table name is a non-empty plain string, not {name!r}")
        return cls._made(quote_ident(name), name)

    @classmethod
    def of_query(cls, select: str) -> "Relation":
        """The rows of a SELECT (or WITH ... SELECT), which this parenthesizes."""
        if isinstance(select, Relation):
            raise TypeError("already a Relation: a query over it is `SELECT ... FROM {relation}`")
        text = select.strip()
        if not text.upper().startswith(("SELECT", "WITH", "FROM")):
            raise ValueError(f"a query relation is a SELECT, not {text[:40]!r}")
        return cls._made(f"({text})", None)

    def select(self, columns: str = "*") -> str:
        """`SELECT columns FROM` this relation: the whole SELECT some statements want (DESCRIBE, CREATE ... AS)."""
        return f"SELECT {columns} FROM {self}"

    def __reduce__(self):
        # Pickled (process pools, caches) as what it was made from, not as a plain str.
        return (_remade, (str(self), self.table))

    def __repr__(self) -> str:
        return f"Relation.of_table({self.table!r})" if self.table is not None else f"Relation({str(self)!r})"


def _remade(sql: str, table: str | None) -> Relation:
    return Relation._made(sql, table)


def as_relation(relation: "Relation") -> Relation:
    """`relation`, checked: engine functions that take rows to read refuse a bare string, whose kind
    (name or query, quoted or not) would be a guess."""
    if not isinstance(relation, Relation):
        raise TypeError(f"expected a Relation (Relation.of_table / Relation.of_query), got {type(relation).__name__}: "
                        f"{str(relation)[:60]!r}")
    return relation
