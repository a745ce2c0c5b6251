"""The within transformation: remove one or several sets of fixed effects.

One set: subtract group means. Several: alternating projections (method of
alternating projections, Guimaraes & Portugal 2010; what reghdfe and fixest iterate),
stopped when no column moves by more than ``tol`` times its scale.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def group_means(M: np.ndarray, codes: np.ndarray, n_levels: int,
                counts: np.ndarray | None = None) -> np.ndarray:
    """Means of each column of ``M`` within groups, as an (n_levels, p) array."""
    counts = np.bincount(codes, minlength=n_levels) if counts is None else counts
    sums = np.column_stack([np.bincount(codes, weights=M[:, j], minlength=n_levels)
                            for j in range(M.shape[1])])
    return sums / np.maximum(counts, 1)[:, None]


def demean(M: np.ndarray, effects: list[tuple[np.ndarray, int]], *, tol: float = 1e-10,
           max_iter: int = 10_000) -> tuple[np.ndarray, int, bool]:
    """Residuals of ``M`` (n x p) after projecting out the fixed effects.

    Returns the transformed matrix, the iterations used and whether it converged.
    """
    out = np.array(M, dtype=float, copy=True)
    counts = [np.bincount(c, minlength=g) for c, g in effects]
    if len(effects) == 1:
        (codes, g), = effects
        return out - group_means(out, codes, g, counts[0])[codes], 1, True
    scale = np.maximum(np.abs(out).max(axis=0), 1e-300)
    for it in range(1, max_iter + 1):
        before = out.copy()
        for (codes, g), cnt in zip(effects, counts, strict=True):
            out -= group_means(out, codes, g, cnt)[codes]
        if (np.abs(out - before).max(axis=0) / scale).max() < tol:
            return out, it, True
    return out, max_iter, False


def absorbed_dof(effects: list[tuple[np.ndarray, int]]) -> int:
    """Parameters absorbed by the fixed effects, net of redundancies.

    One set: its levels. Two sets: levels of both less the connected components of
    their bipartite graph (one redundancy per component, as in reghdfe and fixest).
    More sets: levels less (sets - 1), a conservative count.
    """
    if not effects:
        return 0
    total = sum(g for _, g in effects)
    if len(effects) == 1:
        return total
    if len(effects) == 2:
        (a, ga), (b, gb) = effects
        graph = coo_matrix((np.ones(a.size), (a, b + ga)), shape=(ga + gb, ga + gb))
        n_comp, _ = connected_components(graph, directed=False)
        return total - n_comp
    return total - (len(effects) - 1)
