"""Formulas to design matrices (via formulaic), with errors that name the column."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.fixef import has_fixef, split_fixef
from ipnstats.core.notes import Note

# Names formulaic resolves itself (transforms and modules), never data columns.
_KNOWN = {"np", "C", "I", "Q", "log", "exp", "sqrt", "center", "scale", "poly", "bs",
          "lag", "abs", "round", "hashed", "standardize"}


@dataclass(frozen=True, slots=True)
class Design:
    """Outcome and regressors of the rows a formula can use.

    ``rows`` are the positions (0-based) in the user's frame of the rows kept after
    dropping those with a missing value in a formula variable.
    """

    outcome: str
    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    intercept: bool
    rows: np.ndarray
    n_missing: int


def missing_column_error(name: str, columns: pd.Index, what: str = "column") -> SpecificationError:
    """An error naming the missing column and the closest existing ones."""
    close = difflib.get_close_matches(name, [str(c) for c in columns], n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return SpecificationError(f"{what} {name!r} is not in the data{hint}")


def require_columns(data: pd.DataFrame, names: tuple[str, ...], what: str = "column") -> None:
    """Raise a SpecificationError for the first name that is not a column of ``data``."""
    for name in names:
        if name not in data.columns:
            raise missing_column_error(name, data.columns, what)


def require_numeric_roles(data: pd.DataFrame, used: list[str], roles: str,
                          cluster: str | None = None, *,
                          numeric: list[str] | None = None) -> None:
    """Columns exist, none plays two roles, all (or those in ``numeric``) are numeric or
    boolean.

    ``roles`` names the roles in the error message, e.g. ``"x, m, y, covariates"``.
    """
    require_columns(data, tuple(used), "column")
    if cluster is not None:
        require_columns(data, (cluster,), "cluster column")
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        raise SpecificationError(f"{twice} appear in more than one role ({roles})")
    for col in used if numeric is None else numeric:
        if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
            raise SpecificationError(f"column {col!r} is not numeric (dtype {data[col].dtype}); "
                                     "encode categories as 0/1 dummy columns")


def formula_variables(formula: str) -> list[str]:
    """Data columns a formula refers to, in a stable order (with fixed effects after
    ``|``, their columns too: ``"y ~ x | firm_id + industry^year"``)."""
    from formulaic import Formula

    if has_fixef(formula):
        split = split_fixef(formula)
        effects = {c for term in split.effects for c in term.columns}
        return sorted(set(formula_variables(split.formula)) | effects)

    try:
        variables = Formula(formula).required_variables
    except Exception as exc:  # formulaic raises several parser error types
        raise SpecificationError(f"cannot parse formula {formula!r}: {exc}") from None
    return sorted(str(v) for v in variables if str(v).split(".")[0] not in _KNOWN)


def build_design(data: pd.DataFrame, formula: str) -> Design:
    """Evaluate ``formula`` on ``data``: outcome, regressors, kept rows.

    Rows with a missing value in any formula variable are dropped and counted.
    """
    from formulaic import model_matrix

    if "~" not in formula:
        raise SpecificationError(f"formula {formula!r} needs an outcome: 'y ~ x1 + x2'")
    if has_fixef(formula):
        raise SpecificationError(
            f"formula {formula!r}: fixed effects after '|' (fixest's syntax) are absorbed by "
            "panel_regression; in this model write them as dummies before it (C(firm_id))")
    used = formula_variables(formula)
    for name in used:
        if name not in data.columns:
            raise missing_column_error(name, data.columns, f"formula {formula!r} names column")
    # only the columns the formula reads: no copy of a wide frame (10M rows: ~1 GB)
    frame = data[list(dict.fromkeys(used))].reset_index(drop=True)
    try:
        mm = model_matrix(formula, frame, na_action="drop", output="pandas")
    except Exception as exc:
        raise SpecificationError(f"cannot evaluate formula {formula!r}: {exc}") from None
    lhs, rhs = mm.lhs, mm.rhs
    if lhs.shape[1] != 1:
        raise SpecificationError(f"formula {formula!r} must have exactly one outcome")
    names = tuple(str(c) for c in rhs.columns)
    rows = rhs.index.to_numpy()
    return Design(outcome=str(lhs.columns[0]), y=lhs.iloc[:, 0].to_numpy(float),
                  X=rhs.to_numpy(float), names=names, intercept="Intercept" in names,
                  rows=rows, n_missing=len(frame) - len(rows))


def column_names(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    """A column name or sequence of names as a tuple, each named once."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) for v in names):
        raise SpecificationError(f"{what} must be column names, got {value!r}")
    if len(set(names)) != len(names):
        raise SpecificationError(f"{what} names a column twice: {list(names)}")
    return names


def complete_rows(data: pd.DataFrame, columns: list[str], what: str = "rows",
                  left_out: str = "left out") -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows of ``columns`` without a missing value, renumbered, and a note counting the rest.

    The note ends "... and were <left_out>." (e.g. ``"left out of every equation"``).
    """
    frame = data[columns]
    missing = frame.isna()
    keep = ~missing.any(axis=1)
    if keep.all():
        return frame.reset_index(drop=True), ()
    which = ", ".join(f"{c} ({int(k):,})" for c, k in missing.sum().items() if k)
    note = Note("missing_dropped", f"{int((~keep).sum()):,} of {len(frame):,} {what} have a "
                f"missing value (by column: {which}) and were {left_out}.")
    return frame[keep].reset_index(drop=True), (note,)
