"""The report document: a title page, contents, then headings, text, tables and figures.

A :class:`Report` is an immutable builder: each ``add_*`` method returns a new report
with one more block, so a report can be shared and extended without surprises. It
renders to Typst source, to PDF through the ``typst`` package (fonts bundled with the
compiler, no LaTeX) and to one self-contained HTML file. The same report gives the
same bytes on every run.

Text is plain text in every block: no markup is interpreted; paragraphs are separated
by blank lines and lines starting with ``"- "`` are bullet points.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from ..tables.model import Table

FigureKind = Literal["svg", "png"]
TOC_DEPTH = 2
#: Tables with more columns than this get a landscape page of their own in the PDF.
WIDE_TABLE = 10


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class TableBlock:
    table: Table


@dataclass(frozen=True, slots=True)
class FigureBlock:
    data: bytes
    kind: FigureKind
    caption: str = ""

    @property
    def name(self) -> str:
        """File name, derived from the content so that it is the same on every run."""
        return f"figure-{hashlib.sha256(self.data).hexdigest()[:12]}.{self.kind}"


@dataclass(frozen=True, slots=True)
class PageBreak:
    pass


Block = Heading | Text | TableBlock | FigureBlock | PageBreak


@dataclass(frozen=True, slots=True)
class Report:
    """A report: title page with metadata, table of contents, then the added blocks.

    Parameters
    ----------
    title, subtitle
        Shown on the title page.
    authors
        Names, shown under the subtitle.
    meta
        ``key: value`` lines for the title page ("Data fingerprint", "Software" ...).
    date
        Shown on the title page; an ISO date (``"2024-05-01"``) also becomes the PDF's
        date. Without it, ``SOURCE_DATE_EPOCH`` gives the date if set.
    blocks
        The content; build it with the ``add_*`` methods.

    Examples
    --------
    >>> r = (Report("Peer learning", "Appendix", meta={"Seed": "42"})
    ...      .add_heading("Data").add_text("Firms: 120.\\n\\n- one\\n- two"))
    >>> r.to_typst().count("#heading")
    1
    """

    title: str
    subtitle: str = ""
    _: KW_ONLY
    authors: tuple[str, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict, hash=False)
    date: str | None = None
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        authors = (self.authors,) if isinstance(self.authors, str) else self.authors
        object.__setattr__(self, "authors", tuple(str(a) for a in authors))
        meta = {str(k): str(v) for k, v in self.meta.items()}
        object.__setattr__(self, "meta", MappingProxyType(meta))

    def add_heading(self, text: str, level: int = 1) -> Report:
        """A new report with a numbered section heading (level 1 to 4) added."""
        if level not in (1, 2, 3, 4):
            raise ValueError(f"heading level must be 1, 2, 3 or 4, got {level!r}")
        return self._add(Heading(str(text), level))

    def add_text(self, text: str) -> Report:
        """A new report with plain text added (blank lines part paragraphs, "- " bullets)."""
        return self._add(Text(str(text)))

    def add_table(self, table) -> Report:
        """A new report with a table added: a ``Table`` or an object with ``as_table()``."""
        if hasattr(table, "as_table"):
            table = table.as_table()
        if not isinstance(table, Table):
            raise TypeError(f"add_table needs an ipnstats Table or an object with "
                            f"as_table(), got {type(table).__name__}")
        return self._add(TableBlock(table))

    def add_figure(self, figure, caption: str = "") -> Report:
        """A new report with a figure added: a matplotlib Figure, or a .svg or .png path.

        A Figure is stored as deterministic SVG at once: later changes to it are not seen.
        """
        if isinstance(figure, str | Path):
            path = Path(figure)
            kind = path.suffix.lower().lstrip(".")
            if kind not in ("svg", "png"):
                raise ValueError(f"figure file {path} must be .svg or .png")
            return self._add(FigureBlock(path.read_bytes(), kind, str(caption)))
        from ..figures import figure_bytes

        return self._add(FigureBlock(figure_bytes(figure, "svg"), "svg", str(caption)))

    def add_page_break(self) -> Report:
        """A new report with a page break added (a print page break in HTML)."""
        return self._add(PageBreak())

    def _add(self, block: Block) -> Report:
        return replace(self, blocks=(*self.blocks, block))

    def to_typst(self) -> str:
        """The Typst source; figures are referred to by ``FigureBlock.name``."""
        parts = [_typst_preamble(self), _typst_title_page(self)]
        parts += [_typst_block(b) for b in self.blocks]
        return "\n\n".join(parts) + "\n"

    def write_typst(self, directory: str | Path) -> Path:
        """Write ``report.typ`` and its figure files to ``directory``; returns the source."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for block in self.blocks:
            if isinstance(block, FigureBlock):
                (directory / block.name).write_bytes(block.data)
        source = directory / "report.typ"
        source.write_text(self.to_typst(), encoding="utf-8")
        return source

    def to_pdf(self, path: str | Path) -> Path:
        """Compile to PDF with the bundled Typst compiler and fonts (A4, 11pt serif)."""
        import typst

        path = Path(path)
        with tempfile.TemporaryDirectory(prefix="ipnstats-report-") as tmp:
            source = self.write_typst(tmp)
            pdf = typst.compile(str(source), root=tmp, ignore_system_fonts=True,
                                format="pdf")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
        return path

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (inline CSS, figures as data URIs)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_html_document(self), encoding="utf-8")
        return path


# -- plain text ------------------------------------------------------------------------

def parse_text(text: str) -> list[tuple[Literal["p", "ul"], list[str]]]:
    """Split plain text into paragraphs (blank-line separated) and "- " bullet lists.

    Examples
    --------
    >>> parse_text("One\\nline.\\n\\n- a\\n- b\\n  more")
    [('p', ['One line.']), ('ul', ['a', 'b more'])]
    """
    out = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip()):
        out += _parse_lines(chunk.splitlines())
    return out


def _parse_lines(lines: list[str]) -> list[tuple[Literal["p", "ul"], list[str]]]:
    out: list = []
    for line in lines:
        bullet = re.match(r"\s*- (.*)", line)
        if bullet and out and out[-1][0] == "ul":
            out[-1][1].append(bullet.group(1).strip())
        elif bullet:
            out.append(("ul", [bullet.group(1).strip()]))
        elif out and (out[-1][0] == "p" or line[:1].isspace()):
            out[-1][1][-1] += " " + line.strip()
        else:
            out.append(("p", [line.strip()]))
    return out


def _display_date(report: Report) -> str:
    if report.date:
        return report.date
    epoch = _source_date()
    return epoch.isoformat() if epoch else ""


def _source_date() -> dt.date | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {value!r}")
    return dt.datetime.fromtimestamp(int(value), dt.UTC).date()


def _pdf_date(report: Report) -> dt.date | None:
    try:
        return dt.date.fromisoformat(report.date or "")
    except ValueError:
        return _source_date()


# -- Typst -----------------------------------------------------------------------------

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
#show heading: set block(above: 1.6em, below: 0.9em)
#show heading.where(level: 1): set text(size: 14pt)
#show heading.where(level: 2): set text(size: 12pt)
#show heading.where(level: 3): set text(size: 11pt)
#show raw: set text(font: "DejaVu Sans Mono", size: 9pt)
#set list(indent: 0.6em, body-indent: 0.6em)
#set figure(gap: 0.9em)
#show figure: set block(above: 1.6em, below: 1.6em)
#show figure.caption: set text(size: 10pt)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.where(kind: table): set block(breakable: true)
#show table: set par(justify: false)
#show table: set text(size: 9.5pt)
#show outline.entry.where(level: 1): set block(above: 0.9em)"""


def _typst_preamble(report: Report) -> str:
    date = _pdf_date(report)
    date_expr = (f"datetime(year: {date.year}, month: {date.month}, day: {date.day})"
                 if date else "none")
    authors = ", ".join(typst_string(a) for a in report.authors)
    return (f"#set document(title: {typst_string(report.title)}, "
            f"author: ({authors}{',' if authors else ''}), date: {date_expr})\n{_PREAMBLE}")


def _typst_title_page(report: Report) -> str:
    lines = [f"#text(20pt, weight: \"bold\", {typst_string(report.title)})"]
    if report.subtitle:
        lines.append(f"#v(0.2em)\n#text(14pt, {typst_string(report.subtitle)})")
    details = [", ".join(report.authors), _display_date(report)]
    for text in filter(None, details):
        lines.append(f"#v(0.1em)\n#text(11pt, {typst_string(text)})")
    head = "#align(center)[\n#v(2.5cm)\n" + "\n".join(lines) + "\n]\n#v(1.5cm)"
    toc = f"#v(1cm)\n#outline(title: [Contents], depth: {TOC_DEPTH})\n" if _toc(report) else ""
    return f"{head}\n{_typst_meta(report.meta)}\n{toc}#pagebreak(weak: true)"


def _toc(report: Report) -> list[tuple[int, Heading]]:
    """The headings listed in the table of contents, with their block positions."""
    return [(i, b) for i, b in enumerate(report.blocks)
            if isinstance(b, Heading) and b.level <= TOC_DEPTH]


def _typst_meta(meta: Mapping[str, str]) -> str:
    if not meta:
        return ""
    cells = ", ".join(f"text(style: \"italic\", {typst_string(k)}), {typst_string(v)}"
                      for k, v in meta.items())
    return ("#block(width: 100%, inset: (y: 0.7em), stroke: (y: 0.5pt))[\n"
            "#set text(9.5pt)\n#set par(justify: false)\n"
            f"#grid(columns: (auto, 1fr), column-gutter: 1.5em, row-gutter: 0.65em, {cells})\n]")


def _typst_block(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"#heading(level: {level}, {typst_string(text)})"
        case Text(text):
            return "\n\n".join(f"#{typst_string(parts[0])}" if kind == "p" else
                               f"#list({', '.join(typst_string(p) for p in parts)},)"
                               for kind, parts in parse_text(text))
        case TableBlock(table):
            from ..tables.render import to_typst

            if table.n_columns > WIDE_TABLE:
                return f"#page(flipped: true)[\n#set text(size: 8pt)\n{to_typst(table)}]"
            return to_typst(table)
        case FigureBlock(caption=caption):
            cap = f"[#{typst_string(caption)}]" if caption else "none"
            return f"#figure(image({typst_string(block.name)}), caption: {cap})"
        case PageBreak():
            return "#pagebreak()"
    raise TypeError(f"unknown report block {block!r}")  # pragma: no cover


# -- HTML ------------------------------------------------------------------------------

_CSS = """\
body { font: 17px/1.5 "Libertinus Serif", "Linux Libertine O", Georgia, "Times New Roman",
  serif; color: #111; background: #fff; max-width: 44em; margin: 2.5em auto;
  padding: 0 1.5em; }
header.title-page { text-align: center; margin: 3em 0 2em; }
header.title-page h1 { font-size: 1.9em; margin: 0 0 0.2em; line-height: 1.2; }
header.title-page p { margin: 0.25em 0; text-align: center; }
header.title-page .subtitle { font-size: 1.3em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.35em 1.5em;
  text-align: left; font-size: 0.85em; border-top: 1px solid #444;
  border-bottom: 1px solid #444; padding: 0.7em 0; margin: 2.5em 0 0; }
dl.meta dt { font-style: italic; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav.toc h2 { font-size: 1.25em; } nav.toc ol { list-style: none; padding-left: 0; }
nav.toc li.level-2 { padding-left: 1.8em; } nav.toc a { color: inherit; text-decoration: none; }
h2 { font-size: 1.3em; margin-top: 1.8em; } h3 { font-size: 1.12em; margin-top: 1.5em; }
h4, h5 { font-size: 1em; margin-top: 1.3em; }
.secno { margin-right: 0.6em; }
p { text-align: justify; hyphens: auto; }
figure { margin: 1.8em 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; margin-top: 0.6em; }
.page-break { break-after: page; }
@media print { body { margin: 0; max-width: none; } }
"""


_TABLE_PLACEMENT = "main table.ipn-table { margin: 1.8em auto; }\n"


def _html_document(report: Report) -> str:
    numbers = _heading_numbers(report.blocks)
    tables = any(isinstance(b, TableBlock) for b in report.blocks)
    css = _CSS + (_table_css() + _TABLE_PLACEMENT if tables else "")
    body, figures = [], 0
    for i, block in enumerate(report.blocks):
        figures += isinstance(block, FigureBlock)
        body.append(_html_block(block, numbers.get(i, ""), figures))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(report.title)}</title>\n<style>\n{css}</style>\n"
            f"</head>\n<body>\n{_html_title_page(report)}\n{_html_toc(report, numbers)}\n"
            f"<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _table_css() -> str:
    from ..tables.render.html import TABLE_CSS

    return TABLE_CSS


def _heading_numbers(blocks: tuple[Block, ...]) -> dict[int, str]:
    """Section number ("2.1") of each heading, keyed by block position."""
    counters, numbers = [0, 0, 0, 0], {}
    for i, block in enumerate(blocks):
        if isinstance(block, Heading):
            counters[block.level - 1] += 1
            counters[block.level:] = [0] * (4 - block.level)
            numbers[i] = ".".join(str(c) for c in counters[: block.level])
    return numbers


def _html_title_page(report: Report) -> str:
    esc = html.escape
    parts = [f"<h1>{esc(report.title)}</h1>"]
    if report.subtitle:
        parts.append(f'<p class="subtitle">{esc(report.subtitle)}</p>')
    for cls, text in (("authors", ", ".join(report.authors)), ("date", _display_date(report))):
        if text:
            parts.append(f'<p class="{cls}">{esc(text)}</p>')
    if report.meta:
        items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in report.meta.items())
        parts.append(f'<dl class="meta">{items}</dl>')
    return '<header class="title-page">\n' + "\n".join(parts) + "\n</header>"


def _html_toc(report: Report, numbers: dict[int, str]) -> str:
    items = [f'<li class="level-{b.level}"><a href="#sec-{numbers[i].replace(".", "-")}">'
             f'<span class="secno">{numbers[i]}</span>{html.escape(b.text)}</a></li>'
             for i, b in _toc(report)]
    if not items:
        return ""
    return '<nav class="toc">\n<h2>Contents</h2>\n<ol>\n' + "\n".join(items) + "\n</ol>\n</nav>"


def _html_block(block: Block, number: str, figure_no: int) -> str:
    match block:
        case Heading(text, level):
            anchor = number.replace(".", "-")
            return (f'<h{level + 1} id="sec-{anchor}"><span class="secno">{number}</span>'
                    f"{html.escape(text)}</h{level + 1}>")
        case Text(text):
            return "\n".join(f"<p>{html.escape(parts[0])}</p>" if kind == "p" else
                             "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in parts)
                             + "</ul>" for kind, parts in parse_text(text))
        case TableBlock(table):
            from ..tables.render import to_html

            return to_html(table)
        case FigureBlock(data, kind, caption):
            mime = "image/svg+xml" if kind == "svg" else "image/png"
            src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            label = f"Figure {figure_no}" + (f": {html.escape(caption)}" if caption else "")
            return (f'<figure>\n<img src="{src}" alt="{html.escape(caption or label)}">\n'
                    f"<figcaption>{label}</figcaption>\n</figure>")
        case PageBreak():
            return '<div class="page-break"></div>'
    raise TypeError(f"unknown report block {block!r}")  # pragma: no cover
