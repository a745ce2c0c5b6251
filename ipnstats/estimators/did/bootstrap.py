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

from ipnstats.core.parallel import single_threaded_blas
from ipnstats.inference.sandwich import cluster_sums

_SQRT5 = np.sqrt(5.0)
MAMMEN_LOW, MAMMEN_HIGH = (1 - _SQRT5) / 2, (1 + _SQRT5) / 2
MAMMEN_P = (_SQRT5 + 1) / (2 * _SQRT5)  # probability of the low value


def mammen(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Mammen's two-point weights: mean 0, variance 1, third moment 1."""
    return np.where(rng.random(size) < MAMMEN_P, MAMMEN_LOW, MAMMEN_HIGH)


_MAMMEN_VALUES = np.array([MAMMEN_HIGH, MAMMEN_LOW])


def mammen_into(rng: np.random.Generator, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """:func:`mammen` weights drawn into ``out`` (float), with ``scratch`` a bool array
    of the same shape: the same draws, without allocating."""
    rng.random(out=out)
    np.less(out, MAMMEN_P, out=scratch)
    return _MAMMEN_VALUES.take(scratch.view(np.uint8), out=out, mode="clip")


def multiplier_bootstrap(influence: np.ndarray, *, n_boot: int, rng: np.random.Generator,
                         clusters: np.ndarray | None = None, conf_level: float = 0.95,
                         chunk_size: int = 2**22) -> tuple[np.ndarray, float]:
    """Bootstrap standard errors (k,) and the uniform-band critical value.

    The weights are drawn in blocks of about ``chunk_size`` values (draws x clusters),
    row by row from ``rng``, so the draws do not depend on the block size.
    """
    n, k = influence.shape
    sums = influence if clusters is None else cluster_sums(influence, clusters)
    g = sums.shape[0]
    rows = max(1, min(n_boot, chunk_size // max(g, 1)))
    weights, scratch = np.empty((rows, g)), np.empty((rows, g), bool)
    boot = np.empty((n_boot, k))
    with single_threaded_blas():
        for start in range(0, n_boot, rows):
            stop = min(start + rows, n_boot)
            v = mammen_into(rng, weights[:stop - start], scratch[:stop - start])
            np.matmul(v, sums, out=boot[start:stop])
    boot /= np.sqrt(n)
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    scale = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_max = np.nanmax(np.abs(boot / scale), axis=1)
    crit = float(np.quantile(t_max, conf_level)) if k else float("nan")
    return scale / np.sqrt(n), crit

