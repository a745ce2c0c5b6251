"""Study folders: reading, validation, scoring and the analysis frames."""

from .codebook import Codebook, Scale
from .problems import DataError
from .study import Study, ValidationReport, load_study, validate_study

__all__ = ["Codebook", "DataError", "Scale", "Study", "ValidationReport", "load_study",
           "validate_study"]
