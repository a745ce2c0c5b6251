"""Observation weights in panel_regression (issue 19): analytic and frequency weights
against pyfixest's ``feols(weights=, weights_type=)`` on the example panel and on random
unbalanced designs, against two oracles independent of pyfixest (weights of one are
the unweighted fit; integer frequency weights are the fit on the data with rows
repeated), and every refusal and validation error."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ipnstats
from ipnstats import Cluster, DataError, SpecificationError, panel_regression
from ipnstats.inference.sandwich import clip_to_psd

pf = pytest.importorskip("pyfixest")

FORMULA = "log_revenue ~ member + log_employees + profit_margin"
#: ours: (estimator, panel_effects); pyfixest: the fixed-effects part of the formula
MODELS = {"pooled": ("pooled", (), ""), "unit": ("within", ("unit",), " | firm"),
          "time": ("within", ("time",), " | year"),
          "two_way": ("within", ("unit", "time"), " | firm + year")}
VCOVS = {"iid": "iid", "hc1": "hetero", Cluster("firm"): {"CRV1": "firm"},
         Cluster("firm", "year"): {"CRV1": "firm+year"}}
TOL = {"rtol": 1e-8, "atol": 0}


@pytest.fixture(scope="module")
def firm_year():
    """The example panel with string firm ids and a positive weight (employees)."""
    fy = ipnstats.load_study(EXAMPLE).firm_year
    return fy.assign(firm=fy["firm_id"].astype(str), w=fy["employees"].astype(float))


def _feols(formula: str, data: pd.DataFrame, kind: str, vcov, **kw):
    """pyfixest with converged demeaning and no singleton removal (ours keeps them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, weights="w", weights_type=kind, vcov=vcov,
                        fixef_tol=1e-13, fixef_rm="none", **kw)


def _same(ours, theirs, what: str = "") -> None:
    """Estimates and standard errors agree; a two-way clustered covariance that ours
    repaired (not PSD: eigenvalues clipped, pyfixest does not) is compared with
    pyfixest's after the same repair."""
    tidy = theirs.tidy()
    names = list(ours.params.index)
    np.testing.assert_allclose(ours.params, tidy.loc[names, "Estimate"], **TOL,
                               err_msg=f"estimates {what}")
    expected = tidy.loc[names, "Std. Error"].to_numpy()
    if ours.has_note("covariance_repaired"):
        order = [list(tidy.index).index(n) for n in names]
        repaired, changed = clip_to_psd(theirs._vcov[np.ix_(order, order)])
        assert changed, what
        expected = np.sqrt(np.diag(repaired))
    np.testing.assert_allclose(ours.std_errors, expected, **TOL,
                               err_msg=f"standard errors {what}")


# --- pyfixest on the example panel -------------------------------------------------------

@pytest.mark.parametrize("kind", ["aweights", "fweights"])
@pytest.mark.parametrize("model", list(MODELS))
def test_example_panel_matches_pyfixest(firm_year, kind, model):
    estimator, effects, fe = MODELS[model]
    ours = panel_regression(firm_year, FORMULA, unit="firm", time="year", estimator=estimator,
                            panel_effects=effects, weights="w", weights_type=kind)
    theirs = _feols(FORMULA + fe, firm_year, kind, "iid")
    for spec, their_spec in VCOVS.items():
        _same(ours.with_vcov(spec), theirs.vcov(their_spec), f"{kind} {model} {spec}")
        assert ours.with_vcov(spec).df_inference == pytest.approx(theirs._df_t)
    assert ours.nobs == theirs._N == (firm_year["employees"].sum() if kind == "fweights"
                                      else len(firm_year))
    assert ours.fit["r2"] == pytest.approx(theirs._r2, rel=1e-10)
    if fe:
        assert ours.fit["r2_within"] == pytest.approx(theirs._r2_within, rel=1e-10)
    assert ours.glance()["weights"].item() == f"{kind}(w)"


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
@pytest.mark.parametrize("hc", ["hc2", "hc3"])
def test_pooled_hc2_hc3_match_pyfixest(firm_year, kind, hc):
    ours = panel_regression(firm_year, FORMULA, unit="firm", time="year", estimator="pooled",
                            weights="w", weights_type=kind, vcov=hc)
    # pyfixest scales HC2/HC3 by n/(n-K) unless k_adj=False; ours takes no factor
    theirs = _feols(FORMULA, firm_year, kind, hc.upper(), ssc=pf.ssc(k_adj=False))
    _same(ours, theirs, f"{kind} {hc}")


# --- pyfixest on random unbalanced designs -----------------------------------------------

@st.composite
def designs(draw):
    """An unbalanced panel (every unit keeps period 0, so units and periods connect),
    positive weights (integers for fweights), a model and a kind of weights."""
    seed = draw(st.integers(0, 2**32 - 1))
    units, periods = draw(st.integers(8, 20)), draw(st.integers(3, 6))
    kind = draw(st.sampled_from(["aweights", "fweights"]))
    rng = np.random.default_rng(seed)
    unit, time = np.meshgrid(np.arange(units), np.arange(periods), indexing="ij")
    frame = pd.DataFrame({"unit": unit.ravel(), "time": time.ravel()})
    frame = frame[(frame["time"] == 0) | (rng.random(len(frame)) < 0.7)].reset_index(drop=True)
    n = len(frame)
    frame["x1"] = rng.normal(size=n) + rng.normal(size=units)[frame["unit"]]
    frame["x2"] = rng.normal(size=n)
    frame["y"] = (0.5 * frame["x1"] - frame["x2"] + rng.normal(size=units)[frame["unit"]]
                  + rng.normal(size=n) * (1 + frame["x2"] ** 2))
    frame["w"] = (rng.integers(1, 5, n).astype(float) if kind == "fweights"
                  else rng.uniform(0.2, 3.0, n))
    return frame, kind, draw(st.sampled_from(list(MODELS)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_random_designs_match_pyfixest(design):
    frame, kind, model = design
    estimator, effects, fe = MODELS[model]
    ours = panel_regression(frame, "y ~ x1 + x2", unit="unit", time="time",
                            estimator=estimator, panel_effects=effects, weights="w",
                            weights_type=kind)
    fe = fe.replace("firm", "unit").replace("year", "time")
    theirs = _feols("y ~ x1 + x2" + fe, frame, kind, "iid")
    for spec, their_spec in {"iid": "iid", "hc1": "hetero", Cluster("unit"): {"CRV1": "unit"},
                             Cluster("unit", "time"): {"CRV1": "unit+time"}}.items():
        _same(ours.with_vcov(spec), theirs.vcov(their_spec), f"{kind} {model} {spec}")
    assert ours.fit["r2"] == pytest.approx(theirs._r2, rel=1e-8)


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
@pytest.mark.parametrize("hc", ["hc2", "hc3"])
def test_unit_effects_hc2_hc3_equal_the_weighted_dummy_regression(kind, hc):
    """pyfixest refuses HC2/HC3 with absorbed effects; the dummy regression is the same
    model, so its leverages (weighted ``w_i / W_g`` for the effects) must agree."""
    frame = _small_panel(kind)
    ours = panel_regression(frame, "y ~ x1 + x2", unit="unit", time="time",
                            panel_effects=("unit",), weights="w", weights_type=kind, vcov=hc)
    theirs = _feols("y ~ x1 + x2 + C(unit)", frame, kind, hc.upper(), ssc=pf.ssc(k_adj=False))
    _same(ours, theirs, f"{kind} {hc}")


def _small_panel(kind: str, seed: int = 7) -> pd.DataFrame:
    """12 units, up to 4 periods, heteroskedastic errors, weights of ``kind``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"unit": np.repeat(np.arange(12), 4), "time": np.tile(np.arange(4), 12)})
    frame = frame[rng.random(len(frame)) < 0.85].reset_index(drop=True)
    n = len(frame)
    frame["x1"] = rng.normal(size=n)
    frame["x2"] = rng.normal(size=n)
    frame["y"] = frame["x1"] + rng.normal(size=n) * (1 + frame["x2"] ** 2)
    frame["w"] = (rng.integers(1, 5, n).astype(float) if kind == "fweights"
                  else rng.uniform(0.2, 3.0, n))
    return frame


# --- oracles independent of pyfixest ----------------------------------------------------

FIT_STATS = ("df_resid", "r2", "r2_adj", "r2_within", "sigma", "loglik", "aic", "bic")


def _same_fit(a: dict, b: dict, rel: float) -> None:
    for name in FIT_STATS:
        if b[name] is None:
            assert a[name] is None, name
        else:
            assert a[name] == pytest.approx(b[name], rel=rel, nan_ok=True), name


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
@pytest.mark.parametrize("model", list(MODELS))
def test_weights_of_one_reproduce_the_unweighted_fit(firm_year, kind, model):
    estimator, effects, _ = MODELS[model]
    args = dict(unit="firm", time="year", estimator=estimator, panel_effects=effects)
    plain = panel_regression(firm_year, FORMULA, **args)
    ones = panel_regression(firm_year.assign(w=1), FORMULA, **args, weights="w",
                            weights_type=kind)
    for spec in ("iid", "hc1", Cluster("firm"), Cluster("firm", "year")):
        a, b = plain.with_vcov(spec), ones.with_vcov(spec)
        np.testing.assert_array_equal(a.params, b.params)
        np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-13)
    assert ones.nobs == plain.nobs
    _same_fit(ones.fit, plain.fit, 1e-13)
    pd.testing.assert_frame_equal(ones.glance().drop(columns="weights"), plain.glance(),
                                  check_exact=False, rtol=1e-13)


def _repeated(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row repeated ``w`` times: what integer frequency weights stand for."""
    return frame.loc[frame.index.repeat(frame["w"].astype(int))].reset_index(drop=True)


@pytest.mark.parametrize("model", list(MODELS))
def test_frequency_weights_equal_the_fit_on_repeated_rows(model):
    estimator, effects, _ = MODELS[model]
    frame = _small_panel("fweights", seed=11)
    args = dict(unit="unit", time="time", estimator=estimator, panel_effects=effects)
    weighted = panel_regression(frame, "y ~ x1 + x2", **args, weights="w",
                                weights_type="fweights")
    repeated = panel_regression(_repeated(frame), "y ~ x1 + x2", **args)
    specs = ["iid", "hc0", "hc1", Cluster("unit"), Cluster("unit", "time")]
    specs += ["hc2", "hc3"] if model != "two_way" else []
    for spec in specs:
        a, b = weighted.with_vcov(spec), repeated.with_vcov(spec)
        np.testing.assert_allclose(a.params, b.params, rtol=1e-10, err_msg=str(spec))
        np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-10, err_msg=str(spec))
        assert a.df_inference == b.df_inference
    assert weighted.nobs == repeated.nobs == frame["w"].sum()
    _same_fit(weighted.fit, repeated.fit, 1e-10)


def test_analytic_weights_do_not_depend_on_their_scale(firm_year):
    fits = [panel_regression(firm_year.assign(w=firm_year["w"] * c), FORMULA, unit="firm",
                             time="year", weights="w", vcov=Cluster("firm")) for c in (1, 1e-3)]
    np.testing.assert_allclose(fits[0].params, fits[1].params, rtol=1e-10)
    np.testing.assert_allclose(fits[0].std_errors, fits[1].std_errors, rtol=1e-10)
    for name in ("r2", "r2_within", "loglik"):
        assert fits[0].fit[name] == pytest.approx(fits[1].fit[name], rel=1e-10)


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
def test_first_differences_with_unit_constant_weights(kind):
    """Weights constant within units give each difference its unit's weight: the
    weighted regression of the differences (pyfixest on the differenced frame)."""
    frame = _small_panel(kind).sort_values(["unit", "time"]).reset_index(drop=True)
    frame["w"] = frame.groupby("unit")["w"].transform("first")
    ours = panel_regression(frame, "y ~ x1 + x2", unit="unit", time="time",
                            estimator="first_difference", weights="w", weights_type=kind)
    lagged = frame.groupby("unit")[["time", "y", "x1", "x2"]].shift()
    diffs = (frame[["y", "x1", "x2"]] - lagged[["y", "x1", "x2"]]).assign(
        w=frame["w"], unit=frame["unit"])[frame["time"] - lagged["time"] == 1]
    theirs = _feols("y ~ x1 + x2", diffs, kind, "iid")
    for spec, their_spec in (("iid", "iid"), ("hc1", "hetero"),
                             (Cluster("unit"), {"CRV1": "unit"})):
        _same(ours.with_vcov(spec), theirs.vcov(their_spec), f"{kind} {spec}")


# --- refusals and validation --------------------------------------------------------------

def _fit(frame, **kw):
    kw = {"unit": "firm", "time": "year", "weights": "w"} | kw
    return panel_regression(frame, FORMULA, **kw)


@pytest.mark.parametrize("estimator, rule", [("random", "xtreg, re takes no weights"),
                                             ("between", "xtreg, be takes no weights")])
def test_estimators_without_weights_refuse_them(firm_year, estimator, rule):
    with pytest.raises(SpecificationError, match=rf"not available for the {estimator} "
                       rf"estimator: Stata's {rule}"):
        _fit(firm_year, estimator=estimator)


def test_first_differences_refuse_weights_that_vary_within_units(firm_year):
    with pytest.raises(SpecificationError, match=r"constant within units .* 'w' varies "
                       r"within [\d,]+ unit\(s\)"):
        _fit(firm_year, estimator="first_difference")


def test_wild_bootstrap_refuses_a_weighted_fit(firm_year):
    res = _fit(firm_year)
    with pytest.raises(SpecificationError, match=r"not available for weighted fits "
                       r"\(aweights\(w\)\)"):
        ipnstats.wild_bootstrap(res, "member", cluster="firm")


@pytest.mark.parametrize("kw, error, message", [
    ({"weights": "wt"}, SpecificationError, "weights column 'wt' is not in the data; did "
                                            "you mean 'w'"),
    ({"weights": "industry"}, SpecificationError, "weights column 'industry' is not numeric"),
    ({"weights": 3}, SpecificationError, "weights must be the name of a column, got 3"),
    ({"weights_type": "pweights"}, SpecificationError,
     "weights_type must be 'aweights' or 'fweights', got 'pweights'"),
])
def test_bad_weight_options_are_refused(firm_year, kw, error, message):
    with pytest.raises(error, match=message):
        _fit(firm_year, **kw)


@pytest.mark.parametrize("value, kind, what", [
    (-1.0, "aweights", "negative value"), (np.inf, "aweights", "infinite value"),
    (-np.inf, "fweights", "infinite value"), (2.5, "fweights", "non-integer value")])
def test_bad_weight_values_name_the_rows(firm_year, value, kind, what):
    frame = firm_year.set_axis(pd.RangeIndex(100, 100 + len(firm_year)))
    frame.loc[[107, 150, 151], "w"] = value
    with pytest.raises(DataError, match=rf"'w' has 3 {what}\(s\) \(row labels 107, 150, "
                       rf"151\)"):
        _fit(frame, weights_type=kind)


def test_rows_with_a_missing_weight_are_counted_with_the_incomplete_rows(firm_year):
    frame = firm_year.copy()
    frame.loc[frame.index[:7], "w"] = np.nan
    res = _fit(frame)
    assert res.nobs == len(frame) - 7
    note = next(n for n in res.notes if n.code == "missing_dropped")
    assert note == ("7 rows with a missing value in a formula variable or the weights "
                    "column 'w' were left out.")
    expected = _fit(frame.iloc[7:])
    np.testing.assert_array_equal(res.params, expected.params)


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
def test_zero_weights_leave_the_sample_with_a_note(firm_year, kind):
    frame = firm_year.copy()
    frame.loc[frame.index[10:15], "w"] = 0
    res = _fit(frame, weights_type=kind, vcov=Cluster("firm"))
    assert res.has_note("zero_weight_dropped")
    assert "5 rows with zero weight in 'w' were left out" in res.summary()
    kept = _fit(frame[frame["w"] > 0], weights_type=kind, vcov=Cluster("firm"))
    np.testing.assert_array_equal(res.params, kept.params)
    np.testing.assert_array_equal(res.std_errors, kept.std_errors)
    assert res.nobs == kept.nobs


def test_all_weights_zero_is_a_data_error(firm_year):
    with pytest.raises(DataError, match="no rows with a positive weight"):
        _fit(firm_year.assign(w=0.0))


def test_weights_are_named_in_glance_and_the_methods_text(firm_year):
    from ipnstats.report.methods import paragraph

    res = _fit(firm_year, weights_type="fweights")
    glance = res.glance().iloc[0]
    assert glance["weights"] == "fweights(w)"
    assert "weighted by fweights(w)" in paragraph("H1a", glance, "fixest::feols")
    assert "weights" not in panel_regression(firm_year, FORMULA, unit="firm",
                                             time="year").glance()


def test_frequency_weighted_singletons_count_the_repeated_rows():
    """A row of fweight 3 alone in its unit stands for three observations: not a
    singleton, so drop_singletons=True equals dropping singletons of the repeated rows."""
    frame = _small_panel("fweights", seed=5)
    lone = frame.iloc[:2].assign(unit=[100, 101], w=[1.0, 3.0])
    frame = pd.concat([frame, lone], ignore_index=True)
    args = dict(unit="unit", time="time", panel_effects=("unit",), drop_singletons=True,
                vcov=Cluster("unit"))
    weighted = panel_regression(frame, "y ~ x1 + x2", **args, weights="w",
                                weights_type="fweights")
    repeated = panel_regression(_repeated(frame), "y ~ x1 + x2", **args)
    assert weighted.n_singletons == repeated.n_singletons == 1
    assert weighted.nobs == repeated.nobs == frame["w"].sum() - 1
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-10)
    np.testing.assert_allclose(weighted.std_errors, repeated.std_errors, rtol=1e-10)


@pytest.mark.parametrize("kind", ["aweights", "fweights"])
@pytest.mark.parametrize("ssc", [ipnstats.SSC(adj=False),
                                 ipnstats.SSC(fixef_k="none", cluster_adj=False),
                                 ipnstats.SSC(cluster_df="conventional", fixef_k="full")],
                         ids=repr)
def test_small_sample_corrections_under_weights_match_pyfixest(firm_year, kind, ssc):
    ours = panel_regression(firm_year, FORMULA, unit="firm", time="year", weights="w",
                            weights_type=kind, ssc=ssc)
    theirs = _feols(FORMULA + " | firm + year", firm_year, kind, "iid", ssc=pf.ssc(
        k_adj=ssc.adj, G_adj=ssc.cluster_adj,
        k_fixef={"nested": "nonnested", "full": "full", "none": "none"}[ssc.fixef_k],
        G_df=ssc.cluster_df))
    for spec, their_spec in {"iid": "iid", Cluster("firm"): {"CRV1": "firm"},
                             Cluster("firm", "year"): {"CRV1": "firm+year"}}.items():
        _same(ours.with_vcov(spec), theirs.vcov(their_spec), f"{kind} {ssc} {spec}")


@pytest.mark.parametrize("vcov", ["iid", "hc1", Cluster("u")])
def test_frequency_weights_on_a_saturated_model_give_no_inference(vcov):
    """Repeated copies of rows the model fits exactly leave no residual: the distinct
    rows count for saturation (found by the cross-check against pyfixest, where both
    printed rounding noise as SEs)."""
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"u": np.repeat(range(3), 2), "t": np.tile(range(2), 3),
                      "x": rng.normal(size=6), "x2": rng.normal(size=6),
                      "fw": [1, 2, 3, 4, 2, 1]})
    d["y"] = d["x"] + rng.normal(size=6)
    res = panel_regression(d, "y ~ x + x2", unit="u", time="t", vcov=vcov, weights="fw",
                           weights_type="fweights")
    assert res.nobs == 13 and res.std_errors.isna().all()
    assert res.has_note("no_residual_df")
    assert "6 distinct rows of 13 weighted observations" in " ".join(res.warnings)
