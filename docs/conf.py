"""Sphinx configuration of the ipnstats documentation site (``make docs``)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ipnstats  # noqa: E402

project = "ipnstats"
author = "the ipnstats authors"
copyright = "the ipnstats authors, MIT licence"
release = version = ipnstats.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]
exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
html_theme = "furo"
html_title = f"ipnstats {release}"

# Warnings are errors (-W): broken cross-references fail the build.
nitpicky = True
# Types named in docstrings that live outside ipnstats (no intersphinx: CI has no network).
nitpick_ignore_regex = [
    (r"py:.*", r"(pd|pandas|np|numpy|scipy|nx|networkx|matplotlib|plt)\..*"),
    (r"py:.*", r"(pathlib|os|typing|collections)\..*"),
    (r"py:class", r"(optional|default.*|array-like|array_like|callable|sequence|iterable|mapping)"),
]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3


# Notebooks run at build time; a failing cell fails the build.
nb_execution_mode = os.environ.get("IPNSTATS_DOCS_EXECUTE", "cache")
nb_execution_cache_path = os.environ.get("IPNSTATS_DOCS_CACHE",
                                         str(ROOT / "docs" / "_build" / ".jupyter_cache"))
nb_execution_timeout = 120
nb_execution_raise_on_error = True
# A cell that writes to stderr (a warning, a deprecation) fails the build too.
nb_output_stderr = "warn"
nb_execution_in_temp = False

autodoc_typehints = "none"
autosummary_generate = True
templates_path = ["_templates"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True

# Names the docstrings refer to that the API reference does not (yet) document: internal
# modules and the result classes the estimators return. Each is listed, so that any NEW
# broken reference still fails the build; document one and drop it from this list.
nitpick_ignore = [
    ('py:class', 'All notes'),
    ('py:class', 'BalanceTableResult'),
    ('py:class', 'BootstrapResult'),
    ('py:class', 'DiDResult'),
    ('py:class', 'EntropyBalanceResult'),
    ('py:class', 'EventStudyResult'),
    ('py:class', 'Figure'),
    ('py:class', 'FramingResult'),
    ('py:class', 'GEEResult'),
    ('py:class', 'HeterogeneityResult'),
    ('py:class', 'HonestDiDResult'),
    ('py:class', 'IVResult'),
    ('py:class', 'LearningCurveResult'),
    ('py:class', 'MediationResult'),
    ('py:class', 'MixedResult'),
    ('py:class', 'ModerationResult'),
    ('py:class', 'OsterResult'),
    ('py:class', 'PooledResult'),
    ('py:class', 'PowerResult'),
    ('py:class', 'PracticeResult'),
    ('py:class', 'ProcessResult'),
    ('py:class', 'PropensityWeightsResult'),
    ('py:class', 'QuestionPatternsResult'),
    ('py:class', 'RomanoWolfResult'),
    ('py:class', 'SenderEffectsResult'),
    ('py:class', 'SensitivityResult'),
    ('py:class', 'SpecificationCurveResult'),
    ('py:class', 'StageEffectsResult'),
    ('py:class', 'SunAbrahamResult'),
    ('py:class', 'TWFEResult'),
    ('py:class', 'TriangulationResult'),
    ('py:class', 'WildBootstrapResult'),
    ('py:class', 'estimator'),
    ('py:class', 'ipnstats.core.notes.Note'),
    ('py:class', 'ipnstats.data.mapping.TableMapping'),
    ('py:class', 'ipnstats.report.document.FigureBlock'),
    ('py:class', 'ipnstats.report.document.Heading'),
    ('py:class', 'ipnstats.report.document.PageBreak'),
    ('py:class', 'ipnstats.report.document.TableBlock'),
    ('py:class', 'ipnstats.report.document.Text'),
    ('py:class', 'ipnstats.results.Result'),
    ('py:class', 'ipnstats.results.notes.Note'),
    ('py:class', 'ipnstats.tables.style.JournalStyle'),
    ('py:class', 'n_units'),
    ('py:class', 'outcome'),
    ('py:class', 'seed'),
    ('py:data', 'MEASURES'),
    ('py:data', 'ROLES'),
    ('py:func', 'ipnstats.core.parallel.run_tasks'),
    ('py:func', 'ipnstats.data.dyads.task_frame'),
    ('py:func', 'ipnstats.estimators.balance.entropy_balance'),
    ('py:func', 'ipnstats.estimators.did.sunab.sun_abraham'),
    ('py:func', 'ipnstats.estimators.ipw.ipw_weights'),
    ('py:func', 'ipnstats.estimators.measurement.cfa'),
    ('py:func', 'ipnstats.estimators.mixed.mixed_model'),
    ('py:func', 'ipnstats.estimators.srm.social_relations'),
    ('py:func', 'ipnstats.figures.event_study_plot'),
    ('py:func', 'ipnstats.figures.speccurve_plot'),
    ('py:func', 'ipnstats.inference.pooling.pool'),
    ('py:func', 'ipnstats.simulate.staggered.staggered_panel'),
    ('py:func', 'ipnstats.tables.style.apply_style'),
    ('py:func', 'marker_correction_matrix'),
    ('py:func', 'parse_measurement_model'),
    ('py:func', 'sd_upper_m'),
    ('py:meth', 'FigureBlock.exports'),
    ('py:meth', 'analytic_power'),
    ('py:meth', 'ipnstats.pipeline.progress.Progress.count'),
    ('py:mod', 'ipnstats.core.parallel'),
    ('py:mod', 'ipnstats.estimators.srm_data'),
    ('py:mod', 'ipnstats.planning.designs'),
    ('py:mod', 'ipnstats.results.terms'),
    ('py:mod', 'ipnstats.results.vcov'),
]
