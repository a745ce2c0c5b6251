"""moderation: PROCESS 2.16.3 model 1 (HC3) to its printed digits, Hayes' disaster
framing data against statsmodels and the book's Johnson-Neyman bounds, logistic slopes
and average marginal effects against independent computations, and clear messages for
separation, non-convergence and a moderator without variation."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference import load
from scipy import stats
from scipy.special import expit

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.estimators.moderation import jn_bounds, process_percentiles
from ipnstats.figures import moderation_jn_plot, moderation_plot

PROCESS_1 = load("process/model1")  # PROCESS 2.16.3 output (tests/reference/process)
HAYES = load("hayes/book")["disaster"]  # Hayes (2022), ch. 7 (tests/reference/hayes)
OURS = {"constant": "Intercept", "int_1": "x:m"}  # PROCESS's labels -> our terms


@pytest.fixture(scope="module")
def disaster(reference_data):
    return pd.read_csv(reference_data / "hayes" / "disaster.csv")


def test_process_2163_model_1_hc3_to_printed_digits(reference_data):
    data = pd.read_csv(reference_data / "process_parity" / "Data_Model1.csv")
    res = ipnstats.moderation(data, y="y", x="x", w="m", vcov="hc3")
    tidy = res.tidy().set_index("term")
    printed = PROCESS_1["model"]["rows"]
    for label, (b, se, t, _p, lo, hi) in printed.items():
        row = tidy.loc[OURS.get(label, label)]
        assert row["estimate"] == pytest.approx(b, abs=5e-5)
        assert row["std_error"] == pytest.approx(se, abs=5e-5)
        assert row["statistic"] == pytest.approx(t, abs=5e-4)
        assert (row["conf_low"], row["conf_high"]) == pytest.approx((lo, hi), abs=5e-5)
    assert res.glance()["r2"].iloc[0] == pytest.approx(PROCESS_1["model_summary"]["R-sq"],
                                                       abs=5e-5)
    slopes = res.simple_slopes(at="mean_sd")
    printed = PROCESS_1["conditional_effects"]["rows"]  # m, Effect, se, t, p, LLCI, ULCI
    cols = ["w", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    for (_, row), want in zip(slopes.iterrows(), printed, strict=True):
        got = row[cols].to_numpy(float)
        tol = np.r_[5e-5, 5e-5, 5e-5, 5e-4, 5e-5, 5e-5, 5e-5]
        assert (np.abs(got - np.array(want)) <= tol).all(), (got, want)
    # PROCESS 3's default vcov is iid: a different, documented, convention
    hc3_se = PROCESS_1["model"]["rows"]["int_1"][1]
    assert res.with_vcov("iid").std_errors["x:m"] != pytest.approx(hc3_se, abs=5e-5)


def test_disaster_against_statsmodels_and_hayes_book(disaster):
    res = ipnstats.moderation(disaster, y="justify", x="frame", w="skeptic")
    X = sm.add_constant(disaster[["frame", "skeptic"]].assign(
        **{"frame:skeptic": disaster["frame"] * disaster["skeptic"]}))
    ref = sm.OLS(disaster["justify"], X).fit()
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=1e-10)
    hc3 = ref.get_robustcov_results("HC3")
    np.testing.assert_allclose(res.with_vcov("hc3").std_errors.to_numpy(), hc3.bse, rtol=1e-10)
    # Hayes (2022), ch. 7: coefficients and the 16th/50th/84th percentiles of skepticism
    assert res.params.round(3).tolist() == list(HAYES["coef"].values())
    slopes = res.simple_slopes()
    assert slopes["w"].round(3).tolist() == HAYES["probe"]["skeptic"]
    assert slopes["estimate"].round(3).tolist() == HAYES["probe"]["effect"]
    # Johnson-Neyman: the book's bounds and shares of cases below/above them
    jn, book = res.johnson_neyman(), HAYES["johnson_neyman"]
    assert np.round(jn.bounds, 3).tolist() == book["bounds"]
    assert jn.in_range == (True, True)
    assert jn.regions["share"].round(5).tolist() == book["share"]
    assert jn.regions["significant"].tolist() == book["significant"]
    assert "skeptic <= 1.171 or skeptic >= 3.934" in jn.significant_where


def test_jn_bounds_are_where_p_equals_alpha(disaster):
    res = ipnstats.moderation(disaster, y="justify", x="frame", w="skeptic")
    for alpha in (0.05, 0.10):
        jn = res.johnson_neyman(alpha)
        at = res.simple_slopes(at=list(jn.bounds))
        np.testing.assert_allclose(at["p_value"], alpha, rtol=1e-8)
    # the closed form: roots of (b1 + b3 w)^2 = t^2 (v11 + 2 w v13 + w^2 v33)
    b, v = res.params.to_numpy(), res.cov.to_numpy()
    t = stats.t.ppf(0.975, res.df_inference)
    poly = np.poly1d([b[3] ** 2 - t**2 * v[3, 3], 2 * (b[1] * b[3] - t**2 * v[1, 3]),
                      b[1] ** 2 - t**2 * v[1, 1]])
    np.testing.assert_allclose(np.sort(poly.roots), res.johnson_neyman().bounds, rtol=1e-10)


def test_jn_reports_roots_outside_the_range_and_no_roots():
    # effect significant everywhere in the data, but both roots lie outside its range
    roots = jn_bounds(1.0, 0.1, 0.01, 0.0, 0.0001, 1.96)
    assert roots.size == 2 and roots[0] < roots[1]
    assert jn_bounds(0.0, 0.0, 1.0, 0.0, 1.0, 1.96).size == 0
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=400), "w": rng.uniform(0, 1, 400)})
    df["y"] = 1.0 * df["x"] + 0.1 * df["x"] * df["w"] + rng.normal(size=400)
    jn = ipnstats.moderation(df, y="y", x="x", w="w").johnson_neyman()
    assert all(not inside for inside in jn.in_range)
    assert jn.regions.loc[jn.regions["share"] > 0, "significant"].all()


def test_against_pyprocessmacro_model_1_percentiles(disaster):
    ppm = pytest.importorskip("pyprocessmacro")
    p = ppm.Process(data=disaster, model=1, x="frame", m="skeptic", y="justify",
                    spotlight="percentiles", suppr_init=True)
    ref = p.tidy()
    res = ipnstats.moderation(disaster, y="justify", x="frame", w="skeptic")
    direct = ref[ref["component"] == "direct"]
    slopes = res.simple_slopes()
    np.testing.assert_allclose(slopes["estimate"], direct["estimate"], rtol=1e-8)
    np.testing.assert_allclose(slopes["std_error"], direct["std_error"], rtol=1e-8)


def test_percentile_rule_is_processs():
    values = np.arange(1.0, 11.0)
    # position p (n + 1): 0.16 * 11 = 1.76 -> 1.76; 0.5 -> 5.5; 0.84 * 11 = 9.24
    np.testing.assert_allclose(process_percentiles(values), [1.76, 5.5, 9.24])


def test_binary_moderator_is_probed_at_both_values_and_cluster_vcov():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(60), 10)
    df = pd.DataFrame({"x": rng.normal(size=600), "w": rng.integers(0, 2, 600), "g": g})
    df["y"] = (0.3 * df["x"] + 0.5 * df["x"] * df["w"] + rng.normal(size=60)[g]
               + rng.normal(size=600))
    res = ipnstats.moderation(df, y="y", x="x", w="w", vcov=Cluster("g"))
    slopes = res.simple_slopes()
    assert slopes["w"].tolist() == [0.0, 1.0]
    X = sm.add_constant(df[["x", "w"]].assign(xw=df["x"] * df["w"]))
    ref = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": df["g"]})
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=1e-8)
    assert res.df_inference == 59 and res.n_clusters == 60
    # the slope at w = 1 is b_x + b_xw, its SE from the covariance
    b, v = ref.params.to_numpy(), ref.cov_params().to_numpy()
    assert slopes["estimate"].iloc[1] == pytest.approx(b[1] + b[3])
    assert slopes["std_error"].iloc[1] == pytest.approx(np.sqrt(v[1, 1] + 2 * v[1, 3] + v[3, 3]))


def test_centering_changes_parameters_not_conditional_effects():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(3, 1, 300), "w": rng.normal(5, 2, 300)})
    df["y"] = df["x"] * (0.2 + 0.1 * df["w"]) + rng.normal(size=300)
    raw = ipnstats.moderation(df, y="y", x="x", w="w")
    cen = ipnstats.moderation(df, y="y", x="x", w="w", center=True)
    assert raw.params["x"] != pytest.approx(cen.params["x"])
    pd.testing.assert_frame_equal(raw.simple_slopes(), cen.simple_slopes(), rtol=1e-8)
    np.testing.assert_allclose(raw.johnson_neyman().bounds, cen.johnson_neyman().bounds)


def _logit_data(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "w": rng.integers(0, 2, n),
                       "c": rng.normal(size=n)})
    eta = -0.5 + 0.2 * df["x"] + 0.3 * df["w"] + 0.5 * df["x"] * df["w"] + 0.3 * df["c"]
    df["y"] = (rng.random(n) < expit(eta)).astype(int)
    return df


def test_logistic_slopes_and_average_marginal_effects():
    df = _logit_data()
    res = ipnstats.moderation(df, y="y", x="x", w="w", covariates=["c"], family="binomial")
    X = sm.add_constant(df[["x", "w"]].assign(xw=df["x"] * df["w"], c=df["c"]))
    ref = sm.Logit(df["y"], X).fit(disp=0)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=1e-6)
    slopes = res.simple_slopes()
    logodds = slopes[slopes["scale"] == "log-odds"]
    assert logodds["estimate"].tolist() == pytest.approx([ref.params["x"],
                                                          ref.params["x"] + ref.params["xw"]])
    ame = slopes[slopes["scale"] == "probability"]
    b, V = ref.params.to_numpy(), ref.cov_params().to_numpy()
    Xn = X.to_numpy(float)
    for w0, (_, row) in zip((0.0, 1.0), ame.iterrows(), strict=True):
        Xw = Xn.copy()
        Xw[:, 2], Xw[:, 3] = w0, Xn[:, 1] * w0
        p = expit(Xw @ b)
        slope = b[1] + b[3] * w0
        est = np.mean(p * (1 - p)) * slope
        # analytic gradient of mean(p(1-p)) * slope
        dpp = (p * (1 - p) * (1 - 2 * p))[:, None] * Xw
        grad = dpp.mean(axis=0) * slope
        grad[1] += np.mean(p * (1 - p))
        grad[3] += np.mean(p * (1 - p)) * w0
        assert row["estimate"] == pytest.approx(est, rel=1e-8)
        assert row["std_error"] == pytest.approx(np.sqrt(grad @ V @ grad), rel=1e-4)


def test_logistic_ame_of_binary_x_is_a_discrete_change():
    df = _logit_data().rename(columns={"x": "w2", "w": "x"}).rename(columns={"w2": "w"})
    res = ipnstats.moderation(df, y="y", x="x", w="w", family="binomial")
    ame = res.simple_slopes(at=[0.0])
    ame = ame[ame["scale"] == "probability"]
    b = res.params.to_numpy()
    expected = expit(b[0] + b[1]) - expit(b[0])  # w = 0 for every row
    assert ame["estimate"].iloc[0] == pytest.approx(expected, rel=1e-10)


def test_separation_is_reported_on_the_result():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=200), "w": rng.normal(size=200)})
    df["y"] = (df["x"] > 0).astype(int)
    res = ipnstats.moderation(df, y="y", x="x", w="w", family="binomial")
    text = " ".join(res.warnings)
    assert "did not converge" in text and "separat" in text
    assert "predicted perfectly" in text


def test_moderator_without_variation_and_bad_input_get_clear_errors():
    df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "w": [2.0, 2, 2, 2, 2], "y": [1.0, 3, 2, 5, 4]})
    with pytest.raises(SpecificationError, match="moderator 'w' has no variation.*equal 2"):
        ipnstats.moderation(df, y="y", x="x", w="w")
    with pytest.raises(SpecificationError, match="did you mean"):
        ipnstats.moderation(df, y="y", x="x", w="ww")
    with pytest.raises(SpecificationError, match="0/1 outcome"):
        ipnstats.moderation(df.assign(w=[1.0, 2, 3, 5, 4]), y="y", x="x", w="w",
                            family="binomial")
    with pytest.raises(SpecificationError, match="not numeric"):
        ipnstats.moderation(df.assign(w=list("abcde")), y="y", x="x", w="w")
    with pytest.raises(SpecificationError, match="only 4 complete rows for 4 coefficients"):
        ipnstats.moderation(df.assign(w=[1.0, 2, 3, 5, np.nan]), y="y", x="x", w="w")
    with pytest.raises(SpecificationError, match="at must be"):
        ipnstats.moderation(df.assign(w=[1.0, 2, 3, 5, 4]), y="y", x="x", w="w").simple_slopes(
            at="quartiles")


def test_missing_rows_are_counted_and_plots_draw():
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"x": rng.normal(size=100), "w": rng.normal(size=100)})
    df["y"] = df["x"] * df["w"] + rng.normal(size=100)
    df.loc[:4, "w"] = np.nan
    res = ipnstats.moderation(df, y="y", x="x", w="w")
    assert res.nobs == 95
    assert "5 of 100 rows have a missing value (by column: w (5))" in res.notes[0]
    fig = moderation_plot(res)
    assert len(fig.axes[0].lines) == 3
    fig = moderation_jn_plot(res)
    assert fig.axes[0].get_xlabel() == "w"
    pred = res.predictions(at="mean_sd", n_points=5)
    assert len(pred) == 15 and (pred["conf_low"] <= pred["estimate"]).all()


def test_separation_and_non_convergence_reach_the_report_table():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=200), "w": rng.normal(size=200)})
    df["y"] = (df["x"] > 0).astype(int)
    res = ipnstats.moderation(df, y="y", x="x", w="w", family="binomial")
    text = ipnstats.regression_table([res]).to_text()
    assert "did not converge" in text and "predicted perfectly" in text
