"""Two-period panel difference-in-differences with covariates, as R ``DRDID``.

Each estimator takes one 2x2 cell of a panel: the outcome change ``dy`` from the base
period to ``t``, the indicator ``d`` (1 = cohort g, 0 = comparison units; only units of
the cell are passed) and the covariates ``X`` *including an intercept column*, taken
at the base period as ``did`` does. It returns the ATT and its influence function::

    att, inf = drdid_panel(dy, d, X)

- ``reg_did_panel``: outcome regression (Heckman, Ichimura and Todd 1997);
- ``std_ipw_did_panel``: normalised (Hajek) inverse probability weighting (Abadie 2005);
- ``drdid_panel``: locally efficient doubly robust DiD (Sant'Anna and Zhao 2020), the
  default ``est_method = "dr"`` of R ``did::att_gt``.

They follow ``DRDID::reg_did_panel``, ``std_ipw_did_panel`` and ``drdid_panel`` with
unit weights, including the influence functions' estimation effects of the OLS and
logit nuisance parameters, the propensity-score cap ``pmin(ps, 1 - 1e-6)`` and the
trimming of comparison units with ``ps >= trim_level`` (0.995). The two
propensity-score estimators also apply ``did::att_gt``'s own cell check: a cell whose
largest estimated propensity score is ``>= 0.999`` violates overlap and is not
estimated. With ``X`` an intercept alone, all three are the difference in mean
changes, with :func:`ipnstats.estimators.did.att_gt.cell_effect`'s influence function.

Influence-function scale
------------------------
``inf`` is DRDID's ``att.inf.func``: one value per unit of the cell (``n`` units), mean
zero (exactly, up to the logit's convergence), ``Var(att) = mean(inf**2) / n``.
DRDID reports ``se = sd(inf) * sqrt(n - 1) / n`` for dr and ipw
(:func:`cell_std_error`) and ``sd(inf) / sqrt(n)`` for reg, larger by
``sqrt(n / (n - 1))``; ``did::att_gt`` uses neither, see below.

To place a cell in the all-units influence matrix of :mod:`.att_gt` (``N`` units, the
``n * (...)`` scale of ``cell_effect``), do what ``did``'s ``compute.att_gt`` does::

    column = np.zeros(N); column[in_cell] = (N / n) * inf

Then ``vcov_from_influence`` (``IF'IF / N**2``) gives ``se = sqrt(sum(inf**2)) / n``,
``did::att_gt``'s analytic standard error, and aggregations, clustering and the
multiplier bootstrap work on the columns unchanged.

Failures (no treated or comparison units, collinear covariates, a singular
outcome-regression design among comparison units, (quasi-)separation or
non-convergence of the logit, overlap violations, every comparison unit trimmed)
raise :class:`CellEstimationError` with a message naming the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy.special import expit

from ipnstats.core.errors import EstimationError, SpecificationError

EstMethod = Literal["dr", "ipw", "reg"]
CellEstimator = Callable[..., tuple[float, np.ndarray]]

_EPS = np.finfo(float).eps  # R's .Machine$double.eps, DRDID's rcond threshold
_PS_CAP = 1 - 1e-6  # DRDID: ps.fit <- pmin(ps.fit, 1 - 1e-6)


class CellEstimationError(EstimationError):
    """A 2x2 cell whose ATT cannot be estimated; the message names the problem."""


def reg_did_panel(dy: np.ndarray, d: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD: treated changes minus their OLS prediction from controls.

    Parameters
    ----------
    dy
        Outcome change from the base period to ``t``, one per unit of the cell.
    d
        1 for the treated cohort, 0 for comparison units.
    X
        Covariates at the base period, with an intercept column (n x k).

    Returns
    -------
    tuple of float and numpy.ndarray
        The ATT and its influence function (DRDID's scale, see the module docstring).

    Notes
    -----
    ``beta`` is the OLS fit of ``dy`` on ``X`` among comparison units and
    ``ATT = mean_{d=1}(dy - X beta)``. With ``p = mean(d)``, ``e = dy - X beta`` and
    ``Q = X'(1-d)X / n``, the influence function is
    ``[d (dy - X beta - ATT) - (1-d) e X Q^{-1} mean(d X)] / p``.

    Examples
    --------
    >>> X = np.ones((4, 1))
    >>> reg_did_panel(np.array([3.0, 5.0, 1.0, 2.0]), np.array([1, 1, 0, 0]), X)[0]
    2.5
    """
    dy, d, X = _prepare(dy, d, X)
    fitted, ols_rep = _outcome_regression(dy, d, X)
    p = d.mean()
    eta_treat = np.mean(d * dy) / p
    eta_cont = np.mean(d * fitted) / p
    inf_treat = d * (dy - eta_treat) / p
    inf_cont = (d * (fitted - eta_cont) + ols_rep @ np.mean(d[:, None] * X, axis=0)) / p
    return float(eta_treat - eta_cont), inf_treat - inf_cont


def std_ipw_did_panel(dy: np.ndarray, d: np.ndarray, X: np.ndarray, *,
                      trim_level: float = 0.995,
                      overlap_limit: float | None = 0.999) -> tuple[float, np.ndarray]:
    """Normalised (Hajek) inverse-probability-weighted DiD (Abadie 2005).

    Parameters
    ----------
    dy, d, X
        As in :func:`reg_did_panel`.
    trim_level
        Comparison units with an estimated propensity score ``>= trim_level`` get zero
        weight (DRDID's ``trim.level``).
    overlap_limit
        Raise when the largest propensity score is ``>= overlap_limit``, as
        ``did::att_gt`` sets such cells to NA; ``None`` skips the check.

    Returns
    -------
    tuple of float and numpy.ndarray
        The ATT and its influence function (DRDID's scale).

    Notes
    -----
    ``ATT = sum(w1 dy) / sum(w1) - sum(w0 dy) / sum(w0)`` with ``w1 = d`` and
    ``w0 = ps (1-d) / (1-ps)``, ``ps`` a logit of ``d`` on ``X`` by maximum likelihood;
    the influence function includes the logit's estimation effect.

    Examples
    --------
    >>> X = np.ones((4, 1))
    >>> std_ipw_did_panel(np.array([3.0, 5.0, 1.0, 2.0]), np.array([1, 1, 0, 0]), X)[0]
    2.5
    """
    dy, d, X = _prepare(dy, d, X)
    ps, ps_rep = _propensity(d, X, overlap_limit)
    w_treat, w_cont = _ipw_weights(d, ps, trim_level)
    eta_treat = np.mean(w_treat * dy) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * dy) / np.mean(w_cont)
    inf_treat = w_treat * (dy - eta_treat) / np.mean(w_treat)
    lead = w_cont * (dy - eta_cont)
    inf_cont = (lead + ps_rep @ np.mean(lead[:, None] * X, axis=0)) / np.mean(w_cont)
    return float(eta_treat - eta_cont), inf_treat - inf_cont


def drdid_panel(dy: np.ndarray, d: np.ndarray, X: np.ndarray, *, trim_level: float = 0.995,
                overlap_limit: float | None = 0.999) -> tuple[float, np.ndarray]:
    """Locally efficient doubly robust DiD (Sant'Anna and Zhao 2020, eq. 3.1).

    Parameters
    ----------
    dy, d, X
        As in :func:`reg_did_panel`.
    trim_level, overlap_limit
        As in :func:`std_ipw_did_panel`.

    Returns
    -------
    tuple of float and numpy.ndarray
        The ATT and its influence function (DRDID's scale).

    Notes
    -----
    With ``e = dy - X beta`` (OLS among comparison units) and the IPW weights of
    :func:`std_ipw_did_panel`, ``ATT = sum(w1 e) / sum(w1) - sum(w0 e) / sum(w0)``,
    consistent if either the logit or the linear outcome model is right. The
    influence function includes the estimation effects of both.

    Examples
    --------
    >>> X = np.ones((4, 1))
    >>> drdid_panel(np.array([3.0, 5.0, 1.0, 2.0]), np.array([1, 1, 0, 0]), X)[0]
    2.5
    """
    dy, d, X = _prepare(dy, d, X)
    ps, ps_rep = _propensity(d, X, overlap_limit)
    fitted, ols_rep = _outcome_regression(dy, d, X)
    w_treat, w_cont = _ipw_weights(d, ps, trim_level)
    resid = dy - fitted
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * resid) / np.mean(w_cont)
    inf_treat = (w_treat * (resid - eta_treat)
                 - ols_rep @ np.mean(w_treat[:, None] * X, axis=0)) / np.mean(w_treat)
    lead = w_cont * (resid - eta_cont)
    inf_cont = (lead + ps_rep @ np.mean(lead[:, None] * X, axis=0)
                - ols_rep @ np.mean(w_cont[:, None] * X, axis=0)) / np.mean(w_cont)
    return float(eta_treat - eta_cont), inf_treat - inf_cont


ESTIMATORS: dict[str, CellEstimator] = {
    "dr": drdid_panel, "ipw": std_ipw_did_panel, "reg": reg_did_panel}


def cell_std_error(inf: np.ndarray) -> float:
    """DRDID's analytic standard error of a cell, ``sd(inf) * sqrt(n - 1) / n``.

    Examples
    --------
    >>> cell_std_error(np.array([1.0, -1.0, 1.0, -1.0]))
    0.5
    """
    inf = np.asarray(inf, float)
    return float(np.sqrt(np.mean((inf - inf.mean()) ** 2) / inf.size))


def _prepare(dy, d, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays as float, shapes and values checked; ``d`` as 0.0/1.0."""
    dy, d, X = np.asarray(dy, float), np.asarray(d), np.asarray(X, float)
    X = X[:, None] if X.ndim == 1 else X
    n = dy.shape[0]
    if dy.ndim != 1 or d.shape != (n,) or X.ndim != 2 or X.shape[0] != n:
        raise SpecificationError(
            f"dy {dy.shape}, d {d.shape} and X {X.shape} must be one row per unit")
    if not np.isin(d, (0, 1)).all():
        raise SpecificationError("d must be 1 (treated cohort) or 0 (comparison units)")
    if not np.all(X == X[:1], axis=0).any():
        raise SpecificationError("X must include an intercept (a constant column)")
    if not (np.isfinite(dy).all() and np.isfinite(X).all()):
        raise CellEstimationError("missing or non-finite outcome changes or covariates in "
                                  "the cell; drop those units before estimating")
    d = d.astype(float)
    if d.sum() == 0 or d.sum() == n:
        raise CellEstimationError(f"no {'treated' if d.sum() == 0 else 'comparison'} units "
                                  "in the cell")
    return dy, d, X


def _rcond(a: np.ndarray) -> float:
    """Reciprocal 1-norm condition number, as R's ``rcond`` (0 when singular)."""
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(a, 1)
    return 0.0 if not np.isfinite(cond) else 1.0 / cond


def _outcome_regression(dy: np.ndarray, d: np.ndarray,
                        X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``dy`` on ``X`` among comparison units: fitted values for every unit and
    the asymptotic linear representation of the coefficients (n x k)."""
    control = d == 0
    gram = X[control].T @ X[control] / d.size
    if _rcond(gram) < _EPS:
        raise CellEstimationError(
            f"the outcome regression among the {int(control.sum())} comparison units is "
            f"singular: its {X.shape[1]} covariates (with the intercept) are constant or "
            "collinear among them; drop covariates or use est_method='ipw'")
    beta = np.linalg.lstsq(X[control], dy[control], rcond=None)[0]
    fitted = X @ beta
    rep = (control * (dy - fitted))[:, None] * X @ np.linalg.inv(gram)
    return fitted, rep


def _propensity(d: np.ndarray, X: np.ndarray,
                overlap_limit: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Logit propensity scores (capped at ``1 - 1e-6``) and the asymptotic linear
    representation of the logit coefficients (n x k)."""
    ps = _logit(d, X)
    if overlap_limit is not None and ps.max() >= overlap_limit:
        raise CellEstimationError(
            f"overlap violated: the largest estimated propensity score is {ps.max():.6f} "
            f">= {overlap_limit} (did::att_gt leaves such cells NA); drop or coarsen "
            "covariates that nearly predict treatment")
    ps = np.minimum(ps, _PS_CAP)
    info = X.T @ ((ps * (1 - ps))[:, None] * X)
    if _rcond(info) < _EPS:
        raise CellEstimationError("the propensity-score information matrix is singular; "
                                  "drop covariates")
    rep = ((d - ps)[:, None] * X) @ (np.linalg.inv(info) * d.size)
    return ps, rep


def _ipw_weights(d: np.ndarray, ps: np.ndarray,
                 trim_level: float) -> tuple[np.ndarray, np.ndarray]:
    """DRDID's weights: ``d`` for the treated, ``ps / (1 - ps)`` for comparison units
    with ``ps < trim_level`` (others trimmed to zero)."""
    keep = (d == 1) | (ps < trim_level)
    w_cont = keep * ps * (1 - d) / (1 - ps)
    if not w_cont.any():
        raise CellEstimationError(f"every comparison unit has a propensity score >= "
                                  f"{trim_level} and is trimmed")
    return keep * d, w_cont


def _logit(d: np.ndarray, X: np.ndarray, max_iter: int = 100,
           tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood logit of ``d`` on ``X`` by Newton's method with step halving;
    fitted probabilities. Converged when the Newton step moves no linear predictor by
    more than ``tol``; without a maximum (separation) the steps never shrink."""
    if _rcond(X.T @ X) < _EPS:
        raise CellEstimationError("the covariates are collinear in the cell (singular "
                                  "propensity-score design); drop covariates")
    eta = np.zeros(d.size)
    for _ in range(max_iter):
        p = expit(eta)
        step = _newton_step(X, d, p)
        if step is None:
            break
        move = X @ step
        if np.abs(move).max() < tol:
            return expit(eta + move)
        eta = eta + _halve(d, eta, move) * move
    raise _logit_failure(d, expit(eta), max_iter)


def _newton_step(X: np.ndarray, d: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    """Newton step of the logit coefficients; None when the information is singular
    (fitted probabilities at 0 or 1)."""
    try:
        with np.errstate(all="ignore"):
            step = np.linalg.solve(X.T @ ((p * (1 - p))[:, None] * X), X.T @ (d - p))
    except np.linalg.LinAlgError:
        return None
    return step if np.isfinite(step).all() else None


def _halve(d: np.ndarray, eta: np.ndarray, move: np.ndarray) -> float:
    """Largest step ``2**-j`` that does not lower the log-likelihood (beyond rounding)."""
    base = _loglik(d, eta)
    scale = 1.0
    while scale > 1e-10 and _loglik(d, eta + scale * move) < base - 1e-12 * (1 + abs(base)):
        scale /= 2
    return scale


def _loglik(d: np.ndarray, eta: np.ndarray) -> float:
    """Logit log-likelihood, stable for large ``|eta|``."""
    return float(np.sum(d * eta - np.logaddexp(0.0, eta)))


def _logit_failure(d: np.ndarray, p: np.ndarray, max_iter: int) -> CellEstimationError:
    """Name why the logit has no maximum: separation when fitted probabilities reach
    0 or 1, otherwise plain non-convergence."""
    extreme = np.minimum(p, 1 - p) < 1e-8
    if not extreme.any():
        return CellEstimationError(f"the propensity-score logit did not converge in "
                                   f"{max_iter} Newton iterations")
    treated = int((extreme & (d == 1)).sum())
    return CellEstimationError(
        "the propensity-score logit has no maximum: (quasi-)complete separation, the "
        f"covariates perfectly predict treatment status for {int(extreme.sum())} units "
        f"({treated} treated, {int(extreme.sum()) - treated} comparison; fitted "
        "probabilities numerically 0 or 1); drop or coarsen the separating covariate")
