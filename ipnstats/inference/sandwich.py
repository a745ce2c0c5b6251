"""Sandwich covariances: the small pure functions behind every ``vcov=`` choice.

Functions of a design matrix ``X`` (n x k, after any within transformation), residuals
or scores and the bread ``B``. The conventions they implement, and the small-sample
choices of :class:`~ipnstats.results.vcov.SSC`, are documented in
:mod:`ipnstats.results.vcov`, beside the choices a user passes. Every estimator that
clusters (least squares, maximum likelihood, influence functions, the wild bootstrap)
sums within clusters with :func:`cluster_sums` and scales with :func:`cluster_factor`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.core.demean import group_sums
from ipnstats.core.errors import EstimationError
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.results.vcov import SSC


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """``B M B``, symmetrised."""
    v = bread @ meat @ bread
    return (v + v.T) / 2


def iid_vcov(bread: np.ndarray, resid: np.ndarray, df_resid: float) -> np.ndarray:
    """Conventional OLS covariance ``s^2 (X'X)^-1`` with ``s^2 = e'e / df_resid``."""
    return bread * (resid @ resid / df_resid)


def hc_vcov(X: np.ndarray, resid: np.ndarray, bread: np.ndarray, kind: str,
            df_resid: float, leverage: np.ndarray | None = None,
            n: float | None = None) -> np.ndarray:
    """Heteroskedasticity-robust covariance HC0-HC3 (HC1: ``n / df_resid`` times HC0;
    ``n`` defaults to the rows of ``X``, frequency weights pass ``sum(w)``)."""
    n = X.shape[0] if n is None else n
    u2 = resid**2
    if kind in ("hc2", "hc3"):
        h = np.einsum("ij,jk,ik->i", X, bread, X) if leverage is None else leverage
        one_minus = np.clip(1 - h, 1e-12, None)
        u2 = u2 / (one_minus if kind == "hc2" else one_minus**2)
    meat = (X * u2[:, None]).T @ X
    factor = n / df_resid if kind == "hc1" else 1.0
    return factor * sandwich(bread, meat)


def cluster_sums(values: np.ndarray, codes: np.ndarray, n_groups: int | None = None) -> np.ndarray:
    """Column sums of ``values`` (n x m) within clusters coded ``0..G-1``: G x m
    (:func:`ipnstats.core.demean.group_sums`; ``n_groups`` defaults to the codes')."""
    return group_sums(values, codes, int(codes.max()) + 1 if n_groups is None else n_groups)


def cluster_meat(scores: np.ndarray, codes: np.ndarray, n_groups: int | None = None) -> np.ndarray:
    """Sum over clusters of the outer products of summed scores."""
    sums = cluster_sums(scores, codes, n_groups)
    return sums.T @ sums


def cluster_codes(data: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    """Integer codes of a cluster column on the estimation rows (``rows`` positions in
    ``data``); an error naming the column when it is absent or has missing values."""
    require_columns(data, (column,), "cluster column")
    codes, _ = pd.factorize(data[column].to_numpy()[rows], use_na_sentinel=True)
    if (codes < 0).any():
        raise SpecificationError(f"cluster column {column!r} has {(codes < 0).sum():,} "
                                 "missing values among the estimation rows")
    return codes


def intersection_codes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Codes ``0..G12-1`` of the (first, second) cells of two cluster codings."""
    both, _ = pd.factorize(first.astype(np.int64) * (int(second.max()) + 1) + second)
    return both


def cluster_factor(n_groups: int, n: int, k: float, *, adj: bool = True,
                   cluster_adj: bool = True) -> float:
    """``G/(G-1)`` (``cluster_adj``) times ``(n-1)/(n-K)`` (``adj``), Stata's by default;
    an EstimationError when a factor asked for is undefined."""
    if (cluster_adj and n_groups < 2) or (adj and n <= k):
        raise EstimationError(f"clustered standard errors need at least 2 clusters and more "
                              f"observations than parameters: {n_groups} cluster(s), {n} "
                              f"observation(s), {k:g} parameter(s)")
    return (n_groups / (n_groups - 1) if cluster_adj else 1.0) * ((n - 1) / (n - k) if adj else 1.0)


def nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether every level of ``inner`` sits inside one level of ``outer`` (both
    non-negative integer codes)."""
    if inner.size == 0:
        return True
    first = np.zeros(int(inner.max()) + 1, dtype=outer.dtype)
    first[inner] = outer  # some observation's outer level, for each inner level
    return bool(np.array_equal(first[inner], outer))


def ssc_k(k: int, absorbed: Sequence[tuple[np.ndarray, int]], absorbed_df: int, fixef_k: str,
          cluster_codes: Sequence[np.ndarray] = ()) -> int:
    """K of the small-sample factors: ``k`` coefficients plus fixed-effect parameters.

    ``absorbed`` are the fixed effects as (codes, levels), ``absorbed_df`` their
    parameters net of redundancies (the constant included). ``fixef_k="full"`` counts
    them all, ``"none"`` none; ``"nested"`` leaves out those nested in a cluster
    variable, the rest counting their levels, one of them standing for the constant
    (R fixest ``"nonnested"``, reghdfe); with none nested it is ``"full"``.
    """
    if fixef_k == "none" or absorbed_df == 0:
        return k
    free = [(c, g) for c, g in absorbed if not any(nested_in(c, cc) for cc in cluster_codes)]
    if fixef_k == "full" or len(free) == len(absorbed):
        return k + absorbed_df
    return k + (sum(g for _, g in free) - max(len(free) - 1, 0) if free else 1)


def clustered_vcov(bread: np.ndarray, scores: np.ndarray, codes: Sequence[np.ndarray], n: int,
                   k: float, ssc: SSC, *, each: bool = False,
                   adjust: bool = True) -> tuple[np.ndarray, list[int]]:
    """One- or two-way cluster-robust ``B M B`` and the cluster counts.

    Two-way (Cameron, Gelbach & Miller 2011): ``V_1 + V_2 - V_12``. With
    ``ssc.cluster_df="min"`` the factor of the dimension with fewer clusters scales all
    three terms; ``"conventional"`` gives each term its own ``G``; ``each`` (``Cluster(
    df="each")``, R sandwich ``multi0``) adjusts the one-way terms and leaves the
    intersection unadjusted. ``adjust=False`` (``Cluster(adjust=False)``) drops every
    factor. Not repaired when it is not positive semi-definite (see :func:`clip_to_psd`).
    """
    sizes = [int(c.max()) + 1 for c in codes]

    def factor(g: int) -> float:
        if not adjust:
            return 1.0
        return cluster_factor(g, n, k, adj=ssc.adj, cluster_adj=ssc.cluster_adj)

    metas = [cluster_meat(scores, c, g) for c, g in zip(codes, sizes, strict=True)]
    if len(codes) == 1:
        return factor(sizes[0]) * sandwich(bread, metas[0]), sizes
    both = intersection_codes(codes[0], codes[1])
    meat_12 = cluster_meat(scores, both)
    if each:
        meat = factor(sizes[0]) * metas[0] + factor(sizes[1]) * metas[1] - meat_12
    elif ssc.cluster_df == "min":
        meat = factor(min(sizes)) * (metas[0] + metas[1] - meat_12)
    else:
        g12 = int(both.max()) + 1
        meat = factor(sizes[0]) * metas[0] + factor(sizes[1]) * metas[1] - factor(g12) * meat_12
    return sandwich(bread, meat), sizes


def clip_to_psd(v: np.ndarray) -> tuple[np.ndarray, bool]:
    """Clip negative eigenvalues to zero on the correlation scale; return the matrix and
    whether it changed.

    The eigenvalues are those of ``D^-1/2 V D^-1/2`` (``D`` the variances' absolute values: a
    two-way variance can come out negative), so the
    repair does not depend on the regressors' units (rescaling a regressor rescales its
    row and column of ``V`` and nothing else), and no variance comes out negative (which
    would make a standard error NaN).
    """
    variances = np.diag(v)
    scale = np.sqrt(np.where(variances != 0, np.abs(variances), 1.0))
    corr = v / np.outer(scale, scale)
    values, vectors = np.linalg.eigh((corr + corr.T) / 2)
    if values.min() >= -1e-12 * max(abs(values).max(), 1e-300):
        return v, False
    fixed = (vectors * np.clip(values, 0, None)) @ vectors.T
    fixed = (fixed + fixed.T) / 2 * np.outer(scale, scale)
    np.fill_diagonal(fixed, np.maximum(np.diag(fixed), 0.0))
    return fixed, True
