"""ipnstats: test, with data, how firms learn from their peers and whether it pays off."""

from .data import Codebook, DataError, Scale, Study, ValidationReport, load_study, validate_study
from .models import SpecificationError, panel_regression, participation_effect
from .results import Cluster, Result
from .tables import MANAGEMENT_STARS, regression_table
from .tables.descriptives import descriptives_table
from .tables.frame import frame_table

__version__ = "0.1.0"

__all__ = ["MANAGEMENT_STARS", "Cluster", "Codebook", "DataError", "Report", "Result", "Scale",
           "SpecificationError", "Study", "ValidationReport", "coefficient_plot",
           "descriptives_table", "event_study", "exit_hazard", "frame_table",
           "heterogeneity", "load_study", "mediation", "panel_regression",
           "participation_effect", "practice_effects", "stage_effects", "wild_bootstrap",
           "regression_table", "simulate_study", "validate_study", "moderation",
           "conditional_process", "framing_effect", "question_patterns", "crossed_effects",
           "mixed_model", "sender_effects", "learning_curve", "triangulation", "power",
           "H1Design", "H2Design", "H3Design", "TwoGroupDesign", "specification_curve",
           "cluster_bootstrap"]

# Imported on first use: they pull in matplotlib, Typst or the simulator.
_LAZY = {"simulate_study": ("simulate", "simulate_study"), "Report": ("report", "Report"),
         "coefficient_plot": ("figures", "coefficient_plot"),
         "wild_bootstrap": ("models.wild", "wild_bootstrap"),
         "adjust_pvalues": ("results.multiplicity", "adjust_pvalues"),
         "romano_wolf": ("results.multiplicity", "romano_wolf"),
         "romano_wolf_bootstrap": ("results.multiplicity", "romano_wolf_bootstrap"),
         "mediation": ("models.mediation", "mediation"),
         "event_study": ("models.did", "event_study"),
         "stage_effects": ("models.did", "stage_effects"),
         "practice_effects": ("models.practices", "practice_effects"),
         "heterogeneity": ("models.practices", "heterogeneity"),
         "exit_hazard": ("models.hazard", "exit_hazard"),
         "moderation": ("models.moderation", "moderation"),
         "conditional_process": ("models.process", "conditional_process"),
         "framing_effect": ("models.framing", "framing_effect"),
         "question_patterns": ("models.questions", "question_patterns"),
         "crossed_effects": ("models.crossed", "crossed_effects"),
         "mixed_model": ("models.mixed", "mixed_model"),
         "sender_effects": ("models.senders", "sender_effects"),
         "learning_curve": ("models.learning", "learning_curve"),
         "triangulation": ("models.triangulation", "triangulation"),
         "specification_curve": ("models.speccurve", "specification_curve"),
         "power": ("planning", "power"),
         "cluster_bootstrap": ("models.resample", "cluster_bootstrap"),
         "H1Design": ("planning", "H1Design"),
         "H2Design": ("planning", "H2Design"), "H3Design": ("planning", "H3Design"),
         "TwoGroupDesign": ("planning", "TwoGroupDesign")}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'ipnstats' has no attribute {name!r}")
