"""Rubin's rules: one result from the fits of m multiply imputed data sets.

:func:`pool` combines any tables of estimates and standard errors (a result's
``tidy()``, or a DataFrame with ``estimate`` and ``std_error``) as R mice's ``pool()``:
for each term, with ``Q_i`` the estimate and ``U_i`` the squared standard error of
imputation ``i``,

- ``estimate = mean(Q_i)``, ``ubar = mean(U_i)`` (within), ``b = var(Q_i)``
  (between, divisor m - 1), ``t = ubar + (1 + 1/m) b`` (total);
- ``riv = (1 + 1/m) b / ubar``, ``lambda = (1 + 1/m) b / t``;
- ``df``: Barnard and Rubin (1999) with the complete-data degrees of freedom ``dfcom``
  (:func:`barnard_rubin`); ``fmi = (riv + 2 / (df + 3)) / (riv + 1)``;
- t(df) p-values and intervals on ``sqrt(t)``.

The pooled Wald test of several terms (D1) and the pooled R-squared are in
:mod:`ipnstats.inference.pooled_tests`.

>>> import pandas as pd
>>> fits = [pd.DataFrame({"term": ["x"], "estimate": [q], "std_error": [1.0]})
...         for q in (1.0, 2.0, 3.0)]
>>> res = pool(fits, dfcom=50)
>>> round(float(res.rubin().t[0]), 4)
2.3333
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.results.display import TidyDisplay
from ipnstats.results.inference import check_conf_level, two_sided_p
from ipnstats.results.notes import Note

#: Columns of a tidy table that hold statistics, not the identity of a row.
STAT_COLUMNS = ("estimate", "std_error", "statistic", "p_value", "df", "conf_low", "conf_high")
#: Columns of :meth:`PooledResult.rubin`, after the key columns (mice's ``pool()$pooled``).
RUBIN_COLUMNS = ("m", "estimate", "ubar", "b", "t", "dfcom", "df", "riv", "lambda", "fmi")


def barnard_rubin(m: int, b: np.ndarray, t: np.ndarray, dfcom: float) -> np.ndarray:
    """Barnard-Rubin (1999) degrees of freedom of pooled estimates, as mice.

    ``lambda = (1 + 1/m) b / t`` (floored at 1e-4), ``df_old = (m - 1) / lambda^2``,
    ``df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda)``, and
    ``df = df_old * df_obs / (df_old + df_obs)``; ``df_old`` (Rubin 1987) when
    ``dfcom`` is infinite.

    >>> round(float(barnard_rubin(5, np.array(32.551813), np.array(116.3162), 22)), 3)
    9.748
    """
    lam = np.maximum((1 + 1 / m) * np.asarray(b, float) / np.asarray(t, float), 1e-4)
    df_old = (m - 1) / lam**2
    if math.isinf(dfcom):
        return df_old
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return df_old * df_obs / (df_old + df_obs)


def rubin_components(q: np.ndarray, u: np.ndarray, dfcom: float) -> dict[str, np.ndarray]:
    """Rubin's rules on estimates ``q`` and variances ``u``, both (terms, m): the
    columns of :data:`RUBIN_COLUMNS` as arrays over terms."""
    m = q.shape[1]
    qbar, ubar = q.mean(axis=1), u.mean(axis=1)
    b = q.var(axis=1, ddof=1)
    t = ubar + (1 + 1 / m) * b
    df = barnard_rubin(m, b, t, dfcom)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = (1 + 1 / m) * b / t
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    k = len(qbar)
    return {"m": np.full(k, m), "estimate": qbar, "ubar": ubar, "b": b, "t": t,
            "dfcom": np.full(k, dfcom), "df": df, "riv": riv, "lambda": lam, "fmi": fmi}


@dataclass(frozen=True, repr=False)
class PooledResult(TidyDisplay):
    """Estimates pooled over m imputations by Rubin's rules (:func:`pool`).

    Attributes
    ----------
    keys
        The columns that identify a pooled row (``("term",)`` for a model's
        coefficients).
    table
        One row per pooled quantity: the key columns, then :data:`RUBIN_COLUMNS`.
    m
        Number of imputations.
    dfcom
        Complete-data degrees of freedom (``inf``: large sample).
    nobs, estimator
        Observations per completed data set and the pooled model's estimator, when the
        results say (else None and "").
    seed
        The imputation seed, when known.
    conf_level
        Level of ``tidy()``'s intervals unless another is given.
    notes
        :class:`~ipnstats.results.notes.Note` strings (``dfcom_large_sample``).
    """

    keys: tuple[str, ...]
    table: pd.DataFrame
    m: int
    dfcom: float
    nobs: int | None = None
    estimator: str = ""
    seed: int | None = None
    conf_level: float = 0.95
    notes: tuple[str, ...] = field(default=())

    def rubin(self) -> pd.DataFrame:
        """The pooling components per row, as mice's ``pool()$pooled``: the key columns,
        m, estimate, ubar, b, t, dfcom, df, riv, lambda, fmi."""
        return self.table.copy()

    def tidy(self, conf_level: float | None = None) -> pd.DataFrame:
        """term (or the key columns), estimate, std_error (``sqrt(t)``), statistic,
        p_value, df (Barnard-Rubin), conf_low, conf_high, fmi; key columns other than
        ``term`` come last."""
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        tab = self.table
        est, se = tab["estimate"].to_numpy(float), np.sqrt(tab["t"].to_numpy(float))
        df = tab["df"].to_numpy(float)
        crit = stats.t.ppf(0.5 + level / 2, df)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        lead = [k for k in self.keys if k == "term"] or list(self.keys)
        columns = {k: tab[k].to_numpy() for k in lead} | {
            "estimate": est, "std_error": se, "statistic": stat, "p_value": two_sided_p(stat, df),
            "df": df, "conf_low": est - crit * se, "conf_high": est + crit * se,
            "fmi": tab["fmi"].to_numpy(float)}
        return pd.DataFrame(columns | {k: tab[k].to_numpy() for k in self.keys
                                       if k not in lead})

    def glance(self) -> pd.DataFrame:
        """One row: estimator, nobs, m, dfcom, the largest fmi, seed."""
        fmi = self.table.fmi.to_numpy(float)
        return pd.DataFrame([{
            "estimator": self.estimator, "nobs": self.nobs, "m": self.m,
            "dfcom": self.dfcom, "fmi_max": float(np.nanmax(fmi)) if fmi.size else None,
            "seed": self.seed, "pooling": "Rubin's rules, Barnard-Rubin df"}])


def pool(results: Sequence[object], *, dfcom: float | None = None,
         by: Sequence[str] | None = None, seed: int | None = None) -> PooledResult:
    """Pool the fits of m imputed data sets by Rubin's rules (as R mice's ``pool()``).

    Parameters
    ----------
    results
        Two or more fits, one per imputed data set: results with ``tidy()`` (any
        ipnstats result) or DataFrames with ``estimate`` and ``std_error`` columns
        (e.g. ``moderation(...).simple_slopes(at=[...])``).
    dfcom
        Complete-data degrees of freedom for the Barnard-Rubin df. None takes the
        results' residual df (``glance()['df_resid']`` of the first) when they expose
        it, else the large-sample df of Rubin (1987) (``inf``; a note says so).
    by
        The columns that identify a row across the fits. None: every column that is
        not a statistic (``term`` and a result's key columns). Each fit must hold each
        row once.
    seed
        The imputation seed, recorded on the result.

    Returns
    -------
    PooledResult
        ``tidy()``, ``glance()`` and ``rubin()`` (mice's pooling components).

    Examples
    --------
    >>> import pandas as pd
    >>> fits = [pd.DataFrame({"term": ["a", "b"], "estimate": [q, 2 * q],
    ...                       "std_error": [0.5, 0.5]}) for q in (1.0, 1.2, 0.9)]
    >>> pool(fits, dfcom=100).tidy().round(3)[["term", "estimate", "std_error"]]
      term  estimate  std_error
    0    a     1.033      0.530
    1    b     2.067      0.612
    """
    tables = [_tidy_of(r, i) for i, r in enumerate(_check_results(results))]
    keys = _keys(tables, by)
    q, u, rows = _stack(tables, keys)
    dfc, notes = _dfcom(results, dfcom)
    parts = rubin_components(q, u, dfc)
    table = pd.DataFrame({**{k: rows[k].to_numpy() for k in keys},
                          **{name: parts[name] for name in RUBIN_COLUMNS}})
    return PooledResult(keys=keys, table=table, m=len(tables), dfcom=dfc,
                        nobs=_glance_value(results[0], "nobs"),
                        estimator=str(_glance_value(results[0], "estimator") or ""),
                        seed=seed, notes=notes)


def _check_results(results: Sequence[object]) -> Sequence[object]:
    if isinstance(results, pd.DataFrame) or not isinstance(results, Sequence):
        raise SpecificationError(
            "results must be a list of fits, one per imputed data set (results with "
            f"tidy() or DataFrames); got {type(results).__name__}")
    if len(results) < 2:
        raise SpecificationError(
            f"pooling needs the fits of at least 2 imputed data sets; got {len(results)}")
    return results


def _tidy_of(result: object, i: int) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        table = result
    elif callable(getattr(result, "tidy", None)):
        table = result.tidy()
    else:
        raise SpecificationError(
            f"fit {i + 1} is a {type(result).__name__}: pool() needs results with tidy() "
            "or DataFrames with 'estimate' and 'std_error' columns")
    missing = [c for c in ("estimate", "std_error") if c not in table.columns]
    if missing:
        raise SpecificationError(f"fit {i + 1}'s table has no column {missing}; pool() needs "
                                 "'estimate' and 'std_error'")
    return table


def _keys(tables: list[pd.DataFrame], by: Sequence[str] | None) -> tuple[str, ...]:
    first = tables[0]
    keys = (tuple(c for c in first.columns if c not in STAT_COLUMNS) if by is None
            else (by,) if isinstance(by, str) else tuple(by))
    if not keys:
        raise SpecificationError("the tables have no column naming their rows (e.g. 'term'); "
                                 "say which with by=")
    for i, t in enumerate(tables):
        missing = [k for k in keys if k not in t.columns]
        if missing:
            raise SpecificationError(f"fit {i + 1}'s table has no column {missing} (by=)")
    return keys


def _stack(tables: list[pd.DataFrame], keys: tuple[str, ...]
           ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Estimates and variances as (rows, m) arrays, rows in the first table's order."""
    labels = _row_labels(tables[0], keys)
    if len(set(labels)) != len(labels):
        raise SpecificationError(f"the rows of the fits are not unique by {list(keys)}; "
                                 "name the identifying columns with by=")
    q = np.empty((len(labels), len(tables)))
    u = np.empty_like(q)
    for j, t in enumerate(tables):
        own = _row_labels(t, keys)
        if own == labels:
            order = np.arange(len(labels))
        elif set(own) == set(labels) and len(own) == len(labels):
            where = {lab: i for i, lab in enumerate(own)}
            order = np.array([where[lab] for lab in labels])
        else:
            raise SpecificationError(
                f"fit {j + 1} does not hold the same rows as fit 1 (by {list(keys)}); the "
                "fits must estimate the same quantities (e.g. simple slopes at the same "
                "at= values, or by=['label'])")
        q[:, j] = t["estimate"].to_numpy(float)[order]
        u[:, j] = t["std_error"].to_numpy(float)[order] ** 2
    return q, u, tables[0][list(keys)]


def _row_labels(table: pd.DataFrame, keys: tuple[str, ...]) -> list[tuple]:
    return [tuple(map(_label, row)) for row in zip(*(table[k].tolist() for k in keys),
                                                     strict=True)]


def _label(value: object) -> object:
    """A hashable row label in which missing values compare equal."""
    missing = value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and math.isnan(value))
    return "<NA>" if missing else value


def _glance_value(result: object, name: str) -> object:
    glance = getattr(result, "glance", None)
    if not callable(glance):
        return None
    row = glance()
    if name not in row.columns or not len(row):
        return None
    value = row[name].iloc[0]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _dfcom(results: Sequence[object], dfcom: float | None) -> tuple[float, tuple[str, ...]]:
    """The complete-data df: given, else the first result's residual df, else inf."""
    if dfcom is not None:
        if isinstance(dfcom, bool) or not (isinstance(dfcom, numbers.Real) and dfcom > 0):
            raise SpecificationError(f"dfcom must be a positive number; got {dfcom!r}")
        return float(dfcom), ()
    found = _glance_value(results[0], "df_resid")
    if found is not None and float(found) > 0:
        return float(found), ()
    return math.inf, (Note("dfcom_large_sample",
                           "The fits do not report residual degrees of freedom: the pooled "
                           "df are Rubin's (1987) large-sample df; give dfcom= for the "
                           "Barnard-Rubin small-sample df."),)
