"""Study folders: reading, validation, scoring and the analysis frames."""

from ipnstats.data.codebook import Codebook, Scale
from ipnstats.data.problems import DataError
from ipnstats.data.study import Study, ValidationReport, load_study, validate_study

__all__ = ["Codebook", "DataError", "Scale", "Study", "ValidationReport", "load_study",
           "validate_study"]
