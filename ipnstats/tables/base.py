"""What every table object shares: rendering to each target through ``as_table()``."""

from __future__ import annotations

from pathlib import Path

from ipnstats.tables.model import Table


class Renderable:
    """Mixin for table objects: subclasses implement :meth:`as_table`.

    The object keeps raw numbers; ``as_table()`` formats them into a target-free
    :class:`~ipnstats.tables.model.Table`, and each ``to_*`` method hands that to one
    renderer in :mod:`ipnstats.tables.render`.
    """

    def as_table(self) -> Table:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_text(self) -> str:
        """Plain text, aligned in a monospaced font."""
        from ipnstats.tables.render import to_text

        return to_text(self.as_table())

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown (pipe) table with its notes below."""
        from ipnstats.tables.render import to_markdown

        return to_markdown(self.as_table())

    def to_html(self) -> str:
        """One ``<table>`` element (caption, head, body, notes in a footer)."""
        from ipnstats.tables.render import to_html

        return to_html(self.as_table())

    def to_latex(self) -> str:
        """A ``table`` float with ``threeparttable`` and ``booktabs`` rules, escaped."""
        from ipnstats.tables.render import to_latex

        return to_latex(self.as_table())

    def to_typst(self) -> str:
        """Typst markup for a ``figure`` holding a ``table``."""
        from ipnstats.tables.render import to_typst

        return to_typst(self.as_table())

    def to_docx(self, path: str | Path) -> Path:
        """Write a Word document holding the table as a real Word table."""
        from ipnstats.tables.render import to_docx

        return to_docx(self.as_table(), path)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()
