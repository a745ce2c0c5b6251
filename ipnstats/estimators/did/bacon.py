"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

With a balanced panel and a binary, absorbing treatment adopted at different times,
the TWFE coefficient on the treatment indicator is a weighted average of every 2x2
difference-in-differences between timing groups (Goodman-Bacon 2021, Theorem 1).

Conventions
-----------
- ``cohort`` is the first treated period, 0 for never-treated units (R did); the
  treatment is ``1{cohort > 0 and time >= cohort}``. Timing groups are units with the
  same treatment path: a cohort is labelled by its first treated period in the data
  (a cohort value between two observed periods takes the next one); units treated at
  or before the first period form one always-treated group ("always"); units never
  treated within the sample (0, or a cohort after the last period) are "never".
- For timing groups ``k`` (treated earlier) and ``l`` (later, or never):
  ``k`` vs ``l`` uses the periods before ``l`` is treated, ``l`` vs ``k`` those from
  ``k``'s treatment on (``k`` is then the already-treated control: the "forbidden"
  comparison). Each estimate is a difference in post-minus-pre means.
- Weights (Theorem 1, simplified): with ``n_k`` the share of units in group ``k``,
  ``D_k`` the share of periods it is treated, and ``V`` the variance of the two-way
  demeaned treatment, ``k`` vs ``l`` weighs ``n_k n_l (D_k - D_l)(1 - D_k) / V`` and
  ``l`` vs ``k`` weighs ``n_k n_l (D_k - D_l) D_l / V``. They sum to one and
  ``sum(weight * estimate)`` is the TWFE coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.formula import SpecificationError, require_columns

TYPES = ("treated vs never treated", "earlier vs later treated", "later vs earlier treated",
         "treated vs always treated")


@dataclass(frozen=True)
class TimingGroups:
    """Group-mean outcomes (groups x periods), first treated periods, unit shares."""

    means: np.ndarray
    periods: np.ndarray
    starts: np.ndarray
    shares: np.ndarray
    labels: tuple[object, ...]
    variance: float


def bacon_decomposition(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                        cohort: str) -> pd.DataFrame:
    """Every 2x2 comparison behind the two-way fixed-effects DiD estimate.

    Parameters
    ----------
    data
        A balanced unit-by-period panel.
    outcome, unit, time
        Columns of the outcome, the unit and the (numeric) period.
    cohort
        First treated period, constant within a unit; 0 for never-treated units.

    Returns
    -------
    pandas.DataFrame
        One row per comparison: ``type``, ``treated`` (first treated period),
        ``control`` (first treated period, ``"never"`` or ``"always"``), ``estimate``
        and ``weight``. ``(weight * estimate).sum()`` is the TWFE coefficient.

    Examples
    --------
    >>> decomp = bacon_decomposition(mpdta, outcome="lemp", unit="countyreal",
    ...                              time="year", cohort="first.treat")  # doctest: +SKIP
    >>> bacon_summary(decomp)  # doctest: +SKIP
    """
    Y, periods, cohorts = _balanced_panel(data, outcome, unit, time, cohort)
    groups = timing_groups(Y, periods, cohorts)
    rows = [row for k in range(groups.starts.size) for ell in range(k + 1, groups.starts.size)
            for row in _pair(groups, k, ell)]
    out = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    order = out["type"].map({t: i for i, t in enumerate(TYPES)})
    return out.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def bacon_summary(decomp: pd.DataFrame) -> pd.DataFrame:
    """Total weight and weighted average estimate by comparison type (R bacondecomp).

    Examples
    --------
    >>> bacon_summary(decomp)  # doctest: +SKIP
    """
    frame = decomp.assign(_we=decomp["weight"] * decomp["estimate"])
    out = frame.groupby("type", sort=False)[["weight", "_we"]].sum()
    out = out.reindex([t for t in TYPES if t in out.index])
    out["estimate"] = out["_we"] / out["weight"]
    return out[["weight", "estimate"]].reset_index()


def _balanced_panel(data: pd.DataFrame, outcome: str, unit: str, time: str,
                    cohort: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes (units x periods), periods and each unit's cohort; checks balance."""
    require_columns(data, (outcome, unit, time, cohort), "column")
    for col in (time, cohort):
        if not pd.api.types.is_numeric_dtype(data[col]) or data[col].isna().any():
            raise SpecificationError(f"column {col!r} must be numeric without missing values "
                                     "(periods; cohort 0 for never-treated units)")
    if data.duplicated([unit, time]).any():
        raise SpecificationError(f"several rows share a ({unit}, {time}) pair; the panel needs "
                                 "one row per unit and period")
    switching = data.groupby(unit, observed=True)[cohort].nunique()
    switching = switching.index[switching > 1]
    if len(switching):
        raise SpecificationError(
            f"cohort column {cohort!r} varies within units {list(switching[:5])}: the "
            "decomposition needs an absorbing treatment (on from the first treated period, "
            "never off), so each unit has one cohort")
    wide = data.pivot(index=unit, columns=time, values=outcome)
    gaps = wide.index[wide.isna().any(axis=1)]
    if len(gaps):
        raise SpecificationError(
            f"the panel is unbalanced: {len(gaps):,} units lack a period or an outcome "
            f"value (e.g. {list(gaps[:5])}); the decomposition holds for balanced panels "
            "only, so drop them or use estimator='cs'")
    cohorts = data.groupby(unit, observed=True)[cohort].first().reindex(wide.index)
    return wide.to_numpy(float), wide.columns.to_numpy(float), cohorts.to_numpy(float)


def timing_groups(Y: np.ndarray, periods: np.ndarray, cohorts: np.ndarray) -> TimingGroups:
    """Collapse units into timing groups, ordered from always treated to never treated."""
    after = periods[None, :] >= np.where(cohorts > 0, cohorts, np.inf)[:, None]
    D = after.astype(float)
    first = np.where(after.any(axis=1), periods[np.argmax(after, axis=1)], np.inf)
    starts, codes = np.unique(first, return_inverse=True)
    if starts.size < 2:
        raise SpecificationError("every unit has the same treatment path; the decomposition "
                                 "needs units treated at different times (or never)")
    counts = np.bincount(codes)
    means = np.vstack([Y[codes == j].mean(axis=0) for j in range(starts.size)])
    labels = tuple("never" if np.isinf(s) else "always" if s <= periods[0] else _label(s)
                   for s in starts)
    demeaned = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0) + D.mean()
    return TimingGroups(means, periods, starts, counts / counts.sum(), labels,
                        float((demeaned**2).mean()))


def _label(value: float) -> object:
    return int(value) if float(value).is_integer() else float(value)


def treated_share(groups: TimingGroups, j: int) -> float:
    """Share of periods in which group ``j`` is treated."""
    return float((groups.periods >= groups.starts[j]).mean())


def did_of_means(y_treated: np.ndarray, y_control: np.ndarray, periods: np.ndarray,
                 lo: float, split: float, hi: float) -> float:
    """2x2 DiD on periods ``[lo, hi)``: post (from ``split``) minus pre means."""
    window = (periods >= lo) & (periods < hi)
    pre, post = window & (periods < split), window & (periods >= split)
    diff = y_treated - y_control
    return float(diff[post].mean() - diff[pre].mean())


def _pair(groups: TimingGroups, k: int, ell: int) -> list[tuple]:
    """The (up to) two comparisons of earlier group ``k`` and later group ``ell``."""
    d_k, d_l = treated_share(groups, k), treated_share(groups, ell)
    scale = groups.shares[k] * groups.shares[ell] * (d_k - d_l) / groups.variance
    y_k, y_l, periods = groups.means[k], groups.means[ell], groups.periods
    s_k, s_l = groups.starts[k], groups.starts[ell]
    rows = []
    if d_k < 1:  # k is treated within the sample: compare with ell before ell's treatment
        kind = TYPES[0] if groups.labels[ell] == "never" else TYPES[1]
        est = did_of_means(y_k, y_l, periods, -np.inf, s_k, s_l)
        rows.append((kind, groups.labels[k], groups.labels[ell], est, scale * (1 - d_k)))
    if d_l > 0:  # ell is treated: compare with k, already treated, from k's treatment on
        kind = TYPES[3] if groups.labels[k] == "always" else TYPES[2]
        est = did_of_means(y_l, y_k, periods, s_k, s_l, np.inf)
        rows.append((kind, groups.labels[ell], groups.labels[k], est, scale * d_l))
    return rows
