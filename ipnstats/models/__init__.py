"""Estimators. Each returns an :class:`ipnstats.results.Result`."""

from .did import DiDResult, participation_effect
from .formula import SpecificationError
from .panel import panel_regression

__all__ = ["DiDResult", "SpecificationError", "panel_regression", "participation_effect"]
