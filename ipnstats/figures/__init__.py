"""Figures in one house style: coefficient plots and estimate bands, saved deterministically.

Every function draws numbers it is given (``tidy()`` frames, event-study estimates);
none computes statistics.
"""

from .bands import estimate_band_plot
from .coefficients import coefficient_plot
from .save import figure_bytes, save_figure
from .style import house_style, new_figure

__all__ = ["coefficient_plot", "estimate_band_plot", "figure_bytes", "house_style",
           "new_figure", "save_figure"]
