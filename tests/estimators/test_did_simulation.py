"""Monte-Carlo checks of the Callaway-Sant'Anna estimator on panels with known effects:
bias, 95% coverage of the simple ATT and of the dynamic path, and size under a zero
effect. 1,000 replications each, so that a correct 95% interval falls outside
93-97% coverage with probability below 0.5%."""

import numpy as np
import pytest

import ipnstats
from ipnstats.simulate.staggered import cs_simple_target, staggered_panel

REPS = 1000
PATH = (0.05, 0.1, 0.15)


def _replicate(effect, reps=REPS, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(reps):
        panel = staggered_panel(n_firms=300, effect=effect, seed=rng)
        res = ipnstats.participation_effect(panel, outcome="y", n_boot=0)
        event = res.aggregate("event").tidy().set_index("term")
        ci = res.tidy().iloc[0]
        rows.append((ci["estimate"], ci["std_error"], ci["conf_low"], ci["conf_high"],
                     ci["p_value"], cs_simple_target(panel),
                     [(event.loc[f"event::{e}", "conf_low"], event.loc[f"event::{e}", "conf_high"])
                      for e in range(3)]))
    return rows


@pytest.fixture(scope="module")
def effect_runs():
    return _replicate(PATH, seed=11)


def test_simple_att_is_unbiased_and_covers_95_percent(effect_runs):
    est, se, low, high, _, truth = (np.array([r[i] for r in effect_runs], float)
                                    for i in range(6))
    bias = np.mean(est - truth)
    assert abs(bias) < 0.15 * se.mean(), (bias, se.mean())
    # The analytic SE matches the Monte-Carlo spread of the estimate.
    assert np.std(est - truth) == pytest.approx(se.mean(), rel=0.1)
    covered = np.mean((low < truth) & (truth < high))
    assert 0.93 <= covered <= 0.97, covered


def test_dynamic_path_is_covered(effect_runs):
    for e, value in enumerate(PATH):
        covered = np.mean([lo < value < hi for lo, hi in (r[6][e] for r in effect_runs)])
        assert 0.93 <= covered <= 0.97, (e, covered)


def test_zero_effect_is_rejected_at_about_five_percent():
    runs = _replicate((0.0,), seed=12)
    rejected = np.mean([r[4] < 0.05 for r in runs])
    assert 0.035 <= rejected <= 0.065, rejected
