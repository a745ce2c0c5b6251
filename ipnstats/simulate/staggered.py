"""A light staggered-adoption panel with known effects, for Monte-Carlo checks and power.

:func:`simulate_study` writes a whole study folder; Monte-Carlo work (coverage and
size checks, power curves) needs thousands of panels and only the outcome. This
generator draws the H1 design alone: firms in peer groups, joins in cohorts,
``y = firm effect + year effect + group-year shock + effect(event time) + AR(1)
noise``, and returns each row's true effect so any target can be computed exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.seeds import as_generator


def staggered_panel(*, n_firms: int = 300, years: Sequence[int] = range(2010, 2020),
                    cohorts: Sequence[int] = (0, 2013, 2015, 2017),
                    cohort_shares: Sequence[float] | None = None,
                    effect: Sequence[float] = (0.05, 0.1, 0.15),
                    cohort_scale: dict[int, float] | None = None, n_groups: int = 30,
                    group_size: int | None = None, group_sd: float = 0.0, rho: float = 0.5,
                    noise_sd: float = 0.2,
                    seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """Draw a balanced firm-year panel with staggered joins and known effects.

    Parameters
    ----------
    cohorts, cohort_shares
        Joining years (0 = never joins) and their shares (equal by default).
    effect
        True effect by event time 0, 1, 2, ...; the last value holds afterwards.
    cohort_scale
        Multiplies the effect of a cohort (heterogeneous effects: TWFE's weak spot).
    n_groups, group_size, group_sd
        Firms are spread over ``n_groups`` peer groups at random. With ``group_size``
        the design is an IPN's instead: the first ``n_groups * group_size`` firms join
        (their cohorts drawn among the non-zero ``cohorts``, with ``cohort_shares``
        renormalised) and fill the groups in turn; the other firms never join and each
        is its own group, without a shared shock. ``group_sd`` is the SD of a group-year
        shock shared by a group's firms (what clustering by group is for).
    rho, noise_sd
        AR(1) coefficient and innovation SD of the idiosyncratic noise.

    Returns
    -------
    pandas.DataFrame
        ``firm_id, group_id, year, cohort, event_time, member, y, true_effect``.
    """
    rng = as_generator(seed)
    years = np.asarray(list(years))
    n, t = n_firms, years.size
    if group_size:
        cohort, group = _ipn_groups(rng, n, cohorts, cohort_shares, n_groups, int(group_size))
    else:
        cohort = rng.choice(np.asarray(cohorts), size=n, p=cohort_shares)
        group = rng.integers(0, n_groups, size=n)
    e = np.where(cohort[:, None] > 0, years[None, :] - cohort[:, None], -1)
    path = np.asarray(effect, float)
    tau = np.where(e >= 0, path[np.clip(e, 0, path.size - 1)], 0.0)
    if cohort_scale:
        tau *= np.vectorize(lambda c: cohort_scale.get(int(c), 1.0))(cohort)[:, None]
    noise = np.zeros((n, t))
    noise[:, 0] = rng.normal(scale=noise_sd / np.sqrt(1 - rho**2), size=n)
    for j in range(1, t):
        noise[:, j] = rho * noise[:, j - 1] + rng.normal(scale=noise_sd, size=n)
    shocks = 0.0
    if group_sd:
        shared = group < n_groups  # never-joiners of an IPN design are not in a group
        shocks = np.where(shared[:, None], rng.normal(scale=group_sd, size=(n_groups, t))[
            np.minimum(group, n_groups - 1)], 0.0)
    y = (rng.normal(size=n)[:, None] + np.cumsum(rng.normal(0.02, 0.03, t))[None, :]
         + shocks + tau + noise)
    return pd.DataFrame({
        "firm_id": np.repeat(np.arange(n), t), "group_id": np.repeat(group, t),
        "year": np.tile(years, n), "cohort": np.repeat(cohort, t),
        "event_time": np.where(np.repeat(cohort, t) > 0, e.ravel(), np.nan),
        "member": (e.ravel() >= 0).astype(int), "y": y.ravel(), "true_effect": tau.ravel()})


def _ipn_groups(rng, n, cohorts, shares, n_groups, group_size):
    """Cohorts and groups of an IPN design: joiners fill the groups, the rest never join."""
    joiners = n_groups * group_size
    if joiners > n:
        raise SpecificationError(f"n_groups * group_size = {joiners} joiners exceed n_firms = {n}")
    cohorts = np.asarray(cohorts)
    p = np.full(cohorts.size, 1.0) if shares is None else np.asarray(shares, float)
    p = np.where(cohorts > 0, p, 0.0)
    cohort = np.zeros(n, dtype=cohorts.dtype)
    cohort[:joiners] = rng.choice(cohorts, size=joiners, p=p / p.sum())
    group = np.concatenate([np.arange(joiners) // group_size, n_groups + np.arange(n - joiners)])
    return cohort, group


def cs_simple_target(panel: pd.DataFrame) -> float:
    """The estimand of Callaway-Sant'Anna's simple aggregation in this panel.

    The mean true effect over post-treatment (cohort, year) cells, each cell weighted
    by its cohort's share of firms, as did's ``aggte(type = "simple")``.
    """
    post = panel[(panel["cohort"] > 0) & (panel["year"] >= panel["cohort"])
                 & (panel["cohort"] > panel["year"].min())]
    cells = post.groupby(["cohort", "year"])["true_effect"].mean().reset_index()
    sizes = panel.groupby("cohort")["firm_id"].nunique()
    w = cells["cohort"].map(sizes).to_numpy(float)
    return float(w @ cells["true_effect"].to_numpy() / w.sum())
