"""The regression table end to end: models -> regression_table -> every renderer.

A two-model table with fixed-effect rows, a coefficient missing from one model and a
label full of LaTeX special characters, pinned by snapshots and checked structurally.
"""

import docx
import numpy as np
import pandas as pd
import pytest
from test_render import check_latex, check_snapshot, compile_typst, parse_html, physical

from ipnstats import Cluster, panel_regression
from ipnstats.tables import MANAGEMENT_STARS, regression_table

LABEL = "Training cost (in $, 100% & more) #1 {x}_y~^\\"


@pytest.fixture(scope="module")
def table():
    """Deterministic panel: 12 firms x 5 years, values fixed by a seeded generator."""
    rng = np.random.default_rng(7)
    firm = np.repeat(np.arange(1, 13), 5)
    year = np.tile(np.arange(2015, 2020), 12)
    cost = rng.normal(size=60).round(3)
    size = rng.normal(size=60).round(3)
    y = (0.4 * cost - 0.2 * size + np.repeat(rng.normal(size=12), 5)
         + rng.normal(size=60) * 0.5).round(3)
    frame = pd.DataFrame({"firm": firm, "year": year, "cost": cost, "size": size, "y": y})
    fe = panel_regression(frame, "y ~ cost + size", unit="firm", time="year",
                          vcov=Cluster("firm"))
    pooled = panel_regression(frame, "y ~ cost", unit="firm", time="year",
                              estimator="pooled", vcov="hc1")
    return regression_table([fe, pooled], labels={"cost": LABEL, "size": "Firm size",
                                                  "y": "Log revenue", "firm": "Firm",
                                                  "year": "Year"},
                            stars=MANAGEMENT_STARS, title="Peer learning and revenue",
                            label="peer-learning", unit_label="Firms")


@pytest.mark.parametrize("target", ["text", "markdown", "html", "latex", "typst"])
def test_snapshot(table, target):
    ext = {"text": "txt", "markdown": "md", "html": "html", "latex": "tex", "typst": "typ"}
    check_snapshot(f"regression_models.{ext[target]}", getattr(table, f"to_{target}")())


def test_table_shape(table):
    frame = table.to_frame()
    assert frame.loc["Firm size", "(2)"] == ""  # missing coefficient: an empty cell
    assert frame.loc["Firm fixed effects"].tolist() == ["Yes", "No"]
    assert frame.loc["Year fixed effects"].tolist() == ["Yes", "No"]
    assert frame.loc["Standard errors"].tolist() == ["Clustered (Firm)", "HC1"]


def test_latex_structure_and_escaping(table):
    src = table.to_latex()
    check_latex(src, physical(table.as_table()))
    assert r"\$" in src and r"100\%" in src and r"\&" in src and r"\#1" in src
    assert r"\{x\}" in src and r"\_y" in src and r"\textasciitilde{}" in src
    assert r"\textasciicircum{}" in src and r"\textbackslash{}" in src
    assert r"\begin{threeparttable}" in src and r"\begin{tablenotes}" in src
    assert r"\dag" in src  # the † legend


def test_html_is_one_table(table):
    parser = parse_html(table.to_html())
    assert parser.tables == 1
    assert all(w == physical(table.as_table()) for w in parser.widths)


def test_word_file_holds_the_numbers(table, tmp_path):
    path = table.to_docx(tmp_path / "table.docx")
    document = docx.Document(str(path))
    assert len(document.tables) == 1
    texts = {c.text.removeprefix("\t") for row in document.tables[0].rows for c in row.cells}
    coefs = table.coefficients
    for _, r in coefs.iterrows():
        assert any(t.startswith(f"{r['estimate']:.3f}".replace("-", "−")) or
                   t.startswith(f"{r['estimate']:.3f}") for t in texts), r["term"]
        assert any(f"{r['std_error']:.3f}" in t for t in texts)
    assert any(LABEL in t for t in texts)


def test_typst_compiles(table):
    assert compile_typst(table.to_typst())[:5] == b"%PDF-"
