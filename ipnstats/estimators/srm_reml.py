"""The Social Relations Model by restricted maximum likelihood (``method="reml"``).

``y_ij = mu_g + a_i + b_j + g_ij`` with each person's actor and partner effects a
bivariate normal pair, ``(a_i, b_i) ~ N(0, [[s_a, s_ab], [s_ab, s_b]])`` (the person
enters as actor in the rows it rates and as partner in the rows it is rated in: a
multiple-membership design), and each dyad's two relationship effects a bivariate
normal pair, ``(g_ij, g_ji) ~ N(0, [[s_g, s_gg], [s_gg, s_g]])``; one intercept per
group. With ``Z`` the actor/partner incidence matrix, ``G`` the person covariance and
``R`` the block-diagonal dyad covariance, ``V = Z G Z' + R``; the REML log-likelihood

    -1/2 [(N - p) log 2 pi + log|V| + log|X'V^-1 X| + r'V^-1 r]

(lme4's ``REML`` criterion is ``-2`` times it) is computed through the Woodbury identity
with ``M = G^-1 + Z'R^-1 Z`` (``log|V| = log|R| + log|G| + log|M|``), and maximised over
a Cholesky factor of the person covariance and ``(log s_g, atanh(s_gg / s_g))`` by
L-BFGS. Standard errors: the inverse of the numerical Hessian of the log-likelihood in
the five (co)variances; Wald z tests (normal, two-sided). Effects are the BLUPs
``M^-1 Z'R^-1 r``. Missing dyads need no imputation: only the ratings present enter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse, stats

from ipnstats.core.errors import EstimationError
from ipnstats.core.notes import Note
from ipnstats.estimators.srm_anova import TERMS, reliabilities
from ipnstats.estimators.srm_result import SRMResult


@dataclass(frozen=True)
class Design:
    """The observed ratings of the groups kept, stacked."""

    y: np.ndarray
    X: np.ndarray
    Z: sparse.csr_matrix  # columns (a_1, b_1, a_2, b_2, ...)
    pairs: np.ndarray  # rows (k, l): ratings k and l are the two directions of a dyad
    singles: np.ndarray  # ratings whose reverse is missing
    n_persons: int


def design(kept) -> Design:
    """Stack the kept groups' matrices into y, group dummies X, Z and the dyad blocks."""
    ys, xs, rows_a, rows_b, pairs, singles = [], [], [], [], [], []
    offset, k = 0, 0
    for g, m in enumerate(kept):
        n = len(m.ids)
        i, j = np.where(~np.isnan(m.matrix))
        index = -np.ones((n, n), dtype=int)
        index[i, j] = np.arange(k, k + len(i))
        ys.append(m.matrix[i, j])
        xs.append(np.full(len(i), g))
        rows_a.append(offset + i)
        rows_b.append(offset + j)
        up = i < j
        rev = index[j[up], i[up]]
        pairs.append(np.column_stack([index[i[up], j[up]], rev])[rev >= 0])
        both = np.zeros(len(i), dtype=bool)
        both[pairs[-1].ravel() - k] = True
        singles.append(np.arange(k, k + len(i))[~both])
        offset, k = offset + n, k + len(i)
    y = np.concatenate(ys)
    grp = np.concatenate(xs)
    X = (grp[:, None] == np.arange(len(kept))[None, :]).astype(float)
    a, b = np.concatenate(rows_a), np.concatenate(rows_b)
    nobs = len(y)
    Z = sparse.csr_matrix((np.ones(2 * nobs), (np.tile(np.arange(nobs), 2),
                                               np.concatenate([2 * a, 2 * b + 1]))),
                          shape=(nobs, 2 * offset))
    return Design(y, X, Z, np.concatenate(pairs), np.concatenate(singles), offset)


def _r_inverse(d: Design, sg: float, sgg: float) -> tuple[sparse.csr_matrix, float]:
    """R^-1 (sparse) and log|R| for the dyad blocks."""
    det = sg * sg - sgg * sgg
    k, k2 = d.pairs[:, 0], d.pairs[:, 1]
    s = d.singles
    rows = np.concatenate([k, k2, k, k2, s])
    cols = np.concatenate([k, k2, k2, k, s])
    vals = np.concatenate([np.full(2 * len(k), sg / det), np.full(2 * len(k), -sgg / det),
                           np.full(len(s), 1 / sg)])
    n = len(d.y)
    logdet = len(k) * np.log(det) + len(s) * np.log(sg)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n, n)), logdet


def parts(d: Design, theta: np.ndarray) -> dict:
    """REML log-likelihood and its pieces at the (co)variances ``theta`` =
    (s_a, s_b, s_ab, s_g, s_gg); loglik -inf where V is not positive definite."""
    saa, sbb, sab, sg, sgg = theta
    sigma = np.array([[saa, sab], [sab, sbb]])
    if sg <= abs(sgg) or np.linalg.eigvalsh(sigma)[0] <= 0:
        return {"loglik": -np.inf}
    r_inv, logdet_r = _r_inverse(d, sg, sgg)
    s_inv = np.linalg.inv(sigma)
    ztr = (d.Z.T @ r_inv).tocsr()
    m = np.kron(np.eye(d.n_persons), s_inv) + (ztr @ d.Z).toarray()
    try:
        cho = linalg.cho_factor(m)
    except linalg.LinAlgError:
        return {"loglik": -np.inf}
    w = np.column_stack([d.X, d.y])
    q = r_inv @ w
    vinv_w = q - r_inv @ (d.Z @ linalg.cho_solve(cho, ztr @ w))
    xvx = d.X.T @ vinv_w[:, :-1]
    beta = np.linalg.solve(xvx, d.X.T @ vinv_w[:, -1])
    resid = d.y - d.X @ beta
    quad = float(d.y @ vinv_w[:, -1] - beta @ (d.X.T @ vinv_w[:, -1]))
    logdet_v = (logdet_r + d.n_persons * np.log(np.linalg.det(sigma))
                + 2 * np.sum(np.log(np.diag(cho[0]))))
    n, p = d.X.shape
    ll = -0.5 * ((n - p) * np.log(2 * np.pi) + logdet_v
                 + np.linalg.slogdet(xvx)[1] + quad)
    return {"loglik": float(ll), "beta": beta, "resid": resid, "cho": cho, "ztr": ztr}


def reml_loglik(d: Design, theta) -> float:
    """The REML log-likelihood at ``theta`` = (s_a, s_b, s_ab, s_g, s_gg)."""
    return parts(d, np.asarray(theta, dtype=float))["loglik"]


def _natural(z: np.ndarray) -> np.ndarray:
    l11, l21, l22 = np.exp(z[0]), z[1], np.exp(z[2])
    sg = np.exp(z[3])
    return np.array([l11 ** 2, l21 ** 2 + l22 ** 2, l11 * l21, sg, sg * np.tanh(z[4])])


def _start(d: Design) -> np.ndarray:
    v = float(np.var(d.y)) or 1.0
    return np.array([np.log(np.sqrt(v / 5)), 0.0, np.log(np.sqrt(v / 5)), np.log(v / 2), 0.0])


def fit(d: Design) -> tuple[np.ndarray, dict, bool]:
    """Maximise the REML log-likelihood: the (co)variances, the pieces, converged."""
    def objective(z):
        ll = reml_loglik(d, _natural(z))
        return -ll if np.isfinite(ll) else 1e300

    res = optimize.minimize(objective, _start(d), method="L-BFGS-B")
    theta = _natural(res.x)
    return theta, parts(d, theta), bool(res.success)


def hessian_se(d: Design, theta: np.ndarray) -> np.ndarray:
    """Standard errors from the numerical Hessian of the log-likelihood in ``theta``."""
    k = len(theta)
    h = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    hess = np.empty((k, k))
    f0 = reml_loglik(d, theta)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            if i == j:
                val = (reml_loglik(d, theta + ei) - 2 * f0 + reml_loglik(d, theta - ei)) / h[i] ** 2
            else:
                val = (reml_loglik(d, theta + ei + ej) - reml_loglik(d, theta + ei - ej)
                       - reml_loglik(d, theta - ei + ej) + reml_loglik(d, theta - ei - ej)) \
                    / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.diag(cov))


def components_table(theta: np.ndarray, se: np.ndarray) -> pd.DataFrame:
    """The five components with standardized values and Wald z tests."""
    saa, sbb, sab, sg, sgg = theta
    est = np.array([saa, sbb, sg, sab, sgg])
    err = np.array([se[0], se[1], se[3], se[2], se[4]])
    total = saa + sbb + sg
    std = [saa / total, sbb / total, sg / total, sab / np.sqrt(saa * sbb), sgg / sg]
    z = est / err
    return pd.DataFrame({"estimate": est, "standardized": std, "std_error": err,
                         "statistic": z, "df": np.inf,
                         "p_value": 2 * stats.norm.sf(np.abs(z))}, index=pd.Index(TERMS,
                                                                                  name="term"))


def fit_reml(kept, data, outcome, actor, partner, group, matrices, small, n_missing,
             notes) -> SRMResult:
    """The REML fit as an :class:`SRMResult` (called by ``social_relations``)."""
    from ipnstats.estimators.srm import excluded_frame

    d = design(kept)
    theta, p, converged = fit(d)
    if not np.isfinite(p["loglik"]):
        raise EstimationError("the REML fit of the SRM failed (covariance not positive "
                              "definite at the optimum)")
    comp = components_table(theta, hessian_se(d, theta))
    notes = [n for n in notes if n.code != "missing_imputed"]
    if not converged:
        notes.append(Note("not_converged", "the REML optimiser did not report convergence"))
    u = linalg.cho_solve(p["cho"], p["ztr"] @ p["resid"])
    effects, rel, start = [], [], 0
    fitted_rel = p["resid"] - d.Z @ u
    for g, m in enumerate(kept):
        n = len(m.ids)
        block = u[2 * start:2 * (start + n)]
        effects.append(pd.DataFrame({"id": list(m.ids), "group": m.group,
                                     "actor": block[0::2], "partner": block[1::2],
                                     "mean": p["beta"][g]}))
        start += n
    k = 0
    for m in kept:
        i, j = np.where(~np.isnan(m.matrix))
        ids = np.array(m.ids, dtype=object)
        rel.append(pd.DataFrame({"group": m.group, "actor": ids[i], "partner": ids[j],
                                 "relationship": fitted_rel[k:k + len(i)]}))
        k += len(i)
    sizes = np.array([len(m.ids) for m in kept], dtype=float)
    ra, rp = reliabilities(comp["estimate"].to_dict(), float(sizes.mean()))
    return SRMResult(
        outcome=outcome, actor=actor, partner=partner, group=group, method="reml",
        groups=tuple(m.group for m in kept), group_sizes=tuple(int(s) for s in sizes),
        components=comp, group_components=comp.reset_index().assign(group=None, n=np.nan),
        effects=pd.concat(effects, ignore_index=True),
        relationship_effects=pd.concat(rel, ignore_index=True),
        excluded=excluded_frame(matrices), excluded_groups=small,
        n_missing_dyads=n_missing, actor_reliability=ra, partner_reliability=rp,
        loglik=p["loglik"], converged=converged, notes=tuple(notes))
