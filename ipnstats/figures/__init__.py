"""Figures in one house style: coefficient plots and estimate bands, saved deterministically.

Every function draws numbers it is given (``tidy()`` frames, event-study estimates,
fitted results); none computes statistics.
"""

from ipnstats.figures.bands import estimate_band_plot, event_study_figure
from ipnstats.figures.coefficients import coefficient_plot
from ipnstats.figures.honest import honest_did_plot
from ipnstats.figures.results import (
    event_study_plot,
    learning_plot,
    moderation_jn_plot,
    moderation_plot,
    speccurve_plot,
)
from ipnstats.figures.save import figure_bytes, save_figure
from ipnstats.figures.sensitivity import sensitivity_contour_figure, sensitivity_contour_plot
from ipnstats.figures.style import house_style, new_figure

__all__ = ["coefficient_plot", "estimate_band_plot", "event_study_figure", "event_study_plot",
           "figure_bytes", "honest_did_plot", "house_style", "learning_plot",
           "moderation_jn_plot", "moderation_plot", "new_figure", "save_figure",
           "sensitivity_contour_figure", "sensitivity_contour_plot", "speccurve_plot"]
