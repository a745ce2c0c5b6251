"""The Social Relations Model by restricted maximum likelihood (``method="reml"``).

``y_ij = mu_g + a_i + b_j + g_ij`` with each person's actor and partner effects a
bivariate normal pair, ``(a_i, b_i) ~ N(0, [[s_a, s_ab], [s_ab, s_b]])`` (the person
enters as actor in the rows it rates and as partner in the rows it is rated in: a
multiple-membership design), and each dyad's two relationship effects a bivariate
normal pair, ``(g_ij, g_ji) ~ N(0, [[s_g, s_gg], [s_gg, s_g]])``; one intercept per
group. Groups share no person, dyad or intercept, so ``V`` is block-diagonal and the REML
log-likelihood is a sum over groups. Per group, with ``Z`` the actor/partner incidence
matrix, ``G`` the person covariance and ``R`` the block-diagonal dyad covariance,
``V = Z G Z' + R``; the REML log-likelihood

    -1/2 [(N - p) log 2 pi + log|V| + log|X'V^-1 X| + r'V^-1 r]

(lme4's ``REML`` criterion is ``-2`` times it) is computed through the Woodbury identity
with ``M = G^-1 + Z'R^-1 Z`` (``log|V| = log|R| + log|G| + log|M|``; ``M`` is
``2 n_g x 2 n_g``). ``V`` is linear in the five (co)variances ``theta``, so the gradient is
analytic: ``-1/2 [tr(P dV_k) - y'P dV_k P y]`` with ``P = V^-1 - V^-1 X (X'V^-1 X)^-1
X'V^-1``. The log-likelihood is maximised over a Cholesky factor of the person covariance
and ``(log s_g, atanh(s_gg / s_g))`` by L-BFGS-B with that gradient. Standard errors: the
inverse of the Hessian of the log-likelihood in the five (co)variances, by central
differences of the analytic gradient; Wald z tests (normal, two-sided). Effects are the
BLUPs ``M^-1 Z'R^-1 r``. Missing dyads need no imputation: only the ratings present enter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from ipnstats.core.errors import EstimationError
from ipnstats.core.notes import Note
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators.srm_anova import TERMS, reliabilities
from ipnstats.estimators.srm_result import SRMResult


@dataclass(frozen=True)
class Block:
    """One group's observed ratings: ``y``, the actor and partner of each rating (0..n-1),
    ``swap`` (the index of the reverse rating; itself when the reverse is missing) and
    ``paired`` (the reverse rating is observed)."""

    y: np.ndarray
    actor: np.ndarray
    partner: np.ndarray
    swap: np.ndarray
    paired: np.ndarray
    n: int

    @functools.cached_property
    def Z(self) -> np.ndarray:
        """Dense incidence, columns (a_1, b_1, a_2, b_2, ...)."""
        z = np.zeros((len(self.y), 2 * self.n))
        rows = np.arange(len(self.y))
        z[rows, 2 * self.actor] = 1.0
        z[rows, 2 * self.partner + 1] = 1.0
        return z


@dataclass(frozen=True)
class Design:
    """The observed ratings of the groups kept: one :class:`Block` per group; ``y`` stacked."""

    y: np.ndarray
    blocks: tuple
    n_persons: int


def _block(m) -> Block:
    n = len(m.ids)
    i, j = np.where(~np.isnan(m.matrix))
    index = -np.ones((n, n), dtype=int)
    index[i, j] = np.arange(len(i))
    rev = index[j, i]
    paired = rev >= 0
    swap = np.where(paired, rev, np.arange(len(i)))
    return Block(m.matrix[i, j], i, j, swap, paired, n)


def design(kept) -> Design:
    """One block per kept group (ratings in row-major order of its matrix)."""
    blocks = tuple(_block(m) for m in kept)
    return Design(np.concatenate([b.y for b in blocks]), blocks,
                  sum(b.n for b in blocks))


def _quad_forms(b: Block, v: np.ndarray) -> np.ndarray:
    """``v' dV_k v`` for the five structure matrices ``dV_k = dV / d theta_k``."""
    va = np.bincount(b.actor, v, b.n)
    vb = np.bincount(b.partner, v, b.n)
    return np.array([va @ va, vb @ vb, 2 * va @ vb, v @ v,
                     np.sum(v[b.paired] * v[b.swap][b.paired])])


def _group(b: Block, theta: np.ndarray, s_inv: np.ndarray, grad: bool) -> dict | None:
    """One group's log-likelihood pieces (and gradient); None if ``M`` is not PD."""
    saa, sbb, sab, sg, sgg = theta
    det = sg * sg - sgg * sgg
    d1 = np.where(b.paired, sg / det, 1 / sg)
    d2 = np.where(b.paired, -sgg / det, 0.0)
    z = b.Z
    w = d1[:, None] * z + d2[:, None] * z[b.swap]  # R^-1 Z
    c = z.T @ w  # Z'R^-1 Z
    m = np.kron(np.eye(b.n), s_inv) + c
    try:
        cho = linalg.cho_factor(m, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    n_pairs = int(b.paired.sum()) // 2
    logdet_r = n_pairs * np.log(det) + (len(b.y) - 2 * n_pairs) * np.log(sg)
    rhs = np.column_stack([np.ones(len(b.y)), b.y])
    rinv = d1[:, None] * rhs + d2[:, None] * rhs[b.swap]
    vinv = rinv - w @ linalg.cho_solve(cho, w.T @ rhs, check_finite=False)
    xvx = float(vinv[:, 0].sum())
    beta = float(vinv[:, 1].sum()) / xvx
    e = vinv[:, 1] - beta * vinv[:, 0]  # P y
    out = {"beta": beta, "cho": cho, "w": w,
           "logdet": logdet_r + 2 * np.sum(np.log(np.diag(cho[0]))) + np.log(xvx),
           "quad": float(b.y @ e)}
    if grad:
        m_inv = linalg.cho_solve(cho, np.eye(2 * b.n), check_finite=False)
        k = c - c @ m_inv @ c  # Z'V^-1 Z
        ws = b.paired[:, None] * w[b.swap]
        tr = np.array([np.trace(k[0::2, 0::2]), np.trace(k[1::2, 1::2]),
                       2 * np.trace(k[0::2, 1::2]),
                       d1.sum() - np.sum(m_inv * (w.T @ w)),
                       d2[b.paired].sum() - np.sum(m_inv * (w.T @ ws))])
        trace_p = tr - _quad_forms(b, vinv[:, 0]) / xvx
        out["grad"] = -0.5 * (trace_p - _quad_forms(b, e))
    return out


def parts(d: Design, theta: np.ndarray, grad: bool = False) -> dict:
    """REML log-likelihood and its pieces at the (co)variances ``theta`` =
    (s_a, s_b, s_ab, s_g, s_gg) (with ``grad``: its gradient in ``theta``); loglik -inf
    where V is not positive definite."""
    saa, sbb, sab, sg, sgg = theta
    sigma = np.array([[saa, sab], [sab, sbb]])
    if sg <= abs(sgg) or np.linalg.eigvalsh(sigma)[0] <= 0:
        return {"loglik": -np.inf}
    s_inv = np.linalg.inv(sigma)
    groups = [_group(b, theta, s_inv, grad) for b in d.blocks]
    if any(g is None for g in groups):
        return {"loglik": -np.inf}
    n, p = len(d.y), len(d.blocks)
    total = (d.n_persons * np.log(np.linalg.det(sigma))
             + sum(g["logdet"] + g["quad"] for g in groups))
    out = {"loglik": float(-0.5 * ((n - p) * np.log(2 * np.pi) + total)),
           "beta": np.array([g["beta"] for g in groups]), "groups": groups}
    if grad:
        out["grad"] = np.sum([g["grad"] for g in groups], axis=0)
    return out


def reml_loglik(d: Design, theta) -> float:
    """The REML log-likelihood at ``theta`` = (s_a, s_b, s_ab, s_g, s_gg)."""
    return parts(d, np.asarray(theta, dtype=float))["loglik"]


def reml_gradient(d: Design, theta) -> np.ndarray:
    """The gradient of the REML log-likelihood in ``theta`` (NaN where V is not PD)."""
    p = parts(d, np.asarray(theta, dtype=float), grad=True)
    return p.get("grad", np.full(5, np.nan))


def _natural(z: np.ndarray) -> np.ndarray:
    l11, l21, l22 = np.exp(z[0]), z[1], np.exp(z[2])
    sg = np.exp(z[3])
    return np.array([l11 ** 2, l21 ** 2 + l22 ** 2, l11 * l21, sg, sg * np.tanh(z[4])])


def _jacobian(z: np.ndarray) -> np.ndarray:
    """``d theta_i / d z_k`` of :func:`_natural`."""
    l11, l21, l22 = np.exp(z[0]), z[1], np.exp(z[2])
    sg, t = np.exp(z[3]), np.tanh(z[4])
    jac = np.zeros((5, 5))
    jac[0, 0], jac[2, 0] = 2 * l11 ** 2, l11 * l21
    jac[1, 1], jac[2, 1] = 2 * l21, l11
    jac[1, 2] = 2 * l22 ** 2
    jac[3, 3], jac[4, 3] = sg, sg * t
    jac[4, 4] = sg * (1 - t * t)
    return jac


def _start(d: Design) -> np.ndarray:
    v = float(np.var(d.y)) or 1.0
    return np.array([np.log(np.sqrt(v / 5)), 0.0, np.log(np.sqrt(v / 5)), np.log(v / 2), 0.0])


def fit(d: Design) -> tuple[np.ndarray, dict, bool]:
    """Maximise the REML log-likelihood: the (co)variances, the pieces, converged."""
    def objective(z):
        p = parts(d, _natural(z), grad=True)
        if not np.isfinite(p["loglik"]):
            return 1e300, np.zeros(5)
        return -p["loglik"], -_jacobian(z).T @ p["grad"]

    res = optimize.minimize(objective, _start(d), jac=True, method="L-BFGS-B",
                            options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 1000})
    theta = _natural(res.x)
    return theta, parts(d, theta), bool(res.success)


def hessian_se(d: Design, theta: np.ndarray) -> np.ndarray:
    """Standard errors from the Hessian of the log-likelihood in ``theta``: central
    differences of the analytic gradient, symmetrized."""
    k = len(theta)
    h = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    hess = np.empty((k, k))
    for i in range(k):
        step = np.eye(k)[i] * h[i]
        hess[:, i] = (reml_gradient(d, theta + step) - reml_gradient(d, theta - step)) / (2 * h[i])
    hess = (hess + hess.T) / 2
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
    with single_threaded_blas():  # small matrices: BLAS threads only add waiting
        theta, p, converged = fit(d)
        if not np.isfinite(p["loglik"]):
            raise EstimationError("the REML fit of the SRM failed (covariance not positive "
                                  "definite at the optimum)")
        se = hessian_se(d, theta)
    comp = components_table(theta, se)
    notes = [n for n in notes if n.code != "missing_imputed"]
    if not converged:
        notes.append(Note("not_converged", "the REML optimiser did not report convergence"))
    effects, rel = [], []
    for m, b, g in zip(kept, d.blocks, p["groups"], strict=True):
        resid = b.y - g["beta"]
        u = linalg.cho_solve(g["cho"], g["w"].T @ resid, check_finite=False)
        effects.append(pd.DataFrame({"id": list(m.ids), "group": m.group,
                                     "actor": u[0::2], "partner": u[1::2],
                                     "mean": g["beta"]}))
        ids = np.array(m.ids, dtype=object)
        rel.append(pd.DataFrame({"group": m.group, "actor": ids[b.actor],
                                 "partner": ids[b.partner],
                                 "relationship": resid - u[2 * b.actor] - u[2 * b.partner + 1]}))
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
