"""The keys that keyed terms carry, as typed columns: the one parser of term names.

Some results name their terms after what they estimate: an event time, a cohort, a
tenure stage, a mediation path. :func:`term_keys` reads those names into typed
columns, and ``tidy()`` of such results appends the columns that apply (after the
broom columns, see :func:`add_term_keys`), so that code selects rows by
``tidy["event"] < 0`` instead of splitting strings.

Grammar (``<e>``, ``<g>`` numbers, ``<s>``, ``<m>``, ``<w>`` labels)::

    event::<e>                event = e                       (event studies)
    cohort::<g>               cohort = g                      (group aggregation)
    cohort::<g>:event::<e>    cohort = g, event = e           (Sun-Abraham cells)
    stage::<s>                stage = s                       (tenure stages)
    a::<m>                    path a, mediator m, equation m  (mediation, PROCESS)
    b::<m>                    path b, mediator m, equation "outcome"
    direct                    path direct, equation "outcome"
    total                     path total (its own equation, y ~ x: equation missing)
    indirect::<m>             path indirect, mediator m
    indirect::total           path indirect, mediator missing (the sum over mediators)
    indirect::<m>::<w>        path indirect, mediator m, w (the moderator value label)
    index::<m>                path index, mediator m          (moderated mediation)
    <eq>::<term>              equation eq, for eq in ``equations`` (PROCESS coefficients)

Any other term (``ATT``, ``Intercept``, a factor level ``industry::retail``) has all
keys missing. ``event`` and ``cohort`` are ``Int64`` when every value is an integer
(``Float64`` for fractional periods; a non-numeric cohort stays a string), missing as
``<NA>``; the other keys are strings (pandas ``str``), missing as NaN.

Examples
--------
>>> keys = term_keys(["event::-2", "event::0", "ATT"])
>>> keys["event"].tolist()
[-2, 0, <NA>]
>>> str(keys["event"].dtype)
'Int64'
>>> term_keys(["cohort::2015:event::2"])[["cohort", "event"]].iloc[0].tolist()
[2015, 2]
>>> term_keys(["a::m", "b::m", "direct", "indirect::m::+1 SD"])[
...     ["path", "mediator", "equation", "w"]].to_numpy().tolist()
[['a', 'm', 'm', nan], ['b', 'm', 'outcome', nan], ['direct', nan, 'outcome', nan], \
['indirect', 'm', nan, '+1 SD']]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from ipnstats.core.errors import SpecificationError

#: every key column :func:`term_keys` returns, in the order ``tidy()`` appends them
KEY_COLUMNS = ("event", "cohort", "stage", "path", "mediator", "equation", "w")
_NUMERIC = ("event", "cohort")

_FAMILIES = (
    (re.compile(r"event::(?P<event>-?[\d.]+)"), {}),
    (re.compile(r"cohort::(?P<cohort>[^:]+)(?::event::(?P<event>-?[\d.]+))?"), {}),
    (re.compile(r"stage::(?P<stage>.+)"), {}),
    (re.compile(r"a::(?P<mediator>.+)"), {"path": "a"}),
    (re.compile(r"b::(?P<mediator>.+)"), {"path": "b", "equation": "outcome"}),
    (re.compile(r"direct"), {"path": "direct", "equation": "outcome"}),
    (re.compile(r"total"), {"path": "total"}),
    (re.compile(r"indirect::total"), {"path": "indirect"}),
    (re.compile(r"indirect::(?P<mediator>.+?)(?:::(?P<w>.+))?"), {"path": "indirect"}),
    (re.compile(r"index::(?P<mediator>.+)"), {"path": "index"}),
)


def parse_term(term: str, equations: Sequence[str] = ()) -> dict[str, str]:
    """The keys of one term, as strings (an unkeyed term gives ``{}``).

    Examples
    --------
    >>> parse_term("stage::novice")
    {'stage': 'novice'}
    >>> parse_term("m::x", equations=["m", "y"])
    {'equation': 'm'}
    """
    for eq in equations:
        if term.startswith(f"{eq}::"):
            return {"equation": eq}
    for pattern, fixed in _FAMILIES:
        if (found := pattern.fullmatch(term)) is not None:
            keys = {k: v for k, v in found.groupdict().items() if v is not None}
            if fixed.get("path") == "a":
                keys["equation"] = keys["mediator"]
            return fixed | keys
    return {}


def term_keys(terms: Sequence[str], *, equations: Sequence[str] = ()) -> pd.DataFrame:
    """The typed keys of ``terms``: one row per term, the columns of ``KEY_COLUMNS``.

    ``equations`` names the equations whose coefficients are terms ``<eq>::<term>``
    (a PROCESS model's outcomes); they are matched before the other families.

    Examples
    --------
    >>> term_keys(["stage::novice", "ATT"])["stage"].tolist()
    ['novice', nan]
    """
    rows = [parse_term(str(t), equations) for t in terms]
    out = pd.DataFrame({c: pd.array([r.get(c) for r in rows], dtype="str")
                        for c in KEY_COLUMNS})
    for c in _NUMERIC:
        out[c] = _numeric(out[c])
    return out


def _numeric(values: pd.Series) -> pd.Series:
    """Int64 when every value is an integer, Float64 when every value is a number, else
    the strings unchanged."""
    number = pd.to_numeric(values.astype(object), errors="coerce")
    if (number.isna() & values.notna()).any():
        return values
    integer = number.dropna()
    if (integer == integer.round()).all():
        return number.astype("Int64")
    return number.astype("Float64")


def add_term_keys(table: pd.DataFrame, keys: Sequence[str], *,
                  equations: Sequence[str] = ()) -> pd.DataFrame:
    """``table`` (with a ``term`` column) with the key columns ``keys`` appended.

    Examples
    --------
    >>> t = pd.DataFrame({"term": ["event::-1", "ATT"], "estimate": [0.1, 0.2]})
    >>> add_term_keys(t, ["event"]).columns.tolist()
    ['term', 'estimate', 'event']
    """
    if not keys:
        return table
    unknown = [k for k in keys if k not in KEY_COLUMNS]
    if unknown:
        raise SpecificationError(f"unknown term keys {unknown}; choose from {list(KEY_COLUMNS)}")
    parsed = term_keys(table["term"].tolist(), equations=equations)
    return pd.concat([table.reset_index(drop=True), parsed[list(keys)]], axis=1)


__all__ = ["KEY_COLUMNS", "add_term_keys", "parse_term", "term_keys"]
