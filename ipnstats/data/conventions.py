"""Number and date conventions other than the default: decimal commas, thousands
separators, and hints on which date format a column of unread dates is written in.

Used by :mod:`ipnstats.data.columns` when a table's codebook section sets ``decimal``,
``thousands`` or ``date_format``; the default reading does not come here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ipnstats.core.errors import SpecificationError

DECIMAL_MARKS = (".", ",")
THOUSANDS_MARKS = (".", ",", " ", "'")
_SPACES = (" ", "\u00a0", "\u202f")  # a space, a no-break and a narrow no-break space


def number_marks(decimal: str = ".",
                 thousands: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """The decimal mark and the thousands separators to read, or None for the default
    reading (decimal point, comma thousands); SpecificationError for marks not handled.

    ``thousands=None`` with ``decimal=","`` reads a point or a space as the thousands
    separator; a space stands for the no-break spaces too.
    """
    if decimal not in DECIMAL_MARKS:
        raise SpecificationError(f"decimal must be one of {DECIMAL_MARKS}, not {decimal!r}")
    if thousands is not None and (thousands not in THOUSANDS_MARKS or thousands == decimal):
        raise SpecificationError(
            f"thousands must be one of {THOUSANDS_MARKS} other than the decimal "
            f"mark {decimal!r}, or None; not {thousands!r}")
    if decimal == "." and thousands in (None, ","):
        return None
    if thousands is None:
        return decimal, (".",) + _SPACES
    return decimal, _SPACES if thousands == " " else (thousands,)


def number_pattern(decimal: str, seps: tuple[str, ...]) -> str:
    """A full-match RE2 pattern for a number with these marks: one sign, before or after
    a currency sign ($, €, £; which may also follow the number), or accounting
    parentheses around an unsigned number."""
    sep = "[" + "".join(re.escape(c) for c in seps) + "]"
    dec = re.escape(decimal)
    num = (rf"(?:\d{{1,3}}(?:{sep}\d{{3}})+(?:{dec}\d+)?|\d+(?:{dec}\d+)?(?:[eE][+-]?\d+)?"
           rf"|{dec}\d+)")
    cur, sign = r"[$€£]\s*", r"[-+\x{2212}]\s*"
    lead = rf"(?:{sign}(?:{cur})?|(?:{cur})?(?:{sign})?)"
    after = r"(?:\s*[$€£])?"
    return rf"^(?:{lead}{num}{after}|\(\s*(?:{cur})?{num}{after}\s*\))$"


def marked_numbers(s: pd.Series, decimal: str,
                   seps: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """Text numbers with the given marks -> (floats, bad cells), in Arrow; on the
    distinct values of a categorical column. Blank cells are missing, not bad;
    non-finite numbers are bad.

    Cells that match :func:`number_pattern` lose their thousands separators, currency
    signs, spaces and parentheses, the decimal mark becomes a point, and Arrow reads
    the rest as a float (negated for parentheses).
    """
    categorical = isinstance(s.dtype, pd.CategoricalDtype)
    source = s.cat.categories if categorical else s
    text = pc.utf8_trim_whitespace(pa.array(source.astype("str"), type=pa.string(),
                                            from_pandas=True))
    valid = pc.match_substring_regex(text, number_pattern(decimal, seps))
    number = pc.if_else(valid, text, pa.scalar(None, pa.string()))
    for sep in seps:
        number = pc.replace_substring(number, sep, "")
    number = pc.replace_substring_regex(number, r"[$€£()\s]", "")
    number = pc.replace_substring(pc.replace_substring(number, decimal, "."), "\u2212", "-")
    try:
        value = pc.cast(number, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # (not expected of what the pattern lets through)
        value = pd.to_numeric(number.to_pandas(), errors="coerce").to_numpy(dtype=float)
    value = np.where(_holds(pc.starts_with(text, "(")), -value, value)
    blank = ~_holds(pc.not_equal(text, ""))
    if categorical:
        codes = s.cat.codes.to_numpy()
        value, blank = np.append(value, np.nan)[codes], np.append(blank, True)[codes]
    elif s.dtype == object:  # numbers in a column of objects (Excel) are taken as they are
        numeric = s.map(_is_number).to_numpy(bool)
        value[numeric] = s[numeric].to_numpy(dtype=float)
    value[~np.isfinite(value)] = np.nan
    return pd.Series(value, index=s.index, name=s.name), np.isnan(value) & ~blank


def _is_number(cell) -> bool:
    return isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(
        cell, (bool, np.bool_)) and cell == cell  # (NaN: a missing cell)


def _holds(condition: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, missing as False."""
    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})\s*$")
_WHERE = "for this table in codebook.toml"


def date_hint(s: pd.Series, bad: np.ndarray, *, max_values: int = 10_000) -> str | None:
    """A hint for dates that could not be read: the ``date_format`` that fits them.

    Looks at (up to ``max_values`` distinct) bad cells written as day, month and year
    with slashes, dashes or points. When the first number is above 12 somewhere (and
    the second never), they are day-first; the other way round, month-first; the hint
    names the format. When both are 12 or less everywhere, the dates may be either,
    and the hint names both formats. None when the bad cells are not such dates (or
    mix both orders).

    Examples
    --------
    >>> s = pd.Series(["03/04/2019", "05/06/2019"])
    >>> print(date_hint(s, np.array([True, True])))  # doctest: +NORMALIZE_WHITESPACE
    dates such as '03/04/2019' may be day-first or month-first: set date_format =
    "%d/%m/%Y" (or "%m/%d/%Y") for this table in codebook.toml
    """
    cells = pd.unique(np.asarray(s[np.asarray(bad, bool)].astype("str"), dtype=object))
    found = [(m[0].strip(), int(m[1]), m[2], int(m[3]), len(m[4]))
             for m in map(_DAY_MONTH.match, cells[:max_values]) if m]
    if not found:
        return None
    seps = [f[2] for f in found]
    sep = max(set(seps), key=seps.count)
    found = [f for f in found if f[2] == sep]
    year = "%Y" if max(f[4] for f in found) == 4 else "%y"
    day_first, month_first = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
    high_first = [f[0] for f in found if f[1] > 12]
    high_second = [f[0] for f in found if f[3] > 12]
    if high_first and not high_second:
        return (f"dates such as {high_first[0]!r} are day-first: "
                f'set date_format = "{day_first}" {_WHERE}')
    if high_second and not high_first:
        return (f"dates such as {high_second[0]!r} are month-first: "
                f'set date_format = "{month_first}" {_WHERE}')
    if not high_first:
        return (f"dates such as {found[0][0]!r} may be day-first or month-first: set "
                f'date_format = "{day_first}" (or "{month_first}") {_WHERE}')
    return None


def date_format_problem(date_format: str) -> str | None:
    """Why ``date_format`` cannot be a table's date format, or None when it can: it must
    be a strftime format that writes a day, a month and a year and reads them back.

    Examples
    --------
    >>> date_format_problem("%d/%m/%Y") is None
    True
    >>> print(date_format_problem("%d/%m"))
    date_format '%d/%m' does not read back day, month and year (write e.g. "%d/%m/%Y")
    """
    sample = pd.Timestamp(2019, 3, 25)  # day and month differ, the day is above 12
    if not isinstance(date_format, str) or "%" not in date_format:
        return f"date_format {date_format!r} is not a strftime format such as \"%d/%m/%Y\""
    try:
        back = pd.to_datetime(pd.Series([sample.strftime(date_format)]), format=date_format,
                              errors="coerce").iloc[0]
    except ValueError as exc:
        return f"date_format {date_format!r} is not a strftime format: {exc}"
    if pd.isna(back) or back.normalize() != sample:
        return (f"date_format {date_format!r} does not read back day, month and year "
                "(write e.g. \"%d/%m/%Y\")")
    return None
