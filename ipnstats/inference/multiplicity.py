"""Multiple-testing adjustments: ``p.adjust``-style corrections and Romano-Wolf stepdown.

:func:`adjust_pvalues` adjusts a family of p-values as R's ``p.adjust`` does.
:func:`romano_wolf` turns observed and bootstrap t statistics into Romano-Wolf
stepdown p-values; :func:`romano_wolf_bootstrap` draws the bootstrap itself
(pairs or cluster resampling) around a user's ``stat_fn``.

Notes
-----
Conventions of the Romano-Wolf stepdown (Romano & Wolf 2005, 2016), as in Stata's
``rwolf`` 3.x (Clarke, Romano & Wolf 2020, *Stata Journal* 20(4), 812-843), R's
``wildrwolf::get_rwolf_pval`` and ``pyfixest.rwolf``:

- **Statistics.** Two-sided tests use ``|t|`` and ``|t*|``; ``"greater"``
  (H1: theta > theta0) uses ``t`` and ``t*``; ``"less"`` uses ``-t`` and ``-t*``
  (``rwolf``'s ``onesided(negative)`` and ``onesided(positive)``).
- **Null draws.** ``t*`` must follow the null: either draws of a null-imposed
  bootstrap (``centered=False``), or draws of an unrestricted bootstrap shifted by
  the observed statistic (``centered=True``: ``t*_b - t``). For a studentized
  pairs bootstrap the exact centred draw is ``(b*_b - b) / se*_b``, which is what
  ``rwolf`` and :func:`romano_wolf_bootstrap` form; pass it with ``centered=False``.
- **Stepdown.** Hypotheses are taken in decreasing order of their statistic. At step
  ``s`` the p-value is the share of draws whose maximum over the hypotheses not yet
  treated (this one included) is ``>=`` its statistic: ties count against the
  hypothesis, as in all three implementations.
- **Share.** ``(count + 1) / (B + 1)`` by default (``rwolf``, ``wildrwolf`` and
  ``pyfixest`` agree); ``plus_one=False`` gives ``count / B`` (``rwolf``'s
  ``noplusone``). The same convention gives the single-test bootstrap p-values.
- **Monotonicity.** A running maximum along the stepdown order, so that a
  hypothesis with a larger statistic never gets a larger adjusted p-value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed_classes
from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import p_value as tail_p_value

Method = Literal["holm", "bonferroni", "hommel", "bh", "by", "none"]
Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES = ("two-sided", "greater", "less")


# --- p.adjust ---------------------------------------------------------------------------

def _unsort(sorted_values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(sorted_values)
    out[order] = sorted_values
    return out


def _bonferroni(p: np.ndarray) -> np.ndarray:
    return np.minimum(p.size * p, 1.0)


def _holm(p: np.ndarray) -> np.ndarray:
    """Step-down: ``max_{j<=i} (m - j + 1) p_(j)``, capped at 1."""
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    return _unsort(np.minimum(steps, 1.0), order)


def _step_up(p: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Benjamini-Hochberg ``min_{j>=i} factor m / j p_(j)``, capped at 1."""
    order = np.argsort(p, kind="stable")[::-1]
    ranks = np.arange(p.size, 0, -1)
    steps = np.minimum.accumulate(factor * p.size / ranks * p[order])
    return _unsort(np.minimum(steps, 1.0), order)


def _by(p: np.ndarray) -> np.ndarray:
    return _step_up(p, float(np.sum(1.0 / np.arange(1, p.size + 1))))


def _hochberg(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")[::-1]
    steps = np.minimum.accumulate(np.arange(1, p.size + 1) * p[order])
    return _unsort(np.minimum(steps, 1.0), order)


def _hommel(p: np.ndarray) -> np.ndarray:
    """Hommel (1988), transcribed from R's ``p.adjust`` (Hochberg for two p-values)."""
    n = p.size
    if n < 3:
        return _hochberg(p) if n == 2 else p.copy()
    order = np.argsort(p, kind="stable")
    s = p[order]
    pa = np.full(n, np.min(n * s / np.arange(1, n + 1)))
    q = pa.copy()
    for m in range(n - 1, 1, -1):
        q1 = np.min(m * s[n - m + 1:] / np.arange(2, m + 1))
        q[:n - m + 1] = np.minimum(m * s[:n - m + 1], q1)
        q[n - m + 1:] = q[n - m]
        pa = np.maximum(pa, q)
    return _unsort(np.maximum(pa, s), order)


_ADJUST: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "holm": _holm, "bonferroni": _bonferroni, "hommel": _hommel, "bh": _step_up,
    "by": _by, "none": np.copy}
METHODS = tuple(_ADJUST)


def _check_pvalues(p) -> np.ndarray:
    values = np.asarray(p, dtype=float)
    if values.ndim != 1:
        raise SpecificationError(f"p must be one-dimensional (one p-value per hypothesis); got "
                                 f"shape {values.shape}")
    if np.any((values < 0) | (values > 1)):
        raise SpecificationError(
            f"p-values must lie in [0, 1]; got {values[(values < 0) | (values > 1)]}")
    return values


def adjust_pvalues(p: Sequence[float] | np.ndarray | pd.Series,
                   method: Method = "holm") -> np.ndarray | pd.Series:
    """Adjust a family of p-values for multiple testing, as R's ``p.adjust``.

    Parameters
    ----------
    p
        One p-value per hypothesis. Missing p-values (NaN) stay NaN and are left out of
        the family: ``m`` counts only the non-missing ones, as ``p.adjust`` does by
        default.
    method
        ``"holm"`` (step-down Bonferroni, controls the familywise error rate, default),
        ``"bonferroni"``, ``"hommel"`` (FWER, valid under positive dependence),
        ``"bh"`` (Benjamini-Hochberg false discovery rate), ``"by"``
        (Benjamini-Yekutieli, FDR under any dependence) or ``"none"``.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values, capped at 1, in the input order: a Series (same index and
        name) for a Series, a float array otherwise.

    Examples
    --------
    >>> from ipnstats.inference.multiplicity import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.005], "bh").round(3).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    if method not in _ADJUST:
        raise SpecificationError(f"unknown method {method!r}; choose one of "
                                 f"{', '.join(map(repr, METHODS))}")
    values = _check_pvalues(p)
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        out[present] = _ADJUST[method](values[present])
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out


# --- Romano-Wolf stepdown -----------------------------------------------------------------

def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise SpecificationError(
            f"alternative must be one of {', '.join(map(repr, ALTERNATIVES))}; "
            f"got {alternative!r}")


def _check_statistics(t_obs, t_boot) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_obs, dtype=float)
    if isinstance(t_obs, pd.Series) and isinstance(t_boot, pd.DataFrame):
        if set(t_boot.columns) != set(t_obs.index):
            raise SpecificationError(
                f"t_boot's columns {list(t_boot.columns)} must be t_obs's index "
                f"{list(t_obs.index)}")
        t_boot = t_boot[list(t_obs.index)]
    draws = np.asarray(t_boot, dtype=float)
    if t.ndim != 1 or t.size == 0 or draws.ndim != 2 or draws.shape[1] != t.size:
        raise SpecificationError(f"t_obs must hold K statistics and t_boot be a B x K array; got "
                                 f"shapes {t.shape} and {draws.shape}")
    if draws.shape[0] == 0 or np.isnan(t).any() or np.isnan(draws).any():
        raise SpecificationError("t_obs and t_boot must be non-empty and free of NaN; drop failed "
                                 "bootstrap draws (rows) first")
    return t, draws


def _orient(t: np.ndarray, alternative: str) -> np.ndarray:
    """Statistics whose large values speak against the null."""
    return {"two-sided": np.abs, "greater": np.positive, "less": np.negative}[alternative](t)


def _share(counts: np.ndarray, n_draws: int, plus_one: bool) -> np.ndarray:
    return (counts + 1) / (n_draws + 1) if plus_one else counts / n_draws


def _oriented(t, draws, alternative: str, centered: bool) -> tuple[np.ndarray, np.ndarray]:
    _check_alternative(alternative)
    t, draws = _check_statistics(t, draws)
    if centered:
        draws = draws - t
    return _orient(t, alternative), _orient(draws, alternative)


def _stepdown(stat: np.ndarray, null: np.ndarray, plus_one: bool) -> np.ndarray:
    """Romano-Wolf adjusted p-values from oriented statistics and null draws."""
    order = np.argsort(-stat, kind="stable")
    remaining_max = np.maximum.accumulate(null[:, order[::-1]], axis=1)[:, ::-1]
    counts = (remaining_max >= stat[order]).sum(axis=0)
    steps = np.maximum.accumulate(_share(counts, null.shape[0], plus_one))
    return _unsort(steps, order)


def _like(values: np.ndarray, t_obs, name: str) -> np.ndarray | pd.Series:
    if isinstance(t_obs, pd.Series):
        return pd.Series(values, index=t_obs.index, name=name)
    return values


def romano_wolf(t_obs: Sequence[float] | np.ndarray | pd.Series,
                t_boot: np.ndarray | pd.DataFrame, *, alternative: Alternative = "two-sided",
                centered: bool = True, plus_one: bool = True) -> np.ndarray | pd.Series:
    """Romano-Wolf stepdown p-values from observed and bootstrap t statistics.

    Parameters
    ----------
    t_obs
        The K observed t statistics ``(estimate - theta0) / std_error``.
    t_boot
        A B x K array of bootstrap t statistics, one row per draw, the same draws for
        every hypothesis (so that their dependence is kept). A DataFrame is aligned on
        ``t_obs``'s index when ``t_obs`` is a Series.
    alternative
        ``"two-sided"``, ``"greater"`` (H1: theta > theta0) or ``"less"``.
    centered
        True: the draws ``t*_b = (b*_b - theta0) / se*_b`` come from an unrestricted
        bootstrap and ``t_obs`` is subtracted from each (``t*_b - t``); this is the
        exact centring ``(b*_b - b) / se*_b`` only when ``se*_b = se``. False: the
        draws already follow the null (a null-imposed bootstrap, or the studentized
        ``(b*_b - b) / se*_b``, the better choice for a studentized bootstrap).
    plus_one
        ``(count + 1) / (B + 1)`` (default, as ``rwolf``) or ``count / B`` (``rwolf``'s
        ``noplusone``).

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values in the input order (a Series named ``p_romano_wolf`` with
        ``t_obs``'s index when ``t_obs`` is a Series).

    Examples
    --------
    >>> import numpy as np
    >>> from ipnstats.inference.multiplicity import romano_wolf
    >>> draws = np.random.default_rng(0).standard_normal((999, 3))
    >>> romano_wolf([3.1, 0.4, -2.2], draws, centered=False).round(3).tolist()
    [0.006, 0.684, 0.045]
    """
    stat, null = _oriented(t_obs, t_boot, alternative, centered)
    return _like(_stepdown(stat, null, plus_one), t_obs, "p_romano_wolf")


def _single_pvalues(stat: np.ndarray, null: np.ndarray, plus_one: bool) -> np.ndarray:
    """Each hypothesis's own bootstrap p-value (``rwolf``'s "resample p-value")."""
    return _share((null >= stat).sum(axis=0), null.shape[0], plus_one)


# --- the bootstrap ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, repr=False)
class RomanoWolfResult(TidyDisplay):
    """Romano-Wolf stepdown p-values from a pairs (or cluster) bootstrap.

    Attributes
    ----------
    terms
        Hypothesis labels (the index of ``stat_fn``'s estimates, else 0..K-1).
    estimate, std_error, statistic
        Estimates, standard errors and ``t = estimate / std_error`` on the full data.
    p_value
        Unadjusted p-values from the normal law.
    p_bootstrap
        Unadjusted bootstrap p-values (each hypothesis alone, same convention).
    p_romano_wolf
        Romano-Wolf stepdown p-values.
    p_holm
        Holm-adjusted ``p_value``.
    t_boot
        The centred draws ``(est*_b - est) / se*_b`` used (n_boot x K, read-only).
    n_boot, n_failed
        Draws used, and draws dropped because a t statistic was not finite.
    alternative, plus_one
        Test direction and p-value convention.
    seed, cluster, n_clusters, nobs
        The seed (None for a Generator), the cluster column (None: rows are resampled),
        its number of clusters, and the number of rows.
    """

    terms: tuple
    estimate: np.ndarray
    std_error: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    p_bootstrap: np.ndarray
    p_romano_wolf: np.ndarray
    p_holm: np.ndarray
    t_boot: np.ndarray
    n_boot: int
    n_failed: int
    alternative: str
    plus_one: bool
    seed: int | None
    cluster: str | None
    n_clusters: int | None
    nobs: int

    def tidy(self) -> pd.DataFrame:
        """One row per hypothesis: term, estimate, std_error, statistic and p-values."""
        return pd.DataFrame({
            "term": list(self.terms), "estimate": self.estimate, "std_error": self.std_error,
            "statistic": self.statistic, "p_value": self.p_value,
            "p_bootstrap": self.p_bootstrap, "p_romano_wolf": self.p_romano_wolf,
            "p_holm": self.p_holm})

    def glance(self) -> pd.DataFrame:
        """One row: n_boot, n_failed, seed, n_hypotheses, cluster, n_clusters, nobs, ..."""
        return pd.DataFrame([{
            "n_boot": self.n_boot, "n_failed": self.n_failed, "seed": self.seed,
            "n_hypotheses": len(self.terms), "cluster": self.cluster,
            "n_clusters": self.n_clusters, "nobs": self.nobs,
            "alternative": self.alternative, "plus_one": self.plus_one}])


def _evaluate(stat_fn, frame: pd.DataFrame, k: int | None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``stat_fn``'s estimates and standard errors as float arrays, and their labels."""
    raw_est, raw_se = stat_fn(frame)
    est, se = np.asarray(raw_est, dtype=float).ravel(), np.asarray(raw_se, dtype=float).ravel()
    if est.size != se.size or est.size == 0 or (k is not None and est.size != k):
        raise SpecificationError(f"stat_fn must return (estimates, std_errors) of one common length"
                                 f"{'' if k is None else f' {k}'}; got {est.size} and {se.size}")
    labels = tuple(raw_est.index) if isinstance(raw_est, pd.Series) else tuple(range(est.size))
    return est, se, labels


def _cluster_rows(data: pd.DataFrame, cluster: str) -> list[np.ndarray]:
    """Row positions of each cluster."""
    if cluster not in data.columns:
        raise SpecificationError(f"cluster column {cluster!r} is not in the data; columns: "
                                 f"{list(data.columns)}")
    codes, uniques = pd.factorize(data[cluster])
    if (codes < 0).any():
        raise DataError(f"cluster column {cluster!r} has missing values; drop those rows")
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes))[:-1])


def _resample(data: pd.DataFrame, groups: list[np.ndarray] | None, cluster: str | None,
              rng: np.random.Generator) -> pd.DataFrame:
    """Rows drawn with replacement, or whole clusters, each copy given its own id."""
    if groups is None:
        rows = rng.integers(0, len(data), len(data))
    else:
        picks = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([groups[g] for g in picks])
    sample = data.take(rows)
    sample.index = pd.RangeIndex(rows.size)
    if groups is not None:
        sample[cluster] = np.repeat(np.arange(len(groups)), [groups[g].size for g in picks])
    return sample


def _frozen(values: np.ndarray) -> np.ndarray:
    values = np.array(values, dtype=float)
    values.setflags(write=False)
    return values


def romano_wolf_bootstrap(data: pd.DataFrame, stat_fn: Callable, *, cluster: str | None = None,
                          n_boot: int = 999, seed: Seed = 0,
                          alternative: Alternative = "two-sided",
                          plus_one: bool = True) -> RomanoWolfResult:
    """Romano-Wolf p-values for K tests of ``theta_k = 0`` by a pairs/cluster bootstrap.

    Parameters
    ----------
    data
        The estimation frame.
    stat_fn
        ``stat_fn(frame) -> (estimates, std_errors)``, two sequences of length K (a
        Series's index labels the hypotheses). Subtract non-zero null values inside.
    cluster
        Resample whole clusters of this column instead of rows. In each resample the
        column is replaced by ids 0..G-1, one per drawn copy (Stata's ``idcluster()``),
        so that a cluster drawn twice counts as two clusters in ``stat_fn``.
    n_boot
        Number of bootstrap draws.
    seed
        An int or a numpy Generator; the result is deterministic given an int.
    alternative
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    plus_one
        p-value convention, see :func:`romano_wolf`.

    Returns
    -------
    RomanoWolfResult

    Notes
    -----
    Each draw gives the centred studentized statistics ``t*_b = (est*_b - est) /
    se*_b`` (as ``rwolf``), compared with ``t = est / se``. Draws where any ``t*`` is
    not finite (e.g. a zero standard error) are dropped and counted in ``n_failed``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ipnstats.inference.multiplicity import romano_wolf_bootstrap
    >>> df = pd.DataFrame(np.random.default_rng(1).normal(size=(100, 3)), columns=list("abc"))
    >>> def means(d):
    ...     return d.mean(), d.std(ddof=1) / np.sqrt(len(d))
    >>> romano_wolf_bootstrap(df, means, n_boot=199, seed=2).tidy()  # doctest: +SKIP
    """
    _check_alternative(alternative)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise SpecificationError(f"n_boot must be a positive integer (e.g. 999); got {n_boot!r}")
    groups = None if cluster is None else _cluster_rows(data, cluster)
    rng = as_generator(seed)
    est, se, terms = _evaluate(stat_fn, data, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    if not np.all(np.isfinite(t)):
        raise EstimationError(f"stat_fn gives non-finite t statistics on the full data: {t}")
    draws = _draws(data, stat_fn, groups, cluster, rng, est, int(n_boot))
    stat, null = _orient(t, alternative), _orient(draws, alternative)
    p_value = tail_p_value(t, None, alternative)
    return RomanoWolfResult(
        terms=terms, estimate=_frozen(est), std_error=_frozen(se), statistic=_frozen(t),
        p_value=_frozen(p_value), p_bootstrap=_frozen(_single_pvalues(stat, null, plus_one)),
        p_romano_wolf=_frozen(_stepdown(stat, null, plus_one)),
        p_holm=_frozen(adjust_pvalues(p_value, "holm")), t_boot=_frozen(draws),
        n_boot=draws.shape[0], n_failed=int(n_boot) - draws.shape[0],
        alternative=alternative, plus_one=bool(plus_one),
        seed=recorded_seed(seed),
        cluster=cluster, n_clusters=None if groups is None else len(groups), nobs=len(data))


def _draws(data, stat_fn, groups, cluster, rng, est: np.ndarray, n_boot: int) -> np.ndarray:
    """Centred studentized draws ``(est*_b - est) / se*_b``, the non-finite ones dropped."""
    draws = np.empty((n_boot, est.size))
    for b in range(n_boot):
        est_b, se_b, _ = _evaluate(stat_fn, _resample(data, groups, cluster, rng), est.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            draws[b] = (est_b - est) / se_b
    kept = draws[np.isfinite(draws).all(axis=1)]
    if kept.shape[0] == 0:
        raise EstimationError("no bootstrap draw gave finite t statistics; check stat_fn")
    return kept


__all__ = ["RomanoWolfResult", "adjust_pvalues", "romano_wolf", "romano_wolf_bootstrap"]

__getattr__ = renamed_classes(__name__, globals(), {"RomanoWolf": "RomanoWolfResult"})
