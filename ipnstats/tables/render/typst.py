"""Typst: a ``figure`` holding a ``table`` with booktabs-like ``table.hline`` rules."""

from __future__ import annotations

import re

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import (
    MINUS,
    body_rows,
    label_key,
    slots,
    spanning_cells,
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


def typst_table_body(table: Table) -> str:
    """The Typst code of the ``table(...)`` call, without notes, caption or ``#``.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        ``table(columns: n, align: ..., stroke: none, ...)`` with a heavy rule on top,
        ``table.header(...)``, light rules under the header and between sections, and
        a heavy rule at the bottom; a report can embed it in its own ``figure``.
    """
    n = table.n_columns
    align = ", ".join(column_alignment(table))
    args = [f"columns: {n}", f"align: ({align},)", "stroke: none",
            "inset: (x: 0.6em, y: 0.3em)", f"table.hline(stroke: {HEAVY})"]
    if table.header:
        args += [_header(table.header), f"table.hline(stroke: {LIGHT})"]
    for row, new_section in body_rows(table):
        args += [f"table.hline(stroke: {LIGHT})"] if new_section else []
        args.append(_row(row, n))
    args.append(f"table.hline(stroke: {HEAVY})")
    return "table(\n" + "".join(f"  {arg},\n" for arg in args) + ")"


def column_alignment(table: Table) -> list[str]:
    """``left`` for the stub and for text columns, ``center`` for columns holding numbers."""
    numeric = [False] * table.n_columns
    for row in table.rows:
        if not row.heading:
            for j, cell in slots(row.cells):
                numeric[j] = numeric[j] or (cell.numeric and cell.span == 1)
    return ["left"] + ["center" if flag else "left" for flag in numeric[1:]]


def to_typst(table: Table) -> str:
    """Render a table as Typst markup: ``#figure(table(...), caption: ...)``.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        The figure (caption on top, notes in small left-aligned text under the
        table, as wide as the table) followed by ``<tab:label>`` when labelled.
    """
    body = typst_table_body(table)
    if table.notes:
        body = _with_notes(body, table.notes)
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


def _with_notes(body: str, notes: tuple[str, ...]) -> str:
    """Wrap the table so the notes follow it in a block exactly as wide as the table."""
    items = ", ".join(f"[{escape(note)}]" for note in notes)
    return (f"layout(size => {{\n  let body = {_indent(body).strip()}\n"
            "  let width = measure(body, width: size.width).width\n"
            "  body\n"
            f"  block(width: width, above: 0.65em, align(left, text(size: 0.8em, "
            f"stack(spacing: 0.45em, {items}))))\n}})")


def _content(cell: Cell) -> str:
    """Escaped markup of one cell: true minus in numbers, emphasis, ``#super`` marks."""
    text = escape(typeset_minus(cell.text, MINUS) if cell.numeric else cell.text)
    if cell.emphasis == "italic" and text:
        text = f"#emph[{text}]"
    elif cell.emphasis == "bold" and text:
        text = f"#strong[{text}]"
    sup = superscript(cell)
    return text + (f"#super[{escape(sup)}]" if sup else "")


def _cell(cell: Cell, align: str = "") -> str:
    """A content block, or ``table.cell(colspan: k)[...]`` for a spanning cell."""
    options = [f"colspan: {cell.span}"] if cell.span > 1 else []
    options += [f"align: {align}"] if align else []
    if not options:
        return f"[{_content(cell)}]"
    return f"table.cell({', '.join(options)})[{_content(cell)}]"


def _header(header: tuple[tuple[Cell, ...], ...]) -> str:
    """``table.header(...)``: the header rows, a light rule under each spanning cell."""
    parts = []
    for cells in header:
        parts.append(", ".join(_cell(c) for _, c in slots(cells)))
        parts += [f"table.hline(start: {a}, end: {b + 1}, stroke: {LIGHT})"
                  for a, b in spanning_cells(cells)]
    return "table.header(\n" + "".join(f"    {p},\n" for p in parts) + "  )"


def _row(row: Row, n: int) -> str:
    """The cells of one body row; a heading row is one italic left-aligned cell."""
    if row.heading:
        cell = row.cells[0]
        heading = Cell(cell.text, cell.marks, cell.notes, emphasis=cell.emphasis or "italic",
                       span=n)
        return _cell(heading, align="left")
    return ", ".join(_cell(c) for _, c in slots(row.cells))
