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


def numeric_columns(table: Table) -> list[bool]:
    """Per column (stub first, never numeric): whether most of its filled single-column
    body cells are numbers (a settings column of mostly words is not).

    These columns are decimal-aligned: each renderer splits them in two, the part before
    the decimal point right-aligned and the rest left-aligned.
    """
    numbers, texts = [0] * table.n_columns, [0] * table.n_columns
    for row in table.rows:
        if not row.heading:
            for j, cell in slots(row.cells):
                if cell.span == 1 and cell.text:
                    numbers[j] += cell.numeric
                    texts[j] += not cell.numeric
    flags = [n > t for n, t in zip(numbers, texts, strict=True)]
    flags[0] = False
    return flags


def split_decimal(text: str) -> tuple[str, str]:
    """Split a number's text at its decimal point: ``("−0", ".080")``, ``("(0", ".109)")``.

    A text without a point (a count such as ``"1,234"`` or ``"<3"``) is all integer part,
    so counts end where the integer digits of the decimals end.
    """
    head, point, tail = text.partition(".")
    return head, point + tail


def number_text(cell: Cell, minus: str) -> str:
    """A cell's text with the sign of every number typeset as ``minus``.

    Numbers inside text cells (``"b = -0.08"``) get it too: the pattern only matches a
    hyphen before a digit that follows no letter, digit or point, so ranges (``2010-2015``)
    and words (``t-1``) keep their hyphen.
    """
    return typeset_minus(cell.text, minus)


def split_layout(flags: list[bool]) -> tuple[list[int], int]:
    """Where each logical column starts among the split columns, and how many there are.

    A numeric column takes two physical columns (integer part, decimal part), any other
    one; renderers that align on the decimal point by splitting columns use this map.
    """
    starts, col = [], 0
    for flag in flags:
        starts.append(col)
        col += 2 if flag else 1
    return starts, col


def physical_span(starts: list[int], total: int, col: int, span: int) -> int:
    """How many physical columns the logical columns ``col .. col+span-1`` cover."""
    end = starts[col + span] if col + span < len(starts) else total
    return end - starts[col]
