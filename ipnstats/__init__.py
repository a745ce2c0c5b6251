"""ipnstats: test, with data, how firms learn from their peers and whether it pays off."""

from .data import Codebook, DataError, Scale, Study, ValidationReport, load_study, validate_study
from .models import SpecificationError, panel_regression
from .results import Cluster, Result

__version__ = "0.1.0"

__all__ = ["Cluster", "Codebook", "DataError", "Result", "Scale", "SpecificationError", "Study",
           "ValidationReport", "load_study", "panel_regression", "simulate_study",
           "validate_study"]


def __getattr__(name: str):
    if name == "simulate_study":
        from .simulate import simulate_study

        return simulate_study
    raise AttributeError(f"module 'ipnstats' has no attribute {name!r}")
