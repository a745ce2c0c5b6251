"""Sandwich covariances: the small pure functions behind every ``vcov=`` choice.

Functions of a design matrix ``X`` (n x k, after any within transformation), residuals
or scores and the bread ``B``. The conventions they implement are documented in
:mod:`ipnstats.results.vcov`, beside the choices a user passes.
"""

from __future__ import annotations

import numpy as np

from ipnstats.core.errors import EstimationError


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """``B M B``, symmetrised."""
    v = bread @ meat @ bread
    return (v + v.T) / 2


def iid_vcov(bread: np.ndarray, resid: np.ndarray, df_resid: float) -> np.ndarray:
    """Conventional OLS covariance ``s^2 (X'X)^-1`` with ``s^2 = e'e / df_resid``."""
    return bread * (resid @ resid / df_resid)


def hc_vcov(X: np.ndarray, resid: np.ndarray, bread: np.ndarray, kind: str,
            df_resid: float, leverage: np.ndarray | None = None) -> np.ndarray:
    """Heteroskedasticity-robust covariance HC0-HC3."""
    n = X.shape[0]
    u2 = resid**2
    if kind in ("hc2", "hc3"):
        h = np.einsum("ij,jk,ik->i", X, bread, X) if leverage is None else leverage
        one_minus = np.clip(1 - h, 1e-12, None)
        u2 = u2 / (one_minus if kind == "hc2" else one_minus**2)
    meat = (X * u2[:, None]).T @ X
    factor = n / df_resid if kind == "hc1" else 1.0
    return factor * sandwich(bread, meat)


def cluster_meat(scores: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum over clusters of the outer products of summed scores."""
    sums = np.column_stack([np.bincount(codes, weights=scores[:, j], minlength=n_groups)
                            for j in range(scores.shape[1])])
    return sums.T @ sums


def cluster_factor(n_groups: int, n: int, k: float) -> float:
    """Stata's ``G/(G-1) * (n-1)/(n-K)``; an EstimationError when it is undefined."""
    if n_groups < 2 or n <= k:
        raise EstimationError(f"clustered standard errors need at least 2 clusters and more "
                              f"observations than parameters: {n_groups} cluster(s), {n} "
                              f"observation(s), {k:g} parameter(s)")
    return n_groups / (n_groups - 1) * (n - 1) / (n - k)


def clip_to_psd(v: np.ndarray) -> tuple[np.ndarray, bool]:
    """Clip negative eigenvalues to zero; return the matrix and whether it changed."""
    values, vectors = np.linalg.eigh(v)
    if values.min() >= -1e-12 * max(abs(values).max(), 1e-300):
        return v, False
    fixed = (vectors * np.clip(values, 0, None)) @ vectors.T
    return (fixed + fixed.T) / 2, True
