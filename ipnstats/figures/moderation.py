"""Moderation figures: simple-slopes lines and the Johnson-Neyman plot.

Each draws frames a moderation result computed (``predictions()``,
``johnson_neyman()``), or the same frames stored; none computes statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ipnstats.figures.bands import estimate_band_plot
from ipnstats.figures.style import REFERENCE_COLOUR, house_style

SIGNIFICANT_SHADE = "#d9d9d9"


def simple_slopes_plot(predictions: pd.DataFrame, *, x: str, w: str,
                       ylabel: str | None = None) -> Figure:
    """Predicted outcome against x, one line and band per probed value of w.

    ``predictions``: columns ``x``, ``w_label``, ``estimate``, ``conf_low``,
    ``conf_high`` (``ModerationResult.predictions()``).

    Examples
    --------
    >>> pred = pd.DataFrame({"x": [0, 1, 0, 1], "w_label": ["w = 1"] * 2 + ["w = 2"] * 2,
    ...                      "estimate": [0, 1, 0, 2], "conf_low": [-.1, .8, -.1, 1.7],
    ...                      "conf_high": [.1, 1.2, .1, 2.3]})
    >>> len(simple_slopes_plot(pred, x="x", w="w").axes[0].lines)
    2
    """
    frame = predictions.rename(columns={"x": x})
    return estimate_band_plot(frame, x=x, group="w_label", ref=None, xlabel=x,
                              ylabel=ylabel or "prediction")


def johnson_neyman_plot(jn, *, w: str, x: str,
                        labels: Mapping[str, str] | None = None) -> Figure:
    """The conditional effect of x along w with its band, zero line and JN bounds.

    ``jn`` is a :class:`~ipnstats.estimators.moderation.JohnsonNeyman`; the range of w
    where the effect is significant is shaded, and bounds inside the observed range
    are marked with dashed lines. ``labels`` (``{column: label}``) name the axes.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> eff = pd.DataFrame({"w": [0.0, 1.0, 2.0], "estimate": [-.2, .3, .8],
    ...                     "conf_low": [-.5, 0.1, .5], "conf_high": [.1, .5, 1.1]})
    >>> regions = pd.DataFrame({"lower": [-np.inf, 0.6], "upper": [0.6, np.inf],
    ...                         "significant": [False, True]})
    >>> jn = SimpleNamespace(effects=eff, bounds=(0.6,), in_range=(True,),
    ...                      regions=regions, w_range=(0.0, 2.0), alpha=0.05)
    >>> len(johnson_neyman_plot(jn, w="w", x="x").axes)
    1
    """
    return johnson_neyman_figure(jn.effects, jn.regions, w=w, x=x, alpha=jn.alpha,
                                 bounds=jn.bounds, labels=labels)


def johnson_neyman_figure(effects: pd.DataFrame, regions: pd.DataFrame, *, w: str, x: str,
                          alpha: float = 0.05, bounds: Sequence[float] = (),
                          labels: Mapping[str, str] | None = None) -> Figure:
    """The Johnson-Neyman plot drawn from its frames (e.g. stored ones).

    ``effects``: columns ``w``, ``estimate``, ``conf_low``, ``conf_high`` over the observed
    range of w (``JohnsonNeyman.effects``); ``regions``: ``lower``, ``upper`` (a missing
    value is unbounded) and ``significant`` (``JohnsonNeyman.regions``); ``bounds``: the
    JN bounds, of which those inside the observed range are marked. ``labels``
    (``{column: label}``, e.g. the codebook's) name the axes; default the column names.

    Examples
    --------
    >>> eff = pd.DataFrame({"w": [0.0, 1.0, 2.0], "estimate": [-.2, .3, .8],
    ...                     "conf_low": [-.5, 0.1, .5], "conf_high": [.1, .5, 1.1]})
    >>> regions = pd.DataFrame({"lower": [None, 0.6], "upper": [0.6, None],
    ...                         "significant": [False, True]})
    >>> fig = johnson_neyman_figure(eff, regions, w="w", x="x", bounds=(0.6,))
    >>> len(fig.axes[0].lines)  # the estimate, the zero line and one bound
    3
    """
    labels = dict(labels or {})
    xlabel, focal = labels.get(w, w), labels.get(x, x)
    frame = effects.rename(columns={"w": w})
    fig = estimate_band_plot(frame, x=w, ref=0.0, xlabel=xlabel,
                             ylabel=f"Conditional effect of {focal[:1].lower() + focal[1:]}")
    ax = fig.axes[0]
    lo, hi = float(effects["w"].min()), float(effects["w"].max())
    lower = regions["lower"].astype(float).fillna(-np.inf)
    upper = regions["upper"].astype(float).fillna(np.inf)
    with house_style():
        for a, b, significant in zip(lower, upper, regions["significant"], strict=True):
            left, right = max(a, lo), min(b, hi)
            if significant and left < right:
                ax.axvspan(left, right, color=SIGNIFICANT_SHADE, alpha=0.5, linewidth=0,
                           zorder=0)
        for bound in bounds:
            if lo <= bound <= hi:
                ax.axvline(bound, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8)
                ax.annotate(f"{bound:.3g}", (bound, 0.02), xycoords=("data", "axes fraction"),
                            xytext=(3, 0), textcoords="offset points", ha="left",
                            va="bottom", fontsize=8)
        ax.set_title(f"Shaded: effect significant at the {100 * alpha:g}% level", fontsize=9,
                     loc="left", pad=8)
    return fig
