"""The within transformation: remove one or several sets of fixed effects.

One set: subtract group means. Several: alternating projections (method of
alternating projections, Guimaraes & Portugal 2010; what reghdfe and fixest iterate),
stopped when no column moves by more than ``tol`` times its scale. Two sets that
form a complete grid (every pair of levels observed once, a balanced panel) need
one sweep: after it the means within both sets are already zero.

Columns are transformed one at a time (each a contiguous array), so memory beyond
the result is a few vectors of length n. With ``weights`` the means are weighted (the
weighted least-squares projection, as reghdfe and fixest with weights); a complete
grid then no longer needs only one sweep, so the sweeps alternate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Effects = list[tuple[np.ndarray, int]]


def group_sums(M: np.ndarray, codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Sums of each column of ``M`` (n x p) within groups coded ``0..n_levels-1``: an
    (n_levels, p) array. The one kernel behind group means and cluster sums
    (:func:`ipnstats.inference.sandwich.cluster_sums`)."""
    out = np.empty((n_levels, M.shape[1]), order="F")
    for j in range(M.shape[1]):
        out[:, j] = np.bincount(codes, weights=M[:, j], minlength=n_levels)
    return out


def group_means(M: np.ndarray, codes: np.ndarray, n_levels: int,
                counts: np.ndarray | None = None) -> np.ndarray:
    """Means of each column of ``M`` within groups, as an (n_levels, p) array."""
    counts = np.bincount(codes, minlength=n_levels) if counts is None else counts
    return group_sums(M, codes, n_levels) / np.maximum(counts, 1)[:, None]


def complete_grid(effects: Effects) -> bool:
    """Whether two sets of fixed effects cross completely: every pair of levels is
    observed exactly once (a balanced panel of units and periods)."""
    if len(effects) != 2:
        return False
    (a, ga), (b, gb) = effects
    if a.size != ga * gb:
        return False
    seen = np.zeros(a.size, bool)  # n pairs fill all n cells only if none repeats
    for start in range(0, a.size, _BLOCK):
        seen[a[start:start + _BLOCK] * np.int64(gb) + b[start:start + _BLOCK]] = True
    return bool(seen.all())


_BLOCK = 2**16


def demean(M: np.ndarray, effects: Effects, *, tol: float = 1e-10, max_iter: int = 10_000,
           grid: bool | None = None, overwrite: bool = False,
           weights: np.ndarray | None = None) -> tuple[np.ndarray, int, bool]:
    """Residuals of ``M`` (n x p) after projecting out the fixed effects.

    Parameters
    ----------
    M
        The columns to transform.
    effects
        Each set of fixed effects as integer codes ``0 .. n_levels - 1`` and n_levels.
    tol, max_iter
        Alternating projections stop when no column moves by more than ``tol`` times
        its largest absolute value in a sweep, or after ``max_iter`` sweeps.
    grid
        Whether two sets form a complete grid (:func:`complete_grid`, computed when
        None); one sweep is then exact.
    overwrite
        Transform ``M`` in place when it is a Fortran-ordered float array.
    weights
        Positive observation weights: weighted means in every sweep (None: unweighted).

    Returns
    -------
    tuple of numpy.ndarray, int and bool
        The transformed matrix (Fortran order), the sweeps used and whether they
        converged.
    """
    out = _working_copy(M, overwrite)
    if weights is None:
        counts = [np.maximum(np.bincount(c, minlength=g), 1) for c, g in effects]
    else:
        counts = [_positive(np.bincount(c, weights=weights, minlength=g)) for c, g in effects]
        grid = False  # weighted projections on a grid do not commute in general
    work = _Work(effects, counts, np.empty(out.shape[0]), weights)
    if len(effects) == 1 or (grid if grid is not None else complete_grid(effects)):
        for j in range(out.shape[1]):
            work.sweep(out[:, j])
        return out, 1, True
    before = np.empty(out.shape[0])
    iters = [_alternate(out[:, j], work, before, tol, max_iter) for j in range(out.shape[1])]
    sweeps = min(max(iters, default=1), max_iter)
    for j, done in enumerate(iters):  # every column gets the same number of sweeps
        for _ in range(done, sweeps):
            work.sweep(out[:, j])
    return out, sweeps, max(iters, default=1) <= max_iter


def _working_copy(M: np.ndarray, overwrite: bool) -> np.ndarray:
    """``M`` as a Fortran-ordered float 2-D array, copied unless ``overwrite`` allows."""
    if overwrite and isinstance(M, np.ndarray) and M.dtype == float and M.flags.f_contiguous:
        return M
    return np.array(M, dtype=float, order="F", copy=True)


def _positive(totals: np.ndarray) -> np.ndarray:
    """Weight totals of the levels, empty levels set to 1 (their means are never read)."""
    return np.where(totals > 0, totals, 1.0)


@dataclass(frozen=True)
class _Work:
    """The effects, their level counts or weight totals (positive), a scratch vector of
    length n, and the weights (None: unweighted)."""

    effects: Effects
    counts: list[np.ndarray]
    scratch: np.ndarray
    weights: np.ndarray | None = None

    def sweep(self, x: np.ndarray) -> None:
        """Subtract from ``x`` (in place) its (weighted) means within each set of effects
        in turn."""
        for (codes, g), cnt in zip(self.effects, self.counts, strict=True):
            wx = x if self.weights is None else x * self.weights
            means = np.bincount(codes, weights=wx, minlength=g) / cnt
            x -= np.take(means, codes, out=self.scratch, mode="clip")


def _alternate(x: np.ndarray, work: _Work, before: np.ndarray, tol: float,
               max_iter: int) -> int:
    """Sweep ``x`` in place until it moves by less than ``tol`` times its scale
    (``before`` is scratch). Returns the sweeps used (``max_iter + 1`` when it did not
    converge)."""
    scale = max(float(np.abs(x).max(initial=0.0)), 1e-300)
    for it in range(1, max_iter + 1):
        before[:] = x
        work.sweep(x)
        before -= x
        if np.abs(before, out=before).max(initial=0.0) / scale < tol:
            return it
    return max_iter + 1


def absorbed_dof(effects: Effects, grid: bool | None = None) -> int:
    """Parameters absorbed by the fixed effects, net of redundancies.

    One set: its levels. Two sets: levels of both less the connected components of
    their bipartite graph (one redundancy per component, as in reghdfe and fixest;
    one component when they form a complete grid, see ``grid``). Three or more (R
    fixest's and pyfixest's rule): the first two sets counted so, each further set its
    levels less one. Redundancies among the further sets (``year`` with
    ``industry^year``) are not found, so K can be overstated (conservative); pyfixest
    counts every set after the first as levels less one, which is the same number
    whenever the first two sets are connected.
    """
    if not effects:
        return 0
    total = sum(g for _, g in effects)
    if len(effects) == 1:
        return total
    if grid if grid is not None and len(effects) == 2 else complete_grid(effects[:2]):
        components = 1
    else:
        (a, ga), (b, gb) = effects[:2]
        graph = coo_matrix((np.ones(a.size), (a, b + ga)), shape=(ga + gb, ga + gb))
        components, _ = connected_components(graph, directed=False)
    return total - int(components) - (len(effects) - 2)
