"""The one way randomness enters ipnstats: a ``seed`` argument, typed :data:`Seed`.

Every function that draws at random takes ``seed: Seed`` (an int, ``None`` or a numpy
``Generator``), normalises it here once and records :func:`recorded_seed` on its result
so that reports print it. An int reproduces the draws; ``None`` draws fresh entropy; a
Generator is used as is (its state is not recorded).
"""

from __future__ import annotations

import numpy as np

from ipnstats.core.formula import SpecificationError

Seed = int | np.random.Generator | None


def check_seed(seed: object, name: str = "seed") -> None:
    """Raise a clear :class:`SpecificationError` unless ``seed`` is a :data:`Seed`."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecificationError(f"{name} must be a non-negative integer, None or a numpy "
                                 f"Generator; got {seed!r}")


def rng_from(seed: Seed) -> np.random.Generator:
    """The generator to draw from: ``seed`` itself if it is one, else ``default_rng(seed)``."""
    check_seed(seed)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def recorded_seed(seed: Seed) -> int | None:
    """The seed to record on a result: the int, or ``None`` (fresh entropy, a Generator)."""
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return int(seed)
    return None


def seed_sequence(seed: Seed) -> np.random.SeedSequence:
    """A ``SeedSequence`` to spawn parallel streams from: ``SeedSequence(seed)`` for an int
    (so results do not depend on the number of workers); for a Generator, one drawn
    from it; for ``None``, fresh entropy."""
    check_seed(seed)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    return np.random.SeedSequence(None if seed is None else int(seed))


__all__ = ["Seed", "check_seed", "recorded_seed", "rng_from", "seed_sequence"]
