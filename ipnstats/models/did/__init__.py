"""Staggered difference-in-differences: Callaway & Sant'Anna group-time effects,
event studies and stage effects."""

from .estimate import participation_effect
from .event_study import EventStudy, event_study
from .result import DiDResult
from .stages import StageEffects, stage_effects

__all__ = ["DiDResult", "EventStudy", "StageEffects", "event_study", "participation_effect",
           "stage_effects"]
