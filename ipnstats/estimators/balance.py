"""Entropy-balancing weights for a binary treatment (inverse probability weights are
in :mod:`ipnstats.estimators.ipw`).

- :func:`entropy_balance`: Hainmueller (2012), as R ``ebal::ebalance``, Stata ``ebalance``
  and ``WeightIt(method = "ebal", estimand = "ATT")``. Control unit ``i`` gets
  ``w_i = q_i exp(c_i' lambda) / sum_j q_j exp(c_j' lambda)`` (``q``: base weights,
  ``c_i``: the balance constraints), the weights closest to ``q`` in Kullback-Leibler
  divergence whose weighted control means of ``c`` equal the treated means. ``lambda``
  minimises the convex dual ``log sum_i q_i exp((c_i - target)' lambda)``, solved here by
  Newton's method with step halving on standardised constraints. Treated units weigh 1;
  the control weights sum to the number of treated units (ebal's scale).

Check the result with :func:`~ipnstats.estimators.balance_table.balance_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.estimators.balance_covariates import (
    Covariates,
    aligned_weights,
    covariate_matrix,
    ess_note,
    kish_ess,
    treatment_indicator,
)
from ipnstats.results.display import TidyDisplay


@dataclass(frozen=True, repr=False)
class EntropyBalanceResult(TidyDisplay):
    """Entropy-balancing weights (Hainmueller 2012).

    Attributes
    ----------
    treatment, covariates
        The treatment column and the covariate columns given.
    terms
        The balanced columns: the covariates (a text column as one indicator per level)
        and, with ``moments=2``, the squares of the non-binary ones (``"age^2"``).
    moments
        1 (means) or 2 (means and variances).
    weights
        One weight per row of ``data`` (its index): 1 for treated units, the balancing
        weights for controls (they sum to the number of treated units), missing for rows
        left out for a missing value.
    target
        The treated means of ``terms`` (the weighted control means equal them).
    table
        What ``tidy()`` returns.
    coefficients
        The dual solution ``lambda`` on the scale of ``terms`` (0 for a term dropped as
        collinear); ``log w_i = log q_i + c_i' lambda + constant``.
    converged, iterations, max_imbalance
        Whether Newton's method reached ``tol``, its iterations, and the largest
        remaining ``|weighted control mean - treated mean|`` over ``terms``, in control
        standard deviations.
    n_treated, n_control, ess_control
        Units in each group and the controls' Kish effective sample size.
    notes
        ``missing_dropped``, ``low_effective_sample``. (Terms collinear with others among
        the controls, such as the last level of a text column, are left out of the
        optimisation; the balance of every term is checked after it.)
    """

    treatment: str
    covariates: tuple[str, ...]
    terms: tuple[str, ...]
    moments: int
    weights: pd.Series = field(repr=False)
    target: pd.Series = field(repr=False)
    coefficients: pd.Series = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    converged: bool
    iterations: int
    max_imbalance: float
    n_treated: int
    n_control: int
    ess_control: float
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row per balanced term: ``term``, ``target`` (treated mean),
        ``control_mean`` (unweighted), ``weighted_mean`` (balanced controls),
        ``difference`` (weighted minus target) and ``coefficient`` (``lambda``)."""
        return self.table.copy()

    def glance(self) -> pd.DataFrame:
        """One row: the method, moments, group sizes, the controls' effective sample
        size, convergence and the largest remaining imbalance."""
        return pd.DataFrame([{
            "method": "entropy", "estimand": "att", "moments": self.moments,
            "n_treated": self.n_treated, "n_control": self.n_control,
            "ess_control": self.ess_control, "converged": self.converged,
            "iterations": self.iterations, "max_imbalance": self.max_imbalance}])


def entropy_balance(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str], *,
                    moments: Literal[1, 2] = 1, base_weights: str | None = None,
                    tol: float = 1e-10, max_iter: int = 200) -> EntropyBalanceResult:
    """Entropy-balancing weights for the controls (ATT), as R ``ebal``/Stata ``ebalance``.

    Parameters
    ----------
    data
        One row per unit.
    treatment
        A 0/1 (or boolean) column: 1 for treated units.
    covariates
        Columns to balance. A text or categorical column is balanced through one
        indicator per level (cobalt's ``splitfactor``).
    moments
        1: the weighted control means equal the treated means. 2: the means and the
        means of squares of the non-binary covariates, so that the weighted control
        variances (``sum w (x - m)^2 / sum w``) equal the treated ones (``/ n``).
    base_weights
        A column of positive base weights ``q`` for the controls (ebal's
        ``base.weight``; default: equal). Treated rows ignore it.
    tol
        Convergence: the largest imbalance, in control standard deviations.
    max_iter
        Newton iterations at most.

    Returns
    -------
    EntropyBalanceResult

    Raises
    ------
    EstimationError
        When no positive weights balance the covariates: a treated mean lies outside
        (or on the edge of) the range of the controls, or, jointly, outside their convex
        hull; or Newton's method does not converge in ``max_iter`` iterations.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (x + rng.normal(size=400) > 0.5).astype(int)})
    >>> eb = entropy_balance(df, "d", ["x"], moments=2)
    >>> eb.tidy()[["term", "target", "weighted_mean"]].round(4)
      term  target  weighted_mean
    0    x  0.7718         0.7718
    1  x^2  1.1916         1.1916
    >>> round(float(eb.weights[df.d == 0].sum()), 6), int((df.d == 1).sum())
    (143.0, 143)
    """
    if moments not in (1, 2):
        raise SpecificationError(f"moments must be 1 (means) or 2 (means and variances), "
                                 f"got {moments!r}")
    if not (isinstance(tol, float | int) and tol > 0):
        raise SpecificationError(f"tol must be a positive number, got {tol!r}")
    q_all = _base_weights(data, base_weights, treatment)
    cov = covariate_matrix(data, treatment, covariates, extra=q_all)
    C, terms = _constraints(cov, moments)
    treated, control = cov.d == 1, cov.d == 0
    target = C[treated].mean(axis=0)
    Cc = C[control]
    q = np.ones(Cc.shape[0]) if q_all is None else q_all[cov.rows][control]
    if q_all is not None and (q <= 0).any():
        raise SpecificationError(f"base_weights {base_weights!r} must be positive for the "
                                 f"control units; {int((q <= 0).sum()):,} are not")
    _check_ranges(Cc, target, terms)
    scale = Cc.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (Cc - target) / scale
    keep = _independent(Z)
    lam, its, converged = _solve_dual(Z[:, keep], q / q.sum(), tol, max_iter)
    w = _dual_weights(Z[:, keep], q / q.sum(), lam)
    imbalance = np.abs(w @ Z)
    if not converged or imbalance.max() > max(tol, 1e-8) * 10:
        _infeasible(terms, imbalance, its)
    n1 = int(treated.sum())
    weights = np.ones(cov.d.size)
    weights[control] = w * n1
    coef = np.zeros(len(terms))
    coef[keep] = lam / scale[keep]
    notes = cov.missing_note() + ess_note(w, "control")
    table = pd.DataFrame({"term": terms, "target": target,
                          "control_mean": Cc.mean(axis=0), "weighted_mean": w @ Cc,
                          "difference": w @ Cc - target, "coefficient": coef})
    return EntropyBalanceResult(
        treatment=treatment, covariates=tuple(covariates) if not isinstance(covariates, str)
        else (covariates,), terms=terms, moments=int(moments),
        weights=aligned_weights(data, cov.rows, weights, "weight"),
        target=pd.Series(target, index=pd.Index(terms), name="target"), table=table,
        coefficients=pd.Series(coef, index=pd.Index(terms), name="coefficient"),
        converged=True, iterations=its, max_imbalance=float(imbalance.max()),
        n_treated=n1, n_control=int(control.sum()), ess_control=kish_ess(w), notes=notes)


def _base_weights(data: pd.DataFrame, base_weights: str | None,
                  treatment: str) -> np.ndarray | None:
    if base_weights is None:
        return None
    treatment_indicator(data, treatment)  # the data and treatment are checked first
    if not isinstance(base_weights, str) or base_weights not in data.columns:
        raise SpecificationError(f"base_weights must be the name of a column of data, got "
                                 f"{base_weights!r}")
    col = data[base_weights]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise SpecificationError(f"base_weights {base_weights!r} must be numeric")
    q = col.astype("float64").to_numpy(na_value=np.nan)
    if np.isinf(q).any():
        raise SpecificationError(f"base_weights {base_weights!r} has infinite values")
    return q


def _constraints(cov: Covariates, moments: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The balance constraints: the covariates, and squares of the non-binary ones."""
    if moments == 1:
        return cov.X, cov.names
    squared = ~cov.binary
    names = cov.names + tuple(f"{n}^2" for n, s in zip(cov.names, squared, strict=True) if s)
    return np.column_stack([cov.X, cov.X[:, squared] ** 2]), names


def _check_ranges(Cc: np.ndarray, target: np.ndarray, terms: tuple[str, ...]) -> None:
    """A treated mean outside (or at the edge of) the controls' range cannot be reached
    by positive weights."""
    lo, hi = Cc.min(axis=0), Cc.max(axis=0)
    span = np.maximum(hi - lo, np.abs(target)) * 1e-12
    constant = (hi - lo <= span) & (np.abs(target - lo) <= span)  # balanced as it is
    bad = ((target <= lo + span) | (target >= hi - span)) & ~constant
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"entropy balancing is infeasible: the treated mean of {terms[j]!r} "
            f"({target[j]:.6g}) is not inside the range of the control units "
            f"([{lo[j]:.6g}, {hi[j]:.6g}]), so no positive control weights can match it. "
            "Leave the covariate out, coarsen it, or restrict the treated sample to the "
            "controls' support")


def _independent(Z: np.ndarray) -> np.ndarray:
    """Columns of ``Z`` not spanned by earlier ones and the constant (pivoted QR)."""
    from scipy.linalg import qr

    centered = Z - Z.mean(axis=0)
    _, r, piv = qr(centered, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > 1e-9 * max(diag.max(), 1e-300) * max(Z.shape)).sum()) if diag.size \
        else 0
    keep = np.zeros(Z.shape[1], dtype=bool)
    keep[np.sort(piv[:rank])] = True
    return keep


def _dual_weights(Z: np.ndarray, q: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``q_i exp(z_i' lambda)`` normalised to sum 1 (computed stably)."""
    eta = np.log(q) + Z @ lam
    w = np.exp(eta - eta.max())
    return w / w.sum()


def _dual(Z: np.ndarray, q: np.ndarray, lam: np.ndarray) -> float:
    eta = np.log(q) + Z @ lam
    top = eta.max()
    return float(top + np.log(np.exp(eta - top).sum()))


def _solve_dual(Z: np.ndarray, q: np.ndarray, tol: float,
                max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Newton's method on the dual with step halving; converged when every standardised
    imbalance (the gradient) is below ``tol``."""
    lam = np.zeros(Z.shape[1])
    value = _dual(Z, q, lam)
    for it in range(1, max_iter + 1):
        w = _dual_weights(Z, q, lam)
        grad = w @ Z
        if np.abs(grad).max() < tol:
            return lam, it - 1, True
        hess = (Z * w[:, None]).T @ Z - np.outer(grad, grad)
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        t = 1.0
        new = _dual(Z, q, lam + step)
        while not new <= value + 1e-4 * t * (grad @ step) and t > 1e-10:
            t /= 2
            new = _dual(Z, q, lam + t * step)
        if t <= 1e-10:
            return lam, it, False
        lam, value = lam + t * step, new
    w = _dual_weights(Z, q, lam)
    return lam, max_iter, bool(np.abs(w @ Z).max() < tol)


def _infeasible(terms: tuple[str, ...], imbalance: np.ndarray, its: int) -> None:
    j = int(np.argmax(imbalance))
    raise EstimationError(
        f"entropy balancing did not converge after {its} Newton iterations: the treated "
        f"means lie (jointly) outside or on the edge of what positive control weights can "
        f"reach; the largest remaining imbalance is in {terms[j]!r} "
        f"({imbalance[j]:.3g} control SDs). Balance fewer terms (moments=1, fewer "
        "covariates or coarser categories) or restrict the treated sample to the "
        "controls' support")


__all__ = ["EntropyBalanceResult", "entropy_balance"]
