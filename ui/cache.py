"""Cached engine calls. Keyed by workspace id, data version and the settings' JSON, scoped to the
session: a change anywhere gives a new key, and one user's results never reach another."""

import pandas as pd
import streamlit as st

from icp import analysis
from icp.analysis import success
from icp.analysis.clusters import ClusterResult
from icp.analysis.patterns import PatternReport
from icp.analysis.segments import RankWeights
from icp.data.workspace import Workspace
from icp.export import tables as exports
from icp.market import sizing as market
from icp.market import targets, validation
from icp.profile import carry
from icp.profile.model import ICP, TierRules


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def scored_customers(workspace_id: str, data_version: int, settings_json: str) -> pd.DataFrame:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return success.score_customers(Workspace(workspace_id), settings)


@st.cache_data(scope="session", show_spinner=False, max_entries=16)
def success_in_use(workspace_id: str, data_version: int, saved_json: str | None) -> success.SuccessSettings:
    del data_version
    saved = None if saved_json is None else success.SuccessSettings.model_validate_json(saved_json)
    return success.settings_in_use(Workspace(workspace_id), saved)


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def success_summary(workspace_id: str, data_version: int, settings_json: str) -> success.SuccessSummary:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return success.score_summary(Workspace(workspace_id), settings)


@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def sides(workspace_id: str, data_version: int) -> list[str]:
    del data_version
    return analysis.available_sides(Workspace(workspace_id))


@st.cache_data(scope="session", show_spinner="Testing every attribute…", max_entries=32)
def pattern_report(workspace_id: str, data_version: int, settings_json: str, side: str) -> PatternReport:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return analysis.find_patterns(Workspace(workspace_id), settings, side)


@st.cache_data(scope="session", show_spinner="Ranking the segments…", max_entries=32)
def rule_segments(workspace_id: str, data_version: int, settings_json: str, dimensions: tuple[str, ...],
                  weights_json: str, min_accounts: int) -> pd.DataFrame:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    weights = RankWeights.model_validate_json(weights_json)
    return analysis.rule_segments(Workspace(workspace_id), settings, list(dimensions), weights, min_accounts)


@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def clusters(workspace_id: str, data_version: int, settings_json: str, features: tuple[str, ...],
             n_clusters: int | None) -> ClusterResult:
    del data_version
    settings = success.SuccessSettings.model_validate_json(settings_json)
    return analysis.cluster_customers(Workspace(workspace_id), settings, list(features), n_clusters)


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def tier_counts(workspace_id: str, data_version: int, icp_json: str) -> pd.DataFrame:
    del data_version
    return targets.tier_counts(Workspace(workspace_id), ICP.model_validate_json(icp_json))


@st.cache_data(scope="session", show_spinner="Scoring and tiering the target accounts…", max_entries=32)
def tier_summary(workspace_id: str, data_version: int, icp_json: str) -> tuple[pd.DataFrame, str | None]:
    """The tier counts and what caps the tiers (`tier_limit`), from one count."""
    del data_version
    return targets.tier_summary(Workspace(workspace_id), ICP.model_validate_json(icp_json))


@st.cache_data(scope="session", show_spinner="Sizing the market…", max_entries=32)
def market_size(workspace_id: str, data_version: int, icp_json: str) -> market.MarketSize:
    del data_version
    return market.market_size(Workspace(workspace_id), ICP.model_validate_json(icp_json))


def untiered(icp_json: str) -> str:
    """The ICP without its tier rules (the default ones in their place), as JSON: the key of what a
    tier slider cannot change (the backtest's counts, where each criterion is read from)."""
    icp = ICP.model_validate_json(icp_json)
    return icp.model_copy(update={"tiers": TierRules()}).model_dump_json()


@st.cache_data(scope="session", show_spinner="Backtesting the ICP on customers and deals…", max_entries=16)
def backtest_counts(workspace_id: str, data_version: int, untiered_json: str) -> targets.BacktestCounts:
    """The customers and closed deals by fit score: scored once per ICP criteria and data version,
    whatever the tier rules (`untiered`)."""
    del data_version
    return targets.backtest_counts(Workspace(workspace_id), ICP.model_validate_json(untiered_json))


@st.cache_data(scope="session", show_spinner=False, max_entries=16)
def _capacity_rules(workspace_id: str, data_version: int, icp_json: str) -> TierRules:
    del data_version
    return targets.backtest_rules(Workspace(workspace_id), ICP.model_validate_json(icp_json))


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def backtest(workspace_id: str, data_version: int, icp_json: str) -> targets.Backtest:
    """The backtest of the ICP: its counts (scored once per criteria and data version) tiered by
    the ICP's rules, so a tier slider re-tiers them in memory instead of scoring again. The figures
    are the ones `targets.backtest` computes from scratch."""
    icp = ICP.model_validate_json(icp_json)
    counts = backtest_counts(workspace_id, data_version, untiered(icp_json))
    rules = icp.tiers if icp.tiers.mode == "thresholds" else _capacity_rules(workspace_id, data_version, icp_json)
    return targets.backtest_of(counts, rules)


@st.cache_data(scope="session", show_spinner=False, max_entries=32)
def targets_page(workspace_id: str, data_version: int, icp_json: str, tiers: tuple[str, ...] | None,
                 search: str | None, sort: str, descending: bool, offset: int, limit: int) -> tuple[pd.DataFrame, int]:
    """One page of the Targets table: a rerun that changes none of these (a slider elsewhere, the
    backtest's button) shows it again without scoring."""
    del data_version
    return targets.targets_page(Workspace(workspace_id), ICP.model_validate_json(icp_json),
                                tiers=list(tiers) if tiers is not None else None, search=search, sort=sort,
                                descending=descending, offset=offset, limit=limit)


@st.cache_data(scope="session", show_spinner="Counting the target accounts…", max_entries=8)
def target_description(workspace_id: str, data_version: int) -> str:
    """Which accounts are the targets, in words: counted once per data version, not per slider move."""
    del data_version
    return targets.target_source(Workspace(workspace_id))[1]


@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def target_kind(workspace_id: str, data_version: int) -> str:
    """The list whose accounts are the targets (targets, universe, customers or orders)."""
    del data_version
    return targets.target_list(Workspace(workspace_id))


def carry_report(workspace_id: str, data_version: int, icp_json: str) -> list[carry.Resolution]:
    """Where each list the ICP is applied to holds each criterion, with coverage and units: the
    tier rules play no part, so a tier slider finds it computed."""
    return _carry_report(workspace_id, data_version, untiered(icp_json))


@st.cache_data(scope="session", show_spinner="Finding the ICP's criteria in each list…", max_entries=16)
def _carry_report(workspace_id: str, data_version: int, icp_json: str) -> list[carry.Resolution]:
    del data_version
    return carry.carry_report(Workspace(workspace_id), ICP.model_validate_json(icp_json))


def validated(workspace: Workspace, settings: success.SuccessSettings, *, compute: bool) -> validation.Validation | None:
    """The draft checked out of sample for these success settings: kept in the workspace once made
    (it takes seconds), made here only when `compute`."""
    found = validation.saved_validation(workspace, settings)
    if found is None and compute:
        with st.spinner("Drafting on part of the customers, testing on the rest…"):
            found = validation.validate(workspace, settings)
        validation.save_validation(workspace, settings, found)
    return found


@st.cache_data(scope="session", show_spinner="Building the one-pager…", max_entries=8)
def first_page_preview(workspace_id: str, data_version: int, icp_json: str, page_size: str) -> bytes:
    """The one-pager's first page as a PNG: built once per ICP, data and page size, not on every rerun
    while the preview is shown."""
    del data_version
    from icp.export import pdf  # fpdf and its fonts take half a second to import: only for the preview

    return pdf.first_page_png(pdf.one_pager(Workspace(workspace_id), ICP.model_validate_json(icp_json),
                                            page_size=page_size))


@st.cache_data(scope="session", show_spinner="Checking what the CRM will match the accounts on…", max_entries=8)
def crm_notes(workspace_id: str, data_version: int, kind: str) -> list[str]:
    del data_version
    return exports.crm_notes(Workspace(workspace_id), kind)


# -- what the pages list on every run: read once per data version ----------------------------------

@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def closed_deals(workspace_id: str, data_version: int) -> tuple[int, int]:
    """(won, lost) over every deal in the deals list."""
    del data_version
    return market.closed_deals(Workspace(workspace_id))


@st.cache_data(scope="session", show_spinner="Sizing the market by segment…", max_entries=16)
def market_by_segment(workspace_id: str, data_version: int, icp_json: str, dimensions: tuple[str, ...]) -> pd.DataFrame:
    del data_version
    return market.market_by_segment(Workspace(workspace_id), ICP.model_validate_json(icp_json), list(dimensions))


@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def segment_options(workspace_id: str, data_version: int) -> list:
    """The attributes rule segments can be cut by."""
    del data_version
    return analysis.segment_options(Workspace(workspace_id))


@st.cache_data(scope="session", show_spinner=False, max_entries=8)
def pattern_attributes(workspace_id: str, data_version: int) -> list:
    """The customers' attributes the patterns test and the clusters are made on."""
    del data_version
    return analysis.pattern_attributes(Workspace(workspace_id))


def carry_candidates(workspace_id: str, data_version: int, icp_json: str, wanted: list[tuple[str, str]]) -> list[str]:
    """Every column of the lists that one of the (list, attribute) criteria `wanted` could read,
    sorted: what the editor of "ICP criteria in each list" offers."""
    return _carry_candidates(workspace_id, data_version, untiered(icp_json), tuple(wanted))


@st.cache_data(scope="session", show_spinner=False, max_entries=16)
def _carry_candidates(workspace_id: str, data_version: int, icp_json: str, wanted: tuple[tuple[str, str], ...]
                      ) -> list[str]:
    del data_version
    workspace, icp = Workspace(workspace_id), ICP.model_validate_json(icp_json)
    return sorted({column for kind, attribute in wanted for column in carry.candidates(workspace, icp, kind, attribute)})
