"""Fit statistics of least-squares models, defined once."""

from __future__ import annotations

import numpy as np


def fit_statistics(y: np.ndarray, resid: np.ndarray, k: int, *, centered: bool,
                   tss_within: float | None = None, weights: np.ndarray | None = None,
                   frequency: bool = False) -> dict[str, float | None]:
    """df_resid, R², adjusted R², within R², sigma, Gaussian log-likelihood, AIC, BIC.

    ``k`` counts every estimated mean parameter, absorbed fixed effects included.
    R² is centred when the model has an intercept (or fixed effects), else uncentred
    (Stata ``regress, noconstant``). AIC and BIC count the error variance too.

    ``weights`` (positive; ``resid`` then on the original scale): sums of squares are
    weighted and the centre is the weighted mean, as pyfixest and Stata (``tss_within``
    is then the weighted within sum of squares). Frequency weights (``frequency``) count
    ``sum(w)`` observations, every statistic that of the data with each row repeated
    ``w`` times; analytic weights count rows and the log-likelihood is that of
    ``Var(u_i) = sigma^2 / w_i`` (R's ``logLik.lm`` with weights, which does not depend
    on the weights' scale).
    """
    if weights is None:
        n, ssr, log_w = y.size, float(resid @ resid), 0.0
        tss = float(((y - y.mean()) ** 2).sum() if centered else y @ y)
    else:
        n = int(round(weights.sum())) if frequency else y.size
        ssr = float(weights @ resid**2)
        centre = float(weights @ y / weights.sum()) if centered else 0.0
        tss = float(weights @ (y - centre) ** 2)
        log_w = 0.0 if frequency else float(np.log(weights).sum())
    df_resid = n - k
    r2 = 1 - ssr / tss if tss > 0 else np.nan
    df_total = n - 1 if centered else n
    loglik = (log_w / 2 - n / 2 * (np.log(2 * np.pi) + np.log(ssr / n) + 1)
              if ssr > 0 else np.nan)
    return {
        "df_resid": df_resid, "r2": r2,
        "r2_adj": 1 - (1 - r2) * df_total / df_resid if df_resid > 0 else np.nan,
        "r2_within": None if tss_within is None else
        (1 - ssr / tss_within if tss_within > 0 else np.nan),
        "sigma": float(np.sqrt(ssr / df_resid)) if df_resid > 0 else np.nan,
        "loglik": loglik, "aic": -2 * loglik + 2 * (k + 1),
        "bic": -2 * loglik + np.log(n) * (k + 1),
    }
