"""Step 5, ICP: a first draft of the criteria, read off the pattern reports, for the user to edit.

Positive side: what sets the best customers apart becomes `must` (when nearly all of them share it)
or `nice` criteria. Negative side: what churned (else lowest-value) customers share, and the best
customers almost never do, becomes `disqualify` criteria. Only findings that pass the false
discovery rate (strong or moderate evidence) are drafted: a weak finding is shown on the Patterns
page, never promoted silently into the ICP.
"""

import hashlib
import json
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager

import duckdb
import numpy as np
from pydantic import Field

from icp.analysis import (
    SIDES,
    analysis_source,
    available_sides,
    compare_side,
    pattern_attributes,
    registered_keys,
    restricted_source,
)
from icp.analysis.patterns import Finding, PatternReport
from icp.analysis.stats import DIRECTIONAL_BELOW, evidence_label, is_directional, two_by_two
from icp.analysis.stats import Evidence as EvidenceWord
from icp.analysis.success import SuccessSettings, default_settings
from icp.data.workspace import Workspace
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.numbers import YEARS, figure
from icp.profile.model import ICP, Criterion, Evidence, Template, describe
from icp.profile.scoring import pass_sql
from icp.relation import Relation

# Numbers whose values are whole counts: a band [51, 201) reads "51-200", as the Patterns page writes it.
_WHOLE_NUMBERS = frozenset({"employees", "founded_year"})
# A directional finding (fewer than 30 best customers) is a hint, so it is drafted at this weight at most.
DIRECTIONAL_MAX_WEIGHT = 1.0
_EVIDENCE_RANK = {"strong": 0, "moderate": 1, "weak": 2, "none": 3}
_ROLE_RANK = {"must": 0, "nice": 1, "disqualify": 2}


class DraftRules(Frozen):
    """How findings become criteria. The defaults recover the demo's planted profile (tests/test_draft.py)."""

    # A positive criterion is `must` when the accounts passing it hold at least this share of the best
    # customers (with a known value): a hard filter that drops more best customers than this is too strict.
    must_coverage: float = Field(0.8, gt=0, le=1)
    # Evidence words a finding needs to be drafted; strong and moderate are q < 0.05.
    min_evidence: tuple[EvidenceWord, ...] = ("strong", "moderate")
    # Lift over the rest a positive value needs: below it, a significant difference is too small to target.
    min_lift: float = Field(1.3, ge=1)
    # Lift a negative value needs among churned / low-value accounts to zero an account's score.
    disqualify_lift: float = Field(2.0, ge=1)
    # A disqualifier may hold at most this share of the best customers, or it would throw good accounts away.
    disqualify_max_best_share: float = Field(0.05, ge=0, le=1)
    # Stability check of the default draft: the customers with a value score are split into this many
    # folds (stratified by best or not, seeded, so the same data gives the same folds) ...
    folds: int = Field(5, ge=2, le=20)
    # ... and a criterion is kept only when drafted in more than this share of the drafts that leave
    # one fold out (0.5: in most of them, 3 of 5).
    min_stability: float = Field(0.5, ge=0, lt=1)


DEFAULT_RULES = DraftRules()
# The workspace setting holding the ICP being edited; the demo template holds its draft already.
ICP_KEY = "icp"


def weight_of(finding: Finding) -> float:
    """A criterion's weight from its evidence: 2·ln(lift) + (2 if strong else 1), clipped to 1-10, to 0.1.

    The log makes a doubling of the lift worth the same everywhere (1.4 points); strong evidence adds one
    point over moderate. A directional finding is capped at DIRECTIONAL_MAX_WEIGHT. Disqualifiers get a
    weight the same way, for the editor to show, though any passed disqualifier zeroes the score.
    """
    raw = 2 * math.log(finding.lift) + (2 if finding.evidence == "strong" else 1)
    weight = round(min(10.0, max(1.0, raw)), 1)
    return min(weight, DIRECTIONAL_MAX_WEIGHT) if finding.directional else weight


def _strength(finding: Finding) -> tuple:
    """Sort key, strongest evidence first; the attribute and value make ties deterministic."""
    return (_EVIDENCE_RANK[finding.evidence], finding.q_value, -abs(math.log(finding.lift)),
            finding.attribute, finding.value)


def _evidence(finding: Finding) -> Evidence:
    return Evidence(
        in_group=finding.in_group, group_size=finding.group_size, in_rest=finding.in_rest,
        rest_size=finding.rest_size, lift=finding.lift, lift_low=finding.lift_low, lift_high=finding.lift_high,
        q_value=finding.q_value, evidence=finding.evidence, sentence=finding.sentence,
    )


def _by_attribute(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped per attribute, in report order."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.attribute, []).append(finding)
    return grouped


def _numeric_candidates(findings: list[Finding], qualifies: Callable[[Finding], bool]) -> list[Finding]:
    """The qualifying best range when the report has one, else the qualifying single bands: the
    bands a best range spans are already inside it, and a range criterion is one interval. The bands
    are the fixed tests of the report (each in its false-discovery family); the best range is an
    extra one chosen after looking. When it does not qualify, a band that does still stands, so a
    strong band is drafted whatever range the noise of a sample made "best" (without this, a
    disqualifier planted at under 11 employees was drafted in 2 of 5 folds of the demo)."""
    ranges = [f for f in findings if f.best_range and qualifies(f)]
    return ranges or [f for f in findings if not f.best_range and qualifies(f)]


def _overlaps(low: float | None, high: float | None, other_low: float | None, other_high: float | None) -> bool:
    """[low, high) and [other_low, other_high) share a point; None is an open end."""
    below = low is None or other_high is None or low < other_high
    above = other_low is None or high is None or other_low < high
    return below and above


def _criterion(findings: list[Finding], role: str, weight: float) -> Criterion:
    """One criterion from the findings it rests on; its evidence is the strongest of them."""
    first = min(findings, key=_strength)
    base = {"attribute": first.attribute, "label": first.label, "role": role, "weight": weight,
            "evidence": _evidence(first)}
    if first.kind == "number":
        return Criterion(kind="range", low=first.low, high=first.high, **base)
    if first.kind == "flag":
        # The Patterns step tests only "yes" of a flag ("no" is the same table mirrored).
        return Criterion(kind="flag", flag=True, **base)
    ordered = tuple(f.value for f in sorted(findings, key=_strength))
    return Criterion(kind="contains" if first.kind == "list" else "in_set", values=ordered, **base)


# --- positive side -----------------------------------------------------------------------------


def _chosen(findings: list[Finding], qualifies: Callable[[Finding], bool]) -> list[Finding]:
    """The qualifying findings of one attribute; for a number, the strongest qualifying range alone."""
    if findings[0].kind == "number":
        ranges = sorted(_numeric_candidates(findings, qualifies), key=_strength)
        return ranges[:1]
    return [f for f in findings if qualifies(f)]


def _positive(best: PatternReport, rules: DraftRules) -> list[Criterion]:
    def qualifies(f: Finding) -> bool:
        return f.evidence in rules.min_evidence and f.lift >= rules.min_lift

    drafted = []
    for findings in _by_attribute(best.findings).values():
        chosen = _chosen(findings, qualifies)
        if findings[0].kind == "list":
            # Items of a list are not alternatives (an account can hold them all), so each item is its own
            # criterion: "contains Snowflake or Salesforce" as one must would let Salesforce-only accounts
            # through a filter that the evidence says only Snowflake earns.
            drafted += [_scored([f], rules) for f in chosen]
        elif chosen:
            drafted.append(_scored(chosen, rules))
    return drafted


def _scored(chosen: list[Finding], rules: DraftRules) -> Criterion:
    """Role from coverage, weight from the strongest finding's lift and evidence."""
    strongest = min(chosen, key=_strength)
    # Category values are exclusive, so their counts add up; a number or flag criterion is one finding.
    coverage = sum(f.in_group for f in chosen) / strongest.group_size
    # A directional finding is too thin for a hard filter, whatever its coverage.
    role = "must" if coverage >= rules.must_coverage and not strongest.directional else "nice"
    return _criterion(chosen, role, weight_of(strongest))


# --- negative side -----------------------------------------------------------------------------


def _best_share(best: PatternReport, finding: Finding) -> float | None:
    """Share of the best customers holding a negative finding's value; None when the best report cannot say.

    Numbers: the best report's bands overlapping the range (its multi-band best range left out, as it
    repeats them), so a band only partly inside counts whole and the share errs toward not disqualifying.
    """
    same = [f for f in best.findings if f.attribute == finding.attribute]
    if finding.kind != "number":
        match = [f for f in same if f.value.casefold() == finding.value.casefold()]
        return match[0].share_group if match else None
    exact = [f for f in same if (f.low, f.high) == (finding.low, finding.high)]
    if exact:
        return exact[0].share_group
    bands = [f for f in same if not _spanned(f, same)]
    touching = [f for f in bands if _overlaps(f.low, f.high, finding.low, finding.high)]
    return sum(f.in_group for f in touching) / touching[0].group_size if touching else None


def _spanned(run: Finding, findings: list[Finding]) -> list[Finding]:
    """Other findings whose interval lies inside `run`'s: the bands a multi-band best range joins."""
    def inside(f: Finding) -> bool:
        low_in = run.low is None or (f.low is not None and f.low >= run.low)
        high_in = run.high is None or (f.high is not None and f.high <= run.high)
        return f is not run and low_in and high_in

    return [f for f in findings if inside(f)]


def _contradicts(finding: Finding, positive: list[Criterion]) -> bool:
    """The negative value is (part of) a positive criterion on the same attribute."""
    for criterion in positive:
        if criterion.attribute != finding.attribute:
            continue
        if criterion.kind == "range":
            if _overlaps(criterion.low, criterion.high, finding.low, finding.high):
                return True
        elif criterion.kind == "flag" or finding.value.casefold() in {v.casefold() for v in criterion.values}:
            return True
    return False


def _negative(negative: PatternReport, best: PatternReport, positive: list[Criterion],
              rules: DraftRules) -> list[Criterion]:
    def qualifies(f: Finding) -> bool:
        # A disqualifier zeroes an account's score: a directional finding is too thin to do that.
        if f.evidence not in rules.min_evidence or f.lift < rules.disqualify_lift or f.directional:
            return False
        share = _best_share(best, f)
        # Unknown among best customers: not drafted, since rarity there is what makes it safe.
        return share is not None and share <= rules.disqualify_max_best_share and not _contradicts(f, positive)

    drafted = []
    for findings in _by_attribute(negative.findings).values():
        chosen = _chosen(findings, qualifies)
        if findings[0].kind == "list":
            drafted += [_criterion([f], "disqualify", weight_of(f)) for f in chosen]
        elif chosen:
            drafted.append(_criterion(chosen, "disqualify", weight_of(min(chosen, key=_strength))))
    return drafted


# --- plain-language text -----------------------------------------------------------------------


def _number(x: float, attribute: str) -> str:
    """1,200; 10M; 2.5B; years without a separator (1995)."""
    return figure(x, grouped=attribute not in YEARS)


def _range(criterion: Criterion) -> str:
    """"51-5,000 employees", "fewer than 11 employees", "annual revenue 10M-500M"."""
    low, high, attribute = criterion.low, criterion.high, criterion.attribute
    whole = attribute in _WHOLE_NUMBERS
    if low is None:
        text = f"fewer than {_number(high, attribute)}" if whole else f"under {_number(high, attribute)}"
    elif high is None:
        text = f"{_number(low, attribute)} or more"
    else:
        # Whole counts read inclusive at the top, as bands do ("51-200" is [51, 201)).
        top = high - 1 if whole and float(low).is_integer() and float(high).is_integer() else high
        text = f"{_number(low, attribute)}–{_number(top, attribute)}"
    return f"{text} employees" if attribute == "employees" else f"{_lower(criterion.label)} {text}"


def _lower(label: str) -> str:
    """"Annual revenue" -> "annual revenue", but "ARR" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _either(values: tuple[str, ...]) -> str:
    return " or ".join(values)


def _clause(criterion: Criterion) -> str:
    """The criterion as a clause after "companies": "with 51-5,000 employees", "that use Snowflake"."""
    if criterion.kind == "range":
        return f"with {_range(criterion)}"
    if criterion.kind == "contains":
        verb = "that use" if criterion.attribute == "tech_stack" else f"whose {_lower(criterion.label)} include"
        return f"{verb} {_either(criterion.values)}"
    if criterion.kind == "flag":
        return f"where {_lower(criterion.label)} is {'yes' if criterion.flag else 'no'}"
    return f"with {_lower(criterion.label)} {_either(criterion.values)}"


def _sentence(criteria: list[Criterion]) -> str:
    """"Fintech or Healthcare companies with 51-5,000 employees that use Snowflake": the industry leads,
    then the "with" clauses, then the "that" ones, which reads in that order."""
    lead = [c for c in criteria if c.attribute == "industry" and c.kind == "in_set"]
    head = f"{_either(lead[0].values)} companies" if lead else "companies"
    clauses = [_clause(c) for c in criteria if c not in lead]
    return " ".join([head, *sorted(clauses, key=lambda text: not text.startswith("with "))])


def _negative_phrase(criterion: Criterion) -> str:
    if criterion.kind == "range":
        return _range(criterion)
    if criterion.kind == "contains":
        return f"using {_either(criterion.values)}"
    if criterion.kind == "flag":
        return f"{_lower(criterion.label)}: {'yes' if criterion.flag else 'no'}"
    return _either(criterion.values)


def draft_descriptions(criteria: Iterable[Criterion]) -> tuple[str, str]:
    """Draft segment and negative descriptions from the criteria; empty where there is nothing to say."""
    criteria = list(criteria)
    musts = [c for c in criteria if c.role == "must"]
    nices = [c for c in criteria if c.role == "nice"]
    bad = [c for c in criteria if c.role == "disqualify"]
    parts = []
    if musts:
        parts.append(f"{_upper_first(_sentence(musts))}.")
    if nices:
        parts.append(f"Stronger fit: {_sentence(nices)}." if musts else f"{_upper_first(_sentence(nices))}.")
    negative = f"Not a fit: {', '.join(_negative_phrase(c) for c in bad)}." if bad else ""
    return " ".join(parts), negative


# --- the draft -----------------------------------------------------------------------------------


def draft_from_reports(best: PatternReport, negative: PatternReport | None, success: SuccessSettings,
                       rules: DraftRules = DEFAULT_RULES, name: str = "Ideal Customer Profile") -> ICP:
    """The drafted ICP from a best-customer report and a negative one (churned, else low-value; None: no
    disqualifiers). Pure: the same reports give the same criteria in the same order."""
    positive = _positive(best, rules)
    disqualifiers = _negative(negative, best, positive, rules) if negative is not None else []
    criteria = sorted(
        positive + disqualifiers,
        key=lambda c: (_ROLE_RANK[c.role], _EVIDENCE_RANK[c.evidence.evidence], c.evidence.q_value,
                       -abs(math.log(c.evidence.lift)), c.attribute, c.values, c.low or 0.0),
    )
    segment, negative_text = draft_descriptions(criteria)
    return ICP(name=name, success=success, criteria=tuple(criteria),
               template=Template(segment_description=segment, negative_description=negative_text))


def data_fingerprint(workspace: Workspace) -> str:
    """A short hash of the workspace's lists (kind, file, rows, ingest time): it changes when the data does."""
    lists = [
        [kind, report.file, report.rows_kept, report.ingested_at.isoformat()]
        for kind, report in sorted(workspace.lists().items())
    ]
    return hashlib.sha256(json.dumps(lists).encode()).hexdigest()[:12]


def negative_side(workspace: Workspace) -> str:
    """Churn says most plainly who is a bad fit; without a churn column, the lowest-value quarter."""
    return "churned" if "churned" in available_sides(workspace) else "low_value"


# --- stability ------------------------------------------------------------------------------------

# The scored customers, materialized once per connection by `Drafter`: a draft per fold then reads
# a small table instead of scoring every customer again for each of its queries.
_CUSTOMERS = "_icp_draft_customers"
_SUBSET = "_icp_draft_subset"  # the customers of the subset being drafted on
# Seed of the stability folds: fixed, so a draft does not depend on anything but the data and rules.
STABILITY_SEED = 0


def assign_folds(customers: Iterable[tuple[str, bool]], folds: int, random_state: int = 0) -> dict[str, int]:
    """Each customer's fold (0 .. folds - 1) from (account key, is best) pairs, stratified by best or not.

    The best customers, sorted by key and shuffled by a generator seeded with `random_state`, are dealt
    round the folds; the rest, shuffled the same way, continue the deal where the best left off. So
    the folds differ in size by one at most, each holds best customers when there are at least as
    many as folds, and the same customers and seed always give the same folds. With as many folds as
    customers, each customer is a fold of its own (leave-one-out).
    """
    if folds < 1:
        raise ValueError("there must be at least one fold")
    rng = np.random.default_rng(random_state)
    ordered = sorted((str(key), bool(best)) for key, best in customers)
    best = [key for key, is_best in ordered if is_best]
    rest = [key for key, is_best in ordered if not is_best]
    dealt = [*(best[i] for i in rng.permutation(len(best))), *(rest[i] for i in rng.permutation(len(rest)))]
    return {key: i % folds for i, key in enumerate(dealt)}


def _side(criterion: Criterion) -> str:
    return "negative" if criterion.role == "disqualify" else "positive"


def same_criterion(a: Criterion, b: Criterion) -> bool:
    """Whether two drafts agree on a criterion: the same attribute, the same side (must or nice against
    disqualify) and the same kind, and they overlap: a shared value (case-insensitive), overlapping
    ranges, the same flag. A list item is its own criterion, so Salesforce never counts for Snowflake."""
    if (a.attribute, _side(a), a.kind) != (b.attribute, _side(b), b.kind):
        return False
    if a.kind == "range":
        return _overlaps(a.low, a.high, b.low, b.high)
    if a.kind == "flag":
        return a.flag == b.flag
    return bool({v.casefold() for v in a.values} & {v.casefold() for v in b.values})


def with_stability(icp: ICP, fold_drafts: Sequence[ICP]) -> ICP:
    """The ICP with each criterion's evidence saying in how many of the fold drafts it was drafted."""
    criteria = []
    for criterion in icp.criteria:
        if criterion.evidence is None:
            criteria.append(criterion)
            continue
        drafted_in = sum(any(same_criterion(criterion, other) for other in fold.criteria) for fold in fold_drafts)
        evidence = criterion.evidence.model_copy(update={"drafted_in": drafted_in, "folds": len(fold_drafts)})
        criteria.append(criterion.model_copy(update={"evidence": evidence}))
    return icp.model_copy(update={"criteria": tuple(criteria)})


def is_stable(criterion: Criterion, rules: DraftRules = DEFAULT_RULES) -> bool:
    """Drafted in more than `rules.min_stability` of the folds; a criterion whose stability was not
    measured (typed in) is not judged, so it stays."""
    evidence = criterion.evidence
    if evidence is None or evidence.drafted_in is None:
        return True
    return evidence.drafted_in > rules.min_stability * evidence.folds


def stable_only(icp: ICP, rules: DraftRules = DEFAULT_RULES) -> ICP:
    """The ICP keeping only its stable criteria, with the draft descriptions written again for them."""
    kept = tuple(c for c in icp.criteria if is_stable(c, rules))
    segment, negative = draft_descriptions(kept)
    template = icp.template.model_copy(update={"segment_description": segment, "negative_description": negative})
    return icp.model_copy(update={"criteria": kept, "template": template})


class Drafter:
    """Drafts on one open connection, on all customers or a subset (a cross-validation fold's training
    customers): the scored customers are materialized once as a temp table of the connection, the
    attributes are read once, and each subset's draft is remembered, so the stability check and the
    validation (icp.market.validation) cost one pattern comparison per side and subset.

    Labels (best, churned, lowest-value) are those of all customers: a subset is compared with the
    labels the whole list gave it.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, workspace: Workspace, settings: SuccessSettings,
                 rules: DraftRules = DEFAULT_RULES, name: str = "Ideal Customer Profile"):
        self.con, self.settings, self.rules, self.name = con, settings, rules, name
        self.attributes = pattern_attributes(workspace)
        self.negative_side = negative_side(workspace)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(_CUSTOMERS)} AS {analysis_source(settings).select()}")
        self.source = Relation.of_table(_CUSTOMERS)
        keys = con.execute(
            f"SELECT CAST(account_key AS VARCHAR), value_score IS NOT NULL, is_best FROM {_q(_CUSTOMERS)}"
        ).fetchall()
        self.accounts = frozenset(key for key, _, _ in keys)
        # Customers with a value score, the only ones that are best or not: key -> is best.
        self.scored = {key: bool(best) for key, has_score, best in keys if has_score}
        self._drafts: dict[frozenset[str] | None, ICP] = {}

    def _subset(self, accounts: Collection[str] | None) -> frozenset[str] | None:
        """None for every customer (no restriction, the faster query), else the keys as a frozenset."""
        if accounts is None:
            return None
        chosen = frozenset(accounts)
        return None if chosen == self.accounts else chosen

    def raw(self, accounts: Collection[str] | None = None) -> ICP:
        """`draft_from_reports` on the customers with these keys (None: all), without the stability check."""
        subset = self._subset(accounts)
        if subset not in self._drafts:
            source = self.source
            if subset is not None:
                # The subset's rows copied once for the two comparisons (some twenty queries each),
                # which then read a small table instead of filtering the customers every time.
                with registered_keys(self.con, subset) as keys:
                    self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(_SUBSET)} AS "
                                     f"{restricted_source(self.source, keys).select()}")
                source = Relation.of_table(_SUBSET)
            best = compare_side(self.con, source, "best", self.attributes)
            negative = compare_side(self.con, source, self.negative_side, self.attributes)
            self._drafts[subset] = draft_from_reports(best, negative, self.settings, self.rules, self.name)
        return self._drafts[subset]

    def counted(self, accounts: Collection[str] | None = None) -> ICP:
        """The raw draft on these customers, each criterion with its stability: drafted again on the
        customers outside each of `rules.folds` folds of their scored customers (fewer folds when
        there are fewer scored customers; no count below two)."""
        subset = self._subset(accounts)
        training = self.accounts if subset is None else subset
        scored = [(key, self.scored[key]) for key in training if key in self.scored]
        folds = min(self.rules.folds, len(scored))
        raw = self.raw(subset)
        if folds < 2:
            return raw
        fold_of = assign_folds(scored, folds, STABILITY_SEED)
        drafts = [self.raw(training - {key for key, fold in fold_of.items() if fold == j}) for j in range(folds)]
        return with_stability(raw, drafts)

    def draft(self, accounts: Collection[str] | None = None, stable: bool = True) -> ICP:
        """The draft on these customers (None: all): only its stable criteria unless `stable` is False."""
        return stable_only(self.counted(accounts), self.rules) if stable else self.raw(accounts)


@contextmanager
def open_drafter(workspace: Workspace, settings: SuccessSettings, rules: DraftRules = DEFAULT_RULES,
                 name: str = "Ideal Customer Profile") -> Iterator[Drafter]:
    """A Drafter on a connection of its own, closed (its temp table with it) when the block ends."""
    with workspace.connect() as con:
        yield Drafter(con, workspace, settings, rules, name)


def draft_icp(workspace: Workspace, success: SuccessSettings | None = None, rules: DraftRules = DEFAULT_RULES,
              name: str = "Ideal Customer Profile", *, stable: bool = True) -> ICP:
    """Draft an ICP from a workspace's customers (default success settings unless given).

    By default only stable criteria are kept (see the module docstring), each recording in how many
    folds it was drafted (`Evidence.drafted_in` of `Evidence.folds`). `stable=False` gives the raw
    draft of all customers, every criterion that passes the rules once, without stability counts.
    """
    settings = success or default_settings(workspace)
    with open_drafter(workspace, settings, rules, name) as drafter:
        icp = drafter.draft(stable=stable)
    return icp.model_copy(update={"data_fingerprint": data_fingerprint(workspace)})


# --- after the draft: criteria typed in or changed, a draft that comes out empty ------------------

_EVIDENCE = "_icp_evidence_customers"  # the scored customers, for one criterion's counts


def evidence_for(workspace: Workspace, icp: ICP, criterion: Criterion,
                 by_hand: str | None = "edited") -> Evidence | None:
    """A criterion's counts and lift as the draft would show them, measured for the criterion as it
    stands: among best customers against the rest (a disqualifier: among churned, else lowest-value,
    customers), under the ICP's success definition, counting only customers whose value is known.
    A criterion a person typed in is one test, not one of a family searched, so q is its p-value.
    None when one side has no customer with a known value (nothing to compare)."""
    side = negative_side(workspace) if criterion.role == "disqualify" else "best"
    _, label_sql, group_name = SIDES[side]
    with workspace.connect() as con:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(_EVIDENCE)} AS {analysis_source(icp.success).select()}")
        a, n, c, m = con.execute(f"""
            WITH labelled AS (
                SELECT CAST(({label_sql}) AS BOOLEAN) AS g, passed.p
                FROM {_q(_EVIDENCE)} AS customer JOIN ({pass_sql(criterion, _EVIDENCE)}) AS passed
                  ON customer.rowid = passed.r
                WHERE customer.{_q(criterion.attribute)} IS NOT NULL)
            SELECT count(*) FILTER (WHERE g AND p), count(*) FILTER (WHERE g),
                   count(*) FILTER (WHERE NOT g AND p), count(*) FILTER (WHERE NOT g)
            FROM labelled WHERE g IS NOT NULL""").fetchone()
    if n == 0 or m == 0:
        return None
    table = two_by_two(a, n - a, c, m - c)
    word = evidence_label(table.p_value)
    against = "none of the rest" if c == 0 else f"{table.lift:.1f}x the rest"
    sentence = (f"{describe(criterion)}: {a:,} of {n:,} {group_name} ({table.share_in_group:.0%}), {against}; "
                + ("no evidence beyond chance" if word == "none" else f"{word} evidence"))
    if is_directional(n):
        sentence += f"; directional (fewer than {DIRECTIONAL_BELOW} {group_name})"
    if by_hand is not None:
        sentence = f"{by_hand.capitalize()} by hand: {sentence}"
    return Evidence(in_group=a, group_size=n, in_rest=c, rest_size=m, lift=table.lift, lift_low=table.lift_low,
                    lift_high=table.lift_high, q_value=table.p_value, evidence=word, sentence=sentence,
                    by_hand=by_hand)


def written_by_hand(icp: ICP) -> tuple[bool, bool]:
    """Whether the segment and the negative description are the user's own words rather than the
    text the draft writes for these criteria."""
    segment, negative = draft_descriptions(icp.criteria)
    t = icp.template
    return (t.segment_description.strip() not in ("", segment),
            t.negative_description.strip() not in ("", negative))


def with_criteria(icp: ICP, criteria: Iterable[Criterion]) -> ICP:
    """The ICP with these criteria, validated as a whole; a description the draft wrote for the old
    criteria is written again for the new ones, and one the user wrote is kept as it is."""
    criteria = list(criteria)
    old_segment, old_negative = draft_descriptions(icp.criteria)
    new_segment, new_negative = draft_descriptions(criteria)
    template = icp.template.model_dump()
    if icp.template.segment_description.strip() in ("", old_segment):
        template["segment_description"] = new_segment
    if icp.template.negative_description.strip() in ("", old_negative):
        template["negative_description"] = new_negative
    return ICP.model_validate({**icp.model_dump(), "criteria": [c.model_dump() for c in criteria],
                               "template": template})


def redrafted(current: ICP, fresh: ICP) -> ICP:
    """The working ICP with a fresh draft's criteria, success definition and data fingerprint; its
    name, tiers, market, links and the text the user wrote stay."""
    return with_criteria(current, fresh.criteria).model_copy(
        update={"success": fresh.success, "data_fingerprint": fresh.data_fingerprint})


def with_success(workspace: Workspace, icp: ICP, success: SuccessSettings) -> ICP:
    """The ICP adopting another success definition without drafting again: each criterion's evidence
    is measured again under it (no stability count, which was measured under the old one)."""
    adopted = icp.model_copy(update={"success": success})
    criteria = [c.model_copy(update={"evidence": evidence_for(
        workspace, adopted, c, by_hand=c.evidence.by_hand if c.evidence is not None else "added")})
        for c in icp.criteria]
    return adopted.model_copy(update={"criteria": tuple(criteria)})


class EmptyDraft(Frozen):
    """Why a draft has no must or nice criterion, in figures the sentence is made of."""

    best: int  # best customers (with a value score)
    rest: int  # the other customers with a value score
    passing: int  # positive findings with the evidence and lift a criterion needs
    unstable: tuple[str, ...]  # drafted on all customers, not in most folds: "Employees 201–500 (1 of 5 folds)"
    min_lift: float

    def sentence(self) -> str:
        if self.best < 3 or self.rest < 3:
            why = (f"There are {self.best:,} best customers and {self.rest:,} others with a value score: "
                   "too few to compare.")
        elif self.unstable:
            why = (f"On all {self.best + self.rest:,} customers ({self.best:,} best) the draft found "
                   f"{'; '.join(self.unstable)}, but it did not hold when the draft was made again without "
                   "each fifth of the customers, so it may be chance.")
        elif self.passing == 0:
            why = (f"No attribute sets your {self.best:,} best customers apart from the other {self.rest:,} "
                   f"beyond chance (strong or moderate evidence and a lift of at least {self.min_lift:g}x).")
        else:
            why = (f"{self.passing:,} findings set your {self.best:,} best customers apart, but none makes a "
                   "must or nice criterion.")
        helps = ["more customers" + (f" (with fewer than {DIRECTIONAL_BELOW} best customers every finding is "
                                     "only directional)" if self.best < DIRECTIONAL_BELOW else ""),
                 "a success definition that says better who your best customers are (Success page)",
                 "more attributes per customer, such as industry, size or tech stack (Data page)",
                 "criteria you add by hand"]
        return f"{why} What would help: {', '.join(helps[:-1])}, or {helps[-1]}."


def why_empty(workspace: Workspace, success: SuccessSettings, rules: DraftRules = DEFAULT_RULES) -> EmptyDraft:
    """The figures behind a draft with no must or nice criterion (see EmptyDraft)."""
    with open_drafter(workspace, success, rules) as drafter:
        counted = drafter.counted()
        report = compare_side(drafter.con, drafter.source, "best", drafter.attributes)
        best = sum(drafter.scored.values())
    passing = sum(f.evidence in rules.min_evidence and f.lift >= rules.min_lift for f in report.findings)
    unstable = tuple(f"{describe(c)} ({c.evidence.drafted_in} of {c.evidence.folds} folds)"
                     for c in counted.criteria
                     if c.role != "disqualify" and c.evidence is not None and not is_stable(c, rules))
    return EmptyDraft(best=best, rest=len(drafter.scored) - best, passing=passing, unstable=unstable,
                      min_lift=rules.min_lift)
