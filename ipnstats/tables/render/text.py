"""Plain text: a table aligned in a monospaced font, with ``=``/``-`` rules."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from ipnstats.tables.model import Cell, Table
from ipnstats.tables.render._common import body_rows, slots, spanning_cells, superscript

SEP = "   "
MIN_NOTE_WIDTH = 50


def to_text(table: Table) -> str:
    """Render a table as monospaced plain text.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        Title, ``=`` rule, header, ``-`` rule, body (``-`` rules between sections),
        ``=`` rule and the wrapped notes; numbers line up on the decimal point.
    """
    widths = _widths(table)
    blocks = {j: _NumberBlock(table, j) for j in range(1, table.n_columns)}
    for j, block in blocks.items():
        widths[j] = max(widths[j], block.width)
    width = sum(widths) + len(SEP) * (len(widths) - 1)
    lines = _wrap(table.title, max(width, MIN_NOTE_WIDTH)) if table.title else []
    lines.append("=" * width)
    lines += _header_lines(table, widths)
    for row, new_section in body_rows(table):
        if new_section:
            lines.append("-" * width)
        lines.append(_body_line(row.cells, row.heading, widths, blocks))
    lines.append("=" * width)
    for i, note in enumerate(table.notes):
        note = f"{table.note_label} {note}" if i == 0 and table.note_label else note
        lines += _wrap(note, max(width, MIN_NOTE_WIDTH))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _content(cell: Cell) -> str:
    """Cell text with its superscript appended (``-0.422*``)."""
    return cell.text + superscript(cell)


def _wrap(text: str, width: int) -> list[str]:
    """Wrap one paragraph to ``width`` columns (at least one line)."""
    return textwrap.wrap(text, width) or [""]


def _widths(table: Table) -> list[int]:
    """Column widths from single-column cells, then widened for spanning header cells."""
    widths = [0] * table.n_columns
    rows = [r.cells for r in table.rows if not r.heading]
    for cells in (*table.header, *rows):
        for col, cell in slots(cells):
            if cell.span == 1 and not (cell.numeric and cell.text and col > 0):
                widths[col] = max(widths[col], len(_content(cell)))
    for cells in table.header:
        for col, cell in slots(cells):
            _widen(widths, col, cell.span, len(_content(cell)))
    return widths


def _widen(widths: list[int], col: int, span: int, needed: int) -> None:
    """Spread the missing width of a spanning cell over the columns it covers."""
    missing = needed - (sum(widths[col:col + span]) + len(SEP) * (span - 1))
    for k in range(max(missing, 0)):
        widths[col + k % span] += 1


class _NumberBlock:
    """Decimal-point alignment of the numeric cells of one data column.

    The part before the first ``.`` is right-aligned, the rest (with the marks)
    left-aligned; a number without a point ends where the digits after the point end.
    """

    def __init__(self, table: Table, col: int) -> None:
        cells = [r.cells[col] for r in table.rows
                 if not r.heading and len(r.cells) == table.n_columns]
        self.cells = [c for c in cells if c.numeric and c.text]
        decimals = [c.text.partition(".") for c in self.cells if "." in c.text]
        self.frac = max((len(p + a) for _, p, a in decimals), default=0)
        lefts = [len(b) for b, _, _ in decimals]
        lefts += [len(c.text) - self.frac for c in self.cells if "." not in c.text]
        self.left = max(lefts, default=0)
        self.width = max((len(self._raw(c)) for c in self.cells), default=0)

    def _raw(self, cell: Cell) -> str:
        """The cell laid out from the left edge of the block (not padded right)."""
        if "." in cell.text:
            before, point, after = cell.text.partition(".")
            return before.rjust(self.left) + point + after + superscript(cell)
        return cell.text.rjust(self.left + self.frac) + superscript(cell)

    def format(self, cell: Cell, width: int) -> str:
        """The cell padded to the column width, the block centred in the column."""
        pad = (width - self.width) // 2
        return (" " * pad + self._raw(cell)).ljust(width)


def _header_lines(table: Table, widths: list[int]) -> list[str]:
    """Header rows, a partial rule under spanning cells, and the rule under the header."""
    total = sum(widths) + len(SEP) * (len(widths) - 1)
    lines = []
    for cells in table.header:
        lines.append(_line(cells, widths, _header_cell))
        rules = spanning_cells(cells)
        if rules:
            lines.append(_partial_rule(rules, widths))
    if table.header:
        lines.append("-" * total)
    return lines


def _header_cell(cell: Cell, width: int, col: int) -> str:
    """A header cell: the stub left-aligned, the others centred."""
    return _content(cell).ljust(width) if col == 0 else _content(cell).center(width)


def _partial_rule(rules: list[tuple[int, int]], widths: list[int]) -> str:
    """A ``-`` rule under each spanning header cell (the text ``\\cmidrule``)."""
    chars = [" "] * (sum(widths) + len(SEP) * (len(widths) - 1))
    for first, last in rules:
        start = sum(widths[:first]) + len(SEP) * first
        end = sum(widths[:last + 1]) + len(SEP) * last
        chars[start:end] = "-" * (end - start)
    return "".join(chars)


def _body_line(cells: tuple[Cell, ...], heading: bool, widths: list[int],
               blocks: dict[int, _NumberBlock]) -> str:
    """One body row; a heading row is its text alone, left-aligned."""
    if heading:
        return _content(cells[0])

    def fmt(cell: Cell, width: int, col: int) -> str:
        if col == 0:
            return _content(cell).ljust(width)
        if cell.numeric and cell.text and cell.span == 1:
            return blocks[col].format(cell, width)
        return _content(cell).center(width)

    return _line(cells, widths, fmt)


def _line(cells: tuple[Cell, ...], widths: list[int],
          fmt: Callable[[Cell, int, int], str]) -> str:
    """Join formatted cells; ``fmt(cell, width, col)`` pads one cell to its width."""
    parts = []
    for col, cell in slots(cells):
        width = sum(widths[col:col + cell.span]) + len(SEP) * (cell.span - 1)
        parts.append(fmt(cell, width, col))
    return SEP.join(parts)
