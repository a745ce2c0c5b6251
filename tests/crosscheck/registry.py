"""The families of cross-checks: a name, the peer it is compared with, a ``check``,
and the ranges of the designs it draws.

How to add a family (e.g. :mod:`tests.crosscheck.panel_weights`, weighted
``panel_regression`` against pyfixest's weights):

1. Write ``tests/crosscheck/<family>.py`` with ``check(design: Design) -> Outcome``:
   build the data with ``design.frame()`` (``w`` holds positive weights already), open
   a :class:`~tests.crosscheck.outcome.Checker`, call ``c.run(label, ours, peer)``
   (it sorts ipnstats errors into refusals and raw exceptions into defects), then
   ``c.estimates``/``c.close``/``c.equal`` on what is comparable, naming any documented
   convention with ``convention=...``; return ``c.outcome()``. Optionally a module-level
   ``RANGES`` dict narrows :data:`tests.crosscheck.design.RANGES` (e.g. few clusters).
2. Add one :class:`Family` line to :data:`FAMILIES` below.
3. Add ``tests/crosscheck/test_<family>.py``: ``test_<family> = property_test("<family>")``
   (hypothesis, few examples) so CI runs it; ``make crosscheck`` picks it up from here.

A family with no Python peer (CR2 clusters: R clubSandwich only) is not a family here;
pin its R numbers under ``tests/reference/`` instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .design import Design
from .outcome import Outcome


@dataclass(frozen=True)
class Family:
    """A cross-check family: ``module`` (in this package) holds ``check`` and may hold
    ``RANGES``; ``examples`` is its hypothesis budget in CI."""

    name: str
    module: str
    peer: str
    examples: int = 4
    ranges: dict = field(default_factory=dict)

    @property
    def check(self) -> Callable[[Design], Outcome]:
        return self._module().check

    def design_ranges(self) -> dict:
        return getattr(self._module(), "RANGES", {}) | self.ranges

    def _module(self):
        return importlib.import_module(f"{__package__}.{self.module}")


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("panel_linearmodels", "panel_linearmodels",
           "linearmodels PanelOLS/PooledOLS/RandomEffects/FirstDifferenceOLS/BetweenOLS"),
    Family("panel_pyfixest", "panel_pyfixest", "pyfixest feols (ssc)"),
    Family("panel_weights", "panel_weights", "pyfixest feols (aweights, fweights)", examples=3),
    Family("mixed_model", "mixed", "statsmodels MixedLM", examples=3),
    Family("wild_bootstrap", "wild", "wildboottest WildboottestCL", examples=3),
    Family("did_cs", "did", "moderndid att_gt/aggte", examples=3),
    Family("process", "process", "pyprocessmacro Process (models 1 and 4)", examples=3),
)}
