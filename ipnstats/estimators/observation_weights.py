"""Observation weights of linear panel regressions: analytic and frequency weights.

The conventions are pyfixest's ``feols(..., weights=, weights_type=)`` and Stata's
``[aweight=w]`` / ``[fweight=w]`` (see ``docs/inference.md``):

- Weighted least squares: every row of the (within-transformed) regression is
  multiplied by ``sqrt(w_i)``; the within transformation subtracts weighted means.
- ``"aweights"`` (analytic, precision): ``Var(u_i) = sigma^2 / w_i``; ``n`` counts rows
  and nothing depends on the weights' scale.
- ``"fweights"`` (frequency): row ``i`` stands for ``w_i`` identical observations;
  ``n = sum(w)`` in every degree of freedom and small-sample factor, and every
  statistic is that of the data with each row repeated ``w_i`` times.

The checks here run once, at the boundary: a missing weight makes a row incomplete (it
is left out and counted with the rows missing a formula variable); a negative,
infinite or (``fweights``) non-integer weight is a DataError naming the rows; rows of
zero weight are dropped from the sample, as Stata does, with a note.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.formula import Design, require_columns
from ipnstats.estimators.linear import OLSFit, ols
from ipnstats.results.notes import Note

WeightsType = Literal["aweights", "fweights"]
WEIGHTS_TYPES = ("aweights", "fweights")

#: Why an estimator takes no weights (Stata's ``xtreg`` rules).
REFUSED = {
    "random": "Stata's xtreg, re takes no weights (the variance components of a weighted "
              "random-effects GLS are not defined); use estimator='within' or 'pooled' "
              "with weights",
    "between": "Stata's xtreg, be takes no weights (its 'wls' option weights unit means by "
               "their number of periods, not by a weight column); use estimator='pooled' "
               "or 'within' with weights, or regress the unit means yourself",
}


@dataclass(frozen=True, slots=True)
class ObservationWeights:
    """A weight column and its kind, checked at the boundary."""

    column: str
    kind: WeightsType

    @property
    def frequency(self) -> bool:
        return self.kind == "fweights"

    def describe(self) -> str:
        """``"aweights(w)"``: what glance() and the methods text show."""
        return f"{self.kind}({self.column})"


def parse_weights(weights: object, weights_type: object) -> ObservationWeights | None:
    """Check ``weights=`` (a column name or None) and ``weights_type=``."""
    if weights_type not in WEIGHTS_TYPES:
        raise SpecificationError(f"weights_type must be 'aweights' or 'fweights', got "
                                 f"{weights_type!r}")
    if weights is None:
        return None
    if not isinstance(weights, str):
        raise SpecificationError(f"weights must be the name of a column, got {weights!r}")
    return ObservationWeights(weights, weights_type)


def check_estimator(w: ObservationWeights | None, estimator: str) -> None:
    """Refuse weights where Stata's ``xtreg`` defines none."""
    if w is not None and estimator in REFUSED:
        raise SpecificationError(f"weights are not available for the {estimator} estimator: "
                                 f"{REFUSED[estimator]}")


def _rows_named(data: pd.DataFrame, rows: np.ndarray, bad: np.ndarray) -> str:
    labels = data.index[rows[bad]]
    first = ", ".join(map(repr, labels[:5].tolist()))
    return f"row label{'s' if len(labels) > 1 else ''} {first}" + (", ..." if len(labels) > 5
                                                                      else "")


def _refuse(data: pd.DataFrame, rows: np.ndarray, bad: np.ndarray, column: str,
            what: str, fix: str) -> None:
    if bad.any():
        raise DataError(f"weights column {column!r} has {int(bad.sum()):,} {what} "
                        f"({_rows_named(data, rows, bad)}); {fix}")


def weight_values(data: pd.DataFrame, w: ObservationWeights, rows: np.ndarray) -> np.ndarray:
    """The weights of ``rows`` (positions in ``data``) as floats, NaN where missing;
    a DataError for a negative, infinite or (fweights) non-integer weight."""
    require_columns(data, (w.column,), "weights column")
    series = data[w.column]
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise SpecificationError(f"weights column {w.column!r} is not numeric (dtype "
                                 f"{series.dtype}); weights must be non-negative numbers")
    values = series.to_numpy(dtype=float, na_value=np.nan)[rows]
    known = ~np.isnan(values)
    _refuse(data, rows, known & np.isinf(values), w.column, "infinite value(s)",
            "weights must be finite")
    _refuse(data, rows, known & (values < 0), w.column, "negative value(s)",
            "weights must be zero or positive")
    if w.frequency:
        _refuse(data, rows, known & (values != np.round(values)), w.column,
                "non-integer value(s)", "frequency weights count observations; use "
                "weights_type='aweights' for other weights")
    return values


def weighted_design(design: Design, data: pd.DataFrame,
                    w: ObservationWeights) -> tuple[Design, np.ndarray, tuple[str, ...]]:
    """The design without rows of missing or zero weight, their weights, and a note on
    the zero-weight rows. Rows of missing weight join the design's missing rows."""
    values = weight_values(data, w, design.rows)
    missing = np.isnan(values)
    zero = values == 0
    keep = ~missing & ~zero
    if not keep.any():
        raise DataError(f"no rows with a positive weight: of the {design.rows.size:,} rows "
                        f"complete in the formula, {int(missing.sum()):,} have a missing and "
                        f"{int(zero.sum()):,} a zero weight in {w.column!r}")
    notes = (Note("zero_weight_dropped",
                  f"{int(zero.sum()):,} rows with zero weight in {w.column!r} were left out "
                  "of the sample (as Stata does)."),) if zero.any() else ()
    if keep.all():
        return design, values, notes
    design = dataclasses.replace(design, y=design.y[keep], X=design.X[keep],
                                 rows=design.rows[keep],
                                 n_missing=design.n_missing + int(missing.sum()))
    return design, values[keep], notes


def check_constant_within_units(w: ObservationWeights, weights: np.ndarray,
                                units: np.ndarray) -> None:
    """First differences: a difference spans two periods, so its weight is defined only
    when the weights are constant within units (as Stata's panel commands require)."""
    lo = np.full(int(units.max()) + 1, np.inf)
    hi = np.full(lo.size, -np.inf)
    np.minimum.at(lo, units, weights)
    np.maximum.at(hi, units, weights)
    varies = int((hi > lo).sum())
    if varies:
        raise SpecificationError(
            f"first differences take weights only when they are constant within units (a "
            f"difference spans two periods, and Stata's panel commands require weights "
            f"constant within panel); {w.column!r} varies within {varies:,} unit(s): use a "
            "unit-level weight or estimator='within'")


def weighted_ols(X: np.ndarray, y: np.ndarray, names: tuple[str, ...],
                 weights: np.ndarray | None) -> tuple[OLSFit, np.ndarray, np.ndarray]:
    """Least squares of ``sqrt(w) y`` on ``sqrt(w) X`` (plain OLS without weights): the
    fit, the scaled ``X`` and the residuals on the original scale."""
    if weights is None:
        fit = ols(X, y, names)
        return fit, X, fit.resid
    root = np.sqrt(weights)
    scaled = X * root[:, None]
    fit = ols(scaled, y * root, names)
    return fit, scaled, fit.resid / root


def effect_leverage(effects: list[tuple[np.ndarray, int]],
                    weights: np.ndarray | None) -> np.ndarray | None:
    """The leverage of one set of absorbed effects: ``1 / n_g``, weighted ``w_i / W_g``
    (none for two sets: HC2/HC3 are refused there)."""
    if len(effects) != 1:
        return None
    codes, g = effects[0]
    if weights is None:
        return 1 / np.bincount(codes)[codes]
    return weights / np.bincount(codes, weights=weights, minlength=g)[codes]
