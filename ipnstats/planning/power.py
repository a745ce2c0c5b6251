"""Monte-Carlo power: simulate a design many times, test each data set, count rejections.

Conventions
-----------
- Streams. Replicate ``r`` of the ``i``-th effect size draws from
  ``SeedSequence(seed).spawn(n_effects)[i].spawn(reps)[r]``: it does not depend on the
  backend, the number of workers or the order in which replicates finish, and adding
  replicates or effect sizes (at the end) keeps the earlier draws.
- Rejection. Two-sided by default (``p < alpha``); ``alternative="greater"`` or
  ``"less"`` halves the two-sided p in the claimed direction (as the study's directional
  claims do).
- Power's Monte-Carlo interval is Clopper-Pearson (exact binomial) at ``conf_level``.
- Failed fits (an estimator error) are recorded, left out of the power and counted in
  ``failed``; non-converged fits are kept and counted in ``not_converged``.
- The minimum detectable effect (MDE) is where the simulated power curve crosses
  ``target`` (linear interpolation between neighbouring effect sizes, in the order
  given); ``mde_normal`` is the normal approximation
  ``(z(1 - alpha/2) + z(target)) x SE`` (``z(1 - alpha)`` for a one-sided
  ``alternative``) from the median SE at the effect size closest to zero (Bloom 1995),
  a check on the first. ``mde()`` is signed as the effect sizes are; ``mde_normal()``
  is a magnitude.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.core.parallel import Backend, dask_client, dask_workers, run_tasks, spawn_seeds
from ipnstats.core.seeds import (
    Seed,
    as_generator,
    recorded_seed,
    seed_problem,
    seed_sequence,
)
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES = ("two-sided", "greater", "less")
#: Errors of a simulated data set's fit that count as a failed replicate.
FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)
TIDY_COLUMNS = ("effect_size", "power", "conf_low", "conf_high", "n_reject", "reps", "failed",
                "not_converged", "mean_estimate", "sd_estimate", "mean_std_error")


@dataclass(frozen=True, repr=False)
class PowerResult(TidyDisplay):
    """Power of a design's test at each effect size, with Monte-Carlo intervals.

    ``tidy()``: one row per effect size. ``glance()``: one row with the design, the
    settings, the MDE and how the run was computed. ``draws``: every replicate's
    estimate, standard error, p-value and rejection. ``plot()`` draws the power curve.
    """

    design: str
    parameter: str
    settings: MappingProxyType
    draws: pd.DataFrame
    alpha: float
    alternative: str
    target: float
    conf_level: float
    seed: int | None
    backend: str
    n_workers: int
    wall_seconds: float
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """Power, its interval and the estimates' summary, by effect size."""
        rows = []
        for effect, d in self.draws.groupby("effect_size", sort=False):
            ok = d[d["error"] == ""]
            k, n = int(ok["reject"].sum()), len(ok)
            low, high = clopper_pearson(k, n, self.conf_level)
            rows.append({"effect_size": effect, "power": k / n if n else np.nan,
                         "conf_low": low, "conf_high": high, "n_reject": k, "reps": n,
                         "failed": len(d) - n, "not_converged": int((~ok["converged"]).sum()),
                         "mean_estimate": ok["estimate"].mean(),
                         "sd_estimate": ok["estimate"].std(ddof=1),
                         "mean_std_error": ok["std_error"].mean()})
        return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))

    def mde(self, target: float | None = None) -> float:
        """The effect size at which the simulated power reaches ``target`` (default:
        the result's), interpolated; NaN when the curve does not cross it."""
        return crossing(self.tidy(), self.target if target is None else target)

    def mde_normal(self, target: float | None = None) -> float:
        """``(z(1 - alpha/2) + z(target)) x SE`` at the effect size closest to zero
        (``z(1 - alpha)`` when ``alternative`` is one-sided); a magnitude."""
        t = self.tidy()
        row = t.iloc[int(np.argmin(np.abs(t["effect_size"].to_numpy(float))))]
        se = self.draws.loc[(self.draws["effect_size"] == row["effect_size"])
                            & (self.draws["error"] == ""), "std_error"].median()
        tail = self.alpha / 2 if self.alternative == "two-sided" else self.alpha
        power = self.target if target is None else target
        return float((stats.norm.isf(tail) + stats.norm.ppf(power)) * se)

    def glance(self) -> pd.DataFrame:
        """One row: design, settings, reps, MDE and the run's backend and time."""
        t = self.tidy()
        return pd.DataFrame([{
            "design": self.design, "parameter": self.parameter, "alpha": self.alpha,
            "alternative": self.alternative, "target_power": self.target,
            "mde": self.mde(), "mde_normal": self.mde_normal(),
            "reps": int(t["reps"].max()) if len(t) else 0, "failed": int(t["failed"].sum()),
            "n_effect_sizes": len(t), "seed": self.seed, "backend": self.backend,
            "n_workers": self.n_workers, "wall_seconds": self.wall_seconds}])

    def plot(self, *, xlabel: str | None = None):
        """The power curve with Monte-Carlo intervals, ``alpha``, the target and the MDE."""
        from ipnstats.figures.power import power_curve_plot

        return power_curve_plot(self.tidy(), alpha=self.alpha, target=self.target,
                                mde=self.mde(), conf_level=self.conf_level,
                                xlabel=xlabel or self.parameter.replace("_", " ").capitalize(),
                                title=self.design)

    def summary(self) -> str:
        """A plain-text table and the MDE."""
        t = self.tidy()
        lines = [f"Power: {self.design} ({self.parameter}); alpha {self.alpha:g} "
                 f"({self.alternative}), {int(t['reps'].max())} replicates per effect size, "
                 f"seed {self.seed}", "",
                 f"{'effect':>10} {'power':>7} {'95% MC interval':>17} {'failed':>7}"]
        for _, r in t.iterrows():
            lines.append(f"{r['effect_size']:>10.4g} {r['power']:>7.3f} "
                         f"[{r['conf_low']:.3f}, {r['conf_high']:.3f}] {int(r['failed']):>7}")
        mde = self.mde()
        lines += ["", f"Minimum detectable effect at {self.target:.0%} power: "
                  + (f"{mde:.4g}" if np.isfinite(mde) else "not reached in the effect sizes "
                     "simulated") + f" (normal approximation {self.mde_normal():.4g})"]
        return "\n".join(lines + list(self.notes))

    def __str__(self) -> str:
        return self.summary()


def power(design, *, effect_sizes: Sequence[float], reps: int = 1000, alpha: float = 0.05,
          alternative: Alternative = "two-sided", target: float = 0.8,
          conf_level: float = 0.95, seed: Seed = 0, backend: Backend = "local",
          n_jobs: int = 1, scheduler: object = None,
          progress: Callable[[int, int], None] | None = None) -> PowerResult:
    """Monte-Carlo power of a planned study's test, by effect size.

    Parameters
    ----------
    design
        A design from :mod:`ipnstats.planning.designs`: :class:`H1Design`,
        :class:`H2Design`, :class:`H3Design` or :class:`TwoGroupDesign`.
    effect_sizes
        Sizes of the design's parameter to simulate (include 0 to check the size).
    reps
        Simulated data sets per effect size.
    alpha, alternative
        Test level and direction (``"two-sided"``, ``"greater"``, ``"less"``).
    target
        Power the minimum detectable effect is read at (80% by default).
    conf_level
        Level of the Monte-Carlo (Clopper-Pearson) intervals of power.
    seed
        An int (recorded): every replicate's stream derives from it (see the module
        notes); ``None`` or a numpy Generator seed the root stream (not recorded).
    backend, n_jobs, scheduler
        Where the replicates run: ``"local"`` (``n_jobs`` joblib workers) or ``"dask"``
        (``scheduler="tcp://host:port"`` or a ``dask.distributed.Client``); the numbers
        are the same on any backend. See :mod:`ipnstats.core.parallel`.
    progress
        Called as ``progress(done, total)`` while replicates finish.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from ipnstats.planning import TwoGroupDesign, power
    >>> res = power(TwoGroupDesign(n_per_group=30), effect_sizes=[0, 0.5], reps=200)
    >>> res.tidy()[["effect_size", "power"]].round(2).to_dict("list")  # doctest: +SKIP
    """
    effects = _check(design, effect_sizes, reps, alpha, alternative, target, conf_level, seed)
    streams = [child.spawn(reps) for child in spawn_seeds(seed_sequence(seed), len(effects))]
    tasks = [(design, e, s) for e, row in zip(effects, streams, strict=True) for s in row]
    total = len(tasks)
    start = time.perf_counter()
    out = run_tasks(replicate, tasks, backend=backend, n_jobs=n_jobs, scheduler=scheduler,
                    progress=None if progress is None else (lambda done: progress(done, total)))
    wall = time.perf_counter() - start
    draws = _draws(effects, reps, out, alpha, alternative)
    return PowerResult(
        design=design.label, parameter=str(design.parameter),
        settings=MappingProxyType(design.describe()), draws=draws, alpha=alpha,
        alternative=alternative, target=target, conf_level=conf_level, seed=recorded_seed(seed),
        backend=backend, n_workers=_n_workers(backend, n_jobs, scheduler),
        wall_seconds=wall, notes=_notes(draws))


def replicate(design, effect: float, seed: np.random.SeedSequence) -> tuple:
    """Simulate one data set and test it: ``(estimate, SE, p, converged, error)``."""
    rng = as_generator(seed)
    data = design.simulate(effect, rng)
    try:
        r = design.test(data)
    except FIT_ERRORS as err:
        return (np.nan, np.nan, np.nan, False, f"{type(err).__name__}: {err}")
    return (r.estimate, r.std_error, r.p_value, r.converged, "")


def clopper_pearson(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for ``k`` successes in ``n`` trials."""
    if n == 0:
        return (np.nan, np.nan)
    a = (1 - conf_level) / 2
    low = stats.beta.ppf(a, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.isf(a, k + 1, n - k) if k < n else 1.0
    return (float(low), float(high))


def crossing(table: pd.DataFrame, target: float) -> float:
    """Effect size where power first reaches ``target`` along the table's rows."""
    x, y = table["effect_size"].to_numpy(float), table["power"].to_numpy(float)
    above = np.flatnonzero(y >= target)
    if above.size == 0 or above[0] == 0:
        return np.nan
    i = above[0]
    return float(x[i - 1] + (target - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))


def one_sided_reject(estimate, p_two, alpha: float, alternative: str) -> np.ndarray:
    """Rejections at ``alpha`` of the two-sided or one-sided test."""
    p_two = np.asarray(p_two, float)
    if alternative == "two-sided":
        return p_two < alpha
    right = np.asarray(estimate) > 0 if alternative == "greater" else np.asarray(estimate) < 0
    return np.where(right, p_two / 2, 1 - p_two / 2) < alpha


def _draws(effects, reps, out, alpha, alternative) -> pd.DataFrame:
    est, se, p, conv, err = (list(col) for col in zip(*out, strict=True))
    draws = pd.DataFrame({"effect_size": np.repeat(effects, reps),
                          "rep": np.tile(np.arange(reps), len(effects)),
                          "estimate": np.asarray(est, float), "std_error": np.asarray(se, float),
                          "p_value": np.asarray(p, float), "converged": np.asarray(conv, bool),
                          "error": err})
    draws["reject"] = one_sided_reject(draws["estimate"], draws["p_value"], alpha, alternative)
    return draws


def _notes(draws: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    failed = draws[draws["error"] != ""]
    if len(failed):
        first = failed["error"].iloc[0]
        notes.append(Note("bootstrap_failures",
            f"{len(failed):,} of {len(draws):,} simulated data sets could not be "
            f"fitted and are left out of the power (first: {first})."))
    bad = int((~draws["converged"] & (draws["error"] == "")).sum())
    if bad:
        notes.append(Note("not_converged",
            f"{bad:,} fits did not converge; they are counted as they came out."))
    return tuple(notes)


def _n_workers(backend: str, n_jobs: int, scheduler: object) -> int:
    if backend == "dask":
        client, owned = dask_client(scheduler)
        try:
            return dask_workers(client)
        finally:
            if owned:
                client.close()
    import os

    return (os.cpu_count() or 1) if n_jobs < 0 else int(n_jobs)


def _check(design, effect_sizes, reps, alpha, alternative, target, conf_level, seed):
    for method in ("simulate", "test", "describe"):
        if not callable(getattr(design, method, None)):
            raise SpecificationError(f"design must be a design from ipnstats.power (it has no "
                                     f"{method}()); got {type(design).__name__}")
    effects = np.atleast_1d(np.asarray(effect_sizes, float))
    problems = []
    if effects.size == 0 or not np.isfinite(effects).all():
        problems.append(f"effect_sizes must be finite numbers; got {effect_sizes!r}")
    if len(set(effects.tolist())) < effects.size:
        problems.append(f"effect_sizes must be distinct; got {effect_sizes!r}")
    if not isinstance(reps, int | np.integer) or reps < 2:
        problems.append(f"reps must be an integer >= 2; got {reps!r}")
    for name, value in (("alpha", alpha), ("target", target), ("conf_level", conf_level)):
        if not 0 < value < 1:
            problems.append(f"{name} must be between 0 and 1; got {value!r}")
    if alternative not in ALTERNATIVES:
        problems.append(f"alternative must be one of {ALTERNATIVES}; got {alternative!r}")
    if (problem := seed_problem(seed, generator=False)) is not None:
        problems.append(problem)
    if problems:
        raise SpecificationError("; ".join(problems))
    return effects


__all__ = ["ALTERNATIVES", "PowerResult", "clopper_pearson", "crossing", "power", "replicate"]
