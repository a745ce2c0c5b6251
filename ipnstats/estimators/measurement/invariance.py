"""Measurement invariance across groups: configural, metric, scalar and strict models,
compared as semTools ``compareFit`` and lavaan ``lavTestLRT`` report them.

Levels (lavaan ``group.equal``): ``configural`` (same pattern, nothing equal),
``metric`` (loadings), ``scalar`` (loadings, intercepts), ``strict`` (loadings,
intercepts, residual variances). Each level is compared with the one before it:
``chisq_diff``/``df_diff``/``p_diff`` from :func:`chisq_difference` (plain under ML,
Satorra-Bentler 2001 scaled under MLR), ``delta_cfi`` and ``delta_rmsea`` as the level's
value minus the previous level's (semTools' sign; the scaled/robust CFI and RMSEA are
not used: the ``cfi`` and ``rmsea`` columns are lavaan's standard ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.cfa import Estimator, cfa
from ipnstats.estimators.measurement.cfa_result import CFAResult, chisq_difference

LEVELS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts"),
          "strict": ("loadings", "intercepts", "residuals")}


@dataclass(frozen=True)
class InvarianceResult:
    """The fitted models of each invariance level, in order, and their comparison."""

    levels: tuple[str, ...]
    fits: tuple[CFAResult, ...] = field(repr=False)
    group: str

    def fit(self, level: str) -> CFAResult:
        """The fitted model of ``level``."""
        if level not in self.levels:
            raise SpecificationError(f"unknown level {level!r}; fitted: {self.levels}")
        return self.fits[self.levels.index(level)]

    @property
    def notes(self) -> tuple:
        """The notes of every level's fit, prefixed by the level."""
        return tuple(n.retext(f"{lev}: {n}") if hasattr(n, "retext") else f"{lev}: {n}"
                     for lev, f in zip(self.levels, self.fits, strict=True) for n in f.notes)

    def table(self) -> pd.DataFrame:
        """One row per level: level, chisq, df, cfi, tli, rmsea, srmr, aic, bic,
        chisq_diff, df_diff, p_diff, delta_cfi, delta_rmsea (NaN on the first row)."""
        rows = []
        for k, (lev, f) in enumerate(zip(self.levels, self.fits, strict=True)):
            m = f.measures
            row = {"level": lev, **{c: m[c] for c in ("chisq", "df", "cfi", "tli", "rmsea",
                                                      "srmr", "aic", "bic")}}
            row.update(chisq_diff=np.nan, df_diff=np.nan, p_diff=np.nan, delta_cfi=np.nan,
                       delta_rmsea=np.nan)
            if k:
                prev = self.fits[k - 1]
                lrt = chisq_difference(prev, f).iloc[-1]
                row.update(chisq_diff=lrt["chisq_diff"], df_diff=lrt["df_diff"],
                           p_diff=lrt["p_diff"], delta_cfi=m["cfi"] - prev.measures["cfi"],
                           delta_rmsea=m["rmsea"] - prev.measures["rmsea"])
            rows.append(row)
        return pd.DataFrame(rows)


def measurement_invariance(data: pd.DataFrame, model: str | Mapping[str, Sequence[str]], *,
                           group: str, estimator: Estimator = "ml",
                           levels: Sequence[str] = tuple(LEVELS)) -> InvarianceResult:
    """Fit the configural, metric, scalar and strict models of ``model`` across ``group``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(600, 1))
    >>> df = pd.DataFrame(f @ [[1.0, 0.8, 0.7, 0.6]] + rng.normal(size=(600, 4)),
    ...                   columns=["a", "b", "c", "d"]).assign(g=np.repeat([1, 2], 300))
    >>> mi = measurement_invariance(df, {"f": ["a", "b", "c", "d"]}, group="g")
    >>> list(mi.table()["level"])
    ['configural', 'metric', 'scalar', 'strict']
    """
    levels = tuple(levels)
    unknown = [lev for lev in levels if lev not in LEVELS]
    if unknown or not levels:
        raise SpecificationError(f"unknown invariance level(s) {unknown}; choose from "
                                 f"{', '.join(LEVELS)}")
    order = [lev for lev in LEVELS if lev in levels]
    fits = tuple(cfa(data, model, estimator=estimator, group=group,
                     group_equal=LEVELS[lev]) for lev in order)
    return InvarianceResult(tuple(order), fits, group)
