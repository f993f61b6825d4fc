"""Step 1, Data: upload lists, check how columns were understood, fix the mapping, see data quality."""

from pathlib import Path

import pandas as pd
import streamlit as st

from icp.data.labels import label_merge_suggestions
from icp.data.listing import (
    GENERIC,
    LEFT_OUT,
    duplicate_rows,
    label_merge_rows,
    list_rows,
    merged_labels,
    quality_rows,
    role_changes,
    role_choices,
    role_rows,
    rows_loaded,
)
from icp.data.mapping import mapping_json
from icp.data.reports import ListReport
from icp.data.roles import ACCOUNT_LISTS, LIST_KINDS
from icp.errors import IcpError
from ui import uploads
from ui.said import said, said_text
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
# Said after an error while loading: the workspace is as it was.
_UNCHANGED = "Nothing in the workspace was changed."

workspace = current_workspace()


def upload_a_file() -> None:
    """The kind of list, the file (and its sheet), and the button that loads it."""
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
                said(err, _UNCHANGED, show=st.error)
                ready = False
        has_kind = kind in reports(workspace)
        label = f"Replace the {kind} list" if has_kind else f"Load as {kind}"
        if st.button(label, type="primary", disabled=not ready):
            load(kind, upload, sheet)
        if st.session_state.get("upload_error"):
            st.error(st.session_state["upload_error"])
        if flash := st.session_state.pop("flash", None):
            st.success(flash)


def load(kind: str, upload, sheet: str | None) -> None:
    """Loads the file as list `kind` and reruns, or keeps the reason it could not for the next run."""
    with st.status(f"Loading {literal(upload.name)}…", expanded=False) as status:
        try:
            status.update(label=f"Reading and normalizing {literal(upload.name)}…")
            with uploads.on_disk(upload) as saved:
                report = workspace.add_list(kind, saved, display_name=upload.name, sheet=sheet)
        except IcpError as err:
            status.update(label="The file could not be loaded", state="error")
            st.session_state["upload_error"] = said_text(err, _UNCHANGED)
        else:
            loaded = rows_loaded(kind, report)
            status.update(label=f"Loaded {loaded}", state="complete")
            st.session_state.pop("upload_error", None)
            st.session_state["shown_list"] = kind
            # The radio keeps its own choice across reruns; the list just loaded is the one to show.
            st.session_state["shown_list_radio"] = kind
            st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1
            st.session_state["flash"] = f"{literal(upload.name)}: {loaded} loaded."
            st.rerun()  # so the sidebar and every count show the new list


def overview(lists: dict) -> str:
    """Every list in one table, then the radio that picks the list shown below; returns its kind."""
    st.dataframe(pd.DataFrame(list_rows(lists)), hide_index=True, width="stretch", column_config={
        **{c: st.column_config.NumberColumn(format="localized") for c in ("rows read", "rows kept", "duplicates merged")},
        "not linked because": st.column_config.TextColumn(width="large")})
    names = list(lists)
    default = names.index(st.session_state["shown_list"]) if st.session_state.get("shown_list") in names else 0
    return st.radio("Show list", names, index=default, horizontal=True, key="shown_list_radio")


def columns_and_roles(shown: str, report: ListReport) -> None:
    """The columns' roles, editable, with Apply and the mapping to download."""
    st.caption("Identifiers, phone numbers, postal codes, addresses, web and e-mail addresses, JSON, free text "
               "and constant columns are never tested, segmented or clustered; each says why. Set any of them "
               f"to {GENERIC} to analyse it anyway, or any column to {LEFT_OUT} to leave it out.")
    # Roles by their labels ("Sales cycle (days)"), not their internal names ("sales_cycle_days").
    mapping = pd.DataFrame(role_rows(report))
    edited = st.data_editor(
        mapping, hide_index=True, width="stretch", key=f"mapping_{shown}_{workspace.data_version}",
        disabled=["column", "confidence", "read as", "why not analysed"],
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=role_choices(shown), required=True),
        },
    )
    changes = role_changes(shown, mapping.to_dict("records"), edited.to_dict("records"))
    apply_col, download_col = st.columns([1, 2])
    if apply_col.button("Apply mapping", disabled=not changes, key="apply_mapping"):
        try:
            with st.spinner("Normalizing again with the new roles…"):
                workspace.set_mapping(shown, changes)
            st.toast("Mapping saved")
            st.rerun()
        except IcpError as err:
            said(err, "The mapping was not changed.", show=st.error)
    download_col.download_button(
        "Download the mapping (mapping.json)", mapping_json(workspace), file_name="mapping.json",
        mime="application/json", key="download_mapping",
        help="Every list's column roles, for `icp build --mapping mapping.json`.")


def data_quality(shown: str, report: ListReport) -> None:
    """How the file was read, each column's quality, labels to merge and the duplicate accounts."""
    st.markdown(
        f"**{report.rows_read:,}** rows read from {literal(report.file)}"
        + (f" (sheet *{literal(report.sheet)}*)" if report.sheet else "")
        + f", **{report.rows_kept:,}** kept, **{report.duplicates_merged:,}** duplicates merged."
        + (f" Encoding {literal(report.encoding)}, delimiter {literal(repr(report.delimiter))}." if report.delimiter else "")
    )
    st.dataframe(pd.DataFrame(quality_rows(report)), hide_index=True, width="stretch",
                 column_config={"filled %": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%"),
                                "normalized": st.column_config.TextColumn(width="large")})
    labels_that_look_like_one(shown, report)
    if shown in ACCOUNT_LISTS:
        duplicate_accounts(shown, report)
    if report.ambiguous_rows:
        st.warning(f"{report.ambiguous_rows:,} {shown} rows name an account that several customers share "
                   "(the same name for accounts with different ids); they are not linked to either.")


def labels_that_look_like_one(shown: str, report: ListReport) -> None:
    """Suggested label merges to tick, and the merges made, with Undo."""
    suggestions = label_merge_suggestions(workspace, shown)
    if suggestions or report.label_merges:
        st.subheader("Labels that look like one")
    if suggestions:
        st.caption("Labels so alike they may be one misspelled. Tick a merge to fold the rarer spelling into "
                   "the more common one; it is kept with the list, through a new mapping or a new upload.")
        offered = pd.DataFrame(label_merge_rows(suggestions))
        ticked = st.data_editor(offered, hide_index=True, width="stretch", disabled=list(offered.columns[1:]),
                                key=f"label_merges_{shown}_{workspace.data_version}")
        if st.button("Merge the ticked labels", disabled=not ticked["merge"].any(), key="merge_labels"):
            try:
                with st.spinner("Normalizing again with the merged labels…"):
                    for column, rows in ticked[ticked["merge"]].groupby("column", sort=False):
                        workspace.merge_labels(shown, column, dict(zip(rows["label"], rows["into"], strict=True)))
                st.rerun()
            except IcpError as err:
                said(err, "No label was merged.", show=st.error)
    if report.label_merges:
        st.caption("Merged by you: " + literal(merged_labels(report)) + ".")
        if st.button("Undo the label merges", key="forget_label_merges"):
            with st.spinner("Normalizing again…"):
                workspace.forget_label_merges(shown)
            st.rerun()


def duplicate_accounts(shown: str, report: ListReport) -> None:
    """The accounts that merged several rows, and the toggle that merges them or not."""
    st.subheader("Duplicate accounts")
    if report.merges:
        st.dataframe(pd.DataFrame(duplicate_rows(report)), hide_index=True, width="stretch")
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
            said(err, "Nothing was changed.", show=st.error)


def preview(shown: str) -> None:
    """The first rows as uploaded, and the button that removes the list."""
    st.caption("The first 100 rows as uploaded.")
    st.dataframe(workspace.frame(f"raw_{shown}", limit=100).drop(columns="_row"), width="stretch")
    if st.button(f"Remove the {shown} list", key="remove_list"):
        workspace.remove_list(shown)
        st.toast(f"{shown} list removed")
        st.rerun()


st.title(":material/upload_file: Data")
st.caption("Each file is one list. Columns are matched to roles automatically; correct any below.")
upload_a_file()

lists = reports(workspace)
if not lists:
    st.info("No lists yet. Upload your customer list above to begin.")
    st.stop()
shown = overview(lists)
report = lists[shown]
for note in report.notes:
    st.info(literal(note), icon=":material/info:")

roles_tab, quality_tab, preview_tab = st.tabs(["Columns and roles", "Data quality", "Preview"])
with roles_tab:
    columns_and_roles(shown, report)
with quality_tab:
    data_quality(shown, report)
with preview_tab:
    preview(shown)
st.page_link("views/success.py", label="Next: decide which customers count as the best", icon=":material/arrow_forward:")
