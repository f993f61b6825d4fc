"""Landing page: what the tool does, what to upload, and where to go next."""

import streamlit as st

from icp.data.roles import template_csv
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
st.markdown("**The steps**, in order; each page ends with a link to the next:")
st.markdown(
    "1. **Data**: upload your lists and check how each column was read.  \n"
    "2. **Success**: weigh what makes a customer one of your best.  \n"
    "3. **Patterns**: what the best customers share, with the evidence.  \n"
    "4. **Segments**: rule segments and clusters, ranked.  \n"
    "5. **ICP**: the profile drafted from the evidence, yours to edit.  \n"
    "6. **Market**: TAM, SAM and SOM it implies.  \n"
    "7. **Targets**: every account scored and tiered.  \n"
    "8. **Export**: the one-page PDF, the ICP file, CRM lists and scoring SQL."
)
first, last = st.columns(2)
first.page_link("views/data.py", label="Start at step 1: Data", icon=":material/arrow_forward:")
if lists:
    # A first look needs no reading: the finished one-pager of whatever is loaded is one click away.
    last.page_link("views/export.py", label="Or jump to the one-pager (step 8)", icon=":material/picture_as_pdf:")
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
