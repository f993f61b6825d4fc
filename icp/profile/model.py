"""The ICP itself: criteria with their evidence, tier rules, market assumptions and the template
text, as one versioned pydantic model. It is what `icp.json` holds and what `--settings` reloads."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, model_validator

from icp.analysis.segments import SegmentSettings
from icp.analysis.success import SuccessSettings
from icp.errors import InputFileError
from icp.frozen import Frozen
from icp.numbers import YEARS, figure

SCHEMA_VERSION = 1

CriterionKind = Literal["in_set", "range", "contains", "flag"]
CriterionRole = Literal["must", "nice", "disqualify"]
# The column type each kind of criterion reads: one column has one type, so criteria on one
# attribute must agree on it (an `in_set` and a `range` on one column cannot both be scored).
COLUMN_TYPES = {"in_set": "VARCHAR", "range": "DOUBLE", "contains": "VARCHAR[]", "flag": "BOOLEAN"}
_KIND_WORDS = {"in_set": "values", "range": "a number range", "contains": "list items", "flag": "a yes/no flag"}
TIERS = ("Tier 1", "Tier 2", "Tier 3", "Not a fit")


class _Settings(Frozen):
    # Defaults are validated too, so 75 becomes 75.0 as it would after a JSON round trip.
    model_config = ConfigDict(validate_default=True)


class Evidence(_Settings):
    """Why a criterion is there: the finding it was drafted from (counts, lift, interval, q-value)."""

    in_group: int
    group_size: int
    in_rest: int
    rest_size: int
    lift: float
    lift_low: float
    lift_high: float
    q_value: float
    evidence: str  # strong / moderate / weak / none
    sentence: str
    # Stability: in how many of `folds` cross-validation drafts (each on the customers outside one
    # fold) a criterion on the same attribute and side was drafted. None: not measured (a criterion
    # typed in, an ICP saved before stability was measured, or a draft made without the check).
    drafted_in: int | None = Field(None, ge=0)
    folds: int | None = Field(None, ge=1)
    # Measured for a criterion the user typed in or changed, not drafted (icp.profile.draft.evidence_for): one
    # test chosen by a person, so its q-value is its p-value and it never counts as drafted.
    by_hand: Literal["edited", "added"] | None = None

    @model_validator(mode="after")
    def _stability_complete(self) -> "Evidence":
        if (self.drafted_in is None) != (self.folds is None):
            raise ValueError("give both drafted_in and folds, or neither")
        if self.drafted_in is not None and self.drafted_in > self.folds:
            raise ValueError("a criterion cannot be drafted in more folds than there are")
        return self


class Criterion(_Settings):
    """One test an account passes or not.

    - in_set: the attribute's value is one of `values` (case-insensitive);
    - range: low <= value < high (either end may be open);
    - contains: the list attribute holds at least one of `values` (case-insensitive);
    - flag: the yes/no attribute equals `flag`.
    A `must` criterion is a hard filter (it defines SAM), `nice` adds its weight to the fit score,
    `disqualify` sets the fit score to 0. An account with no value for the attribute does not pass it.
    """

    attribute: str  # column of the normalized account tables (a role name or a snake_case attribute)
    label: str
    kind: CriterionKind
    role: CriterionRole = "nice"
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    flag: bool | None = None
    weight: float = Field(1.0, ge=0, le=10)
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Criterion":
        if self.kind in ("in_set", "contains") and not self.values:
            raise ValueError(f"criterion on {self.label}: list at least one value")
        if self.kind == "range":
            if self.low is None and self.high is None:
                raise ValueError(f"criterion on {self.label}: give a lower or an upper bound")
            if self.low is not None and self.high is not None and self.low >= self.high:
                raise ValueError(f"criterion on {self.label}: the lower bound must be below the upper bound")
        if self.kind == "flag" and self.flag is None:
            raise ValueError(f"criterion on {self.label}: say whether the flag must be yes or no")
        return self


def describe(criterion: "Criterion") -> str:
    """The test in words: "Industry is Fintech or Healthcare", "Employees 51–1,000", "Tech stack has Snowflake"."""
    c = criterion
    if c.kind == "in_set":
        return f"{c.label} is {' or '.join(c.values)}"
    if c.kind == "contains":
        return f"{c.label} has {' or '.join(c.values)}"
    if c.kind == "flag":
        return f"{c.label}: {'yes' if c.flag else 'no'}"
    grouped = c.attribute not in YEARS  # "Founded 1995–2009", never "1,995"

    def _number(x: float) -> str:
        return figure(x, grouped)

    if c.low is not None and c.high is not None:
        # Whole-number bounds read as counts: [51, 1001) is "51–1,000".
        if float(c.low).is_integer() and float(c.high).is_integer() and c.high < 1e6:
            return f"{c.label} {_number(c.low)}–{_number(c.high - 1)}"
        return f"{c.label} from {_number(c.low)} to under {_number(c.high)}"
    return f"{c.label} {'at least ' + _number(c.low) if c.low is not None else 'under ' + _number(c.high)}"


def same_test(a: Criterion, b: Criterion) -> bool:
    """Whether two criteria test the same thing: attribute, kind, values (trimmed, case-insensitive,
    in any order), bounds and flag; role and weight aside."""
    def values(c: Criterion) -> frozenset[str]:
        return frozenset(v.strip().casefold() for v in c.values)

    return ((a.attribute, a.kind, a.low, a.high, a.flag) == (b.attribute, b.kind, b.low, b.high, b.flag)
            and values(a) == values(b))


class TierRules(_Settings):
    """Fit score thresholds for the tiers, or Tier 1 sized to sales capacity (reps x accounts per rep)."""

    mode: Literal["thresholds", "capacity"] = "thresholds"
    tier1: float = Field(75, ge=0, le=100)
    tier2: float = Field(50, ge=0, le=100)
    tier3: float = Field(25, ge=0, le=100)
    reps: int = Field(5, ge=1, le=10_000)
    accounts_per_rep: int = Field(50, ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> "TierRules":
        if not self.tier1 >= self.tier2 >= self.tier3:
            raise ValueError("tier thresholds must go down: Tier 1 >= Tier 2 >= Tier 3")
        return self

    @property
    def capacity(self) -> int:
        return self.reps * self.accounts_per_rep


def tier_rules_as_set(rules: TierRules, mode: Literal["thresholds", "capacity"], *, tier1: float | None = None,
                      tier2: float, tier3: float, reps: int | None = None,
                      accounts_per_rep: int | None = None) -> TierRules:
    """`rules` with the tiers as the Targets page's sliders set them, each threshold clamped to at most
    the one above, so no order of slider moves is refused. By capacity, Tier 1 has no threshold of its
    own: the one kept is raised to Tier 2's when it is below. What is not given is kept from `rules`."""
    tier1 = max(rules.tier1, tier2) if mode == "capacity" or tier1 is None else tier1
    tier2 = min(tier2, tier1)
    return TierRules(mode=mode, tier1=tier1, tier2=tier2, tier3=min(tier3, tier2),
                     reps=rules.reps if reps is None else reps,
                     accounts_per_rep=rules.accounts_per_rep if accounts_per_rep is None else accounts_per_rep)


class MarketAssumptions(_Settings):
    """What SOM rests on; each is written out next to the figures."""

    reachable_share: float = Field(0.3, gt=0, le=1)  # of SAM reachable within the horizon
    win_rate: float | None = Field(None, gt=0, le=1)  # None: the win rate measured in the deals
    horizon_years: float = Field(1.0, gt=0, le=10)
    acv: float | None = Field(None, ge=0)  # None: mean value of best customers passing the ICP
    typed_tam: int | None = Field(None, ge=0)  # counts typed in when there is no universe list
    typed_sam: int | None = Field(None, ge=0)
    # The money's currency: a code (USD, EUR) or a symbol ($, €); "" when unknown, and money is then
    # shown without one rather than with a guess.
    currency: str = Field("", max_length=8)


class Persona(_Settings):
    title: str = ""
    department: str = ""
    seniority: str = ""


class Template(_Settings):
    """The seeds' ICP template: what data cannot say, written by the team."""

    segment_description: str = ""
    negative_description: str = ""
    goals: str = ""
    challenges: str = ""
    pain_points: str = ""
    watering_holes: str = ""
    personas: tuple[Persona, ...] = ()


class ColumnLink(_Settings):
    """Where a list other than the customers holds a criterion's attribute, and in what unit: the
    user's word, kept with the ICP so `icp build --settings` scores the same way. A list whose own
    headers differ ("on_prem_only" for "Requires on-prem") or whose numbers are in other units
    (dollars, where the customers' revenue is in millions) is read through it."""

    list: str  # the list: universe, targets (also the file `icp score` reads)
    attribute: str  # the criterion attribute (a column of the customers)
    column: str | None  # the list's column holding it; None: the list has none (the criterion is unknown there)
    factor: float = Field(1.0, gt=0)  # list value x factor = the value in the customers' unit


class ICP(_Settings):
    """A whole, reloadable ICP: `icp.json`."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = "Ideal Customer Profile"
    version: int = Field(1, ge=1)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    data_fingerprint: str = ""  # of the lists it was drafted from, to tell when the data changed
    criteria: tuple[Criterion, ...] = ()
    tiers: TierRules = TierRules()
    success: SuccessSettings
    segments: SegmentSettings = SegmentSettings()
    market: MarketAssumptions = MarketAssumptions()
    template: Template = Template()
    carry: tuple[ColumnLink, ...] = ()  # the user's links of criteria to other lists' columns

    @model_validator(mode="after")
    def _one_type_per_column(self) -> "ICP":
        kinds: dict[str, Criterion] = {}
        for criterion in self.criteria:
            first = kinds.setdefault(criterion.attribute, criterion)
            if COLUMN_TYPES[first.kind] != COLUMN_TYPES[criterion.kind]:
                raise ValueError(
                    f"two criteria read '{criterion.attribute}' in different ways ({_KIND_WORDS[first.kind]} "
                    f"and {_KIND_WORDS[criterion.kind]}); criteria on one column must test it the same way")
        return self

    def with_criterion(self, criterion: Criterion) -> "ICP":
        """The ICP with one more criterion; the same test twice (same attribute, kind, values or bounds)
        is refused, since it would count its weight twice."""
        for other in self.criteria:
            if same_test(other, criterion):
                raise ValueError(f"the ICP already has that criterion: {other.role} \"{describe(other)}\"")
        return self.model_validate({**self.model_dump(), "criteria": [
            *(c.model_dump() for c in self.criteria), criterion.model_dump()]})

    def with_edited_criteria(self, criteria: Iterable[Criterion]) -> "ICP":
        """The ICP with its criteria as edited in place (the ICP page's table), validated as a whole;
        an edit that makes one criterion test what another does is refused as `with_criterion`
        refuses one added twice. The same test twice in the ICP before the edit (an old icp.json,
        which still loads) is left as it is."""
        criteria = list(criteria)
        doubled_before = [a for i, a in enumerate(self.criteria) if any(same_test(a, b) for b in self.criteria[:i])]
        for i, criterion in enumerate(criteria):
            other = next((b for b in criteria[:i] if same_test(b, criterion)), None)
            if other is not None and not any(same_test(criterion, d) for d in doubled_before):
                raise ValueError(f"the ICP already has that criterion: {other.role} \"{describe(other)}\"")
        return self.model_validate({**self.model_dump(), "criteria": [c.model_dump() for c in criteria]})

    @property
    def musts(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.role == "must")

    @property
    def nices(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.role == "nice")

    @property
    def disqualifiers(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.role == "disqualify")


def parse_icp(text: str | bytes, source: str = "icp.json") -> ICP:
    """An ICP from its JSON; anything wrong is one plain sentence naming the file and the field."""
    try:
        return ICP.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        if first["type"] == "extra_forbidden":
            problem = f"has a field this version does not know: '{where}'"
        elif first["type"] == "json_invalid":
            problem = "is not valid JSON"
        elif first["loc"] and first["loc"][0] == "schema_version":
            problem = f"has schema_version {first.get('input')!r}; this version reads {SCHEMA_VERSION}"
        elif not first["loc"]:
            problem = "is not a usable ICP: " + first["msg"].removeprefix("Value error, ")
        else:
            problem = f"has a bad value at '{where}': {first['msg']}"
        more = len(err.errors()) - 1
        raise InputFileError(source, problem + (f" (and {more} more problems)." if more else ".")) from err


# -- the criteria as the ICP page's table ------------------------------------------------------------

def criteria_rows(icp: ICP) -> list[dict]:
    """One row per criterion, as the ICP page's criteria table shows and edits them."""
    return [{
        "role": c.role, "criterion": describe(c), "values": ", ".join(c.values), "from": c.low, "to (under)": c.high,
        "weight": c.weight, "evidence": c.evidence.sentence if c.evidence else "added by hand",
        "stable": (f"drafted in {c.evidence.drafted_in} of {c.evidence.folds} folds"
                   if c.evidence and c.evidence.folds else ""),
    } for c in icp.criteria]


def _number(value: object) -> float | None:
    """A table cell as a bound: empty (None, NaN, NA) is no bound."""
    return None if value is None or pd.isna(value) else float(value)


def criteria_from_rows(icp: ICP, rows: Iterable[dict]) -> ICP:
    """The ICP with its criteria as edited in the table of `criteria_rows`: role, weight, values
    (comma-separated, for value and list criteria) and the range's from and to. A row is the criterion
    at its "index" key when it has one (a row deleted from the table leaves a gap), else at its place.
    The whole ICP is validated: an empty value list, a reversed range or the same test as another
    criterion is refused with a ValueError that says so in one sentence."""
    try:
        kept = []
        for place, row in enumerate(rows):
            old = icp.criteria[int(row.get("index", place))]
            values = tuple(v.strip() for v in str(row["values"] or "").split(",") if v.strip())
            kept.append(old.model_copy(update={
                "role": row["role"], "weight": float(row["weight"]),
                "values": values if old.kind in ("in_set", "contains") else old.values,
                "low": _number(row["from"]), "high": _number(row["to (under)"]),
            }))
        # model_copy skips validation: with_edited_criteria validates the whole ICP again.
        return icp.with_edited_criteria(kept)
    except ValidationError as err:
        raise ValueError(err.errors()[0]["msg"]) from err
