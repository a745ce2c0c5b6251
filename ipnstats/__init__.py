"""ipnstats: test, with data, how firms learn from their peers and whether it pays off.

The top level holds the curated public API, grouped as in ``__all__``: estimators, the
IPN study's hypothesis models, inference, results and tables, the study and its data,
planning, and the errors. Modules that pull in matplotlib, Typst or the simulator are
imported on first use; ``dir(ipnstats)`` lists them all the same.
"""

from ipnstats.core.errors import (
    ConfigError,
    DataError,
    EstimationError,
    IpnstatsError,
    SpecificationError,
)
from ipnstats.data import Codebook, Scale, Study, ValidationReport, load_study, validate_study
from ipnstats.estimators import panel_regression, participation_effect
from ipnstats.results import SSC, Cluster, Dyadic, Result
from ipnstats.tables import MANAGEMENT_STARS, regression_table
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.frame import frame_table

__version__ = "0.1.0"

__all__ = [
    # estimators (general: field vocabulary, no IPN defaults)
    "panel_regression", "participation_effect", "event_study", "mixed_model",
    "crossed_effects", "learning_curve", "mediation", "moderation", "conditional_process",
    "specification_curve", "wild_bootstrap", "twfe_did", "sun_abraham", "gee",
    # measurement (general): factor analysis, validity, agreement, method variance
    "cfa", "CFAResult", "chisq_difference", "measurement_invariance", "harman_test", "ulmc",
    "htmt", "fornell_larcker", "aggregation", "krippendorff_alpha", "cohen_kappa",
    "marker_correction", "early_late",
    # sensitivity of causal claims
    "sensemakr", "oster", "evalue_rr", "evalue_or", "evalue_hr", "evalue_md", "evalue_ols",
    # self-selection and parallel trends
    "iv_regression", "heckman", "treatment_effects", "control_function_logit", "honest_did",
    # networks of exchanges: who learns from whom
    "social_relations", "SRMResult", "network_measures", "brokerage_scores", "peer_effects",
    "peer_randomization_test",
    # covariate balance before comparing joiners with non-joiners
    "entropy_balance", "ipw_weights", "balance_table",
    # missing data: multiple imputation and Rubin's rules
    "impute", "with_imputations", "pool", "pooled_wald_test", "pool_r_squared",
    # the IPN study's hypothesis models
    "stage_effects", "practice_effects", "heterogeneity", "exit_hazard", "framing_effect",
    "question_patterns", "sender_effects", "triangulation",
    # inference
    "Cluster", "Dyadic", "SSC", "cluster_bootstrap", "adjust_pvalues", "romano_wolf",
    "romano_wolf_bootstrap",
    # results, tables, figures and the report
    "Result", "regression_table", "descriptives_table", "frame_table", "MANAGEMENT_STARS",
    "coefficient_plot", "Report",
    # the study and its data
    "Study", "load_study", "validate_study", "ValidationReport", "Codebook", "Scale",
    "simulate_study",
    # planning
    "power", "TwoGroupDesign", "H1Design", "H2Design", "H3Design",
    # errors
    "IpnstatsError", "SpecificationError", "EstimationError", "DataError", "ConfigError",
]

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
         "TwoGroupDesign": ("planning", "TwoGroupDesign"),
         "cfa": ("estimators.measurement.cfa", "cfa"),
         "CFAResult": ("estimators.measurement.cfa_result", "CFAResult"),
         "chisq_difference": ("estimators.measurement.cfa_result", "chisq_difference"),
         "measurement_invariance": ("estimators.measurement.invariance",
                                    "measurement_invariance"),
         "harman_test": ("estimators.measurement.method_factor", "harman_test"),
         "ulmc": ("estimators.measurement.method_factor", "ulmc"),
         "htmt": ("estimators.measurement.validity", "htmt"),
         "fornell_larcker": ("estimators.measurement.validity", "fornell_larcker"),
         "aggregation": ("estimators.measurement.aggregation", "aggregation"),
         "krippendorff_alpha": ("estimators.measurement.agreement", "krippendorff_alpha"),
         "cohen_kappa": ("estimators.measurement.agreement", "cohen_kappa"),
         "marker_correction": ("estimators.measurement.marker", "marker_correction"),
         "early_late": ("estimators.measurement.nonresponse", "early_late"),
         "sensemakr": ("estimators.sensitivity", "sensemakr"),
         "oster": ("estimators.sensitivity", "oster"),
         "evalue_rr": ("inference.evalue", "evalue_rr"),
         "evalue_or": ("inference.evalue", "evalue_or"),
         "evalue_hr": ("inference.evalue", "evalue_hr"),
         "evalue_md": ("inference.evalue", "evalue_md"),
         "evalue_ols": ("inference.evalue", "evalue_ols"),
         "impute": ("inference.imputation", "impute"),
         "with_imputations": ("inference.imputation", "with_imputations"),
         "pool": ("inference.pooling", "pool"),
         "pooled_wald_test": ("inference.pooled_tests", "pooled_wald_test"),
         "pool_r_squared": ("inference.pooled_tests", "pool_r_squared"),
         "iv_regression": ("estimators.iv", "iv_regression"),
         "heckman": ("estimators.selection", "heckman"),
         "treatment_effects": ("estimators.treatment_effects", "treatment_effects"),
         "control_function_logit": ("estimators.control_function", "control_function_logit"),
         "honest_did": ("estimators.did", "honest_did"),
         "entropy_balance": ("estimators.balance", "entropy_balance"),
         "ipw_weights": ("estimators.ipw", "ipw_weights"),
         "balance_table": ("estimators.balance_table", "balance_table"),
         "social_relations": ("estimators.srm", "social_relations"),
         "SRMResult": ("estimators.srm_result", "SRMResult"),
         "network_measures": ("estimators.network", "network_measures"),
         "brokerage_scores": ("estimators.network", "brokerage_scores"),
         "peer_effects": ("estimators.peers", "peer_effects"),
         "peer_randomization_test": ("estimators.peers", "peer_randomization_test")}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'ipnstats' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (``__all__``, lazy names included) and the module's globals, so
    that tab completion offers every name."""
    return sorted(set(__all__) | set(globals()))
