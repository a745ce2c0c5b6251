"""E-values (VanderWeele & Ding 2017), as the R EValue package.

The E-value of a risk ratio ``RR >= 1`` is ``RR + sqrt(RR (RR - 1))``: the minimum
strength of association, on the risk-ratio scale, that an unmeasured confounder would
need with both the treatment and the outcome, given the measured covariates, to explain
away the estimate (to move it to ``true``: the ratio ``RR / true`` is used, inverted
below 1). The E-value of the interval is that of the limit closer to ``true``, or 1 when
the interval already holds ``true``.

Other measures are converted to the risk-ratio scale first (VanderWeele & Ding 2017;
EValue's ``evalues.OR``, ``evalues.HR``, ``evalues.MD``, ``evalues.OLS``):

- odds ratio: as a risk ratio if the outcome is rare (under 15 %), else ``sqrt(OR)``;
- hazard ratio: as a risk ratio if rare, else ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``;
- standardized mean difference ``d`` with standard error ``s``: ``RR = exp(0.91 d)`` with
  interval ``exp(0.91 d -/+ 1.78 s)``;
- a linear regression coefficient ``b`` (SE ``s``) of an outcome with standard deviation
  ``sd``, for a contrast of ``delta`` units: ``d = delta b / sd``, ``s_d = delta s / sd``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.results.display import TidyDisplay


def evalue_point(rr: float, true: float = 1.0) -> float:
    """The E-value of one risk ratio against ``true``.

    >>> round(evalue_point(10.73), 2)
    20.95
    """
    if rr < 1:
        rr, true = 1 / rr, 1 / true
    ratio = rr / true if rr >= true else true / rr
    return float(ratio + np.sqrt(ratio * (ratio - 1)))


@dataclass(frozen=True, repr=False)
class EValueResult(TidyDisplay):
    """E-values of an estimate and its interval.

    Attributes
    ----------
    measure
        ``"RR"``, ``"OR"``, ``"HR"``, ``"MD"`` (standardized mean difference) or ``"OLS"``.
    estimate, lower, upper
        The estimate and interval as given (``lower``/``upper`` NaN when not given; for
        ``"MD"``/``"OLS"`` the standardized difference ``d`` and ``d -/+ 1.96 s``).
    risk_ratio, rr_lower, rr_upper, true_rr
        The same and the null value ``true``, on the risk-ratio scale.
    e_value, e_value_ci
        The E-values of the estimate and of the interval limit closer to ``true`` (1 when
        the interval holds ``true``; NaN without an interval).
    conversion
        How the measure was put on the risk-ratio scale.
    notes
        None are emitted (kept for the common result interface).
    """

    measure: str
    estimate: float
    lower: float
    upper: float
    risk_ratio: float
    rr_lower: float
    rr_upper: float
    true_rr: float
    e_value: float
    e_value_ci: float
    conversion: str
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """Rows ``point``, ``lower``, ``upper``: ``estimate``, ``risk_ratio``, ``e_value`` (the
        E-value on the row of the limit it belongs to, as EValue's table)."""
        ev = [self.e_value, np.nan, np.nan]
        if np.isfinite(self.e_value_ci):
            ev[1 if self.risk_ratio > self.true_rr else 2] = self.e_value_ci
        return pd.DataFrame({"quantity": ["point", "lower", "upper"],
                             "estimate": [self.estimate, self.lower, self.upper],
                             "risk_ratio": [self.risk_ratio, self.rr_lower, self.rr_upper],
                             "e_value": ev})

    def glance(self) -> pd.DataFrame:
        """One row: the measure, the risk ratio and both E-values."""
        return pd.DataFrame([{"measure": self.measure, "estimate": self.estimate,
                              "risk_ratio": self.risk_ratio, "e_value": self.e_value,
                              "e_value_ci": self.e_value_ci, "conversion": self.conversion}])


def _ci_evalue(rr: float, lo: float, hi: float, true: float) -> float:
    if rr > true:
        return np.nan if np.isnan(lo) else (1.0 if lo <= true else evalue_point(lo, true))
    if rr < true:
        return np.nan if np.isnan(hi) else (1.0 if hi >= true else evalue_point(hi, true))
    return 1.0


def _check_ratio(estimate: float, lower: float | None, upper: float | None, true: float,
                 measure: str) -> tuple[float, float, float]:
    lo = np.nan if lower is None else float(lower)
    hi = np.nan if upper is None else float(upper)
    values = [float(estimate), float(true)] + [v for v in (lo, hi) if not np.isnan(v)]
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise SpecificationError(f"a {measure} and its interval limits must be positive finite "
                                 f"numbers; got {estimate!r} ({lower!r}, {upper!r}), true "
                                 f"{true!r}")
    if (not np.isnan(lo) and lo > estimate) or (not np.isnan(hi) and hi < estimate):
        raise SpecificationError(f"the interval ({lower!r}, {upper!r}) does not contain the "
                                 f"estimate {estimate!r}")
    return float(estimate), lo, hi


def _result(measure: str, given: tuple[float, float, float],
            rr: tuple[float, float, float], true_rr: float, conversion: str) -> EValueResult:
    point, lo, hi = rr
    return EValueResult(measure, *given, point, lo, hi, true_rr, evalue_point(point, true_rr),
                        _ci_evalue(point, lo, hi, true_rr), conversion)


def evalue_rr(estimate: float, lower: float | None = None, upper: float | None = None, *,
              true: float = 1.0) -> EValueResult:
    """E-values of a risk ratio and its interval (EValue's ``evalues.RR``).

    >>> r = evalue_rr(10.73, 8.02, 14.36)
    >>> round(r.e_value, 2), round(r.e_value_ci, 2)
    (20.95, 15.52)
    """
    given = _check_ratio(estimate, lower, upper, true, "risk ratio")
    return _result("RR", given, given, float(true), "risk ratio")


def evalue_or(estimate: float, lower: float | None = None, upper: float | None = None, *,
              rare: bool, true: float = 1.0) -> EValueResult:
    """E-values of an odds ratio: as a risk ratio when the outcome is ``rare`` (< 15 %),
    else through ``sqrt(OR)`` (EValue's ``evalues.OR``)."""
    given = _check_ratio(estimate, lower, upper, true, "odds ratio")
    if rare:
        return _result("OR", given, given, float(true), "rare outcome: OR taken as RR")
    return _result("OR", given, tuple(np.sqrt(given)), float(np.sqrt(true)),
                   "common outcome: RR = sqrt(OR)")


def _hr_to_rr(hr: float) -> float:
    return float((1 - 0.5 ** np.sqrt(hr)) / (1 - 0.5 ** np.sqrt(1 / hr))) if hr == hr else hr


def evalue_hr(estimate: float, lower: float | None = None, upper: float | None = None, *,
              rare: bool, true: float = 1.0) -> EValueResult:
    """E-values of a hazard ratio: as a risk ratio when the outcome is ``rare``, else
    through ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` (EValue's ``evalues.HR``)."""
    given = _check_ratio(estimate, lower, upper, true, "hazard ratio")
    if rare:
        return _result("HR", given, given, float(true), "rare outcome: HR taken as RR")
    return _result("HR", given, tuple(_hr_to_rr(v) for v in given), _hr_to_rr(true),
                   "common outcome: RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))")


def evalue_md(estimate: float, se: float | None = None, *, true: float = 0.0) -> EValueResult:
    """E-values of a standardized mean difference ``d`` with standard error ``se``:
    ``RR = exp(0.91 d)``, interval ``exp(0.91 d -/+ 1.78 se)`` (EValue's ``evalues.MD``).

    >>> round(evalue_md(0.5).e_value, 4)
    2.5291
    """
    d = float(estimate)
    if not np.isfinite(d) or not np.isfinite(true):
        raise SpecificationError(f"the standardized difference must be finite; got {estimate!r}")
    if se is not None and not (np.isfinite(se) and se > 0):
        raise SpecificationError(f"the standard error must be a positive number; got {se!r}")
    s = np.nan if se is None else float(se)
    given = (d, d - 1.96 * s, d + 1.96 * s)
    rr = (np.exp(0.91 * d), np.exp(0.91 * d - 1.78 * s), np.exp(0.91 * d + 1.78 * s))
    return _result("MD", given, rr, float(np.exp(0.91 * true)), "RR = exp(0.91 d)")


def evalue_ols(estimate: float, se: float | None = None, *, sd: float, delta: float = 1.0,
               true: float = 0.0) -> EValueResult:
    """E-values of a linear regression coefficient (EValue's ``evalues.OLS``): the effect
    of ``delta`` units of the treatment in outcome standard deviations ``sd``,
    ``d = delta * estimate / sd`` (``true`` on that standardized scale), then
    :func:`evalue_md`."""
    if not (np.isfinite(sd) and sd > 0) or not (np.isfinite(delta) and delta != 0):
        raise SpecificationError(f"sd must be a positive number and delta non-zero; got sd "
                                 f"{sd!r}, delta {delta!r}")
    d_se = None if se is None else abs(delta) * se / sd
    result = evalue_md(delta * estimate / sd, d_se, true=true)
    return EValueResult("OLS", *[getattr(result, f) for f in (
        "estimate", "lower", "upper", "risk_ratio", "rr_lower", "rr_upper", "true_rr",
        "e_value", "e_value_ci")], f"d = delta b / sd, {result.conversion}")


__all__ = ["EValueResult", "evalue_hr", "evalue_md", "evalue_ols", "evalue_or", "evalue_point",
           "evalue_rr"]
