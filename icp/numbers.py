"""Numbers as a founder reads them: money with its currency and scale, counts, shares.

One place, so the Market and Targets pages, the PDF and market.json's sentences never disagree on
how a figure is written ("$859.4M" on one, "859,399,762" on the other).
"""

import math

# Written before the figure; any other currency (a code such as CHF) goes after it.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "$": "$", "€": "€", "£": "£", "¥": "¥",
            "₹": "₹"}
_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def compact(x: float) -> str:
    """1.2k, 859.4M, 1.1B; below a thousand as it is (whole numbers without decimals)."""
    for size, suffix in _SCALES:
        # 999,950 would read as "1,000.0k": it goes up a scale where its one decimal rounds there.
        if abs(x) >= size * 0.99995:
            return f"{x / size:,.1f}{suffix}"
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.2f}"


# Columns (and attribute roles) holding years: written 1995, never 1,995 nor 2.0k.
YEARS = frozenset({"founded_year"})
# Columns (and roles) holding shares 0-1: shown as percentages (70%), never 0.7.
RATES = frozenset({"win_rate", "churn_rate", "churned"})
# Bare figures from a million up are written compact (10M, 2.5B); below, in full with separators.
_FIGURE_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))


def figure(x: float | None, grouped: bool = True, digits: int | None = 3) -> str:
    """A bare figure (no currency) as criteria, bands and cluster profiles write it: 1,200; 10M; 2.5B; 0.35.

    From a million up it is compact, to `digits` significant figures ("1.23B"); `digits=None` keeps
    as many as the figure has (up to ten), so band edges stay distinct ("1.003M", "1.005M"). Below a
    million: whole numbers with separators, fractions as they are ("2.5", never "2.50"). Not `grouped`
    (years, ids): never a separator nor a scale ("1995"). "–" for no figure.
    """
    if x is None or not math.isfinite(x):
        return "–"
    x = float(x)
    if grouped:
        precision = digits or 10
        # The scale of the rounded figure: 999,999,999 is "1B", never "1e+03M".
        rounded = abs(float(f"{x:.{precision}g}"))
        for size, suffix in _FIGURE_SCALES:
            if rounded >= size:
                return f"{_plain(float(f'{x / size:.{precision}g}'), ',')}{suffix}"
    return _plain(x, "," if grouped else "")


def _plain(x: float, separator: str) -> str:
    return f"{int(x):{separator}}" if x.is_integer() else f"{x:{separator}.10g}"


def money(x: float | None, currency: str = "") -> str:
    """"$859.4M", "€51.7M", "CHF 2.0k"; "974.8M" when the currency is unknown; "–" for no figure."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    figure = compact(abs(x))
    sign = "-" if x < 0 else ""
    code = currency.strip()
    symbol = _SYMBOLS.get(code.upper())
    if symbol:
        return f"{sign}{symbol}{figure}"
    return f"{sign}{code} {figure}" if code else f"{sign}{figure}"


def count(n: float) -> str:
    """Whole counts with separators (12,345); a count below ten that is not whole keeps one decimal
    (0.4), since rounding it to 0 or 1 would contradict the money computed from it."""
    if not float(n).is_integer() and abs(n) < 10:
        return f"{n:,.1f}"
    return f"{math.floor(n + 0.5):,}"


def percent(share: float | None) -> str:
    """A share 0-1 as a percentage: 30%, 12.5%, 0.4%."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{share:.0%}" if round(share * 100, 6).is_integer() else f"{share:.1%}"
