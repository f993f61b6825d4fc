"""Account clusters: planted groups recovered, determinism, sampling, profiles, and the DuckDB entry point."""

import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from icp.analysis.attributes import Attribute
from icp.analysis.clusters import AccountClusterer, cluster_accounts, cluster_profiles, column_kinds
from icp.errors import AnalysisError
from icp.relation import Relation

INDUSTRIES = np.array(["Fintech", "Retail", "Health", "Media"])
STACK = np.array(["python", "java", "aws", "gcp", "slack"])

CUSTOMERS = Relation.of_table("customers")


def planted(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three groups far apart in employees and revenue; industry and tech stack are noise."""
    rng = np.random.RandomState(seed)
    group = rng.randint(0, 3, n)
    employees = np.array([100.0, 1000.0, 5000.0])[group] * rng.lognormal(0, 0.05, n)
    revenue = np.array([1.0, 20.0, 8.0])[group] + rng.normal(0, 0.5, n)
    X = pd.DataFrame({
        "employees": employees,
        "revenue": revenue,
        "industry": INDUSTRIES[rng.randint(0, 4, n)],
        "stack": [list(rng.choice(STACK, 2, replace=False)) for _ in range(n)],
    })
    return X, group


def test_planted_groups_are_found_with_k_by_silhouette():
    X, group = planted()
    model = AccountClusterer().fit(X)
    assert model.n_clusters_ == 3
    assert max(model.silhouette_, key=model.silhouette_.get) == 3
    assert sorted(model.silhouette_) == [2, 3, 4, 5, 6, 7, 8]
    assert adjusted_rand_score(group, model.labels_) >= 0.9


def test_same_data_and_settings_give_identical_labels():
    X, _ = planted(seed=3)
    first = AccountClusterer(random_state=7).fit(X)
    second = AccountClusterer(random_state=7).fit(X)
    assert np.array_equal(first.labels_, second.labels_)
    assert first.silhouette_ == second.silhouette_
    assert np.array_equal(first.project(X), second.project(X))


def test_clusters_are_numbered_by_size():
    X, _ = planted(seed=5)
    sizes = np.bincount(AccountClusterer().fit(X).labels_)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_fixed_number_of_clusters_is_respected():
    X, _ = planted()
    model = AccountClusterer(n_clusters=5).fit(X)
    assert model.n_clusters_ == 5 and model.silhouette_ == {}
    assert set(model.labels_) == {0, 1, 2, 3, 4}
    assert model.cluster_centers_.shape == (5, len(model.feature_names_))


def test_fit_on_a_sample_labels_every_row():
    X, group = planted(n=3000, seed=1)
    model = AccountClusterer(n_clusters=3, sample_size=200).fit(X)
    assert len(model.labels_) == 3000
    assert np.array_equal(model.predict(X), model.labels_)
    assert adjusted_rand_score(group, model.labels_) >= 0.9


def test_project_gives_finite_two_dimensional_points():
    X, _ = planted()
    points = AccountClusterer(n_clusters=3).fit(X).project(X)
    assert points.shape == (len(X), 2) and np.isfinite(points).all()


def test_mixed_types_with_missing_values():
    X, group = planted(n=300, seed=2)
    X["founded"] = pd.Series(np.arange(300) % 40 + 1980.0).mask(np.arange(300) % 7 == 0).astype("Int64")
    X["industry"] = X["industry"].where(np.arange(300) % 5 != 0, None)
    X["stack"] = [None if i % 4 == 0 else ([] if i % 9 == 0 else s) for i, s in enumerate(X["stack"])]
    X["public"] = group == 1
    X["country"] = pd.Series(np.where(np.arange(300) % 3 == 0, None, "US"), dtype="string")
    assert column_kinds(X) == {"employees": "number", "revenue": "number", "industry": "category",
                               "stack": "list", "founded": "number", "public": "number", "country": "category"}
    model = AccountClusterer(n_clusters=3).fit(X)
    assert len(model.labels_) == 300 and np.isfinite(model.project(X)).all()
    assert "cat__industry_(unknown)" in model.feature_names_ and "list__stack=python" in model.feature_names_
    assert adjusted_rand_score(group, model.labels_) >= 0.9


def test_top_categories_and_items_are_capped():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"city": [f"c{i}" for i in rng.randint(0, 40, 500)],
                      "tags": [[f"t{i}", f"t{j}"] for i, j in rng.randint(0, 40, (500, 2))]})
    names = AccountClusterer(n_clusters=2).fit(X).feature_names_
    assert sum(n.startswith("cat__city") for n in names) == 13  # 12 values + "other"
    assert sum(n.startswith("list__tags=") for n in names) == 15


def test_follows_scikit_learn_conventions():
    X, _ = planted(n=100)
    model = AccountClusterer(n_clusters=2, random_state=3)
    assert model.fit(X) is model
    assert clone(model).get_params() == {"n_clusters": 2, "k_range": (2, 8), "sample_size": 20_000,
                                         "random_state": 3}
    assert not hasattr(clone(model), "labels_")


# --- profiles -----------------------------------------------------------------------------------

def test_profiles_name_the_planted_feature_first():
    rng = np.random.RandomState(4)
    group = np.repeat([0, 1, 2], 100)
    X = pd.DataFrame({
        "employees": np.array([100.0, 1000.0, 5000.0])[group] + rng.normal(0, 10, 300),
        "revenue": rng.normal(10, 1, 300),
        "industry": INDUSTRIES[rng.randint(0, 4, 300)],
        "is_best": group == 2,
    })
    value = pd.Series(np.array([1.0, 2.0, 3.0])[group])
    profiles = cluster_profiles(X, group, value, titles={"employees": "Employees"})
    assert [features[0] for features in profiles["top_features"]] == ["employees"] * 3
    assert re.match(r"Employees 50\d\d vs 55\d; ", profiles.loc[2, "sets_apart"])
    assert profiles["accounts"].tolist() == [100, 100, 100]
    assert profiles["share"].tolist() == pytest.approx([1 / 3] * 3)
    assert profiles["value_mean"].tolist() == [1.0, 2.0, 3.0]
    assert profiles["best_share"].tolist() == [0.0, 0.0, 1.0]
    assert all("is_best" not in features for features in profiles["top_features"])


def test_profiles_state_category_and_item_shares():
    labels = np.array([0] * 50 + [1] * 50)
    X = pd.DataFrame({
        "industry": ["Fintech"] * 40 + ["Retail"] * 10 + ["Retail"] * 44 + ["Fintech"] * 6,
        "stack": [["python"]] * 50 + [["java"]] * 50,
    })
    profiles = cluster_profiles(X, labels, None)
    assert profiles.loc[0, "top_features"][0] in ("stack=python", "stack=java")
    assert "industry: Fintech 80% vs 12%" in profiles.loc[0, "sets_apart"]
    assert "stack: python 100% vs 0%" in profiles.loc[0, "sets_apart"]
    assert np.isnan(profiles.loc[0, "value_mean"]) and np.isnan(profiles.loc[0, "best_share"])


# --- from DuckDB --------------------------------------------------------------------------------

FEATURES = [
    Attribute(name="employees", label="Employees", kind="number", role="employees"),
    Attribute(name="revenue", label="Annual revenue", kind="number", role="revenue"),
    Attribute(name="industry", label="Industry", kind="category", role="industry"),
    Attribute(name="tech_stack", label="Tech stack", kind="list", role="tech_stack"),
    Attribute(name="public", label="Public", kind="flag"),
]


def _customers(n: int, seed: int = 0) -> duckdb.DuckDBPyConnection:
    X, group = planted(n, seed)
    frame = X.rename(columns={"stack": "tech_stack"}).assign(
        account_key=[f"k{i:05d}" for i in range(n)], public=group == 1, value_score=group * 10.0,
        is_best=group == 2, arr=group * 1000.0)
    con = duckdb.connect()
    con.register("frame", frame.sample(frac=1, random_state=seed))  # stored order is not key order
    con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    return con


def test_cluster_accounts_from_duckdb():
    con = _customers(600)
    result = cluster_accounts(con, CUSTOMERS, FEATURES)
    assert result.n_clusters == 3 and 3 in result.silhouette
    assert len(result.labels) == 600 and result.labels["account_key"].is_unique
    truth = con.execute("SELECT account_key, value_score FROM customers").df()
    merged = result.labels.merge(truth, on="account_key")
    assert adjusted_rand_score(merged["value_score"], merged["cluster"]) >= 0.9
    assert len(result.points) == 600 and np.isfinite(result.points[["x", "y"]].to_numpy()).all()
    assert result.profiles["accounts"].sum() == 600
    assert sorted(result.profiles["best_share"]) == pytest.approx([0, 0, 1])
    assert sorted(result.profiles["value_mean"]) == pytest.approx([0, 10, 20])
    assert any("Employees" in text for text in result.profiles["sets_apart"])


def test_cluster_accounts_is_deterministic_and_uses_the_value_column():
    con = _customers(400, seed=9)
    first = cluster_accounts(con, CUSTOMERS, FEATURES, n_clusters=3, value_column="arr")
    second = cluster_accounts(con, CUSTOMERS, FEATURES, n_clusters=3, value_column="arr")
    pd.testing.assert_frame_equal(first.labels, second.labels)
    assert first.silhouette == {}
    assert sorted(first.profiles["value_mean"]) == pytest.approx([0, 1000, 2000])


def test_scatter_is_capped_at_five_thousand_points():
    con = _customers(6000)
    result = cluster_accounts(con, CUSTOMERS, FEATURES[:2], n_clusters=3, sample_size=1000)
    assert len(result.labels) == 6000 and len(result.points) == 5000
    assert set(result.points["account_key"]) <= set(result.labels["account_key"])
    by_key = result.labels.set_index("account_key")["cluster"]
    assert (result.points["cluster"].to_numpy() == by_key[result.points["account_key"]].to_numpy()).all()


def test_cluster_accounts_needs_features():
    with pytest.raises(AnalysisError, match="at least one feature"):
        cluster_accounts(_customers(10), CUSTOMERS, [])


# --- names a founder reads ----------------------------------------------------------------------

def test_clusters_are_named_by_what_sets_them_apart():
    labels = np.array([0] * 50 + [1] * 50)
    X = pd.DataFrame({
        "industry": ["Fintech"] * 45 + ["Retail"] * 5 + ["Retail"] * 45 + ["Fintech"] * 5,
        "size": ["51-200"] * 50 + ["1-10"] * 50,
        "employees": [120.0] * 50 + [5.0] * 50,
    })
    profiles = cluster_profiles(X, labels, None, titles={"industry": "Industry", "size": "Company size",
                                                         "employees": "Employees"})
    names = profiles["name"].tolist()
    assert names[0] in ("Company size 51-200, high Employees", "high Employees, Company size 51-200")
    assert names[1] in ("Company size 1-10, low Employees", "low Employees, Company size 1-10")


def test_a_category_value_names_its_cluster_and_clashing_names_get_the_number():
    labels = np.array([0] * 40 + [1] * 40 + [2] * 40)
    X = pd.DataFrame({"industry": ["Fintech"] * 40 + ["Retail"] * 40 + ["Fintech"] * 40})
    assert cluster_profiles(X, labels, None)["name"].tolist() == ["Fintech (0)", "Retail", "Fintech (2)"]


def test_cluster_map_points_carry_names_and_axes_are_named_by_features():
    result = cluster_accounts(_customers(600), CUSTOMERS, FEATURES)
    by_cluster = result.profiles.set_index("cluster")["name"]
    assert (result.points["name"].to_numpy() == by_cluster[result.points["cluster"]].to_numpy()).all()
    assert not any(name.isdigit() for name in result.points["name"])
    assert all(axis.startswith("mostly ") for axis in result.axes)
    known = ("Employees", "Annual revenue", "Industry: ", "Tech stack: ", "Public: ")
    assert all(any(k in axis for k in known) for axis in result.axes)
