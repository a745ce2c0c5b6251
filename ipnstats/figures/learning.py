"""Learning-curve figure: predicted outcome along experience, one line and band per
moderator value. It draws what ``LearningCurveResult.predictions()`` computed."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ipnstats.figures.bands import estimate_band_plot


def learning_curve_plot(predictions: pd.DataFrame, *, experience: str = "experience",
                        ylabel: str = "outcome", xlabel: str | None = None) -> Figure:
    """Predicted outcome against cumulative experience, one series per ``label``.

    ``predictions``: columns ``experience``, ``label``, ``estimate``, ``conf_low``,
    ``conf_high`` (``LearningCurveResult.predictions()``), on a fine grid so that the
    curves are drawn as lines with shaded bands.

    Examples
    --------
    >>> pred = pd.DataFrame({"experience": [1.0, 1.5, 2.0] * 2, "label": ["low"] * 3
    ...                      + ["high"] * 3, "estimate": [10, 9, 8.5, 10, 8, 7],
    ...                      "conf_low": [9, 8, 7.5, 9, 7, 6], "conf_high": [11, 10, 9.5,
    ...                      11, 9, 8]})
    >>> len(learning_curve_plot(pred).axes[0].lines)
    2
    """
    frame = predictions.rename(columns={"experience": experience})
    return estimate_band_plot(frame, x=experience, group="label", ref=None,
                              xlabel=xlabel or f"{experience} (cumulative tasks)",
                              ylabel=ylabel)
