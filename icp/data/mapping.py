"""A column mapping as a file and on the command line: what the Data page downloads as
`mapping.json` and `icp build --mapping` / `--map LIST:COLUMN=ROLE` read back.

The file is `{"customers": {"Phone": "ignore", "Name": "account_name", "Notes": null}, "deals": {...}}`:
per list, per column as the file heads it, a role name, "attribute" (analyse it, whatever it looks
like), "ignore" (never analyse it) or null (no role; analysed unless its content says otherwise).

The category labels merged on the Data page ("near-duplicate labels") are under the top-level key
"label_merges": per list, per column as the file heads it, {label: the label it is merged into},
e.g. `"label_merges": {"customers": {"Industry": {"technolgy": "technology"}}}`; `icp build` applies
them as it reads each list, matched by case and spacing as in the app. The key is written only when
there are merges, and a file without it (older ones) reads as having none.
"""

import json
import re
from pathlib import Path

from icp.data.roles import ANALYSE, IGNORE, LIST_KINDS, roles_for
from icp.data.workspace import Workspace
from icp.errors import InputFileError

Mapping = dict[str, dict[str, str | None]]
LabelMerges = dict[str, dict[str, dict[str, str]]]  # list -> column -> {label: label it is merged into}
LABEL_MERGES = "label_merges"
# `icp score` reads its file as a targets list; "accounts" says the same in its own words.
_LIST_ALIASES = {"accounts": "targets"}
_NO_ROLE = {"none", "null", "-", ""}


def mapping_of(workspace: Workspace) -> dict:
    """What mapping.json holds: each list's roles, and its label merges when it has any."""
    lists = workspace.lists()
    found: dict = {kind: report.mapping for kind, report in lists.items()}
    merges = {kind: {column: dict(m) for column, m in report.label_merges.items() if m}
              for kind, report in lists.items()}
    if merges := {kind: columns for kind, columns in merges.items() if columns}:
        found[LABEL_MERGES] = merges
    return found


def mapping_json(workspace: Workspace) -> str:
    return json.dumps(mapping_of(workspace), indent=2, ensure_ascii=False)


def _check(kind: str, column: str, role: str | None, source: str) -> str | None:
    if role is None or role in (ANALYSE, IGNORE):
        return role
    allowed = {r.name for r in roles_for(kind)}
    if role not in allowed:
        raise InputFileError(source, f"'{role}' (column '{column}') is not a role for a {kind} list; use one of "
                                     f"{', '.join(sorted(allowed))}, {ANALYSE}, {IGNORE} or none.")
    return role


def _kind(name: str, source: str) -> str:
    kind = _LIST_ALIASES.get(name, name)
    if kind not in LIST_KINDS:
        raise InputFileError(source, f"'{name}' is not a kind of list; use one of {', '.join(LIST_KINDS)}.")
    return kind


_MERGES_SHAPE = '{"customers": {"Industry": {"label": "label it is merged into"}}}'


def _label_merges(data: object, source: str) -> LabelMerges:
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputFileError(source, f"'{LABEL_MERGES}' is not label merges per list and column: expected "
                                     f"{_MERGES_SHAPE}.")
    found: LabelMerges = {}
    for name, columns in data.items():
        kind = _kind(str(name), source)
        for column, merges in columns.items():
            if not isinstance(merges, dict):
                raise InputFileError(source, f"the label merges of column '{column}' ({kind}) are not "
                                             '{"label": "label it is merged into", ...}.')
            for label, kept in merges.items():
                if not isinstance(kept, str) or not kept.strip() or not str(label).strip():
                    raise InputFileError(source, f"the label merge of '{label}' in column '{column}' ({kind}) "
                                                 "must name the label it is merged into, as a text.")
                found.setdefault(kind, {}).setdefault(str(column), {})[str(label)] = kept
    return found


def _read(path: str | Path) -> tuple[Mapping, LabelMerges]:
    source = str(path)
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as err:
        raise InputFileError(source, f"cannot be read ({err.strerror or err}).") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise InputFileError(source, f"is not valid JSON ({err}).") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for k, v in data.items() if k != LABEL_MERGES):
        raise InputFileError(source, 'is not a mapping: expected {"customers": {"column": "role", ...}, ...}.')
    merges = _label_merges(data.pop(LABEL_MERGES, {}), source)
    found: Mapping = {}
    for name, columns in data.items():
        kind = _kind(str(name), source)
        for column, role in columns.items():
            if role is not None and not isinstance(role, str):
                raise InputFileError(source, f"the role of column '{column}' must be a text or null.")
            found.setdefault(kind, {})[str(column)] = _check(kind, str(column), role, source)
    return found, merges


def read_mapping(path: str | Path) -> Mapping:
    """A mapping.json, checked: every list a kind of list, every value a role of that list (or one
    of the words above), and its label merges well formed. The columns are checked against each
    file when it is read."""
    return _read(path)[0]


def read_label_merges(path: str | Path) -> LabelMerges:
    """The label merges of a mapping.json (none in a file without the key), checked as `read_mapping` does."""
    return _read(path)[1]


_MAP_ARG = re.compile(r"^([A-Za-z_]+):(.+)=([^=]*)$")


def parse_map_args(values: list[str], base: Mapping | None = None) -> Mapping:
    """`--map LIST:COLUMN=ROLE` values on top of a mapping file's; the last word for a column wins."""
    found: Mapping = {kind: dict(columns) for kind, columns in (base or {}).items()}
    for value in values:
        match = _MAP_ARG.match(value)
        if not match:
            raise InputFileError("--map", f"'{value}' is not LIST:COLUMN=ROLE (e.g. customers:Sector=industry).")
        name, column, role = match.groups()
        kind = _kind(name, "--map")
        role = None if role.strip().casefold() in _NO_ROLE else role.strip()
        found.setdefault(kind, {})[column] = _check(kind, column, role, "--map")
    return found


_CARRY_ARG = re.compile(r"^([A-Za-z_]+):(.+)=([^=]+)$")
_CARRIED_TO = ("universe", "targets")


def _carry_arg(value: str, flag: str, example: str) -> tuple[str, str, str]:
    match = _CARRY_ARG.match(value)
    if not match:
        raise InputFileError(flag, f"'{value}' is not LIST:COLUMN=… (e.g. {example}).")
    name, column, what = match.groups()
    kind = _kind(name, flag)
    if kind not in _CARRIED_TO:
        raise InputFileError(flag, f"the ICP is carried to the universe or the targets (accounts), not to '{name}'.")
    return kind, column.strip(), what.strip()


def parse_links(values: list[str]) -> list[tuple[str, str, str]]:
    """`--link LIST:COLUMN=ATTRIBUTE`: the list's column that holds a criterion's attribute."""
    return [_carry_arg(v, "--link", "universe:on_prem_only=requires_on_prem") for v in values]


def parse_scales(values: list[str]) -> list[tuple[str, str, float]]:
    """`--scale LIST:COLUMN=FACTOR`: list value x factor = the value in the customers' unit."""
    found = []
    for value in values:
        kind, column, text = _carry_arg(value, "--scale", "universe:revenue=0.000001")
        try:
            factor = float(text)
        except ValueError:
            factor = float("nan")
        if not factor > 0 or factor == float("inf"):
            raise InputFileError("--scale", f"'{text}' is not a positive number (the factor of {column}).")
        found.append((kind, column, factor))
    return found
