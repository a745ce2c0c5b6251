"""Delta-SD (smoothness) fixed-length confidence intervals for Honest DiD.

The optimal FLCI of Armstrong & Kolesar as R HonestDiD's ``findOptimalFLCI``
(moderndid 0.2.0 ``compute_flci``): among affine estimators ``l_pre' b_pre + l' b_post``
whose pre-period weights ``l_pre`` are the first differences of weights ``w`` with
``sum(w) = sum_t t * l_t``, choose the one minimising the half-length
``h * cv_alpha(bias / h)``, where ``h`` is its standard deviation, ``bias = M * (C +
sum_k |cumsum(w)_k|)`` its worst-case bias over Delta-SD(M) and ``cv_alpha(t)`` the
1 - alpha quantile of ``|N(t, 1)|``. As HonestDiD, ``h`` is searched by golden
section between the minimum-variance and the minimum-bias estimators (tolerance
``min((h_max - h_min) / 100, h_max * 1e-6)``); for a given ``h`` the least bias is a
small convex programme (an L1 objective under one quadratic constraint), solved here
by SLSQP in the cumulative weights ``c = cumsum(w)`` rather than by a conic solver.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ipnstats.core.errors import EstimationError

FLCI_POINTS = 100


def flci(beta: np.ndarray, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray, m: float,
         alpha: float) -> tuple[float, float]:
    """The optimal FLCI for ``l' tau`` under Delta-SD(M)."""
    problem = _Problem(sigma, num_pre, l_vec)
    if num_pre == 1:
        c = problem.min_bias_c()
        half = _half_length(np.sqrt(problem.variance(c)), m * problem.bias(c), alpha)
    else:
        c, half = _optimal(problem, m, alpha)
    estimate = problem.weights(c) @ beta
    return float(estimate - half), float(estimate + half)


class _Problem:
    """Variance and worst-case bias (per unit M) of the affine estimator with cumulative
    pre-period weights ``c`` (``c[-1]`` fixed at ``sum_t t * l_t``)."""

    def __init__(self, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray) -> None:
        T = len(l_vec)
        self.num_pre, self.l_vec = num_pre, l_vec
        self.target = float(np.arange(1, T + 1) @ l_vec)
        self.constant = sum(abs(float(np.arange(1, s + 1) @ l_vec[T - s:]))
                            for s in range(1, T + 1)) - self.target
        # l_pre = D2 c: w = diff(c) with c_0 = 0, l_pre = diff(w) with w_0 = 0
        first = np.eye(num_pre) - np.eye(num_pre, k=-1)
        self.to_l = first @ first
        self.s_pre = sigma[:num_pre, :num_pre]
        self.cross = sigma[:num_pre, num_pre:] @ l_vec
        self.s_post = float(l_vec @ sigma[num_pre:, num_pre:] @ l_vec)

    def full(self, free: np.ndarray) -> np.ndarray:
        return np.append(free, self.target)

    def weights(self, c: np.ndarray) -> np.ndarray:
        return np.concatenate([self.to_l @ c, self.l_vec])

    def variance(self, c: np.ndarray) -> float:
        lp = self.to_l @ c
        return float(lp @ self.s_pre @ lp + 2 * lp @ self.cross + self.s_post)

    def bias(self, c: np.ndarray) -> float:
        return self.constant + float(np.sum(np.abs(c)))

    def min_variance_c(self) -> np.ndarray:
        """Least variance (no bias constraint): a linear solve in the free ``c``."""
        n = self.num_pre
        if n == 1:
            return np.array([self.target])
        Q = self.to_l.T @ self.s_pre @ self.to_l
        q = self.to_l.T @ self.cross
        free = np.linalg.lstsq(Q[:-1, :-1], -(q[:-1] + Q[:-1, -1] * self.target),
                               rcond=None)[0]
        return self.full(free)

    def min_bias_c(self) -> np.ndarray:
        """All weight on the last pre-period difference (HonestDiD's minimum bias)."""
        c = np.zeros(self.num_pre)
        c[-1] = self.target
        return c

    def least_bias(self, h: float, start: np.ndarray) -> np.ndarray:
        """``c`` minimising ``sum |c|`` subject to ``variance(c) <= h^2``."""
        n = self.num_pre - 1
        x0 = np.concatenate([np.maximum(start[:n], 0), np.maximum(-start[:n], 0)])
        split = np.hstack([np.eye(n), -np.eye(n)])

        def constraint(x):
            return 1.0 - self.variance(self.full(split @ x)) / h**2

        def jac(x):
            c = self.full(split @ x)
            lp = self.to_l @ c
            grad_c = 2 * self.to_l.T @ (self.s_pre @ lp + self.cross)
            return -(grad_c[:n] @ split) / h**2

        res = optimize.minimize(lambda x: x.sum(), x0, jac=lambda x: np.ones(2 * n),
                                method="SLSQP", bounds=[(0, None)] * (2 * n),
                                constraints=[{"type": "ineq", "fun": constraint, "jac": jac}],
                                options={"ftol": 1e-13, "maxiter": 1000})
        c = self.full(split @ res.x)
        if self.variance(c) > h**2 * (1 + 1e-5):
            raise EstimationError(f"the FLCI search failed: no weights with SD {h:.4g} were "
                                  f"found ({res.message}); check that sigma is well "
                                  "conditioned")
        return c


def _half_length(h: float, bias: float, alpha: float) -> float:
    """``h * cv_alpha(bias / h)``: the 1 - alpha quantile of ``|N(bias, h^2)|``."""
    t = abs(bias / h)
    if t == 0:
        return h * stats.norm.ppf(1 - alpha / 2)

    def cdf(x):
        return stats.norm.cdf(x - t) - stats.norm.cdf(-x - t) - (1 - alpha)

    upper = t + 8
    while cdf(upper) < 0:
        upper *= 2
    return h * optimize.brentq(cdf, 0, upper, xtol=1e-14)


def _optimal(problem: _Problem, m: float, alpha: float) -> tuple[np.ndarray, float]:
    """Golden-section search over ``h`` between least variance and least bias."""
    c_var, c_bias = problem.min_variance_c(), problem.min_bias_c()
    h_lo, h_hi = np.sqrt(problem.variance(c_var)), np.sqrt(problem.variance(c_bias))
    if h_hi - h_lo <= 1e-12 * h_hi:
        c = c_bias if problem.bias(c_bias) <= problem.bias(c_var) else c_var
        return c, _half_length(np.sqrt(problem.variance(c)), m * problem.bias(c), alpha)

    def at(h):
        c = problem.least_bias(h, c_bias)
        return c, _half_length(h, m * problem.bias(c), alpha)

    tol = min((h_hi - h_lo) / FLCI_POINTS, abs(h_hi) * 1e-6)
    ratio = (1 + np.sqrt(5)) / 2
    a, b = h_lo, h_hi
    x1, x2 = b - (b - a) / ratio, a + (b - a) / ratio
    f1, f2 = at(x1)[1], at(x2)[1]
    while abs(b - a) > tol:
        if f1 < f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - (b - a) / ratio
            f1 = at(x1)[1]
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + (b - a) / ratio
            f2 = at(x2)[1]
    h = (a + b) / 2
    c, half = at(h)
    return c, half
