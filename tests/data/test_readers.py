"""Every file format, encoding and export the loader promises to read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from studies import TABLES, write_study

import ipnstats
from ipnstats.data.readers import read_table

FIRMS_WITH_ACCENT = TABLES["firms"].replace("F1,it,north", "F1,café,nörth")


def _reference(tmp_path):
    return ipnstats.load_study(write_study(tmp_path / "ref")).firm_year


def _swap(folder, table, writer):
    frame = pd.read_csv(folder / f"{table}.csv", dtype={"firm_id": str})
    (folder / f"{table}.csv").unlink()
    writer(frame, folder / table)


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "dta", "sav"])
def test_formats_give_the_same_panel(tmp_path, fmt):
    import pyreadstat

    folder = write_study(tmp_path / "s")
    writers = {
        "parquet": lambda f, p: f.to_parquet(p.with_suffix(".parquet")),
        "xlsx": lambda f, p: f.to_excel(p.with_suffix(".xlsx"), index=False),
        "dta": lambda f, p: f.to_stata(p.with_suffix(".dta"), write_index=False),
        "sav": lambda f, p: pyreadstat.write_sav(f, str(p.with_suffix(".sav"))),
    }
    for table in ("firms", "financials", "memberships"):
        if fmt in ("dta", "sav") and table == "memberships":
            frame = pd.read_csv(folder / "memberships.csv", parse_dates=["join_date", "exit_date"])
            (folder / "memberships.csv").unlink()
            writers[fmt](frame, folder / "memberships")
            continue
        _swap(folder, table, writers[fmt])
    panel = ipnstats.load_study(folder).firm_year
    expected = _reference(tmp_path)
    pd.testing.assert_frame_equal(panel.drop(columns=["firm_id", "group_id"]),
                                  expected.drop(columns=["firm_id", "group_id"]),
                                  check_dtype=False)
    assert list(panel["firm_id"].astype(str)) == list(expected["firm_id"].astype(str))


def test_numeric_ids_from_excel_match_text_ids(tmp_path):
    folder = write_study(tmp_path / "s")
    for table in ("firms", "financials", "memberships"):
        text = (folder / f"{table}.csv").read_text().replace("F", "")
        (folder / f"{table}.csv").write_text(text)
    # financials as Excel: ids become numbers 1.0, 2.0, ...
    frame = pd.read_csv(folder / "financials.csv").astype({"firm_id": float})
    (folder / "financials.csv").unlink()
    frame.to_excel(folder / "financials.xlsx", index=False)
    for t in ("meeting_activity", "surveys", "exchanges", "tasks"):
        (folder / f"{t}.csv").unlink()
    panel = ipnstats.load_study(folder).firm_year
    assert sorted(panel["firm_id"].astype(str).unique()) == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings(tmp_path, encoding):
    folder = write_study(tmp_path / "s")
    (folder / "firms.csv").write_bytes(FIRMS_WITH_ACCENT.encode(encoding))
    panel = ipnstats.load_study(folder).firm_year
    assert panel.loc[panel["firm_id"] == "F1", "industry"].iloc[0] == "café"
    assert panel.loc[panel["firm_id"] == "F1", "region"].iloc[0] == "nörth"


def test_binary_file_is_an_error_not_a_traceback(tmp_path):
    folder = write_study(tmp_path / "s")
    (folder / "financials.csv").write_bytes(np.random.default_rng(0).bytes(5000) + b"\x00")
    report = ipnstats.validate_study(folder)
    problem = report.problems.query("rule == 'unreadable_file'").iloc[0]
    assert (problem["table"], problem["file"]) == ("financials", "financials.csv")
    assert "binary" in problem["problem"]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".dta", ".sav"])
def test_corrupt_binary_formats(tmp_path, suffix):
    folder = write_study(tmp_path / "s")
    (folder / "firms.csv").unlink()
    (folder / f"firms{suffix}").write_bytes(b"this is not a real file" * 10)
    report = ipnstats.validate_study(folder)
    problem = report.problems.query("rule == 'unreadable_file'").iloc[0]
    assert problem["file"] == f"firms{suffix}"
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(folder)


def test_type_break_in_a_late_block_is_read(tmp_path):
    """A column that looks numeric for more than a read block and then has '$1,234'."""
    from ipnstats.data.readers import read_table

    path = tmp_path / "financials.csv"
    with open(path, "w") as f:
        f.write("firm_id,year,revenue\n")
        f.write("".join(f"F{i},2015,100\n" for i in range(1_200_000)))
        f.write('F1,2016,"$1,234"\n')
    raw = read_table("financials", path, text_columns=("firm_id",))
    assert len(raw.frame) == 1_200_001
    assert raw.frame["revenue"].iloc[-1] == "$1,234"
    assert raw.frame["revenue"].iloc[0] == "100"


def test_year_beyond_2200_is_out_of_range(tmp_path):
    from studies import append_line

    folder = write_study(tmp_path / "s", tables={"financials": append_line(
        "financials", "F1,90000,1,1,1,1")})
    problem = ipnstats.validate_study(folder).problems.query("rule == 'out_of_range'").iloc[0]
    assert (problem["line"], problem["column"]) == (31, "year")


QUALTRICS = (
    'StartDate,EndDate,RecordedDate,ExternalReference,Q1_1,Q1_2,Q1_3,tr_1,tr_2,tr_3,'
    'ra_1,ra_2,ra_3,la_1,la_2,la_3\n'
    'Start Date,End Date,Recorded Date,External Data Reference,"I learned, a lot",Q,Q,T,T,T,'
    'R,R,R,L,L,L\n'
    '{"ImportId":"startDate"},{"ImportId":"endDate"},{"ImportId":"recordedDate"},'
    '{"ImportId":"externalDataReference"},{"ImportId":"QID1_1"},{"ImportId":"QID1_2"},'
    '{"ImportId":"QID1_3"},{"ImportId":"QID2_1"},{"ImportId":"QID2_2"},{"ImportId":"QID2_3"},'
    '{"ImportId":"QID3_1"},{"ImportId":"QID3_2"},{"ImportId":"QID3_3"},{"ImportId":"QID4_1"},'
    '{"ImportId":"QID4_2"},{"ImportId":"QID4_3"}\n'
    '2015-11-01 09:00:00,2015-11-01 09:10:00,2015-11-01 09:10:05,F1,5,4,2,3,3,3,4,5,,2,,\n'
    '2015-12-01 09:00:00,2015-12-01 09:10:00,2015-12-01 09:10:05,F1,3,3,3,3,3,3,4,4,4,2,2,2\n'
    '2016-03-01 09:00:00,2016-03-01 09:10:00,2016-03-01 09:10:05,F4,1,1,9,4,4,4,2,2,2,3,3,3\n'
)


def test_qualtrics_export(tmp_path):
    from studies import CODEBOOK

    codebook = CODEBOOK + '\n[qualtrics]\nfirm_id = "ExternalReference"\n' \
        'date = "RecordedDate"\n[qualtrics.items]\nQ1_1 = "pl_1"\nQ1_2 = "pl_2"\nQ1_3 = "pl_3"\n'
    folder = write_study(tmp_path / "s", tables={"surveys": QUALTRICS}, codebook=codebook)
    report = ipnstats.validate_study(folder)
    problem = report.problems.query("rule == 'out_of_range'").iloc[0]
    # the third data record is on line 6: three header lines, then two answers
    assert (problem["line"], problem["column"], problem["value"]) == (6, "pl_3", "9")
    fixed = QUALTRICS.replace("F4,1,1,9", "F4,1,1,5")
    folder = write_study(tmp_path / "s2", tables={"surveys": fixed}, codebook=codebook)
    panel = ipnstats.load_study(folder).firm_year
    f1 = panel[(panel["firm_id"] == "F1") & (panel["year"] == 2015)].iloc[0]
    assert f1["perceived_learning"] == pytest.approx((13 / 3 + 3) / 2)


@pytest.mark.parametrize("suffix,line", [(".xlsx", 4), (".parquet", 3), (".dta", 3)])
def test_line_numbers_in_binary_formats(tmp_path, suffix, line):
    """Excel reports the sheet's row (header = row 1); Parquet and Stata the row number."""
    folder = write_study(tmp_path / "s")
    firms = pd.read_csv(folder / "firms.csv")
    firms.loc[2, "employees_baseline"] = -4  # the third firm
    (folder / "firms.csv").unlink()
    path = folder / f"firms{suffix}"
    {".xlsx": lambda: firms.to_excel(path, index=False),
     ".parquet": lambda: firms.to_parquet(path),
     ".dta": lambda: firms.to_stata(path, write_index=False)}[suffix]()
    problem = ipnstats.validate_study(folder).problems.query("rule == 'negative_value'").iloc[0]
    assert (problem["file"], problem["line"], problem["column"]) == (
        f"firms{suffix}", line, "employees_baseline")


def test_a_stray_cell_at_column_xfd_is_read_and_reported(tmp_path):
    """A stray cell far right of an Excel table (column 16384, XFD: the sheet's used range
    spans every column) below notes above the header (the fuzz case ``excel_far_cell``
    with ``header_row_offset``): the table is read with its own columns, the stray cell
    kept in its row and named in a warning, not 16384 columns built per row."""
    import openpyxl
    from studies import CODEBOOK

    folder = write_study(tmp_path / "s")
    firms = pd.read_csv(folder / "firms.csv")
    (folder / "firms.csv").unlink()
    path = folder / "firms.xlsx"
    firms.to_excel(path, index=False, startrow=2)  # the header on line 3
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    sheet["A1"] = "Exported from CRM"
    last = sheet.max_row + 2  # a blank line, then the stray cell
    sheet.cell(row=last, column=16384, value="total")
    book.save(path)
    (folder / "codebook.toml").write_text(CODEBOOK + "\n[tables.firms]\nheader_row = 3\n")

    raw = read_table("firms", path, header_row=3)
    assert list(raw.frame.columns) == [*firms.columns, "Unnamed: 16383"]
    assert len(raw.frame) == len(firms) + 2  # the blank line and the stray row are kept
    stray = raw.frame["Unnamed: 16383"]
    assert stray.dropna().tolist() == ["total"] and stray.index[stray.notna()] == [len(firms) + 1]
    assert raw.line_of(len(raw.frame) - 1) == last
    (rule, note), = raw.notes
    assert rule == "stray_cell" and f"XFD{last} = 'total'" in note

    problems = ipnstats.validate_study(folder).problems
    stray = problems.query("rule == 'stray_cell'")
    assert stray[["severity", "table", "file"]].values.tolist() == [
        ["warning", "firms", "firms.xlsx"]]
    assert f"XFD{last} = 'total'" in stray["problem"].iloc[0]
    # the stray row itself is a row without a firm: an error on its line
    assert last in problems.query("rule == 'missing_value'")["line"].tolist()
