"""The analysis steps on a workspace: what the Patterns and Segments pages (and the CLI) call.

Each function opens the workspace, builds the scored-customer SQL from the success settings and
hands it to the engine module that does the work (patterns, segments, clusters).
"""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa

from icp.analysis import patterns, segments
from icp.analysis.attributes import Attribute, customer_attributes
from icp.analysis.success import SuccessSettings, scored_customers
from icp.data.catalog import registered
from icp.data.links import CUSTOMER_VIEW
from icp.data.workspace import Workspace
from icp.errors import AnalysisError
from icp.normalize import quote_ident
from icp.relation import Relation, as_relation

SIDES: dict[str, tuple[str, str, str]] = {
    # side: (label in the UI, SQL label over the scored customers, group name in sentences)
    "best": ("Best customers against the rest", "is_best", "best customers"),
    "churned": ("Churned customers against the rest", "churned", "churned customers"),
    "low_value": ("Lowest-value quarter against the rest", "is_low_value", "lowest-value customers"),
    "lost": ("Accounts with only lost deals against the rest", "deals_won = 0 AND deals_lost > 0",
             "accounts with only lost deals"),
}
_DERIVED_BANDS = {"size_band": "employees", "revenue_band": "revenue"}
# The relation holding the account keys a comparison is restricted to: registered on the connection
# for the one comparison, so the keys are data DuckDB reads, never text in the query.
ACCOUNTS_RELATION = "_icp_accounts"

if TYPE_CHECKING:
    from icp.analysis import clusters


def analysis_source(settings: SuccessSettings) -> Relation:
    """Scored customers plus the lowest-value flag."""
    return Relation.of_query(
        f"WITH scored AS {scored_customers(settings)} "
        "SELECT *, CASE WHEN value_score IS NOT NULL THEN value_score <= "
        "(SELECT quantile_cont(value_score, 0.25) FROM scored) END AS is_low_value FROM scored"
    )


def pattern_attributes(workspace: Workspace) -> list[Attribute]:
    """Attributes to test; a derived band is left out when its number is tested (same bands twice)."""
    found = customer_attributes(workspace)
    numbers = {a.role for a in found if a.kind == "number" and a.role}
    return [a for a in found if a.name not in _DERIVED_BANDS or _DERIVED_BANDS[a.name] not in numbers]


def available_sides(workspace: Workspace) -> list[str]:
    """The comparisons this data supports: churn needs a churned column, lost deals need deals."""
    with workspace.connect() as con:
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name <> 'temp'",
            [CUSTOMER_VIEW]).fetchall()}
    sides = ["best", "low_value"]
    if "churned" in columns:
        sides.insert(1, "churned")
    if {"deals_won", "deals_lost"} <= columns:
        sides.append("lost")
    return sides


def restricted_source(source: Relation, keys: str = ACCOUNTS_RELATION) -> Relation:
    """The rows of `source` whose account_key is one of the keys in the table named `keys` (a
    registered table or a temp table with an account_key VARCHAR column)."""
    return Relation.of_query(f"SELECT * FROM {as_relation(source)} AS _all WHERE CAST(account_key AS VARCHAR) IN "
                             f"(SELECT account_key FROM {quote_ident(keys)})")


@contextmanager
def registered_keys(con: duckdb.DuckDBPyConnection, keys: Collection[str],
                    relation: str = ACCOUNTS_RELATION) -> Iterator[str]:
    """The account keys as a relation of this connection (account_key VARCHAR), for as long as the block runs."""
    table = pa.table({"account_key": pa.array(sorted({str(k) for k in keys}), pa.string())})
    # DuckDB refuses to register while a result read with fetchone() is still open on the
    # connection; a finished query closes it.
    con.execute("SELECT 1").fetchall()
    with registered(con, relation, table):
        yield relation


def compare_side(con: duckdb.DuckDBPyConnection, source: Relation, side: str, attributes: list[Attribute],
                 accounts: Collection[str] | None = None) -> patterns.PatternReport:
    """The pattern report of one side over the rows of `source` (scored customers, as
    `analysis_source` gives them), restricted to the customers whose account_key is in `accounts`
    when given. The labels (best, churned, lowest-value) are those of the source, so a subset is
    compared with the labels the whole data gave it."""
    if side not in SIDES:
        raise AnalysisError(f"'{side}' is not a comparison; use one of {', '.join(SIDES)}.")
    _, label_sql, group_name = SIDES[side]
    if accounts is None:
        return patterns.compare(con, source, label_sql, attributes, group_name=group_name)
    with registered_keys(con, accounts) as keys:
        return patterns.compare(con, restricted_source(source, keys), label_sql, attributes,
                                group_name=group_name)


def find_patterns(workspace: Workspace, settings: SuccessSettings, side: str = "best", *,
                  accounts: Collection[str] | None = None) -> patterns.PatternReport:
    """Every attribute value of the customers tested for one side against the rest.

    `accounts`: only the customers with these account keys take part (a cross-validation fold's
    training customers); their labels are still those of all customers (the best share is of the
    whole list). None: every customer.
    """
    if side not in SIDES:
        raise AnalysisError(f"'{side}' is not a comparison; use one of {', '.join(SIDES)}.")
    with workspace.connect() as con:
        return compare_side(con, analysis_source(settings), side, pattern_attributes(workspace), accounts)


def findings_frame(report: patterns.PatternReport) -> pd.DataFrame:
    return pd.DataFrame([f.model_dump() for f in report.findings])


def segment_options(workspace: Workspace) -> list[Attribute]:
    return segments.segment_dimensions(customer_attributes(workspace))


def rule_segments(workspace: Workspace, settings: SuccessSettings, dimensions: list[str],
                  weights: segments.RankWeights, min_accounts: int = 1) -> pd.DataFrame:
    with workspace.connect() as con:
        return segments.rule_segments(con, analysis_source(settings), dimensions,
                                      value_column=settings.value_column, weights=weights,
                                      min_accounts=min_accounts)


def cluster_features(workspace: Workspace) -> list[Attribute]:
    return pattern_attributes(workspace)


def cluster_customers(workspace: Workspace, settings: SuccessSettings, features: list[str],
                      n_clusters: int | None = None) -> "clusters.ClusterResult":
    # Imported here: scikit-learn and SciPy take a second or two to import, which every CLI run
    # and every new app process would pay for a feature only the Segments page uses.
    from icp.analysis import clusters

    chosen = [a for a in cluster_features(workspace) if a.name in set(features)]
    with workspace.connect() as con:
        return clusters.cluster_accounts(con, analysis_source(settings), chosen,
                                         value_column=settings.value_column, n_clusters=n_clusters)
