"""Typst: a ``figure`` holding a ``table`` with booktabs-like ``table.hline`` rules."""

from __future__ import annotations

import re

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import (
    MINUS,
    body_rows,
    label_key,
    number_text,
    numeric_columns,
    physical_span,
    slots,
    spanning_cells,
    split_decimal,
    split_layout,
    superscript,
    typeset_minus,
)

HEAVY = "0.08em"
LIGHT = "0.05em"
_SPECIAL = re.compile(r"([\\#*_$@<>\[\]`~/=+\-'\"])")
_DOT = re.compile(r"^(\d+)\.(?=\s|$)|\.(?=\.)")


def escape(text: str) -> str:
    """Backslash-escape every character Typst markup could read as syntax.

    Covers ``\\ # * _ $ @ < > [ ] ` ~`` and ``/`` (so ``//`` and ``/*`` are no
    comments), the heading, list and shorthand characters ``= + -``, quotes, the dots
    of ``...`` and a leading ``1.`` (a numbered list item).
    """
    return _DOT.sub(lambda m: (m.group(1) or "") + "\\.", _SPECIAL.sub(r"\\\1", text))


def typst_table_body(table: Table, breakable: bool = False) -> str:
    """The Typst code of the ``table(...)`` call, without notes, caption or ``#``.

    Parameters
    ----------
    table
        The formatted table.
    breakable
        For a table that may break across pages: the header row repeats on every page,
        and the last body row, the bottom rule and the notes form a non-repeating
        ``table.footer`` so that the notes never start a page alone.

    Returns
    -------
    str
        ``table(columns: n, align: ..., stroke: none, ...)`` with a heavy rule on top,
        ``table.header(...)``, light rules under the header and between sections, and
        a heavy rule at the bottom; a report can embed it in its own ``figure``. Each
        numeric column is split in two at the decimal point (integer part right-aligned,
        decimals left-aligned, no gap between them) so that numbers align on the point.
    """
    layout = _Layout(table)
    align = ", ".join(column_alignment(table))
    args = [f"columns: {layout.columns(table)}", f"align: ({align},)", "stroke: none",
            f"inset: ({layout.insets()},)", f"table.hline(stroke: {HEAVY})"]
    if table.header:
        header = _header(table.header, layout)
        if breakable:
            header = header.replace("table.header(\n", "table.header(repeat: true,\n", 1)
        args += [header, f"table.hline(stroke: {LIGHT})"]
    rows = list(body_rows(table))
    last = [rows.pop()] if breakable and rows else []
    for row, new_section in rows:
        args += [f"table.hline(stroke: {LIGHT})"] if new_section else []
        args.append(_row(row, layout))
    if not breakable:
        args.append(f"table.hline(stroke: {HEAVY})")
        return "table(\n" + "".join(f"  {arg},\n" for arg in args) + ")"
    foot = []
    for row, new_section in last:
        foot += [f"table.hline(stroke: {LIGHT})"] if new_section else []
        foot.append(_row(row, layout))
    foot.append(f"table.hline(stroke: {HEAVY})")
    if table.notes:
        foot.append(f"table.cell(colspan: {layout.total}, align: left, inset: (x: 0pt, "
                    f"top: 0.65em))[#text(size: 0.8em, stack(spacing: 0.45em, "
                    f"{_note_items(table.notes, table.note_label)}))]")
    args.append("table.footer(repeat: false, " + ", ".join(foot) + ")")
    return "table(\n" + "".join(f"  {arg},\n" for arg in args) + ")"


INSET = "0.6em"
INSET_Y = "0.3em"


#: About how many characters of table text fit on one line of the page.
LINE_CHARS = 100
#: A text column with no longer cell than this keeps its natural width (``auto``).
SHORT_TEXT = 18
#: The longest cell a long text column's share counts (a 300-character reading must not
#: take all the width).
LONG_CELL = 60


def natural_widths(table: Table) -> list[int]:
    """Per logical column, the characters of its longest single-column cell (body and
    the last header row)."""
    widths = [0] * table.n_columns
    rows = [r.cells for r in table.rows if not r.heading] + list(table.header[-1:])
    for cells in rows:
        for j, cell in slots(cells):
            if cell.span == 1:
                widths[j] = max(widths[j], len(cell.text))
    return widths


class _Layout:
    """The physical columns: a numeric column becomes an integer and a decimal column."""

    def __init__(self, table: Table) -> None:
        self.numeric = numeric_columns(table)
        self.starts, self.total = split_layout(self.numeric)

    def columns(self, table: Table) -> str:
        """Typst's ``columns``: all ``auto`` when the table fits the line; else the long
        text columns share what the numbers leave in proportion to their longest cell
        (``fr``), so that the claims and readings of a wide table wrap less, not the
        numbers or short labels."""
        natural = natural_widths(table)
        if sum(natural) + 2 * len(natural) <= LINE_CHARS:
            return str(self.total)
        out = []
        for flag, chars in zip(self.numeric, natural, strict=True):
            if flag:
                out += ["auto", "auto"]
            else:
                out.append(f"{min(chars, LONG_CELL)}fr" if chars > SHORT_TEXT else "auto")
        return "(" + ", ".join(out) + ")"

    def width(self, col: int, span: int) -> int:
        """Physical columns under the logical columns ``col .. col+span-1``."""
        return physical_span(self.starts, self.total, col, span)

    def insets(self) -> str:
        """One inset per physical column: none between the halves of a number."""
        out = []
        for flag in self.numeric:
            if flag:
                out += [f"(left: {INSET}, right: 0pt, y: {INSET_Y})",
                        f"(left: 0pt, right: {INSET}, y: {INSET_Y})"]
            else:
                out.append(f"(x: {INSET}, y: {INSET_Y})")
        return ", ".join(out)


def column_alignment(table: Table) -> list[str]:
    """Per physical column: ``left`` for the stub and text columns, ``right`` then ``left``
    for the two halves of a numeric column."""
    out = []
    for flag in numeric_columns(table):
        out += ["right", "left"] if flag else ["left"]
    return out


def to_typst(table: Table, breakable: bool = False) -> str:
    """Render a table as Typst markup: ``#figure(table(...), caption: ...)``.

    Parameters
    ----------
    table
        The formatted table.
    breakable
        See :func:`typst_table_body`: a repeating header, the notes kept with the last
        row in the table's footer.

    Returns
    -------
    str
        The figure (caption on top, notes in small left-aligned text under the
        table, as wide as the table) followed by ``<tab:label>`` when labelled.
    """
    body = typst_table_body(table, breakable)
    if table.notes and not breakable:
        body = _with_notes(body, table.notes, table.note_label)
    args = ["kind: table"]
    if table.title:
        args.append(f"caption: figure.caption(position: top)[{escape(table.title)}]")
    args.append(body)
    label = label_key(table.label)
    suffix = f" <tab:{label}>" if label else ""
    return "#figure(\n" + "".join(f"{_indent(a)},\n" for a in args) + ")" + suffix + "\n"


def _indent(code: str) -> str:
    """Indent every line of ``code`` by two spaces."""
    return "\n".join("  " + line for line in code.splitlines())


#: The notes of a narrow table are at least this share of the text width wide (a
#: one-column table would otherwise wrap its notes every few words).
NOTES_MIN_WIDTH = 0.6


def _with_notes(body: str, notes: tuple[str, ...], label: str = "") -> str:
    """Wrap the table so the notes follow it in a block as wide as the table (at least
    :data:`NOTES_MIN_WIDTH` of the text width);
    ``label`` in italics opens the first note."""
    items = _note_items(notes, label)
    return (f"layout(size => {{\n  let body = {_indent(body).strip()}\n"
            f"  let width = calc.max(measure(body, width: size.width).width, "
            f"size.width * {NOTES_MIN_WIDTH})\n"
            "  body\n"
            f"  block(width: width, above: 0.65em, align(left, text(size: 0.8em, "
            f"stack(spacing: 0.45em, {items}))))\n}})")


def _note_items(notes: tuple[str, ...], label: str = "") -> str:
    """The notes as Typst content blocks, ``label`` in italics opening the first."""
    lead = f"#emph[{escape(label)}] " if label else ""
    return ", ".join(f"[{lead if i == 0 else ''}{escape(typeset_minus(note, MINUS))}]"
                     for i, note in enumerate(notes))


def _content(cell: Cell) -> str:
    """Escaped markup of one cell: true minus in numbers, emphasis, ``#super`` marks."""
    text = escape(number_text(cell, MINUS))
    if cell.emphasis == "italic" and text:
        text = f"#emph[{text}]"
    elif cell.emphasis == "bold" and text:
        text = f"#strong[{text}]"
    sup = superscript(cell)
    return text + (f"#super[{escape(sup)}]" if sup else "")


def _cell(cell: Cell, align: str = "", span: int | None = None) -> str:
    """A content block, or ``table.cell(colspan: k)[...]`` for a spanning cell."""
    span = cell.span if span is None else span
    options = [f"colspan: {span}"] if span > 1 else []
    options += [f"align: {align}"] if align else []
    if not options:
        return f"[{_content(cell)}]"
    return f"table.cell({', '.join(options)})[{_content(cell)}]"


def _header(header: tuple[tuple[Cell, ...], ...], layout: _Layout) -> str:
    """``table.header(...)``: the header rows, a light rule under each spanning cell."""
    parts = []
    for cells in header:
        parts.append(", ".join(
            _cell(c, "center" if j and (c.span > 1 or layout.numeric[j]) else "",
                  layout.width(j, c.span)) for j, c in slots(cells)))
        parts += [f"table.hline(start: {layout.starts[a]}, "
                  f"end: {layout.starts[a] + layout.width(a, b - a + 1)}, stroke: {LIGHT})"
                  for a, b in spanning_cells(cells)]
    return "table.header(\n" + "".join(f"    {p},\n" for p in parts) + "  )"


def _row(row: Row, layout: _Layout) -> str:
    """The cells of one body row; a heading row is one italic left-aligned cell; a
    number is its integer part and its decimal part in two cells."""
    if row.heading:
        cell = row.cells[0]
        heading = Cell(cell.text, cell.marks, cell.notes, emphasis=cell.emphasis or "italic",
                       span=layout.total)
        return _cell(heading, align="left")
    parts = []
    for j, c in slots(row.cells):
        if j and layout.numeric[j] and c.numeric and c.text and c.span == 1:
            head, tail = split_decimal(c.text)
            parts += [_cell(Cell(head, emphasis=c.emphasis)),
                      _cell(Cell(tail, c.marks, c.notes, emphasis=c.emphasis))]
        else:
            parts.append(_cell(c, "center" if j and layout.width(j, c.span) > 1 else "",
                               layout.width(j, c.span)))
    return ", ".join(parts)
