"""The sensitivity contour plot of Cinelli & Hazlett (2020), as R sensemakr's ``plot()``.

It draws the grid a :class:`~ipnstats.inference.sensitivity.SensitivityResult` computed
(``contour_grid()``), its bounds and its unadjusted estimate; it computes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ipnstats.figures.style import GREYS, REFERENCE_COLOUR, house_style, new_figure

_BOUND_VALUE = {"estimate": "adjusted_estimate", "t_value": "adjusted_t", "lower": "conf_low",
                "upper": "conf_high"}
_LABELS = {"estimate": "Adjusted estimate", "t_value": "Adjusted t value",
           "lower": "Adjusted lower limit", "upper": "Adjusted upper limit"}


def sensitivity_contour_plot(sens, *, of: str = "estimate", lim: float | None = None,
                             title: str | None = None) -> Figure:
    """Contours of the bias-adjusted ``of`` over the confounder's partial R².

    ``sens`` is a :class:`~ipnstats.inference.sensitivity.SensitivityResult`; ``of`` is
    ``"estimate"``, ``"t_value"``, ``"lower"`` or ``"upper"`` (the adjusted interval's
    limits); ``lim`` the largest partial R² shown (default sensemakr's).

    Examples
    --------
    >>> from ipnstats.inference.sensitivity import SensitivityResult, bounds_table
    >>> b = bounds_table({"estimate": .1, "se": .02, "df": 500, "alpha": .05,
    ...                   "reduce": True}, [("x1", .01, .1)], [1.0], [1.0])
    >>> s = SensitivityResult("d", "y", .1, .02, 5.0, 500.0, .05, .05, .2, .15, 1.0, .05,
    ...                       True, b)
    >>> len(sensitivity_contour_plot(s).axes)
    1
    """
    grid = sens.contour_grid(of, lim=lim)
    unadjusted = {"estimate": sens.estimate, "t_value": sens.t_value}.get(of)
    bounds = sens.bounds.assign(value=sens.bounds[_BOUND_VALUE[of]])
    return sensitivity_contour_figure(grid, threshold=sens.threshold(of), bounds=bounds,
                                      unadjusted=unadjusted, label=_LABELS[of],
                                      treatment=sens.treatment, title=title)


def sensitivity_contour_figure(grid: pd.DataFrame, *, threshold: float,
                               bounds: pd.DataFrame | None = None,
                               unadjusted: float | None = None, label: str = "Adjusted estimate",
                               treatment: str = "treatment", title: str | None = None) -> Figure:
    """The contour plot drawn from its frames (e.g. stored ones).

    ``grid``: columns ``r2dz_x``, ``r2yz_dx``, ``value`` on a square grid
    (``SensitivityResult.contour_grid()``); ``threshold``: the contour drawn dashed (0, or
    the critical t); ``bounds``: ``bound``, ``r2dz_x``, ``r2yz_dx`` and ``value`` (the
    adjusted value printed beside it) of benchmarks, marked as points; ``unadjusted``:
    the value at the origin, marked as a triangle.

    Examples
    --------
    >>> g = np.linspace(0, .4, 5)
    >>> dz, yz = np.meshgrid(g, g, indexing="ij")
    >>> grid = pd.DataFrame({"r2dz_x": dz.ravel(), "r2yz_dx": yz.ravel(),
    ...                      "value": (.1 - dz * yz).ravel()})
    >>> len(sensitivity_contour_figure(grid, threshold=0.0).axes)
    1
    """
    x = np.sort(grid["r2dz_x"].unique())
    y = np.sort(grid["r2yz_dx"].unique())
    z = (grid.pivot(index="r2yz_dx", columns="r2dz_x", values="value")
         .reindex(index=y, columns=x).to_numpy(float))
    fig, ax = new_figure(width=5.0, height=4.6)
    with house_style():
        lines = ax.contour(x, y, z, levels=10, colors=GREYS[1], linewidths=0.7)
        ax.clabel(lines, fontsize=7, fmt="%.3g")
        if np.nanmin(z) < threshold < np.nanmax(z):
            ax.contour(x, y, z, levels=[threshold], colors=REFERENCE_COLOUR, linestyles="--",
                       linewidths=1.2)
        if unadjusted is not None:
            ax.plot([0], [0], marker="^", color=GREYS[0], clip_on=False, linestyle="none")
            ax.annotate(f"Unadjusted ({unadjusted:.3g})", (0, 0), xytext=(6, 4),
                        textcoords="offset points", fontsize=8)
        for row in ([] if bounds is None else bounds.itertuples(index=False)):
            ax.plot([row.r2dz_x], [row.r2yz_dx], marker="D", color=GREYS[0],
                    linestyle="none")
            ax.annotate(f"{row.bound} ({row.value:.3g})",
                        (row.r2dz_x, row.r2yz_dx), xytext=(6, 4), textcoords="offset points",
                        fontsize=8)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_xlabel(f"Partial R² of confounder(s) with the treatment ({treatment})")
        ax.set_ylabel("Partial R² of confounder(s) with the outcome")
        ax.set_title(title or f"{label}; dashed: {threshold:.3g}", loc="left")
    return fig


__all__ = ["sensitivity_contour_figure", "sensitivity_contour_plot"]
