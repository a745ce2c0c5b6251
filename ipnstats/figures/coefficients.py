"""The coefficient plot: one dot and confidence whisker per term, for one or more models.

It draws what it is given (a ``tidy()`` frame per model) and computes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ipnstats.core.errors import SpecificationError
from ipnstats.figures.style import REFERENCE_COLOUR, house_style, new_figure, series_style

TIDY_COLUMNS = ("term", "estimate", "conf_low", "conf_high")
DODGE = 0.55  # share of the space between two terms that the models of one term take


def coefficient_plot(estimates: pd.DataFrame | Mapping[str, pd.DataFrame], *,
                     labels: Mapping[str, str] | None = None, conf_level: float = 0.95,
                     ref: float | None = 0.0, ax: Axes | None = None,
                     title: str | None = None) -> Figure:
    """Estimates with confidence intervals, one row per term, terms top to bottom.

    Parameters
    ----------
    estimates
        A ``tidy()`` frame (columns ``term``, ``estimate``, ``conf_low``,
        ``conf_high``), or ``{model name: tidy frame}`` for several models, which are
        dodged vertically with distinct markers and a legend. Terms appear in the order
        of their first appearance.
    labels
        Display label per term; terms without one show their name.
    conf_level
        Level of the intervals in the frames, used for the axis label only.
    ref
        Where to draw the vertical reference line (``None``: no line).
    ax
        Axes to draw on; a new figure in the house style otherwise.
    title
        Axes title.

    Returns
    -------
    Figure
        The figure holding the axes.

    Examples
    --------
    >>> tidy = pd.DataFrame({"term": ["x", "z"], "estimate": [0.4, -0.1],
    ...                      "conf_low": [0.2, -0.3], "conf_high": [0.6, 0.1]})
    >>> fig = coefficient_plot(tidy, labels={"x": "Peer adoption"})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Peer adoption', 'z']
    """
    models = _as_models(estimates)
    terms = _term_order(models)
    with house_style():
        if ax is None:
            _, ax = new_figure(height=_height(len(terms), len(models)))
        handles = _draw_models(ax, models, terms)
        _decorate(ax, terms, labels or {}, conf_level, ref, title)
        if len(models) > 1:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax.figure


def _as_models(estimates) -> dict[str, pd.DataFrame]:
    models = {"": estimates} if isinstance(estimates, pd.DataFrame) else dict(estimates)
    if not models:
        raise SpecificationError("coefficient_plot needs at least one tidy frame")
    for name, frame in models.items():
        missing = [c for c in TIDY_COLUMNS if c not in frame.columns]
        if missing:
            where = f"the frame of model {name!r}" if name else "the frame"
            raise SpecificationError(f"{where} lacks column(s) {missing}; pass a tidy() frame "
                                     f"with columns {list(TIDY_COLUMNS)}")
    return models


def _term_order(models: Mapping[str, pd.DataFrame]) -> list[str]:
    terms = pd.concat([f["term"].astype(str) for f in models.values()])
    return list(dict.fromkeys(terms))


def _height(n_terms: int, n_models: int) -> float:
    return float(np.clip(0.9 + n_terms * (0.28 + 0.08 * n_models), 2.0, 9.0))


def _draw_models(ax: Axes, models: Mapping[str, pd.DataFrame],
                 terms: list[str]) -> list[Line2D]:
    """Whiskers and dots of each model; returns one legend handle per model."""
    handles = []
    position = {t: i for i, t in enumerate(terms)}
    k = len(models)
    offsets = np.linspace(-DODGE / 2, DODGE / 2, k) if k > 1 else np.zeros(1)
    for i, (name, frame) in enumerate(models.items()):
        y = frame["term"].astype(str).map(position).to_numpy(float) + offsets[i]
        style = series_style(i) | {"markerfacecolor": "white" if i % 2 else None}
        ax.hlines(y, frame["conf_low"], frame["conf_high"], color=style["color"],
                  linestyle=style["linestyle"], linewidth=1.2, zorder=2)
        points = ax.plot(frame["estimate"], y, **(style | {"linestyle": "none"}),
                         markersize=5.5, label=name or "estimate", zorder=3)
        handles.append(Line2D([], [], **style, markersize=5.5, label=points[0].get_label()))
    return handles


def _decorate(ax: Axes, terms: list[str], labels: Mapping[str, str], conf_level: float,
              ref: float | None, title: str | None) -> None:
    ax.set_yticks(range(len(terms)), [labels.get(t, t) for t in terms])
    ax.set_ylim(len(terms) - 0.5, -0.5)
    ax.grid(False, axis="y")
    ax.grid(True, axis="x")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    if ref is not None:
        ax.axvline(ref, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8, zorder=1)
    ax.set_xlabel(f"Estimate and {conf_level * 100:g}% confidence interval")
    if title:
        ax.set_title(title, loc="left")
