"""``stage_effects``: the effect of membership by stage, novice to expert (H1b).

The estimator is the imputation estimator of Borusyak, Jaravel & Spiess (2024):
unit and time effects are fitted on untreated observations only (never-members and
members' years before joining), each member year's untreated outcome is imputed
from them, and the effect of a stage is the mean of ``y - a_unit - l_time`` over the
member years in that stage. It compares within firm (the unit effect) and never
uses already-treated years as controls, so effects that grow with tenure do not
bias it, unlike a two-way fixed-effects regression on stage dummies.

Standard errors come from a cluster bootstrap (whole clusters resampled, the
effects refitted on each draw); "the effect rises" is tested by one-sided tests of
each step (developing - novice, expert - developing) and their intersection-union
combination: the rise is supported when every step is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ipnstats.core.deprecation import renamed_classes
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.results.inference import WaldTest, one_sided_p
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, parse_vcov

STAGES = ("novice", "developing", "expert")
MAX_SWEEPS = 2_000
TOLERANCE = 1e-10


@dataclass(frozen=True, repr=False)
class StageEffectsResult(Result):
    """Stage effects ``stage::<name>`` and ``ATT`` (all member years), bootstrap cov."""

    key_columns: tuple[str, ...] = ("stage",)
    stages: tuple[str, ...] = STAGES

    def rise_test(self) -> pd.DataFrame:
        """One-sided tests that each stage's effect exceeds the previous one's.

        Rows: each step (``later - earlier``) with estimate, std_error, z and the
        one-sided p-value, then ``all steps`` with the intersection-union p-value (the
        largest step p-value).
        """
        rows = []
        for early, late in zip(self.stages[:-1], self.stages[1:], strict=True):
            a, b = f"stage::{early}", f"stage::{late}"
            est = self.params[b] - self.params[a]
            var = self.cov.loc[a, a] + self.cov.loc[b, b] - 2 * self.cov.loc[a, b]
            z = est / np.sqrt(var)
            rows.append({"contrast": f"{late} - {early}", "estimate": est,
                         "std_error": np.sqrt(var), "statistic": z,
                         "p_value": float(one_sided_p(z, None, "greater"))})
        out = pd.DataFrame(rows)
        whole = {"contrast": "all steps", "estimate": np.nan, "std_error": np.nan,
                 "statistic": np.nan, "p_value": float(out["p_value"].max())}
        return pd.concat([out, pd.DataFrame([whole])], ignore_index=True)

    def equality_test(self) -> WaldTest:
        """Wald test that every stage has the same effect."""
        names = [f"stage::{s}" for s in self.stages]
        R = np.zeros((len(names) - 1, len(self.params)))
        for i in range(len(names) - 1):
            R[i, self.params.index.get_loc(names[i])] = 1.0
            R[i, self.params.index.get_loc(names[i + 1])] = -1.0
        return self.wald_test(R=R, hypothesis="equal effects in every stage")


def stage_effects(data: pd.DataFrame, *, outcome: str, unit: str = "firm_id",
                  time: str = "year", cohort: str = "cohort", stage: str = "stage",
                  member: str = "member", stages: Sequence[str] = STAGES,
                  vcov: object = Cluster("firm_id"), n_boot: int = 999,
                  seed: Seed = 0) -> StageEffectsResult:
    """Effect of membership on ``outcome`` in each stage, by imputation (see module notes).

    Parameters
    ----------
    data
        A firm-year panel (``Study.firm_year``): ``member`` (0/1), ``cohort`` (year
        of joining, 0 = never) and ``stage`` (the member year's stage).
    stages
        Stage labels in their expected order (novice to expert).
    vcov
        ``Cluster(col)``: the bootstrap resamples whole clusters (firms by default).
    n_boot, seed
        Bootstrap draws and seed.

    Returns
    -------
    StageEffectsResult
        ``tidy()``, ``rise_test()``, ``equality_test()``.
    """
    require_columns(data, (outcome, unit, time, cohort, stage, member), "column")
    spec = parse_vcov(vcov)
    if not isinstance(spec, Cluster) or len(spec.columns) != 1:
        raise SpecificationError("stage_effects takes vcov=Cluster(column): its standard "
                                 "errors come from a bootstrap of whole clusters")
    if n_boot < 2:
        raise SpecificationError("stage_effects needs n_boot >= 2 bootstrap draws")
    require_columns(data, spec.columns, "cluster column")
    setup, notes = _setup(data, outcome, unit, time, cohort, stage, member, tuple(stages),
                          spec.columns[0])
    point = _estimates(setup, np.ones((1, setup.n_clusters)))[0]
    rng = as_generator(seed)
    draws = _bootstrap(setup, n_boot, rng)
    keep = np.isfinite(draws).all(axis=1)
    if (~keep).any():
        notes += (Note("bootstrap_failures",
            f"{(~keep).sum()} bootstrap draws left a stage empty and were discarded."),)
    cov = np.cov(draws[keep], rowvar=False)
    index = pd.Index([f"stage::{s}" for s in stages] + ["ATT"])
    g = setup.n_clusters
    inf_notes = () if g >= 30 else (Note("few_clusters",
        f"Only {g} clusters: bootstrap standard errors can be "
        "unreliable with fewer than 30 clusters."),)
    return StageEffectsResult(
        params=pd.Series(point, index=index), cov=pd.DataFrame(cov, index=index, columns=index),
        vcov=spec, df_inference=None, estimator="imputation (Borusyak-Jaravel-Spiess), by stage",
        outcome=outcome, nobs=setup.n_rows, n_units=setup.n_units, n_clusters=g,
        fixed_effects=(unit, time), extra=setup.counts, notes=notes,
        inference_notes=inf_notes, seed=recorded_seed(seed), n_boot=n_boot, stages=tuple(stages))


@dataclass(frozen=True)
class _Setup:
    """Arrays of the untreated fit and the treated rows, by cluster."""

    y0: np.ndarray
    units0: np.ndarray
    times0: np.ndarray
    clusters0: np.ndarray
    y1: np.ndarray
    units1: np.ndarray
    times1: np.ndarray
    clusters1: np.ndarray
    stage1: np.ndarray
    n_stages: int
    n_units: int
    n_times: int
    n_clusters: int
    n_rows: int
    counts: dict


def _setup(data, outcome, unit, time, cohort, stage, member, stages, cluster):
    frame = data[list(dict.fromkeys([outcome, unit, time, cohort, stage, member, cluster]))]
    frame = frame[frame[outcome].notna()]
    untreated = (frame[member] == 0) & ((frame[cohort] == 0) | (frame[time] < frame[cohort]))
    treated = (frame[member] == 1) & frame[stage].isin(stages)
    unknown = sorted(set(frame.loc[frame[member] == 1, stage].dropna().astype(str)) - set(stages))
    if unknown:
        raise SpecificationError(f"stage values {unknown} are not in stages={stages!r}")
    fit_units = set(frame.loc[untreated, unit])
    fit_times = set(frame.loc[untreated, time])
    imputable = treated & frame[unit].isin(fit_units) & frame[time].isin(fit_times)
    notes = ()
    lost = int((treated & ~imputable).sum())
    if lost:
        notes += (Note("no_base_period",
            f"{lost:,} member years belong to firms with no year before joining (or to "
            "years with no untreated firm): their untreated outcome cannot be imputed "
            "and they are left out."),)
    rows = frame[untreated | imputable]
    u, _ = pd.factorize(rows[unit])
    t, _ = pd.factorize(rows[time])
    c, _ = pd.factorize(rows[cluster])
    if (c < 0).any():
        raise SpecificationError(f"cluster column {cluster!r} is missing in {(c < 0).sum():,} rows")
    is0 = untreated[rows.index].to_numpy()
    s = pd.Categorical(rows[stage], categories=list(stages)).codes
    counts = {f"n_{name}": int(((s == i) & ~is0).sum()) for i, name in enumerate(stages)}
    y = rows[outcome].to_numpy(float)
    setup = _Setup(y[is0], u[is0], t[is0], c[is0], y[~is0], u[~is0], t[~is0], c[~is0],
                   s[~is0], len(stages), int(u.max()) + 1, int(t.max()) + 1, int(c.max()) + 1,
                   len(rows), counts)
    empty = [name for name in stages if counts[f"n_{name}"] == 0]
    if empty:
        raise SpecificationError(f"no member years in stage(s) {empty}")
    return setup, notes


def _indicator(codes: np.ndarray, n: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(codes.size), (np.arange(codes.size), codes)),
                             shape=(codes.size, n))


def _two_way_fit(y: np.ndarray, U, T, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted unit and time effects (draws x units, draws x times) by alternating means."""
    wu, wt = W @ U, W @ T
    a = np.zeros((W.shape[0], U.shape[1]))
    lt = np.zeros((W.shape[0], T.shape[1]))
    for _ in range(MAX_SWEEPS):
        a_new = _safe_div((W * (y - (T @ lt.T).T)) @ U, wu)
        lt_new = _safe_div((W * (y - (U @ a_new.T).T)) @ T, wt)
        change = max(np.nanmax(np.abs(a_new - a)), np.nanmax(np.abs(lt_new - lt)))
        a, lt = a_new, lt_new
        if change < TOLERANCE:
            break
    return a, lt


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _estimates(s: _Setup, cluster_weights: np.ndarray) -> np.ndarray:
    """Stage means of imputed effects and their overall mean, one row per weight draw."""
    W0 = np.asarray(cluster_weights[:, s.clusters0], float)
    W1 = np.asarray(cluster_weights[:, s.clusters1], float)
    U0, T0 = _indicator(s.units0, s.n_units), _indicator(s.times0, s.n_times)
    a, lt = _two_way_fit(s.y0, U0, T0, W0)
    tau = s.y1 - a[:, s.units1] - lt[:, s.times1]
    # A treated unit or year absent from a draw's untreated fit cannot be imputed.
    seen_u = (W0 @ U0) > 0
    seen_t = (W0 @ T0) > 0
    ok = seen_u[:, s.units1] & seen_t[:, s.times1]
    W1 = np.where(ok, W1, 0.0)
    S = _indicator(s.stage1, s.n_stages)
    num = np.column_stack([(W1 * tau) @ S, (W1 * tau).sum(axis=1)])
    den = np.column_stack([W1 @ S, W1.sum(axis=1)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def _bootstrap(s: _Setup, n_boot: int, rng: np.random.Generator, chunk: int = 100) -> np.ndarray:
    out = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, s.n_clusters, size=(size, s.n_clusters))
        weights = np.stack([np.bincount(d, minlength=s.n_clusters) for d in draws])
        out.append(_estimates(s, weights))
    return np.vstack(out)


__all__ = ["StageEffectsResult", "stage_effects"]

__getattr__ = renamed_classes(__name__, globals(), {"StageEffects": "StageEffectsResult"})
