"""Linear mixed models fitted as lme4 does: random intercepts, random slopes, crossed groups.

``mixed_model`` fits ``y = X beta + Z b + e`` with ``b ~ N(0, Sigma)``,
``e ~ N(0, sigma^2 I)``. ``Z`` stacks one block per random-effect term
``(columns | group)``: for every level of ``group``, a random coefficient on each
column (an intercept, a slope). Terms on different grouping columns are crossed
(receivers and senders) or nested, which only the labels tell apart (give nested
levels unique labels, as lme4 recommends).

Notes
-----
The fit follows Bates, Mächler, Bolker & Walker (2015, J Stat Softw 67(1), section 3):

- Each term's covariance is ``sigma^2 T T'`` with ``T`` lower triangular
  (``"unstructured"``: lme4's ``(1 + x | g)``) or diagonal (``"diagonal"``: lme4's
  ``(1 + x || g)``); ``theta`` holds ``T``'s free elements, column by column, and
  ``Lambda = blockdiag(I_levels (x) T)`` relates ``b = Lambda u``.
- Penalised least squares with ``M = Lambda'Z'Z Lambda + I`` gives ``beta``, the
  conditional modes and the penalised residual sum of squares ``r^2``;
  ``X'V^-1X = X'X - X'Z Lambda M^-1 Lambda'Z'X`` (Woodbury, ``V = Z Lambda Lambda'Z' + I``).
- Profiled deviance (ML) ``log|M| + n (1 + log(2 pi r^2 / n))``; the REML criterion
  adds ``log|X'V^-1X|`` and puts ``n - p`` for ``n``. ``sigma^2 = r^2 / (n - p)``
  (REML) or ``r^2 / n`` (ML). ``cov(beta) = sigma^2 (X'V^-1X)^-1`` (lme4's ``vcov``);
  inference is Wald z, as lme4's ``summary`` (no Satterthwaite or Kenward-Roger df).
- Each evaluation uses cross-products computed once (``Z'Z``, ``Z'X``, ``Z'y``), so it
  costs ``O(q^3)`` whatever ``n``. The term with most levels is eliminated first (its
  block of ``Z'Z`` is block diagonal, one small block per level); only the Schur
  complement of the other terms gets a dense Cholesky. ``y`` and ``X`` are centred
  when the model has an intercept (a reparametrisation that leaves the deviance
  unchanged and saves digits).
- Optimiser: bounded L-BFGS-B (diagonal elements of ``T`` >= 0) from lme4's start
  (``T = I``) with central-difference gradients. It has converged when it says so and
  the projected finite-difference gradient is below 2e-3 (lme4's ``check.conv.grad``);
  otherwise bounded Nelder-Mead runs from several starts and the lowest deviance is
  kept, the same check deciding ``converged``. A diagonal element of ``T`` below 1e-4
  (lme4's ``isSingular``) is a singular fit.
- ``loglik`` is the REML log-likelihood (minus half lme4's "REML criterion") in REML
  fits, the log-likelihood in ML fits; AIC and BIC count the fixed effects, the
  covariance parameters and ``sigma``, as lme4 does.

For a binary outcome, ``family="binomial"`` fits a logistic GEE (statsmodels) with an
exchangeable working correlation within the first grouping column and robust
(sandwich) standard errors: population-averaged log odds, not lme4's subject-specific
``glmer`` coefficients (which are larger in absolute value by roughly
``sqrt(1 + 0.346 sigma_u^2)``).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from ..results.result import Result
from ..results.vcov import Cluster
from .formula import SpecificationError, build_design, formula_variables, require_columns
from .linear import independent_columns

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
        if self.structure == "diagonal" or self.p == 1:
            return np.arange(self.p), np.arange(self.p)
        cols, rows = np.triu_indices(self.p)
        return rows, cols

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


def _split(theta: np.ndarray, terms: Sequence[RandomTerm]) -> list[np.ndarray]:
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
class CrossProducts:
    """``Z'Z`` in blocks (first term: one p1 x p1 block per level; ``cross``; ``rest``),
    ``Z'W`` and ``W'W`` for ``W = [X y]``: all the profiled deviance needs."""

    first: np.ndarray
    cross: np.ndarray
    rest: np.ndarray
    ztw: np.ndarray
    wtw: np.ndarray
    shapes: tuple[tuple[int, int], ...]
    n: int


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
    return CrossProducts(first, (Z1.T @ Zr).toarray(), (Zr.T @ Zr).toarray(),
                         np.asarray(Z.T @ W), W.T @ W,
                         tuple((t.n_levels, t.p) for t in terms), n)


@dataclass(frozen=True)
class PLSSystem:
    """``M = Lambda'Z'Z Lambda + I`` factored blockwise, and its log determinant."""

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
    """Factor ``M`` for the terms' relative covariance factors ``Ts``."""
    (g1, p1), rest_shapes = cp.shapes[0], cp.shapes[1:]
    T1, T_rest = Ts[0], Ts[1:]
    d1 = T1.T[None] @ cp.first @ T1[None] + np.eye(p1)[None]
    chol1 = np.linalg.cholesky(d1)
    d1_inv = np.linalg.inv(d1)
    logdet = 2 * float(np.log(np.diagonal(chol1, axis1=1, axis2=2)).sum())
    c = _apply([T1], [(g1, p1)], cp.cross, transpose=True)
    if not rest_shapes:
        return PLSSystem(tuple(Ts), cp.shapes, d1_inv, c, np.zeros((0, 0)), logdet)
    c = _apply(T_rest, rest_shapes, c.T, transpose=True).T
    lr = _apply(T_rest, rest_shapes, cp.rest, transpose=True)
    lrl = _apply(T_rest, rest_shapes, lr.T, transpose=True)
    solved = np.matmul(d1_inv, c.reshape(g1, p1, -1)).reshape(g1 * p1, -1)
    schur = lrl + np.eye(lrl.shape[0]) - c.T @ solved
    chol = linalg.cholesky((schur + schur.T) / 2, lower=True, check_finite=False)
    logdet += 2 * float(np.log(np.diag(chol)).sum())
    return PLSSystem(tuple(Ts), cp.shapes, d1_inv, c, chol, logdet)


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
                      lower: np.ndarray | None = None) -> Optimum:
    """Bounded L-BFGS-B from ``start``; Nelder-Mead from several starts if it stops short."""
    start = np.ones(k) if start is None else np.asarray(start, float)
    lower = np.zeros(k) if lower is None else np.asarray(lower, float)

    def safe(theta: np.ndarray) -> float:
        value = objective(theta)
        return value if np.isfinite(value) else np.inf

    def checked(run) -> bool:
        return bool(run.success and np.isfinite(run.fun)
                    and np.abs(projected_gradient(safe, run.x, lower)).max() < GRADIENT_TOL)

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    with np.errstate(invalid="ignore"):  # differences of infinite deviances
        first = optimize.minimize(safe, start, method="L-BFGS-B", jac="3-point",
                                  bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-6,
                                                          "maxiter": 1000})
    if checked(first):
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
        polish = optimize.minimize(safe, best.x, method="L-BFGS-B", jac="3-point",
                                   bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-6})
        if polish.success and polish.fun <= best.fun:
            best = polish
            name = "Nelder-Mead, then L-BFGS-B (after L-BFGS-B from the start stopped short)"
    return Optimum(best.x, float(best.fun), checked(best), name, str(best.message))


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """One BLAS thread while optimising: the matrices (q up to a few thousand) gain little
    from threads, and oversubscribed machines lose a lot (5-10x measured on 2 vCPUs)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only speed depends on it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class MixedResult(Result):
    """A linear mixed model: fixed effects, random-effect covariances, conditional modes.

    ``terms`` are the random-effect terms' labels (the grouping column, ``group.1`` for
    a second term on the same column); ``covariances`` each term's covariance matrix;
    ``theta`` each term's free elements of the relative factor ``T``; ``modes`` each
    term's conditional modes (BLUPs) by level; ``residual_variance`` is ``sigma^2``.
    """

    converged: bool = True
    optimizer: str = ""
    terms: tuple[str, ...] = ()
    term_groups: Mapping[str, str] = field(default_factory=dict)
    structures: Mapping[str, str] = field(default_factory=dict)
    theta: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    covariances: Mapping[str, pd.DataFrame] = field(default_factory=dict, compare=False)
    residual_variance: float = np.nan
    modes: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        for name in ("term_groups", "structures", "theta", "covariances", "modes"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def groups(self) -> tuple[str, ...]:
        """The grouping columns, each once, in the order of the terms."""
        return tuple(dict.fromkeys(self.term_groups[t] for t in self.terms))

    @property
    def singular(self) -> bool:
        """A variance on the boundary (lme4's ``isSingular``)."""
        return bool(self.extra.get("singular", False))

    @property
    def variances(self) -> Mapping[str, float]:
        """Each term's first variance (its intercept's, usually) and ``"Residual"``."""
        out = {t: float(self.covariances[t].iloc[0, 0]) for t in self.terms}
        return MappingProxyType(out | {"Residual": self.residual_variance})

    def tidy(self, conf_level: float = 0.95, effects: str = "fixed") -> pd.DataFrame:
        """``effects="fixed"``: the coefficient table; ``"ran_pars"``: the random-effect
        standard deviations and correlations (broom.mixed: ``sd__x``, ``cor__x.z``) with
        ``group`` and ``estimate`` (lme4 gives them no standard errors)."""
        if effects == "fixed":
            return Result.tidy(self, conf_level)
        if effects != "ran_pars":
            raise ValueError(f"effects must be 'fixed' or 'ran_pars', got {effects!r}")
        rows = []
        for t in self.terms:
            cov = self.covariances[t]
            sd = np.sqrt(np.diag(cov.to_numpy()))
            names = list(cov.index)
            rows += [(t, f"sd__{n}", s) for n, s in zip(names, sd, strict=True)]
            if self.structures.get(t) == "diagonal":
                continue
            for j in range(len(names)):
                for i in range(j + 1, len(names)):
                    denom = sd[i] * sd[j]
                    rows.append((t, f"cor__{names[j]}.{names[i]}",
                                 cov.iloc[i, j] / denom if denom > 0 else np.nan))
        rows.append(("Residual", "sd__Observation", np.sqrt(self.residual_variance)))
        return pd.DataFrame(rows, columns=["group", "term", "estimate"]).assign(
            effect="ran_pars")[["effect", "group", "term", "estimate"]]

    def variance_components(self) -> pd.DataFrame:
        """group, term, variance, std_dev, icc; the residual last.

        ``icc`` is the share of a random intercept's variance in the total variance of an
        observation at zero slopes (all intercept variances plus the residual); it is
        empty for slopes.
        """
        rows = [(t, name, float(cov.loc[name, name]))
                for t in self.terms for cov in [self.covariances[t]] for name in cov.index]
        rows.append(("Residual", "", float(self.residual_variance)))
        frame = pd.DataFrame(rows, columns=["group", "term", "variance"])
        frame["std_dev"] = np.sqrt(frame["variance"])
        intercept = frame["term"].isin(["(Intercept)", ""])
        total = frame.loc[intercept, "variance"].sum()
        frame["icc"] = np.where(intercept & (total > 0), frame["variance"] / total, np.nan)
        return frame

    def random_effects(self, group: str) -> pd.DataFrame:
        """Conditional modes (BLUPs) of the term ``group``: one row per level, one column
        per random coefficient (``(Intercept)``, slopes)."""
        if group not in self.modes:
            raise ValueError(f"{group!r} is not a grouping factor (random-effect term) of this "
                             "model; it has "
                             f"{list(self.terms)}")
        return self.modes[group].copy()


# --------------------------------------------------------------------------- fitting


def fit_lmm(frame: pd.DataFrame, y: np.ndarray, X: np.ndarray, names: Sequence[str],
            terms: Sequence[RandomTerm], *, reml: bool = True, outcome: str = "y",
            formula: str = "", notes: tuple[str, ...] = ()) -> MixedResult:
    """Fit a linear mixed model on prepared arrays (see :func:`mixed_model`)."""
    names = list(names)
    keep = independent_columns(X)
    if not keep.all():
        dropped = [n for n, k in zip(names, keep, strict=True) if not k]
        notes = notes + (f"Dropped as collinear with the other fixed effects: "
                         f"{', '.join(dropped)}.",)
        X, names = X[:, keep], [n for n, k in zip(names, keep, strict=True) if k]
    n = y.size
    if n <= X.shape[1]:
        raise SpecificationError(f"only {n} complete rows for {X.shape[1]} fixed effects")
    for t in terms:
        if t.n_levels < 2:
            raise SpecificationError(f"group column {t.group!r} has {t.n_levels} level(s) "
                                     "among the complete rows; a random effect needs at "
                                     "least 2")
        if t.n_levels * t.p >= n:
            raise SpecificationError(f"term ({' + '.join(t.names)} | {t.group}) has "
                                     f"{t.n_levels * t.p:,} random effects for {n:,} rows: "
                                     "they cannot be told apart from the residual")
    Xc, yc, means = _centred(X, y, names)
    order = sorted(range(len(terms)), key=lambda i: -terms[i].n_levels)
    ordered = [terms[i] for i in order]
    cp = cross_products(ordered, Xc, yc)

    def objective(theta: np.ndarray) -> float:
        try:
            return deviance(gls_fit(_split(theta, ordered), cp), cp.n, reml)
        except (linalg.LinAlgError, np.linalg.LinAlgError):
            return np.inf  # rounding broke positive definiteness: reject theta

    start = np.concatenate([t.start() for t in ordered])
    lower = np.concatenate([t.lower_bounds() for t in ordered])
    with single_threaded_blas():
        opt = minimise_deviance(objective, start.size, start, lower)
    return _assemble(frame, outcome, formula, names, ordered, opt, cp, means, reml, notes)


def _centred(X: np.ndarray, y: np.ndarray, names) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Centre ``y`` and the non-intercept columns when there is an intercept column."""
    if "Intercept" not in names:
        return X, y, None
    i = names.index("Intercept")
    xbar = X.mean(axis=0)
    xbar[i] = 0.0
    return X - xbar, y - y.mean(), (i, xbar, float(y.mean()))


def _uncentred(beta, cov, means) -> tuple[np.ndarray, np.ndarray]:
    """Map centred-fit estimates back: ``Intercept = b0 + ybar - xbar'b``."""
    if means is None:
        return beta, cov
    i, xbar, ybar = means
    A = np.eye(beta.size)
    A[i] -= xbar
    shift = np.zeros(beta.size)
    shift[i] = ybar
    return A @ beta + shift, A @ cov @ A.T


def _assemble(frame, outcome, formula, names, terms, opt, cp, means, reml, notes):
    Ts = _split(opt.theta, terms)
    fit = gls_fit(Ts, cp)
    n, p = cp.n, fit.beta.size
    sigma2 = fit.r2 / (n - p if reml else n)
    beta, cov = _uncentred(fit.beta, sigma2 * linalg.inv(fit.xtvx), means)
    index = pd.Index(names)
    blups = np.split(conditional_modes(fit, cp),
                     np.cumsum([g * q for g, q in cp.shapes])[:-1])
    modes, covs, thetas = {}, {}, {}
    at = 0
    for t, T, b in zip(terms, Ts, blups, strict=True):
        modes[t.label] = pd.DataFrame(b.reshape(t.n_levels, t.p), columns=list(t.names),
                                      index=pd.Index(t.levels, name=t.group))
        covs[t.label] = pd.DataFrame(sigma2 * T @ T.T, index=list(t.names),
                                     columns=list(t.names))
        thetas[t.label] = tuple(map(float, opt.theta[at:at + t.n_theta]))
        at += t.n_theta
    user = sorted(terms, key=lambda t: t.position)
    labels = tuple(t.label for t in user)
    loglik = -opt.value / 2
    n_par = p + opt.theta.size + 1
    method = "REML" if reml else "ML"
    singular = [t.label for t, T in zip(terms, Ts, strict=True)
                if np.abs(np.diag(T)).min() < SINGULAR_THETA]
    extra = {"method": method, "converged": opt.converged, "singular": bool(singular),
             **{f"var_{t.label}": float(covs[t.label].iloc[0, 0]) for t in user},
             "var_residual": float(sigma2),
             **{f"n_levels_{t.label}": t.n_levels for t in user}}
    return MixedResult(
        params=pd.Series(beta, index=index), cov=pd.DataFrame(cov, index=index, columns=index),
        vcov="iid", df_inference=None, estimator=f"linear mixed model ({method})",
        outcome=outcome, nobs=n, formula=formula,
        n_units=user[0].n_levels,
        fit={"loglik": loglik, "aic": -2 * loglik + 2 * n_par,
             "bic": float(-2 * loglik + np.log(n) * n_par), "sigma": float(np.sqrt(sigma2))},
        extra=extra, notes=notes + _fit_notes(terms, Ts, opt, singular),
        converged=opt.converged, optimizer=opt.optimizer, terms=labels,
        term_groups={t.label: t.group for t in terms},
        structures={t.label: t.structure for t in terms}, theta=thetas, covariances=covs,
        residual_variance=float(sigma2), modes=modes)


def _fit_notes(terms, Ts, opt: Optimum, singular) -> tuple[str, ...]:
    notes = []
    if not opt.converged:
        notes.append(f"The optimiser did not converge ({opt.optimizer}: {opt.message}); the "
                     "estimates are those of the lowest deviance found and may be unreliable.")
    for label in singular:
        t = next(t for t in terms if t.label == label)
        if t.p == 1:
            notes.append(f"The {label} variance is estimated as zero (singular fit): its "
                         "random intercepts add nothing; consider dropping the group.")
        else:
            notes.append(f"The {label} random-effect covariance is singular (singular fit: "
                         "a variance at zero or a correlation of +-1); consider a simpler "
                         "random-effect structure, e.g. re_cov='diagonal' or no slope.")
    return tuple(notes)


# ----------------------------------------------------------------------- entry point


def mixed_model(data: pd.DataFrame, formula: str, *, groups: str | Sequence[str],
                re_formula: str | None = None, vc: Mapping[str, str] | None = None,
                reml: bool = True, family: str = "gaussian",
                re_cov: Structure = "unstructured") -> Result:
    """Linear mixed model with random intercepts, random slopes and crossed groups (lme4).

    ``mixed_model(df, "Weight ~ Time", groups="Pig", re_formula="1 + Time")`` is lme4's
    ``lmer(Weight ~ Time + (1 + Time | Pig), REML = TRUE)``;
    ``mixed_model(ex, "y ~ x", groups=("receiver_id", "sender_id"))`` is
    ``lmer(y ~ x + (1 | receiver_id) + (1 | sender_id))``. Fitted by profiled REML (or
    ML) on its own sparse-aware implementation of lme4's algorithm (see the module
    notes): statsmodels' ``MixedLM`` handles crossed designs only through variance
    components nested in one all-encompassing group, which is slow for hundreds of
    senders and receivers, and its default optimiser can stop short of the optimum.

    Parameters
    ----------
    data
        One row per observation.
    formula
        Fixed effects, ``"y ~ x1 + x2 + x1:x2"`` (formulaic syntax, ``C(cat)`` for
        categories).
    groups
        One grouping column, or several crossed ones; each gets the random effects of
        ``re_formula``.
    re_formula
        The random-effect columns of each group in ``groups``: ``None`` or ``"1"`` for a
        random intercept (default), ``"1 + time"`` (or statsmodels' ``"~time"``) for a
        random intercept and slope, ``"0 + time"`` for a slope alone.
    vc
        Further random intercepts, as ``{label: column}`` (statsmodels'
        ``{label: "0 + C(column)"}`` is read too), crossed with ``groups``.
    reml
        REML (default, lme4's default) or maximum likelihood (to compare fixed effects
        by likelihood ratio).
    family
        ``"gaussian"``, or ``"binomial"`` for a 0/1 outcome: a logistic GEE with an
        exchangeable working correlation within ``groups`` (one column, intercept only)
        and robust standard errors (population-averaged log odds).
    re_cov
        ``"unstructured"`` (correlated intercept and slopes, lme4's ``|``) or
        ``"diagonal"`` (uncorrelated, lme4's ``||``).

    Returns
    -------
    MixedResult
        ``tidy(effects="fixed"|"ran_pars")``, ``variance_components()``,
        ``random_effects(term)``, ``converged``, ``optimizer``, ``singular``; notes report
        left-out rows, dropped collinear terms, non-convergence and singular fits.
        ``n_units`` counts the levels of the first group. For ``family="binomial"``, a
        :class:`GEEResult` with the same methods.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"g": np.repeat(np.arange(40), 6), "t": np.tile(np.arange(6), 40)})
    >>> df["y"] = (rng.normal(0, 1, 40)[df["g"]] + (0.5 + rng.normal(0, .3, 40)[df["g"]])
    ...            * df["t"] + rng.normal(0, .5, len(df)))
    >>> res = mixed_model(df, "y ~ t", groups="g", re_formula="1 + t")
    >>> res.converged, res.variance_components()["term"].tolist()
    (True, ['(Intercept)', 't', ''])
    """
    gs = column_names(groups, "groups")
    if not gs:
        raise SpecificationError("groups must name at least one grouping column")
    vcs = _vc_columns(vc)
    re_text = _re_text(re_formula)
    if family not in ("gaussian", "binomial"):
        raise SpecificationError(f"family must be 'gaussian' or 'binomial', got {family!r}")
    if re_cov not in ("unstructured", "diagonal"):
        raise SpecificationError(f"re_cov must be 'unstructured' or 'diagonal', got {re_cov!r}")
    if "~" not in formula:
        raise SpecificationError(f"formula {formula!r} needs an outcome: 'y ~ x1 + x2'")
    re_vars = [v for v in formula_variables(f"y__ ~ {re_text}") if v != "y__"]
    group_cols = [*gs, *vcs.values()]
    require_columns(data, tuple(group_cols), "group column")
    for name in re_vars:
        require_columns(data, (name,), f"re_formula {re_formula!r} names column")
    used = list(dict.fromkeys([*formula_variables(formula), *re_vars, *group_cols]))
    require_columns(data, tuple(used), f"formula {formula!r} names column")
    frame, notes = complete_rows(data, used)
    design = build_design(frame, formula)
    if design.n_missing:
        notes += (f"{design.n_missing:,} rows where the formula's transformations give a "
                  "missing value were left out.",)
    frame = frame.iloc[design.rows].reset_index(drop=True)
    terms = _terms(frame, gs, vcs, re_text, re_cov)
    label = _lme4_formula(formula, terms)
    if family == "binomial":
        if len(terms) > 1 or terms[0].names != ("(Intercept)",):
            raise SpecificationError("family='binomial' fits a logistic GEE: one grouping "
                                     "column with a random intercept only (no re_formula "
                                     "slopes, no vc)")
        return logistic_gee(design.y, design.X, design.names, terms[0].codes,
                            terms[0].group, outcome=design.outcome, formula=label, notes=notes)
    return fit_lmm(frame, design.y, design.X, design.names, terms, reml=reml,
                   outcome=design.outcome, formula=label, notes=notes)


def _vc_columns(vc: Mapping[str, str] | None) -> dict[str, str]:
    """``{label: column}`` from ``vc`` (plain columns or ``"0 + C(column)"``)."""
    out = {}
    for label, spec in dict(vc or {}).items():
        if not isinstance(spec, str):
            raise SpecificationError(f"vc[{label!r}] must be a column name, got {spec!r}")
        m = re.fullmatch(r"\s*0\s*\+\s*C\(\s*([^()]+?)\s*\)\s*", spec)
        out[str(label)] = m.group(1) if m else spec.strip()
    return out


def _re_text(re_formula: str | None) -> str:
    text = "1" if re_formula is None else str(re_formula).strip().lstrip("~").strip()
    if not text or "|" in text or "~" in text:
        raise SpecificationError(f"re_formula {re_formula!r} must list the random-effect "
                                 "columns, e.g. '1 + time' (the groups go in groups=)")
    return text


def _terms(frame: pd.DataFrame, gs, vcs: dict[str, str], re_text: str,
           re_cov: Structure) -> list[RandomTerm]:
    from formulaic import model_matrix

    try:
        mm = model_matrix(re_text, frame, output="pandas")
    except Exception as exc:
        raise SpecificationError(f"cannot evaluate re_formula {re_text!r}: {exc}") from None
    if len(mm) != len(frame):
        raise SpecificationError(f"re_formula {re_text!r} gives missing values")
    names = tuple("(Intercept)" if c == "Intercept" else str(c) for c in mm.columns)
    if not names:
        raise SpecificationError(f"re_formula {re_text!r} has no columns")
    values = mm.to_numpy(float)
    terms, seen = [], set()
    specs = [(g, g, names, values, re_cov) for g in gs]
    specs += [(label, col, ("(Intercept)",), np.ones((len(frame), 1)), "unstructured")
              for label, col in vcs.items()]
    for position, (label, col, nm, vals, cov) in enumerate(specs):
        while label in seen or label == "Residual":
            label = f"{label}.1"
        seen.add(label)
        codes, levels = pd.factorize(frame[col].to_numpy())
        terms.append(RandomTerm(label, col, nm, codes.astype(np.int64), pd.Index(levels),
                                vals, cov, position))
    return terms


def _lme4_formula(formula: str, terms: Sequence[RandomTerm]) -> str:
    def cols(t: RandomTerm) -> str:
        names = [("1" if n == "(Intercept)" else n) for n in t.names]
        if "1" not in names:
            names.insert(0, "0")
        return " + ".join(names)

    bars = "".join(f" + ({cols(t)} {'||' if t.structure == 'diagonal' and t.p > 1 else '|'}"
                   f" {t.group})" for t in terms)
    return formula + bars


# --------------------------------------------------------------- logistic GEE


@dataclass(frozen=True, repr=False)
class GEEResult(Result):
    """A logistic GEE: population-averaged log odds with robust standard errors and an
    exchangeable working correlation within ``groups``."""

    converged: bool = True
    optimizer: str = "statsmodels GEE (Fisher scoring)"
    groups: tuple[str, ...] = ()
    working_correlation: float = np.nan

    @property
    def singular(self) -> bool:
        return False

    def tidy(self, conf_level: float = 0.95, effects: str = "fixed") -> pd.DataFrame:
        """As :meth:`MixedResult.tidy`; ``"ran_pars"`` gives the working correlation."""
        if effects == "fixed":
            return Result.tidy(self, conf_level)
        if effects != "ran_pars":
            raise ValueError(f"effects must be 'fixed' or 'ran_pars', got {effects!r}")
        return pd.DataFrame({"effect": ["ran_pars"], "group": [self.groups[0]],
                             "term": ["working_correlation"],
                             "estimate": [self.working_correlation]})

    def variance_components(self) -> pd.DataFrame:
        """No variances in a GEE: one row with the exchangeable working correlation of the
        responses within a group in ``icc``."""
        return pd.DataFrame({"group": [self.groups[0]], "term": ["working correlation"],
                             "variance": [np.nan], "std_dev": [np.nan],
                             "icc": [self.working_correlation]})


def logistic_gee(y: np.ndarray, X: np.ndarray, names: Sequence[str], codes: np.ndarray,
                 group: str, *, outcome: str, formula: str,
                 notes: tuple[str, ...] = ()) -> GEEResult:
    """Logistic GEE (statsmodels), exchangeable within ``codes``, robust SEs."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    values = np.unique(y[~np.isnan(y)])
    if not np.isin(values, (0.0, 1.0)).all():
        raise SpecificationError(f"family='binomial' needs a 0/1 outcome; {outcome!r} has "
                                 f"values {values[:5].tolist()}")
    model = sm.GEE(y, X, groups=codes, family=sm.families.Binomial(),
                   cov_struct=sm.cov_struct.Exchangeable())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = model.fit()
    failed = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    notes += tuple(dict.fromkeys(f"statsmodels GEE did not converge: {w.message}"
                                 for w in failed))
    index = pd.Index(list(names))
    n_groups = int(np.unique(codes).size)
    return GEEResult(
        params=pd.Series(np.asarray(fit.params), index=index),
        cov=pd.DataFrame(np.asarray(fit.cov_params()), index=index, columns=index),
        vcov=Cluster(group, adjust=False), df_inference=None,
        estimator=f"logistic GEE (exchangeable within {group}, robust SEs; log odds)",
        outcome=outcome, nobs=int(y.size), formula=formula, n_units=n_groups,
        n_clusters=n_groups, notes=notes, converged=not failed, groups=(group,),
        working_correlation=float(np.ravel(model.cov_struct.dep_params)[0]),
        extra={"working_correlation": float(np.ravel(model.cov_struct.dep_params)[0]),
               "converged": not failed})


# ------------------------------------------------------------------- checks and data


def column_names(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    """A column name or sequence of names as a tuple, each named once."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) for v in names):
        raise SpecificationError(f"{what} must be column names, got {value!r}")
    if len(set(names)) != len(names):
        raise SpecificationError(f"{what} names a column twice: {list(names)}")
    return names


def complete_rows(data: pd.DataFrame, columns: list[str],
                  what: str = "rows") -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows of ``columns`` without a missing value, renumbered, and a note counting the rest."""
    frame = data[columns]
    missing = frame.isna()
    keep = ~missing.any(axis=1)
    if keep.all():
        return frame.reset_index(drop=True), ()
    which = ", ".join(f"{c} ({int(k):,})" for c, k in missing.sum().items() if k)
    note = (f"{int((~keep).sum()):,} of {len(frame):,} {what} have a missing value (by "
            f"column: {which}) and were left out.")
    return frame[keep].reset_index(drop=True), (note,)
