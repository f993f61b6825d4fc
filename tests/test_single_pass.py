"""`icp score`'s short way (icp.export.build.score_file) against the long way it stands for: the
targets.csv `icp build` writes for the same accounts given as a targets list, byte for byte, on a
CRM-like file whose ICP reads a list, a range, a category, a flag linked by its name and a flag no
column holds; and the shortcuts it takes (a domain written "www.", DuckDB's memory settings)
against the rules they stand for."""

import csv
import io

import duckdb
import pytest

from icp import normalize
from icp.analysis.success import SuccessSettings
from icp.data import scratch
from icp.data.ingest import ColumnPlan, _value_expr
from icp.errors import IcpError
from icp.export.build import score_file, scratch_workspace
from icp.export.tables import targets_csv
from icp.market.targets import targets_export
from icp.profile.model import ICP, Criterion

HEADER = "Company Name,Website,Industry,Employee Count,Country,Annual Revenue,Tech Stack,On Prem,Public\r\n"
ROWS = [
    "Acme,www.acme.com,Fintech,200,US,12000000,\"Snowflake, dbt\",yes,True\r\n",
    # The same account as Acme (one domain, written two ways): merged, both rows scored alike.
    "Acme Inc,acme.com,fintech,,US,,Snowflake,,True\r\n",
    "Beta,www.beta.io,Healthcare,51-200,DE,\"$1.2M\",\"AWS, Stripe\",no,False\r\n",
    "=HYPERLINK(\"\"x\"\"),www.gamma.org,Retail,n/a,GB,-3.5,\"@SUM(A1), Snowflake\",,False\r\n",
    "Delta,WWW.Delta.NET,Fintech,5000,FR,+7,\"snowflake;Looker\",yes,\r\n",
    "Epsilon,http://www.eps.io/about,\tHealthcare,10001+,US,974.8 MM,,no,True\r\n",
    "Zeta,,Fintech,75,\"Deutschland\",,Snowflake,yes,False\r\n",
    "Zeta,,Fintech,80,DE,,Snowflake,,False\r\n",
    "Eta,www.eta.com,\"Software; =cmd\",300,US,2e6,\"Azure, Snowflake\",no,True\r\n",
]


def _icp(*extra: Criterion) -> ICP:
    return ICP(success=SuccessSettings(criteria=()), criteria=(
        Criterion(attribute="tech_stack", label="Tech stack", kind="contains", role="must", values=("Snowflake",),
                  weight=3),
        Criterion(attribute="employees", label="Employees", kind="range", role="must", low=51, high=5001, weight=2),
        Criterion(attribute="industry", label="Industry", kind="in_set", role="nice", values=("Fintech",), weight=2),
        *extra,
    ))


# A flag no column holds (scored as unknown), and one the file holds under another name.
MISSING_FLAG = Criterion(attribute="soc2_certified", label="SOC 2 certified", kind="flag", role="nice", flag=True)
LINKED_FLAG = Criterion(attribute="on_prem_only", label="Requires on-prem", kind="flag", role="disqualify", flag=True)


@pytest.mark.parametrize("extra", [(), (MISSING_FLAG,), (LINKED_FLAG, MISSING_FLAG)],
                         ids=["all-named", "a-flag-missing", "a-flag-linked-by-name"])
def test_icp_score_equals_the_targets_csv_of_a_workspace(tmp_path, extra):
    icp = _icp(*extra)
    (tmp_path / "icp.json").write_text(icp.model_dump_json(), encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes((HEADER + "".join(ROWS)).encode("utf-8"))
    scored = score_file(tmp_path / "icp.json", accounts, tmp_path / "out" / "targets.csv")
    with scratch_workspace({"targets": accounts}) as workspace:
        expected = targets_csv(targets_export(workspace, icp))
    assert scored.read_bytes() == expected
    text = expected.decode("utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and "Software;' =cmd" in text and "'\tHealthcare" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(ROWS)
    # Acme's two rows are one account: one score, tier and reasons.
    acme = [row for row in rows if row[0].startswith("Acme")]
    assert len(acme) == 2 and acme[0][-3:] == acme[1][-3:]
    if LINKED_FLAG in extra:
        # Read from "On Prem": Acme's "yes" disqualifies it.
        assert acme[0][-3:-1] == ["0.0", "Not a fit"] and "disqualified: Requires on-prem" in acme[0][-1]
    elif MISSING_FLAG in extra:
        # No column holds it: unknown for every account, a nice criterion Acme cannot meet.
        assert acme[0][-3:-1] == ["87.5", "Tier 1"] and "missed: SOC 2 certified (unknown)" in acme[0][-1]
    else:
        assert acme[0][-3:-1] == ["100.0", "Tier 1"]


def test_a_domain_written_with_www_reads_as_icp_domain_reads_it():
    con = duckdb.connect()
    normalize.install(con)
    rule = _value_expr(ColumnPlan("Website", "domain", "domain", "domain", 1.0), "v")
    values = ["www.acme.com", "www.www.acme.com", "www.com", "www1.acme.com", "WWW.acme.com", "www.acme.com.",
              "www.a-b.co.uk", "www.-a.com", "www.acme.co-", "www.ac_me.com", "www.é.com", "www.acme.com/x",
              "www.1.2.3.4", "www..com", "wwwx.acme.com", "https://www.acme.com", "acme.com", None]
    for value in values:
        mine, theirs = con.execute(f"SELECT {rule}, icp_domain(v) FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()
        assert mine == theirs, value
    assert con.execute(f"SELECT {rule} FROM (SELECT 'www.acme.com' AS v)").fetchone()[0] == "acme.com"


def test_duckdb_memory_and_temp_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(scratch.MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(scratch.TEMP_DIR_ENV, raising=False)
    assert scratch.duckdb_config() == {}
    assert scratch.duckdb_config("1GB", tmp_path) == {"memory_limit": "1GB", "temp_directory": str(tmp_path)}
    monkeypatch.setenv(scratch.MEMORY_LIMIT_ENV, "300MB")
    monkeypatch.setenv(scratch.TEMP_DIR_ENV, str(tmp_path / "spill"))
    config = scratch.duckdb_config("1GB", tmp_path)
    assert config == {"memory_limit": "300MB", "temp_directory": str(tmp_path / "spill")}
    con = duckdb.connect(config=config)
    limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit == "286.1 MiB" and temp == str(tmp_path / "spill")
    monkeypatch.setenv(scratch.MEMORY_LIMIT_ENV, "50%")
    assert scratch.duckdb_config()["memory_limit"].endswith("MB")
    monkeypatch.setenv(scratch.MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(IcpError, match="ICP_MEMORY_LIMIT"):
        scratch.duckdb_config()
