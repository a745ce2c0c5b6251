"""Satterthwaite degrees of freedom for the fixed effects of a linear mixed model (lmerTest).

lmerTest 3.1-3 (Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw 82(13)) writes the
covariance of the fixed effects as a function of the variance parameters
``varpar = (theta, sigma)`` (lme4's relative covariance factors and the residual SD):
``V(varpar) = sigma^2 (X'V_theta^-1 X)^-1``. For a contrast ``L``,

    df = 2 (L'VL)^2 / (g' A g),    g = d(L'V(varpar)L)/d varpar,

where ``A = 2 H^+`` is the asymptotic covariance of ``varpar``: ``H`` the Hessian of the
(RE)ML deviance in ``(theta, sigma)`` (not profiled over ``sigma``), inverted on its
eigenvalues above 1e-8 (so a variance on the boundary, whose direction has no curvature,
drops out). Both derivatives are numerical, by numDeriv's Richardson extrapolation
(``hessian``: relative step 0.1; ``jacobian``: relative step 1e-4; 4 halvings), which this
module replicates step for step, so that the df agree with lmerTest's to about 1e-7 at
the same ``varpar``. A joint F test of several rows uses lmerTest's ``contestMD``: the
eigen-decomposition of ``L V L'``, each eigen-contrast's df ``nu_m``, and the denominator
df ``2E/(E - q)`` with ``E = sum nu_m/(nu_m - 2)`` (2 when any ``nu_m <= 2``).

The deviance and ``V`` are evaluated here by their own code from the model's matrices
(``X``, ``y`` and the random-effect terms' codes and columns), so that they do not depend
on how :mod:`ipnstats.estimators.lmm` fits the model: ``M = Lambda'Z'Z Lambda + I`` is
factored by a sparse LU with a symmetric fill-reducing ordering, and

    deviance = log|M| + r^2/sigma^2 + n log(2 pi sigma^2)
               [REML: + log|X'V^-1X| - p log(2 pi sigma^2)]

with ``r^2`` the penalised residual sum of squares at ``theta`` (lmerTest's ``devfun_vp``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as splinalg

from ipnstats.estimators.lmm import RandomTerm

#: lmerTest's tolerance on the Hessian's eigenvalues (``as_lmerModLT(tol = 1e-8)``).
EIGEN_TOL = 1e-8

# ------------------------------------------------------------------ numDeriv's Richardson


def _richardson(a: np.ndarray, r: int) -> np.ndarray:
    """Richardson extrapolation over the first axis (step halved each row), numDeriv's."""
    for m in range(1, r):
        a = (a[1:] * 4.0 ** m - a[:-1]) / (4.0 ** m - 1)
    return a[0]


def _steps(x: np.ndarray, d: float, eps: float = 1e-4) -> np.ndarray:
    zero_tol = np.sqrt(np.finfo(float).eps / 7e-7)
    return np.abs(d * x) + eps * (np.abs(x) < zero_tol)


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, d: float = 0.1,
            r: int = 4) -> np.ndarray:
    """The Hessian of a scalar ``f`` at ``x``, as ``numDeriv::hessian`` (its ``genD``).

    >>> hessian(lambda v: v[0] ** 2 * v[1], np.array([1.0, 2.0])).round(8).tolist()
    [[4.0, 2.0], [2.0, 0.0]]
    """
    x = np.asarray(x, float)
    n, f0, h0 = x.size, f(x), _steps(x, d)
    unit = np.eye(n)
    diag = np.empty(n)
    for i in range(n):
        h = h0 * 0.5 ** np.arange(r)[:, None]
        diag[i] = _richardson(np.array([(f(x + hk * unit[i]) - 2 * f0 + f(x - hk * unit[i]))
                                        / hk[i] ** 2 for hk in h]), r)
    H = np.diag(diag)
    for i in range(n):
        for j in range(i):
            h = h0 * 0.5 ** np.arange(r)[:, None]
            step = unit[i] + unit[j]
            H[i, j] = H[j, i] = _richardson(np.array([
                (f(x + hk * step) - 2 * f0 + f(x - hk * step) - diag[i] * hk[i] ** 2
                 - diag[j] * hk[j] ** 2) / (2 * hk[i] * hk[j]) for hk in h]), r)
    return H


def jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, d: float = 1e-4,
             r: int = 4) -> np.ndarray:
    """The Jacobian of a vector ``f`` at ``x`` (one column per ``x``), as
    ``numDeriv::jacobian(method = "Richardson")``.

    >>> jacobian(lambda v: np.array([v[0] * v[1], v[1] ** 2]), np.array([1.0, 3.0])).round(8)
    array([[3., 1.],
           [0., 6.]])
    """
    x = np.asarray(x, float)
    h0 = _steps(x, d)
    cols = []
    for i in range(x.size):
        e = np.eye(x.size)[i]
        a = [(np.ravel(f(x + h * e)) - np.ravel(f(x - h * e))) / (2 * h[i])
             for h in h0 * 0.5 ** np.arange(r)[:, None]]
        cols.append(_richardson(np.array(a), r))
    return np.column_stack(cols)


# ------------------------------------------------------------- the model at any varpar


@dataclass(frozen=True)
class _ThetaParts:
    logdet_m: float
    r2: float
    logdet_x: float
    xtvx_inv: np.ndarray


@dataclass(frozen=True)
class VarparModel:
    """``y = X beta + Z b + e`` with the terms' covariance factors: the deviance and the
    covariance of ``beta`` at any ``varpar = (theta, sigma)``.

    ``theta`` stacks the terms' free elements of ``T`` in the order of ``terms``
    (:meth:`RandomTerm.factor`); ``X`` is the fixed-effects design as reported (not
    centred), so ``V`` is the covariance of the reported coefficients.
    """

    X: np.ndarray
    y: np.ndarray
    terms: tuple[RandomTerm, ...]
    reml: bool
    Z: sparse.csr_matrix = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False, compare=False)
    _centred: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _uncentre: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "Z", random_effects_design(self.terms, self.y.size))
        object.__setattr__(self, "_cache", {})
        # with an intercept, centre y and the other columns (saves digits in W'W; the
        # deviance is unchanged and V maps back by the unit-triangular A)
        X, y, A = self.X, self.y, np.eye(self.X.shape[1])
        ones = np.flatnonzero(np.all(X == 1.0, axis=0))
        if ones.size:
            xbar = X.mean(axis=0)
            xbar[ones[0]] = 0.0
            X, y = X - xbar, y - y.mean()
            A[ones[0]] -= xbar
        object.__setattr__(self, "_centred", (X, y))
        object.__setattr__(self, "_uncentre", A)

    @property
    def n_theta(self) -> int:
        return sum(t.n_theta for t in self.terms)

    def _z_lambda(self, theta: np.ndarray) -> sparse.csc_matrix:
        """``Z Lambda``: each term's row holds ``values @ T`` at its level's columns."""
        blocks, at = [], 0
        for t in self.terms:
            blocks.append(np.asarray(t.values, float) @ t.factor(theta[at:at + t.n_theta]))
            at += t.n_theta
        Z = self.Z
        return sparse.csr_matrix((np.hstack(blocks).ravel(), Z.indices, Z.indptr),
                                 shape=Z.shape).tocsc()

    def _parts(self, theta: np.ndarray) -> _ThetaParts:
        key = theta.tobytes()
        if key not in self._cache:
            self._cache[key] = self._compute(theta)
        return self._cache[key]

    def _compute(self, theta: np.ndarray) -> _ThetaParts:
        zl = self._z_lambda(theta)
        M = (zl.T @ zl + sparse.identity(zl.shape[1], format="csc")).tocsc()
        lu = splinalg.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
        logdet_m = float(np.log(np.abs(lu.U.diagonal())).sum())
        W = np.column_stack(self._centred)
        lzw = np.asarray(zl.T @ W)
        G = W.T @ W - lzw.T @ lu.solve(lzw)
        p = self.X.shape[1]
        xtvx = (G[:p, :p] + G[:p, :p].T) / 2
        chol = linalg.cho_factor(xtvx, lower=True)
        beta = linalg.cho_solve(chol, G[:p, p])
        return _ThetaParts(logdet_m, float(G[p, p] - G[:p, p] @ beta),
                           float(2 * np.log(np.diag(chol[0])).sum()),
                           linalg.cho_solve(chol, np.eye(p)))

    def deviance(self, varpar: np.ndarray) -> float:
        """The (RE)ML deviance at ``varpar`` (lmerTest's ``devfun_vp``)."""
        theta, sigma2 = varpar[:-1], varpar[-1] ** 2
        parts = self._parts(np.asarray(theta, float))
        n, p = self.X.shape
        dev = parts.logdet_m + parts.r2 / sigma2 + n * np.log(2 * np.pi * sigma2)
        if not self.reml:
            return float(dev)
        return float(dev + parts.logdet_x - p * np.log(2 * np.pi * sigma2))

    def vcov_beta(self, varpar: np.ndarray) -> np.ndarray:
        """``sigma^2 (X'V^-1X)^-1`` at ``varpar`` (lmerTest's ``get_covbeta``)."""
        A = self._uncentre
        return varpar[-1] ** 2 * (A @ self._parts(np.asarray(varpar[:-1], float)).xtvx_inv @ A.T)


def random_effects_design(terms: Sequence[RandomTerm], n: int) -> sparse.csr_matrix:
    """``Z``: for each term, the columns (level, coefficient) in level-major order; every
    row stores one entry per term and coefficient, in that order (zeros included), so
    that ``Z Lambda`` shares its pattern."""
    cols, at = [], 0
    for t in terms:
        cols.append(at + t.codes[:, None] * t.p + np.arange(t.p)[None, :])
        at += t.n_levels * t.p
    cols = np.hstack(cols)
    data = np.hstack([np.asarray(t.values, float) for t in terms])
    return sparse.csr_matrix((data.ravel(), cols.ravel(), np.arange(n + 1) * cols.shape[1]),
                             shape=(n, at))


# ------------------------------------------------------------------ the df of contrasts


@dataclass(frozen=True)
class Satterthwaite:
    """What lmerTest's Satterthwaite df need, at the fitted ``varpar``.

    ``vcov_beta`` is ``V``; ``jacobian[k]`` is ``dV/d varpar_k``; ``vcov_varpar`` is
    ``2 H^+``; ``eigenvalues`` are ``H``'s (negative ones: not a minimum; near zero: a
    direction without curvature, dropped as lmerTest does).
    """

    varpar: np.ndarray
    vcov_beta: np.ndarray
    jacobian: np.ndarray
    vcov_varpar: np.ndarray
    eigenvalues: np.ndarray

    def df(self, L: np.ndarray) -> float:
        """The df of the t test of one contrast ``L'beta`` (lmerTest's ``contest1D``)."""
        L = np.asarray(L, float).ravel()
        var = L @ self.vcov_beta @ L
        grad = np.einsum("i,kij,j->k", L, self.jacobian, L)
        denom = grad @ self.vcov_varpar @ grad
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(2 * var ** 2 / denom)

    def df_terms(self) -> np.ndarray:
        """Each coefficient's df."""
        return np.array([self.df(e) for e in np.eye(self.vcov_beta.shape[0])])

    def contrast_df(self, R: np.ndarray) -> float:
        """The denominator df of the F test of ``R beta = q`` (lmerTest's ``contestMD``)."""
        R = np.atleast_2d(np.asarray(R, float))
        if R.shape[0] == 1:
            return self.df(R[0])
        d, P = np.linalg.eigh(R @ self.vcov_beta @ R.T)
        d, P = d[::-1], P[:, ::-1]
        keep = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0)
        if not keep.any():
            return np.nan
        rows = (P.T @ R)[keep]
        nu = np.array([self.df(row) for row in rows])
        return float(f_denominator_df(nu))


def f_denominator_df(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: the F test's df from its eigen-contrasts' df ``nu``."""
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - nu.size)


def satterthwaite(model: VarparModel, varpar: np.ndarray) -> Satterthwaite:
    """lmerTest's ``as_lmerModLT``: the pieces of the Satterthwaite df at ``varpar``
    (the fit's ``theta`` and ``sigma``)."""
    varpar = np.asarray(varpar, float)
    H = hessian(model.deviance, varpar)
    values, vectors = np.linalg.eigh(H)
    pos = values > EIGEN_TOL
    inv = (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
    V = model.vcov_beta(varpar)
    p = V.shape[0]
    J = jacobian(model.vcov_beta, varpar)
    jac = np.stack([J[:, k].reshape(p, p) for k in range(varpar.size)])
    return Satterthwaite(varpar, V, jac, 2 * inv, values)


__all__ = ["EIGEN_TOL", "Satterthwaite", "VarparModel", "f_denominator_df", "hessian",
           "jacobian", "random_effects_design", "satterthwaite"]
