"""Market size: TAM, SAM and SOM of an ICP, in accounts and money, with the assumptions written out.

TAM is every account of the universe list, SAM the universe accounts that pass every `must`
criterion and no `disqualify` one, SOM the SAM accounts reachable within the horizon times the
expected win rate. Counting is one SQL aggregate over the scored universe, so a slider change on
a million accounts stays fast; only the handful of totals (or one row per segment) leave DuckDB.
"""

import math

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from icp.errors import IcpError
from icp.links import CUSTOMER_VIEW
from icp.model import ICP, describe
from icp.normalize import quote_ident as _q
from icp.scoring import columns_read, score_sql
from icp.success import scored_customers_sql
from icp.workspace import Workspace

# Used when neither the assumptions nor the deals give a win rate; said so next to the figures.
FALLBACK_WIN_RATE = 0.2
_UNKNOWN = "(unknown)"
_NO_MARKET = ("There is no universe list to size the market from. Upload one on the Data page "
              "(every company in your market), or type in the TAM and SAM account counts.")
SCORE_COLUMNS = ("icp_fit_score", "icp_tier", "icp_in_sam", "icp_reasons")
_SEGMENT_COLUMNS = ["tam_accounts", "sam_accounts", "som_accounts", "sam_value"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MarketFigure(_Frozen):
    accounts: int
    value: float | None  # accounts x ACV; None when there is no money measure


class MarketSize(_Frozen):
    tam: MarketFigure
    sam: MarketFigure
    som: MarketFigure
    assumptions: dict[str, str | float | int | None]
    typed_in: bool  # TAM and SAM are counts the user typed, not counted in a universe list
    acv: float | None
    win_rate: float
    currency_note: str


# -- reading the workspace -------------------------------------------------------------------------

def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> type of a workspace table or view, in column order; empty when it does not exist."""
    return dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE table_name = ? AND database_name <> 'temp' ORDER BY column_index", [relation],
    ).fetchall())


def query_columns(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    """Column name -> type of a parenthesized subquery's result."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()}


def rows_of(relation: str) -> str:
    return f"(SELECT * FROM {_q(relation)})"


def _scorable(con: duckdb.DuckDBPyConnection, sql: str, icp: ICP) -> str:
    """The subquery `sql` ready for `score_sql`: an empty column for each attribute the ICP reads
    that it lacks (a missing value passes no criterion, so a universe bought without, say, a tech
    stack is scored on what it has instead of failing), and without columns named like the score's
    own (a targets.csv scored before and uploaded again would otherwise shadow the new score)."""
    have = query_columns(con, sql)
    stale = [name for name in have if name.casefold() in SCORE_COLUMNS]
    missing = {name: kind for name, kind in columns_read(icp).items() if name not in have}
    if not stale and not missing:
        return sql
    star = f"* EXCLUDE ({', '.join(_q(name) for name in stale)})" if stale else "*"
    extra = "".join(f", CAST(NULL AS {kind}) AS {_q(name)}" for name, kind in missing.items())
    return f"(SELECT {star}{extra} FROM {sql})"


def scored(con: duckdb.DuckDBPyConnection, icp: ICP, sql: str, *, reasons: bool = False) -> str:
    """`score_sql` over the subquery `sql`, unordered: every caller here counts, joins or orders by
    its own keys (sorting first cost 1.7 s against 0.3 s for the tier counts of 1M accounts)."""
    return score_sql(icp, _scorable(con, sql, icp), reasons=reasons, ordered=False)


def customers_sql(con: duckdb.DuckDBPyConnection, icp: ICP) -> str:
    """Every customer with its ICP fit (icp_fit_score, icp_tier, icp_in_sam) and its success under
    the ICP's success settings (value_score, is_best), as one query."""
    view = columns_of(con, CUSTOMER_VIEW)
    missing = [c.label for c in icp.success.weighted if c.column not in view]
    if missing:
        raise IcpError(f"The customers have no {', '.join(missing)} column any more; "
                       "pick the success criteria again on the Success page.")
    return (f'WITH "_icp_fit" AS ({scored(con, icp, rows_of(CUSTOMER_VIEW))}) '
            f"SELECT * FROM ({scored_customers_sql(icp.success, source='_icp_fit')})")


def _pct(share: float) -> str:
    return f"{share:.0%}" if round(share * 100, 6).is_integer() else f"{share:.1%}"


def _years(horizon: float) -> str:
    number = f"{horizon:g}"
    return f"{number} year" if horizon == 1 else f"{number} years"


def _round_half_up(x: float) -> int:
    # Python's round() goes to the even neighbour; a count of 2.5 accounts reads better as 3.
    return math.floor(x + 0.5)


# -- win rate --------------------------------------------------------------------------------------

def _closed_deals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(won, lost) over every deal in the deals list, linked to an account or not."""
    if "deal_outcome" not in columns_of(con, "deals"):
        return 0, 0
    won, lost = con.execute(
        "SELECT count(*) FILTER (WHERE deal_outcome = 'won'), count(*) FILTER (WHERE deal_outcome = 'lost') "
        "FROM deals"
    ).fetchone()
    return won, lost


def default_win_rate(workspace: Workspace) -> float:
    """won / (won + lost) over all deals; FALLBACK_WIN_RATE when no deal is closed."""
    with workspace.connect() as con:
        won, lost = _closed_deals(con)
    return won / (won + lost) if won + lost else FALLBACK_WIN_RATE


def _win_rate(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float, str]:
    if icp.market.win_rate is not None:
        return icp.market.win_rate, f"{_pct(icp.market.win_rate)}, as set in the assumptions"
    won, lost = _closed_deals(con)
    if won + lost:
        rate = won / (won + lost)
        return rate, f"{_pct(rate)}, measured: {won:,} won of {won + lost:,} closed deals"
    return FALLBACK_WIN_RATE, (f"{_pct(FALLBACK_WIN_RATE)}, assumed: there are no won or lost deals "
                               "to measure it from")


# -- ACV -------------------------------------------------------------------------------------------

def _acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str]:
    """The ACV and where it comes from: typed in, else the mean value of the best customers inside
    the ICP (in SAM), else of all best customers; None when there is no money measure."""
    if icp.market.acv is not None:
        return icp.market.acv, f"{icp.market.acv:,.2f}, as set in the assumptions"
    value = icp.success.value_column
    view = columns_of(con, CUSTOMER_VIEW)
    if not view:
        return None, "none: there are no customers to take it from"
    if value is None or value not in view:
        return None, "none: the customers have no money column (ARR, ACV, ...) to take it from"
    label = _value_label(icp)
    v = f"CAST({_q(value)} AS DOUBLE)"
    in_icp, n_in, overall, n_all = con.execute(f"""
        SELECT avg({v}) FILTER (WHERE is_best AND icp_in_sam), count({v}) FILTER (WHERE is_best AND icp_in_sam),
               avg({v}) FILTER (WHERE is_best), count({v}) FILTER (WHERE is_best)
        FROM ({customers_sql(con, icp)})""").fetchone()
    if n_in:
        return in_icp, f"{in_icp:,.2f}, the mean {label} of the {n_in:,} best customers inside the ICP"
    if n_all:
        return overall, (f"{overall:,.2f}, the mean {label} of all {n_all:,} best customers "
                         "(none of them is inside the ICP)")
    return None, f"none: no best customer has a {label} value"


def _value_label(icp: ICP) -> str:
    value = icp.success.value_column
    return next((c.label for c in icp.success.criteria if c.column == value), value or "")


# -- sizing ----------------------------------------------------------------------------------------

def _sam_words(icp: ICP) -> str:
    musts = "; ".join(describe(c) for c in icp.musts) or "no must criterion"
    disqualifiers = "; ".join(describe(c) for c in icp.disqualifiers)
    return f"must: {musts}" + (f"; and not: {disqualifiers}" if disqualifiers else "")


def _counts(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[int, int, bool, dict[str, str]]:
    """(TAM, SAM, typed_in, their descriptions) from the universe list, else the typed-in counts."""
    if columns_of(con, "universe"):
        tam, sam = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE icp_in_sam) "
            f"FROM ({scored(con, icp, rows_of('universe'))})"
        ).fetchone()
        return tam, sam, False, {
            "tam": f"{tam:,} accounts in the universe list",
            "sam": f"{sam:,} universe accounts pass the ICP ({_sam_words(icp)})",
        }
    typed_tam, typed_sam = icp.market.typed_tam, icp.market.typed_sam
    if typed_sam is None:
        raise IcpError(_NO_MARKET if typed_tam is None else
                       "Type in the SAM count too (accounts that pass the ICP's must criteria), "
                       "or upload a universe list to count it.")
    if typed_tam is not None and typed_sam > typed_tam:
        raise IcpError(f"The SAM typed in ({typed_sam:,}) is larger than the TAM ({typed_tam:,}); "
                       "the SAM is part of the TAM.")
    tam = typed_sam if typed_tam is None else typed_tam
    tam_words = (f"{tam:,} accounts, typed in (no universe list)" if typed_tam is not None
                 else f"{tam:,} accounts: no TAM was typed in, so it is shown as at least the SAM")
    return tam, typed_sam, True, {"tam": tam_words, "sam": f"{typed_sam:,} accounts, typed in (no universe list)"}


def _money(accounts: float, acv: float | None) -> float | None:
    return None if acv is None else accounts * acv


def market_size(workspace: Workspace, icp: ICP) -> MarketSize:
    """TAM, SAM and SOM in accounts and money, with every assumption in words and numbers."""
    m = icp.market
    with workspace.connect() as con:
        tam, sam, typed_in, words = _counts(con, icp)
        win_rate, win_words = _win_rate(con, icp)
        acv, acv_words = _acv(con, icp)
    som_exact = sam * m.reachable_share * win_rate
    som = _round_half_up(som_exact)
    if acv is None:
        currency, money = "No money figures: there is no ACV.", "none: there is no ACV"
    else:
        currency = ("Money is in the currency the ACV was typed in." if m.acv is not None
                    else f"Money is in the currency of the customers' {_value_label(icp)}, as uploaded.")
        money = f"accounts x ACV; the SOM's from its unrounded {som_exact:,.1f} accounts"
    assumptions: dict[str, str | float | int | None] = {
        "tam": words["tam"],
        "sam": words["sam"],
        "reach": f"reachable share {_pct(m.reachable_share)} of SAM within {_years(m.horizon_years)}",
        "reachable_share": m.reachable_share,
        "horizon_years": m.horizon_years,
        "win_rate": win_rate,
        "win_rate_source": win_words,
        "som": (f"SOM = SAM {sam:,} x {_pct(m.reachable_share)} reachable within {_years(m.horizon_years)} "
                f"x {_pct(win_rate)} win rate = {som_exact:,.1f}, about {som:,} accounts"),
        "acv": acv,
        "acv_source": acv_words,
        "money": money,
        "currency": currency,
    }
    return MarketSize(
        tam=MarketFigure(accounts=tam, value=_money(tam, acv)),
        sam=MarketFigure(accounts=sam, value=_money(sam, acv)),
        som=MarketFigure(accounts=som, value=_money(som_exact, acv)),
        assumptions=assumptions, typed_in=typed_in, acv=acv, win_rate=win_rate, currency_note=currency,
    )


def market_json(size: MarketSize) -> dict:
    """The `market.json` contract (PRODUCT.md section 4)."""
    figure = {"tam": size.tam, "sam": size.sam, "som": size.som}
    return {
        **{key: {"accounts": f.accounts, "value": f.value} for key, f in figure.items()},
        "assumptions": dict(size.assumptions),
    }


# -- per segment -----------------------------------------------------------------------------------

def _check_dimensions(dimensions: list[str], universe: dict[str, str]) -> None:
    if not universe:
        raise IcpError("Sizing the market by segment needs a universe list; upload one on the Data page.")
    if not 1 <= len(dimensions) <= 3 or len(set(dimensions)) != len(dimensions):
        raise IcpError("Pick one to three different dimensions.")
    missing = [d for d in dimensions if d not in universe]
    if missing:
        raise IcpError(f"The universe list has no {', '.join(missing)} column to segment by.")
    unfit = [d for d in dimensions if universe[d].endswith("[]") or not universe[d].startswith(("VARCHAR", "BOOLEAN"))]
    if unfit:
        # A number or a list would make one segment per value or per item: bands are the way to cut them.
        raise IcpError(f"Segment the market by a category or band column (e.g. size_band), not by {', '.join(unfit)}.")
    clashing = [d for d in dimensions if d in _SEGMENT_COLUMNS]
    if clashing:
        raise IcpError(f"A dimension cannot be named like a market column: {', '.join(clashing)}.")


def apportion(exact: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers near `exact` that add up to `total` (largest remainder), so the segments'
    SOM accounts sum to the market's SOM."""
    floors = np.floor(exact).astype("int64")
    # Stable sort: equal remainders go to the earlier (larger) segments first.
    order = np.argsort(-(exact - floors), kind="stable")[:max(total - int(floors.sum()), 0)]
    floors[order] += 1
    return floors


def market_by_segment(workspace: Workspace, icp: ICP, dimensions: list[str]) -> pd.DataFrame:
    """Per segment of the universe: TAM, SAM and SOM accounts and the SAM value, largest SAM first.

    The SOM accounts are apportioned so the segments add up to `market_size`'s SOM.
    """
    with workspace.connect() as con:
        _check_dimensions(dimensions, columns_of(con, "universe"))
        win_rate, _ = _win_rate(con, icp)
        acv, _ = _acv(con, icp)
        picks = ", ".join(f"coalesce(nullif(CAST({_q(d)} AS VARCHAR), ''), $unknown) AS {_q(d)}" for d in dimensions)
        dims = ", ".join(_q(d) for d in dimensions)
        frame = con.execute(f"""
            SELECT {picks}, count(*) AS tam_accounts, count(*) FILTER (WHERE icp_in_sam) AS sam_accounts
            FROM ({scored(con, icp, rows_of('universe'))})
            GROUP BY ALL ORDER BY sam_accounts DESC, tam_accounts DESC, {dims}""", {"unknown": _UNKNOWN}).df()
    frame["tam_accounts"] = frame["tam_accounts"].astype("int64")
    frame["sam_accounts"] = frame["sam_accounts"].astype("int64")
    share = icp.market.reachable_share
    exact = frame["sam_accounts"].to_numpy(dtype=float) * share * win_rate
    # The total exactly as market_size computes it, so the two never disagree by a rounding.
    frame["som_accounts"] = apportion(exact, _round_half_up(int(frame["sam_accounts"].sum()) * share * win_rate))
    frame["sam_value"] = frame["sam_accounts"] * acv if acv is not None else np.nan
    return frame[[*dimensions, *_SEGMENT_COLUMNS]]
