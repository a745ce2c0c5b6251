"""Callaway & Sant'Anna (2021) group-time average treatment effects.

Pure functions on a wide panel ``Y`` (units x periods). Without covariates each
ATT(g,t) is a difference in mean outcome changes between cohort ``g`` and its
controls, from the base period to ``t`` (with covariates, a :mod:`.drdid` cell
estimator); its influence function (one value per unit, zero outside
cohort and controls) gives analytic standard errors, joint tests, the aggregations
and the multiplier bootstrap.

Conventions follow R ``did::att_gt``. Post-treatment cells (t >= g) compare with the
last period before ``g - anticipation`` (``g - 1 - anticipation`` in a regular panel).
With ``base_period = "varying"`` (did's default) pre-treatment cells compare with
``t - 1``; with ``"universal"`` every cell compares with that same period (pre-treatment
cells are long differences, from the first period on) and the cell at the base period
itself is a reference: ATT 0 with a zero influence function (no standard error), as
did and moderndid. Not-yet-treated controls at (g, t) are never-treated units and units
of cohorts later than ``max(t, base) + anticipation`` (cohort g excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators.did.mean_change import LevelCell, mean_change_cells
from ipnstats.inference.sandwich import cluster_factor, cluster_sums

ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["varying", "universal"]
BASE_PERIODS = ("varying", "universal")


def check_base_period(base_period: object) -> None:
    """An error unless ``base_period`` is ``"varying"`` or ``"universal"``."""
    if not isinstance(base_period, str) or base_period not in BASE_PERIODS:
        raise SpecificationError(f"base_period must be 'varying' or 'universal' (R did's "
                                 f"base_period), got {base_period!r}")


@dataclass(frozen=True)
class WidePanel:
    """Outcomes (units x periods, NaN where a unit has no row), periods, cohorts.

    Counts of units left out: treated in or before the first period (always
    treated), or with no observation in the base period before joining.
    """

    Y: np.ndarray
    periods: np.ndarray
    cohorts: np.ndarray
    units: np.ndarray
    n_always_treated: int
    n_no_base: int
    n_late_cohort: int
    n_incomplete: int
    covariates: np.ndarray | None = None  # units x periods x k, NaN where missing


def wide_panel(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
               anticipation: int = 0, covariates: tuple[str, ...] = ()) -> WidePanel:
    """Pivot to units x periods and keep the units that can enter a comparison.

    Unbalanced panels are kept whole: each ATT(g,t) uses the units observed in both
    ``t`` and its base period. Left out are units treated in or before the first
    period, and treated units with no outcome in their base period ``g - 1 -
    anticipation`` (they have no pre-treatment comparison). Cohorts after the last
    period count as never treated (R did's convention).
    """
    frame = data[list(dict.fromkeys((unit, time, outcome, cohort, *covariates)))]
    units, periods, Y, cohort_values, X = _pivot(frame, unit, time, outcome, cohort, covariates)
    late = cohort_values > periods.max()
    cohort_values = np.where(late, 0.0, cohort_values)
    always = (cohort_values > 0) & (cohort_values - anticipation <= periods.min())
    no_base = (cohort_values > 0) & ~always & ~_observed_at(Y, periods,
                                                            cohort_values - 1 - anticipation)
    keep = ~always & ~no_base & np.isfinite(Y).any(axis=1)
    return WidePanel(Y[keep], periods, cohort_values[keep], units[keep],
                     int(always.sum()), int(no_base.sum()), int(late.sum()),
                     int((~np.isfinite(Y[keep])).any(axis=1).sum()),
                     None if X is None else X[keep])


Pivoted = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None"]


def _pivot(frame: pd.DataFrame, unit: str, time: str, outcome: str, cohort: str,
           covariates: tuple[str, ...]) -> Pivoted:
    """Sorted units and periods, outcomes (units x periods), each unit's first cohort,
    and covariates (units x periods x k, or None).

    One scatter by factorised unit and period when every unit-period occurs once
    and neither key is missing; otherwise pandas' ``pivot_table`` (first value).
    """
    keys = [frame[c] for c in (unit, time)]
    if any(isinstance(k.dtype, pd.CategoricalDtype) for k in keys):
        return _pivot_table(frame, unit, time, outcome, cohort, covariates)
    (ucodes, units), (tcodes, periods) = (pd.factorize(k, sort=True) for k in keys)
    shape = (len(units), len(periods))
    if (ucodes < 0).any() or (tcodes < 0).any() or np.bincount(
            ucodes * shape[1] + tcodes, minlength=shape[0] * shape[1]).max(initial=0) > 1:
        return _pivot_table(frame, unit, time, outcome, cohort, covariates)

    def scatter(column: str) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[ucodes, tcodes] = frame[column].to_numpy(dtype=float, na_value=np.nan)
        return out

    first = frame[cohort].groupby(ucodes).first().to_numpy(dtype=float, na_value=np.nan)
    X = np.stack([scatter(c) for c in covariates], axis=2) if covariates else None
    return units.to_numpy(), periods.to_numpy(), scatter(outcome), first, X


def _pivot_table(frame: pd.DataFrame, unit: str, time: str, outcome: str, cohort: str,
                 covariates: tuple[str, ...]) -> Pivoted:
    """:func:`_pivot` by pandas, for duplicated unit-periods, missing or categorical keys."""
    def wide(column: str) -> pd.DataFrame:
        return frame.pivot_table(index=unit, columns=time, values=column, aggfunc="first",
                                 observed=True, dropna=False)

    Y = wide(outcome)
    periods = Y.columns.to_numpy()
    first = (frame.groupby(unit, observed=True)[cohort].first()
             .reindex(Y.index).to_numpy(dtype=float))
    X = np.stack([wide(c).reindex(index=Y.index, columns=periods).to_numpy(float)
                  for c in covariates], axis=2) if covariates else None
    return Y.index.to_numpy(), periods, Y.to_numpy(float), first, X


def _observed_at(Y: np.ndarray, periods: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Whether each unit has an outcome in the period ``when`` (False if no such period)."""
    col = np.searchsorted(periods, when)
    inside = (col < periods.size) & (periods[np.minimum(col, periods.size - 1)] == when)
    values = Y[np.arange(Y.shape[0]), np.minimum(col, periods.size - 1)]
    return inside & np.isfinite(values)


@dataclass(frozen=True)
class GroupTime:
    """ATT(g,t) cells and their influence functions (n_units x cells).

    ``cells["reference"]`` marks the base-period cells of a universal base period
    (ATT 0 by construction, influence zero).
    """

    cells: pd.DataFrame
    influence: np.ndarray
    n_units: int


def control_mask(cohorts: np.ndarray, g: float, t: float, base: float,
                 control_group: ControlGroup, anticipation: int) -> np.ndarray:
    """Units that serve as controls for cohort ``g`` at period ``t``."""
    never = cohorts == 0
    if control_group == "never_treated":
        return never
    later = cohorts > max(t, base) + anticipation
    return never | (later & (cohorts != g))


def cell_effect(dy: np.ndarray, treated: np.ndarray,
                control: np.ndarray) -> tuple[float, np.ndarray]:
    """Difference in mean changes and its influence function (``n * (...)`` scale).

    ``IF_i = D_i (dY_i - m_1) / p_1 - C_i (dY_i - m_0) / p_0``, with ``p`` the shares
    of all units, so that ``Var(att) = mean(IF^2) / n``.
    """
    n = dy.size
    n1, n0 = treated.sum(), control.sum()
    if n1 == 0 or n0 == 0:
        return np.nan, np.zeros(n)
    m1, m0 = dy[treated].mean(), dy[control].mean()
    inf = np.where(treated, (dy - m1) * n / n1, 0.0) - np.where(control, (dy - m0) * n / n0, 0.0)
    return float(m1 - m0), inf


def group_time_effects(panel: WidePanel, control_group: ControlGroup = "not_yet_treated",
                       anticipation: int = 0, est_method: str = "dr",
                       base_period: BasePeriod = "varying") -> GroupTime:
    """Every ATT(g,t) for treated cohorts g and periods t (after the first with a
    varying base period) that have a base period.

    A cell uses the units observed in ``t`` and its base period (and, with
    covariates, whose covariates are known in the base period, where did takes
    them); its influence function, estimated on those ``n_cell`` units, is rescaled
    by ``n / n_cell`` to the whole panel (zero for the other units), as R did does.
    Without covariates every cell is the difference in mean changes, computed for
    all cells at once (:mod:`.mean_change`). With covariates each cell is estimated
    by ``est_method`` (``"dr"``, ``"ipw"`` or ``"reg"``, R DRDID's panel
    estimators); a cell that cannot be estimated (separation, no overlap, a
    singular design) is left empty with its reason. With ``base_period="universal"``
    the cell at the base period is the reference (ATT 0, zero influence).
    """
    plan = cell_plan(panel.periods, panel.cohorts, anticipation, base_period)
    estimated = [cell for cell in plan if cell[1] != cell[2]]
    if panel.covariates is None:
        gt = _mean_change_effects(panel, estimated, control_group, anticipation)
    else:
        gt = _covariate_effects(panel, estimated, control_group, anticipation, est_method)
    if len(estimated) == len(plan):
        return GroupTime(gt.cells.assign(reference=False), gt.influence, gt.n_units)
    return _with_references(gt, panel, plan, control_group, anticipation)


def _covariate_effects(panel: WidePanel, plan: list[tuple[float, int, int]],
                       control_group: ControlGroup, anticipation: int,
                       est_method: str) -> GroupTime:
    """The cells of ``plan`` with covariates, one :mod:`.drdid` estimate each."""
    cohorts, n = panel.cohorts, panel.cohorts.size
    rows, influence = [], np.zeros((n, len(plan)), order="F")
    for k, (g, ti, base_i) in enumerate(plan):
        t, base = panel.periods[ti], panel.periods[base_i]
        dy = panel.Y[:, ti] - panel.Y[:, base_i]
        X = panel.covariates[:, base_i, :]
        present = np.isfinite(dy) & np.isfinite(X).all(axis=1)
        treated = present & (cohorts == g)
        control = present & control_mask(cohorts, g, t, base, control_group, anticipation)
        cell = treated | control
        att, inf_cell, problem = _cell(dy[cell], treated[cell], control[cell], X[cell],
                                       est_method)
        influence[cell, k] = inf_cell * (n / max(cell.sum(), 1))
        rows.append(_cell_row(g, t, base, att, anticipation, treated.sum(), control.sum(),
                              problem))
    return GroupTime(pd.DataFrame(rows, columns=list(CELL_COLUMNS)), influence, n)


def _with_references(gt: GroupTime, panel: WidePanel, plan: list[tuple[float, int, int]],
                     control_group: ControlGroup, anticipation: int) -> GroupTime:
    """``gt``'s cells with the reference cells of a universal base inserted in plan order
    (ATT 0, a zero influence column; sizes: the units observed in the base period)."""
    position = {cell: k for k, cell in enumerate(c for c in plan if c[1] != c[2])}
    influence = np.zeros((gt.n_units, len(plan)), order="F")
    rows = []
    for k, (g, ti, base_i) in enumerate(plan):
        if ti != base_i:
            j = position[(g, ti, base_i)]
            influence[:, k] = gt.influence[:, j]
            rows.append(gt.cells.iloc[j].to_dict() | {"reference": False})
            continue
        t = panel.periods[ti]
        present = np.isfinite(panel.Y[:, ti])
        control = control_mask(panel.cohorts, g, t, t, control_group, anticipation)
        rows.append(_cell_row(g, t, t, 0.0, anticipation, (present & (panel.cohorts == g)).sum(),
                              (present & control).sum(), "") | {"reference": True})
    return GroupTime(pd.DataFrame(rows, columns=[*CELL_COLUMNS, "reference"]), influence,
                     gt.n_units)


def cell_plan(periods: np.ndarray, cohorts: np.ndarray, anticipation: int,
              base_period: BasePeriod = "varying") -> list[tuple[float, int, int]]:
    """The cells ``(g, t column, base column)``: treated cohorts by periods that have a
    base period (with a varying base, the periods after the first, as did; with a
    universal base, every period, the base period itself giving the reference cell)."""
    plan = []
    first = 1 if base_period == "varying" else 0
    for g in np.unique(cohorts[cohorts > 0]):
        for ti in range(first, periods.size):
            base_i = _base_index(periods, g, ti, anticipation, base_period)
            if base_i is not None:
                plan.append((g, ti, base_i))
    return plan


def _mean_change_effects(panel: WidePanel, plan: list[tuple[float, int, int]],
                         control_group: ControlGroup, anticipation: int) -> GroupTime:
    """All cells without covariates, by :func:`.mean_change.mean_change_cells`."""
    levels, index = np.unique(panel.cohorts, return_inverse=True)
    cells = [LevelCell(ti, base_i, levels == g,
                       control_mask(levels, g, panel.periods[ti], panel.periods[base_i],
                                    control_group, anticipation))
             for g, ti, base_i in plan]
    res = mean_change_cells(panel.Y, index, levels.size, cells)
    rows = [_cell_row(g, panel.periods[ti], panel.periods[base_i], res.att[k], anticipation,
                      res.n_treated[k], res.n_control[k], "")
            for k, (g, ti, base_i) in enumerate(plan)]
    return GroupTime(pd.DataFrame(rows, columns=list(CELL_COLUMNS)), res.influence,
                     panel.cohorts.size)


CELL_COLUMNS = ("group", "time", "base", "att", "post", "event", "n_treated", "n_control",
                "problem")


def _cell_row(g, t, base, att, anticipation, n_treated, n_control, problem) -> dict:
    return {"group": g, "time": t, "base": base, "att": att, "post": t >= g - anticipation,
            "event": t - g, "n_treated": int(n_treated), "n_control": int(n_control),
            "problem": problem}


def _cell(dy, treated, control, X, est_method) -> tuple[float, np.ndarray, str]:
    """One cell's ATT and influence function with covariates (cell scale), or NaN and
    the reason."""
    from ipnstats.estimators.did.drdid import ESTIMATORS, CellEstimationError

    if treated.sum() == 0 or control.sum() == 0:
        return np.nan, np.zeros(dy.size), ""
    try:
        att, inf = ESTIMATORS[est_method](dy, treated.astype(float),
                                          np.column_stack([np.ones(dy.size), X]))
    except CellEstimationError as err:
        return np.nan, np.zeros(dy.size), str(err)
    return att, inf, ""


def _base_index(periods: np.ndarray, g: float, ti: int, anticipation: int,
                base_period: BasePeriod = "varying") -> int | None:
    """The last period before ``g - anticipation``; with a varying base, ``t - 1`` for
    the periods before it."""
    if base_period == "varying" and periods[ti] < g - anticipation:
        return ti - 1
    earlier = np.flatnonzero(periods < g - anticipation)
    return int(earlier[-1]) if earlier.size else None


def vcov_from_influence(influence: np.ndarray, clusters: np.ndarray | None = None) -> np.ndarray:
    """``IF'IF / n^2``, or with clusters the sum over clusters of summed IFs, times
    ``G / (G - 1)``; units are the default clusters (the panel's own)."""
    n = influence.shape[0]
    with single_threaded_blas():
        if clusters is None:
            return influence.T @ influence / n**2
        sums = cluster_sums(influence, clusters)
        g = sums.shape[0]
        return cluster_factor(g, n, 0, adj=False) * sums.T @ sums / n**2
