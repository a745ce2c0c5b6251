"""Coefficient stability under selection on unobservables (Oster 2019), as Stata psacalc.

Inputs are the moments of three regressions on the same rows: the short (uncontrolled)
regression of ``y`` on the treatment ``x`` (coefficient ``beta_short``, R² ``r2_short``),
the long (controlled) regression adding the observed controls (``beta_long``,
``r2_long``), and the auxiliary regression of ``x`` on the controls, whose residual
variance is ``tau_x``; ``var_y`` and ``var_x`` are the sample variances of ``y`` and ``x``
(``x`` residualised on psacalc's ``mcontrol`` variables when there are any). With
``R2max`` the R² of a regression that also held the unobservables and ``delta`` the
selection on unobservables relative to observables (Oster 2019, Proposition 2):

- :func:`oster_delta`: the ``delta`` for which the bias-adjusted coefficient equals
  ``beta`` (``delta*``, 0 by default), psacalc's closed form;
- :func:`oster_beta`: the bias-adjusted coefficient ``beta*`` for a given ``delta``:
  ``beta_long - nu`` where ``nu`` solves psacalc's cubic (a quadratic when ``delta = 1``).
  Of its real roots psacalc keeps the one closest to ``beta_long`` among those whose bias
  has the sign of the movement from the short to the long coefficient (Oster's
  Assumption 3); the others are returned as alternatives. At ``delta = 1`` (two roots)
  it keeps the closer root unless that one violates Assumption 3, then the other
  (robomit's ``o_beta``); with three real roots, violating roots rank last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.results.display import TidyDisplay


@dataclass(frozen=True, slots=True)
class OsterMoments:
    """What psacalc reads off the short, long and auxiliary regressions."""

    beta_short: float
    r2_short: float
    beta_long: float
    r2_long: float
    var_y: float
    var_x: float
    tau_x: float


def oster_delta(m: OsterMoments, r2max: float, beta: float = 0.0) -> float:
    """``delta*``: the relative selection that makes the adjusted coefficient ``beta``.

    >>> m = OsterMoments(0.54218, 0.33638, 0.40021, 0.53157, 0.13837, 0.15834, 0.13400)
    >>> round(oster_delta(m, 1.3 * 0.53157), 2)
    1.99
    """
    bt = m.beta_long - beta
    d = m.beta_short - m.beta_long
    rt = (m.r2_long - m.r2_short) * m.var_y
    rm = (r2max - m.r2_long) * m.var_y
    cubic = bt**3 * (m.tau_x * m.var_x - m.tau_x**2)
    num = (bt * rt * m.tau_x + bt * m.var_x * m.tau_x * d**2
           + 2 * bt**2 * m.tau_x * d * m.var_x + cubic)
    den = rm * d * m.var_x + bt * rm * (m.var_x - m.tau_x) + bt**2 * m.tau_x * d * m.var_x + cubic
    if den == 0:
        raise EstimationError("delta* is undefined here (zero denominator): the coefficient "
                              "does not move with the controls and R2max equals the long R²")
    return float(num / den)


def _cubic_coefficients(m: OsterMoments, r2max: float, delta: float) -> np.ndarray:
    """Coefficients (highest power first) of psacalc's equation in the bias ``nu``."""
    d = m.beta_short - m.beta_long
    rt = (m.r2_long - m.r2_short) * m.var_y
    rm = (r2max - m.r2_long) * m.var_y
    return np.array([
        (delta - 1) * (m.tau_x * m.var_x - m.tau_x**2),
        m.tau_x * d * m.var_x * (delta - 2),
        delta * rm * (m.var_x - m.tau_x) - rt * m.tau_x - m.var_x * m.tau_x * d**2,
        rm * delta * d * m.var_x,
    ])


def oster_beta(m: OsterMoments, r2max: float,
               delta: float = 1.0) -> tuple[float, tuple[float, ...]]:
    """``beta*`` for ``delta`` and the other real solutions (psacalc's choice of root).

    >>> m = OsterMoments(0.54218, 0.33638, 0.40021, 0.53157, 0.13837, 0.15834, 0.13400)
    >>> round(oster_beta(m, 1.3 * 0.53157)[0], 2)
    0.27
    """
    coef = _cubic_coefficients(m, r2max, delta)
    if abs(coef[0]) < 1e-12 * max(1.0, np.abs(coef).max()):
        coef = coef[1:]  # delta = 1: the quadratic
    roots = np.roots(coef)
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
    if real.size == 0:
        raise EstimationError(f"psacalc's equation has no real solution for delta = {delta:g} "
                              f"and R2max = {r2max:g}")
    betas = m.beta_long - real
    moved = np.sign(m.beta_long - m.beta_short)
    violates = np.sign(betas - m.beta_long) != moved
    if len(coef) == 3 and betas.size == 2:  # delta = 1: the closer root, else the other
        chosen = betas[np.argsort((betas - m.beta_long) ** 2)]
        chosen = chosen[::-1] if np.sign(chosen[0] - m.beta_long) != moved else chosen
    else:  # roots that violate Assumption 3 last, then by distance
        chosen = betas[np.lexsort(((betas - m.beta_long) ** 2, violates))]
    return float(chosen[0]), tuple(float(b) for b in chosen[1:])


def check_r2max(r2max: float, r2_long: float) -> None:
    """R2max must be a number in (long R², 1]."""
    if not (np.isfinite(r2max) and r2_long < r2max <= 1):
        raise SpecificationError(f"r2max must lie above the long regression's R² "
                                 f"({r2_long:.4f}) and at most 1; got {r2max!r} "
                                 "(Oster 2019 suggests 1.3 times the long R²)")


@dataclass(frozen=True, repr=False)
class OsterResult(TidyDisplay):
    """Oster's (2019) ``delta*`` and ``beta*`` for one treatment.

    Attributes
    ----------
    treatment, outcome
        The coefficient studied and the outcome.
    moments
        The short, long and auxiliary regressions' moments (:class:`OsterMoments`).
    r2max
        The R² of the hypothetical regression with the unobservables.
    delta, beta
        The ``delta`` behind ``beta_star`` and the ``beta`` behind ``delta_star``.
    beta_star, beta_star_alternatives
        The bias-adjusted coefficient for ``delta`` and the other real solutions.
    delta_star
        The relative selection on unobservables that makes the coefficient ``beta``.
    nobs
        Rows of the three regressions.
    notes
        Notes on the fit (rows left out for missing values).
    """

    treatment: str
    outcome: str
    moments: OsterMoments
    r2max: float
    delta: float
    beta: float
    beta_star: float
    beta_star_alternatives: tuple[float, ...]
    delta_star: float
    nobs: int
    notes: tuple[str, ...] = ()

    def glance(self) -> pd.DataFrame:
        """One row: the short and long regressions, R2max, ``beta*`` and ``delta*``."""
        m = self.moments
        return pd.DataFrame([{
            "treatment": self.treatment, "outcome": self.outcome, "nobs": self.nobs,
            "beta_short": m.beta_short, "r2_short": m.r2_short, "beta_long": m.beta_long,
            "r2_long": m.r2_long, "r2max": self.r2max, "delta": self.delta,
            "beta_star": self.beta_star, "beta": self.beta, "delta_star": self.delta_star}])

    def tidy(self) -> pd.DataFrame:
        """``term``, ``quantity`` (``beta_star``, ``delta_star``), ``estimate`` and the value
        held fixed (``given``: ``delta`` or ``beta``) with ``r2max``."""
        return pd.DataFrame({
            "term": [self.treatment] * 2, "quantity": ["beta_star", "delta_star"],
            "estimate": [self.beta_star, self.delta_star],
            "given": [f"delta = {self.delta:g}", f"beta = {self.beta:g}"],
            "r2max": [self.r2max] * 2})


__all__ = ["OsterMoments", "OsterResult", "check_r2max", "oster_beta", "oster_delta"]
