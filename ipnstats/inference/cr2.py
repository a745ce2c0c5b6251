"""CR2 cluster-robust covariance with Satterthwaite degrees of freedom.

Bell & McCaffrey (2002) and Pustejovsky & Tipton (2018), computed as R clubSandwich
0.5.8 does for ``lm`` and ``plm`` fits (``vcovCR(fit, cluster, type = "CR2")`` and
``coef_test(..., test = "Satterthwaite")``) with the working model ``Phi = I``.

Notes
-----
With ``X`` the design (after any within transformation), ``W`` the analytic weights
(identity without weights), ``M = (X'WX)^-1`` and ``H = X M X'W`` the hat matrix of
the *full* model (absorbed fixed effects included: ``H = H_S + X M X'`` where ``H_S``
projects on the fixed-effect dummies ``S``, which ``X`` is orthogonal to), the
residual-maker is ``T = I - H`` and ``C = T T'`` (``= I - H`` without weights). For
cluster ``g``::

    A_g = (C_gg)^(+1/2)   (symmetric inverse square root; eigenvalues <= 1e-12 -> 0)
    V   = M [sum_g X_g' W_g A_g e_g e_g' A_g W_g X_g] M

No ``G/(G-1)`` or ``(n-1)/(n-K)`` factor (clubSandwich applies none). For a contrast
``c``, with ``m_g = A_g W_g X_g M c`` and ``Omega[g, h] = m_g' C_gh m_h``, the
Satterthwaite degrees of freedom are ``trace(Omega)^2 / sum(Omega^2)``. Joint tests:
:func:`htz_test` (clubSandwich's ``Wald_test(test = "HTZ")``).

A cluster whose ``C_gg`` is singular (leverage one, e.g. a single observation fitted
by its own parameter) gets the pseudo-inverse square root, so its zero directions add
nothing; clubSandwich does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from ipnstats.core.errors import SpecificationError

EIGEN_TOL = 1e-12  # clubSandwich's matrix_power: eigenvalues above 10^-12 are kept


def inverse_sqrt(C: np.ndarray) -> np.ndarray:
    """Symmetric ``C^(+1/2)``: eigenvalues at most ``1e-12`` set to zero (clubSandwich's
    ``matrix_power(C, -1/2)``)."""
    values, vectors = np.linalg.eigh((C + C.T) / 2)
    keep = values > EIGEN_TOL
    powered = np.zeros_like(values)
    powered[keep] = values[keep] ** -0.5
    return (vectors * powered) @ vectors.T


def _dummies(codes: np.ndarray, levels: int) -> sparse.csr_matrix:
    n = codes.size
    return sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, levels))


@dataclass(frozen=True)
class FixedEffects:
    """The projection ``H_S`` on absorbed fixed-effect dummies ``S``, without forming it.

    By Frisch-Waugh-Lovell, ``H_S = H_A + H_B~``: ``A`` the dummies of the set with the
    most levels (``H_A`` averages within its levels), ``B~`` the other sets' dummies
    (n x r, r their levels) residualised on ``A``, with ``(B~'B~)^+`` (they are
    collinear with ``A`` and each other). Cost: O(n r) memory, O(r^3) once.
    """

    main: sparse.csr_matrix
    inv_counts: np.ndarray
    rest: np.ndarray
    rest_ginv: np.ndarray

    @classmethod
    def from_codes(cls, effects: Sequence[tuple[np.ndarray, int]]) -> FixedEffects:
        order = sorted(range(len(effects)), key=lambda i: -effects[i][1])
        main = _dummies(*effects[order[0]])
        inv_counts = 1 / np.maximum(np.asarray(main.sum(axis=0)).ravel(), 1)
        n = main.shape[0]
        others = [_dummies(*effects[i]).toarray() for i in order[1:]]
        rest = np.column_stack(others) if others else np.zeros((n, 0))
        rest = rest - main @ (inv_counts[:, None] * (main.T @ rest))
        gram = rest.T @ rest
        if gram.size:
            values, vectors = np.linalg.eigh(gram)
            keep = values > 1e-10 * max(values.max(), 1e-300)
            ginv = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
        else:
            ginv = np.zeros((0, 0))
        return cls(main, inv_counts, rest, ginv)

    def gram(self, left, right) -> np.ndarray:
        """``left' H_S right`` (n x a and n x b; dense arrays or sparse matrices)."""
        la, ra = self.main.T @ left, self.main.T @ right
        first = la.T @ sparse.diags(self.inv_counts) @ ra if sparse.issparse(la) else (
            la.T @ (self.inv_counts[:, None] * ra))
        first = first.toarray() if sparse.issparse(first) else np.asarray(first)
        lb, rb = np.asarray(left.T @ self.rest), np.asarray(right.T @ self.rest)
        return first + lb @ self.rest_ginv @ rb.T

    def residualise(self, V: np.ndarray) -> np.ndarray:
        """``(I - H_S) V``: what the within transformation gives, exactly (to rounding)."""
        V2 = V.reshape(V.shape[0], -1)
        fitted = self.main @ (self.inv_counts[:, None] * (self.main.T @ V2))
        fitted += self.rest @ (self.rest_ginv @ (self.rest.T @ V2))
        return (V2 - fitted).reshape(V.shape)

    def block(self, rows: np.ndarray) -> np.ndarray:
        """``(H_S)[rows, rows]``."""
        codes = self.main[rows].indices  # one level per row
        first = (codes[:, None] == codes[None, :]) * self.inv_counts[codes][None, :]
        Bg = self.rest[rows]
        return first + Bg @ self.rest_ginv @ Bg.T


@dataclass(frozen=True)
class CR2:
    """The CR2 covariance of one fit, and the pieces its Satterthwaite df need.

    Build it with :func:`cr2`. ``cov`` is the K x K covariance, ``df_terms`` the
    Satterthwaite degrees of freedom of each coefficient; :meth:`contrast_df` gives
    those of any single contrast.
    """

    cov: np.ndarray
    df_terms: np.ndarray
    n_clusters: int
    bread: np.ndarray
    X: np.ndarray
    weights: np.ndarray | None
    groups: tuple[np.ndarray, ...]
    adjusted: tuple[np.ndarray, ...]  # A_g W_g X_g, n_g x K
    fixed_effects: FixedEffects | None

    def contrast_df(self, R: np.ndarray) -> float:
        """Satterthwaite degrees of freedom of ``R b`` for a single row ``R``; a
        SpecificationError for several rows (clubSandwich's joint HTZ test changes the
        statistic, not only its degrees of freedom: :func:`htz_test`, which
        ``Result.wald_test`` uses)."""
        R = np.atleast_2d(np.asarray(R, float))
        if R.shape[0] != 1:
            raise SpecificationError(
                "joint Wald tests with CR2 (clubSandwich's HTZ test) are not available; "
                "test one contrast at a time (one row of R), or use Cluster(..., type='cr1')")
        return satterthwaite_df(self, self.bread @ R[0])

    @property
    def q_matrix(self) -> np.ndarray:
        """``M X'W^2X M`` (the weighted case's ``H H'`` term)."""
        w2 = self.weights**2
        return self.bread @ ((self.X * w2[:, None]).T @ self.X) @ self.bread


def _groups(codes: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    return tuple(np.split(order, np.cumsum(counts)[:-1]))


def _c_block(X: np.ndarray, bread: np.ndarray, w: np.ndarray | None, rows: np.ndarray,
             fe: FixedEffects | None, q: np.ndarray | None) -> np.ndarray:
    """``C_gg = [(I - H)(I - H)']_gg``."""
    Xg = X[rows]
    xmx = Xg @ bread @ Xg.T
    if w is None:
        C = np.eye(rows.size) - xmx
        return C if fe is None else C - fe.block(rows)
    wg = w[rows]
    return np.eye(rows.size) - xmx * wg[None, :] - wg[:, None] * xmx + Xg @ q @ Xg.T


def cr2(X: np.ndarray, resid: np.ndarray, bread: np.ndarray, codes: np.ndarray, *,
        weights: np.ndarray | None = None,
        absorbed: Sequence[tuple[np.ndarray, int]] = ()) -> CR2:
    """CR2 covariance and per-coefficient Satterthwaite df (clubSandwich's).

    Parameters
    ----------
    X, resid, bread
        Design (n x K, after any within transformation), residuals and ``(X'WX)^-1``.
    codes
        Cluster codes ``0..G-1`` of the rows.
    weights
        Analytic weights (clubSandwich's weighted ``lm``); not with ``absorbed``.
    absorbed
        Fixed effects removed by the within transformation, as (codes, levels): the
        adjustment uses the full model's projection, so the result equals the model
        with the dummies (clubSandwich on ``lm`` with ``factor()`` or on ``plm``).
        ``X`` and ``resid`` are projected off the dummies once more, exactly, and the
        bread recomputed, so an iterated within transformation's tolerance does not
        leak into the adjustment.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(40), rng.normal(size=40)])
    >>> y = X @ [1.0, 2.0] + rng.normal(size=40)
    >>> bread = np.linalg.inv(X.T @ X)
    >>> fit = cr2(X, y - X @ bread @ X.T @ y, bread, np.repeat(np.arange(8), 5))
    >>> fit.cov.shape, bool(np.all(fit.df_terms <= 7))
    ((2, 2), True)
    """
    if weights is not None and len(absorbed):
        raise SpecificationError("weighted CR2 with absorbed fixed effects is not available")
    fe = None
    if len(absorbed):
        # The iterated within transformation stops at a tolerance; the adjustment inverts
        # blocks of I - H whose fixed-effect directions must be exactly zero, so the
        # design and residuals are projected once more, exactly (pseudo-inverse of S'S).
        fe = FixedEffects.from_codes(absorbed)
        X, resid = fe.residualise(X), fe.residualise(resid)
        bread = np.linalg.pinv(X.T @ X, hermitian=True)
    w = None if weights is None else np.asarray(weights, float)
    q = None if w is None else bread @ ((X * (w**2)[:, None]).T @ X) @ bread
    groups = _groups(codes)
    adjusted, scores = [], np.empty((len(groups), X.shape[1]))
    for g, rows in enumerate(groups):
        A = inverse_sqrt(_c_block(X, bread, w, rows, fe, q))
        WX = X[rows] if w is None else X[rows] * w[rows][:, None]
        AWX = A @ WX  # A symmetric: (X_g' W_g A_g)' = A_g W_g X_g
        adjusted.append(AWX)
        scores[g] = AWX.T @ resid[rows]
    cov = bread @ (scores.T @ scores) @ bread
    cov = (cov + cov.T) / 2
    fit = CR2(cov, np.empty(0), len(groups), bread, X, w, groups, tuple(adjusted), fe)
    df = np.array([satterthwaite_df(fit, bread[:, k]) for k in range(X.shape[1])])
    return CR2(cov, df, len(groups), bread, X, w, groups, tuple(adjusted), fe)


def satterthwaite_df(fit: CR2, direction: np.ndarray) -> float:
    """``trace(Omega)^2 / sum(Omega^2)`` for the contrast whose ``M c`` is ``direction``.

    ``Omega[g, h] = m_g' C_gh m_h`` with ``m_g = A_g W_g X_g M c``; NaN when the contrast
    has no variance (every ``m_g`` zero).
    """
    stack = _stack(fit, direction)
    omega = _omega(fit, stack, stack)
    total = np.sum(omega**2)
    return float(np.trace(omega) ** 2 / total) if total > 0 else float("nan")


def _stack(fit: CR2, direction: np.ndarray) -> sparse.csc_matrix:
    """The ``m_g`` of one contrast as the columns of a sparse n x G matrix."""
    ms = [a @ direction for a in fit.adjusted]
    rows = np.concatenate(fit.groups)
    cols = np.repeat(np.arange(len(ms)), [m.size for m in ms])
    return sparse.csc_matrix((np.concatenate(ms), (rows, cols)),
                             shape=(fit.X.shape[0], len(ms)))


def _omega(fit: CR2, P1: sparse.csc_matrix, P2: sparse.csc_matrix) -> np.ndarray:
    """``[m1_g' C_gh m2_h]`` (G x G) for two contrasts' stacks."""
    omega = np.asarray((P1.T @ P2).toarray())  # block diagonal: m1_g' m2_g
    a1, a2 = np.asarray((P1.T @ fit.X).T), np.asarray((P2.T @ fit.X).T)  # K x G
    if fit.weights is None:
        omega -= a1.T @ fit.bread @ a2
    else:
        WX = fit.X * fit.weights[:, None]
        b1, b2 = np.asarray((P1.T @ WX).T), np.asarray((P2.T @ WX).T)
        omega += a1.T @ fit.q_matrix @ a2 - a1.T @ fit.bread @ b2 - b1.T @ fit.bread @ a2
    if fit.fixed_effects is not None:
        omega -= fit.fixed_effects.gram(P1, P2)
    return omega


@dataclass(frozen=True, slots=True)
class HTZTest:
    """clubSandwich's HTZ Wald test (Pustejovsky & Tipton 2018): ``F = delta Q / q`` on
    ``F(q, nu - q + 1)``."""

    statistic: float
    delta: float
    df_num: int
    df_denom: float
    p_value: float


def htz_test(fit: CR2, beta: np.ndarray, R: np.ndarray, q: np.ndarray | float = 0.0) -> HTZTest:
    """HTZ test of ``R beta = q`` (clubSandwich ``Wald_test(test = "HTZ")``).

    ``Q = (Rb - q)' (R V R')^-1 (Rb - q)``; with ``P[s, t]`` the G x G matrices
    ``[m_g(s)' C_gh m_h(t)]`` of the rows ``s, t`` of ``R``, ``Omega = [tr P[s, t]]``,
    ``B = Omega^-1/2 P Omega^-1/2`` and ``nu = q (q + 1) / sum_st (<B_st, B_ts> +
    <B_ss, B_tt>)``; ``delta = max((nu - q + 1) / nu, 0)``.
    """
    R = np.atleast_2d(np.asarray(R, float))
    k = R.shape[0]
    stacks = [_stack(fit, fit.bread @ r) for r in R]
    P = np.array([[_omega(fit, s1, s2) for s2 in stacks] for s1 in stacks])
    omega = np.einsum("stjj->st", P)
    values, vectors = np.linalg.eigh(omega)
    powered = np.where(values > EIGEN_TOL, np.abs(values) ** -0.5, 0.0)
    nsqrt = (vectors * powered) @ vectors.T
    B = np.einsum("sa,abjk,bt->stjk", nsqrt, P, nsqrt)
    var = (np.einsum("stjk,tsjk->st", B, B)
           + np.einsum("ssjk,ttjk->st", B, B))
    nu = k * (k + 1) / var.sum()
    diff = R @ beta - np.broadcast_to(np.asarray(q, float), (k,))
    Q = float(diff @ np.linalg.solve(R @ fit.cov @ R.T, diff))
    delta = max((nu - k + 1) / nu, 0.0)
    df = nu - k + 1
    p = float(stats.f.sf(delta * Q / k, k, df)) if df > 0 else float("nan")
    return HTZTest(delta * Q / k, delta, k, float(df), p)
