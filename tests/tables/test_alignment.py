"""Decimal alignment, true minus signs and one number format per column, in every format."""

import re

import docx
import pytest
from conftest_models import LABELS, models

from ipnstats.tables import regression_table
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.frame import frame_table
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render import to_docx, to_html, to_latex, to_markdown, to_text, to_typst
from ipnstats.tables.render._common import numeric_columns
from ipnstats.tables.render.markdown import FIGURE_SPACE


@pytest.fixture(scope="module")
def table() -> Table:
    fits, _ = models()
    return regression_table(fits, labels=LABELS, unit_label="Firms",
                            stats=("nobs", "r2_within")).as_table()


def mixed() -> Table:
    """Negative and positive numbers of different widths, a count and a text cell."""
    num = lambda t, m="": Cell(t, m, numeric=True)  # noqa: E731
    rows = (Row((Cell("a"), num("-12.345", "***"), Cell("b = -0.08, 2010-2015"))),
            Row((Cell("b"), num("0.5"), Cell("t-1"))),
            Row((Cell("c"), num("(1.250)"), Cell("x"))),
            Row((Cell("N"), num("1,234"), Cell("y"))))
    return Table(((Cell(""), Cell("Estimate"), Cell("Note")),), rows, notes=("-0.5 in a note",))


def test_text_aligns_decimal_points(table):
    lines = to_text(table).splitlines()
    body = [line for line in lines if line.startswith(("Training", "Firm size"))]
    for line in body:
        below = lines[lines.index(line) + 1]
        assert line.index(".") == below.index(".")  # estimate and its SE


def test_markdown_right_aligns_and_pads_decimals():
    src = to_markdown(mixed())
    delimiter = src.splitlines()[1]
    assert re.fullmatch(r"\| :-+ \| -+: \| :-+: \|", delimiter)
    cells = [re.split(r"(?<!\\)\|", line)[2].strip(" ") for line in src.splitlines()[2:6]]
    visible = [c.replace("\\*", "*") for c in cells]
    ends = [len(v) - (v.index(".") if "." in v else len(v.rstrip(FIGURE_SPACE))) for v in visible]
    assert len(set(ends)) == 1, visible  # every point the same distance from the right edge


def test_html_splits_numbers_at_the_point():
    src = to_html(mixed())
    pairs = re.findall(r'<td class="int">(.*?)</td><td class="dec">(.*?)</td>', src)
    assert pairs[0] == ("&minus;12", ".345<sup>***</sup>") and pairs[1] == ("0", ".5")
    assert pairs[3] == ("1,234", "")  # a count ends where the integer digits end
    assert all("." not in head for head, _ in pairs)
    assert "b = &minus;0.08, 2010-2015" in src and ">t-1<" in src  # text cells: true minus
    assert 'colspan="2" scope="col">Estimate' in src


def test_latex_uses_split_columns_and_math_minus():
    src = to_latex(mixed())
    assert r"\begin{tabular}{lr@{}lc}" in src
    assert r"$-$12 & .345\textsuperscript{***}" in src and r"(1 & .250)" in src
    assert r"b = $-$0.08, 2010-2015" in src and "1,234 &  &" in src
    assert r"\item $-$0.5 in a note" in src


def test_typst_aligns_right_then_left():
    src = to_typst(mixed())
    assert "columns: 4," in src and "align: (left, right, left, left,)" in src
    assert "[\u221212], [.345#super[\\*\\*\\*]]" in src
    assert "right: 0pt" in src and "left: 0pt" in src  # no gap between the halves
    assert "b \\= \u22120.08, 2010\\-2015" in src and "[\u22120.5 in a note]" in src


def test_word_numbers_sit_on_one_decimal_tab(tmp_path):
    path = to_docx(mixed(), tmp_path / "m.docx")
    grid = docx.Document(str(path)).tables[0]
    stops = set()
    for row in grid.rows[1:]:
        paragraph = row.cells[1].paragraphs[0]
        (stop,) = paragraph.paragraph_format.tab_stops
        assert stop.alignment == docx.enum.text.WD_TAB_ALIGNMENT.DECIMAL
        assert row.cells[1].text.startswith("\t")
        stops.add(stop.position)
    assert len(stops) == 1
    assert grid.rows[1].cells[1].text == "\t\u221212.345***"
    assert grid.rows[1].cells[2].text == "b = \u22120.08, 2010-2015"


def test_numeric_columns_ignore_text_and_stub():
    assert numeric_columns(mixed()) == [False, True, False]


def decimals_per_column(table: Table) -> dict[int, set[int]]:
    """Decimals of the non-integer numbers of each column."""
    out: dict[int, set[int]] = {}
    for row in table.rows:
        if row.heading:
            continue
        for j, cell in enumerate(row.cells):
            match = re.search(r"\.(\d+)", cell.text)
            if cell.numeric and match:
                out.setdefault(j, set()).add(len(match[1]))
    return out


def test_one_number_format_per_column(table):
    assert all(len(d) == 1 for d in decimals_per_column(table).values())
    _, frame = models()
    desc = descriptives_table(frame, ["cost", "size", "y"], unit="firm").as_table()
    assert all(len(d) == 1 for d in decimals_per_column(desc).values())
    small = frame_table(frame[["cost", "y"]].head(5).round(4), digits=2).as_table()
    assert decimals_per_column(small) == {0: {2}, 1: {2}}
