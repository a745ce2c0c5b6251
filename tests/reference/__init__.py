"""Published reference numbers, kept as data beside a note of where they come from.

``tests/reference/<topic>/<case>.json`` holds the numbers of one published case as its
source prints them (its own labels, its printed digits); ``<topic>/SOURCE.md`` names the
publication, program and command that produced them. The data the cases are fitted on
are the reference data (``--reference-data`` / ``IPNSTATS_REFERENCE_DATA``, see
tests/conftest.py). Tests load a case with :func:`load` and keep their own tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def load(case: str) -> dict[str, Any]:
    """The numbers of ``case`` ("<topic>/<name>", e.g. ``"did/mpdta"``), as a fresh dict."""
    path = HERE / f"{case}.json"
    return json.loads(path.read_text(encoding="utf-8"))
