"""Omitted-variable sensitivity of a linear estimate (Cinelli & Hazlett 2020, R sensemakr).

Everything works from the treatment's estimate, its standard error and the residual
degrees of freedom of the regression (``t = estimate / se``), as sensemakr's numeric
methods do. A confounder ``Z`` is described by two partial R² values: ``r2dz_x``, the
share of the treatment's residual variance (given the covariates ``X``) that ``Z``
explains, and ``r2yz_dx``, the share of the outcome's residual variance (given the
treatment and ``X``) that ``Z`` explains. Then (Cinelli & Hazlett 2020, eqs. 4-5, 11)

- the bias is ``sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * se * sqrt(df)``;
- the adjusted standard error is ``sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * se *
  sqrt(df / (df - 1))`` (one more regressor: ``df - 1``);
- the partial R² of the treatment with the outcome is ``t^2 / (t^2 + df)``;
- the robustness value ``RV_q`` is the strength (both partial R² equal) that reduces
  the estimate by ``100 q`` percent: ``(sqrt(f^4 + 4 f^2) - f^2) / 2`` with ``f = q |t| /
  sqrt(df)``; ``RV_{q,alpha}`` the strength that makes the adjusted interval at level
  ``alpha`` include ``(1 - q)`` times the estimate (sensemakr's two cases);
- a confounder ``kd`` (``ky``) times as strong as a benchmark covariate ``X_j`` in
  explaining the treatment (outcome) has the partial R² of :func:`benchmark_bounds`
  (Cinelli & Hazlett 2020, section 6.1; sensemakr's ``ovb_partial_r2_bound``).

:class:`SensitivityResult` holds them for one treatment; fit it with
:func:`ipnstats.estimators.sensitivity.sensemakr`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.results.display import TidyDisplay

ContourOf = Literal["estimate", "t_value", "lower", "upper"]


def partial_r2(t_value: float | np.ndarray, df: float) -> float | np.ndarray:
    """Partial R² of a regressor from its t statistic: ``t^2 / (t^2 + df)``.

    >>> round(float(partial_r2(4.18445, 783)), 6)
    0.021873
    """
    t2 = np.square(t_value)
    return t2 / (t2 + df)


def group_partial_r2(f_value: float, n_terms: int, df: float) -> float:
    """Partial R² of several regressors from their joint F: ``F p / (F p + df)``."""
    return f_value * n_terms / (f_value * n_terms + df)


def robustness_value(t_value: float, df: float, q: float = 1.0,
                     alpha: float | None = None) -> float:
    """``RV_q`` (``alpha`` None), or ``RV_{q,alpha}``: sensemakr's ``robustness_value``.

    >>> round(robustness_value(4.18445, 783), 5)
    0.13878
    """
    fq = q * abs(t_value) / np.sqrt(df)
    f_crit = 0.0 if alpha is None else abs(stats.t.ppf(alpha / 2, df - 1)) / np.sqrt(df - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if f_crit > 0 and fq > 1 / f_crit:  # the constraint r2yz_dx <= 1 binds
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def bias(r2dz_x, r2yz_dx, se: float, df: float):
    """The omitted-variable bias of confounders with these partial R² (absolute value)."""
    r2dz_x, r2yz_dx = np.asarray(r2dz_x, float), np.asarray(r2yz_dx, float)
    return np.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * se * np.sqrt(df)


def adjusted_estimate(estimate: float, r2dz_x, r2yz_dx, se: float, df: float,
                      reduce: bool = True):
    """The estimate moved by the bias: towards zero (``reduce``) or away from it."""
    shift = bias(r2dz_x, r2yz_dx, se, df)
    return np.sign(estimate) * (abs(estimate) - shift if reduce else abs(estimate) + shift)


def adjusted_se(r2dz_x, r2yz_dx, se: float, df: float):
    """The standard error of the estimate in the regression that includes the confounder."""
    r2dz_x, r2yz_dx = np.asarray(r2dz_x, float), np.asarray(r2yz_dx, float)
    return np.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * se * np.sqrt(df / (df - 1))


def benchmark_bounds(r2dxj_x: float, r2yxj_dx: float, kd: float,
                     ky: float) -> tuple[float, float]:
    """Partial R² (``r2dz_x``, ``r2yz_dx``) of a confounder ``kd`` times as strong as a
    covariate in explaining the treatment and ``ky`` times in explaining the outcome.

    ``r2dxj_x`` is the covariate's partial R² in the treatment regression (treatment on
    the other covariates), ``r2yxj_dx`` its partial R² in the outcome regression. As
    sensemakr, an implied ``r2yz_dx`` above 1 is set to 1 (the adjusted standard error
    is then 0 and the adjusted t undefined: NaN); an impossible ``kd`` is an error.
    """
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2dz_x >= 1 or not 0 <= r2zxj_xd < 1:
        raise SpecificationError(
            f"kd = {kd:g} implies a confounder that explains all of the treatment (partial R² "
            f"of the benchmark with the treatment {r2dxj_x:.4g}): choose a smaller kd")
    r2yz_dx = ((np.sqrt(ky) + np.sqrt(r2zxj_xd)) / np.sqrt(1 - r2zxj_xd))**2 \
        * r2yxj_dx / (1 - r2yxj_dx)
    return float(r2dz_x), float(min(r2yz_dx, 1.0))


@dataclass(frozen=True, repr=False)
class SensitivityResult(TidyDisplay):
    """Omitted-variable sensitivity of one treatment estimate (sensemakr).

    Attributes
    ----------
    treatment, outcome
        The term studied and the model's outcome.
    estimate, std_error, t_value, df
        The treatment's estimate, standard error and t in the model, and the residual
        degrees of freedom the statistics use.
    r2yd_x, f2yd_x
        Partial R² and partial Cohen's f² of the treatment with the outcome.
    rv_q, rv_qa
        Robustness values ``RV_q`` and ``RV_{q,alpha}``.
    q, alpha, reduce
        The share of the estimate to explain away, the level, the direction of the bias.
    bounds
        One row per benchmark and multiplier: ``bound``, ``benchmark``, ``kd``, ``ky``,
        ``r2dz_x``, ``r2yz_dx``, ``r2dxj_x``, ``r2yxj_dx``, ``adjusted_estimate``,
        ``adjusted_se``, ``adjusted_t``, ``adjusted_p_value``, ``conf_low``, ``conf_high``
        (intervals on ``df - 1`` degrees of freedom, as sensemakr's ``adjusted_ci``).
    vcov
        The covariance behind ``std_error`` (``"iid"`` is sensemakr's own case).
    notes
        What the numbers rest on (code ``sensitivity_robust_t``: a robust or clustered t).
    """

    treatment: str
    outcome: str
    estimate: float
    std_error: float
    t_value: float
    df: float
    r2yd_x: float
    f2yd_x: float
    rv_q: float
    rv_qa: float
    q: float
    alpha: float
    reduce: bool
    bounds: pd.DataFrame = field(repr=False)
    vcov: str = "iid"
    notes: tuple[str, ...] = ()

    def glance(self) -> pd.DataFrame:
        """One row: the treatment's statistics and its robustness values."""
        return pd.DataFrame([{
            "treatment": self.treatment, "outcome": self.outcome, "estimate": self.estimate,
            "std_error": self.std_error, "statistic": self.t_value, "df": self.df,
            "r2yd_x": self.r2yd_x, "f2yd_x": self.f2yd_x, "rv_q": self.rv_q,
            "rv_qa": self.rv_qa, "q": self.q, "alpha": self.alpha, "vcov": self.vcov}])

    def tidy(self) -> pd.DataFrame:
        """The unadjusted estimate, then the bias-adjusted one for each bound: ``term``,
        ``bound``, ``r2dz_x``, ``r2yz_dx``, ``estimate``, ``std_error``, ``statistic``,
        ``p_value``, ``conf_low``, ``conf_high``."""
        crit = stats.t.ppf(1 - self.alpha / 2, self.df)
        first = {"bound": "unadjusted", "r2dz_x": 0.0, "r2yz_dx": 0.0,
                 "estimate": self.estimate, "std_error": self.std_error,
                 "statistic": self.t_value,
                 "p_value": 2 * stats.t.sf(abs(self.t_value), self.df),
                 "conf_low": self.estimate - crit * self.std_error,
                 "conf_high": self.estimate + crit * self.std_error}
        b = self.bounds
        rows = pd.DataFrame({"bound": b["bound"], "r2dz_x": b["r2dz_x"],
                             "r2yz_dx": b["r2yz_dx"], "estimate": b["adjusted_estimate"],
                             "std_error": b["adjusted_se"], "statistic": b["adjusted_t"],
                             "p_value": b["adjusted_p_value"], "conf_low": b["conf_low"],
                             "conf_high": b["conf_high"]})
        table = pd.concat([pd.DataFrame([first]), rows], ignore_index=True)
        table.insert(0, "term", self.treatment)
        return table

    def adjusted(self, r2dz_x, r2yz_dx) -> pd.DataFrame:
        """Bias-adjusted estimate, SE, t and interval for confounders of the given
        strength (arrays broadcast): the numbers behind a contour plot."""
        r2dz_x, r2yz_dx = np.broadcast_arrays(np.asarray(r2dz_x, float),
                                              np.asarray(r2yz_dx, float))
        if np.any((r2dz_x < 0) | (r2dz_x >= 1) | (r2yz_dx < 0) | (r2yz_dx > 1)):
            raise SpecificationError("partial R² must lie in [0, 1) for r2dz_x and [0, 1] "
                                     "for r2yz_dx")
        est = adjusted_estimate(self.estimate, r2dz_x, r2yz_dx, self.std_error, self.df,
                                self.reduce)
        se = adjusted_se(r2dz_x, r2yz_dx, self.std_error, self.df)
        crit = stats.t.ppf(1 - self.alpha / 2, self.df - 1)
        return pd.DataFrame({"r2dz_x": r2dz_x.ravel(), "r2yz_dx": r2yz_dx.ravel(),
                             "estimate": np.ravel(est), "std_error": np.ravel(se),
                             "t_value": np.ravel(est / se),
                             "lower": np.ravel(est - crit * se),
                             "upper": np.ravel(est + crit * se)})

    def contour_grid(self, of: ContourOf = "estimate", *, lim: float | None = None,
                     n: int = 101) -> pd.DataFrame:
        """The adjusted ``of`` on an ``n`` x ``n`` grid of ``r2dz_x`` and ``r2yz_dx`` from 0
        to ``lim`` (default: sensemakr's, at least 0.4 and past every bound)."""
        if of not in ("estimate", "t_value", "lower", "upper"):
            raise SpecificationError(f"of must be 'estimate', 't_value', 'lower' or "
                                     f"'upper'; got {of!r}")
        if lim is None:
            lim = max(0.4, *(1.25 * self.bounds[c].max() for c in ("r2dz_x", "r2yz_dx")
                             if len(self.bounds)))
        lim = min(float(lim), 0.99)
        grid = np.linspace(0.0, lim, n)
        dz, yz = np.meshgrid(grid, grid, indexing="ij")
        table = self.adjusted(dz, yz)
        return table[["r2dz_x", "r2yz_dx", of]].rename(columns={of: "value"})

    def threshold(self, of: ContourOf = "estimate") -> float:
        """The value of ``of`` a contour plot marks: 0, or the critical t."""
        if of == "t_value":
            return float(np.sign(self.estimate) * stats.t.ppf(1 - self.alpha / 2, self.df - 1))
        return 0.0


def bounds_table(sens: dict, benchmarks: Sequence[tuple[str, float, float]],
                 kd: Sequence[float], ky: Sequence[float]) -> pd.DataFrame:
    """The bounds of ``benchmarks`` (label, ``r2dxj_x``, ``r2yxj_dx``) for each multiplier.

    ``sens`` holds ``estimate``, ``se``, ``df``, ``alpha``, ``reduce``.
    """
    rows = []
    crit = stats.t.ppf(1 - sens["alpha"] / 2, sens["df"] - 1)
    for label, r2dxj_x, r2yxj_dx in benchmarks:
        for k_d, k_y in zip(kd, ky, strict=True):
            r2dz_x, r2yz_dx = benchmark_bounds(r2dxj_x, r2yxj_dx, k_d, k_y)
            est = float(adjusted_estimate(sens["estimate"], r2dz_x, r2yz_dx, sens["se"],
                                          sens["df"], sens["reduce"]))
            se = float(adjusted_se(r2dz_x, r2yz_dx, sens["se"], sens["df"]))
            t_value = est / se if se > 0 else np.nan  # r2yz_dx capped at 1: no residual
            mult = f"{k_d:g}" if k_d == k_y else f"{k_d:g}/{k_y:g}"
            rows.append({"bound": f"{mult}x {label}", "benchmark": label, "kd": k_d,
                         "ky": k_y, "r2dz_x": r2dz_x, "r2yz_dx": r2yz_dx,
                         "r2dxj_x": r2dxj_x, "r2yxj_dx": r2yxj_dx,
                         "adjusted_estimate": est, "adjusted_se": se,
                         "adjusted_t": t_value,
                         "adjusted_p_value": 2 * stats.t.sf(abs(t_value), sens["df"] - 1),
                         "conf_low": est - crit * se, "conf_high": est + crit * se})
    columns = ["bound", "benchmark", "kd", "ky", "r2dz_x", "r2yz_dx", "r2dxj_x", "r2yxj_dx",
               "adjusted_estimate", "adjusted_se", "adjusted_t", "adjusted_p_value",
               "conf_low", "conf_high"]
    return pd.DataFrame(rows, columns=columns)


def sensitivity_stats(estimate: float, se: float, df: float, *, q: float = 1.0,
                      alpha: float = 0.05) -> dict[str, float]:
    """``r2yd_x``, ``f2yd_x``, ``rv_q`` and ``rv_qa`` of an estimate (sensemakr's
    ``sensitivity_stats``), after checking the inputs."""
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise SpecificationError(f"sensitivity needs a finite estimate and a positive standard "
                                 f"error; got estimate {estimate!r}, se {se!r}")
    if not (np.isfinite(df) and df > 1):
        raise SpecificationError(f"sensitivity needs more than one residual degree of freedom; "
                                 f"got {df!r}")
    if not (np.isfinite(q) and q > 0):
        raise SpecificationError(f"q must be a positive number; got {q!r}")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must lie strictly between 0 and 1; got {alpha!r}")
    t_value = estimate / se
    return {"t_value": t_value, "r2yd_x": float(partial_r2(t_value, df)),
            "f2yd_x": t_value**2 / df, "rv_q": robustness_value(t_value, df, q),
            "rv_qa": robustness_value(t_value, df, q, alpha)}


__all__ = ["SensitivityResult", "adjusted_estimate", "adjusted_se", "benchmark_bounds", "bias",
           "bounds_table", "group_partial_r2", "partial_r2", "robustness_value",
           "sensitivity_stats"]
