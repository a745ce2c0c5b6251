"""Variance-covariance choices and the sandwich formulas behind them.

The choices a user passes as ``vcov=``: ``"iid"``, ``"hc0"``, ``"hc1"``, ``"hc2"``,
``"hc3"`` or :class:`Cluster`. The formulas are small pure functions of a design
matrix ``X`` (n x k, after any within transformation), residuals ``e`` and the bread
``B = (X'X)^-1``.

Notes
-----
Small-sample conventions (defaults follow Stata):

- iid: ``s^2 B`` with ``s^2 = e'e / (n - K)``; K counts estimated coefficients and
  absorbed fixed-effect levels.
- HC1: ``n / (n - K)`` times HC0 (Stata ``vce(robust)``). HC2 and HC3 divide squared
  residuals by ``1 - h_i`` and ``(1 - h_i)^2`` (Long & Ervin 2000).
- One-way clusters: ``G / (G - 1) * (n - 1) / (n - K)`` times the cluster sum of scores
  (Stata ``vce(cluster)``), where K leaves out fixed effects nested in the cluster
  variable (reghdfe and fixest do the same). ``Cluster(..., adjust=False)`` drops the
  factor (R ``sandwich::vcovCL(type = "HC0", cadjust = FALSE)``).
- Two-way clusters (Cameron, Gelbach & Miller 2011): ``V_1 + V_2 - V_12``.
  ``df="min"`` (default; Stata ``reghdfe``/``ivreg2`` and R ``fixest``) applies the
  factor of the dimension with fewer clusters to all three terms. ``df="each"`` gives
  each one-way term its own ``G/(G-1)*(n-1)/(n-K)`` and leaves the intersection term
  unadjusted HC0 (R ``sandwich::vcovCL(multi0 = TRUE)``). A non positive
  semi-definite result is repaired by clipping negative eigenvalues to zero, and the
  result says so.
- Inference with clusters uses ``t(G - 1)`` (``G`` the smaller dimension); otherwise
  ``t(n - K)``; models estimated by GLS or maximum likelihood use the normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

HC = Literal["iid", "hc0", "hc1", "hc2", "hc3"]
_HC_NAMES = ("iid", "hc0", "hc1", "hc2", "hc3")


@dataclass(frozen=True, slots=True, init=False)
class Cluster:
    """Cluster-robust standard errors on one or two columns.

    Parameters
    ----------
    *columns
        One or two column names, e.g. ``Cluster("firm_id")`` or
        ``Cluster("firm_id", "year")``.
    df
        Two-way small-sample convention: ``"min"`` (Stata reghdfe, R fixest) or
        ``"each"`` (R sandwich ``multi0 = TRUE``). See the module notes.
    adjust
        Apply the ``G/(G-1)*(n-1)/(n-K)`` factor (default, Stata).

    Examples
    --------
    >>> Cluster("firm_id")
    Cluster('firm_id')
    >>> Cluster("firm_id", "year").describe()
    'Clustered (firm_id, year)'
    """

    columns: tuple[str, ...]
    df: Literal["min", "each"]
    adjust: bool

    def __init__(self, *columns: str, df: Literal["min", "each"] = "min", adjust: bool = True):
        if len(columns) == 1 and isinstance(columns[0], list | tuple):
            columns = tuple(columns[0])
        if not 1 <= len(columns) <= 2 or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"Cluster takes one or two column names, got {columns!r}")
        if df not in ("min", "each"):
            raise ValueError(f"Cluster df must be 'min' or 'each', got {df!r}")
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "df", df)
        object.__setattr__(self, "adjust", bool(adjust))

    def describe(self) -> str:
        """A short label for tables, e.g. ``"Clustered (firm_id)"``."""
        return f"Clustered ({', '.join(self.columns)})"

    def __repr__(self) -> str:
        extra = "" if self.df == "min" else f", df={self.df!r}"
        extra += "" if self.adjust else ", adjust=False"
        return f"Cluster({', '.join(map(repr, self.columns))}{extra})"


VcovSpec = str | Cluster


def parse_vcov(spec: object) -> VcovSpec:
    """Check a user's ``vcov=`` choice once, at the boundary."""
    if isinstance(spec, Cluster):
        return spec
    if isinstance(spec, str) and spec.lower() in _HC_NAMES:
        return spec.lower()
    raise ValueError(
        f"vcov must be one of {', '.join(map(repr, _HC_NAMES))} or ipnstats.Cluster(...), "
        f"got {spec!r}"
    )


def describe_vcov(spec: VcovSpec) -> str:
    """Label of a vcov choice for tables: ``"IID"``, ``"HC1"``, ``"Clustered (firm_id)"``."""
    return spec.describe() if isinstance(spec, Cluster) else spec.upper()


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
    """Stata's ``G/(G-1) * (n-1)/(n-K)``; a ValueError when it is undefined."""
    if n_groups < 2 or n <= k:
        raise ValueError(f"clustered standard errors need at least 2 clusters and more "
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
