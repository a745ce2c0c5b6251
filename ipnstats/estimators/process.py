"""Conditional process models: Hayes' PROCESS models 1, 4, 7, 8, 14 and 58.

Each model is a set of equations on the same rows (rows with a missing value in any
used column are left out of all of them); ``m`` may name several parallel mediators.

==========  ====================================  ======================================
model       mediator equation(s) ``m_j ~``         outcome equation ``y ~``
==========  ====================================  ======================================
1           (none)                                x + w + x:w
4           x                                     x + m_1 + ... + m_k
7           x + w + x:w                           x + m_1 + ... + m_k
8           x + w + x:w                           x + m_1 + ... + m_k + w + x:w
14          x                                     x + m_1 + ... + m_k + w + m_j:w
58          x + w + x:w                           x + m_1 + ... + m_k + w + m_j:w
==========  ====================================  ======================================

Covariates enter every equation (PROCESS's default). Conditional effects at w:
``a_j(w) = a_j + a_jw w``, ``b_j(w) = b_j + b_jw w``, indirect ``a_j(w) b_j(w)``, direct
``c' (+ c'_w w in models 1 and 8)``; index of moderated mediation ``a_jw b_j`` (7, 8)
or ``a_j b_jw`` (14); model 58's indirect effect is quadratic in w and has no index.

Conventions
-----------
- Path standard errors: ``vcov="iid"`` (PROCESS 3 and later), ``"hc0"``-``"hc3"``
  (``"hc3"`` is PROCESS 2.16's default), or clustered when ``cluster=`` is given
  (Stata's small-sample factor, ``t(G - 1)``). Each equation's t law uses its own
  residual degrees of freedom. A binary y gets a logistic outcome equation (maximum
  likelihood, normal law; HC choices do not apply to it, as in PROCESS) and its
  effects are on the log-odds scale.
- Bootstrap: every draw resamples rows (or, with ``cluster=``, whole clusters) and
  refits every equation; OLS equations are solved from weighted cross-products of the
  resample, all draws at once, and a logistic outcome equation by batched Newton
  steps from the full-sample estimate. A draw with a singular design or a
  non-converging logit fails, is left out, and is counted in the notes.
- Intervals: ``ci="percentile"`` (PROCESS 3 and later) or ``"bc"`` (bias-corrected,
  PROCESS 2); bootstrap SE is the SD (ddof 1) of the draws.
- Moderator values: PROCESS 3's 16th, 50th and 84th percentiles (interpolation at
  ``p (n + 1)``), both values of a binary w, ``at="mean_sd"`` or numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    require_numeric_roles,
)
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.glm import MLEngine, fit_logit
from ipnstats.estimators.linear import LinearEngine, ols
from ipnstats.estimators.mediation import IndirectBootstrap
from ipnstats.estimators.moderation import conditional_effect, effect_frame, probe_values
from ipnstats.inference.bootstrap import CHUNK_CELLS, cluster_moments, draw_counts, solve_batch
from ipnstats.results.inference import check_conf_level, coef_table
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.terms import add_term_keys, term_keys
from ipnstats.results.vcov import SSC, Cluster, VcovSpec, parse_ssc, parse_vcov

MODELS = (1, 4, 7, 8, 14, 58)
_CI = ("percentile", "bc")


@dataclass(frozen=True)
class Equation:
    """One equation: its outcome, regressors (``Intercept`` first) and link."""

    outcome: str
    terms: tuple[str, ...]
    logistic: bool = False


def equations(model: int, x: str, mediators: Sequence[str], y: str, w: str | None,
              covs: Sequence[str], logistic: bool) -> tuple[Equation, ...]:
    """The equations of a PROCESS model (see the module table)."""
    xw = (x, w, f"{x}:{w}")
    first = xw if model in (7, 8, 58) else (x,)
    out = [Equation(mj, ("Intercept", *first, *covs)) for mj in mediators]
    if model == 1:
        return (Equation(y, ("Intercept", *xw, *covs), logistic),)
    second = (x, *mediators)
    if model == 8:
        second += (w, f"{x}:{w}")
    if model in (14, 58):
        second += (w, *(f"{mj}:{w}" for mj in mediators))
    return (*out, Equation(y, ("Intercept", *second, *covs), logistic))


def product_columns(frame: pd.DataFrame, eqs: Sequence[Equation]) -> dict[str, np.ndarray]:
    """Every column the equations use, products ``a:b`` formed from their factors."""
    cols = {"Intercept": np.ones(len(frame))}
    names = [e.outcome for e in eqs] + [t for e in eqs for t in e.terms]
    for name in dict.fromkeys(names):
        if name in cols:
            continue
        parts = name.split(":")
        cols[name] = np.prod([frame[p].to_numpy(float) for p in parts], axis=0)
    return cols


# ------------------------------------------------------------------ effect algebra


@dataclass(frozen=True)
class EffectMap:
    """Positions of the coefficients that make up the model's effects.

    ``coef`` is a dict ``(equation index, term) -> column`` into the stacked
    coefficient vector of all equations.
    """

    model: int
    x: str
    w: str | None
    mediators: tuple[str, ...]
    coef: Mapping[tuple[int, str], int]

    def _get(self, beta: np.ndarray, eq: int, term: str) -> np.ndarray:
        return beta[..., self.coef[(eq, term)]]

    def a(self, beta: np.ndarray, j: int, w: np.ndarray) -> np.ndarray:
        """a_j at moderator values ``w`` (draws x values)."""
        a = self._get(beta, j, self.x)[..., None]
        if self.model in (7, 8, 58):
            a = a + self._get(beta, j, f"{self.x}:{self.w}")[..., None] * w
        return a

    def b(self, beta: np.ndarray, j: int, w: np.ndarray) -> np.ndarray:
        y = len(self.mediators)
        b = self._get(beta, y, self.mediators[j])[..., None]
        if self.model in (14, 58):
            b = b + self._get(beta, y, f"{self.mediators[j]}:{self.w}")[..., None] * w
        return b

    def indirect(self, beta: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(draws, mediators x w values) conditional indirect effects, mediator-major."""
        parts = [self.a(beta, j, w) * self.b(beta, j, w) for j in range(len(self.mediators))]
        return np.concatenate(parts, axis=-1)

    def index(self, beta: np.ndarray) -> np.ndarray:
        """(draws, mediators) indices of moderated mediation (models 7, 8, 14)."""
        y = len(self.mediators)
        out = []
        for j, mj in enumerate(self.mediators):
            if self.model in (7, 8):
                out.append(self._get(beta, j, f"{self.x}:{self.w}")
                           * self._get(beta, y, mj))
            else:
                out.append(self._get(beta, j, self.x) * self._get(beta, y, f"{mj}:{self.w}"))
        return np.stack(out, axis=-1)


# ---------------------------------------------------------------- vectorised bootstrap


def logit_batch(X: np.ndarray, y: np.ndarray, weights: np.ndarray, start: np.ndarray,
                maxiter: int = 30, tol: float = 1e-8) -> np.ndarray:
    """Weighted logit for each row of ``weights`` by Newton steps; NaN where it fails."""
    n, k = X.shape
    outer = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
    beta = np.tile(start, (weights.shape[0], 1))
    done = np.zeros(weights.shape[0], bool)
    for _ in range(maxiter):
        p = expit(beta @ X.T)
        grad = (weights * (y - p)) @ X
        info = ((weights * p * (1 - p)) @ outer).reshape(-1, k, k)
        step = solve_batch(info, grad[:, :, None])[:, :, 0]
        beta = beta + np.where(done[:, None], 0.0, step)
        done |= np.nan_to_num(np.abs(step).max(axis=1), nan=np.inf) < tol
        if done.all():
            break
    beta[~done] = np.nan
    return beta


def bootstrap_coefficients(cols: Mapping[str, np.ndarray], eqs: Sequence[Equation],
                           estimates: np.ndarray, codes: np.ndarray, n_groups: int,
                           n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, all coefficients) of every equation refitted on each resample."""
    names = list(cols)
    Z = np.column_stack([cols[c] for c in names])
    Z[:, 1:] -= Z[:, 1:].mean(axis=0)  # slopes are shift-invariant; centring helps accuracy
    pieces = cluster_moments(Z, codes, n_groups)
    p = len(names)
    logit = [e for e in eqs if e.logistic]
    row_cells = len(codes) if logit else n_groups
    chunk = max(1, min(n_boot, CHUNK_CELLS // row_cells))
    starts = np.cumsum([0] + [len(e.terms) for e in eqs])
    out = []
    for first in range(0, n_boot, chunk):
        counts = draw_counts(rng, n_groups, min(chunk, n_boot - first)).astype(float)
        moments = (counts @ pieces).reshape(-1, p, p)
        draws = np.full((len(counts), starts[-1]), np.nan)
        for e, s in zip(eqs, starts, strict=False):
            t = [names.index(c) for c in e.terms]
            if e.logistic:
                X = np.column_stack([cols[c] for c in e.terms])
                draws[:, s:s + len(t)] = logit_batch(X, cols[e.outcome], counts[:, codes],
                                                     estimates[s:s + len(t)])
            else:
                o = names.index(e.outcome)
                draws[:, s:s + len(t)] = solve_batch(moments[:, t][:, :, t],
                                                     moments[:, t][:, :, [o]])[:, :, 0]
        out.append(draws)
    return np.vstack(out)


# ------------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class ProcessResult(Result):
    """A fitted conditional process model; see :func:`conditional_process`.

    ``params`` and ``cov`` hold every equation's coefficients as ``"<outcome>::<term>"``
    (covariances between equations are not estimated and set to zero); ``path_df``
    each term's t degrees of freedom; ``bootstrap`` the draws of the indirect effects
    and indices; ``w_probe``/``w_labels`` the moderator values probed.
    """

    key_columns: tuple[str, ...] = ("path", "mediator", "equation", "w")
    model: int = 4
    x: str = ""
    mediators: tuple[str, ...] = ()
    w: str | None = None
    effect_map: EffectMap | None = field(default=None, repr=False, compare=False)
    path_df: Mapping[str, float | None] = field(default_factory=dict)
    equation_fit: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    bootstrap: IndirectBootstrap | None = field(default=None, repr=False, compare=False)
    w_probe: tuple[float, ...] = ()
    w_labels: tuple[str, ...] = ()
    conf_level: float = 0.95

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        object.__setattr__(self, "path_df", MappingProxyType(dict(self.path_df)))

    def _level(self, conf_level: float | None) -> float:
        return self.conf_level if conf_level is None else check_conf_level(conf_level)

    def paths(self, conf_level: float | None = None) -> pd.DataFrame:
        """Every equation's coefficients: equation, term and the tidy columns."""
        level, se = self._level(conf_level), self.std_errors
        rows = [coef_table(self.params[[t]], se[[t]], self.path_df.get(t), level)
                for t in self.params.index]
        out = pd.concat(rows, ignore_index=True)
        equation = term_keys(out["term"], equations=self._equations)["equation"]
        out["term"] = [t[len(eq) + 2:] for t, eq in zip(out["term"], equation, strict=True)]
        out.insert(0, "equation", equation.astype(object))
        return out

    def tidy(self, conf_level: float | None = None) -> pd.DataFrame:
        """Paths (``"<outcome>::<term>"``), then the bootstrapped effects; then the
        term keys ``path``, ``mediator``, ``equation`` and ``w``."""
        level = self._level(conf_level)
        se = self.std_errors
        paths = [coef_table(self.params[[t]], se[[t]], self.path_df.get(t), level)
                 for t in self.params.index]
        table = pd.concat([*paths, self._boot_table(level)], ignore_index=True)
        return self._with_term_keys(table, self._equations)

    @property
    def _equations(self) -> tuple[str, ...]:
        """The equations' outcomes: the prefixes of the coefficient terms."""
        return (*self.mediators, self.outcome)

    def equations(self) -> pd.DataFrame:
        """Per equation: outcome, link, nobs, R², MSE, statistic, df1, df2, p, log-likelihood.

        For OLS equations ``statistic`` is the F test of all slopes under the path vcov
        (PROCESS's model summary; with HC3 the robust Wald F); for a logistic outcome
        the likelihood-ratio chi-squared against the constant-only model, with McFadden's
        R².
        """
        return self.equation_fit.copy()

    def direct_effect(self, conf_level: float | None = None) -> pd.DataFrame:
        """The direct effect of x on y, conditional on w in models 1 and 8."""
        level = self._level(conf_level)
        y = self.outcome
        names = list(self.params.index)
        i = names.index(f"{y}::{self.x}")
        df = self.path_df.get(f"{y}::{self.x}")
        if self.model in (1, 8):
            j = names.index(f"{y}::{self.x}:{self.w}")
            w = np.asarray(self.w_probe)
            est, se = conditional_effect(self.params.to_numpy(), self.cov.to_numpy(), i, j, w)
            out = effect_frame(w, est, se, df, level)
            out.insert(1, "label", list(self.w_labels))
            return out
        est = self.params.iloc[i]
        se = self.std_errors.iloc[i]
        return effect_frame(np.array([np.nan]), np.array([est]), np.array([se]), df,
                            level).drop(columns="w")

    def indirect_effects(self, conf_level: float | None = None) -> pd.DataFrame:
        """Indirect effects (conditional on w where moderated) with bootstrap SE and CI."""
        if self.model == 1:
            raise SpecificationError("model 1 has no mediator and no indirect effect")
        table = self._keyed_boot_table(self._level(conf_level))
        return self._split_terms(table[table["path"] == "indirect"])

    def index_of_moderated_mediation(self, conf_level: float | None = None) -> pd.DataFrame:
        """The index ``a_w b`` (7, 8) or ``a b_w`` (14), with bootstrap SE and CI."""
        if self.model not in (7, 8, 14):
            why = {1: "model 1 has no indirect effect",
                   4: "model 4 has no moderator",
                   58: "in model 58 the indirect effect is quadratic in w, so no single index "
                       "summarises its moderation; compare indirect_effects() at values of w"}
            raise SpecificationError(f"no index of moderated mediation: {why[self.model]}")
        table = self._keyed_boot_table(self._level(conf_level))
        table = table[table["path"] == "index"]
        return table.assign(mediator=table["mediator"].astype(object)).drop(
            columns=["term", "statistic", "path", "w"]).reset_index(drop=True)

    def _boot_table(self, level: float) -> pd.DataFrame:
        return self.bootstrap.table(level)

    def _keyed_boot_table(self, level: float) -> pd.DataFrame:
        """The bootstrapped effects with their keys ``path``, ``mediator`` and ``w``."""
        return add_term_keys(self._boot_table(level), ("path", "mediator", "w"))

    def _split_terms(self, table: pd.DataFrame) -> pd.DataFrame:
        out = table.drop(columns=["term", "statistic", "path", "mediator", "w"])
        out = out.reset_index(drop=True)
        mediator = table["mediator"].astype(object).where(table["mediator"].notna(), "total")
        out.insert(0, "mediator", mediator.to_numpy())
        if self.w is not None and self.model != 4:
            values = dict(zip(self.w_labels, self.w_probe, strict=True))
            labels = table["w"].astype(object).to_numpy()
            out.insert(1, "w", [values.get(lab, np.nan) for lab in labels])
            out.insert(2, "label", labels)
        return out


# ----------------------------------------------------------------------- entry point


def conditional_process(data: pd.DataFrame, *, model: int, x: str, y: str,
                        m: str | Sequence[str] | None = None, w: str | None = None,
                        z: str | None = None, covariates: Sequence[str] = (),
                        n_boot: int = 5000, ci: Literal["percentile", "bc"] = "percentile",
                        vcov: object = None, cluster: str | None = None, at: object = None,
                        conf_level: float = 0.95, seed: Seed = 0,
                        ssc: SSC | None = None) -> ProcessResult:
    """Fit PROCESS model 1, 4, 7, 8, 14 or 58 with a vectorised bootstrap.

    Parameters
    ----------
    data
        One row per observation; numeric or boolean columns.
    model
        The PROCESS model number (see the module table).
    x, y, m, w
        Antecedent, outcome (0/1 gives a logistic outcome equation), mediator(s) and
        moderator. Model 1 takes no m; model 4 no w.
    z
        A second moderator; none of the supported models has one, so it must be None.
    covariates
        Columns entered in every equation.
    n_boot, ci, seed
        Bootstrap draws, interval type (``"percentile"`` or ``"bc"``) and seed.
    vcov
        Analytic path standard errors: ``"iid"``, ``"hc0"``-``"hc3"`` or a ``Cluster``;
        ``None`` (default): ``Cluster(cluster)`` when ``cluster`` is given, else ``"iid"``.
    cluster
        The resampling unit of the bootstrap: whole clusters of this column are drawn.
        (Only the default ``vcov`` follows it; an explicit ``vcov`` is used as given.)
    at
        Moderator values to probe (None: PROCESS's percentiles; ``"mean_sd"``; numbers).
    conf_level
        Level of the intervals.
    ssc
        Small-sample corrections of the path SEs (:class:`ipnstats.SSC`); None:
        ``SSC()`` for OLS equations, ``SSC(adj=False)`` for a logistic one.

    Returns
    -------
    ProcessResult
        ``paths()``, ``equations()``, ``direct_effect()``, ``indirect_effects()``,
        ``index_of_moderated_mediation()``, ``tidy()``.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"x": rng.integers(0, 2, 400), "w": rng.normal(size=400)})
    >>> df["m"] = 0.5 * df["x"] + 0.4 * df["x"] * df["w"] + rng.normal(size=400)
    >>> df["y"] = 0.6 * df["m"] + rng.normal(size=400)
    >>> res = conditional_process(df, model=7, x="x", m="m", y="y", w="w", n_boot=500)
    >>> round(float(res.index_of_moderated_mediation()["estimate"].iloc[0]), 2)
    0.29
    """
    mediators = _check_model(model, m, w, z)
    covs = column_names(covariates, "covariates")
    if ci not in _CI:
        raise SpecificationError(f"ci must be one of {_CI}, got {ci!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise SpecificationError(f"n_boot must be an integer of at least 2, got {n_boot!r}")
    used = [x, *mediators, y, *([w] if w else []), *covs]
    require_numeric_roles(data, used, "x, m, y, w, covariates", cluster)
    level = check_conf_level(conf_level)
    frame, notes = complete_rows(data, used + ([cluster] if cluster else []),
                                 left_out="left out of every equation")
    logistic = _is_binary(frame[y])
    _check_variation(frame, x, w, mediators)
    eqs = equations(model, x, mediators, y, w, covs, logistic)
    cols = product_columns(frame, eqs)
    spec: VcovSpec = parse_vcov(vcov if vcov is not None else
                                Cluster(cluster) if cluster else "iid")
    ssc = parse_ssc(ssc)
    fits = [(b, eng if ssc is None else eng.with_ssc(ssc), st, n)
            for b, eng, st, n in (_fit_equation(e, cols, frame, spec) for e in eqs)]
    estimates = np.concatenate([f[0] for f in fits])
    coef = {(i, t): int(k) for i, (e, start) in enumerate(zip(eqs, _starts(eqs), strict=True))
            for k, t in zip(range(start, start + len(e.terms)), e.terms, strict=True)}
    emap = EffectMap(model, x, w, mediators, MappingProxyType(coef))
    w_probe, w_labels = probe_values(frame[w].to_numpy(float), at) if w else (np.zeros(0), [])
    codes, n_groups = _codes(frame, cluster)
    rng = as_generator(seed)
    draws = bootstrap_coefficients(cols, eqs, estimates, codes, n_groups, n_boot, rng)
    boot = _effects_bootstrap(emap, estimates, draws, w_probe, w_labels, ci, cluster, n_groups)
    return _assemble(eqs, fits, estimates, emap, boot, spec, frame, notes, level, w_probe,
                     w_labels, seed, n_boot, model)


def _effects_bootstrap(emap, estimates, draws, w_probe, w_labels, ci, cluster, n_groups):
    terms, est, dr = [], [], []
    if emap.model != 1:
        wv = w_probe if emap.model != 4 else np.zeros(1)
        labels = w_labels if emap.model != 4 else [""]
        ind = emap.indirect(estimates, wv)
        ind_d = emap.indirect(draws, wv)
        terms += [f"indirect::{mj}" + (f"::{lab}" if lab else "")
                  for mj in emap.mediators for lab in labels]
        est.append(ind)
        dr.append(ind_d)
        if emap.model == 4 and len(emap.mediators) > 1:
            terms.append("indirect::total")
            est.append(ind.sum(keepdims=True))
            dr.append(ind_d.sum(axis=1, keepdims=True))
    if emap.model in (7, 8, 14):
        terms += [f"index::{mj}" for mj in emap.mediators]
        est.append(emap.index(estimates))
        dr.append(emap.index(draws))
    if not terms:
        return IndirectBootstrap((), np.zeros(0), np.zeros((len(draws), 0)), ci,
                                 np.zeros(0), None if cluster is None else n_groups)
    est_v = np.concatenate([np.atleast_1d(e) for e in est])
    draws_v = np.column_stack(dr)
    return IndirectBootstrap(tuple(terms), est_v, draws_v, ci, np.zeros(est_v.size),
                             None if cluster is None else n_groups)


def _assemble(eqs, fits, estimates, emap, boot, spec, frame, notes, level, w_probe, w_labels,
              seed, n_boot, model) -> ProcessResult:
    names = [f"{e.outcome}::{t}" for e in eqs for t in e.terms]
    k = len(names)
    cov = np.zeros((k, k))
    path_df, inf_notes, fit_rows = {}, (), []
    for e, (beta, engine, stat, fit_notes), start in zip(eqs, fits, _starts(eqs), strict=True):
        e_spec = "iid" if e.logistic and not isinstance(spec, Cluster) else spec
        inf = engine.compute(e_spec)
        sl = slice(start, start + len(e.terms))
        cov[sl, sl] = inf.cov
        path_df.update({n: inf.df for n in names[sl]})
        inf_notes += inf.notes
        fit_rows.append(_equation_row(e, beta, inf, stat))
        notes = notes + fit_notes
    y = eqs[-1]
    failed = int(np.isnan(boot.draws).any(axis=1).sum()) if boot.terms else 0
    if failed:
        notes += (Note("bootstrap_failures",
            f"{failed:,} of {n_boot:,} bootstrap draws failed (a singular resample or a "
            "logit that did not converge on it) and were left out."),)
    if y.logistic and not isinstance(spec, Cluster) and spec != "iid":
        notes += (Note("vcov_partial",
            "HC standard errors apply to the OLS equations only; the logistic outcome "
            "equation uses maximum-likelihood standard errors, as PROCESS does."),)
    index = pd.Index(names)
    last = fits[-1][2]
    return ProcessResult(
        params=pd.Series(estimates, index=index), cov=pd.DataFrame(cov, index=index,
                                                                   columns=index),
        vcov=spec, df_inference=path_df[names[-1]], estimator=f"PROCESS model {model}",
        outcome=y.outcome, nobs=len(frame), n_clusters=boot.n_clusters,
        formula="; ".join(f"{e.outcome} ~ {' + '.join(e.terms[1:])}" for e in eqs),
        fit=last, extra={"ci_method": boot.method,
                         "n_failed_draws": failed},
        notes=tuple(dict.fromkeys(notes)), inference_notes=tuple(dict.fromkeys(inf_notes)),
        seed=recorded_seed(seed), n_boot=n_boot, model=model, x=emap.x,
        mediators=emap.mediators, w=emap.w, effect_map=emap, path_df=path_df,
        equation_fit=pd.DataFrame(fit_rows), bootstrap=boot, w_probe=tuple(w_probe),
        w_labels=tuple(w_labels), conf_level=level)


def _equation_row(e: Equation, beta, inf, stat) -> dict:
    k = len(e.terms) - 1
    R = np.eye(len(e.terms))[1:]
    b = R @ beta
    wald = float(b @ np.linalg.pinv(R @ inf.cov @ R.T) @ b)
    if e.logistic:  # likelihood-ratio chi-squared against the constant-only model
        lr = 2 * (stat["loglik"] - stat["loglik_null"])
        return {"outcome": e.outcome, "link": "logit", "nobs": stat["nobs"], "r2": np.nan,
                "mse": np.nan, "statistic": lr, "df1": k, "df2": np.nan,
                "p_value": float(stats.chi2.sf(lr, k)), "loglik": stat["loglik"],
                "r2_mcfadden": stat["r2_mcfadden"]}
    df2 = inf.df
    f = wald / k
    p = float(stats.f.sf(f, k, df2) if df2 is not None else stats.chi2.sf(wald, k))
    return {"outcome": e.outcome, "link": "identity", "nobs": stat["nobs"], "r2": stat["r2"],
            "mse": stat["sigma"] ** 2, "statistic": f, "df1": k, "df2": df2, "p_value": p,
            "loglik": stat["loglik"], "r2_mcfadden": np.nan}


def _fit_equation(e: Equation, cols, frame, spec):
    X = np.column_stack([cols[t] for t in e.terms])
    yv = cols[e.outcome]
    rows = np.arange(len(frame))
    if e.logistic:
        fit = fit_logit(X, yv, rows="observations", outcome=f"{e.outcome}'s 1s from its 0s")
        null = yv.mean()
        ll0 = float(len(yv) * (null * np.log(null) + (1 - null) * np.log(1 - null)))
        engine = MLEngine(fit.scores, fit.bread, frame, rows, np.arange(X.shape[1]))
        stat = {"nobs": len(yv), "loglik": fit.loglik, "loglik_null": ll0,
                "r2_mcfadden": 1 - fit.loglik / ll0}
        return fit.beta, engine, stat, fit.notes
    fit = ols(X, yv, e.terms)
    if fit.collinear:
        raise SpecificationError(f"in the equation of {e.outcome!r}, {list(fit.collinear)} are "
                                 "constant or collinear with the other terms")
    engine = LinearEngine(X, fit.resid, fit.bread, frame, rows)
    stat = fit_statistics(yv, fit.resid, X.shape[1], centered=True) | {"nobs": len(yv)}
    return fit.beta, engine, stat, ()


def _starts(eqs: Sequence[Equation]) -> list[int]:
    return list(np.cumsum([0] + [len(e.terms) for e in eqs])[:-1])


def _codes(frame: pd.DataFrame, cluster: str | None) -> tuple[np.ndarray, int]:
    if cluster is None:
        return np.arange(len(frame)), len(frame)
    codes, uniques = pd.factorize(frame[cluster])
    return codes, len(uniques)


def _is_binary(values: pd.Series) -> bool:
    v = values.to_numpy(float)
    return bool(np.isin(v, (0.0, 1.0)).all() and np.ptp(v) > 0)


def _check_model(model, m, w, z) -> tuple[str, ...]:
    if model not in MODELS:
        raise SpecificationError(f"model must be one of {MODELS} (PROCESS model numbers), got "
                                 f"{model!r}")
    if z is not None:
        raise SpecificationError(f"model {model} has no second moderator z; leave z=None")
    needs_w = model != 4
    if needs_w and w is None:
        raise SpecificationError(f"model {model} needs a moderator: pass w=")
    if not needs_w and w is not None:
        raise SpecificationError("model 4 has no moderator; use model 7, 8, 14 or 58 for "
                                 "moderated mediation")
    if model == 1:
        if m is not None:
            raise SpecificationError("model 1 has no mediator; leave m=None")
        return ()
    if m is None:
        raise SpecificationError(f"model {model} needs at least one mediator: pass m=")
    return column_names(m, "m")


def _check_variation(frame, x, w, mediators) -> None:
    for name, role in ((x, "x"), (w, "moderator w"), *((mj, "mediator") for mj in mediators)):
        if name is not None and np.ptp(frame[name].to_numpy(float)) == 0:
            raise SpecificationError(f"the {role} {name!r} has no variation: all {len(frame):,} "
                                     f"rows used equal {frame[name].iloc[0]:g}")
    for mj in mediators:
        if _is_binary(frame[mj]):
            raise SpecificationError(f"mediator {mj!r} is binary; PROCESS's mediator equations "
                                     "are linear, so use a continuous mediator")


__all__ = ["ProcessResult", "conditional_process", "equations"]
