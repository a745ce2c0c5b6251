"""Callaway-Sant'Anna through participation_effect against R did's mpdta numbers
(REFERENCE.md §2), and the estimator's warnings."""

import numpy as np
import pandas as pd
import pytest
from reference import load

from ipnstats import Cluster
from ipnstats.estimators.did import participation_effect, sun_abraham, twfe_did

COLS = dict(outcome="y", unit="firm_id", time="year", cohort="cohort")

R_DID = load("did/mpdta")  # R did's att_gt and aggte on mpdta (tests/reference/did)


@pytest.fixture(scope="module")
def mpdta_result(reference_data):
    data = pd.read_csv(reference_data / "mpdta.csv")
    return participation_effect(data, outcome="lemp", unit="countyreal", time="year",
                                cohort="first.treat", control_group="never_treated",
                                vcov=Cluster("countyreal"), n_boot=999, seed=1)


def _close(values, expected, digits=4):
    np.testing.assert_allclose(np.asarray(values, float), expected, atol=0.5 * 10.0**-digits)


def test_att_gt_and_analytic_se(mpdta_result):
    cells, published = mpdta_result.att_gt, R_DID["att_gt"]
    assert list(cells["group"].unique()) == published["groups"]
    _close(cells["att"], [v for row in published["att"] for v in row])
    _close(cells["std_error"], [v for row in published["se"] for v in row])
    assert list(cells["base"][:4]) == [2003] * 4  # post cells: base g - 1
    assert list(cells["base"][4:6]) == [2003, 2004]  # pre cells: varying base t - 1


def test_aggregations(mpdta_result):
    aggte = R_DID["aggte"]
    simple = mpdta_result.tidy().set_index("term")
    _close([simple.loc["ATT", "estimate"], simple.loc["ATT", "std_error"]],
           [aggte["simple"]["overall_att"], aggte["simple"]["overall_se"]])
    for kind, r_type, prefix in (("event", "dynamic", "event"), ("group", "group", "cohort"),
                                 ("calendar", "calendar", "time")):
        tidy = mpdta_result.aggregate(kind).tidy().set_index("term")
        published = aggte[r_type]
        _close(tidy["estimate"][[f"{prefix}::{e}" for e in published["att_by"]]],
               list(published["att_by"].values()))
        _close(tidy.loc["ATT", ["estimate", "std_error"]],
               [published["overall_att"], published["overall_se"]])


def test_pretrend_test(mpdta_result):
    test = mpdta_result.pretrend_test()
    assert test.df_num == 5 and test.df_denom is None
    assert round(test.p_value, 5) == R_DID["pretest_p_value"]


def test_multiplier_bootstrap_close_to_analytic(reference_data, mpdta_result):
    cells = mpdta_result.att_gt
    boot_se = (cells["band_high"] - cells["att"])  # crit * bootstrap SE
    assert (cells["band_high"] - cells["band_low"] > cells["conf_high"] - cells["conf_low"]).all()
    assert mpdta_result.seed == 1 and mpdta_result.n_boot == 999
    again = participation_effect(pd.read_csv(reference_data / "mpdta.csv"), outcome="lemp",
                                 time="year", unit="countyreal", cohort="first.treat",
                                 control_group="never_treated", vcov=Cluster("countyreal"),
                                 seed=1)
    np.testing.assert_array_equal(again.att_gt["band_high"], cells["band_high"])
    assert boot_se.notna().all()


def _staggered(n_units=240, periods=range(2010, 2016), seed=3, effect=0.5):
    rng = np.random.default_rng(seed)
    cohorts = rng.choice([0, 2012, 2013, 2014], size=n_units)
    frame = pd.DataFrame([(i, t, c) for i, c in enumerate(cohorts) for t in periods],
                         columns=["firm_id", "year", "cohort"])
    alpha = rng.normal(size=n_units)[frame["firm_id"]]
    treated = (frame["cohort"] > 0) & (frame["year"] >= frame["cohort"])
    frame["y"] = (alpha + 0.1 * (frame["year"] - 2010) + effect * treated
                  + rng.normal(scale=0.3, size=len(frame)))
    frame["group_id"] = frame["firm_id"] % 12
    return frame


def test_recovers_a_known_effect():
    res = participation_effect(_staggered(), **COLS, n_boot=0)
    row = res.tidy().iloc[0]
    assert row["conf_low"] < 0.5 < row["conf_high"]
    assert res.pretrend_test().p_value > 0.01


def test_group_clusters_and_warnings():
    frame = _staggered()
    res = participation_effect(frame, **COLS, vcov=Cluster("group_id"), n_boot=0)
    assert res.n_clusters == 12
    assert any("Only 12 clusters" in n for n in res.inference_notes)
    frame.loc[frame.index[0], "group_id"] = 99  # firm 0 now in two clusters
    with pytest.raises(ValueError, match="varies within 1 units"):
        participation_effect(frame, **COLS, vcov=Cluster("group_id"), n_boot=0)


def test_unbalanced_panel_uses_units_observed_in_both_periods():
    frame = _staggered()
    gone = frame["firm_id"].isin([1, 2, 3, 4, 5]) & (frame["year"] == 2011)
    frame = frame[~gone]
    frame.loc[frame["firm_id"] == 6, "cohort"] = 2010  # treated in the first period
    res = participation_effect(frame, **COLS, control_group="never_treated", n_boot=0)
    assert any("unbalanced" in n for n in res.notes)
    assert any("1 units treated in or before the first period" in n for n in res.notes)
    wide = frame.pivot(index="firm_id", columns="year", values="y")
    cohort = frame.groupby("firm_id")["cohort"].first().reindex(wide.index)
    cohort = cohort.where(cohort != 2010)
    for _, cell in res.att_gt.iterrows():
        dy = wide[cell["time"]] - wide[cell["base"]]
        treated, control = dy[cohort == cell["group"]].dropna(), dy[cohort == 0].dropna()
        assert cell["att"] == pytest.approx(treated.mean() - control.mean(), abs=1e-12)
        se = np.sqrt(treated.var(ddof=0) / treated.size + control.var(ddof=0) / control.size)
        assert cell["std_error"] == pytest.approx(se, rel=1e-10)
        assert (cell["n_treated"], cell["n_control"]) == (treated.size, control.size)


def test_treated_units_without_a_base_period_are_left_out():
    frame = _staggered()
    joiners = frame.loc[frame["cohort"] == 2013, "firm_id"].unique()[:3]
    frame = frame[~(frame["firm_id"].isin(joiners) & (frame["year"] == 2012))]
    res = participation_effect(frame, **COLS, n_boot=0)
    assert any("3 treated units have no outcome in the period before" in n for n in res.notes)
    assert res.att_gt.query("group == 2013")["n_treated"].max() == (
        frame.query("cohort == 2013")["firm_id"].nunique() - 3)


def test_pretrend_failure_is_a_warning():
    frame = _staggered()
    lead = (frame["cohort"] > 0) & (frame["year"] < frame["cohort"])
    frame.loc[lead, "y"] += 0.4 * (frame.loc[lead, "year"] - 2010)  # treated units trend up
    res = participation_effect(frame, **COLS, n_boot=0)
    assert any(n.startswith("Pre-trend test rejects") for n in res.notes)
    assert not any("Pre-trend" in n for n in participation_effect(
        _staggered(), **COLS, n_boot=0).notes)


def test_near_singular_pretrend_covariance_is_flagged():
    # Three treated units per cohort and many periods: more pre-cells than units.
    frame = _staggered(n_units=40, periods=range(2000, 2016))
    keep = (frame["cohort"] == 0) | (frame["firm_id"] % 4 == 0)
    res = participation_effect(frame[keep], **COLS, n_boot=0)
    cells = res.pretrend_test()
    assert "has rank" in cells.note and cells.df_num < (~res.att_gt["post"]).sum()
    event = res.pretrend_test(by="event", earliest=-4)
    assert event.df_num == 4 and event.note == ""
    assert event.hypothesis == "event-time effects -4 to -1 = 0"


def test_cells_without_controls_are_named():
    frame = _staggered()
    frame.loc[frame["cohort"] == 0, "cohort"] = 2014  # no never-treated units
    res = participation_effect(frame, **COLS, control_group="not_yet_treated", n_boot=0)
    assert any("No control units for ATT(g,t)" in n for n in res.notes)
    assert np.isfinite(res.params["ATT"])
    # issue 19 cross-check: a cell that is not identified has no SE either (was 0.0)
    gt = res.att_gt
    missing = gt["att"].isna()
    assert missing.any() and gt.loc[missing, ["std_error", "conf_low"]].isna().all().all()
    assert np.isfinite(gt.loc[~missing, "std_error"]).all()


def test_twfe_warns_when_adoption_is_staggered():
    res = twfe_did(_staggered(), **COLS)
    assert "ATT" in res.params.index
    assert any("Goodman-Bacon" in n for n in res.notes)


def test_options_are_checked():
    frame = _staggered()
    with pytest.raises(ValueError, match="control_group"):
        participation_effect(frame, **COLS, control_group="never")
    with pytest.raises(ValueError, match="'outcome'|not in the data"):
        participation_effect(frame, outcome="nope", unit="firm_id", time="year", cohort="cohort")


def test_sunab_and_decomposition():
    frame = _staggered()
    sa = sun_abraham(frame, **COLS, vcov=Cluster("firm_id"))
    row = sa.tidy().set_index("term").loc["ATT"]
    assert row["conf_low"] < 0.5 < row["conf_high"]
    assert sa.df_inference == frame["firm_id"].nunique() - 1  # clustered by firm: t(G - 1)
    twfe = twfe_did(frame, **COLS)
    decomp = twfe.decomposition()
    assert decomp["weight"].sum() == pytest.approx(1.0)
    assert (decomp["weight"] * decomp["estimate"]).sum() == pytest.approx(
        twfe.params["ATT"], abs=1e-10)
    assert decomp.attrs["note"] == ""
    # Unbalanced: the decomposition is of the balanced sub-panel, and says so.
    gone = frame[~((frame["firm_id"] < 4) & (frame["year"] == 2012))]
    note = twfe_did(gone, **COLS).decomposition().attrs["note"]
    assert "4 left out" in note
    with pytest.raises(ValueError, match="estimator"):
        participation_effect(frame, **COLS, estimator="bjs")


def test_no_estimable_cell_is_a_clear_error():
    frame = _staggered()
    frame["cohort"] = np.where(frame["cohort"] > 0, 2010, 0)  # every joiner always treated
    with pytest.raises(ValueError, match="no ATT\\(g,t\\) can be estimated"):
        participation_effect(frame, **COLS, n_boot=0)


def test_default_vcov_clusters_on_the_unit_column():
    """vcov=None clusters on ``unit``, whatever that column is called."""
    from ipnstats import event_study

    frame = _staggered().rename(columns={"firm_id": "id"})
    cols = dict(outcome="y", unit="id", time="year", cohort="cohort")
    default = participation_effect(frame, **cols, n_boot=0)
    explicit = participation_effect(frame, **cols, vcov=Cluster("id"), n_boot=0)
    pd.testing.assert_series_equal(default.params, explicit.params)
    pd.testing.assert_frame_equal(default.cov, explicit.cov)
    assert default.vcov == Cluster("id") and default.n_clusters is None
    for estimator in (twfe_did, sun_abraham):
        res = estimator(frame, **cols)
        assert res.vcov == Cluster("id") and res.n_clusters == frame["id"].nunique()
    study = event_study(frame, **cols, n_boot=0)
    assert np.isfinite(study.params["ATT"])


def test_all_cells_at_once_equal_cell_by_cell():
    """The vectorised no-covariate cells equal cell_effect cell by cell (unbalanced,
    missing outcomes, both control groups, anticipation)."""
    from ipnstats.estimators.did.att_gt import (
        _base_index,
        cell_effect,
        control_mask,
        group_time_effects,
        wide_panel,
    )

    frame = _staggered(n_units=150, periods=range(2009, 2016))
    rng = np.random.default_rng(5)
    frame.loc[rng.random(len(frame)) < 0.05, "y"] = np.nan
    frame = frame[rng.random(len(frame)) > 0.05]
    for control_group, anticipation in (("not_yet_treated", 0), ("never_treated", 1)):
        panel = wide_panel(frame, "y", "firm_id", "year", "cohort", anticipation)
        gt = group_time_effects(panel, control_group, anticipation)
        assert len(gt.cells) > 0
        for k, cell in gt.cells.iterrows():
            ti = int(np.flatnonzero(panel.periods == cell["time"])[0])
            bi = _base_index(panel.periods, cell["group"], ti, anticipation)
            dy = panel.Y[:, ti] - panel.Y[:, bi]
            present = np.isfinite(dy)
            treated = present & (panel.cohorts == cell["group"])
            control = present & control_mask(panel.cohorts, cell["group"], cell["time"],
                                             cell["base"], control_group, anticipation)
            in_cell = treated | control
            att, inf = cell_effect(dy[in_cell], treated[in_cell], control[in_cell])
            full = np.zeros(panel.cohorts.size)
            full[in_cell] = inf * panel.cohorts.size / in_cell.sum()
            np.testing.assert_allclose(cell["att"], att, rtol=1e-12)
            np.testing.assert_allclose(gt.influence[:, k], full, rtol=1e-12, atol=1e-12)
            assert (cell["n_treated"], cell["n_control"]) == (treated.sum(), control.sum())


def test_wide_panel_without_and_with_duplicate_rows_agree():
    """The factorised pivot (unique unit-periods) equals pandas' pivot_table, which
    handles duplicated rows (first value wins), on shuffled rows with gaps."""
    from ipnstats.estimators.did.att_gt import wide_panel

    frame = _staggered().sample(frac=0.97, random_state=1)
    frame["firm_id"] = "f" + frame["firm_id"].astype(str)
    frame["x"] = np.arange(len(frame), dtype=float)
    duplicated = pd.concat([frame, frame.iloc[:5].assign(y=99.0, x=-1.0)])
    fast = wide_panel(frame, "y", "firm_id", "year", "cohort", covariates=("x",))
    slow = wide_panel(duplicated, "y", "firm_id", "year", "cohort", covariates=("x",))
    for name in ("Y", "periods", "cohorts", "units", "covariates"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    assert fast.n_incomplete == slow.n_incomplete > 0


def test_bootstrap_draws_do_not_depend_on_the_block_size():
    from ipnstats.estimators.did.bootstrap import multiplier_bootstrap

    influence = np.random.default_rng(0).normal(size=(500, 4))
    clusters = np.arange(500) % 37
    for cl in (None, clusters):
        runs = [multiplier_bootstrap(influence, n_boot=199, rng=np.random.default_rng(1),
                                     clusters=cl, chunk_size=size) for size in (1, 3000, 10**7)]
        for se, crit in runs[1:]:  # the same draws; products may round differently
            np.testing.assert_allclose(se, runs[0][0], rtol=1e-12)
            assert crit == pytest.approx(runs[0][1], rel=1e-12)


def test_cluster_values_missing_for_a_whole_unit_are_refused():
    frame = _staggered().astype({"group_id": float})
    frame.loc[(frame["firm_id"] == 1) & (frame["year"] == 2011), "group_id"] = np.nan
    res = participation_effect(frame, **COLS, vcov=Cluster("group_id"), n_boot=0)
    assert res.n_clusters == 12  # a missing row of a unit with a known cluster is ignored
    frame.loc[frame["firm_id"] == 0, "group_id"] = np.nan
    with pytest.raises(ValueError, match="missing for every row of 1 units"):
        participation_effect(frame, **COLS, vcov=Cluster("group_id"), n_boot=0)
