"""Mutators of a study folder: each a pure function of ``(folder, random.Random)``.

A mutator changes the folder in place, draws every choice from the ``Random`` it is
given (files are visited in sorted order), and returns one line saying what it did, for
reports. :data:`MUTATORS` maps each name to its :class:`Mutator`; :func:`apply` runs a
sequence of them in stage order (codebook and table set, format conversion, headers
and cells, delimiter, encoding, bytes, files), so that a combination stays coherent:
cells are edited before the file is re-encoded, and bytes are flipped last.
Conversions to Parquet, Excel, Stata or SPSS keep later edits in the new format.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from . import cells, files  # noqa: F401 - they register their mutators
from .codebook_mutators import EDITS
from .registry import MUTATORS, STAGES, Mutator

for _name, _edit in EDITS.items():
    MUTATORS[_name] = Mutator(_name, STAGES["files"], _edit)

#: Every mutator's name, sorted (the campaign draws from this list).
SINGLE = sorted(MUTATORS)


def apply(folder: Path, names: Sequence[str], rng: random.Random) -> list[str]:
    """Apply the mutators ``names`` to ``folder`` in stage order; their descriptions."""
    chosen = sorted((MUTATORS[n] for n in names), key=lambda m: m.stage)
    return [m(folder, rng) for m in chosen]
