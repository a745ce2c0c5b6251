"""The Honest DiD sensitivity figure: robust confidence intervals against M (or Mbar),
the original interval leftmost, as R HonestDiD's ``createSensitivityPlot`` and
``createSensitivityPlot_relativeMagnitudes``. It draws what ``honest_did`` computed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ipnstats.figures.style import GREYS, REFERENCE_COLOUR, house_style, new_figure

if TYPE_CHECKING:
    from ipnstats.estimators.did.honest import HonestDiDResult


def honest_did_plot(result: HonestDiDResult, *, ax: Axes | None = None,
                    ylabel: str = "Effect") -> Figure:
    """Robust intervals by M (black) after the original interval (grey), zero marked.

    Examples
    --------
    >>> import numpy as np
    >>> from ipnstats.estimators.did import honest_did
    >>> res = honest_did([0.004, -0.003, 0.05], np.eye(3) * 1e-4, num_pre=2, num_post=1,
    ...                  method="sd", m_values=[0.0, 0.01])
    >>> honest_did_plot(res).axes[0].get_xlabel()
    'M'
    """
    return honest_did_figure(result.tidy(), original=result.original, method=result.method,
                             ax=ax, ylabel=ylabel)


def honest_did_figure(tidy: pd.DataFrame, *, original: tuple[float, float], method: str,
                      ax: Axes | None = None, ylabel: str = "Effect") -> Figure:
    """The figure of :func:`honest_did_plot` drawn from its frames (e.g. stored ones):
    ``tidy`` has ``m``, ``conf_low``, ``conf_high`` (and ``method``, the legend label);
    ``original`` is the interval under parallel trends; ``method`` ``"rm"`` or ``"sd"``.

    Examples
    --------
    >>> tidy = pd.DataFrame({"m": [0.5, 1.0], "conf_low": [0.01, -0.01],
    ...                      "conf_high": [0.07, 0.09]})
    >>> honest_did_figure(tidy, original=(0.02, 0.06), method="sd").axes[0].get_xlabel()
    'M'
    """
    m = tidy["m"].to_numpy(float)
    step = float(np.min(np.diff(m))) if len(m) > 1 and np.min(np.diff(m)) > 0 else 1.0
    x_orig = m.min() - step
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    label = (str(tidy["method"].iloc[0]) if "method" in tidy
             else {"rm": "C-LF", "sd": "FLCI"}.get(method, "Robust"))
    with house_style():
        lo, hi = original
        ax.errorbar([x_orig], [(lo + hi) / 2], yerr=[[(hi - lo) / 2]], fmt="none",
                    ecolor=GREYS[2], elinewidth=2.0, capsize=3, label="Original")
        mid = (tidy["conf_low"] + tidy["conf_high"]) / 2
        half = (tidy["conf_high"] - tidy["conf_low"]) / 2
        ax.errorbar(m, mid, yerr=half, fmt="none", ecolor=GREYS[0], elinewidth=2.0,
                    capsize=3, label=label)
        ax.axhline(0.0, color=REFERENCE_COLOUR, linewidth=0.8, linestyle="--")
        symbol = r"$\bar{M}$" if method == "rm" else "M"
        ax.set_xlabel(symbol)
        ax.set_ylabel(ylabel)
        ax.legend(loc="best")
    return fig
