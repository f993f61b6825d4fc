"""The Data page's tables and sentences as plain rows: what was loaded, each list's overview, the
columns with their roles (and the roles chosen in that table), the data-quality panel, the duplicate
accounts and the labels merged. No widgets here; the page shows what these return."""

from collections.abc import Iterable, Mapping

from icp.data.labels import LabelMerge
from icp.data.reports import ListReport
from icp.data.roles import ANALYSE, IGNORE, ROLE_BY_NAME, roles_for
from icp.data.semantics import REASONS

# What a list's rows are called where the list's own name does not read as a count ("5,000 universe").
_ROWS_OF = {"universe": "universe accounts", "targets": "target accounts"}
# How the role column shows a column without a role: analysed, or left out of every analysis.
GENERIC, LEFT_OUT = "(attribute)", "(not analysed)"


def rows_loaded(kind: str, report: ListReport) -> str:
    """What a load kept, as a count of the list's rows: "1,204 customers", "5,000 universe accounts"."""
    return f"{report.rows_kept:,} {_ROWS_OF.get(kind, kind)}"


def list_rows(lists: Mapping[str, ListReport]) -> list[dict]:
    """One row per list: its file, rows read and kept, duplicates merged, and links to customers."""
    return [{
        "list": kind, "file": r.file, "rows read": r.rows_read, "rows kept": r.rows_kept,
        "duplicates merged": r.duplicates_merged,
        "linked to customers": "" if r.linked_rows is None else f"{r.linked_rows:,} of {r.linked_rows + r.unlinked_rows:,}",
        "not linked because": r.unlinked_why,
    } for kind, r in lists.items()]


def role_choices(kind: str) -> list[str]:
    """The role column's options for list `kind`: analysed without a role, left out, or a role by its label."""
    return [GENERIC, LEFT_OUT, *(r.label for r in roles_for(kind))]


def role_rows(report: ListReport) -> list[dict]:
    """One row per column of the list: its role by label ("Sales cycle (days)"), how sure the match
    is, how its values were read, and why it is not analysed."""
    return [{
        "column": c.source,
        "role": ROLE_BY_NAME[c.role].label if c.role else (LEFT_OUT if c.excluded else GENERIC),
        # A role the user chose is not a guess: a confidence of 1.00 read like a sure automatic match.
        "confidence": "set by you" if c.chosen and c.role else "" if c.confidence is None else f"{c.confidence:.2f}",
        "read as": c.kind,
        "why not analysed": ((REASONS[c.excluded] + (" (your choice)" if c.chosen and c.excluded != "user" else ""))
                             if c.excluded else ""),
    } for c in report.columns]


def role_changes(kind: str, before: Iterable[Mapping], after: Iterable[Mapping]) -> dict[str, str | None]:
    """The mapping change for the rows of `role_rows` as edited: per column whose role changed, the
    role's name, IGNORE (left out), ANALYSE (analysed again after being left out) or None (no role)."""
    names = {r.label: r.name for r in roles_for(kind)}

    def choice(new: str, old: str) -> str | None:
        if new == LEFT_OUT:
            return IGNORE
        if new == GENERIC:  # from "not analysed" it is the user's word to analyse it; from a role, no role
            return ANALYSE if old == LEFT_OUT else None
        return names.get(new, new)

    return {row["column"]: choice(row["role"], old["role"])
            for row, old in zip(after, before, strict=True) if row["role"] != old["role"]}


def quality_rows(report: ListReport) -> list[dict]:
    """The data-quality panel: per column how filled, distinct, unparsed, implausible and normalized."""
    return [{
        "column": c.source, "role": ROLE_BY_NAME[c.role].label if c.role else "", "filled %": c.filled_pct,
        "distinct": c.distinct,
        "parse failures": c.parse_failures, "examples of failures": ", ".join(c.failure_examples),
        "implausible": c.implausible, "examples of implausible": "; ".join(c.implausible_examples),
        "normalized": c.normalized, "not analysed": REASONS[c.excluded] if c.excluded else "",
    } for c in report.columns]


def label_merge_rows(suggestions: Iterable[LabelMerge]) -> list[dict]:
    """The suggested label merges as ticked rows, every one ticked to begin with."""
    return [{"merge": True, "column": m.column, "label": m.label, "rows": m.label_rows,
             "into": m.into, "rows of it": m.into_rows} for m in suggestions]


def merged_labels(report: ListReport) -> str:
    """The labels merged by the user, in plain text: "Industry: Fintec → Fintech, … ; Country: …"."""
    return "; ".join(f"{column}: " + ", ".join(f"{a} → {b}" for a, b in merges.items())
                     for column, merges in report.label_merges.items())


def duplicate_rows(report: ListReport) -> list[dict]:
    """The first accounts that merged several rows: what they share and the rows as written."""
    return [{"same": m.by, "shared value": m.value, "rows merged": m.rows,
             "row numbers": ", ".join(str(r) for r in m.row_numbers), "as written": " · ".join(m.names)}
            for m in report.merges]
