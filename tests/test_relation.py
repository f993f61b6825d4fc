"""Rows passed between engine modules are a Relation (a table by name, or a query), never a bare string."""

import pickle

import duckdb
import pytest

from icp.analysis import patterns, segments
from icp.analysis.attributes import Attribute
from icp.analysis.clusters import cluster_accounts
from icp.analysis.success import SuccessSettings
from icp.profile.carry import resolve
from icp.profile.model import ICP, Criterion
from icp.relation import Relation, as_relation

NAME = 'odd "name"'
QUOTED = '"odd ""name"""'


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute(f"""CREATE TABLE {QUOTED} AS SELECT 'k' || i AS account_key, i AS employees,
        CASE WHEN i % 2 = 0 THEN 'Fintech' ELSE 'Retail' END AS industry, i % 3 = 0 AS is_best,
        i * 10.0 AS value_score FROM range(60) t(i)""")
    yield connection
    connection.close()


def test_a_table_is_quoted_once_and_keeps_its_name(con):
    table = Relation.of_table(NAME)
    assert table == QUOTED and table.table == NAME
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (60,)
    assert con.execute(table.select("count(*)")).fetchone() == (60,)


def test_a_query_is_parenthesized_and_reads_as_a_subquery(con):
    query = Relation.of_query(Relation.of_table(NAME).select() + " WHERE is_best")
    assert query.startswith("(SELECT") and query.endswith(")") and query.table is None
    assert con.execute(f"SELECT count(*) FROM {query} AS q").fetchone() == (20,)
    with_cte = Relation.of_query(f"WITH best AS {query} SELECT * FROM best")
    assert con.execute(f"SELECT count(*) FROM {with_cte}").fetchone() == (20,)


@pytest.mark.parametrize("text", ["", "DROP TABLE x", "customers"])
def test_a_query_must_be_a_select(text):
    with pytest.raises(ValueError, match="a query relation is a SELECT"):
        Relation.of_query(text)


def test_relations_are_made_by_their_constructors_only():
    with pytest.raises(TypeError):
        Relation("customers")
    with pytest.raises(TypeError):
        Relation.of_table(Relation.of_table("customers"))  # quoted twice
    with pytest.raises(TypeError):
        Relation.of_query(Relation.of_query("SELECT 1"))  # parenthesized twice
    with pytest.raises(TypeError):
        as_relation('"customers"')


def test_a_relation_survives_pickling_with_its_kind():
    for relation in (Relation.of_table("universe"), Relation.of_query("SELECT 1 AS a")):
        again = pickle.loads(pickle.dumps(relation))
        assert isinstance(again, Relation) and again == relation and again.table == relation.table


FINTECH = ICP(success=SuccessSettings(criteria=()), criteria=(
    Criterion(attribute="industry", label="Industry", kind="in_set", values=("Fintech",)),))
INDUSTRY = [Attribute(name="industry", label="Industry", kind="category", role="industry")]


@pytest.mark.parametrize("call", [
    lambda con, source: patterns.compare(con, source, "is_best", INDUSTRY, min_count=1),
    lambda con, source: segments.rule_segments(con, source, ["industry"], value_column=None),
    lambda con, source: cluster_accounts(con, source, INDUSTRY, n_clusters=2),
    lambda con, source: resolve(con, FINTECH, source, "universe"),
], ids=["patterns", "segments", "clusters", "carry"])
def test_engine_functions_take_a_relation_and_refuse_a_bare_string(con, call):
    table = Relation.of_table(NAME)
    call(con, table)  # the same rows as a Relation are read
    call(con, Relation.of_query(table.select()))
    with pytest.raises(TypeError, match="expected a Relation"):
        call(con, QUOTED)
