"""Maximum-likelihood engines: logit (Newton) and Cox partial likelihood, with sandwich
covariances.

Covariances of maximum-likelihood fits are sandwiches ``B M B`` with ``B`` the inverse
of the negative Hessian at the estimate and ``M`` the sum over clusters of outer
products of summed per-observation scores. One-way cluster factors
(``cluster_adjustment``):

- ``"stata"`` (default): ``G / (G - 1)``, Stata's ``logit``/``stcox``
  ``vce(cluster)``;
- ``"statsmodels"``: ``G / (G - 1) * (n - 1) / (n - K)`` with K all parameters
  (fixed-effect dummies included), statsmodels' ``cov_type="cluster"`` default;
- ``Cluster(..., adjust=False)``: none (statsmodels ``PHReg`` robust covariance).

Two-way clusters add the two one-way meats and subtract the intersection's, with the
factor of the dimension with fewer clusters. ``"iid"`` is the model-based inverse
information; ``"hc0"``/``"hc1"`` the robust sandwich (HC1 times ``n / (n - K)``).
Inference uses the normal law.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.estimators.linear import FEW_CLUSTERS
from ipnstats.inference.sandwich import cluster_meat, sandwich
from ipnstats.results.notes import Note
from ipnstats.results.result import Inference
from ipnstats.results.vcov import Cluster, VcovSpec

Model = Literal["logit", "cox"]
Adjustment = Literal["stata", "statsmodels"]
PERFECT = 1e-8  # a fitted probability this close to 0 or 1 counts as perfectly predicted


@dataclass(frozen=True)
class MLFit:
    """A maximum-likelihood fit: estimates, log-likelihood, scores and bread."""

    beta: np.ndarray
    loglik: float
    scores: np.ndarray
    bread: np.ndarray
    converged: bool
    notes: tuple[str, ...] = ()


def _logit_loglik(eta: np.ndarray, y: np.ndarray) -> float:
    return float(y @ eta - np.logaddexp(0, eta).sum())


def fit_logit(X: np.ndarray, y: np.ndarray, maxiter: int = 100, tol: float = 1e-10, *,
              rows: str = "member years", outcome: str = "exits from stays") -> MLFit:
    """Newton-Raphson for the logit, with step halving; stops when no step exceeds ``tol``.

    ``rows`` and ``outcome`` name the observations and the two outcomes in the notes
    on separation and non-convergence.
    """
    beta = np.zeros(X.shape[1])
    ll, converged = _logit_loglik(X @ beta, y), False
    for _ in range(maxiter):
        p = expit(X @ beta)
        info = (X * (p * (1 - p))[:, None]).T @ X
        step = np.linalg.lstsq(info, X.T @ (y - p), rcond=None)[0]
        t, new = 1.0, _logit_loglik(X @ (beta + step), y)
        while new < ll - 1e-12 * abs(ll) and t > 1e-6:
            t /= 2
            new = _logit_loglik(X @ (beta + t * step), y)
        beta, ll = beta + t * step, new
        if np.abs(t * step).max() < tol:
            converged = True
            break
    p = expit(X @ beta)
    info = (X * (p * (1 - p))[:, None]).T @ X
    return MLFit(beta, ll, X * (y - p)[:, None], np.linalg.pinv(info), converged,
                 _separation_notes(p, converged, rows, outcome))


def _separation_notes(p: np.ndarray, converged: bool, rows: str,
                      outcome: str) -> tuple[str, ...]:
    notes = []
    if not converged:
        notes.append(Note("not_converged",
            "The logit did not converge: the likelihood has no maximum, usually "
            f"because a predictor separates {outcome}."))
    n = int(((p < PERFECT) | (p > 1 - PERFECT)).sum())
    if n:
        notes.append(Note("separation",
            f"{n:,} {rows} are predicted perfectly (fitted probability within "
            f"{PERFECT:g} of 0 or 1): the data are (quasi-)separated and the "
            "coefficients and standard errors are not reliable; drop or coarsen the "
            "predictor that separates them."))
    return tuple(notes)


def fit_cox(X: np.ndarray, status: np.ndarray, entry: np.ndarray, stop: np.ndarray,
            strata: np.ndarray | None) -> MLFit:
    """Cox partial likelihood (Efron ties) by statsmodels ``PHReg``, counting-process rows."""
    from statsmodels.duration.hazard_regression import PHReg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PHReg(stop, X, status=status, entry=entry, strata=strata, ties="efron")
        fit = model.fit(disp=False)
        beta = np.asarray(fit.params)
        hess = model.hessian(beta)
        # NaN rows are never at risk at an event time in their stratum: they add nothing
        scores = np.nan_to_num(model.score_residuals(beta), nan=0.0)
    converged = bool(getattr(fit, "mle_retvals", {}).get("converged", True))
    notes = tuple(dict.fromkeys(Note("library_warning", f"statsmodels: {w.message}")
                                for w in caught
                                if not issubclass(w.category, DeprecationWarning)))
    if not converged:
        notes += (Note("not_converged",
            "The Cox model did not converge; its estimates are not reliable."),)
    return MLFit(beta, float(model.loglike(beta)), scores, np.linalg.pinv(-hess), converged,
                 notes)


@dataclass(frozen=True)
class MLEngine:
    """Covariance of a maximum-likelihood fit under any vcov choice (see module notes).

    ``keep`` are the positions of the reported parameters among all of them.
    """

    scores: np.ndarray
    bread: np.ndarray
    data: pd.DataFrame
    rows: np.ndarray
    keep: np.ndarray
    cluster_adjustment: Adjustment = "stata"

    def compute(self, spec: VcovSpec) -> Inference:
        """The covariance of the reported parameters, normal law, cluster count, notes."""
        n, k = self.scores.shape
        g, notes = None, ()
        if isinstance(spec, Cluster):
            cov, g, notes = self._cluster(spec)
        elif spec == "iid":
            cov = self.bread
        elif spec in ("hc0", "hc1"):
            cov = sandwich(self.bread, self.scores.T @ self.scores)
            cov = cov * (n / (n - k) if spec == "hc1" else 1.0)
        else:
            raise SpecificationError(f"vcov={spec!r} is not available for maximum-likelihood "
                                     "models; use 'iid', 'hc0', 'hc1' or Cluster(...)")
        return Inference(cov[np.ix_(self.keep, self.keep)], None, g, notes)

    def _codes(self, column: str) -> np.ndarray:
        require_columns(self.data, (column,), "cluster column")
        codes, _ = pd.factorize(self.data[column].to_numpy()[self.rows])
        if (codes < 0).any():
            raise SpecificationError(f"cluster column {column!r} has {(codes < 0).sum():,} "
                                     "missing values among the estimation rows")
        return codes

    def _factor(self, g: int, adjust: bool) -> float:
        n, k = self.scores.shape
        if not adjust:
            return 1.0
        small = (n - 1) / (n - k) if self.cluster_adjustment == "statsmodels" else 1.0
        return g / (g - 1) * small

    def _cluster(self, spec: Cluster) -> tuple[np.ndarray, int, tuple[str, ...]]:
        codes = [self._codes(c) for c in spec.columns]
        sizes = [int(c.max()) + 1 for c in codes]
        meat = cluster_meat(self.scores, codes[0], sizes[0])
        if len(codes) == 2:
            both, _ = pd.factorize(codes[0].astype(np.int64) * sizes[1] + codes[1])
            meat = (meat + cluster_meat(self.scores, codes[1], sizes[1])
                    - cluster_meat(self.scores, both, int(both.max()) + 1))
        g = min(sizes)
        notes = tuple(Note("few_clusters",
            f"Only {s} clusters in {c!r}: cluster-robust standard errors can be too "
            f"small with fewer than {FEW_CLUSTERS} clusters.")
                      for c, s in zip(spec.columns, sizes, strict=True) if s < FEW_CLUSTERS)
        return self._factor(g, spec.adjust) * sandwich(self.bread, meat), g, notes
