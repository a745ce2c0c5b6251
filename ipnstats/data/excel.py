"""Read one sheet of an .xlsx workbook into a raw frame, column by used column.

A workbook's used range may reach column XFD (16384) because of one stray cell far to
the right of the data; pandas' ``read_excel`` then builds every row 16384 cells wide and
parses as many columns (tens of seconds for a few hundred rows). Here a sheet is read
once, sparsely: columns with no filled cell at all (header included) are never built,
every other column is parsed exactly as ``read_excel`` would (same cell conversion,
same parser), and a filled cell in a column without a name is named, so that the
reader can tell the user about it rather than keep it silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC
from openpyxl.utils import get_column_letter
from pandas.errors import EmptyDataError
from pandas.io.parsers import TextParser

#: Stray cells named in a note (the rest are counted).
SHOWN = 3


@dataclass(frozen=True)
class Sheet:
    """A sheet as read: its frame (unnamed columns keep the name ``read_excel`` gives
    them, ``Unnamed: <0-based position in the sheet>``) and the filled cells found in
    columns without a name, below the header (e.g. ``"XFD708 = 'total'"``)."""

    frame: pd.DataFrame
    stray: tuple[str, ...] = ()
    n_stray: int = 0


def read_sheet(book, name: str, header: int | None = 0, nrows: int | None = None,
               dtype=None) -> Sheet:
    """Sheet ``name`` of an openpyxl workbook (as ``pd.ExcelFile(path).book`` opens it),
    its column names on 0-based row ``header`` (None: no header, columns numbered by
    their position in the sheet); ``nrows``: read at most that many rows of the sheet
    (``header=None`` only); ``dtype`` as in ``read_excel``."""
    rows, sheet_rows = _rows(book[name], nrows)
    used = sorted({j for row in rows for j, value in enumerate(row) if value != ""})
    data = [[row[j] if j < len(row) else "" for j in used] for row in rows]
    try:
        frame = TextParser(data, header=header, skip_blank_lines=False, dtype=dtype).read()
    except EmptyDataError:
        return Sheet(pd.DataFrame())
    if header is None:
        return Sheet(frame.set_axis(used, axis=1))
    unnamed = [k for k, value in enumerate(data[header]) if value == ""] if data else []
    names = list(frame.columns)
    for k in unnamed:
        names[k] = f"Unnamed: {used[k]}"
    cells = [f"{get_column_letter(used[k] + 1)}{sheet_rows[i]} = {data[i][k]!r}"
             for i in range(header + 1, len(data)) for k in unnamed if data[i][k] != ""]
    return Sheet(frame.set_axis(names, axis=1), tuple(cells[:SHOWN]), len(cells))


def _rows(sheet, nrows: int | None) -> tuple[list[list], list[int]]:
    """The sheet's rows as ``read_excel`` converts them, trailing empty cells and rows
    dropped, and the 1-based sheet row of each."""
    if hasattr(sheet, "reset_dimensions"):  # a read-only sheet
        sheet.reset_dimensions()  # a declared size can be wrong: read the real one
    rows, numbers, last = [], [], 0
    for number, row in enumerate(sheet.iter_rows(), start=1):
        values = [_value(cell) for cell in row]
        while values and values[-1] == "":
            values.pop()
        rows.append(values)
        numbers.append(number)
        if values:
            last = len(rows)
        if nrows is not None and len(rows) >= nrows:
            break
    return rows[:last], numbers[:last]


def _value(cell):
    """A cell's value as pandas' openpyxl reader gives it ("" when empty)."""
    if cell.value is None:
        return ""
    if cell.data_type == TYPE_ERROR:
        return float("nan")
    if cell.data_type == TYPE_NUMERIC:
        whole = int(cell.value)
        return whole if whole == cell.value else float(cell.value)
    return cell.value
