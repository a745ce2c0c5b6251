"""Any small DataFrame as a formatted table (sample flow, reliability, overviews)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ipnstats.tables.base import Renderable
from ipnstats.tables.format import fmt_count, fmt_number
from ipnstats.tables.model import Cell, Row, Table


def _cell(value: object, digits: int) -> Cell:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return Cell("")
    if isinstance(value, bool):
        return Cell("Yes" if value else "No")
    if pd.api.types.is_integer(value):
        return Cell(fmt_count(value), numeric=True)
    if pd.api.types.is_float(value):
        return Cell(fmt_number(value, digits), numeric=True)
    text = str(value)
    return Cell(text, numeric=bool(_NUMBER_TEXT.match(text)))


# e.g. "1,234", a suppressed "<3", a p-value ".008" or "<.001"
_NUMBER_TEXT = re.compile(r"^[<>]?[-\u2212]?(?=[\d.])(\d[\d,]*)?(\.\d+)?$")


@dataclass(frozen=True)
class FrameTable(Renderable):
    """A DataFrame shown as a table: column labels, numbers formatted, text as is.

    Integers get thousands separators, floats ``digits`` decimals. ``sections`` names
    a column whose changes of value start a new section (a rule), and which is not
    shown itself.
    """

    frame: pd.DataFrame
    labels: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    notes: tuple[str, ...] = ()
    label: str = ""
    digits: int = 2
    sections: str | None = None

    def as_table(self) -> Table:
        """The formatted, target-free table."""
        shown = [c for c in self.frame.columns if c != self.sections]
        header = (tuple(Cell(self.labels.get(c, str(c))) for c in shown),)
        rows = []
        for _, rec in self.frame.iterrows():
            section = str(rec[self.sections]) if self.sections else "body"
            rows.append(Row(tuple(_cell(rec[c], self.digits) for c in shown), section))
        return Table(header=header, rows=tuple(rows), title=self.title, notes=self.notes,
                     label=self.label)


def frame_table(frame: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                title: str = "", notes: Sequence[str] = (), label: str = "", digits: int = 2,
                sections: str | None = None) -> FrameTable:
    """Show a small DataFrame through the table renderers.

    Examples
    --------
    >>> print(frame_table(study.sample_flow, title="Sample flow").to_text())  # doctest: +SKIP
    """
    return FrameTable(frame.reset_index(drop=True), dict(labels or {}), title, tuple(notes),
                      label, digits, sections)
