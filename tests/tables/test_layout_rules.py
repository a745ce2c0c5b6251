"""Layout rules found by looking at the report's pages: one header row when the column
names are the outcomes, decimal alignment only for columns of numbers, long text columns
sharing the width of a wide table, notes of a narrow table not wrapped every few words,
and true minus signs in the report's text."""

from __future__ import annotations

import pandas as pd

from ipnstats.report.document import Report
from ipnstats.results.stored import StoredModel
from ipnstats.tables import regression_table
from ipnstats.tables.frame import frame_table
from ipnstats.tables.model import Cell, Row, Table
from ipnstats.tables.render._common import numeric_columns
from ipnstats.tables.render.typst import NOTES_MIN_WIDTH, _Layout, to_typst


def _model(outcome: str) -> StoredModel:
    tidy = pd.DataFrame({"term": ["x"], "estimate": [0.5], "std_error": [0.1],
                         "statistic": [5.0], "p_value": [0.001], "conf_low": [0.3],
                         "conf_high": [0.7]})
    return StoredModel(tidy, {"nobs": 100}, outcome=outcome)


def test_a_column_named_as_its_outcome_is_not_named_twice():
    one = regression_table([_model("y")], labels={"y": "Sales"}, model_names=["Sales"])
    assert [[c.text for c in row] for row in one.as_table().header] == [["", "Sales"]]
    mixed = regression_table([_model("y"), _model("y"), _model("z")],
                             labels={"y": "Sales", "z": "Cost"},
                             model_names=["RE", "FE", "Cost"]).as_table().header
    assert [c.text for c in mixed[0]] == ["", "Sales", "Cost"]
    assert [c.text for c in mixed[1]] == ["", "RE", "FE", ""]  # Cost once, above
    numbered = regression_table([_model("y")], labels={"y": "Sales"}).as_table().header
    assert [c.text for c in numbered[1]] == ["", "(1)"]


def test_a_settings_column_of_mostly_words_is_not_decimal_aligned():
    frame = pd.DataFrame({"setting": ["seed", "folder", "style", "adjust", "alpha"],
                          "value": ["0", "../data", "default", "holm", "0.05"]})
    assert numeric_columns(frame_table(frame).as_table()) == [False, False]
    numbers = pd.DataFrame({"term": ["a", "b", "c"], "estimate": ["0.1", "−0.2", "Yes"]})
    assert numeric_columns(frame_table(numbers).as_table()) == [False, True]


def test_long_text_columns_share_a_wide_tables_width_and_numbers_stay_natural():
    claim = "Joining an IPN raises firm performance, the more so the longer a firm stays"
    rows = tuple(Row((Cell("H1a"), Cell(claim), Cell("ATT 0.087 (95% CI 0.054 to 0.119)"),
                      Cell(".001", numeric=True), Cell("Supported"))) for _ in range(3))
    table = Table(((Cell(""), Cell("Claim"), Cell("Estimate"), Cell("p"), Cell("Verdict")),),
                  rows)
    spec = _Layout(table).columns(table)
    assert spec == "(auto, 60fr, 33fr, auto, auto, auto)"
    short = Table(((Cell("a"), Cell("b")),), (Row((Cell("x"), Cell("1", numeric=True))),))
    assert _Layout(short).columns(short) == "3"  # fits: every column auto


def test_notes_of_a_narrow_table_are_at_least_a_share_of_the_line():
    table = Table(((Cell(""), Cell("b")),), (Row((Cell("x"), Cell("1", numeric=True))),),
                  notes=("A note long enough to wrap in a one-column table.",))
    assert f"size.width * {NOTES_MIN_WIDTH}" in to_typst(table)


def test_report_text_has_true_minus_signs_but_keeps_hyphens_and_ranges():
    text = Report("t").add_text("size +0.027, age -0.029; H2a-H2c, 2008-2022, well-known "
                                "(-1.5)\n\n- a bullet").blocks[-1].text
    assert "age \u22120.029" in text and "(\u22121.5)" in text
    assert "H2a-H2c" in text and "2008-2022" in text and "well-known" in text
    assert "\n- a bullet" in text
