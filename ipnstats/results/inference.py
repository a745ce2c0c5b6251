"""Coefficient tables and Wald tests from estimates, a covariance and a reference law.

``df=None`` means the normal (z) law; a number means Student t (or F for Wald).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError

TIDY_COLUMNS = ("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")


def check_conf_level(conf_level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    if not 0 < conf_level < 1:
        raise SpecificationError(
            f"conf_level must lie strictly between 0 and 1, got {conf_level!r}")
    return float(conf_level)


def critical_value(conf_level: float, df: float | None) -> float:
    """Two-sided critical value of the t(df) or normal law."""
    q = 0.5 + check_conf_level(conf_level) / 2
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))


def two_sided_p(statistic: np.ndarray, df: float | None) -> np.ndarray:
    """Two-sided p-values of t or z statistics."""
    a = np.abs(statistic)
    return 2 * (stats.norm.sf(a) if df is None else stats.t.sf(a, df))


def one_sided_p(statistic: np.ndarray | float, df: float | None,
                alternative: Literal["greater", "less"]) -> np.ndarray | float:
    """p-values of t(df) (or, with ``df=None``, z) statistics against a one-sided
    alternative: ``"greater"`` (upper tail) or ``"less"`` (lower tail).

    Examples
    --------
    >>> round(float(one_sided_p(1.6448536269514722, None, "greater")), 6)
    0.05
    """
    if alternative not in ("greater", "less"):
        raise SpecificationError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    law = stats.norm if df is None else stats.t(df)
    return law.sf(statistic) if alternative == "greater" else law.cdf(statistic)


def p_value(statistic: np.ndarray, df: float | None,
            alternative: Literal["two-sided", "greater", "less"] = "two-sided") -> np.ndarray:
    """Two-sided (:func:`two_sided_p`) or one-sided (:func:`one_sided_p`) p-values."""
    if alternative == "two-sided":
        return two_sided_p(statistic, df)
    return one_sided_p(statistic, df, alternative)


def coef_table(params: pd.Series, std_error: pd.Series, df: float | np.ndarray | None,
               conf_level: float = 0.95) -> pd.DataFrame:
    """The broom-style tidy frame: term, estimate, std_error, statistic, p_value, CI.

    ``df`` is one reference law for every term (a number for t, None for the normal),
    or an array of per-term degrees of freedom (Satterthwaite), which the frame then
    reports in a ``df`` column after ``p_value``.

    Examples
    --------
    >>> t = coef_table(pd.Series([1.0, 2.0], index=["a", "b"]),
    ...                pd.Series([0.5, 0.5], index=["a", "b"]), np.array([3.0, 30.0]))
    >>> list(t.columns)
    ['term', 'estimate', 'std_error', 'statistic', 'p_value', 'df', 'conf_low', 'conf_high']
    >>> t.df.tolist()
    [3.0, 30.0]
    """
    est = params.to_numpy(float)
    se = std_error.reindex(params.index).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    per_term = df is not None and np.ndim(df) > 0
    if per_term:
        df_terms = np.asarray(df, float)
        q = 0.5 + check_conf_level(conf_level) / 2
        crit = np.where(df_terms > 0, stats.t.ppf(q, np.where(df_terms > 0, df_terms, 1.0)),
                        np.nan)
        p = np.where(df_terms > 0, two_sided_p(stat, np.where(df_terms > 0, df_terms, 1.0)),
                     np.nan)
    else:
        crit = critical_value(conf_level, df)
        p = two_sided_p(stat, df)
    table = pd.DataFrame({
        "term": params.index.astype(str), "estimate": est, "std_error": se,
        "statistic": stat, "p_value": p,
        "conf_low": est - crit * se, "conf_high": est + crit * se,
    })
    if per_term:
        table.insert(5, "df", df_terms)
    return table


@dataclass(frozen=True, slots=True)
class WaldTest:
    """A joint test of ``R b = q``: F (with ``df_denom``) or chi-squared (``df_denom=None``)."""

    statistic: float
    df_num: int
    df_denom: float | None
    p_value: float
    hypothesis: str
    note: str = ""

    def tidy(self) -> pd.DataFrame:
        """One row: hypothesis, statistic, df_num, df_denom, p_value, distribution, note."""
        law = "chi2" if self.df_denom is None else "F"
        return pd.DataFrame([{"hypothesis": self.hypothesis, "statistic": self.statistic,
                              "df_num": self.df_num, "df_denom": self.df_denom,
                              "p_value": self.p_value, "distribution": law,
                              "note": self.note}])


def wald_test(params: np.ndarray, cov: np.ndarray, R: np.ndarray, q: np.ndarray,
              df: float | None, hypothesis: str = "") -> WaldTest:
    """Wald test of ``R b = q``; F = W / J with t's df as denominator, else chi2(J).

    Terms that ``R`` does not involve may have no variance (NaN, e.g. the reference of
    a universal-base event study): they are left out of the products.
    """
    R = np.atleast_2d(np.asarray(R, float))
    params, cov = np.asarray(params, float), np.asarray(cov, float)
    if not np.isfinite(cov).all():
        used = np.any(R != 0, axis=0)
        R, params, cov = R[:, used], params[used], cov[np.ix_(used, used)]
    diff = R @ params - np.asarray(q, float)
    middle = R @ cov @ R.T
    w = float(diff @ np.linalg.pinv(middle) @ diff)
    j = int(np.linalg.matrix_rank(middle))
    note = _conditioning_note(middle) if j == middle.shape[0] else (
        f"The covariance of the {middle.shape[0]} tested estimates has rank {j}: the test "
        f"uses a generalized inverse with {j} degrees of freedom and is unreliable. Test "
        "fewer, better-estimated quantities (e.g. event-time aggregates).")
    if df is None:
        return WaldTest(w, j, None, float(stats.chi2.sf(w, j)), hypothesis, note)
    return WaldTest(w / j, j, float(df), float(stats.f.sf(w / j, j, df)), hypothesis, note)


NEAR_SINGULAR = 1e10


def _conditioning_note(middle: np.ndarray) -> str:
    """A warning when the tested covariance is near singular (its inverse is unstable)."""
    ev = np.linalg.eigvalsh((middle + middle.T) / 2)
    if ev.size == 0 or ev[-1] <= 0:
        return ""
    kept = ev[ev > ev[-1] * 1e-15]
    cond = ev[-1] / kept[0] if kept.size else np.inf
    if cond < NEAR_SINGULAR:
        return ""
    return (f"The covariance of the {middle.shape[0]} tested estimates is near singular "
            f"(condition number {cond:.1e}): the statistic is unreliable. Test fewer, "
            "better-estimated quantities (e.g. event-time aggregates).")
