"""Least squares with collinearity checks, and its covariance engine.

Estimators transform their data (within, quasi-demeaning, differencing, means) and
hand ``X`` and ``y`` to :func:`ols`; :class:`LinearEngine` then computes any vcov
choice from the transformed design, the residuals and the absorbed fixed effects,
which is what lets ``Result.with_vcov`` work without refitting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import linalg

from ipnstats.core.formula import SpecificationError
from ipnstats.inference.cr2 import cr2, htz_test
from ipnstats.inference.dyadic import count_nodes, dyadic_vcov, node_codes
from ipnstats.inference.sandwich import (  # noqa: F401  (nested_in: re-exported)
    clip_to_psd,
    cluster_codes,
    clustered_vcov,
    hc_vcov,
    iid_vcov,
    nested_in,
    ssc_k,
)
from ipnstats.results.notes import Note
from ipnstats.results.result import Inference
from ipnstats.results.vcov import SSC, Cluster, Dyadic, VcovSpec, check_cluster_ssc

FEW_CLUSTERS = 30


def independent_columns(X: np.ndarray, tol: float = 1e-9,
                        reference: np.ndarray | None = None) -> np.ndarray:
    """Mask of columns kept, in order, dropping those (nearly) spanned by earlier ones.

    A column is dropped when the sum of squares left after projecting it on the kept
    earlier columns is below ``tol`` times its own sum of squares, or times
    ``reference`` (e.g. the centred sum of squares before a within transformation,
    so that a regressor absorbed by the fixed effects up to rounding is dropped).
    """
    return independent_in_gram(X.T @ X, tol, reference)


def independent_in_gram(gram: np.ndarray, tol: float = 1e-9,
                        reference: np.ndarray | None = None) -> np.ndarray:
    """:func:`independent_columns` from the Gram matrix ``X'X``."""
    ref = np.diag(gram) if reference is None else np.maximum(reference, np.diag(gram))
    k = gram.shape[0]
    keep = np.zeros(k, bool)
    chol = np.zeros((k, k))
    for j in range(k):
        idx = np.flatnonzero(keep)
        v = gram[idx, j]
        coef = linalg.solve_triangular(chol[np.ix_(idx, idx)], v, lower=True) if idx.size else v
        resid = gram[j, j] - coef @ coef
        if gram[j, j] > 0 and resid > tol * ref[j]:
            chol[idx, j] = 0
            chol[j, idx] = coef
            chol[j, j] = np.sqrt(resid)
            keep[j] = True
    return keep


@dataclass(frozen=True, slots=True)
class OLSFit:
    """Coefficients of the kept columns, residuals and the bread ``(X'X)^-1``."""

    beta: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    keep: np.ndarray
    names: tuple[str, ...]
    collinear: tuple[str, ...]


def ols(X: np.ndarray, y: np.ndarray, names: tuple[str, ...], tol: float = 1e-9,
        reference: np.ndarray | None = None) -> OLSFit:
    """Least squares of ``y`` on the linearly independent columns of ``X``.

    ``reference``: sums of squares the collinearity check compares against (see
    :func:`independent_columns`).
    """
    gram = X.T @ X
    keep = independent_in_gram(gram, tol, reference) if X.shape[1] else np.zeros(0, bool)
    kept = tuple(n for n, k in zip(names, keep, strict=True) if k)
    dropped = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    if not keep.any():
        return OLSFit(np.zeros(0), y.copy(), np.zeros((0, 0)), keep, (), dropped)
    Xk = X if keep.all() else X[:, keep]
    factor = linalg.cho_factor(gram[np.ix_(keep, keep)])
    beta = linalg.cho_solve(factor, Xk.T @ y)
    bread = linalg.cho_solve(factor, np.eye(Xk.shape[1]))
    return OLSFit(beta, y - Xk @ beta, (bread + bread.T) / 2, keep, kept, dropped)


@dataclass(frozen=True, slots=True)
class Absorbed:
    """A fixed effect absorbed by the within transformation: codes 0..n_levels-1."""

    column: str
    codes: np.ndarray
    n_levels: int


@dataclass(frozen=True)
class LinearEngine:
    """Covariance of a linear estimator under any vcov choice.

    ``rows`` are the positions in ``data`` of the observations behind the rows of ``X``
    (cluster columns are read there). ``absorbed_df`` counts the absorbed fixed-effect
    parameters net of redundancies; ``normal`` selects z rather than t inference.
    ``column_codes`` are data columns already factorised on those rows (their codes
    are what :meth:`cluster_codes` would give), reused for clustering. ``ssc`` holds
    the small-sample corrections (see :mod:`ipnstats.results.vcov`). ``cr2`` says
    whether the estimator offers ``Cluster(..., type="cr2")`` (its result carries the
    per-term Satterthwaite df; ``X`` and ``absorbed`` must be the whole least-squares
    model, see :mod:`ipnstats.inference.cr2`).

    Weighted least squares: ``weights`` holds the (positive) weights of the rows, and
    ``X`` and ``resid`` are then the transformed regression's, each row multiplied by
    ``sqrt(w_i)`` (after any weighted within transformation), so ``bread`` is
    ``(X'WX)^-1`` and the cluster scores ``X * resid`` are ``w_i x_i u_i``.
    ``leverage_extra`` is then the fixed effects' weighted leverage ``w_i / W_g``.
    ``frequency`` (fweights): ``nobs`` is ``sum(w)`` and HC covariances and leverages
    are those of the data with each row repeated ``w_i`` times (pyfixest, Stata).
    """

    X: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    data: pd.DataFrame
    rows: np.ndarray
    absorbed: tuple[Absorbed, ...] = ()
    absorbed_df: int = 0
    leverage_extra: np.ndarray | None = None
    normal: bool = False
    column_codes: tuple[Absorbed, ...] = ()
    ssc: SSC = SSC()
    weights: np.ndarray | None = None
    frequency: bool = False
    cr2: bool = False
    #: Whether :class:`~ipnstats.results.vcov.Dyadic` applies (``Result.with_vcov`` asks).
    dyadic: ClassVar[bool] = True

    @property
    def nobs(self) -> int:
        """Observations: rows, or the sum of frequency weights."""
        if self.frequency and self.weights is not None:
            return int(round(float(self.weights.sum())))
        return self.X.shape[0]

    def df_resid(self, k_absorbed: int | None = None) -> int:
        """``n - K``: observations less coefficients and absorbed parameters."""
        extra = self.absorbed_df if k_absorbed is None else k_absorbed
        return self.nobs - self.X.shape[1] - extra

    def compute(self, spec: VcovSpec) -> Inference:
        """The covariance, reference law and notes of one vcov choice; none (NaN) when the
        model leaves no residual degrees of freedom (a saturated model fits every
        observation: any standard error would be an artefact of rounding). Under
        frequency weights the distinct rows count: repeated copies of a row that the model
        fits exactly leave residuals of zero all the same."""
        rows = self.X.shape[0]
        if self.df_resid() <= 0 or rows - self.X.shape[1] - self.absorbed_df <= 0:
            k = self.X.shape[1]
            counted = (f"{rows:,} distinct rows of {self.nobs:,} weighted observations"
                       if rows != self.nobs else f"{self.nobs:,} observations")
            return Inference(np.full((k, k), np.nan), None if self.normal else 1.0, None, (
                Note("no_residual_df",
                     f"No residual degrees of freedom ({counted}, "
                     f"{self.X.shape[1] + self.absorbed_df:,} parameters with the fixed "
                     "effects): the model fits every observation, so there are no "
                     "standard errors, tests or intervals."),))
        if isinstance(spec, Cluster):
            return self._cluster(spec)
        if isinstance(spec, Dyadic):
            return self._dyadic(spec)
        df = self.nobs - self._k()
        if spec == "iid":
            cov = iid_vcov(self.bread, self.resid, df if self.ssc.adj else self.nobs - 1)
            return Inference(cov, None if self.normal else float(df))
        leverage = self._leverage(spec)
        if leverage is not None and (ones := int((leverage > 1 - 1e-10).sum())):
            k = self.X.shape[1]  # HC2/HC3 divide by 1 - h: undefined (Stata: missing)
            return Inference(np.full((k, k), np.nan), None if self.normal else float(df), None,
                             (Note("leverage_one",
                                   f"{ones:,} observation(s) have leverage one (each fits its "
                                   f"own parameter), so {spec.upper()} is undefined: use "
                                   "'hc1' or Cluster(...)"),))
        resid = self.resid
        if self.frequency and self.weights is not None:  # sum of w x x' u^2, as repeated rows
            resid = resid / np.sqrt(self.weights)
        cov = hc_vcov(self.X, resid, self.bread, spec, df, leverage, n=self.nobs)
        return Inference(cov, None if self.normal else float(df))

    def with_ssc(self, ssc: SSC) -> LinearEngine:
        """The same fit under other small-sample corrections."""
        return dataclasses.replace(self, ssc=ssc)

    def _k(self, codes: list[np.ndarray] | tuple = ()) -> int:
        """K of the small-sample factors (``ssc.fixef_k``; see ``ssc_k``)."""
        return ssc_k(self.X.shape[1], [(a.codes, a.n_levels) for a in self.absorbed],
                     self.absorbed_df, self.ssc.fixef_k, codes)

    def _leverage(self, kind: str) -> np.ndarray | None:
        if kind not in ("hc2", "hc3"):
            return None
        if len(self.absorbed) > 1:
            raise SpecificationError(f"{kind.upper()} needs the leverage of every observation, "
                                     "which two or more sets of absorbed fixed effects do not "
                                     "give cheaply; use 'hc1' or Cluster(...)")
        h = np.einsum("ij,jk,ik->i", self.X, self.bread, self.X)
        h = h if self.leverage_extra is None else h + self.leverage_extra
        # frequency weights: the leverage of each of the w_i repeated rows
        return h / self.weights if self.frequency and self.weights is not None else h

    def cluster_codes(self, column: str) -> np.ndarray:
        """Integer codes of a cluster column on the estimation rows."""
        for known in self.column_codes:
            if known.column == column:
                return known.codes
        return cluster_codes(self.data, self.rows, column)

    def _cluster(self, spec: Cluster) -> Inference:
        check_cluster_ssc(spec, self.ssc)
        if spec.type == "cr2":
            return self._cr2(spec)
        codes = [self.cluster_codes(c) for c in spec.columns]
        scores = self.X * self.resid[:, None]
        cov, sizes = clustered_vcov(self.bread, scores, codes, self.nobs, self._k(codes),
                                    self.ssc, each=spec.df == "each", adjust=spec.adjust)
        notes = self._cluster_notes(spec, sizes)
        cov, repaired = clip_to_psd(cov) if len(codes) == 2 else (cov, False)
        if repaired:
            notes += (Note("covariance_repaired",
                "The two-way clustered covariance was not positive semi-definite; "
                "negative eigenvalues were set to zero (Cameron, Gelbach & Miller 2011)."),)
        g = min(sizes)
        return Inference(cov, None if self.normal else float(g - 1), g, notes)

    def _dyadic(self, spec: Dyadic) -> Inference:
        """Dyadic-robust covariance with ``t(N - 1)``, ``N`` the nodes (see
        :mod:`ipnstats.inference.dyadic`); K counts every absorbed fixed effect (none
        under ``SSC(fixef_k="none")``)."""
        if not self.dyadic:
            raise SpecificationError(f"vcov={spec!r} is not available for this estimator "
                                     "(one row per unit, not per dyad); use Cluster(...)")
        a, b, _ = node_codes(self.data, self.rows, spec.sender, spec.receiver)
        cov = dyadic_vcov(self.bread, self.X * self.resid[:, None], a, b, n=self.nobs,
                          k=self._k(), ssc=self.ssc, adjust=spec.adjust)
        nodes = count_nodes(a, b)
        cov, notes = dyadic_notes(cov, nodes)
        return Inference(cov, None if self.normal else float(nodes - 1), nodes, notes)

    def _cr2(self, spec: Cluster) -> Inference:
        """CR2 with Satterthwaite df per term (clubSandwich; see :mod:`ipnstats.inference.cr2`)."""
        if not self.cr2 or self.normal:
            raise SpecificationError(
                "Cluster(..., type='cr2') is available for the least-squares panel "
                "estimators (within, pooled, first difference, between), not for this "
                "estimator (GLS, maximum likelihood or several equations): use "
                f"Cluster({spec.columns[0]!r}) (CR1)")
        codes = self.cluster_codes(spec.columns[0])
        g = int(codes.max()) + 1
        if g < 2:
            raise SpecificationError(f"CR2 needs at least 2 clusters; {spec.columns[0]!r} has "
                                     "one on the estimation rows")
        X, resid = self.X, self.resid
        if self.weights is not None:  # clubSandwich's weighted lm: the unscaled design and W
            if self.frequency or self.absorbed:
                raise SpecificationError(
                    "Cluster(..., type='cr2') takes analytic weights without absorbed fixed "
                    "effects (clubSandwich's weighted lm); with fweights or absorbed effects "
                    f"use Cluster({spec.columns[0]!r}) (CR1) or the effects as dummies")
            root = np.sqrt(self.weights)
            X, resid = X / root[:, None], resid / root
        fit = cr2(X, resid, self.bread, codes, weights=self.weights,
                  absorbed=[(a.codes, a.n_levels) for a in self.absorbed])
        return Inference(fit.cov, float(g - 1), g, self._cluster_notes(spec, [g]),
                         df_terms=fit.df_terms, contrast_df=fit.contrast_df,
                         joint_test=partial(_htz, fit))

    def _cluster_notes(self, spec: Cluster, sizes: list[int]) -> tuple[str, ...]:
        advice = ("the CR2 standard errors are bias-reduced and their Satterthwaite degrees of "
                  "freedom adjust for few clusters; the wild cluster bootstrap is an "
                  "alternative" if spec.type == "cr2" else
                  "consider CR2 with Satterthwaite degrees of freedom "
                  "(Cluster(..., type='cr2')) or the wild cluster bootstrap")
        return tuple(
            Note("few_clusters",
                f"Only {g} clusters in {col!r}: cluster-robust standard errors can be too small "
                f"with fewer than {FEW_CLUSTERS} clusters; {advice}.")
            for col, g in zip(spec.columns, sizes, strict=True) if g < FEW_CLUSTERS)


def dyadic_notes(cov: np.ndarray, nodes: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """A dyadic covariance repaired when not positive semi-definite, and its notes (few
    nodes, repaired). A term whose dyadic variance is not positive (few nodes in a dense
    network: nearly every pair of observations shares a node, and the scores sum to
    zero) gets no standard error (NaN) rather than the repair's zero."""
    bad = np.diag(cov) <= 0
    cov, repaired = clip_to_psd(cov)
    notes = ()
    if nodes < FEW_CLUSTERS:
        notes += (Note("few_clusters",
            f"Only {nodes} nodes: dyadic-robust standard errors can be too small with fewer "
            f"than {FEW_CLUSTERS} nodes."),)
    if bad.any():
        cov = cov.copy()
        cov[bad, :] = np.nan
        cov[:, bad] = np.nan
        notes += (Note("variance_not_positive",
            f"The dyadic-robust variance of {int(bad.sum())} term(s) is not positive (too few "
            f"nodes, {nodes}, for a network this dense): they have no standard error."),)
    if repaired:
        notes += (Note("covariance_repaired",
            "The dyadic-robust covariance was not positive semi-definite; negative "
            "eigenvalues were set to zero."),)
    return cov, notes


def _htz(fit, beta: np.ndarray, R: np.ndarray, q: np.ndarray) -> tuple:
    """clubSandwich's HTZ joint test of ``R b = q`` under CR2 (``Result.wald_test``)."""
    out = htz_test(fit, beta, R, q)
    return (out.statistic, out.df_num, out.df_denom, out.p_value,
            f"HTZ test (Pustejovsky & Tipton 2018): F scaled by {out.delta:.4g}")
