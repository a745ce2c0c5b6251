"""The power-curve figure: simulated power by effect size with Monte-Carlo intervals.

It draws what :meth:`ipnstats.planning.PowerResult.plot` hands it and computes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ipnstats.figures.style import BAND_ALPHA, GREYS, REFERENCE_COLOUR, new_figure


def power_curve_plot(table: pd.DataFrame, *, alpha: float, target: float, mde: float,
                     conf_level: float = 0.95, xlabel: str = "Effect size",
                     title: str | None = None) -> Figure:
    """Power against effect size, its interval band, the level and the target.

    Parameters
    ----------
    table
        ``effect_size``, ``power``, ``conf_low``, ``conf_high`` (``PowerResult.tidy()``).
    alpha, target
        Drawn as horizontal reference lines (the test level and the power aimed at).
    mde
        The minimum detectable effect, marked where it is finite.
    conf_level
        Level of the Monte-Carlo intervals, for the legend.
    xlabel, title
        Axis label and title.

    Returns
    -------
    Figure

    Examples
    --------
    >>> t = pd.DataFrame({"effect_size": [0, .5], "power": [.05, .8], "conf_low": [.03, .75],
    ...                   "conf_high": [.08, .84]})
    >>> fig = power_curve_plot(t, alpha=.05, target=.8, mde=.5)
    >>> len(fig.axes)
    1
    """
    fig, ax = new_figure(width=6.0, height=4.0)
    t = table.sort_values("effect_size")
    x = t["effect_size"].to_numpy(float)
    ax.fill_between(x, t["conf_low"], t["conf_high"], color=GREYS[2], alpha=BAND_ALPHA,
                    linewidth=0, label=f"{conf_level:.0%} Monte-Carlo interval")
    ax.plot(x, t["power"], color=GREYS[0], marker="o", label="Simulated power")
    ax.axhline(target, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.9,
               label=f"Target power {target:.0%}")
    ax.axhline(alpha, color=REFERENCE_COLOUR, linestyle=":", linewidth=0.9,
               label=f"Test level {alpha:g}")
    if np.isfinite(mde):
        ax.axvline(mde, color=GREYS[1], linestyle="-.", linewidth=0.9,
                   label=f"Minimum detectable effect {mde:.3g}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Power")
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


__all__ = ["power_curve_plot"]
