"""GitHub-flavoured Markdown: a pipe table, the title above and the notes below."""

from __future__ import annotations

import re

from ipnstats.tables.model import Cell, Table
from ipnstats.tables.render._common import (
    body_rows,
    numeric_columns,
    slots,
    split_decimal,
    superscript,
)

#: Pads the decimals of right-aligned numbers (a figure space is as wide as a digit).
FIGURE_SPACE = "\u2007"

#: Characters that Markdown (or GitHub's extensions: tables, strikethrough, math,
#: autolinks, HTML) could read as syntax; each gets a backslash.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~$&#!])")
_BLOCK_START = re.compile(r"^(\s*)([-+=])|^(\s*\d+)([.)])(?=\s|$)")


def escape(text: str) -> str:
    """Backslash-escape every Markdown-sensitive character (``**`` shows as ``**``)."""
    return _SPECIAL.sub(r"\\\1", text)


def to_markdown(table: Table) -> str:
    """Render a table as a GitHub pipe table.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        A bold title line, the pipe table and one paragraph per note. Header rows
        above the last are folded into the column headers (joined with ``<br>``);
        heading rows become a row with the italic heading in the stub. Numeric columns
        are right-aligned with their decimals padded by figure spaces, so that numbers
        line up on the decimal point.
    """
    flags = numeric_columns(table)
    tails = _tails(table, flags)
    rows = [_header(table), _alignment(flags)]
    rows += [_body(row.cells, row.heading, table.n_columns, tails)
             for row, _ in body_rows(table)]
    widths = [max(len(r[j]) for r in rows) for j in range(table.n_columns)]
    rows[1] = _alignment(flags, widths)
    parts = [f"**{escape(table.title)}**"] if table.title else []
    parts.append("\n".join(_pipe_row(r, widths) for r in rows))
    notes = [_paragraph(note) for note in table.notes]
    if notes and table.note_label:
        notes[0] = f"*{escape(table.note_label)}* {notes[0]}"
    parts += notes
    return "\n\n".join(parts) + "\n"


def _paragraph(text: str) -> str:
    """An escaped note that cannot start a list, heading or rule (``1. ``, ``- ``, ``=``)."""
    def fix(m: re.Match) -> str:
        lead, char = (m[1], m[2]) if m[2] else (m[3], m[4])
        return f"{lead}\\{char}"

    return _BLOCK_START.sub(fix, escape(text))


def _content(cell: Cell) -> str:
    """Escaped text with marks appended literally and footnote marks in ``<sup>``."""
    text = escape(cell.text + cell.marks)
    if cell.notes:
        text += f"<sup>{escape(','.join(cell.notes))}</sup>"
    if cell.emphasis and text:
        text = f"*{text}*" if cell.emphasis == "italic" else f"**{text}**"
    return text


def _header(table: Table) -> list[str]:
    """One header cell per column: the texts of every header row covering it."""
    columns: list[list[str]] = [[] for _ in range(table.n_columns)]
    for cells in table.header:
        for col, cell in slots(cells):
            if cell.text or superscript(cell):
                for j in range(col, col + cell.span):
                    columns[j].append(_content(cell))
    return ["<br>".join(texts) for texts in columns]


def _tail(cell: Cell) -> int:
    """Characters after the decimal point of a number, its marks included."""
    return len(split_decimal(cell.text)[1]) + len(superscript(cell))


def _tails(table: Table, flags: list[bool]) -> dict[int, int]:
    """Per numeric column, the longest tail of its numbers."""
    out: dict[int, int] = {}
    for row in table.rows:
        if not row.heading:
            for col, cell in slots(row.cells):
                if flags[col] and cell.numeric and cell.text and cell.span == 1:
                    out[col] = max(out.get(col, 0), _tail(cell))
    return out


def _body(cells: tuple[Cell, ...], heading: bool, n: int,
          tails: dict[int, int] | None = None) -> list[str]:
    """One body row; a spanning cell is put in its first column, the rest left empty; a
    number in a numeric column is padded to the column's decimals."""
    if heading:
        cell = cells[0]
        italic = Cell(cell.text, cell.marks, cell.notes, emphasis=cell.emphasis or "italic")
        return [_content(italic)] + [""] * (n - 1)
    tails = tails or {}
    out = [""] * n
    for col, cell in slots(cells):
        out[col] = _content(cell)
        if col in tails and cell.numeric and cell.text and cell.span == 1:
            out[col] += FIGURE_SPACE * (tails[col] - _tail(cell))
    return out


def _alignment(flags: list[bool], widths: list[int] | None = None) -> list[str]:
    """The delimiter row: stub left-aligned, numeric columns right-aligned, others centred."""
    widths = widths or [3] * len(flags)
    stubs = [":" + "-" * max(w - 1, 2) for w in widths[:1]]
    return stubs + ["-" * max(w - 1, 2) + ":" if flag else ":" + "-" * max(w - 2, 1) + ":"
                    for w, flag in zip(widths[1:], flags[1:], strict=True)]


def _pipe_row(cells: list[str], widths: list[int]) -> str:
    """One line of the pipe table, cells padded to the column widths."""
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
