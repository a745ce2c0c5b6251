"""Random-effects variance components as R plm (2.6) computes them: ``random.method``
``"swar"``, ``"amemiya"``, ``"walhus"`` and ``"nerlove"``, one-way (individual) effects.

Notes
-----
plm estimates ``sigma_e²`` (idiosyncratic) and ``sigma_u²`` (individual) by solving two
equations ``q = M sigma`` in quadratic forms of residuals (``plm:::ercomp.formula``).
With N observations in n units, ``Z`` the design with its intercept (K regressors
besides it), ``z̄_i`` the unit means, ``W = Σ T_i z̄_i z̄_i'``, ``S = Σ T_i² z̄_i z̄_i'``,
``K_w`` the regressors that vary within units, ``e`` the residuals of the method's
first-step fit and ``ē_i`` their unit means:

- ``q_w = Σ (e_it − ē_i)²`` (within sum of squares), ``q_b = Σ T_i ē_i²``;
- swar: ``e`` are the within residuals for ``q_w`` and those of the between regression
  on unit means weighted by ``T_i`` (plm's "Between") for ``q_b``;
  amemiya: within residuals ``y − Xb_w − c`` (``c`` making them sum to zero) for both;
  walhus: pooled OLS residuals for both;
- balanced panels (T each): swar ``sigma_e² = q_w / (N − n − K_w)``,
  ``sigma_u² = q_b / (T (n − K − 1)) − sigma_e² / T`` (the same as Stata's);
  amemiya and walhus ``sigma_e² = q_w / (N − n)``, ``sigma_u² = q_b / (T n) −
  sigma_e² / T``;
- unbalanced panels, the exact expectations of the quadratic forms (plm's
  ``dfcor = 3``): swar ``sigma_e² = q_w / (N − n − K_w)``, ``q_b = (n − K − 1)
  sigma_e² + (N − tr(W⁻¹S)) sigma_u²``; amemiya ``q_b = (n − 1 + tr((X_w'X_w)⁻¹
  X_b'X_b)) sigma_e² + (N − Σ T_i² / N) sigma_u²`` (``X_w`` the within-transformed
  slopes, ``X_b`` the unit means of the slopes, row per observation, centred); walhus
  the 2x2 system with ``P = (Z'Z)⁻¹``, ``C = Z'Z − W``: ``q_w = (N − n − tr(PC))
  sigma_e² + tr(PCPS) sigma_u²``, ``q_b = (n − tr(PW)) sigma_e² + (N − 2 tr(PS) +
  tr(PWPS)) sigma_u²``;
- nerlove: ``sigma_e² = q_w / N`` from the within fit and ``sigma_u²`` the variance of
  its unit effects ``α_i = ȳ_i − x̄_i b_w`` around their ``T_i``-weighted mean,
  ``Σ (α_i − ᾱ)² / (n − 1)`` when balanced and ``n/(n − 1) Σ T_i (α_i − ᾱ)² / N``
  when not;
- negative estimates are set to 0, as plm does.

swar needs more units than the between regression has coefficients, counting every
column whose unit means vary (as plm, which refuses 22 coefficients in 10 units even
when some of them are collinear there). Columns collinear in the pooled design or in
the between regression (time dummies whose unit means are collinear, where plm stops
with a singular matrix) are dropped, so ``K`` counts the independent regressors.
"""

from __future__ import annotations

import numpy as np

from ipnstats.core.demean import group_means
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.linear import ols
from ipnstats.estimators.random_effects import require_units, within_regression


def plm_components(y, X, names, codes, method: str) -> tuple[float, float, np.ndarray]:
    """sigma_e², sigma_u² and T_i per unit by plm's ``random.method = method``."""
    g = int(codes.max()) + 1
    t_i = np.bincount(codes, minlength=g)
    keep = ols(X, y, tuple(names)).keep
    Z, names = X[:, keep], tuple(n for n, k in zip(names, keep, strict=True) if k)
    fit_w, slopes = within_regression(y, Z, names, codes, t_i)
    means = group_means(np.column_stack([y, Z]), codes, g, t_i)
    balanced = bool(np.all(t_i == t_i[0]))
    if method == "nerlove":
        return (*_nerlove(fit_w, slopes, means, t_i, balanced, y.size), t_i)
    if method == "swar":
        s_e, s_u = _swar(fit_w, means, t_i, balanced, y.size)
    elif method == "amemiya":
        s_e, s_u = _amemiya(fit_w, slopes, Z, means, t_i, balanced, names)
    elif method == "walhus":
        s_e, s_u = _walhus(y, Z, names, codes, means, t_i, balanced)
    else:
        raise SpecificationError(f"unknown plm random.method {method!r}; use swar, amemiya, "
                                 "walhus or nerlove")
    return max(s_e, 0.0), max(s_u, 0.0), t_i


def _between_quad(e_bar: np.ndarray, t_i: np.ndarray) -> float:
    return float(t_i @ e_bar**2)


def _swar(fit_w, means, t_i, balanced, n_obs) -> tuple[float, float]:
    g = t_i.size
    w = np.sqrt(t_i)[:, None]
    fit_b = ols(means[:, 1:] * w, means[:, 0] * w[:, 0], tuple(map(str, range(means.shape[1] - 1))))
    k1 = fit_b.beta.size  # K + 1, the intercept included
    zb = means[:, 1:]
    scale = np.maximum(np.abs(zb).max(axis=0), 1.0)
    require_units(g, max(k1, int(np.sum(np.ptp(zb, axis=0) > 1e-10 * scale)) + 1))
    q_w, q_b = float(fit_w.resid @ fit_w.resid), float(fit_b.resid @ fit_b.resid)
    s_e = q_w / (n_obs - g - fit_w.beta.size)
    if balanced:
        return s_e, q_b / (t_i[0] * (g - k1)) - s_e / t_i[0]
    zb = means[:, 1:][:, fit_b.keep]
    W = zb.T @ (t_i[:, None] * zb)
    S = zb.T @ (t_i[:, None] ** 2 * zb)
    return s_e, (q_b - (g - k1) * s_e) / (n_obs - np.trace(np.linalg.solve(W, S)))


def _amemiya(fit_w, slopes, Z, means, t_i, balanced, names) -> tuple[float, float]:
    g, n_obs = t_i.size, int(t_i.sum())
    varying = [i for i, n in enumerate(names) if n != "Intercept"]
    if len(slopes) < len(varying):
        raise SpecificationError(
            "re_method='amemiya' needs every regressor to vary within units (as plm); "
            + ", ".join(names[i] for i in varying if i not in slopes)
            + " does not: use re_method='swar'")
    b = fit_w.beta
    alpha = means[:, 0] - means[:, 1:][:, slopes] @ b
    e_bar = alpha - (t_i @ alpha) / n_obs  # unit means of y - Xb_w - c
    q_w, q_b = float(fit_w.resid @ fit_w.resid), _between_quad(e_bar, t_i)
    if balanced:
        s_e = q_w / (n_obs - g)
        return s_e, q_b / (t_i[0] * g) - s_e / t_i[0]
    s_e = q_w / (n_obs - g - b.size)
    xb = means[:, 1:][:, slopes]
    xb = xb - (t_i @ xb) / n_obs
    xwx = fit_w.bread  # (X_w'X_w)^-1
    m_nu = g - 1 + float(np.trace(xwx @ (xb.T @ (t_i[:, None] * xb))))
    return s_e, (q_b - m_nu * s_e) / (n_obs - float(t_i @ t_i) / n_obs)


def _walhus(y, Z, names, codes, means, t_i, balanced) -> tuple[float, float]:
    g, n_obs = t_i.size, y.size
    fit_p = ols(Z, y, tuple(names))
    e_bar = group_means(fit_p.resid[:, None], codes, g, t_i)[:, 0]
    q_b = _between_quad(e_bar, t_i)
    q_w = float(fit_p.resid @ fit_p.resid) - q_b
    if balanced:
        s_e = q_w / (n_obs - g)
        return s_e, q_b / (t_i[0] * g) - s_e / t_i[0]
    zb = means[:, 1:]
    P = fit_p.bread
    W = zb.T @ (t_i[:, None] * zb)
    S = zb.T @ (t_i[:, None] ** 2 * zb)
    C = Z.T @ Z - W
    PC, PW, PS = P @ C, P @ W, P @ S
    M = np.array([[n_obs - g - np.trace(PC), np.trace(PC @ PS)],
                  [g - np.trace(PW), n_obs - 2 * np.trace(PS) + np.trace(PW @ PS)]])
    s_e, s_u = np.linalg.solve(M, [q_w, q_b])
    return float(s_e), float(s_u)


def _nerlove(fit_w, slopes, means, t_i, balanced, n_obs) -> tuple[float, float]:
    g = t_i.size
    alpha = means[:, 0] - means[:, 1:][:, slopes] @ fit_w.beta
    dev = alpha - (t_i @ alpha) / n_obs
    s_e = float(fit_w.resid @ fit_w.resid) / n_obs
    if balanced:
        return s_e, float(dev @ dev) / (g - 1)
    return s_e, float(t_i @ dev**2) / n_obs * g / (g - 1)
