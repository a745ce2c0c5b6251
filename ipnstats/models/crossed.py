"""Linear mixed models with crossed (or nested) random intercepts, fitted as lme4 does.

``crossed_effects`` fits ``y = X beta + Z b + e``: an intercept and numeric fixed
effects ``X``, one random intercept per level of each grouping column (receivers and
senders, say), ``b_k ~ N(0, sigma_k^2 I)``, ``e ~ N(0, sigma^2 I)``.

Notes
-----
The fit follows Bates, Mächler, Bolker & Walker (2015, J Stat Softw 67(1), section 3):

- ``theta_k = sigma_k / sigma``; ``Lambda`` is diagonal (``theta_k`` repeated over the
  levels of factor k) and ``b = Lambda u``. Penalised least squares with
  ``M = Lambda'Z'Z Lambda + I`` gives ``beta``, the conditional modes and the penalised
  residual sum of squares ``r^2``; ``X'V^-1X = X'X - X'Z Lambda M^-1 Lambda'Z'X``
  (Woodbury, ``V = Z Lambda Lambda'Z' + I``).
- Profiled deviance (ML) ``log|M| + n (1 + log(2 pi r^2 / n))``; the REML criterion
  adds ``log|X'V^-1X|`` and puts ``n - p`` for ``n``. ``sigma^2 = r^2 / (n - p)``
  (REML) or ``r^2 / n`` (ML). ``cov(beta) = sigma^2 (X'V^-1X)^-1`` (lme4's ``vcov``);
  inference is Wald z (``df_inference=None``), as lme4's ``summary`` (no
  Satterthwaite or Kenward-Roger degrees of freedom).
- Each evaluation uses cross-products computed once (``Z'Z``, ``Z'X``, ``Z'y`` ...),
  so it costs ``O(q^3)`` whatever ``n``. The factor with most levels is eliminated
  first (its block of ``Z'Z`` is diagonal); only the Schur complement of the others
  gets a dense Cholesky. ``y`` and ``x`` are centred first (a reparametrisation of the
  intercept that leaves the deviance unchanged and saves digits).
- Optimiser: bounded (``theta >= 0``) L-BFGS-B from ``theta = 1`` with
  central-difference gradients. It has converged when it says so and the projected
  finite-difference gradient is below 2e-3 (lme4's ``check.conv.grad``); otherwise
  bounded Nelder-Mead runs from several starts, the lowest deviance is kept and the
  same check gives ``converged``. ``theta < 1e-4`` (lme4's ``isSingular``) is a
  singular fit.
- ``loglik`` is the REML log-likelihood (minus half lme4's "REML criterion") in REML
  fits, the log-likelihood in ML fits; AIC and BIC count the fixed effects, the
  variance components and ``sigma``, as lme4 does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from ..results.result import Result
from .formula import SpecificationError, require_columns
from .linear import independent_columns

SINGULAR_THETA = 1e-4  # lme4's isSingular tolerance
GRADIENT_TOL = 2e-3  # lme4's check.conv.grad tolerance


# ------------------------------------------------------------------------- numerics


@dataclass(frozen=True)
class CrossProducts:
    """``Z'Z`` in blocks (first factor: diagonal ``counts``; ``cross``; ``rest``), ``Z'W``
    and ``W'W`` for ``W = [X y]``: all the profiled deviance needs, computed once."""

    counts: np.ndarray
    cross: np.ndarray
    rest: np.ndarray
    ztw: np.ndarray
    wtw: np.ndarray
    sizes: tuple[int, ...]
    n: int


def cross_products(codes: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray) -> CrossProducts:
    """Cross-products of the indicator matrix of ``codes`` (0..levels-1 each) and ``[X y]``."""
    sizes = tuple(int(c.max()) + 1 for c in codes)
    n = y.size
    Z = sparse.hstack([sparse.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, g))
                       for c, g in zip(codes, sizes, strict=True)]).tocsr()
    W = np.column_stack([X, y])
    ztz = (Z.T @ Z).toarray()
    q1 = sizes[0]
    return CrossProducts(np.diag(ztz)[:q1].copy(), ztz[:q1, q1:], ztz[q1:, q1:],
                         np.asarray(Z.T @ W), W.T @ W, sizes, n)


@dataclass(frozen=True)
class PLSSystem:
    """``M = Lambda'Z'Z Lambda + I`` factored blockwise, and its log determinant."""

    lam: np.ndarray
    d1: np.ndarray
    c: np.ndarray
    chol: np.ndarray
    logdet: float

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``M^-1 rhs`` for a (q, m) right-hand side."""
        q1 = self.d1.size
        top, rest = rhs[:q1], rhs[q1:]
        if rest.shape[0]:
            rest = linalg.cho_solve((self.chol, True), rest - self.c.T @ (top / self.d1[:, None]),
                                   check_finite=False)
        return np.vstack([(top - self.c @ rest) / self.d1[:, None], rest])


def pls_system(theta: np.ndarray, cp: CrossProducts) -> PLSSystem:
    """Factor ``M`` for relative standard deviations ``theta`` (one per factor)."""
    lam = np.repeat(np.asarray(theta, float), cp.sizes)
    q1 = cp.sizes[0]
    l1, lr = lam[:q1], lam[q1:]
    d1 = l1**2 * cp.counts + 1
    c = l1[:, None] * cp.cross * lr[None, :]
    schur = lr[:, None] * cp.rest * lr[None, :] + np.eye(lr.size) - c.T @ (c / d1[:, None])
    chol = linalg.cholesky(schur, lower=True, check_finite=False) if lr.size else np.zeros((0, 0))
    logdet = float(np.log(d1).sum() + 2 * np.log(np.diag(chol)).sum())
    return PLSSystem(lam, d1, c, chol, logdet)


@dataclass(frozen=True)
class GLSFit:
    """Fixed effects and the pieces of the deviance at one ``theta``."""

    system: PLSSystem
    beta: np.ndarray
    xtvx: np.ndarray
    r2: float
    logdet_x: float


def gls_fit(theta: np.ndarray, cp: CrossProducts) -> GLSFit:
    """``beta``, ``X'V^-1X`` and the penalised residual sum of squares at ``theta``."""
    system = pls_system(theta, cp)
    lzw = system.lam[:, None] * cp.ztw
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
    """``b = Lambda M^-1 Lambda'Z'(y - X beta)``, all factors' levels stacked."""
    p = fit.beta.size
    rhs = fit.system.lam * (cp.ztw[:, p] - cp.ztw[:, :p] @ fit.beta)
    return fit.system.lam * fit.system.solve(rhs[:, None])[:, 0]


@dataclass(frozen=True)
class Optimum:
    """Where the optimiser stopped, whether it converged and how it got there."""

    theta: np.ndarray
    value: float
    converged: bool
    optimizer: str
    message: str


def projected_gradient(f: Callable[[np.ndarray], float], theta: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Finite-difference gradient of ``f`` at ``theta``, projected on ``theta >= 0``.

    One-sided at the bound, where a positive slope is no sign of a missed minimum.
    """
    g = np.empty(theta.size)
    for i in range(theta.size):
        step = np.zeros(theta.size)
        step[i] = h * max(1.0, theta[i])
        low = np.maximum(theta - step, 0.0)
        g[i] = (f(theta + step) - f(low)) / (theta[i] + step[i] - low[i])
    return np.where(theta < h, np.minimum(g, 0.0), g)


def _checked(f, run) -> bool:
    """The optimiser's own verdict, confirmed by a small projected gradient (lme4's check)."""
    return bool(run.success and np.isfinite(run.fun)
                and np.abs(projected_gradient(f, run.x)).max() < GRADIENT_TOL)


def minimise_deviance(objective: Callable[[np.ndarray], float], k: int) -> Optimum:
    """Bounded L-BFGS-B from ``theta = 1``; Nelder-Mead from several starts if it fails."""
    def safe(theta: np.ndarray) -> float:
        value = objective(theta)
        return value if np.isfinite(value) else np.inf

    bounds = [(0.0, None)] * k
    with np.errstate(invalid="ignore"):  # differences of infinite deviances
        first = optimize.minimize(safe, np.ones(k), method="L-BFGS-B", jac="3-point",
                                  bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-6,
                                                          "maxiter": 1000})
    if _checked(safe, first):
        return Optimum(first.x, float(first.fun), True, "L-BFGS-B", str(first.message))
    runs = [("L-BFGS-B", first)]
    for start in (np.ones(k), np.full(k, 0.1), np.full(k, 3.0), first.x):
        run = optimize.minimize(safe, start, method="Nelder-Mead", bounds=bounds,
                                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000 * k})
        runs.append(("Nelder-Mead", run))
    name, best = min(runs, key=lambda r: r[1].fun)
    label = f"{name} (after L-BFGS-B did not converge)" if name != "L-BFGS-B" else name
    return Optimum(best.x, float(best.fun), _checked(safe, best), label, str(best.message))


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class MixedResult(Result):
    """A linear mixed model: fixed effects, variance components, conditional modes.

    ``theta`` are the relative standard deviations ``sigma_k / sigma``; ``variances``
    the variances of each group's random intercepts and of the residual
    (``"Residual"``); ``modes`` the conditional modes of each group's levels.
    """

    converged: bool = True
    optimizer: str = ""
    groups: tuple[str, ...] = ()
    theta: Mapping[str, float] = field(default_factory=dict)
    variances: Mapping[str, float] = field(default_factory=dict)
    modes: Mapping[str, pd.Series] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        for name in ("theta", "variances", "modes"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def variance_components(self) -> pd.DataFrame:
        """group, term, variance, std_dev, icc (share of the total variance), Residual last."""
        var = pd.Series(dict(self.variances), dtype=float)
        total = var.sum()
        return pd.DataFrame({
            "group": var.index, "term": ["(Intercept)"] * len(self.groups) + [""],
            "variance": var.to_numpy(), "std_dev": np.sqrt(var.to_numpy()),
            "icc": (var / total).to_numpy() if total > 0 else np.nan,
        })

    def random_effects(self, group: str) -> pd.Series:
        """Conditional modes (BLUPs) of the random intercepts of ``group``, by level."""
        if group not in self.modes:
            raise ValueError(f"{group!r} is not a grouping factor of this model; it has "
                             f"{list(self.groups)}")
        return self.modes[group].copy()


# ----------------------------------------------------------------------- entry point


def crossed_effects(data: pd.DataFrame, *, y: str, x: Sequence[str] = (),
                    groups: str | Sequence[str], reml: bool = True) -> MixedResult:
    """Linear mixed model with random intercepts for crossed or nested groups (lme4).

    The model of ``lmer(y ~ 1 + x1 + ... + (1 | g1) + (1 | g2) + ...)``, fitted by
    profiled REML (or ML) as lme4 does; see the module notes.

    Parameters
    ----------
    data
        One row per observation.
    y
        Numeric outcome column.
    x
        Numeric columns with fixed effects besides the intercept (make dummies for
        categories).
    groups
        One or several grouping columns, each with a random intercept, e.g.
        ``("receiver_id", "sender_id")``.
    reml
        REML (default, lme4's default) or maximum likelihood.

    Returns
    -------
    MixedResult
        Terms ``Intercept`` and ``x``; ``cov`` is ``sigma^2 (X'V^-1X)^-1`` and inference
        is Wald z (``df_inference=None``). ``variance_components()``,
        ``random_effects(group)``, ``converged`` and ``optimizer``; ``n_units`` counts
        the levels of the first group. Notes report left-out rows, non-convergence and
        variances estimated as zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"r": rng.integers(0, 30, 900), "s": rng.integers(0, 30, 900)})
    >>> df["y"] = (rng.normal(0, 0.5, 30)[df["r"]] + rng.normal(0, 0.8, 30)[df["s"]]
    ...            + rng.normal(size=900))
    >>> res = crossed_effects(df, y="y", groups=("r", "s"))
    >>> res.variance_components()["group"].tolist()
    ['r', 's', 'Residual']
    """
    xs, gs = column_names(x, "x"), column_names(groups, "groups")
    _check_columns(data, y, xs, gs)
    frame, notes = complete_rows(data, [y, *xs, *gs])
    codes, levels = _group_codes(frame, gs)
    X, yv, xbar, ybar = _centred(frame, y, xs)
    order = np.argsort([-len(lv) for lv in levels], kind="stable")
    cp = cross_products([codes[i] for i in order], X, yv)

    def objective(theta: np.ndarray) -> float:
        try:
            return deviance(gls_fit(theta, cp), cp.n, reml)
        except linalg.LinAlgError:  # rounding broke positive definiteness: reject theta
            return np.inf

    with _single_threaded_blas():
        opt = minimise_deviance(objective, len(gs))
    theta = np.empty(len(gs))
    theta[order] = opt.theta
    return _assemble(frame, y, xs, gs, levels, theta, opt, cp, order, (xbar, ybar), reml,
                     notes)


def _single_threaded_blas() -> contextlib.AbstractContextManager:
    """One BLAS thread while optimising: the matrices (q up to a few thousand) gain little
    from threads, and oversubscribed machines lose a lot (5-10x measured on 2 vCPUs)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only speed depends on it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _assemble(frame, y, xs, gs, levels, theta, opt, cp, order, means, reml, notes):
    fit = gls_fit(theta[order], cp)
    n, p = cp.n, fit.beta.size
    sigma2 = fit.r2 / (n - p if reml else n)
    beta, cov = _uncentred(fit.beta, sigma2 * linalg.inv(fit.xtvx), *means)
    names = pd.Index(["Intercept", *xs])
    blups = np.split(conditional_modes(fit, cp), np.cumsum(cp.sizes)[:-1])
    modes = {gs[i]: pd.Series(b, index=pd.Index(levels[i], name=gs[i]), name="mode")
             for i, b in zip(order, blups, strict=True)}
    variances = {g: float(sigma2 * t**2) for g, t in zip(gs, theta, strict=True)}
    variances["Residual"] = float(sigma2)
    loglik = -opt.value / 2
    n_par = p + len(gs) + 1
    method = "REML" if reml else "ML"
    return MixedResult(
        params=pd.Series(beta, index=names), cov=pd.DataFrame(cov, index=names, columns=names),
        vcov="iid", df_inference=None, estimator=f"linear mixed model ({method})", outcome=y,
        nobs=n, formula=f"{y} ~ {' + '.join(['1', *xs])}"
        + "".join(f" + (1 | {g})" for g in gs), n_units=len(levels[0]),
        fit={"loglik": loglik, "aic": -2 * loglik + 2 * n_par,
             "bic": float(-2 * loglik + np.log(n) * n_par), "sigma": float(np.sqrt(sigma2))},
        extra={"method": method,
               **{f"var_{g}": v for g, v in zip((*gs, "residual"), variances.values(),
                                                strict=True)},
               **{f"n_levels_{g}": len(lv) for g, lv in zip(gs, levels, strict=True)}},
        notes=notes + _fit_notes(gs, theta, opt), converged=opt.converged,
        optimizer=opt.optimizer, groups=gs, theta=dict(zip(gs, map(float, theta), strict=True)),
        variances=variances, modes=modes)


def _fit_notes(gs, theta, opt: Optimum) -> tuple[str, ...]:
    notes = []
    if not opt.converged:
        notes.append(f"The optimiser did not converge ({opt.optimizer}: {opt.message}); the "
                     "estimates are those of the lowest deviance found and may be unreliable.")
    notes += [f"The {g} variance is estimated as zero (singular fit): its random intercepts "
              "add nothing; consider dropping the group."
              for g, t in zip(gs, theta, strict=True) if t < SINGULAR_THETA]
    return tuple(notes)


# ------------------------------------------------------------------- checks and data


def column_names(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    """A column name or sequence of names as a tuple, each named once."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) for v in names):
        raise SpecificationError(f"{what} must be column names, got {value!r}")
    if len(set(names)) != len(names):
        raise SpecificationError(f"{what} names a column twice: {list(names)}")
    return names


def _check_columns(data: pd.DataFrame, y: str, xs: tuple[str, ...],
                   gs: tuple[str, ...]) -> None:
    if not gs or "Residual" in gs:
        raise SpecificationError("groups must name at least one grouping column, none of them "
                                 f"called 'Residual' (rename it); got {list(gs)}")
    used = [y, *xs, *gs]
    require_columns(data, tuple(used), "column")
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        raise SpecificationError(f"{twice} appear in more than one role (y, x, groups)")
    for col in (y, *xs):
        if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
            raise SpecificationError(f"column {col!r} is not numeric (dtype {data[col].dtype}); "
                                     "encode categories as 0/1 dummy columns")


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


def _group_codes(frame: pd.DataFrame, gs: tuple[str, ...]) -> tuple[list, list]:
    codes, levels = [], []
    for g in gs:
        c, lv = pd.factorize(frame[g].to_numpy())
        if len(lv) < 2:
            raise SpecificationError(f"group column {g!r} has {len(lv)} level(s) among the "
                                     "complete rows; a random intercept needs at least 2")
        if len(lv) >= len(frame):
            raise SpecificationError(f"group column {g!r} has a level for every row "
                                     f"({len(lv):,}): its variance cannot be told apart from "
                                     "the residual's")
        codes.append(c)
        levels.append(lv)
    return codes, levels


def _centred(frame, y, xs) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``[1, x - xbar]`` and ``y - ybar``; raises when an x is constant or collinear."""
    raw = frame[list(xs)].to_numpy(float).reshape(len(frame), len(xs))
    xbar = raw.mean(axis=0)
    X = np.column_stack([np.ones(len(frame)), raw - xbar])
    bad = [n for n, k in zip(("Intercept", *xs), independent_columns(X), strict=True) if not k]
    if bad:
        raise SpecificationError(f"x column(s) {bad} are constant or collinear with the "
                                 "intercept and the other x columns; drop them")
    if len(frame) <= X.shape[1]:
        raise SpecificationError(f"only {len(frame)} complete rows for {X.shape[1]} fixed effects")
    yv = frame[y].to_numpy(float)
    return X, yv - yv.mean(), xbar, float(yv.mean())


def _uncentred(beta, cov, xbar, ybar) -> tuple[np.ndarray, np.ndarray]:
    """Map centred-fit estimates back: ``Intercept = b0 + ybar - xbar'b``."""
    A = np.eye(beta.size)
    A[0, 1:] = -xbar
    return A @ beta + np.r_[ybar, np.zeros(beta.size - 1)], A @ cov @ A.T
