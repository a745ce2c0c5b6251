"""Kenward-Roger adjusted covariance and df of a linear mixed model's fixed effects (pbkrtest).

Kenward & Roger (1997, Biometrics 53(3)) as pbkrtest 0.5.2 computes it (Halekoh &
Højsgaard 2014, J Stat Softw 59(9); ``vcovAdj``, ``Lb_ddf``) and lmerTest 3.1-3 reports
it (``summary(m, ddf = "Kenward-Roger")``). The marginal covariance is linear in the
variance parameters, ``Sigma = sum_r gamma_r G_r``: each term's covariance elements
(``sigma^2 T T'``: variances and, for an unstructured term, covariances) and
``sigma^2``. With ``Phi = (X'Sigma^-1X)^-1``, ``P_r = -X'Sigma^-1 G_r Sigma^-1 X`` and
``Q_rs = X'Sigma^-1 G_r Sigma^-1 G_s Sigma^-1 X``, the expected information is
``IE2_rs = tr(Sigma^-1G_r Sigma^-1G_s) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s)``,
``W = 2 IE2^-1``, and the adjusted covariance is
``Phi_A = Phi + 2 Phi (sum_rs W_rs (Q_rs - P_r Phi P_s)) Phi``. The df of a contrast
``L`` follow pbkrtest's ``Lb_ddf``. REML fits only, as pbkrtest and lmerTest.

The matrices are ``n x n`` and dense, as in pbkrtest: the cost grows as ``n^3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.lmm_df import VarparModel

#: Above this many observations the n x n matrices are refused (memory and time).
MAX_N = 4000


def _unit(i: int, j: int, p: int) -> np.ndarray:
    E = np.zeros((p, p))
    E[i, j] = E[j, i] = 1.0
    return E


def variance_structure(model: VarparModel, varpar: np.ndarray
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
    """``gamma`` and the ``G_r`` with ``Sigma = sum gamma_r G_r`` (pbkrtest's ``get_SigmaG``)."""
    theta, sigma2 = varpar[:-1], varpar[-1] ** 2
    gammas, Gs, at, col = [], [], 0, 0
    for t in model.terms:
        cov = sigma2 * (T := t.factor(theta[at:at + t.n_theta])) @ T.T
        Zt = model.Z[:, col:col + t.n_levels * t.p]
        pairs = ([(i, i) for i in range(t.p)] if t.structure == "diagonal"
                 else [(i, j) for j in range(t.p) for i in range(j, t.p)])
        for i, j in pairs:
            ZE = Zt @ sparse.kron(sparse.identity(t.n_levels), _unit(i, j, t.p))
            Gs.append(np.asarray((ZE @ Zt.T).todense()))
            gammas.append(cov[i, j])
        at, col = at + t.n_theta, col + t.n_levels * t.p
    Gs.append(np.eye(model.y.size))
    gammas.append(sigma2)
    return np.array(gammas), Gs


@dataclass(frozen=True)
class KenwardRoger:
    """pbkrtest's ``vcovAdj``: ``vcov_beta`` (``Phi``), ``vcov_adjusted`` (``Phi_A``) and
    the ``P`` and ``W`` its df need."""

    vcov_beta: np.ndarray
    vcov_adjusted: np.ndarray
    P: np.ndarray
    W: np.ndarray

    def df(self, L: np.ndarray) -> float:
        """pbkrtest's ``Lb_ddf``: the df of the test of the rows of ``L``."""
        L = np.atleast_2d(np.asarray(L, float))
        V0 = self.vcov_beta
        theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
        u = [theta @ V0 @ P @ V0 for P in self.P]
        A1 = A2 = 0.0
        k = len(u)
        for i in range(k):
            for j in range(i, k):
                e = 1.0 if i == j else 2.0
                A1 += e * self.W[i, j] * np.trace(u[i]) * np.trace(u[j])
                A2 += e * self.W[i, j] * np.sum(u[i] * u[j].T)
        return float(_ddf(A1, A2, L.shape[0]))

    def df_terms(self) -> np.ndarray:
        """Each coefficient's df."""
        return np.array([self.df(e) for e in np.eye(self.vcov_beta.shape[0])])

    def contrast_df(self, R: np.ndarray) -> float:
        """One row: its df. Several rows: refused (pbkrtest's F test also rescales F)."""
        R = np.atleast_2d(np.asarray(R, float))
        if R.shape[0] > 1:
            raise SpecificationError(
                "joint Kenward-Roger F tests (pbkrtest's KRmodcomp, which also rescales F) "
                "are not implemented; test one contrast at a time, or refit with "
                "df='satterthwaite' for a joint test")
        return self.df(R[0])


def _ddf(A1: float, A2: float, q: int) -> float:
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    denom = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
    V0, V1, V2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    num = 1 - A2 / q
    ratio = 1.0 if abs(num) < 1e-14 and abs(V1) < 1e-14 else num / V1
    rho = ratio ** 2 * V0 / V2 / q
    return 4 + (q + 2) / (q * rho - 1)


def kenward_roger(model: VarparModel, varpar: np.ndarray) -> KenwardRoger:
    """pbkrtest's ``vcovAdj`` at ``varpar`` (a REML fit's ``theta`` and ``sigma``)."""
    if not model.reml:
        raise SpecificationError("Kenward-Roger df are defined for REML fits only (as in "
                                 "pbkrtest and lmerTest); refit with reml=True")
    n = model.y.size
    if n > MAX_N:
        raise SpecificationError(f"Kenward-Roger needs dense {n:,} x {n:,} matrices (above "
                                 f"{MAX_N:,} observations they are refused); use "
                                 "df='satterthwaite'")
    varpar = np.asarray(varpar, float)
    gammas, Gs = variance_structure(model, varpar)
    Sigma = sum(g * G for g, G in zip(gammas, Gs, strict=True))
    Sinv = linalg.cho_solve(linalg.cho_factor(Sigma), np.eye(n))
    X = model.X
    TT = Sinv @ X
    H = [G @ Sinv for G in Gs]
    HX = [h @ X for h in H]
    P = np.stack([-(hx.T @ TT + (hx.T @ TT).T) / 2 for hx in HX])
    k = len(Gs)
    SHX = [Sinv @ hx for hx in HX]
    Q = {(r, s): HX[r].T @ SHX[s] for r in range(k) for s in range(r, k)}
    Phi = model.vcov_beta(varpar)
    IE2 = np.empty((k, k))
    for r in range(k):
        for s in range(r, k):
            IE2[r, s] = IE2[s, r] = (np.sum(H[r].T * H[s]) - 2 * np.sum(Phi * Q[r, s])
                                     + np.sum((Phi @ P[r]) * (P[s] @ Phi)))
    small = np.abs(np.linalg.eigvalsh(IE2)).min() <= 1e-10
    W = 2 * (np.linalg.pinv(IE2) if small else np.linalg.inv(IE2))
    W = (W + W.T) / 2
    U = sum(W[r, s] * (Q[r, s] - P[r] @ Phi @ P[s]) for r in range(k) for s in range(r + 1, k))
    U = U + U.T if k > 1 else np.zeros_like(Phi)
    U = U + sum(W[r, r] * (Q[r, r] - P[r] @ Phi @ P[r]) for r in range(k))
    return KenwardRoger(Phi, Phi + 2 * Phi @ U @ Phi, P, W)


__all__ = ["MAX_N", "KenwardRoger", "kenward_roger", "variance_structure"]
