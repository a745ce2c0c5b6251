"""Swamy-Arora random effects, as Stata's ``xtreg, re``.

Notes
-----
With N observations in n units (T_i each) and K regressors including the constant:

- ``sigma_e^2 = e_w'e_w / (N - n - K_w)`` from the within regression, ``K_w`` the
  regressors that vary within units and are not collinear there (a time-invariant
  regressor is swept out by the within transformation and costs no degree of freedom,
  as in linearmodels and Stata);
- ``sigma_u^2 = e_b'e_b / (n - K) - sigma_e^2 / T_bar`` from the between regression
  on unit means, ``T_bar`` the harmonic mean of T_i (set to 0 when negative);
- ``theta_i = 1 - sqrt(sigma_e^2 / (T_i sigma_u^2 + sigma_e^2))``;
- GLS is OLS of ``y - theta_i ybar_i`` on ``X - theta_i Xbar_i``; its conventional
  covariance is ``s^2 (X*'X*)^-1`` with ``s^2`` the residual variance of that
  regression on ``N - K`` degrees of freedom; inference is normal (z), as in Stata.
- R² within, between and overall are squared correlations (Stata's definitions).
"""

from __future__ import annotations

import numpy as np

from ipnstats.core.demean import group_means
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.linear import OLSFit, ols


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def variance_components(y, X, names, codes) -> tuple[float, float, np.ndarray]:
    """sigma_e², sigma_u² (Swamy-Arora) and T_i per unit."""
    g = int(codes.max()) + 1
    t_i = np.bincount(codes, minlength=g)
    slopes = [i for i, n in enumerate(names) if n != "Intercept"]
    M = np.column_stack([y, X[:, slopes]])
    within = M - group_means(M, codes, g, t_i)[codes]
    # a regressor constant within every unit is swept out: it costs no within df
    scale = np.maximum(np.abs(M[:, 1:]).max(axis=0, initial=0.0), 1.0)
    varies = np.abs(within[:, 1:]).max(axis=0, initial=0.0) > 1e-10 * scale
    kept = [s for s, v in zip(slopes, varies, strict=True) if v]
    fit_w = ols(within[:, 1:][:, varies], within[:, 0], tuple(names[i] for i in kept))
    df_within = y.size - g - int(fit_w.keep.sum())
    if df_within <= 0:
        raise SpecificationError(
            f"random effects need a within regression with residual degrees of freedom: "
            f"{y.size:,} observations in {g:,} units leave none (each unit needs repeated "
            "observations; with one observation per unit use estimator='pooled')")
    sigma_e2 = float(fit_w.resid @ fit_w.resid) / df_within
    means = group_means(np.column_stack([y, X]), codes, g, t_i)
    fit_b = ols(means[:, 1:], means[:, 0], tuple(names))
    if g <= len(fit_b.beta):
        raise SpecificationError(
            f"random effects need more units than regressors in the between regression: "
            f"{g:,} unit(s), {len(fit_b.beta):,} coefficient(s)")
    t_bar = g / np.sum(1 / t_i)
    sigma_u2 = float(fit_b.resid @ fit_b.resid) / (g - len(fit_b.beta)) - sigma_e2 / t_bar
    return sigma_e2, max(sigma_u2, 0.0), t_i


def swamy_arora(y, X, names, codes) -> tuple[OLSFit, np.ndarray, dict, dict]:
    """GLS fit, the transformed design (all columns, the dropped ones included: the fit's
    ``keep`` selects), fit statistics and the variance components."""
    sigma_e2, sigma_u2, t_i = variance_components(y, X, names, codes)
    theta_i = 1 - np.sqrt(sigma_e2 / (t_i * sigma_u2 + sigma_e2))
    M = np.column_stack([y, X])
    means = group_means(M, codes, t_i.size, t_i)
    star = M - theta_i[codes][:, None] * means[codes]
    fit = ols(star[:, 1:], star[:, 0], tuple(names))
    Xk = X[:, fit.keep]
    xb = Xk @ fit.beta
    bm = means[:, 1:][:, fit.keep] @ fit.beta
    stats = {"df_resid": y.size - len(fit.beta), "r2": _corr2(y, xb),
             "r2_within": _corr2(y - means[codes, 0], xb - bm[codes]),
             "sigma": float(np.sqrt(sigma_e2))}
    theta = np.unique(np.round(theta_i, 12))
    extra = {"r2_between": _corr2(means[:, 0], bm), "sigma_u": float(np.sqrt(sigma_u2)),
             "sigma_e": float(np.sqrt(sigma_e2)),
             "rho": sigma_u2 / (sigma_u2 + sigma_e2) if sigma_u2 + sigma_e2 > 0 else np.nan,
             "theta": float(theta[0]) if theta.size == 1 else float(np.median(theta_i))}
    return fit, star[:, 1:], stats, extra
