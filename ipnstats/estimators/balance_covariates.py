"""Shared pieces of the covariate-balancing tools: the treatment indicator, the covariate
matrix (factors split into one indicator per level, as cobalt's ``splitfactor``), weighted
moments in cobalt's conventions and Kish's effective sample size.

The complete-case rule: a row with a missing treatment or covariate (or weight) is left
out of every statistic and gets a missing weight, with a ``missing_dropped`` note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.formula import require_columns
from ipnstats.results.notes import Note

#: a group's Kish effective sample size below this share of its size gets a note
LOW_ESS_SHARE = 0.1


@dataclass(frozen=True)
class Covariates:
    """The complete rows: positions in ``data`` (``rows``), the 0/1 treatment ``d``,
    the covariate matrix ``X`` with column ``names`` and which columns are ``binary``."""

    rows: np.ndarray
    d: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    binary: np.ndarray
    n_missing: int

    def missing_note(self) -> tuple[Note, ...]:
        if not self.n_missing:
            return ()
        return (Note("missing_dropped", f"{self.n_missing:,} rows with a missing treatment "
                     "or covariate were left out (their weight is missing)."),)


def covariate_names(covariates: str | Sequence[str]) -> tuple[str, ...]:
    """``covariates`` as a tuple of column names (one name or a sequence of names)."""
    names = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    if not names or not all(isinstance(n, str) for n in names):
        raise SpecificationError(f"covariates must be one or more column names, got "
                                 f"{covariates!r}")
    return names


def treatment_indicator(data: pd.DataFrame, treatment: str) -> np.ndarray:
    """The treatment column as floats 0/1 (NaN where missing); anything else is an error."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    require_columns(data, (treatment,), "treatment column")
    col = data[treatment]
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise SpecificationError(
            f"the treatment {treatment!r} must be 0/1 (or boolean); it has dtype {col.dtype}: "
            f"recode it, e.g. (data[{treatment!r}] == 'yes').astype(int)")
    d = col.astype("float64").to_numpy(na_value=np.nan)
    seen = np.unique(d[~np.isnan(d)])
    if not np.isin(seen, (0.0, 1.0)).all():
        raise SpecificationError(f"the treatment {treatment!r} must be 0/1; it takes the "
                                 f"values {seen[:5].tolist()}{' ...' if seen.size > 5 else ''}")
    return d


def _expand(data: pd.DataFrame, name: str) -> tuple[list[str], list[np.ndarray], list[bool]]:
    """One column, or one indicator per level of a text/categorical column (NaN kept)."""
    col = data[name]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        x = col.astype("float64").to_numpy(na_value=np.nan)
        known = x[~np.isnan(x)]
        return [name], [x], [bool(known.size) and bool(np.isin(known, (0.0, 1.0)).all())]
    missing = col.isna().to_numpy()
    levels = sorted(pd.unique(col.dropna()), key=str)
    names, cols = [], []
    for level in levels:
        x = (col == level).to_numpy(dtype=float)
        x[missing] = np.nan
        names.append(f"{name}_{level}")
        cols.append(x)
    return names, cols, [True] * len(cols)


def covariate_matrix(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str],
                     extra: np.ndarray | None = None) -> Covariates:
    """The complete rows of the treatment and covariates (and of ``extra``, e.g. weights,
    one value per row of ``data``); both groups must be present."""
    d = treatment_indicator(data, treatment)
    names_in = covariate_names(covariates)
    require_columns(data, names_in, "covariate")
    if treatment in names_in:
        raise SpecificationError(f"the treatment {treatment!r} is also a covariate")
    names, cols, binary = [], [], []
    for name in names_in:
        n, c, b = _expand(data, name)
        names += n
        cols += c
        binary += b
    X = np.column_stack(cols) if cols else np.empty((len(data), 0))
    ok = ~np.isnan(d) & ~np.isnan(X).any(axis=1)
    if extra is not None:
        ok &= ~np.isnan(extra)
    rows = np.flatnonzero(ok)
    dd = d[rows]
    n1, n0 = int((dd == 1).sum()), int((dd == 0).sum())
    if n1 == 0 or n0 == 0:
        raise DataError(f"the complete rows ({rows.size:,} of {len(data):,}) have {n1:,} "
                        f"treated and {n0:,} control units of {treatment!r}: both groups are "
                        "needed")
    return Covariates(rows, dd, X[rows], tuple(names), np.array(binary, dtype=bool),
                      len(data) - rows.size)


def kish_ess(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0


def weighted_mean(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return w @ X / w.sum()


def weighted_var(X: np.ndarray, w: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """cobalt's ``col_w_v``: ``p(1 - p)`` for binary columns; for the others
    ``sum w~ (x - m)^2 / (1 - sum w~^2)`` with ``w~ = w / sum w`` (``n - 1`` unweighted)."""
    wn = w / w.sum()
    m = wn @ X
    var = (wn @ (X - m) ** 2) / (1 - (wn**2).sum()) if wn.size > 1 else np.full(m.size,
                                                                               np.nan)
    return np.where(binary, np.clip(m * (1 - m), 0, None), var)


def ess_note(w: np.ndarray, group: str) -> tuple[Note, ...]:
    ess = kish_ess(w)
    if ess >= LOW_ESS_SHARE * w.size:
        return ()
    return (Note("low_effective_sample", f"The weighted {group} units have a Kish "
                 f"effective sample size of {ess:.1f} of {w.size:,}: a few units carry most "
                 "of the weight."),)


def aligned_weights(data: pd.DataFrame, rows: np.ndarray, values: np.ndarray,
                    name: str) -> pd.Series:
    """Weights on ``data``'s index: ``values`` at ``rows``, NaN elsewhere."""
    out = np.full(len(data), np.nan)
    out[rows] = values
    return pd.Series(out, index=data.index, name=name)


__all__ = ["Covariates", "aligned_weights", "covariate_matrix", "covariate_names",
           "ess_note", "kish_ess", "treatment_indicator", "weighted_mean", "weighted_var"]
