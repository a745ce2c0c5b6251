"""Staggered difference-in-differences: Callaway & Sant'Anna group-time effects."""

from .estimate import participation_effect
from .result import DiDResult

__all__ = ["DiDResult", "participation_effect"]
