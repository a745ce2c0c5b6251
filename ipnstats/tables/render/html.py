"""HTML: one ``<table>`` element with caption, head, body and the notes in a footer."""

from __future__ import annotations

from html import escape

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import (
    MINUS,
    body_rows,
    label_key,
    number_text,
    numeric_columns,
    physical_span,
    slots,
    split_decimal,
    split_layout,
    superscript,
    typeset_minus,
)

#: A small stylesheet giving ``ipn-table`` tables booktabs-like rules; a report
#: document embeds it once in its ``<style>`` element.
TABLE_CSS = """\
table.ipn-table {
  border-collapse: collapse; border-top: 2px solid currentColor; margin: 1em 0;
  font-variant-numeric: tabular-nums; }
table.ipn-table caption { caption-side: top; text-align: left; padding-bottom: .4em; }
table.ipn-table th, table.ipn-table td {
  border: none; padding: .15em .7em; text-align: center; font-weight: normal; }
table.ipn-table .stub { text-align: left; }
table.ipn-table .num { text-align: center; white-space: nowrap; }
table.ipn-table td.int { text-align: right; padding-right: 0; white-space: nowrap; }
table.ipn-table td.dec { text-align: left; padding-left: 0; white-space: nowrap; }
table.ipn-table thead tr:last-child > * { border-bottom: 1px solid currentColor; }
table.ipn-table thead th.span { border-bottom: 1px solid currentColor; }
table.ipn-table tbody tr.section-start > * { border-top: 1px solid currentColor; }
table.ipn-table tbody tr:last-child > * { border-bottom: 2px solid currentColor; }
table.ipn-table tr.heading > * { font-style: italic; text-align: left; }
table.ipn-table tfoot td { text-align: left; font-size: .85em; padding-top: .4em; }
table.ipn-table tfoot p { margin: 0 0 .2em 0; }
"""

_MINUS = "&minus;"


def to_html(table: Table) -> str:
    """Render a table as a single HTML ``<table>`` element.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        ``<table class="ipn-table">`` with ``<caption>``, ``<thead>``, ``<tbody>`` (the
        first row of each later section has ``class="section-start"``) and a
        ``<tfoot>`` holding the notes; all text escaped. Style it with :data:`TABLE_CSS`.
    """
    flags = numeric_columns(table)
    starts, total = split_layout(flags)

    def width(col: int, span: int) -> int:
        return physical_span(starts, total, col, span)

    key = label_key(table.label)
    lines = [f'<table class="ipn-table" id="{escape(key)}">' if key
             else '<table class="ipn-table">']
    if table.title:
        lines.append(f"<caption>{escape(table.title)}</caption>")
    if table.header:
        lines += ["<thead>", *(_header_row(cells, width) for cells in table.header), "</thead>"]
    lines.append("<tbody>")
    lines += [_body_row(row, new, total, width, flags) for row, new in body_rows(table)]
    lines.append("</tbody>")
    lines += _footer(table, total)
    lines.append("</table>")
    return "\n".join(lines) + "\n"


def _content(cell: Cell) -> str:
    """Escaped text (true minus signs in numbers), emphasis and a ``<sup>`` mark."""
    text = escape(number_text(cell, MINUS)).replace(MINUS, _MINUS)
    if cell.emphasis == "italic" and text:
        text = f"<em>{text}</em>"
    elif cell.emphasis == "bold" and text:
        text = f"<strong>{text}</strong>"
    sup = superscript(cell)
    return text + (f"<sup>{escape(sup)}</sup>" if sup else "")


def _attrs(classes: list[str], span: int, extra: str = "") -> str:
    """The attribute string of one cell (class, colspan and anything extra)."""
    out = f' class="{" ".join(classes)}"' if classes else ""
    out += f' colspan="{span}"' if span > 1 else ""
    return out + extra


def _header_row(cells: tuple[Cell, ...], width) -> str:
    """One ``<tr>`` of ``<th>`` cells; spanning cells get ``colspan`` and class ``span``;
    a numeric column's header spans its two halves."""
    parts = []
    for col, cell in slots(cells):
        classes = ["stub"] if col == 0 else (["span"] if cell.span > 1 and cell.text else [])
        scope = ' scope="colgroup"' if cell.span > 1 else ' scope="col"'
        parts.append(f"<th{_attrs(classes, width(col, cell.span), scope)}>{_content(cell)}</th>")
    return "<tr>" + "".join(parts) + "</tr>"


def _body_row(row: Row, new_section: bool, n: int, width, flags: list[bool]) -> str:
    """One ``<tr>``: the stub as a row header, then ``<td>`` cells; a number is split at
    its decimal point into a right-aligned and a left-aligned cell."""
    classes = (["section-start"] if new_section else []) + (["heading"] if row.heading else [])
    tr = f'<tr class="{" ".join(classes)}">' if classes else "<tr>"
    if row.heading:
        attrs = _attrs(["stub"], n, ' scope="rowgroup"')
        return f"{tr}<th{attrs}>{_content(row.cells[0])}</th></tr>"
    parts = []
    for col, cell in slots(row.cells):
        if col == 0:
            attrs = _attrs(["stub"], cell.span, ' scope="row"')
            parts.append(f"<th{attrs}>{_content(cell)}</th>")
        elif flags[col] and cell.numeric and cell.text and cell.span == 1:
            head, tail = split_decimal(number_text(cell, MINUS))
            parts.append(f'<td class="int">{escape(head).replace(MINUS, _MINUS)}</td>'
                         f'<td class="dec">{_content(Cell(tail, cell.marks, cell.notes))}</td>')
        else:
            classes = ["num"] if cell.numeric else []
            parts.append(f"<td{_attrs(classes, width(col, cell.span))}>{_content(cell)}</td>")
    return tr + "".join(parts) + "</tr>"


def _footer(table: Table, total: int) -> list[str]:
    """The ``<tfoot>``: every note as a paragraph in one cell spanning the table."""
    if not table.notes:
        return []
    label = f"<em>{escape(table.note_label)}</em> " if table.note_label else ""
    notes = "".join(f"<p>{label if i == 0 else ''}"
                    f"{escape(typeset_minus(note, MINUS)).replace(MINUS, _MINUS)}</p>"
                    for i, note in enumerate(table.notes))
    return ["<tfoot>", f'<tr><td colspan="{total}">{notes}</td></tr>', "</tfoot>"]
