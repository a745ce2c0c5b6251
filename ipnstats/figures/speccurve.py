"""The specification-curve figure (Simonsohn, Simmons & Nelson 2020).

Top panel: every specification's estimate, sorted, with its confidence interval,
shaded by significance in the claimed direction. Bottom panel: a dot matrix marking,
for each specification (column), its choice on each dimension (rows grouped under a
bold dimension header). It draws what ``SpecificationCurve.plot`` hands it and
computes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ipnstats.core.errors import SpecificationError
from ipnstats.figures.style import GREYS, REFERENCE_COLOUR, house_style, new_figure

#: Colour of each significance class: in the claimed direction, opposite, neither.
SIGNIFICANCE_COLOURS = {"same": GREYS[0], "opposite": GREYS[1], "none": GREYS[4]}
SIGNIFICANCE_MARKERS = {"same": "o", "opposite": "s", "none": "o"}
DIMENSION_TITLES = {"outcome": "Outcome", "estimator": "Estimator",
                    "covariates": "Covariates", "sample": "Sample", "cluster": "Clustering"}
COLUMNS = ("estimate", "conf_low", "conf_high", "significance")


def specification_curve_plot(frame: pd.DataFrame, *, choices: Mapping[str, Sequence[str]],
                             labels: Mapping[str, str] | None = None,
                             conf_level: float = 0.95, direction: int = 1,
                             n_specs: int | None = None, title: str | None = None) -> Figure:
    """Sorted estimates with intervals above the dot matrix of their choices.

    Parameters
    ----------
    frame
        One row per estimated specification, sorted as it is to be drawn: columns
        ``estimate``, ``conf_low``, ``conf_high``, ``significance`` (``"same"``,
        ``"opposite"`` or ``"none"``) and one column per dimension of ``choices``.
    choices
        ``{dimension: choices}`` in the order of the matrix rows, top to bottom.
    labels
        Display label of a choice (e.g. ``{"log_revenue": "Log revenue"}``).
    conf_level
        Level of the intervals, for the axis label and legend.
    direction
        Claimed sign of the effect (1 or -1), for the legend.
    n_specs
        Number of specifications including the ones not estimated, for the title.
    title
        Title of the top panel (default: how many specifications are shown).

    Returns
    -------
    Figure
        Two axes: the curve (``fig.axes[0]``) and the matrix (``fig.axes[1]``).

    Examples
    --------
    >>> frame = pd.DataFrame({"estimate": [-0.1, 0.2, 0.5], "conf_low": [-0.3, 0.1, 0.3],
    ...                       "conf_high": [0.1, 0.3, 0.7],
    ...                       "significance": ["none", "same", "same"],
    ...                       "outcome": ["y", "y", "z"], "sample": ["all", "sub", "all"]})
    >>> fig = specification_curve_plot(frame, choices={"outcome": ["y", "z"],
    ...                                                 "sample": ["all", "sub"]})
    >>> len(fig.axes)
    2
    """
    missing = [c for c in (*COLUMNS, *choices) if c not in frame.columns]
    if missing:
        raise SpecificationError(f"the frame lacks column(s) {missing}; pass the estimated rows of "
                                 "SpecificationCurve.tidy() with a 'significance' column")
    rows = _matrix_rows(choices)
    with house_style():
        fig, (top, bottom) = new_figure(
            width=6.5, height=2.6 + 0.16 * len(rows), nrows=2, sharex=True,
            gridspec_kw={"height_ratios": [2.6, 0.16 * len(rows)]})
        x = np.arange(1, len(frame) + 1)
        _draw_curve(top, frame, x, conf_level, direction)
        _draw_matrix(bottom, frame, x, rows, labels or {})
        shown = f"{len(frame)}" + (f" of {n_specs}" if n_specs is not None else "")
        top.set_title(title or f"{shown} specifications estimated", loc="left")
    return fig


def _matrix_rows(choices: Mapping[str, Sequence[str]]) -> list[tuple[str, str | None]]:
    """``(dimension, choice)`` per matrix row; ``choice`` None marks a dimension header."""
    rows = []
    for dim, values in choices.items():
        rows.append((dim, None))
        rows.extend((dim, v) for v in values)
    return rows


def _draw_curve(ax: Axes, frame: pd.DataFrame, x: np.ndarray, conf_level: float,
                direction: int) -> None:
    sig = frame["significance"].to_numpy()
    handles = []
    sign = "positive" if direction > 0 else "negative"
    legend = {"same": f"p < {1 - conf_level:g}, {sign} (claimed)",
              "opposite": f"p < {1 - conf_level:g}, opposite sign", "none": "not significant"}
    for kind, colour in SIGNIFICANCE_COLOURS.items():
        at = sig == kind
        if not at.any():
            continue
        ax.vlines(x[at], frame["conf_low"].to_numpy()[at], frame["conf_high"].to_numpy()[at],
                  color=colour, linewidth=0.7, alpha=0.6, zorder=2)
        ax.plot(x[at], frame["estimate"].to_numpy()[at], linestyle="none",
                marker=SIGNIFICANCE_MARKERS[kind], markersize=2.8, color=colour, zorder=3)
        handles.append(Line2D([], [], linestyle="none", marker=SIGNIFICANCE_MARKERS[kind],
                              color=colour, label=legend[kind]))
    ax.axhline(0.0, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8, zorder=1)
    ax.set_ylabel(f"Estimate ({conf_level * 100:g}% CI)")
    ax.legend(handles=handles, loc="upper left")
    ax.tick_params(axis="x", labelbottom=False)


def _draw_matrix(ax: Axes, frame: pd.DataFrame, x: np.ndarray,
                 rows: list[tuple[str, str | None]], labels: Mapping[str, str]) -> None:
    colours = frame["significance"].map(SIGNIFICANCE_COLOURS).to_numpy()
    for i, (dim, choice) in enumerate(rows):
        if choice is None:
            if i:
                ax.axhline(i - 0.5, color="#dddddd", linewidth=0.6)
            continue
        at = frame[dim].astype(str).to_numpy() == choice
        ax.scatter(x[at], np.full(at.sum(), i), s=5, marker="s", c=colours[at], linewidths=0)
    names = [DIMENSION_TITLES.get(d, d) if c is None else "  " + labels.get(c, c)
             for d, c in rows]
    ax.set_yticks(range(len(rows)), names)
    for tick, (_, choice) in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontweight("bold" if choice is None else "normal")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(False)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0.5, len(x) + 0.5)
    ax.set_xlabel("Specification (sorted by estimate)")
