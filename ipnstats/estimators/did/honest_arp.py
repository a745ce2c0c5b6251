"""Delta-RM (relative magnitudes) confidence sets for Honest DiD: the conditional-
least-favourable hybrid test of Andrews, Roth & Pakes (ARP), inverted over a grid.

This follows R HonestDiD's ``createSensitivityResults_relativeMagnitudes(method =
"C-LF")`` as ported by moderndid 0.2.0 (``didhonest.delta.rm.rm``,
``arp_no_nuisance``, ``arp_nuisance``): Delta-RM(Mbar) is the union over the
reference first difference ``s < 0`` and its sign of polyhedra ``A delta <= 0``; the
confidence set is the union of the sets for each polyhedron (Rambachan & Roth 2023,
Lemma 2.2). With one post period the test has no nuisance parameter; with more, the
post-period effects other than ``l' tau`` are profiled out by a linear programme.
The least-favourable critical value uses 1000 normal draws from ``default_rng(0)``
(R draws its own; intervals differ from R's by about the grid step).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import optimize, stats

LF_DRAWS = 1000
GRID_POINTS = 1000
_MAX_VERTEX_SETS = 20_000


def rm_constraints(num_pre: int, num_post: int, m_bar: float, s: int,
                   positive: bool) -> np.ndarray:
    """``A`` of ``A delta <= 0`` for Delta-RM_{s,sign}(Mbar) (period 0 column dropped)."""
    total = num_pre + num_post + 1
    first = np.zeros((num_pre + num_post, total))
    for r in range(num_pre + num_post):
        first[r, r:r + 2] = [-1.0, 1.0]
    ref = np.zeros(total)
    ref[num_pre + s:num_pre + s + 2] = [-1.0, 1.0]
    ref = ref if positive else -ref
    bound = np.vstack([np.tile(ref, (num_pre, 1)), np.tile(m_bar * ref, (num_post, 1))])
    A = np.vstack([first - bound, -first - bound])
    A = A[~np.all(np.abs(A) <= 1e-10, axis=1)]
    return np.delete(A, num_pre, axis=1)


def rm_identified_set(beta: np.ndarray, l_vec: np.ndarray, num_pre: int, num_post: int,
                      m_bar: float) -> tuple[float, float]:
    """Bounds of the identified set of ``l' tau`` under Delta-RM(Mbar) at ``beta``."""
    point = float(l_vec @ beta[num_pre:])
    lows, highs = [], []
    f = np.concatenate([np.zeros(num_pre), l_vec])
    eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
    free = [(None, None)] * (num_pre + num_post)
    for s, positive in _pieces(num_pre):
        A = rm_constraints(num_pre, num_post, m_bar, s, positive)
        kw = dict(A_ub=A, b_ub=np.zeros(len(A)), A_eq=eq, b_eq=beta[:num_pre], bounds=free,
                  method="highs")
        top, bottom = optimize.linprog(-f, **kw), optimize.linprog(f, **kw)
        if top.success and bottom.success:
            lows.append(point + top.fun)
            highs.append(point - bottom.fun)
        else:
            lows.append(point)
            highs.append(point)
    return min(lows), max(highs)


def rm_interval(beta: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
                l_vec: np.ndarray, m_bar: float, alpha: float,
                grid_points: int = GRID_POINTS) -> tuple[float, float, bool]:
    """The C-LF confidence interval for ``l' tau`` under Delta-RM(Mbar), and whether
    it reaches an end of the grid (then the true interval may be wider)."""
    low, high = rm_identified_set(beta, l_vec, num_pre, num_post, m_bar)
    sd = float(np.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec))
    grid = np.linspace(low - 20 * sd, high + 20 * sd, grid_points)
    accept = np.zeros(grid_points, bool)
    for s, positive in _pieces(num_pre):
        A = rm_constraints(num_pre, num_post, m_bar, s, positive)
        if num_post == 1:
            accept |= _accept_no_nuisance(beta, sigma, A, num_pre, grid, alpha)
        else:
            accept |= _accept_nuisance(beta, sigma, A, num_pre, num_post, l_vec, grid, alpha)
    if not accept.any():
        return float("nan"), float("nan"), False
    idx = np.flatnonzero(accept)
    return float(grid[idx[0]]), float(grid[idx[-1]]), bool(accept[0] or accept[-1])


def _pieces(num_pre: int) -> list[tuple[int, bool]]:
    return [(s, sign) for s in range(-(num_pre - 1), 0) for sign in (True, False)]


def _kappa(alpha: float) -> float:
    return alpha / 10


# -- one post period: no nuisance parameter ----------------------------------------------

def _accept_no_nuisance(beta, sigma, A, num_pre, grid, alpha) -> np.ndarray:
    """Accept/reject of the LF hybrid test at each ``theta`` in ``grid``."""
    kappa = _kappa(alpha)
    sigma_a = A @ sigma @ A.T
    lf_cv = _lf_cv_no_nuisance(sigma_a, kappa)
    scale = np.maximum(np.sqrt(np.diag(sigma_a)), 1e-10)
    A_t = A / scale[:, None]
    e_post = np.zeros(len(beta))
    e_post[num_pre] = 1.0
    size = (alpha - kappa) / (1 - kappa)
    out = np.zeros(len(grid), bool)
    for i, theta in enumerate(grid):
        out[i] = _lf_test(beta - theta * e_post, sigma, A_t, lf_cv, size)
    return out


def _lf_cv_no_nuisance(sigma_a: np.ndarray, kappa: float) -> float:
    draws = np.random.default_rng(0).multivariate_normal(np.zeros(len(sigma_a)), sigma_a,
                                                         size=LF_DRAWS)
    eta = np.max(draws / np.sqrt(np.diag(sigma_a)), axis=1)
    return float(np.quantile(eta, 1 - kappa))


def _lf_test(y, sigma, A_t, lf_cv, size) -> bool:
    """True if the hybrid test accepts ``A delta <= 0`` at the mean ``y`` (d = 0)."""
    moments = A_t @ y
    j = int(np.argmax(moments))
    stat = moments[j]
    if stat > lf_cv:
        return False
    gamma = A_t[j]
    var_g = float(gamma @ sigma @ gamma)
    c = sigma @ gamma / var_g
    z = y - c * float(gamma @ y)
    A_bar = A_t - A_t[j]
    az, ac = A_bar @ z, A_bar @ c
    ok = np.abs(ac) > 1e-10
    ratio = np.full(len(ac), np.nan)
    ratio[ok] = -az[ok] / ac[ok]
    v_lo = np.max(ratio[ac < -1e-10]) if np.any(ac < -1e-10) else -np.inf
    v_up = np.min(ratio[ac > 1e-10]) if np.any(ac > 1e-10) else np.inf
    crit = max(0.0, truncated_normal_quantile(1 - size, v_lo, v_up, 0.0, np.sqrt(var_g)))
    return not stat > crit


def truncated_normal_quantile(p: float, lower: float, upper: float, mu: float = 0.0,
                              sd: float = 1.0) -> float:
    """``p`` quantile of N(mu, sd^2) truncated to [lower, upper] (HonestDiD's norminvp)."""
    lo = (lower - mu) / sd if np.isfinite(lower) else -np.inf
    up = (upper - mu) / sd if np.isfinite(upper) else np.inf
    if np.isinf(lo) and np.isinf(up):
        return mu + sd * stats.norm.ppf(p)
    p_lo = stats.norm.cdf(lo) if np.isfinite(lo) else 0.0
    p_up = stats.norm.cdf(up) if np.isfinite(up) else 1.0
    target = p_lo + p * (p_up - p_lo)
    if target <= p_lo:
        return lower
    if target >= p_up:
        return upper
    return mu + sd * stats.norm.ppf(target)


# -- several post periods: the post effects other than l' tau are nuisance parameters -----

def _accept_nuisance(beta, sigma, A, num_pre, num_post, l_vec, grid, alpha) -> np.ndarray:
    """Acceptance over ``grid``: the accepted set is found by bisection, as moderndid."""
    kappa = _kappa(alpha)
    gamma = _gamma(l_vec)
    a_inv = A[:, num_pre:num_pre + num_post] @ np.linalg.inv(gamma)
    x_t = a_inv[:, 1:]
    y = A @ beta
    sigma_y = A @ sigma @ A.T
    rows = np.flatnonzero(np.any(A[:, num_pre:] != 0, axis=1))
    rows = rows if len(rows) else np.arange(len(y))
    lf_cv = lf_cv_nuisance(x_t[rows], sigma_y[np.ix_(rows, rows)], kappa)
    size = (alpha - kappa) / (1 - kappa)
    x_r, s_r = x_t[rows], sigma_y[np.ix_(rows, rows)]

    def accepts(i: int) -> bool:
        y_t = (y - grid[i] * a_inv[:, 0])[rows]
        return not _conditional_test(y_t, x_r, s_r, lf_cv, size)

    lo, hi = _interval_by_bisection(accepts, len(grid))
    out = np.zeros(len(grid), bool)
    if lo is not None:
        out[lo:hi + 1] = True
    return out


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    n = len(l_vec)
    drop = int(np.argmax(np.abs(l_vec)))
    gamma = np.zeros((n, n))
    gamma[0] = l_vec
    for row, i in enumerate([i for i in range(n) if i != drop], start=1):
        gamma[row, i] = 1.0
    return gamma


def lf_cv_nuisance(x_t: np.ndarray, sigma: np.ndarray, kappa: float) -> float:
    """Least-favourable critical value: the 1-kappa quantile of the LP value
    ``min eta s.t. eta * sd + X delta >= xi`` over normal draws ``xi``."""
    draws = np.random.default_rng(0).multivariate_normal(np.zeros(len(sigma)), sigma,
                                                         size=LF_DRAWS)
    sd = np.sqrt(np.diag(sigma))
    vertices = _dual_vertices(sd, x_t)
    if vertices is not None:
        eta = np.max(draws @ vertices.T, axis=1)
    else:
        eta = np.array([_eta_lp(xi, sd, x_t).x[0] for xi in draws])
    return float(np.quantile(eta, 1 - kappa))


def _dual_vertices(sd: np.ndarray, x_t: np.ndarray) -> np.ndarray | None:
    """Vertices of ``{lam >= 0: lam' sd = 1, X' lam = 0}``; the LP value is their max.

    ``None`` when there are too many candidate bases (then each draw is an LP)."""
    m, k = x_t.shape
    if _n_choose(m, k + 1) > _MAX_VERTEX_SETS:
        return None
    W = np.column_stack([sd, x_t]).T
    subsets = np.array(list(itertools.combinations(range(m), k + 1)))
    bases = np.moveaxis(W[:, subsets], 1, 0)  # bases[s] = W[:, subsets[s]], all at once
    regular = np.abs(np.linalg.det(bases)) >= 1e-12
    if not regular.any():
        return None
    rhs = np.zeros((int(regular.sum()), k + 1, 1))
    rhs[:, 0, 0] = 1.0
    lam = np.linalg.solve(bases[regular], rhs)[..., 0]
    feasible = np.all(lam >= -1e-12, axis=1)
    if not feasible.any():
        return None
    found = np.zeros((int(feasible.sum()), m))
    rows = np.arange(found.shape[0])[:, None]
    found[rows, subsets[regular][feasible]] = np.maximum(lam[feasible], 0.0)
    return found


def _n_choose(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _eta_lp(y_t, sd, x_t):
    c = np.concatenate([[1.0], np.zeros(x_t.shape[1])])
    return optimize.linprog(c, A_ub=-np.column_stack([sd, x_t]), b_ub=-y_t,
                            bounds=[(None, None)] * len(c), method="highs-ds")


def _conditional_test(y_t, x_t, sigma, lf_cv, size) -> bool:
    """True if the LF hybrid conditional test (ARP) rejects at ``y_t``."""
    sd = np.sqrt(np.diag(sigma))
    sol = _eta_lp(y_t, sd, x_t)
    if not sol.success:
        return False
    eta = float(sol.x[0])
    if eta > lf_cv:
        return True
    lam = -sol.ineqlin.marginals
    k = x_t.shape[1]
    binding = lam > 1e-6
    x_b = x_t[binding]
    full_rank = x_b.size > 0 and np.linalg.matrix_rank(x_b) == min(x_b.shape)
    if not full_rank or binding.sum() != k + 1:
        return _dual_test(y_t, x_t, sigma, sd, eta, lam, lf_cv, size)
    W = np.column_stack([sd, x_t])
    S_b = np.eye(len(y_t))[binding]
    W_b_inv = np.linalg.inv(W[binding])
    gamma_b = W[~binding] @ W_b_inv @ S_b - np.eye(len(y_t))[~binding]
    v_b = S_b.T @ W_b_inv.T[:, 0]
    var_b = float(v_b @ sigma @ v_b)
    rho = gamma_b @ sigma @ v_b / var_b
    bound = -gamma_b @ y_t / rho + float(v_b @ y_t)
    v_lo = np.max(bound[rho > 0]) if np.any(rho > 0) else -np.inf
    v_up = np.min(bound[rho < 0]) if np.any(rho < 0) else np.inf
    return _truncated_reject(eta, np.sqrt(var_b), v_lo, min(v_up, lf_cv), size)


def _truncated_reject(eta, sd_b, v_lo, v_up, size) -> bool:
    stat, z_lo, z_up = eta / sd_b, v_lo / sd_b, v_up / sd_b
    if not z_lo <= stat <= z_up:
        return False
    return stat > max(0.0, truncated_normal_quantile(1 - size, z_lo, z_up))


def _dual_test(y_t, x_t, sigma, sd, eta, lam, lf_cv, size) -> bool:
    """The degenerate / rank-deficient case: truncation bounds from the dual LP."""
    var_g = float(lam @ sigma @ lam)
    if abs(var_g) < np.finfo(float).eps:
        return eta > 0
    s_t = y_t - sigma @ lam * float(lam @ y_t) / var_g
    W = np.column_stack([sd, x_t])
    v_lo, v_up = _vlo_vup_dual(eta, s_t, lam, sigma, W)
    return _truncated_reject(eta, np.sqrt(var_g), v_lo, min(v_up, lf_cv), size)


def _vlo_vup_dual(eta, s_t, gamma, sigma, W) -> tuple[float, float]:
    """Truncation bounds by bisection on the dual LP value (HonestDiD's vlo_vup_dual)."""
    var_g = float(gamma @ sigma @ gamma)
    dual = _DualMax(s_t, sigma @ gamma / var_g, W)
    sd_b = np.sqrt(var_g)
    if not dual.solves(eta)[1]:
        return eta, np.inf
    v_up = _dual_edge(eta, max(100.0, eta + 20 * sd_b), dual, upward=True)
    v_lo = _dual_edge(eta, min(-100.0, eta - 20 * sd_b), dual, upward=False)
    return v_lo, v_up


class _DualMax:
    """``max_x (s_t + c b)' x`` over ``{x >= 0: W' x = e1}``: by its vertices when they
    are few (the maximum is at one), else by an LP."""

    def __init__(self, s_t: np.ndarray, b: np.ndarray, W: np.ndarray) -> None:
        self.s_t, self.b, self.W = s_t, b, W
        self.vertices = _dual_vertices(W[:, 0], W[:, 1:])

    def solves(self, c: float) -> tuple[np.ndarray | None, bool]:
        """The maximiser and whether the maximum equals ``c`` (to 1e-6)."""
        if self.vertices is not None:
            values = self.vertices @ self.s_t + c * (self.vertices @ self.b)
            i = int(np.argmax(values))
            return self.vertices[i], bool(abs(c - values[i]) <= 1e-6)
        rhs = np.zeros(self.W.shape[1])
        rhs[0] = 1.0
        res = optimize.linprog(-(self.s_t + self.b * c), A_eq=self.W.T, b_eq=rhs,
                               bounds=[(0, None)] * len(self.s_t), method="highs")
        if not res.success:
            return None, False
        return res.x, bool(abs(c + res.fun) <= 1e-6)

    def step(self, x: np.ndarray) -> float:
        value = float(x @ self.s_t)
        value = 0.0 if abs(value) < np.finfo(float).eps ** 0.75 else value
        return value / (1 - float(x @ self.b))


def _dual_edge(eta, far, dual: _DualMax, *, upward: bool) -> float:
    x, ok = dual.solves(far)
    if ok:
        return np.inf if upward else -np.inf
    iters, mid = 1, (dual.step(x) if x is not None else far)
    while iters < 10:
        x, ok = dual.solves(mid)
        if ok:
            break
        iters += 1
        if x is None:
            break
        mid = dual.step(x)
    inside, outside = eta, mid
    while abs(outside - inside) > 1e-6 and iters < 10_000:
        iters += 1
        mid = (inside + outside) / 2
        if dual.solves(mid)[1]:
            inside = mid
        else:
            outside = mid
    return mid


def _interval_by_bisection(accepts, n: int) -> tuple[int | None, int | None]:
    """First and last accepted grid index, assuming the accepted set is an interval."""
    mid = n // 2
    seed = mid if accepts(mid) else None
    offset = 1
    while seed is None and (mid - offset >= 0 or mid + offset < n):
        for j in (mid - offset, mid + offset):
            if 0 <= j < n and accepts(j):
                seed = j
                break
        offset += 1
    if seed is None:
        return None, None
    lo, hi = 0, seed
    if seed != 0 and accepts(0):
        hi = 0
    while lo < hi:
        m = (lo + hi) // 2
        lo, hi = (lo, m) if accepts(m) else (m + 1, hi)
    first = lo
    lo, hi = seed, n - 1
    if seed != n - 1 and accepts(n - 1):
        lo = n - 1
    while lo < hi:
        m = (lo + hi + 1) // 2
        lo, hi = (m, hi) if accepts(m) else (lo, m - 1)
    return first, lo
