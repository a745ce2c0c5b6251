"""Page layout of the PDF report: no orphaned heading, caption or table note."""

from __future__ import annotations

import pandas as pd

from ipnstats.ipn.claims import ci_text, contrast, num
from ipnstats.report import Report
from ipnstats.report.data_section import HIDDEN_NOTE, cohort_notes
from ipnstats.report.typst_render import PAGE_LINES, typst_source
from ipnstats.tables.model import Cell, Row, Table


def _table(n_rows: int, title: str) -> Table:
    header = ((Cell("Variable"), Cell("Mean")),)
    rows = tuple(Row((Cell(f"x{i}"), Cell(f"{i}.50", numeric=True))) for i in range(n_rows))
    return Table(header, rows, title=title, notes=("Note for readers.",))


def _report() -> Report:
    return (Report("Layout")
            .add_heading("Descriptive statistics", 2)
            .add_text("Table 1 shows the means.")
            .add_table(_table(5, "Small table"))
            .add_heading("Appendix", 1)
            .add_table(_table(PAGE_LINES + 10, "Long table")))


def test_headings_are_sticky():
    source = typst_source(_report())
    assert "#show heading: set block(above: 1.6em, below: 0.9em, sticky: true)" in source
    assert "set block(breakable: true)\n#let" not in source  # no global breakable tables


def test_small_table_kept_together_with_its_pointer_line():
    source = typst_source(_report())
    before = source[:source.index("Small table")]
    assert before.rstrip().endswith("caption: figure.caption(position: top)[")
    assert before[before.rindex("\n#block("):].startswith(
        "\n#block(breakable: false, width: 100%)[\n#figure(")
    lead = source.index("Table 1 shows the means.")
    assert source[source.rindex("\n#block(", 0, lead):lead].startswith(
        "\n#block(sticky: true, breakable: false")


def test_long_table_breaks_and_repeats_its_header():
    source = typst_source(_report())
    long = source[source.index("Long table") - 200:]
    assert "#show figure: set block(breakable: true)" in long
    assert "table.header(repeat: true," in long
    footer = long[long.index("table.footer(repeat: false, "):]
    assert "[x" + str(PAGE_LINES + 9) + "]" in footer  # the last row stays with the notes
    assert "Note for readers." in footer
    small = source[:source.index("Long table")]
    assert "repeat: true" not in small


def test_layout_compiles(tmp_path):
    pdf = _report().to_pdf(tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")


def test_cohort_note_only_when_a_cell_is_hidden():
    hidden = pd.DataFrame({"cohort": ["2010", "2011"], "firms": ["<3", "—"],
                           "firm_years": ["—", "40"]})
    shown = pd.DataFrame({"cohort": ["2010"], "firms": ["12"], "firm_years": ["100"]})
    assert cohort_notes(hidden) == (HIDDEN_NOTE,)
    assert cohort_notes(shown) == ()


def test_evidence_numbers_use_true_minus_and_en_dash():
    assert num(-0.01234) == "\u22120.012"
    assert num(0.5, sign=True) == "+0.500"
    assert contrast("developing - novice") == "developing \u2013 novice"
    assert ci_text({"conf_low": -1.0, "conf_high": -0.5}) == "95% CI \u22121.000 to \u22120.500"


def test_wide_table_takes_its_heading_to_its_landscape_page(tmp_path):
    header = (tuple(Cell(f"c{j}") for j in range(12)),)
    rows = (Row(tuple(Cell(str(j), numeric=bool(j)) for j in range(12))),)
    report = (Report("Wide").add_heading("Correlations", 2).add_text("Table 1 shows them.")
              .add_table(Table(header, rows, title="Wide table")))
    source = typst_source(report)
    page = source[source.index("#page(flipped: true)["):]
    assert "Correlations" in page and "Table 1 shows them." in page and "Wide table" in page
    assert report.to_pdf(tmp_path / "w.pdf").read_bytes().startswith(b"%PDF")
