"""A researcher's own data (issue 17): the codebook's table mapping, formats as they come,
and the cases that used to crash the loader, each now a problem with file, line, column,
value and rule, or a clear DataError."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from studies import CODEBOOK, TABLES, write_study

import ipnstats
from ipnstats.cli import main


def problems(folder: Path, **kw) -> pd.DataFrame:
    return ipnstats.validate_study(folder, **kw).problems


def only(p: pd.DataFrame, rule: str) -> pd.DataFrame:
    out = p[p["rule"] == rule]
    assert len(out), f"no problem with rule {rule!r} in\n{p.to_string()}"
    return out


def cli(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    return code, text


# --- the mapping ------------------------------------------------------------------------

def _mapped_financials(folder: Path) -> Path:
    """The hand study with financials as an operator names them, in a sub-folder."""
    fin = pd.read_csv(io.StringIO(TABLES["financials"]))
    fin = fin.rename(columns={"firm_id": "FirmID", "year": "Fiscal Year",
                              "revenue": "Revenue (USD)"})
    write_study(folder, tables={"financials": None})
    (folder / "exports").mkdir()
    fin.to_csv(folder / "exports" / "fin_2015-2020.csv", sep=";", index=False, decimal=",")
    mapping = ('\n[tables.financials]\nfile = "exports/fin_*.csv"\ndecimal = ","\n'
               'columns = { firm_id = "FirmID", year = "Fiscal Year", '
               'revenue = "Revenue (USD)" }\n')
    (folder / "codebook.toml").write_text(CODEBOOK + mapping)
    return folder


def test_a_mapped_table_loads_to_the_same_frames(tmp_path, hand_study):
    folder = _mapped_financials(tmp_path / "own")
    mapped = ipnstats.load_study(folder)
    plain = ipnstats.load_study(hand_study)
    pd.testing.assert_frame_equal(mapped.firm_year, plain.firm_year)


def test_problems_in_a_mapped_table_name_the_source_file_column_and_key(tmp_path):
    folder = _mapped_financials(tmp_path / "own")
    path = folder / "exports" / "fin_2015-2020.csv"
    lines = path.read_text().splitlines()
    cells = lines[3].split(";")
    cells[2] = "lots"
    lines[3] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n")
    bad = only(problems(folder), "not_a_number").iloc[0]
    assert bad["file"] == "exports/fin_2015-2020.csv" and bad["line"] == 4
    assert bad["column"] == "Revenue (USD)" and bad["value"] == "lots"
    assert "[tables.financials] columns.revenue" in bad["problem"]


def test_a_mapped_column_that_is_missing_names_the_key_and_the_closest_column(tmp_path):
    folder = _mapped_financials(tmp_path / "own")
    text = (folder / "codebook.toml").read_text().replace('"Revenue (USD)"', '"Revenue USD"')
    (folder / "codebook.toml").write_text(text)
    miss = only(problems(folder), "missing_column").iloc[0]
    assert miss["column"] == "Revenue USD"
    assert "[tables.financials] columns.revenue" in miss["problem"]
    assert "'Revenue (USD)'" in miss["problem"]


def test_unknown_mapping_keys_are_refused_with_the_closest_match(tmp_path):
    bad = ('\n[tables.financials]\nfiel = "x.csv"\ncolumns = { firmid = "FirmID" }\n'
           'values = { framing = { Verlust = "verlust" } }\n'
           '[tables.finances]\n[tables.exchanges]\nvalues = { framing = { V = "lost" } }\n'
           'delimiter = ":"\ndate_format = "%Q"\nencoding = "klingon"\n')
    write_study(tmp_path / "s", codebook=CODEBOOK + bad)
    p = only(problems(tmp_path / "s"), "bad_mapping")
    text = "\n".join(p["problem"])
    assert "unknown key 'fiel'; did you mean 'file'?" in text
    assert "'firmid' is not a column of financials; did you mean 'firm_id'?" in text
    assert "'framing' is not a column of financials" in text
    assert "unknown table 'finances'; did you mean 'financials'?" in text
    assert "['lost'] are not among loss/gain/neutral" in text
    assert "delimiter = ':'" in text and "date_format = '%Q'" in text and "klingon" in text
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(tmp_path / "s")


def test_recoded_labels_and_a_date_format_load(tmp_path, hand_study):
    ex = pd.read_csv(io.StringIO(TABLES["exchanges"]), dtype=str, keep_default_na=False)
    ex["framing"] = ex["framing"].map({"loss": "Verlust", "gain": "Gewinn",
                                       "neutral": "Neutral"})
    ex["date"] = pd.to_datetime(ex["date"]).dt.strftime("%d/%m/%Y")
    write_study(tmp_path / "s", tables={"exchanges": ex.to_csv(index=False)})
    assert "date_format" in only(problems(tmp_path / "s"), "bad_date")["problem"].iloc[0]
    mapping = ('\n[tables.exchanges]\ndate_format = "%d/%m/%Y"\n'
               'values = { framing = { Verlust = "loss", Gewinn = "gain", '
               'Neutral = "neutral" } }\n')
    (tmp_path / "s" / "codebook.toml").write_text(CODEBOOK + mapping)
    got = ipnstats.load_study(tmp_path / "s").exchanges
    pd.testing.assert_frame_equal(got, ipnstats.load_study(hand_study).exchanges)


def test_a_semicolon_file_is_sniffed_and_dmy_dates_ask_for_the_setting(tmp_path, hand_study):
    members = TABLES["memberships"].replace(",", ";")
    write_study(tmp_path / "s", tables={"memberships": members})
    pd.testing.assert_frame_equal(ipnstats.load_study(tmp_path / "s").firm_year,
                                  ipnstats.load_study(hand_study).firm_year)
    dmy = pd.read_csv(io.StringIO(TABLES["memberships"]), dtype=str, keep_default_na=False)
    for c in ("join_date", "exit_date"):
        dmy[c] = pd.to_datetime(dmy[c].replace("", None)).dt.strftime("%d/%m/%Y")
    write_study(tmp_path / "t", tables={"memberships": dmy.to_csv(index=False, sep=";")})
    p = only(problems(tmp_path / "t"), "bad_date")
    assert p["problem"].str.contains("date_format").all()


def test_excel_sheet_and_header_row(tmp_path, hand_study):
    write_study(tmp_path / "s", tables={"financials": None})
    fin = pd.read_csv(io.StringIO(TABLES["financials"]))
    with pd.ExcelWriter(tmp_path / "s" / "financials.xlsx") as book:
        pd.DataFrame({"Notes": ["read me"]}).to_excel(book, sheet_name="Read me", index=False)
        fin.to_excel(book, sheet_name="Data", index=False, startrow=2)
    p = problems(tmp_path / "s")
    assert len(only(p, "which_sheet")) == 1  # the first sheet was read, and it says so
    (tmp_path / "s" / "codebook.toml").write_text(
        CODEBOOK + '\n[tables.financials]\nsheet = "Data"\nheader_row = 3\n')
    pd.testing.assert_frame_equal(ipnstats.load_study(tmp_path / "s").firm_year,
                                  ipnstats.load_study(hand_study).firm_year)
    (tmp_path / "s" / "codebook.toml").write_text(
        CODEBOOK + '\n[tables.financials]\nsheet = "data "\n')
    bad = only(problems(tmp_path / "s"), "unreadable_file").iloc[0]
    assert "no sheet 'data '" in bad["problem"] and "did you mean 'Data'" in bad["problem"]


def test_a_glob_stacks_files_and_lines_point_into_each(tmp_path, hand_study):
    write_study(tmp_path / "s", tables={"financials": None})
    lines = TABLES["financials"].splitlines()
    (tmp_path / "s" / "fin_a.csv").write_text("\n".join(lines[:10]) + "\n")
    (tmp_path / "s" / "fin_b.csv").write_text("\n".join([lines[0], *lines[10:]]) + "\n")
    (tmp_path / "s" / "codebook.toml").write_text(
        CODEBOOK + '\n[tables.financials]\nfile = "fin_*.csv"\n')
    pd.testing.assert_frame_equal(ipnstats.load_study(tmp_path / "s").firm_year,
                                  ipnstats.load_study(hand_study).firm_year)
    text = (tmp_path / "s" / "fin_b.csv").read_text().replace("F3,2017,530", "F3,2017,x")
    (tmp_path / "s" / "fin_b.csv").write_text(text)
    bad = only(problems(tmp_path / "s"), "not_a_number").iloc[0]
    assert (bad["file"], bad["line"]) == ("fin_b.csv", 6)


# --- cases that crashed -----------------------------------------------------------------

def test_a_renamed_key_column_is_a_problem_never_a_traceback(tmp_path):
    firms = TABLES["firms"].replace("firm_id,", "FirmID,", 1)
    folder = write_study(tmp_path / "s", tables={"firms": firms})
    miss = only(problems(folder), "missing_column").iloc[0]
    assert miss["file"] == "firms.csv" and miss["line"] == 1
    assert "did you mean 'FirmID'" in miss["problem"] and "columns = {" in miss["problem"]
    code, text = cli("validate", folder)
    assert code == 1 and "FirmID" in text
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(folder, errors="drop")


def test_a_duplicated_header_is_a_problem(tmp_path):
    fin = TABLES["financials"].replace("revenue,net_income", "revenue,revenue", 1)
    folder = write_study(tmp_path / "s", tables={"financials": fin})
    p = problems(folder)
    assert "more than once" in only(p, "duplicate_column")["problem"].iloc[0]
    assert len(only(p, "missing_column"))  # net_income
    assert cli("validate", folder)[0] == 1


def test_a_huge_cell_and_a_ragged_row_with_bytes_that_are_not_utf8(tmp_path):
    firms = TABLES["firms"].replace("F2,retail,south", "F2," + "x" * 200_000 + ",south")
    folder = write_study(tmp_path / "s", tables={"firms": firms})
    assert ipnstats.validate_study(folder).ok
    raw = TABLES["tasks"].encode() + b"F3,2,2018-01-01,8,2,\xe9t\xe9\n"
    (folder / "tasks.csv").write_bytes(raw)
    err = io.StringIO()
    with redirect_stderr(err):
        p = problems(folder)
    assert err.getvalue() == ""  # nothing printed behind the user's back
    ragged = only(p, "wrong_field_count").iloc[0]
    assert ragged["line"] == 6 and ragged["value"] == "6"


def test_numbers_beyond_int64_and_non_finite_numbers_are_problems(tmp_path):
    fin = (TABLES["financials"].replace("F1,2015,100,10,9,200", "F1,2015,Infinity,10,9,200")
           .replace("F1,2016,110,11,9,210", "F1,2016,1e400,11,9,210")
           .replace("F1,2017,121,-5,10,220", f"F1,2017,121,-5,{2**63},220")
           .replace("F1,2018,133.1,13,11,230", "F1,2018,133.1,13,inf,230"))
    folder = write_study(tmp_path / "s", tables={"financials": fin})
    p = problems(folder)
    got = set(zip(p["line"], p["column"], strict=True))
    assert {(2, "revenue"), (3, "revenue"), (4, "employees"), (5, "employees")} <= got
    study = ipnstats.load_study(folder, errors="drop")
    assert np.isfinite(study.tables["financials"]["revenue"]).all()
    assert (study.tables["financials"]["employees"] >= 0).all()


def test_codebook_values_of_the_wrong_type_are_problems(tmp_path):
    bad = (CODEBOOK.replace('items = ["tr_1", "tr_2", "tr_3"]', 'items = "tr_1, tr_2"')
           .replace('items = ["ra_1", "ra_2", "ra_3"]', 'items = ["ra_1", "ra_1", "ra_2"]')
           .replace('name = "Hand-made study"', 'name = "x"\ndisclosure_threshold = -2')
           + '\n[scales.year]\nitems = ["y_1", "y_2"]\n'
             '[scales.other]\nitems = ["la_1", "pl_1"]\nrange = "1-5"\n')
    folder = write_study(tmp_path / "s", codebook=bad)
    p = problems(folder)
    text = "\n".join(p["problem"])
    assert "[scales.trust] items must be a list" in text
    assert "lists ['ra_1'] more than once" in text
    assert "disclosure_threshold must be a whole number in 1..10000, not -2" in text
    assert "scale name 'year' is taken" in text
    assert "range must be two numbers" in text
    assert cli("validate", folder)[0] == 1
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(folder, errors="drop")


def test_an_item_in_two_scales_is_a_problem(tmp_path):
    bad = CODEBOOK.replace('items = ["tr_1", "tr_2", "tr_3"]', 'items = ["tr_1", "pl_1"]')
    p = problems(write_study(tmp_path / "s", codebook=bad))
    assert "item 'pl_1' is in both scale" in only(p, "bad_scale")["problem"].iloc[0]


@pytest.mark.parametrize("table", ["firms", "financials", "memberships"])
def test_drop_never_crashes_when_a_required_table_is_empty_or_emptied(tmp_path, table):
    header = TABLES[table].splitlines()[0] + "\n"
    folder = write_study(tmp_path / "s", tables={table: header})
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(folder, errors="drop")
    broken = header + "".join(",".join([""] * header.count(",")) + ",\n" for _ in range(3))
    folder = write_study(tmp_path / "t", tables={table: broken})
    with pytest.raises(ipnstats.DataError, match="no rows|error"):
        ipnstats.load_study(folder, errors="drop")


def test_a_table_linked_from_outside_the_folder_is_not_read(tmp_path):
    folder = write_study(tmp_path / "s", tables={"tasks": None})
    secret = tmp_path / "elsewhere.csv"
    secret.write_text(TABLES["tasks"])
    (folder / "tasks.csv").symlink_to(secret)
    p = only(problems(folder), "outside_folder")
    assert p["file"].iloc[0] == "tasks.csv"
    for pattern in ("../*.csv", "/etc/passwd", "**/../../*.csv"):
        (folder / "codebook.toml").write_text(CODEBOOK + f'\n[tables.tasks]\nfile = "{pattern}"\n')
        bad = only(problems(folder), "bad_mapping")
        assert "must be a path inside the study folder" in bad["problem"].iloc[0]
    (folder / "codebook.toml").write_text(CODEBOOK + '\n[tables.tasks]\nfile = "*.csv"\n'
                                          '[tables.firms]\nthousands = "."\n')
    p = problems(folder)  # every CSV stacked as tasks: many problems, none raised
    assert "thousands and decimal must differ" in only(p, "bad_mapping")["problem"].iloc[0]
    assert len(only(p, "different_columns")) and len(only(p, "missing_column"))


def test_a_folder_that_is_missing_and_a_url_without_codebook(tmp_path):
    assert not ipnstats.validate_study(tmp_path / "nowhere").ok
    report = ipnstats.validate_study("postgresql://ann:s3cret@localhost:1/ipn")
    assert not report.ok and "s3cret" not in report.summary()


def test_deeply_nested_toml_and_mixed_time_zones_are_problems(tmp_path):
    folder = write_study(tmp_path / "s", codebook=CODEBOOK + "\nx = " + "[" * 5000 + "\n")
    assert "too deeply" in only(problems(folder), "unreadable_file")["problem"].iloc[0]
    config = tmp_path / "study.toml"
    config.write_text("[study]\nfolder = 's'\nx = " + "[" * 5000 + "\n")
    code, text = cli("run", config)
    assert code == 1 and "too deeply" in text
    members = (TABLES["memberships"]
               .replace("F1,G2,2018-01-01,", "F1,G2,2018-01-01T09:00:00+05:00,")
               .replace("F2,G1,2016-07-01,2019-07-02", "F2,G1,2016-07-01T23:30:00Z,2019-07-02"))
    folder = write_study(tmp_path / "t", tables={"memberships": members})
    dates = ipnstats.load_study(folder).tables["memberships"]["join_date"]
    assert pd.Timestamp("2018-01-01") in set(dates) and pd.Timestamp("2016-07-01") in set(dates)


def test_a_qualtrics_export_wider_than_the_first_block_is_recognised(tmp_path, hand_study):
    surveys = pd.read_csv(io.StringIO(TABLES["surveys"]))
    surveys = surveys.rename(columns={"firm_id": "ExternalReference", "date": "RecordedDate"})
    for i in range(1500):
        surveys[f"Q_extra_{i}"] = ""
    texts = {c: f"Question text of {c}" for c in surveys.columns}
    imports = {c: '{"ImportId":"' + c + '"}' for c in surveys.columns}
    frame = pd.concat([pd.DataFrame([texts, imports]), surveys.astype(str)], ignore_index=True)
    folder = write_study(tmp_path / "s", tables={"surveys": None})
    frame.to_csv(folder / "surveys.csv", index=False)
    report = ipnstats.validate_study(folder)
    assert report.rows_read["surveys"] == len(surveys)
    pd.testing.assert_frame_equal(ipnstats.load_study(folder).firm_year,
                                  ipnstats.load_study(hand_study).firm_year)


def test_init_on_an_export_with_a_repeated_column_name(tmp_path):
    folder = write_study(tmp_path / "s", codebook=None)
    firms = pd.read_csv(io.StringIO(TABLES["firms"]))
    firms.insert(4, "founded_year_copy", firms["founded_year"])
    firms = firms.set_axis([*firms.columns[:4], "founded_year", *firms.columns[5:]], axis=1)
    (folder / "firms.csv").unlink()
    firms.to_excel(folder / "firms.xlsx", index=False)
    code, text = cli("init", folder)
    assert code == 0 and (folder / "codebook.toml").exists()
    assert "more than once" in (folder / "codebook.toml").read_text()


def test_stacked_files_with_a_repeated_column_name(tmp_path):
    """Found by the fuzz campaign (seed 0, case 2922): a glob's parts with a header that
    names a column twice."""
    meetings = TABLES["meetings"].replace("meeting_id,group_id,date,kind",
                                          "meeting_id,group_id,date,date,kind")
    lines = [",".join([*row.split(",")[:3], row.split(",")[2], row.split(",")[3]])
             for row in meetings.splitlines()[1:]]
    folder = write_study(tmp_path / "s", tables={"meetings": None})
    (folder / "parts").mkdir()
    header = meetings.splitlines()[0]
    (folder / "parts" / "meetings-1.csv").write_text("\n".join([header, *lines[:2]]) + "\n")
    (folder / "parts" / "meetings-2.csv").write_text("\n".join([header, *lines[2:]]) + "\n")
    (folder / "codebook.toml").write_text(CODEBOOK + '\n[tables.meetings]\nfile = "parts/*"\n')
    p = problems(folder)
    assert "more than once" in only(p, "duplicate_column")["problem"].iloc[0]
    with pytest.raises(ipnstats.DataError):
        ipnstats.load_study(folder)
    assert cli("validate", folder)[0] == 1
