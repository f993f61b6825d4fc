"""Landing page: what the tool does, what to upload, and where to go next."""

import streamlit as st

from icp.roles import template_csv
from ui.state import current_workspace, reports

workspace = current_workspace()
st.title(":material/target: ICP Explorer")
st.markdown(
    "Find your **Ideal Customer Profile** in your own customer data: which customers succeed, "
    "what they share, how big that market is, and which accounts to sell to next. "
    "Everything runs on this machine; your files go nowhere else."
)
lists = reports(workspace)
if lists:
    st.success(f"This workspace holds {', '.join(f'{r.rows_kept:,} {k}' for k, r in lists.items())}.")
else:
    st.info("This workspace is empty. Start by uploading a customer list.")
st.page_link("views/data.py", label="Go to step 1: Data", icon=":material/arrow_forward:")
st.markdown(
    """
**What to upload** (CSV, TSV, Excel or Parquet; any column names, they are recognised and you can correct them):
- **customers**: the accounts that bought, with outcomes such as ARR, churned, NPS, support tickets;
- **deals** (optional): won and lost opportunities, to learn win rates and sales cycles;
- **orders** (optional): invoices or transactions, rolled up per account;
- **universe** (optional): every company in your market, to size TAM, SAM and SOM;
- **targets** (optional): named accounts you want scored.
"""
)
st.download_button("Download a template customers.csv", template_csv(), file_name="customers-template.csv",
                   mime="text/csv", icon=":material/download:",
                   help="the column names the app recognises, with an example row; your own names work too")
