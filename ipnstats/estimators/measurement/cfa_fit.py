"""Numerics of a CFA: implied moments, the normal log-likelihood, its analytic gradient,
the expected information, and the maximum-likelihood fit.

The objective is ``f(x) = -loglik(x) / N`` summed over groups and missing-data patterns
(one pattern per group for complete data), so that with complete data
``2 N (f - f_h1)`` is lavaan's ``chisq = 2 N F_ML`` on the biased (N) sample
covariance (``likelihood = "normal"``). ``expected_information`` is the Fisher
information per observation; the fit minimises ``f`` with scipy's trust-region
``trust-exact`` using the analytic gradient and that information as the Hessian (Fisher
scoring steps inside a trust region).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ipnstats.estimators.measurement.cfa_partable import ParTable

LOG2PI = np.log(2 * np.pi)


@dataclass(frozen=True, slots=True)
class Pattern:
    """Cases of one group sharing a set of observed items: count, mean, (N) covariance."""

    group: int
    obs: np.ndarray      # indices of the observed items
    n: int
    mean: np.ndarray
    cov: np.ndarray
    rows: np.ndarray     # the cases' positions in the group's data


@dataclass(frozen=True, slots=True)
class Moments:
    """Per-group model matrices and implied moments at a parameter vector."""

    lam: list
    theta: list
    psi: list
    nu: list
    alpha: list
    sigma: list
    mu: list


def model_moments(pt: ParTable, x: np.ndarray, ybar: list) -> Moments:
    """The matrices and implied ``Sigma``, ``mu`` of every group (``mu`` = sample means
    when the model has no mean structure)."""
    vals = np.where(pt.free >= 0, x[np.maximum(pt.free, 0)], pt.value)
    p, m = len(pt.items), len(pt.factors)
    out = {k: [] for k in ("lam", "theta", "psi", "nu", "alpha", "sigma", "mu")}
    for g in range(pt.ngroups):
        sel = pt.group == g
        mats = [np.zeros((p, m)), np.zeros((p, p)), np.zeros((m, m)), np.zeros(p), np.zeros(m)]
        for k in range(5):
            s = sel & (pt.mat == k)
            if k < 3:
                mats[k][pt.row[s], pt.col[s]] = vals[s]
                if k > 0:
                    mats[k][pt.col[s], pt.row[s]] = vals[s]
            else:
                mats[k][pt.row[s]] = vals[s]
        lam, theta, psi, nu, alpha = mats
        for key, val in zip(("lam", "theta", "psi", "nu", "alpha"), mats, strict=True):
            out[key].append(val)
        out["sigma"].append(lam @ psi @ lam.T + theta)
        out["mu"].append(nu + lam @ alpha if pt.meanstructure else ybar[g])
    return Moments(**out)


def derivatives(pt: ParTable, mom: Moments, g: int) -> tuple[np.ndarray, np.ndarray]:
    """``dSigma/dx`` (K x p x p) and ``dmu/dx`` (K x p) of group ``g``."""
    p, K = len(pt.items), pt.npar
    lam, psi, alpha = mom.lam[g], mom.psi[g], mom.alpha[g]
    dS, dm = np.zeros((K, p, p)), np.zeros((K, p))
    sel = (pt.group == g) & (pt.free >= 0)

    def rows(k):
        s = sel & (pt.mat == k)
        return pt.free[s], pt.row[s], pt.col[s]

    ks, i, j = rows(0)
    a = (lam @ psi)[:, j].T
    np.add.at(dS, (ks, i), a)
    np.add.at(dS, (ks, slice(None), i), a)
    if pt.meanstructure:
        np.add.at(dm, (ks, i), alpha[j])
    ks, i, j = rows(1)
    np.add.at(dS, (ks, i, j), 1.0)
    off = i != j
    np.add.at(dS, (ks[off], j[off], i[off]), 1.0)
    ks, i, j = rows(2)
    outer = np.einsum("pn,qn->npq", lam[:, i], lam[:, j])
    outer = outer + np.where((i != j)[:, None, None], outer.transpose(0, 2, 1), 0.0)
    np.add.at(dS, ks, outer)
    if pt.meanstructure:
        ks, i, _ = rows(3)
        np.add.at(dm, (ks, i), 1.0)
        ks, i, _ = rows(4)
        np.add.at(dm, ks, lam[:, i].T)
    return dS, dm


def evaluate(pt: ParTable, patterns: list[Pattern], x: np.ndarray, ybar: list, N: int,
             *, info: bool = True):
    """``(f, gradient, expected information)`` at ``x``; f is inf where an implied
    covariance is not positive definite."""
    mom = model_moments(pt, x, ybar)
    K = pt.npar
    f, grad, J = 0.0, np.zeros(K), np.zeros((K, K))
    derivs = [derivatives(pt, mom, g) for g in range(pt.ngroups)]
    for pat in patterns:
        o = pat.obs
        sig = mom.sigma[pat.group][np.ix_(o, o)]
        try:
            chol = np.linalg.cholesky(sig)
        except np.linalg.LinAlgError:
            return np.inf, grad, J
        inv = np.linalg.inv(sig)
        r = pat.mean - mom.mu[pat.group][o]
        s_tilde = pat.cov + np.outer(r, r)
        logdet = 2 * np.log(np.diag(chol)).sum()
        f += 0.5 * pat.n * (len(o) * LOG2PI + logdet + np.sum(inv * s_tilde))
        dS, dm = derivs[pat.group]
        d_oo = dS[:, o][:, :, o]
        w = inv @ (sig - s_tilde) @ inv
        grad += 0.5 * pat.n * (d_oo.reshape(K, -1) @ w.ravel() - 2 * dm[:, o] @ (inv @ r))
        if info:  # tr(A B) = vec(A) . vec(B'): matrix products, not einsum loops
            m = inv @ d_oo
            dmo = dm[:, o]
            J += pat.n * (dmo @ inv @ dmo.T + 0.5 * m.reshape(K, -1)
                          @ m.transpose(0, 2, 1).reshape(K, -1).T)
    return f / N, grad / N, J / N


def observed_information(pt, patterns, x, ybar, N) -> np.ndarray:
    """The Hessian of ``f = -loglik / N`` by central differences of the analytic
    gradient (lavaan's ``observed.information = "hessian"``)."""
    K = len(x)
    H = np.zeros((K, K))
    for k in range(K):
        h = 1e-5 * max(1.0, abs(x[k]))
        e = np.zeros(K)
        e[k] = h
        gp = evaluate(pt, patterns, x + e, ybar, N, info=False)[1]
        gm = evaluate(pt, patterns, x - e, ybar, N, info=False)[1]
        H[:, k] = (gp - gm) / (2 * h)
    return (H + H.T) / 2


@dataclass(frozen=True, slots=True)
class Optimum:
    """The minimiser of ``f``: estimate, objective, gradient, information, status."""

    x: np.ndarray
    f: float
    grad: np.ndarray
    info: np.ndarray
    converged: bool
    iterations: int
    message: str


def minimise(pt, patterns, x0, ybar, N, *, max_iter: int = 500) -> Optimum:
    """Minimise ``f`` from ``x0`` (trust-exact with Fisher information as Hessian)."""
    cache: dict = {}

    def ev(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = evaluate(pt, patterns, x, ybar, N)
        return cache[key]

    def hess(x):
        J = ev(x)[2]
        return J + 1e-12 * np.eye(len(x))

    with np.errstate(all="ignore"):
        res = optimize.minimize(lambda x: ev(x)[0], x0, jac=lambda x: ev(x)[1], hess=hess,
                                method="trust-exact",
                                options={"gtol": 1e-9, "maxiter": max_iter})
    f, g, J = evaluate(pt, patterns, res.x, ybar, N)
    ok = bool(np.isfinite(f) and np.max(np.abs(g)) < 1e-6)
    return Optimum(res.x, f, g, J, ok, int(res.nit), str(res.message))
