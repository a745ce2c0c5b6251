"""sender_effects (H3a): the crossed random-intercept model against statsmodels MixedLM,
standardization, the two-way clustered robustness model against pyfixest, the one-sided
comparisons and Holm, recovery of the simulator's truth, the binomial family and bad
input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats import SpecificationError
from ipnstats.estimators.mixed import GEEResult, MixedResult
from ipnstats.ipn.senders import TRAITS, SenderEffectsResult, holm, sender_effects
from ipnstats.simulate.framing import framing_exchanges, framing_truth

COLUMNS = ("sender_risk_aversion", "sender_size", "sender_age", "sender_success",
           "sender_status", "same_industry")
OUTWARD = COLUMNS[1:]


@pytest.fixture(scope="module")
def small():
    return framing_exchanges(n_receivers=60, n_senders=60, exchanges_per_receiver=10, seed=1)


@pytest.fixture(scope="module")
def small_fit(small):
    return sender_effects(small)


def standardized(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in COLUMNS:
        out[c] = (out[c] - out[c].mean()) / out[c].std(ddof=1)
    return out


# ------------------------------------------------------- main model: statsmodels MixedLM


def test_main_model_matches_statsmodels_crossed_mixedlm(small, small_fit):
    import statsmodels.api as sm

    d = standardized(small).assign(one=1)
    model = sm.MixedLM.from_formula(
        "cognitive_shift ~ " + " + ".join(COLUMNS), d, groups="one", re_formula="0",
        vc_formula={"r": "0 + C(receiver_id)", "s": "0 + C(sender_id)"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=True, method=["bfgs"], gtol=1e-10)  # its defaults stop early
    res = small_fit
    assert isinstance(res, SenderEffectsResult) and isinstance(res.model, MixedResult)
    assert list(res.params.index) == ["Intercept", *COLUMNS]
    assert res.traits == COLUMNS and res.focal == "sender_risk_aversion"
    assert res.params.to_numpy() == pytest.approx(fit.fe_params.to_numpy(), rel=1e-4)
    assert res.fit["loglik"] == pytest.approx(fit.llf, abs=1e-3)
    assert [res.model.variances["receiver_id"], res.model.variances["sender_id"]] == \
        pytest.approx(list(fit.vcomp), rel=1e-3)
    assert res.model.variances["Residual"] == pytest.approx(fit.scale, rel=1e-4)
    assert res.df_inference is None and res.nobs == 600 and res.model.converged
    assert "(1 | receiver_id) + (1 | sender_id)" in res.formula
    vc = res.variance_components()
    assert vc["group"].tolist() == ["receiver_id", "sender_id", "Residual"]


def test_standardized_coefficient_is_raw_coefficient_times_sd(small, small_fit):
    raw = sender_effects(small, standardize=False)
    assert not raw.standardized and small_fit.standardized
    for c in COLUMNS:
        sd = small[c].std(ddof=1)
        assert small_fit.trait_sd[c] == pytest.approx(sd, rel=1e-12)
        assert small_fit.params[c] == pytest.approx(raw.params[c] * sd, rel=1e-5)
        assert small_fit.std_errors[c] == pytest.approx(raw.std_errors[c] * sd, rel=1e-4)
        # robustness OLS: exact linear reparametrisation
        assert small_fit.robustness.params[c] == pytest.approx(
            raw.robustness.params[c] * sd, rel=1e-9)
    # the variance components do not depend on the traits' scale
    assert small_fit.model.variances["sender_id"] == pytest.approx(
        raw.model.variances["sender_id"], rel=1e-4)


# ------------------------------------------------------ robustness: pyfixest two-way CRV1


def test_robustness_model_matches_pyfixest_two_way_clusters(small, small_fit):
    pf = pytest.importorskip("pyfixest")
    d = standardized(small)
    d["sender_id"] = d["sender_id"].astype(str)
    d["receiver_id"] = d["receiver_id"].astype(str)
    # ipnstats' Cluster(sender, receiver) defaults to df="min": one factor
    # G_min/(G_min - 1) * (n-1)/(n-K) on V_s + V_r - V_sr, inference t(G_min - 1):
    # Stata reghdfe / ivreg2 and R fixest's default (ssc(adj=TRUE, cluster.adj=TRUE,
    # cluster.df="min")), which is pyfixest's default too; stated explicitly here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest's pandas deprecation warnings
        fit = pf.feols("cognitive_shift ~ " + " + ".join(COLUMNS), data=d,
                       vcov={"CRV1": "sender_id+receiver_id"},
                       ssc=pf.ssc(k_adj=True, G_adj=True, G_df="min"))
    rob = small_fit.robustness
    assert rob.estimator.startswith("pooled OLS")
    names = ["Intercept", *COLUMNS]
    assert list(rob.params.index) == names
    assert rob.params.to_numpy() == pytest.approx(fit.coef()[names].to_numpy(), rel=1e-8)
    assert rob.std_errors.to_numpy() == pytest.approx(fit.se()[names].to_numpy(), rel=1e-6)
    g_min = min(small["sender_id"].nunique(), small["receiver_id"].nunique())
    assert rob.df_inference == g_min - 1 and rob.n_clusters == g_min
    assert rob.tidy()["p_value"].to_numpy() == pytest.approx(
        fit.pvalue()[names].to_numpy(), rel=1e-6)


# ------------------------------------------------------------------------ comparisons


@pytest.mark.parametrize("model", ["main", "robustness"])
def test_comparisons_by_hand(small_fit, model):
    fit = small_fit if model == "main" else small_fit.robustness
    table = small_fit.comparisons(model).set_index("term")
    focal, other = "sender_risk_aversion", "sender_status"
    assert table.index.tolist() == [f"{focal} - {k}" for k in OUTWARD]
    cov = fit.cov
    est = fit.params[focal] - fit.params[other]
    se = np.sqrt(cov.loc[focal, focal] + cov.loc[other, other] - 2 * cov.loc[focal, other])
    row = table.loc[f"{focal} - {other}"]
    assert row["estimate"] == pytest.approx(est, rel=1e-12)
    assert row["std_error"] == pytest.approx(se, rel=1e-10)
    if model == "main":
        assert fit.df_inference is None
        p = stats.norm.sf(est / se)
    else:
        assert fit.df_inference is not None
        p = stats.t.sf(est / se, fit.df_inference)
    assert row["p_one_sided"] == pytest.approx(p, rel=1e-9)
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(table["p_one_sided"].to_numpy(), method="holm")[1]
    assert table["p_holm"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert (table["p_holm"] >= table["p_one_sided"] - 1e-15).all()


def test_comparisons_focal_and_bad_model(small):
    res = sender_effects(small, focal="status", traits=("risk_aversion", "size", "status"))
    assert res.focal == "sender_status"
    assert res.comparisons()["term"].tolist() == [
        "sender_status - sender_risk_aversion", "sender_status - sender_size"]
    with pytest.raises(ValueError, match="'main' or 'robustness'"):
        res.comparisons("pooled")


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.004, 0.5, 0.03])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], rel=1e-14)


# ---------------------------------------------------------------- recovery of the truth


def test_recovers_simulated_truth():
    """Crossed random effects on simulated sender x receiver data recover the known
    variance components and trait effects. A fixed-seed check: with seed 0 (the first
    tried) every interval covers its truth; the repeated-sampling coverage is in
    test_h3_simulation.py."""
    truth = framing_truth()
    ex = framing_exchanges(n_receivers=300, n_senders=300, exchanges_per_receiver=40, seed=0)
    res = sender_effects(ex)
    tidy = res.tidy().set_index("term")
    # the per-SD truth: the raw effect times the trait's SD over the rows
    per_sd = truth["sender_risk_aversion"] * ex["sender_risk_aversion"].std(ddof=1)
    row = tidy.loc["sender_risk_aversion"]
    assert row["conf_low"] < per_sd < row["conf_high"], (row, per_sd)
    for c in OUTWARD:
        assert truth[c] == 0.0
        assert tidy.loc[c, "conf_low"] < 0 < tidy.loc[c, "conf_high"], c
    sd = res.variance_components().set_index("group")["std_dev"]
    assert sd["sender_id"] == pytest.approx(truth["sd_sender"], abs=0.1)
    assert sd["receiver_id"] == pytest.approx(truth["sd_receiver"], abs=0.1)
    assert sd["Residual"] == pytest.approx(truth["sd_exchange"], abs=0.05)
    assert res.model.converged and not res.model.singular
    # the focal trait beats every outward one here
    assert (res.comparisons()["p_holm"] < 0.05).all()


# ---------------------------------------------------------------------------- binomial


def test_binomial_family(small):
    import statsmodels.api as sm

    res = sender_effects(small, outcome="behavior_change", family="binomial")
    assert isinstance(res.model, GEEResult) and res.df_inference is None
    assert res.estimator.startswith("logistic GEE")
    d = standardized(small)
    X = sm.add_constant(d[list(COLUMNS)].to_numpy(float))
    y = d["behavior_change"].to_numpy(float)
    gee = sm.GEE(y, X, groups=pd.factorize(d["receiver_id"])[0],
                 family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()).fit()
    assert res.params.to_numpy() == pytest.approx(np.asarray(gee.params), rel=1e-6)
    rob = res.robustness
    assert rob.estimator.startswith("pooled logit") and rob.df_inference is None
    logit = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    assert rob.params.to_numpy() == pytest.approx(np.asarray(logit.params), rel=1e-6)
    assert rob.fit["loglik"] == pytest.approx(logit.llf, rel=1e-9)
    # two-way clustered sandwich by hand: G_min/(G_min - 1) * B (M_s + M_r - M_sr) B
    scores = X * (y - logit.predict(X))[:, None]
    bread = np.linalg.inv(-logit.model.hessian(logit.params))

    def meat(codes):
        sums = pd.DataFrame(scores).groupby(codes).sum().to_numpy()
        return sums.T @ sums

    s, r = d["sender_id"].astype(str), d["receiver_id"].astype(str)
    g = min(s.nunique(), r.nunique())
    V = g / (g - 1) * bread @ (meat(s) + meat(r) - meat(s + "|" + r)) @ bread
    assert rob.std_errors.to_numpy() == pytest.approx(np.sqrt(np.diag(V)), rel=1e-5)
    assert res.comparisons("robustness")["p_one_sided"].between(0, 1).all()


# ------------------------------------------------------------------------------ errors


def test_errors_and_notes(small):
    with pytest.raises(SpecificationError, match="'prestige'"):
        sender_effects(small, traits=("risk_aversion", "prestige"))
    with pytest.raises(SpecificationError, match="'size'"):
        sender_effects(small.drop(columns="sender_size"))
    with pytest.raises(SpecificationError, match=r"\['sender_size'\] do not vary"):
        sender_effects(small.assign(sender_size=2.0))
    with pytest.raises(SpecificationError, match="family must be 'gaussian' or 'binomial'"):
        sender_effects(small, family="poisson")
    with pytest.raises(SpecificationError, match="focal trait 'status' is not among traits"):
        sender_effects(small, traits=("risk_aversion", "size"), focal="status")
    with pytest.raises(SpecificationError, match="name a column twice"):
        sender_effects(small, traits=("risk_aversion", "sender_risk_aversion"))
    d = small.copy()
    d.loc[[1, 2, 3], "sender_age"] = np.nan
    d.loc[5, "cognitive_shift"] = np.nan
    res = sender_effects(d)
    assert res.nobs == 596 and res.robustness.nobs == 596
    assert any("4 of 600 exchanges have a missing value" in n and "sender_age (3)" in n
               and "cognitive_shift (1)" in n for n in res.notes)
    # standardized over the estimation rows
    kept = d.dropna(subset=["sender_age", "cognitive_shift"])
    assert res.trait_sd["sender_age"] == pytest.approx(kept["sender_age"].std(ddof=1))
    assert TRAITS == ("risk_aversion", "size", "age", "success", "status", "same_industry")
