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
    (r"py:class", r"Path"),
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
# ... and the build log shows the cell's traceback
nb_execution_show_tb = True
# A cell that writes to stderr (a warning, a deprecation) fails the build too.
nb_output_stderr = "warn"
# Markdown a cell displays (the generated reference tables) is read as MyST: tables work
nb_render_markdown_format = "myst"
# The notebooks import the ipnstats of this tree, whatever the environment has installed
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                         os.environ.get("PYTHONPATH")]))
nb_execution_in_temp = False

autodoc_typehints = "none"
autosummary_generate = True
templates_path = ["_templates"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True
# "Attributes" sections list several names on one line ("treatment, covariates"): shown as
# written, not read as typed fields
napoleon_custom_sections = ["Attributes"]

# Names the docstrings refer to that the site does not document: each is listed, so that
# any NEW broken reference still fails the build.
nitpick_ignore = [
    ("py:class", "All notes"),  # a phrase napoleon reads as a type
    ("py:class", "Figure"),  # matplotlib's, as the figure functions return it
    ("py:class", "OsterMoments"),
    ("py:class", "SpecEstimate"),
    ("py:class", "DataFrame"),  # pandas', as napoleon reads a Returns section
    ("py:data", "COND_LIMIT"),
    ("py:data", "MEASURES"),
    ("py:data", "NOTE_CODES"),
    ("py:data", "ROLES"),
    ("py:data", "RUBIN_COLUMNS"),
    ("py:func", "ipnstats.core.parallel.run_tasks"),
    ("py:func", "ipnstats.data.dyads.task_frame"),
    ("py:func", "ipnstats.estimators.iv_diagnostics.anderson_rubin_set"),
    ("py:func", "ipnstats.estimators.iv_diagnostics.anderson_rubin_test"),
    ("py:func", "ipnstats.estimators.iv_diagnostics.first_stage_table"),
    ("py:func", "ipnstats.simulate.staggered.staggered_panel"),
    ("py:func", "marker_correction_matrix"),
    ("py:func", "parse_measurement_model"),
    ("py:func", "sd_upper_m"),
    ("py:meth", "ipnstats.pipeline.progress.Progress.count"),
    ("py:mod", "ipnstats.core.parallel"),
    ("py:mod", "ipnstats.estimators.srm_data"),
    ("py:mod", "ipnstats.planning.designs"),
    ("py:mod", "ipnstats.results.terms"),
    ("py:mod", "ipnstats.results.vcov"),
]

# A docstring names a class as its readers know it (``DiDResult``, ``ipnstats.results.Result``):
# such a name links to the one documented object of that name (and kind), when there is one.
_KINDS = {"class": ("class", "exception"), "exc": ("exception", "class"), "func": ("function",),
          "meth": ("method",), "mod": ("module",), "data": ("data", "attribute"),
          "attr": ("attribute", "data")}


def _resolve_short_names(app, env, node, contnode):
    from sphinx.util.nodes import make_refnode

    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module, _, name = target.rpartition(".")
    kinds = _KINDS.get(node.get("reftype"))
    objects = env.get_domain("py").objects
    found = [full for full, obj in objects.items() if full.rpartition(".")[2] == name
             and (kinds is None or obj.objtype in kinds) and not obj.aliased]
    if module and len(found) > 1:
        found = [full for full in found if full.startswith(module + ".")]
    if len(found) != 1:
        return None
    obj = objects[found[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode,
                        found[0])


def setup(app):
    app.connect("missing-reference", _resolve_short_names)
