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
