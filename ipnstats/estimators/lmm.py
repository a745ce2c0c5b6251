"""The numerics of lme4's profiled (RE)ML for linear mixed models.

Random-effect terms, the cross-products computed once, the blockwise factorization of
``M = Lambda'Z'Z Lambda + I``, the profiled deviance and the optimiser with lme4's
convergence check. :mod:`ipnstats.estimators.mixed` builds the terms from data and turns an
optimum into a result; see its module notes for the algorithm and references.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

SINGULAR_THETA = 1e-4  # lme4's isSingular tolerance
GRADIENT_TOL = 2e-3  # lme4's check.conv.grad tolerance
Structure = Literal["unstructured", "diagonal"]


# ------------------------------------------------------------------------ the terms


@dataclass(frozen=True)
class RandomTerm:
    """One random-effect term ``(columns | group)``.

    ``values`` is the n x p matrix of the term's columns (ones for an intercept);
    ``codes`` maps rows to the levels ``levels`` of ``group``.
    """

    label: str
    group: str
    names: tuple[str, ...]
    codes: np.ndarray
    levels: pd.Index
    values: np.ndarray
    structure: Structure = "unstructured"
    position: int = 0  # the user's order of the terms (the numerics reorder them)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def _positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of ``T``'s free elements, column by column (lme4's order)."""
        return _free_positions(self.p, self.structure == "diagonal" or self.p == 1)

    @property
    def n_theta(self) -> int:
        return self._positions[0].size

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """The lower-triangular ``T`` from this term's ``theta``."""
        T = np.zeros((self.p, self.p))
        rows, cols = self._positions
        T[rows, cols] = theta
        return T

    def lower_bounds(self) -> np.ndarray:
        rows, cols = self._positions
        return np.where(rows == cols, 0.0, -np.inf)

    def start(self) -> np.ndarray:
        rows, cols = self._positions
        return (rows == cols).astype(float)


@functools.lru_cache(maxsize=64)
def _free_positions(p: int, diagonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns), read-only, of ``T``'s free elements (the diagonal, or all column by
    column): once per shape, as every deviance evaluation asks for them."""
    cols, rows = (np.arange(p),) * 2 if diagonal else np.triu_indices(p)
    rows.setflags(write=False), cols.setflags(write=False)
    return rows, cols


def split_theta(theta: np.ndarray, terms: Sequence[RandomTerm]) -> list[np.ndarray]:
    """Each term's ``T`` from the stacked ``theta``."""
    out, at = [], 0
    for t in terms:
        out.append(t.factor(theta[at:at + t.n_theta]))
        at += t.n_theta
    return out


def _apply(Ts: Sequence[np.ndarray], shapes: Sequence[tuple[int, int]], A: np.ndarray,
           transpose: bool) -> np.ndarray:
    """``Lambda A`` (or ``Lambda' A``) for a block of terms; rows of ``A`` are (level, column)."""
    out, at = np.empty_like(A), 0
    for T, (g, p) in zip(Ts, shapes, strict=True):
        block = A[at:at + g * p]
        if p == 1:
            out[at:at + g] = T[0, 0] * block
        else:
            M = T.T if transpose else T
            out[at:at + g * p] = np.einsum("ij,ljm->lim", M,
                                           block.reshape(g, p, -1)).reshape(g * p, -1)
        at += g * p
    return out


# ------------------------------------------------------------------------- numerics


@dataclass(frozen=True)
class CrossGram:
    """``Z1'Zr`` as a linear map: ``C' blockdiag(B) C`` for any first-term blocks ``B``.

    ``(C'BC)_jk = sum_i sum_ab C[(i,a), j] B_i[a, b] C[(i,b), k]``: ``matrix`` (one row per
    element (j, k) of the qr x qr result, or per structural non-zero of ``C'C`` listed
    in ``positions`` (flat indices) when those are few; one column per element of ``B``,
    shape g1 x p1 x p1) holds the products ``C[(i,a), j] C[(i,b), k]``. Built once, it
    turns the Schur complement's sparse-sparse product into one sparse matrix-vector
    product per deviance evaluation.
    """

    matrix: sparse.csr_matrix
    positions: np.ndarray | None = None

    def product(self, blocks: np.ndarray, base: np.ndarray) -> np.ndarray:
        """``base - C' blockdiag(blocks) C`` (dense, a new array)."""
        if self.positions is None:
            return base - (self.matrix @ blocks.ravel()).reshape(base.shape)
        out = base.copy()
        out.ravel()[self.positions] -= self.matrix @ blocks.ravel()
        return out


@dataclass(frozen=True)
class CrossProducts:
    """``Z'Z`` in blocks (first term: one p1 x p1 block per level; ``cross``; ``rest``),
    ``Z'W`` and ``W'W`` for ``W = [X y]``: all the profiled deviance needs.

    ``cross`` (``Z1'Zr``, q1 x qr) is a scipy CSR matrix, with its ``gram`` map, when it
    is sparse enough that sparse products beat dense ones (crossed factors with many
    levels); otherwise an array, and ``gram`` is ``None``.
    """

    first: np.ndarray
    cross: np.ndarray | sparse.csr_matrix
    rest: np.ndarray
    ztw: np.ndarray
    wtw: np.ndarray
    shapes: tuple[tuple[int, int], ...]
    n: int
    gram: CrossGram | None = None


#: ``Z1'Zr`` is kept sparse when the multiply-adds of ``C'BC`` (the squared counts of
#: non-zeros per first-term level, summed) times this factor are fewer than the dense
#: product's (sparse products run ~30-60 times slower per multiply-add than BLAS here).
SPARSE_ADVANTAGE = 50


def cross_products(terms: Sequence[RandomTerm], X: np.ndarray, y: np.ndarray) -> CrossProducts:
    """Cross-products of the random-effects design of ``terms`` and ``[X y]``."""
    n = y.size
    blocks = []
    for t in terms:
        cols = t.codes[:, None] * t.p + np.arange(t.p)[None, :]
        blocks.append(sparse.csr_matrix((t.values.ravel(), (np.repeat(np.arange(n), t.p),
                                                            cols.ravel())),
                                        shape=(n, t.n_levels * t.p)))
    Z = sparse.hstack(blocks).tocsr()
    W = np.column_stack([X, y])
    first_t = terms[0]
    v = first_t.values
    first = np.empty((first_t.n_levels, first_t.p, first_t.p))
    for j in range(first_t.p):
        for k in range(j, first_t.p):
            first[:, j, k] = first[:, k, j] = np.bincount(
                first_t.codes, weights=v[:, j] * v[:, k], minlength=first_t.n_levels)
    q1 = first_t.n_levels * first_t.p
    Z1, Zr = Z[:, :q1], Z[:, q1:]
    cross = (Z1.T @ Zr).tocsr()
    cross.sum_duplicates()
    cross.eliminate_zeros()
    gram = _cross_gram(cross, first_t.p)
    return CrossProducts(first, cross if gram is not None else cross.toarray(),
                         (Zr.T @ Zr).toarray(),
                         np.asarray(Z.T @ W), W.T @ W,
                         tuple((t.n_levels, t.p) for t in terms), n, gram)


def _cross_gram(cross: sparse.csr_matrix, p1: int) -> CrossGram | None:
    """The :class:`CrossGram` of ``cross``, or ``None`` when a dense product is cheaper."""
    q1, qr = cross.shape
    coo = cross.tocoo()
    level, a = coo.row // p1, coo.row % p1
    order = np.argsort(level, kind="stable")
    level, a, col, val = level[order], a[order], coo.col[order], coo.data[order]
    counts = np.bincount(level, minlength=q1 // p1).astype(np.int64)
    pairs = int((counts ** 2).sum())
    if not qr or pairs * SPARSE_ADVANTAGE >= float(q1) * qr * qr:
        return None
    size = counts[level]  # every non-zero pairs with each of its level's non-zeros
    e1 = np.repeat(np.arange(level.size), size)
    e2 = (np.cumsum(counts) - counts)[level[e1]] + (
        np.arange(e1.size) - np.repeat(np.cumsum(size) - size, size))
    flat = col[e1].astype(np.int64) * qr + col[e2]
    positions = None
    if qr * qr > 4 * pairs:  # few (j, k) reached: one row each, not qr^2 rows
        positions, flat = np.unique(flat, return_inverse=True)
    shape = (qr * qr if positions is None else positions.size, q1 * p1)
    matrix = sparse.coo_matrix((val[e1] * val[e2], (flat, (level[e1] * p1 + a[e1]) * p1
                                                    + a[e2])), shape=shape)
    return CrossGram(matrix.tocsr(), positions)


@dataclass(frozen=True)
class PLSSystem:
    """``M = Lambda'Z'Z Lambda + I`` factored blockwise, and its log determinant.

    ``c`` is ``Lambda1'Z1'Zr Lambda_r``, sparse when ``CrossProducts.cross`` is.
    """

    Ts: tuple[np.ndarray, ...]
    shapes: tuple[tuple[int, int], ...]
    d1_inv: np.ndarray
    c: np.ndarray
    chol: np.ndarray
    logdet: float

    def lam(self, A: np.ndarray, transpose: bool = False) -> np.ndarray:
        """``Lambda A`` or ``Lambda' A``."""
        return _apply(self.Ts, self.shapes, A, transpose)

    def _first_solve(self, A: np.ndarray) -> np.ndarray:
        g, p = self.d1_inv.shape[:2]
        return np.matmul(self.d1_inv, A.reshape(g, p, -1)).reshape(g * p, -1)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``M^-1 rhs`` for a (q, m) right-hand side."""
        q1 = self.c.shape[0]
        top, rest = rhs[:q1], rhs[q1:]
        if rest.shape[0]:
            rest = linalg.cho_solve((self.chol, True), rest - self.c.T @ self._first_solve(top),
                                    check_finite=False)
        return np.vstack([self._first_solve(top - self.c @ rest), rest])


def pls_system(Ts: Sequence[np.ndarray], cp: CrossProducts) -> PLSSystem:
    """Factor ``M`` for the terms' relative covariance factors ``Ts``.

    The first term's block is block diagonal (one p1 x p1 block per level) and is
    eliminated exactly; the Schur complement onto the other terms gets a dense Cholesky.
    """
    (g1, p1), rest_shapes = cp.shapes[0], cp.shapes[1:]
    T1, T_rest = Ts[0], Ts[1:]
    d1 = T1.T[None] @ cp.first @ T1[None] + np.eye(p1)[None]
    chol1 = np.linalg.cholesky(d1)
    d1_inv = np.linalg.inv(d1)
    logdet = 2 * float(np.log(np.diagonal(chol1, axis1=1, axis2=2)).sum())
    if not rest_shapes:
        return PLSSystem(tuple(Ts), cp.shapes, d1_inv, np.zeros((g1 * p1, 0)),
                         np.zeros((0, 0)), logdet)
    c, schur = _schur_product(T1, T_rest, rest_shapes, cp, d1_inv)
    schur[np.diag_indices_from(schur)] += 1.0
    chol = linalg.cholesky(schur, lower=True, check_finite=False)  # reads the lower half
    logdet += 2 * float(np.log(np.diag(chol)).sum())
    return PLSSystem(tuple(Ts), cp.shapes, d1_inv, c, chol, logdet)


def _schur_product(T1: np.ndarray, T_rest: Sequence[np.ndarray],
                   rest_shapes: Sequence[tuple[int, int]], cp: CrossProducts,
                   d1_inv: np.ndarray):
    """``c = Lambda1' Z1'Zr Lambda_r`` and the Schur complement's
    ``Lambda_r'(Zr'Zr)Lambda_r - c' D1^-1 c`` (dense), sparse or dense as ``cp.cross``."""
    g1, p1 = d1_inv.shape[:2]
    if cp.gram is None:
        c = _apply([T1], [(g1, p1)], cp.cross, transpose=True)
        c = _apply(T_rest, rest_shapes, c.T, transpose=True).T
        solved = np.matmul(d1_inv, c.reshape(g1, p1, -1)).reshape(g1 * p1, -1)
        lr = _apply(T_rest, rest_shapes, cp.rest, transpose=True)
        return c, _apply(T_rest, rest_shapes, lr.T, transpose=True) - c.T @ solved
    inner = T1[None] @ d1_inv @ T1.T[None]  # Lambda1 D1^-1 Lambda1', level by level
    reduced = cp.gram.product(inner, cp.rest)  # Zr'Zr - C' Lambda1 D1^-1 Lambda1' C
    c = (_lambda_matrix([T1], [(g1, p1)]).T @ cp.cross
         @ _lambda_matrix(T_rest, rest_shapes)).tocsr()
    return c, sandwich(T_rest, rest_shapes, reduced)


def sandwich(Ts: Sequence[np.ndarray], shapes: Sequence[tuple[int, int]],
             A: np.ndarray) -> np.ndarray:
    """``Lambda' A Lambda`` for a block of terms; overwrites ``A`` when every term is
    scalar (a diagonal ``Lambda``: two in-place scalings)."""
    if all(p == 1 for _, p in shapes):
        scale = np.repeat([float(T[0, 0]) for T in Ts], [g for g, _ in shapes])
        A *= scale[:, None]
        A *= scale[None, :]
        return A
    left = _apply(Ts, shapes, A, transpose=True)
    return _apply(Ts, shapes, left.T, transpose=True)


def _lambda_matrix(Ts: Sequence[np.ndarray], shapes: Sequence[tuple[int, int]]):
    """``Lambda`` of a block of terms as a sparse matrix (``I_levels (x) T`` per term).

    Scalar terms only (crossed random intercepts): the diagonal is built directly, the
    very matrix (entries, order) that ``block_diag`` of the ``kron`` products gives, in a
    fraction of the time the deviance takes at each evaluation."""
    if all(p == 1 for _, p in shapes):
        diagonal = np.repeat([float(T[0, 0]) for T in Ts], [g for g, _ in shapes])
        at = np.flatnonzero(diagonal).astype(np.int32)
        indptr = np.concatenate([[0], np.cumsum(diagonal != 0)]).astype(np.int32)
        return sparse.csr_matrix((diagonal[at], at, indptr), shape=(diagonal.size,) * 2)
    return sparse.block_diag([sparse.kron(sparse.identity(g), sparse.csr_matrix(T))
                              for T, (g, _) in zip(Ts, shapes, strict=True)], format="csr")


@dataclass(frozen=True)
class GLSFit:
    """Fixed effects and the pieces of the deviance at one ``theta``."""

    system: PLSSystem
    beta: np.ndarray
    xtvx: np.ndarray
    r2: float
    logdet_x: float


def gls_fit(Ts: Sequence[np.ndarray], cp: CrossProducts) -> GLSFit:
    """``beta``, ``X'V^-1X`` and the penalised residual sum of squares."""
    system = pls_system(Ts, cp)
    lzw = system.lam(cp.ztw, transpose=True)
    g = cp.wtw - lzw.T @ system.solve(lzw)
    p = g.shape[0] - 1
    xtvx, xtvy = (g[:p, :p] + g[:p, :p].T) / 2, g[:p, p]
    if not (np.isfinite(xtvx).all() and np.isfinite(xtvy).all()):
        # an extreme theta (a slope on a column of scale 1e6) overflows: no fit there
        raise np.linalg.LinAlgError("X'V^-1X is not finite at this theta")
    factor = linalg.cho_factor(xtvx, lower=True, check_finite=False)
    beta = linalg.cho_solve(factor, xtvy)
    r2 = float(g[p, p] - xtvy @ beta)
    return GLSFit(system, beta, xtvx, r2, float(2 * np.log(np.diag(factor[0])).sum()))


def deviance(fit: GLSFit, n: int, reml: bool) -> float:
    """Profiled deviance (ML) or REML criterion of a fit."""
    p = fit.beta.size
    m = n - p if reml else n
    if fit.r2 <= 0:
        return np.inf
    base = fit.system.logdet + m * (1 + np.log(2 * np.pi * fit.r2 / m))
    return float(base + (fit.logdet_x if reml else 0.0))


def conditional_modes(fit: GLSFit, cp: CrossProducts) -> np.ndarray:
    """``b = Lambda M^-1 Lambda'Z'(y - X beta)``, all terms' levels stacked."""
    p = fit.beta.size
    rhs = fit.system.lam((cp.ztw[:, p] - cp.ztw[:, :p] @ fit.beta)[:, None], transpose=True)
    return fit.system.lam(fit.system.solve(rhs))[:, 0]


# ------------------------------------------------------------------------ optimiser


@dataclass(frozen=True)
class Optimum:
    """Where the optimiser stopped, whether it converged and how it got there."""

    theta: np.ndarray
    value: float
    converged: bool
    optimizer: str
    message: str


def projected_gradient(f: Callable[[np.ndarray], float], theta: np.ndarray,
                       lower: np.ndarray | None = None, h: float = 1e-5) -> np.ndarray:
    """Finite-difference gradient of ``f`` at ``theta``, projected on ``theta >= lower``.

    One-sided at a bound, where a slope pointing outwards is no sign of a missed minimum.
    """
    lower = np.zeros(theta.size) if lower is None else lower
    g = np.empty(theta.size)
    for i in range(theta.size):
        step = np.zeros(theta.size)
        step[i] = h * max(1.0, abs(theta[i]))
        low = np.maximum(theta - step, lower)
        g[i] = (f(theta + step) - f(low)) / (theta[i] + step[i] - low[i])
    at_bound = theta - lower < h
    return np.where(at_bound, np.minimum(g, 0.0), g)


def minimise_deviance(objective: Callable[[np.ndarray], float], k: int,
                      start: np.ndarray | None = None,
                      lower: np.ndarray | None = None,
                      gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
                      ) -> Optimum:
    """Bounded L-BFGS-B from ``start``; Nelder-Mead from several starts if it stops short.

    ``gradient`` (the deviance and its analytic gradient at once), when given, replaces
    L-BFGS-B's central differences; the convergence check always uses differences.
    """
    start = np.ones(k) if start is None else np.asarray(start, float)
    lower = np.zeros(k) if lower is None else np.asarray(lower, float)

    def safe(theta: np.ndarray) -> float:
        value = objective(theta)
        return value if np.isfinite(value) else np.inf

    def checked(run) -> bool:
        # lme4's criterion: the gradient, not the optimiser's status (L-BFGS-B may end
        # "ABNORMAL" on a failed line search at the optimum itself)
        return bool(np.isfinite(run.fun)
                    and np.abs(projected_gradient(safe, run.x, lower)).max() < GRADIENT_TOL)

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    first = _lbfgsb(safe, start, bounds, gradient)
    first = _off_the_boundary(safe, first, lower, bounds, gradient=gradient)
    if checked(first):
        first = _another_start(safe, first, start, lower, bounds, checked)
        return Optimum(first.x, float(first.fun), True, "L-BFGS-B", str(first.message))
    runs = [("L-BFGS-B", first)]
    diagonal = np.isfinite(lower)
    for scale in (1.0, 0.1, 3.0):
        alt = np.where(diagonal, start * scale, start)
        runs.append(("Nelder-Mead", optimize.minimize(
            safe, alt, method="Nelder-Mead", bounds=bounds,
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000 * k})))
    runs.append(("Nelder-Mead", optimize.minimize(
        safe, np.maximum(first.x, lower), method="Nelder-Mead", bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000 * k})))
    name, best = min(runs, key=lambda r: r[1].fun)
    if name != "L-BFGS-B":  # polish the best simplex with a gradient method
        name = "Nelder-Mead (after L-BFGS-B from the start stopped short)"
        polish = _lbfgsb(safe, best.x, bounds, gradient, maxiter=15000)
        if polish.success and polish.fun <= best.fun:
            best = polish
            name = "Nelder-Mead, then L-BFGS-B (after L-BFGS-B from the start stopped short)"
    best = _off_the_boundary(safe, best, lower, bounds, gradient=gradient)
    return Optimum(best.x, float(best.fun), checked(best), name, str(best.message))


def _lbfgsb(f: Callable[[np.ndarray], float], x0: np.ndarray, bounds,
            gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None,
            maxiter: int = 1000):
    """L-BFGS-B on ``f`` with central differences, or on ``gradient`` (value, gradient).
    Differences of infinite deviances (outside the parameter space) are NaN, silently."""
    options = {"ftol": 1e-13, "gtol": 1e-6, "maxiter": maxiter}
    with np.errstate(invalid="ignore"):
        if gradient is None:
            return optimize.minimize(f, x0, method="L-BFGS-B", jac="3-point", bounds=bounds,
                                     options=options)
        return optimize.minimize(gradient, x0, method="L-BFGS-B", jac=True, bounds=bounds,
                                 options=options)


#: Where a parameter on its bound is moved to, to see whether the deviance is lower there.
PROBES = (1e-3, 1e-2, 0.1, 0.3, 1.0)


def _another_start(f: Callable[[np.ndarray], float], run, start: np.ndarray,
                   lower: np.ndarray, bounds, checked):
    """With a correlated (unstructured) covariance the profiled deviance can have two
    minima, one inside and a lower one near a correlation of +-1; L-BFGS-B from lme4's
    start may settle in the upper one. So it also runs from the start with the diagonal
    scaled by 0.1, and that optimum wins only when it passes the check and is lower by
    more than 1e-6 (relative): a fit already at the optimum is unchanged. Terms without
    covariance parameters (random intercepts) need no second start."""
    if np.isfinite(lower).all():
        return run
    other = _lbfgsb(f, np.where(np.isfinite(lower), 0.1 * start, start), bounds, None)
    other = _off_the_boundary(f, other, lower, bounds)
    if other.fun < run.fun - 1e-6 * max(1.0, abs(run.fun)) and checked(other):
        return other
    return run


def _probes(x: np.ndarray, lower: np.ndarray, on_bound: np.ndarray):
    """Points near ``x`` off its bounds: each parameter on its bound at a small positive
    value, alone and with each free parameter moved by that step or a quarter of it,
    either way (a rank-one covariance of an intercept and a slope is a correlated
    direction, which no parameter alone improves)."""
    free = np.flatnonzero(~np.isfinite(lower))
    for step in PROBES:
        for i in on_bound:
            trial = x.copy()
            trial[i] = lower[i] + step
            yield trial
            for j in free:
                for ratio in (1.0, -1.0, 0.25, -0.25):
                    pair = trial.copy()
                    pair[j] = x[j] + ratio * step
                    yield pair


def _off_the_boundary(f: Callable[[np.ndarray], float], run, lower: np.ndarray, bounds,
                      rounds: int = 5,
                      gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None):
    """Accept a fit on a boundary only after the deviance was compared at small positive
    values of each parameter on its bound: where one is lower, minimise again from there.

    The profiled deviance depends on theta^2, so its slope is 0 at theta = 0 whatever its
    curvature: a gradient check alone passes at a local maximum along theta.
    """
    for _ in range(rounds):
        on_bound = np.flatnonzero(np.isfinite(lower) & (run.x - lower < 1e-4))
        better = None
        for trial in _probes(run.x, lower, on_bound):
            value = f(trial)
            if value < run.fun - 1e-8 * max(1.0, abs(run.fun)) and (
                    better is None or value < better[1]):
                better = (trial, value)
        if better is None:
            return run
        again = _lbfgsb(f, better[0], bounds, gradient)
        if not again.fun < run.fun:
            return run
        run = again
    return run
