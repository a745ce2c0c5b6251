"""tests/conftest.py's run options: no skips in CI, and where the reference data are."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

CASES = '''
import pytest

mod = pytest.importorskip("{module}")


def test_reads_reference(reference_data):
    assert (reference_data / "case.csv").read_text() == "x\\n1\\n"


def test_also_reads_reference(reference_data):
    assert reference_data.is_dir()


def test_skips():
    pytest.skip("no tool here")
'''


def run(tmp_path, *args, env=None, module="json"):
    """pytest on a copy of tests/conftest.py and the cases above, in a fresh process."""
    tests = tmp_path / "tests"
    tests.mkdir(exist_ok=True)
    shutil.copy(ROOT / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "test_cases.py").write_text(CASES.format(module=module))
    environ = {k: v for k, v in os.environ.items()
               if k not in ("IPNSTATS_NO_SKIPS", "IPNSTATS_REFERENCE_DATA")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-ra", str(tests), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120,
                          env={**environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})})
    return proc.returncode, proc.stdout


@pytest.fixture
def reference(tmp_path):
    folder = tmp_path / "elsewhere" / "data"
    folder.mkdir(parents=True)
    (folder / "case.csv").write_text("x\n1\n")
    return folder


def test_missing_reference_data_is_one_line_and_the_default_path(tmp_path):
    code, out = run(tmp_path)
    assert code == 0
    default = (tmp_path.parent / "shared" / "reference" / "data").resolve()
    line = (f"reference data not found at {default}: 2 tests skipped; "
            "set IPNSTATS_REFERENCE_DATA=PATH (or --reference-data=PATH)")
    assert line in out.splitlines()
    assert sum("reference data not found" in ln for ln in out.splitlines()) == 2  # + -ra's
    assert "SKIPPED [2] " in out and "1 passed" not in out


def test_reference_data_from_the_option(tmp_path, reference):
    code, out = run(tmp_path, f"--reference-data={reference}")
    assert code == 0 and "2 passed, 1 skipped" in out, out
    assert "reference data not found" not in out


def test_reference_data_from_the_environment_and_a_skip_fails_a_run_that_allows_none(
        tmp_path, reference):
    code, out = run(tmp_path, env={"IPNSTATS_REFERENCE_DATA": str(reference),
                                   "IPNSTATS_NO_SKIPS": "1"})
    assert code == 1 and "1 failed, 2 passed" in out, out
    assert "skipped in a run that allows no skips" in out and "no tool here" in out


def test_missing_reference_data_or_module_fails_a_run_that_allows_no_skips(tmp_path):
    code, out = run(tmp_path, "--no-skips")
    assert code == 1 and "1 failed, 2 errors" in out, out
    assert "skipped in a run that allows no skips" in out and "reference data not found" in out
    code, out = run(tmp_path, "--no-skips", module="no_such_module_for_ipnstats")
    assert code != 0 and "no_such_module_for_ipnstats" in out
    assert "skipped in a run that allows no skips" in out
