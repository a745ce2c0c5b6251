"""Helpers shared by the renderers: row walking, header slots, minus signs, labels."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ipnstats.tables.model import Cell, Row, Table

#: The true minus sign (U+2212); each renderer maps it to its own markup.
MINUS = "\u2212"

#: An ASCII hyphen that is the sign of a number: not after a letter, digit or point,
#: and followed by a digit or a decimal point (``-0.08``, ``[-1.2, 3]``, ``(-.5)``).
NUMBER_MINUS = re.compile(r"(?<![\w.])-(?=[\d.])")


def typeset_minus(text: str, minus: str) -> str:
    """Replace the ASCII minus sign of every number in ``text`` with ``minus``.

    Parameters
    ----------
    text
        Raw cell text; renderers typeset the minus before escaping.
    minus
        The minus sign, usually ``"\\u2212"`` which each target then escapes.

    Returns
    -------
    str
        The text with number signs replaced; hyphens inside words stay.
    """
    return NUMBER_MINUS.sub(lambda _: minus, text)


def superscript(cell: Cell) -> str:
    """The superscript after a cell's text: marks, then footnote marks, comma-joined.

    Examples
    --------
    ``Cell("0.3", marks="**")`` gives ``"**"``; ``Cell("", notes=("a", "b"))`` gives
    ``"a,b"``; ``Cell("0.3", marks="*", notes=("a",))`` gives ``"*,a"``.
    """
    return ",".join(part for part in (cell.marks, *cell.notes) if part)


def body_rows(table: Table) -> Iterator[tuple[Row, bool]]:
    """Walk the body rows, flagging the first row of each section after the first.

    Yields
    ------
    tuple of (Row, bool)
        The row and whether a rule goes above it.
    """
    previous: str | None = None
    for row in table.rows:
        yield row, previous is not None and row.section != previous
        previous = row.section


def slots(cells: tuple[Cell, ...]) -> list[tuple[int, Cell]]:
    """Pair each cell of a row with the index of the first column it covers."""
    out, col = [], 0
    for cell in cells:
        out.append((col, cell))
        col += cell.span
    return out


def spanning_cells(cells: tuple[Cell, ...]) -> list[tuple[int, int]]:
    """The ``(first, last)`` columns (0-based, inclusive) of non-empty spanning cells.

    These are the cells that get a partial rule (``\\cmidrule``) under them.
    """
    return [(col, col + c.span - 1) for col, c in slots(cells) if c.span > 1 and c.text]


def label_key(label: str) -> str:
    """A label reduced to a safe cross-reference key (letters, digits, ``- _ : .``)."""
    key = re.sub(r"[^A-Za-z0-9_:.-]+", "-", label.strip())
    return key.strip("-")
