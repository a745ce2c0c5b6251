"""The CI side of the cross-checks: one hypothesis property test per family.

Profile (:data:`PROFILE`): a few examples per family (``Family.examples``), no deadline,
no example database, random draws (not derandomised): each CI run checks new designs,
and a failure prints the ``Design(...)`` that replays it
(``FAMILIES[name].check(Design(...))``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from .design import designs
from .registry import FAMILIES

PROFILE = dict(deadline=None, database=None, derandomize=False, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def verdict(outcome) -> str | None:
    """Why an outcome fails a test (a disagreement or a raw error), or None."""
    if outcome.status in ("disagree", "raw_error"):
        return f"{outcome.status}: {outcome.design}\n  " + "\n  ".join(outcome.details)
    return None


def property_test(name: str, ranges: dict | None = None):
    """A pytest test that checks ``Family.examples`` random designs of family ``name``
    (its ranges, updated by ``ranges``) and fails on a disagreement or a raw error."""
    family = FAMILIES[name]

    @settings(max_examples=family.examples, **PROFILE)
    @given(design=designs(family.design_ranges() | (ranges or {})))
    def test(design):
        failure = verdict(family.check(design))
        assert failure is None, failure

    test.__name__ = f"test_{name}"
    test.__doc__ = f"{name}: ipnstats agrees with {family.peer} on random designs."
    return test
