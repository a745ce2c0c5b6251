"""Selection on an unobservable, simulated (``simulate_study(selection=...)``): the
identification checks flag a claim that only selection produced, and do not flag one
that is real.

The study simulator's ``selection`` knob gives every firm an unobserved drive that makes
it grow faster and join sooner, so joiners' untreated revenue pulls away from the
comparison firms before and after joining: parallel trends fail by a linear trend whose
size ``truth.toml``'s ``[selection]`` records (``violation_mbar``: 1 in Rambachan-Roth
relative magnitudes, 0 without selection). "Flagged" is what the Done-when line of
issue 22 names: the Delta-RM breakdown value of the effect averaged over the years after
joining (the verdict table's robustness column) is below the truth's violation, i.e. the
95% robust interval at M̄ = violation_mbar contains 0.

- With selection and no true effect (``membership_effect=0``), the conventional event
  study finds an effect (its post-period average is biased upwards), and the robust interval at
  the truth's M̄ = 1 contains 0 in almost every replication: Honest DiD's intervals
  cover the true effect when the violation is within the restriction, so the rate is at
  least 95% up to Monte-Carlo error.
- Without selection, with the default true effect, the breakdown value stays above the
  truth's violation (0): the conventional interval excludes 0 in almost every draw.

The counts are checked against binomial bounds (probability 0.001 of a false failure).
"""

import tomllib

import numpy as np
import pytest
from scipy import stats

from ipnstats.data.study import load_study
from ipnstats.ipn.identification import identification_event, survives
from ipnstats.simulate import simulate_study

REPS = 12
OUTCOME = "log_revenue"


def _replicate(tmp_path, seed: np.random.SeedSequence, **knobs) -> tuple[bool, float, dict]:
    """One simulated study: (flagged, the conventional post-period average, the truth's
    [selection])."""
    folder = simulate_study(tmp_path / str(seed.spawn_key[-1]), seed=int(seed.generate_state(1)[0]),
                            **knobs)
    truth = tomllib.loads((folder / "truth.toml").read_text())["selection"]
    event = identification_event(load_study(folder).firm_year, OUTCOME, n_boot=0, seed=1)
    flagged = not survives(event, truth["violation_mbar"]["value"], "average")
    return flagged, float(event.params["ATT"]), truth


def _least(p: float) -> int:
    """The fewest of REPS successes of probability at least ``p`` that is not a 0.001
    accident."""
    return int(stats.binom.ppf(0.001, REPS, p))


@pytest.mark.parametrize("scenario", ["selection", "none"])
def test_the_identification_checks_flag_selection_and_only_selection(tmp_path, scenario):
    root = np.random.SeedSequence(22_2026)
    knobs = ({"n_firms": 400, "selection": 0.08, "membership_effect": 0.0}
             if scenario == "selection" else {"n_firms": 600})
    draws = [_replicate(tmp_path, s, **knobs) for s in root.spawn(REPS)]
    flagged = [d[0] for d in draws]
    estimates = np.array([d[1] for d in draws])
    gaps = np.array([d[2]["trend_gap"]["value"] for d in draws])
    if scenario == "selection":
        assert np.all(gaps > 0.02)  # the knob made joiners pull away
        # the conventional estimate is biased: no true effect, yet clearly positive
        assert estimates.mean() > 3 * estimates.std(ddof=1) / np.sqrt(REPS)
        assert sum(flagged) >= _least(0.95), flagged
    else:
        assert np.all(gaps == 0)
        assert REPS - sum(flagged) >= _least(0.9), flagged
