"""data/samples holds what the code writes today: the template, the small demo set and an ICP
drafted from it, which loads and tiers that set."""

from pathlib import Path

from icp.data.demo import write_demo
from icp.data.roles import template_csv
from icp.data.workspace import Workspace
from icp.market.targets import target_source, tier_counts
from icp.profile.model import parse_icp

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_the_template_is_the_one_the_start_page_offers():
    assert (SAMPLES / "customers-template.csv").read_text(encoding="utf-8") == template_csv()


def test_the_small_demo_is_what_icp_demo_small_writes(tmp_path):
    written = write_demo(tmp_path, small=True)
    for name, path in written.items():
        assert (SAMPLES / "demo-small" / path.name).read_bytes() == path.read_bytes(), name
    lines = {name: len(path.read_text().splitlines()) - 1 for name, path in written.items()}
    assert lines["universe"] == 3_000 and 50 <= lines["customers"] <= 200 and lines["deals"] > lines["customers"]


def test_the_example_icp_loads_and_tiers_the_small_demo():
    icp = parse_icp((SAMPLES / "icp.json").read_bytes(), "icp.json")
    assert icp.musts, "the example should show a must criterion"
    ws = Workspace.create("samples")
    for kind in ("customers", "deals", "universe"):
        ws.add_list(kind, SAMPLES / "demo-small" / f"{kind}.csv")
    counts = dict(zip(*tier_counts(ws, icp)[["tier", "accounts"]].T.to_numpy(), strict=True))
    assert counts["Tier 1"] > 0 and counts["Not a fit"] > 0
    sql, _ = target_source(ws)
    with ws.connect(read_only=True) as con:
        targets = con.execute(f"SELECT count(*) FROM {sql}").fetchone()[0]
    assert 2_500 < targets < 3_000 and sum(counts.values()) == targets  # the universe less its customers


def test_icp_demo_small_writes_the_sample(tmp_path, capsys):
    from icp.cli import main

    main(["demo", str(tmp_path), "--small"])
    assert (tmp_path / "universe.csv").read_bytes() == (SAMPLES / "demo-small" / "universe.csv").read_bytes()
    assert "universe:" in capsys.readouterr().out
