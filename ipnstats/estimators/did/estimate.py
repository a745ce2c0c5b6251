"""Staggered DiD entry points: :func:`participation_effect` (Callaway & Sant'Anna) and
:func:`twfe_did` (the two-way fixed-effects regression); Sun & Abraham is
:func:`~ipnstats.estimators.did.sunab.sun_abraham`.

Each entry point returns one result type. ``participation_effect(estimator="twfe")``
and ``estimator="sunab"``, which returned a :class:`TWFEResult` or a
:class:`~ipnstats.estimators.did.sunab.SunAbrahamResult` instead of a
:class:`DiDResult`, still work for one minor version with a ``DeprecationWarning``
that names the entry point to call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import deprecated_call, former_defaults
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.estimators.did.att_gt import (
    BasePeriod,
    ControlGroup,
    WidePanel,
    check_base_period,
    group_time_effects,
    wide_panel,
)
from ipnstats.estimators.did.bootstrap import multiplier_bootstrap
from ipnstats.estimators.did.result import CSState, DiDResult
from ipnstats.estimators.linear import FEW_CLUSTERS
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, parse_vcov, require_cr1

if TYPE_CHECKING:
    from ipnstats.estimators.did.sunab import SunAbrahamResult

Estimator = Literal["cs", "twfe", "sunab"]  # "twfe" and "sunab" are deprecated here


@former_defaults(unit="firm_id", time="year", cohort="cohort")
def participation_effect(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                         cohort: str, estimator: Estimator = "cs",
                         control_group: ControlGroup = "not_yet_treated",
                         covariates: Sequence[str] = (), est_method: str = "dr",
                         anticipation: int = 0, vcov: object = None, n_boot: int = 999,
                         seed: Seed = 0, base_period: BasePeriod = "varying"
                         ) -> DiDResult | TWFEResult | SunAbrahamResult:
    """Average effect of a staggered treatment on ``outcome``: Callaway & Sant'Anna (2021).

    Parameters
    ----------
    data
        A unit-by-period panel (``Study.firm_year``) with a ``cohort`` column: the
        first treated period, 0 for never-treated units (R did's convention).
    outcome, unit, time, cohort
        Columns: R did's ``yname``, ``idname``, ``tname`` and ``gname`` (required; the
        study layer passes ``firm_id``, ``year`` and ``cohort``).
    estimator
        ``"cs"``: ATT(g,t), analytic (influence-function) SEs, and
        a multiplier bootstrap (``n_boot`` Mammen draws) for uniform bands.
        Deprecated: ``"twfe"`` (use :func:`twfe_did`) and ``"sunab"`` (use
        :func:`~ipnstats.estimators.did.sunab.sun_abraham`), which return other types.
    control_group
        ``"not_yet_treated"`` or ``"never_treated"``.
    covariates, est_method
        Pre-treatment covariates (taken in each comparison's base period, as R did)
        and the cell estimator: ``"dr"`` (doubly robust, Sant'Anna & Zhao 2020, did's
        default), ``"ipw"`` (normalised inverse probability weighting) or ``"reg"``
        (outcome regression). Without covariates the three coincide.
    anticipation
        Periods before ``cohort`` in which units may already react.
    vcov
        ``None`` (the default) clusters on ``unit``, the panel's own units (did's
        analytic SEs); or ``Cluster(column)`` with a column constant within units
        (e.g. the peer group), which sums influence functions by cluster with a
        ``G/(G-1)`` factor. TWFE and Sun-Abraham take any vcov of
        :func:`~ipnstats.panel_regression`, also clustered on ``unit`` by default.
    n_boot, seed
        Multiplier-bootstrap draws for the uniform bands of ``att_gt`` (``0`` skips
        the bootstrap: analytic standard errors only) and their seed.
    base_period
        R did's ``base_period``. ``"varying"`` (the default, did's): pre-treatment
        ATT(g,t) compare period t with t - 1. ``"universal"``: every ATT(g,t) compares
        with the last period before ``cohort - anticipation``, so pre-treatment cells
        are long differences and the cell at that period is a reference (0, no SE);
        Rambachan & Roth recommend it for event studies read with Honest DiD.
        Post-treatment cells, and the simple, group and calendar aggregations, are the
        same under both.

    Returns
    -------
    DiDResult
        ``params`` is the simple ATT; ``att_gt``, ``aggregate(kind)``,
        ``pretrend_test()``. (A :class:`TWFEResult` or ``SunAbrahamResult`` only for the
        deprecated ``estimator`` values.)

    Examples
    --------
    >>> res = ipnstats.participation_effect(fy, outcome="log_revenue", unit="firm_id",
    ...                                     time="year", cohort="cohort")  # doctest: +SKIP
    >>> res.aggregate("event").tidy()  # doctest: +SKIP
    """
    require_columns(data, (outcome, unit, time, cohort), "column")
    if control_group not in ("not_yet_treated", "never_treated"):
        raise SpecificationError("control_group must be 'not_yet_treated' or 'never_treated', "
                                 f"got {control_group!r}")
    check_base_period(base_period)
    spec = parse_vcov(Cluster(unit) if vcov is None else vcov)
    if estimator in ("twfe", "sunab") and len(tuple(covariates)):
        raise SpecificationError(
            f"covariates are used by estimator='cs' only; estimator={estimator!r} would "
            "ignore them (for TWFE with covariates use panel_regression)")
    if estimator == "twfe":
        deprecated_call("participation_effect(estimator='twfe') is deprecated: it returns a "
                        "TWFEResult, not a DiDResult; call twfe_did(...) instead")
        return _twfe(data, outcome, unit, time, cohort, spec)
    if estimator == "sunab":
        deprecated_call("participation_effect(estimator='sunab') is deprecated: it returns a "
                        "SunAbrahamResult, not a DiDResult; call sun_abraham(...) instead")
        return _sunab(data, outcome, unit, time, cohort, control_group, spec)
    if estimator != "cs":
        raise SpecificationError(f"estimator must be 'cs', 'twfe' or 'sunab', got {estimator!r}")
    covariates = tuple(covariates)
    require_columns(data, covariates, "covariate")
    if est_method not in ("dr", "ipw", "reg"):
        raise SpecificationError(f"est_method must be 'dr', 'ipw' or 'reg', got {est_method!r}")
    with single_threaded_blas():
        return _cs(data, outcome, unit, time, cohort, control_group, anticipation, spec,
                   n_boot, seed, covariates, est_method, base_period)


def _cs(data, outcome, unit, time, cohort, control_group, anticipation, spec, n_boot, seed,
        covariates=(), est_method="dr", base_period="varying"):
    panel = wide_panel(data, outcome, unit, time, cohort, anticipation, covariates)
    gt = group_time_effects(panel, control_group, anticipation, est_method, base_period)
    if gt.cells.empty or (gt.cells["att"].notna() & ~gt.cells["reference"]).sum() == 0:
        raise SpecificationError(
            f"no ATT(g,t) can be estimated for {outcome!r}: no treated cohort has a base "
            f"period and comparison units ({panel.n_always_treated:,} always-treated and "
            f"{panel.n_no_base:,} treated units without a base period were left out)")
    clusters, notes = _clusters(data, panel, unit, spec)
    rng = as_generator(seed)
    state = CSState(gt, panel.cohorts, clusters, panel.units, base_period=base_period)
    if n_boot:
        se, crit = multiplier_bootstrap(gt.influence, n_boot=n_boot, rng=rng, clusters=clusters)
        state = replace(state, boot_se=se, band_crit=crit)
    method = {"dr": "doubly robust", "ipw": "IPW", "reg": "outcome regression"}[est_method]
    label = f"Callaway-Sant'Anna ({control_group.replace('_', '-')} controls"
    label += ", universal base period" if base_period == "universal" else ""
    label += f"; {method} on {', '.join(covariates)})" if covariates else ")"
    result = DiDResult(
        params=pd.Series(dtype=float), cov=pd.DataFrame(), vcov=spec, df_inference=None,
        estimator=label,
        outcome=outcome, nobs=int(panel.Y.size), n_units=int(panel.Y.shape[0]),
        n_clusters=None if clusters is None else int(clusters.max()) + 1,
        fixed_effects=(unit, time), notes=_panel_notes(panel, gt), inference_notes=notes,
        seed=recorded_seed(seed), n_boot=n_boot or None, state=state,
        extra={"base_period": base_period})
    simple = result.aggregate("simple")
    notes = result.notes + _pretrend_notes(result)
    return replace(result, params=simple.params, cov=simple.cov, notes=notes)


PRETREND_ALPHA = 0.05
PRETREND_WINDOW = -4
SMALL_COHORT = 5


def _pretrend_notes(result: DiDResult) -> tuple[str, ...]:
    """A warning when pre-treatment effects are jointly non-zero.

    The test is R did's (every pre-treatment ATT(g,t)) when every cohort has more
    treated units than pre-treatment cells; otherwise (or when that covariance is
    near singular) the event-time aggregates from ``PRETREND_WINDOW`` to -1 are
    tested (the leads an event-study figure shows; far leads rest on few cohorts).
    """
    cells = result.state.gt.cells
    pre = cells[~cells["post"] & cells["att"].notna() & ~cells["reference"]]
    if pre.empty:
        return ()
    _, cohort = np.unique(pre["group"].to_numpy(), return_inverse=True)
    smallest = np.full(cohort.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, cohort, pre["n_treated"].to_numpy())
    if (np.bincount(cohort) < smallest).all():
        test = result.pretrend_test()
    else:  # more pre-cells than units in a cohort: that covariance is rank deficient
        test = result.pretrend_test(by="event", earliest=PRETREND_WINDOW)
    if test.note:
        test = result.pretrend_test(by="event", earliest=PRETREND_WINDOW)
    if test.p_value >= PRETREND_ALPHA:
        return ()
    p = "p < 0.001" if test.p_value < 0.001 else f"p = {test.p_value:.3f}"
    return (Note("pretrend_rejected",
        f"Pre-trend test rejects ({test.hypothesis}: chi2({test.df_num}) = "
        f"{test.statistic:.2f}, {p}): parallel trends are in doubt, and the ATT may be "
        "biased."),)


def _clusters(data, panel: WidePanel, unit: str, spec) -> tuple[np.ndarray | None, tuple]:
    if not isinstance(spec, Cluster):
        raise SpecificationError("the Callaway-Sant'Anna estimator takes vcov=Cluster(...): "
                                 "its analytic SEs are clustered on units at least")
    if len(spec.columns) != 1:
        raise SpecificationError("the Callaway-Sant'Anna estimator clusters on one column")
    require_cr1(spec, "the Callaway-Sant'Anna estimator (influence functions)")
    col = spec.columns[0]
    if col == unit:
        return None, ()
    require_columns(data, (col,), "cluster column")
    codes = _unit_clusters(data, unit, col, panel.units)
    g = int(codes.max()) + 1
    notes = ((Note("few_clusters",
        f"Only {g} clusters in {col!r}: cluster-robust standard errors can be too "
        f"small with fewer than {FEW_CLUSTERS} clusters."),) if g < FEW_CLUSTERS else ())
    return codes, notes


def _unit_clusters(data: pd.DataFrame, unit: str, col: str, units: np.ndarray) -> np.ndarray:
    """Each of ``units``' cluster in ``col`` (codes in order of first appearance); an
    error when a unit spans clusters or has no cluster. Missing values are ignored."""
    unit_codes, all_units = pd.factorize(data[unit], sort=True)
    cluster_codes, _ = pd.factorize(data[col])
    valid = (unit_codes >= 0) & (cluster_codes >= 0)
    unit_codes, cluster_codes = unit_codes[valid], cluster_codes[valid]
    first = np.full(len(all_units), -1)
    first[unit_codes] = cluster_codes  # one observation's cluster, for each unit
    varying = np.unique(unit_codes[first[unit_codes] != cluster_codes]).size
    if varying:
        raise SpecificationError(f"cluster column {col!r} varies within {varying:,} "
                                 f"units; clusters must contain whole units")
    position = all_units.get_indexer(units)
    per_unit = np.where(position >= 0, first[position], -1)
    if (per_unit < 0).any():
        raise SpecificationError(f"cluster column {col!r} is missing for every row of "
                                 f"{int((per_unit < 0).sum()):,} units")
    return pd.factorize(per_unit)[0]


def _panel_notes(panel: WidePanel, gt) -> tuple[str, ...]:
    notes = []
    if panel.n_incomplete:
        notes.append(Note("unbalanced_panel",
            f"The panel is unbalanced ({panel.n_incomplete:,} units miss some periods): "
            "each ATT(g,t) uses the units observed in t and in its base period."))
    if panel.n_always_treated:
        notes.append(Note("always_treated_dropped",
            f"{panel.n_always_treated:,} units treated in or before the first period "
            "(always treated) were left out: they have no pre-period."))
    if panel.n_no_base:
        notes.append(Note("no_base_period",
            f"{panel.n_no_base:,} treated units have no outcome in the period before "
            "treatment and were left out: they have no base period to compare with."))
    if panel.n_late_cohort:
        notes.append(Note("late_cohort",
            f"{panel.n_late_cohort:,} units first treated after the last period count "
            "as never treated."))
    small = gt.cells[(gt.cells["n_treated"] > 0) & (gt.cells["n_treated"] < SMALL_COHORT)]
    if len(small):
        groups = ", ".join(str(int(g)) for g in small["group"].unique())
        notes.append(Note("small_cohorts",
            f"Cohorts with fewer than {SMALL_COHORT} units in some cells ({groups}): "
            "their ATT(g,t) and its analytic standard error are imprecise."))
    failed = gt.cells[gt.cells["problem"] != ""]
    for _, cell in failed.iterrows():
        notes.append(Note("cell_not_estimated",
            f"ATT({int(cell['group'])}, {int(cell['time'])}) could not be estimated "
            f"and is left out: {cell['problem']}"))
    empty = gt.cells[gt.cells["att"].isna() & (gt.cells["problem"] == "")]
    if len(empty):
        cells = ", ".join(f"({int(g)}, {int(t)})" for g, t in zip(empty["group"], empty["time"],
                                                                 strict=True))
        notes.append(Note("no_controls",
            f"No control units for ATT(g,t) at {cells}; those cells are not "
            "identified and are left out of the aggregations."))
    return tuple(notes)


def _sunab(data, outcome, unit, time, cohort, control_group, spec):
    from ipnstats.estimators.did.sunab import sun_abraham

    res = sun_abraham(data, outcome=outcome, unit=unit, time=time, cohort=cohort, vcov=spec)
    if control_group == "not_yet_treated":
        res = replace(res, notes=res.notes + (
            Note("never_treated_only",
                "Sun-Abraham compares with never-treated units (not with not-yet-treated ones)."),))
    return res


@dataclass(frozen=True, repr=False)
class TWFEResult(Result):
    """The two-way fixed-effects DiD estimate (term ``ATT``) and its decomposition."""

    panel: tuple = field(default=(), repr=False, compare=False)

    def decomposition(self) -> pd.DataFrame:
        """Goodman-Bacon (2021): every 2x2 comparison behind the estimate, with weights.

        The decomposition needs a balanced panel; on an unbalanced one it is computed
        on the units observed in every period (``attrs["note"]`` says how many), whose
        TWFE estimate can differ from this result's. See ``bacon_summary`` for totals
        by comparison type.
        """
        from ipnstats.estimators.did.bacon import bacon_decomposition

        data, outcome, unit, time, cohort = self.panel
        frame = data[[unit, time, outcome, cohort]].dropna(subset=[outcome])
        counts = frame.groupby(unit, observed=True)[time].nunique()
        full = counts.index[counts == frame[time].nunique()]
        out = bacon_decomposition(frame[frame[unit].isin(full)], outcome=outcome, unit=unit,
                                  time=time, cohort=cohort)
        dropped = counts.size - full.size
        out.attrs["note"] = (f"Computed on the {full.size:,} units observed in every period "
                             f"({dropped:,} left out)." if dropped else "")
        return out


def twfe_did(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
             vcov: object = None) -> TWFEResult:
    """The two-way fixed-effects DiD regression on the absorbing treatment indicator.

    ``outcome ~ 1[cohort > 0 and time >= cohort]`` with unit and time fixed effects
    (fixest ``feols(y ~ treat | unit + time)``); a note warns when adoption is staggered,
    and ``.decomposition()`` gives the Goodman-Bacon (2021) decomposition.

    Parameters
    ----------
    data
        A unit-by-period panel with ``cohort`` (first treated period, 0 = never).
    outcome, unit, time, cohort
        Columns (R did's ``yname``, ``idname``, ``tname``, ``gname``).
    vcov
        Any vcov of :func:`~ipnstats.panel_regression`; ``None`` clusters on ``unit``.

    Returns
    -------
    TWFEResult
        The term ``ATT``.

    Examples
    --------
    >>> twfe_did(fy, outcome="log_revenue", unit="firm_id", time="year",
    ...          cohort="cohort").tidy()  # doctest: +SKIP
    """
    require_columns(data, (outcome, unit, time, cohort), "column")
    return _twfe(data, outcome, unit, time, cohort, parse_vcov(Cluster(unit) if vcov is None
                                                               else vcov))


def _twfe(data, outcome, unit, time, cohort, spec):
    from ipnstats.estimators.panel import panel_regression

    frame = data.assign(_treated=((data[cohort] > 0) & (data[time] >= data[cohort])).astype(float))
    result = panel_regression(frame, f"{outcome} ~ _treated", unit=unit, time=time,
                              panel_effects=("unit", "time"), vcov=spec)
    cohorts = np.unique(data.loc[data[cohort] > 0, cohort])
    notes = result.notes
    if cohorts.size > 1:
        notes += (Note("staggered_twfe",
            f"Adoption is staggered ({cohorts.size} cohorts): the two-way fixed-effects "
            "estimate mixes comparisons with already-treated units and can differ from "
            "the group-time ATT (Goodman-Bacon 2021); compare with estimator='cs'."),)
    params = result.params.rename({"_treated": "ATT"})
    cov = result.cov.rename(index={"_treated": "ATT"}, columns={"_treated": "ATT"})
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(Result)}
    return TWFEResult(**(fields | {"params": params, "cov": cov, "notes": notes,
                                   "estimator": "two-way fixed effects"}),
                      panel=(data, outcome, unit, time, cohort))
