"""Random-effects GLS: Swamy-Arora as Stata's ``xtreg, re`` (the default) or the
variance components of R plm's ``random.method`` (``swar``, ``amemiya``, ``walhus``,
``nerlove``; :mod:`ipnstats.estimators.random_effects_plm`).

Notes
-----
With N observations in n units (T_i each) and K regressors including the constant,
Stata's convention is:

- ``sigma_e^2 = e_w'e_w / (N - n - K_w)`` from the within regression, ``K_w`` the
  regressors that vary within units and are not collinear there (a time-invariant
  regressor is swept out by the within transformation and costs no degree of freedom,
  as in linearmodels and Stata);
- ``sigma_u^2 = e_b'e_b / (n - K) - sigma_e^2 / T_bar`` from the between regression
  on unit means, ``T_bar`` the harmonic mean of T_i (set to 0 when negative).

Whatever the variance components:

- ``theta_i = 1 - sqrt(sigma_e^2 / (T_i sigma_u^2 + sigma_e^2))``;
- GLS is OLS of ``y - theta_i ybar_i`` on ``X - theta_i Xbar_i``; its conventional
  covariance is ``s^2 (X*'X*)^-1`` with ``s^2`` the residual variance of that
  regression on ``N - K`` degrees of freedom; inference is normal (z), as in Stata and
  plm (2.6);
- R² within, between and overall are squared correlations (Stata's definitions); with
  a plm method, ``r2`` and ``r2_adj`` are plm's instead: the squared correlation of
  the transformed outcome with its fitted values, and ``1 - (1 - R²)(N - 1)/(N - K)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ipnstats.core.demean import group_means
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.linear import OLSFit, ols

REMethod = Literal["stata", "swar", "amemiya", "walhus", "nerlove"]
RE_METHODS: tuple[str, ...] = ("stata", "swar", "amemiya", "walhus", "nerlove")


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def within_regression(y, X, names, codes, t_i) -> tuple[OLSFit, list[int]]:
    """OLS of the within-transformed outcome on the within-transformed slopes that vary
    within units, and the columns of ``X`` it kept; refuses a fit with no residual
    degrees of freedom."""
    g = t_i.size
    slopes = [i for i, n in enumerate(names) if n != "Intercept"]
    M = np.column_stack([y, X[:, slopes]])
    within = M - group_means(M, codes, g, t_i)[codes]
    # a regressor constant within every unit is swept out: it costs no within df
    scale = np.maximum(np.abs(M[:, 1:]).max(axis=0, initial=0.0), 1.0)
    varies = np.abs(within[:, 1:]).max(axis=0, initial=0.0) > 1e-10 * scale
    kept = [s for s, v in zip(slopes, varies, strict=True) if v]
    fit_w = ols(within[:, 1:][:, varies], within[:, 0], tuple(names[i] for i in kept))
    if y.size - g - int(fit_w.keep.sum()) <= 0:
        raise SpecificationError(
            f"random effects need a within regression with residual degrees of freedom: "
            f"{y.size:,} observations in {g:,} units leave none (each unit needs repeated "
            "observations; with one observation per unit use estimator='pooled')")
    return fit_w, [k for k, on in zip(kept, fit_w.keep, strict=True) if on]


def require_units(g: int, k: int) -> None:
    """Refuse a between regression with no more units than coefficients."""
    if g <= k:
        raise SpecificationError(
            f"random effects need more units than regressors in the between regression: "
            f"{g:,} unit(s), {k:,} coefficient(s)")


def variance_components(y, X, names, codes) -> tuple[float, float, np.ndarray]:
    """sigma_e², sigma_u² (Swamy-Arora, Stata's convention) and T_i per unit."""
    g = int(codes.max()) + 1
    t_i = np.bincount(codes, minlength=g)
    fit_w, _ = within_regression(y, X, names, codes, t_i)
    sigma_e2 = float(fit_w.resid @ fit_w.resid) / (y.size - g - fit_w.beta.size)
    means = group_means(np.column_stack([y, X]), codes, g, t_i)
    fit_b = ols(means[:, 1:], means[:, 0], tuple(names))
    require_units(g, len(fit_b.beta))
    t_bar = g / np.sum(1 / t_i)
    sigma_u2 = float(fit_b.resid @ fit_b.resid) / (g - len(fit_b.beta)) - sigma_e2 / t_bar
    return sigma_e2, max(sigma_u2, 0.0), t_i


def components(y, X, names, codes, method: str) -> tuple[float, float, np.ndarray]:
    """sigma_e², sigma_u² and T_i per unit under ``method`` (see :data:`RE_METHODS`)."""
    if method == "stata":
        return variance_components(y, X, names, codes)
    from ipnstats.estimators.random_effects_plm import plm_components

    return plm_components(y, X, names, codes, method)


def thetas(sigma_e2: float, sigma_u2: float, t_i: np.ndarray) -> np.ndarray:
    """The quasi-demeaning weight of each unit (0 when sigma_u² is 0)."""
    if sigma_u2 <= 0:
        return np.zeros(t_i.size)
    return 1 - np.sqrt(sigma_e2 / (t_i * sigma_u2 + sigma_e2))


def random_effects(y, X, names, codes, method: str = "stata"
                   ) -> tuple[OLSFit, np.ndarray, dict, dict]:
    """GLS fit, the transformed design (all columns, the dropped ones included: the fit's
    ``keep`` selects), fit statistics and the variance components, under ``method``."""
    sigma_e2, sigma_u2, t_i = components(y, X, names, codes, method)
    theta_i = thetas(sigma_e2, sigma_u2, t_i)
    M = np.column_stack([y, X])
    means = group_means(M, codes, t_i.size, t_i)
    star = M - theta_i[codes][:, None] * means[codes]
    fit = ols(star[:, 1:], star[:, 0], tuple(names))
    Xk = X[:, fit.keep]
    xb = Xk @ fit.beta
    bm = means[:, 1:][:, fit.keep] @ fit.beta
    df_resid = y.size - len(fit.beta)
    stats = {"df_resid": df_resid, "r2": _corr2(y, xb),
             "r2_within": _corr2(y - means[codes, 0], xb - bm[codes]),
             "sigma": float(np.sqrt(sigma_e2))}
    if method != "stata":  # plm's R²: of the transformed regression
        r2 = _corr2(star[:, 0], star[:, 0] - fit.resid)
        stats |= {"r2": r2, "r2_adj": 1 - (1 - r2) * (y.size - 1) / df_resid}
    theta = np.unique(np.round(theta_i, 12))
    extra = {"r2_between": _corr2(means[:, 0], bm), "sigma_u": float(np.sqrt(sigma_u2)),
             "sigma_e": float(np.sqrt(sigma_e2)),
             "rho": sigma_u2 / (sigma_u2 + sigma_e2) if sigma_u2 + sigma_e2 > 0 else np.nan,
             "theta": float(theta[0]) if theta.size == 1 else float(np.median(theta_i))}
    if method != "stata":
        extra |= {"theta_min": float(theta_i.min()), "theta_max": float(theta_i.max()),
                  "re_method": method}
    return fit, star[:, 1:], stats, extra


def swamy_arora(y, X, names, codes) -> tuple[OLSFit, np.ndarray, dict, dict]:
    """:func:`random_effects` with Stata's variance components."""
    return random_effects(y, X, names, codes, "stata")
