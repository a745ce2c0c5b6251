"""Journal presets for tables: what APA 7, AMJ, SMJ and ASQ ask of a table.

A :class:`JournalStyle` is a frozen set of table rules. The table builders
(:func:`~ipnstats.tables.regression.regression_table`,
:func:`~ipnstats.tables.descriptives.descriptives_table`) take it as ``style=`` and
format their numbers by it (stars, what goes under an estimate, leading zeros); and
:func:`apply_style` applies the rules that can be applied to any formatted
:class:`~ipnstats.tables.model.Table` (the report does so for every table it shows):
no stars and no star legend where the journal wants none, leading zeros of p-value and
correlation columns, italic statistical symbols in the header and the "Note." label.
The sources of each rule are in ``docs/journal_styles.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ipnstats.core.errors import SpecificationError
from ipnstats.tables.format import DEFAULT_STARS, MANAGEMENT_STARS
from ipnstats.tables.model import Cell, Row, Table

#: Header texts that are statistical symbols (APA: set in italics).
SYMBOLS = frozenset({"N", "n", "M", "SD", "SE", "p", "t", "z", "r", "b", "B", "F", "df", "d",
                     "R²", "ΔR²"})
#: Header texts of columns holding p-values or correlations (no leading zero in APA).
BOUNDED_COLUMNS = re.compile(r"^(p|p-value|p \(.*\)|r|Correlation|[0-9]+)$", re.IGNORECASE)
_LEGEND = re.compile(r"\s*(?:[†•*]+ ?p ?< ?\.\d+[,;]?\s*)+(?:\(two-tailed(?: tests)?\)\.?|"
                     r"two-tailed tests\.?)?")
_LEADING_ZERO = re.compile(r"(?<![\d.,])0(?=\.\d)")

ASQ_STARS: Mapping[str, float] = {"•": 0.10, "*": 0.05, "**": 0.01, "***": 0.001}


@dataclass(frozen=True, slots=True)
class JournalStyle:
    """The table rules of one journal.

    Parameters
    ----------
    name
        The preset's key (``"apa"``, ``"amj"``, ``"smj"``, ``"asq"``, ``"default"``).
    journal
        The journal's name as printed in documentation.
    stars
        Significance marks, symbol to threshold; empty for none.
    uncertainty
        What goes under each estimate, one line each, in order: ``"std_error"`` (in
        parentheses), ``"conf_int"`` (in brackets), ``"p_value"`` (exact p).
    leading_zero
        Whether p-values and correlations keep the ``0`` before the decimal point.
    italic_symbols
        Whether statistical symbols in the header (``N``, ``M``, ``SD``, ``p``, ``r``) are
        set in italics.
    note_label
        The label that opens the general note (``"Note."`` in APA), or empty.
    legend_suffix
        Words after the star legend (``"two-tailed tests"``).
    """

    name: str
    journal: str
    stars: Mapping[str, float] = field(default_factory=dict, hash=False)
    uncertainty: tuple[str, ...] = ("std_error",)
    leading_zero: bool = True
    italic_symbols: bool = False
    note_label: str = ""
    legend_suffix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stars", MappingProxyType(dict(self.stars)))
        bad = set(self.uncertainty) - {"std_error", "conf_int", "p_value", "statistic"}
        if bad or not self.uncertainty:
            raise SpecificationError(f"uncertainty must list std_error, conf_int, p_value or "
                                     f"statistic, got {self.uncertainty!r}")


DEFAULT = JournalStyle("default", "ipnstats default", DEFAULT_STARS)
APA = JournalStyle("apa", "APA 7th edition", DEFAULT_STARS, ("std_error",),
                   leading_zero=False, italic_symbols=True, note_label="Note.")
AMJ = JournalStyle("amj", "Academy of Management Journal", MANAGEMENT_STARS, ("std_error",),
                   legend_suffix="two-tailed tests")
SMJ = JournalStyle("smj", "Strategic Management Journal", {},
                   ("std_error", "conf_int", "p_value"))
ASQ = JournalStyle("asq", "Administrative Science Quarterly", ASQ_STARS, ("std_error",),
                   legend_suffix="two-tailed tests")
STYLES: Mapping[str, JournalStyle] = MappingProxyType(
    {s.name: s for s in (DEFAULT, APA, AMJ, SMJ, ASQ)})


def journal_style(style: str | JournalStyle | None) -> JournalStyle:
    """The preset named ``style`` (``"apa"``, ``"amj"``, ``"smj"``, ``"asq"``,
    ``"default"``), a given :class:`JournalStyle` as is, or the default for ``None``."""
    if style is None:
        return DEFAULT
    if isinstance(style, JournalStyle):
        return style
    key = str(style).lower()
    if key not in STYLES:
        raise SpecificationError(f"style {style!r} is not a journal preset; use one of "
                                 f"{', '.join(map(repr, STYLES))}")
    return STYLES[key]


def drop_leading_zero(text: str) -> str:
    """``0.34`` to ``.34`` and ``−0.05`` to ``−.05`` (APA, for p-values and correlations)."""
    return _LEADING_ZERO.sub("", text)


def apply_style(table: Table, style: str | JournalStyle | None) -> Table:
    """The rules of ``style`` that apply to any formatted table.

    - no stars: significance marks are removed from the cells and the star legend from
      the notes (footnote letters stay);
    - no leading zero: numeric cells of p-value and correlation columns (header ``p``,
      ``r`` or a correlation matrix's column number) lose the ``0`` before the point;
    - italic symbols: header cells that are a statistical symbol are set in italics;
    - the note label (``Note.``) opens the notes.

    Examples
    --------
    >>> t = Table(((Cell("x"), Cell("p")),), (Row((Cell("a"), Cell("0.03", "*", numeric=True))),))
    >>> styled = apply_style(t, "smj")
    >>> styled.rows[0].cells[1].marks
    ''
    """
    style = journal_style(style)
    header = tuple(tuple(_header_cell(c, style) for c in cells) for cells in table.header)
    bounded = _bounded_columns(table) if not style.leading_zero else set()
    rows = tuple(_row(row, style, bounded) for row in table.rows)
    notes = table.notes if style.stars else tuple(
        n for n in (_LEGEND.sub(" ", note).strip() for note in table.notes) if n)
    label = style.note_label or table.note_label
    return replace(table, header=header, rows=rows, notes=notes, note_label=label)


def _header_cell(cell: Cell, style: JournalStyle) -> Cell:
    if style.italic_symbols and cell.text in SYMBOLS and not cell.emphasis:
        return replace(cell, emphasis="italic")
    return cell


def _bounded_columns(table: Table) -> set[int]:
    """Columns whose last header cell names p-values or correlations."""
    if not table.header:
        return set()
    out, col = set(), 0
    for cell in table.header[-1]:
        if col > 0 and cell.span == 1 and BOUNDED_COLUMNS.match(cell.text.strip()):
            out.add(col)
        col += cell.span
    return out


def _row(row: Row, style: JournalStyle, bounded: set[int]) -> Row:
    if row.heading:
        return row
    cells, col = [], 0
    for cell in row.cells:
        new = cell
        if not style.stars and cell.marks:
            new = replace(new, marks="")
        if col in bounded and cell.numeric:
            new = replace(new, text=drop_leading_zero(new.text))
        cells.append(new)
        col += cell.span
    return replace(row, cells=tuple(cells))


__all__ = ["AMJ", "APA", "ASQ", "DEFAULT", "SMJ", "STYLES", "JournalStyle", "apply_style",
           "drop_leading_zero", "journal_style"]
