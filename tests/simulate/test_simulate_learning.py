"""Sanity checks of the light Monte-Carlo generators: ``learning_tasks`` (H3b, H3c) and the
H3a sender traits of ``framing_exchanges``. They share their equations with
``simulate_study``, whose output ``data/example`` is checked byte for byte against a
regeneration in ``tests/simulate/test_example.py``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ipnstats.simulate import framing_exchanges, framing_truth, learning_tasks, learning_truth
from ipnstats.simulate.common import _Effects
from ipnstats.simulate.exchanges import task_log_outcome

TASK_COLUMNS = {"firm_id": "category", "seq": "int64", "outcome": "float64",
                "n_sources": "int64", "cum_experience": "int64",
                "log_cum_experience": "float64", "log_outcome": "float64",
                "log_n_sources": "float64", "prior_risk_averse": "float64",
                "exposure": "float64"}
TRAITS = ("sender_size", "sender_age", "sender_success", "sender_status")


@pytest.fixture(scope="module")
def many() -> pd.DataFrame:
    return learning_tasks(n_firms=2000, seed=11)


def _cluster_ols(y: np.ndarray, X: np.ndarray, groups: np.ndarray):
    """OLS estimates and cluster-robust (CR0) standard errors."""
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    bread = np.linalg.inv(X.T @ X)
    scores = pd.DataFrame(X * (y - X @ beta)[:, None]).groupby(groups).sum().to_numpy()
    return beta, np.sqrt(np.diag(bread @ scores.T @ scores @ bread))


def test_task_columns_dtypes_and_order():
    tasks = learning_tasks(n_firms=50, tasks_per_firm=(2, 5), seed=3)
    assert dict(tasks.dtypes.astype(str)) == TASK_COLUMNS
    assert list(tasks.columns) == list(TASK_COLUMNS)
    per_firm = tasks.groupby("firm_id", observed=True)
    assert tasks["firm_id"].nunique() == 50 and per_firm.size().between(2, 5).all()
    assert tasks["firm_id"].astype(str).str.fullmatch(r"F\d{4}").all()
    assert (tasks["seq"] == per_firm.cumcount() + 1).all()
    assert (tasks["cum_experience"] == tasks["seq"]).all()
    assert tasks[["firm_id", "seq"]].astype(str).equals(
        tasks.sort_values(["firm_id", "seq"])[["firm_id", "seq"]].astype(str))
    assert np.allclose(tasks["log_outcome"], np.log(tasks["outcome"]))
    assert np.allclose(tasks["log_n_sources"], np.log(tasks["n_sources"]))
    assert np.allclose(tasks["log_cum_experience"], np.log(tasks["seq"]))
    assert np.array_equal(tasks["exposure"], np.log1p(tasks["prior_risk_averse"]))
    assert (tasks["n_sources"] >= 1).all()


def test_prior_exposure_is_a_running_count_for_the_exposed_share(many):
    prior = many.groupby("firm_id", observed=True)["prior_risk_averse"]
    assert (many.loc[many["seq"] == 1, "prior_risk_averse"] == 0).all()
    assert (prior.diff().dropna() >= 0).all()
    # half the firms are exposed; P(no question over k-1 gaps) = exp(-0.6 (k-1))
    k = many.groupby("firm_id", observed=True).size()
    expected = 0.5 * (1 - np.exp(-0.6 * (k - 1))).mean()
    assert prior.max().gt(0).mean() == pytest.approx(expected, abs=0.03)
    unexposed = learning_tasks(n_firms=30, share_exposed_firms=0.0, seed=1)
    assert (unexposed["prior_risk_averse"] == 0).all()


def test_same_seed_same_frame_and_generator_seed_is_its_int_stream():
    a = learning_tasks(n_firms=40, seed=5)
    pd.testing.assert_frame_equal(a, learning_tasks(n_firms=40, seed=5))
    pd.testing.assert_frame_equal(a, learning_tasks(n_firms=40, seed=np.random.default_rng(5)))
    assert not a["log_outcome"].equals(learning_tasks(n_firms=40, seed=6)["log_outcome"])


def test_bad_arguments_are_refused():
    for kwargs in ({"tasks_per_firm": (0, 3)}, {"tasks_per_firm": (5, 3)},
                   {"share_exposed_firms": 1.5}, {"exposure_rate": -1.0}):
        with pytest.raises(ValueError):
            learning_tasks(**kwargs)


def test_log_outcome_equation_is_the_study_one():
    eff = _Effects()
    got = task_log_outcome(eff, firm_effect=0.1, slope=-0.02, log_cum=np.log(4.0),
                           log_sources=np.log(3.0), exposure=np.log1p(2.0), noise=-0.05)
    want = (eff.task_intercept + 0.1 + eff.task_sources * np.log(3.0) - 0.02 * np.log(4.0)
            + eff.task_exposure_x * np.log(4.0) * np.log1p(2.0)
            + eff.task_exposure * np.log1p(2.0) - 0.05)
    assert got == pytest.approx(want, abs=1e-12)


def test_pooled_ols_recovers_the_truth(many):
    truth = learning_truth()
    log_cum, exposure = many["log_cum_experience"], many["exposure"]
    X = np.column_stack([np.ones(len(many)), many["log_n_sources"], log_cum, exposure,
                         log_cum * exposure])
    beta, se = _cluster_ols(many["log_outcome"].to_numpy(), X, many["firm_id"].cat.codes)
    want = np.array([truth["intercept"], truth["log_n_sources"], truth["log_cum_experience"],
                     truth["exposure"], truth["log_cum_experience_x_exposure"]])
    assert (np.abs(beta - want) < 4 * se).all(), (beta, se, want)
    assert se[-1] < 0.03  # precise enough to tell -0.06 from zero
    # residual variance: firm intercept + random slope x log_cum + task noise
    resid = many["log_outcome"].to_numpy() - X @ beta
    var = (truth["sd_firm"] ** 2 + truth["sd_residual"] ** 2
           + truth["random_slope_sd"] ** 2 * np.mean(log_cum ** 2))
    assert resid.var() == pytest.approx(var, rel=0.06)


def test_effects_override_reaches_frame_and_truth():
    eff = dataclasses.replace(_Effects(), task_exposure_x=-0.5, task_sd=0.0,
                              task_sd_firm=0.0, task_slope_sd=0.0)
    assert learning_truth(eff)["log_cum_experience_x_exposure"] == -0.5
    tasks = learning_tasks(n_firms=30, effects=eff, seed=2)
    want = (eff.task_intercept + eff.task_sources * tasks["log_n_sources"]
            + eff.task_experience * tasks["log_cum_experience"]
            - 0.5 * tasks["log_cum_experience"] * tasks["exposure"])
    assert np.allclose(tasks["log_outcome"], want)


def test_framing_columns_are_those_drawn_before_the_sender_traits():
    ex = framing_exchanges(seed=0)
    # values of framing_exchanges(seed=0) before the H3a traits were added
    assert len(ex) == 3000
    assert round(float(ex["cognitive_shift"].sum()), 6) == 15727.337179
    assert round(float(ex["sender_risk_aversion"].sum()), 6) == 11542.982075
    assert round(float(ex["receiver_loss_aversion"].sum()), 6) == 13089.061635
    assert int(ex["behavior_change"].sum()) == 944 and int(ex["loss"].sum()) == 1064
    assert ex["framing"].value_counts().to_dict() == {"loss": 1064, "gain": 1047,
                                                      "neutral": 889}
    assert ex["sender_id"].astype(str).str[1:].astype(int).sum() == 229782
    assert ex["receiver_id"].astype(str).str[1:].astype(int).sum() == 226500


def test_framing_leaves_a_shared_generator_stream_alone():
    rng, twin = np.random.default_rng(8), np.random.default_rng(8)
    framing_exchanges(n_receivers=10, n_senders=10, exchanges_per_receiver=3, seed=rng)
    framing_exchanges(n_receivers=10, n_senders=10, exchanges_per_receiver=3, seed=twin)
    assert rng.random() == twin.random()


def test_sender_traits_are_correlated_with_risk_aversion_only():
    ex = framing_exchanges(n_receivers=300, n_senders=5000, exchanges_per_receiver=40, seed=4)
    senders = ex.drop_duplicates("sender_id")
    assert len(senders) > 4500
    corr = senders[list(TRAITS)].corrwith(senders["sender_risk_aversion"])
    want = pd.Series({"sender_size": 0.3, "sender_age": 0.2, "sender_success": 0.2,
                      "sender_status": 0.3})
    assert (corr - want).abs().max() < 0.05, corr
    assert senders["sender_size"].mean() == pytest.approx(3.0, abs=0.05)
    assert senders["sender_age"].mean() == pytest.approx(20.0, abs=0.5)
    assert senders["sender_age"].min() >= 1 and ex["sender_age"].dtype == np.int64
    assert senders["sender_success"].mean() == pytest.approx(0.05, abs=0.005)
    assert ex["sender_status"].between(0, 1).all()
    assert ex["same_industry"].isin([0, 1]).all()
    assert ex["same_industry"].mean() == pytest.approx(0.3, abs=0.02)
    # each sender keeps one value of each trait across its exchanges
    assert (ex.groupby("sender_id", observed=True)[list(TRAITS)].nunique() == 1).all().all()
    # truly zero: holding risk aversion, no trait (nor same_industry) moves cognition
    X = np.column_stack([np.ones(len(ex)), ex["loss"], ex["sender_risk_aversion"],
                         ex[list(TRAITS)], ex["same_industry"]])
    beta, se = _cluster_ols(ex["cognitive_shift"].to_numpy(), X, ex["sender_id"].cat.codes)
    assert (np.abs(beta[3:]) < 4 * se[3:]).all(), (beta, se)


def test_framing_truth_has_the_h3a_keys():
    truth = framing_truth()
    assert truth["sender_risk_aversion"] == _Effects().cs_sender_ra
    assert all(truth[k] == 0.0 for k in (*TRAITS, "same_industry"))
