"""Word (python-docx): a real Word table with booktabs-like borders and no grid."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table as DocxTable
from docx.table import _Cell

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import (
    MINUS,
    body_rows,
    number_text,
    numeric_columns,
    slots,
    split_decimal,
    superscript,
    typeset_minus,
)

#: Border widths in eighths of a point (booktabs: heavy top/bottom, light mid rules).
HEAVY = 12
LIGHT = 6
THIN = 4
NOTE_SIZE = Pt(9)
CHAR_WIDTH = Pt(6.5)
CELL_PADDING = Pt(14)


def to_docx(table: Table, path: str | Path) -> Path:
    """Write a Word document holding the table.

    Parameters
    ----------
    table
        The formatted table.
    path
        The ``.docx`` file to write.

    Returns
    -------
    Path
        The path written.
    """
    document = Document()
    add_docx_table(document, table)
    document.core_properties.identifier = docx_digest(table)
    return save_docx(document, path)


def docx_digest(table: Table) -> str:
    """What a Word file of ``table`` is made from: the table and this renderer's code."""
    digest = hashlib.sha256(repr(table).encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def docx_is_current(table: Table, path: str | Path) -> bool:
    """Whether ``path`` is the Word file :func:`to_docx` would write for ``table`` now."""
    try:
        with zipfile.ZipFile(path) as docx:
            core = docx.read("docProps/core.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return f">{docx_digest(table)}<" in core


def save_docx(document, path: str | Path) -> Path:
    """Save a python-docx document with fixed zip time stamps: the same document gives
    the same bytes on every run (python-docx stamps each entry with the current time)."""
    buffer = io.BytesIO()
    document.save(buffer)
    path = Path(path)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return path


def add_docx_table(document, table: Table) -> DocxTable:
    """Append the table (caption, Word table, notes) to an open python-docx document.

    Parameters
    ----------
    document
        A ``docx.Document``; a report can add several tables to it.
    table
        The formatted table.

    Returns
    -------
    docx.table.Table
        The Word table added: header rows bold with merged spanning cells, numbers
        aligned on a decimal tab stop with marks as superscript runs, rules at top,
        under the header, between sections and at the bottom, no grid lines.
    """
    if table.title:
        document.add_paragraph(table.title, style=_style(document, "Caption"))
    rows = list(body_rows(table))
    grid = document.add_table(rows=len(table.header) + len(rows), cols=table.n_columns)
    grid.style = _style(document, "Normal Table")
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = _column_widths(table, _text_width(document))
    _set_widths(grid, widths)
    tabs = _decimal_tabs(table, widths)
    for r, cells in enumerate(table.header):
        _fill_row(grid, r, cells, bold=True)
    for r, (row, _) in enumerate(rows, start=len(table.header)):
        _fill_body(grid, r, row, tabs)
    _rules(grid, table, [new for _, new in rows])
    for i, note in enumerate(table.notes):
        paragraph = document.add_paragraph()
        if i == 0 and table.note_label:
            label = paragraph.add_run(table.note_label + " ")
            label.italic, label.font.size = True, NOTE_SIZE
        run = paragraph.add_run(typeset_minus(note, MINUS))
        run.font.size = NOTE_SIZE
    return grid


def _text_width(document) -> int:
    """The width between the margins of the last section, in EMU."""
    section = document.sections[-1]
    return section.page_width - section.left_margin - section.right_margin


def _column_widths(table: Table, available: int) -> list[int]:
    """Column widths (EMU) from the longest single-column text, shrunk to fit the page."""
    chars = [4] * table.n_columns
    for cells in (*table.header, *(r.cells for r in table.rows if not r.heading)):
        for col, cell in slots(cells):
            if cell.span == 1:
                chars[col] = max(chars[col], len(cell.text) + len(superscript(cell)))
    widths = [int(CHAR_WIDTH * c + CELL_PADDING) for c in chars]
    scale = min(1.0, available / sum(widths)) if widths else 1.0
    return [int(w * scale) for w in widths]


def _decimal_tabs(table: Table, widths: list[int]) -> dict[int, int]:
    """Per numeric column, the decimal tab stop (EMU from the cell's text edge) that
    centres the column's block of numbers, aligned on their decimal points."""
    tabs = {}
    for col, flag in enumerate(numeric_columns(table)):
        if not flag:
            continue
        parts = [split_decimal(c.text) + (superscript(c),) for r in table.rows if not r.heading
                 for j, c in slots(r.cells) if j == col and c.numeric and c.text]
        left = max(len(h) for h, _, _ in parts)
        right = max(len(t) + len(m) for _, t, m in parts)
        inner = widths[col] - CELL_PADDING
        tabs[col] = int(max(inner - CHAR_WIDTH * (left + right), 0) / 2 + CHAR_WIDTH * left)
    return tabs


def _set_widths(grid: DocxTable, widths: list[int]) -> None:
    """Give every column (``w:gridCol``) and every cell (``w:tcW``) its width."""
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def _style(document, name: str) -> str | None:
    """The style name when the document defines it, else ``None`` (the default)."""
    return name if name in [s.name for s in document.styles] else None


def _fill_row(grid: DocxTable, r: int, cells: tuple[Cell, ...], bold: bool = False) -> None:
    """Write the cells of one row, merging the grid cells a spanning cell covers."""
    for col, cell in slots(cells):
        target = grid.cell(r, col)
        if cell.span > 1:
            target = target.merge(grid.cell(r, col + cell.span - 1))
        _write(target, cell, WD_ALIGN_PARAGRAPH.LEFT if col == 0 else
               WD_ALIGN_PARAGRAPH.CENTER, bold)


def _fill_body(grid: DocxTable, r: int, row: Row, tabs: dict[int, int]) -> None:
    """One body row; a heading row is one italic cell merged across the table; a number
    in a numeric column sits on the column's decimal tab stop."""
    if not row.heading:
        _fill_row(grid, r, row.cells)
        for col, cell in slots(row.cells):
            if col in tabs and cell.numeric and cell.text and cell.span == 1:
                _decimal(grid.cell(r, col), tabs[col])
        return
    cell = row.cells[0]
    target = grid.cell(r, 0).merge(grid.cell(r, len(grid.columns) - 1))
    italic = Cell(cell.text, cell.marks, cell.notes, emphasis=cell.emphasis or "italic")
    _write(target, italic, WD_ALIGN_PARAGRAPH.LEFT)


def _write(target: _Cell, cell: Cell, align, bold: bool = False) -> None:
    """Put a cell's text and its superscript mark into a Word cell."""
    paragraph = target.paragraphs[0]
    paragraph.alignment = align
    text = number_text(cell, MINUS)
    if text:
        run = paragraph.add_run(text)
        run.bold = True if bold or cell.emphasis == "bold" else None
        run.italic = True if cell.emphasis == "italic" else None
    sup = superscript(cell)
    if sup:
        paragraph.add_run(sup).font.superscript = True


def _decimal(target: _Cell, position: int) -> None:
    """Left-align a written number and put it on a decimal tab stop at ``position``."""
    paragraph = target.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.tab_stops.add_tab_stop(position, WD_TAB_ALIGNMENT.DECIMAL)
    paragraph.runs[0].text = "\t" + paragraph.runs[0].text


def _rules(grid: DocxTable, table: Table, section_starts: list[bool]) -> None:
    """Booktabs-like borders: heavy top and bottom, light under header and sections."""
    trs = [row._tr for row in grid.rows]
    if not trs:
        return
    n_head = len(table.header)
    _border_row(trs[0], "top", HEAVY)
    _border_row(trs[-1], "bottom", HEAVY)
    if n_head and len(trs) > n_head:
        _border_row(trs[n_head - 1], "bottom", LIGHT)
    for r, cells in enumerate(table.header[:-1]):
        for tc, cell in zip(trs[r].tc_lst, cells, strict=True):
            if cell.span > 1 and cell.text:
                _border(tc, "bottom", THIN)
    for offset, new in enumerate(section_starts):
        if new:
            _border_row(trs[n_head + offset], "top", LIGHT)


def _border_row(tr, edge: str, size: int) -> None:
    """Draw one border along every cell of a row."""
    for tc in tr.tc_lst:
        _border(tc, edge, size)


def _border(tc, edge: str, size: int) -> None:
    """Set one border (``top`` or ``bottom``) of a cell via ``w:tcBorders``."""
    pr = tc.get_or_add_tcPr()
    borders = pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        pr.append(borders)
    for old in borders.findall(qn(f"w:{edge}")):
        borders.remove(old)
    element = OxmlElement(f"w:{edge}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "0"),
                       ("color", "auto")):
        element.set(qn(f"w:{key}"), value)
    if edge == "top":  # the schema wants top before bottom
        borders.insert(0, element)
    else:
        borders.append(element)
