"""One description of a random edge-case design, drawn two ways.

:class:`Design` is a frozen record of a design's choices (sizes, gaps, singletons,
collinear and constant columns, scale, a categorical regressor, row order, clusters);
:meth:`Design.frame` builds its data deterministically from ``Design.seed``. The
campaign draws designs with :func:`draw` (a numpy generator), the pytest files with
:func:`designs` (a hypothesis strategy); both draw the same fields from the same ranges
(:data:`RANGES`), so a design that fails in one is replayed by the other from its
printed ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# field -> (low, high) inclusive, or a tuple of choices; shared by draw() and designs()
RANGES: dict[str, tuple] = {
    "n_units": (3, 40),
    "n_periods": (2, 8),
    "gap_share": (0.0, 0.0, 0.1, 0.3),
    "n_singletons": (0, 3),
    "n_x": (1, 3),
    "collinear": (False, True),
    "constant": (False, True),
    "scale": (1.0, 1.0, 1e-6, 1e6),
    "categorical": (False, True),
    "shuffle": (False, True),
    "n_clusters": (2, 12),
    "unit_sd": (0.0, 1.0, 5.0),
}
LEVELS = ("a", "b", "c")


@dataclass(frozen=True, slots=True)
class Design:
    """A random panel design: its data is ``frame()``, its regressors ``regressors()``.

    Columns of ``frame()``: ``u`` (unit), ``t`` (period), ``y``, ``x1..x{n_x}``, ``xc``
    (``x1 + x2``, or ``2·x1`` with one regressor, when ``collinear``), ``k`` (constant
    1.5 when ``constant``), ``cat`` (levels a/b/c when ``categorical``), ``g`` (a
    cluster of units, ``n_clusters`` at most), ``w`` (positive weights, unused by the
    families today) and ``treated`` (a 0/1 column).
    """

    seed: int
    n_units: int = 12
    n_periods: int = 4
    gap_share: float = 0.0
    n_singletons: int = 0
    n_x: int = 1
    collinear: bool = False
    constant: bool = False
    scale: float = 1.0
    categorical: bool = False
    shuffle: bool = False
    n_clusters: int = 6
    unit_sd: float = 1.0

    def regressors(self) -> list[str]:
        """Regressor columns in formula order (``cat`` stands for ``C(cat)``)."""
        names = [f"x{j + 1}" for j in range(self.n_x)]
        names += ["xc"] * self.collinear + ["k"] * self.constant + ["cat"] * self.categorical
        return names

    def formula(self, intercept: bool = True) -> str:
        """``"y ~ x1 + ... + C(cat)"`` (``0 +`` without an intercept)."""
        terms = ["C(cat)" if r == "cat" else r for r in self.regressors()]
        return "y ~ " + ("" if intercept else "0 + ") + " + ".join(terms)

    def frame(self) -> pd.DataFrame:
        """The design's rows, built from ``seed`` alone (same design, same bytes)."""
        rng = np.random.default_rng(self.seed)
        u, t = np.divmod(np.arange(self.n_units * self.n_periods), self.n_periods)
        keep = rng.random(u.size) >= self.gap_share
        keep[np.unique(u, return_index=True)[1]] = True  # every unit keeps a row
        u, t = u[keep], t[keep]
        extra = np.arange(self.n_units, self.n_units + self.n_singletons)
        u = np.concatenate([u, extra])
        t = np.concatenate([t, rng.integers(0, self.n_periods, extra.size)])
        return self._columns(rng, u, t)

    def _columns(self, rng: np.random.Generator, u: np.ndarray, t: np.ndarray) -> pd.DataFrame:
        n, n_u = u.size, int(u.max()) + 1
        alpha = self.unit_sd * rng.normal(size=n_u)
        d = pd.DataFrame({"u": u, "t": t})
        for j in range(self.n_x):
            d[f"x{j + 1}"] = rng.normal(size=n) + 0.5 * alpha[u]
        d["x1"] *= self.scale
        d["xc"] = d["x1"] + d["x2"] if self.n_x > 1 else 2.0 * d["x1"]
        d["k"] = 1.5
        d["cat"] = pd.Categorical(np.asarray(LEVELS)[rng.integers(0, 3, n)], LEVELS)
        d["g"] = (u * self.n_clusters) // max(n_u, 1)
        d["w"] = rng.uniform(0.5, 2.0, n)
        d["treated"] = (rng.random(n) < 0.5).astype(float)
        slope = 0.5 * d["x1"] / self.scale + sum(
            d[f"x{j + 1}"] * (0.5 / (j + 1)) for j in range(1, self.n_x))
        d["y"] = (slope + alpha[u] + 0.3 * t + 0.4 * (d["cat"] == "b") + rng.normal(size=n))
        if self.shuffle:
            d = d.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
        return d


def _is_range(spec: tuple) -> bool:
    return len(spec) == 2 and all(type(v) is int for v in spec)


def draw(rng: np.random.Generator, seed: int, ranges: dict | None = None) -> Design:
    """A design with every field of :data:`RANGES` (updated by a family's ``ranges``)
    drawn from ``rng``."""
    values = {}
    for name, spec in (RANGES | (ranges or {})).items():
        if _is_range(spec):
            values[name] = int(rng.integers(spec[0], spec[1] + 1))
        else:
            values[name] = spec[int(rng.integers(len(spec)))]
    return Design(seed=seed, **values)


def designs(ranges: dict | None = None):
    """A hypothesis strategy of :class:`Design` over the same :data:`RANGES` (updated by
    a family's ``ranges``)."""
    from hypothesis import strategies as st

    fields = {}
    for name, spec in (RANGES | (ranges or {})).items():
        if _is_range(spec):
            fields[name] = st.integers(spec[0], spec[1])
        else:
            fields[name] = st.sampled_from(spec)
    return st.builds(Design, seed=st.integers(0, 2**32 - 1), **fields)
