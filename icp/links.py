"""Deals and orders linked to accounts and rolled up per account; the enriched customer table.

Rebuilt inside the same transaction as any change to customers, deals or orders, so the
roll-ups never disagree with the lists they come from.
"""

import duckdb

from icp.normalize import quote_ident as _q

CUSTOMER_VIEW = "customer_accounts"
DEAL_ROLLUP = "deal_rollup"
ORDER_ROLLUP = "order_rollup"
_CHILDREN = ("deals", "orders")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name <> 'temp'", [table]
    ).fetchall()}


def _link_keys(con, child: str, parent: str | None) -> str:
    """SQL for (_row, account_key) of every child row: by id, else domain, else normalized name.

    With no parent list, the child's own rows define the accounts (orders exported alone).
    """
    cols = _columns(con, child)
    ways = [(role, expr, prefix) for role, expr, prefix in (
        ("account_id", '"account_id"', "i"), ("domain", '"domain"', "d"), ("account_name", '"name_key"', "n"),
    ) if role in cols]
    if parent is None:
        keys = [f"'{prefix}:' || {expr}" for _, expr, prefix in ways]
        if not keys:
            return f"SELECT _row, NULL::VARCHAR AS account_key FROM {_q(child)}"
        return f"SELECT _row, coalesce({', '.join(keys)}) AS account_key FROM {_q(child)}"
    parent_cols = _columns(con, parent)
    joins, picks = [], []
    for i, (role, expr, _) in enumerate(ways):
        if role not in parent_cols:
            continue
        parent_expr = expr
        # An id, domain or name that two accounts share links to the first of them, never twice.
        joins.append(
            f"LEFT JOIN (SELECT {parent_expr} AS k, arg_min(account_key, _row) AS account_key FROM {_q(parent)} "
            f"WHERE {parent_expr} IS NOT NULL GROUP BY 1) p{i} ON p{i}.k = c.{expr}"
        )
        picks.append(f"p{i}.account_key")
    if not picks:
        return f"SELECT _row, NULL::VARCHAR AS account_key FROM {_q(child)}"
    return f"SELECT c._row, coalesce({', '.join(picks)}) AS account_key FROM {_q(child)} c {' '.join(joins)}"


def relink(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Rebuild links, roll-ups and the customer view. Returns {child list: (linked, unlinked)}."""
    tables = _tables(con)
    for name in (DEAL_ROLLUP, ORDER_ROLLUP, "deal_links", "order_links"):
        con.execute(f"DROP TABLE IF EXISTS {_q(name)}")
    con.execute(f"DROP VIEW IF EXISTS {_q(CUSTOMER_VIEW)}")
    parent = "customers" if "customers" in tables else None
    counts = {}
    for child in _CHILDREN:
        if child not in tables:
            continue
        links = f"{child[:-1]}_links"
        con.execute(f"CREATE TABLE {_q(links)} AS {_link_keys(con, child, parent)}")
        linked, total = con.execute(
            f"SELECT count(account_key), count(*) FROM {_q(links)}"
        ).fetchone()
        counts[child] = (linked, total - linked)
    if "deals" in tables:
        _deal_rollup(con)
    if "orders" in tables:
        _order_rollup(con)
    _customer_view(con, tables)
    return counts


def _deal_rollup(con) -> None:
    cols = _columns(con, "deals")
    outcome = '"deal_outcome"' if "deal_outcome" in cols else "NULL::VARCHAR"
    amount = '"amount"' if "amount" in cols else "NULL::DOUBLE"
    cycle = '"cycle_days"' if "cycle_days" in cols else "NULL::DOUBLE"
    con.execute(f"""
        CREATE TABLE {DEAL_ROLLUP} AS
        SELECT l.account_key,
            count(*) AS deals,
            count(*) FILTER (WHERE {outcome} = 'won') AS deals_won,
            count(*) FILTER (WHERE {outcome} = 'lost') AS deals_lost,
            count(*) FILTER (WHERE {outcome} = 'open') AS deals_open,
            CAST(count(*) FILTER (WHERE {outcome} = 'won') AS DOUBLE)
                / nullif(count(*) FILTER (WHERE {outcome} IN ('won', 'lost')), 0) AS win_rate,
            coalesce(sum({amount}) FILTER (WHERE {outcome} = 'won'), 0) AS won_value,
            median({cycle}) FILTER (WHERE {outcome} = 'won') AS median_cycle_days
        FROM deals d JOIN deal_links l USING (_row)
        WHERE l.account_key IS NOT NULL
        GROUP BY l.account_key""")


def _order_rollup(con) -> None:
    cols = _columns(con, "orders")
    value = '"order_value"' if "order_value" in cols else "NULL::DOUBLE"
    profit = '"profit"' if "profit" in cols else "NULL::DOUBLE"
    day = '"order_date"' if "order_date" in cols else "NULL::DATE"
    order_count = 'count(DISTINCT "order_id")' if "order_id" in cols else "count(*)"
    con.execute(f"""
        CREATE TABLE {ORDER_ROLLUP} AS
        SELECT l.account_key,
            {order_count} AS order_count,
            sum({value}) AS order_revenue,
            sum({profit}) AS order_profit,
            min({day}) AS first_order,
            max({day}) AS last_order,
            datediff('day', min({day}), max({day})) AS tenure_days
        FROM orders o JOIN order_links l USING (_row)
        WHERE l.account_key IS NOT NULL
        GROUP BY l.account_key""")


def _customer_view(con, tables: set[str]) -> None:
    """Customers with their deal and order roll-ups; from orders alone when there is no customer list."""
    rollups = [t for t in (DEAL_ROLLUP, ORDER_ROLLUP) if t in _tables(con)]
    joins = " ".join(f"LEFT JOIN {t} USING (account_key)" for t in rollups)
    if "customers" in tables:
        con.execute(f"CREATE VIEW {CUSTOMER_VIEW} AS SELECT * FROM customers {joins}")
        return
    if ORDER_ROLLUP not in rollups:
        return
    # Accounts seen in orders: each attribute is the account's most frequent value across its orders.
    skip = {"_row", "order_id", "order_date", "order_value", "profit", "quantity"}
    attrs = [c for c in _ordered_columns(con, "orders") if c not in skip]
    picks = ", ".join(f"mode(o.{_q(c)}) AS {_q(c)}" for c in attrs)
    con.execute(f"""
        CREATE VIEW {CUSTOMER_VIEW} AS
        WITH accounts AS (
            SELECT l.account_key, min(o._row) AS _row, {picks}
            FROM orders o JOIN order_links l USING (_row)
            WHERE l.account_key IS NOT NULL GROUP BY l.account_key)
        SELECT * FROM accounts {joins}""")


def _ordered_columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name <> 'temp' ORDER BY column_index",
        [table],
    ).fetchall()]
