"""Linear panel regression: within, random (Swamy-Arora), pooled, first difference, between.

``panel_regression`` is the entry point; each estimator is a small function that
transforms the data and calls :func:`~ipnstats.estimators.linear.ols`. The conventions
match Stata's ``xtreg`` (``fe``, ``re``, ``be``) and ``regress``; see
``docs/inference.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from ipnstats.core.demean import absorbed_dof, complete_grid, demean, group_means
from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import Design, SpecificationError, build_design, require_columns
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.linear import Absorbed, LinearEngine, OLSFit, ols
from ipnstats.estimators.observation_weights import (
    ObservationWeights,
    WeightsType,
    check_constant_within_units,
    check_estimator,
    effect_leverage,
    parse_weights,
    weighted_design,
    weighted_ols,
)
from ipnstats.estimators.panel_effects import (
    FormulaEffects,
    formula_effects,
    in_order,
    redundancy_notes,
    restrict,
    with_extra_effects,
)
from ipnstats.estimators.random_effects import RE_METHODS, REMethod
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import SSC, Cluster, parse_ssc, parse_vcov

Estimator = Literal["within", "random", "pooled", "first_difference", "between"]
Effect = Literal["unit", "time"]
LABELS = {"within": "within (fixed effects)", "random": "random effects (Swamy-Arora GLS)",
          "pooled": "pooled OLS", "first_difference": "first difference", "between": "between"}


@dataclass(frozen=True)
class Panel:
    """The estimation rows: design, unit and time codes, and the user's frame."""

    design: Design
    data: pd.DataFrame
    unit: str
    time: str
    unit_codes: np.ndarray
    time_values: np.ndarray
    effects: frozenset[str]
    #: observation weights of the design's rows (None: unweighted), their column and kind
    weights: np.ndarray | None = None
    weighting: ObservationWeights | None = None
    weight_notes: tuple[str, ...] = ()
    #: fixed effects after '|' other than unit and time, and every absorbed effect's order
    extra: tuple[Absorbed, ...] = ()
    order: tuple[str | int, ...] = ()

    @property
    def frequency(self) -> bool:
        return self.weighting is not None and self.weighting.frequency


@dataclass(frozen=True)
class PanelFit:
    """What one estimator hands back for assembling the result."""

    ols: OLSFit
    engine: LinearEngine
    n_units: int
    fixed_effects: tuple[str, ...]
    fit: dict
    extra: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    n_singletons: int = 0
    label: str = ""


@renamed(effects="panel_effects")
def panel_regression(data: pd.DataFrame, formula: str, *, unit: str | None = None,
                     time: str | None = None,
                     panel_effects: Sequence[Effect] | None = None,
                     estimator: Estimator = "within",
                     vcov: object = "iid", drop_singletons: bool = False,
                     ssc: SSC | None = None, re_method: REMethod = "stata",
                     weights: str | None = None,
                     weights_type: WeightsType = "aweights") -> Result:
    """Linear panel regression of a firm-year (or any unit-time) frame.

    Parameters
    ----------
    data
        One row per unit and period.
    formula
        ``"outcome ~ x1 + x2"`` (formulaic syntax: ``C(industry)``, ``x1:x2``,
        ``np.log(x)``; ``0 +`` drops the intercept), optionally followed by fixed effects
        to absorb as in R fixest and pyfixest: ``"y ~ x | firm_id + year"``, and
        ``industry^year`` for one fixed effect per industry-year. After ``|`` the
        ``unit``/``time`` columns are the panel's effects and any other column an
        additional absorbed effect; ``pooled`` with ``|`` is ``within``; ``random``,
        ``first_difference`` and ``between`` refuse ``|``. fixest-only constructs
        (varying slopes ``firm_id[x]``, IV, ``i()``, ``sw()``/``csw()``) are errors that
        say what to write. Degrees of freedom with three or more absorbed effects:
        ``docs/inference.md``.
    unit, time
        Columns identifying the unit (firm) and the period (required: they give the
        panel its structure, ``|`` or not).
    panel_effects
        Which panel effects the model holds (formerly ``effects=``). ``within``:
        absorbed ``"unit"`` and/or ``"time"`` fixed effects (default both; with ``|``
        the formula decides, and ``panel_effects`` given must agree with it).
        ``random``: the ``"unit"`` random effect, plus time dummies with ``"time"``.
        ``first_difference``: ``"unit"`` effects are differenced away, ``"time"`` adds
        period dummies to the differenced equation. ``pooled``: none, or time dummies. ``between``:
        regression of unit means.
    estimator
        ``"within"``, ``"random"``, ``"pooled"``, ``"first_difference"`` or ``"between"``.
    vcov
        ``"iid"``, ``"hc1"``, ``"hc3"`` (and ``"hc0"``, ``"hc2"``),
        :class:`ipnstats.Cluster` or, on exchange data, ``Dyadic(sender, receiver)``
        (:class:`ipnstats.results.vcov.Dyadic`; not for ``"between"``). Change it later
        with ``result.with_vcov``.
    drop_singletons
        Drop observations alone in a fixed-effect group (reghdfe's default). By
        default they are kept, as in fixest and xtreg, and counted on the result.
    ssc
        Small-sample corrections (:class:`ipnstats.SSC`, as pyfixest's ``ssc()``);
        None: ``SSC()``, Stata's and fixest's defaults (see :mod:`ipnstats.results.vcov`).
    re_method
        How ``estimator="random"`` estimates its variance components: ``"stata"``
        (Swamy-Arora as Stata's ``xtreg, re``, the default), or R plm's
        ``random.method``: ``"swar"`` (Swamy-Arora as plm computes it, which differs
        from Stata's in unbalanced panels), ``"amemiya"``, ``"walhus"``, ``"nerlove"``.
        See ``docs/inference.md``. Refused for other estimators.
    weights
        A column of observation weights (None: unweighted): weighted least squares, the
        within transformation with weighted means (pyfixest, reghdfe), weighted R².
        Rows with a missing weight are left out and counted like rows missing a formula
        variable; rows of zero weight are dropped with a note (as Stata); a negative,
        infinite or (fweights) non-integer weight is an error. ``pooled`` and
        ``within`` take any positive weights; ``first_difference`` only weights
        constant within units; ``random`` and ``between`` none (Stata's ``xtreg``
        rules). ``wild_bootstrap`` refuses weighted fits.
    weights_type
        ``"aweights"`` (analytic: ``Var(u_i) = sigma^2 / w_i``, ``n`` counts rows) or
        ``"fweights"`` (frequency: each row stands for ``w_i`` observations, ``n =
        sum(w)`` in every degree of freedom), as pyfixest's ``weights_type`` and Stata's
        ``[aweight=]``/``[fweight=]``. ``glance()`` shows ``weights`` (e.g.
        ``"aweights(employees)"``).

    Returns
    -------
    Result
        Terms dropped for collinearity are listed in ``result.collinear``.

    Examples
    --------
    >>> import ipnstats
    >>> fy = ipnstats.load_study("data/example").firm_year  # doctest: +SKIP
    >>> res = ipnstats.panel_regression(fy, "log_revenue ~ member + log_employees",
    ...                                 unit="firm_id", time="year",
    ...                                 vcov=ipnstats.Cluster("firm_id"))  # doctest: +SKIP
    >>> res.tidy()  # doctest: +SKIP
    >>> ipnstats.panel_regression(fy, "log_revenue ~ member | firm_id + industry^year",
    ...                           unit="firm_id", time="year")  # doctest: +SKIP
    """
    if estimator not in LABELS:
        raise SpecificationError(f"estimator must be one of {', '.join(LABELS)}; got {estimator!r}")
    fx = formula_effects(formula, estimator, panel_effects, unit, time)
    estimator, eff = fx.estimator, fx.panel_effects
    _check_re_method(estimator, re_method)
    spec = parse_vcov(vcov, dyadic=True)
    ssc = parse_ssc(ssc)
    weighting = parse_weights(weights, weights_type)
    check_estimator(weighting, estimator)
    require_columns(data, (unit, time), "panel column")
    panel = _panel(data, fx, unit, time, eff, weighting)
    fitter = {"within": _within, "random": _random, "pooled": _pooled,
              "first_difference": _first_difference, "between": _between}[estimator]
    with single_threaded_blas():  # tall, thin products: threads only risk stalls
        fit = (fitter(panel, drop_singletons) if estimator == "within"
               else fitter(panel, re_method) if estimator == "random" else fitter(panel))
        return _result(panel, fit, spec, estimator, formula, ssc)


def _check_re_method(estimator: str, re_method: str) -> None:
    if re_method not in RE_METHODS:
        raise SpecificationError(f"re_method must be one of {', '.join(RE_METHODS)}; "
                                 f"got {re_method!r}")
    if re_method != "stata" and estimator != "random":
        raise SpecificationError(f"re_method={re_method!r} chooses the variance components "
                                 f"of estimator='random'; the {estimator} estimator has none "
                                 "(leave re_method at 'stata')")


def _panel(data: pd.DataFrame, fx: FormulaEffects, unit: str, time: str,
           effects: frozenset[str], weighting: ObservationWeights | None = None) -> Panel:
    design = build_design(data, fx.formula)
    if design.y.size == 0:
        raise SpecificationError(
            f"no complete rows: each of the {len(data):,} rows has a missing value in a "
            f"variable of {fx.formula!r} ({design.n_missing:,} left out)")
    design, extra = with_extra_effects(design, data, fx.extra, fx.formula)
    weights, weight_notes = None, ()
    if weighting is not None:
        before = design.rows
        design, weights, weight_notes = weighted_design(design, data, weighting)
        if extra and before.size != design.rows.size:  # rows of missing or zero weight
            extra = tuple(restrict(extra, np.isin(before, design.rows, assume_unique=True)))
    for col in (unit, time):
        missing = data[col].isna().to_numpy()[design.rows]
        if missing.any():
            raise SpecificationError(f"panel column {col!r} is missing in {missing.sum():,} "
                                     "rows; drop or fill them first")
    codes, _ = pd.factorize(data[unit].to_numpy()[design.rows])
    times = data[time].to_numpy()[design.rows]
    return Panel(design, data, unit, time, codes, times, effects, weights, weighting,
                 weight_notes, extra, fx.order)


def _time_dummies(times: np.ndarray, name: str, drop_first: bool) -> tuple[np.ndarray, list[str]]:
    levels = np.unique(times)
    levels = levels[1:] if drop_first else levels
    X = (times[:, None] == levels[None, :]).astype(float)
    return X, [f"{name}::{v}" for v in levels]


def _with_time_dummies(p: Panel, X: np.ndarray, names: tuple[str, ...],
                       times: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    if "time" not in p.effects:
        return X, names
    D, dnames = _time_dummies(times, p.time, drop_first=p.design.intercept)
    return np.column_stack([X, D]), names + tuple(dnames)


def _engine(fit: OLSFit, X: np.ndarray, p: Panel, rows: np.ndarray,
            weights: np.ndarray | None = None, **kw) -> LinearEngine:
    """The covariance engine; with ``weights``, ``X`` and the residuals are the
    ``sqrt(w)``-scaled regression's (see :class:`LinearEngine`)."""
    X = X if fit.keep.all() else X[:, fit.keep]
    return LinearEngine(X=X, resid=fit.resid, bread=fit.bread, data=p.data, rows=rows,
                        weights=weights, frequency=p.frequency and weights is not None,
                        cr2=True, **kw)


def _singleton_mask(effects: list[tuple[np.ndarray, int]],
                    frequency: np.ndarray | None = None) -> np.ndarray:
    """Observations alone in a fixed-effect group (by the sum of ``frequency`` weights)."""
    mask = np.zeros(effects[0][0].size, bool)
    for codes, g in effects:
        single = np.bincount(codes, weights=frequency, minlength=g) == 1
        if single.any():
            mask |= single[codes]
    return mask


def _fe_codes(p: Panel, keep: np.ndarray) -> list[Absorbed]:
    """The absorbed effects on the kept rows: unit, time and those after '|' (in the
    formula's order)."""
    sets: dict[str | int, Absorbed] = {}
    if "unit" in p.effects:  # already codes 0..G-1 in order of appearance
        sets["unit"] = Absorbed(p.unit, p.unit_codes, int(p.unit_codes.max()) + 1)
    if "time" in p.effects:
        codes, levels = pd.factorize(p.time_values)
        sets["time"] = Absorbed(p.time, codes, len(levels))
    sets |= dict(enumerate(p.extra))
    return restrict(in_order(sets, p.order), keep)


def _within(p: Panel, drop_singletons: bool) -> PanelFit:
    keep = np.ones(p.design.y.size, bool)
    freq = p.weights if p.frequency else None
    absorbed = _fe_codes(p, keep)
    singles = _singleton_mask([(a.codes, a.n_levels) for a in absorbed], freq)
    n_single = int(singles.sum())
    while drop_singletons and singles.any():
        keep[np.flatnonzero(keep)[singles]] = False
        absorbed = _fe_codes(p, keep)
        singles = _singleton_mask([(a.codes, a.n_levels) for a in absorbed],
                                  None if freq is None else freq[keep])
    everything = keep.all()
    y = p.design.y if everything else p.design.y[keep]
    w = p.weights if p.weights is None or everything else p.weights[keep]
    M, names = _outcome_and_slopes(p.design, None if everything else keep)
    reference = _centred_ss(M[:, 1:], w)
    effects = [(a.codes, a.n_levels) for a in absorbed]
    grid = complete_grid(effects)
    M, iters, converged = demean(M, effects, grid=grid, overwrite=True, weights=w)
    if w is not None:  # the weighted regression: each row times sqrt(w)
        M *= np.sqrt(w)[:, None]
    fit = ols(M[:, 1:], M[:, 0], names, reference=reference)
    k_abs = absorbed_dof(effects, grid=grid)
    rows = p.design.rows if everything else p.design.rows[keep]
    engine = _engine(fit, M[:, 1:], p, rows, w, absorbed=tuple(absorbed), absorbed_df=k_abs,
                     leverage_extra=effect_leverage(effects, w),
                     column_codes=tuple(absorbed))
    stats = fit_statistics(y, fit.resid if w is None else fit.resid / np.sqrt(w),
                           len(fit.beta) + k_abs, centered=True,
                           tss_within=float(M[:, 0] @ M[:, 0]), weights=w,
                           frequency=p.frequency)
    notes = _singleton_notes(n_single, drop_singletons) + redundancy_notes(absorbed)
    if not converged:
        notes += (Note("not_converged",
            f"The within transformation did not converge in {iters} iterations."),)
    n_units = _n_levels(p.unit_codes if everything else p.unit_codes[keep])
    return PanelFit(fit, engine, n_units, tuple(a.column for a in absorbed), stats,
                    notes=notes, n_singletons=n_single)


def _outcome_and_slopes(d: Design, keep: np.ndarray | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """``[y, X without the intercept]`` of the kept rows as one Fortran-ordered matrix
    (each column contiguous for the within transformation), and the slope names.

    Copied in blocks of rows, each read once from the row-major design.
    """
    slopes = np.array([i for i, n in enumerate(d.names) if n != "Intercept"], dtype=np.intp)
    rows = None if keep is None else np.flatnonzero(keep)
    n = d.y.size if rows is None else rows.size
    M = np.empty((n, 1 + slopes.size), order="F")
    M[:, 0] = d.y if rows is None else d.y[rows]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        block = d.X[start:stop] if rows is None else d.X[rows[start:stop]]
        M[start:stop, 1:] = block[:, slopes]
    return M, tuple(d.names[i] for i in slopes)


_BLOCK = 2**16


def _centred_ss(M: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of squares around the mean of each column (weighted, with ``weights``)."""
    scratch = np.empty(M.shape[0])
    out = np.empty(M.shape[1])
    for j in range(M.shape[1]):
        if weights is None:
            np.subtract(M[:, j], M[:, j].mean(), out=scratch)
            out[j] = scratch @ scratch
        else:
            np.subtract(M[:, j], weights @ M[:, j] / weights.sum(), out=scratch)
            out[j] = weights @ scratch**2
    return out


def _n_levels(codes: np.ndarray) -> int:
    """Distinct values among non-negative integer codes."""
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def _singleton_notes(n: int, dropped: bool) -> tuple[str, ...]:
    if not n:
        return ()
    verb = "were dropped" if dropped else "were kept (drop_singletons=True drops them)"
    return (Note("singleton_dropped" if dropped else "singletons_kept",
        f"{n:,} observations are alone in a fixed-effect group (singletons) and {verb}."),)


def _pooled(p: Panel) -> PanelFit:
    X, names = _with_time_dummies(p, p.design.X, p.design.names, p.time_values)
    fit, X, resid = weighted_ols(X, p.design.y, names, p.weights)
    stats = fit_statistics(p.design.y, resid, len(fit.beta), centered=p.design.intercept,
                           weights=p.weights, frequency=p.frequency)
    fe = (p.time,) if "time" in p.effects else ()
    return PanelFit(fit, _engine(fit, X, p, p.design.rows, p.weights),
                    _n_levels(p.unit_codes), fe, stats)


@dataclass(frozen=True)
class BetweenEngine(LinearEngine):
    """The between regression's covariance: one row per unit, so a cluster column must
    be constant within each unit (as linearmodels' BetweenOLS requires); a column that
    varies within units is refused rather than read off each unit's first row."""

    panel_rows: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    panel_units: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    dyadic: ClassVar[bool] = False

    def compute(self, spec):
        if isinstance(spec, Cluster):
            for column in spec.columns:
                require_columns(self.data, (column,), "cluster column")
                values = pd.Series(self.data[column].to_numpy()[self.panel_rows])
                varies = values.groupby(self.panel_units).nunique(dropna=False) > 1
                if varies.any():
                    raise SpecificationError(
                        f"the between estimator has one row per unit, so its clusters must "
                        f"be constant within units; {column!r} varies within "
                        f"{int(varies.sum()):,} unit(s): cluster by a unit-level column")
        return super().compute(spec)


def _between(p: Panel) -> PanelFit:
    d = p.design
    g = int(p.unit_codes.max()) + 1
    means = group_means(np.column_stack([d.y, d.X]), p.unit_codes, g)
    fit = ols(means[:, 1:], means[:, 0], d.names)
    first = np.unique(p.unit_codes, return_index=True)[1]
    stats = fit_statistics(means[:, 0], fit.resid, len(fit.beta), centered=d.intercept)
    X = means[:, 1:] if fit.keep.all() else means[:, 1:][:, fit.keep]
    engine = BetweenEngine(X=X, resid=fit.resid, bread=fit.bread, data=p.data,
                           rows=d.rows[first], panel_rows=d.rows, panel_units=p.unit_codes,
                           cr2=True)
    return PanelFit(fit, engine, g, (), stats, extra={"n_obs_panel": d.y.size})


def _first_difference(p: Panel) -> PanelFit:
    d = p.design
    if not np.issubdtype(np.asarray(p.time_values).dtype, np.number):
        raise SpecificationError(f"first differences need a numeric time column; {p.time!r} "
                                 "is not numeric")
    if p.weighting is not None:
        check_constant_within_units(p.weighting, p.weights, p.unit_codes)
    order = np.lexsort((p.time_values, p.unit_codes))
    prev, cur = order[:-1], order[1:]
    ok = (p.unit_codes[prev] == p.unit_codes[cur]) & (p.time_values[cur] - p.time_values[prev] == 1)
    prev, cur = prev[ok], cur[ok]
    X = d.X[cur] - d.X[prev]
    if d.intercept:
        X[:, list(d.names).index("Intercept")] = 1.0
    X, names = _with_time_dummies(p, X, d.names, p.time_values[cur])
    y = d.y[cur] - d.y[prev]
    w = None if p.weights is None else p.weights[cur]  # constant within units (checked)
    fit, X, resid = weighted_ols(X, y, names, w)
    stats = fit_statistics(y, resid, len(fit.beta), centered=d.intercept, weights=w,
                           frequency=p.frequency)
    lost = d.y.size - cur.size
    notes = (Note("no_previous_period",
        f"{lost:,} observations have no previous period (first period or a gap) and "
        "give no difference."),) if lost else ()
    fe = (p.unit,) + ((p.time,) if "time" in p.effects else ())
    return PanelFit(fit, _engine(fit, X, p, d.rows[cur], w), _n_levels(p.unit_codes[cur]),
                    fe, stats, notes=notes)


def _random(p: Panel, re_method: str = "stata") -> PanelFit:
    from ipnstats.estimators.random_effects import random_effects

    if not p.design.intercept:
        raise SpecificationError("random effects need an intercept; remove '0 +' or '- 1' "
                                 "from the formula")
    X, names = _with_time_dummies(p, p.design.X, p.design.names, p.time_values)
    fit, Xs, stats, extra = random_effects(p.design.y, X, names, p.unit_codes, re_method)
    engine = _engine(fit, Xs, p, p.design.rows, normal=True)
    fe = (p.time,) if "time" in p.effects else ()
    label = "" if re_method == "stata" else f"random effects (GLS, plm random.method={re_method!r})"
    return PanelFit(fit, engine, _n_levels(p.unit_codes), fe, stats, extra=extra, label=label)


def _result(p: Panel, fit: PanelFit, spec, estimator: str, formula: str,
            ssc: SSC | None = None) -> Result:
    names = pd.Index(fit.ols.names)
    engine = fit.engine if ssc is None else fit.engine.with_ssc(ssc)
    inf = engine.compute(spec)
    notes = p.weight_notes + fit.notes
    if p.design.n_missing:
        where = ("a formula variable" if p.weighting is None else
                 f"a formula variable or the weights column {p.weighting.column!r}")
        notes = (Note("missing_dropped",
            f"{p.design.n_missing:,} rows with a missing value in {where} "
            "were left out."),) + notes
    if fit.ols.collinear:
        notes += (Note("collinear_dropped",
            "Dropped as collinear (with other regressors or the fixed effects): "
            + ", ".join(fit.ols.collinear) + "."),)
    return Result(
        params=pd.Series(fit.ols.beta, index=names), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=names, columns=names), df_inference=inf.df,
        estimator=fit.label or LABELS[estimator], outcome=p.design.outcome, formula=formula,
        nobs=engine.nobs, n_units=fit.n_units, n_clusters=inf.n_clusters,
        fixed_effects=fit.fixed_effects, fit=fit.fit,
        extra=fit.extra if p.weighting is None else
        dict(fit.extra) | {"weights": p.weighting.describe()},
        collinear=fit.ols.collinear, n_singletons=fit.n_singletons, notes=notes,
        inference_notes=inf.notes, engine=engine,
        df_terms=None if inf.df_terms is None else pd.Series(inf.df_terms, index=names),
        contrast_df=inf.contrast_df, joint_test=inf.joint_test)


__all__ = ["panel_regression"]
