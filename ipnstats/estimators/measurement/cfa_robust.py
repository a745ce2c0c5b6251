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
    m = inv @ dS
    tr = np.trace(m, axis1=1, axis2=2)
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
    m = inv @ dS                                     # Sigma^-1 dS_k
    flat = m.reshape(len(m), -1)
    # d2/dk dl of 0.5[log|Sigma| + tr(Sigma^-1 S(mu))]; tr(A B) = vec(A) . vec(B')
    t1 = -0.5 * flat @ m.transpose(0, 2, 1).reshape(len(m), -1).T
    t2 = flat @ ((inv @ S) @ m).transpose(0, 2, 1).reshape(len(m), -1).T
    h = t1 + 0.5 * (t2 + t2.T)
    h += dm @ inv @ dm.T
    cross = m @ (inv @ rbar)   # Sigma^-1 dS_k Sigma^-1 rbar
    c = cross @ dm.T
    h += c + c.T
    return h


def pattern_information(patterns, values, mus, sigmas, derivs, N):
    """Summed over missing-data patterns (one per group with complete data): the
    first-order information ``B`` (casewise score cross-products / N) and the observed
    information ``A`` (/ N) of parameters whose moment derivatives per group are
    ``derivs[g] = (dSigma, dmu)``, at the moments ``mus``, ``sigmas``."""
    K = derivs[0][0].shape[0]
    A, B = np.zeros((K, K)), np.zeros((K, K))
    for pat in patterns:
        g, o = pat.group, pat.obs
        dS, dm = derivs[g]
        y = values[g][np.ix_(pat.rows, o)]
        args = (y, mus[g][o], sigmas[g][np.ix_(o, o)], dS[:, o][:, :, o], dm[:, o])
        s = casewise_scores(*args)
        B += s.T @ s / N
        A += pat.n / N * _saturated_hessian(*args)
    return A, B


def _saturated_derivs(p: int, meanstructure: bool):
    """d(Sigma)/d(moment) and d(mu)/d(moment) of the saturated moments (mu when
    ``meanstructure``, then vech(Sigma))."""
    rows, cols = np.tril_indices(p)
    q = len(rows)
    dS = np.zeros((q, p, p))
    dS[np.arange(q), rows, cols] = 1.0
    dS[np.arange(q), cols, rows] = 1.0
    dm = np.zeros((q, p))
    if meanstructure:
        dS = np.concatenate([np.zeros((p, p, p)), dS])
        dm = np.concatenate([np.eye(p), dm])
    return dS, dm


def _diagonal_derivs(p: int, meanstructure: bool):
    """The same for the independence model (variances, and means)."""
    dS = np.zeros((p, p, p))
    dS[np.arange(p), np.arange(p), np.arange(p)] = 1.0
    dm = np.zeros((p, p))
    if meanstructure:
        dS = np.concatenate([np.zeros((p, p, p)), dS])
        dm = np.concatenate([np.eye(p), dm])
    return dS, dm


def sandwich(pt, sample, x, H, N, df, notes):
    """The robust vcov and the scaling factors of the model and baseline tests."""
    mom = model_moments(pt, x, list(sample.means))
    K = pt.npar
    derivs = [derivatives(pt, mom, g) for g in range(pt.ngroups)]
    _, B = pattern_information(sample.patterns, sample.values, mom.mu, mom.sigma, derivs, N)
    tr_h1 = _h1_trace(sample, pt.meanstructure, N)
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


def _h1_trace(sample, meanstructure: bool, N: int) -> float:
    """``tr(A1^-1 B1)`` of the saturated model, summed over groups (the trace does not
    depend on the groups' weights); with missing values A1 is the observed information
    at the EM moments."""
    if all(len(pat.obs) == len(pat.mean) == sample.values[pat.group].shape[1]
           and pat.n == len(sample.values[pat.group]) for pat in sample.patterns):
        return sum(h1_trace(y, m, S, meanstructure)
                   for y, m, S in zip(sample.values, sample.means, sample.covs, strict=True))
    p = sample.values[0].shape[1]
    d = _saturated_derivs(p, meanstructure)
    tr = 0.0
    for g in range(len(sample.values)):
        pats = [pat for pat in sample.patterns if pat.group == g]
        A1, B1 = pattern_information(pats, sample.values, sample.means, sample.covs,
                                     [d] * len(sample.values), N)
        tr += np.trace(np.linalg.solve(A1, B1))
    return float(tr)


def _baseline_scaling(sample, meanstructure: bool, tr_h1: float) -> float:
    """The scaling factor of the independence model (free variances, and means under a
    mean structure): ``[tr_h1 - tr(H_b^-1 B_b)] / df_b``, with ``H_b`` and ``B_b`` its
    observed and first-order information at its estimates (available-case means and
    N-divisor variances)."""
    N = sum(sample.n)
    p = sample.values[0].shape[1]
    d = _diagonal_derivs(p, meanstructure)
    tr_b = 0.0
    mus = [np.nanmean(v, axis=0) for v in sample.values]
    sigmas = [np.diag(np.nanvar(v, axis=0)) for v in sample.values]
    for g in range(len(sample.values)):
        pats = [pat for pat in sample.patterns if pat.group == g]
        H0, B0 = pattern_information(pats, sample.values, mus, sigmas, [d] * len(mus), N)
        tr_b += np.trace(np.linalg.solve(H0, B0))
    df_b = len(sample.values) * p * (p - 1) // 2
    return (tr_h1 - tr_b) / df_b


def robust_measures(m: dict, rob: dict, N: int, G: int, *, fiml: bool = False) -> dict:
    """lavaan's ``*.scaled`` and ``*.robust`` fit measures (underscored).

    The robust CFI/TLI are Brosseau-Liard & Savalei's (2014), the robust RMSEA and its
    interval Brosseau-Liard, Savalei & Li's (2012): the interval of ``chisq / c``
    rescaled by ``sqrt(c)``. The scaled RMSEA's interval and p-value are lavaan's: the
    unscaled chisq on ``c df`` degrees of freedom. Under FIML lavaan computes the robust
    CFI/TLI/RMSEA another way (a corrected saturated model); they are not reported then.
    """
    c, cb = rob["c"], rob["cb"]
    T, df, Tb, dfb = m["chisq"], m["df"], m["baseline_chisq"], m["baseline_df"]
    out = {"chisq_scaled": T / c, "df_scaled": df, "pvalue_scaled": stats.chi2.sf(T / c, df),
           "chisq_scaling_factor": c, "baseline_chisq_scaled": Tb / cb,
           "baseline_df_scaled": dfb, "baseline_pvalue_scaled": stats.chi2.sf(Tb / cb, dfb),
           "baseline_chisq_scaling_factor": cb}
    out["cfi_scaled"], out["tli_scaled"] = cfi_tli(T / c, df, Tb / cb, dfb)
    robust = not fiml
    t1 = max(T - c * df, 0.0)
    t2 = max(T - c * df, Tb - cb * dfb, 0.0)
    if robust:
        out["cfi_robust"] = 1.0 if t2 == 0 else 1 - t1 / t2
        out["tli_robust"] = 1 - (T - c * df) * dfb / ((Tb - cb * dfb) * df) if df > 0 else 1.0
    if df > 0:
        r = np.sqrt(max(T / (N * c * df) - 1.0 / N, 0.0)) * np.sqrt(G)
        lo, up = rmsea_ci(T, c * df, N, G)
        out.update(rmsea_scaled=r, rmsea_ci_lower_scaled=lo, rmsea_ci_upper_scaled=up,
                   rmsea_pvalue_scaled=rmsea_closefit(T, c * df, N, G))
        if robust:
            rlo, rup = rmsea_ci(T / c, df, N, G, c_hat=c)
            out.update(rmsea_robust=r * np.sqrt(c), rmsea_ci_lower_robust=rlo,
                       rmsea_ci_upper_robust=rup,
                       rmsea_pvalue_robust=rmsea_closefit(T / c, df, N, G, c_hat=c))
    return out
