"""Short displays of results: a one-line ``repr`` and a small HTML block for notebooks.

Every result shows the same things: what it is (a title), one line of its ``glance()``
and its ``tidy()`` table, then its notes. The full account stays in ``summary()``.

>>> import pandas as pd
>>> glance_line(pd.DataFrame([{"nobs": 1200, "r2": 0.31234, "seed": None}]))
'nobs=1,200, r2=0.3123'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np
import pandas as pd

from ipnstats.results.notes import HasNotes

#: Most rows of ``tidy()`` shown in a notebook; ``tidy()`` itself has them all.
MAX_HTML_ROWS = 30
#: Most ``glance()`` fields on the glance line.
MAX_GLANCE_FIELDS = 8


def short_value(value: object) -> str:
    """A value as the glance line shows it: 4 significant digits, thousands marks for
    whole numbers; '' for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def glance_line(glance: pd.DataFrame | None, fields: Sequence[str] | None = None) -> str:
    """``name=value`` pairs of the first row of ``glance`` (its non-empty scalar fields,
    or ``fields``), comma-separated."""
    if glance is None or not len(glance):
        return ""
    row = glance.iloc[0]
    names = list(fields) if fields is not None else list(glance.columns)
    pairs = []
    for name in names:
        if name not in row.index or not np.isscalar(row[name]):
            continue
        shown = short_value(row[name])
        if shown:
            pairs.append(f"{name}={shown}")
        if len(pairs) == MAX_GLANCE_FIELDS:
            break
    return ", ".join(pairs)


def html_block(title: str, line: str, table: pd.DataFrame | None,
               notes: Sequence[str] = ()) -> str:
    """A small self-contained HTML block: the title, the glance line, the table (numbers
    to 4 significant digits, at most :data:`MAX_HTML_ROWS` rows) and the notes."""
    parts = [f"<div class=\"ipnstats-result\"><p><strong>{escape(title)}</strong></p>"]
    if line:
        parts.append(f"<p>{escape(line)}</p>")
    if table is not None and len(table.columns):
        shown = table.head(MAX_HTML_ROWS)
        parts.append(shown.to_html(index=False, na_rep="", border=0,
                                   float_format=lambda v: f"{v:.4g}"))
        if len(table) > MAX_HTML_ROWS:
            parts.append(f"<p>... {len(table) - MAX_HTML_ROWS:,} more rows in tidy()</p>")
    if notes:
        items = "".join(f"<li>{escape(str(n))}</li>" for n in notes)
        parts.append(f"<ul>{items}</ul>")
    parts.append("</div>")
    return "".join(parts)


class TidyDisplay(HasNotes):
    """``__repr__``, ``_repr_html_`` and the note accessors (``has_note``,
    ``note_codes``) for result classes that have ``tidy()`` (and usually ``glance()``)
    but do not derive from :class:`~ipnstats.results.Result`.

    The class's dataclass decorator must say ``repr=False`` so this ``__repr__`` is
    kept.
    """

    __slots__ = ()

    def _display_glance(self) -> pd.DataFrame | None:
        """``glance()``; without one, a one-row ``tidy()`` (a single test)."""
        glance = getattr(self, "glance", None)
        if callable(glance):
            return glance()
        tidy = self.tidy()  # type: ignore[attr-defined]
        return tidy if len(tidy) == 1 else None

    def _display_line(self) -> str:
        return glance_line(self._display_glance())

    def __repr__(self) -> str:
        n = len(self.tidy())  # type: ignore[attr-defined]
        line = self._display_line()
        return f"<{type(self).__name__}: {n:,} row(s) in tidy()" + \
            (f"; {line}>" if line else ">")

    def _repr_html_(self) -> str:
        return html_block(type(self).__name__, self._display_line(),
                          self.tidy(),  # type: ignore[attr-defined]
                          tuple(getattr(self, "notes", ())))
