"""H1, does joining an IPN raise firm performance? What it fits, and on which data.

:func:`fit_h1` estimates every H1 model on the firm-year frame (``Study.firm_year``)
and returns them in one frozen :class:`H1Results`: the participation effect by four
estimators (H1a), the event study and the tenure stages (H1b), the mediation by
perceived learning (H1c), the practices (H1d), who benefits (H1e) and the exits
(H1f). The claims, checks and the findings the report is rendered from are in
:mod:`ipnstats.ipn.h1_findings`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from ipnstats.estimators.did import event_study, participation_effect, sun_abraham, twfe_did
from ipnstats.ipn.claims import attempt, no_table
from ipnstats.ipn.stages import stage_effects
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster

#: The firm-year panel's columns, as the general DiD estimators name them.
PANEL = {"unit": "firm_id", "time": "year", "cohort": "cohort"}
#: the outcomes of the participation table (log revenue, the primary outcome, first)
OUTCOMES = ("log_revenue", "profit_margin", "employment_growth")
#: the base-year covariates of the doubly robust Callaway-Sant'Anna column
COVARIATES = ("age", "log_employees")


@dataclass(frozen=True)
class H1Results:
    """Every H1 estimate behind the report section; a model the data could not support
    is :class:`~ipnstats.ipn.claims.Unavailable`, with the reason."""

    participation: dict  # outcome -> [TWFE, CS, CS + covariates, Sun-Abraham]
    event: Result
    stages: Result
    mediation: Result
    practices: Result
    practices_std: Result
    heterogeneity: object
    hazard: Result
    hazard_cox: Result
    threshold: int
    covariates: tuple[str, ...] = COVARIATES
    outcome: str = "log_revenue"  # the primary outcome


def fit_h1(fy: pd.DataFrame, *, threshold: int, n_boot: int = 999, seed: int = 0,
           firms: pd.DataFrame | None = None, outcomes: tuple[str, ...] = OUTCOMES,
           covariates: tuple[str, ...] = COVARIATES, mediation_draws: int = 5000,
           absent: Collection[str] = (), outcome: str = "log_revenue") -> H1Results:
    """Fit the H1 models on a firm-year frame (``Study.firm_year``).

    ``outcome`` is the primary outcome (H1a's): the participation table's first, and the
    outcome of the event study, the tenure stages, the mediation, the practices and
    who benefits. ``outcomes`` are the other outcomes of the participation table;
    ``covariates`` those of the doubly robust CS column (the configuration's names are
    checked before anything is fitted: a name the frame lacks is left out here).
    A table a claim needs among ``absent`` (the study's missing tables,
    ``Study.skipped``; see :data:`~ipnstats.ipn.claims.NEEDS`) makes its models
    :class:`~ipnstats.ipn.claims.Unavailable`, with the reason: no surveys, no H1c;
    no meetings or meeting activity, no H1d and H1f.
    """
    from ipnstats.ipn.hazard import exit_hazard
    from ipnstats.ipn.practices import heterogeneity, practice_effects

    def fit(code: str, estimator, /, *args, **options):
        return no_table(code, absent) or attempt(estimator, *args, **options)

    cov = tuple(c for c in covariates if c in fy.columns)
    wanted = dict.fromkeys((outcome, *outcomes))
    participation = {o: attempt(_four_estimators, fy, o, n_boot, seed, cov)
                     for o in wanted if o in fy}
    return H1Results(
        participation=participation,
        event=attempt(event_study, fy, outcome=outcome, **PANEL, window=(-4, 6),
                      n_boot=n_boot, seed=seed),
        stages=attempt(stage_effects, fy, outcome=outcome, n_boot=n_boot, seed=seed),
        mediation=fit("H1c", _fit_mediation, fy, seed, mediation_draws, outcome),
        practices=fit("H1d", practice_effects, fy, outcome=outcome),
        practices_std=fit("H1d", practice_effects, fy, outcome=outcome, standardize=True),
        heterogeneity=attempt(heterogeneity, fy, outcome=outcome, firms=firms),
        hazard=fit("H1f", exit_hazard, fy), hazard_cox=fit("H1f", exit_hazard, fy, model="cox"),
        threshold=threshold, covariates=cov, outcome=outcome)


def _four_estimators(fy, outcome, n_boot, seed, cov):
    """TWFE, CS, CS + covariates (doubly robust, no bootstrap) and Sun-Abraham."""
    columns = dict(outcome=outcome, vcov=Cluster("firm_id"), **PANEL)
    return [twfe_did(fy, **columns),
            participation_effect(fy, n_boot=n_boot, seed=seed, **columns),
            participation_effect(fy, covariates=cov, n_boot=0, seed=seed, **columns),
            sun_abraham(fy, **columns)]


def next_year_frame(fy: pd.DataFrame, outcome: str = "log_revenue", unit: str = "firm_id",
                    time: str = "year") -> pd.DataFrame:
    """Each firm-year with the firm's ``outcome`` of the next year (``<outcome>_next``).

    Examples
    --------
    >>> fy = pd.DataFrame({"firm_id": [1, 1, 2], "year": [2020, 2021, 2020],
    ...                    "log_revenue": [1.0, 1.5, 2.0]})
    >>> next_year_frame(fy)["log_revenue_next"].tolist()
    [1.5]
    """
    nxt = fy[[unit, time, outcome]].assign(**{time: fy[time] - 1})
    nxt = nxt.rename(columns={outcome: f"{outcome}_next"})
    return fy.merge(nxt, on=[unit, time], how="inner")


def within(frame: pd.DataFrame, columns: list[str], unit: str = "firm_id",
           time: str = "year") -> pd.DataFrame:
    """``columns`` with firm and year means swept out (complete rows only)."""
    from ipnstats.core.demean import demean

    rows = frame.dropna(subset=columns)
    effects = [(pd.factorize(rows[c])[0], rows[c].nunique()) for c in (unit, time)]
    M, _, _ = demean(rows[columns].to_numpy(float), effects)
    return rows[[unit, time]].assign(**dict(zip(columns, M.T, strict=True)))


def _fit_mediation(fy: pd.DataFrame, seed: int, n_boot: int = 5000,
                   outcome: str = "log_revenue"):
    """Membership -> perceived learning -> next year's ``outcome``, within firm and year."""
    from ipnstats.estimators.mediation import mediation

    y = f"{outcome}_next"
    data = within(next_year_frame(fy, outcome), ["member", "perceived_learning", y])
    return mediation(data, x="member", m="perceived_learning", y=y,
                     cluster="firm_id", n_boot=n_boot, seed=seed)


__all__ = ["COVARIATES", "OUTCOMES", "H1Results", "fit_h1", "next_year_frame", "within"]
