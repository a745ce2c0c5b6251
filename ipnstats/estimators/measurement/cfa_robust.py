"""MLR: the Huber-White sandwich and the Yuan-Bentler (Mplus) scaled test of a CFA.

- Bread: the observed information ``H`` (Hessian of ``-loglik/N``); meat: the
  first-order information ``B = (1/N) sum_i s_i s_i'`` of the casewise scores;
  ``vcov = H^-1 B H^-1 / N`` (lavaan ``se = "robust.huber.white"``).
- Scaling factor (lavaan ``test = "yuan.bentler.mplus"``):
  ``c = [tr(A1^-1 B1) - tr(H^-1 B)] / df``, with ``A1`` and ``B1`` the expected and
  first-order information of the saturated moments at the sample moments (groups
  weighted by ``n_g / N``), and ``H``, ``B`` the model's bread and meat; the baseline
  (independence) model's factor likewise.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ipnstats.core.notes import Note
from ipnstats.estimators.measurement.cfa_fit import derivatives, model_moments
from ipnstats.estimators.measurement.cfa_measures import cfi_tli, rmsea_ci, rmsea_closefit


def casewise_scores(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray, dS: np.ndarray,
                    dm: np.ndarray) -> np.ndarray:
    """Per case, the score of its normal log-likelihood for each parameter (n x K)."""
    inv = np.linalg.inv(sigma)
    z = (y - mu) @ inv
    m = np.einsum("pq,kqr->kpr", inv, dS)
    tr = np.einsum("kpp->k", m)
    n, p = z.shape
    quad = (z[:, :, None] * z[:, None, :]).reshape(n, p * p) @ dS.reshape(len(dS), p * p).T
    return 0.5 * (quad - tr) + z @ dm.T


def h1_trace(y: np.ndarray, mean: np.ndarray, cov: np.ndarray, meanstructure: bool) -> float:
    """``tr(A1^-1 B1)`` of one group, ``A1`` and ``B1`` the expected and first-order
    information of the saturated moments at the sample moments (what lavaan's
    Yuan-Bentler-Mplus trace reproduces). At the sample moments the score of case i is
    ``A1 vech(d_i d_i' - S)``, so the trace reduces to Mardia's multivariate kurtosis:
    ``(mean_i (d_i' S^-1 d_i)^2 - p) / 2``, plus ``p`` for the means."""
    d = y - mean
    m = np.einsum("ip,pq,iq->i", d, np.linalg.inv(cov), d)
    p = y.shape[1]
    return float(0.5 * (np.mean(m ** 2) - p) + (p if meanstructure else 0))


def _saturated_hessian(y, mu, sigma, dS, dm) -> np.ndarray:
    """Observed information of the saturated moments (minus the mean Hessian of the
    casewise log-likelihood), analytic in the moments."""
    inv = np.linalg.inv(sigma)
    r = y - mu
    S = r.T @ r / len(y)
    rbar = r.mean(axis=0)
    m = np.einsum("pq,kqr->kpr", inv, dS)            # Sigma^-1 dS_k
    # d2/dk dl of 0.5[log|Sigma| + tr(Sigma^-1 S(mu))]
    t1 = -0.5 * np.einsum("kpq,lqp->kl", m, m)
    t2 = np.einsum("kpq,lqr,rp->kl", m, m, inv @ S, optimize=True)
    h = t1 + 0.5 * (t2 + t2.T)
    h += dm @ inv @ dm.T
    cross = np.einsum("kpq,q->kp", m, inv @ rbar)   # Sigma^-1 dS_k Sigma^-1 rbar
    c = cross @ dm.T
    h += c + c.T
    return h


def sandwich(pt, sample, x, H, N, df, notes):
    """The robust vcov and what the scaled test needs (scores' B, traces)."""
    mom = model_moments(pt, x, list(sample.means))
    K = pt.npar
    B = np.zeros((K, K))
    tr_h1 = 0.0
    for g, y in enumerate(sample.values):
        dS, dm = derivatives(pt, mom, g)
        s = casewise_scores(y, mom.mu[g], mom.sigma[g], dS, dm)
        B += s.T @ s / N
        tr_h1 += len(y) / N * h1_trace(y, sample.means[g], sample.covs[g], pt.meanstructure)
    try:
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        notes.append(Note("not_identified", "the observed information is singular: no robust "
                          "standard errors"))
        return np.full((K, K), np.nan), {"c": np.nan, "cb": np.nan}
    vcov = Hinv @ B @ Hinv / N
    c = (tr_h1 - np.trace(Hinv @ B)) / df if df > 0 else np.nan
    cb = _baseline_scaling(sample, pt.meanstructure, tr_h1)
    return vcov, {"c": c, "cb": cb}


def _baseline_scaling(sample, meanstructure: bool, tr_h1: float) -> float:
    """The scaling factor of the independence model (free variances, and means under a
    mean structure): ``[tr_h1 - tr(H_b^-1 B_b)] / df_b``, with ``H_b`` and ``B_b`` its
    observed and first-order information at its estimates."""
    N = sum(sample.n)
    num, df_b = tr_h1, 0
    for y, m, S in zip(sample.values, sample.means, sample.covs, strict=True):
        p = y.shape[1]
        sig = np.diag(np.diag(S))
        dS = np.zeros((p, p, p))
        dS[np.arange(p), np.arange(p), np.arange(p)] = 1.0
        dm = np.zeros((p, p))
        if meanstructure:
            dS = np.concatenate([np.zeros((p, p, p)), dS])
            dm = np.concatenate([np.eye(p), dm])
        s0 = casewise_scores(y, m, sig, dS, dm)
        H0 = _saturated_hessian(y, m, sig, dS, dm)
        num -= len(y) / N * np.trace(np.linalg.solve(H0, s0.T @ s0 / len(y)))
        df_b += p * (p - 1) // 2
    return num / df_b


def robust_measures(m: dict, rob: dict, N: int, G: int) -> dict:
    """lavaan's ``*.scaled`` and ``*.robust`` fit measures (underscored).

    The robust CFI/TLI are Brosseau-Liard & Savalei's (2014), the robust RMSEA and its
    interval Brosseau-Liard, Savalei & Li's (2012): the interval of ``chisq / c``
    rescaled by ``sqrt(c)``. The scaled RMSEA's interval and p-value are lavaan's: the
    unscaled chisq on ``c df`` degrees of freedom.
    """
    c, cb = rob["c"], rob["cb"]
    T, df, Tb, dfb = m["chisq"], m["df"], m["baseline_chisq"], m["baseline_df"]
    out = {"chisq_scaled": T / c, "df_scaled": df, "pvalue_scaled": stats.chi2.sf(T / c, df),
           "chisq_scaling_factor": c, "baseline_chisq_scaled": Tb / cb,
           "baseline_df_scaled": dfb, "baseline_pvalue_scaled": stats.chi2.sf(Tb / cb, dfb),
           "baseline_chisq_scaling_factor": cb}
    out["cfi_scaled"], out["tli_scaled"] = cfi_tli(T / c, df, Tb / cb, dfb)
    t1 = max(T - c * df, 0.0)
    t2 = max(T - c * df, Tb - cb * dfb, 0.0)
    out["cfi_robust"] = 1.0 if t2 == 0 else 1 - t1 / t2
    out["tli_robust"] = 1 - (T - c * df) * dfb / ((Tb - cb * dfb) * df) if df > 0 else 1.0
    if df > 0:
        r = np.sqrt(max(T / (N * c * df) - 1.0 / N, 0.0)) * np.sqrt(G)
        lo, up = rmsea_ci(T, c * df, N, G)
        rlo, rup = rmsea_ci(T / c, df, N, G, c_hat=c)
        out.update(rmsea_scaled=r, rmsea_ci_lower_scaled=lo, rmsea_ci_upper_scaled=up,
                   rmsea_pvalue_scaled=rmsea_closefit(T, c * df, N, G),
                   rmsea_robust=r * np.sqrt(c), rmsea_ci_lower_robust=rlo,
                   rmsea_ci_upper_robust=rup,
                   rmsea_pvalue_robust=rmsea_closefit(T / c, df, N, G, c_hat=c))
    return out
