"""Charts carry only the rows they draw: a histogram of 100,000 customers sends 40 bars, not 100,000 rows."""

import numpy as np
import pandas as pd
import vl_convert as vlc

from icp.charts import value_distribution


def test_the_value_histogram_is_binned_before_it_reaches_the_browser():
    rng = np.random.default_rng(7)
    scores = pd.DataFrame({"value_score": rng.uniform(0, 100, 100_000)})
    scores.loc[::50, "value_score"] = np.nan  # unscored customers are left out
    scores.loc[0, "value_score"] = 100.0  # the top score belongs to the last bin, not a bin of its own
    scores["is_best"] = scores["value_score"] >= 75
    chart = value_distribution(scores, 75.0)
    data = chart.layer[0].data
    assert len(data) <= 40
    assert data["customers"].sum() == scores["value_score"].notna().sum()
    assert set(data["start"]) == set(range(0, 100, 5))
    best = data.loc[data["group"] == "best customers", "customers"].sum()
    assert best == scores["is_best"].sum()
    assert data.loc[data["start"] == 95, "customers"].sum() == (scores["value_score"] >= 95).sum()
    assert vlc.vegalite_to_svg(chart.to_json()).startswith("<svg")
