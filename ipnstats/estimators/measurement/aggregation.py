"""Justifying aggregation: ICC(1), ICC(2), rwg, rwg(j) and AD(M) for groups' members.

Conventions (each number as R ``multilevel`` 2.7 computes it)
-------------------------------------------------------------
- Rows: a row with a missing value in any item or in the group is left out of every
  index (``na.exclude`` on the items and the group, as ``rwg.j`` and ``ad.m`` do); the
  notes count them. The scale score is the row mean of the items.
- ICC(1) and ICC(2) of each item and of the scale score come from the one-way ANOVA
  of the score on the group (``aov(y ~ as.factor(group))``) with unequal group sizes:
  ``ICC(1) = (MSB - MSW) / (MSB + (N/J - 1) MSW)`` with ``N/J`` the mean group size
  (``multilevel::ICC1``; Bliese 2000) and ``ICC(2) = (MSB - MSW) / MSB``
  (``multilevel::ICC2``). ICC(1) can be negative.
- Intervals: F-based (Shrout & Fleiss 1979, case 1; McGraw & Wong 1996, Table 7),
  with ``F = MSB/MSW`` on ``(J-1, N-J)`` df, ``F_L = F / F_{1-a/2}(J-1, N-J)``,
  ``F_U = F x F_{1-a/2}(N-J, J-1)``; ICC(1) in ``[(F_L-1)/(F_L+k0-1), (F_U-1)/(F_U+k0-1)]``
  with the unequal-size group size ``k0 = (N - sum n_j^2 / N) / (J - 1)`` (Snedecor &
  Cochran; Donner 1986), ICC(2) in ``[1 - 1/F_L, 1 - 1/F_U]``. ``k0`` equals ``N/J``
  for equal groups; otherwise the interval uses ``k0`` and the point estimate ``N/J``
  (multilevel's choice), so with very unequal groups the point can sit near an end.
- rwg of an item in a group (James, Demaree & Wolf 1984; ``multilevel::rwg``):
  ``1 - s^2 / sigma_E^2`` with the group's variance ``s^2`` (n - 1) capped at the null
  variance, so rwg lies in [0, 1]. rwg(j) of the items (``multilevel::rwg.j``):
  ``J (1 - s̄^2/sigma_E^2) / (J (1 - s̄^2/sigma_E^2) + s̄^2/sigma_E^2)`` with ``s̄^2`` the
  mean of the items' group variances, also capped at ``sigma_E^2`` (so rwg(j) >= 0).
  Groups with one member get NaN (multilevel's NA) and a ``group_of_one`` note.
- AD(M) (Burke, Finkelstein & Dusig 1999; ``multilevel::ad.m``): per item the mean
  absolute deviation from the group's mean (``ad_m_mean``) or median
  (``ad_m_median``), divided by n; averaged over the items.
- Null variances ``sigma_E^2``: ``"uniform"`` is ``(A^2 - 1)/12`` for A scale points.
  The others are the values of LeBreton & Senter (2008, Table 2), for A = 5 / 7:
  slight skew 1.34 / 2.90, moderate skew 0.90 / 2.14, heavy skew 0.44 / 1.39,
  triangular 1.32 / 2.10, normal 1.04 / 1.40 (as tabulated in LeBreton's WGA R
  package, ``R/RWG.R``). A number is used as the null variance itself (multilevel's
  ``ranvar``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators.measurement._columns import numeric_matrix, require_columns
from ipnstats.results.display import TidyDisplay

Null = Literal["uniform", "slight_skew", "moderate_skew", "heavy_skew", "triangular", "normal"]

#: LeBreton & Senter (2008), Table 2: null (error) variances by scale points.
LEBRETON_SENTER_2008: dict[str, dict[int, float]] = {
    "slight_skew": {5: 1.34, 7: 2.90},
    "moderate_skew": {5: 0.90, 7: 2.14},
    "heavy_skew": {5: 0.44, 7: 1.39},
    "triangular": {5: 1.32, 7: 2.10},
    "normal": {5: 1.04, 7: 1.40},
}

SCALE = "(scale)"


def null_variance(null: Null | float, scale_points: int | None) -> float:
    """The variance of the null response distribution (see the module's conventions).

    >>> null_variance("uniform", 5), null_variance("slight_skew", 7)
    (2.0, 2.9)
    """
    if isinstance(null, (int, float)) and not isinstance(null, bool):
        if not (math.isfinite(null) and null > 0):
            raise SpecificationError(f"a null variance must be a positive number, not {null!r}")
        return float(null)
    if null != "uniform" and null not in LEBRETON_SENTER_2008:
        raise SpecificationError(f"unknown null {null!r}; choose 'uniform', "
                                 f"{', '.join(map(repr, LEBRETON_SENTER_2008))} or a number")
    if scale_points is None:
        raise SpecificationError("rwg needs scale_points (the number of response options)")
    if null == "uniform":
        return (scale_points ** 2 - 1) / 12
    table = LEBRETON_SENTER_2008[null]
    if scale_points not in table:
        raise SpecificationError(f"LeBreton & Senter (2008) give the {null} null for 5- and "
                                 f"7-point scales only, not {scale_points}; pass the variance "
                                 f"as null=<number>")
    return table[scale_points]


@dataclass(frozen=True)
class OneWay:
    """The one-way ANOVA of a score on the group, and the ICCs it gives."""

    msb: float
    msw: float
    df1: int
    df2: int
    mean_size: float
    k0: float

    @property
    def f(self) -> float:
        return self.msb / self.msw if self.msw > 0 else math.nan

    def icc1(self) -> float:
        den = self.msb + (self.mean_size - 1) * self.msw
        return (self.msb - self.msw) / den if den > 0 else math.nan

    def icc2(self) -> float:
        return (self.msb - self.msw) / self.msb if self.msb > 0 else math.nan

    def intervals(self, level: float) -> tuple[float, float, float, float]:
        """ICC(1) low, high, ICC(2) low, high (F-based, module conventions)."""
        a = (1 - level) / 2
        fl = self.f / stats.f.ppf(1 - a, self.df1, self.df2)
        fu = self.f * stats.f.ppf(1 - a, self.df2, self.df1)
        k = self.k0
        return ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1), 1 - 1 / fl, 1 - 1 / fu)

    def p_value(self) -> float:
        return float(stats.f.sf(self.f, self.df1, self.df2)) if math.isfinite(self.f) else math.nan


def one_way(y: np.ndarray, codes: np.ndarray, sizes: np.ndarray) -> OneWay:
    """Between and within mean squares of ``y`` by group codes 0..J-1."""
    n, j = len(y), len(sizes)
    means = np.bincount(codes, weights=y, minlength=j) / sizes
    ssb = float(np.sum(sizes * (means - y.mean()) ** 2))
    ssw = float(np.sum((y - means[codes]) ** 2))
    return OneWay(msb=ssb / (j - 1), msw=ssw / (n - j), df1=j - 1, df2=n - j,
                  mean_size=n / j, k0=(n - np.sum(sizes ** 2) / n) / (j - 1))


def rwg_j(variances: np.ndarray, sigma2: float) -> float:
    """rwg(j) of one group from its items' variances (multilevel ``rwg.j``); rwg for one item."""
    s = min(float(np.mean(variances)), sigma2) / sigma2
    j = len(variances)
    return j * (1 - s) / (j * (1 - s) + s)


def ad_m(x: np.ndarray, center: Literal["mean", "median"]) -> float:
    """AD(M) of one group (rows members, columns items), averaged over items."""
    c = x.mean(axis=0) if center == "mean" else np.median(x, axis=0)
    return float(np.mean(np.abs(x - c).sum(axis=0) / len(x)))


@dataclass(frozen=True, repr=False)
class AggregationResult(TidyDisplay):
    """Within-group agreement and reliability of group means; see :func:`aggregation`.

    ``icc``: one row per item and, with several items, the scale score (``term``
    ``"(scale)"``) with icc1, its interval, icc2, its interval, F, df1, df2, p_value
    (of the ANOVA F test), k0. ``groups``: one row per group with size, rwg_j,
    ad_m_mean, ad_m_median and the scale mean. ``rwg``: one row per group and item
    (rwg of the single item).
    """

    items: tuple[str, ...]
    group: str
    null: str
    null_variance: float
    scale_points: int | None
    conf_level: float
    n_obs: int
    icc: pd.DataFrame
    groups: pd.DataFrame
    rwg: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def tidy(self) -> pd.DataFrame:
        """ICC(1) and ICC(2) per item and scale: term (``icc1``/``icc2``), item,
        estimate, statistic (F), p_value, conf_low, conf_high."""
        rows = []
        for rec in self.icc.itertuples(index=False):
            for name in ("icc1", "icc2"):
                rows.append({"term": name, "item": rec.term, "estimate": getattr(rec, name),
                             "statistic": rec.F, "p_value": rec.p_value,
                             "conf_low": getattr(rec, f"{name}_low"),
                             "conf_high": getattr(rec, f"{name}_high")})
        return pd.DataFrame(rows)

    def glance(self) -> pd.DataFrame:
        """One row: n_obs, n_groups, n_items, the null and its variance, ICC(1) and
        ICC(2) of the scale score (of the item, for one item), mean and median rwg(j)
        over groups with two or more members, the share of them with rwg(j) > 0.70,
        mean AD(M)."""
        scale = self.icc.set_index("term").loc[SCALE if len(self.items) > 1 else self.items[0]]
        r = self.groups["rwg_j"].dropna()
        return pd.DataFrame([{
            "n_obs": self.n_obs, "n_groups": len(self.groups), "n_items": len(self.items),
            "null": self.null, "null_variance": self.null_variance,
            "icc1": scale["icc1"], "icc2": scale["icc2"], "k0": scale["k0"],
            "rwg_j_mean": r.mean() if len(r) else math.nan,
            "rwg_j_median": r.median() if len(r) else math.nan,
            "rwg_j_share_70": float((r > 0.70).mean()) if len(r) else math.nan,
            "ad_m_mean": self.groups["ad_m_mean"].mean(),
        }])


def _prepare(data: pd.DataFrame, items: Sequence[str], group: str
             ) -> tuple[np.ndarray, np.ndarray, pd.Index, list[Note]]:
    if isinstance(items, str):
        items = [items]
    names = require_columns(data, items, role="item")
    if not names:
        raise SpecificationError("aggregation needs at least one item")
    if not isinstance(group, str):
        raise SpecificationError(f"group must be a column name, not {group!r}")
    require_columns(data, [group], role="group")
    if group in names:
        raise SpecificationError(f"{group!r} is both an item and the group")
    x = numeric_matrix(data, names)
    g = data[group]
    keep = ~np.isnan(x).any(axis=1) & g.notna().to_numpy()
    notes = []
    if (~keep).any():
        notes.append(Note("missing_dropped", f"{int((~keep).sum())} rows with a missing item "
                          f"or group were left out (as multilevel's na.exclude)"))
    codes, labels = pd.factorize(g[keep], sort=True)
    return x[keep], np.asarray(codes), pd.Index(labels), notes


def aggregation(data: pd.DataFrame, items: Sequence[str], *, group: str,
                scale_points: int | None = None, null: Null | float = "uniform",
                conf_level: float = 0.95) -> AggregationResult:
    """ICC(1), ICC(2), rwg, rwg(j) and AD(M) of items answered by members of groups.

    Parameters
    ----------
    data
        One row per respondent.
    items
        The item columns (numbers; one item is allowed).
    group
        The column naming each respondent's group.
    scale_points
        The number of response options A (for the null variance; without it rwg and
        rwg(j) are NaN and a note says so, unless ``null`` is a number).
    null
        ``"uniform"`` or a LeBreton & Senter (2008) shape, or the null variance itself.
    conf_level
        Of the ICC intervals.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"team": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...                   "q1": [4, 4, 5, 2, 2, 3, 3, 4, 3], "q2": [4, 5, 5, 2, 1, 2, 3, 3, 4]})
    >>> res = aggregation(d, ["q1", "q2"], group="team", scale_points=5)
    >>> round(float(res.glance().loc[0, "rwg_j_mean"]), 3)
    0.909
    """
    if not (isinstance(conf_level, float) and 0 < conf_level < 1):
        raise SpecificationError(f"conf_level must be a number between 0 and 1, not {conf_level!r}")
    if scale_points is not None and (isinstance(scale_points, bool) or
                                     not isinstance(scale_points, (int, np.integer))
                                     or scale_points < 2):
        raise SpecificationError(f"scale_points must be an integer of at least 2, not "
                                 f"{scale_points!r}")
    x, codes, labels, notes = _prepare(data, items, group)
    names = [items] if isinstance(items, str) else list(items)
    if scale_points is not None and x.size:
        span = x.max(axis=0) - x.min(axis=0)
        if (span > scale_points - 1).any():
            col = int(np.argmax(span > scale_points - 1))
            raise DataError(f"item {names[col]!r} ranges from {x[:, col].min():g} to "
                            f"{x[:, col].max():g}, wider than a {scale_points}-point scale; "
                            f"fix scale_points or the item")
    sigma2 = math.nan
    if scale_points is None and not isinstance(null, (int, float)):
        null_variance(null, 5)  # checks the name
        notes.append(Note("agreement_not_computed", "rwg and rwg(j) need scale_points (or a "
                          "null variance): they are NaN"))
    else:
        sigma2 = null_variance(null, scale_points)
    if len(labels) < 2:
        raise DataError(f"the ICCs need at least two groups in {group!r}; the complete rows "
                        f"have {len(labels)}")
    sizes = np.bincount(codes, minlength=len(labels))
    if len(x) - len(labels) < 1:
        raise DataError(f"every group in {group!r} has one member: there is no "
                        f"within-group variation")
    if (sizes == 1).any():
        notes.append(Note("group_of_one", f"{int((sizes == 1).sum())} groups have one "
                          f"member: their rwg, rwg(j) and AD(M) are NaN"))
    icc = _icc_table(x, codes, sizes, names, conf_level, notes)
    groups, rwg = _group_tables(x, codes, sizes, labels, names, sigma2)
    return AggregationResult(items=tuple(names), group=group, null=str(null),
                             null_variance=sigma2, scale_points=scale_points,
                             conf_level=conf_level, n_obs=len(x), icc=icc, groups=groups,
                             rwg=rwg, notes=tuple(notes))


def _icc_table(x, codes, sizes, names, conf_level, notes) -> pd.DataFrame:
    rows = []
    scores = {name: x[:, j] for j, name in enumerate(names)}
    if len(names) > 1:
        scores[SCALE] = x.mean(axis=1)
    for term, y in scores.items():
        fit = one_way(y, codes, sizes)
        if fit.msw == 0:
            notes.append(Note("constant_item", f"{term!r} does not vary within groups: its "
                              f"ICCs are NaN"))
            lo1 = hi1 = lo2 = hi2 = math.nan
        else:
            lo1, hi1, lo2, hi2 = fit.intervals(conf_level)
        rows.append({"term": term, "icc1": fit.icc1() if fit.msw > 0 else math.nan,
                     "icc1_low": lo1, "icc1_high": hi1,
                     "icc2": fit.icc2() if fit.msw > 0 else math.nan,
                     "icc2_low": lo2, "icc2_high": hi2, "F": fit.f, "df1": fit.df1,
                     "df2": fit.df2, "p_value": fit.p_value(), "k0": fit.k0})
    return pd.DataFrame(rows)


def _group_tables(x, codes, sizes, labels, names, sigma2) -> tuple[pd.DataFrame, pd.DataFrame]:
    grows, rrows = [], []
    for k, label in enumerate(labels):
        block = x[codes == k]
        if len(block) > 1:
            var = block.var(axis=0, ddof=1)
            rj = rwg_j(var, sigma2) if math.isfinite(sigma2) else math.nan
            ad_mean, ad_median = ad_m(block, "mean"), ad_m(block, "median")
        else:
            var = np.full(len(names), math.nan)
            rj = ad_mean = ad_median = math.nan
        grows.append({"group": label, "size": int(sizes[k]), "rwg_j": rj,
                      "ad_m_mean": ad_mean, "ad_m_median": ad_median,
                      "mean": float(block.mean())})
        for j, name in enumerate(names):
            r = (1 - min(var[j], sigma2) / sigma2 if len(block) > 1 and math.isfinite(sigma2)
                 else math.nan)
            rrows.append({"group": label, "item": name, "size": int(sizes[k]), "rwg": r})
    return pd.DataFrame(grows), pd.DataFrame(rrows)
