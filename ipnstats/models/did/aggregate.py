"""Aggregations of ATT(g,t): simple, group, event (dynamic) and calendar.

As R ``did::aggte``: cells are weighted by cohort size, ``pg = P(G = g)`` over all
units, and the influence function of a weighted average adds the estimation effect
of those weights (``weight_influence``, did's ``wif``) where they are estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .att_gt import GroupTime

Kind = Literal["simple", "group", "event", "calendar"]


@dataclass(frozen=True)
class Aggregate:
    """Aggregated effects: ``terms`` with estimates and influence functions (n x k)."""

    terms: tuple[str, ...]
    estimates: np.ndarray
    influence: np.ndarray
    kind: Kind


def cohort_shares(cohorts: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``P(G = g)`` over all units, for each g in ``groups``."""
    return np.array([(cohorts == g).mean() for g in groups])


def weight_influence(cohorts: np.ndarray, cell_groups: np.ndarray) -> np.ndarray:
    """Influence of the estimated weights ``pg_k / sum(pg)`` (n x k): did's ``wif``."""
    pg = cohort_shares(cohorts, cell_groups)
    ind = (cohorts[:, None] == cell_groups[None, :]).astype(float)
    total = pg.sum()
    if1 = (ind - pg) / total
    if2 = (ind - pg).sum(axis=1, keepdims=True) * (pg / total**2)[None, :]
    return if1 - if2


def weighted(gt_att: np.ndarray, influence: np.ndarray, cohorts: np.ndarray,
             groups: np.ndarray, estimated_weights: bool = True) -> tuple[float, np.ndarray]:
    """Cohort-size weighted average of cells and its influence function."""
    pg = cohort_shares(cohorts, groups)
    w = pg / pg.sum()
    inf = influence @ w
    if estimated_weights:
        inf = inf + weight_influence(cohorts, groups) @ gt_att
    return float(w @ gt_att), inf


def aggregate(gt: GroupTime, cohorts: np.ndarray, kind: Kind) -> Aggregate:
    """One of did's four aggregations (only identified cells are used)."""
    cells = gt.cells.assign(_k=np.arange(len(gt.cells)))
    cells = cells[cells["att"].notna()]
    if kind == "simple":
        return _simple(gt, cells, cohorts)
    if kind == "event":
        return _event(gt, cells, cohorts)
    if kind == "group":
        return _group(gt, cells, cohorts)
    if kind == "calendar":
        return _calendar(gt, cells, cohorts)
    raise ValueError(f"kind must be 'simple', 'group', 'event' or 'calendar', got {kind!r}")


def _pick(gt: GroupTime, cells: pd.DataFrame, cohorts: np.ndarray) -> tuple[float, np.ndarray]:
    k = cells["_k"].to_numpy()
    return weighted(cells["att"].to_numpy(), gt.influence[:, k], cohorts,
                    cells["group"].to_numpy())


def _simple(gt: GroupTime, cells: pd.DataFrame, cohorts: np.ndarray) -> Aggregate:
    est, inf = _pick(gt, cells[cells["post"]], cohorts)
    return Aggregate(("ATT",), np.array([est]), inf[:, None], "simple")


def _event(gt: GroupTime, cells: pd.DataFrame, cohorts: np.ndarray) -> Aggregate:
    terms, ests, infs = [], [], []
    for e in sorted(cells["event"].unique()):
        est, inf = _pick(gt, cells[cells["event"] == e], cohorts)
        terms.append(f"event::{int(e)}")
        ests.append(est)
        infs.append(inf)
    post = [i for i, t in enumerate(terms) if int(t.split("::")[1]) >= 0]
    return _with_average(terms, ests, infs, post, "event")


def _group(gt: GroupTime, cells: pd.DataFrame, cohorts: np.ndarray) -> Aggregate:
    post = cells[cells["post"]]
    groups = np.sort(post["group"].unique())
    ests, infs = [], []
    for g in groups:
        sub = post[post["group"] == g]
        ests.append(float(sub["att"].mean()))
        infs.append(gt.influence[:, sub["_k"].to_numpy()].mean(axis=1))
    est, inf = weighted(np.array(ests), np.column_stack(infs), cohorts, groups)
    terms = [f"cohort::{int(g)}" for g in groups] + ["ATT"]
    return Aggregate(tuple(terms), np.array(ests + [est]), np.column_stack(infs + [inf]),
                     "group")


def _calendar(gt: GroupTime, cells: pd.DataFrame, cohorts: np.ndarray) -> Aggregate:
    post = cells[cells["post"]]
    terms, ests, infs = [], [], []
    for t in sorted(post["time"].unique()):
        est, inf = _pick(gt, post[post["time"] == t], cohorts)
        terms.append(f"time::{int(t)}")
        ests.append(est)
        infs.append(inf)
    return _with_average(terms, ests, infs, list(range(len(terms))), "calendar")


def _with_average(terms, ests, infs, which, kind: Kind) -> Aggregate:
    avg = float(np.mean([ests[i] for i in which]))
    avg_inf = np.column_stack([infs[i] for i in which]).mean(axis=1)
    return Aggregate(tuple(terms) + ("ATT",), np.array(ests + [avg]),
                     np.column_stack(infs + [avg_inf]), kind)
