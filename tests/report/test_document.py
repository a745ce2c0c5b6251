"""The report document: Typst source, PDF and HTML, escaping and reproducibility."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import typst

from ipnstats.figures import coefficient_plot, save_figure
from ipnstats.report import Report
from ipnstats.report.document import parse_text
from ipnstats.tables.model import Cell, Row, Table

SPECIAL = "Costs # * _ $ @ < > [ ] \\ ` ~ & % fell // not a comment, = no heading."
META = {"Data fingerprint": "sha256 " + "0123456789abcdef" * 4,
        "Software": "ipnstats 0.1.0, numpy 2.4"}


def hand_table() -> Table:
    def num(text, marks=""):
        return Cell(text, marks=marks, numeric=True)

    return Table(
        header=((Cell(""), Cell("(1)"), Cell("(2)")),),
        rows=(Row((Cell("Peer adoption"), num("0.412", "**"), num("0.318"))),
              Row((Cell(""), num("(0.101)"), num("(0.140)"))),
              Row((Cell("Observations"), num("1,204"), num("1,204")), section="stats")),
        title="Peer adoption & ROA", notes=("Standard errors in parentheses.",))


def figure():
    tidy = pd.DataFrame({"term": ["a", "b"], "estimate": [0.3, -0.1],
                         "conf_low": [0.1, -0.3], "conf_high": [0.5, 0.1]})
    return coefficient_plot(tidy)


def base_report() -> Report:
    return (Report("Peer learning", "Appendix", authors=("A. Author",), meta=META,
                   date="2024-05-01")
            .add_heading("Data & sample")
            .add_text(f"First paragraph.\n\n{SPECIAL}\n\n- one item\n- two items")
            .add_heading("Estimates", level=2)
            .add_figure(figure(), caption="Coefficients $ & #")
            .add_page_break()
            .add_heading("Robustness")
            .add_text("Nothing changes."))


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_text_is_shown_verbatim_in_typst(tmp_path):
    source = base_report().add_heading(SPECIAL, level=3).write_typst(tmp_path)
    headings = json.loads(typst.query(str(source), "heading", field="body", root=tmp_path))
    assert {"func": "text", "text": SPECIAL} in headings
    paragraphs = json.loads(typst.query(str(source), "par", field="body", root=tmp_path))
    assert {"func": "text", "text": SPECIAL} in paragraphs


def test_parse_text_paragraphs_and_bullets():
    assert parse_text("One\nline.\n\n- a\n- b\n  more\nAfter.") == [
        ("p", ["One line."]), ("ul", ["a", "b more"]), ("p", ["After."])]
    assert parse_text("") == []
    assert '#list("one item", "two items",)' in base_report().to_typst()


def test_pdf_has_title_page_contents_and_is_reproducible(tmp_path):
    report = base_report()
    first = report.to_pdf(tmp_path / "a.pdf").read_bytes()
    second = report.to_pdf(tmp_path / "b.pdf").read_bytes()
    assert first.startswith(b"%PDF")
    assert page_count(first) >= 2
    assert first == second
    source = report.to_typst()
    assert "#outline(" in source and 'paper: "a4"' in source
    assert "date: datetime(year: 2024, month: 5, day: 1)" in source


def test_pdf_and_html_with_table(tmp_path):
    from ipnstats.tables.render.html import TABLE_CSS

    report = base_report().add_heading("Table").add_table(hand_table())
    first = report.to_pdf(tmp_path / "a.pdf").read_bytes()
    assert first == report.to_pdf(tmp_path / "b.pdf").read_bytes()
    assert page_count(first) >= 2
    html = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<table" in html and "Peer adoption &amp; ROA" in html
    assert TABLE_CSS in html


def test_html_is_one_self_contained_file(tmp_path):
    report = base_report()
    path = report.to_html(tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == [path]
    for external in ('src="http', "src='http", 'href="http', "<link", "<script", "url("):
        assert external not in html
    assert html.count('src="data:image/svg+xml;base64,') == 1
    assert "Costs # * _ $ @ &lt; &gt; [ ] \\ ` ~ &amp; % fell" in html
    assert "<ul><li>one item</li><li>two items</li></ul>" in html
    assert 'href="#sec-1-1"' in html and 'id="sec-1-1"' in html
    assert "Figure 1: Coefficients $ &amp; #" in html
    assert report.to_html(tmp_path / "again.html").read_bytes() == path.read_bytes()


def test_report_is_an_immutable_builder():
    report = Report("T", meta={"k": "v"})
    longer = report.add_heading("H")
    assert report.blocks == () and len(longer.blocks) == 1
    with pytest.raises(TypeError):
        report.meta["k"] = "w"
    assert Report("T", authors="Solo").authors == ("Solo",)


def test_document_date_from_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert "date: none" in Report("T").to_typst()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714521600")  # 2024-05-01 UTC
    source = Report("T").to_typst()
    assert "date: datetime(year: 2024, month: 5, day: 1)" in source
    assert '"2024-05-01"' in source
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        Report("T").to_typst()


def test_figure_files_and_errors(tmp_path):
    png = save_figure(figure(), tmp_path / "f.png")[0]
    report = Report("T").add_figure(png).add_figure(save_figure(figure(), tmp_path / "f.svg")[0])
    assert [b.kind for b in report.blocks] == ["png", "svg"]
    assert report.to_pdf(tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        Report("T").add_figure(tmp_path / "f.jpg")
    with pytest.raises(TypeError, match="as_table"):
        Report("T").add_table(pd.DataFrame())
    with pytest.raises(ValueError, match="level"):
        Report("T").add_heading("H", level=7)


def test_add_table_accepts_objects_with_as_table():
    class Wrapped:
        def as_table(self):
            return hand_table()

    assert Report("T").add_table(Wrapped()).blocks[0].table == hand_table()
