"""Formatting of raw numbers into target-free text: numbers, stars, labels.

Renderers typeset; these functions only decide the characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ipnstats.core.errors import SpecificationError

DEFAULT_STARS: Mapping[str, float] = {"*": 0.05, "**": 0.01, "***": 0.001}
MANAGEMENT_STARS: Mapping[str, float] = {"†": 0.10, "*": 0.05, "**": 0.01, "***": 0.001}


def fmt_number(value: object, digits: int = 3) -> str:
    """Fixed-point text; empty for missing; never ``-0.000``."""
    if value is None:
        return ""
    x = float(value)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    text = f"{x:,.{digits}f}"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def fmt_count(value: object) -> str:
    """An integer with thousands separators; empty for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{int(value):,}"


def fmt_p(value: float, digits: int = 3) -> str:
    """p-value text: ``<.001`` below the last digit, no leading zero (APA)."""
    if value is None or math.isnan(value):
        return ""
    floor = 10.0**-digits
    if value < floor:
        return f"<{fmt_number(floor, digits)[1:]}"
    return fmt_number(value, digits).lstrip("0") or "0"


def check_stars(stars: bool | Mapping[str, float]) -> dict[str, float]:
    """Normalise ``stars=``: True (default legend), False (none) or symbol -> threshold."""
    if stars is True:
        return dict(DEFAULT_STARS)
    if stars is False or stars is None:
        return {}
    out = dict(stars)
    if not all(isinstance(k, str) and 0 < float(v) < 1 for k, v in out.items()):
        raise SpecificationError(f"stars must map symbols to thresholds in (0, 1), got {stars!r}")
    return out


def star_for(p_value: float, stars: Mapping[str, float]) -> str:
    """The symbol of the smallest threshold that ``p_value`` is below."""
    if p_value is None or math.isnan(p_value):
        return ""
    hits = [(t, s) for s, t in stars.items() if p_value < t]
    return min(hits)[1] if hits else ""


def star_legend(stars: Mapping[str, float]) -> str:
    """``"* p<.05, ** p<.01, *** p<.001"``, thresholds from largest to smallest."""
    parts = [f"{s} p<{fmt_number(t, _decimals(t))[1:]}"
             for s, t in sorted(stars.items(), key=lambda kv: -kv[1])]
    return ", ".join(parts)


def _decimals(t: float) -> int:
    return max(2, len(f"{t:.10f}".rstrip("0").split(".")[1]))


_C_TERM = re.compile(r"^C\((?P<var>[^,)]+)[^)]*\)\[(?:T\.)?(?P<level>.*)\]$")


def default_label(term: str, labels: Mapping[str, str]) -> str:
    """Label of a term: the user's or codebook's label, else a readable form of the name.

    ``a:b`` becomes ``A × B``; ``C(industry)[T.retail]`` and ``industry::retail``
    become ``Industry = retail`` (with the variable's label).
    """
    if term in labels:
        return labels[term]
    if ":" in term and "::" not in term and not term.startswith("C("):
        return " × ".join(default_label(t, labels) for t in term.split(":"))
    match = _C_TERM.match(term)
    if match:
        var = match["var"].strip()
        return f"{labels.get(var, var)} = {match['level']}"
    if "::" in term:
        var, level = term.split("::", 1)
        return f"{labels.get(var, var)} = {level}"
    return "Constant" if term == "Intercept" else term
