"""Tests and fit statistics pooled over m imputations: the D1 Wald test of several
terms and the pooled R-squared.

- :func:`pooled_wald_test` is Li, Raghunathan and Rubin's (1991) D1, as R mice's
  ``D1()`` (mitml's ``testModels(method = "D1")``): with ``Qbar`` the mean estimates
  and ``Ubar`` the mean covariance of the k tested terms and ``B`` their between
  covariance, ``r = (1 + 1/m) tr(B Ubar^-1) / k``, ``F = Qbar' ((1 + r) Ubar)^-1 Qbar / k``
  on (k, v) degrees of freedom, v Reiter's (2007) small-sample df from ``dfcom``
  (:func:`reiter_df`).
- :func:`pool_r_squared` is Harel's (2009) pooled R-squared, as mice's
  ``pool.r.squared()``: Rubin's rules on the Fisher z of ``sqrt(R^2)`` with variance
  ``1 / (n - 3)``, transformed back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.inference.pooling import _check_results, _dfcom, _glance_value, barnard_rubin
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import check_conf_level


def reiter_df(k: int, m: int, r: float, dfcom: float) -> float:
    """Denominator df of D1: Reiter's (2007) small-sample df when ``dfcom`` is finite,
    else Li, Raghunathan and Rubin's (1991), exactly as mitml's ``.D1``.

    With ``t = k (m - 1) = 4`` (one term, five imputations) Reiter's df is 4 (its
    ``1 / (t - 4)`` is infinite), as in mitml.

    >>> round(reiter_df(2, 5, 0.7024613, 22), 4)
    7.0041
    """
    t = k * (m - 1)
    if math.isinf(dfcom):
        if t > 4:
            return 4 + (t - 4) * (1 + (1 - 2 / t) / r) ** 2
        return t * (1 + 1 / k) * (1 + 1 / r) ** 2 / 2
    a = r * t / (t - 2)
    vstar = (dfcom + 1) / (dfcom + 3) * dfcom
    if t == 4:
        return 4.0
    c0 = 1 / (t - 4)
    c1 = vstar - 2 * (1 + a)
    c2 = vstar - 4 * (1 + a)
    z = (1 / c2 + c0 * (a**2 * c1 / ((1 + a) ** 2 * c2))
         + c0 * (8 * a**2 * c1 / ((1 + a) * c2**2) + 4 * a**2 / ((1 + a) * c2))
         + c0 * (4 * a**2 / (c2 * c1) + 16 * a**2 * c1 / c2**3) + c0 * (8 * a**2 / c2**2))
    return 4 + 1 / z


@dataclass(frozen=True, repr=False)
class PooledWaldTest(TidyDisplay):
    """The D1 test of the ``terms`` being zero over m imputations."""

    statistic: float
    df_num: int
    df_denom: float
    p_value: float
    riv: float
    m: int
    dfcom: float
    terms: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row: hypothesis, statistic (F), df_num, df_denom, p_value, riv (average
        relative increase in variance), m, dfcom, method ("D1")."""
        return pd.DataFrame([{
            "hypothesis": " = ".join(self.terms) + " = 0", "statistic": self.statistic,
            "df_num": self.df_num, "df_denom": self.df_denom, "p_value": self.p_value,
            "riv": self.riv, "m": self.m, "dfcom": self.dfcom, "method": "D1"}])


def pooled_wald_test(results: Sequence[object], terms: Sequence[str] | None = None, *,
                     null: Sequence[object] | None = None,
                     dfcom: float | None = None) -> PooledWaldTest:
    """D1: are ``terms`` jointly zero, over the fits of m imputed data sets?

    Parameters
    ----------
    results
        The fits of the full model, one per imputation (results with ``params`` and
        ``cov``, e.g. :class:`~ipnstats.results.Result`).
    terms
        The tested terms. Or give ``null``:
    null
        The fits of a nested model on the same imputations; the tested terms are those
        of ``results`` that ``null`` lacks (mice's ``D1(fit1, fit0)``).
    dfcom
        Complete-data df, as :func:`~ipnstats.inference.pooling.pool` (default: the
        full model's residual df).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ipnstats import panel_regression
    >>> from ipnstats.inference.imputation import impute
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"firm_id": range(60), "year": 2020, "x": rng.normal(size=60),
    ...                    "z": rng.normal(size=60)})
    >>> df["y"] = 0.5 * df.x + rng.normal(size=60)
    >>> df.loc[::4, "z"] = np.nan
    >>> fits = [panel_regression(d, "y ~ x + z", unit="firm_id", time="year",
    ...                          estimator="pooled") for d in impute(df, m=5, seed=1)]
    >>> test = pooled_wald_test(fits, ["x", "z"])
    >>> test.df_num, bool(test.p_value < 0.05)
    (2, True)
    """
    results = _check_results(results)
    names = _terms(results[0])
    tested = _tested(names, terms, null)
    idx = [names.index(t) for t in tested]
    q = np.column_stack([_params(r, names, i)[idx] for i, r in enumerate(results)])
    u = np.stack([_cov(r, names, i)[np.ix_(idx, idx)] for i, r in enumerate(results)])
    dfc, notes = _dfcom(results, dfcom)
    k, m = q.shape
    qbar, ubar = q.mean(axis=1), u.mean(axis=0)
    b = np.atleast_2d(np.cov(q))
    r = (1 + 1 / m) * float(np.trace(b @ np.linalg.inv(ubar))) / k
    f = float(qbar @ np.linalg.solve((1 + r) * ubar, qbar)) / k
    v = reiter_df(k, m, r, dfc)
    return PooledWaldTest(f, k, v, float(stats.f.sf(f, k, v)), r, m, dfc, tuple(tested),
                          notes)


def _terms(result: object) -> list[str]:
    params = getattr(result, "params", None)
    if not isinstance(params, pd.Series) or getattr(result, "cov", None) is None:
        raise SpecificationError(
            f"a pooled Wald test needs results with params and cov (ipnstats results); "
            f"got {type(result).__name__}")
    return [str(t) for t in params.index]


def _tested(names: list[str], terms: Sequence[str] | None,
            null: Sequence[object] | None) -> list[str]:
    if (terms is None) == (null is None):
        raise SpecificationError("name the tested terms, or give the fits of the nested "
                                 "model as null= (one of the two)")
    if null is not None:
        kept = set(_terms(_check_results(null)[0]))
        tested = [t for t in names if t not in kept]
        if not tested:
            raise SpecificationError("the null model holds every term of the full model: "
                                     "nothing to test")
        return tested
    tested = [terms] if isinstance(terms, str) else list(terms)
    unknown = [t for t in tested if t not in names]
    if unknown or not tested:
        raise SpecificationError(f"unknown terms {unknown}; the model has {names}")
    return tested


def _params(result: object, names: list[str], i: int) -> np.ndarray:
    if [str(t) for t in result.params.index] != names:
        raise SpecificationError(f"fit {i + 1} has other terms than fit 1: "
                                 f"{list(result.params.index)} vs {names}")
    return result.params.to_numpy(float)


def _cov(result: object, names: list[str], i: int) -> np.ndarray:
    return np.asarray(result.cov, float)


@dataclass(frozen=True, repr=False)
class PooledRSquared(TidyDisplay):
    """Harel's (2009) pooled R-squared (:func:`pool_r_squared`)."""

    estimate: float
    conf_low: float
    conf_high: float
    fmi: float
    m: int
    adjusted: bool
    conf_level: float

    def tidy(self) -> pd.DataFrame:
        """One row: term ("r2" or "r2_adj"), estimate, conf_low, conf_high, fmi, m."""
        return pd.DataFrame([{"term": "r2_adj" if self.adjusted else "r2",
                              "estimate": self.estimate, "conf_low": self.conf_low,
                              "conf_high": self.conf_high, "fmi": self.fmi, "m": self.m}])


def pool_r_squared(results: Sequence[object], *, adjusted: bool = False,
                   conf_level: float = 0.95) -> PooledRSquared:
    """The R-squared of a linear model pooled over m imputations (Harel 2009).

    Each fit's ``sqrt(R^2)`` is Fisher z-transformed, with variance ``1 / (nobs - 3)``;
    Rubin's rules pool the z's (large-sample df), and the mean and the normal-law
    interval ``z +- crit sqrt(t)`` are transformed back (``tanh(z)^2``; a lower bound
    below z = 0 is 0). R mice's ``pool.r.squared()`` uses the same rule with the
    quantile rounded to 1.96.

    Parameters
    ----------
    results
        Fits with ``glance()`` reporting ``r2`` (``r2_adj`` with ``adjusted=True``) and
        ``nobs``.
    """
    results = _check_results(results)
    level = check_conf_level(conf_level)
    name = "r2_adj" if adjusted else "r2"
    r2 = np.array([_needed(r, name, i) for i, r in enumerate(results)], float)
    n = np.array([_needed(r, "nobs", i) for i, r in enumerate(results)], float)
    if np.any(r2 < 0) or np.any(r2 >= 1) or np.any(n <= 3):
        raise SpecificationError(f"pooling R-squared needs 0 <= {name} < 1 and nobs > 3 in "
                                 "every fit")
    z, u, m = np.arctanh(np.sqrt(r2)), 1 / (n - 3), len(r2)
    qbar, b = z.mean(), z.var(ddof=1)
    t = u.mean() + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / u.mean()
    df = float(barnard_rubin(m, b, t, math.inf))
    crit = float(stats.norm.ppf(0.5 + level / 2)) * math.sqrt(t)
    return PooledRSquared(float(np.tanh(qbar) ** 2), float(np.tanh(max(qbar - crit, 0)) ** 2),
                          float(np.tanh(qbar + crit) ** 2), float((riv + 2 / (df + 3)) / (riv + 1)),
                          m, adjusted, level)


def _needed(result: object, name: str, i: int) -> float:
    value = _glance_value(result, name)
    if value is None:
        raise SpecificationError(f"fit {i + 1} does not report {name} in glance(): pooled "
                                 "R-squared needs linear-model fits")
    return float(value)
