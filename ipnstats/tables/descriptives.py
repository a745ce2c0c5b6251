"""Table 1: descriptive statistics and correlations, with disclosure control.

Every cell is computed from a known set of firms; a cell computed from fewer firms
than the disclosure threshold is suppressed (shown as a dash with a footnote), never
printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import former_defaults
from ipnstats.core.errors import SpecificationError
from ipnstats.results.inference import two_sided_p
from ipnstats.tables.base import Renderable
from ipnstats.tables.format import check_stars, fmt_count, fmt_number, star_for, star_legend
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.style import JournalStyle, apply_style, journal_style

SUPPRESSED = "a"


@dataclass(frozen=True)
class DescriptivesTable(Renderable):
    """Raw numbers of a descriptives-and-correlations table.

    Attributes
    ----------
    summary
        One row per variable: variable, label, n, n_units, mean, sd, min, max and
        ``suppressed`` (fewer than ``threshold`` units).
    correlations, p_values, n_units
        Square frames (variables x variables) of pairwise correlations, their
        two-sided p-values and the number of units behind each.
    alphas
        Reliability (Cronbach's alpha) per variable where it is a scale.
    """

    summary: pd.DataFrame
    correlations: pd.DataFrame
    p_values: pd.DataFrame
    n_units: pd.DataFrame
    alphas: Mapping[str, float]
    threshold: int
    unit: str
    digits: int
    stars: Mapping[str, float]
    title: str = "Descriptive statistics and correlations"
    label: str = "descriptives"
    style: JournalStyle | None = None

    def with_style(self, style: str | JournalStyle) -> DescriptivesTable:
        """The same table in a journal preset (its stars and rules)."""
        preset = journal_style(style)
        return dataclasses.replace(self, stars=dict(preset.stars), style=preset)

    def suppressed_pairs(self) -> pd.DataFrame:
        """Mask of correlations hidden because fewer than ``threshold`` units share them."""
        return self.n_units < self.threshold

    def as_table(self) -> Table:
        """The formatted, target-free table."""
        k = len(self.summary)
        mean = "M" if self.style is not None and self.style.italic_symbols else "Mean"
        head = ("Variable", "N", mean, "SD", "Min", "Max") + tuple(str(i + 1) for i in range(k))
        rows = tuple(Row(self._row(i)) for i in range(k))
        table = Table(header=(tuple(Cell(h) for h in head),), rows=rows, title=self.title,
                      notes=self._notes(), label=self.label)
        return apply_style(table, self.style) if self.style is not None else table

    def _row(self, i: int) -> tuple[Cell, ...]:
        s = self.summary.iloc[i]
        cells = [Cell(f"{i + 1}. {s['label']}")]
        if s["suppressed"]:
            cells += [Cell("—", notes=(SUPPRESSED,))] * 5
        else:
            cells.append(Cell(fmt_count(s["n"]), numeric=True))
            cells += [Cell(fmt_number(s[c], self.digits), numeric=True)
                      for c in ("mean", "sd", "min", "max")]
        return tuple(cells) + tuple(self._corr_cell(i, j) for j in range(len(self.summary)))

    def _corr_cell(self, i: int, j: int) -> Cell:
        var_i, var_j = self.summary["variable"].iloc[i], self.summary["variable"].iloc[j]
        if j > i:
            return Cell("")
        if j == i:
            alpha = self.alphas.get(var_i)
            return Cell(f"({fmt_number(alpha, self.digits)})" if alpha is not None else "—",
                        numeric=alpha is not None)
        if self.n_units.loc[var_i, var_j] < self.threshold:
            return Cell("—", notes=(SUPPRESSED,))
        r = self.correlations.loc[var_i, var_j]
        return Cell(fmt_number(r, self.digits), marks=star_for(self.p_values.loc[var_i, var_j],
                                                              self.stars), numeric=True)

    def _notes(self) -> tuple[str, ...]:
        notes = ["N counts observations. Correlations are pairwise Pearson correlations"
                 + (" with two-sided tests that treat observations as independent"
                    + f" ({star_legend(self.stars)})" if self.stars else "") + "."]
        if self.alphas:
            notes.append("Cronbach's alpha of multi-item scales on the diagonal, in parentheses.")
        if self.summary["suppressed"].any() or self.suppressed_pairs().to_numpy().any():
            notes.append(f"a Suppressed: computed from fewer than {self.threshold} firms "
                         "(disclosure control).")
        return tuple(notes)


@former_defaults(unit="firm_id")
def descriptives_table(frame: pd.DataFrame, variables: Sequence[str], *, unit: str,
                       labels: Mapping[str, str] | object | None = None,
                       reliability: Mapping[str, float] | pd.DataFrame | None = None,
                       threshold: int | None = None, digits: int = 2,
                       stars: bool | Mapping[str, float] = True,
                       style: str | JournalStyle | None = None) -> DescriptivesTable:
    """N, mean, SD, min, max and the correlation matrix of ``variables``.

    Parameters
    ----------
    frame
        Observations (e.g. ``Study.firm_year``).
    variables
        Numeric columns, in the order shown.
    unit
        The column identifying the units (firms) that the disclosure threshold counts
        (formerly defaulting to ``"firm_id"``).
    labels
        ``{column: label}`` or an :class:`ipnstats.Codebook`.
    reliability
        ``{column: alpha}`` or a reliability frame with ``scale`` and ``alpha``
        columns (``Study.reliability``); alphas go on the diagonal.
    threshold
        Minimum number of firms behind a printed cell; default the codebook's
        ``disclosure_threshold`` when ``labels`` is a codebook, else 3.
    style
        A journal preset (``"apa"``, ``"amj"``, ``"smj"``, ``"asq"``): its stars replace
        ``stars``, and its rules apply (APA: no leading zero of correlations, italic
        ``N``, ``M``, ``SD``; SMJ: no stars).

    Examples
    --------
    >>> t = ipnstats.descriptives_table(study.firm_year, ["log_revenue", "trust"],
    ...                                 unit="firm_id", labels=study.codebook,
    ...                                 reliability=study.reliability)  # doctest: +SKIP
    """
    from ipnstats.tables.regression import _labels, former_id_labels

    variables = list(variables)
    _check_columns(frame, variables, unit)
    label_map = former_id_labels(_labels(labels), set(variables), "descriptives_table")
    k = threshold if threshold is not None else getattr(labels, "disclosure_threshold", 3)
    values = frame[variables].apply(pd.to_numeric, errors="raise").astype(float)
    present = values.notna().to_numpy()
    units = pd.factorize(frame[unit])[0]
    n_units = _pair_units(present, units, variables)
    corr, p = _correlations(values)
    summary = _summary(values, variables, label_map, n_units, k)
    preset = journal_style(style) if style is not None else None
    marks = dict(preset.stars) if preset is not None else check_stars(stars)
    return DescriptivesTable(summary, corr, p, n_units, _alphas(reliability, variables), int(k),
                             unit, digits, marks, style=preset)


def _check_columns(frame: pd.DataFrame, variables: list[str], unit: str) -> None:
    from ipnstats.core.formula import require_columns

    require_columns(frame, (unit, *variables), "column")
    for v in variables:
        if not (pd.api.types.is_numeric_dtype(frame[v]) or pd.api.types.is_bool_dtype(frame[v])):
            raise SpecificationError(f"column {v!r} is not numeric (dtype {frame[v].dtype}); "
                                     "descriptives need numeric columns")


def _pair_units(present: np.ndarray, units: np.ndarray, names: list[str]) -> pd.DataFrame:
    k = present.shape[1]
    out = np.zeros((k, k), int)
    for i in range(k):
        for j in range(i + 1):
            both = present[:, i] & present[:, j]
            out[i, j] = out[j, i] = len(np.unique(units[both]))
    return pd.DataFrame(out, index=names, columns=names)


def _correlations(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    corr = values.corr(method="pearson", min_periods=3)
    n = values.notna().astype(float).T @ values.notna().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = corr * np.sqrt((n - 2) / (1 - corr**2))
    p = pd.DataFrame(two_sided_p(t, n - 2), index=corr.index, columns=corr.columns)
    return corr, p


def _summary(values, variables, labels, n_units, k) -> pd.DataFrame:
    return pd.DataFrame({
        "variable": variables, "label": [labels.get(v, v) for v in variables],
        "n": values.notna().sum().to_numpy(), "n_units": np.diag(n_units.to_numpy()),
        "mean": values.mean().to_numpy(), "sd": values.std(ddof=1).to_numpy(),
        "min": values.min().to_numpy(), "max": values.max().to_numpy(),
        "suppressed": np.diag(n_units.to_numpy()) < k,
    })


def _alphas(reliability, variables: list[str]) -> dict[str, float]:
    if reliability is None:
        return {}
    if isinstance(reliability, pd.DataFrame):
        reliability = dict(zip(reliability["scale"], reliability["alpha"], strict=True))
    return {v: float(a) for v, a in reliability.items() if v in variables and pd.notna(a)}
