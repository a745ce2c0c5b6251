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

Small-sample corrections (:class:`SSC`, pyfixest's ``ssc()`` and R fixest's ``ssc()``):
an estimator's ``ssc=`` (or ``result.with_vcov(spec, ssc=...)``) replaces the
conventions above, which are ``SSC()`` for least squares and ``SSC(adj=False)``
(Stata's ``logit``/``poisson``/``stcox`` ``vce(cluster)``) for maximum likelihood.

- ``adj``: the ``(n - 1) / (n - K)`` factor of clustered covariances, and ``n - K``
  (else ``n - 1``, as fixest) as the divisor of the iid residual variance. HC choices
  are chosen by name: ``"hc1"`` is HC0 times ``n / (n - K)`` whatever ``adj``
  (pyfixest's ``"hetero"`` with ``adj=False`` is ``"hc0"``); HC2/HC3 take no factor
  (Long & Ervin 2000; pyfixest multiplies them by ``n / (n - K)`` when ``adj``).
- ``cluster_adj``: the ``G / (G - 1)`` factor of clustered covariances.
- ``fixef_k``: which fixed-effect parameters K counts: ``"nested"`` (default) leaves
  out fixed effects nested in a cluster variable (fixest ``"nonnested"``; without
  clusters it counts them all), ``"full"`` all, ``"none"`` none (the t law's
  ``n - K`` follows).
- ``cluster_df``: two-way clusters with one factor of the smaller dimension
  (``"min"``, default) or each term's own ``G``, the intersection's included
  (``"conventional"``). ``Cluster(..., df="each")`` is R sandwich's ``multi0``
  convention instead and cannot be combined with ``"conventional"``;
  ``Cluster(..., adjust=False)`` drops every factor whatever the SSC.
- Influence-function covariances (Callaway-Sant'Anna) keep ``G / (G - 1)`` and no
  ``n - K`` factor; mixed models and GEE build no sandwich of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ipnstats.core.errors import SpecificationError

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
            raise SpecificationError(f"Cluster takes one or two column names, got {columns!r}")
        if df not in ("min", "each"):
            raise SpecificationError(f"Cluster df must be 'min' or 'each', got {df!r}")
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


FixefK = Literal["nested", "full", "none"]
ClusterDf = Literal["min", "conventional"]


@dataclass(frozen=True, slots=True)
class SSC:
    """Small-sample corrections of a covariance (pyfixest's and R fixest's ``ssc()``).

    Parameters
    ----------
    adj
        The ``(n - 1) / (n - K)`` factor of clustered covariances, and ``n - K`` (else
        ``n - 1``) as the iid divisor. See the module notes.
    cluster_adj
        The ``G / (G - 1)`` factor of clustered covariances.
    fixef_k
        Fixed-effect parameters in K: ``"nested"`` (those not nested in a cluster
        variable), ``"full"`` or ``"none"``.
    cluster_df
        Two-way clusters: ``"min"`` (one factor, the smaller dimension's) or
        ``"conventional"`` (each term its own).

    Examples
    --------
    >>> SSC()
    SSC(adj=True, cluster_adj=True, fixef_k='nested', cluster_df='min')
    >>> SSC(adj=False).describe()
    'G/(G-1), no (n-1)/(n-K)'
    """

    adj: bool = True
    cluster_adj: bool = True
    fixef_k: FixefK = "nested"
    cluster_df: ClusterDf = "min"

    def __post_init__(self) -> None:
        for name in ("adj", "cluster_adj"):
            if not isinstance(getattr(self, name), bool):
                raise SpecificationError(f"SSC {name} must be True or False, got "
                                 f"{getattr(self, name)!r}")
        if self.fixef_k not in ("nested", "full", "none"):
            raise SpecificationError("SSC fixef_k must be 'nested', 'full' or 'none', got "
                             f"{self.fixef_k!r}")
        if self.cluster_df not in ("min", "conventional"):
            raise SpecificationError("SSC cluster_df must be 'min' or 'conventional', got "
                             f"{self.cluster_df!r}")

    def describe(self) -> str:
        """The clustered factors in words, e.g. ``"G/(G-1) (n-1)/(n-K)"``."""
        parts = ["G/(G-1)" if self.cluster_adj else "no G/(G-1)",
                 "(n-1)/(n-K)" if self.adj else "no (n-1)/(n-K)"]
        return (" " if self.adj and self.cluster_adj else ", ").join(parts)


ML_SSC = SSC(adj=False)  # Stata's maximum-likelihood vce(cluster): G/(G-1) only


def parse_ssc(ssc: object, default: SSC | None = None) -> SSC | None:
    """Check a user's ``ssc=`` once, at the boundary; None gives ``default``."""
    if ssc is None:
        return default
    if not isinstance(ssc, SSC):
        raise SpecificationError(f"ssc must be ipnstats.SSC(...) or None, got {ssc!r}")
    return ssc


def check_cluster_ssc(spec: Cluster, ssc: SSC) -> None:
    """``Cluster(df="each")`` is a two-way convention of its own (see the notes)."""
    if spec.df == "each" and len(spec.columns) == 2 and ssc.cluster_df == "conventional":
        raise SpecificationError(
            "Cluster(..., df='each') and SSC(cluster_df='conventional') are two different "
            "two-way conventions: choose one (drop df='each' to get fixest's conventional one)")


VcovSpec = str | Cluster


def parse_vcov(spec: object) -> VcovSpec:
    """Check a user's ``vcov=`` choice once, at the boundary."""
    if isinstance(spec, Cluster):
        return spec
    if isinstance(spec, str) and spec.lower() in _HC_NAMES:
        return spec.lower()
    raise SpecificationError(
        f"vcov must be one of {', '.join(map(repr, _HC_NAMES))} or ipnstats.Cluster(...), "
        f"got {spec!r}"
    )


def describe_vcov(spec: VcovSpec) -> str:
    """Label of a vcov choice for tables: ``"IID"``, ``"HC1"``, ``"Clustered (firm_id)"``."""
    return spec.describe() if isinstance(spec, Cluster) else spec.upper()
