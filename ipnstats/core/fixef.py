"""Fixed effects written in a formula, as R fixest and pyfixest read them.

``"y ~ x1 + x2 | firm_id + year"`` holds the model (before ``|``, formulaic syntax) and
the fixed effects to absorb (after it): column names joined by ``+``, and combined
fixed effects ``industry^year`` (one level per observed industry-year pair, fixest's
``^``). :func:`split_fixef` separates the two parts and refuses, each with a message
saying what to write instead, the fixest constructs ipnstats does not offer: varying
slopes (``firm_id[x]``), instrumental variables (``| endog ~ instrument``), ``i()``,
``sunab()`` and the stepwise helpers ``sw()``, ``csw()``, ``sw0()``, ``csw0()``,
``mvsw()``. :func:`fixef_codes` turns one fixed effect into integer codes.

>>> split = split_fixef("log_revenue ~ member | firm_id + industry^year")
>>> split.formula, [t.label for t in split.effects]
('log_revenue ~ member', ['firm_id', 'industry^year'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_STEPWISE = ("sw", "csw", "sw0", "csw0", "mvsw")


@dataclass(frozen=True, slots=True)
class FixefTerm:
    """One fixed effect after ``|``: a column, or columns combined with ``^``."""

    columns: tuple[str, ...]

    @property
    def label(self) -> str:
        """The fixed effect as written: ``"firm_id"`` or ``"industry^year"``."""
        return "^".join(self.columns)


@dataclass(frozen=True, slots=True)
class SplitFormula:
    """A formula's model part and the fixed effects after ``|`` (none: no ``|``)."""

    formula: str
    effects: tuple[FixefTerm, ...] = ()
    written: str = ""  # the fixed-effects part as written, for messages


def split_fixef(formula: str) -> SplitFormula:
    """The model part of ``formula`` and its fixed effects after ``|``.

    Raises a SpecificationError for a fixed-effects part that is not column names and
    ``a^b`` combinations joined by ``+``, and for the fixest constructs ipnstats does not
    offer (see the module docstring), each naming what to write instead.
    """
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string such as 'y ~ x | firm_id + year'; "
                                 f"got {formula!r}")
    _refuse_fixest_only(formula)
    parts = _top_level_split(formula)
    if len(parts) == 1:
        return SplitFormula(formula)
    if any("~" in p for p in parts[1:]) or len(parts) > 2:
        raise SpecificationError(
            f"formula {formula!r}: a part after '|' that holds '~' (fixest's instrumental "
            "variables, 'y ~ x | fe | endog ~ instrument') or a third part is not "
            "available here: panel_regression has no instrumental-variables estimator; "
            "write 'y ~ x | fe', and fit the IV model with iv_regression(data, "
            "'y ~ x | fe | endog ~ instrument') (as fixest's and pyfixest's feols read it)")
    main, written = parts[0].strip(), parts[1].strip()
    if "~" not in main:
        raise SpecificationError(f"formula {formula!r} needs an outcome before '|': "
                                 "'y ~ x | firm_id + year'")
    return SplitFormula(main, _fixef_terms(formula, written), written)


def has_fixef(formula: str) -> bool:
    """Whether ``formula`` has a ``|`` outside parentheses (fixed effects follow it)."""
    return isinstance(formula, str) and len(_top_level_split(formula)) > 1


def _top_level_split(formula: str) -> list[str]:
    """``formula`` split at each ``|`` outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(formula):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "|" and depth == 0:
            parts.append(formula[start:i])
            start = i + 1
    return [*parts, formula[start:]]


def _refuse_fixest_only(formula: str) -> None:
    """Errors for the fixest constructs that ipnstats does not offer."""
    slopes = re.search(r"([A-Za-z_.][\w.]*)\s*\[\[?\s*([^\]]*)\]\]?", formula)
    if slopes:
        fe, x = slopes.group(1), slopes.group(2).strip() or "x"
        raise SpecificationError(
            f"formula {formula!r}: varying slopes {slopes.group(0)!r} (fixest: a {fe} fixed "
            f"effect with a slope on {x} for each {fe}) are not available; absorb the fixed "
            f"effect and write the slopes as interactions in the model part: "
            f"'... + C({fe}):{x} | {fe}'")
    if re.search(r"(?<![\w.])i\s*\(", formula):
        raise SpecificationError(
            f"formula {formula!r}: fixest's i() is not available; write "
            "C(year, contr.treatment(base=2010)) for i(year, ref=2010), and for an event "
            "study (i(event_time, treated, ref=-1)) use ipnstats.event_study or "
            "ipnstats.sun_abraham")
    if re.search(r"(?<![\w.])sunab\s*\(", formula):
        raise SpecificationError(
            f"formula {formula!r}: fixest's sunab() is not available in formulas; use "
            "ipnstats.sun_abraham(data, outcome=..., unit=..., time=..., cohort=...)")
    for name in _STEPWISE:
        if re.search(rf"(?<![\w.]){name}\s*\(", formula):
            raise SpecificationError(
                f"formula {formula!r}: fixest's stepwise {name}() is not available; fit one "
                "model per formula (a loop over the formulas) and compare them with "
                "ipnstats.regression_table, or vary the specification with "
                "ipnstats.specification_curve")


def _fixef_terms(formula: str, written: str) -> tuple[FixefTerm, ...]:
    if not written:
        raise SpecificationError(f"formula {formula!r}: nothing after '|'; name the fixed "
                                 "effects ('| firm_id + year') or drop the '|'")
    terms = []
    for piece in written.split("+"):
        columns = tuple(c.strip() for c in piece.split("^"))
        if not all(_NAME.match(c) for c in columns):
            raise SpecificationError(
                f"formula {formula!r}: {piece.strip()!r} after '|' is not a fixed effect; "
                "fixed effects are column names joined by '+', and 'a^b' combines two "
                "columns into one fixed effect ('| firm_id + industry^year'); put "
                "transformations and dummies (C(x)) before the '|'")
        if len(set(columns)) != len(columns):
            raise SpecificationError(f"formula {formula!r}: {piece.strip()!r} combines a "
                                     "column with itself")
        terms.append(FixefTerm(columns))
    labels = [t.label for t in terms]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise SpecificationError(f"formula {formula!r} names the fixed effect "
                                 f"{', '.join(map(repr, twice))} twice after '|'")
    return tuple(terms)


def fixef_codes(data: pd.DataFrame, rows: np.ndarray,
                term: FixefTerm) -> tuple[np.ndarray, int]:
    """Codes ``0 .. levels - 1`` of a fixed effect on ``rows`` of ``data`` (-1 where a
    column is missing), in order of appearance, and its number of levels.

    A combined fixed effect ``a^b`` has one level per observed pair of values (fixest
    and pyfixest's ``^``).
    """
    codes = np.zeros(rows.size, np.int64)
    missing = np.zeros(rows.size, bool)
    for col in term.columns:
        c, levels = pd.factorize(data[col].to_numpy()[rows])
        missing |= c < 0
        codes, _ = pd.factorize(codes * max(len(levels), 1) + np.maximum(c, 0))  # compact
    out = np.full(rows.size, -1, np.intp)
    out[~missing], levels = pd.factorize(codes[~missing])
    return out, len(levels)


__all__ = ["FixefTerm", "SplitFormula", "fixef_codes", "has_fixef", "split_fixef"]
