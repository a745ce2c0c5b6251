"""Common method variance: Lindell & Whitney's (2001) marker-variable correction.

Conventions
-----------
- A marker is a variable theoretically unrelated to the substantive ones; its
  correlation with them estimates the common method variance ``r_M``. Lindell &
  Whitney (2001, p. 116) take the smallest positive correlation between the marker
  and the substantive variables (``r_S``), the default here; ``r_m=`` sets it.
- Each substantive correlation is corrected as ``r_A = (r - r_M) / (1 - r_M)``
  (their eq. 4) and tested with ``t = r_A / sqrt((1 - r_A^2) / (n - 3))`` on ``n - 3``
  df (eq. 5: one df more than for a correlation, for the partialled marker),
  two-sided.
- From data, correlations are Pearson on the rows complete on every column used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.measurement._columns import numeric_matrix, require_columns
from ipnstats.results.display import TidyDisplay


@dataclass(frozen=True, repr=False)
class MarkerCorrection(TidyDisplay):
    """Correlations corrected for a marker; see :func:`marker_correction`.

    ``pairs``: one row per pair of substantive variables with ``r``, ``r_adjusted``,
    ``statistic`` (t), ``df`` and ``p_value`` of the corrected correlation.
    """

    r_m: float
    n: int
    marker: str | None
    pairs: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """The pairs in the result schema: term (``a~b``), estimate (r_adjusted),
        statistic, df, p_value, plus the uncorrected r."""
        out = self.pairs.assign(term=self.pairs["var_a"] + "~" + self.pairs["var_b"])
        return out.rename(columns={"r_adjusted": "estimate"})[
            ["term", "estimate", "statistic", "df", "p_value", "r"]]

    def corrected_matrix(self) -> pd.DataFrame:
        """The corrected correlations as a symmetric matrix with 1 on the diagonal."""
        names = list(dict.fromkeys([*self.pairs["var_a"], *self.pairs["var_b"]]))
        m = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for rec in self.pairs.itertuples(index=False):
            m.loc[rec.var_a, rec.var_b] = m.loc[rec.var_b, rec.var_a] = rec.r_adjusted
        return m


def marker_correction_matrix(correlations: pd.DataFrame, *, n: int, marker: str | None = None,
                             r_m: float | None = None) -> MarkerCorrection:
    """The marker correction of a correlation matrix of ``n`` respondents.

    Give the marker's name (its smallest positive correlation is ``r_M``, and it is
    left out of the pairs) or ``r_m`` itself.

    >>> r = pd.DataFrame([[1, .4, .1], [.4, 1, .15], [.1, .15, 1]],
    ...                  index=["a", "b", "m"], columns=["a", "b", "m"])
    >>> res = marker_correction_matrix(r, n=200, marker="m")
    >>> res.r_m, round(float(res.pairs.loc[0, "r_adjusted"]), 4)
    (0.1, 0.3333)
    """
    if not isinstance(correlations, pd.DataFrame) or \
            list(correlations.index) != list(correlations.columns):
        raise SpecificationError("correlations must be a square DataFrame with the same "
                                 "names as index and columns")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise SpecificationError(f"n must be an integer of at least 4 (df = n - 3), not {n!r}")
    names = [str(c) for c in correlations.columns]
    if marker is not None:
        require_columns(correlations, [marker], role="marker")
        others = [c for c in names if c != marker]
        with_marker = correlations.loc[others, marker].astype(float)
        positive = with_marker[with_marker > 0]
        if r_m is None:
            if positive.empty:
                raise DataError(f"marker {marker!r} has no positive correlation with the other "
                                f"variables; pass r_m= yourself")
            r_m = float(positive.min())
    else:
        others = names
        if r_m is None:
            raise SpecificationError("give the marker's name (marker=) or its correlation (r_m=)")
    if not (math.isfinite(r_m) and -1 < r_m < 1):
        raise SpecificationError(f"r_m must lie strictly between -1 and 1, not {r_m!r}")
    rows = []
    for i, a in enumerate(others):
        for b in others[i + 1:]:
            r = float(correlations.loc[a, b])
            ra = (r - r_m) / (1 - r_m)
            t = (ra / math.sqrt((1 - ra ** 2) / (n - 3)) if abs(ra) < 1
                 else math.copysign(math.inf, ra))
            rows.append({"var_a": a, "var_b": b, "r": r, "r_adjusted": ra, "statistic": t,
                         "df": n - 3, "p_value": float(2 * stats.t.sf(abs(t), n - 3))})
    pairs = pd.DataFrame(rows, columns=["var_a", "var_b", "r", "r_adjusted", "statistic", "df",
                                        "p_value"])
    return MarkerCorrection(r_m=float(r_m), n=int(n), marker=marker, pairs=pairs)


def marker_correction(data: pd.DataFrame, columns: Sequence[str], *, marker: str | None = None,
                      r_m: float | None = None) -> MarkerCorrection:
    """The marker correction from data: Pearson correlations of ``columns`` (and the
    marker) on the complete rows; see :func:`marker_correction_matrix`."""
    names = require_columns(data, [*columns, *([marker] if marker and marker not in columns
                                               else [])])
    x = numeric_matrix(data, names)
    x = x[~np.isnan(x).any(axis=1)]
    if len(x) < 4:
        raise DataError(f"the marker correction needs at least 4 complete rows; {len(x)} are")
    if (x.std(axis=0) == 0).any():
        raise DataError(f"column {names[int(np.argmax(x.std(axis=0) == 0))]!r} does not vary")
    r = pd.DataFrame(np.corrcoef(x, rowvar=False), index=names, columns=names)
    return marker_correction_matrix(r, n=len(x), marker=marker, r_m=r_m)
