"""Estimates along an axis with their confidence band: event studies, simple slopes,
Johnson-Neyman plots, learning curves.

It draws what it is given (one row per point) and computes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ipnstats.core.errors import SpecificationError
from ipnstats.figures.style import (
    BAND_ALPHA,
    REFERENCE_COLOUR,
    house_style,
    new_figure,
    series_style,
)

DODGE = 0.16  # horizontal distance between groups when x is integer-valued


def estimate_band_plot(frame: pd.DataFrame, *, x: str, estimate: str = "estimate",
                       conf_low: str = "conf_low", conf_high: str = "conf_high",
                       group: str | None = None, ax: Axes | None = None,
                       xlabel: str | None = None, ylabel: str | None = None,
                       ref: float | None = 0.0, event_time: bool = False,
                       band: tuple[str, str] | None = None) -> Figure:
    """Estimates against ``x`` with a confidence band (or whiskers) per group.

    A continuous ``x`` gets a line and a shaded band; an integer-valued ``x`` (event
    time, lags) gets points with error bars joined by a line, groups dodged apart.

    Parameters
    ----------
    frame
        One row per point, holding ``x``, ``estimate``, ``conf_low``, ``conf_high``
        and, if given, ``group``.
    x, estimate, conf_low, conf_high
        Column names.
    group
        Column whose values make separate series (distinct markers, line styles and a
        legend).
    ax
        Axes to draw on; a new figure in the house style otherwise.
    xlabel, ylabel
        Axis labels (default: the column names of ``x`` and ``estimate``).
    ref
        Height of the horizontal reference line (``None``: no line).
    event_time
        Draw a dashed vertical line at ``x = -0.5``, between the last period before
        and the first period of treatment.
    band
        Columns ``(low, high)`` of a second, wider band drawn as light shading behind
        the estimates (e.g. an event study's simultaneous band); one group only.

    Returns
    -------
    Figure
        The figure holding the axes.

    Examples
    --------
    >>> es = pd.DataFrame({"event_time": [-2, -1, 0, 1], "estimate": [0.0, 0.0, 0.3, 0.4],
    ...                    "conf_low": [-0.1, -0.1, 0.1, 0.2],
    ...                    "conf_high": [0.1, 0.1, 0.5, 0.6]})
    >>> fig = estimate_band_plot(es, x="event_time", event_time=True)
    >>> len(fig.axes[0].lines[0].get_xdata())
    4
    """
    columns = ([x, estimate, conf_low, conf_high] + ([group] if group else [])
               + (list(band) if band else []))
    if band and group:
        raise SpecificationError("band= draws one series' outer band; leave group= unset")
    _check_columns(frame, columns)
    groups = list(frame.groupby(group, sort=False)) if group else [("", frame)]
    discrete = _integer_valued(frame[x])
    with house_style():
        if ax is None:
            _, ax = new_figure()
        if band:
            part = frame.sort_values(x)
            ax.fill_between(part[x].to_numpy(float), part[band[0]].to_numpy(float),
                            part[band[1]].to_numpy(float), color=series_style(0)["color"],
                            alpha=BAND_ALPHA / 2, linewidth=0, label="simultaneous 95% band")
        for i, (name, part) in enumerate(groups):
            shift = (i - (len(groups) - 1) / 2) * DODGE if discrete else 0.0
            draw = _draw_whiskers if discrete else _draw_band
            draw(ax, part.sort_values(x), (x, estimate, conf_low, conf_high), shift, i,
                 str(name))
        if discrete:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(ax, xlabel or x, ylabel or estimate, ref, event_time,
                  legend=bool(group) or bool(band))
    return ax.figure


def event_study_figure(frame: pd.DataFrame, *, x: str = "event",
                       xlabel: str = "Periods since treatment", ylabel: str = "Effect",
                       ax: Axes | None = None) -> Figure:
    """The standard event-study figure of an estimates frame: the estimates with their
    pointwise 95% intervals as whiskers, the simultaneous band (columns ``band_low``
    and ``band_high``, when present) as shading, a dashed line before period 0.

    ``frame`` is an event study's ``estimates()`` (``x``, ``estimate``, ``conf_low``,
    ``conf_high``), e.g. read back from stored results; see :func:`estimate_band_plot`.

    Examples
    --------
    >>> es = pd.DataFrame({"event": [-1, 0, 1], "estimate": [0.0, 0.3, 0.4],
    ...                    "conf_low": [-0.1, 0.1, 0.2], "conf_high": [0.1, 0.5, 0.6],
    ...                    "band_low": [-0.2, 0.0, 0.1], "band_high": [0.2, 0.6, 0.7]})
    >>> fig = event_study_figure(es, xlabel="Years since joining")
    >>> fig.axes[0].get_xlabel()
    'Years since joining'
    """
    band = ("band_low", "band_high") if "band_low" in frame else None
    return estimate_band_plot(frame, x=x, ax=ax, xlabel=xlabel, ylabel=ylabel,
                              event_time=True, band=band)


def _check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"the frame lacks column(s) {missing}; it has "
            f"{list(frame.columns)} (name the columns with x=, estimate=, ...)")


def _integer_valued(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    return bool(np.isfinite(numbers).all() and (numbers == np.round(numbers)).all())


def _draw_band(ax: Axes, part: pd.DataFrame, cols: tuple[str, ...], shift: float, i: int,
               label: str) -> None:
    x, est, low, high = (part[c].to_numpy(float) for c in cols)
    style = series_style(i)
    ax.fill_between(x, low, high, color=style["color"], alpha=BAND_ALPHA, linewidth=0)
    ax.plot(x, est, color=style["color"], linestyle=style["linestyle"], label=label)


def _draw_whiskers(ax: Axes, part: pd.DataFrame, cols: tuple[str, ...], shift: float,
                   i: int, label: str) -> None:
    x, est, low, high = (part[c].to_numpy(float) for c in cols)
    style = series_style(i) | {"markerfacecolor": "white" if i % 2 else None}
    ax.plot(x + shift, est, **style, label=label, zorder=3)
    ax.vlines(x + shift, low, high, color=style["color"], linewidth=1.2, zorder=2)


def _decorate(ax: Axes, xlabel: str, ylabel: str, ref: float | None, event_time: bool,
              *, legend: bool) -> None:
    if ref is not None:
        ax.axhline(ref, color=REFERENCE_COLOUR, linewidth=0.8, zorder=1)
    if event_time:
        ax.axvline(-0.5, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8, zorder=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
