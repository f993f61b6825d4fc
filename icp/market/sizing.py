"""Market size: TAM, SAM and SOM of an ICP, in accounts and money, with the assumptions written out.

TAM is every account of the universe list, SAM the universe accounts that pass every `must`
criterion and no `disqualify` one, SOM the SAM accounts reachable within the horizon times the
expected win rate. Counting is SQL over the universe, so a slider change on a million accounts
stays fast; only the handful of totals (or one row per segment) leave DuckDB. The counts come from
the combinations of criteria the accounts pass (icp.market.combinations).
"""

import math

import duckdb
import numpy as np
import pandas as pd

from icp.analysis.attributes import dimension_label, missing_dimension
from icp.data.catalog import columns_of, rows_of
from icp.data.links import CUSTOMER_VIEW
from icp.data.memo import remembered
from icp.data.workspace import Workspace
from icp.errors import IcpError
from icp.frozen import Frozen
from icp.market.combinations import customers_scored, predicate, sam_tally, scored
from icp.normalize import quote_ident as _q
from icp.numbers import money, percent
from icp.profile.carry import carried, resolve, warnings
from icp.profile.model import ICP, Criterion, MarketAssumptions, describe
from icp.relation import Relation

# Used when neither the assumptions nor the deals give a win rate; said so next to the figures.
FALLBACK_WIN_RATE = 0.2
_UNKNOWN = "(unknown)"
_NO_MARKET = ("There is no universe list to size the market from. Upload one on the Data page "
              "(every company in your market), or type in the TAM and SAM account counts.")
_SEGMENT_COLUMNS = ["tam_accounts", "sam_accounts", "som_accounts", "sam_value"]


class MarketFigure(Frozen):
    accounts: int
    value: float | None  # accounts x ACV; None when there is no money measure


class MarketSize(Frozen):
    tam: MarketFigure
    sam: MarketFigure
    som: MarketFigure
    assumptions: dict[str, str | float | int | None]
    typed_in: bool  # TAM and SAM are counts the user typed, not counted in a universe list
    acv: float | None  # the SAM's and SOM's: the mean value of the best customers inside the ICP
    win_rate: float
    currency_note: str
    # The TAM's value per account: the mean value of all best customers, whatever the ICP, so
    # editing the ICP never moves the TAM's money.
    tam_acv: float | None = None
    # The SOM before rounding: 0.4 accounts is shown as such, not as 0 beside a non-zero value.
    som_exact: float = 0.0
    currency: str = ""  # the money's currency ("USD", "EUR", a symbol), "" when unknown
    # What the figures rest on that may not hold: a criterion no universe column holds, one linked
    # by a guess, one known for few accounts, a suspected unit; small samples.
    warnings: tuple[str, ...] = ()


_pct = percent


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
    return remembered(con, ("closed_deals",), lambda: con.execute(
        "SELECT count(*) FILTER (WHERE deal_outcome = 'won'), count(*) FILTER (WHERE deal_outcome = 'lost') "
        "FROM deals"
    ).fetchall()[0])


def default_win_rate(workspace: Workspace) -> float:
    """won / (won + lost) over all deals; FALLBACK_WIN_RATE when no deal is closed."""
    with workspace.connect() as con:
        won, lost = _closed_deals(con)
    return won / (won + lost) if won + lost else FALLBACK_WIN_RATE


class WinRateSetting(Frozen):
    """The win rate as the Market page offers it: the one in use, and the measured one it is compared to."""

    in_use: float  # the assumptions' own, else the measured one
    measured: float  # won / (won + lost), or FALLBACK_WIN_RATE when no deal is closed
    measured_note: str  # where the measured one comes from, in words


def win_rate_setting(market: MarketAssumptions, won: int, lost: int) -> WinRateSetting:
    """The win rate in use for these assumptions and `won` and `lost` closed deals (`closed_deals`)."""
    if won + lost:
        measured = won / (won + lost)
        note = f"measured in your deals: {measured:.0%}"
    else:
        measured = FALLBACK_WIN_RATE
        note = f"assumed {measured:.0%}: there are no won or lost deals to measure it from"
    return WinRateSetting(in_use=measured if market.win_rate is None else market.win_rate, measured=measured,
                          measured_note=note)


def closed_deals(workspace: Workspace) -> tuple[int, int]:
    """(won, lost) over every deal in the deals list."""
    with workspace.connect() as con:
        return _closed_deals(con)


def win_rate_assumption(chosen: float, measured: float) -> float | None:
    """What the assumptions keep for a win rate chosen in whole percent: None (follow the deals, as
    they change) when it is the measured one to that percent, else the rate chosen."""
    return None if abs(chosen - measured) < 0.005 else chosen


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

def _sam_rules(icp: ICP) -> tuple:
    """What decides which accounts are in SAM: the must and disqualify criteria's tests."""
    return (tuple((c.role, predicate(c)) for c in icp.criteria if c.role != "nice"), icp.carry)


def _acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str, int | None]:
    """The SAM's value per account, where it comes from and how many best customers it is the mean
    of: typed in (None of them), else the mean value of the best customers inside the ICP (in SAM),
    else of all best customers; None when there is no money measure."""
    if icp.market.acv is not None:
        return icp.market.acv, f"{money(icp.market.acv, icp.market.currency)}, as set in the assumptions", None
    # Only SAM and the success settings matter: remembered, a tier or weight slider costs nothing here.
    return remembered(con, ("acv", icp.success, _sam_rules(icp), icp.market.currency),
                      lambda: _measured_acv(con, icp))[:3]


def _tam_acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str]:
    """The TAM's value per account: what is typed in, else the mean value of all best customers.
    Not the in-ICP mean: the TAM is every account of the market, whatever the ICP says, so its
    money must not move when a criterion is edited."""
    if icp.market.acv is not None:
        return icp.market.acv, f"{money(icp.market.acv, icp.market.currency)}, as set in the assumptions"
    found = remembered(con, ("acv", icp.success, _sam_rules(icp), icp.market.currency),
                       lambda: _measured_acv(con, icp))
    return found[3], found[4]


def _measured_acv(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[float | None, str, int | None, float | None, str]:
    """(SAM value per account, its words, how many it is the mean of, TAM value per account, its words)."""
    value = icp.success.value_column
    view = columns_of(con, CUSTOMER_VIEW)
    if not view:
        none = "none: there are no customers to take it from"
        return None, none, None, None, none
    if value is None or value not in view:
        none = "none: the customers have no money column (ARR, ACV, ...) to take it from"
        return None, none, None, None, none
    label = _value_label(icp)
    cur = icp.market.currency
    v = f"CAST({_q(value)} AS DOUBLE)"
    in_icp, n_in, overall, n_all = con.execute(f"""
        SELECT avg({v}) FILTER (WHERE is_best AND icp_in_sam), count({v}) FILTER (WHERE is_best AND icp_in_sam),
               avg({v}) FILTER (WHERE is_best), count({v}) FILTER (WHERE is_best)
        FROM {customers_scored(con, icp)}""").fetchone()
    if not n_all:
        none = f"none: no best customer has a {label} value"
        return None, none, None, None, none
    tam_words = f"{money(overall, cur)}, the mean {label} of all {n_all:,} best customers, whatever the ICP"
    if n_in:
        return (in_icp, f"{money(in_icp, cur)}, the mean {label} of the {n_in:,} best customers inside the ICP",
                n_in, overall, tam_words)
    return (overall, (f"{money(overall, cur)}, the mean {label} of all {n_all:,} best customers "
                      "(none of them is inside the ICP)"), n_all, overall, tam_words)


def _value_label(icp: ICP) -> str:
    value = icp.success.value_column
    return next((c.label for c in icp.success.criteria if c.column == value), value or "")


# What a money column's header or cells may say of its currency: a code, or a symbol in the cells.
_CURRENCY_CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CNY", "INR", "CAD", "AUD", "NZD", "SGD", "HKD", "SEK",
                   "NOK", "DKK", "PLN", "BRL", "MXN", "ZAR")
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
# Cells read to detect the currency: enough to see what a column writes, cheap on any list.
_CURRENCY_SAMPLE = 2000


def detected_currency(con: duckdb.DuckDBPyConnection, column: str | None) -> tuple[str, str]:
    """(currency code, where it was read) of the uploaded column that became `column`: a code in
    its header ("ARR (EUR)"), else one currency symbol or code written in most of its cells
    ("$48,000"); ("", "") when the data does not say, or says two things."""
    if not column or "_lists" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
        return "", ""
    from icp.data.reports import ListReport  # the report's model; market never needs it otherwise

    for kind, text in con.execute("SELECT kind, report FROM _lists ORDER BY kind").fetchall():
        found = next((c for c in ListReport.model_validate_json(text).columns if c.name == column), None)
        if found is None:
            continue
        header = found.source.upper()
        codes = [code for code in _CURRENCY_CODES if code in header.replace("_", " ").split()
                 or f"({code})" in header or f"[{code}]" in header]
        if len(codes) == 1:
            return codes[0], f"the header “{found.source}”"
        raw = f"raw_{kind}"
        if found.source not in columns_of(con, raw):
            continue
        marks = {**_CURRENCY_SYMBOLS, **{code: code for code in _CURRENCY_CODES}}
        tests = ", ".join(f"count(*) FILTER (WHERE upper(v) LIKE '%' || $m{i} || '%')" for i in range(len(marks)))
        row = con.execute(
            f"SELECT count(*), {tests} FROM (SELECT {_q(found.source)} AS v FROM {_q(raw)} "
            f"WHERE nullif(trim({_q(found.source)}), '') IS NOT NULL LIMIT {_CURRENCY_SAMPLE})",
            {f"m{i}": mark.upper() for i, mark in enumerate(marks)}).fetchone()
        filled, hits = row[0], dict.fromkeys(marks.values(), 0)
        for code, n in zip(marks.values(), row[1:], strict=True):  # "$" and "USD" count as one
            hits[code] += n
        seen = {code for code, n in hits.items() if n}
        if filled and len(seen) == 1 and max(hits.values()) * 2 > filled:
            return seen.pop(), f"the cells of “{found.source}”"
    return "", ""


def value_name(icp: ICP) -> str:
    """What the value per account is, named for what it is: "ACV" when typed in as one, else the
    mean of the customers' own value column ("mean ARR", "mean Won value"), which need not be annual
    (a total won over the whole history is a lifetime value, not an ACV)."""
    if icp.market.acv is not None:
        return "ACV"
    label = _value_label(icp)
    return f"mean {label}" if label else "value"


# -- sizing ----------------------------------------------------------------------------------------

def _sam_words(icp: ICP) -> str:
    musts = "; ".join(describe(c) for c in icp.musts) or "no must criterion"
    disqualifiers = "; ".join(describe(c) for c in icp.disqualifiers)
    return f"must: {musts}" + (f"; and not: {disqualifiers}" if disqualifiers else "")


def _tam_sam(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[int, int]:
    """Accounts in the universe, and those of them in SAM."""
    icp = carried(con, icp, Relation.of_table("universe"), "universe")
    counts = sam_tally(con, icp, "universe")
    if counts is None:
        return con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE icp_in_sam) FROM {scored(con, icp, rows_of('universe'))}"
        ).fetchall()[0]
    return sum(counts.values()), sum(n for (_, in_sam, _), n in counts.items() if in_sam)


def _counts(con: duckdb.DuckDBPyConnection, icp: ICP) -> tuple[int, int, bool, dict[str, str]]:
    """(TAM, SAM, typed_in, their descriptions) from the universe list, else the typed-in counts."""
    if columns_of(con, "universe"):
        tam, sam = remembered(con, ("tam_sam", _sam_rules(icp)), lambda: _tam_sam(con, icp))
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


def _with_currency(words: str, value: float | None, currency: str) -> str:
    """Words that start with a value written without currency, written with it."""
    if value is None:
        return words
    bare = money(value)
    return money(value, currency) + words[len(bare):] if words.startswith(bare) else words


def _money(accounts: float, acv: float | None) -> float | None:
    return None if acv is None else accounts * acv


# Below this many deals or best customers, a measured win rate or ACV is a direction, not a figure.
DIRECTIONAL_BELOW = 30


def no_icp_yet(icp: ICP) -> str | None:
    """Why there is no ICP to size a market or tier accounts with, or None when there is one: with
    no must or nice criterion, every account would score 100 and SAM would be the whole market."""
    if any(c.role != "disqualify" and c.weight > 0 for c in icp.criteria):
        return None
    if not icp.criteria:
        return ("No ICP yet: it has no criteria (nothing separated the best customers from the rest "
                "beyond chance, or every criterion was removed). Add criteria on the ICP page.")
    return ("No ICP yet: it has only disqualifiers, so every other account would be a perfect fit. "
            "Add a must or nice criterion on the ICP page.")


_STRENGTH = {"strong": 3, "moderate": 2, "weak": 1, "none": 0}


def strongest_nice(icp: ICP) -> Criterion | None:
    """The nice criterion with the best evidence (strength, then q-value, then lift; weight where
    none has evidence): the one to make a must when there is none."""
    def rank(c: Criterion) -> tuple:
        e = c.evidence
        if e is None:
            return (-1, 0.0, 0.0, c.weight)
        return (_STRENGTH.get(e.evidence, 0), -e.q_value, e.lift, c.weight)
    return max(icp.nices, key=rank, default=None)


def no_must_warning(icp: ICP) -> str | None:
    """Why SAM equals TAM when the ICP has nice criteria but no must: nice criteria only add to the
    fit score, so no account is filtered out and the SAM says nothing about the ICP."""
    best = strongest_nice(icp)
    if icp.musts or best is None:
        return None
    evidence = (f" ({best.evidence.evidence} evidence, lift {best.evidence.lift:.1f}x)"
                if best.evidence is not None else "")
    return ("The ICP has no must criterion, so SAM is the whole TAM (less any disqualified accounts): "
            "nice criteria only add to the fit score. Make the strongest finding a must on the ICP page: "
            f"{describe(best)}{evidence}.")


def _warnings(con: duckdb.DuckDBPyConnection, icp: ICP, won_lost: tuple[int, int] | None,
              best_in_acv: int | None) -> tuple[str, ...]:
    """What the market figures rest on that may not hold: no must criterion (SAM is then TAM), the
    ICP's criteria in the universe (a criterion no column holds, a link found by a guess, low
    coverage, a suspected unit), and a win rate or ACV measured on few deals or customers."""
    no_must = no_must_warning(icp)
    found: list[str] = [no_must] if no_must else []
    if columns_of(con, "universe"):
        key = ("carry", tuple((c.role, predicate(c), c.label) for c in icp.criteria), icp.carry)
        found += remembered(con, key, lambda: warnings(resolve(con, icp, Relation.of_table("universe"), "universe", measure=True)))
    if won_lost is not None and sum(won_lost) < DIRECTIONAL_BELOW:
        found.append(f"The win rate rests on {sum(won_lost):,} closed deals: directional.")
    if best_in_acv is not None and best_in_acv < DIRECTIONAL_BELOW:
        found.append(f"The {value_name(icp)} per account rests on {best_in_acv:,} best customers: directional.")
    return tuple(found)


def market_size(workspace: Workspace, icp: ICP) -> MarketSize:
    """TAM, SAM and SOM in accounts and money, with every assumption in words and numbers."""
    m = icp.market
    empty = no_icp_yet(icp)
    if empty is not None:
        raise IcpError(empty)
    with workspace.connect() as con:
        tam, sam, typed_in, words = _counts(con, icp)
        win_rate, win_words = _win_rate(con, icp)
        acv, acv_words, best_in_acv = _acv(con, icp)
        tam_acv, tam_acv_words = _tam_acv(con, icp)
        won_lost = _closed_deals(con) if icp.market.win_rate is None else None
        cautions = _warnings(con, icp, won_lost, best_in_acv)
        detected, read_from = ("", "") if m.currency or m.acv is not None else remembered(
            con, ("currency", icp.success.value_column), lambda: detected_currency(con, icp.success.value_column))
    if detected:
        # A detected currency writes the figures as a set one would, and says where it was read.
        m = m.model_copy(update={"currency": detected})
        icp = icp.model_copy(update={"market": m})
        acv_words, tam_acv_words = _with_currency(acv_words, acv, detected), _with_currency(tam_acv_words, tam_acv,
                                                                                            detected)
    som_exact = sam * m.reachable_share * win_rate
    som = _round_half_up(som_exact)
    name = value_name(icp)
    if acv is None:
        currency, money_words = "No money figures: there is no value per account.", "none: there is no value per account"
    else:
        where = ("the currency the ACV was typed in" if m.acv is not None
                 else f"the currency of the customers' {_value_label(icp)}, as uploaded")
        where += f", read from {read_from}" if detected else ""
        currency = (f"Money is in {m.currency} ({where})." if m.currency
                    else f"Money is in {where}; set the currency on the Market page to show it.")
        # The SOM's money and the accounts shown beside it are the same unrounded count.
        per_account = (f"accounts x the ACV typed in ({money(acv, m.currency)})" if m.acv is not None else
                       f"TAM: accounts x {name} of all best customers ({money(tam_acv, m.currency)}), which no "
                       f"ICP edit moves; SAM and SOM: accounts x {name} of the best customers inside the ICP "
                       f"({money(acv, m.currency)})")
        money_words = f"{per_account}; the SOM's from its unrounded {som_exact:,.1f} accounts"
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
        "acv_name": name,
        "tam_acv": tam_acv,
        "tam_acv_source": tam_acv_words,
        "som_accounts_exact": som_exact,
        "money": money_words,
        "currency": currency,
        "currency_code": m.currency,
    }
    return MarketSize(
        tam=MarketFigure(accounts=tam, value=_money(tam, tam_acv)),
        sam=MarketFigure(accounts=sam, value=_money(sam, acv)),
        som=MarketFigure(accounts=som, value=_money(som_exact, acv)),
        assumptions=assumptions, typed_in=typed_in, acv=acv, win_rate=win_rate, currency_note=currency,
        warnings=cautions, tam_acv=tam_acv, som_exact=som_exact, currency=m.currency,
    )


def market_json(size: MarketSize) -> dict:
    """The `market.json` contract (docs/contracts.md)."""
    figure = {"tam": size.tam, "sam": size.sam, "som": size.som}
    return {
        **{key: {"accounts": f.accounts, "value": f.value} for key, f in figure.items()},
        "assumptions": {**size.assumptions, "warnings": list(size.warnings)},
    }


# -- per segment -----------------------------------------------------------------------------------

def _check_dimensions(dimensions: list[str], universe: dict[str, str]) -> None:
    if not universe:
        raise IcpError("Sizing the market by segment needs a universe list; upload one on the Data page.")
    if not 1 <= len(dimensions) <= 3 or len(set(dimensions)) != len(dimensions):
        raise IcpError("Pick one to three different dimensions.")
    missing = [d for d in dimensions if d not in universe]
    if missing:
        raise IcpError(" ".join(missing_dimension(d, "universe") for d in missing))
    unfit = [d for d in dimensions if universe[d].endswith("[]") or not universe[d].startswith(("VARCHAR", "BOOLEAN"))]
    if unfit:
        # A number or a list would make one segment per value or per item: bands are the way to cut them.
        raise IcpError("Segment the market by a category or band (e.g. Company size), not by "
                       f"{', '.join(dimension_label(d) for d in unfit)}.")
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
        acv, _, _ = _acv(con, icp)
        rules = _sam_rules(icp)
        icp = carried(con, icp, Relation.of_table("universe"), "universe")
        picks = ", ".join(f"coalesce(nullif(CAST({_q(d)} AS VARCHAR), ''), $unknown) AS {_q(d)}" for d in dimensions)
        dims = ", ".join(_q(d) for d in dimensions)
        # Remembered by what decides SAM: the Market page asks again on every rerun of its sliders.
        counted = remembered(con, ("segments", rules, tuple(dimensions)), lambda: con.execute(f"""
            SELECT {picks}, count(*) AS tam_accounts, count(*) FILTER (WHERE icp_in_sam) AS sam_accounts
            FROM {scored(con, icp, rows_of('universe'))}
            GROUP BY ALL ORDER BY sam_accounts DESC, tam_accounts DESC, {dims}""", {"unknown": _UNKNOWN}).df())
        frame = counted.copy()
    frame["tam_accounts"] = frame["tam_accounts"].astype("int64")
    frame["sam_accounts"] = frame["sam_accounts"].astype("int64")
    share = icp.market.reachable_share
    exact = frame["sam_accounts"].to_numpy(dtype=float) * share * win_rate
    # The total exactly as market_size computes it, so the two never disagree by a rounding.
    frame["som_accounts"] = apportion(exact, _round_half_up(int(frame["sam_accounts"].sum()) * share * win_rate))
    frame["sam_value"] = frame["sam_accounts"] * acv if acv is not None else np.nan
    return frame[[*dimensions, *_SEGMENT_COLUMNS]]
