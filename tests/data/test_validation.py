"""The broken-study corpus: one folder per rule, each with the exact problem it must give."""

from __future__ import annotations

import pandas as pd
import pytest
from studies import TABLES, append_line, replace_line, write_study

import ipnstats
from ipnstats import DataError

FIN = "financials"
# (case, table overrides, expected table, line, column, rule)
CASES = [
    ("missing column", {FIN: TABLES[FIN].replace("employees,", "employes,", 1)},
     FIN, 1, "employees", "missing_column"),
    ("duplicate firm", {"firms": append_line("firms", "F1,it,north,2005,8")},
     "firms", 7, "firm_id", "duplicate_key"),
    ("duplicate firm-year", {FIN: append_line(FIN, "F1,2015,1,1,1,1")},
     FIN, 31, "firm_id+year", "duplicate_key"),
    ("adjacent duplicate firm-year", {FIN: replace_line(FIN, 3, "F1,2015,1,1,1,1")},
     FIN, 3, "firm_id+year", "duplicate_key"),
    ("unknown firm", {FIN: append_line(FIN, "F9,2015,1,1,1,1")}, FIN, 31, "firm_id", "unknown_id"),
    ("unknown group", {"meetings": append_line("meetings", "M5,G9,2015-01-01,workshop")},
     "meetings", 6, "group_id", "unknown_id"),
    ("unknown meeting", {"meeting_activity": append_line("meeting_activity", "M9,F1,1,1,0,,")},
     "meeting_activity", 7, "meeting_id", "unknown_id"),
    ("unknown exchange meeting",
     {"exchanges": replace_line("exchanges", 3,
                                "X2,2016-01-15,M7,F1,F2,receiver,finance,2,gain,2.0,0")},
     "exchanges", 3, "meeting_id", "unknown_id"),
    ("bad date", {"memberships": replace_line("memberships", 2, "F1,G1,2015-13-01,2016-06-30")},
     "memberships", 2, "join_date", "bad_date"),
    ("ambiguous date", {"meetings": replace_line("meetings", 3, "M2,G1,06/10/2015,peer_meeting")},
     "meetings", 3, "date", "bad_date"),
    ("join in a far year",
     {"memberships": replace_line("memberships", 3, "F1,G2,2218-01-01,")},
     "memberships", 3, "join_date", "out_of_range"),
    ("exit before join",
     {"memberships": replace_line("memberships", 4, "F2,G1,2016-07-01,2015-07-02")},
     "memberships", 4, "exit_date", "exit_before_join"),
    ("overlapping spells",
     {"memberships": append_line("memberships", "F1,G3,2016-01-01,2016-03-01")},
     "memberships", 8, "join_date", "overlapping_spells"),
    ("negative revenue", {FIN: replace_line(FIN, 3, "F1,2016,-110,11,9,210")},
     FIN, 3, "revenue", "negative_value"),
    ("negative employees", {FIN: replace_line(FIN, 4, "F1,2017,121,-5,-10,220")},
     FIN, 4, "employees", "negative_value"),
    ("negative assets", {FIN: replace_line(FIN, 5, "F1,2018,133.1,13,11,-230")},
     FIN, 5, "total_assets", "negative_value"),
    ("non-numeric revenue", {FIN: replace_line(FIN, 6, "F1,2019,lots,14,12,240")},
     FIN, 6, "revenue", "not_a_number"),
    ("fractional employees", {FIN: replace_line(FIN, 7, "F1,2020,161.051,16,13.5,250")},
     FIN, 7, "employees", "not_integer"),
    ("empty required value", {"firms": replace_line("firms", 3, "F2,retail,south,,3")},
     "firms", 3, "founded_year", "missing_value"),
    ("survey item out of range",
     {"surveys": replace_line("surveys", 3, "F1,2015-12-01,3,3,9,3,3,3,4,4,4,2,2,2")},
     "surveys", 3, "pl_3", "out_of_range"),
    ("sender is receiver",
     {"exchanges": replace_line("exchanges", 2,
                                "X1,2015-05-10,M1,F1,F1,sender,operations,3,loss,5.0,1")},
     "exchanges", 2, "sender_id", "sender_is_receiver"),
    ("framing outside set",
     {"exchanges": replace_line("exchanges", 2,
                                "X1,2015-05-10,M1,F1,F3,sender,operations,3,win,5.0,1")},
     "exchanges", 2, "framing", "not_in_set"),
    ("initiator outside set",
     {"exchanges": replace_line("exchanges", 4,
                                "X3,2018-03-01,M3,F3,F1,both,marketing,3,neutral,3.5,0")},
     "exchanges", 4, "initiator", "not_in_set"),
    ("behavior_change not 0/1",
     {"exchanges": replace_line("exchanges", 4,
                                "X3,2018-03-01,M3,F3,F1,sender,marketing,3,neutral,3.5,2")},
     "exchanges", 4, "behavior_change", "not_binary"),
    ("attended not 0/1",
     {"meeting_activity": replace_line("meeting_activity", 2, "M1,F1,2,1,2,1,3")},
     "meeting_activity", 2, "attended", "not_binary"),
    ("rank beyond ranked firms",
     {"meeting_activity": replace_line("meeting_activity", 2, "M1,F1,1,1,2,4,3")},
     "meeting_activity", 2, "benchmark_rank", "out_of_range"),
    ("ragged row", {"tasks": replace_line("tasks", 3, "F1,2,2016-01-01,10,2,extra")},
     "tasks", 3, "", "wrong_field_count"),
    ("empty firms", {"firms": "firm_id,industry,region,founded_year,employees_baseline\n"},
     "firms", None, "", "empty_table"),
]


def _problem(report, table, rule):
    found = report.problems[(report.problems["table"] == table)
                            & (report.problems["rule"] == rule)]
    assert len(found), f"no {rule} problem in {table}:\n{report.summary()}"
    return found.iloc[0]


@pytest.mark.parametrize("case,tables,table,line,column,rule", CASES, ids=[c[0] for c in CASES])
def test_broken_study(tmp_path, case, tables, table, line, column, rule):
    folder = write_study(tmp_path / "s", tables=tables)
    report = ipnstats.validate_study(folder)
    assert not report.ok
    problem = _problem(report, table, rule)
    assert problem["severity"] == "error"
    assert problem["file"] == f"{table}.csv"
    assert (pd.isna(problem["line"]) if line is None else problem["line"] == line)
    assert problem["column"] == column
    with pytest.raises(DataError) as info:
        ipnstats.load_study(folder)
    assert ((info.value.problems["rule"] == rule) & (info.value.problems["table"] == table)).any()
    assert isinstance(info.value, ValueError)


def test_missing_file_suggests_close_name(tmp_path):
    folder = write_study(tmp_path / "s", tables={FIN: None})
    (folder / "financial.csv").write_text(TABLES[FIN])
    report = ipnstats.validate_study(folder)
    problem = _problem(report, FIN, "missing_file")
    assert "financial.csv" in problem["problem"]
    with pytest.raises(DataError):
        ipnstats.load_study(folder)


def test_missing_column_suggests_close_name(tmp_path):
    folder = write_study(tmp_path / "s", tables={FIN: TABLES[FIN].replace("employees,",
                                                                            "employes,", 1)})
    assert "'employes'" in _problem(ipnstats.validate_study(folder), FIN,
                                    "missing_column")["problem"]


def test_optional_tables_may_be_absent(tmp_path):
    folder = write_study(tmp_path / "s", tables={"tasks": None, "exchanges": None,
                                                "surveys": None})
    study = ipnstats.load_study(folder)
    assert study.tasks is None and study.exchanges is None
    assert set(study.skipped) == {"tasks", "exchanges", "surveys"}
    assert len(study.firm_year) == 29


def test_missing_codebook_is_an_error(tmp_path):
    folder = write_study(tmp_path / "s", codebook=None)
    problem = _problem(ipnstats.validate_study(folder), "codebook", "missing_file")
    assert "codebook.toml" in problem["problem"]


def test_codebook_must_define_the_four_scales(tmp_path):
    from studies import CODEBOOK

    broken = CODEBOOK.replace("[scales.trust]", "[scales.trust_x]")
    folder = write_study(tmp_path / "s", codebook=broken)
    problem = _problem(ipnstats.validate_study(folder), "codebook", "missing_scale")
    assert problem["column"] == "trust"


def test_all_problems_reported_at_once(tmp_path):
    folder = write_study(tmp_path / "s", tables={
        FIN: replace_line(FIN, 3, "F1,2016,-110,11,9,210"),
        "firms": append_line("firms", "F1,it,north,2005,8"),
        "exchanges": replace_line("exchanges", 2,
                                  "X1,2015-05-10,M1,F1,F1,sender,operations,3,loss,5.0,1"),
    })
    report = ipnstats.validate_study(folder)
    assert set(report.problems["rule"]) >= {"negative_value", "duplicate_key",
                                            "sender_is_receiver"}
    assert report.n_errors == 3


def test_many_problems_are_capped_but_counted(tmp_path):
    rows = "".join(f"F1,{1900 + i},-1,0,1,1\n" for i in range(120))
    folder = write_study(tmp_path / "s", tables={FIN: TABLES[FIN] + rows})
    report = ipnstats.validate_study(folder)
    counted = report.counts.query("rule == 'negative_value'")["count"].sum()
    assert counted == 120
    assert (report.problems["rule"] == "negative_value").sum() == 50
    assert "more" in report.summary()


def test_warnings_do_not_stop_loading(tmp_path):
    folder = write_study(tmp_path / "s", tables={
        "memberships": replace_line("memberships", 4, "F2,G1,2009-07-01,2019-07-02")})
    report = ipnstats.validate_study(folder)
    assert report.ok and report.n_warnings == 1
    problem = _problem(report, "memberships", "join_before_founding")
    assert (problem["severity"], problem["line"], problem["column"]) == ("warning", 4,
                                                                           "join_date")
    ipnstats.load_study(folder)


def test_forgiving_forms_are_read(tmp_path):
    folder = write_study(tmp_path / "s", tables={
        FIN: replace_line(FIN, 2, 'F1,2015,"$1,234.50",(10),9,"1,200"'),
        "exchanges": replace_line("exchanges", 2,
                                  "X1,2015-05-10,M1,F1,F3, Sender ,operations,3, LOSS ,5.0,Yes"),
    })
    study = ipnstats.load_study(folder)
    row = study.firm_year.iloc[0]
    assert (row["revenue"], row["net_income"], row["total_assets"]) == (1234.5, -10.0, 1200.0)
    x1 = study.exchanges.iloc[0]
    assert (x1["initiator"], x1["framing"], x1["behavior_change"]) == ("sender", "loss", 1)


def test_line_numbers_follow_quoted_newlines(tmp_path):
    firms = ('firm_id,industry,region,founded_year,employees_baseline\n'
             'F1,"it\nservices",north,2005,8\nF2,retail,south,20x0,3\n'
             'F3,it,north,2000,20\nF4,retail,south,2012,5\nF5,it,south,2008,12\n')
    folder = write_study(tmp_path / "s", tables={"firms": firms})
    problem = _problem(ipnstats.validate_study(folder), "firms", "not_a_number")
    assert problem["line"] == 4


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    text = TABLES["firms"].replace("F2,retail", "\nF2,retail").replace(
        "F3,it,north,2000", "F3,it,north,20x0")
    folder = write_study(tmp_path / "s", tables={"firms": text})
    assert _problem(ipnstats.validate_study(folder), "firms", "not_a_number")["line"] == 5


def test_two_files_for_one_table(tmp_path):
    folder = write_study(tmp_path / "s")
    pd.read_csv(folder / "tasks.csv").to_parquet(folder / "tasks.parquet")
    assert _problem(ipnstats.validate_study(folder), "tasks", "ambiguous_file")["line"] is pd.NA


def test_drop_mode_drops_and_accounts(tmp_path):
    folder = write_study(tmp_path / "s", tables={
        FIN: replace_line(FIN, 3, "F1,2016,-110,11,9,210"),
        "exchanges": replace_line("exchanges", 2,
                                  "X1,2015-05-10,M1,F1,F1,sender,operations,3,loss,5.0,1")})
    study = ipnstats.load_study(folder, errors="drop")
    assert len(study.firm_year) == 28 and len(study.exchanges) == 2
    flow = study.sample_flow
    dropped = flow[flow["step"] == "validation"]
    assert set(dropped["reason"]) == {"broke rule negative_value", "broke rule sender_is_receiver"}


def test_drop_mode_cascades_to_children(tmp_path):
    folder = write_study(tmp_path / "s", tables={"firms": replace_line(
        "firms", 6, "F5,it,south,nineteen,12")})
    study = ipnstats.load_study(folder, errors="drop")
    assert "F5" not in set(study.firm_year["firm_id"].astype(str))
    cascade = study.sample_flow.query("reason == 'refers to a dropped row of another table'")
    assert cascade.set_index("table").loc["financials", "rows_in"] == 29
    assert cascade.set_index("table").loc["financials", "rows_out"] == 23


def test_drop_mode_still_raises_for_file_problems(tmp_path):
    folder = write_study(tmp_path / "s", tables={FIN: None})
    with pytest.raises(DataError):
        ipnstats.load_study(folder, errors="drop")


def test_validate_study_refuses_a_loaded_study_with_a_message(hand_study):
    study = ipnstats.load_study(hand_study)
    with pytest.raises(ipnstats.SpecificationError, match="study.validation"):
        ipnstats.validate_study(study)
    with pytest.raises(ipnstats.SpecificationError, match="not int"):
        ipnstats.validate_study(3)
    assert ipnstats.validate_study(hand_study).ok == study.validation.ok
