"""ipnstats: test, with data, how firms learn from their peers and whether it pays off."""

from ipnstats.data import (
    Codebook,
    DataError,
    Scale,
    Study,
    ValidationReport,
    load_study,
    validate_study,
)
from ipnstats.estimators import SpecificationError, panel_regression, participation_effect
from ipnstats.results import Cluster, Result
from ipnstats.tables import MANAGEMENT_STARS, regression_table
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.frame import frame_table

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
           "cluster_bootstrap", "twfe_did", "sun_abraham", "gee"]

# Imported on first use: they pull in matplotlib, Typst or the simulator.
_LAZY = {"simulate_study": ("simulate", "simulate_study"), "Report": ("report", "Report"),
         "coefficient_plot": ("figures", "coefficient_plot"),
         "wild_bootstrap": ("estimators.wild", "wild_bootstrap"),
         "adjust_pvalues": ("inference.multiplicity", "adjust_pvalues"),
         "romano_wolf": ("inference.multiplicity", "romano_wolf"),
         "romano_wolf_bootstrap": ("inference.multiplicity", "romano_wolf_bootstrap"),
         "mediation": ("estimators.mediation", "mediation"),
         "event_study": ("estimators.did", "event_study"),
         "twfe_did": ("estimators.did", "twfe_did"),
         "sun_abraham": ("estimators.did", "sun_abraham"),
         "gee": ("estimators.mixed", "gee"),
         "stage_effects": ("ipn.stages", "stage_effects"),
         "practice_effects": ("ipn.practices", "practice_effects"),
         "heterogeneity": ("ipn.practices", "heterogeneity"),
         "exit_hazard": ("ipn.hazard", "exit_hazard"),
         "moderation": ("estimators.moderation", "moderation"),
         "conditional_process": ("estimators.process", "conditional_process"),
         "framing_effect": ("ipn.framing", "framing_effect"),
         "question_patterns": ("ipn.questions", "question_patterns"),
         "crossed_effects": ("estimators.crossed", "crossed_effects"),
         "mixed_model": ("estimators.mixed", "mixed_model"),
         "sender_effects": ("ipn.senders", "sender_effects"),
         "learning_curve": ("estimators.learning", "learning_curve"),
         "triangulation": ("ipn.triangulation", "triangulation"),
         "specification_curve": ("estimators.speccurve", "specification_curve"),
         "power": ("planning", "power"),
         "cluster_bootstrap": ("inference.resample", "cluster_bootstrap"),
         "H1Design": ("ipn.designs", "H1Design"),
         "H2Design": ("ipn.designs", "H2Design"), "H3Design": ("ipn.designs", "H3Design"),
         "TwoGroupDesign": ("planning", "TwoGroupDesign")}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'ipnstats' has no attribute {name!r}")
