"""Column checks shared by the measurement modules: names with a close match, numbers."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError


def require_columns(data: object, columns: Iterable[str], *, role: str = "column") -> list[str]:
    """``columns`` as a list, after checking that ``data`` is a DataFrame holding each."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    names = list(columns)
    for name in names:
        if not isinstance(name, str):
            raise SpecificationError(f"{role} names must be strings, not {name!r}")
        if name not in data.columns:
            hint = close_match(name, [str(c) for c in data.columns])
            raise SpecificationError(f"{role} {name!r} is not a column of the data{hint}")
    if len(set(names)) != len(names):
        raise SpecificationError(f"a {role} is named twice in {names}")
    return names


def numeric_matrix(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The columns as a float matrix (NaN for missing); DataError naming a column and a
    value that is not a finite number."""
    out = np.empty((len(data), len(columns)))
    for j, name in enumerate(columns):
        col = data[name]
        if not (pd.api.types.is_numeric_dtype(col) or col.dtype == object) or \
                pd.api.types.is_bool_dtype(col):
            raise DataError(f"column {name!r} must hold numbers, not {col.dtype}")
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (np.isnan(values) & col.notna().to_numpy()) | np.isinf(values)
        if bad.any():
            raise DataError(f"column {name!r} holds {col[bad].iloc[0]!r}, which is not a finite "
                            f"number; recode it or set it missing")
        out[:, j] = values
    return out


def close_match(name: str, names: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``names`` (case-insensitive), or ""."""
    lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1)
    return f"; did you mean {lower[close[0]]!r}?" if close else ""
