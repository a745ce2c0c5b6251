"""The pairs cluster bootstrap of any estimator, on joblib workers or a Dask cluster.

:func:`cluster_bootstrap` refits an estimator on data resampled by whole clusters (Stata's
``bootstrap, cluster(c) idcluster(id)``; R ``fwildclusterboot`` covers the wild variant,
see :func:`~ipnstats.wild_bootstrap`). Each replicate is a full refit, so replicates run
as independent tasks (:mod:`ipnstats.core.parallel`): locally on ``n_jobs`` joblib workers or on
a Dask cluster, with identical numbers, since replicate ``r`` draws from
``SeedSequence(seed).spawn(reps)[r]``.

Conventions
-----------
- ``std_error`` is the standard deviation of the replicates' estimates (``ddof=1``);
  ``statistic = estimate / std_error`` and ``p_value`` is two-sided normal, as Stata's
  ``bootstrap`` reports them.
- ``ci="percentile"`` (default) gives the ``alpha/2`` and ``1 - alpha/2`` quantiles of
  the replicates (numpy's linear interpolation, R type 7); ``ci="normal"`` gives
  ``estimate +- z * std_error`` (Stata's default "normal-based" interval).
- ``relabel`` names a column that receives a new identifier per drawn cluster, so a
  cluster drawn twice counts as two units, as fixed-effects estimators on the cluster
  need (Stata's ``idcluster()``).
- A replicate whose fit fails is left out and counted; the notes say how many and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.parallel import Backend, run_tasks, spawn_seeds
from ipnstats.core.seeds import (
    Seed,
    as_generator,
    recorded_seed,
    seed_problem,
    seed_sequence,
)
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import two_sided_p
from ipnstats.results.notes import Note

#: Errors of a replicate's fit that count as a failed replicate.
FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)


@dataclass(frozen=True, repr=False)
class BootstrapResult(TidyDisplay):
    """Estimates with cluster-bootstrap standard errors and intervals.

    ``tidy()``: the broom columns; ``glance()``: one row of settings; ``draws``: one row
    per replicate and one column per term (NaN where the fit failed).
    """

    estimate: pd.Series
    draws: pd.DataFrame
    cluster: str
    n_clusters: int
    reps: int
    failed: int
    ci: str
    conf_level: float
    seed: int | None
    estimator: str
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        ok = self.draws.dropna()
        se = ok.std(ddof=1).reindex(self.estimate.index)
        z = self.estimate / se
        a = 1 - self.conf_level
        if self.ci == "percentile":
            low, high = ok.quantile(a / 2), ok.quantile(1 - a / 2)
        else:
            crit = stats.norm.isf(a / 2)
            low, high = self.estimate - crit * se, self.estimate + crit * se
        return pd.DataFrame({
            "term": self.estimate.index, "estimate": self.estimate.to_numpy(),
            "std_error": se.to_numpy(), "statistic": z.to_numpy(),
            "p_value": two_sided_p(z.to_numpy(), None),
            "conf_low": np.asarray(low.reindex(self.estimate.index)),
            "conf_high": np.asarray(high.reindex(self.estimate.index))})

    def glance(self) -> pd.DataFrame:
        return pd.DataFrame([{"estimator": self.estimator, "cluster": self.cluster,
                              "n_clusters": self.n_clusters, "reps": self.reps,
                              "failed": self.failed, "ci": self.ci,
                              "conf_level": self.conf_level, "seed": self.seed}])


@renamed(reps="n_boot", idcluster="relabel")
def cluster_bootstrap(data: pd.DataFrame, fit: Callable[[pd.DataFrame], object], *,
                      cluster: str, terms: Sequence[str] | None = None, n_boot: int = 999,
                      ci: Literal["percentile", "normal"] = "percentile",
                      conf_level: float = 0.95, relabel: str | None = None, seed: Seed = 0,
                      backend: Backend = "local", n_jobs: int = 1, scheduler: object = None,
                      progress: Callable[[int, int], None] | None = None) -> BootstrapResult:
    """Pairs cluster bootstrap: refit ``fit`` on clusters drawn with replacement.

    Parameters
    ----------
    data
        The estimation frame.
    fit
        A function of a DataFrame returning an ipnstats result (anything with
        ``params``), e.g. ``functools.partial(ipnstats.panel_regression, formula=...,
        unit="firm_id", time="year")``. It must be picklable (a module-level function
        or a ``partial`` of one) to run on workers.
    cluster
        The column whose values are resampled as whole blocks.
    terms
        Terms to keep (default: every term of the fit on ``data``).
    n_boot
        Bootstrap replicates (formerly ``reps=``).
    ci, conf_level
        ``"percentile"`` or ``"normal"`` intervals, and their level.
    relabel
        Column to overwrite with a new id per drawn cluster (Stata's ``idcluster()``;
        formerly ``idcluster=``; see the module notes).
    seed
        An int (recorded): replicate ``r`` draws from ``SeedSequence(seed).spawn(n_boot)[r]``;
        ``None`` or a numpy Generator seed the root sequence (not recorded).
    backend, n_jobs, scheduler
        Where the replicates run (:func:`ipnstats.core.parallel.run_tasks`).
    progress
        ``progress(done, total)`` as replicates finish.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> from functools import partial
    >>> fit = partial(ipnstats.panel_regression, formula="log_revenue ~ member",
    ...               unit="firm_id", time="year")  # doctest: +SKIP
    >>> cluster_bootstrap(fy, fit, cluster="firm_id", relabel="firm_id",
    ...                   n_boot=499, n_jobs=2).tidy()  # doctest: +SKIP
    """
    _check(data, cluster, relabel, n_boot, ci, conf_level, seed)
    reps = n_boot
    first = fit(data)
    estimate = first.params if terms is None else first.params.reindex(list(terms))
    if estimate.isna().any():
        raise SpecificationError(f"terms not in the fit: {list(estimate.index[estimate.isna()])}")
    codes, labels = pd.factorize(data[cluster], sort=True)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    blocks = (order, starts)
    tasks = [(data, fit, blocks, tuple(estimate.index), relabel, s)
             for s in spawn_seeds(seed_sequence(seed), reps)]
    out = run_tasks(bootstrap_replicate, tasks, backend=backend, n_jobs=n_jobs,
                    scheduler=scheduler,
                    progress=None if progress is None else (lambda d: progress(d, reps)))
    draws = pd.DataFrame([o[0] for o in out], columns=estimate.index)
    errors = [o[1] for o in out if o[1]]
    notes = ((Note("bootstrap_failures",
        f"{len(errors)} of {reps} replicates could not be fitted and are left out "
        f"(first: {errors[0]})."),) if errors else ())
    if len(labels) < 30:
        notes += (Note("few_clusters",
            f"Only {len(labels)} clusters: the pairs cluster bootstrap can be "
            "unreliable with few clusters; consider the wild cluster bootstrap."),)
    return BootstrapResult(estimate=estimate.astype(float), draws=draws, cluster=cluster,
                           n_clusters=len(labels), reps=reps, failed=len(errors), ci=ci,
                           conf_level=conf_level, seed=recorded_seed(seed),
                           estimator=str(getattr(first, "estimator", type(first).__name__)),
                           notes=notes)


def bootstrap_replicate(data: pd.DataFrame, fit: Callable, blocks: tuple, terms: tuple,
                        relabel: str | None, seed: np.random.SeedSequence) -> tuple:
    """One replicate: draw clusters, refit, return ``(estimates, error message)``."""
    order, starts = blocks
    g = starts.size - 1
    drawn = as_generator(seed).integers(0, g, size=g)
    sizes = starts[drawn + 1] - starts[drawn]
    offsets = np.repeat(starts[drawn] - np.cumsum(sizes) + sizes, sizes)
    rows = order[offsets + np.arange(sizes.sum())]
    sample = data.iloc[rows].reset_index(drop=True)
    if relabel is not None:
        sample[relabel] = np.repeat(np.arange(g), sizes)
    try:
        params = fit(sample).params
    except FIT_ERRORS as err:
        return [np.nan] * len(terms), f"{type(err).__name__}: {err}"
    return params.reindex(list(terms)).to_numpy(float).tolist(), ""


def _check(data, cluster, idcluster, reps, ci, conf_level, seed) -> None:
    require_columns(data, (cluster,), "cluster column")
    problems = []
    if data[cluster].isna().any():
        problems.append(f"cluster column {cluster!r} is missing in "
                        f"{int(data[cluster].isna().sum()):,} rows")
    if idcluster is not None and not isinstance(idcluster, str):
        problems.append(f"relabel must be a column name, got {idcluster!r}")
    if not isinstance(reps, int | np.integer) or reps < 2:
        problems.append(f"n_boot must be an integer >= 2, got {reps!r}")
    if ci not in ("percentile", "normal"):
        problems.append(f"ci must be 'percentile' or 'normal', got {ci!r}")
    if not 0 < conf_level < 1:
        problems.append(f"conf_level must be between 0 and 1, got {conf_level!r}")
    if (problem := seed_problem(seed, generator=False)) is not None:
        problems.append(problem)
    if problems:
        raise SpecificationError("; ".join(problems))


__all__ = ["BootstrapResult", "bootstrap_replicate", "cluster_bootstrap"]
