"""Maximum-likelihood engines: logit and Poisson (Newton), Cox partial likelihood, with
sandwich covariances.

Covariances of maximum-likelihood fits are sandwiches ``B M B`` with ``B`` the inverse
of the negative Hessian at the estimate and ``M`` the sum over clusters of outer
products of summed per-observation scores. Cluster factors follow the engine's
:class:`~ipnstats.results.vcov.SSC` (``ssc``), by default ``SSC(adj=False)``:

- ``G / (G - 1)``, Stata's ``logit``/``poisson``/``stcox`` ``vce(cluster)`` (the
  ``cluster_adjustment="stata"`` of the study functions);
- ``SSC(fixef_k="full")``: ``G / (G - 1) * (n - 1) / (n - K)`` with K all parameters
  (fixed-effect dummies included), statsmodels' ``cov_type="cluster"`` default
  (``cluster_adjustment="statsmodels"``);
- ``Cluster(..., adjust=False)``: none (statsmodels ``PHReg`` robust covariance).

K counts the reported parameters and ``absorbed_df`` fixed-effect parameters (dummies
not reported, or intercepts concentrated out, as the fixed-effects Poisson's).
Two-way clusters add the two one-way meats and subtract the intersection's, with the
factor of the dimension with fewer clusters. ``"iid"`` is the model-based inverse
information; ``"hc0"``/``"hc1"`` the robust sandwich (HC1 times ``n / (n - K)``).
Inference uses the normal law.

The Poisson engine (quasi-ML: consistent for the conditional mean whatever the
dispersion) can concentrate out one intercept per group (conditional Poisson,
Hausman, Hall & Griliches 1984): the estimates of Poisson with group dummies, and
scores ``(x - xbar_g)(y - mu)`` (``xbar_g`` the mu-weighted group means) whose
sandwich is exactly the dummy model's coefficient block.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln

from ipnstats.core.formula import SpecificationError
from ipnstats.estimators.linear import FEW_CLUSTERS, dyadic_notes
from ipnstats.inference.dyadic import count_nodes, dyadic_vcov, node_codes
from ipnstats.inference.sandwich import (
    cluster_codes,
    cluster_sums,
    clustered_vcov,
    sandwich,
    ssc_k,
)
from ipnstats.results.notes import Note
from ipnstats.results.result import Inference
from ipnstats.results.vcov import (
    ML_SSC,
    SSC,
    Cluster,
    Dyadic,
    FixefK,
    VcovSpec,
    check_cluster_ssc,
    require_cr1,
)

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


def newton(loglik: Callable[[np.ndarray], float], step: Callable[[np.ndarray], np.ndarray],
           beta: np.ndarray, maxiter: int = 100, tol: float = 1e-10
           ) -> tuple[np.ndarray, float, bool]:
    """Maximise ``loglik`` by Newton steps ``step(beta)``, halving a step (down to 1e-6)
    while it lowers the log-likelihood; converged when no step exceeds ``tol``.

    Returns the estimate, its log-likelihood and whether it converged.
    """
    ll = loglik(beta)
    for _ in range(maxiter):
        direction = step(beta)
        t, new = 1.0, loglik(beta + direction)
        while new < ll - 1e-12 * abs(ll) and t > 1e-6:
            t /= 2
            new = loglik(beta + t * direction)
        beta, ll = beta + t * direction, new
        if np.abs(t * direction).max() < tol:
            return beta, ll, True
    return beta, ll, False


def _logit_loglik(eta: np.ndarray, y: np.ndarray) -> float:
    return float(y @ eta - np.logaddexp(0, eta).sum())


def fit_logit(X: np.ndarray, y: np.ndarray, maxiter: int = 100, tol: float = 1e-10, *,
              rows: str = "member years", outcome: str = "exits from stays") -> MLFit:
    """Newton-Raphson for the logit, with step halving; stops when no step exceeds ``tol``.

    ``rows`` and ``outcome`` name the observations and the two outcomes in the notes
    on separation and non-convergence.
    """
    def step(beta: np.ndarray) -> np.ndarray:
        p = expit(X @ beta)
        info = (X * (p * (1 - p))[:, None]).T @ X
        return np.linalg.lstsq(info, X.T @ (y - p), rcond=None)[0]

    beta, ll, converged = newton(lambda b: _logit_loglik(X @ b, y), step,
                                 np.zeros(X.shape[1]), maxiter, tol)
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


def _linear(X: np.ndarray, y: np.ndarray, beta: np.ndarray, groups: np.ndarray | None):
    """Linear predictor; with ``groups``, plus each group's concentrated intercept."""
    eta = X @ beta
    if groups is None:
        return eta
    mass = np.bincount(groups, weights=y) / np.bincount(groups, weights=np.exp(eta))
    return eta + np.log(mass)[groups]


def _partial(X: np.ndarray, mu: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """``X`` less its mu-weighted group means (``X`` itself without groups)."""
    if groups is None:
        return X
    sums = cluster_sums(X * mu[:, None], groups)
    return X - (sums / np.bincount(groups, weights=mu)[:, None])[groups]


def _poisson_loglik(eta: np.ndarray, y: np.ndarray) -> float:
    return float(y @ eta - np.exp(eta).sum() - gammaln(y + 1).sum())


def fit_poisson(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
                maxiter: int = 100, tol: float = 1e-10) -> tuple[MLFit, np.ndarray]:
    """Poisson (quasi-)ML by Newton with step halving: the fit and the fitted means.

    ``groups`` (codes 0..G-1) concentrates out one intercept per group (fixed-effects
    Poisson); scores and bread are then those of the partialled regressors.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(500), rng.normal(size=500)])
    >>> y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 1]))  # true (0.5, 0.3)
    >>> fit, mu = fit_poisson(X, y)
    >>> np.round(fit.beta, 1)
    array([0.4, 0.3])
    """
    beta = (np.zeros(X.shape[1]) if groups is not None else
            np.linalg.lstsq(X, np.full(len(y), np.log(y.mean())), rcond=None)[0])

    def step(beta: np.ndarray) -> np.ndarray:
        mu = np.exp(_linear(X, y, beta, groups))
        Xc = _partial(X, mu, groups)
        return np.linalg.lstsq((Xc * mu[:, None]).T @ Xc, Xc.T @ (y - mu), rcond=None)[0]

    beta, ll, converged = newton(lambda b: _poisson_loglik(_linear(X, y, b, groups), y), step,
                                 beta, maxiter, tol)
    mu = np.exp(_linear(X, y, beta, groups))
    Xc = _partial(X, mu, groups)
    notes = () if converged else (Note("not_converged", "The Poisson model did not converge."),)
    return MLFit(beta, ll, Xc * (y - mu)[:, None], np.linalg.pinv((Xc * mu[:, None]).T @ Xc),
                 converged, notes), mu


def adjustment_ssc(adjustment: Adjustment, fixef_k: FixefK = "full") -> SSC:
    """The SSC of a ``cluster_adjustment``: ``"stata"`` ``SSC(adj=False)``,
    ``"statsmodels"`` ``SSC(fixef_k=fixef_k)``."""
    return ML_SSC if adjustment == "stata" else SSC(fixef_k=fixef_k)


@dataclass(frozen=True)
class MLEngine:
    """Covariance of a maximum-likelihood fit under any vcov choice (see module notes).

    ``keep`` are the positions of the reported parameters among all of them;
    ``absorbed`` the fixed effects (objects with ``codes`` and ``n_levels``) and
    ``absorbed_df`` their parameters, for the K of ``ssc``.
    """

    scores: np.ndarray
    bread: np.ndarray
    data: pd.DataFrame
    rows: np.ndarray
    keep: np.ndarray
    ssc: SSC = ML_SSC
    absorbed: tuple = ()
    absorbed_df: int = 0
    #: Whether :class:`~ipnstats.results.vcov.Dyadic` applies (``Result.with_vcov`` asks).
    dyadic: ClassVar[bool] = True

    def compute(self, spec: VcovSpec) -> Inference:
        """The covariance of the reported parameters, normal law, cluster count, notes."""
        n = self.scores.shape[0]
        g, notes = None, ()
        if isinstance(spec, Cluster):
            cov, g, notes = self._cluster(spec)
        elif isinstance(spec, Dyadic):
            cov, g, notes = self._dyadic(spec)
        elif spec == "iid":
            cov = self.bread
        elif spec in ("hc0", "hc1"):
            cov = sandwich(self.bread, self.scores.T @ self.scores)
            cov = cov * (n / (n - self._k()) if spec == "hc1" else 1.0)
        else:
            raise SpecificationError(f"vcov={spec!r} is not available for maximum-likelihood "
                                     "models; use 'iid', 'hc0', 'hc1' or Cluster(...)")
        return Inference(cov[np.ix_(self.keep, self.keep)], None, g, notes)

    def with_ssc(self, ssc: SSC) -> MLEngine:
        """The same fit under other small-sample corrections."""
        return dataclasses.replace(self, ssc=ssc)

    def _k(self, codes: list[np.ndarray] | tuple = ()) -> int:
        return ssc_k(len(self.keep), [(a.codes, a.n_levels) for a in self.absorbed],
                     self.absorbed_df, self.ssc.fixef_k, codes)

    def _dyadic(self, spec: Dyadic) -> tuple[np.ndarray, int, tuple[str, ...]]:
        """Dyadic-robust covariance of all parameters (K: every one, fixed effects
        included, as ``_k``), node count, notes; see :mod:`ipnstats.inference.dyadic`."""
        a, b, _ = node_codes(self.data, self.rows, spec.sender, spec.receiver)
        n = self.scores.shape[0]
        cov = dyadic_vcov(self.bread, self.scores, a, b, n=n, k=self._k(), ssc=self.ssc,
                          adjust=spec.adjust)
        nodes = count_nodes(a, b)
        cov, notes = dyadic_notes(cov, nodes)
        return cov, nodes, notes

    def _cluster(self, spec: Cluster) -> tuple[np.ndarray, int, tuple[str, ...]]:
        require_cr1(spec, "maximum-likelihood models")
        check_cluster_ssc(spec, self.ssc)
        codes = [cluster_codes(self.data, self.rows, c) for c in spec.columns]
        cov, sizes = clustered_vcov(self.bread, self.scores, codes, self.scores.shape[0],
                                    self._k(codes), self.ssc, each=spec.df == "each",
                                    adjust=spec.adjust)
        notes = tuple(Note("few_clusters",
                           f"Only {s} clusters in {c!r}: cluster-robust standard errors can "
                           f"be too small with fewer than {FEW_CLUSTERS} clusters.")
                      for c, s in zip(spec.columns, sizes, strict=True) if s < FEW_CLUSTERS)
        return cov, min(sizes), notes
