"""Reports: rendering of results and data summaries (never estimation)."""

from .document import Report

__all__ = ["Report"]
