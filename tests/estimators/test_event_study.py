"""Event studies (CS, TWFE) and stage effects by imputation: recovery of known dynamic
effects, agreement with their building blocks, bands and tests."""

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.estimators.did.event_study import sup_t_critical
from ipnstats.figures import event_study_plot

COLS = dict(outcome="y", unit="firm_id", time="year", cohort="cohort")


def _dynamic_panel(n_units=400, periods=range(2008, 2020), seed=7, path=(0.1, 0.2, 0.3)):
    """Staggered joins; the effect at event time e is path[min(e, len-1)]."""
    rng = np.random.default_rng(seed)
    cohorts = rng.choice([0, 0, 2011, 2013, 2015, 2017], size=n_units)
    frame = pd.DataFrame([(i, t, c) for i, c in enumerate(cohorts) for t in periods],
                         columns=["firm_id", "year", "cohort"])
    e = np.where(frame["cohort"] > 0, frame["year"] - frame["cohort"], -1)
    effect = np.where(e >= 0, np.asarray(path)[np.clip(e, 0, len(path) - 1)], 0.0)
    frame["y"] = (rng.normal(size=n_units)[frame["firm_id"]] + 0.05 * (frame["year"] - 2008)
                  + effect + rng.normal(scale=0.2, size=len(frame)))
    frame["member"] = (e >= 0).astype(int)
    stage = pd.cut(np.where(e >= 0, e, np.nan), [-0.5, 1.5, 3.5, np.inf],
                   labels=["novice", "developing", "expert"])
    frame["stage"] = stage
    return frame


def test_cs_event_study_recovers_the_path_and_matches_the_aggregation():
    frame = _dynamic_panel()
    es = ipnstats.event_study(frame, **COLS, window=(-3, 4), n_boot=499, seed=2)
    est = es.estimates().set_index("event")
    assert list(est.index) == [-3, -2, -1, 0, 1, 2, 3, 4]
    truth = {-3: 0, -2: 0, -1: 0, 0: 0.1, 1: 0.2, 2: 0.3, 3: 0.3, 4: 0.3}
    for e, value in truth.items():
        assert est.loc[e, "conf_low"] < value < est.loc[e, "conf_high"]
    # The same numbers as the full event-time aggregation of participation_effect.
    agg = ipnstats.participation_effect(frame, **COLS, n_boot=0).aggregate("event")
    for e in est.index:
        assert est.loc[e, "estimate"] == pytest.approx(agg.params[f"event::{e}"], abs=1e-12)
        assert est.loc[e, "std_error"] == pytest.approx(agg.std_errors[f"event::{e}"], rel=1e-10)
    # The uniform band is wider than the pointwise interval, everywhere.
    assert (est["band_low"] < est["conf_low"]).all() and (est["band_high"] > est["conf_high"]).all()
    assert es.params["ATT"] == pytest.approx(est.loc[0:4, "estimate"].mean())
    assert es.pretrend_test().p_value > 0.01


def test_twfe_event_study_bins_end_points_and_references_minus_one():
    frame = _dynamic_panel()
    es = ipnstats.event_study(frame, **COLS, window=(-3, 4), estimator="twfe")
    est = es.estimates().set_index("event")
    assert -1 not in est.index and es.reference == -1
    # Effects are constant from e = 2 on, so binning e >= 4 is harmless here.
    for e, value in {0: 0.1, 1: 0.2, 2: 0.3, 4: 0.3}.items():
        assert est.loc[e, "conf_low"] < value < est.loc[e, "conf_high"]
    assert any("pooled into the end points" in n for n in es.notes)
    test = es.pretrend_test()
    assert test.df_num == 2 and test.hypothesis == "event-time effects -3 to -2 = 0"


def test_sup_t_critical_value_is_between_pointwise_and_bonferroni():
    V = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.5], [0.2, 0.5, 1.0]])
    crit = sup_t_critical(V, None, seed=0)
    assert 1.96 < crit < 2.394  # Bonferroni for 3 at 5%: 2.394
    # Perfectly correlated estimates need no widening.
    assert sup_t_critical(np.ones((3, 3)), None, seed=0) == pytest.approx(1.96, abs=0.03)
    assert sup_t_critical(np.eye(1), 10, seed=0) == pytest.approx(2.228, abs=1e-3)


def test_event_study_plot_and_bad_windows():
    frame = _dynamic_panel(n_units=150)
    es = ipnstats.event_study(frame, **COLS, window=(-2, 3), n_boot=99)
    fig = event_study_plot(es)
    assert fig.axes[0].get_xlabel() == "Years since joining"
    with pytest.raises(SpecificationError, match="window"):
        ipnstats.event_study(frame, **COLS, window=(0, 3))
    with pytest.raises(SpecificationError, match="estimator"):
        ipnstats.event_study(frame, **COLS, estimator="bjs")


def test_stage_effects_recover_rising_effects_and_test_the_rise():
    frame = _dynamic_panel()
    res = ipnstats.stage_effects(frame, outcome="y", n_boot=199, seed=1)
    tidy = res.tidy().set_index("term")
    # Stage truths: novice e in {0, 1} -> 0.15; developing {2, 3} -> 0.3; expert 0.3.
    for stage, value in {"novice": 0.15, "developing": 0.3, "expert": 0.3}.items():
        row = tidy.loc[f"stage::{stage}"]
        assert row["conf_low"] < value < row["conf_high"]
    rise = res.rise_test().set_index("contrast")
    assert rise.loc["developing - novice", "p_value"] < 0.01
    assert rise.loc["all steps", "p_value"] == rise["p_value"].iloc[:2].max()
    assert res.equality_test().p_value < 0.01
    assert res.extra["n_novice"] == (frame["stage"] == "novice").sum()


def test_stage_point_estimates_are_the_mean_imputed_effects():
    frame = _dynamic_panel(n_units=120, seed=3)
    res = ipnstats.stage_effects(frame, outcome="y", n_boot=20)
    # Imputation by hand: two-way fixed effects on untreated rows by least squares.
    untreated = frame[frame["member"] == 0]
    X = pd.get_dummies(untreated[["firm_id", "year"]].astype(str), drop_first=True,
                       dtype=float).assign(const=1.0)
    beta = np.linalg.lstsq(X.to_numpy(), untreated["y"].to_numpy(), rcond=None)[0]
    treated = frame[frame["member"] == 1]
    Xt = pd.get_dummies(treated[["firm_id", "year"]].astype(str), dtype=float)
    Xt = Xt.reindex(columns=X.columns, fill_value=0.0).assign(const=1.0)
    tau = treated["y"].to_numpy() - Xt.to_numpy() @ beta
    by_stage = pd.Series(tau).groupby(treated["stage"].to_numpy(), observed=True).mean()
    for stage, value in by_stage.items():
        assert res.params[f"stage::{stage}"] == pytest.approx(value, abs=1e-7)
    assert res.params["ATT"] == pytest.approx(tau.mean(), abs=1e-7)


def test_stage_effects_report_what_they_cannot_impute():
    frame = _dynamic_panel(n_units=150)
    # Firms of cohort 2011 lose their years before joining.
    frame = frame[~((frame["cohort"] == 2011) & (frame["year"] < 2011))]
    res = ipnstats.stage_effects(frame, outcome="y", n_boot=20,
                                 vcov=Cluster("firm_id"))
    assert any("cannot be imputed" in n for n in res.notes)
    with pytest.raises(SpecificationError, match="Cluster"):
        ipnstats.stage_effects(frame, outcome="y", vcov="hc1")


def test_sunab_event_study_recovers_the_path():
    frame = _dynamic_panel()
    es = ipnstats.event_study(frame, **COLS, window=(-3, 4), estimator="sunab")
    est = es.estimates().set_index("event")
    assert -1 not in est.index and es.reference == -1
    for e, value in {-3: 0, -2: 0, 0: 0.1, 1: 0.2, 2: 0.3, 4: 0.3}.items():
        assert est.loc[e, "conf_low"] < value < est.loc[e, "conf_high"]
    assert (est["band_low"] < est["conf_low"]).all()
