"""framing_effect (H2a): the example study's true effects, random vs fixed effects, the
fixed-effects path against panel_regression, the logistic GEE against statsmodels,
coverage on simulated exchanges, contrasts and means, and bad input."""

import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.estimators.crossed import MixedResult
from ipnstats.ipn.framing import FramingResult, framing_effect


@pytest.fixture(scope="module")
def exchanges():
    return ipnstats.load_study(EXAMPLE).exchanges


@pytest.fixture(scope="module")
def truth():
    with open(EXAMPLE / "truth.toml", "rb") as fh:
        return tomllib.load(fh)["H2a"]


@pytest.fixture(scope="module")
def fits(exchanges):
    return {"random": framing_effect(exchanges), "fixed": framing_effect(exchanges,
                                                                         receiver_effects="fixed")}


def contrast(res, term):
    return res.contrasts().set_index("term").loc[term]


# --------------------------------------------------------------- the example study


@pytest.mark.parametrize("effects", ["random", "fixed"])
def test_loss_effect_covers_the_truth(fits, truth, effects):
    row = contrast(fits[effects], "loss - gain")
    assert row["conf_low"] < truth["loss"]["value"] < row["conf_high"]
    assert row["p_value"] < 1e-10


@pytest.mark.parametrize("effects", ["random", "fixed"])
def test_neutral_effect_is_near_zero(fits, truth, effects):
    row = contrast(fits[effects], "neutral - gain")
    assert truth["neutral"]["value"] == 0.0
    assert row["conf_low"] < truth["neutral"]["value"] < row["conf_high"]
    assert abs(row["estimate"]) < 0.1


def test_random_and_fixed_effects_agree(fits):
    a, b = fits["random"], fits["fixed"]
    terms = ["framing::loss", "framing::neutral"]
    assert a.params[terms].to_numpy() == pytest.approx(b.params[terms].to_numpy(), abs=0.01)
    ratio = a.std_errors[terms] / b.std_errors[terms]
    assert ratio.between(0.8, 1.1).all()


def test_result_contract(fits, exchanges):
    res = fits["random"]
    assert isinstance(res, FramingResult) and isinstance(res.model, MixedResult)
    assert list(res.params.index) == ["Intercept", "framing::loss", "framing::neutral"]
    assert res.levels == ("gain", "loss", "neutral") and res.family == "gaussian"
    assert res.nobs == len(exchanges) == 14_220 and res.n_units == 379
    assert res.df_inference is None and res.model.converged
    assert "receiver_id, sender_id" in res.estimator
    vc = res.model.variance_components().set_index("group")
    assert set(vc.index) == {"receiver_id", "sender_id", "Residual"}
    fe = fits["fixed"]
    assert fe.vcov == Cluster("receiver_id", "sender_id") and fe.fixed_effects == ("receiver_id",)
    g = min(exchanges["receiver_id"].nunique(), exchanges["sender_id"].nunique())
    assert fe.n_clusters == g == 378 and fe.df_inference == g - 1  # min(G), df "min"


def test_fixed_effects_match_panel_regression(fits, exchanges):
    df = exchanges.assign(**{"loss": (exchanges["framing"] == "loss").astype(float),
                             "neutral": (exchanges["framing"] == "neutral").astype(float)})
    panel = ipnstats.panel_regression(df, "cognitive_shift ~ loss + neutral",
                                      unit="receiver_id", time="year", panel_effects=("unit",),
                                      vcov=Cluster("receiver_id", "sender_id"))
    fe = fits["fixed"]
    terms = ["framing::loss", "framing::neutral"]
    assert fe.params[terms].to_numpy() == pytest.approx(panel.params.to_numpy(), rel=1e-10)
    # the xtreg constant makes the shared engine count one more parameter: 1/n in the
    # variance (see the framing module notes)
    assert fe.std_errors[terms].to_numpy() == pytest.approx(panel.std_errors.to_numpy(),
                                                            rel=1e-4)
    iid = fe.with_vcov("iid")
    assert isinstance(iid, FramingResult)
    # pyfixest feols("y ~ loss + neutral | r", vcov="iid"): 0.02702077, 0.02799095
    assert iid.std_errors[terms].to_numpy() == pytest.approx([0.02702077, 0.02799095], rel=1e-6)
    y, share = df["cognitive_shift"].mean(), df[["loss", "neutral"]].mean().to_numpy()
    assert fe.params["Intercept"] == pytest.approx(y - share @ fe.params[terms].to_numpy())


def test_gee_matches_statsmodels(exchanges):
    import statsmodels.api as sm

    res = framing_effect(exchanges, outcome="behavior_change")
    X = pd.DataFrame({"Intercept": 1.0,
                      "loss": (exchanges["framing"] == "loss").astype(float),
                      "neutral": (exchanges["framing"] == "neutral").astype(float)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = sm.GEE(exchanges["behavior_change"].astype(float), X,
                        groups=exchanges["receiver_id"].cat.codes,
                        family=sm.families.Binomial(),
                        cov_struct=sm.cov_struct.Exchangeable()).fit()
    assert res.family == "binomial" and "log odds" in res.estimator
    assert res.params.to_numpy() == pytest.approx(direct.params.to_numpy(), rel=1e-6)
    assert res.std_errors.to_numpy() == pytest.approx(direct.bse.to_numpy(), rel=1e-6)
    assert res.vcov == Cluster("receiver_id", adjust=False) and res.n_clusters == 379
    probs = res.means().set_index("term")
    assert probs["estimate"].between(0, 1).all() and probs["statistic"].isna().all()
    assert probs.loc["loss", "estimate"] > probs.loc["gain", "estimate"]


def test_contrasts_and_means_follow_the_covariance(exchanges):
    res = framing_effect(exchanges, receiver_effects="fixed", covariates=["same_industry"])
    b, V = res.params, res.cov
    row = contrast(res, "loss - neutral")
    assert row["estimate"] == pytest.approx(b["framing::loss"] - b["framing::neutral"])
    var = (V.loc["framing::loss", "framing::loss"] + V.loc["framing::neutral", "framing::neutral"]
           - 2 * V.loc["framing::loss", "framing::neutral"])
    assert row["std_error"] == pytest.approx(np.sqrt(var))
    assert list(res.contrasts()["term"]) == ["loss - gain", "neutral - gain", "loss - neutral"]
    means = res.means().set_index("term")["estimate"]
    gain = b["Intercept"] + b["same_industry"] * exchanges["same_industry"].mean()
    assert means["gain"] == pytest.approx(gain)
    assert means["loss"] - means["gain"] == pytest.approx(b["framing::loss"])
    assert list(res.contrasts().columns) == ["term", "estimate", "std_error", "statistic",
                                             "p_value", "conf_low", "conf_high"]


def test_receiver_covariates_drop_out_of_fixed_effects(exchanges):
    res = framing_effect(exchanges, receiver_effects="fixed", covariates=["receiver_loss_aversion"])
    assert res.collinear == ("receiver_loss_aversion",)
    assert any("receiver_loss_aversion" in n for n in res.notes)
    assert res.means().shape[0] == 3


# ----------------------------------------------------------------- simulated data


def simulate(rng, n=1500, g=80, loss=0.5):
    r, s = rng.integers(0, g, n), rng.integers(0, g, n)
    f = rng.choice(np.array(["loss", "gain", "neutral"]), n, p=[0.35, 0.35, 0.3])
    y = (5 + loss * (f == "loss") + rng.normal(0, 0.7, g)[r] + rng.normal(0, 0.5, g)[s]
         + rng.normal(0, 1.2, n))
    return pd.DataFrame({"receiver_id": r, "sender_id": s, "framing": f, "cognitive_shift": y})


def test_coverage_on_simulated_exchanges():
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(100):
        df = simulate(rng)
        for effects in ("random", "fixed"):
            c = framing_effect(df, receiver_effects=effects).contrasts().set_index("term")
            hits += [c.loc["loss - gain", "conf_low"] < 0.5 < c.loc["loss - gain", "conf_high"],
                     c.loc["neutral - gain", "conf_low"] < 0 < c.loc["neutral - gain",
                                                                     "conf_high"]]
    assert 0.92 < np.mean(hits) < 0.98  # 400 intervals: 95% +- 2.7 binomial SDs


def test_senders_left_out_when_never_repeated():
    df = simulate(np.random.default_rng(1), n=400)
    df["sender_id"] = np.arange(len(df))
    res = framing_effect(df)
    assert res.estimator.endswith("random intercepts: receiver_id")
    assert any("only 0 sender(s) have more than one exchange" in n for n in res.notes)
    fixed = framing_effect(df.assign(sender_id=np.arange(len(df))), sender=None,
                           receiver_effects="fixed")
    assert fixed.vcov == Cluster("receiver_id")


def test_missing_rows_are_counted():
    df = simulate(np.random.default_rng(2), n=600)
    df.loc[:4, "cognitive_shift"] = np.nan
    df.loc[10, "framing"] = None
    res = framing_effect(df, receiver_effects="fixed")
    assert res.nobs == 594 and any("6 of 600 exchanges" in n for n in res.notes)


# --------------------------------------------------------------------------- errors


def test_errors(exchanges):
    with pytest.raises(SpecificationError, match="did you mean 'cognitive_shift'"):
        framing_effect(exchanges, outcome="cognitive_shfit")
    with pytest.raises(SpecificationError, match=r"levels found are \['loss', 'gain', 'neutral'\]"):
        framing_effect(exchanges, reference="positive")
    with pytest.raises(SpecificationError, match="single level"):
        framing_effect(exchanges[exchanges["framing"] == "loss"], reference="loss")
    with pytest.raises(SpecificationError, match="'question_type' is not numeric"):
        framing_effect(exchanges, outcome="question_type")
    with pytest.raises(SpecificationError, match="effects must be"):
        framing_effect(exchanges, receiver_effects="mixed")
    with pytest.raises(SpecificationError, match="needs a 0/1 outcome"):
        framing_effect(exchanges, family="binomial")
    with pytest.raises(SpecificationError, match="effects='fixed' is for gaussian"):
        framing_effect(exchanges, outcome="behavior_change", receiver_effects="fixed")
    with pytest.raises(SpecificationError, match="more than one role"):
        framing_effect(exchanges, sender="receiver_id")
