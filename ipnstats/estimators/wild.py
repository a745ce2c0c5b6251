"""Wild cluster bootstrap test and confidence interval for one coefficient.

:func:`wild_bootstrap` follows Stata's ``boottest`` (Roodman, MacKinnon, Nielsen &
Webb 2019, "Fast and wild") for linear models estimated by
:func:`~ipnstats.panel_regression`.

Notes
-----
Conventions:

- **Model.** The bootstrap works on the estimator's transformed regression
  ``y = X b + u`` (``X`` within-demeaned for absorbed fixed effects, quasi-demeaned
  with theta held fixed for random effects, differenced or averaged otherwise).
  Absorbed fixed effects nested in the clusters drop out of the bootstrap
  (Frisch-Waugh-Lovell). Those not nested (year effects with firm clusters) are
  projected out of every bootstrap sample, as ``boottest`` does: each cluster's
  score gains ``- sum_g v_g (X_h w)' P_D(u 1_g)``, computed once per cluster pair.
- **WCR** (``impose_null=True``, default): ``y* = X b_r + v_g u_r`` with ``b_r`` the
  least-squares fit under ``b_term = h0`` and ``u_r`` its residuals; the bootstrap t
  is ``(b*_term - h0) / se*``. **WCU**: ``y* = X b + v_g u`` and
  ``t* = (b*_term - b_term) / se*``.
- **Statistic.** ``t = (b_term - h0) / se`` with the one-way cluster-robust ``se`` of
  ``Cluster(cluster)`` (Stata factor ``G/(G-1) (n-1)/(n-K)``); each ``se*`` carries the
  same factor, which therefore cancels in the p-value.
- **p-value** (symmetric, two-tailed): the share of draws with ``|t*| > |t|``, as
  ``boottest`` (``WildBootTests.jl``), ``fwildclusterboot`` and ``wildboottest``
  count. Draws tying ``|t|`` up to rounding (``1e-9``, relative and absolute) are not
  counted: under full enumeration the all-ones and all-minus-ones weight vectors
  reproduce ``|t|`` exactly (WCR) or give ``t* = 0`` (WCU).
- **Weights.** ``"rademacher"`` (+-1), ``"webb"`` (+-sqrt(3/2), +-1, +-sqrt(1/2),
  Webb 2014) and ``"mammen"`` (two-point, skewed). With Rademacher weights and
  ``2**G <= reps`` (Webb: ``6**G <= reps``) every weight vector is used exactly once
  (full enumeration): the p-value is exact and does not depend on the seed.
- **Confidence interval** by test inversion: the ``h0`` values where the bootstrap
  p-value falls to ``1 - conf_level``, found by bisection on each side of the estimate
  with the same weight draws for every ``h0``. Values with ``p > 1 - conf_level`` are
  in the interval.
- **Speed.** Everything the bootstrap needs is reduced to per-cluster sums (the
  "fast" algorithm): ``c_g = w' X_g' u`` and ``H_hg = (X_h w)' X_h (X'X)^-1 X_g' u``
  with ``w = (X'X)^-1 e_term``. A draw then costs ``O(G^2)``, not ``O(n k)``. Under WCR
  the restricted residuals are linear in ``h0``, so the bootstrap numerator is linear
  and the squared standard error quadratic in ``d = b_term - h0``; five numbers per
  draw give the bootstrap t at any ``h0``, which makes test inversion cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.demean import demean
from ipnstats.core.deprecation import renamed, renamed_classes
from ipnstats.core.errors import EstimationError
from ipnstats.core.formula import SpecificationError
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.estimators.did.bootstrap import mammen
from ipnstats.estimators.linear import LinearEngine
from ipnstats.inference.sandwich import cluster_sums, nested_in
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import check_conf_level
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, require_cr1

Weights = Literal["rademacher", "webb", "mammen"]
WEIGHTS = ("rademacher", "webb", "mammen")
_TABLES = {"rademacher": np.array([-1.0, 1.0]),
           "webb": np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])}
CHUNK_ELEMENTS = 1 << 20  # draws x clusters per block, bounds memory
TIE_TOL = 1e-9  # |t*| within this (relative and absolute) of |t| is a tie
FEW_CLUSTERS_RADEMACHER = 12


@dataclass(frozen=True, slots=True, repr=False)
class WildBootstrapResult(TidyDisplay):
    """A wild cluster bootstrap test of ``term = h0`` and its confidence interval.

    Attributes
    ----------
    term, estimate, std_error
        The coefficient, its estimate and its analytic cluster-robust standard error.
    h0
        The null value tested.
    statistic
        The cluster-robust t statistic ``(estimate - h0) / std_error``.
    p_value
        Symmetric bootstrap p-value: the share of draws with ``|t*| > |t|``.
    conf_low, conf_high, conf_level
        Confidence interval by test inversion (NaN when not requested; infinite when
        the p-value never falls to ``1 - conf_level`` on that side).
    weights, reps, enumerated
        Weight distribution, number of draws used (``2**G`` or ``6**G`` under full
        enumeration) and whether every weight vector was used once.
    impose_null
        WCR (True) or WCU (False).
    cluster, n_clusters, seed
        Cluster column, number of clusters, and the seed (None for a Generator).
    notes
        Warnings (few clusters, enumeration, coarse p-values, unbounded interval).
    """

    term: str
    estimate: float
    std_error: float
    h0: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    conf_level: float
    weights: str
    reps: int
    enumerated: bool
    impose_null: bool
    cluster: str
    n_clusters: int
    seed: int | None
    notes: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """``"WCR"`` (null imposed) or ``"WCU"``."""
        return "WCR" if self.impose_null else "WCU"

    def tidy(self) -> pd.DataFrame:
        """One row: the tidy columns, then h0, method, weights, reps, enumerated, ..."""
        return pd.DataFrame([{
            "term": self.term, "estimate": self.estimate, "std_error": self.std_error,
            "statistic": self.statistic, "p_value": self.p_value, "conf_low": self.conf_low,
            "conf_high": self.conf_high, "h0": self.h0, "method": self.method,
            "weights": self.weights, "reps": self.reps, "enumerated": self.enumerated,
            "cluster": self.cluster, "n_clusters": self.n_clusters,
            "conf_level": self.conf_level, "seed": self.seed,
        }])

    def summary(self) -> str:
        """A one-line result, then the notes."""
        draws = f"all {self.reps:,} weight vectors" if self.enumerated else f"{self.reps:,} draws"
        line = (f"Wild cluster bootstrap ({self.method}, {self.weights} weights, {draws}, "
                f"{self.n_clusters} clusters in {self.cluster!r}): {self.term} = {self.h0:g}: "
                f"t = {self.statistic:.4f}, p = {self.p_value:.4f}")
        if not np.isnan(self.conf_low):
            line += (f"; {self.conf_level:.0%} CI [{self.conf_low:.6g}, "
                     f"{self.conf_high:.6g}]")
        return "\n".join((line,) + tuple(f"Note: {n}" for n in self.notes))

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, slots=True)
class _Problem:
    """Per-cluster pieces of the bootstrap t (see the module notes)."""

    estimate: float
    se: float
    factor: float
    c0: np.ndarray
    c1: np.ndarray
    H0: _LowRank
    H1: _LowRank


@dataclass(frozen=True, slots=True)
class _LowRank:
    """A G x G matrix ``left @ right.T``; ``right=None`` when stored in full as ``left``."""

    left: np.ndarray
    right: np.ndarray | None = None

    def times_transposed(self, V: np.ndarray) -> np.ndarray:
        """``V @ H.T`` in ``O(draws G r)`` operations."""
        if self.right is None:
            return V @ self.left.T
        return (V @ self.right) @ self.left.T


def _low_rank(pairs: list[tuple[np.ndarray, np.ndarray]], scale: float = 1.0) -> _LowRank:
    """The sum of ``left @ right.T`` over pairs, kept factored while the rank is below G."""
    left = np.hstack([a for a, _ in pairs]) * scale
    right = np.hstack([b for _, b in pairs])
    if left.shape[1] >= left.shape[0]:
        return _LowRank(left @ right.T)
    return _LowRank(left, right)


@dataclass(frozen=True, slots=True)
class _Pieces:
    """Per draw: t*(d) = (n0 + d n1) / sqrt(factor (q0 + 2 d q1 + d^2 q2))."""

    n0: np.ndarray
    n1: np.ndarray | float
    q0: np.ndarray
    q1: np.ndarray | float
    q2: np.ndarray | float


@renamed(reps="n_boot")
def wild_bootstrap(result: Result, term: str, *, cluster: str | Cluster, h0: float = 0.0,
                   weights: Weights = "rademacher", n_boot: int = 9999, impose_null: bool = True,
                   conf_level: float = 0.95, ci: bool = True,
                   seed: Seed = 0) -> WildBootstrapResult:
    """Wild cluster bootstrap test of ``term = h0``, with a test-inversion interval.

    Parameters
    ----------
    result
        A linear :class:`~ipnstats.Result` from :func:`~ipnstats.panel_regression`.
    term
        The coefficient tested (a name in ``result.params``).
    cluster
        The cluster column (or a one-column :class:`~ipnstats.Cluster`).
    h0
        The null value.
    weights
        ``"rademacher"``, ``"webb"`` (recommended with fewer than about 12 clusters)
        or ``"mammen"``.
    n_boot
        Number of draws (formerly ``reps=``); with Rademacher weights and
        ``2**G <= n_boot`` (Webb:
        ``6**G``) every weight vector is used once instead.
    impose_null
        Restricted (WCR, default, as ``boottest``) or unrestricted (WCU) bootstrap.
    conf_level, ci
        Level of the confidence interval, and whether to compute it.
    seed
        An int or a numpy Generator.

    Returns
    -------
    WildBootstrapResult

    Examples
    --------
    >>> import ipnstats
    >>> res = ipnstats.panel_regression(fy, "log_revenue ~ member", unit="firm_id",
    ...                                 time="year")  # doctest: +SKIP
    >>> ipnstats.wild_bootstrap(res, "member", cluster="firm_id",
    ...                         weights="webb")  # doctest: +SKIP
    """
    engine, j = _check_model(result, term)
    column = _cluster_column(cluster)
    _check_options(weights, n_boot)
    level, h0 = check_conf_level(conf_level), float(h0)
    codes, n_clusters = _cluster_codes(engine, column)
    prob = _problem(engine, j, codes, n_clusters, column, float(result.params.iloc[j]))
    n_draws, enumerated = _draw_plan(weights, n_clusters, int(n_boot))
    rng = as_generator(seed)
    chunks = _weight_chunks(weights, n_clusters, n_draws, enumerated, rng)
    pieces = _pieces(prob, chunks, impose_null)
    p_at = _p_function(pieces, prob)
    bounds = _interval(p_at, prob, pieces, 1 - level) if ci else (np.nan, np.nan)
    notes = _notes(weights, n_clusters, n_draws, enumerated, level, ci, bounds)
    return WildBootstrapResult(
        term=term, estimate=prob.estimate, std_error=prob.se, h0=h0,
        statistic=(prob.estimate - h0) / prob.se, p_value=float(p_at(np.array([h0]))[0]),
        conf_low=float(bounds[0]), conf_high=float(bounds[1]), conf_level=level,
        weights=weights, reps=n_draws, enumerated=enumerated, impose_null=bool(impose_null),
        cluster=column, n_clusters=n_clusters, seed=recorded_seed(seed),
        notes=notes)


# --- checks at the boundary -------------------------------------------------------------

def _check_model(result, term: str) -> tuple[LinearEngine, int]:
    engine = getattr(result, "engine", None)
    if not isinstance(engine, LinearEngine):
        raise SpecificationError(
            f"wild_bootstrap needs a linear model from panel_regression; this "
            f"{type(result).__name__} ({getattr(result, 'estimator', '?')}) has no linear "
            "design to resample")
    if engine.weights is not None:
        weights = result.extra.get("weights", "weights")
        raise SpecificationError(
            f"wild_bootstrap is not available for weighted fits ({weights}): pyfixest "
            "refuses weights and wildboottest ignores them, so no reference checks a "
            "weighted bootstrap; refit without weights, or use Cluster(...) standard errors")
    if engine.df_resid() <= 0:
        raise EstimationError(
            f"wild_bootstrap needs residual degrees of freedom; this model has none "
            f"({engine.nobs:,} observations, {engine.X.shape[1] + engine.absorbed_df:,} "
            "parameters with the fixed effects): it fits every observation")
    names = list(result.params.index)
    if term not in names:
        dropped = " (it was dropped as collinear)" if term in result.collinear else ""
        raise SpecificationError(f"unknown term {term!r}{dropped}; the model has {names}")
    return engine, names.index(term)


def _cluster_column(cluster: str | Cluster) -> str:
    if isinstance(cluster, Cluster):
        require_cr1(cluster, "the wild cluster bootstrap (it resamples; CR2 is analytic)")
        if len(cluster.columns) != 1:
            raise SpecificationError(
                f"the wild cluster bootstrap takes one cluster column, got "
                f"{cluster.columns}; two-way clustering is not supported (bootstrap by the "
                "dimension with fewer clusters)")
        return cluster.columns[0]
    if not isinstance(cluster, str):
        raise SpecificationError(f"cluster must be a column name or Cluster(...), got "
                                 f"{cluster!r}")
    return cluster


def _cluster_codes(engine: LinearEngine, column: str) -> tuple[np.ndarray, int]:
    codes = engine.cluster_codes(column)
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        raise SpecificationError(f"the wild cluster bootstrap needs at least 2 clusters; "
                                 f"{column!r} has {n_clusters} among the estimation rows")
    return codes, n_clusters


def _check_options(weights: str, reps: int) -> None:
    if weights not in WEIGHTS:
        raise SpecificationError(f"weights must be one of {', '.join(map(repr, WEIGHTS))}; "
                                 f"got {weights!r}")
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 1:
        raise SpecificationError(f"n_boot must be a positive integer (e.g. 9999); got {reps!r}")


# --- the fast algorithm -----------------------------------------------------------------

def _problem(engine: LinearEngine, j: int, codes: np.ndarray, n_clusters: int,
             column: str, estimate: float) -> _Problem:
    """Cluster sums behind the bootstrap t, and the analytic standard error."""
    X, u, bread = engine.X, engine.resid, engine.bread
    w, b_jj = bread[:, j], bread[j, j]
    xw = X @ w
    k = X.shape[1]
    sums = cluster_sums(np.hstack([X * u[:, None], X * xw[:, None]]), codes, n_clusters)
    S0, R = sums[:, :k], sums[:, k:]
    RB = R @ bread
    F0, F1 = _fixed_effect_terms(engine, codes, n_clusters, xw)
    c0 = S0 @ w
    var_adjusted = engine.compute(Cluster(column)).cov[j, j]
    return _Problem(estimate=estimate, se=float(np.sqrt(var_adjusted)),
                    factor=float(var_adjusted / (c0 @ c0)), c0=c0, c1=R @ w / b_jj,
                    H0=_low_rank([(RB, S0)] + F0), H1=_low_rank([(RB, R)] + F1, 1 / b_jj))


def _fixed_effect_terms(engine: LinearEngine, codes: np.ndarray, n_clusters: int,
                        xw: np.ndarray) -> tuple[list, list]:
    """``F_hg = (X_h w)' P_D(e 1_g)`` for ``e = u`` and ``e = X w``, as factor pairs.

    Fixed effects nested in the clusters contribute nothing (``u`` is orthogonal to
    them). The others are handled through their dummies, partialled on the nested
    ones, when they have fewer levels than there are clusters; otherwise each
    ``X_h w`` is projected on all fixed effects by the within transformation.
    """
    is_nested = [nested_in(a.codes, codes) for a in engine.absorbed]
    free = [a for a, n in zip(engine.absorbed, is_nested, strict=True) if not n]
    if not free:
        return [], []
    if sum(a.n_levels for a in free) <= n_clusters:
        nested = [a for a, n in zip(engine.absorbed, is_nested, strict=True) if n]
        return _dummy_terms(engine.resid, free, nested, codes, n_clusters, xw)
    return _within_terms(engine.resid, engine.absorbed, codes, n_clusters, xw)


def _dummy_terms(u, free, nested, codes, n_clusters, xw) -> tuple[list, list]:
    """``P_D(e 1_g) = P_M(e 1_g)`` with ``M`` the free dummies net of the nested effects."""
    M = np.column_stack([np.eye(a.n_levels)[a.codes] for a in free])
    if nested:
        M = demean(M, [(a.codes, a.n_levels) for a in nested])[0]
    inv = np.linalg.pinv(M.T @ M)
    sums = cluster_sums(np.hstack([M * xw[:, None], M * u[:, None]]), codes, n_clusters)
    Lx, Lu = sums[:, :M.shape[1]], sums[:, M.shape[1]:]
    return [(Lx @ inv, Lu)], [(Lx @ inv, Lx)]


def _within_terms(u, absorbed, codes, n_clusters, xw) -> tuple[list, list]:
    """``F_hg = (P_D(X_h w))' (e 1_g)``, one within transformation per cluster."""
    own = np.zeros((xw.size, n_clusters))
    own[np.arange(xw.size), codes] = xw
    Q = own - demean(own, [(a.codes, a.n_levels) for a in absorbed])[0]
    sums = cluster_sums(np.hstack([Q * u[:, None], Q * xw[:, None]]), codes, n_clusters)
    eye = np.eye(n_clusters)
    return [(sums[:, :n_clusters].T, eye)], [(sums[:, n_clusters:].T, eye)]


def _pieces(prob: _Problem, chunks: Iterator[np.ndarray], impose_null: bool) -> _Pieces:
    """Numerators and squared-SE coefficients of every draw, block by block."""
    parts = [_block(V, prob, impose_null) for V in chunks]
    n0, n1, q0, q1, q2 = (np.concatenate([p[i] for p in parts]) for i in range(5))
    if not impose_null:
        return _Pieces(n0, 0.0, q0, 0.0, 0.0)
    return _Pieces(n0, n1, q0, q1, q2)


def _block(V: np.ndarray, prob: _Problem, impose_null: bool) -> tuple[np.ndarray, ...]:
    """For draws V (draws x G): ``Z_h = v_h c_h - (V H')_h`` is term j's cluster score."""
    A = V * prob.c0 - prob.H0.times_transposed(V)
    q0 = np.einsum("ij,ij->i", A, A)
    if not impose_null:
        empty = np.empty(0)
        return V @ prob.c0, empty, q0, empty, empty
    C = V * prob.c1 - prob.H1.times_transposed(V)
    return (V @ prob.c0, V @ prob.c1, q0, np.einsum("ij,ij->i", A, C),
            np.einsum("ij,ij->i", C, C))


def _boot_t(pieces: _Pieces, d: np.ndarray, factor: float) -> np.ndarray:
    """Bootstrap t statistics (len(d) x draws) at ``d = estimate - h0``."""
    d = d[:, None]
    numer = pieces.n0 + d * pieces.n1
    var = np.clip(pieces.q0 + 2 * d * pieces.q1 + d * d * pieces.q2, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        return numer / np.sqrt(factor * var)


def _p_function(pieces: _Pieces, prob: _Problem) -> Callable[[np.ndarray], np.ndarray]:
    """``p(h0s)``: symmetric bootstrap p-values at an array of null values."""
    n = pieces.n0.size
    step = max(1, CHUNK_ELEMENTS // 2)

    def p_at(h: np.ndarray) -> np.ndarray:
        d = prob.estimate - np.asarray(h, float)
        limit = (np.abs(d) / prob.se * (1 + TIE_TOL) + TIE_TOL)[:, None]
        count = np.zeros(d.size)
        for s in range(0, n, step):
            part = _Pieces(*(x if np.isscalar(x) else x[s:s + step] for x in (
                pieces.n0, pieces.n1, pieces.q0, pieces.q1, pieces.q2)))
            count += (np.abs(_boot_t(part, d, prob.factor)) > limit).sum(axis=1)
        return count / n

    return p_at


# --- weights ----------------------------------------------------------------------------

def _draw_plan(weights: str, n_clusters: int, reps: int) -> tuple[int, bool]:
    """Number of draws and whether it is a full enumeration."""
    size = {"rademacher": 2, "webb": 6}.get(weights)
    if size is not None and n_clusters * np.log(size) <= np.log(reps) + 1e-12:
        return size**n_clusters, True
    return reps, False


def _weight_chunks(weights: str, n_clusters: int, n_draws: int, enumerated: bool,
                   rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of weight vectors (rows), every vector once under enumeration."""
    rows = max(1, CHUNK_ELEMENTS // n_clusters)
    for start in range(0, n_draws, rows):
        stop = min(start + rows, n_draws)
        if enumerated:
            yield _enumerate(_TABLES[weights], n_clusters, start, stop)
        else:
            yield _draw(weights, rng, (stop - start, n_clusters))


def _enumerate(values: np.ndarray, n_clusters: int, start: int, stop: int) -> np.ndarray:
    """Weight vectors number ``start..stop-1`` of all ``len(values)**G``, as digits."""
    m = values.size
    index = np.arange(start, stop, dtype=np.int64)[:, None]
    return values[(index // m ** np.arange(n_clusters, dtype=np.int64)) % m]


def _draw(weights: str, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    if weights == "mammen":
        return mammen(rng, shape)
    table = _TABLES[weights]
    return table[rng.integers(0, table.size, size=shape)]


# --- confidence interval ----------------------------------------------------------------

def _interval(p_at: Callable, prob: _Problem, pieces: _Pieces,
              alpha: float) -> tuple[float, float]:
    """Lower and upper ``h0`` where the p-value falls to ``alpha``, by bisection."""
    if p_at(np.array([prob.estimate]))[0] <= alpha:
        return np.nan, np.nan
    t_wcu = np.abs(_boot_t(_Pieces(pieces.n0, 0.0, pieces.q0, 0.0, 0.0), np.zeros(1),
                           prob.factor)[0])
    half = max(float(np.nanquantile(t_wcu, 1 - alpha)), 1.0) * prob.se
    sign = np.array([-1.0, 1.0])
    inner = np.full(2, prob.estimate)
    outer = _bracket(p_at, prob.estimate, sign * half, alpha)
    return tuple(_bisect(p_at, inner, outer, alpha, 1e-10 * prob.se))


def _bracket(p_at: Callable, centre: float, offset: np.ndarray, alpha: float) -> np.ndarray:
    """Points on each side where the p-value is at most alpha (infinite if none)."""
    outer = centre + offset
    for _ in range(40):
        accepted = p_at(outer) > alpha
        if not accepted.any():
            return outer
        offset = np.where(accepted, 2 * offset, offset)
        outer = centre + offset
    return np.where(p_at(outer) > alpha, np.sign(offset) * np.inf, outer)


def _bisect(p_at: Callable, inner: np.ndarray, outer: np.ndarray, alpha: float,
            tol: float) -> np.ndarray:
    """Shrink [inner, outer] (accepted, rejected) to the crossing, both sides at once."""
    finite = np.isfinite(outer)
    for _ in range(200):
        if not finite.any() or np.max(np.abs(outer - inner)[finite]) <= tol:
            break
        mid = np.where(finite, (inner + outer) / 2, inner)
        rejected = p_at(mid) <= alpha
        outer = np.where(finite & rejected, mid, outer)
        inner = np.where(finite & ~rejected, mid, inner)
    return np.where(finite, (inner + outer) / 2, outer)


def _notes(weights: str, n_clusters: int, n_draws: int, enumerated: bool, level: float,
           ci: bool, bounds: tuple[float, float]) -> tuple[str, ...]:
    notes = []
    if weights == "rademacher" and n_clusters < FEW_CLUSTERS_RADEMACHER:
        notes.append(Note("few_clusters",
            f"Only {n_clusters} clusters: Rademacher weights give at most "
            f"2^{n_clusters} = {2**n_clusters:,} distinct bootstrap samples; "
            "weights='webb' is recommended with fewer than about 12 clusters "
            "(Webb 2014)."))
    if enumerated:
        notes.append(Note("enumerated",
            f"Full enumeration: each of the {n_draws:,} possible weight vectors was "
            "used once, so the p-value is exact and does not depend on the seed."))
    if ci and n_draws * (1 - level) < 1:
        notes.append(Note("few_draws",
            f"{n_draws:,} bootstrap samples cannot resolve a {level:.0%} interval "
            f"(at least {int(np.ceil(1 / (1 - level))):,} are needed)."))
    if ci and np.isinf(bounds).any():
        notes.append(Note("unbounded_interval",
            "The bootstrap p-value does not fall to "
            f"{1 - level:.2g} on one side: the interval is unbounded there."))
    return tuple(notes)


__all__ = ["WildBootstrapResult", "wild_bootstrap"]

__getattr__ = renamed_classes(__name__, globals(), {"WildBootstrap": "WildBootstrapResult"})
