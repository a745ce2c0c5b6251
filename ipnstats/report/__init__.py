"""Reports: rendering of results and data summaries (never estimation)."""

from ipnstats.report.document import Report

__all__ = ["Report"]
