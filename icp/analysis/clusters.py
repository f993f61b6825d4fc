"""Clusters of accounts: k-means on scaled numbers, one-hot categories and list items.

Fitting is on a seeded sample and every account is then labelled by `predict` in batches, so a
million accounts cluster in seconds and the same data and settings give the same clusters.
Clusters are numbered by size (0 = largest) so the numbering is stable too.
"""

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ConfigDict
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from icp.analysis.attributes import Attribute
from icp.errors import AnalysisError
from icp.frozen import Frozen
from icp.normalize import quote_ident as _q
from icp.numbers import RATES, figure, percent
from icp.relation import Relation, as_relation

UNKNOWN = "(unknown)"
TOP_CATEGORIES = 12
TOP_ITEMS = 15
SILHOUETTE_ROWS = 5_000
SCATTER_POINTS = 5_000
_BATCH = 200_000
_APART = 3
# A cluster's name is made of this many of the features that set it apart.
_NAME_PARTS = 2
# Values that say nothing alone ("yes"), so a name keeps the feature's title with them.
_BARE = {"yes", "no", UNKNOWN}


# --- column kinds -------------------------------------------------------------------------------

def _is_list_column(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.ArrowDtype):
        return pa.types.is_list(column.dtype.pyarrow_dtype) or pa.types.is_large_list(column.dtype.pyarrow_dtype)
    if column.dtype != object:
        return False
    filled = column.dropna()
    return not filled.empty and isinstance(filled.iloc[0], list | tuple | np.ndarray)


def column_kinds(X: pd.DataFrame) -> dict[str, str]:
    """"number" (numeric and boolean dtypes), "list" (cells holding sequences) or "category"."""
    kinds = {}
    for name in X.columns:
        column = X[name]
        if _is_list_column(column):
            kinds[name] = "list"
        elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            kinds[name] = "number"
        else:
            kinds[name] = "category"
    return kinds


def _as_text(X: pd.DataFrame) -> np.ndarray:
    """Categories as plain strings, a missing value being a category of its own."""
    return np.column_stack([_text(X[name]) for name in X.columns]) if len(X.columns) else np.zeros((len(X), 0))


def _text(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object, na_value=UNKNOWN)
    # Text columns are already strings; converting a million cells again would cost a second.
    return values if pd.api.types.is_string_dtype(column) else _to_str(values)


_to_str = np.frompyfunc(str, 1, 1)


def _as_float(X: pd.DataFrame) -> np.ndarray:
    return X.astype("float64").to_numpy()


def _items(cells: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(row position, item) of every item of a list column, as text; missing cells have none.

    Done in Arrow: a Python loop over a million cells would take seconds."""
    lists = pa.array(cells) if isinstance(cells.dtype, pd.ArrowDtype) else pa.array(
        cells.to_numpy(dtype=object), from_pandas=True)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    if not pa.types.is_string(lists.type.value_type):
        lists = lists.cast(pa.list_(pa.string()))
    rows = pc.list_parent_indices(lists).to_numpy()
    items = pc.list_flatten(lists)
    filled = pc.is_valid(items)
    return rows[filled.to_numpy(zero_copy_only=False)], items.filter(filled)


def _top_items(items: pa.Array, top: int) -> list[str]:
    """The `top` most frequent items, ties by item."""
    counts = pc.value_counts(items).to_pylist()
    ordered = sorted(counts, key=lambda c: (-c["counts"], c["values"]))
    return [c["values"] for c in ordered[:top]]


def _item_codes(items: pa.Array, chosen: list[str]) -> np.ndarray:
    """Position of each item in `chosen`, -1 when it is not there."""
    return pc.index_in(items, value_set=pa.array(chosen, pa.string())).fill_null(-1).to_numpy()


class ListItems(TransformerMixin, BaseEstimator):
    """0/1 indicators of the `top` most frequent items of each list column (ties by item)."""

    def __init__(self, top: int = TOP_ITEMS):
        self.top = top

    def fit(self, X: pd.DataFrame, y=None) -> "ListItems":
        self.items_ = {name: _top_items(_items(X[name])[1], self.top) for name in X.columns}
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "items_")
        blocks = []
        for name, chosen in self.items_.items():
            block = np.zeros((len(X), len(chosen)))
            rows, items = _items(X[name])
            codes = _item_codes(items, chosen)
            block[rows[codes >= 0], codes[codes >= 0]] = 1.0
            blocks.append(block)
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"{name}={item}" for name, items in self.items_.items() for item in items], dtype=object)


def _features(kinds: dict[str, str]) -> ColumnTransformer:
    by_kind = {kind: [name for name, k in kinds.items() if k == kind] for kind in ("number", "category", "list")}
    numbers = make_pipeline(
        FunctionTransformer(_as_float, feature_names_out="one-to-one"),
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
    )
    categories = make_pipeline(
        FunctionTransformer(_as_text, feature_names_out="one-to-one"),
        OneHotEncoder(max_categories=TOP_CATEGORIES + 1, handle_unknown="infrequent_if_exist", sparse_output=False),
    )
    parts = [("num", numbers, by_kind["number"]), ("cat", categories, by_kind["category"]),
             ("list", ListItems(), by_kind["list"])]
    return ColumnTransformer([p for p in parts if p[2]], sparse_threshold=0)


# --- estimator ----------------------------------------------------------------------------------

def _sample(n: int, size: int, rng: np.random.RandomState) -> np.ndarray:
    """Sorted positions of a seeded sample of at most `size` rows (all rows when fewer)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _one_thread():
    """Run k-means and BLAS on one thread: the sums then add up in one order on every machine (the
    same clusters everywhere), and on a busy CPU spinning OpenMP threads were 50x slower, not faster."""
    return threadpool_limits(limits=1)


class AccountClusterer(BaseEstimator):
    """k-means on mixed account attributes, k chosen by silhouette unless given.

    Learned: `kinds_`, `pipeline_` (features + k-means), `feature_names_`, `n_clusters_`,
    `silhouette_` ({k: score}, empty when k was given), `cluster_centers_` (in feature space,
    in cluster order), `relabel_` (k-means label -> cluster number), `labels_` (every row of X),
    `pca_` (for `project`).
    """

    def __init__(self, n_clusters: int | None = None, k_range: tuple[int, int] = (2, 8),
                 sample_size: int = 20_000, random_state: int = 0):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.sample_size = sample_size
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y=None) -> "AccountClusterer":
        if len(X) < 3:
            raise AnalysisError("Clustering needs at least three accounts.")
        with _one_thread():
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> "AccountClusterer":
        rng = np.random.RandomState(self.random_state)
        sample = X.iloc[_sample(len(X), self.sample_size, rng)]
        self.kinds_ = column_kinds(X)
        features = _features(self.kinds_).fit(sample)
        Z = features.transform(sample)
        self.feature_names_ = list(features.get_feature_names_out())
        self.silhouette_ = {} if self.n_clusters else self._silhouettes(Z, rng)
        best_k = self.n_clusters or max(self.silhouette_, key=lambda k: (self.silhouette_[k], -k))
        self.n_clusters_ = min(best_k, len(sample))
        kmeans = KMeans(n_clusters=self.n_clusters_, n_init=4,
                        random_state=self.random_state).fit(Z)
        self.pipeline_ = Pipeline([("features", features), ("kmeans", kmeans)])
        # Number clusters by size in the sample, largest first, so the numbering does not depend
        # on k-means' arbitrary order.
        sizes = np.bincount(kmeans.labels_, minlength=kmeans.n_clusters)
        order = np.argsort(-sizes, kind="stable")
        self.relabel_ = np.empty_like(order)
        self.relabel_[order] = np.arange(len(order))
        self.cluster_centers_ = kmeans.cluster_centers_[order]
        self.pca_ = PCA(n_components=min(2, Z.shape[1]), random_state=self.random_state).fit(Z)
        self.labels_ = self.predict(X)
        return self

    def _silhouettes(self, Z: np.ndarray, rng: np.random.RandomState) -> dict[int, float]:
        part = Z[_sample(len(Z), SILHOUETTE_ROWS, rng)]
        distinct = len(np.unique(part, axis=0))
        # One distance matrix (float32: 100 MB at 5,000 rows) serves every k.
        distances = pairwise_distances(part).astype(np.float32)
        low, high = self.k_range
        scores = {}
        for k in range(low, min(high, distinct - 1) + 1):
            labels = KMeans(n_clusters=k, n_init=4, random_state=self.random_state).fit_predict(part)
            scores[k] = float(silhouette_score(distances, labels, metric="precomputed"))
        # Too few distinct accounts to compare any two k: the smallest k it is, without a score.
        return scores or {low: float("nan")}

    def _batches(self, X: pd.DataFrame):
        for start in range(0, len(X), _BATCH):
            yield self.pipeline_.named_steps["features"].transform(X.iloc[start:start + _BATCH])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        kmeans = self.pipeline_.named_steps["kmeans"]
        with _one_thread():
            parts = [self.relabel_[kmeans.predict(Z)] for Z in self._batches(X)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)

    def project(self, X: pd.DataFrame) -> np.ndarray:
        """2-D coordinates (principal components of the fitted sample); a second axis of zeros when
        there is only one feature."""
        check_is_fitted(self, "pca_")
        points = np.vstack([self.pca_.transform(Z) for Z in self._batches(X)]) if len(X) else np.zeros((0, 2))
        return np.pad(points, ((0, 0), (0, 2 - points.shape[1])))


# --- profiles -----------------------------------------------------------------------------------

def _number_text(value: float) -> str:
    """A cluster's mean: 420, 2263, 12,992, 1.5M, 0.353. Whole from 100, three figures below; separators
    only from 10,000 so years read as years (a mean's column is not known to hold years)."""
    rounded = round(value) if abs(value) >= 100 else float(f"{value:.3g}")
    return figure(rounded, grouped=abs(value) >= 10_000)


def _top_codes(codes: np.ndarray, top: int) -> np.ndarray:
    """The `top` most frequent codes; codes come from a sorted factorize, so ties go by value."""
    counts = np.bincount(codes, minlength=codes.max() + 1) if len(codes) else np.zeros(0, dtype=int)
    return np.argsort(-counts, kind="stable")[: min(top, np.count_nonzero(counts))]


def _candidates(X: pd.DataFrame, titles: dict[str, str]):
    """(key, title, values with NaN for missing, the value or item a share counts or None, the column's
    title) of every feature a cluster may stand out on: each number, each of the top values of a
    category, each of the top items of a list."""
    for name, kind in column_kinds(X).items():
        title = titles.get(name, name)
        if kind == "number":
            yield name, title, X[name].astype("float64").to_numpy(), None, title
        elif kind == "category":
            codes, values = pd.factorize(_as_text(X[[name]])[:, 0], sort=True)
            for j in _top_codes(codes, TOP_CATEGORIES):
                yield f"{name}={values[j]}", f"{title}: {values[j]}", (codes == j).astype(float), str(values[j]), title
        else:
            rows, items = _items(X[name])
            chosen = _top_items(items, TOP_ITEMS)
            codes = _item_codes(items, chosen)
            for j, item in enumerate(chosen):
                hit = np.zeros(len(X))
                hit[rows[codes == j]] = 1.0
                yield f"{name}={item}", f"{title}: {item}", hit, str(item), title


def _name_part(title: str, shared: str | None, inside: float, rest: float) -> str | None:
    """What a feature says of a cluster in a few words ("Fintech", "Size 51-200", "high ARR"), or None
    when it sets the cluster apart by lacking a value: "not Retail" names nothing a founder sells to."""
    if shared is None:
        return f"{'high' if inside > rest else 'low'} {title}"
    if inside <= rest:
        return None
    # A bare number or flag ("51-200", "yes") needs its title to mean anything.
    return shared if shared.casefold() not in _BARE and any(ch.isalpha() for ch in shared) else f"{title} {shared}"


def _names(numbers, found: list[list[tuple[float, str, str, str | None]]]) -> list[str]:
    """One name per cluster from its strongest name parts, unique (a clash gets the cluster number)."""
    names = []
    for number, parts in zip(numbers, found, strict=True):
        words = [part for *_, part in parts if part is not None][:_NAME_PARTS]
        names.append(", ".join(words) if words else f"Cluster {number}")
    clashes = {n for n in names if names.count(n) > 1}
    return [f"{n} ({number})" if n in clashes else n for n, number in zip(names, numbers, strict=True)]


def _contrast(values: np.ndarray, clusters: np.ndarray, k: int):
    """Per cluster: mean inside, mean of the rest, and the feature's overall standard deviation."""
    filled = ~np.isnan(values)
    total = np.bincount(clusters, weights=np.where(filled, values, 0.0), minlength=k)
    count = np.bincount(clusters, weights=filled, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = total / count
        rest = (total.sum() - total) / (count.sum() - count)
    spread = values[filled].std() if filled.any() else np.nan
    return inside, rest, spread


def cluster_profiles(X: pd.DataFrame, labels, value: pd.Series | None = None, *,
                     titles: dict[str, str] | None = None) -> pd.DataFrame:
    """Per cluster: accounts, share, mean value, best share (when X has `is_best`), and what sets
    it apart: the three features whose cluster mean differs most from the rest's, in standard
    deviations of the feature (numbers "Employees 420 vs 180", categories and items
    "Industry: Fintech 62% vs 12%"). `titles` gives column names in the user's words."""
    names, clusters = np.unique(np.asarray(labels), return_inverse=True)
    k = len(names)
    apart: list[list[tuple[float, str, str, str | None]]] = [[] for _ in range(k)]
    # Yes/no columns and rates (win rate) average to shares: "Won 70% vs 20%", never "0.7 vs 0.2".
    rates = {name for name in X.columns if name in RATES or pd.api.types.is_bool_dtype(X[name])}
    for key, title, values, shared, column in _candidates(X.drop(columns=["is_best"], errors="ignore"), titles or {}):
        is_share = shared is not None or key in rates
        inside, rest, spread = _contrast(values, clusters, k)
        if not spread > 0:
            continue
        for c in range(k):
            if np.isnan(inside[c]) or np.isnan(rest[c]):
                continue
            shown = (f"{percent(inside[c])} vs {percent(rest[c])}" if is_share
                     else f"{_number_text(inside[c])} vs {_number_text(rest[c])}")
            short = _name_part(column, shared, inside[c], rest[c])
            apart[c].append((abs(inside[c] - rest[c]) / spread, key, f"{title} {shown}", short))
    counts = np.bincount(clusters, minlength=k)
    frame = pd.DataFrame({"cluster": names, "accounts": counts, "share": counts / max(len(clusters), 1)})
    frame["value_mean"] = _contrast(_floats(value, len(clusters)), clusters, k)[0]
    frame["best_share"] = _contrast(_floats(X.get("is_best"), len(clusters)), clusters, k)[0]
    ordered = [sorted(found, key=lambda s: (-s[0], s[1])) for found in apart]
    best = [found[:_APART] for found in ordered]
    frame.insert(1, "name", _names(names, ordered))
    frame["top_features"] = [[key for _, key, _, _ in found] for found in best]
    frame["sets_apart"] = ["; ".join(text for _, _, text, _ in found) for found in best]
    return frame


def _floats(column: pd.Series | None, n: int) -> np.ndarray:
    """A column as floats (booleans as 0/1, missing as NaN); all NaN when there is none."""
    if column is None:
        return np.full(n, np.nan)
    return pd.Series(column).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


# --- from the workspace -------------------------------------------------------------------------

class ClusterResult(Frozen):
    """Everything the Segments page shows about clusters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    labels: pd.DataFrame  # account_key, cluster: every account
    points: pd.DataFrame  # account_key, cluster, x, y: at most SCATTER_POINTS sampled accounts
    profiles: pd.DataFrame  # cluster_profiles
    n_clusters: int
    axes: tuple[str, str]  # what each map axis mostly measures, in the user's words
    silhouette: dict[int, float]  # k -> score; empty when k was fixed


def _feature_title(feature: str, columns: list[str], titles: dict[str, str]) -> str:
    """A model feature ("cat__industry_Fintech") as the user reads it ("Industry: Fintech")."""
    part, _, rest = feature.partition("__")
    if part == "num":
        return titles.get(rest, rest)
    if part == "list":
        column, _, item = rest.partition("=")
        return f"{titles.get(column, column)}: {item}"
    # One-hot names join column and value with "_", and either may hold one: the longest column wins.
    column = max((c for c in columns if rest.startswith(f"{c}_")), key=len, default=rest)
    value = rest[len(column) + 1:]
    return f"{titles.get(column, column)}: {'other' if value == 'infrequent_sklearn' else value}"


def map_axes(model: AccountClusterer, titles: dict[str, str]) -> tuple[str, str]:
    """Each principal axis of the map named by the two features that weigh most in it: a bare
    "projection 1" told a founder nothing."""
    axes = []
    for component in model.pca_.components_[:2]:
        top = np.argsort(-np.abs(component), kind="stable")[:2]
        axes.append("mostly " + " and ".join(
            _feature_title(model.feature_names_[i], list(model.kinds_), titles) for i in top if component[i]))
    while len(axes) < 2:
        axes.append("no second direction (one feature)")
    return axes[0], axes[1]


def _select(attribute: Attribute) -> str:
    column = _q(attribute.name)
    if attribute.kind == "number":
        return f"CAST({column} AS DOUBLE) AS {column}"
    if attribute.kind == "flag":
        return f"CASE WHEN {column} THEN $yes WHEN NOT {column} THEN $no END AS {column}"
    if attribute.kind == "category":
        return f"CAST({column} AS VARCHAR) AS {column}"
    return column


def _arrow_lists(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(arrow_type) if pa.types.is_list(arrow_type) else None


def cluster_accounts(con: duckdb.DuckDBPyConnection, source: Relation, features: list[Attribute], *,
                     value_column: str | None = None, n_clusters: int | None = None,
                     random_state: int = 0, sample_size: int = 20_000) -> ClusterResult:
    """Cluster the accounts of `source` on `features` (read alone, ordered by account_key so
    the same data always gives the same clusters). Profiles use `value_column` (else
    `value_score`) and `is_best` when the source has them."""
    if not features:
        raise AnalysisError("Pick at least one feature to cluster on.")
    present = {row[0] for row in con.execute(f"DESCRIBE {as_relation(source).select()}").fetchall()}
    value = value_column or "value_score"
    extras = [f"CAST({_q(value)} AS DOUBLE) AS _value"] if value in present else []
    extras += [f"CAST({_q('is_best')} AS BOOLEAN) AS is_best"] if "is_best" in present else []
    picks = ", ".join([f"{_q('account_key')} AS _key", *map(_select, features), *extras])
    # Through Arrow: lists stay columnar (pandas' object cells would cost seconds at 1M rows).
    flags = {"yes": "yes", "no": "no"} if any(a.kind == "flag" for a in features) else None
    frame = con.sql(f"SELECT {picks} FROM {source} AS s ORDER BY _key",
                    params=flags).to_arrow_table().to_pandas(types_mapper=_arrow_lists)
    X = frame[[a.name for a in features]]
    model = AccountClusterer(n_clusters=n_clusters, sample_size=sample_size, random_state=random_state).fit(X)
    shown = _sample(len(X), SCATTER_POINTS, np.random.RandomState(random_state))
    xy = model.project(X.iloc[shown])
    profile_input = X.assign(is_best=frame["is_best"]) if "is_best" in frame else X
    titles = {a.name: a.label for a in features}
    profiles = cluster_profiles(profile_input, model.labels_, frame.get("_value"), titles=titles)
    names = profiles.set_index("cluster")["name"]
    return ClusterResult(
        labels=pd.DataFrame({"account_key": frame["_key"], "cluster": model.labels_}),
        points=pd.DataFrame({"account_key": frame["_key"].iloc[shown].to_numpy(),
                             "cluster": model.labels_[shown], "name": names.reindex(model.labels_[shown]).to_numpy(),
                             "x": xy[:, 0], "y": xy[:, 1]}),
        profiles=profiles,
        n_clusters=model.n_clusters_,
        axes=map_axes(model, titles),
        silhouette=model.silhouette_,
    )
