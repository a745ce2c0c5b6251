"""Complementary suppression of small counts: no hidden count can be recovered.

Hiding a count below the disclosure threshold is not enough when the table (or its text)
also shows totals, or another cell derived from the hidden one: the firms of one cohort
follow from the total number of firms minus the shown cohorts, and 30 firm-years of a
cohort with fewer than 3 firms (at most 15 years per firm) mean exactly 2 firms.

:func:`suppress_counts` hides the primary cells (``0 < n < threshold``), every cell
linked to a hidden one (firm-years beside firms), and then, while a reader could still
narrow a primary cell to one integer, further cells of the same column (the smallest
shown ones first) and finally the column's total. Whether a primary cell is protected
is decided by linear programming over everything a reader sees: the shown cells, the
published totals, the ``<k`` label of each primary cell, ``>= k`` for the other hidden
counts and the bounds that link two columns. The routine is a pure function of a frame
of counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ipnstats.core.errors import SpecificationError


@dataclass(frozen=True)
class CountSuppression:
    """What :func:`suppress_counts` hides.

    Attributes
    ----------
    counts
        The counts (rows x columns of non-negative integers).
    primary
        Cells below the threshold (and above zero).
    suppressed
        Every hidden cell: primary, linked and complementary.
    hidden_totals
        Columns whose total must not be published either.
    threshold
        The disclosure threshold.
    links
        ``{derived column: (source column, ratio)}``: ``source <= derived <= ratio *
        source`` row by row (firm-years are at least the firms and at most the firms times
        the number of years).
    """

    counts: pd.DataFrame
    primary: pd.DataFrame
    suppressed: pd.DataFrame
    hidden_totals: tuple[str, ...]
    threshold: int
    links: Mapping[str, tuple[str, float]] = field(default_factory=dict)

    def text(self, small: str | None = None, hidden: str = "—") -> pd.DataFrame:
        """The counts as text: ``<k`` for a primary cell, ``hidden`` for the other hidden
        cells, thousands separators otherwise. With a threshold of 2 or less a primary
        cell reads as ``hidden`` too (``<2`` would say it is 1)."""
        small = small or (f"<{self.threshold}" if self.threshold > 2 else hidden)
        out = self.counts.map(lambda n: f"{int(n):,}")
        out = out.mask(self.suppressed, hidden)
        return out.mask(self.primary, small)


def suppress_counts(counts: pd.DataFrame, threshold: int, *, totals: bool = True,
                    links: Mapping[str, tuple[str, float]] | None = None,
                    sensitive: Sequence[str] | None = None) -> CountSuppression:
    """Primary, linked and complementary suppression of a table of counts.

    Parameters
    ----------
    counts
        Non-negative integer counts, one column per kind of count (``firms``,
        ``firm_years``); the rows are the categories (cohorts).
    threshold
        A count ``0 < n < threshold`` is hidden (the codebook's disclosure threshold).
    totals
        Whether the column totals are published (in the table or its text); when they
        are, hidden cells are protected against them.
    links
        ``{derived column: (source column, ratio)}``; a derived cell is hidden with its
        source cell, and the bounds ``source <= derived <= ratio * source`` count as
        known to the reader.
    sensitive
        The columns counting what the threshold protects (firms); default every column.
        Other columns (firm-years) are hidden only as linked or complementary cells.

    Returns
    -------
    CountSuppression
        The masks; ``hidden_totals`` names the columns whose total must go too (only
        when hiding every other cell of the column could not protect a primary one).

    Examples
    --------
    >>> frame = pd.DataFrame({"firms": [2, 40, 55], "firm_years": [30, 500, 700]})
    >>> s = suppress_counts(frame, 3, links={"firm_years": ("firms", 15)})
    >>> s.text()["firms"].tolist()
    ['<3', '—', '55']
    """
    links = dict(links or {})
    _check(counts, threshold, links)
    values = counts.to_numpy(float)
    primary = (values > 0) & (values < threshold)
    flags = [sensitive is None or c in sensitive for c in counts.columns]
    primary[:, [not f for f in flags]] = False
    hidden = _with_links(primary.copy(), counts, links)
    hidden_totals: set[int] = set()
    while True:
        weak = [(i, j) for i, j in zip(*np.nonzero(primary), strict=True)
                if not _protected(values, primary, hidden, hidden_totals, totals, threshold,
                                  counts, links, i, j, flags)]
        if not weak:
            break
        i, j = weak[0]
        candidates = [(values[r, j], r) for r in range(len(values))
                      if not hidden[r, j] and values[r, j] > 0]
        if candidates:
            hidden[min(candidates)[1], j] = True
            hidden = _with_links(hidden, counts, links)
        elif totals and (left := [t for t in _total_order(j, counts, links)
                                  if t not in hidden_totals]):
            hidden_totals.add(left[0])
        else:  # every cell and every total are hidden: as protected as it gets
            break
    frame = lambda mask: pd.DataFrame(mask, index=counts.index, columns=counts.columns)  # noqa: E731
    return CountSuppression(counts, frame(primary), frame(hidden),
                            tuple(str(counts.columns[j]) for j in sorted(hidden_totals)),
                            int(threshold), links)


def _total_order(j: int, counts: pd.DataFrame,
                 links: Mapping[str, tuple[str, float]]) -> list[int]:
    """The totals to hide for column ``j``, in order: its own, then its linked columns'."""
    cols = list(counts.columns)
    name = cols[j]
    linked = [d for d, (src, _) in links.items() if src == name]
    linked += [src for d, (src, _) in links.items() if d == name]
    return [j, *(cols.index(c) for c in linked)]


def _check(counts: pd.DataFrame, threshold: int, links: Mapping[str, tuple[str, float]]) -> None:
    if not all(pd.api.types.is_numeric_dtype(counts[c]) for c in counts.columns):
        raise SpecificationError("suppress_counts needs numeric counts in every column")
    if (counts.to_numpy(float) < 0).any() or counts.isna().to_numpy().any():
        raise SpecificationError("suppress_counts needs non-negative counts, no missing value")
    if threshold < 1:
        raise SpecificationError(f"the disclosure threshold must be at least 1, got {threshold}")
    for derived, (source, ratio) in links.items():
        if derived not in counts.columns or source not in counts.columns or ratio < 1:
            raise SpecificationError(f"link {derived!r} <- ({source!r}, {ratio}) needs two "
                                     "columns of the counts and a ratio of at least 1")


def _with_links(hidden: np.ndarray, counts: pd.DataFrame,
                links: Mapping[str, tuple[str, float]]) -> np.ndarray:
    """Hide the derived cell of every hidden source cell."""
    cols = list(counts.columns)
    for derived, (source, _) in links.items():
        hidden[:, cols.index(derived)] |= hidden[:, cols.index(source)]
    return hidden


def feasible_range(values: np.ndarray, primary: np.ndarray, hidden: np.ndarray,
                   published_totals: list[bool], threshold: int,
                   links: list[tuple[int, int, float]], cell: tuple[int, int],
                   sensitive: list[bool] | None = None) -> tuple[float, float]:
    """The smallest and largest value of ``cell`` consistent with what a reader sees.

    Variables are the hidden cells; constraints: each published column total, the
    ``[1, k-1]`` label of a primary cell (``[1, inf)`` when ``k <= 2``), ``>= k`` for the
    other hidden cells of a ``sensitive`` column (``>= 0`` in the other columns), and
    ``source <= derived <= ratio * source`` of each link, shown cells entering as
    constants. Solved with :func:`scipy.optimize.linprog` (HiGHS) as a continuous
    relaxation.
    """
    cells = list(zip(*np.nonzero(hidden), strict=True))
    index = {c: n for n, c in enumerate(cells)}
    sensitive = sensitive or [True] * values.shape[1]
    bounds = [((1.0, threshold - 1.0) if threshold > 2 else (1.0, None)) if primary[c]
              else (float(threshold) if sensitive[c[1]] else 0.0, None) for c in cells]
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for j, published in enumerate(published_totals):
        if published and hidden[:, j].any():
            a_eq.append([1.0 if col == j else 0.0 for _, col in cells])
            b_eq.append(float(values[~hidden[:, j], j].sum() * -1 + values[:, j].sum()))
    for d, s, ratio in links:
        for r in range(values.shape[0]):
            # source - derived <= 0 and derived - ratio * source <= 0
            for terms in (((s, 1.0), (d, -1.0)), ((d, 1.0), (s, -ratio))):
                row, const = [0.0] * len(cells), 0.0
                for col, coef in terms:
                    if hidden[r, col]:
                        row[index[(r, col)]] += coef
                    else:
                        const += coef * values[r, col]
                if any(row):
                    a_ub.append(row)
                    b_ub.append(-const)
    target = [0.0] * len(cells)
    target[index[cell]] = 1.0
    kwargs = {"A_eq": a_eq or None, "b_eq": b_eq or None, "A_ub": a_ub or None,
              "b_ub": b_ub or None, "bounds": bounds, "method": "highs"}
    low = linprog(target, **kwargs)
    high = linprog([-t for t in target], **kwargs)
    lo = low.fun if low.status == 0 else -math.inf
    hi = -high.fun if high.status == 0 else (math.inf if high.status == 3 else -math.inf)
    return lo, hi


def _protected(values, primary, hidden, hidden_totals, totals, threshold, counts, links,
               i, j, flags) -> bool:
    """Whether the primary cell ``(i, j)`` can take at least two integer values."""
    cols = list(counts.columns)
    published = [totals and j2 not in hidden_totals for j2 in range(values.shape[1])]
    link_idx = [(cols.index(d), cols.index(s), float(r)) for d, (s, r) in links.items()]
    lo, hi = feasible_range(values, primary, hidden, published, threshold, link_idx, (i, j),
                            flags)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return hi > lo
    return math.floor(hi + 1e-7) - math.ceil(lo - 1e-7) >= 1
