"""Specification curve (Simonsohn, Simmons & Nelson 2020) for the effect of joining (H1a).

:func:`specification_curve` estimates the effect of a staggered treatment under every
combination of reasonable analytic choices — outcome x estimator x covariate set x
sample x clustering — and :class:`SpecificationCurveResult` summarises them (``tidy()``,
``glance()``); :func:`ipnstats.figures.speccurve_plot` draws the standard two-panel
figure.

Conventions
-----------
- Estimators. ``"cs_never"`` and ``"cs_notyet"``: Callaway & Sant'Anna simple ATT
  (:func:`~ipnstats.participation_effect`, ``estimator="cs"``, analytic SEs, no
  bootstrap) with never-treated or not-yet-treated controls; covariates are taken in
  each comparison's base period. ``"sunab"``: Sun & Abraham's overall ``ATT``
  (never-treated controls); it takes no covariates, so every covariate set but an
  empty one is "not available". ``"twfe"``: the two-way (firm and year) fixed-effects
  regression on the absorbing indicator ``cohort > 0 and time >= cohort``, exactly
  the regression behind :func:`~ipnstats.estimators.did.twfe_did`, with the
  covariates added as contemporaneous regressors
  (:func:`~ipnstats.panel_regression`). A covariate collinear with the fixed effects
  (``age`` is: year minus founding year) is dropped and the row's ``note`` says so.
- Covariates enter Callaway-Sant'Anna at each comparison's base period (pre-treatment)
  but TWFE contemporaneously; a covariate that membership moves (firm size) is then a
  post-treatment control in TWFE, which shrinks its estimate towards the direct effect.
- Samples, chosen on the whole frame before any estimator's own exclusions:
  ``"all"``; ``"no_exits"`` drops every unit with ``exit == 1`` in any row;
  ``"balanced"`` keeps units with a row in every period that occurs in the panel.
- Clustering. ``"firm"``: ``Cluster(unit)``. ``"group"``: the unit's first peer
  group, the ``group`` value of its earliest row where it is not missing, constant
  within unit; a unit with no peer group in the data (a never-member) is its own
  cluster. ``n_clusters`` counts clusters among the units an estimator used.
- ``conf_low``/``conf_high`` are ``1 - alpha`` intervals in each estimator's
  reference law (normal for Callaway-Sant'Anna, ``t(G - 1)`` for the regressions),
  so an interval excludes zero exactly when ``p_value < alpha``.
- A combination that cannot be estimated stays in the result with NaN numbers and
  ``status = "not available: <reason>"``; nothing is dropped or raised.
- Specifications run in parallel (joblib, or Dask with ``backend="dask"``), each with
  one BLAS thread, so results do not depend on ``n_jobs`` or the cluster. ``nobs``
  and ``n_units`` are as each estimator reports them: Callaway-Sant'Anna's ``nobs``
  counts the cells of its units x periods panel, observed or not, the regressions'
  the rows used. Unit identifiers never appear in the result.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import (
    deprecated_call,
    former_defaults,
    renamed,
    renamed_classes,
)
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.core.seeds import Seed, recorded_seed
from ipnstats.results.display import TidyDisplay
from ipnstats.results.vcov import Cluster

ESTIMATORS = ("twfe", "cs_never", "cs_notyet", "sunab")
SAMPLES = ("all", "no_exits", "balanced")
CLUSTERS = ("firm", "group")
DIMENSIONS = ("outcome", "estimator", "covariates", "sample", "cluster")
OUTCOMES = ("log_revenue", "revenue_growth", "profit_margin", "roa", "employment_growth")
COVARIATE_SETS = MappingProxyType({"none": (), "age + size": ("age", "log_employees")})
GROUP_CLUSTER = "_speccurve_first_group"
TREATED = "_treated"
ESTIMATED = "estimated"
MIN_CLUSTERS = 2
DEFAULT_LABELS = MappingProxyType({
    "twfe": "TWFE", "cs_never": "CS, never-treated", "cs_notyet": "CS, not-yet-treated",
    "sunab": "Sun-Abraham", "all": "All firms", "no_exits": "No exits",
    "balanced": "Balanced panel", "firm": "Firm", "group": "First peer group"})
TIDY_COLUMNS = DIMENSIONS + ("estimate", "std_error", "statistic", "p_value", "conf_low",
                             "conf_high", "nobs", "n_units", "n_clusters", "status", "note")


@dataclass(frozen=True, slots=True)
class Specification:
    """One combination of choices; ``covariates`` is the set's name."""

    outcome: str
    estimator: str
    covariates: str
    sample: str
    cluster: str


@dataclass(frozen=True, slots=True)
class SpecEstimate:
    """The effect under one specification, or NaN and the reason it is not available."""

    spec: Specification
    estimate: float = np.nan
    std_error: float = np.nan
    statistic: float = np.nan
    p_value: float = np.nan
    conf_low: float = np.nan
    conf_high: float = np.nan
    nobs: int | None = None
    n_units: int | None = None
    n_clusters: int | None = None
    status: str = ESTIMATED
    note: str = ""

    def record(self) -> dict:
        """The row of ``SpecificationCurveResult.tidy()`` (before sorting and ranking)."""
        out = dataclasses.asdict(self.spec)
        out |= {name: getattr(self, name) for name in TIDY_COLUMNS[len(DIMENSIONS):]}
        return out


def _unavailable(spec: Specification, reason: str) -> SpecEstimate:
    return SpecEstimate(spec, status=f"not available: {reason}")


# ----------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class SpecificationCurveResult(TidyDisplay):
    """Estimates of one effect under every specification; see :func:`specification_curve`.

    Attributes
    ----------
    estimates
        One :class:`SpecEstimate` per specification, in grid order (outcome, then
        estimator, covariate set, sample, clustering, each in the order given).
    choices
        The choices of each dimension, in the order given (the rows of the figure).
    covariate_sets
        Name of each covariate set and its columns.
    alpha, direction
        Significance level, and the claimed sign of the effect (+1 or -1).
    labels
        Display labels of choices (outcomes, estimators, samples ...) for the figure.
    seed
        The seed passed to the estimators (none of them draws at random here: the
        Callaway-Sant'Anna bootstrap is off).
    """

    estimates: tuple[SpecEstimate, ...]
    choices: Mapping[str, tuple[str, ...]]
    covariate_sets: Mapping[str, tuple[str, ...]]
    alpha: float = 0.05
    direction: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("choices", "covariate_sets", "labels"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def tidy(self) -> pd.DataFrame:
        """One row per specification, sorted by estimate, with its ``rank`` (1 = lowest).

        Columns: ``rank``, outcome, estimator, covariates, sample, cluster, estimate,
        std_error, statistic, p_value, conf_low, conf_high, nobs, n_units,
        n_clusters, status, note. Not-available rows come last, with NaN numbers and
        a missing rank.
        """
        frame = pd.DataFrame([e.record() for e in self.estimates], columns=list(TIDY_COLUMNS))
        frame = frame.sort_values("estimate", kind="stable", na_position="last",
                                  ignore_index=True)
        for name in ("nobs", "n_units", "n_clusters"):
            frame[name] = frame[name].astype("Int64")
        n = int(frame["estimate"].notna().sum())
        rank = pd.array(list(range(1, n + 1)) + [None] * (len(frame) - n), dtype="Int64")
        frame.insert(0, "rank", rank)
        return frame

    def glance(self) -> pd.DataFrame:
        """One row: how many specifications, and how their estimates agree.

        Shares are over the estimated specifications: ``share_positive`` (estimate
        above zero), ``share_significant_same_direction`` (``p_value < alpha`` and
        the sign of ``direction``), ``share_significant_opposite`` (``p_value <
        alpha`` and the other sign). Outcomes are pooled: select one with
        :meth:`select` before comparing estimates in their units.
        """
        est = np.array([e.estimate for e in self.estimates], float)
        p = np.array([e.p_value for e in self.estimates], float)
        ok = np.isfinite(est)
        sign, sig = np.sign(est[ok]), p[ok] < self.alpha
        n = int(ok.sum())
        share = (lambda mask: float(mask.mean())) if n else (lambda mask: np.nan)
        return pd.DataFrame([{
            "n_specs": len(self.estimates), "n_estimated": n,
            "median_estimate": float(np.median(est[ok])) if n else np.nan,
            "share_positive": share(est[ok] > 0),
            "share_significant_same_direction": share(sig & (sign == self.direction)),
            "share_significant_opposite": share(sig & (sign == -self.direction)),
            "alpha": self.alpha, "direction": self.direction}])

    def select(self, **choices: str | Sequence[str]) -> SpecificationCurveResult:
        """A new curve with the specifications of the given choices only.

        Examples
        --------
        >>> curve.select(outcome="log_revenue", sample=["all", "balanced"])  # doctest: +SKIP
        """
        wanted = {}
        for dim, value in choices.items():
            if dim not in DIMENSIONS:
                raise SpecificationError(f"unknown dimension {dim!r}; use one of {DIMENSIONS}")
            wanted[dim] = (value,) if isinstance(value, str) else tuple(value)
        kept = tuple(e for e in self.estimates
                     if all(getattr(e.spec, d) in v for d, v in wanted.items()))
        narrowed = {d: tuple(c for c in cs if c in wanted.get(d, cs))
                    for d, cs in self.choices.items()}
        return dataclasses.replace(self, estimates=kept, choices=narrowed)

    def significance(self, frame: pd.DataFrame) -> np.ndarray:
        """``"same"``, ``"opposite"`` (p < alpha, by sign) or ``"none"`` per row of
        ``frame`` (rows of :meth:`tidy`)."""
        return significance(frame, self.alpha, self.direction)

    @property
    def display_labels(self) -> dict[str, str]:
        """Labels of the choices for figures and tables (the defaults, then ``labels``)."""
        return dict(DEFAULT_LABELS) | dict(self.labels)

    def plot(self, labels: Mapping[str, str] | None = None, title: str | None = None):
        """Deprecated: use :func:`ipnstats.figures.speccurve_plot` (``result`` first)."""
        deprecated_call("SpecificationCurveResult.plot() is deprecated; use "
                        "ipnstats.figures.speccurve_plot(result)")
        from ipnstats.figures.results import speccurve_plot

        return speccurve_plot(self, labels=labels, title=title)


def significance(frame: pd.DataFrame, alpha: float, direction: int) -> np.ndarray:
    """``"same"``, ``"opposite"`` (p < alpha, by sign) or ``"none"`` per row."""
    sig = frame["p_value"].to_numpy(float) < alpha
    same = np.sign(frame["estimate"].to_numpy(float)) == direction
    return np.where(sig & same, "same", np.where(sig, "opposite", "none"))


# ----------------------------------------------------------------------- entry point


@renamed(clusters="cluster")
@former_defaults(outcomes=OUTCOMES, covariate_sets=COVARIATE_SETS, unit="firm_id",
                 time="year", cohort="cohort", group="group_id", exit="exit")
def specification_curve(data: pd.DataFrame, *, outcomes: Sequence[str],
                        covariate_sets: Mapping[str, Sequence[str]], unit: str, time: str,
                        cohort: str, group: str | None, exit: str | None,
                        estimators: Sequence[str] = ESTIMATORS,
                        samples: Sequence[str] = SAMPLES, cluster: Sequence[str] = CLUSTERS,
                        alpha: float = 0.05, direction: int = 1,
                        labels: Mapping[str, str] | None = None, n_jobs: int = 2,
                        backend: str = "local", scheduler: object = None, seed: Seed = 0,
                        progress: Callable[[int, int], None] | None = None,
                        ) -> SpecificationCurveResult:
    """The effect of joining under every combination of analytic choices.

    Parameters
    ----------
    data
        A unit-by-period panel (``Study.firm_year``) with a ``cohort`` column (first
        treated period, 0 for never-treated units).
    outcomes
        Outcome columns.
    estimators
        Any of ``"twfe"``, ``"cs_never"``, ``"cs_notyet"``, ``"sunab"`` (see the
        module notes).
    covariate_sets
        ``{name: columns}``; ``()`` for none.
    samples
        Any of ``"all"``, ``"no_exits"`` (units that never exit), ``"balanced"``
        (units observed in every period).
    cluster
        The clustering choices: any of ``"firm"`` (``Cluster(unit)``) and ``"group"``
        (first peer group; never-members are their own clusters). (Formerly
        ``clusters=``.)
    unit, time, cohort
        Panel columns (required; the study passes ``firm_id``, ``year``, ``cohort``).
    group, exit
        Peer-group column (missing in non-member rows), needed for ``"group"``
        clustering; exit indicator, needed for the ``"no_exits"`` sample. Required;
        ``None`` when the choices do not need them.
    alpha
        Significance level of the shares and of the intervals (``1 - alpha``).
    direction
        The claimed sign of the effect: ``1`` (joining raises the outcome) or ``-1``.
    labels
        Display labels of choices for the figure, e.g. ``{"log_revenue": "Log revenue"}``.
    n_jobs, backend, scheduler
        Where the specifications run: ``n_jobs`` local workers (joblib), or a Dask
        cluster with ``backend="dask"`` and ``scheduler="tcp://host:port"`` (or a
        ``dask.distributed.Client``); see :mod:`ipnstats.core.parallel`. The result does not
        depend on them.
    seed
        Passed to the estimators and recorded when it is an int (none draws at random
        here).
    progress
        Optional ``progress(done, total)``, called as specifications finish, e.g. for a
        progress bar (:meth:`ipnstats.pipeline.progress.Progress.count`).

    Returns
    -------
    SpecificationCurveResult
        ``tidy()``, ``glance()``, ``select(...)``; the figure is
        :func:`ipnstats.figures.speccurve_plot`.

    Examples
    --------
    >>> curve = ipnstats.specification_curve(
    ...     fy, outcomes=("log_revenue",), covariate_sets={"none": ()}, unit="firm_id",
    ...     time="year", cohort="cohort", group="group_id", exit="exit")  # doctest: +SKIP
    >>> curve.glance()  # doctest: +SKIP
    >>> speccurve_plot(curve, labels={"log_revenue": "Log revenue"})  # doctest: +SKIP
    """
    from ipnstats.core.parallel import run_tasks

    choices = _check_choices(outcomes, estimators, covariate_sets, samples, cluster)
    sets = {name: tuple(cols) for name, cols in covariate_sets.items()}
    _check_options(alpha, direction, n_jobs)
    frame = _analysis_frame(data, choices, sets, unit, time, cohort, group, exit)
    frames = {name: _sample(frame, name, unit, time, exit) for name in choices["sample"]}
    grid = [Specification(*combo) for combo in itertools.product(*choices.values())]
    roles = {"unit": unit, "time": time, "cohort": cohort, "alpha": alpha, "seed": seed}
    tasks = [(frames[s.sample], s, sets[s.covariates], roles) for s in grid]
    estimates = run_tasks(_estimate_task, tasks, backend=backend, n_jobs=n_jobs,
                          scheduler=scheduler, chunk_size=1,
                          progress=None if progress is None else
                          (lambda done: progress(done, len(grid))))
    return SpecificationCurveResult(tuple(estimates), choices, sets, alpha=alpha,
                              direction=direction, labels=dict(labels or {}),
                              seed=recorded_seed(seed))


def _check_choices(outcomes, estimators, covariate_sets, samples, cluster) -> dict:
    choices = {"outcome": outcomes, "estimator": estimators,
               "covariates": covariate_sets, "sample": samples, "cluster": cluster}
    allowed = {"estimator": ESTIMATORS, "sample": SAMPLES, "cluster": CLUSTERS}
    out = {}
    for dim, values in choices.items():
        values = (values,) if isinstance(values, str) else tuple(values)
        if not values or len(set(values)) < len(values):
            raise SpecificationError(f"{dim} choices must be non-empty and distinct; "
                                     f"got {values!r}")
        bad = [v for v in values if dim in allowed and v not in allowed[dim]]
        if bad:
            raise SpecificationError(f"unknown {dim} choice(s) {bad}; use any of "
                                     f"{allowed[dim]}")
        out[dim] = tuple(str(v) for v in values)
    return out


def _check_options(alpha: float, direction: int, n_jobs: int) -> None:
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be between 0 and 1, got {alpha!r}")
    if direction not in (1, -1):
        raise SpecificationError(f"direction must be 1 or -1, got {direction!r}")
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise SpecificationError(f"n_jobs must be a non-zero integer (joblib), got {n_jobs!r}")


def _analysis_frame(data: pd.DataFrame, choices: dict, sets: dict, unit: str, time: str,
                    cohort: str, group: str, exit: str) -> pd.DataFrame:
    """The columns the grid needs, with the first-group cluster code when asked for."""
    covariates = tuple(dict.fromkeys(c for cols in sets.values() for c in cols))
    require_columns(data, (unit, time, cohort), "panel column")
    require_columns(data, choices["outcome"], "outcome")
    require_columns(data, covariates, "covariate")
    if "group" in choices["cluster"]:
        _need(group, "group", "the 'group' clustering choice")
        require_columns(data, (group,), "peer-group column (for group clustering)")
    if "no_exits" in choices["sample"]:
        _need(exit, "exit", "the 'no_exits' sample")
        require_columns(data, (exit,), "exit column (for the no_exits sample)")
    keep = [unit, time, cohort, *choices["outcome"], *covariates]
    keep += [exit] if "no_exits" in choices["sample"] else []
    frame = data[list(dict.fromkeys(keep))].copy()
    if "group" in choices["cluster"]:
        frame[GROUP_CLUSTER] = first_group_clusters(data, unit, time, group)
    return frame


def _need(column: str | None, name: str, what: str) -> None:
    if column is None:
        raise SpecificationError(f"{what} needs the {name}= column; got {name}=None")


def first_group_clusters(data: pd.DataFrame, unit: str, time: str, group: str) -> np.ndarray:
    """Cluster code of each row: its unit's first peer group, or the unit alone.

    The first peer group is ``group`` in the unit's earliest row where it is not
    missing. Units with no peer group (never-members) get a cluster each. Codes are
    integers ``0 .. G-1`` (peer groups first), aligned with ``data``.

    Examples
    --------
    >>> fy = pd.DataFrame({"firm": [1, 1, 2, 2, 3], "year": [1, 2, 1, 2, 1],
    ...                    "group": [None, "a", "a", "b", None]})
    >>> first_group_clusters(fy, "firm", "year", "group").tolist()
    [0, 0, 0, 0, 1]
    """
    units, n_units = _codes(data[unit])
    order = np.lexsort((data[time].to_numpy(), units))
    groups = data[group].to_numpy()[order]
    has = pd.notna(groups)
    members, first = np.unique(units[order][has], return_index=True)
    codes, n_groups = _codes(groups[has][first])
    per_unit = np.full(n_units, -1)
    per_unit[members] = codes
    alone = per_unit < 0
    per_unit[alone] = n_groups + np.arange(alone.sum())
    return per_unit[units]


def _codes(values) -> tuple[np.ndarray, int]:
    """Integer codes ``0 .. k-1`` by first appearance, and ``k``."""
    codes, levels = pd.factorize(np.asarray(values, dtype=object))
    return codes, len(levels)


def _sample(frame: pd.DataFrame, name: str, unit: str, time: str, exit: str) -> pd.DataFrame:
    """The rows of the units in sample ``name``."""
    if name == "all":
        return frame
    if name == "no_exits":
        exits = frame.loc[frame[exit] == 1, unit].unique()
        return frame[~frame[unit].isin(exits)]
    periods = frame[time].nunique()
    observed = frame.groupby(unit, observed=True)[time].nunique()
    return frame[frame[unit].isin(observed.index[observed == periods])]


# ----------------------------------------------------------------------- one specification


def _estimate_task(frame, spec, covariates, roles) -> SpecEstimate:
    return estimate_specification(frame, spec, covariates, **roles)


def estimate_specification(frame: pd.DataFrame, spec: Specification,
                           covariates: tuple[str, ...], *, unit: str, time: str, cohort: str,
                           alpha: float = 0.05, seed: Seed = 0) -> SpecEstimate:
    """Fit one specification on its sample; a failure becomes a not-available row.

    Runs with one BLAS thread, so that the numbers do not depend on how many
    specifications run side by side.
    """
    if spec.estimator == "sunab" and covariates:
        return _unavailable(spec, "Sun-Abraham takes no covariates")
    cluster = unit if spec.cluster == "firm" else GROUP_CLUSTER
    if not (frame[cohort] > 0).any():
        return _unavailable(spec, f"the {spec.sample!r} sample has no treated units")
    try:
        with single_threaded_blas():
            res, term, note = _fit(frame, spec, covariates, unit, time, cohort, cluster, seed)
    except (SpecificationError, np.linalg.LinAlgError) as err:
        return _unavailable(spec, str(err))
    except Exception as err:  # one failing specification must not stop the grid
        return _unavailable(spec, f"the estimator failed ({type(err).__name__}: {err})")
    return _summarise(spec, res, term, note, 1 - alpha)


def _fit(frame, spec, covariates, unit, time, cohort, cluster, seed):
    """The fitted result, the term holding the overall effect, and a note."""
    from ipnstats.estimators.did.estimate import participation_effect
    from ipnstats.estimators.did.sunab import sun_abraham

    vcov = Cluster(cluster)
    if spec.estimator == "twfe":
        return _twfe(frame, spec.outcome, covariates, unit, time, cohort, vcov)
    if spec.estimator == "sunab":
        require_columns(frame, (spec.outcome, unit, time, cohort), "column")
        res = sun_abraham(frame, outcome=spec.outcome, unit=unit, time=time, cohort=cohort,
                          vcov=vcov)
        return res, "ATT", ""
    control = "never_treated" if spec.estimator == "cs_never" else "not_yet_treated"
    res = participation_effect(frame, outcome=spec.outcome, unit=unit, time=time, cohort=cohort,
                               estimator="cs", control_group=control, covariates=covariates,
                               vcov=vcov, n_boot=0, seed=seed)
    return res, "ATT", ""


def _twfe(frame, outcome, covariates, unit, time, cohort, vcov):
    """Two-way FE on the absorbing treatment indicator, covariates as regressors."""
    from ipnstats.estimators.panel import panel_regression

    data = frame.assign(**{TREATED: ((frame[cohort] > 0)
                                     & (frame[time] >= frame[cohort])).astype(float)})
    formula = f"{outcome} ~ " + " + ".join((TREATED, *covariates))
    res = panel_regression(data, formula, unit=unit, time=time, panel_effects=("unit", "time"),
                           vcov=vcov)
    if TREATED in res.collinear:
        raise SpecificationError("the treatment indicator is collinear with the fixed "
                                 "effects and covariates")
    dropped = [c for c in res.collinear if c in covariates]
    note = (f"{', '.join(dropped)} dropped: collinear with the fixed effects or regressors"
            if dropped else "")
    return res, TREATED, note


def _summarise(spec: Specification, res, term: str, note: str,
               conf_level: float) -> SpecEstimate:
    row = res.tidy(conf_level=conf_level).set_index("term").loc[term]
    n_clusters = res.n_clusters if res.n_clusters is not None else res.n_units
    numbers = {k: float(row[k]) for k in ("estimate", "std_error", "statistic", "p_value",
                                          "conf_low", "conf_high")}
    if not np.isfinite([numbers["estimate"], numbers["std_error"]]).all():
        return _unavailable(spec, "the estimate or its standard error is not finite")
    if n_clusters is not None and n_clusters < MIN_CLUSTERS:
        return _unavailable(spec, f"only {n_clusters} cluster(s)")
    return SpecEstimate(spec, **numbers, nobs=int(res.nobs), n_units=res.n_units,
                        n_clusters=n_clusters, note=note)


__all__ = ["SpecEstimate", "Specification", "SpecificationCurveResult", "first_group_clusters",
           "specification_curve"]

__getattr__ = renamed_classes(__name__, globals(),
                              {"SpecificationCurve": "SpecificationCurveResult"})
