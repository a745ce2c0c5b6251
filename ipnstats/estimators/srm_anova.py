"""The round-robin ANOVA estimator of the Social Relations Model, as R TripleR 1.5.4
computes it (``RR.effects``, ``RR.univariate``, ``getWTest``).

One group of ``n`` members (Kenny 1994, pp. 236-244): actor effects
``a_i = (n-1)^2/(n(n-2)) m_i. + (n-1)/(n(n-2)) m_.i - (n-1)/(n-2) m_..``, partner effects
likewise, relationship effects ``c_ij = x_ij - a_i - b_j - m_..``. With ``A = sum a^2/(n-1)``,
``B = sum b^2/(n-1)``, ``C = sum ab/(n-1)``, ``e = (c + c')/2``, ``d = c - c'``,
``D = sum e^2 / ((n-1)(n-2)/2 - 1)`` and ``E = (sum d^2 / 2) / ((n-1)(n-2))`` (sums over
the cells present): relationship variance ``(D+E)/2``, relationship covariance
``(D-E)/2`` and actor/partner (co)variances ``A, B, C`` less their relationship share.
Standard errors: Bond & Lashley (1996); ``t = estimate / se`` on ``n - 1`` df; p one-sided
for the variances and the relationship covariance, two-sided for the actor-partner
covariance (TripleR's choice, kept). Many groups: the mean of the group estimates weighted
by ``n_g - 1``, tested as TripleR's ``se = "LashleyBond"`` (its default: ``se =
sqrt(sum w^2 se_g^2) / sum w`` on ``sum w`` df) or ``"SOREMO"`` (the between-group t-test:
the weighted variance of the estimates, ``var.wt``, gives ``se = sqrt(var_w / k)`` on
``k - 1`` df); p one-sided for the variances, two-sided for the covariances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.estimators.srm_data import RoundRobin, impute, quick_effects

#: The SRM components, in TripleR's order (without its always-missing error variance).
TERMS = ("actor_variance", "partner_variance", "relationship_variance",
         "actor_partner_covariance", "relationship_covariance")
_VAR = TERMS[:3]


def group_effects(rr: RoundRobin) -> dict:
    """Actor, partner and relationship effects of one group (``RR.effects``), on the
    imputed matrix when dyads are missing; ``rounds`` of imputation (None: none)."""
    m, rounds = rr.matrix, None
    missing = np.isnan(m)
    if missing.sum() > m.shape[0]:
        m, rounds = impute(m)
    a, b, mean = quick_effects(m)
    c = m - a[:, None] - b[None, :] - mean
    c[missing] = np.nan
    return {"actor": a, "partner": b, "relationship": c, "mean": mean, "rounds": rounds}


def components(eff: dict) -> dict:
    """The five SRM (co)variances of one group from its effects (``RR.univariate``)."""
    a, b, c = eff["actor"], eff["partner"], eff["relationship"]
    n = len(a)
    big_a, big_b, big_c = (a @ a) / (n - 1), (b @ b) / (n - 1), (a @ b) / (n - 1)
    e, d = (c + c.T) / 2, c - c.T
    big_d = np.nansum(e ** 2) / ((n - 1) * (n - 2) / 2 - 1)
    big_e = (np.nansum(d ** 2) / 2) / ((n - 1) * (n - 2))
    scc, sccs = (big_d + big_e) / 2, (big_d - big_e) / 2
    k1, k2 = (n - 1) / (n * (n - 2)), 1 / (n * (n - 2))
    return {"actor_variance": big_a - scc * k1 - sccs * k2,
            "partner_variance": big_b - scc * k1 - sccs * k2,
            "relationship_variance": scc,
            "actor_partner_covariance": big_c - sccs * k1 - scc * k2,
            "relationship_covariance": sccs}


def bond_lashley_var(est: dict, n: int) -> dict:
    """Squared standard errors of the five components (Bond & Lashley 1996; TripleR's
    ``compute_univariate_LB_SE2``), unrestricted (they may be negative)."""
    saa, sbb, scc = est["actor_variance"], est["partner_variance"], est["relationship_variance"]
    sab, sccs = est["actor_partner_covariance"], est["relationship_covariance"]
    w = (n ** 2 - 3 * n + 6) * (n ** 2 - 3 * n + 4)
    den = w * (n + 1) * n ** 2 * (n - 2) ** 2
    p5 = n ** 5 - 5 * n ** 4 + 20 * n ** 3 - 42 * n ** 2 + 60 * n - 32

    def var_se(s):
        return (2 * s ** 2 / (n + 1)
                + 2 * (n ** 6 - 7 * n ** 5 + 28 * n ** 4 - 66 * n ** 3 + 102 * n ** 2
                       - 84 * n + 32) * scc ** 2 / den
                + 2 * (n ** 3 - n ** 2 - 2 * n + 16) * (n ** 2 - 2 * n + 2) * sccs ** 2 / den
                + 4 * s * ((n - 1) * scc + sccs) / ((n + 1) * n * (n - 2))
                + 4 * p5 * scc * sccs / den)

    rel = 2 * (n ** 2 - 3 * n + 5) * (scc ** 2 + sccs ** 2) / w + 4 * scc * sccs / w
    sab2 = ((n - 3) * sab ** 2 / ((n + 1) * (n - 2))
            + (n ** 6 - 5 * n ** 5 + 19 * n ** 4 - 45 * n ** 3 + 90 * n ** 2 - 96 * n
               + 64) * scc ** 2 / den
            + (n ** 6 - 7 * n ** 5 + 31 * n ** 4 - 83 * n ** 3 + 150 * n ** 2 - 144 * n
               + 64) * sccs ** 2 / den
            + (n - 1) * saa * sbb / ((n + 1) * (n - 2))
            + (n - 1) * (saa + sbb) * ((n - 1) * scc + sccs) / ((n + 1) * n * (n - 2) ** 2)
            + 2 * (n - 3) * sab * (scc + (n - 1) * sccs) / ((n + 1) * n * (n - 2) ** 2)
            + 4 * p5 * scc * sccs / den)
    return {"actor_variance": var_se(saa), "partner_variance": var_se(sbb),
            "relationship_variance": rel, "actor_partner_covariance": sab2,
            "relationship_covariance": rel}


def bond_lashley_se(est: dict, n: int) -> dict:
    """Standard errors: the square roots of :func:`bond_lashley_var`, missing for a
    variance estimated at or below zero (TripleR)."""
    sevar = bond_lashley_var(est, n)
    with np.errstate(invalid="ignore"):
        out = {k: float(np.sqrt(v)) for k, v in sevar.items()}
    for k in _VAR:
        if est[k] <= 0:
            out[k] = np.nan
    return out


def standardized(est: dict) -> dict:
    """Shares of the (non-negative) variances, the actor-partner correlation and the
    relationship (dyadic) correlation, clamped to [-1, 1] (TripleR)."""
    pos = {k: est[k] if est[k] >= 0 else np.nan for k in _VAR}
    total = np.nansum(list(pos.values()))
    out = {k: pos[k] / total for k in _VAR}
    saa, sbb = est["actor_variance"], est["partner_variance"]
    out["actor_partner_covariance"] = (est["actor_partner_covariance"] / np.sqrt(saa * sbb)
                                       if saa > 0 and sbb > 0 else np.nan)
    scc = pos["relationship_variance"]
    out["relationship_covariance"] = est["relationship_covariance"] / scc
    return {k: float(np.clip(v, -1, 1)) for k, v in out.items()}


def group_table(eff: dict) -> pd.DataFrame:
    """One group's varComp: term, estimate, standardized, std_error, statistic, df,
    p_value (TripleR's within-group tests and its blanking after negative variances)."""
    n = len(eff["actor"])
    est = components(eff)
    se = bond_lashley_se(est, n)
    sevar = bond_lashley_var(est, n)
    std = standardized(est)
    rows = []
    for k in TERMS:
        t = est[k] / se[k]
        p = stats.t.sf(abs(t), n - 1) * (2 if k == "actor_partner_covariance" else 1)
        rows.append({"term": k, "estimate": est[k], "standardized": std[k],
                     "std_error": se[k], "statistic": t, "df": n - 1, "p_value": p,
                     "sevar": sevar[k]})
    out = pd.DataFrame(rows).set_index("term")
    _blank(out, est["actor_variance"] <= 0 or est["partner_variance"] <= 0,
           est["relationship_variance"] <= 0)
    return out


def _blank(out: pd.DataFrame, ap_blank: bool, rel_blank: bool) -> None:
    cols = ["standardized", "std_error", "statistic", "p_value"]
    for k in _VAR:
        if out.loc[k, "estimate"] < 0:
            out.loc[k, cols] = np.nan
    if ap_blank:
        out.loc["actor_partner_covariance", cols] = np.nan
    if rel_blank:
        out.loc["relationship_covariance", cols] = np.nan


def weighted_t(x: np.ndarray, w: np.ndarray) -> tuple[float, float, float, int, float]:
    """TripleR's ``weighted.t.test(x, w, mu = 0)``: estimate, se, t, df, two-sided p."""
    keep = ~np.isnan(x)
    x, w = x[keep], w[keep]
    k = len(x)
    if k == 0:
        return (np.nan,) * 3 + (0, np.nan)
    mean = float(np.sum(w * x) / np.sum(w))
    if k == 1:
        return mean, np.nan, np.nan, 0, np.nan
    sw = w.sum()
    var = (np.sum(w * x ** 2) * sw - np.sum(w * x) ** 2) / (sw ** 2 - np.sum(w ** 2))
    se = float(np.sqrt(var / k))
    t = mean / se
    return mean, se, t, k - 1, float(2 * stats.t.sf(abs(t), k - 1))


def lashley_bond_pooled(x: np.ndarray, sevar: np.ndarray, w: np.ndarray
                        ) -> tuple[float, float, float, int, float]:
    """TripleR's default pooled test (``se = "LashleyBond"``): the weighted mean, its
    standard error ``sqrt(sum w^2 se_g^2) / sum w`` from the groups' squared Bond-Lashley
    standard errors, t on ``sum w`` df, two-sided p."""
    mean = float(np.sum(w * x) / np.sum(w))
    se = float(np.sqrt(np.sum(w ** 2 * sevar) / np.sum(w) ** 2))
    t = mean / se
    df = int(np.sum(w))
    return mean, se, t, df, float(2 * stats.t.sf(abs(t), df))


def pooled_table(tables: list[pd.DataFrame], sizes: np.ndarray,
                 se: str = "lashley_bond") -> pd.DataFrame:
    """The multi-group varComp (``getWTest``): weights ``n_g - 1``; ``se`` "lashley_bond"
    (TripleR's default) or "soremo" (the between-group t-test); variances one-sided."""
    rows = []
    w = sizes - 1.0
    for k in TERMS:
        x = np.array([t.loc[k, "estimate"] for t in tables], dtype=float)
        if se == "soremo":
            mean, s, t, df, p = weighted_t(x, w)
        else:
            sevar = np.array([t.loc[k, "sevar"] for t in tables], dtype=float)
            with np.errstate(invalid="ignore"):
                mean, s, t, df, p = lashley_bond_pooled(x, sevar, w)
        if k in _VAR:
            p = p / 2
        rows.append({"term": k, "estimate": mean, "std_error": s, "statistic": t,
                     "df": df, "p_value": p})
    out = pd.DataFrame(rows).set_index("term")
    est = out["estimate"].to_dict()
    pos = {k: est[k] if est[k] >= 0 else np.nan for k in _VAR}
    total = np.nansum(list(pos.values()))
    std = {k: pos[k] / total for k in _VAR}
    with np.errstate(invalid="ignore"):
        std["actor_partner_covariance"] = est["actor_partner_covariance"] / np.sqrt(
            est["actor_variance"] * est["partner_variance"])
        std["relationship_covariance"] = est["relationship_covariance"] / est[
            "relationship_variance"]
    out.insert(1, "standardized", [float(np.clip(std[k], -1, 1)) for k in TERMS])
    negative = [k for k in _VAR if est[k] < 0]
    cols = ["standardized", "std_error", "statistic", "p_value"]
    for k in negative:
        out.loc[k, cols] = np.nan
    if negative and (est["actor_variance"] < 0 or est["partner_variance"] < 0):
        out.loc["actor_partner_covariance", cols] = np.nan
    return out


def reliabilities(est: dict, n: float) -> tuple[float, float]:
    """Reliability of the actor and the partner effects (TripleR; NaN for a negative
    variance); ``n`` the group size (the mean group size for many groups)."""
    share = (est["relationship_variance"] * (n - 1) / (n * (n - 2))
             + est["relationship_covariance"] / (n * (n - 2)))
    out = []
    for k in ("actor_variance", "partner_variance"):
        r = est[k] / (est[k] + share) if est[k] >= 0 else np.nan
        out.append(float(np.clip(r, -1, 1)))
    return out[0], out[1]
