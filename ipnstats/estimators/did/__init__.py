"""Staggered difference-in-differences: Callaway & Sant'Anna group-time effects,
Sun & Abraham, the two-way fixed-effects regression, the Goodman-Bacon decomposition,
event studies and their Honest DiD sensitivity analysis."""

from ipnstats.core.deprecation import renamed_classes
from ipnstats.estimators.did.bacon import bacon_decomposition, bacon_summary
from ipnstats.estimators.did.estimate import TWFEResult, participation_effect, twfe_did
from ipnstats.estimators.did.event_study import EventStudyResult, event_study
from ipnstats.estimators.did.honest import HonestDiDResult, honest_did
from ipnstats.estimators.did.result import DiDResult
from ipnstats.estimators.did.sunab import SunAbrahamResult, sun_abraham

__all__ = ["DiDResult", "EventStudyResult", "HonestDiDResult", "SunAbrahamResult", "TWFEResult",
           "bacon_decomposition", "bacon_summary", "event_study", "honest_did",
           "participation_effect", "sun_abraham", "twfe_did"]

__getattr__ = renamed_classes(__name__, globals(), {"EventStudy": "EventStudyResult",
                                                    "SunAbraham": "SunAbrahamResult"})
