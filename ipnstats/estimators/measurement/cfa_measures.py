"""Fit measures of a CFA as lavaan's ``fitMeasures`` computes them.

- ``chisq = 2 (loglik_h1 - loglik_h0)`` (with complete data ``N F_ML`` on the N-divisor
  covariance), ``df`` = sample moments - free parameters.
- The baseline is the independence model (free variances and means per group).
- ``cfi = 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - df_b, 0)``;
  ``tli = (chisq_b/df_b - chisq/df) / (chisq_b/df_b - 1)``.
- ``rmsea = sqrt(G) sqrt(max(chisq/(N df) - 1/N, 0))``, its 90% interval by inverting
  the noncentral chi-square, ``rmsea_pvalue`` the test of close fit (RMSEA <= .05).
- ``srmr``: lavaan's Bentler SRMR: residuals ``(s_ij - sigma_ij) / sqrt(s_ii s_jj)``
  over the lower triangle with the diagonal (and ``(m_i - mu_i) / sqrt(s_ii)`` under a
  mean structure), root mean square per group, weighted by the groups' share of N.
- ``aic = -2 loglik + 2 npar``, ``bic = -2 loglik + npar log N``,
  ``bic2 = -2 loglik + npar log((N + 2)/24)``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def rmsea_ci(x2: float, df: float, N: int, G: int, c_hat: float = 1.0):
    """lavaan's ``lav_fit_rmsea_ci``: the 90% interval of the RMSEA by inverting the
    noncentral chi-square of ``x2`` on ``df`` (``df`` need not be an integer)."""
    if not (np.isfinite(x2) and np.isfinite(df)) or df < 1:
        return 0.0, 0.0

    def cdf(lam):
        return stats.chi2.cdf(x2, df) if lam <= 0 else stats.ncx2.cdf(x2, df, lam)

    def scale(lam):
        return np.sqrt(c_hat * lam / (N * df)) * np.sqrt(G)

    lo = 0.0 if cdf(0.0) < 0.95 else scale(optimize.brentq(lambda v: cdf(v) - 0.95, 0.0, x2,
                                                           xtol=1e-12))
    top = max(N, 4 * x2)
    up = 0.0 if (cdf(top) > 0.05 or cdf(0.0) < 0.05) else scale(
        optimize.brentq(lambda v: cdf(v) - 0.05, 0.0, top, xtol=1e-12))
    return lo, up


def rmsea_closefit(x2: float, df: float, N: int, G: int, c_hat: float = 1.0) -> float:
    """lavaan's close-fit p-value, ``P(chi2(df, ncp = N df .05^2 / (c G)) >= x2)``."""
    if not df > 0:
        return np.nan
    return float(stats.ncx2.sf(x2, df, N * df / c_hat * 0.05 ** 2 / G))


def rmsea_triplet(chisq: float, df: float, N: int, G: int):
    """RMSEA, its 90% interval and the close-fit p-value (RMSEA <= .05), as lavaan."""
    if df <= 0 or not np.isfinite(chisq):
        return (np.nan,) * 4
    rmsea = np.sqrt(max(chisq / (N * df) - 1.0 / N, 0.0)) * np.sqrt(G)
    lo, up = rmsea_ci(chisq, df, N, G)
    return rmsea, lo, up, rmsea_closefit(chisq, df, N, G)


def cfi_tli(chisq, df, chisq_b, df_b):
    """CFI and TLI from the model and baseline chi-squares."""
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, chisq_b - df_b, 0.0)
    cfi = 1.0 if t2 == 0 else 1 - t1 / t2
    tli = (chisq_b / df_b - chisq / df) / (chisq_b / df_b - 1) if df > 0 else 1.0
    return cfi, tli


def srmr(covs, means, sigmas, mus, weights, meanstructure: bool) -> float:
    """lavaan's ``srmr`` (Bentler): root mean squared residual correlation per group
    (with standardised mean residuals under a mean structure), weighted by group size."""
    total = 0.0
    for S, m, Sig, mu, w in zip(covs, means, sigmas, mus, weights, strict=True):
        sd_s = np.sqrt(np.diag(S))
        res = (S - Sig) / np.outer(sd_s, sd_s)
        low = res[np.tril_indices(len(S))]
        ss, k = np.sum(low ** 2), len(low)
        if meanstructure:
            ss += np.sum(((m - mu) / sd_s) ** 2)
            k += len(S)
        total += w * np.sqrt(ss / k)
    return float(total)


def information_criteria(loglik: float, npar: int, N: int) -> dict:
    """AIC, BIC and the sample-size adjusted BIC (bic2)."""
    return {"aic": -2 * loglik + 2 * npar, "bic": -2 * loglik + npar * np.log(N),
            "bic2": -2 * loglik + npar * np.log((N + 2) / 24)}


def basic_measures(*, loglik, loglik_h1, loglik_b, npar, df, df_b, N, G) -> dict:
    """The ML fit measures from the three log-likelihoods (model, saturated, baseline)."""
    chisq = 2 * (loglik_h1 - loglik)
    chisq_b = 2 * (loglik_h1 - loglik_b)
    cfi, tli = cfi_tli(chisq, df, chisq_b, df_b)
    rmsea, lo, up, pr = rmsea_triplet(chisq, df, N, G)
    out = {"npar": npar, "chisq": chisq, "df": df,
           "pvalue": stats.chi2.sf(chisq, df) if df > 0 else np.nan,
           "baseline_chisq": chisq_b, "baseline_df": df_b,
           "baseline_pvalue": stats.chi2.sf(chisq_b, df_b),
           "cfi": cfi, "tli": tli, "loglik": loglik, "unrestricted_loglik": loglik_h1,
           "rmsea": rmsea, "rmsea_ci_lower": lo, "rmsea_ci_upper": up, "rmsea_pvalue": pr}
    out.update(information_criteria(loglik, npar, N))
    return out
