"""The command line: exit codes, messages instead of tracebacks, outputs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from studies import replace_line, write_study

from ipnstats.cli import main


def test_validate_ok_exits_0(hand_study, capsys):
    assert main(["validate", str(hand_study)]) == 0
    assert "OK: 0 error(s)" in capsys.readouterr().out


def test_validate_errors_exit_1_with_locations(tmp_path, capsys):
    folder = write_study(tmp_path / "s", tables={"financials": replace_line(
        "financials", 3, "F1,2016,-110,11,9,210")})
    csv = tmp_path / "problems.csv"
    assert main(["validate", str(folder), "--csv", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "NOT VALID" in out and "financials.csv, line 3, column revenue" in out
    assert pd.read_csv(csv)["rule"].tolist() == ["negative_value"]


def test_missing_folder_is_a_message_not_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ipnstats.cli", "validate",
                             str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "is not a folder" in result.stdout


def test_panel_on_broken_study_is_a_message(tmp_path, capsys):
    folder = write_study(tmp_path / "s", tables={"firms": None})
    assert main(["panel", str(folder), "--out", str(tmp_path / "p.csv")]) == 1
    assert "missing_file" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_panel_writes_the_firm_year_panel(hand_study, tmp_path, suffix):
    out = tmp_path / f"panel{suffix}"
    assert main(["panel", str(hand_study), "--out", str(out)]) == 0
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(frame) == 29 and "stage" in frame


def test_panel_rejects_other_suffixes(hand_study, tmp_path, capsys):
    assert main(["panel", str(hand_study), "--out", str(tmp_path / "p.xls")]) == 1
    assert ".parquet or .csv" in capsys.readouterr().err


def test_data_report_hides_firms_and_small_counts(hand_study, tmp_path):
    assert main(["data-report", str(hand_study), "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "data_report.txt").read_text()
    assert "Sample flow" in text and "Reliability" in text
    for firm in ("F1", "F2", "F3", "F4", "F5"):
        assert firm not in text
    assert "<3" in text  # cohorts of fewer than 3 firms are suppressed
    assert (tmp_path / "r" / "sample_flow.csv").exists()


@pytest.mark.parametrize("command", ["validate", "simulate", "panel", "data-report"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: ipnstats" in capsys.readouterr().out


def test_data_report_redacts_ids_in_problems():
    from ipnstats.report.data_report import redact_problems

    problems = pd.DataFrame({"column": ["firm_id", "revenue", "firm_id+year"],
                             "rule": ["unknown_id", "negative_value", "duplicate_key"],
                             "value": ["F9", "-1", "F1 / 2015"]})
    assert redact_problems(problems)["value"].tolist() == ["<id>", "-1", "<id>"]


def test_simulate_command_writes_a_valid_study(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(out), "--seed", "3", "--firms", "120", "--groups", "8"]) == 0
    assert (out / "truth.toml").exists()
    assert main(["validate", str(out)]) == 0


def test_report_writes_pdf_and_html(tmp_path, capsys, hand_study):
    assert main(["report", str(hand_study), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "ipn_report.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "out" / "ipn_report.html").exists()
    assert "ipn_report.pdf" in capsys.readouterr().out
