"""Step 1, Data: upload lists, check how columns were understood, fix the mapping, see data quality."""

from pathlib import Path

import pandas as pd
import streamlit as st

from icp.data.labels import label_merge_suggestions
from icp.data.mapping import mapping_json
from icp.data.roles import ACCOUNT_LISTS, ANALYSE, IGNORE, LIST_KINDS, ROLE_BY_NAME, roles_for
from icp.data.semantics import REASONS
from icp.errors import IcpError
from ui import uploads
from ui.state import current_workspace, reports
from ui.text import literal

KIND_HELP = {
    "customers": "accounts that bought, with outcome columns (ARR, churned, NPS…)",
    "deals": "won and lost opportunities",
    "orders": "invoices or transactions, rolled up per account",
    "targets": "named or dream accounts to score",
    "universe": "all companies in your market, for TAM and SAM",
    "competitors": "companies your competitors serve",
    "partners": "companies your partners serve",
}
FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "parquet"]
# What a list's rows are called where the list's own name does not read as a count ("5,000 universe").
_ROWS_OF = {"universe": "universe accounts", "targets": "target accounts"}
# How the role column shows a column without a role: analysed, or left out of every analysis.
_GENERIC, _LEFT_OUT = "(attribute)", "(not analysed)"

workspace = current_workspace()
st.title(":material/upload_file: Data")
st.caption("Each file is one list. Columns are matched to roles automatically; correct any below.")

with st.container(border=True):
    st.subheader("Upload a file")
    kind = st.selectbox("This file is the…", LIST_KINDS, format_func=lambda k: f"{k}: {KIND_HELP[k]}")
    # A new key after each load empties the uploader: the loaded file left under a "Replace" button
    # read as if it were still waiting to be loaded.
    upload = st.file_uploader("Spreadsheet", type=FILE_TYPES, key=f"upload_{st.session_state.get('uploads', 0)}")
    sheet = None
    ready = upload is not None
    if upload is not None and Path(upload.name).suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        try:
            sheets = uploads.sheets(upload)
            sheet = st.selectbox("Sheet", sheets) if len(sheets) > 1 else (sheets[0] if sheets else None)
        except IcpError as err:
            st.error(f"{literal(err)} Nothing in the workspace was changed.")
            ready = False
    has_kind = kind in reports(workspace)
    label = f"Replace the {kind} list" if has_kind else f"Load as {kind}"
    if st.button(label, type="primary", disabled=not ready):
        with st.status(f"Loading {literal(upload.name)}…", expanded=False) as status:
            try:
                status.update(label=f"Reading and normalizing {literal(upload.name)}…")
                with uploads.on_disk(upload) as saved:
                    report = workspace.add_list(kind, saved, display_name=upload.name, sheet=sheet)
            except IcpError as err:
                status.update(label="The file could not be loaded", state="error")
                st.session_state["upload_error"] = f"{literal(err)} Nothing in the workspace was changed."
            else:
                loaded = f"{report.rows_kept:,} {_ROWS_OF.get(kind, kind)}"
                status.update(label=f"Loaded {loaded}", state="complete")
                st.session_state.pop("upload_error", None)
                st.session_state["shown_list"] = kind
                # The radio keeps its own choice across reruns; the list just loaded is the one to show.
                st.session_state["shown_list_radio"] = kind
                st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1
                st.session_state["flash"] = f"{literal(upload.name)}: {loaded} loaded."
                st.rerun()  # so the sidebar and every count show the new list
    if st.session_state.get("upload_error"):
        st.error(st.session_state["upload_error"])
    if flash := st.session_state.pop("flash", None):
        st.success(flash)

lists = reports(workspace)
if not lists:
    st.info("No lists yet. Upload your customer list above to begin.")
    st.stop()

overview = pd.DataFrame([
    {
        "list": k, "file": r.file, "rows read": r.rows_read, "rows kept": r.rows_kept,
        "duplicates merged": r.duplicates_merged,
        "linked to customers": "" if r.linked_rows is None else f"{r.linked_rows:,} of {r.linked_rows + r.unlinked_rows:,}",
        "not linked because": r.unlinked_why,
    }
    for k, r in lists.items()
])
st.dataframe(overview, hide_index=True, width="stretch", column_config={
    **{c: st.column_config.NumberColumn(format="localized") for c in ("rows read", "rows kept", "duplicates merged")},
    "not linked because": st.column_config.TextColumn(width="large")})

names = list(lists)
default = names.index(st.session_state["shown_list"]) if st.session_state.get("shown_list") in names else 0
shown = st.radio("Show list", names, index=default, horizontal=True, key="shown_list_radio")
report = lists[shown]
for note in report.notes:
    st.info(literal(note), icon=":material/info:")

roles_tab, quality_tab, preview_tab = st.tabs(["Columns and roles", "Data quality", "Preview"])
with roles_tab:
    st.caption("Identifiers, phone numbers, postal codes, addresses, web and e-mail addresses, JSON, free text "
               "and constant columns are never tested, segmented or clustered; each says why. Set any of them "
               f"to {_GENERIC} to analyse it anyway, or any column to {_LEFT_OUT} to leave it out.")
    # Roles by their labels ("Sales cycle (days)"), not their internal names ("sales_cycle_days").
    role_names = {r.label: r.name for r in roles_for(shown)}
    choices = [_GENERIC, _LEFT_OUT, *role_names]
    mapping = pd.DataFrame({
        "column": [c.source for c in report.columns],
        "role": [ROLE_BY_NAME[c.role].label if c.role else (_LEFT_OUT if c.excluded else _GENERIC)
                 for c in report.columns],
        # A role the user chose is not a guess: a confidence of 1.00 read like a sure automatic match.
        "confidence": ["set by you" if c.chosen and c.role else "" if c.confidence is None else f"{c.confidence:.2f}"
                       for c in report.columns],
        "read as": [c.kind for c in report.columns],
        "why not analysed": [
            (REASONS[c.excluded] + (" (your choice)" if c.chosen and c.excluded != "user" else ""))
            if c.excluded else "" for c in report.columns],
    })
    edited = st.data_editor(
        mapping, hide_index=True, width="stretch", key=f"mapping_{shown}_{workspace.data_version}",
        disabled=["column", "confidence", "read as", "why not analysed"],
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=choices, required=True),
        },
    )

    def _choice(new: str, old: str) -> str | None:
        if new == _LEFT_OUT:
            return IGNORE
        if new == _GENERIC:  # from "not analysed" it is the user's word to analyse it; from a role, no role
            return ANALYSE if old == _LEFT_OUT else None
        return role_names.get(new, new)

    changes = {
        row.column: _choice(row.role, old.role)
        for row, old in zip(edited.itertuples(), mapping.itertuples(), strict=True) if row.role != old.role
    }
    apply_col, download_col = st.columns([1, 2])
    if apply_col.button("Apply mapping", disabled=not changes, key="apply_mapping"):
        try:
            with st.spinner("Normalizing again with the new roles…"):
                workspace.set_mapping(shown, changes)
            st.toast("Mapping saved")
            st.rerun()
        except IcpError as err:
            st.error(f"{literal(err)} The mapping was not changed.")
    download_col.download_button(
        "Download the mapping (mapping.json)", mapping_json(workspace), file_name="mapping.json",
        mime="application/json", key="download_mapping",
        help="Every list's column roles, for `icp build --mapping mapping.json`.")
with quality_tab:
    st.markdown(
        f"**{report.rows_read:,}** rows read from {literal(report.file)}"
        + (f" (sheet *{literal(report.sheet)}*)" if report.sheet else "")
        + f", **{report.rows_kept:,}** kept, **{report.duplicates_merged:,}** duplicates merged."
        + (f" Encoding {literal(report.encoding)}, delimiter {literal(repr(report.delimiter))}." if report.delimiter else "")
    )
    quality = pd.DataFrame([
        {
            "column": c.source, "role": ROLE_BY_NAME[c.role].label if c.role else "", "filled %": c.filled_pct,
            "distinct": c.distinct,
            "parse failures": c.parse_failures, "examples of failures": ", ".join(c.failure_examples),
            "implausible": c.implausible, "examples of implausible": "; ".join(c.implausible_examples),
            "normalized": c.normalized, "not analysed": REASONS[c.excluded] if c.excluded else "",
        }
        for c in report.columns
    ])
    st.dataframe(quality, hide_index=True, width="stretch",
                 column_config={"filled %": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%"),
                                "normalized": st.column_config.TextColumn(width="large")})
    suggestions = label_merge_suggestions(workspace, shown)
    if suggestions or report.label_merges:
        st.subheader("Labels that look like one")
    if suggestions:
        st.caption("Labels so alike they may be one misspelled. Tick a merge to fold the rarer spelling into "
                   "the more common one; it is kept with the list, through a new mapping or a new upload.")
        offered = pd.DataFrame([{"merge": True, "column": m.column, "label": m.label, "rows": m.label_rows,
                                 "into": m.into, "rows of it": m.into_rows} for m in suggestions])
        ticked = st.data_editor(offered, hide_index=True, width="stretch", disabled=list(offered.columns[1:]),
                                key=f"label_merges_{shown}_{workspace.data_version}")
        if st.button("Merge the ticked labels", disabled=not ticked["merge"].any(), key="merge_labels"):
            try:
                with st.spinner("Normalizing again with the merged labels…"):
                    for column, rows in ticked[ticked["merge"]].groupby("column", sort=False):
                        workspace.merge_labels(shown, column, dict(zip(rows["label"], rows["into"], strict=True)))
                st.rerun()
            except IcpError as err:
                st.error(f"{literal(err)} No label was merged.")
    if report.label_merges:
        st.caption("Merged by you: " + literal("; ".join(
            f"{column}: " + ", ".join(f"{a} → {b}" for a, b in merges.items())
            for column, merges in report.label_merges.items())) + ".")
        if st.button("Undo the label merges", key="forget_label_merges"):
            with st.spinner("Normalizing again…"):
                workspace.forget_label_merges(shown)
            st.rerun()
    if shown in ACCOUNT_LISTS:
        st.subheader("Duplicate accounts")
        if report.merges:
            st.dataframe(pd.DataFrame([
                {"same": m.by, "shared value": m.value, "rows merged": m.rows,
                 "row numbers": ", ".join(str(r) for r in m.row_numbers), "as written": " · ".join(m.names)}
                for m in report.merges]), hide_index=True, width="stretch")
            st.caption(f"The first {len(report.merges)} of the accounts that merged {report.duplicates_merged:,} "
                       "rows. Rows with different account ids are never merged.")
        elif report.merge_duplicates:
            st.caption("No two rows were taken for one account. Rows with different account ids are never "
                       "merged, nor rows named alike that differ in country, state, city or industry.")
        merge = st.toggle("Merge rows of one account (same id, else same domain, else same name)",
                          value=report.merge_duplicates, key=f"merge_{shown}_{workspace.data_version}")
        if merge != report.merge_duplicates:
            try:
                with st.spinner("Normalizing again…"):
                    workspace.set_merging(shown, merge)
                st.rerun()
            except IcpError as err:
                st.error(f"{literal(err)} Nothing was changed.")
    if report.ambiguous_rows:
        st.warning(f"{report.ambiguous_rows:,} {shown} rows name an account that several customers share "
                   "(the same name for accounts with different ids); they are not linked to either.")
with preview_tab:
    st.caption("The first 100 rows as uploaded.")
    st.dataframe(workspace.frame(f"raw_{shown}", limit=100).drop(columns="_row"), width="stretch")
    if st.button(f"Remove the {shown} list", key="remove_list"):
        workspace.remove_list(shown)
        st.toast(f"{shown} list removed")
        st.rerun()
st.page_link("views/success.py", label="Next: decide which customers count as the best", icon=":material/arrow_forward:")
