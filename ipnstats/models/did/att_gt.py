"""Callaway & Sant'Anna (2021) group-time average treatment effects, without covariates.

Pure functions on a balanced wide panel ``Y`` (units x periods). Each ATT(g,t) is a
difference in mean outcome changes between cohort ``g`` and its controls, from the
base period to ``t``; its influence function (one value per unit, zero outside
cohort and controls) gives analytic standard errors, joint tests, the aggregations
and the multiplier bootstrap.

Conventions follow R ``did::att_gt`` (``base_period = "varying"``): post-treatment
cells (t >= g) compare with period ``g - 1 - anticipation``; pre-treatment cells with
``t - 1``. Not-yet-treated controls at (g, t) are never-treated units and units of
cohorts later than ``max(t, base) + anticipation`` (cohort g excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

ControlGroup = Literal["never_treated", "not_yet_treated"]


@dataclass(frozen=True)
class WidePanel:
    """A balanced panel: outcomes (units x periods), periods, each unit's cohort."""

    Y: np.ndarray
    periods: np.ndarray
    cohorts: np.ndarray
    units: np.ndarray
    n_dropped_unbalanced: int
    n_always_treated: int


def wide_panel(data: pd.DataFrame, outcome: str, unit: str, time: str,
               cohort: str) -> WidePanel:
    """Pivot to units x periods, keep units observed in every period, drop units
    treated in the first period (always treated: no pre-period to compare with)."""
    frame = data[[unit, time, outcome, cohort]]
    wide = frame.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first",
                             observed=True, dropna=False)
    cohorts = frame.groupby(unit, observed=True)[cohort].first().reindex(wide.index)
    complete = wide.notna().all(axis=1).to_numpy()
    periods = wide.columns.to_numpy()
    cohort_values = cohorts.to_numpy(dtype=float)
    always = (cohort_values > 0) & (cohort_values <= periods.min())
    keep = complete & ~always
    return WidePanel(wide.to_numpy(float)[keep], periods, cohort_values[keep],
                     wide.index.to_numpy()[keep], int((~complete).sum()),
                     int((always & complete).sum()))


@dataclass(frozen=True)
class GroupTime:
    """ATT(g,t) cells and their influence functions (n_units x cells)."""

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
                       anticipation: int = 0) -> GroupTime:
    """Every ATT(g,t) for treated cohorts g and periods t after the first."""
    periods, cohorts = panel.periods, panel.cohorts
    rows, infs = [], []
    for g in np.unique(cohorts[cohorts > 0]):
        for ti in range(1, periods.size):
            t = periods[ti]
            base_i = _base_index(periods, g, ti, anticipation)
            if base_i is None:
                continue
            base = periods[base_i]
            treated = cohorts == g
            control = control_mask(cohorts, g, t, base, control_group, anticipation)
            att, inf = cell_effect(panel.Y[:, ti] - panel.Y[:, base_i], treated, control)
            rows.append({"group": g, "time": t, "base": base, "att": att,
                         "post": t >= g - anticipation, "event": t - g,
                         "n_treated": int(treated.sum()), "n_control": int(control.sum())})
            infs.append(inf)
    cells = pd.DataFrame(rows)
    influence = np.column_stack(infs) if infs else np.zeros((cohorts.size, 0))
    return GroupTime(cells, influence, cohorts.size)


def _base_index(periods: np.ndarray, g: float, ti: int, anticipation: int) -> int | None:
    """Varying base: ``t - 1`` before treatment, ``g - 1 - anticipation`` after."""
    if periods[ti] < g - anticipation:
        return ti - 1
    earlier = np.flatnonzero(periods < g - anticipation)
    return int(earlier[-1]) if earlier.size else None


def vcov_from_influence(influence: np.ndarray, clusters: np.ndarray | None = None) -> np.ndarray:
    """``IF'IF / n^2``, or with clusters the sum over clusters of summed IFs, times
    ``G / (G - 1)``; units are the default clusters (the panel's own)."""
    n = influence.shape[0]
    if clusters is None:
        return influence.T @ influence / n**2
    g = int(clusters.max()) + 1
    sums = np.column_stack([np.bincount(clusters, weights=influence[:, j], minlength=g)
                            for j in range(influence.shape[1])])
    return g / (g - 1) * sums.T @ sums / n**2
