"""Column parsers at their edges: empty columns, number and date conventions, values
that do not fit, recodes (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnstats.data import columns as col

# -- all-empty columns ---------------------------------------------------------------

EMPTY_COLUMNS = {
    "categorical, no categories": lambda: pd.Series(pd.Categorical([np.nan] * 3)),
    "categorical of text, no categories": lambda: pd.Series(
        pd.Categorical([None] * 3, categories=pd.Index([], dtype="str"))),
    "floats, all NaN": lambda: pd.Series([np.nan] * 3),
    "objects, all None": lambda: pd.Series([None] * 3, dtype=object),
    "text, all missing": lambda: pd.Series([None] * 3, dtype="str"),
    "Arrow nulls": lambda: pd.Series(pd.arrays.ArrowExtensionArray(pa.nulls(3))),
    "blank strings": lambda: pd.Series(["", "  ", ""]),
    "nullable integers, all NA": lambda: pd.Series([pd.NA] * 3, dtype="Int64"),
    "nullable floats, all NA": lambda: pd.Series([pd.NA] * 3, dtype="Float64"),
    "dates, all NaT": lambda: pd.Series([pd.NaT] * 3),
    "no rows": lambda: pd.Series([], dtype=object),
    "no rows, categorical": lambda: pd.Series(pd.Categorical([])),
}
PARSERS = {
    "id": col.parse_id, "text": col.parse_text, "number": col.parse_number,
    "integer": lambda s: col.parse_integer(s)[:2], "binary": col.parse_binary,
    "choice": lambda s: col.parse_choice(s, ("loss", "gain")), "date": col.parse_date,
}


@pytest.mark.parametrize("kind", PARSERS)
@pytest.mark.parametrize("column", EMPTY_COLUMNS)
def test_an_all_empty_column_parses_as_all_missing(column, kind):
    s = EMPTY_COLUMNS[column]()
    values, bad = PARSERS[kind](s)
    assert len(values) == len(bad) == len(s)
    assert values.isna().all()
    assert not bad.any()


def test_an_all_empty_id_column_is_categorical_text():
    values, _ = col.parse_id(pd.Series(pd.Categorical([np.nan] * 4)))
    assert isinstance(values.dtype, pd.CategoricalDtype)
    assert len(values.cat.categories) == 0
    assert values.cat.categories.dtype == pd.Index([], dtype="str").dtype


@pytest.mark.parametrize("kind", PARSERS)
def test_parsers_take_a_series_not_a_frame(kind):
    frame = pd.DataFrame([["1", "2"]], columns=["x", "x"])  # a duplicated header
    with pytest.raises(TypeError, match="duplicated column header"):
        PARSERS[kind](frame["x"])


# -- numbers -------------------------------------------------------------------------

def test_default_number_reading_is_unchanged():
    s = pd.Series(["1234.5", " 1,234.50 ", "$1,234", "(1,234)", "-(5)", "-7", ".5", "1e3",
                   "", None, "abc", "1,23", "(5"])
    values, bad = col.parse_number(s)
    expected = [1234.5, 1234.5, 1234.0, -1234.0, -5.0, -7.0, 0.5, 1000.0]
    np.testing.assert_array_equal(values[:8], expected)
    assert values[8:].isna().all()
    assert bad.tolist() == [False] * 10 + [True] * 3


@pytest.mark.parametrize("text", ["inf", "Infinity", "-inf", "-Infinity", "NaN", "nan",
                                  "1e400", "-1e400", "9" * 400])
@pytest.mark.parametrize("decimal", [".", ","])
def test_non_finite_text_is_a_bad_cell(text, decimal):
    values, bad = col.parse_number(pd.Series(["1", text]), decimal=decimal)
    assert bad.tolist() == [False, True]
    assert values.iloc[0] == 1.0 and np.isnan(values.iloc[1])


def test_inf_in_a_float_column_is_a_bad_cell():
    values, bad = col.parse_number(pd.Series([1.5, np.inf, -np.inf, np.nan]))
    assert bad.tolist() == [False, True, True, False]
    assert values.iloc[0] == 1.5 and values.iloc[1:].isna().all()


DECIMAL_COMMA = {
    "1.234,56": 1234.56, "1234,56": 1234.56, "-3,5": -3.5, "(1.234,50)": -1234.5,
    "€ 1.234,56": 1234.56, "1.234,56 €": 1234.56, "-€ 3,5": -3.5, "€ -3,5": -3.5,
    "1 234,5": 1234.5, "1\u00a0234,5": 1234.5, "1\u202f234,5": 1234.5, "1.234.567": 1234567.0,
    ",5": 0.5, "+3,5": 3.5, "\u22123,5": -3.5, " 7 ": 7.0, "1,5e3": 1500.0, "0": 0.0,
}


def test_decimal_comma():
    s = pd.Series(list(DECIMAL_COMMA) + ["", None])
    values, bad = col.parse_number(s, decimal=",")
    np.testing.assert_allclose(values[:len(DECIMAL_COMMA)], list(DECIMAL_COMMA.values()),
                               rtol=1e-15)
    assert values[len(DECIMAL_COMMA):].isna().all()
    assert not bad.any()


@pytest.mark.parametrize("text", ["1,234.56", "12.34", "1.23,4", "--3", "-€-3", "(3", "3)",
                                  "1,2,3", "abc", "1.2345,6", "(-3)"])
def test_decimal_comma_rejects(text):
    values, bad = col.parse_number(pd.Series([text]), decimal=",")
    assert bad.tolist() == [True], text
    assert values.isna().all()


def test_decimal_comma_on_a_categorical_column_reads_the_categories():
    s = pd.Series(pd.Categorical(["1.234,5", None, "x", "1.234,5", "2,0"]))
    values, bad = col.parse_number(s, decimal=",")
    np.testing.assert_array_equal(values, [1234.5, np.nan, np.nan, 1234.5, 2.0])
    assert bad.tolist() == [False, False, True, False, False]


@pytest.mark.parametrize(("decimal", "thousands", "text", "value"), [
    (",", ".", "1.234,5", 1234.5),
    (",", " ", "1 234,5", 1234.5),
    (",", "'", "1'234,5", 1234.5),
    (",", None, "1 234,5", 1234.5),
    (".", "'", "1'234.5", 1234.5),
    (".", " ", "1 234 567.25", 1234567.25),
    (".", ",", "1,234.5", 1234.5),
    (".", None, "1,234.5", 1234.5),
])
def test_thousands_separators(decimal, thousands, text, value):
    values, bad = col.parse_number(pd.Series([text]), decimal=decimal, thousands=thousands)
    assert values.tolist() == [value] and not bad.any()


@pytest.mark.parametrize(("decimal", "thousands", "text"), [
    (",", ".", "1 234,5"),  # a space is no separator when "." is given
    (",", " ", "1.234,5"),
    (".", "'", "1,234.5"),
])
def test_a_thousands_separator_other_than_the_given_one_is_bad(decimal, thousands, text):
    _, bad = col.parse_number(pd.Series([text]), decimal=decimal, thousands=thousands)
    assert bad.tolist() == [True]


@pytest.mark.parametrize(("decimal", "thousands"), [(";", None), (",", ","), (".", "."),
                                                    (",", "_")])
def test_unknown_marks_are_refused(decimal, thousands):
    with pytest.raises(ValueError, match="decimal|thousands"):
        col.parse_number(pd.Series(["1"]), decimal=decimal, thousands=thousands)


def test_numbers_in_a_column_of_objects_are_taken_as_they_are():
    s = pd.Series([1234.5, "1.234,5", 7, None, np.nan, "x", np.inf, 2**70], dtype=object)
    values, bad = col.parse_number(s, decimal=",")
    np.testing.assert_array_equal(values[:3], [1234.5, 1234.5, 7.0])
    assert values[3:7].isna().all() and values.iloc[7] == 2.0**70
    assert bad.tolist() == [False, False, False, False, False, True, True, False]


def test_numbers_already_numeric_ignore_the_marks():
    values, bad = col.parse_number(pd.Series([1.5, 2.0]), decimal=",")
    assert values.tolist() == [1.5, 2.0] and not bad.any()


def _grouped(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


@settings(max_examples=300, deadline=None)
@given(whole=st.integers(0, 10**15), frac=st.text("0123456789", max_size=6),
       negative=st.booleans(), style=st.sampled_from(["plain", "grouped", "paren", "currency"]),
       convention=st.sampled_from([(".", None, ","), (",", None, "."), (",", None, " "),
                                   (",", ".", "."), (",", "'", "'"), (".", "'", "'"),
                                   (".", " ", " "), (".", ",", ",")]))
def test_generated_numbers_parse_to_their_value(whole, frac, negative, style, convention):
    decimal, thousands, sep = convention
    digits = str(whole)
    number = _grouped(digits, sep) if style in ("grouped", "paren") else digits
    if frac:
        number += decimal + frac
    if style == "currency":
        number = "€ " + number if decimal == "," else "$" + number
    if negative:
        number = f"({number})" if style == "paren" else "-" + number
    expected = float(f"{digits}.{frac or '0'}") * (-1 if negative else 1)
    values, bad = col.parse_number(pd.Series([number, ""]), decimal=decimal, thousands=thousands)
    assert not bad.any(), number
    assert values.iloc[0] == pytest.approx(expected, rel=1e-15, abs=0), number
    assert np.isnan(values.iloc[1])


# -- integers ------------------------------------------------------------------------

BEYOND_INT64 = {
    "uint64": lambda: pd.Series(np.array([18446744073709551615, 9223372036854775808, 5],
                                         dtype=np.uint64)),
    "uint64[pyarrow]": lambda: pd.Series(pd.array([18446744073709551615, 9223372036854775808, 5],
                                                  dtype="uint64[pyarrow]")),
    "nullable UInt64": lambda: pd.Series(pd.array([18446744073709551615, 9223372036854775808,
                                                   5], dtype="UInt64")),
    "python ints": lambda: pd.Series([2**64 - 1, 2**63, 5], dtype=object),
    "floats": lambda: pd.Series([1.8446744073709552e19, 9.223372036854775808e18, 5.0]),
    "text": lambda: pd.Series(["18446744073709551615", "9223372036854775808", "5"]),
    "text, negative": lambda: pd.Series(["-18446744073709551615", "-9223372036854775808", "5"]),
    "text, grouped": lambda: pd.Series(["18,446,744,073,709,551,615", "1e19", "5"]),
}


@pytest.mark.parametrize("column", BEYOND_INT64)
def test_integers_beyond_int64_are_bad_and_never_wrap(column):
    values, bad, fractional = col.parse_integer(BEYOND_INT64[column]())
    assert bad.tolist() == [True, True, False]
    assert not fractional.any()
    assert values.iloc[:2].isna().all() and values.iloc[2] == 5
    assert values.dropna().astype(np.int64).tolist() == [5]  # what validate's _tighten does


def test_the_largest_int64_in_an_integer_column_passes():
    top = np.iinfo(np.int64).max
    for s in (pd.Series(np.array([top, 1], dtype=np.uint64)), pd.Series([top, 1])):
        values, bad, _ = col.parse_integer(s)
        assert values.dtype == np.int64 and values.tolist() == [top, 1] and not bad.any()


@pytest.mark.parametrize("column", [pd.Series([1.0, np.inf, -np.inf, np.nan]),
                                    pd.Series(["1", "inf", "-Infinity", ""]),
                                    pd.Series(["1", "1e400", "-1e400", None])])
def test_inf_in_an_integer_column_is_a_bad_cell(column):
    values, bad, fractional = col.parse_integer(column)
    assert bad.tolist() == [False, True, True, False]
    assert values.iloc[0] == 1 and values.iloc[1:].isna().all()
    assert not fractional.any()


def test_nullable_integers_with_missing_values():
    values, bad, fractional = col.parse_integer(pd.Series([1, None, 3], dtype="Int64"))
    assert values.tolist()[::2] == [1.0, 3.0] and np.isnan(values.iloc[1])
    assert not bad.any() and not fractional.any()


def test_integers_with_a_decimal_comma():
    values, bad, fractional = col.parse_integer(pd.Series(["1.234", "12,5", "7", "x"]),
                                                decimal=",")
    assert values.tolist()[:1] == [1234.0] and values.iloc[2] == 7.0
    assert bad.tolist() == [False, False, False, True]
    assert fractional.tolist() == [False, True, False, False]


# -- dates ---------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "texts", "expected"), [
    ("%d/%m/%Y", ["03/04/2019", "25/12/2019", "3/4/2019"],
     ["2019-04-03", "2019-12-25", "2019-04-03"]),
    ("%m/%d/%Y", ["03/04/2019", "12/25/2019"], ["2019-03-04", "2019-12-25"]),
    ("%d.%m.%y", ["03.04.19", "25.12.99"], ["2019-04-03", "1999-12-25"]),
    ("%Y%m%d", ["20190304", " 20191231 "], ["2019-03-04", "2019-12-31"]),
    ("%d-%m-%Y %H:%M", ["03-04-2019 10:30"], ["2019-04-03"]),
])
def test_date_format_reads_that_format(fmt, texts, expected):
    values, bad = col.parse_date(pd.Series(texts + ["", None]), date_format=fmt)
    assert values[:len(texts)].tolist() == [pd.Timestamp(e) for e in expected]
    assert values[len(texts):].isna().all() and not bad.any()
    assert values.dtype == "datetime64[s]"


@pytest.mark.parametrize(("fmt", "text"), [("%d/%m/%Y", "2019-03-04"), ("%d/%m/%Y", "25/13/2019"),
                                           ("%m/%d/%Y", "25/12/2019"), ("%d.%m.%y", "03.04.2019"),
                                           ("%Y%m%d", "2019-03-04"), ("%d/%m/%Y", "31/02/2019")])
def test_date_format_is_exact(fmt, text):
    values, bad = col.parse_date(pd.Series([text]), date_format=fmt)
    assert bad.tolist() == [True] and values.isna().all()


def test_date_format_reads_numbers_as_text():
    for s in (pd.Series([20190304, 20191231]), pd.Series([20190304.0, np.nan])):
        values, bad = col.parse_date(s, date_format="%Y%m%d")
        assert values.iloc[0] == pd.Timestamp("2019-03-04") and not bad.any()


def test_date_format_leaves_dates_alone():
    s = pd.Series(pd.to_datetime(["2019-03-04 10:00", None]))
    values, bad = col.parse_date(s, date_format="%m/%d/%Y")
    assert values.iloc[0] == pd.Timestamp("2019-03-04") and pd.isna(values.iloc[1])
    assert not bad.any()


def test_date_format_takes_the_dates_of_a_mixed_excel_column():
    s = pd.Series([pd.Timestamp("2019-03-04 12:00"), "25/12/2019", None, "x"], dtype=object)
    values, bad = col.parse_date(s, date_format="%d/%m/%Y")
    assert values[:2].tolist() == [pd.Timestamp("2019-03-04"), pd.Timestamp("2019-12-25")]
    assert bad.tolist() == [False, False, False, True]


def test_default_date_reading_is_unchanged():
    s = pd.Series(["2019-03-04", "2019/03/04", "04.03.2019", "03/04/2019", ""])
    values, bad = col.parse_date(s)
    assert values[:3].tolist() == [pd.Timestamp("2019-03-04")] * 3
    assert bad.tolist() == [False, False, False, True, False]


@pytest.mark.parametrize(("texts", "hint"), [
    (["03/04/2019", "05/06/2019"],
     "dates such as '03/04/2019' may be day-first or month-first: set date_format = "
     "\"%d/%m/%Y\" (or \"%m/%d/%Y\") for this table in codebook.toml"),
    (["03/04/2019", "25/04/2019"],
     "dates such as '25/04/2019' are day-first: set date_format = \"%d/%m/%Y\" for this table "
     "in codebook.toml"),
    (["04/25/2019", "03/04/2019"],
     "dates such as '04/25/2019' are month-first: set date_format = \"%m/%d/%Y\" for this "
     "table in codebook.toml"),
    (["03-04-19"], "dates such as '03-04-19' may be day-first or month-first: set date_format = "
     "\"%d-%m-%y\" (or \"%m-%d-%y\") for this table in codebook.toml"),
])
def test_date_hint(texts, hint):
    s = pd.Series(texts + ["2019-01-01"])
    _, bad = col.parse_date(s)
    assert col.date_hint(s, bad) == hint


@pytest.mark.parametrize("texts", [["25/04/2019", "04/25/2019"], ["x", "2019-13-01"],
                                   ["2019-02-30"], []])
def test_no_date_hint(texts):
    s = pd.Series(texts + ["2019-01-01"], dtype="str")
    _, bad = col.parse_date(s)
    assert col.date_hint(s, bad) is None


def test_date_hint_on_a_categorical_column():
    s = pd.Series(pd.Categorical(["25/04/2019", None, "2019-01-01"]))
    _, bad = col.parse_date(s)
    assert "day-first" in col.date_hint(s, bad)


# -- recodes -------------------------------------------------------------------------

FRAMING = {"Verlust": "loss", "Gewinn": "gain"}


def test_recode_text():
    s = pd.Series(["Verlust", " Gewinn ", "neutral", None, "gain"], name="framing")
    out = col.recode(s, FRAMING)
    assert out.tolist()[:3] == ["loss", "gain", "neutral"] and pd.isna(out.iloc[3])
    assert out.iloc[4] == "gain" and out.name == "framing"
    assert list(out.cat.categories) == ["gain", "loss", "neutral"]  # "gain" merged


def test_recode_categorical_recodes_its_categories():
    s = pd.Series(pd.Categorical(["Verlust", "Gewinn", None, "Verlust", "neutral"]))
    out = col.recode(s, FRAMING)
    assert out.tolist()[:2] == ["loss", "gain"] and pd.isna(out.iloc[2])
    assert out.tolist()[3:] == ["loss", "neutral"]
    values, bad = col.parse_choice(out, ("loss", "gain", "neutral"))
    assert not bad.any() and values.tolist()[3] == "loss"


def test_recode_numbers_by_their_text():
    out = col.recode(pd.Series([1.0, 2.0, np.nan, 3.0]), {"1": "loss", "2": "gain"})
    assert out.tolist()[:2] == ["loss", "gain"] and pd.isna(out.iloc[2]) and out.iloc[3] == "3"


def test_recode_keeps_unmapped_values_as_they_are():
    s = pd.Series([" a ", "b"])
    assert col.recode(s, {"x": "y"}) is s and col.recode(s, {}) is s
    numbers = pd.Series([1.0, 2.5])
    assert col.recode(numbers, {"ja": "1"}) is numbers
    assert col.recode(pd.Series([" a ", "b", "c"]), {"b": "B"}).tolist() == [" a ", "B", "c"]


@pytest.mark.parametrize(("fmt", "problem"), [
    ("%d/%m/%Y", None), ("%m/%d/%y", None), ("%Y%m%d", None), ("%d.%m.%Y %H:%M", None),
    ("%Q", "is not a strftime format"), ("%d/%m", "does not read back day, month and year"),
    ("%Y", "does not read back"), ("dd/mm/yyyy", "is not a strftime format"),
    ("", "is not a strftime format"),
])
def test_date_format_problem(fmt, problem):
    found = col.date_format_problem(fmt)
    assert found is None if problem is None else problem in found


def test_parse_date_refuses_a_broken_format_with_its_reason():
    with pytest.raises(ValueError, match="'Q' is a bad directive"):
        col.parse_date(pd.Series(["03/04/2019"]), date_format="%Q")


# -- any column at all ---------------------------------------------------------------

_CHARS = st.sampled_from(list("0123456789.,-+()$€£ e/:'\u00a0\u2212abcNnIi\t"))
_WORDS = st.lists(st.sampled_from(["inf", "NaN", "Infinity", "1e400", "2019", "12", "31", "/",
                                   ".", ",", "-", "(", ")", " ", "€", "1", "234"]),
                  max_size=6).map("".join)
_CELLS = st.one_of(st.none(), st.text(_CHARS, max_size=12), _WORDS,
                   st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70))


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(_CELLS, max_size=8), dtype=st.sampled_from(["object", "str", "category"]),
       marks=st.sampled_from([(".", None), (",", None), (",", "."), (".", "'"), (",", " ")]),
       date_format=st.sampled_from([None, "%d/%m/%Y", "%Y%m%d", "%d.%m.%y"]))
def test_no_parser_raises_and_no_value_is_out_of_range(cells, dtype, marks, date_format):
    if dtype == "object":
        s = pd.Series(cells, dtype=object)
    else:
        s = pd.Series([None if c is None else str(c) for c in cells], dtype=dtype)
    for kind in ("id", "text", "binary", "choice"):
        values, bad = PARSERS[kind](s)
        assert len(values) == len(bad) == len(s)
    decimal, thousands = marks
    values, bad = col.parse_number(s, decimal=decimal, thousands=thousands)
    assert np.isfinite(values.dropna()).all() and not (bad & values.notna().to_numpy()).any()
    values, bad, _ = col.parse_integer(s, decimal=decimal, thousands=thousands)
    assert (values.dropna().abs() < 2.0**63).all()
    values, bad = col.parse_date(s, date_format=date_format)
    assert not (bad & values.notna().to_numpy()).any()
    hint = col.date_hint(s, bad)
    assert hint is None or "codebook.toml" in hint
    assert len(col.recode(s, {"a": "b", "1": "x"})) == len(s)
