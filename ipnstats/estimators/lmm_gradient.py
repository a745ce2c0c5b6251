"""The profiled (RE)ML deviance of :mod:`ipnstats.estimators.lmm` as a function of
``theta``, with its analytic gradient when every random-effect term is scalar.

Notes
-----
With ``V = I + Z Lambda Lambda'Z'`` (relative to ``sigma^2``) the profiled deviance is
``log|V| [+ log|X'V^-1X|] + m log r^2`` plus a constant (``m = n - p`` for REML, ``n`` for
ML; ``log|V| = log|M|``), and ``r^2 = y'Py``. Its derivative along ``theta_k`` is
``tr(P V_k) - m y'P V_k P y / r^2`` (``tr(V^-1 V_k)`` in ML). For scalar terms
(``Lambda = diag(theta_j)`` over term j's levels), ``V_j = 2 theta_j Z_j Z_j'`` and, with
``Lambda'Z'V^-1 Z Lambda = I - M^-1``, ``F = Lambda'Z'V^-1 X = M^-1 Lambda'Z'X`` and the
spherical modes ``u = Lambda'Z'Py``::

    d/dtheta_j = 2 / theta_j * (g_j - tr(M^-1)_jj [- tr(F_j (X'V^-1X)^-1 F_j')]
                                 - m |u_j|^2 / r^2)

``tr(M^-1)`` per term comes from the blockwise factorisation: ``S^-1`` (the Schur
complement's inverse, LAPACK ``potri``) for the other terms, and
``tr(D1^-1) + tr(S^-1 c'D1^-2 c)`` for the first. At ``theta_j = 0`` the deviance depends
on ``theta_j^2``, so its slope is 0; below ``GRADIENT_FLOOR`` the formula's cancellation
would dominate and 0 is returned.

One gradient costs about one more deviance evaluation, where central differences cost
two per parameter: this is what makes L-BFGS-B cheap on large crossed designs (lme4's
``InstEval``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import linalg

from ipnstats.estimators.lmm import (
    CrossProducts,
    GLSFit,
    RandomTerm,
    deviance,
    gls_fit,
    sandwich,
    split_theta,
)

GRADIENT_FLOOR = 1e-8  # theta_j below this: slope 0 (the deviance is even in theta_j)

Objective = Callable[[np.ndarray], float]
ValueAndGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


def profiled_deviance(terms: Sequence[RandomTerm], cp: CrossProducts,
                      reml: bool) -> tuple[Objective, ValueAndGradient | None]:
    """The deviance of ``theta`` (``inf`` where rounding breaks positive definiteness),
    and the deviance with its gradient when every term is scalar (else ``None``)."""

    def objective(theta: np.ndarray) -> float:
        try:
            return deviance(gls_fit(split_theta(theta, terms), cp), cp.n, reml)
        except (linalg.LinAlgError, np.linalg.LinAlgError):
            return np.inf

    def with_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            fit = gls_fit(split_theta(theta, terms), cp)
            value = deviance(fit, cp.n, reml)
            if not np.isfinite(value):
                return np.inf, np.zeros(theta.size)
            return value, deviance_gradient(fit, cp, reml)
        except (linalg.LinAlgError, np.linalg.LinAlgError):
            return np.inf, np.zeros(theta.size)

    scalar = all(p == 1 for _, p in cp.shapes)
    return objective, (with_gradient if scalar else None)


def deviance_gradient(fit: GLSFit, cp: CrossProducts, reml: bool) -> np.ndarray:
    """Gradient of :func:`~ipnstats.estimators.lmm.deviance` in ``theta`` (scalar terms)."""
    system, p = fit.system, fit.beta.size
    m = cp.n - p if reml else cp.n
    F = system.solve(system.lam(cp.ztw[:, :p], transpose=True))
    resid = (cp.ztw[:, p] - cp.ztw[:, :p] @ fit.beta)[:, None]
    u = system.solve(system.lam(resid, transpose=True))[:, 0]
    traces = _inverse_traces(fit, cp)
    xpart = np.einsum("ij,ij->i", F, linalg.solve(fit.xtvx, F.T, assume_a="pos").T)
    edges = np.cumsum([0] + [g for g, _ in cp.shapes])
    grad = np.zeros(len(cp.shapes))
    for j, (T, lo, hi) in enumerate(zip(system.Ts, edges[:-1], edges[1:], strict=True)):
        t = float(T[0, 0])
        if abs(t) < GRADIENT_FLOOR:
            continue
        bracket = (hi - lo) - traces[j] - (xpart[lo:hi].sum() if reml else 0.0)
        grad[j] = 2 / t * (bracket - m * float(u[lo:hi] @ u[lo:hi]) / fit.r2)
    return grad


def _inverse_traces(fit: GLSFit, cp: CrossProducts) -> list[float]:
    """``tr(M^-1)`` over each term's block (scalar terms)."""
    system = fit.system
    d1_inv = system.d1_inv[:, 0, 0]
    if len(cp.shapes) == 1:
        return [float(d1_inv.sum())]
    s_inv, info = linalg.lapack.dpotri(system.chol, lower=1)
    if info:
        raise linalg.LinAlgError("potri failed on the Schur complement")
    s_inv = np.tril(s_inv)
    if cp.gram is not None:  # c' D1^-2 c = Lambda_r' C' (t1^2 D1^-2) C Lambda_r
        t1 = float(system.Ts[0][0, 0])
        G = -cp.gram.product(t1 ** 2 * d1_inv ** 2, np.zeros_like(s_inv))
        G = sandwich(system.Ts[1:], cp.shapes[1:], G)
    else:
        scaled = d1_inv[:, None] * system.c
        G = scaled.T @ scaled
    diag = np.diag(s_inv)
    first = float(d1_inv.sum() + 2 * np.sum(s_inv * G) - diag @ np.diag(G))
    edges = np.cumsum([0] + [g for g, _ in cp.shapes[1:]])
    return [first] + [float(diag[lo:hi].sum()) for lo, hi in zip(edges[:-1], edges[1:],
                                                                  strict=True)]
