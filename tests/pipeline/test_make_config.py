"""``make report CONFIG=...`` follows the configuration: its study (a folder or a database),
its output folder and the inputs of each stage (ipnstats/pipeline/makevars.py).

The first test runs the real make and the real ipnstats on a small study of its own; the
database test runs the real make with a stand-in for the fitting commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT

from ipnstats.cli import main
from ipnstats.pipeline import load_config
from ipnstats.pipeline.makevars import make_include, make_path

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

# the fewest draws and specifications the stages accept: the graph is under test here
SMALL = """
[run]
hypotheses = ["H1"]
n_boot = 19
progress = "never"

[H1]
mediation_draws = 50

[robustness]
outcomes = ["log_revenue"]
estimators = ["twfe"]
samples = ["all"]
clusters = ["firm"]
wild_draws = 99
n_jobs = 1
covariate_sets = { none = [] }
"""

# ipnstats as make calls it: the real command line of this checkout
REAL = """#!{python}
import subprocess, sys
sys.exit(subprocess.call([{python!r}, "-P", "-m", "ipnstats.cli", *sys.argv[1:]]))
"""

# a stand-in that records the fitting and rendering calls; the make files are real
FAKE = """#!{python}
import pathlib, subprocess, sys
args = sys.argv[1:]
if "--split-config" in args or "--split-inputs" in args:
    sys.exit(subprocess.call([{python!r}, "-P", "-m", "ipnstats.cli", *args]))
with open("calls.log", "a") as log:
    log.write(" ".join(args) + "\\n")
if "--stage" in args:
    out = pathlib.Path("out/results") / (args[args.index("--stage") + 1] + ".json")
else:
    out = pathlib.Path("out") / ("ipn_report.pdf" if args[0] == "report" else "data_report.txt")
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text("made")
"""


def project(tmp_path: Path, ipnstats: str) -> dict:
    """A copy of the Makefile in ``tmp_path`` whose .venv/bin/ipnstats is ``ipnstats``
    (set up: make installs nothing); returns the environment to run make in."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "ipnstats").write_text(ipnstats.format(python=sys.executable))
    (bin_ / "ipnstats").chmod(0o755)
    os.utime(tmp_path / "pyproject.toml", (0, 0))
    (tmp_path / ".venv" / ".installed-run").write_text("")
    return {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1700000000"}


def make(tmp_path: Path, env: dict, *args: str, ok: bool = True) -> str:
    done = subprocess.run(["make", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done.stdout + done.stderr


def stages_run(output: str) -> list[str]:
    """The ipnstats commands make ran (or, with -n, would run), but the make files."""
    return sorted(m.group(2) or m.group(1) for m in re.finditer(
        r"ipnstats (report|data-report|run \S+ --stage (\w+))", output))


def edit_cell(path: Path, column: str, value: str) -> None:
    """Set ``column`` of the first row of a CSV file to ``value``, in place."""
    lines = path.read_text().splitlines()
    cells = lines[1].split(",")
    cells[lines[0].split(",").index(column)] = value
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def own_config(folder: Path, study: str, head: str = "") -> Path:
    (folder / "analyses").mkdir(parents=True, exist_ok=True)
    path = folder / "analyses" / "own.toml"
    path.write_text(f'[study]\nfolder = "{study}"\n{head}title = "Own study"\n\n'
                    f'[output]\ndir = "../out"\n' + SMALL)
    return path


def test_make_report_follows_a_configuration_of_ones_own(tmp_path):
    """Real make, real ipnstats: a small study in another folder is the one reported, and
    an edit of its financials redoes H1 and what depends on it, nothing else."""
    env = project(tmp_path, REAL)
    study = tmp_path / "own_study"
    assert main(["simulate", str(study), "--firms", "60", "--groups", "6", "--seed", "3"]) == 0
    own_config(tmp_path, "../own_study")
    config = "CONFIG=analyses/own.toml"
    first = make(tmp_path, env, "report", config)
    assert stages_run(first) == ["data", "data-report", "h1", "models", "report", "robustness"]
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "results").glob("*.json")) == [
        "data.json", "h1.json", "models.json", "robustness.json"]
    assert (out / "ipn_report.pdf").stat().st_size > 0
    assert "Read from the folder own_study" in (out / "data_report.txt").read_text()
    assert not (tmp_path / "reports").exists()  # nothing of the example's
    assert "Nothing to be done for 'report'" in make(tmp_path, env, "report", config)

    edit_cell(study / "tasks.csv", "outcome", "15.5")  # read by the data stage only (no H3)
    assert stages_run(make(tmp_path, env, "-n", "report", config)) == [
        "data", "data-report", "report"]

    h1 = out / "results" / "h1.json"
    before = json.loads(h1.read_text())["fingerprint"]["inputs"]["financials.csv"]
    edit_cell(study / "financials.csv", "total_assets", "1234567")
    assert stages_run(make(tmp_path, env, "-n", "report", config)) == [
        "data", "data-report", "h1", "models", "report", "robustness"]
    assert stages_run(make(tmp_path, env, "out/results/h1.json", config)) == ["h1"]
    assert json.loads(h1.read_text())["fingerprint"]["inputs"]["financials.csv"] != before
    assert stages_run(make(tmp_path, env, "-n", "report", config)) == [
        "data", "data-report", "models", "report", "robustness"]


def _sqlite_study(path: Path) -> str:
    import adbc_driver_sqlite.dbapi as sqlite
    import pyarrow.csv as pv

    with sqlite.connect(str(path)) as conn, conn.cursor() as cur:
        for name in ("firms", "memberships", "financials", "meetings", "meeting_activity",
                     "surveys", "exchanges", "tasks"):
            cur.adbc_ingest(name, pv.read_csv(EXAMPLE / f"{name}.csv").slice(0, 100))
        conn.commit()
    return f"sqlite:///{path}"


def test_make_with_a_database_redoes_the_stages_whose_tables_changed(tmp_path):
    """A database has no file times: every make re-reads its digests, and only the stages
    whose tables changed are redone."""
    import adbc_driver_sqlite.dbapi as sqlite

    env = project(tmp_path, FAKE)
    url = _sqlite_study(tmp_path / "study.db")
    shutil.copy(EXAMPLE / "codebook.toml", tmp_path / "codebook.toml")
    path = own_config(tmp_path, url, 'codebook = "../codebook.toml"\n')
    path.write_text(path.read_text().replace('hypotheses = ["H1"]', 'hypotheses = ["H1", "H2", '
                                                                    '"H3"]'))
    assert "SOURCE := database" in make_include(load_config(path), tmp_path)
    log = tmp_path / "calls.log"

    def calls() -> list[str]:
        log.write_text("")
        make(tmp_path, env, "report", "CONFIG=analyses/own.toml")
        return sorted(c.split()[-1] if "--stage" in c else c.split()[0]
                      for c in log.read_text().splitlines())

    assert calls() == ["data", "data-report", "h1", "h2", "h3", "models", "network",
                       "report", "robustness"]
    assert calls() == []  # the tables' digests were read again: unchanged
    with sqlite.connect(str(tmp_path / "study.db")) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM tasks WHERE rowid = 1")
        conn.commit()
    assert calls() == ["data", "data-report", "h3", "report"]
    assert calls() == []
    make(tmp_path, env, "clean", "CONFIG=analyses/own.toml")  # what make wrote, and no more
    assert not (tmp_path / "out").exists() and not (tmp_path / "analyses" / ".build").exists()
    assert (tmp_path / "study.db").exists() and (tmp_path / "analyses" / "own.toml").exists()


def test_paths_make_cannot_handle_are_refused_with_a_message(tmp_path, capsys):
    env = project(tmp_path, FAKE)
    spaced = tmp_path / "my study.toml"
    spaced.write_text('[study]\nfolder = "data"\n')
    said = make(tmp_path, env, "report", f"CONFIG={spaced.name}", ok=False)
    assert "make cannot handle a path with a space" in said and "ipnstats run CONFIG" in said
    path = own_config(tmp_path, "../my data")  # a study folder with a space
    assert main(["run", str(path), "--split-config", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "make cannot handle the path" in err and "my data" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()  # nothing written
    said = make(tmp_path, env, "report", "CONFIG=analyses/missing.toml", ok=False)
    assert "CONFIG=analyses/missing.toml: no such configuration file" in said
    assert make_path(tmp_path / "a" / "b.csv", tmp_path) == "a/b.csv"


def test_a_build_folder_moved_with_its_project_is_rewritten(tmp_path):
    """make's build folder records the folder and configuration it was written for
    (``MADE_FOR``): a project moved together with its build folder and its study (kept
    outside the project, so make holds absolute paths) has it rewritten, where the stale
    paths would fail with "No rule to make target"."""
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "proj").mkdir(parents=True)
    shutil.copytree(EXAMPLE, old / "data")
    env = project(old / "proj", FAKE)
    own_config(old / "proj", "../../data")
    config = "CONFIG=analyses/own.toml"
    make(old / "proj", env, "report", config)
    mk = old / "proj" / "analyses" / ".build" / "own.toml" / "study.mk"
    assert f"MADE_FOR := {old / 'proj'}|{old / 'proj' / 'analyses' / 'own.toml'}" in \
        mk.read_text()
    assert f"{old / 'data'}/firms.csv" in mk.read_text()  # outside the project: absolute
    shutil.move(old, new)
    said = make(new / "proj", env, "report", config)
    assert "No rule to make target" not in said
    text = (new / "proj" / "analyses" / ".build" / "own.toml" / "study.mk").read_text()
    assert str(old) not in text and f"{new / 'data'}/firms.csv" in text
