"""Aggregations of ATT(g,t): simple, group, event (dynamic) and calendar.

As R ``did::aggte``: cells are weighted by cohort size, ``pg = P(G = g)`` over all
units, and the influence function of a weighted average adds the estimation effect
of those weights (``weight_influence``, did's ``wif``) where they are estimated.
Under a universal base period the event time of the base period averages reference
cells only: its estimate is 0 and its influence zero (``Aggregate.references``), which
the results report with no standard error, as did and moderndid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators.did.att_gt import GroupTime

Kind = Literal["simple", "group", "event", "calendar"]


@dataclass(frozen=True)
class Aggregate:
    """Aggregated effects: ``terms`` with estimates and influence functions (n x k);
    ``references``: the terms that are references of a universal base (0, no SE)."""

    terms: tuple[str, ...]
    estimates: np.ndarray
    influence: np.ndarray
    kind: Kind
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class CohortIndex:
    """Cohort levels (sorted), each unit's level and ``P(G = level)`` over all units."""

    levels: np.ndarray
    index: np.ndarray
    shares: np.ndarray

    @classmethod
    def of(cls, cohorts: np.ndarray) -> CohortIndex:
        """Index the cohorts of all units."""
        levels, index, counts = np.unique(cohorts, return_inverse=True, return_counts=True)
        return cls(levels, index.ravel(), counts / cohorts.size)

    def positions(self, groups: np.ndarray) -> np.ndarray:
        """Level of each of ``groups``; -1 for a group no unit belongs to."""
        pos = np.minimum(np.searchsorted(self.levels, groups), self.levels.size - 1)
        return np.where(self.levels[pos] == groups, pos, -1)

    def share(self, groups: np.ndarray) -> np.ndarray:
        """``P(G = g)`` for each g in ``groups``."""
        pos = self.positions(groups)
        return np.where(pos >= 0, self.shares[pos], 0.0)


def weight_influence(ci: CohortIndex, cell_groups: np.ndarray,
                     values: np.ndarray) -> np.ndarray:
    """Influence of the estimated weights ``pg_k / sum(pg)`` (did's ``wif``, n x k)
    times ``values`` (k,): one value per unit.

    ``wif = (D - pg) / sum(pg) - rowsum(D - pg) pg' / sum(pg)^2`` with ``D_ik = 1`` when
    unit i is in cell k's cohort; unit i's row depends only on its cohort, so the
    product is a lookup of per-cohort totals (no n x k matrix).
    """
    pg = ci.share(cell_groups)
    total = pg.sum()
    pos = ci.positions(cell_groups)
    known = pos >= 0
    size = ci.levels.size
    level_values = np.bincount(pos[known], weights=values[known], minlength=size)
    level_counts = np.bincount(pos[known], minlength=size)
    pv = pg @ values
    return ((level_values[ci.index] - pv) / total
            - (level_counts[ci.index] - total) * (pv / total**2))


def weighted(gt_att: np.ndarray, influence: np.ndarray, ci: CohortIndex, groups: np.ndarray,
             columns: np.ndarray | None = None,
             estimated_weights: bool = True) -> tuple[float, np.ndarray]:
    """Cohort-size weighted average of cells and its influence function.

    ``columns``: the cells' columns of ``influence`` (default: all of them, in order).
    """
    pg = ci.share(groups)
    w = pg / pg.sum()
    if columns is None:
        inf = influence @ w
    else:
        full = np.zeros(influence.shape[1])
        full[columns] = w
        inf = influence @ full
    if estimated_weights:
        inf = inf + weight_influence(ci, groups, gt_att)
    return float(w @ gt_att), inf


def aggregate(gt: GroupTime, cohorts: np.ndarray, kind: Kind) -> Aggregate:
    """One of did's four aggregations (only identified cells are used)."""
    cells = gt.cells.assign(_k=np.arange(len(gt.cells)))
    cells = cells[cells["att"].notna()]
    ci = CohortIndex.of(cohorts)
    how = {"simple": _simple, "event": _event, "group": _group, "calendar": _calendar}
    if kind not in how:
        raise SpecificationError(
            f"kind must be 'simple', 'group', 'event' or 'calendar', got {kind!r}")
    with single_threaded_blas():  # products of the tall influence matrix
        return how[kind](gt, cells, ci)


def _pick(gt: GroupTime, cells: pd.DataFrame, ci: CohortIndex) -> tuple[float, np.ndarray]:
    return weighted(cells["att"].to_numpy(), gt.influence, ci, cells["group"].to_numpy(),
                    columns=cells["_k"].to_numpy())


def _simple(gt: GroupTime, cells: pd.DataFrame, ci: CohortIndex) -> Aggregate:
    est, inf = _pick(gt, cells[cells["post"]], ci)
    return Aggregate(("ATT",), np.array([est]), inf[:, None], "simple")


def _event(gt: GroupTime, cells: pd.DataFrame, ci: CohortIndex) -> Aggregate:
    terms, ests, infs, references = [], [], [], []
    events = [int(e) for e in sorted(cells["event"].unique())]
    for e in events:
        at = cells[cells["event"] == e]
        est, inf = _pick(gt, at, ci)
        terms.append(f"event::{e}")
        ests.append(est)
        infs.append(inf)
        if "reference" in at and at["reference"].all():
            references.append(terms[-1])
    post = [i for i, e in enumerate(events) if e >= 0]
    agg = _with_average(terms, ests, infs, post, "event")
    return Aggregate(agg.terms, agg.estimates, agg.influence, "event", tuple(references))


def _group(gt: GroupTime, cells: pd.DataFrame, ci: CohortIndex) -> Aggregate:
    post = cells[cells["post"]]
    groups = np.sort(post["group"].unique())
    ests, infs = [], []
    for g in groups:
        sub = post[post["group"] == g]
        ests.append(float(sub["att"].mean()))
        infs.append(_column_mean(gt.influence, sub["_k"].to_numpy()))
    est, inf = weighted(np.array(ests), np.column_stack(infs), ci, groups)
    terms = [f"cohort::{int(g)}" for g in groups] + ["ATT"]
    return Aggregate(tuple(terms), np.array(ests + [est]), np.column_stack(infs + [inf]),
                     "group")


def _calendar(gt: GroupTime, cells: pd.DataFrame, ci: CohortIndex) -> Aggregate:
    post = cells[cells["post"]]
    terms, ests, infs = [], [], []
    for t in sorted(post["time"].unique()):
        est, inf = _pick(gt, post[post["time"] == t], ci)
        terms.append(f"time::{int(t)}")
        ests.append(est)
        infs.append(inf)
    return _with_average(terms, ests, infs, list(range(len(terms))), "calendar")


def _column_mean(influence: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Mean of some columns of ``influence``, without copying them."""
    w = np.zeros(influence.shape[1])
    w[columns] = 1 / columns.size
    return influence @ w


def _with_average(terms, ests, infs, which, kind: Kind) -> Aggregate:
    avg = float(np.mean([ests[i] for i in which]))
    avg_inf = np.column_stack([infs[i] for i in which]).mean(axis=1)
    return Aggregate(tuple(terms) + ("ATT",), np.array(ests + [avg]),
                     np.column_stack(infs + [avg_inf]), kind)


def without_reference_variance(cov: np.ndarray, terms: tuple[str, ...],
                               references: tuple[str, ...]) -> np.ndarray:
    """``cov`` with the rows and columns of the reference terms set to NaN: a reference
    (0 by construction) has no standard error, and tests leave it out."""
    out = np.array(cov, dtype=float)
    idx = [i for i, t in enumerate(terms) if t in references]
    out[idx, :] = np.nan
    out[:, idx] = np.nan
    return out
