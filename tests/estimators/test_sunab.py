"""Sun & Abraham (2021) against its known identity with Callaway-Sant'Anna (universal
base period, never-treated controls), against pyfixest's saturated event study, and
its control-cohort, window and always-treated conventions."""

import warnings

import numpy as np
import pandas as pd
import pytest

from ipnstats import Cluster, SpecificationError
from ipnstats.estimators.did.sunab import sun_abraham

COLS = {"outcome": "lemp", "unit": "countyreal", "time": "year", "cohort": "first.treat"}


@pytest.fixture(scope="module")
def mpdta(reference_data):
    return pd.read_csv(reference_data / "mpdta.csv")


@pytest.fixture(scope="module")
def fit(mpdta):
    return sun_abraham(mpdta, **COLS)


def universal_base_cells(data: pd.DataFrame, control: np.ndarray) -> pd.DataFrame:
    """CS ATT(g,t) with base g-1 from means: (Y_g,t - Y_g,g-1) - (Y_c,t - Y_c,g-1)."""
    means = data.pivot_table(index="first.treat", columns="year", values="lemp")
    ctrl = data[data["first.treat"].isin(control)].groupby("year")["lemp"].mean()
    rows = []
    for g in sorted(set(means.index) - set(control) - {0}):
        for t in ctrl.index:
            if t != g - 1:
                att = (means.loc[g, t] - means.loc[g, g - 1]) - (ctrl[t] - ctrl[g - 1])
                rows.append((g, t - g, att))
    return pd.DataFrame(rows, columns=["group", "event", "att"])


def test_catt_equal_cs_with_universal_base(fit, mpdta):
    cells = fit.cohort_effects.merge(universal_base_cells(mpdta, np.array([0])),
                                     on=["group", "event"], how="outer", validate="1:1")
    assert len(cells) == 12 and cells.notna().all().all()
    np.testing.assert_allclose(cells["estimate"], cells["att"], rtol=0, atol=1e-10)
    # post cells share did's base period g-1: R did's ATT(g,t), REFERENCE.md
    post = cells[cells["event"] >= 0].set_index(["group", "event"])["estimate"]
    np.testing.assert_allclose(post[[(2004, 0), (2004, 3), (2006, 1), (2007, 0)]],
                               [-0.0105, -0.1008, -0.0412, -0.0261], atol=5e-5)


def test_aggregation_is_cohort_share_weighted_average(fit, mpdta):
    cells = universal_base_cells(mpdta, np.array([0]))
    sizes = mpdta.groupby("first.treat")["countyreal"].nunique()
    cells["n"] = sizes.reindex(cells["group"]).to_numpy()
    by_event = cells.groupby("event").apply(lambda c: np.average(c["att"], weights=c["n"]),
                                            include_groups=False)
    expected = pd.Series(by_event.to_numpy(), index=[f"event::{e}" for e in by_event.index])
    np.testing.assert_allclose(fit.params[expected.index], expected, atol=1e-10)
    post = cells[cells["event"] >= 0]
    att = np.average(post["att"], weights=post["n"])
    assert abs(fit.params["ATT"] - att) < 1e-10
    assert round(att, 4) == -0.0400  # = R did's simple ATT (same cells, same weights)
    assert list(fit.params.index) == [f"event::{e}" for e in (-4, -3, -2, 0, 1, 2, 3)] + ["ATT"]
    w = fit.interaction_weights
    assert np.allclose(w.groupby("term")["weight"].sum(), 1.0)


def test_against_pyfixest_saturated_event_study(fit, mpdta):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.event_study(mpdta, yname="lemp", idname="countyreal", tname="year",
                             gname="first.treat", estimator="saturated", cluster="countyreal")
        agg = ref.aggregate()
    tidy = ref.tidy()
    parts = tidy.index.str.extract(r"rel_time::(-?[\d.]+):first_treated_period::(\d+)")
    tidy = tidy.assign(event=parts[0].astype(float).astype(int).to_numpy(),
                       group=parts[1].astype(int).to_numpy())
    both = fit.cohort_effects.merge(tidy, on=["group", "event"], validate="1:1")
    assert len(both) == 12
    np.testing.assert_allclose(both["estimate"], both["Estimate"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(both["std_error"], both["Std. Error"], rtol=1e-6)
    terms = [f"event::{int(e)}" for e in agg.index]
    np.testing.assert_allclose(fit.params[terms], agg["Estimate"].astype(float), rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors[terms], agg["Std. Error"].astype(float),
                               rtol=1e-6)
    assert fit.df_inference == 499 and fit.n_clusters == 500 and fit.nobs == 2500


def test_last_cohort_as_control(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    res = sun_abraham(treated_only, **COLS)
    assert any("last-treated cohort (2007) is the control group (there are no never-treated"
               in n for n in res.notes)
    assert res.nobs == 191 * 4  # periods from 2007 on are dropped
    expected = universal_base_cells(treated_only[treated_only["year"] < 2007],
                                    np.array([2007]))
    cells = res.cohort_effects.merge(expected, on=["group", "event"], validate="1:1")
    assert len(cells) == len(res.cohort_effects) == len(expected) == 6
    np.testing.assert_allclose(cells["estimate"], cells["att"], atol=1e-10)
    chosen = sun_abraham(mpdta, **COLS, control="last_cohort")
    assert any("control='last_cohort'" in n and "309 never-treated units left out" in n
               for n in chosen.notes)
    pd.testing.assert_series_equal(chosen.params, res.params)


def test_window_trims_without_changing_cells(fit, mpdta):
    res = sun_abraham(mpdta, **COLS, window=(-2, 1))
    assert list(res.params.index) == ["event::-2", "event::0", "event::1", "ATT"]
    assert any("342 treated observations outside the event window (-2, 1)" in n
               for n in res.notes)
    full = fit.cohort_effects.set_index(["group", "event"])["estimate"]
    inside = res.cohort_effects.set_index(["group", "event"])["estimate"]
    np.testing.assert_allclose(inside, full[inside.index], atol=1e-10)
    with pytest.raises(SpecificationError, match="reference"):
        sun_abraham(mpdta, **COLS, window=(0, 3))


def test_always_treated_dropped_and_vcov_rechosen(fit, mpdta):
    always = mpdta.countyreal.unique()[:7]
    data = mpdta.assign(**{"first.treat": mpdta["first.treat"].where(
        ~mpdta.countyreal.isin(always), 2003)})
    res = sun_abraham(data, **COLS)
    assert any(n.startswith("7 units treated in or before the first period") for n in res.notes)
    kept = sun_abraham(data[~data.countyreal.isin(always)], **COLS)
    pd.testing.assert_series_equal(res.params, kept.params)
    hc1 = fit.with_vcov("hc1")
    refit = sun_abraham(mpdta, **COLS, vcov="hc1")
    pd.testing.assert_frame_equal(hc1.cov, refit.cov)
    pd.testing.assert_frame_equal(hc1.cohort_effects, refit.cohort_effects)
    assert fit.vcov == Cluster("countyreal") and hc1.df_inference == refit.df_inference
    assert fit.cohort_effects["std_error"].iloc[0] != hc1.cohort_effects["std_error"].iloc[0]


def test_cohort_must_be_constant_within_units():
    data = pd.DataFrame({"id": [1, 1, 2, 2], "t": [1, 2, 1, 2], "y": [0.0, 1, 2, 3],
                         "g": [2, 0, 0, 0]})
    with pytest.raises(SpecificationError, match="varies within 1 units"):
        sun_abraham(data, outcome="y", unit="id", time="t", cohort="g")


def test_unidentified_periods_and_cohorts_left_out(fit, mpdta):
    full = fit.cohort_effects.set_index(["group", "event"])["estimate"]
    no_control = mpdta[~((mpdta["first.treat"] == 0) & (mpdta["year"] == 2007))]
    res = sun_abraham(no_control, **COLS)
    assert "No control unit is observed in period(s) 2007; their 191 observations" in res.notes[0]
    cells = res.cohort_effects.set_index(["group", "event"])["estimate"]
    assert (cells.index.get_level_values("group") + cells.index.get_level_values("event")
            < 2007).all()
    np.testing.assert_allclose(cells, full[cells.index], atol=1e-10)
    no_base = mpdta[~((mpdta["first.treat"] == 2006) & (mpdta["year"] == 2005))]
    res = sun_abraham(no_base, **COLS)
    assert res.notes == ("Cohort(s) 2006 are not observed at the reference period (-1) and "
                         "were left out.",)
    assert set(res.cohort_effects["group"]) == {2004, 2007} and not res.regression.collinear
