"""Column parsers: raw values in, typed values and a mask of unparseable cells out.

Each parser takes the column as read and returns ``(values, bad)``, where ``bad``
marks non-empty cells that could not be read as the kind asks. Missing cells are
never ``bad`` here: whether a column may be empty is checked by the caller.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_TRAILING_ZEROS = re.compile(r"^(-?\d+)\.0+$")
_MONEY = re.compile(
    r"^(?P<neg>-)?(?P<open>\()?\s*[$€£]?\s*"
    r"(?P<num>\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+)\s*(?P<close>\))?$"
)
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}
_DATE_FORMATS = ("%Y/%m/%d", "%d.%m.%Y")


def _blank(s: pd.Series) -> pd.Series:
    """Strip text; empty strings become missing."""
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def parse_id(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Identifiers as categorical text; ``1``, ``1.0`` and `` 1 `` are one id."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.cat
        norm = _normalise_ids(pd.Series(cat.categories, dtype="str"))
        uniq, inverse = np.unique(norm.to_numpy(dtype=object, na_value=""), return_inverse=True)
        codes = cat.codes.to_numpy()
        new_codes = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
        out = pd.Categorical.from_codes(new_codes, categories=uniq)
        out = out.remove_categories([""]) if "" in uniq else out
        return pd.Series(out, index=s.index, name=s.name), np.zeros(len(s), bool)
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Float64").astype("str")
    return (_normalise_ids(s.astype("str")).astype("category").rename(s.name),
            np.zeros(len(s), bool))


def _normalise_ids(s: pd.Series) -> pd.Series:
    s = _blank(s)
    return s.str.replace(_TRAILING_ZEROS, r"\1", regex=True)


def parse_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Free text, stripped; empty means missing."""
    return _blank(s), np.zeros(len(s), bool)


def parse_number(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers; also ``1,234.50``, ``$1,234`` and accounting negatives ``(1,234)``."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64"), np.zeros(len(s), bool)
    text = _blank(s)
    present = text.notna().to_numpy()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan,
                                                         copy=True)
    todo = np.isnan(values) & present
    if todo.any():
        values[todo] = [_money(t) for t in text[todo]]
    return pd.Series(values, index=s.index, name=s.name), np.isnan(values) & present


def _money(text: str) -> float:
    match = _MONEY.match(text)
    if not match or bool(match["open"]) != bool(match["close"]):
        return np.nan
    value = float(match["num"].replace(",", ""))
    return -value if (match["neg"] or match["open"]) else value


def parse_integer(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Whole numbers: returns values, unparseable cells, and non-integral numbers."""
    values, bad = parse_number(s)
    fractional = (values.notna() & (values != np.round(values))).to_numpy()
    return values.where(~fractional), bad, fractional


def parse_binary(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """0/1 values; true/false and yes/no accepted, case and spaces forgiven."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64")
        bad = (values.notna() & ~values.isin([0.0, 1.0])).to_numpy()
        return values.where(~bad), bad
    text = _blank(s).str.lower()
    values = pd.Series(np.where(text.isin(list(_TRUE)), 1.0,
                                np.where(text.isin(list(_FALSE)), 0.0, np.nan)),
                       index=s.index, name=s.name)
    return values, (values.isna() & text.notna()).to_numpy()


def parse_choice(s: pd.Series, choices: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """One of ``choices``; case and surrounding spaces forgiven."""
    text = _blank(s).str.lower()
    ok = text.isin(list(choices))
    values = pd.Categorical(text.where(ok), categories=list(choices))
    return pd.Series(values, index=s.index, name=s.name), (~ok & text.notna()).to_numpy()


def parse_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Calendar dates (time of day dropped): ISO 8601, YYYY/MM/DD or DD.MM.YYYY."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype("datetime64[s]").dt.normalize(), np.zeros(len(s), bool)
    if s.dtype == object and s.map(lambda v: hasattr(v, "year") or v is None).all():
        return pd.to_datetime(s).astype("datetime64[s]").dt.normalize(), np.zeros(len(s), bool)
    text = _blank(s)
    present = text.notna().to_numpy()
    values = pd.to_datetime(text, format="ISO8601", errors="coerce").astype("datetime64[s]")
    for fmt in _DATE_FORMATS:
        todo = (values.isna().to_numpy() & present)
        if not todo.any():
            break
        values[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype(
            "datetime64[s]")
    values = values.dt.normalize()
    return values, values.isna().to_numpy() & present


def id_codes(values: pd.Series, ids: pd.Series | pd.Index) -> np.ndarray:
    """Position of each id of ``values`` among the unique ``ids`` (-1: missing or unknown).

    Works on the categories of a categorical column, so it costs one pass over the
    integer codes however long the column is.
    """
    reference = pd.Index(pd.Series(ids).dropna().astype(str).unique())
    if isinstance(values.dtype, pd.CategoricalDtype):
        lookup = reference.get_indexer(values.cat.categories.astype(str))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1).astype(np.int64)
    present = values.notna().to_numpy()
    found = reference.get_indexer(values.astype(str)).astype(np.int64)
    return np.where(present, found, -1)
