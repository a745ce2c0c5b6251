"""A light task frame with known learning curves, for Monte-Carlo checks and power.

:func:`simulate_study` builds tasks from a whole simulated network, where exposure to
risk-averse senders comes from the exchanges; coverage and power checks need thousands
of task frames and only the H3b and H3c variables. This generator draws firms with a
number of tasks each, information sources that grow with experience as in
:func:`simulate_study`, prior exposure as a running count of spontaneous questions from
risk-averse senders (for a share of the firms), and the log outcome with the same
equation and parameters as :func:`simulate_study` (:func:`task_log_outcome`, with firm
random intercepts and experience slopes), so ``learning_truth()`` holds for both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.core.seeds import rng_from
from ipnstats.simulate.common import _Effects, _within_rank
from ipnstats.simulate.exchanges import task_log_outcome


def learning_truth(effects: _Effects | None = None) -> dict[str, float]:
    """The true H3b and H3c parameters: the coefficients of log_outcome on the
    experience x exposure interaction, exposure (log1p(prior_risk_averse)), log_n_sources,
    log_cum_experience and the intercept, the SD of the firms' random experience slopes,
    of the firm random intercept and of the residual."""
    eff = effects or _Effects()
    return {"log_cum_experience_x_exposure": eff.task_exposure_x,
            "exposure": eff.task_exposure, "log_n_sources": eff.task_sources,
            "log_cum_experience": eff.task_experience, "intercept": eff.task_intercept,
            "random_slope_sd": eff.task_slope_sd, "sd_firm": eff.task_sd_firm,
            "sd_residual": eff.task_sd}


def learning_tasks(*, n_firms: int = 200, tasks_per_firm: tuple[int, int] = (3, 12),
                   share_exposed_firms: float = 0.5, exposure_rate: float = 0.6,
                   effects: _Effects | None = None,
                   seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """Draw a task frame with the H3b and H3c columns of ``Study.tasks``.

    Parameters
    ----------
    n_firms
        Firms (ids ``F0001``, ``F0002``...).
    tasks_per_firm
        Smallest and largest number of tasks of a firm (inclusive), drawn uniformly.
    share_exposed_firms
        Share of the firms (chosen at random) that receive spontaneous questions from
        risk-averse senders; the others have prior_risk_averse 0 throughout.
    exposure_rate
        Mean number of such questions an exposed firm receives between two tasks
        (Poisson); none before its first task.
    effects
        The generating parameters (default: those of :func:`simulate_study`).
    seed
        An int or a numpy Generator.

    Returns
    -------
    DataFrame
        The columns of the task frame: firm_id (categorical), seq, outcome, n_sources,
        cum_experience (= seq), log_cum_experience, log_outcome, log_n_sources,
        prior_risk_averse; and exposure (log1p(prior_risk_averse)). Sorted by firm and
        seq; outcome is exp(log_outcome), unrounded.

    Examples
    --------
    >>> tasks = learning_tasks(n_firms=10, tasks_per_firm=(2, 4))
    >>> int(tasks["firm_id"].nunique()), bool(tasks["seq"].between(1, 4).all())
    (10, True)
    """
    lo, hi = tasks_per_firm
    if not 1 <= lo <= hi or n_firms < 1:
        raise ValueError(f"need n_firms >= 1 and 1 <= tasks_per_firm[0] <= tasks_per_firm[1],"
                         f" got n_firms={n_firms!r}, tasks_per_firm={tasks_per_firm!r}")
    if not 0 <= share_exposed_firms <= 1 or exposure_rate < 0:
        raise ValueError(f"need 0 <= share_exposed_firms <= 1 and exposure_rate >= 0, got "
                         f"{share_exposed_firms!r} and {exposure_rate!r}")
    eff = effects or _Effects()
    rng = rng_from(seed)
    k = rng.integers(lo, hi + 1, n_firms)
    firm = np.repeat(np.arange(n_firms), k)
    cum = _within_rank(k) + 1
    sources = 1 + rng.poisson(np.exp(0.6 * np.log(cum)
                                     + 0.3 * rng.standard_normal(n_firms)[firm]))
    exposed = rng.permutation(n_firms) < round(share_exposed_firms * n_firms)
    step = rng.poisson(exposure_rate, firm.size) * exposed[firm]
    before = np.cumsum(step) - step  # questions before each task, over all firms so far
    prior = before - np.repeat(before[np.cumsum(k) - k], k)  # ... within the firm
    exposure = np.log1p(prior)
    log_cum = np.log(cum)
    slope = eff.task_experience + rng.normal(0.0, eff.task_slope_sd, n_firms)[firm]
    firm_effect = rng.normal(0.0, eff.task_sd_firm, n_firms)[firm]
    log_out = task_log_outcome(eff, firm_effect=firm_effect, slope=slope, log_cum=log_cum,
                               log_sources=np.log(sources), exposure=exposure,
                               noise=rng.normal(0.0, eff.task_sd, firm.size))
    width = max(4, len(str(n_firms)))
    return pd.DataFrame({
        "firm_id": pd.Categorical([f"F{i + 1:0{width}d}" for i in firm]),
        "seq": cum.astype(np.int64), "outcome": np.exp(log_out),
        "n_sources": sources.astype(np.int64), "cum_experience": cum.astype(np.int64),
        "log_cum_experience": log_cum, "log_outcome": log_out,
        "log_n_sources": np.log(sources), "prior_risk_averse": prior.astype(float),
        "exposure": exposure})
