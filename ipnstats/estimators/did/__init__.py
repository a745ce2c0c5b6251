"""Staggered difference-in-differences: Callaway & Sant'Anna group-time effects,
Sun & Abraham, the Goodman-Bacon decomposition and event studies."""

from ipnstats.estimators.did.bacon import bacon_decomposition, bacon_summary
from ipnstats.estimators.did.estimate import TWFEResult, participation_effect
from ipnstats.estimators.did.event_study import EventStudy, event_study
from ipnstats.estimators.did.result import DiDResult
from ipnstats.estimators.did.sunab import SunAbraham, sun_abraham

__all__ = ["DiDResult", "EventStudy", "SunAbraham", "TWFEResult",
           "bacon_decomposition", "bacon_summary", "event_study", "participation_effect",
           "sun_abraham"]
