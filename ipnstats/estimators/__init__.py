"""Estimators. Each returns an :class:`ipnstats.results.Result`."""

from ipnstats.core.formula import SpecificationError
from ipnstats.estimators.did import DiDResult, participation_effect
from ipnstats.estimators.panel import panel_regression

__all__ = ["DiDResult", "SpecificationError", "panel_regression", "participation_effect"]
