"""Journal presets: each preset's visible rules in every format, and [report] style."""

import docx
import pytest
from conftest_models import LABELS, models

from ipnstats.core.errors import ConfigError, SpecificationError
from ipnstats.pipeline import load_config
from ipnstats.report.document import Report
from ipnstats.tables import regression_table
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render import to_docx, to_html, to_latex, to_markdown, to_text, to_typst
from ipnstats.tables.style import STYLES, JournalStyle, apply_style, journal_style

TEXT_RENDERERS = {"text": to_text, "markdown": to_markdown, "html": to_html,
                  "latex": to_latex, "typst": to_typst}


@pytest.fixture(scope="module")
def fits():
    return models()


def plain(src: str) -> str:
    """The rendered text without markup escapes, on one line (to find the words)."""
    for markup, char in (("\\textless{}", "<"), ("\\textbullet{}", "•"), ("&lt;", "<"),
                         ("\\", "")):
        src = src.replace(markup, char)
    return " ".join(src.split())


def table_for(fits, style):
    return regression_table(fits[0], labels=LABELS, unit_label="Firms", style=style).as_table()


def word_text(table, tmp_path) -> str:
    document = docx.Document(str(to_docx(table, tmp_path / "t.docx")))
    cells = [c.text for row in document.tables[0].rows for c in row.cells]
    return "\n".join(cells + [p.text for p in document.paragraphs])


def test_presets_exist_and_bad_names_are_refused():
    assert set(STYLES) == {"default", "apa", "amj", "smj", "asq"}
    assert journal_style("SMJ") is STYLES["smj"] and journal_style(None).name == "default"
    with pytest.raises(SpecificationError, match="journal preset"):
        journal_style("jama")
    with pytest.raises(SpecificationError):
        JournalStyle("x", "X", uncertainty=("variance",))


@pytest.mark.parametrize("target", sorted(TEXT_RENDERERS))
def test_smj_exact_p_and_intervals_no_stars(fits, target):
    table = table_for(fits, "smj")
    assert not any(c.marks for r in table.rows for c in r.cells)
    src = plain(TEXT_RENDERERS[target](table))
    assert "p<." not in src and "***" not in src
    assert "p = 0" in src or "p < 0" in src  # an exact p under the estimates
    assert "[" in src and "(" in src  # interval and standard error
    assert "confidence intervals in brackets" in src and "Exact two-sided p-values" in src


def test_smj_word(fits, tmp_path):
    text = word_text(table_for(fits, "smj"), tmp_path)
    assert "p = 0." in text and "*" not in text


@pytest.mark.parametrize("target", sorted(TEXT_RENDERERS))
def test_amj_stars_with_legend_and_se(fits, target):
    table = table_for(fits, "amj")
    src = plain(TEXT_RENDERERS[target](table))
    assert "Standard errors in parentheses" in src
    assert "two-tailed tests" in src and "† p<.10" in src.replace("dag{}", "†")
    assert any(c.marks for r in table.rows for c in r.cells)


@pytest.mark.parametrize("target", sorted(TEXT_RENDERERS))
def test_asq_bullet_legend(fits, target):
    src = plain(TEXT_RENDERERS[target](table_for(fits, "asq")))
    assert "• p<.10" in src and "two-tailed tests" in src


@pytest.fixture(scope="module")
def apa_descriptives(fits):
    return descriptives_table(fits[1], ["cost", "size", "y"], unit="firm", labels=LABELS,
                              style="apa").as_table()


def test_apa_descriptives_cells(apa_descriptives):
    head = {c.text: c.emphasis for c in apa_descriptives.header[0]}
    assert head["N"] == head["M"] == head["SD"] == "italic" and "Mean" not in head
    corr = apa_descriptives.rows[2].cells[7]  # r(y, cost)
    assert corr.text.lstrip("-").startswith(".")  # no leading zero for a correlation
    assert not apa_descriptives.rows[2].cells[2].text.lstrip("-").startswith(".")  # a mean
    # keeps its leading zero (it can exceed 1)
    assert apa_descriptives.note_label == "Note."


@pytest.mark.parametrize("target,marker", [
    ("text", "Note. N counts"), ("markdown", "*Note.* N counts"),
    ("html", "<em>Note.</em> N counts"), ("latex", "\\textit{Note.} N counts"),
    ("typst", "#emph[Note.] N counts")])
def test_apa_note_and_italics_in_every_format(apa_descriptives, target, marker):
    src = TEXT_RENDERERS[target](apa_descriptives)
    assert marker in src
    italic_m = {"text": " M ", "markdown": "*M*", "html": "<em>M</em>",
                "latex": "\\textit{M}", "typst": "#emph[M]"}[target]
    assert italic_m in src


def test_apa_word(apa_descriptives, tmp_path):
    document = docx.Document(str(to_docx(apa_descriptives, tmp_path / "a.docx")))
    note = next(p for p in document.paragraphs if p.text.startswith("Note."))
    assert note.runs[0].text == "Note. " and note.runs[0].italic
    header = document.tables[0].rows[0].cells[2].paragraphs[0].runs[0]
    assert header.text == "M" and header.italic


def test_apply_style_on_any_table():
    table = Table(((Cell(""), Cell("b"), Cell("p")),),
                  (Row((Cell("x"), Cell("0.250", "**", numeric=True),
                        Cell("0.004", numeric=True))),),
                  notes=("Standard errors in parentheses. * p<.05, ** p<.01, *** p<.001",
                         "a Suppressed."))
    smj = apply_style(table, "smj")
    assert smj.rows[0].cells[1].marks == "" and smj.notes == (
        "Standard errors in parentheses.", "a Suppressed.")
    apa = apply_style(table, "apa")
    assert apa.rows[0].cells[2].text == ".004" and apa.rows[0].cells[1].text == "0.250"
    assert apa.header[0][2].emphasis == "italic" and apa.rows[0].cells[1].marks == "**"


def test_report_applies_its_style_to_every_table(fits):
    table = regression_table(fits[0], labels=LABELS, unit_label="Firms")
    report = Report("t", style="smj").add_table(table).add_table(table.as_table())
    tables = [b.table for b in report.blocks]
    assert all(not c.marks for t in tables for r in t.rows for c in r.cells)
    rebuilt = " ".join(c.text for r in tables[0].rows for c in r.cells)
    assert "p = " in rebuilt or "p < " in rebuilt  # the regression table rebuilt in SMJ
    assert "[" in rebuilt and "p = " not in " ".join(c.text for r in tables[1].rows
                                                     for c in r.cells)
    plain = Report("t", style="default").add_table(table)
    assert plain.style is None and plain.blocks[0].table == table.as_table()


def config(tmp_path, body: str):
    folder = tmp_path / "project" / "analyses"
    folder.mkdir(parents=True)
    path = folder / "study.toml"
    path.write_text('[study]\nfolder = "../data"\n' + body, encoding="utf-8")
    return path


def test_report_style_key(tmp_path):
    assert load_config(config(tmp_path / "a", '[report]\nstyle = "smj"\n'))["report"]["style"] \
        == "smj"
    assert load_config(config(tmp_path / "b", ""))["report"]["style"] == "default"
    with pytest.raises(ConfigError, match=r"\[report\] style = 'jama'"):
        load_config(config(tmp_path / "c", '[report]\nstyle = "jama"\n'))
