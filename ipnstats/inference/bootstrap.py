"""Resampling primitives of the bootstraps: cluster moments, draw counts, batched solves,
intervals and p-values.

A nonparametric (row or cluster) bootstrap of a least-squares estimator needs no
refit: with per-cluster cross-products ``Z_g'Z_g`` (:func:`cluster_moments`) a
resample's moments are ``counts @ pieces``, where ``counts`` says how often each
cluster was drawn (:func:`draw_counts`), and its coefficients come from small batched
solves (:func:`solve_batch`). Intervals: percentile, bias-corrected (and accelerated,
with :func:`jackknife_acceleration`); quantiles interpolate linearly (numpy's default,
R type 7). p-values: two-sided ``min(1, 2 (min(#{draws <= 0}, #{draws >= 0}) + 1) /
(B + 1))`` over the B successful draws (Davison & Hinkley 1997, eq. 4.11).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> draw_counts(rng, 4, 2).sum(axis=1).tolist()
[4, 4]
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ipnstats.results.inference import check_conf_level

CHUNK_CELLS = 4_000_000  # draws x clusters per chunk: bounds memory (~32 MB of counts)


def cluster_moments(Z: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-cluster cross-products ``Z_g'Z_g``, flattened: shape (n_groups, p * p).

    ``codes`` are 0..n_groups-1, every code present.
    """
    outer = (Z[:, :, None] * Z[:, None, :]).reshape(len(Z), -1)
    if n_groups == len(Z):
        return outer[np.argsort(codes, kind="stable")]
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    return np.add.reduceat(outer[order], starts, axis=0)


def draw_counts(rng: np.random.Generator, n_groups: int, size: int) -> np.ndarray:
    """How often each cluster is drawn in ``size`` resamples of ``n_groups`` clusters."""
    picks = rng.integers(0, n_groups, size=(size, n_groups))
    flat = picks + (np.arange(size) * n_groups)[:, None]
    return np.bincount(flat.ravel(), minlength=size * n_groups).reshape(size, n_groups)


def solve_batch(lhs: np.ndarray, rhs: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Solve a stack of systems ``lhs[i] z = rhs[i]``; NaN where ``lhs[i]`` is singular.

    Singular: the smallest eigenvalue of the unit-diagonal rescaled matrix is below
    ``tol`` times the largest (the collinearity tolerance of :func:`ols`).
    """
    k = lhs.shape[-1]
    d = np.sqrt(np.clip(np.einsum("bii->bi", lhs), 0, None))
    ok = (d > 0).all(axis=1)
    d = np.where(ok[:, None], d, 1.0)
    scaled = np.where(ok[:, None, None], lhs / (d[:, :, None] * d[:, None, :]), np.eye(k))
    eig = np.linalg.eigvalsh(scaled)
    ok &= eig[:, 0] > tol * eig[:, -1]
    out = np.linalg.solve(np.where(ok[:, None, None], lhs, np.eye(k)), rhs)
    out[~ok] = np.nan
    return out


def jackknife_acceleration(jack: np.ndarray) -> np.ndarray:
    """BCa acceleration ``sum d^3 / (6 (sum d^2)^1.5)``, ``d = mean - theta_(i)``."""
    d = np.nanmean(jack, axis=0) - jack
    num, den = np.nansum(d**3, axis=0), 6 * np.nansum(d**2, axis=0) ** 1.5
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def percentile_interval(draws: np.ndarray, conf_level: float) -> np.ndarray:
    """(terms, 2) percentile interval of each column, NaN draws left out."""
    alpha = 1 - check_conf_level(conf_level)
    return np.nanquantile(draws, [alpha / 2, 1 - alpha / 2], axis=0).T


def bca_interval(draws: np.ndarray, estimate: np.ndarray, conf_level: float,
                 acceleration: np.ndarray | float = 0.0) -> np.ndarray:
    """(terms, 2) bias-corrected (and, with ``acceleration``, accelerated) interval."""
    alpha = 1 - check_conf_level(conf_level)
    z = stats.norm.ppf([alpha / 2, 1 - alpha / 2])
    accel = np.broadcast_to(np.asarray(acceleration, float), estimate.shape)
    out = np.full((estimate.size, 2), np.nan)
    for j, (est, acc) in enumerate(zip(estimate, accel, strict=True)):
        col = draws[:, j][~np.isnan(draws[:, j])]
        z0 = stats.norm.ppf(np.mean(col < est)) if col.size else np.nan
        levels = stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        if np.isfinite(levels).all():
            out[j] = np.quantile(col, levels)
    return out


def bootstrap_p_value(draws: np.ndarray) -> np.ndarray:
    """Two-sided share-based p-value of each column (see the module notes; NaN draws
    are left out)."""
    below, above = np.sum(draws <= 0, axis=0), np.sum(draws >= 0, axis=0)
    valid = np.sum(~np.isnan(draws), axis=0)
    return np.minimum(1.0, 2 * (np.minimum(below, above) + 1) / (valid + 1))


__all__ = ["CHUNK_CELLS", "bca_interval", "bootstrap_p_value", "cluster_moments", "draw_counts",
           "jackknife_acceleration", "percentile_interval", "solve_batch"]
