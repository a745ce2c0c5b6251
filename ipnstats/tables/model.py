"""The target-free table structure that every renderer reads.

A table builder (regression table, descriptives table, sample flow ...) turns raw
numbers into a :class:`Table` of already-formatted cells; one small renderer per
target (text, Markdown, HTML, LaTeX, Typst, Word) does markup and escaping only.
Renderers never compute or round anything.

Text conventions inside cells and notes (renderers translate them per target):

- the minus sign of a number is the ASCII ``-``; renderers typeset it as a true minus
  where the target has one (``$-$`` in LaTeX, U+2212 in HTML and Typst);
- a few Unicode characters may appear in any text: ``² † ‡ × ± α ≥ ≤ − – —`` and
  Greek letters; LaTeX renders them in math mode or with text commands;
- no markup of any kind: ``*``, ``_``, ``#``, ``&``, ``%``, ``$``, ``<`` ... are
  literal characters that each renderer escapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ipnstats.core.errors import SpecificationError

Emphasis = Literal["", "italic", "bold"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One formatted cell.

    Parameters
    ----------
    text
        The formatted content, e.g. ``"-0.080"``, ``"(0.109)"``, ``"[0.01, 0.20]"``,
        ``"Yes"``, ``"Grant (t-1)"``.
    marks
        Significance marks typeset as a superscript after the text (``"**"``, ``"†"``).
    notes
        Footnote marks typeset as a superscript after ``marks``, joined with a comma
        (``*,a``); the note they refer to is one of the table's ``notes``.
    numeric
        The cell holds a number: renderers typeset its minus sign and align the column
        as numbers (centred, right or on the decimal point, per target).
    emphasis
        Italic or bold text.
    span
        Number of columns the cell covers (header cells and heading rows).
    """

    text: str = ""
    marks: str = ""
    notes: tuple[str, ...] = ()
    numeric: bool = False
    emphasis: Emphasis = ""
    span: int = 1


@dataclass(frozen=True, slots=True)
class Row:
    """One body row: the stub (row label) cell first, then one cell per data column.

    ``section`` groups rows: a rule (booktabs ``\\midrule``) is drawn above the first
    row of each section after the first. ``heading=True`` marks a row whose single
    cell spans the whole width (a panel title such as "Fixed effects").
    """

    cells: tuple[Cell, ...]
    section: str = "body"
    heading: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A formatted table, ready for any renderer.

    Parameters
    ----------
    header
        Header rows, top to bottom; each is a tuple of cells whose spans add up to the
        number of columns (stub included). A cell spanning several columns gets a
        ``\\cmidrule`` under it in LaTeX.
    rows
        Body rows.
    title
        Caption (may be empty).
    notes
        Lines of the note under the table (LaTeX: ``threeparttable`` ``tablenotes``).
    note_label
        A label that opens the first note, set in italics where the target can (APA's
        ``Note.``); empty for none.
    label
        A short identifier: LaTeX ``\\label{tab:<label>}``, HTML ``id``. Use
        ``[A-Za-z0-9_:.-]``; renderers replace other characters with ``-``.
    meta
        Free information for callers (not rendered, not compared).
    """

    header: tuple[tuple[Cell, ...], ...]
    rows: tuple[Row, ...]
    title: str = ""
    notes: tuple[str, ...] = ()
    label: str = ""
    note_label: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def n_columns(self) -> int:
        """Number of columns, the stub column included."""
        if self.header:
            return sum(c.span for c in self.header[0])
        return max((sum(c.span for c in r.cells) for r in self.rows), default=0)

    def __post_init__(self) -> None:
        n = self.n_columns
        if n == 0:
            raise SpecificationError("a table needs at least one column")
        for i, hrow in enumerate(self.header):
            width = sum(c.span for c in hrow)
            if width != n:
                raise SpecificationError(f"header row {i} spans {width} columns, expected {n}")
        for i, row in enumerate(self.rows):
            width = sum(c.span for c in row.cells)
            if row.heading and len(row.cells) != 1:
                raise SpecificationError(f"heading row {i} must hold exactly one cell")
            if not row.heading and width != n:
                raise SpecificationError(f"row {i} spans {width} columns, expected {n}")
