"""Nonresponse bias: Armstrong & Overton's (1977) early-versus-late respondents.

Conventions
-----------
- Late respondents stand in for nonrespondents. With ``order=`` a response date or
  sequence column, the first ``share`` of respondents (by order; ties broken by row
  order) are early and the last ``share`` late; with ``waves=(early, late)`` the
  ``order`` column holds wave labels and the two named waves are compared.
- Numeric variables: Welch's t-test (R ``t.test`` default, unequal variances);
  variables named in ``categorical``: Pearson's chi-square on the wave x category
  table, with Yates' continuity correction for 2 x 2 tables (R ``chisq.test``
  default). Missing values are left out per variable.
- p-values are adjusted across the variables (Holm by default) with
  :func:`ipnstats.inference.multiplicity.adjust_pvalues`.
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
from ipnstats.inference.multiplicity import Method, adjust_pvalues
from ipnstats.results.display import TidyDisplay


@dataclass(frozen=True, repr=False)
class EarlyLate(TidyDisplay):
    """Early-versus-late comparison; see :func:`early_late`. ``tests``: one row per
    variable with test, statistic, df, p_value, p_adjusted, mean_early, mean_late
    (NaN for categoricals), n_early, n_late."""

    tests: pd.DataFrame
    n_early: int
    n_late: int
    method: str

    def tidy(self) -> pd.DataFrame:
        """term (the variable), estimate (late minus early mean), statistic, p_value,
        p_adjusted, test."""
        t = self.tests
        return pd.DataFrame({"term": t["variable"], "estimate": t["mean_late"] - t["mean_early"],
                             "statistic": t["statistic"], "p_value": t["p_value"],
                             "p_adjusted": t["p_adjusted"], "test": t["test"]})


def _split(data: pd.DataFrame, order: str, share: float | None,
           waves: tuple[object, object] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    if waves is not None:
        if share is not None:
            raise SpecificationError("give share= or waves=, not both")
        if len(waves) != 2:
            raise SpecificationError(f"waves must be (early, late), not {waves!r}")
        present = set(data[order].dropna())
        for w in waves:
            if w not in present:
                raise DataError(f"wave {w!r} does not occur in {order!r}")
        return data[data[order] == waves[0]], data[data[order] == waves[1]]
    share = 0.25 if share is None else share
    if not (isinstance(share, float) and 0 < share <= 0.5):
        raise SpecificationError(f"share must be a number in (0, 0.5], not {share!r}")
    known = data[data[order].notna()]
    try:
        ranked = known.sort_values(order, kind="stable")
    except TypeError as err:
        raise DataError(f"the values of {order!r} cannot be ordered: {err}") from None
    k = int(math.floor(share * len(ranked)))
    if k < 2:
        raise DataError(f"the first and last {share:.0%} of {len(ranked)} respondents hold "
                        f"fewer than 2 each")
    return ranked.iloc[:k], ranked.iloc[-k:]


def early_late(data: pd.DataFrame, variables: Sequence[str], *, order: str,
               share: float | None = None, waves: tuple[object, object] | None = None,
               categorical: Sequence[str] = (), method: Method = "holm") -> EarlyLate:
    """Compare early and late respondents on ``variables`` (Armstrong & Overton 1977).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"day": np.arange(80), "x": rng.normal(size=80),
    ...                   "sector": rng.choice(["a", "b"], 80)})
    >>> res = early_late(d, ["x", "sector"], order="day", categorical=["sector"])
    >>> res.tests["test"].tolist()
    ['welch_t', 'chi_square']
    """
    names = require_columns(data, [variables] if isinstance(variables, str) else variables,
                            role="variable")
    require_columns(data, [order], role="order")
    unknown = [c for c in categorical if c not in names]
    if unknown:
        raise SpecificationError(f"categorical {unknown[0]!r} is not among the variables")
    early, late = _split(data, order, share, waves)
    rows = []
    for name in names:
        if name in categorical:
            rows.append(_chi_square(name, early[name], late[name]))
        else:
            if not pd.api.types.is_numeric_dtype(data[name]):
                raise DataError(f"variable {name!r} holds {data[name].dtype} values, not "
                                f"numbers; name it in categorical= for a chi-square test")
            e, lt = (numeric_matrix(part, [name])[:, 0] for part in (early, late))
            rows.append(_welch(name, e[~np.isnan(e)], lt[~np.isnan(lt)]))
    tests = pd.DataFrame(rows)
    tests["p_adjusted"] = adjust_pvalues(tests["p_value"].to_numpy(float), method)
    return EarlyLate(tests=tests, n_early=len(early), n_late=len(late), method=method)


def _welch(name: str, e: np.ndarray, lt: np.ndarray) -> dict:
    row = {"variable": name, "test": "welch_t", "mean_early": e.mean() if len(e) else math.nan,
           "mean_late": lt.mean() if len(lt) else math.nan, "n_early": len(e), "n_late": len(lt)}
    if len(e) < 2 or len(lt) < 2 or (e.var() == 0 and lt.var() == 0):
        return row | {"statistic": math.nan, "df": math.nan, "p_value": math.nan}
    res = stats.ttest_ind(lt, e, equal_var=False)
    return row | {"statistic": float(res.statistic), "df": float(res.df),
                  "p_value": float(res.pvalue)}


def _chi_square(name: str, e: pd.Series, lt: pd.Series) -> dict:
    e, lt = e.dropna(), lt.dropna()
    table = pd.crosstab(np.r_[np.zeros(len(e)), np.ones(len(lt))],
                        np.r_[e.to_numpy(object), lt.to_numpy(object)].astype(str))
    row = {"variable": name, "test": "chi_square", "mean_early": math.nan, "mean_late": math.nan,
           "n_early": len(e), "n_late": len(lt)}
    if table.shape[0] < 2 or table.shape[1] < 2:
        return row | {"statistic": math.nan, "df": math.nan, "p_value": math.nan}
    res = stats.chi2_contingency(table.to_numpy(), correction=True)
    return row | {"statistic": float(res.statistic), "df": float(res.dof),
                  "p_value": float(res.pvalue)}
