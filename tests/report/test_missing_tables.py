"""A study without one or more of its optional tables (meetings, meeting_activity,
surveys, exchanges, tasks): every claim that needs a missing table is "Not testable"
with the table named, in the verdict table, in its section and in the falsification
checks, and ``ipnstats report`` still exits 0 and writes the PDF (issue 17)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

import ipnstats
import ipnstats.pipeline.config as config
from ipnstats.cli import main
from ipnstats.ipn.claims import NEEDS, claims_to_json, no_table, untestable, untestable_text
from ipnstats.ipn.h2 import fit_h2
from ipnstats.ipn.h3 import fit_h3
from ipnstats.pipeline.assemble import write_report
from ipnstats.pipeline.runner import run
from ipnstats.pipeline.stages import stage
from ipnstats.pipeline.store import dumps
from ipnstats.report import Report
from ipnstats.report.data_report import write_data_report
from ipnstats.report.data_section import render_data
from ipnstats.report.h1_section import render_h1

NOT_TESTABLE = "Not testable with these data"
OPTIONAL = ("meetings", "meeting_activity", "surveys", "exchanges", "tasks")
# few draws and a small specification curve: these tests are about missing tables
LIGHT = {"run": {"n_boot": 49, "progress": "never"}, "H1": {"mediation_draws": 99},
         "H2": {"process_draws": 49},
         "robustness": {"outcomes": ["log_revenue"], "estimators": ["twfe", "cs_notyet"],
                        "samples": ["all"], "clusters": ["firm"],
                        "covariate_sets": {"none": []}, "wild_draws": 99, "n_jobs": 1}}


DEFAULT_CONFIG = config.default_config


def light_config(folder, out, **options) -> config.StudyConfig:
    """The default configuration of a study folder, with :data:`LIGHT`'s settings."""
    cfg = DEFAULT_CONFIG(folder, out, **options)
    return dataclasses.replace(cfg, sections=MappingProxyType({
        name: MappingProxyType({**section, **LIGHT.get(name, {})})
        for name, section in cfg.sections.items()}))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A small simulated study with all eight tables."""
    return ipnstats.simulate_study(tmp_path_factory.mktemp("full") / "study", n_firms=120,
                                   n_groups=6, seed=1)


def without(simulated: Path, folder: Path, *tables: str) -> Path:
    """A copy of the simulated study without ``tables``."""
    shutil.copytree(simulated, folder)
    for table in tables:
        (folder / f"{table}.csv").unlink()
    return folder


def build(folder: Path, out: Path, *names: str) -> dict:
    """The outputs of the stages ``names`` on the study in ``folder``, by stage name."""
    study = ipnstats.load_study(folder)
    cfg = light_config(folder, out)
    return {name: stage(name).build(study, cfg, lambda *_: None) for name in names}


def claims_of(outputs: dict) -> dict:
    return {c.code: c for out in outputs.values() for c in out.claims}


def checks_of(outputs: dict) -> dict:
    return {c.code + ": " + c.what: c for out in outputs.values() for c in out.checks}


def texts(report) -> list[str]:
    return [b.text for b in report.blocks if type(b).__name__ == "Text"]


def rendered(output, render) -> Report:
    """The section of a stage output, rendered from its document as stored in JSON."""
    doc = {"findings": output.findings, "claims": claims_to_json(list(output.claims)),
           "checks": claims_to_json(list(output.checks))}
    return render(Report(""), json.loads(dumps(doc)))


# -- the case: no exchanges and no tasks, through the command line ------------------

def test_report_without_exchanges_and_tasks(simulated, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(config, "default_config", light_config)  # what `report FOLDER` uses
    folder = without(simulated, tmp_path / "study", "exchanges", "tasks")
    out = tmp_path / "reports"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert (out / "ipn_report.pdf").read_bytes().startswith(b"%PDF")

    stored = {s: json.loads((out / "results" / f"{s}.json").read_text())
              for s in ("h1", "h2", "h3")}
    reasons = {"H2a": "exchanges", "H2b": "exchanges", "H2c": "exchanges",
               "H2d": "exchanges", "H3a": "exchanges", "H3b": "tasks", "H3c": "tasks"}
    claims = {c["code"]: c for s in stored.values() for c in s["claims"]}
    assert set(claims) == {f"H1{x}" for x in "abcdef"} | set(reasons)
    for code, table in reasons.items():
        assert claims[code]["verdict"] == NOT_TESTABLE
        assert claims[code]["evidence"] == f"the study has no {table} table"
        assert claims[code]["p_value"] is None or np.isnan(claims[code]["p_value"])
    # H1 needs neither table: its claims are tested as usual
    assert all(claims[f"H1{x}"]["verdict"] != NOT_TESTABLE for x in "abcdef")
    # falsification checks of H2 and H3: listed, not testable, with the reason
    checks = [c for s in ("h2", "h3") for c in stored[s]["checks"]]
    assert {c["code"] for c in checks} == {"H2a", "H2c", "H2d", "H3a", "H3b", "H3c"}
    assert all(c["verdict"] == "Not testable" and "the study has no" in c["evidence"]
               for c in checks)
    assert {c["verdict"] for c in stored["h1"]["checks"]} <= {"No effect", "Effect found",
                                                             "Inconclusive"}

    # the verdict table (as rendered) and each section say it with the reason
    verdicts = (out / "tables" / "verdicts.md").read_text()
    for code, table in reasons.items():
        row = next(line for line in verdicts.splitlines() if line.startswith(f"| {code} "))
        assert f"the study has no {table} table" in row and NOT_TESTABLE in row
    html = (out / "ipn_report.html").read_text()
    # H2a-d, H3a and the network section (once for its three exchange parts)
    assert html.count(f"{NOT_TESTABLE}: the study has no exchanges table.") == 6
    assert html.count(f"{NOT_TESTABLE}: the study has no tasks table.") == 2  # H3b, H3c
    assert "H2a, H2b, H2c, H2d, H3a, H3b, H3c (no exchanges table); H3b, H3c (no tasks " \
           "table)" in html  # the data appendix says which claims the missing tables rule out


# -- the other optional tables, stage by stage --------------------------------------------

def test_without_surveys(simulated, tmp_path):
    # tasks are removed too: with exchanges and tasks but no surveys, load_study itself
    # fails (data/dyads.py _count_before on no risk-averse sender; see issue 17)
    folder = without(simulated, tmp_path / "study", "surveys", "tasks")
    outputs = build(folder, tmp_path / "out", "h1", "h2", "h3", "data")
    claims, checks = claims_of(outputs), checks_of(outputs)
    for code, what in (("H1c", "perceived learning"), ("H2c", "the receivers' loss aversion"),
                       ("H3a", "the senders' risk aversion")):
        assert claims[code].verdict == NOT_TESTABLE
        assert claims[code].evidence == f"the study has no surveys table ({what})"
    for code in ("H1a", "H1d", "H2a", "H2b", "H2d"):  # these need no survey
        assert claims[code].verdict != NOT_TESTABLE, claims[code]
    assert checks["H2c: Loss aversion does not matter under gain framing"].verdict == \
        "Not testable"
    assert checks["H2a: Neutral framing teaches the same as gain framing"].verdict != \
        "Not testable"
    assert any("The study has no surveys." in t
               for t in texts(rendered(outputs["data"], render_data)))


@pytest.mark.parametrize("table", ["meeting_activity", "meetings"])
def test_without_meeting_tables(simulated, tmp_path, table):
    folder = without(simulated, tmp_path / "study", table)
    outputs = build(folder, tmp_path / "out", "h1", "h3")
    claims = claims_of(outputs)
    for code in ("H1d", "H1f", "H3a"):  # practices, benchmark ranks, senders' status
        assert claims[code].verdict == NOT_TESTABLE
        assert claims[code].evidence.startswith(f"the study has no {table} table (")
    for code in ("H1a", "H1c", "H3b", "H3c"):
        assert claims[code].verdict != NOT_TESTABLE, claims[code]
    section = texts(rendered(outputs["h1"], render_h1))
    assert f"{NOT_TESTABLE}: {claims['H1d'].evidence}." in section


def test_tasks_without_exchanges(simulated, tmp_path):
    """Exposure to risk-averse senders comes from the exchanges: without them H3b has no
    moderator, and H3c (its experience slope is the one at no exposure) is not testable
    either; the falsification checks say the same."""
    folder = without(simulated, tmp_path / "study", "exchanges")
    outputs = build(folder, tmp_path / "out", "h3")
    claims = claims_of(outputs)
    assert claims["H3a"].evidence == "the study has no exchanges table"
    assert claims["H3b"].evidence == ("the study has no exchanges table (the exposure to "
                                      "risk-averse senders)")
    assert claims["H3c"].evidence.startswith("the study has no exchanges table (the exposure")
    assert {c.verdict for c in outputs["h3"].checks} == {"Not testable"}
    assert outputs["h3"].results["triangulation"].reason == claims["H3c"].evidence


def test_without_any_optional_table(simulated, tmp_path, capsys):
    folder = without(simulated, tmp_path / "study", *OPTIONAL)
    study = ipnstats.load_study(folder)
    assert set(study.skipped) == set(OPTIONAL)
    assert study.exchanges is None and study.tasks is None
    outputs = build(folder, tmp_path / "out", "h2", "h3", "data", "models")
    assert {c.verdict for c in claims_of(outputs).values()} == {NOT_TESTABLE}
    assert outputs["h2"].results and outputs["h3"].results  # stored, as Unavailable
    data = rendered(outputs["data"], render_data)
    assert any("Claims that are not testable for lack of data: H1d, H1f, H3a (no "
               "meetings table)" in t for t in texts(data))
    notes = [n for b in data.blocks if type(b).__name__ == "TableBlock"
             for n in b.table.notes]
    assert any("The study has no surveys table" in n for n in notes)  # the measurement table
    # the study report, through ipnstats run and ipnstats report, too
    cfg = light_config(folder, tmp_path / "reports")
    run(cfg)
    write_report(cfg)
    source = (tmp_path / "reports" / "ipn_report.html").read_text(encoding="utf-8")
    assert f"{NOT_TESTABLE}: the study has no exchanges table." in source
    assert f"{NOT_TESTABLE}: the study has no surveys table (perceived learning)." in source
    # the data report (ipnstats data-report) too
    assert main(["data-report", str(folder), "--out", str(tmp_path / "dr")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    text = (tmp_path / "dr" / "data_report.txt").read_text()
    assert "Claims not testable for lack of data: H1d, H1f, H3a (no meetings table)" in text
    assert "H3b, H3c (no tasks table)" in text and "no surveys" in text
    assert write_data_report(study, tmp_path / "dr2")


# -- the pieces --------------------------------------------------------------------------

def test_fits_take_missing_frames():
    h2 = fit_h2(None, threshold=3)
    assert {h2.framing.reason, h2.behavior.reason, h2.loss_aversion.reason,
            h2.process.reason, h2.questions.reason} == {"the study has no exchanges table"}
    h3 = fit_h3(None, None, threshold=3)
    assert h3.senders.reason == "the study has no exchanges table"
    assert h3.curve.reason == h3.triangulation.reason == "the study has no tasks table"


def test_needs_name_the_first_missing_table():
    assert no_table("H1a", OPTIONAL) is None  # H1a needs only the required tables
    assert no_table("H3b", ("surveys",)).reason == ("the study has no surveys table (the "
                                                    "senders' risk aversion, for the exposure)")
    assert untestable(()) == {} and untestable_text(()) == ""
    assert set(untestable(OPTIONAL)) == set(NEEDS)
    assert untestable_text(("tasks",)) == "H3b, H3c (no tasks table)"
