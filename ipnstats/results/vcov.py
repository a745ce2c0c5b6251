"""Variance-covariance choices and the sandwich formulas behind them.

The choices a user passes as ``vcov=``: ``"iid"``, ``"hc0"``, ``"hc1"``, ``"hc2"``,
``"hc3"``, :class:`Cluster` or (where an estimator offers it) :class:`Dyadic`.
The formulas are small pure functions of a design
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
- CR2 (``Cluster(col, type="cr2")``; Bell & McCaffrey 2002, Pustejovsky & Tipton 2018,
  R clubSandwich ``vcovCR(type = "CR2")``): each cluster's residuals are multiplied by
  ``(I - H_gg)^(-1/2)`` (``H`` the full model's hat matrix, absorbed fixed effects
  included) and no ``G/(G-1)`` or ``(n-1)/(n-K)`` factor is applied, so :class:`SSC` does
  not apply: a non-default ``ssc=`` with CR2 is refused, as are two-way CR2 and CR2 for
  GLS or maximum-likelihood fits. Each term is tested with ``t`` on its own
  Satterthwaite degrees of freedom (clubSandwich ``coef_test(test = "Satterthwaite")``),
  a single contrast on its own; joint tests are refused. See
  :mod:`ipnstats.inference.cr2`.
- Dyadic (``Dyadic(sender, receiver)``; Fafchamps & Gubert 2007, Aronow, Samii &
  Assenova 2015): the meat sums ``s_d s_d'^T`` over every pair of observations that share
  a node (in either role), itself included; computed as ``sum_i S_i S_i^T`` over nodes
  less ``sum_p P_p P_p^T`` over unordered pairs (see :mod:`ipnstats.inference.dyadic`).
  Factor ``N/(N-1) * (n-1)/(n-K)`` with ``N`` the distinct nodes (``SSC`` ``cluster_adj``
  and ``adj``; maximum likelihood ``N/(N-1)`` only); ``Dyadic(..., adjust=False)`` is
  ASA's equation without a factor (R ``dyadRobust``). K counts every absorbed fixed
  effect. Inference ``t(N - 1)`` for least squares. Non positive semi-definite results
  are repaired as two-way clusters'; a term whose variance is not positive gets NaN
  (note ``variance_not_positive``).
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
    type
        ``"cr1"`` (default): the sandwich with the factors above. ``"cr2"``: Bell &
        McCaffrey's bias-reduced CR2 with Satterthwaite degrees of freedom per term
        (Pustejovsky & Tipton 2018; R clubSandwich ``vcovCR(type = "CR2")``), one-way
        only and without small-sample factors (see the module notes).

    Examples
    --------
    >>> Cluster("firm_id")
    Cluster('firm_id')
    >>> Cluster("firm_id", "year").describe()
    'Clustered (firm_id, year)'
    >>> Cluster("firm_id", type="cr2").describe()
    'Clustered (firm_id), CR2'
    """

    columns: tuple[str, ...]
    df: Literal["min", "each"]
    adjust: bool
    type: Literal["cr1", "cr2"]

    def __init__(self, *columns: str, df: Literal["min", "each"] = "min", adjust: bool = True,
                 type: Literal["cr1", "cr2"] = "cr1"):  # noqa: A002  (clubSandwich's name)
        if len(columns) == 1 and isinstance(columns[0], list | tuple):
            columns = tuple(columns[0])
        if not 1 <= len(columns) <= 2 or not all(isinstance(c, str) for c in columns):
            raise SpecificationError(f"Cluster takes one or two column names, got {columns!r}")
        if df not in ("min", "each"):
            raise SpecificationError(f"Cluster df must be 'min' or 'each', got {df!r}")
        _check_type(type, columns, adjust)
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "df", df)
        object.__setattr__(self, "adjust", bool(adjust))
        object.__setattr__(self, "type", type)

    def describe(self) -> str:
        """A short label for tables, e.g. ``"Clustered (firm_id)"``."""
        label = f"Clustered ({', '.join(self.columns)})"
        return label + (", CR2" if self.type == "cr2" else "")

    def __repr__(self) -> str:
        extra = "" if self.df == "min" else f", df={self.df!r}"
        extra += "" if self.adjust else ", adjust=False"
        extra += "" if self.type == "cr1" else f", type={self.type!r}"
        return f"Cluster({', '.join(map(repr, self.columns))}{extra})"


def _check_type(type_: object, columns: tuple, adjust: object) -> None:
    if type_ not in ("cr1", "cr2"):
        raise SpecificationError(f"Cluster type must be 'cr1' or 'cr2', got {type_!r}")
    if type_ == "cr2" and len(columns) != 1:
        raise SpecificationError(
            f"CR2 is one-way only: Cluster({', '.join(map(repr, columns))}, type='cr2') has "
            f"{len(columns)} cluster columns; use one column, or type='cr1' for two-way clusters")
    if type_ == "cr2" and not adjust:
        raise SpecificationError("Cluster(..., type='cr2') applies no small-sample factor, so "
                                 "adjust=False has no meaning there; drop adjust=False")


@dataclass(frozen=True, slots=True)
class Dyadic:
    """Dyadic-robust standard errors: observations that share a node (firm) in either
    role are dependent (Fafchamps & Gubert 2007; Aronow, Samii & Assenova 2015).

    Parameters
    ----------
    sender, receiver
        The two columns naming an observation's nodes, in one namespace (a firm that
        sends and receives has the same id in both). Direction does not matter:
        ``(i, j)`` and ``(j, i)`` share both nodes. Missing ids and self-dyads
        (``sender == receiver``) are refused.
    adjust
        Apply the ``N/(N-1) * (n-1)/(n-K)`` factor (default; ``N`` distinct nodes);
        ``False`` is Aronow, Samii & Assenova's equation as is (R ``dyadRobust``).

    Examples
    --------
    >>> Dyadic("sender_id", "receiver_id")
    Dyadic('sender_id', 'receiver_id')
    >>> Dyadic("sender_id", "receiver_id").describe()
    'Dyadic (sender_id, receiver_id)'
    """

    sender: str
    receiver: str
    adjust: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.sender, str) and isinstance(self.receiver, str)):
            raise SpecificationError("Dyadic takes two column names, e.g. Dyadic('sender_id', "
                                     f"'receiver_id'); got {self.sender!r}, {self.receiver!r}")
        if self.sender == self.receiver:
            raise SpecificationError(f"Dyadic needs two different columns, got {self.sender!r} "
                                     "twice; for one-way clustering use Cluster(...)")
        if not isinstance(self.adjust, bool):
            raise SpecificationError(f"Dyadic adjust must be True or False, got {self.adjust!r}")

    @property
    def nodes(self) -> tuple[str, str]:
        """The two node columns (not ``columns``: tables read that as a cluster's)."""
        return (self.sender, self.receiver)

    def describe(self) -> str:
        """A short label for tables, e.g. ``"Dyadic (sender_id, receiver_id)"``."""
        return f"Dyadic ({self.sender}, {self.receiver})"

    def __repr__(self) -> str:
        extra = "" if self.adjust else ", adjust=False"
        return f"Dyadic({self.sender!r}, {self.receiver!r}{extra})"


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
    """``Cluster(df="each")`` is a two-way convention of its own, and CR2 takes no
    small-sample factor (see the notes)."""
    if spec.type == "cr2" and ssc != SSC():
        raise SpecificationError(
            f"Cluster(..., type='cr2') applies no small-sample factor, so ssc={ssc!r} has "
            "no meaning there; drop ssc= (CR2 is clubSandwich's, without G/(G-1) or "
            "(n-1)/(n-K))")
    if spec.df == "each" and len(spec.columns) == 2 and ssc.cluster_df == "conventional":
        raise SpecificationError(
            "Cluster(..., df='each') and SSC(cluster_df='conventional') are two different "
            "two-way conventions: choose one (drop df='each' to get fixest's conventional one)")


VcovSpec = str | Cluster | Dyadic


def parse_vcov(spec: object, *, dyadic: bool = False) -> VcovSpec:
    """Check a user's ``vcov=`` choice once, at the boundary.

    :class:`Dyadic` is accepted only when the caller computes it (``dyadic=True``);
    elsewhere it is refused with a message rather than mistaken for another choice.
    """
    if isinstance(spec, Cluster):
        return spec
    if isinstance(spec, Dyadic):
        if not dyadic:
            raise SpecificationError(
                f"vcov={spec!r} (dyadic-robust) is available for least-squares and "
                "maximum-likelihood results that can re-choose their vcov (panel_regression, "
                "moderation, result.with_vcov), not here; use Cluster(...)")
        return spec
    if isinstance(spec, str) and spec.lower() in _HC_NAMES:
        return spec.lower()
    raise SpecificationError(
        f"vcov must be one of {', '.join(map(repr, _HC_NAMES))} or ipnstats.Cluster(...), "
        f"got {spec!r}"
    )


def describe_vcov(spec: VcovSpec) -> str:
    """Label of a vcov choice for tables: ``"IID"``, ``"HC1"``, ``"Clustered (firm_id)"``."""
    return spec.describe() if isinstance(spec, Cluster | Dyadic) else spec.upper()


def require_cr1(spec: object, where: str) -> None:
    """Refuse ``Cluster(..., type="cr2")`` in an estimator that has no CR2 (``where``
    names it): CR2 is defined here for linear least squares only."""
    if isinstance(spec, Cluster) and spec.type == "cr2":
        raise SpecificationError(
            f"Cluster(..., type='cr2') is available for linear least-squares models only, "
            f"not for {where}; use Cluster({', '.join(map(repr, spec.columns))}) (CR1)")
