"""One self-contained HTML file of a :class:`~.document.Report`: inline CSS, figures
as data URIs, numbered headings with a linked table of contents.
"""

from __future__ import annotations

import base64
import html

from ipnstats.report.document import (
    Block,
    FigureBlock,
    Heading,
    PageBreak,
    Report,
    TableBlock,
    Text,
    display_date,
    parse_text,
    toc_headings,
)

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


def html_document(report: Report) -> str:
    """The whole HTML document of ``report``."""
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
    from ipnstats.tables.render.html import TABLE_CSS

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
    for cls, text in (("authors", ", ".join(report.authors)), ("date", display_date(report))):
        if text:
            parts.append(f'<p class="{cls}">{esc(text)}</p>')
    if report.meta:
        items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in report.meta.items())
        parts.append(f'<dl class="meta">{items}</dl>')
    return '<header class="title-page">\n' + "\n".join(parts) + "\n</header>"


def _html_toc(report: Report, numbers: dict[int, str]) -> str:
    items = [f'<li class="level-{b.level}"><a href="#sec-{numbers[i].replace(".", "-")}">'
             f'<span class="secno">{numbers[i]}</span>{html.escape(b.text)}</a></li>'
             for i, b in toc_headings(report)]
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
            from ipnstats.tables.render import to_html

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
