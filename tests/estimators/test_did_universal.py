"""Callaway-Sant'Anna with a universal base period (R did's ``base_period = "universal"``):
ATT(g,t), analytic SEs and the event-study aggregation against moderndid 0.2.0 on mpdta
(never-treated and not-yet-treated controls, with and without covariates); the -1
reference (0, no SE); Honest DiD on the universal event study against moderndid's
``honest_did`` (tests/reference/honest_did/moderndid_cs_universal.json); bad input."""

import warnings

import numpy as np
import pytest

import ipnstats
from ipnstats import SpecificationError
from ipnstats.estimators.did import event_study, honest_did
from tests.reference import load

moderndid = pytest.importorskip("moderndid", reason="moderndid is a test dependency")

COLS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
HONEST = load("honest_did/moderndid_cs_universal")


@pytest.fixture(scope="module")
def mpdta():
    frame = moderndid.load_mpdta()
    return frame.to_pandas() if hasattr(frame, "to_pandas") else frame


def _ours(data, control, covariates, base_period="universal"):
    return ipnstats.participation_effect(data, **COLS, control_group=control,
                                         covariates=covariates, base_period=base_period,
                                         n_boot=0)


def _moderndid(data, control, covariates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(data=data, yname="lemp", tname="year", idname="countyreal",
                               gname="first.treat", control_group=control.replace("_", ""),
                               xformla="~" + "+".join(covariates) if covariates else None,
                               base_period="universal", boot=False)
        return ref, moderndid.aggte(ref, type="dynamic"), moderndid.aggte(ref, type="simple")


@pytest.mark.parametrize("covariates", [[], ["lpop"]], ids=["no-covariates", "lpop"])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_cells_and_event_study_match_moderndid(mpdta, control, covariates):
    res = _ours(mpdta, control, covariates)
    ref, dynamic, simple = _moderndid(mpdta, control, covariates)
    cells = res.att_gt
    assert list(zip(cells["group"], cells["time"], strict=True)) == list(
        zip(ref.groups, ref.times, strict=True))
    np.testing.assert_allclose(cells["att"], ref.att_gt, rtol=1e-6, atol=1e-9)
    # the reference cells (t = g - 1): 0 with no SE, in both
    assert np.array_equal(np.isnan(cells["std_error"]), np.isnan(ref.se_gt))
    assert (cells.loc[cells["std_error"].isna(), "att"] == 0).all()
    assert (cells["std_error"].isna() == (cells["time"] == cells["group"] - 1)).all()
    np.testing.assert_allclose(cells["std_error"], ref.se_gt, rtol=1e-6)
    event = res.aggregate("event")
    parts = [t for t in event.params.index if t != "ATT"]
    assert [int(t.split("::")[1]) for t in parts] == list(dynamic.event_times)
    np.testing.assert_allclose(event.params[parts], dynamic.att_by_event, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(event.std_errors[parts], dynamic.se_by_event, rtol=1e-6)
    assert event.params["event::-1"] == 0 and np.isnan(event.std_errors["event::-1"])
    assert event.params["ATT"] == pytest.approx(dynamic.overall_att, rel=1e-6)
    assert event.std_errors["ATT"] == pytest.approx(dynamic.overall_se, rel=1e-6)
    assert res.params["ATT"] == pytest.approx(simple.overall_att, rel=1e-6)
    assert res.std_errors["ATT"] == pytest.approx(simple.overall_se, rel=1e-6)


def test_universal_and_varying_share_post_cells_and_the_pretest(mpdta):
    uni = _ours(mpdta, "never_treated", [])
    var = _ours(mpdta, "never_treated", [], base_period="varying")
    assert uni.glance()["base_period"].iloc[0] == "universal"
    assert var.glance()["base_period"].iloc[0] == "varying"
    assert "universal base period" in uni.estimator
    post = uni.att_gt[uni.att_gt["post"]].reset_index(drop=True)
    np.testing.assert_allclose(post["att"], var.att_gt[var.att_gt["post"]]["att"], rtol=1e-12)
    assert uni.params["ATT"] == pytest.approx(var.params["ATT"], rel=1e-12)
    # long differences to g - 1 span the same pre-period contrasts as consecutive ones:
    # the Wald statistic of every pre-treatment cell (references left out) is the same
    a, b = uni.pretrend_test(by="cells"), var.pretrend_test(by="cells")
    assert a.statistic == pytest.approx(b.statistic, rel=1e-9) and a.df_num == b.df_num
    # a pre-period cell is the sum of the varying cells from t + 1 to g - 1
    g2007 = var.att_gt[(var.att_gt["group"] == 2007) & ~var.att_gt["post"]]
    long = uni.att_gt.set_index(["group", "time"]).loc[(2007, 2004), "att"]
    assert long == pytest.approx(-g2007[g2007["time"] > 2004]["att"].sum(), rel=1e-9)
    test = uni.pretrend_test(by="event")
    assert test.hypothesis == "event-time effects -4 to -2 = 0" and test.df_num == 3


@pytest.fixture(scope="module")
def universal_event(mpdta):
    return event_study(mpdta, **COLS, window=(-4, 3), control_group="never_treated",
                       base_period="universal", n_boot=99, seed=1)


def test_event_study_reports_the_reference_without_se(mpdta, universal_event):
    es = universal_event
    assert es.reference == -1 and es.glance()["base_period"].iloc[0] == "universal"
    est = es.estimates().set_index("event")
    assert est.loc[-1, "estimate"] == 0
    assert est.loc[-1, ["std_error", "conf_low", "band_low"]].isna().all()
    assert est.drop(index=-1)[["std_error", "band_low", "band_high"]].notna().all().all()
    agg = _ours(mpdta, "never_treated", []).aggregate("event")
    np.testing.assert_allclose(es.params, agg.params[es.params.index], rtol=1e-12)
    test = es.pretrend_test()
    assert test.hypothesis == "event-time effects -4 to -2 = 0" and test.df_num == 3
    assert np.isfinite(es.wald_test(["event::0", "event::1"]).statistic)


def test_honest_did_reads_the_universal_event_study_as_moderndid(universal_event):
    es = universal_event
    res = honest_did(es, method="sd", m_values=[0.01])
    assert (res.num_pre, res.num_post) == (3, 4) and res.notes == ()
    # the coefficients honest_did reads (the -1 reference dropped) are moderndid's
    from ipnstats.estimators.did.honest import event_coefficients

    beta, sigma = event_coefficients(es)
    assert [int(t.split("::")[1]) for t in beta.index] == HONEST["events"]
    np.testing.assert_allclose(beta, HONEST["beta"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(sigma, HONEST["sigma"], rtol=1e-7, atol=1e-14)


@pytest.mark.parametrize("case", HONEST["cases"],
                         ids=lambda c: f"{c['method']}-e{c['event_time']}")
def test_honest_did_intervals_match_moderndid(universal_event, case):
    l_vec = np.zeros(4)
    l_vec[case["event_time"]] = 1.0
    res = honest_did(universal_event, method=case["method"], m_values=case["m_values"],
                     l_vec=l_vec)
    tol = 1e-3 if case["method"] == "rm" else 1e-4
    np.testing.assert_allclose(res.conf_low, case["conf_low"], atol=tol)
    np.testing.assert_allclose(res.conf_high, case["conf_high"], atol=tol)
    np.testing.assert_allclose(res.original, case["original"], atol=1e-8)


def test_a_varying_base_event_study_gets_a_note(mpdta):
    es = event_study(mpdta, **COLS, window=(-4, 3), control_group="never_treated", n_boot=0)
    res = honest_did(es, method="sd", m_values=[0.01])
    assert [n.code for n in res.notes] == ["varying_base"]


@pytest.mark.parametrize("bad", ["fixed", "Universal", None, 1])
def test_bad_base_period_is_a_clear_error(mpdta, bad):
    with pytest.raises(SpecificationError, match="base_period must be 'varying' or 'universal'"):
        ipnstats.participation_effect(mpdta, **COLS, base_period=bad, n_boot=0)
    with pytest.raises(SpecificationError, match="base_period must be"):
        event_study(mpdta, **COLS, base_period=bad, n_boot=0)


def test_regression_event_studies_take_no_universal_base(mpdta):
    with pytest.raises(SpecificationError, match="already normalises event time -1"):
        event_study(mpdta, **COLS, estimator="twfe", base_period="universal")


def test_anticipation_moves_the_reference(mpdta):
    res = ipnstats.participation_effect(mpdta, **COLS, control_group="not_yet_treated",
                                        anticipation=1, base_period="universal", n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(data=mpdta, yname="lemp", tname="year", idname="countyreal",
                               gname="first.treat", control_group="notyettreated",
                               anticipation=1, base_period="universal", boot=False)
        dynamic = moderndid.aggte(ref, type="dynamic")
    np.testing.assert_allclose(res.att_gt["att"], ref.att_gt, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.att_gt["std_error"], ref.se_gt, rtol=1e-6)
    event = res.aggregate("event")
    parts = [t for t in event.params.index if t != "ATT"]
    np.testing.assert_allclose(event.params[parts], dynamic.att_by_event, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(event.std_errors[parts], dynamic.se_by_event, rtol=1e-6)
    es = event_study(mpdta, **COLS, window=(-3, 1), anticipation=1, base_period="universal",
                     n_boot=0)
    assert es.reference == -2 and np.isnan(es.std_errors["event::-2"])
    res = honest_did(es, method="sd", m_values=[0.01])
    assert (res.num_pre, res.num_post) == (1, 3)  # -3 before the reference; -1, 0, 1 after
