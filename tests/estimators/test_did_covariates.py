"""Callaway-Sant'Anna with covariates through participation_effect: R did's published
mpdta numbers (xformla = ~lpop) and moderndid's analytic SEs for every cell and every
aggregation, for the doubly robust, IPW and outcome-regression cell estimators."""

import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load

import ipnstats

COLS = dict(outcome="y", unit="firm_id", time="year", cohort="cohort")

moderndid = pytest.importorskip("moderndid", reason="moderndid is a test dependency")

# R did 2.1.2 reference manual, att_gt(..., xformla = ~lpop), est_method "dr"
# (tests/reference/did).
R_DID_DR = load("did/mpdta_lpop_dr")
PUBLISHED_DR = [v for row in R_DID_DR["att_gt"]["att"] for v in row]
PUBLISHED_DYNAMIC = {"ATT": R_DID_DR["aggte"]["dynamic"]["overall_att"],
                     **{f"event::{e}": v
                        for e, v in R_DID_DR["aggte"]["dynamic"]["att_by"].items()}}


@pytest.fixture(scope="module")
def mpdta(reference_data):
    return pd.read_csv(reference_data / "mpdta.csv")


def _ours(data, method, control="never_treated"):
    return ipnstats.participation_effect(
        data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
        control_group=control, covariates=["lpop"], est_method=method,
        vcov=ipnstats.Cluster("countyreal"), n_boot=0)


def _reference(data, method, control="nevertreated"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return moderndid.att_gt(data=data, yname="lemp", tname="year", idname="countyreal",
                                gname="first.treat", xformla="~lpop", est_method=method,
                                control_group=control, boot=False)


def test_published_doubly_robust_numbers(mpdta):
    res = _ours(mpdta, "dr")
    np.testing.assert_allclose(res.att_gt["att"], PUBLISHED_DR, atol=0.5e-4)
    dynamic = res.aggregate("event").params
    for term, value in PUBLISHED_DYNAMIC.items():
        assert dynamic[term] == pytest.approx(value, abs=0.5e-4), term


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_cells_and_aggregations_match_moderndid(mpdta, method, control):
    res = _ours(mpdta, method, control)
    ref = _reference(mpdta, method, control.replace("_", ""))
    np.testing.assert_allclose(res.att_gt["att"], ref.att_gt, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.att_gt["std_error"], ref.se_gt, rtol=1e-6)
    for kind, mkind in (("simple", "simple"), ("event", "dynamic"), ("group", "group"),
                        ("calendar", "calendar")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agg = moderndid.aggte(ref, type=mkind)
        ours = res.aggregate(kind)
        assert ours.params["ATT"] == pytest.approx(agg.overall_att, rel=1e-7), kind
        assert ours.std_errors["ATT"] == pytest.approx(agg.overall_se, rel=1e-6), kind
        if kind != "simple":
            parts = [t for t in ours.params.index if t != "ATT"]
            np.testing.assert_allclose(ours.params[parts], agg.att_by_event, rtol=1e-7)
            np.testing.assert_allclose(ours.std_errors[parts], agg.se_by_event, rtol=1e-6)


def test_a_cell_that_cannot_be_estimated_is_reported():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        cohort = [0, 2012, 2013][i % 3]
        x = 5.0 if cohort == 2013 else rng.normal()  # cohort 2013 separates perfectly
        for t in range(2010, 2015):
            rows.append((i, t, cohort, x + rng.normal(scale=0.01),
                         rng.normal() + 0.3 * (cohort > 0 and t >= cohort)))
    frame = pd.DataFrame(rows, columns=["firm_id", "year", "cohort", "x", "y"])
    frame["x"] = np.where(frame["cohort"] == 2013, 5.0, frame.groupby("firm_id")["x"]
                          .transform("first"))
    res = ipnstats.participation_effect(frame, **COLS, covariates=["x"],
                                        control_group="never_treated", n_boot=0)
    assert any("could not be estimated" in n for n in res.notes)
    assert np.isfinite(res.params["ATT"])
    with pytest.raises(ValueError, match="est_method"):
        ipnstats.participation_effect(frame, **COLS, covariates=["x"], est_method="ols")
    with pytest.raises(ValueError, match="covariate"):
        ipnstats.participation_effect(frame, **COLS, covariates=["nope"])
