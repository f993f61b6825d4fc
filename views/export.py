"""Step 8, Export: the one-pager PDF, icp.json, target lists for CRMs and the scoring SQL.

Every file is built when its button is pressed, not on every rerun of the page.
"""

import streamlit as st

from icp.errors import IcpError
from icp.export import tables as exports
from icp.market.targets import target_list, targets_export
from icp.profile.model import TIERS, parse_icp
from icp.profile.scoring import DIALECTS, scoring_sql
from ui.cache import crm_notes, first_page_preview
from ui.said import said
from ui.settings import ICP_KEY, working_icp
from ui.state import current_workspace, require_customers
from ui.text import literal

workspace = current_workspace()
st.title(":material/download: Export")
require_customers(workspace)
icp = working_icp(workspace)
slug = "".join(ch if ch.isalnum() else "-" for ch in icp.name.lower()).strip("-") or "icp"


def one_pager_pdf(size: str) -> bytes:
    from icp.export.pdf import one_pager  # fpdf takes half a second to import: only when the PDF is asked for

    return one_pager(workspace, icp, page_size=size)


def targets(numbers_read: bool = False):
    return targets_export(workspace, icp, numbers_read=numbers_read)


def crm(kind: str, tiers: list[str]) -> bytes:
    mapping = exports.role_mapping(workspace, target_list(workspace))
    shape = exports.hubspot_frame if kind == "hubspot" else exports.salesforce_frame
    return exports.targets_csv(shape(targets(), mapping, tiers))


st.subheader("ICP one-pager")
page_size = st.radio("Page size", ["A4", "Letter"], horizontal=True, key="pdf_size")
st.download_button("Download the one-pager (PDF)", lambda: one_pager_pdf(page_size),
                   file_name=f"{slug}.pdf", mime="application/pdf", icon=":material/picture_as_pdf:",
                   type="primary", on_click="ignore")
if st.toggle("Show a preview of the first page", key="pdf_preview"):
    st.image(first_page_preview(workspace.id, workspace.data_version, icp.model_dump_json(), page_size),
             width="stretch")

st.subheader("Target accounts")
st.caption("The input columns unchanged, then icp_fit_score, icp_tier and icp_reasons, best fit first. "
           "Cells a spreadsheet would run as a formula are neutralized.")
cols = st.columns(2)
cols[0].download_button("targets.csv", lambda: exports.targets_csv(targets()), file_name="targets.csv",
                        mime="text/csv", icon=":material/table:", on_click="ignore")
cols[1].download_button("targets.xlsx", lambda: exports.targets_xlsx(targets(numbers_read=True), icp), file_name="targets.xlsx",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        icon=":material/grid_on:", on_click="ignore",
                        help="beside a text column a criterion reads as a number (\"974.8 MM\"), "
                             "the number the ICP read from it")

st.subheader("For your CRM")
crm_tiers = st.multiselect("Tiers to import", list(TIERS), default=list(TIERS[:3]), key="crm_tiers",
                           help="only the accounts of these tiers go into the HubSpot and Salesforce files")
for kind, label, file_name, help_text in (
        ("hubspot", "HubSpot import (CSV)", "hubspot-companies.csv",
         "company import columns; the tier goes to the Ideal Customer Profile Tier property"),
        ("salesforce", "Salesforce import (CSV)", "salesforce-accounts.csv",
         "Account fields; ICP_Tier__c, ICP_Fit_Score__c and ICP_Reasons__c must exist")):
    with st.container(border=True):
        st.download_button(label, lambda kind=kind: crm(kind, crm_tiers), file_name=file_name, mime="text/csv",
                           on_click="ignore", help=help_text, disabled=not crm_tiers, key=f"crm_{kind}")
        for note in crm_notes(workspace.id, workspace.data_version, kind):
            st.warning(literal(note), icon=":material/warning:")

st.subheader("The ICP as a file")
left, right = st.columns(2)
left.download_button("icp.json", icp.model_dump_json(indent=2), file_name="icp.json", mime="application/json",
                     icon=":material/data_object:", on_click="ignore",
                     help="the whole ICP and its settings; `icp build --settings icp.json` reproduces the tiers")
uploaded = right.file_uploader("Load an icp.json", type=["json"], key="icp_upload")
if uploaded is not None and right.button("Use this ICP", key="icp_use"):
    try:
        loaded = parse_icp(uploaded.getvalue(), uploaded.name)
    except IcpError as err:
        said(err, "The current ICP was kept.", show=right.error)
    else:
        workspace.save_settings(ICP_KEY, loaded)
        st.toast(f"Loaded {literal(loaded.name)}, version {loaded.version}")
        st.rerun()

st.subheader("Fit score as SQL")
dialect = st.selectbox("Dialect", DIALECTS, key="sql_dialect")
sql = scoring_sql(icp, dialect)
st.download_button(f"scoring.sql ({dialect})", sql, file_name=f"scoring.{dialect}.sql", mime="text/plain",
                   icon=":material/code:", on_click="ignore")
st.code(sql, language="sql", wrap_lines=True)  # long lines wrap: cut off on the right, a rule read wrong
