"""Column parsers: raw values in, typed values and a mask of unparseable cells out.

Each parser takes the column as read and returns ``(values, bad)``, where ``bad``
marks non-empty cells that could not be read as the kind asks. Missing cells are
never ``bad`` here: whether a column may be empty is checked by the caller.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def _clean_categories(s: pd.Series, clean) -> pd.Series:
    """Text as a categorical whose distinct values went through ``clean``.

    ``clean`` maps an array of distinct texts to cleaned texts ("" = missing); values
    that become equal are merged. The cost grows with the number of distinct values.
    """
    if not isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype("str").astype("category")
    cat = s.cat
    norm = clean(cat.categories)
    if len(norm) and (norm != "").all() and (norm == cat.categories.to_numpy(dtype=object)).all():
        return s.cat.set_categories(cat.categories.astype("str"))
    uniq, inverse = np.unique(norm, return_inverse=True)
    codes = cat.codes.to_numpy()
    new_codes = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
    blank = np.flatnonzero(uniq == "")
    if len(blank):  # blank texts are missing values
        new_codes = np.where(new_codes == blank[0], -1, new_codes)
        new_codes = new_codes - (new_codes > blank[0])
        uniq = np.delete(uniq, blank[0])
    out = pd.Categorical.from_codes(new_codes, dtype=pd.CategoricalDtype(
        pd.Index(uniq, dtype="str")))
    return pd.Series(out, index=s.index, name=s.name)


def _arrow_text(categories: pd.Index) -> pa.Array:
    return pc.utf8_trim_whitespace(pa.array(categories.astype("str"), type=pa.string()))


def _texts(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _normalise_ids(categories: pd.Index) -> np.ndarray:
    """Strip spaces and a trailing ``.0`` (ids stored as floats) from distinct ids."""
    arr = pc.replace_substring_regex(_arrow_text(categories), pattern=r"^(-?\d+)\.0+$",
                                     replacement=r"\1")
    return _texts(arr)


def _stripped(categories: pd.Index) -> np.ndarray:
    return _texts(_arrow_text(categories))


def _stripped_lower(categories: pd.Index) -> np.ndarray:
    return _texts(pc.utf8_lower(_arrow_text(categories)))


def parse_id(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Identifiers as categorical text; ``1``, ``1.0`` and `` 1 `` are one id."""
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Float64")
    return _clean_categories(s, _normalise_ids), np.zeros(len(s), bool)


def parse_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Free text as a categorical, stripped; empty means missing."""
    return _clean_categories(s, _stripped), np.zeros(len(s), bool)


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
    if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.ArrowDtype):
        none = np.zeros(len(s), bool)
        return s.astype(np.int64), none, none
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
    text = _clean_categories(s, _stripped_lower)
    ok = text.isin(list(choices)).to_numpy()
    values = text.cat.set_categories(list(choices))
    return values, ~ok & text.notna().to_numpy()


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


def id_index(ids: pd.Series) -> pd.Index:
    """The distinct ids of a column as a text index, for :func:`id_codes`."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        seen = np.bincount(codes[codes >= 0], minlength=len(ids.cat.categories)) > 0
        return pd.Index(ids.cat.categories[seen]).astype("str")
    return pd.Index(ids.dropna().astype("str").unique())


def id_codes(values: pd.Series, ids: pd.Series | pd.Index) -> np.ndarray:
    """Position of each id of ``values`` in ``ids`` (-1: missing or unknown).

    ``ids`` is an index of distinct ids (see :func:`id_index`) or a column. When
    ``values`` is categorical only its categories are looked up, so the cost grows
    with the number of distinct ids, not with the number of rows.
    """
    reference = ids if isinstance(ids, pd.Index) else id_index(ids)
    if isinstance(values.dtype, pd.CategoricalDtype):
        lookup = reference.get_indexer(values.cat.categories.astype("str"))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1).astype(np.int64)
    present = values.notna().to_numpy()
    found = reference.get_indexer(values.astype("str")).astype(np.int64)
    return np.where(present, found, -1)
