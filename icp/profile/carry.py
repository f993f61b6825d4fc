"""Criteria carried from the customers to the other lists an ICP is applied to.

The ICP is learned on customers and applied to the universe, the targets list and any file given to
`icp score`, whose headers and units may differ. Each criterion's attribute is resolved per list:

1. the user's link for that list and attribute (`ICP.carry`), if there is one;
2. else the list's column of the same name (a role, or the same header), if its type fits;
3. else a column of another name whose type fits, whose name is close ("on_prem_only" for
   "Requires on-prem": words in common) and whose values overlap the criterion's (an industry
   named in the criterion occurs in the column), taken with that confidence when it is the one
   such column;
4. else none: the criterion is unknown for every account of the list, and says so.

A list is scored through an ICP whose criteria read its own columns (`carried`): the attribute
renamed, a range's bounds divided by the unit factor (list value x factor = customers' value).
`resolve(..., measure=True)` adds what the pages, the CLI, market.json and the PDF warn about: the
share of the list's accounts with a value (coverage), and for numbers a suspected unit (the list's
median a power of ten away from the customers').
"""

import math
import re
from collections.abc import Iterable
from typing import Literal

import duckdb
from rapidfuzz import fuzz

from icp.data.links import CUSTOMER_VIEW
from icp.data.roles import ROLE_BY_NAME
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.profile.model import ICP, ColumnLink, Criterion
from icp.profile.scoring import columns_read
from icp.relation import Relation, as_relation
from icp.trim import normalize, normalized_sql

How = Literal["same", "linked", "chosen", "unresolved"]
MISSING = "__missing__"  # prefix of an attribute a list has no column for
# DuckDB types a criterion of each kind can read.
_FITS = {
    "flag": ("BOOLEAN",),
    "range": ("DOUBLE", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "FLOAT", "DECIMAL"),
    "in_set": ("VARCHAR",),
    "contains": ("VARCHAR[]",),
}
_NOT_ATTRIBUTES = {"_row", "_rows", "account_key", "name_key", "size_band", "revenue_band", "employees_band",
                   "deal_outcome", "cycle_days"}
_SMALL_WORDS = {"a", "an", "the", "is", "of", "has", "and", "or", "in", "to"}
# A column linked by name must share this much of its words with the criterion, and overlap its values.
MIN_NAME = 0.5
MIN_CONFIDENCE = 0.4
_SAMPLE_ROWS = 20_000
# Coverage under this share is a warning: most accounts are scored as unknown on that criterion.
LOW_COVERAGE = 0.5
# Medians this many powers of ten apart look like different units, not different companies.
UNIT_GAP = 2.0


class Resolution(Frozen):
    """One criterion attribute in one list: the column that holds it there, and how it was found."""

    list: str
    attribute: str
    label: str
    roles: tuple[str, ...]  # the roles of the criteria reading it (must, nice, disqualify)
    column: str | None
    how: How
    confidence: float | None = None  # of a link found by name and values
    factor: float = 1.0
    coverage: float | None = None  # share of the list's accounts with a value (measured)
    median_ratio: float | None = None  # list median / customers' median (numbers, measured)
    suggested_factor: float | None = None  # a unit factor the medians suggest, when they look like another unit

    def sentence(self) -> str | None:
        """The warning for this resolution in words, or None when there is nothing to say."""
        where, label = self.list.capitalize(), f"“{self.label}”"
        role = _role_words(self.roles)
        if self.how == "unresolved":
            consequence = ("no account can pass it, so no account is in SAM (all insufficient data)"
                           if "must" in self.roles else
                           "no account is disqualified by it, so SAM may be overstated"
                           if "disqualify" in self.roles else "no account meets it")
            return f"{where}: no column holds {label} ({role}); {consequence}."
        parts = []
        if self.how == "linked":
            parts.append(f"{where}: {label} ({role}) is read from its column “{self.column}”, linked by name and "
                         f"values with confidence {self.confidence:.2f}; check it under the ICP's criteria in "
                         "each list.")
        if self.coverage is not None and self.coverage < LOW_COVERAGE:
            parts.append(f"{where}: {label} is known for {self.coverage:.0%} of accounts (column “{self.column}”); "
                         "the others count as unknown on it.")
        if self.suggested_factor is not None and self.factor == 1.0:
            parts.append(f"{where}: “{self.column}” is about {_times(self.median_ratio)} the customers' {label} "
                         f"(medians): another unit? If so set its factor, e.g. {_factor(self.suggested_factor)}.")
        return " ".join(parts) or None


def _role_words(roles: tuple[str, ...]) -> str:
    words = {"must": "a must", "nice": "a nice-to-have", "disqualify": "a disqualifier"}
    return " and ".join(words[r] for r in dict.fromkeys(roles))


def _times(ratio: float | None) -> str:
    if ratio is None:
        return "far from"
    return f"{ratio:,.0f}x" if ratio >= 1 else f"1/{1 / ratio:,.0f} of"


def _factor(factor: float) -> str:
    return f"x{factor:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _words(text: str) -> list[str]:
    found = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", text)
    return [w.casefold() for w in found if w.casefold() not in _SMALL_WORDS]


def name_similarity(names: list[str], column: str) -> float:
    """How alike a criterion's names (attribute, label) and a column's are, 0-1: the share of the
    shorter's words the other has, or the fuzzy ratio of the words, whichever is higher."""
    theirs = _words(column)
    best = 0.0
    for name in names:
        ours = _words(name)
        if not ours or not theirs:
            continue
        shared = len(set(ours) & set(theirs)) / min(len(set(ours)), len(set(theirs)))
        if len(theirs) == 1 and len(theirs[0]) >= 6:
            # One run-together word ("onpremonly" from "OnPremOnly"): the words found in it.
            shared = max(shared, sum(w in theirs[0] for w in set(ours)) / len(set(ours)))
        best = max(best, shared, fuzz.token_set_ratio(" ".join(ours), " ".join(theirs)) / 100 * 0.9)
    return round(best, 3)


def _columns(con: duckdb.DuckDBPyConnection, relation: Relation) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {as_relation(relation).select()}").fetchall()}


def _fits(kind: str, dtype: str | None) -> bool:
    return dtype is not None and (dtype in _FITS[kind] or (kind == "range" and dtype.startswith("DECIMAL")))


def _overlap(con: duckdb.DuckDBPyConnection, relation: Relation, column: str, criteria: list[Criterion]) -> float:
    """The share of the criteria's values found among the column's values (first rows); 1 for flags
    and numbers, whose values are the same kind of thing by type."""
    wanted = {normalize(v) for c in criteria for v in c.values}
    if not wanted:
        return 1.0
    kind = criteria[0].kind
    value = f"unnest({_q(column)})" if kind == "contains" else _q(column)
    found = {row[0] for row in con.execute(
        f"SELECT DISTINCT {normalized_sql('v')} FROM (SELECT {value} AS v FROM (SELECT {_q(column)} FROM {relation} "
        f"LIMIT {_SAMPLE_ROWS})) WHERE v IS NOT NULL").fetchall()}
    return len(wanted & found) / len(wanted)


def _by_attribute(icp: ICP) -> dict[str, list[Criterion]]:
    grouped: dict[str, list[Criterion]] = {}
    for criterion in icp.criteria:
        grouped.setdefault(criterion.attribute, []).append(criterion)
    return grouped


def _label(attribute: str, criteria: list[Criterion]) -> str:
    return criteria[0].label or (ROLE_BY_NAME[attribute].label if attribute in ROLE_BY_NAME else attribute)


def _named_like(names: list[str], column: str) -> bool:
    """Whether `resolve` may link a criterion named `names` (attribute, label) to `column` by its
    name, before the column's type and values are looked at: never a role's column or the score's."""
    return (column not in _NOT_ATTRIBUTES and column not in ROLE_BY_NAME and not column.startswith("icp_")
            and name_similarity(names, column) >= MIN_NAME)


def linkable_columns(icp: ICP, columns: Iterable[str]) -> set[str]:
    """The columns `resolve` may link some criterion of the ICP to by name (see `_named_like`): a
    caller that builds only some columns of a list builds these too."""
    names = [[attribute, _label(attribute, criteria)] for attribute, criteria in _by_attribute(icp).items()]
    return {column for column in columns if any(_named_like(spelled, column) for spelled in names)}


def resolve(con: duckdb.DuckDBPyConnection, icp: ICP, relation: Relation, list_kind: str, *,
            measure: bool = False, customers: Relation | None = None) -> list[Resolution]:
    """Where list `list_kind` (the rows of `relation`, on `con`) holds each criterion
    attribute of the ICP. With `measure`, the coverage of each, and for numbers the medians compared
    with those of `customers` (default the customer view when there is one)."""
    have = _columns(con, relation)
    types = columns_read(icp)
    chosen = {link.attribute: link for link in icp.carry if link.list == list_kind}
    taken = set(types) & set(have)
    found = []
    for attribute, criteria in _by_attribute(icp).items():
        kind, label = criteria[0].kind, _label(attribute, criteria)
        base = {"list": list_kind, "attribute": attribute, "label": label,
                "roles": tuple(dict.fromkeys(c.role for c in criteria))}
        if attribute in chosen:
            link = chosen[attribute]
            usable = link.column is not None and _fits(kind, have.get(link.column))
            found.append(Resolution(**base, column=link.column if usable else None,
                                    how="chosen" if usable else "unresolved", factor=link.factor))
            continue
        if _fits(kind, have.get(attribute)):
            found.append(Resolution(**base, column=attribute, how="same"))
            continue
        candidates = []
        for column, dtype in have.items():
            if column in taken or not _fits(kind, dtype) or not _named_like([attribute, label], column):
                continue
            name = name_similarity([attribute, label], column)
            overlap = _overlap(con, relation, column, criteria)
            if overlap <= 0:
                continue
            candidates.append((round(name * (0.5 + 0.5 * overlap), 3), column))
        candidates.sort(reverse=True)
        # The one good candidate; two equally good ones are a guess the user must make.
        if candidates and candidates[0][0] >= MIN_CONFIDENCE and (
                len(candidates) == 1 or candidates[1][0] < candidates[0][0]):
            confidence, column = candidates[0]
            found.append(Resolution(**base, column=column, how="linked", confidence=confidence))
        else:
            found.append(Resolution(**base, column=None, how="unresolved"))
    if measure:
        found = _measured(con, icp, relation, found, customers)
    return found


def _measured(con: duckdb.DuckDBPyConnection, icp: ICP, relation: Relation, found: list[Resolution],
              customers: str | None) -> list[Resolution]:
    resolved = [r for r in found if r.column is not None]
    if not resolved:
        return found
    shares = con.execute(
        f"SELECT {', '.join(f'count({_q(r.column)}) / greatest(count(*), 1)' for r in resolved)} FROM {relation}"
    ).fetchone()
    coverage = {r.attribute: float(share) for r, share in zip(resolved, shares, strict=True)}
    kinds = {c.attribute: c.kind for c in icp.criteria}
    numbers = [r for r in resolved if kinds[r.attribute] == "range"]
    medians: dict[str, float | None] = {}
    if customers is None and numbers:
        present = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        customers = Relation.of_table(CUSTOMER_VIEW) if CUSTOMER_VIEW in present else None
    if customers is not None and numbers:
        have = _columns(con, customers)
        mine = [r for r in numbers if r.attribute in have]
        if mine:
            theirs = con.execute(f"SELECT {', '.join(f'median({_q(r.column)})' for r in mine)} FROM {relation}"
                                 ).fetchone()
            ours = con.execute(f"SELECT {', '.join(f'median({_q(r.attribute)})' for r in mine)} FROM {customers}"
                               ).fetchone()
            for r, list_median, customer_median in zip(mine, theirs, ours, strict=True):
                if list_median and customer_median and list_median > 0 and customer_median > 0:
                    medians[r.attribute] = list_median * r.factor / customer_median
    updated = []
    for r in found:
        if r.column is None:
            updated.append(r)
            continue
        ratio = medians.get(r.attribute)
        suggested = None
        if ratio is not None and abs(math.log10(ratio)) >= UNIT_GAP:
            # The nearest unit step (thousands, millions, billions) that brings the medians together.
            step = max(1, min(3, round(abs(math.log10(ratio)) / 3)))
            suggested = 10.0 ** (-3 * step if ratio > 1 else 3 * step)
        updated.append(r.model_copy(update={"coverage": coverage.get(r.attribute), "median_ratio": ratio,
                                            "suggested_factor": suggested}))
    return updated


def carried(con: duckdb.DuckDBPyConnection, icp: ICP, relation: Relation, list_kind: str) -> ICP:
    """The ICP with its criteria reading list `list_kind`'s own columns, in its units: what scoring
    that list applies. The customers' own list needs no carrying."""
    if list_kind in ("customers", "orders") or not icp.criteria:
        return icp
    have = _columns(con, relation)
    if not icp.carry and all(_fits(c.kind, have.get(c.attribute)) for c in icp.criteria):
        return icp  # every attribute is there under its own name: nothing to carry
    where = {r.attribute: r for r in resolve(con, icp, relation, list_kind)}
    criteria = tuple(_reading(c, where[c.attribute]) for c in icp.criteria)
    return icp.model_copy(update={"criteria": criteria})


def _reading(criterion: Criterion, resolution: Resolution) -> Criterion:
    if resolution.column is None:
        # No column: a name the list has not, which scoring reads as missing (unknown) for every
        # account, whatever column of the criterion's own name (of another type) the list may have.
        return criterion.model_copy(update={"attribute": f"{MISSING}{criterion.attribute}"})
    update: dict = {"attribute": resolution.column}
    if criterion.kind == "range" and resolution.factor != 1.0:
        f = resolution.factor
        update |= {"low": None if criterion.low is None else criterion.low / f,
                   "high": None if criterion.high is None else criterion.high / f}
    return criterion.model_copy(update=update)


def warnings(resolutions: list[Resolution]) -> list[str]:
    """Every sentence the resolutions call for, in criteria order."""
    return [text for r in resolutions if (text := r.sentence())]


def links_from(resolutions: list[Resolution]) -> tuple[ColumnLink, ...]:
    """The resolutions as links (for the editor on the ICP page)."""
    return tuple(ColumnLink(list=r.list, attribute=r.attribute, column=r.column, factor=r.factor)
                 for r in resolutions)


# Lists an ICP is applied to, besides the customers it is learned from.
CARRIED_TO = ("universe", "targets")


def carry_report(workspace, icp: ICP) -> list[Resolution]:
    """Every criterion attribute in every list the ICP is applied to (universe, targets), measured:
    the table "ICP criteria in each list" and the warnings of the ICP, Market and Targets pages,
    market.json and the PDF. `workspace` is an icp.data.workspace.Workspace."""
    if not icp.criteria:
        return []
    found: list[Resolution] = []
    with workspace.connect() as con:
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
        for kind in CARRIED_TO:
            if kind in tables:
                found += resolve(con, icp, Relation.of_table(kind), kind, measure=True)
    return found


def candidates(workspace, icp: ICP, list_kind: str, attribute: str) -> list[str]:
    """The columns of a list a criterion on `attribute` could read (their type fits it), for the
    editor: the list's own column of that name first."""
    kind = next(c.kind for c in icp.criteria if c.attribute == attribute)
    with workspace.connect() as con:
        have = _columns(con, Relation.of_table(list_kind))
    fitting = [c for c, t in have.items() if _fits(kind, t) and c not in _NOT_ATTRIBUTES and not c.startswith("_")]
    return sorted(fitting, key=lambda c: (c != attribute, c))


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def with_links(icp: ICP, links: list[tuple[str, str, str]], scales: list[tuple[str, str, float]],
               columns: dict[str, dict[str, str]], customers: dict[str, str] | None = None) -> ICP:
    """The ICP with the user's links (list, column, attribute) and unit factors (list, column,
    factor) added to `carry`. `columns[list]` maps each way of writing a list's columns (its name,
    its header as uploaded) to the column's name; attributes are named as the ICP names them, by
    their label, or as the customers' file heads them (`customers`, spellings as `columns`).
    Anything that names nothing is an error naming what."""
    from icp.errors import InputFileError

    read = {c.attribute for c in icp.criteria}
    attributes = {}
    for criterion in icp.criteria:
        attributes.setdefault(_key(criterion.attribute), criterion.attribute)
        attributes.setdefault(_key(criterion.label), criterion.attribute)
    for written, name in (customers or {}).items():
        if name in read:
            attributes.setdefault(_key(written), name)

    def column_of(kind: str, written: str, flag: str) -> str:
        known = columns.get(kind)
        if known is None:
            raise InputFileError(flag, f"there is no {kind} list to carry the ICP to.")
        found = known.get(written) or known.get(_key(written))
        if found is None:
            raise InputFileError(flag, f"the {kind} list has no column '{written}'.")
        return found

    mine = {(link.list, link.attribute): link for link in icp.carry}
    for kind, written, attribute_text in links:
        column = column_of(kind, written, "--link")
        attribute = attributes.get(_key(attribute_text))
        if attribute is None:
            raise InputFileError("--link", f"no ICP criterion reads '{attribute_text}'; the criteria read "
                                           f"{', '.join(sorted({c.attribute for c in icp.criteria})) or 'nothing'}.")
        old = mine.get((kind, attribute))
        mine[(kind, attribute)] = ColumnLink(list=kind, attribute=attribute, column=column,
                                             factor=old.factor if old else 1.0)
    for kind, written, factor in scales:
        column = column_of(kind, written, "--scale")
        linked = [a for (k, a), link in mine.items() if k == kind and link.column == column]
        numeric = {c.attribute for c in icp.criteria if c.kind == "range"}
        attribute = next(iter(linked), column if column in numeric else None)
        if attribute is None or attribute not in numeric:
            raise InputFileError("--scale", f"no numeric ICP criterion reads the {kind} column '{written}' "
                                            "(link it first with --link).")
        old = mine.get((kind, attribute))
        mine[(kind, attribute)] = ColumnLink(list=kind, attribute=attribute,
                                             column=old.column if old else column, factor=factor)
    return icp.model_copy(update={"carry": tuple(mine.values())})


def spellings(report_columns) -> dict[str, str]:
    """How the columns of a list may be written on the command line: their names, their headers as
    uploaded, and those case-, space- and punctuation-insensitively."""
    found: dict[str, str] = {}
    for column in report_columns:
        for text in (column.name, column.source):
            found.setdefault(text, column.name)
            found.setdefault(_key(text), column.name)
    return found
