"""Issue 16, "What a founder sees": the Market and Targets pages on the demo, through AppTest."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from icp.data.workspace import Workspace
from tests.helpers import open_page
from tests.literal_text import shown
from ui.settings import ICP_KEY, working_icp

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_copy(demo_template, workspace_folder):
    return Workspace.copy_of(demo_template, "Demo copy")


def _texts(at: AppTest) -> str:
    return " ".join(shown(e.value) for kind in ("warning", "caption", "markdown", "info") for e in getattr(at, kind))


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def _save(workspace: Workspace, **changes) -> None:
    icp = working_icp(workspace)
    workspace.save_settings(ICP_KEY, icp.model_copy(update=changes))


def test_market_page_warns_when_there_is_no_must_and_names_the_strongest(demo_copy):
    icp = working_icp(demo_copy)
    _save(demo_copy, criteria=tuple(c.model_copy(update={"role": "nice"}) if c.role == "must" else c
                                    for c in icp.criteria))
    at = open_page(demo_copy, "views/market.py")
    [warning] = [shown(w.value) for w in at.warning if "no must criterion" in shown(w.value)]
    assert "SAM is the whole TAM" in warning and "Make the strongest finding a must" in warning


def test_market_page_money_has_currency_and_scale_and_som_is_not_zero_beside_money(demo_copy):
    icp = working_icp(demo_copy)
    _save(demo_copy, market=icp.market.model_copy(update={"currency": "USD", "reachable_share": 0.01,
                                                           "win_rate": 0.01}))
    at = open_page(demo_copy, "views/market.py")
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "$" in captions and ("M in value" in captions or "k in value" in captions), captions
    assert "mean ARR" in captions
    # 2,620 x 1% x 1% is 0.26 accounts: shown as such, not as 0 beside its money.
    som = _metric(at, "SOM")
    assert som.startswith("0.") and som.endswith(" accounts"), som


def test_market_page_sets_the_currency(demo_copy):
    at = open_page(demo_copy, "views/market.py")
    at.text_input(key="market_currency").set_value("EUR").run()
    assert not at.exception
    assert working_icp(demo_copy).market.currency == "EUR"
    assert "€" in " ".join(shown(c.value) for c in at.caption)


def test_targets_page_says_what_caps_tier_1_and_shows_shares_without_arrows(demo_copy):
    icp = working_icp(demo_copy)
    _save(demo_copy, tiers=icp.tiers.model_copy(update={"mode": "capacity", "reps": 100, "accounts_per_rep": 1000}))
    at = open_page(demo_copy, "views/targets.py")
    assert any("Tier 1 is capped by SAM" in shown(i.value) for i in at.info)
    tiers = [m for m in at.metric if m.label.startswith(("Tier", "Not a fit"))]
    assert tiers and all(not m.delta for m in tiers)
    assert any(shown(c.value).endswith("% of the accounts") for c in at.caption)


def test_one_pager_cautions_no_must_and_says_what_caps_tier_1(demo_copy):
    from icp.export.pdf import gather

    icp = working_icp(demo_copy)
    nice = icp.model_copy(update={
        "criteria": tuple(c.model_copy(update={"role": "nice"}) if c.role == "must" else c for c in icp.criteria),
        "tiers": icp.tiers.model_copy(update={"mode": "capacity", "reps": 100, "accounts_per_rep": 1000}),
        "market": icp.market.model_copy(update={"currency": "EUR"})})
    content = gather(demo_copy, nice)
    assert any("no must criterion" in c for c in content.cautions[:4])
    assert content.tier_limit.startswith("Tier 1 is capped by SAM")
    import io

    from pypdf import PdfReader

    from icp.export.pdf import render_one_pager
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(render_one_pager(content))).pages)
                    .split())
    assert "Tier 1 is capped by SAM" in text and "no must criterion" in text
    assert "€" in text and "Mean ARR per account" in text


@pytest.mark.parametrize("page", ["views/targets.py", "views/market.py"])
def test_a_changed_success_definition_is_said_on_the_targets_and_market_pages(demo_copy, page):
    from ui.settings import SUCCESS_KEY, success_settings

    working_icp(demo_copy)
    at = open_page(demo_copy, page)
    assert not any("defined otherwise" in shown(w.value) for w in at.warning)
    demo_copy.save_settings(SUCCESS_KEY, success_settings(demo_copy).model_copy(update={"best_share": 0.5}))
    at = open_page(demo_copy, page)
    [warning] = [shown(w.value) for w in at.warning if "defined otherwise" in shown(w.value)]
    assert "drafted when best customers were defined otherwise" in warning and "ICP page" in warning
    assert any(link.proto.page.endswith("views/icp.py") or "icp" in link.proto.page
               for link in at.get("page_link")), [link.proto for link in at.get("page_link")]
