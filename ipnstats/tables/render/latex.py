"""LaTeX: a ``table`` float with ``threeparttable`` notes and ``booktabs`` rules.

Needs ``\\usepackage{booktabs, threeparttable}`` in the preamble. Every special
character of the text is escaped and the Unicode characters of the text conventions
become text or math commands.
"""

from __future__ import annotations

import re

from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import (
    MINUS,
    body_rows,
    label_key,
    number_text,
    numeric_columns,
    physical_span,
    slots,
    spanning_cells,
    split_decimal,
    split_layout,
    superscript,
    typeset_minus,
)

_GREEK = dict(zip(
    "αβγδεζηθικλμνξοπρςστυφχψωϑϕϵϱϖΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
    ("alpha beta gamma delta varepsilon zeta eta theta iota kappa lambda mu nu xi o pi "
     "rho varsigma sigma tau upsilon varphi chi psi omega vartheta phi epsilon varrho "
     "varpi A B Gamma Delta E Z H Theta I K Lambda M N Xi O Pi P Sigma T Upsilon Phi X "
     "Psi Omega").split(),
    strict=True))

_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "`": r"\textasciigrave{}", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "\x00": "{}",  # breaks the ``--`` ligature of two ASCII hyphens
    "¹": r"\textsuperscript{1}", "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}",
    "†": r"\dag{}", "‡": r"\ddag{}", "§": r"\S{}", "…": r"\ldots{}", "\u00a0": "~",
    "–": "{--}", "•": r"\textbullet{}", "—": "{---}", "°": r"\textdegree{}",
    "×": r"$\times$", "±": r"$\pm$", "≥": r"$\geq$", "≤": r"$\leq$", MINUS: "$-$",
    "≠": r"$\neq$", "≈": r"$\approx$", "·": r"$\cdot$", "∞": r"$\infty$",
}
_ESCAPES.update({g: (rf"$\{name}$" if len(name) > 1 else name) for g, name in _GREEK.items()})
_TABLE = str.maketrans(_ESCAPES)
_MATH_JOIN = re.compile(r"(?<!\\)\$\$")


def escape(text: str) -> str:
    """Escape LaTeX specials and map Unicode symbols to commands (``α`` to ``$\\alpha$``).

    Adjacent math fragments are merged (``αβ`` gives ``$\\alpha\\beta$``, never ``$$``).
    """
    text = re.sub(r"-(?=-)", "-\x00", text)
    return _MATH_JOIN.sub("", text.translate(_TABLE))


def to_latex(table: Table) -> str:
    """Render a table as a LaTeX ``table`` float.

    Parameters
    ----------
    table
        The formatted table.

    Returns
    -------
    str
        ``table`` > ``threeparttable`` > ``tabular`` with ``\\toprule``, header rows
        (``\\multicolumn`` and ``\\cmidrule`` for spanning cells), ``\\midrule`` between
        sections and ``\\bottomrule``, then the notes in ``tablenotes``.
    """
    layout = _Layout(table)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if table.title:
        lines.append(rf"\caption{{{escape(table.title)}}}")
    if label_key(table.label):
        lines.append(rf"\label{{tab:{label_key(table.label)}}}")
    lines += [r"\begin{threeparttable}", rf"\begin{{tabular}}{{{layout.spec()}}}", r"\toprule"]
    lines += _header_lines(table, layout)
    for row, new_section in body_rows(table):
        lines += [r"\midrule"] if new_section else []
        lines.append(_row_line(_body_cells(row, layout)))
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += _notes(table.notes, table.note_label)
    lines += [r"\end{threeparttable}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _content(cell: Cell) -> str:
    """Escaped text (``$-$`` minus in numbers), emphasis and a superscript mark."""
    text = escape(number_text(cell, MINUS))
    if cell.emphasis == "italic" and text:
        text = rf"\textit{{{text}}}"
    elif cell.emphasis == "bold" and text:
        text = rf"\textbf{{{text}}}"
    sup = superscript(cell)
    return text + (rf"\textsuperscript{{{escape(sup)}}}" if sup else "")


def _row_line(cells: list[str]) -> str:
    """Join cells with ``&`` and end with ``\\\\``.

    A leading ``{}`` keeps a row starting with ``[`` or ``*`` from being read as an
    optional argument of the ``\\\\`` or rule before it.
    """
    line = " & ".join(cells) + r" \\"
    return "{}" + line if line.startswith(("[", "*")) else line


class _Layout:
    """The split columns of a table: each numeric column becomes ``r@{}l``."""

    def __init__(self, table: Table) -> None:
        self.numeric = numeric_columns(table)
        self.starts, self.total = split_layout(self.numeric)

    def spec(self) -> str:
        """The ``tabular`` column specification (``l`` stub, ``r@{}l`` or ``c``)."""
        return "l" + "".join("r@{}l" if f else "c" for f in self.numeric[1:])

    def width(self, col: int, span: int) -> int:
        """Physical columns under the logical columns ``col .. col+span-1``."""
        return physical_span(self.starts, self.total, col, span)


def _wide(cell: Cell, layout: _Layout, col: int, align: str) -> str:
    """A cell over its physical columns (``\\multicolumn`` when it covers several)."""
    width = layout.width(col, cell.span)
    content = _content(cell)
    return rf"\multicolumn{{{width}}}{{{align}}}{{{content}}}" if width > 1 else content


def _header_lines(table: Table, layout: _Layout) -> list[str]:
    """Header rows, each followed by ``\\cmidrule`` under its spanning cells; ``\\midrule``."""
    lines = []
    for cells in table.header:
        lines.append(_row_line([_wide(c, layout, col, "l" if col == 0 else "c")
                                for col, c in slots(cells)]))
        rules = [rf"\cmidrule(lr){{{layout.starts[a] + 1}-{layout.starts[b] + layout.width(b, 1)}}}"
                 for a, b in spanning_cells(cells)]
        if rules:
            lines.append(" ".join(rules))
    return lines + [r"\midrule"] if table.header else lines


def _body_cells(row: Row, layout: _Layout) -> list[str]:
    """The LaTeX cells of one body row; a heading row is one italic ``\\multicolumn``.

    A number in a split column is its integer part and ``.decimals`` with the marks.
    """
    if row.heading:
        cell = row.cells[0]
        text = _content(Cell(cell.text, cell.marks, cell.notes, emphasis=cell.emphasis
                             or "italic"))
        return [rf"\multicolumn{{{layout.total}}}{{l}}{{{text}}}"]
    out = []
    for col, cell in slots(row.cells):
        if col > 0 and cell.span == 1 and layout.numeric[col] and cell.numeric and cell.text:
            head, tail = split_decimal(number_text(cell, MINUS))
            out += [escape(head), _content(Cell(tail, cell.marks, cell.notes,
                                                 emphasis=cell.emphasis))]
        else:
            out.append(_wide(cell, layout, col, "l" if col == 0 else "c"))
    return out


def _notes(notes: tuple[str, ...], label: str = "") -> list[str]:
    """The ``tablenotes`` environment (nothing when there are no notes); ``label`` in
    italics opens the first note."""
    if not notes:
        return []
    items = [(r"\item{} " if note.startswith("[") or (i == 0 and label) else r"\item ")
             + (rf"\textit{{{escape(label)}}} " if i == 0 and label else "")
             + escape(typeset_minus(note, MINUS))
             for i, note in enumerate(notes)]
    return [r"\begin{tablenotes}[flushleft]", r"\footnotesize", *items, r"\end{tablenotes}"]
