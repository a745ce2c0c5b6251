"""Seeds, normalised once: every function that draws takes ``seed`` and passes it here.

A seed is an int (recorded on results, so that reports print it), a numpy
``Generator`` (used as it is; its state is not recorded) or None (fresh entropy).

Examples
--------
>>> rng = as_generator(3)
>>> as_generator(rng) is rng
True
>>> recorded_seed(3), recorded_seed(rng)
(3, None)
>>> seed_sequence(3).spawn(2)[1].entropy
3
"""

from __future__ import annotations

import numpy as np

from ipnstats.core.formula import SpecificationError

Seed = int | np.random.Generator | None


def _is_int(seed: object) -> bool:
    return isinstance(seed, int | np.integer) and not isinstance(seed, bool)


def seed_problem(seed: object, *, generator: bool = True, name: str = "seed") -> str | None:
    """What is wrong with ``seed``, or None: it must be a non-negative int, or with
    ``generator=True`` also a numpy Generator or None."""
    if _is_int(seed) and seed >= 0:
        return None
    if generator and (seed is None or isinstance(seed, np.random.Generator)):
        return None
    allowed = "a non-negative int, a numpy Generator or None" if generator else \
        "a non-negative integer (it is recorded)"
    return f"{name} must be {allowed}; got {seed!r}"


def check_seed(seed: object, *, generator: bool = True, name: str = "seed") -> None:
    """A SpecificationError (a ValueError) naming the problem of :func:`seed_problem`."""
    if (problem := seed_problem(seed, generator=generator, name=name)) is not None:
        raise SpecificationError(problem)


def as_generator(seed: Seed | np.random.SeedSequence) -> np.random.Generator:
    """The numpy Generator of ``seed``: a Generator itself, else ``default_rng(seed)``
    (which also takes a ``SeedSequence``, e.g. a child from :func:`seed_sequence`)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    check_seed(seed)
    return np.random.default_rng(seed)


def recorded_seed(seed: object) -> int | None:
    """The seed as recorded on a result: the int, or None for a Generator or None."""
    return int(seed) if _is_int(seed) else None


def seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """A fresh root ``SeedSequence`` of ``seed`` (a SeedSequence is copied, not shared),
    whose ``spawn(n)`` children depend only on ``seed`` and their index."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
    return np.random.SeedSequence(seed)


__all__ = ["Seed", "as_generator", "check_seed", "recorded_seed", "seed_problem", "seed_sequence"]
