"""Category labels that look like one label misspelled ("technolgy" beside "technology").

Ingest already merges labels that differ only by case and spacing; a typo it cannot know. Here
each category column's distinct labels are compared (rapidfuzz), and a near pair is suggested as
a merge of the rarer spelling into the more common one. The user decides; `Workspace.merge_labels`
applies it and keeps it with the list.
"""

import re

from rapidfuzz import fuzz, process

from icp.data.workspace import Workspace
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q

# At 90 "technolgy"/"technology" (95) and "Fintech"/"Fin-tech" (93) pair up, while "Media"/"Medical"
# (83) and "Series A"/"Series B" (88) do not.
MIN_SIMILARITY = 90.0
# Short labels differ by one letter and mean other things ("B2B"/"B2C", "SaaS"/"PaaS").
MIN_LENGTH = 5
# Comparing every pair is quadratic: a column with more distinct labels is not a category list.
MAX_LABELS = 2_000
_DIGITS = re.compile(r"\d+")


class LabelMerge(Frozen):
    """A suggested merge: `label` (the rarer) into `into` (the more common) in one column."""

    column: str  # the header in the file
    label: str
    label_rows: int
    into: str
    into_rows: int
    similarity: float  # 0-100


def _comparable(a: str, b: str) -> bool:
    # "Tier 1" and "Tier 2", "51-200" and "51-250" are near in letters and far in meaning.
    return min(len(a), len(b)) >= MIN_LENGTH and _DIGITS.findall(a) == _DIGITS.findall(b)


def suggest_merges(labels: dict[str, int], column: str) -> list[LabelMerge]:
    """Near-duplicate pairs among a column's labels (label -> rows), each rarer label into its most
    common near twin; labels already the target of a merge are not merged away themselves."""
    if len(labels) > MAX_LABELS:
        return []
    # Most common first (ties by label), so each label is matched against more common ones only.
    ordered = sorted(labels, key=lambda x: (-labels[x], x))
    folded = [x.casefold() for x in ordered]
    scores = process.cdist(folded, folded, scorer=fuzz.ratio, score_cutoff=MIN_SIMILARITY)
    found, targets = [], set()
    for i, label in enumerate(ordered):
        if label in targets:
            continue
        near = [(scores[i][j], j) for j in range(i) if scores[i][j] and _comparable(label, ordered[j])
                and ordered[j] not in {m.label for m in found}]
        if not near:
            continue
        score, j = max(near, key=lambda s: (s[0], -s[1]))
        targets.add(ordered[j])
        found.append(LabelMerge(column=column, label=label, label_rows=labels[label], into=ordered[j],
                                into_rows=labels[ordered[j]], similarity=round(float(score), 1)))
    return found


def label_merge_suggestions(workspace: Workspace, kind: str) -> list[LabelMerge]:
    """Suggested merges in every category column of list `kind`, counted over its rows."""
    report = workspace.report(kind)
    found = []
    with workspace.connect(read_only=True) as con:
        for column in report.columns:
            if column.kind != "category":
                continue
            rows = con.execute(
                f"SELECT CAST({_q(column.name)} AS VARCHAR) AS label, count(*) FROM {_q(kind)} "
                f"WHERE {_q(column.name)} IS NOT NULL GROUP BY ALL LIMIT ?", [MAX_LABELS + 1]).fetchall()
            found += suggest_merges(dict(rows), column.source)
    return found
