"""Goodman-Bacon decomposition: weights sum to one and reproduce the TWFE coefficient
(mpdta and simulated panels), 2x2 estimates and weights by hand, and its errors."""

import numpy as np
import pandas as pd
import pytest

from ipnstats import SpecificationError, panel_regression
from ipnstats.estimators.did.bacon import bacon_decomposition, bacon_summary


def twfe(data, outcome, unit, time, cohort) -> float:
    frame = data.assign(treated=((data[cohort] > 0) & (data[time] >= data[cohort])).astype(float))
    res = panel_regression(frame, f"{outcome} ~ treated", unit=unit, time=time,
                           panel_effects=("unit", "time"))
    return float(res.params["treated"])


def simulate(cohorts: dict[int, int], periods: range, seed: int = 0) -> pd.DataFrame:
    """Units per cohort (0 = never), unit and time effects, dynamic heterogeneous effects."""
    rng = np.random.default_rng(seed)
    g = np.repeat(list(cohorts), list(cohorts.values()))
    frame = pd.DataFrame([(i, t, gi) for i, gi in enumerate(g) for t in periods],
                         columns=["id", "t", "g"])
    unit_fe = rng.normal(size=g.size)[frame["id"]]
    since = np.where(frame["g"] > 0, frame["t"] - frame["g"], -1)
    effect = np.where(since >= 0, 1 + 0.5 * since + 0.1 * frame["g"], 0.0)
    frame["y"] = unit_fe + 0.3 * frame["t"] + effect + rng.normal(size=len(frame))
    return frame


def check_identity(data, **cols):
    decomp = bacon_decomposition(data, **cols)
    assert abs(decomp["weight"].sum() - 1) < 1e-10
    assert (decomp["weight"] > 0).all()
    total = (decomp["weight"] * decomp["estimate"]).sum()
    assert abs(total - twfe(data, **cols)) < 1e-10
    return decomp


def test_mpdta_weights_sum_to_one_and_give_twfe(reference_data):
    data = pd.read_csv(reference_data / "mpdta.csv")
    decomp = check_identity(data, outcome="lemp", unit="countyreal", time="year",
                            cohort="first.treat")
    assert len(decomp) == 9
    assert decomp["type"].value_counts().to_dict() == {
        "treated vs never treated": 3, "earlier vs later treated": 3,
        "later vs earlier treated": 3}
    summary = bacon_summary(decomp).set_index("type")
    assert round((summary["weight"] * summary["estimate"]).sum(), 4) == -0.0365
    np.testing.assert_allclose(summary["weight"], [0.862774, 0.083301, 0.053924], atol=1e-6)


@pytest.mark.parametrize("cohorts", [{0: 6, 3: 4, 5: 5, 7: 3}, {3: 4, 5: 5, 7: 3},
                                     {1: 3, 0: 2, 4: 5, 6: 4}])
def test_simulated_panels(cohorts):
    """With never-treated units, without them, and with always-treated units (cohort 1)."""
    decomp = check_identity(simulate(cohorts, range(1, 9)), outcome="y", unit="id", time="t",
                            cohort="g")
    types = set(decomp["type"])
    assert ("treated vs never treated" in types) == (0 in cohorts)
    assert ("treated vs always treated" in types) == (1 in cohorts)
    if 1 in cohorts:
        assert set(decomp.loc[decomp["type"] == "treated vs always treated", "control"]) == {
            "always"}


def test_two_cohorts_by_hand():
    """Cohorts 3 and 5 and never treated over periods 1-6: each 2x2 from group means."""
    data = simulate({0: 4, 3: 2, 5: 3}, range(1, 7), seed=3)
    m = data.groupby(["g", "t"])["y"].mean().unstack()

    def did(a, b, pre, post):
        return (m.loc[a, post].mean() - m.loc[a, pre].mean()) - (
            m.loc[b, post].mean() - m.loc[b, pre].mean())

    expected = {
        ("treated vs never treated", 3, "never"): did(3, 0, [1, 2], [3, 4, 5, 6]),
        ("treated vs never treated", 5, "never"): did(5, 0, [1, 2, 3, 4], [5, 6]),
        ("earlier vs later treated", 3, 5): did(3, 5, [1, 2], [3, 4]),
        ("later vs earlier treated", 5, 3): did(5, 3, [3, 4], [5, 6]),
    }
    decomp = check_identity(data, outcome="y", unit="id", time="t", cohort="g")
    got = {(r.type, r.treated, r.control): r.estimate for r in decomp.itertuples()}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) < 1e-12

    # Goodman-Bacon (2021) eqs. 10e-g as printed, before simplification
    n = {0: 4 / 9, 3: 2 / 9, 5: 3 / 9}
    d = {0: 0.0, 3: 4 / 6, 5: 2 / 6}
    D = ((data["g"] > 0) & (data["t"] >= data["g"])).astype(float)
    D = D - D.groupby(data["id"]).transform("mean") - D.groupby(data["t"]).transform("mean")
    v = float(((D - D.mean()) ** 2).mean())  # variance of the two-way demeaned treatment

    def share(a, b):
        return n[a] / (n[a] + n[b])

    w = {
        ("treated vs never treated", 3, "never"):
            (n[3] + n[0]) ** 2 * share(3, 0) * (1 - share(3, 0)) * d[3] * (1 - d[3]) / v,
        ("treated vs never treated", 5, "never"):
            (n[5] + n[0]) ** 2 * share(5, 0) * (1 - share(5, 0)) * d[5] * (1 - d[5]) / v,
        ("earlier vs later treated", 3, 5):
            ((n[3] + n[5]) * (1 - d[5])) ** 2 * share(3, 5) * (1 - share(3, 5))
            * (d[3] - d[5]) / (1 - d[5]) * (1 - d[3]) / (1 - d[5]) / v,
        ("later vs earlier treated", 5, 3):
            ((n[3] + n[5]) * d[3]) ** 2 * share(3, 5) * (1 - share(3, 5))
            * d[5] / d[3] * (d[3] - d[5]) / d[3] / v,
    }
    got_w = {(r.type, r.treated, r.control): r.weight for r in decomp.itertuples()}
    for key, value in w.items():
        assert abs(got_w[key] - value) < 1e-12


def test_summary_by_type():
    decomp = bacon_decomposition(simulate({0: 6, 3: 4, 5: 5}, range(1, 8)), outcome="y",
                                 unit="id", time="t", cohort="g")
    summary = bacon_summary(decomp)
    assert list(summary.columns) == ["type", "weight", "estimate"]
    assert list(summary["type"]) == ["treated vs never treated", "earlier vs later treated",
                                     "later vs earlier treated"]
    assert abs(summary["weight"].sum() - 1) < 1e-12
    later = decomp[decomp["type"] == "later vs earlier treated"]
    assert summary.loc[2, "estimate"] == pytest.approx(
        np.average(later["estimate"], weights=later["weight"]))


def test_errors_name_the_problem():
    data = simulate({0: 3, 3: 3}, range(1, 6))
    with pytest.raises(SpecificationError, match=r"unbalanced: 1 units .*\[2\]"):
        bacon_decomposition(data.drop(index=12), outcome="y", unit="id", time="t", cohort="g")
    switching = data.assign(g=np.where((data["id"] == 4) & (data["t"] == 5), 0, data["g"]))
    with pytest.raises(SpecificationError, match=r"varies within units \[4\].*absorbing"):
        bacon_decomposition(switching, outcome="y", unit="id", time="t", cohort="g")
    with pytest.raises(SpecificationError, match="same treatment path"):
        bacon_decomposition(data[data["g"] == 0], outcome="y", unit="id", time="t",
                            cohort="g")
