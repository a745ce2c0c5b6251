"""Monte-Carlo checks of the H3 estimators on frames drawn with the study simulator's
equations (``ipnstats.simulate.learning`` and ``ipnstats.simulate.framing``):

- H3b/H3c: the learning-rate moderation of ``truth.toml`` (experience x exposure,
  -0.06) is recovered by ``learning_curve`` and its 95% intervals cover the truth at
  93-97%; the truly-zero effects (exposure's main effect, the unexposed slope
  ``log(cum_experience)``) are rejected at close to 5%;
- H3a: ``sender_effects``' crossed random-intercept model covers the per-SD effect of
  sender risk aversion at 93-97% and rejects the truly-zero outward traits (size, age,
  success, status, same industry) at close to 5%.

500 replications each, as in test_h2_simulation.py: a correct 95% interval falls
outside 93-97% with probability about 4% (Monte-Carlo SE sqrt(.95 * .05 / 500) =
0.0097, the band is +-2.05 SE), and a correct 5% test outside 3-7% likewise. The
per-trait size checks use a 3-SE band (2.1-7.9%), five of them at once; the pooled
rate over the five traits (2,500 correlated tests) must be within 3.5-6.5%. The
seeds are fixed (one SeedSequence, spawned per replication) and were not tuned, so the
outcome is deterministic. Frame sizes follow the example study: about 240 firms with
3-12 tasks (about 1,800 tasks), and the H2 check's 200 receivers x 150 senders with 10
exchanges each. Runtime: about 30 s for the learning curves and 65 s for the sender
models on two cores.
"""

import numpy as np
import pytest

from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators.learning import learning_curve
from ipnstats.ipn.senders import sender_effects
from ipnstats.simulate.framing import framing_exchanges, framing_truth
from ipnstats.simulate.learning import learning_tasks, learning_truth

REPS = 500
SEED = 20190116
X, M, XM = "log(cum_experience)", "exposure", "log(cum_experience):exposure"
OUTWARD = ("sender_size", "sender_age", "sender_success", "sender_status", "same_industry")


def _seeds(stream: int) -> list[np.random.SeedSequence]:
    """Independent, fixed seeds for the replications of one simulation."""
    return np.random.SeedSequence(SEED).spawn(2)[stream].spawn(REPS)


def _mc_se(p: float, n: int) -> float:
    """Monte-Carlo standard error of a rate ``p`` over ``n`` independent draws."""
    return float(np.sqrt(p * (1 - p) / n))


# --------------------------------------------------------------- H3b/H3c: learning


@pytest.fixture(scope="module")
def learning_runs():
    truth = learning_truth()
    rows = []
    for seq in _seeds(0):
        tasks = learning_tasks(n_firms=240, seed=np.random.default_rng(seq))
        with single_threaded_blas():  # small matrices: BLAS threads only cost time here
            res = learning_curve(tasks, outcome="outcome", experience="cum_experience",
                                 unit="firm_id", moderator="exposure",
                                 covariates=("log_n_sources",))
        t = res.tidy().set_index("term")
        inter = t.loc[XM]
        rows.append({
            "estimate": inter["estimate"], "std_error": inter["std_error"],
            "covered": inter["conf_low"] < truth["log_cum_experience_x_exposure"]
            < inter["conf_high"],
            "reject_exposure": t.loc[M, "p_value"] < 0.05,
            "reject_slope": t.loc[X, "p_value"] < 0.05,
            "converged": res.converged, "n_tasks": len(tasks)})
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def test_learning_frames_are_study_sized(learning_runs):
    assert 1_650 < learning_runs["n_tasks"].mean() < 1_950
    assert learning_runs["converged"].mean() > 0.97


def test_learning_rate_moderation_is_recovered_and_covered(learning_runs):
    truth = learning_truth()["log_cum_experience_x_exposure"]
    est, se = learning_runs["estimate"], learning_runs["std_error"]
    mc_se = est.std() / np.sqrt(REPS)
    assert abs(est.mean() - truth) < 3 * mc_se, (est.mean(), truth, mc_se)
    assert est.std() == pytest.approx(se.mean(), rel=0.12)
    assert 0.93 <= learning_runs["covered"].mean() <= 0.97, learning_runs["covered"].mean()


@pytest.mark.parametrize("which", ["reject_exposure", "reject_slope"])
def test_truly_zero_learning_effects_have_size_five_percent(learning_runs, which):
    truth = learning_truth()
    assert truth["exposure"] == 0.0 and truth["log_cum_experience"] == 0.0
    rate = learning_runs[which].mean()
    assert 0.03 <= rate <= 0.07, rate


# ----------------------------------------------------------------- H3a: sender traits


@pytest.fixture(scope="module")
def sender_runs():
    truth = framing_truth()
    rows = []
    for seq in _seeds(1):
        ex = framing_exchanges(n_receivers=200, n_senders=150, exchanges_per_receiver=10,
                               seed=np.random.default_rng(seq))
        with single_threaded_blas():  # small matrices: BLAS threads only cost time here
            res = sender_effects(ex, covariates=("loss",))
        t = res.tidy().set_index("term")
        # the per-SD truth of this frame: the raw effect times the SD over its rows
        per_sd = truth["sender_risk_aversion"] * ex["sender_risk_aversion"].std(ddof=1)
        ra = t.loc["sender_risk_aversion"]
        rows.append({
            "error": ra["estimate"] - per_sd, "std_error": ra["std_error"],
            "covered": ra["conf_low"] < per_sd < ra["conf_high"],
            "reject": np.array([t.loc[c, "p_value"] < 0.05 for c in OUTWARD]),
            "converged": res.model.converged})
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def test_sender_models_converge(sender_runs):
    assert sender_runs["converged"].mean() > 0.97


def test_risk_aversion_per_sd_effect_is_recovered_and_covered(sender_runs):
    err, se = sender_runs["error"], sender_runs["std_error"]
    mc_se = err.std() / np.sqrt(REPS)
    assert abs(err.mean()) < 3 * mc_se, (err.mean(), mc_se)
    assert err.std() == pytest.approx(se.mean(), rel=0.12)
    assert 0.93 <= sender_runs["covered"].mean() <= 0.97, sender_runs["covered"].mean()


def test_truly_zero_outward_traits_have_size_five_percent(sender_runs):
    truth = framing_truth()
    assert all(truth[c] == 0.0 for c in OUTWARD)
    rates = sender_runs["reject"].mean(axis=0)
    band = 3 * _mc_se(0.05, REPS)
    assert (np.abs(rates - 0.05) <= band).all(), dict(zip(OUTWARD, rates, strict=True))
    pooled = sender_runs["reject"].mean()
    assert 0.035 <= pooled <= 0.065, pooled
