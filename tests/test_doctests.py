"""The examples in ipnstats' docstrings run and print what they say (doctest, in CI too)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib.pyplot as plt
import pytest

import ipnstats

FLAGS = doctest.ELLIPSIS  # as pytest's --doctest-modules


def _docstrings() -> list[doctest.DocTest]:
    """Every docstring with examples in ipnstats (``__main__`` would run the CLI)."""
    names = [ipnstats.__name__] + [m.name for m in pkgutil.walk_packages(
        ipnstats.__path__, prefix=f"{ipnstats.__name__}.") if not m.name.endswith("__main__")]
    finder = doctest.DocTestFinder()
    found = []
    for name in sorted(names):
        found += [t for t in finder.find(importlib.import_module(name), name) if t.examples]
    return found


def _runs(test: doctest.DocTest) -> bool:
    return not all(ex.options.get(doctest.SKIP, False) for ex in test.examples)


DOCSTRINGS = _docstrings()
RUNNABLE = [t for t in DOCSTRINGS if _runs(t)]

# Docstrings whose every example is marked ``+SKIP`` (they need the example study or a
# database): they document but are not checked. A new one fails below until it is listed.
NOT_RUN = {
    "ipnstats.estimators.did.estimate.twfe_did",
    "ipnstats.estimators.did.event_study.event_study",
    "ipnstats.figures.results.event_study_plot",
    "ipnstats.figures.results.learning_plot",
    "ipnstats.figures.results.moderation_jn_plot",
    "ipnstats.figures.results.moderation_plot",
    "ipnstats.figures.results.speccurve_plot",
    "ipnstats.data.database.list_tables",
    "ipnstats.data.database.read_tables",
    "ipnstats.data.study.load_study",
    "ipnstats.data.study.validate_study",
    "ipnstats.estimators.did.bacon.bacon_decomposition",
    "ipnstats.estimators.did.bacon.bacon_summary",
    "ipnstats.estimators.did.estimate.participation_effect",
    "ipnstats.estimators.did.sunab.SunAbrahamResult.with_vcov",
    "ipnstats.estimators.did.sunab.sun_abraham",
    "ipnstats.estimators.speccurve.SpecificationCurveResult.select",
    "ipnstats.estimators.speccurve.specification_curve",
    "ipnstats.ipn.hazard.exit_hazard",
    "ipnstats.ipn.practices.heterogeneity",
    "ipnstats.ipn.practices.practice_effects",
    "ipnstats.results.result.Result.with_vcov",
    "ipnstats.tables.descriptives.descriptives_table",
    "ipnstats.tables.frame.frame_table",
    "ipnstats.tables.regression.regression_table",
}


@pytest.mark.parametrize("test", RUNNABLE, ids=[t.name for t in RUNNABLE])
def test_docstring_examples(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    try:
        runner.run(test, out=report.append)
    finally:
        plt.close("all")
    assert runner.failures == 0, "".join(report)
    assert runner.tries > 0


def test_every_docstring_example_runs_or_is_known():
    assert {t.name for t in DOCSTRINGS if not _runs(t)} == NOT_RUN
