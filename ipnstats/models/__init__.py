"""Estimators. Each returns an :class:`ipnstats.results.Result`."""

from .formula import SpecificationError
from .panel import panel_regression

__all__ = ["SpecificationError", "panel_regression"]
