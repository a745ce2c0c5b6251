"""Typst source of a :class:`~.document.Report`: preamble, title page, then the blocks.

Every piece of text becomes a Typst string literal (:func:`typst_string`), so no
character of it is read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ipnstats.report.document import (
    TOC_DEPTH,
    Block,
    FigureBlock,
    Heading,
    PageBreak,
    Report,
    TableBlock,
    Text,
    display_date,
    parse_text,
    pdf_date,
    toc_headings,
)

if TYPE_CHECKING:
    from ipnstats.tables.model import Table

#: Tables with more columns than this get a landscape page of their own in the PDF.
WIDE_TABLE = 10

#: Tables with at most this many lines (header rows, body rows and notes) fit on one
#: page: caption, table and notes are kept together. Longer tables may break across
#: pages and repeat their header row on each page.
PAGE_LINES = 40

#: Characters of table text on one line across the page.
LINE_CHARS = 130

#: Text of at most this many characters just before a table or figure (its pointer
#: line) is kept on the same page as it; with the sticky headings, a heading and its
#: introduction never end alone at a page foot.
LEAD_CHARS = 900


def typst_source(report: Report) -> str:
    """The Typst source of ``report``; figures are referred to by ``FigureBlock.name``."""
    parts = [_typst_preamble(report), _typst_title_page(report)]
    blocks = report.blocks
    lead: list[str] = []  # headings and pointer text waiting for the block they introduce
    for i, block in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if _is_wide(block):
            parts.append(_typst_block(block, lead="\n\n".join(lead)))
            lead = []
            continue
        text = _typst_block(block)
        if isinstance(block, Text) and isinstance(nxt, TableBlock | FigureBlock) \
                and len(block.text) <= LEAD_CHARS:
            text = keep_with_next(text)
        if isinstance(block, Heading) or text.startswith("#block(sticky: true"):
            lead.append(text)
            continue
        parts += lead + [text]
        lead = []
    return "\n\n".join(parts + lead) + "\n"


def _is_wide(block: Block) -> bool:
    """A table with more than :data:`WIDE_TABLE` columns (a landscape page of its own)."""
    return isinstance(block, TableBlock) and block.table.n_columns > WIDE_TABLE


def typst_string(text: str) -> str:
    """A Typst string literal: shows ``text`` verbatim, whatever its characters.

    Examples
    --------
    >>> typst_string('a "b" \\\\ #c')
    '"a \\\\"b\\\\" \\\\\\\\ #c"'
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "").replace("\t", " ") + '"'


_PREAMBLE = """\
#set page(paper: "a4", margin: (x: 2.5cm, top: 2.5cm, bottom: 2.7cm), numbering: "1",
  footer: context align(center, text(9pt, counter(page).display("1"))))
#set text(font: "Libertinus Serif", size: 11pt, lang: "en", fallback: true)
#set par(justify: true, leading: 0.62em, spacing: 1.1em)
#set heading(numbering: "1.1")
#show heading: set block(above: 1.6em, below: 0.9em, sticky: true)
#show heading.where(level: 1): set text(size: 14pt)
#show heading.where(level: 2): set text(size: 12pt)
#show heading.where(level: 3): set text(size: 11pt)
#show raw: set text(font: "DejaVu Sans Mono", size: 9pt)
#set list(indent: 0.6em, body-indent: 0.6em)
#set figure(gap: 0.9em)
#show figure: set block(above: 1.6em, below: 1.6em)
#show figure.caption: set text(size: 10pt)
#show figure.where(kind: table): set figure.caption(position: top)
#show table: set par(justify: false)
#show table: set text(size: 9.5pt)
#show outline.entry.where(level: 1): set block(above: 0.9em)"""


def _typst_preamble(report: Report) -> str:
    date = pdf_date(report)
    date_expr = (f"datetime(year: {date.year}, month: {date.month}, day: {date.day})"
                 if date else "none")
    authors = ", ".join(typst_string(a) for a in report.authors)
    return (f"#set document(title: {typst_string(report.title)}, "
            f"author: ({authors}{',' if authors else ''}), date: {date_expr})\n{_PREAMBLE}")


def _typst_title_page(report: Report) -> str:
    lines = [f"#text(20pt, weight: \"bold\", {typst_string(report.title)})"]
    if report.subtitle:
        lines.append(f"#v(0.2em)\n#text(14pt, {typst_string(report.subtitle)})")
    details = [", ".join(report.authors), display_date(report)]
    for text in filter(None, details):
        lines.append(f"#v(0.1em)\n#text(11pt, {typst_string(text)})")
    head = "#align(center)[\n#v(2.5cm)\n" + "\n".join(lines) + "\n]\n#v(1.5cm)"
    toc = (f"#v(1cm)\n#outline(title: [Contents], depth: {TOC_DEPTH})\n"
           if toc_headings(report) else "")
    return f"{head}\n{_typst_meta(report.meta)}\n{toc}#pagebreak(weak: true)"


def _typst_meta(meta: Mapping[str, str]) -> str:
    if not meta:
        return ""
    cells = ", ".join(f"text(style: \"italic\", {typst_string(k)}), {typst_string(v)}"
                      for k, v in meta.items())
    return ("#block(width: 100%, inset: (y: 0.7em), stroke: (y: 0.5pt))[\n"
            "#set text(9.5pt)\n#set par(justify: false)\n"
            f"#grid(columns: (auto, 1fr), column-gutter: 1.5em, row-gutter: 0.65em, {cells})\n]")


def _typst_block(block: Block, lead: str = "") -> str:
    """The Typst source of one block; ``lead`` (the headings and text that introduce a
    wide table) goes on the table's landscape page with it."""
    match block:
        case Heading(text, level):
            return f"#heading(level: {level}, {typst_string(text)})"
        case Text(text):
            return "\n\n".join(f"#{typst_string(parts[0])}" if kind == "p" else
                               f"#list({', '.join(typst_string(p) for p in parts)},)"
                               for kind, parts in parse_text(text))
        case TableBlock(table):
            from ipnstats.tables.render import to_typst

            source = table_figure(table, to_typst)
            if table.n_columns > WIDE_TABLE:
                lead = f"{lead}\n\n" if lead else ""
                return f"#page(flipped: true)[\n{lead}#set text(size: 8pt)\n{source}]"
            return source
        case FigureBlock(caption=caption):
            cap = f"[#{typst_string(caption)}]" if caption else "none"
            image = f"image({typst_string(block.name)})"
            return f"#block(breakable: false, width: 100%)[#figure({image}, caption: {cap})]"
        case PageBreak():
            return "#pagebreak()"
    raise TypeError(f"unknown report block {block!r}")  # pragma: no cover


def table_lines(table: Table) -> int:
    """Lines a table takes, roughly: each header and body row as many lines as its
    longest cell wraps to (a column gets about ``LINE_CHARS / columns`` characters),
    one per note per ``LINE_CHARS`` characters, and the caption."""
    width = max(LINE_CHARS // max(table.n_columns, 1), 8)

    def lines(cells) -> int:
        return max([1] + [-(-len(c.text) // width) for c in cells])

    rows = sum(lines(r) for r in table.header) + sum(lines(r.cells) for r in table.rows)
    notes = sum(1 + len(n) // LINE_CHARS for n in table.notes)
    return rows + notes + (1 if table.title else 0)


def table_figure(table: Table, to_typst) -> str:
    """The table's ``#figure``, kept on one page when it has at most :data:`PAGE_LINES`
    lines; otherwise allowed to break across pages, its header row repeated and its
    notes kept with its last row (``to_typst(table, breakable=True)``)."""
    if table_lines(table) <= PAGE_LINES:
        return f"#block(breakable: false, width: 100%)[\n{to_typst(table)}]"
    figure = to_typst(table, breakable=True)
    return f"#[\n#show figure: set block(breakable: true)\n{figure}]"


def keep_with_next(source: str) -> str:
    """``source`` in a non-breakable sticky block: kept on the page of the next block."""
    return f"#block(sticky: true, breakable: false, width: 100%)[\n{source}\n]"
