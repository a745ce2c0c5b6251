"""Validation problems: one record per broken rule, collected and reported at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError  # noqa: F401 - the validation error, importable here

Severity = Literal["error", "warning"]

PROBLEM_COLUMNS = ["severity", "table", "file", "line", "column", "value", "rule", "problem"]
#: Most rows kept per (table, column, rule); the total count is always kept.
EXAMPLES_PER_RULE = 50


@dataclass
class ProblemLog:
    """Collects problems while a study is read; capped per rule, counted in full."""

    records: list[dict] = field(default_factory=list)
    counts: dict[tuple, int] = field(default_factory=dict)
    shown: dict[tuple, int] = field(default_factory=dict)

    def add(self, severity: Severity, table: str, rule: str, problem: str, *,
            file: str = "", column: str = "", rows: np.ndarray | None = None,
            values: Iterable | None = None, total: int | None = None,
            lines: Iterable[int] | None = None) -> None:
        """Record one problem, or one per row when ``rows`` is given.

        ``rows`` are 0-based record positions in the table (turned into the line
        numbers a spreadsheet shows by :meth:`frame`), ``values`` the cells shown
        with them; ``total`` counts the rows when only the first ones are passed;
        ``lines`` are already line numbers (for file-level problems).
        """
        key = (severity, table, column, rule)
        if rows is None:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.records.append(_record(severity, table, file, None, column, "", rule, problem,
                                        line=next(iter(lines), None) if lines else None))
            return
        self.counts[key] = self.counts.get(key, 0) + (len(rows) if total is None else total)
        room = max(EXAMPLES_PER_RULE - self.shown.get(key, 0), 0)
        vals = list(values)[:room] if values is not None else [""] * min(room, len(rows))
        for r, v in zip(list(rows)[:room], vals, strict=True):
            self.records.append(_record(severity, table, file, int(r), column, v, rule, problem))
        self.shown[key] = self.shown.get(key, 0) + len(vals)

    def frame(self, locate: dict[str, callable]) -> pd.DataFrame:
        """Problems as a DataFrame, record positions turned into files and line numbers
        (``locate[table](position)`` gives both)."""
        rows = []
        for rec in self.records:
            rec = dict(rec)
            pos = rec.pop("_row")
            if pos is not None and rec["table"] in locate:
                rec["file"], rec["line"] = locate[rec["table"]](pos)
            rows.append(rec)
        df = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
        df["line"] = df["line"].astype("Int64")
        order = {"error": 0, "warning": 1}
        return (df.assign(_s=df["severity"].map(order))
                .sort_values(["_s", "table", "line"], kind="stable", na_position="first")
                .drop(columns="_s").reset_index(drop=True))

    def count_frame(self) -> pd.DataFrame:
        """Total number of problems by severity, table, column and rule (uncapped)."""
        return pd.DataFrame(
            [(*k, n) for k, n in self.counts.items()],
            columns=["severity", "table", "column", "rule", "count"],
        )


def _record(severity, table, file, row, column, value, rule, problem, line=None) -> dict:
    return {"severity": severity, "table": table, "file": file, "line": line,
            "column": column, "value": _show(value), "rule": rule, "problem": problem,
            "_row": row}


def _show(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, np.datetime64 | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return "" if pd.isna(stamp) else stamp.date().isoformat()
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
