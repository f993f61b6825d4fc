"""Plain helpers that several test modules share: paths, the `icp` command in-process, small files, the app
under AppTest, null customer data and sample ICPs. Fixtures stay in tests/conftest.py; the hostile-workbook
builders are in tests/hostile.py and the maven-like CRM export in tests/maven_like.py."""

import contextlib
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from icp.analysis.success import SuccessCriterion, SuccessSettings
from icp.data.workspace import Workspace
from icp.profile.model import ICP, Criterion, TierRules

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PAGES = sorted(f"views/{p.name}" for p in (ROOT / "views").glob("*.py"))


# --- files and the command ----------------------------------------------------------------------------


def run_icp(*args: str) -> subprocess.CompletedProcess:
    """`icp ARGS` in this process: the exit code, stdout and stderr `python -m icp ARGS` gives, without
    an interpreter's start-up (seconds on a busy machine). Each command keeps one subprocess test."""
    from icp.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["icp", *args], code, out.getvalue(), err.getvalue())


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a clean skip when that folder is not beside the checkout."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- the app ------------------------------------------------------------------------------------------


def app(workspace: Workspace | None = None, timeout: float = 120) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if workspace is not None:
        at.query_params["ws"] = workspace.id
    return at


def open_page(workspace: Workspace, page: str, timeout: float = 120) -> AppTest:
    """The app on `workspace`, switched to `page` (e.g. "views/targets.py") as a user's click does,
    with no exception shown."""
    at = app(workspace, timeout)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


# --- null customers (tests/test_validation.py) --------------------------------------------------------

INDUSTRIES = ["Fintech", "Healthcare", "Retail", "Manufacturing", "Education", "Media", "Logistics", "Software"]
COUNTRIES = ["United States", "Germany", "France", "United Kingdom", "Canada", "Spain", "Sweden", "Japan"]
MODELS = ["B2B SaaS", "Marketplace", "E-commerce", "Services", "Hardware"]
TOOLS = ["Salesforce", "HubSpot", "Snowflake", "Segment", "AWS", "GCP", "Stripe", "Zendesk", "Slack", "dbt"]


def null_customers(seed: int, n: int = 200, fintech_boost: float = 0.0) -> pd.DataFrame:
    """Customers whose industry, size, country, model and tech stack are drawn independently of their
    ARR and churn: there is nothing to find (unless `fintech_boost` multiplies Fintech ARR)."""
    rng = np.random.default_rng(seed)
    tools = rng.random((n, len(TOOLS))) < 0.35
    industry = rng.choice(INDUSTRIES, n)
    employees = np.rint(np.exp(rng.normal(np.log(120), 1.3, n))).astype(int) + 1
    country, model = rng.choice(COUNTRIES, n), rng.choice(MODELS, n)
    arr = np.exp(rng.normal(np.log(20_000), 0.6, n)) * np.where(industry == "Fintech", 1 + fintech_boost, 1)
    return pd.DataFrame({
        "Company name": [f"Null {seed} Company {i:03d}" for i in range(n)],
        "Website": [f"null{seed}-{i:03d}.com" for i in range(n)],
        "Industry": industry,
        "Employees": employees,
        "Country": country,
        "Business Model": model,
        "Technologies": [";".join(t for t, has in zip(TOOLS, row, strict=True) if has) for row in tools],
        "ARR": np.rint(arr / 100) * 100,
        "Churned": np.where(rng.random(n) < 0.25, "Yes", "No"),
    })


def workspace_of(frame: pd.DataFrame, folder) -> Workspace:
    path = folder / "customers.csv"
    frame.to_csv(path, index=False)
    ws = Workspace.create("validation test")
    ws.add_list("customers", path)
    return ws


# --- ICPs (tests/test_scoring.py, tests/test_model.py) ------------------------------------------------

SCORING_SUCCESS = SuccessSettings(criteria=(SuccessCriterion(column="arr", label="ARR", direction="higher"),))
INDUSTRY = Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech", "Healthcare"))
EMPLOYEES = Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, weight=2)
STACK = Criterion(attribute="tech_stack", label="Tech stack", kind="contains", values=("Snowflake", "dbt"), weight=0.5)
PUBLIC = Criterion(attribute="is_public", label="Public company", kind="flag", role="disqualify", flag=True)
CRITERIA = (INDUSTRY, EMPLOYEES, STACK, PUBLIC)


def make_icp(criteria=CRITERIA, **tiers) -> ICP:
    return ICP(name="Mid-market fintech", success=SCORING_SUCCESS, criteria=criteria, tiers=TierRules(**tiers))


SAMPLE_SUCCESS = SuccessSettings(criteria=(SuccessCriterion(column="arr", label="ARR", direction="higher", weight=2),),
                                 value_column="arr")


def sample() -> ICP:
    return ICP(
        name="Mid-market fintech", success=SAMPLE_SUCCESS,
        criteria=(
            Criterion(attribute="industry", label="Industry", kind="in_set", role="must", values=("Fintech", "Café Zürich")),
            Criterion(attribute="employees", label="Employees", kind="range", low=51, high=1001, weight=2),
            Criterion(attribute="tech_stack", label="Tech stack", kind="contains", values=("Snowflake",)),
            Criterion(attribute="business_model", label="Business model", kind="in_set", role="disqualify",
                      values=("Hardware",)),
        ),
    )


def local_spark(app_name: str):
    """A local PySpark session on one core (reused when one is running in this process); skips the
    test when Java or PySpark is missing."""
    if shutil.which("java") is None:
        pytest.skip("Java is not installed, so PySpark cannot start")
    pytest.importorskip("pyspark", reason="PySpark is not installed (the test extras bring it)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName(app_name)
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session
