"""ATT(g,t) without covariates, every cell at once: differences in mean changes.

Without covariates R did's three cell estimators (dr, ipw, reg) reduce to
``ATT(g,t) = mean_{G=g}(dY) - mean_{controls}(dY)`` with ``dY`` the outcome change
from the base period to ``t``, and the all-units influence function of a cell is::

    IF_i = n * [D_i (dY_i - m_1) / n_1 - C_i (dY_i - m_0) / n_0]

(``D``: cohort g, ``C``: the cell's controls, both observed in ``t`` and the base
period; zero for every other unit). Both depend on a unit only through its cohort
and its outcome change, so the means come from per-cohort sums of each distinct
(period, base) change, and an influence column is two lookups by cohort. This is
what :func:`ipnstats.estimators.did.att_gt.cell_effect` computes one cell at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LevelCell:
    """One cell in cohort levels: its period and base columns, and which cohort
    levels are treated (the cohort) and which are controls."""

    ti: int
    base_i: int
    treated: np.ndarray
    control: np.ndarray


@dataclass(frozen=True)
class CohortChange:
    """Per-cohort sums and counts of one outcome change (units observed in both periods).

    ``change`` is the change with 0 where it is missing, ``present`` where it is not.
    """

    change: np.ndarray
    present: np.ndarray | None
    sums: np.ndarray
    counts: np.ndarray


def cohort_change(Y: np.ndarray, ti: int, base_i: int, index: np.ndarray,
                  n_levels: int) -> CohortChange:
    """Sums and counts by cohort level of ``Y[:, ti] - Y[:, base_i]``.

    Parameters
    ----------
    Y
        Outcomes, units x periods, NaN where a unit has no row.
    ti, base_i
        Column of the period and of its base period.
    index
        Each unit's cohort level (0 .. n_levels - 1).
    n_levels
        Number of cohort levels.

    Returns
    -------
    CohortChange
        ``present`` is None when every unit is observed in both periods.
    """
    dy = Y[:, ti] - Y[:, base_i]
    present = np.isfinite(dy)
    if present.all():
        counts = np.bincount(index, minlength=n_levels).astype(float)
        return CohortChange(dy, None, np.bincount(index, dy, n_levels), counts)
    dy = np.where(present, dy, 0.0)
    counts = np.bincount(index, present.astype(float), n_levels)
    return CohortChange(dy, present, np.bincount(index, dy, n_levels), counts)


@dataclass(frozen=True)
class MeanChangeCells:
    """ATT, treated and control counts of each cell, and the influence matrix (n x cells)."""

    att: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    influence: np.ndarray


def mean_change_cells(Y: np.ndarray, index: np.ndarray, n_levels: int,
                      cells: list[LevelCell]) -> MeanChangeCells:
    """Every cell's difference in mean changes and its influence function.

    Parameters
    ----------
    Y
        Outcomes, units x periods (NaN where missing).
    index
        Each unit's cohort level (0 .. n_levels - 1).
    n_levels
        Number of cohort levels.
    cells
        The cells, in cohort levels.

    Returns
    -------
    MeanChangeCells
        A cell without treated or control units has a NaN ATT and a zero column.

    Examples
    --------
    >>> Y = np.array([[0.0, 3.0], [0.0, 5.0], [0.0, 1.0], [0.0, 2.0]])
    >>> cell = LevelCell(1, 0, np.array([False, True]), np.array([True, False]))
    >>> mean_change_cells(Y, np.array([1, 1, 0, 0]), 2, [cell]).att
    array([2.5])
    """
    n = index.size
    influence = np.zeros((n, len(cells)), order="F")
    att = np.full(len(cells), np.nan)
    n1, n0 = np.zeros(len(cells), int), np.zeros(len(cells), int)
    changes: dict[tuple[int, int], CohortChange] = {}
    for k, cell in enumerate(cells):
        key = (cell.ti, cell.base_i)
        if key not in changes:
            changes[key] = cohort_change(Y, cell.ti, cell.base_i, index, n_levels)
        ch = changes[key]
        n1[k], n0[k] = ch.counts[cell.treated].sum(), ch.counts[cell.control].sum()
        if n1[k] == 0 or n0[k] == 0:
            continue
        m1 = ch.sums[cell.treated].sum() / n1[k]
        m0 = ch.sums[cell.control].sum() / n0[k]
        att[k] = m1 - m0
        influence[:, k] = _influence(ch, index, cell, (m1, m0), (n1[k], n0[k]), n)
    return MeanChangeCells(att, n1, n0, influence)


def _influence(ch: CohortChange, index: np.ndarray, cell: LevelCell, means: tuple[float, float],
               counts: tuple[int, int], n: int) -> np.ndarray:
    """``n (dY - m_1) / n_1`` for the cohort, ``-n (dY - m_0) / n_0`` for controls, else 0."""
    scale = np.where(cell.treated, n / counts[0], 0.0) - np.where(cell.control, n / counts[1], 0.0)
    centre = np.where(cell.treated, means[0], np.where(cell.control, means[1], 0.0))
    weight = scale[index] if ch.present is None else scale[index] * ch.present
    return weight * (ch.change - centre[index])
