"""Renderers: one small module per target, each reading a target-free ``Table``.

Every renderer only does markup and escaping; the numbers arrive formatted.
"""

from __future__ import annotations

from ipnstats.tables.render.docx import add_docx_table, to_docx
from ipnstats.tables.render.html import TABLE_CSS, to_html
from ipnstats.tables.render.latex import to_latex
from ipnstats.tables.render.markdown import to_markdown
from ipnstats.tables.render.text import to_text
from ipnstats.tables.render.typst import to_typst, typst_table_body

__all__ = [
    "TABLE_CSS",
    "add_docx_table",
    "to_docx",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_text",
    "to_typst",
    "typst_table_body",
]
