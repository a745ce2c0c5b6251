"""The report document: a title page, contents, then headings, text, tables and figures.

A :class:`Report` is an immutable builder: each ``add_*`` method returns a new report
with one more block, so a report can be shared and extended without surprises. It
renders to Typst source, to PDF through the ``typst`` package (fonts bundled with the
compiler, no LaTeX) and to one self-contained HTML file. The same report gives the
same bytes on every run. The Typst source comes from :mod:`.typst_render`, the HTML
from :mod:`.html_render`.

Text is plain text in every block: no markup is interpreted; paragraphs are separated
by blank lines and lines starting with ``"- "`` are bullet points.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from ipnstats.core.errors import ConfigError, SpecificationError
from ipnstats.tables.model import Table
from ipnstats.tables.render._common import MINUS, typeset_minus
from ipnstats.tables.style import JournalStyle, apply_style, journal_style

FigureKind = Literal["svg", "png"]
TOC_DEPTH = 2


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading; ``level`` 1 is a section, 2 a subsection, 3 a sub-subsection."""

    text: str
    level: int = 1


@dataclass(frozen=True, slots=True)
class Text:
    """Plain text: paragraphs separated by blank lines; lines starting with a dash form a
    list."""

    text: str


@dataclass(frozen=True, slots=True)
class TableBlock:
    """A numbered table (``ipnstats.tables.Table``) with its caption and notes."""

    table: Table


@dataclass(frozen=True, slots=True)
class FigureBlock:
    """A numbered figure: its SVG (``data``), caption, and PDF/PNG exports."""

    data: bytes
    kind: FigureKind
    caption: str = ""
    #: the same figure as PDF and PNG, for export (the pairs, or a function that draws
    #: them); not compared, as the SVG in ``data`` is the figure
    formats: tuple[tuple[str, bytes], ...] | Callable[[], tuple[tuple[str, bytes], ...]] = \
        field(default=(), compare=False)

    def exports(self) -> tuple[tuple[str, bytes], ...]:
        """``(kind, bytes)`` of the PDF and PNG exports (drawn now if they were deferred)."""
        return self.formats() if callable(self.formats) else self.formats

    @property
    def name(self) -> str:
        """File name, derived from the content so that it is the same on every run."""
        return f"figure-{hashlib.sha256(self.data).hexdigest()[:12]}.{self.kind}"


@dataclass(frozen=True, slots=True)
class PageBreak:
    """A page break in the PDF (a ``page-break`` division in HTML)."""


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
    style
        A journal preset (``"apa"``, ``"amj"``, ``"smj"``, ``"asq"``, ``"default"`` or a
        :class:`~ipnstats.tables.style.JournalStyle`; ``[report] style`` of the study
        configuration): every added table follows its rules
        (:func:`~ipnstats.tables.style.apply_style`); ``"default"`` is no style.

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
    style: JournalStyle | str | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        authors = (self.authors,) if isinstance(self.authors, str) else self.authors
        object.__setattr__(self, "authors", tuple(str(a) for a in authors))
        meta = {str(k): str(v) for k, v in self.meta.items()}
        object.__setattr__(self, "meta", MappingProxyType(meta))
        if self.style is not None:  # the default preset changes nothing: no style
            style = journal_style(self.style)
            object.__setattr__(self, "style", None if style.name == "default" else style)

    def add_heading(self, text: str, level: int = 1) -> Report:
        """A new report with a numbered section heading (level 1 to 4) added."""
        if level not in (1, 2, 3, 4):
            raise SpecificationError(f"heading level must be 1, 2, 3 or 4, got {level!r}")
        return self._add(Heading(str(text), level))

    def add_text(self, text: str) -> Report:
        """A new report with plain text added (blank lines part paragraphs, "- " bullets);
        the sign of every negative number becomes a true minus (U+2212)."""
        return self._add(Text(typeset_minus(str(text), MINUS)))

    def add_table(self, table) -> Report:
        """A new report with a table added: a ``Table`` or an object with ``as_table()``.

        With a journal ``style``, a table object that can be rebuilt in it
        (``with_style``, e.g. a regression table: SMJ's intervals and exact p-values) is
        rebuilt first; every table then gets the preset's rules (``apply_style``)."""
        if self.style is not None and hasattr(table, "with_style"):
            table = table.with_style(self.style)
        if hasattr(table, "as_table"):
            table = table.as_table()
        if not isinstance(table, Table):
            raise TypeError(f"add_table needs an ipnstats Table or an object with "
                            f"as_table(), got {type(table).__name__}")
        if self.style is not None:
            table = apply_style(table, self.style)
        return self._add(TableBlock(table))

    def add_figure(self, figure, caption: str = "") -> Report:
        """A new report with a figure added: a matplotlib Figure, or a .svg or .png path.

        A Figure is stored as deterministic SVG at once; its PDF and PNG exports are drawn
        when they are first asked for (:meth:`FigureBlock.exports`), so a figure must not
        be changed after it is added.
        """
        if isinstance(figure, str | Path):
            path = Path(figure)
            kind = path.suffix.lower().lstrip(".")
            if kind not in ("svg", "png"):
                raise SpecificationError(f"figure file {path} must be .svg or .png")
            return self._add(FigureBlock(path.read_bytes(), kind, str(caption)))
        from ipnstats.figures import figure_bytes

        def exports() -> tuple[tuple[str, bytes], ...]:
            return tuple((kind, figure_bytes(figure, kind)) for kind in ("pdf", "png"))

        return self._add(FigureBlock(figure_bytes(figure, "svg"), "svg", str(caption),
                                     functools.cache(exports)))

    def add_page_break(self) -> Report:
        """A new report with a page break added (a print page break in HTML)."""
        return self._add(PageBreak())

    def _add(self, block: Block) -> Report:
        return replace(self, blocks=(*self.blocks, block))

    def to_typst(self) -> str:
        """The Typst source; figures are referred to by ``FigureBlock.name``."""
        from ipnstats.report.typst_render import typst_source

        return typst_source(self)

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
        from ipnstats.report.html_render import html_document

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html_document(self), encoding="utf-8")
        return path


# -- plain text and dates --------------------------------------------------------------

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


def display_date(report: Report) -> str:
    if report.date:
        return report.date
    epoch = _source_date()
    return epoch.isoformat() if epoch else ""


def _source_date() -> dt.date | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {value!r}")
    return dt.datetime.fromtimestamp(int(value), dt.UTC).date()


def pdf_date(report: Report) -> dt.date | None:
    try:
        return dt.date.fromisoformat(report.date or "")
    except ValueError:
        return _source_date()


def toc_headings(report: Report) -> list[tuple[int, Heading]]:
    """The headings listed in the table of contents, with their block positions."""
    return [(i, b) for i, b in enumerate(report.blocks)
            if isinstance(b, Heading) and b.level <= TOC_DEPTH]
