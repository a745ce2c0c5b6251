"""Covariate balance between a treated and a control group, before and after weighting,
as R ``cobalt::bal.tab`` reports it.

Conventions (cobalt's defaults; see its FAQ "How are standardized mean differences
computed"):

- Mean differences are treated minus control. For a continuous covariate it is
  standardised, ``SMD = (mean_1 - mean_0) / s*``; for a binary (0/1) covariate it is
  the raw difference in proportions (``binary="raw"``) unless ``binary="std"``.
- The standardisation factor ``s*`` is computed once, on the unweighted sample, and used
  before and after weighting: the treated group's SD for the ATT
  (``s_d_denom="treated"``), ``sqrt((var_1 + var_0) / 2)`` for the ATE (``"pooled"``);
  ``"control"`` and ``"all"`` (the whole sample) are offered too.
- Variances: ``p(1 - p)`` for a binary covariate; otherwise the ``n - 1`` sample
  variance, weighted ``sum w~ (x - m)^2 / (1 - sum w~^2)`` with ``w~ = w / sum w``.
- The variance ratio is treated over control, for continuous covariates only.
- Effective sample sizes are Kish's ``(sum w)^2 / sum w^2`` per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.balance_covariates import (
    covariate_matrix,
    kish_ess,
    treatment_indicator,
    weighted_mean,
    weighted_var,
)
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note

SdDenom = Literal["treated", "pooled", "control", "all"]
Binary = Literal["raw", "std"]
#: cobalt's customary threshold for a balanced mean difference
SMD_THRESHOLD = 0.1


@dataclass(frozen=True, repr=False)
class BalanceTableResult(TidyDisplay):
    """Covariate balance before and after weighting (``cobalt::bal.tab``).

    Attributes
    ----------
    treatment, estimand, s_d_denom, binary
        The treatment column, the estimand and the standardisation conventions used.
    weighted
        Whether weights were given (otherwise the ``*_weighted`` columns repeat the
        unweighted ones).
    table
        What ``tidy()`` returns.
    n_treated, n_control, ess_treated, ess_control
        Units per group and the Kish effective sample sizes of the weights.
    notes
        ``missing_dropped``.
    """

    treatment: str
    estimand: str
    s_d_denom: str
    binary: str
    weighted: bool
    table: pd.DataFrame = field(repr=False)
    n_treated: int
    n_control: int
    ess_treated: float
    ess_control: float
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row per covariate (a text column: one per level): ``term``, ``type``
        (``"binary"``/``"continuous"``), ``mean_treated``, ``mean_control``,
        ``mean_treated_weighted``, ``mean_control_weighted``, ``sd_denom`` (``s*``; NaN
        for a raw difference), ``diff_unweighted``, ``diff_weighted`` (cobalt's
        ``Diff.Un``/``Diff.Adj``: SMD, or raw for binary with ``binary="raw"``),
        ``var_ratio_unweighted``, ``var_ratio_weighted`` (continuous only)."""
        return self.table.copy()

    def glance(self) -> pd.DataFrame:
        """One row: the largest ``|diff|`` and variance ratio (farthest from 1) before
        and after weighting, how many covariates exceed ``|0.1|``, and the group sizes."""
        t = self.table
        vr = t["var_ratio_weighted"].dropna()
        far = vr.iloc[int(np.argmax(np.abs(np.log(vr))))] if len(vr) else np.nan
        return pd.DataFrame([{
            "estimand": self.estimand, "s_d_denom": self.s_d_denom,
            "max_abs_diff_unweighted": float(t["diff_unweighted"].abs().max()),
            "max_abs_diff_weighted": float(t["diff_weighted"].abs().max()),
            "n_imbalanced_weighted": int((t["diff_weighted"].abs() > SMD_THRESHOLD).sum()),
            "var_ratio_weighted_extreme": float(far), "n_treated": self.n_treated,
            "n_control": self.n_control, "ess_treated": self.ess_treated,
            "ess_control": self.ess_control}])

    def max_abs_smd(self, weighted: bool = True) -> float:
        """The largest ``|diff|`` over covariates, after (or before) weighting."""
        col = "diff_weighted" if weighted else "diff_unweighted"
        return float(self.table[col].abs().max())


def balance_table(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str],
                  weights: str | pd.Series | None = None, *, estimand: str = "att",
                  s_d_denom: SdDenom | None = None, binary: Binary = "raw"
                  ) -> BalanceTableResult:
    """Balance of ``covariates`` between treated and control units (``cobalt::bal.tab``).

    Parameters
    ----------
    data
        One row per unit.
    treatment
        A 0/1 (or boolean) column.
    covariates
        Columns; a text or categorical column is shown as one indicator per level.
    weights
        None, a column of ``data``, a Series on ``data``'s index, or a result of
        :func:`~ipnstats.estimators.balance.entropy_balance` or
        :func:`~ipnstats.estimators.ipw.ipw_weights` (its ``weights``).
    estimand
        ``"att"`` or ``"ate"``: chooses the default ``s_d_denom``.
    s_d_denom
        The standardisation factor: None (cobalt's default: ``"treated"`` for the ATT,
        ``"pooled"`` for the ATE), ``"treated"``, ``"pooled"``, ``"control"`` or
        ``"all"``; always from the unweighted sample.
    binary
        ``"raw"`` (cobalt's default: differences in proportions) or ``"std"``.

    Returns
    -------
    BalanceTableResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (x + rng.normal(size=400) > 0.5).astype(int)})
    >>> from ipnstats.estimators.balance import entropy_balance
    >>> bt = balance_table(df, "d", ["x"], entropy_balance(df, "d", ["x"]))
    >>> bt.tidy()[["term", "diff_unweighted", "diff_weighted"]].round(4)
      term  diff_unweighted  diff_weighted
    0    x           1.6242            0.0
    """
    if estimand not in ("att", "ate"):
        raise SpecificationError(f"estimand must be 'att' or 'ate', got {estimand!r}")
    denom = s_d_denom or ("treated" if estimand == "att" else "pooled")
    if denom not in ("treated", "pooled", "control", "all"):
        raise SpecificationError(f"s_d_denom must be 'treated', 'pooled', 'control' or "
                                 f"'all', got {s_d_denom!r}")
    if binary not in ("raw", "std"):
        raise SpecificationError(f"binary must be 'raw' or 'std', got {binary!r}")
    treatment_indicator(data, treatment)
    w_all = _weights(data, weights)
    cov = covariate_matrix(data, treatment, covariates, extra=w_all)
    w = np.ones(cov.d.size) if w_all is None else w_all[cov.rows]
    t, c = cov.d == 1, cov.d == 0
    for name, group in (("treated", t), ("control", c)):
        if w_all is not None and w[group].sum() <= 0:
            raise SpecificationError(f"the weights of the {name} units sum to zero")
    table = _table(cov.X, cov.binary, t, c, w, denom, binary)
    table.insert(0, "term", list(cov.names))
    notes = () if not cov.n_missing else (Note(
        "missing_dropped", f"{cov.n_missing:,} rows with a missing treatment, covariate or "
        "weight were left out."),)
    return BalanceTableResult(
        treatment=treatment, estimand=estimand, s_d_denom=denom, binary=binary,
        weighted=w_all is not None, table=table, n_treated=int(t.sum()),
        n_control=int(c.sum()), ess_treated=kish_ess(w[t]), ess_control=kish_ess(w[c]),
        notes=notes)


def _weights(data: pd.DataFrame, weights: object) -> np.ndarray | None:
    """The weights as floats on ``data``'s rows (NaN: missing)."""
    if weights is None:
        return None
    if hasattr(weights, "weights") and isinstance(weights.weights, pd.Series):
        weights = weights.weights
    if isinstance(weights, str):
        if weights not in data.columns:
            raise SpecificationError(f"weights {weights!r} is not a column of data")
        weights = data[weights]
    if not isinstance(weights, pd.Series):
        raise SpecificationError("weights must be None, a column name, a Series on data's "
                                 f"index or a balancing result; got {type(weights).__name__}")
    if not weights.index.equals(data.index):
        if not weights.index.is_unique or not data.index.isin(weights.index).all():
            raise SpecificationError("the weights' index does not cover data's index: pass "
                                     "weights computed on the same frame")
        weights = weights.reindex(data.index)
    if not pd.api.types.is_numeric_dtype(weights) or pd.api.types.is_bool_dtype(weights):
        raise SpecificationError("weights must be numeric")
    w = weights.astype("float64").to_numpy(na_value=np.nan)
    if np.isinf(w).any() or (w < 0).any():
        raise SpecificationError("weights must be finite and non-negative")
    return w


def _table(X: np.ndarray, binary: np.ndarray, t: np.ndarray, c: np.ndarray,
           w: np.ndarray, denom: str, binary_rule: str) -> pd.DataFrame:
    ones_t, ones_c = np.ones(int(t.sum())), np.ones(int(c.sum()))
    var_t, var_c = weighted_var(X[t], ones_t, binary), weighted_var(X[c], ones_c, binary)
    if denom == "all":
        sd = np.sqrt(weighted_var(X, np.ones(X.shape[0]), binary))
    else:
        sd = np.sqrt({"treated": var_t, "control": var_c,
                      "pooled": (var_t + var_c) / 2}[denom])
    raw = binary & (binary_rule == "raw")
    sd = np.where(raw, np.nan, sd)
    scale = np.where(raw, 1.0, sd)
    m_t, m_c = X[t].mean(axis=0), X[c].mean(axis=0)
    mw_t, mw_c = weighted_mean(X[t], w[t]), weighted_mean(X[c], w[c])
    with np.errstate(divide="ignore", invalid="ignore"):
        vr_un = np.where(binary, np.nan, var_t / var_c)
        vr_w = np.where(binary, np.nan, weighted_var(X[t], w[t], binary)
                        / weighted_var(X[c], w[c], binary))
        diff_un, diff_w = (m_t - m_c) / scale, (mw_t - mw_c) / scale
    return pd.DataFrame({
        "type": np.where(binary, "binary", "continuous"), "mean_treated": m_t,
        "mean_control": m_c, "mean_treated_weighted": mw_t, "mean_control_weighted": mw_c,
        "sd_denom": sd, "diff_unweighted": diff_un, "diff_weighted": diff_w,
        "var_ratio_unweighted": vr_un, "var_ratio_weighted": vr_w})


__all__ = ["BalanceTableResult", "balance_table"]
