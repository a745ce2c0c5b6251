"""Reports: rendering of results and data summaries (never estimation)."""
