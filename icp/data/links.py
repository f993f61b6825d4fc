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


def _link_value(role: str, alias: str = "") -> str:
    """The value a child row and an account are matched on, for one way of linking. Salesforce
    writes an id in 18 characters through its API (Data Loader) and in 15 in reports, the last 3
    a checksum of its letters' case: both link as the first 15."""
    if role == "domain":
        return f'{alias}"domain"'
    if role == "account_name":
        return f'{alias}"name_key"'
    ref = f'{alias}"account_id"'
    return (f"(CASE WHEN regexp_full_match({ref}, '[A-Za-z0-9]{{18}}') AND regexp_matches({ref}, '[0-9]') "
            f"AND regexp_matches({ref}, '[A-Za-z]') THEN left({ref}, 15) ELSE {ref} END)")


def _link_keys(con, child: str, parent: str | None) -> str:
    """SQL for (_row, account_key, ambiguous) of every child row: by id, else domain, else
    normalized name; ambiguous when what it names is shared by several accounts.

    With no parent list, the child's own rows define the accounts (orders exported alone).
    """
    cols = _columns(con, child)
    ways = [(role, prefix) for role, prefix in (("account_id", "i"), ("domain", "d"), ("account_name", "n"))
            if role in cols]
    if parent is None:
        keys = [f"'{prefix}:' || {_link_value(role)}" for role, prefix in ways]
        if not keys:
            return f"SELECT _row, NULL::VARCHAR AS account_key, false AS ambiguous FROM {_q(child)}"
        return f"SELECT _row, coalesce({', '.join(keys)}) AS account_key, false AS ambiguous FROM {_q(child)}"
    parent_cols = _columns(con, parent)
    joins, picks, shared = [], [], []
    for i, (role, _) in enumerate(ways):
        if role not in parent_cols:
            continue
        # An id, domain or name that several accounts share links to none of them (the next way may):
        # a deal of one "Acme" must not be counted for the other.
        value = _link_value(role)
        joins.append(
            f"LEFT JOIN (SELECT {value} AS k, min(account_key) AS account_key, count(DISTINCT account_key) AS n "
            f"FROM {_q(parent)} WHERE {value} IS NOT NULL GROUP BY 1) p{i} ON p{i}.k = {_link_value(role, 'c.')}"
        )
        picks.append(f"CASE WHEN p{i}.n = 1 THEN p{i}.account_key END")
        shared.append(f"p{i}.n > 1")
    if not picks:
        return f"SELECT _row, NULL::VARCHAR AS account_key, false AS ambiguous FROM {_q(child)}"
    key = f"coalesce({', '.join(picks)})"
    return (f"SELECT c._row, {key} AS account_key, {key} IS NULL AND coalesce({' OR '.join(shared)}, false) "
            f"AS ambiguous FROM {_q(child)} c {' '.join(joins)}")


def _unnamed(con, child: str) -> int:
    """Rows of a child list that name no account at all: no id, domain or name (maven's deals
    still being prospected)."""
    cols = _columns(con, child)
    values = [_link_value(role) for role in ("account_id", "domain", "account_name") if role in cols]
    if not values:
        return con.execute(f"SELECT count(*) FROM {_q(child)}").fetchone()[0]
    return con.execute(f"SELECT count(*) FROM {_q(child)} WHERE coalesce({', '.join(values)}) IS NULL").fetchone()[0]


def relink(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, int, int]]:
    """Rebuild links, roll-ups and the customer view. Returns {child list: (linked, unlinked,
    unlinked because the account they name is shared by several, unlinked because they name no
    account)}."""
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
        linked, total, ambiguous = con.execute(
            f"SELECT count(account_key), count(*), count(*) FILTER (WHERE ambiguous) FROM {_q(links)}"
        ).fetchone()
        counts[child] = (linked, total - linked, ambiguous, _unnamed(con, child))
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
