"""Equivalence tests and the minimum detectable effect of a Wald-type test.

Both work from an estimate, its standard error and the reference distribution of the
test: Student t with ``df`` degrees of freedom, or the normal when ``df`` is ``None``
(asymptotic tests, e.g. cluster-robust ones with z inference).

- :func:`tost`: Schuirmann's two one-sided tests of ``low < theta < high``. The
  equivalence p-value is the larger of the two one-sided p-values; equivalence at level
  ``alpha`` is the same as the ``1 - 2 alpha`` confidence interval lying inside the
  bounds (Schuirmann 1987; Lakens 2017).
- :func:`minimum_detectable_effect`: the smallest true effect that a level-``alpha``
  test rejects with probability ``power`` (Bloom 1995), exact under the noncentral t.
- :func:`wald_noncentrality` and :func:`joint_mde`: the same for a joint Wald test of
  several estimates (chi-square, or F with denominator degrees of freedom): the
  noncentrality it detects with probability ``power``, and the common effect of every
  tested estimate that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from ipnstats.core.errors import SpecificationError

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class EquivalenceTest:
    """Two one-sided tests of ``low < theta < high``.

    ``p_lower`` tests ``theta <= low`` against ``theta > low``, ``p_upper`` tests
    ``theta >= high`` against ``theta < high``; ``p_value`` is the larger of the two
    (the intersection-union test). ``conf_low``/``conf_high`` is the ``1 - 2 alpha``
    interval whose inclusion in the bounds is equivalent to ``p_value < alpha``.
    """

    estimate: float
    std_error: float
    df: float | None
    low: float
    high: float
    p_lower: float
    p_upper: float
    p_value: float
    alpha: float
    conf_low: float
    conf_high: float

    @property
    def equivalent(self) -> bool:
        """Whether equivalence is shown at level ``alpha``."""
        return bool(self.p_value < self.alpha)


def _law(df: float | None):
    """The reference distribution: t(df), or N(0, 1) when ``df`` is None or infinite."""
    if df is None or not np.isfinite(df):
        return stats.norm()
    if df <= 0:
        raise SpecificationError(f"df must be positive (or None for the normal), got {df}")
    return stats.t(df)


def tost(estimate: float, se: float, df: float | None = None, low: float = -np.inf,
         high: float = np.inf, *, alpha: float = 0.05) -> EquivalenceTest:
    """Schuirmann's two one-sided tests that ``theta`` lies in ``(low, high)``.

    Parameters
    ----------
    estimate, se
        The estimate of ``theta`` and its standard error.
    df
        Degrees of freedom of the t reference; ``None`` for the normal.
    low, high
        The equivalence bounds (``low < high``), in the estimate's units; usually
        ``-sesoi`` and ``+sesoi``.
    alpha
        Level of each one-sided test (and of the equivalence test: no correction is
        needed for the two, Berger 1982).

    Examples
    --------
    >>> r = tost(0.03, 0.04, None, -0.1, 0.1)
    >>> round(r.p_value, 4), r.equivalent
    (0.0401, True)
    """
    if not low < high:
        raise SpecificationError(f"the equivalence bounds need low < high, got {low}, {high}")
    if not 0 < alpha < 0.5:
        raise SpecificationError(f"alpha must be in (0, 0.5), got {alpha}")
    law = _law(df)
    estimate, se = float(estimate), float(se)
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        p_lo = p_hi = np.nan
    else:
        p_lo = float(law.sf((estimate - low) / se))
        p_hi = float(law.cdf((estimate - high) / se))
    half = float(law.ppf(1 - alpha)) * se
    return EquivalenceTest(estimate, se, df, float(low), float(high), p_lo, p_hi,
                           float(max(p_lo, p_hi)), float(alpha), estimate - half,
                           estimate + half)


def _power(delta: float, crit: float, law, df: float | None, two_sided: bool) -> float:
    """Power of the level-alpha test at a true effect ``delta`` standard errors."""
    if df is None or not np.isfinite(df):
        upper = stats.norm.sf(crit - delta)
        return float(upper + (stats.norm.cdf(-crit - delta) if two_sided else 0.0))
    nct = stats.nct(df, delta)
    wrong = float(np.nan_to_num(nct.cdf(-crit))) if two_sided else 0.0  # NaN: underflow
    return float(nct.sf(crit)) + wrong


def minimum_detectable_effect(se: float, df: float | None = None, alpha: float = 0.05,
                              power: float = 0.8,
                              alternative: Alternative = "two-sided") -> float:
    """The smallest true effect (in the estimate's units, positive) that the level-``alpha``
    test of ``theta = 0`` detects with probability ``power``.

    With the normal reference (``df=None``) and a one-sided test this is the closed form
    ``(z_{1-alpha} + z_{power}) se``; two-sided, the power also counts rejections in the
    wrong direction (exact; the usual approximation ``(z_{1-alpha/2} + z_power) se``
    exceeds it by 3.4e-6 se at alpha .05 and power .8). With ``df`` the
    effect solves the noncentral-t power equation. For ``alternative="less"`` the
    detectable effect is ``-mde``; the magnitude is returned.

    Examples
    --------
    >>> round(minimum_detectable_effect(1.0, None, 0.05, 0.8, "greater"), 4)
    2.4865
    >>> round(minimum_detectable_effect(1.0, None, 0.05, 0.8), 4)
    2.8016
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise SpecificationError("alternative must be 'two-sided', 'greater' or 'less', "
                                 f"got {alternative!r}")
    if not 0 < alpha < 1 or not alpha < power < 1:
        raise SpecificationError(f"need 0 < alpha < power < 1, got alpha={alpha}, "
                                 f"power={power}")
    se = float(se)
    if not (np.isfinite(se) and se > 0):
        return np.nan
    two = alternative == "two-sided"
    law = _law(df)
    crit = float(law.ppf(1 - (alpha / 2 if two else alpha)))
    def gap(d):
        return _power(d, crit, law, df, two) - power
    hi = crit + float(stats.norm.ppf(power)) + 1.0
    while gap(hi) < 0:  # the t needs a larger effect than the normal
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12)) * se


def _check_levels(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not alpha < power < 1:
        raise SpecificationError(f"need 0 < alpha < power < 1, got alpha={alpha}, "
                                 f"power={power}")


def wald_noncentrality(df_num: int, df_denom: float | None = None, alpha: float = 0.05,
                       power: float = 0.8) -> float:
    """The noncentrality ``lambda`` at which the level-``alpha`` Wald test of ``df_num``
    restrictions rejects with probability ``power``.

    With ``df_denom=None`` (or infinite) the statistic ``W`` is chi-square(``df_num``)
    under the null and noncentral chi-square(``df_num``, ``lambda``) under an effect
    ``theta`` with ``lambda = theta' V^-1 theta``: ``lambda`` solves
    ``P(ncx2(k, lambda) > chi2_{1-alpha}(k)) = power``. With ``df_denom`` the test is
    ``F = W / k`` against F(``k``, ``df_denom``) and the power is that of the noncentral
    F with the same ``lambda`` (larger: the F's critical value is).

    Examples
    --------
    >>> round(wald_noncentrality(1), 4)  # (z_.975 + z_.8)^2, two-sided, to 1e-5
    7.8489
    >>> round(wald_noncentrality(2), 4)
    9.6347
    """
    _check_levels(alpha, power)
    if isinstance(df_num, bool) or int(df_num) != df_num or df_num < 1:
        raise SpecificationError(f"df_num must be a positive integer, got {df_num!r}")
    k = int(df_num)
    if df_denom is None or not np.isfinite(df_denom):
        crit = float(stats.chi2.ppf(1 - alpha, k))
        def gap(lam):
            return float(stats.ncx2.sf(crit, k, lam)) - power
    else:
        if df_denom <= 0:
            raise SpecificationError(f"df_denom must be positive (or None), got {df_denom}")
        crit = float(stats.f.ppf(1 - alpha, k, df_denom))
        def gap(lam):
            return float(stats.ncf.sf(crit, k, df_denom, lam)) - power
    hi = 16.0 + 2.0 * k
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 1e-12, hi, xtol=1e-10))  # gap(0+) = alpha - power


def joint_mde(cov, df_denom: float | None = None, alpha: float = 0.05,
              power: float = 0.8) -> float:
    """The smallest common effect ``delta`` of every estimate (``theta = delta 1``) that
    the level-``alpha`` joint Wald test of ``theta = 0`` detects with probability
    ``power``: ``delta = sqrt(lambda* / (1' V^-1 1))``, with ``V`` = ``cov`` the
    estimates' covariance and ``lambda*`` from :func:`wald_noncentrality` (``df_denom``:
    F test, as there). In the estimates' units; NaN when ``cov`` is not finite and
    positive definite.

    Examples
    --------
    >>> round(joint_mde([[1.0]]), 4)  # one estimate: the two-sided MDE, to 1e-5
    2.8016
    >>> round(joint_mde(np.eye(2)), 4)  # sqrt(9.6347 / 2)
    2.1948
    """
    v = np.atleast_2d(np.asarray(cov, float))
    if v.shape[0] != v.shape[1] or v.size == 0:
        raise SpecificationError(f"cov must be a square matrix, got shape {v.shape}")
    _check_levels(alpha, power)
    if not np.all(np.isfinite(v)) or np.linalg.eigvalsh((v + v.T) / 2)[0] <= 0:
        return np.nan
    ones = np.ones(v.shape[0])
    info = float(ones @ np.linalg.solve(v, ones))
    return float(np.sqrt(wald_noncentrality(v.shape[0], df_denom, alpha, power) / info))


__all__ = ["Alternative", "EquivalenceTest", "joint_mde", "minimum_detectable_effect", "tost",
           "wald_noncentrality"]
