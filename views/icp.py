"""Step 5, ICP: the profile drafted from the evidence, edited by the team, saved as versions."""

from hashlib import sha256

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from icp.errors import IcpError
from icp.market.sizing import no_icp_yet
from icp.market.versions import criteria_diff, list_versions, load_version, save_version, tier_changes
from icp.profile.draft import (
    draft_icp,
    evidence_for,
    redrafted,
    why_empty,
    with_criteria,
    with_success,
    written_by_hand,
)
from icp.profile.model import ColumnLink, Criterion, Persona, Template, criteria_from_rows, criteria_rows
from ui.cache import carry_candidates, carry_report, market_size, pattern_attributes, tier_counts
from ui.fragment import fragment
from ui.said import said
from ui.settings import ICP_KEY, success_settings, working_icp
from ui.stale import warn_if_success_changed
from ui.state import current_workspace, require_customers
from ui.text import literal

ROLES = ["must", "nice", "disqualify"]

workspace = current_workspace()
st.title(":material/target: Ideal Customer Profile")
require_customers(workspace)

icp = working_icp(workspace)
version = workspace.data_version
st.caption(
    "Drafted from the evidence on the Patterns page, then yours to edit. **must** criteria are hard filters "
    "(they define SAM), **nice** ones add their weight to the fit score, **disqualify** sets it to 0."
)


def save(updated) -> None:
    workspace.save_settings(ICP_KEY, updated)
    st.toast("ICP saved")
    st.rerun()


# A fresh draft waits here for the user's word: it replaces criteria someone may have worked on.
PENDING = f"fresh_draft_{workspace.id}"


def propose_draft() -> None:
    settings = success_settings(workspace)
    fresh = redrafted(icp, draft_icp(workspace, settings, name=icp.name))
    reason = why_empty(workspace, settings).sentence() if no_icp_yet(fresh) is not None else None
    st.session_state[PENDING] = (fresh, reason)
    st.rerun()


def remeasured(old: Criterion, new: Criterion) -> Criterion:
    """`new` with evidence for its own test when that differs from `old`'s (values, range, side)."""
    def test(c: Criterion) -> tuple:
        return c.values, c.low, c.high, c.flag, c.role == "disqualify"

    if test(old) == test(new):
        return new
    by_hand = "added" if old.evidence is None or old.evidence.by_hand == "added" else "edited"
    return new.model_copy(update={"evidence": evidence_for(workspace, icp, new, by_hand)})


current_success = success_settings(workspace)
if warn_if_success_changed(workspace, icp, on_icp_page=True):
    redraft_col, keep_col = st.columns(2)
    if redraft_col.button("Redraft", icon=":material/auto_awesome:", key="redraft_success"):
        propose_draft()
    if keep_col.button("Keep", icon=":material/check:", key="keep_success"):
        save(with_success(workspace, icp, current_success))

if (pending := st.session_state.get(PENDING)) is not None:
    fresh, reason = pending
    with st.container(border=True):
        if reason is not None:
            st.warning("The fresh draft has no must or nice criterion, so your criteria stay as they are unless "
                       "you replace them. " + literal(reason), icon=":material/warning:")
            replace_label = "Replace with no criteria"
        else:
            changes = criteria_diff(icp, fresh)
            st.markdown(f"**A fresh draft from the evidence**: {len(fresh.criteria)} criteria, {len(changes)} "
                        f"change{'' if len(changes) == 1 else 's'} from yours. Replacing them saves your "
                        "current criteria as a version first.")
            if changes:
                st.dataframe(pd.DataFrame([c.model_dump() for c in changes]), hide_index=True, width="stretch")
            replace_label = "Replace the criteria"
        replace_col, keep_col = st.columns(2)
        if replace_col.button(replace_label, type="primary", key="replace_criteria"):
            save_version(workspace, icp, "Before drafting again")
            del st.session_state[PENDING]
            save(fresh)
        if keep_col.button("Keep my criteria", key="keep_criteria"):
            del st.session_state[PENDING]
            st.rerun()

empty = no_icp_yet(icp)
if empty is not None:
    st.warning(literal(empty), icon=":material/warning:")
else:
    counts = tier_counts(workspace.id, version, icp.model_dump_json())
    figures = st.columns(1 + len(counts))
    try:
        size = market_size(workspace.id, version, icp.model_dump_json())
        figures[0].metric("SAM (accounts)", f"{size.sam.accounts:,}",
                          help="universe accounts that pass every must and no disqualifier")
    except IcpError:
        figures[0].metric("SAM (accounts)", "–", help="upload a universe list (or type counts on the Market page)")
    for column, row in zip(figures[1:], counts.itertuples(), strict=True):
        column.metric(row.tier, f"{row.accounts:,}")

st.subheader("Criteria")
frame = pd.DataFrame(criteria_rows(icp))
edited = st.data_editor(
    frame, hide_index=True, width="stretch", num_rows="dynamic", key=f"criteria_{sha256(icp.model_dump_json().encode()).hexdigest()[:12]}",
    disabled=["criterion", "evidence", "stable"],
    column_config={
        "role": st.column_config.SelectboxColumn("role", options=ROLES, required=True),
        "values": st.column_config.TextColumn("values (comma-separated)"),
        "weight": st.column_config.NumberColumn("weight", min_value=0.0, max_value=10.0, step=0.5),
        "evidence": st.column_config.TextColumn("evidence", width="large"),
    },
) if len(frame) else frame
if len(frame) and len(edited) and edited.index.max() >= len(icp.criteria):
    # A table row has no attribute or kind to test; the form below asks for both.
    st.info("A new criterion is added with **Add a criterion** below, where its attribute and kind are chosen; "
            "the row added to the table was left out.", icon=":material/info:")
    edited = edited[edited.index < len(icp.criteria)]
if len(frame) and not edited.equals(frame):
    try:
        updated = criteria_from_rows(icp, edited.reset_index().to_dict("records"))
    except ValueError as err:
        st.error("That edit was not saved: " + literal(err))
    else:
        if st.button("Save criteria", type="primary", icon=":material/save:"):
            # Measured only on saving: a criterion whose test changed no longer matches the finding
            # its evidence came from.
            before = [icp.criteria[int(index)] for index in edited.index]
            save(with_criteria(icp, [remeasured(old, new) for old, new in zip(before, updated.criteria, strict=True)]))

@fragment
def add_a_criterion():
    """Picking an attribute and its values reruns only this form; Add saves and reruns the page."""
    with st.expander("Add a criterion"):
        attributes = {a.name: a for a in pattern_attributes(workspace.id, workspace.data_version)}
        name = st.selectbox("Attribute", list(attributes), format_func=lambda n: attributes[n].label, key="add_attr")
        attribute = attributes[name]
        role = st.radio("Role", ROLES, index=ROLES.index("nice"), horizontal=True, key="add_role")
        weight = st.slider("Weight", 0.0, 10.0, 1.0, 0.5, key="add_weight")
        fields = {"attribute": name, "label": attribute.label, "role": role, "weight": weight}
        if attribute.kind == "number":
            low, high = st.columns(2)
            fields |= {"kind": "range", "low": low.number_input("From", value=None, key="add_low"),
                       "high": high.number_input("To (under)", value=None, key="add_high")}
        elif attribute.kind == "flag":
            fields |= {"kind": "flag", "flag": st.toggle("Must be yes", value=True, key="add_flag")}
        else:
            text = st.text_input("Values (comma-separated)", key="add_values")
            fields |= {"kind": "contains" if attribute.kind == "list" else "in_set",
                       "values": tuple(v.strip() for v in text.split(",") if v.strip())}
        if st.button("Add", key="add_criterion"):
            try:
                criterion = Criterion(**fields)
                # Validated as a whole ICP: a criterion testing a column another criterion reads
                # in another way, or one the ICP has already, is refused here.
                icp.with_criterion(criterion)
            except ValueError as err:
                st.error(literal(err.errors()[0]["msg"] if isinstance(err, ValidationError) else err))
            else:
                measured = criterion.model_copy(update={"evidence": evidence_for(workspace, icp, criterion, "added")})
                save(with_criteria(icp, [*icp.criteria, measured]))


add_a_criterion()

if st.button("Draft again from the evidence", icon=":material/auto_awesome:",
             help="drafts the criteria again from the current data and success settings; "
                  "you see the draft before it replaces yours"):
    propose_draft()


@fragment
def criteria_in_each_list():
    """Where the universe and the targets list hold each criterion; editing reruns only this."""
    resolutions = carry_report(workspace.id, version, icp.model_dump_json())
    if not resolutions:
        return
    st.subheader("ICP criteria in each list")
    st.caption("The ICP is learned on your customers and applied to the other lists, whose headers and units "
               "may differ. Each criterion is read from the column shown; set another column, none, or a unit "
               "factor (list value x factor = the customers' unit, e.g. 0.000001 for dollars against millions).")
    for resolution in resolutions:
        if warning := resolution.sentence():
            st.warning(literal(warning), icon=":material/warning:")
    none = "(none)"
    options = carry_candidates(workspace.id, version, icp.model_dump_json(), [(r.list, r.attribute) for r in resolutions])
    table = pd.DataFrame([{
        "list": r.list, "criterion": r.label, "column": r.column or none,
        "found": (f"linked ({r.confidence:.2f})" if r.how == "linked" else
                  {"same": "same name", "chosen": "your choice", "unresolved": "no column"}[r.how]),
        "coverage": r.coverage, "factor": r.factor,
    } for r in resolutions])
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"carry_{sha256(icp.model_dump_json().encode()).hexdigest()[:12]}",
        disabled=["list", "criterion", "found", "coverage"],
        column_config={
            "column": st.column_config.SelectboxColumn("column", options=[none, *options], required=True),
            "coverage": st.column_config.ProgressColumn("known for", min_value=0.0, max_value=1.0, format="percent"),
            "factor": st.column_config.NumberColumn("unit factor", min_value=1e-12, format="%g"),
        })
    changed = [(r, row) for r, row in zip(resolutions, edited.itertuples(), strict=True)
               if (row.column, row.factor) != (r.column or none, r.factor)]
    if changed and st.button("Save the columns", icon=":material/save:", key="save_carry"):
        mine = {(link.list, link.attribute): link for link in icp.carry}
        for r, row in changed:
            mine[(r.list, r.attribute)] = ColumnLink(list=r.list, attribute=r.attribute,
                                                     column=None if row.column == none else row.column,
                                                     factor=float(row.factor or 1.0))
        save(icp.model_copy(update={"carry": tuple(mine.values())}))


criteria_in_each_list()

@fragment
def profile_text():
    """Typing reruns only this section; Save writes the ICP and reruns the page."""
    st.subheader("Profile text")
    t = icp.template
    segment_by_hand, negative_by_hand = written_by_hand(icp)
    if segment_by_hand or negative_by_hand:
        which = " and ".join(name for name, mine in (("segment", segment_by_hand), ("negative", negative_by_hand))
                             if mine)
        st.caption(f"The {which} description{'s are' if segment_by_hand and negative_by_hand else ' is'} "
                   "written by hand: kept as it is when the criteria change.")
    else:
        st.caption("The segment and negative descriptions are written from the criteria and follow them when "
                   "they change, until you write your own.")
    left, right = st.columns(2)
    with left:
        segment = st.text_area("Segment description: who they are, why they fit, when they need you", t.segment_description)
        negative = st.text_area("Negative description: who is not a fit", t.negative_description)
        goals = st.text_area("Goals", t.goals)
        challenges = st.text_area("Challenges", t.challenges)
    with right:
        pains = st.text_area("Pain points", t.pain_points)
        holes = st.text_area("Watering holes: where they go for information", t.watering_holes)
        personas = st.data_editor(
            pd.DataFrame([p.model_dump() for p in t.personas] or [Persona().model_dump()]),
            num_rows="dynamic", hide_index=True, width="stretch", key="personas",
            column_config={"title": "buyer title", "department": "department", "seniority": "seniority"},
        )
    template = Template(
        segment_description=segment, negative_description=negative, goals=goals, challenges=challenges,
        pain_points=pains, watering_holes=holes,
        personas=tuple(Persona(**{k: str(v or "") for k, v in row.items()}) for row in personas.to_dict("records")
                       if any(str(v or "").strip() for v in row.values())),
    )
    if template != t and st.button("Save profile text", icon=":material/save:"):
        save(icp.model_copy(update={"template": template}))


profile_text()


@fragment
def versions():
    """Saving and comparing versions reruns only this section."""
    st.subheader("Versions")
    name_col, button_col = st.columns([3, 1])
    version_name = name_col.text_input("Name this version", placeholder="e.g. Q3 mid-market focus", key="version_name")
    if button_col.button("Save version", icon=":material/bookmark_add:", disabled=not version_name.strip()):
        saved = save_version(workspace, icp, version_name)
        # The PDF, icp.json and the spreadsheets read the working ICP, so it takes the number just saved.
        workspace.save_settings(ICP_KEY, icp.model_copy(update={"version": saved.version,
                                                                "created_at": saved.created_at}))
        st.toast(f"Saved as version {saved.version}")
        st.rerun()
    versions = list_versions(workspace)
    if versions:
        st.dataframe(pd.DataFrame([v.model_dump() for v in versions]), hide_index=True, width="stretch")
    if len(versions) >= 2:
        numbers = [v.version for v in versions]
        a_col, b_col = st.columns(2)
        a = a_col.selectbox("Compare version", numbers, index=len(numbers) - 2, key="compare_a")
        b = b_col.selectbox("with version", numbers, index=len(numbers) - 1, key="compare_b")
        before, after = load_version(workspace, a), load_version(workspace, b)
        changes = criteria_diff(before, after)
        st.markdown("**Criteria**: " + ("no change" if not changes else ""))
        if changes:
            st.dataframe(pd.DataFrame([c.model_dump() for c in changes]), hide_index=True, width="stretch")
        try:
            sam_a = market_size(workspace.id, version, before.model_dump_json()).sam.accounts
            sam_b = market_size(workspace.id, version, after.model_dump_json()).sam.accounts
            st.markdown(f"**SAM**: {sam_a:,} → {sam_b:,} accounts ({sam_b - sam_a:+,})")
        except IcpError as err:
            said(err, show=st.caption)
        moves = tier_changes(workspace, before, after)
        st.markdown(f"**Accounts that change tier**: {int(moves['accounts'].sum()):,}" if len(moves) else
                    "**Accounts that change tier**: none")
        if len(moves):
            st.dataframe(moves, hide_index=True, width="stretch")


versions()

st.page_link("views/market.py", label="Next: the market it implies", icon=":material/arrow_forward:")
