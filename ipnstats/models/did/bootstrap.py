"""Multiplier bootstrap of influence functions (Mammen weights), as R ``did``.

Draws one weight per cluster, forms ``sqrt(n) * mean(v_i * IF_i)`` for every
estimate, and returns bootstrap standard errors (interquartile range over
``qnorm(.75) - qnorm(.25)``, did's robust scale) and the critical value of the
simultaneous (uniform) band: the ``conf_level`` quantile of the largest
studentised deviation across estimates.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

_SQRT5 = np.sqrt(5.0)
MAMMEN_LOW, MAMMEN_HIGH = (1 - _SQRT5) / 2, (1 + _SQRT5) / 2
MAMMEN_P = (_SQRT5 + 1) / (2 * _SQRT5)  # probability of the low value


def mammen(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Mammen's two-point weights: mean 0, variance 1, third moment 1."""
    return np.where(rng.random(size) < MAMMEN_P, MAMMEN_LOW, MAMMEN_HIGH)


def multiplier_bootstrap(influence: np.ndarray, *, reps: int, rng: np.random.Generator,
                         clusters: np.ndarray | None = None, conf_level: float = 0.95,
                         chunk: int = 1000) -> tuple[np.ndarray, float]:
    """Bootstrap standard errors (k,) and the uniform-band critical value."""
    n, k = influence.shape
    codes = np.arange(n) if clusters is None else clusters
    g = int(codes.max()) + 1
    sums = np.column_stack([np.bincount(codes, weights=influence[:, j], minlength=g)
                            for j in range(k)]) if k else np.zeros((g, 0))
    draws = []
    for start in range(0, reps, chunk):
        v = mammen(rng, (min(chunk, reps - start), g))
        draws.append(v @ sums / np.sqrt(n))
    boot = np.vstack(draws)
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    scale = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_max = np.nanmax(np.abs(boot / scale), axis=1)
    crit = float(np.quantile(t_max, conf_level)) if k else float("nan")
    return scale / np.sqrt(n), crit
