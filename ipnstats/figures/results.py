"""Figures of fitted results: each function takes a result and draws what its methods
computed (``estimates()``, ``predictions()``, ``tidy()``); none computes statistics.

They replace the results' deprecated ``.plot()`` methods, which kept the estimators
layer importing this one (the import-linter ``ignore_imports`` list names those shims).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ipnstats.figures.bands import estimate_band_plot
from ipnstats.figures.learning import learning_curve_plot
from ipnstats.figures.moderation import johnson_neyman_plot, simple_slopes_plot
from ipnstats.figures.speccurve import specification_curve_plot

if TYPE_CHECKING:
    from ipnstats.estimators.did.event_study import EventStudyResult
    from ipnstats.estimators.learning import LearningCurveResult
    from ipnstats.estimators.moderation import ModerationResult
    from ipnstats.estimators.speccurve import SpecificationCurveResult


def event_study_plot(result: EventStudyResult, *, ax: Axes | None = None,
                     ylabel: str | None = None,
                     xlabel: str = "Years since joining") -> Figure:
    """The event-study figure: estimates, 95% CIs and the uniform band if there is one.

    Examples
    --------
    >>> es = ipnstats.event_study(fy, outcome="log_revenue", unit="firm_id", time="year",
    ...                           cohort="cohort")  # doctest: +SKIP
    >>> event_study_plot(es)  # doctest: +SKIP
    """
    frame = result.estimates()
    band = ("band_low", "band_high") if "band_low" in frame else None
    return estimate_band_plot(frame, x="event", ax=ax, xlabel=xlabel,
                              ylabel=ylabel or f"Effect on {result.outcome}",
                              event_time=True, band=band)


def speccurve_plot(result: SpecificationCurveResult, *,
                   labels: Mapping[str, str] | None = None,
                   title: str | None = None) -> Figure:
    """The specification curve: sorted estimates over the dot matrix of choices.

    ``labels`` adds to (or overrides) the display labels given to
    :func:`~ipnstats.specification_curve`.

    Examples
    --------
    >>> speccurve_plot(curve, labels={"log_revenue": "Log revenue"})  # doctest: +SKIP
    """
    frame = result.tidy()
    frame = frame[frame["estimate"].notna()].copy()
    frame["significance"] = result.significance(frame)
    return specification_curve_plot(
        frame, choices=result.choices,
        labels=result.display_labels | dict(labels or {}),
        conf_level=1 - result.alpha, direction=result.direction,
        n_specs=len(result.estimates), title=title)


def moderation_plot(result: ModerationResult, *, at: object = None,
                    n_points: int = 50) -> Figure:
    """Predicted outcome against x at values of w (simple-slopes lines with bands).

    Covariates are held at their means; a logit is drawn on the probability scale.

    Examples
    --------
    >>> moderation_plot(ipnstats.moderation(df, y="y", x="x", w="w"))  # doctest: +SKIP
    """
    return simple_slopes_plot(result.predictions(at, n_points), x=result.x, w=result.w,
                              ylabel=result.outcome)


def moderation_jn_plot(result: ModerationResult, *, alpha: float = 0.05,
                       labels: Mapping[str, str] | None = None) -> Figure:
    """The conditional effect of x across w with its band and the Johnson-Neyman bounds;
    ``labels`` (``{column: label}``, e.g. the codebook's) name the axes.

    Examples
    --------
    >>> moderation_jn_plot(ipnstats.moderation(df, y="y", x="x", w="w"))  # doctest: +SKIP
    """
    return johnson_neyman_plot(result.johnson_neyman(alpha), w=result.w, x=result.x,
                               labels=labels)


def learning_plot(result: LearningCurveResult, *, at: object = None,
                  ylabel: str | None = None, xlabel: str | None = None) -> Figure:
    """Learning curves at low and high moderator values with their bands.

    Examples
    --------
    >>> learning_plot(curve)  # doctest: +SKIP
    """
    return learning_curve_plot(result.predictions(at), experience=result.experience,
                               ylabel=ylabel or result.outcome, xlabel=xlabel)


__all__ = ["event_study_plot", "learning_plot", "moderation_jn_plot", "moderation_plot",
           "speccurve_plot"]
