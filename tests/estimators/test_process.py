"""conditional_process: PROCESS 2.16.3 model 4 (HC3, bias-corrected bootstrap) to its
printed digits, models 7, 8, 14 and 58 (continuous and binary y) against
pyprocessmacro, Hayes' real data, the vectorised bootstrap against a loop, the
cluster bootstrap, and clear errors."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference import load

import ipnstats
from ipnstats import SpecificationError
from ipnstats.estimators.process import logit_batch

# PROCESS 2.16.3 output, models 1 and 4 (tests/reference/process)
PROCESS_1, PROCESS_4 = load("process/model1"), load("process/model4")


@pytest.fixture(scope="module")
def parity(reference_data):
    def read(model):
        return pd.read_csv(reference_data / "process_parity" / f"Data_Model{model}.csv")

    return read


def test_process_2163_model_4_hc3_bias_corrected(parity):
    res = ipnstats.conditional_process(parity(4), model=4, x="x", m=["m1", "m2"], y="y",
                                       vcov="hc3", ci="bc", n_boot=5000, seed=1)
    paths = res.paths().set_index(["equation", "term"])
    outcomes = PROCESS_4["outcomes"]
    for outcome, printed in outcomes.items():
        for label, (b, se, *_) in printed["model"].items():
            key = (outcome, "Intercept" if label == "constant" else label)
            assert paths.loc[key, "estimate"] == pytest.approx(b, abs=5e-5)
            assert paths.loc[key, "std_error"] == pytest.approx(se, abs=5e-5)
    eqs = res.equations().set_index("outcome")
    summaries = [outcomes[o]["model_summary"] for o in ("m1", "m2", "y")]
    assert eqs["r2"].round(4).tolist() == [s["R-sq"] for s in summaries]
    assert eqs["mse"].round(4).tolist() == [s["MSE"] for s in summaries]
    assert eqs["statistic"].round(4).tolist() == [s["F"] for s in summaries]
    direct = res.direct_effect().iloc[0]
    assert (direct["estimate"], direct["std_error"], direct["statistic"]) == pytest.approx(
        PROCESS_4["direct_effect"]["row"][:3], abs=5e-5)
    ind = res.indirect_effects().set_index("mediator")
    printed = PROCESS_4["indirect_effects"]["rows"]  # Effect, Boot SE, BootLLCI, BootULCI
    for label, (b, se, lo, hi) in printed.items():
        row = ind.loc["total" if label == "TOTAL" else label]
        assert row["estimate"] == pytest.approx(b, abs=5e-5)
        # bootstrap: within Monte-Carlo error of 5,000 draws
        assert row["std_error"] == pytest.approx(se, abs=0.004)
        assert row["conf_low"] == pytest.approx(lo, abs=0.01)
        assert row["conf_high"] == pytest.approx(hi, abs=0.01)
    assert res.extra["ci_method"] == "bc" and res.n_boot == 5000 and res.seed == 1


def test_process_2163_model_1_through_conditional_process(parity):
    res = ipnstats.conditional_process(parity(1), model=1, x="x", w="m", y="y", vcov="hc3",
                                       at="mean_sd", n_boot=10)
    eq = res.equations().iloc[0]
    summary = PROCESS_1["model_summary"]
    assert (eq["r2"], eq["mse"], eq["statistic"]) == pytest.approx(
        (summary["R-sq"], summary["MSE"], summary["F"]), abs=5e-5)
    direct = res.direct_effect()
    printed = PROCESS_1["conditional_effects"]["rows"]  # m, Effect, se, t, p, LLCI, ULCI
    assert direct["estimate"].round(4).tolist() == [row[1] for row in printed]
    assert direct["std_error"].round(4).tolist() == [row[2] for row in printed]
    with pytest.raises(SpecificationError, match="no mediator"):
        res.indirect_effects()


def _pyprocess(data, model, y, logit=False, **roles):
    ppm = pytest.importorskip("pyprocessmacro")
    if model == 14:  # PROCESS 2 called model 14's second-stage moderator V
        roles["v"] = roles.pop("w")
    p = ppm.Process(data=data, model=model, y=y, boot=2000, percent=True,
                    spotlight="percentiles", suppr_init=True, logit=logit, **roles)
    return p.tidy()


def _check_against(ref: pd.DataFrame, res, mediators):
    ours = res.paths()
    theirs = ref[ref["component"] == "outcome"]
    for _, row in theirs.iterrows():
        term = {"Cons": "Intercept"}.get(row["term"], row["term"]).replace("*", ":")
        mine = ours[(ours["equation"] == row["outcome"]) & (ours["term"] == term)]
        assert len(mine) == 1, (row["outcome"], term)
        assert mine["estimate"].iloc[0] == pytest.approx(row["estimate"], rel=1e-7, abs=1e-10)
        assert mine["std_error"].iloc[0] == pytest.approx(row["std_error"], rel=1e-6)
    ind = theirs = ref[ref["component"] == "indirect"]
    mine = res.indirect_effects()
    for m in mediators:
        a = ind[ind["term"] == m]
        b = mine[mine["mediator"] == m]
        np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-7)
        np.testing.assert_allclose(b["std_error"], a["std_error"], rtol=0.12)
    if res.model in (7, 8, 14):
        idx = ref[ref["component"] == "index_mm"]
        mine = res.index_of_moderated_mediation()
        np.testing.assert_allclose(mine["estimate"], idx["estimate"], rtol=1e-7)
        np.testing.assert_allclose(mine["std_error"], idx["std_error"], rtol=0.12)


@pytest.mark.parametrize("model", [7, 8, 14, 58])
def test_moderated_mediation_models_against_pyprocessmacro(parity, model):
    data = parity(14 if model == 14 else 7)
    ref = _pyprocess(data, model, "y", x="x", m=["m1", "m2"], w="w")
    res = ipnstats.conditional_process(data, model=model, x="x", m=["m1", "m2"], w="w",
                                       y="y", n_boot=2000, seed=2)
    _check_against(ref, res, ["m1", "m2"])
    assert res.w_labels == ("16th percentile", "50th percentile", "84th percentile")


def test_binary_outcome_gets_a_logistic_equation(parity):
    data = parity(7)
    ref = _pyprocess(data, 7, "y2", logit=True, x="x", m=["m1"], w="w")
    res = ipnstats.conditional_process(data, model=7, x="x", m="m1", w="w", y="y2",
                                       n_boot=2000, seed=3)
    _check_against(ref, res, ["m1"])
    X = sm.add_constant(data[["x", "m1"]])
    logit = sm.Logit(data["y2"], X).fit(disp=0)
    eq = res.equations().set_index("outcome").loc["y2"]
    assert eq["link"] == "logit"
    assert eq["statistic"] == pytest.approx(2 * (logit.llf - logit.llnull), rel=1e-8)
    assert eq["r2_mcfadden"] == pytest.approx(logit.prsquared, rel=1e-8)
    assert res.df_inference is None  # z for the logistic equation


def test_hayes_real_data_models_4_7_14(reference_data):
    estress = pd.read_csv(reference_data / "hayes" / "estress.csv")
    ref = _pyprocess(estress, 4, "withdraw", x="estress", m=["affect"],
                     controls=["ese", "sex", "tenure"])
    res = ipnstats.conditional_process(estress, model=4, x="estress", m="affect", y="withdraw",
                                       covariates=["ese", "sex", "tenure"], n_boot=2000)
    _check_against(ref, res, ["affect"])
    # and the same numbers as mediation(), the module that reports the total effect too
    med = ipnstats.mediation(estress, x="estress", m="affect", y="withdraw",
                             covariates=["ese", "sex", "tenure"], n_boot=200)
    assert res.params["affect::estress"] == pytest.approx(med.params["a::affect"])
    assert res.params["withdraw::affect"] == pytest.approx(med.params["b::affect"])
    protest = pd.read_csv(reference_data / "hayes" / "protest.csv")
    protest["protest"] = (protest["protest"] > 0).astype(float)  # protest vs no protest
    ref = _pyprocess(protest, 7, "liking", x="protest", m=["respappr"], w="sexism")
    res = ipnstats.conditional_process(protest, model=7, x="protest", m="respappr", w="sexism",
                                       y="liking", n_boot=2000)
    _check_against(ref, res, ["respappr"])
    teams = pd.read_csv(reference_data / "hayes" / "teams.csv")
    ref = _pyprocess(teams, 14, "perform", x="dysfunc", m=["negtone"], w="negexp")
    res = ipnstats.conditional_process(teams, model=14, x="dysfunc", m="negtone", w="negexp",
                                       y="perform", n_boot=2000)
    _check_against(ref, res, ["negtone"])


def test_vectorised_bootstrap_equals_a_loop_of_refits():
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "w": rng.normal(size=n)})
    df["m"] = 0.5 * df["x"] + 0.3 * df["x"] * df["w"] + rng.normal(size=n)
    df["y"] = 0.4 * df["m"] + 0.1 * df["x"] + rng.normal(size=n)
    res = ipnstats.conditional_process(df, model=7, x="x", m="m", w="w", y="y", n_boot=20,
                                       seed=11)
    # replay the draws: the same generator gives the same row counts
    from ipnstats.estimators.mediation import draw_counts
    counts = draw_counts(np.random.default_rng(11), n, 20)
    w16 = res.w_probe[0]
    for b in range(20):
        idx = np.repeat(np.arange(n), counts[b])
        d = df.iloc[idx]
        a = sm.OLS(d["m"], sm.add_constant(d[["x", "w"]].assign(xw=d["x"] * d["w"]))).fit().params
        bb = sm.OLS(d["y"], sm.add_constant(d[["x", "m"]])).fit().params
        expected = (a["x"] + a["xw"] * w16) * bb["m"]
        assert res.bootstrap.draws[b, 0] == pytest.approx(expected, rel=1e-8)
        assert res.bootstrap.draws[b, -1] == pytest.approx(a["xw"] * bb["m"], rel=1e-8)


def test_logit_batch_matches_weighted_fits():
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(300), rng.normal(size=300)])
    y = (rng.random(300) < 1 / (1 + np.exp(-0.5 * X[:, 1]))).astype(float)
    weights = rng.poisson(1.0, size=(3, 300)).astype(float)
    beta = logit_batch(X, y, weights, np.zeros(2))
    for b in range(3):
        ref = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=weights[b]).fit()
        np.testing.assert_allclose(beta[b], ref.params, rtol=1e-7)


def test_cluster_bootstrap_resamples_whole_clusters():
    rng = np.random.default_rng(9)
    g = np.repeat(np.arange(80), 8)
    u = rng.normal(size=80)[g]
    df = pd.DataFrame({"x": rng.normal(size=640) + u, "w": rng.normal(size=640), "g": g})
    df["m"] = 0.5 * df["x"] + 0.3 * df["x"] * df["w"] + u + rng.normal(size=640)
    df["y"] = 0.4 * df["m"] + u + rng.normal(size=640)
    rows = ipnstats.conditional_process(df, model=7, x="x", m="m", w="w", y="y", n_boot=1000)
    clus = ipnstats.conditional_process(df, model=7, x="x", m="m", w="w", y="y", n_boot=1000,
                                        cluster="g")
    assert clus.n_clusters == 80 and rows.n_clusters is None
    assert clus.vcov == ipnstats.Cluster("g")
    assert (clus.std_errors > rows.std_errors).sum() >= 3
    np.testing.assert_allclose(clus.params, rows.params)


def test_errors_and_notes():
    rng = np.random.default_rng(10)
    df = pd.DataFrame({"x": rng.normal(size=50), "w": np.ones(50), "m": rng.normal(size=50),
                       "y": rng.normal(size=50), "b": rng.integers(0, 2, 50)})
    with pytest.raises(SpecificationError, match="one of"):
        ipnstats.conditional_process(df, model=5, x="x", m="m", y="y")
    with pytest.raises(SpecificationError, match="needs a moderator"):
        ipnstats.conditional_process(df, model=7, x="x", m="m", y="y")
    with pytest.raises(SpecificationError, match="no second moderator"):
        ipnstats.conditional_process(df, model=7, x="x", m="m", y="y", w="w", z="b")
    with pytest.raises(SpecificationError, match="moderator w 'w' has no variation"):
        ipnstats.conditional_process(df, model=7, x="x", m="m", y="y", w="w")
    with pytest.raises(SpecificationError, match="mediator 'b' is binary"):
        ipnstats.conditional_process(df, model=4, x="x", m="b", y="y")
    with pytest.raises(SpecificationError, match="model 4 has no moderator"):
        ipnstats.conditional_process(df, model=4, x="x", m="m", y="y", w="w")
    res = ipnstats.conditional_process(df.assign(w=rng.normal(size=50)), model=58, x="x",
                                       m="m", y="y", w="w", n_boot=50)
    with pytest.raises(SpecificationError, match="quadratic in w"):
        res.index_of_moderated_mediation()
    assert len(res.indirect_effects()) == 3
