"""Staggered difference-in-differences: Callaway & Sant'Anna group-time effects,
Sun & Abraham, the Goodman-Bacon decomposition, event studies and stage effects."""

from .bacon import bacon_decomposition, bacon_summary
from .estimate import TWFEResult, participation_effect
from .event_study import EventStudy, event_study
from .result import DiDResult
from .stages import StageEffects, stage_effects
from .sunab import SunAbraham, sun_abraham

__all__ = ["DiDResult", "EventStudy", "StageEffects", "SunAbraham", "TWFEResult",
           "bacon_decomposition", "bacon_summary", "event_study", "participation_effect",
           "stage_effects", "sun_abraham"]
