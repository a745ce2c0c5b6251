"""Simple and parallel mediation (Hayes' PROCESS model 4) with a row or cluster bootstrap.

Three least-squares equations on the same rows (rows with a missing value in any
used column are left out of all of them, and counted in the notes)::

    m_j = i_j + a_j x + covariates            (one per mediator)
    y   = i_y + c' x + sum_j b_j m_j + covariates
    y   = i_c + c x + covariates              (the total effect)

Conventions
-----------
- Terms: ``a::<m>``, ``b::<m>``, ``direct`` (c'), ``total`` (c), ``indirect::<m>``
  (a_j b_j) and, with several mediators, ``indirect::total`` (sum_j a_j b_j, which
  equals c - c' in OLS).
- Paths: OLS standard errors, iid (``s^2 (X'X)^-1``, df ``n - k`` of their own
  equation) by default; with ``cluster=`` Stata's one-way cluster-robust formula
  (``G/(G-1) (n-1)/(n-k)``) and ``t(G - 1)``. ``result.with_vcov("hc3")`` gives
  PROCESS's HC3 option without refitting. Covariances between terms of different
  equations are not estimated and are set to zero in ``cov``.
- Indirect effects: nonparametric bootstrap. With ``cluster=None`` rows are resampled;
  with a cluster column whole clusters (firms) are drawn with replacement and keep
  all their rows. Each draw is a weighted sum of per-cluster cross-products solved
  as small ``k x k`` systems. A draw whose design is singular (say a dummy constant
  in the resample) fails: it is left out, and the notes say how many failed.
- ``std_error`` of an indirect effect: the standard deviation (ddof 1) of its draws;
  ``statistic`` is estimate / that SE.
- Intervals (``ci=``): ``"percentile"`` (default; PROCESS 3 and later);
  ``"bc"``, bias-corrected, ``z0 = Phi^-1(share of draws < estimate)`` (PROCESS 2,
  pingouin); ``"bca"``, bias-corrected and accelerated (Efron 1987) with the
  acceleration from the delete-one-row jackknife, or delete-one-cluster with
  ``cluster=``. Quantiles interpolate linearly (numpy's default, R type 7).
- Bootstrap p-value: two-sided, ``min(1, 2 (min(#{draws <= 0}, #{draws >= 0}) + 1)
  / (B + 1))`` over the B successful draws (Davison & Hinkley 1997, eq. 4.11); never
  below ``2 / (B + 1)``. R ``mediation`` and pingouin use ``2 min(#>0, #<0) / B``,
  which can print 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    require_numeric_roles,
)
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.linear import LinearEngine, independent_columns, ols
from ipnstats.inference.bootstrap import (
    CHUNK_CELLS,
    bca_interval,
    bootstrap_p_value,
    cluster_moments,
    draw_counts,
    jackknife_acceleration,
    percentile_interval,
    solve_batch,
)
from ipnstats.results.inference import TIDY_COLUMNS, check_conf_level, coef_table
from ipnstats.results.notes import Note
from ipnstats.results.result import Inference, Result
from ipnstats.results.vcov import SSC, Cluster, VcovSpec, parse_ssc

CIMethod = Literal["percentile", "bc", "bca"]
_CI_METHODS = ("percentile", "bc", "bca")


# ------------------------------------------------------ bootstrap of indirect effects


def indirect_from_moments(moments: np.ndarray, n_cov: int, n_med: int) -> np.ndarray:
    """Indirect effects from stacked moment matrices of ``[1, x, covariates, m, y]``.

    Returns (n_draws, n_med), plus the total indirect effect as a last column when
    ``n_med > 1``.
    """
    r0 = np.arange(2 + n_cov)
    med = np.arange(2 + n_cov, 2 + n_cov + n_med)
    r1 = np.r_[r0, med]
    y = 2 + n_cov + n_med
    a = solve_batch(moments[:, r0][:, :, r0], moments[:, r0][:, :, med])[:, 1, :]
    b = solve_batch(moments[:, r1][:, :, r1], moments[:, r1][:, :, [y]])[:, r0.size:, 0]
    ab = a * b
    return ab if n_med == 1 else np.column_stack([ab, ab.sum(axis=1)])


def bootstrap_indirect(pieces: np.ndarray, n_cov: int, n_med: int, n_boot: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Indirect effects of ``n_boot`` resamples of the clusters behind ``pieces``."""
    n_groups, p2 = pieces.shape
    p = math.isqrt(p2)
    chunk = max(1, min(n_boot, CHUNK_CELLS // n_groups))
    draws = []
    for start in range(0, n_boot, chunk):
        counts = draw_counts(rng, n_groups, min(chunk, n_boot - start)).astype(float)
        draws.append(indirect_from_moments((counts @ pieces).reshape(-1, p, p), n_cov, n_med))
    return np.vstack(draws)


def jackknife_indirect(pieces: np.ndarray, n_cov: int, n_med: int) -> np.ndarray:
    """Indirect effects leaving out one cluster (or row) at a time: (n_groups, terms)."""
    p = math.isqrt(pieces.shape[1])
    moments = (pieces.sum(axis=0) - pieces).reshape(-1, p, p)
    return indirect_from_moments(moments, n_cov, n_med)


@dataclass(frozen=True)
class IndirectBootstrap:
    """The bootstrap distribution of the indirect effects and how to read it.

    ``draws`` is (n_boot, terms), NaN for failed draws; ``acceleration`` is zero
    unless ``method == "bca"``; ``n_clusters`` is None when rows were resampled.
    """

    terms: tuple[str, ...]
    estimates: np.ndarray
    draws: np.ndarray
    method: CIMethod
    acceleration: np.ndarray
    n_clusters: int | None = None

    @property
    def n_failed(self) -> int:
        """Draws whose resample had a singular design."""
        return int(np.isnan(self.draws).any(axis=1).sum())

    def std_errors(self) -> np.ndarray:
        """Standard deviation (ddof 1) of the successful draws."""
        return np.nanstd(self.draws, axis=0, ddof=1)

    def cov(self) -> np.ndarray:
        """Covariance of the successful draws (terms x terms)."""
        ok = ~np.isnan(self.draws).any(axis=1)
        return np.atleast_2d(np.cov(self.draws[ok], rowvar=False))

    def interval(self, conf_level: float) -> np.ndarray:
        """(terms, 2) interval by ``method``."""
        if self.method == "percentile":
            return percentile_interval(self.draws, conf_level)
        return bca_interval(self.draws, self.estimates, conf_level, self.acceleration)

    def p_values(self) -> np.ndarray:
        """Two-sided bootstrap p-values."""
        return bootstrap_p_value(self.draws)

    def table(self, conf_level: float) -> pd.DataFrame:
        """The tidy frame of the bootstrapped terms (statistic = estimate / bootstrap SE)."""
        est, se = self.estimates, self.std_errors()
        ci = self.interval(conf_level)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        return pd.DataFrame(dict(zip(TIDY_COLUMNS, (list(self.terms), est, se, stat,
                                                    self.p_values(), ci[:, 0], ci[:, 1]),
                                     strict=True)))


# ------------------------------------------------------------------ result and engine


@dataclass(frozen=True, repr=False)
class MediationResult(Result):
    """Paths, indirect effects and their bootstrap.

    ``tidy()`` reports the indirect effects with their bootstrap SE, p-value and
    interval (``bootstrap.method``); the paths with t intervals on each equation's
    degrees of freedom (``path_df``). ``conf_level`` is the level ``tidy()`` uses
    when none is given.
    """

    key_columns: tuple[str, ...] = ("path", "mediator", "equation")
    bootstrap: IndirectBootstrap | None = field(default=None, repr=False, compare=False)
    path_df: Mapping[str, float | None] = field(default_factory=dict)
    conf_level: float = 0.95

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        object.__setattr__(self, "path_df", MappingProxyType(dict(self.path_df)))

    def tidy(self, conf_level: float | None = None) -> pd.DataFrame:
        """term, estimate, std_error, statistic, p_value, conf_low, conf_high."""
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        se = self.std_errors
        rows = [coef_table(self.params[[t]], se[[t]], self.path_df.get(t), level)
                for t in self.params.index if t not in self.bootstrap.terms]
        return self._with_term_keys(pd.concat(rows + [self._indirect_table(level)],
                                              ignore_index=True))

    def _indirect_table(self, level: float) -> pd.DataFrame:
        return self.bootstrap.table(level)

    @property
    def proportion_mediated(self) -> float:
        """Total indirect effect over the total effect, ``sum_j a_j b_j / c``."""
        return float(self.params[self.bootstrap.terms[-1]] / self.params["total"])

    @property
    def indirect_draws(self) -> pd.DataFrame:
        """The bootstrap draws of the indirect effects, one row per draw (NaN where it failed)."""
        return pd.DataFrame(self.bootstrap.draws, columns=list(self.bootstrap.terms))


@dataclass(frozen=True)
class MediationEngine:
    """Covariance of the paths under a vcov choice; the indirect block stays bootstrap.

    ``equations`` are the mediator equations, the outcome equation and the total-effect
    equation; ``slots[i]`` are the columns of equation i reported at positions
    ``places[i]`` of ``params``. A vcov choice must agree with the bootstrap: iid or
    HC when rows were resampled, ``Cluster(cluster)`` when clusters were.
    """

    equations: tuple[LinearEngine, ...]
    slots: tuple[tuple[int, ...], ...]
    places: tuple[tuple[int, ...], ...]
    indirect: tuple[int, ...]
    boot_cov: np.ndarray
    cluster: str | None

    def compute(self, spec: VcovSpec) -> Inference:
        """Path covariances of ``spec``, bootstrap covariance of the indirect effects."""
        self._check(spec)
        n = sum(len(p) for p in self.places) + len(self.indirect)
        cov = np.zeros((n, n))
        infos = [eq.compute(spec) for eq in self.equations]
        for inf, slots, places in zip(infos, self.slots, self.places, strict=True):
            cov[np.ix_(places, places)] = inf.cov[np.ix_(slots, slots)]
        cov[np.ix_(self.indirect, self.indirect)] = self.boot_cov
        outcome = infos[-2]
        return Inference(cov, outcome.df, outcome.n_clusters, outcome.notes)

    def term_df(self, spec: VcovSpec, names: Sequence[str]) -> dict[str, float | None]:
        """Reference-law degrees of freedom of each path term, from its own equation."""
        out = {}
        for eq, places in zip(self.equations, self.places, strict=True):
            df = eq.compute(spec).df
            out.update({names[p]: df for p in places})
        return out

    def with_ssc(self, ssc: SSC) -> MediationEngine:
        """The same paths under other small-sample corrections."""
        return replace(self, equations=tuple(eq.with_ssc(ssc) for eq in self.equations))

    def _check(self, spec: VcovSpec) -> None:
        if self.cluster is None and isinstance(spec, Cluster):
            raise SpecificationError(
                "the indirect effects were bootstrapped by resampling rows; for clustered "
                f"path SEs refit with mediation(..., cluster={spec.columns[0]!r}) so that "
                "the bootstrap resamples clusters too")
        if self.cluster is not None and not (isinstance(spec, Cluster)
                                             and spec.columns == (self.cluster,)):
            raise SpecificationError(
                f"the indirect effects were bootstrapped by cluster ({self.cluster!r}); the "
                f"paths take only Cluster({self.cluster!r}); refit with cluster=None for "
                "iid or HC standard errors")


# ----------------------------------------------------------------------- entry point


def mediation(data: pd.DataFrame, *, x: str, m: str | Sequence[str], y: str,
              covariates: Sequence[str] = (), cluster: str | None = None,
              n_boot: int = 5000, ci: CIMethod = "percentile", conf_level: float = 0.95,
              seed: Seed = 0,
              ssc: SSC | None = None) -> MediationResult:
    """Mediation of the effect of ``x`` on ``y`` through one or several parallel mediators.

    Hayes' PROCESS model 4: ``a`` paths from ``m ~ x + covariates``, ``b`` paths and the
    direct effect c' from ``y ~ x + m + covariates``, the total effect c from
    ``y ~ x + covariates``; indirect effects ``a_j b_j`` with bootstrap inference.
    Conventions are in the module docstring and ``docs/inference.md``.

    Parameters
    ----------
    data
        One row per observation (e.g. firm-year); numeric or boolean columns.
    x, y
        The antecedent and the outcome.
    m
        One mediator, or a sequence of parallel mediators.
    covariates
        Columns entered in every equation (numeric; make dummies for categories).
    cluster
        Column whose values form clusters (e.g. ``"firm_id"``): clustered path SEs, and
        the bootstrap resamples whole clusters. None: iid SEs and a row bootstrap.
    n_boot
        Bootstrap draws.
    ci
        ``"percentile"``, ``"bc"`` (bias-corrected) or ``"bca"`` (bias-corrected and
        accelerated).
    conf_level
        Level of the intervals ``tidy()`` shows by default.
    seed
        An int or a numpy Generator; an int is recorded on the result.
    ssc
        Small-sample corrections of the path SEs (:class:`ipnstats.SSC`); None:
        ``SSC()``. ``result.with_vcov(spec, ssc=...)`` re-chooses them.

    Returns
    -------
    MediationResult
        Terms ``a::<m>``, ``b::<m>``, ``direct``, ``total``, ``indirect::<m>`` (and
        ``indirect::total``); ``proportion_mediated``; ``indirect_draws``. ``fit``
        (R², sigma, ... in ``glance()``) describes the outcome equation.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.normal(size=200)})
    >>> df["m"] = 0.5 * df["x"] + rng.normal(size=200)
    >>> df["y"] = 0.4 * df["m"] + 0.2 * df["x"] + rng.normal(size=200)
    >>> res = mediation(df, x="x", m="m", y="y", n_boot=1000)
    >>> res.tidy().set_index("term").loc["indirect::m", "estimate"].round(3)
    np.float64(0.093)
    """
    mediators = column_names(m, "m")
    covs = column_names(covariates, "covariates")
    _check_options(data, x, mediators, y, covs, cluster, n_boot, ci)
    level = check_conf_level(conf_level)
    frame, notes = _complete_rows(data, [x, *mediators, y, *covs, *([cluster] if cluster else [])])
    kept, collinear_notes = _independent_covariates(frame, x, mediators, y, covs)
    paths = _fit_paths(frame, x, mediators, y, kept, parse_ssc(ssc, SSC()))
    rng = as_generator(seed)
    boot = _bootstrap(frame, x, mediators, y, kept, cluster, n_boot, ci, rng, paths.indirect)
    result = _assemble(paths, boot, cluster, y, len(frame), level)
    formula = (f"{', '.join(mediators)} ~ {x}{''.join(f' + {c}' for c in kept)}; "
               f"{y} ~ {x} + {' + '.join(mediators)}{''.join(f' + {c}' for c in kept)}")
    return replace(result, formula=formula, estimator=_label(mediators),
                   extra=dict(result.extra, mediators=", ".join(mediators)),
                   collinear=tuple(c for c in covs if c not in kept),
                   notes=notes + collinear_notes + _failure_notes(boot, n_boot),
                   seed=recorded_seed(seed), n_boot=n_boot)


def _assemble(paths: _Paths, boot: IndirectBootstrap, cluster: str | None, y: str, nobs: int,
              level: float) -> MediationResult:
    """The result of fitted paths and their bootstrap, inference as fitted."""
    engine = paths.engine(boot, cluster)
    spec: VcovSpec = "iid" if cluster is None else Cluster(cluster)
    inf = engine.compute(spec)
    index = pd.Index(paths.terms)
    return MediationResult(
        params=pd.Series(paths.estimates, index=index),
        cov=pd.DataFrame(inf.cov, index=index, columns=index), vcov=spec,
        df_inference=inf.df, estimator="mediation", outcome=y, nobs=nobs,
        n_clusters=inf.n_clusters, fit=paths.fit,
        extra={"ci_method": boot.method, "n_failed_draws": boot.n_failed},
        inference_notes=inf.notes, engine=engine, bootstrap=boot,
        path_df=engine.term_df(spec, index), conf_level=level)


# ------------------------------------------------------------------- checks and data


def _check_options(data, x, mediators, y, covs, cluster, n_boot, ci) -> None:
    if not mediators:
        raise SpecificationError("m must name at least one mediator column")
    require_numeric_roles(data, [x, *mediators, y, *covs], "x, m, y, covariates", cluster)
    if ci not in _CI_METHODS:
        raise SpecificationError(f"ci must be one of {_CI_METHODS}, got {ci!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise SpecificationError(f"n_boot must be an integer of at least 2, got {n_boot!r}")


def _complete_rows(data: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, tuple]:
    return complete_rows(data, columns, left_out="left out of every equation")


def _independent_covariates(frame, x, mediators, y, covs) -> tuple[tuple[str, ...], tuple]:
    names = ("Intercept", x, *covs, *mediators)
    X = np.column_stack([np.ones(len(frame)), frame[list(names[1:])].to_numpy(float)])
    keep = independent_columns(X - np.r_[0, X[:, 1:].mean(axis=0)])
    bad = [n for n, k in zip(names, keep, strict=True) if not k and n not in covs]
    if bad:
        raise SpecificationError(f"{bad} are constant or collinear with x and the covariates "
                                 "(or each other): the paths are not identified")
    dropped = [c for c, k in zip(covs, keep[2:2 + len(covs)], strict=True) if not k]
    if len(frame) <= X.shape[1] - len(dropped):
        raise SpecificationError(f"only {len(frame)} complete rows for {X.shape[1]} coefficients")
    notes = (Note("collinear_dropped",
        f"Covariates collinear with the others were dropped: {dropped}."),) if dropped else ()
    return tuple(c for c in covs if c not in dropped), notes


def _cluster_codes(frame: pd.DataFrame, cluster: str | None) -> tuple[np.ndarray, int]:
    if cluster is None:
        return np.arange(len(frame)), len(frame)
    codes, uniques = pd.factorize(frame[cluster])
    return codes, len(uniques)


def _moments_design(frame, x, mediators, y, covs) -> np.ndarray:
    """``[1, x, covariates, m, y]`` with every column but the constant centred."""
    Z = frame[[x, *covs, *mediators, y]].to_numpy(float)
    return np.column_stack([np.ones(len(Z)), Z - Z.mean(axis=0)])


def _bootstrap(frame, x, mediators, y, covs, cluster, n_boot, ci, rng,
               estimates) -> IndirectBootstrap:
    codes, n_groups = _cluster_codes(frame, cluster)
    pieces = cluster_moments(_moments_design(frame, x, mediators, y, covs), codes, n_groups)
    draws = bootstrap_indirect(pieces, len(covs), len(mediators), n_boot, rng)
    accel = (jackknife_acceleration(jackknife_indirect(pieces, len(covs), len(mediators)))
             if ci == "bca" else np.zeros(draws.shape[1]))
    return IndirectBootstrap(_indirect_terms(mediators), estimates, draws, ci, accel,
                             None if cluster is None else n_groups)


# --------------------------------------------------------------------- path equations


@dataclass(frozen=True)
class _Paths:
    """OLS of the mediator, outcome and total equations, and the terms they give."""

    engines: tuple[LinearEngine, ...]
    slots: tuple[tuple[int, ...], ...]
    terms: tuple[str, ...]
    estimates: np.ndarray
    indirect: np.ndarray
    fit: dict

    def engine(self, boot: IndirectBootstrap, cluster: str | None) -> MediationEngine:
        n_med = len(self.slots) - 2
        places = tuple(tuple(range(i, i + 1)) for i in range(n_med))
        places += ((2 * n_med, *range(n_med, 2 * n_med)), (2 * n_med + 1,))
        n_paths = 2 * n_med + 2
        indirect = tuple(range(n_paths, n_paths + len(boot.terms)))
        return MediationEngine(self.engines, self.slots, places, indirect, boot.cov(), cluster)


def _fit_paths(frame, x, mediators, y, covs, ssc: SSC) -> _Paths:
    n, n_med = len(frame), len(mediators)
    base = ("Intercept", x, *covs)
    X0 = np.column_stack([np.ones(n), frame[list(base[1:])].to_numpy(float)])
    X1 = np.column_stack([X0, frame[list(mediators)].to_numpy(float)])
    yv = frame[y].to_numpy(float)
    designs = [(X0, frame[mj].to_numpy(float), base) for mj in mediators]
    designs += [(X1, yv, (*base, *mediators)), (X0, yv, base)]
    fits = tuple(ols(X, v, names) for X, v, names in designs)
    engines = tuple(LinearEngine(X, f.resid, f.bread, frame, np.arange(n), ssc=ssc)
                    for (X, _, _), f in zip(designs, fits, strict=True))
    slots = ((1,),) * n_med + ((1, *range(len(base), len(base) + n_med)), (1,))
    a = np.array([f.beta[1] for f in fits[:n_med]])
    b = fits[n_med].beta[len(base):]
    ab = a * b
    indirect = ab if n_med == 1 else np.r_[ab, ab.sum()]
    terms = (*(f"a::{mj}" for mj in mediators), *(f"b::{mj}" for mj in mediators), "direct",
             "total", *_indirect_terms(mediators))
    estimates = np.r_[a, b, fits[n_med].beta[1], fits[-1].beta[1], indirect]
    fit = fit_statistics(yv, fits[n_med].resid, X1.shape[1], centered=True)
    return _Paths(engines, slots, terms, estimates, indirect, fit)


def _indirect_terms(mediators: Sequence[str]) -> tuple[str, ...]:
    terms = tuple(f"indirect::{mj}" for mj in mediators)
    return terms if len(mediators) == 1 else (*terms, "indirect::total")


def _label(mediators: Sequence[str]) -> str:
    if len(mediators) == 1:
        return "Mediation (PROCESS model 4)"
    return f"Parallel mediation, {len(mediators)} mediators (PROCESS model 4)"


def _failure_notes(boot: IndirectBootstrap, n_boot: int) -> tuple[str, ...]:
    if not boot.n_failed:
        return ()
    return (Note("bootstrap_failures",
        f"{boot.n_failed:,} of {n_boot:,} bootstrap draws failed (a resample's design was "
        "singular, e.g. a covariate constant in it) and were left out of the bootstrap "
        "SE, interval and p-value."),)


__all__ = ["MediationResult", "mediation"]
