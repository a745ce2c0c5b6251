"""The curated top-level API (``__all__``, ``__dir__``) and the short displays of results
and studies (``__repr__``, ``_repr_html_``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.results import Result
from ipnstats.results.display import MAX_HTML_ROWS, TidyDisplay, glance_line, html_block
from ipnstats.simulate.staggered import staggered_panel

# --- the top level ------------------------------------------------------------------------

def test_every_name_in_all_resolves_and_is_unique():
    assert len(ipnstats.__all__) == len(set(ipnstats.__all__))
    for name in ipnstats.__all__:
        assert getattr(ipnstats, name) is not None, name


def test_dir_offers_every_public_name_lazy_ones_included():
    shown = dir(ipnstats)
    assert set(ipnstats.__all__) <= set(shown)
    assert {"event_study", "mediation", "Report", "adjust_pvalues", "__version__"} <= set(shown)
    assert shown == sorted(shown)


def test_every_lazy_name_is_public():
    assert set(ipnstats._LAZY) <= set(ipnstats.__all__)


def test_all_is_grouped_estimators_first_errors_last():
    names = ipnstats.__all__
    assert names.index("panel_regression") < names.index("Cluster") < names.index("Result") \
        < names.index("Study") < names.index("power") < names.index("IpnstatsError")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = ipnstats.nope


# --- results ------------------------------------------------------------------------------

class _Html(HTMLParser):
    """Collects the tags of an HTML block; fails on an unclosed table."""

    def __init__(self):
        super().__init__()
        self.tags, self.open = [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.open += tag == "table"

    def handle_endtag(self, tag):
        self.open -= tag == "table"


def _parsed(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    assert parser.open == 0
    return parser


def _result_classes():
    """Every class of the package with a ``tidy()`` method (results), by module."""
    found = {}
    for info in pkgutil.walk_packages(ipnstats.__path__, "ipnstats."):
        if info.name.startswith(("ipnstats.report", "ipnstats.pipeline", "ipnstats.cli",
                                 "ipnstats.__main__")):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and callable(getattr(cls, "tidy", None)):
                found[cls.__qualname__] = cls
    return found


# small value records with a short dataclass repr, or their own
OWN_REPR = {"WaldTest", "StoredModel"}


def test_every_result_class_has_the_short_repr():
    classes = _result_classes()
    assert {"Result", "DiDResult", "EventStudyResult", "MediationResult", "ModerationResult",
            "ProcessResult", "WildBootstrapResult", "PowerResult"} <= set(classes)
    for name, cls in classes.items():
        if name in OWN_REPR:
            continue
        assert cls.__repr__ in (Result.__repr__, TidyDisplay.__repr__), name
        assert callable(getattr(cls, "_repr_html_", None)), name
        assert callable(getattr(cls, "has_note", None)), name


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    firm = np.repeat(np.arange(40), 5)
    x = rng.normal(size=firm.size)
    return pd.DataFrame({"firm_id": firm, "year": np.tile(np.arange(5), 40),
                         "group_id": firm % 8, "x": x, "y": x + rng.normal(size=firm.size)})


def test_result_repr_is_one_short_line_and_html_shows_tidy_glance_and_notes():
    res = ipnstats.panel_regression(_panel(), "y ~ x", unit="firm_id", time="year",
                                    vcov=ipnstats.Cluster("group_id"))
    text = repr(res)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<Result within") and "nobs=200" in text and "1 note(s)" in text
    html = res._repr_html_()
    tags = _parsed(html).tags
    assert tags.count("table") == 1 and "li" in tags  # tidy() and the note
    assert "nobs=200" in html and "n_clusters=8" in html and ">x<" in html
    assert "Only 8 clusters" in html


def test_did_event_study_and_sunab_results_have_short_reprs():
    panel = staggered_panel(n_firms=120, seed=1)
    cs = ipnstats.participation_effect(panel, outcome="y", n_boot=0)
    sa = ipnstats.participation_effect(panel, outcome="y", estimator="sunab")
    ev = ipnstats.event_study(panel, outcome="y", window=(-2, 2), n_boot=0)
    for res in (cs, sa, ev):
        text = repr(res)
        assert "\n" not in text and len(text) < 250, text
        assert text.startswith(f"<{type(res).__name__} ")
        assert _parsed(res._repr_html_()).tags.count("table") == 1


def test_results_without_result_base_have_short_reprs():
    res = ipnstats.panel_regression(_panel(), "y ~ x", unit="firm_id", time="year",
                                    vcov=ipnstats.Cluster("group_id"))
    wild = ipnstats.wild_bootstrap(res, "x", cluster="group_id", reps=99, seed=1)
    text = repr(wild)
    assert text.startswith("<WildBootstrapResult: 1 row(s) in tidy(); term=x, estimate=")
    assert len(text) < 250 and "\n" not in text
    html = wild._repr_html_()
    assert _parsed(html).tags.count("table") == 1 and "Rademacher weights give" in html

    def fit(frame):
        return ipnstats.panel_regression(frame, "y ~ x", unit="firm_id", time="year")

    boot = ipnstats.cluster_bootstrap(_panel(), fit, cluster="firm_id", reps=20, seed=0)
    assert repr(boot).startswith("<BootstrapResult: ") and len(repr(boot)) < 300


def test_glance_line_and_html_block():
    glance = pd.DataFrame([{"nobs": 1200, "r2": 0.31234, "seed": None, "vcov": "iid"}])
    assert glance_line(glance) == "nobs=1,200, r2=0.3123, vcov=iid"
    assert glance_line(glance, ("vcov", "nobs")) == "vcov=iid, nobs=1,200"
    big = pd.DataFrame({"term": [f"t{i}" for i in range(MAX_HTML_ROWS + 5)], "estimate": 1.0})
    html = html_block("A <model>", "nobs=3", big, ("a & b",))
    assert "A &lt;model&gt;" in html and "a &amp; b" in html and "5 more rows" in html
    assert html.count("<tr") == MAX_HTML_ROWS + 1


# --- the study ----------------------------------------------------------------------------

def test_study_repr_is_short_and_shows_counts_shapes_and_validation(study):
    text = repr(study)
    assert len(text) < 600 and "\n" not in text
    assert text.startswith(f"<Study {study.codebook.name!r} from folder example;")
    assert f"firms {len(study.tables['firms']):,}" in text
    assert "firm_year {:,}x{}".format(*study.firm_year.shape) in text
    assert "validation OK: 0 error(s)" in text
    assert str(study.folder) not in text  # the folder's name, not its full path
    html = study._repr_html_()
    assert _parsed(html).tags.count("table") == 1
    assert "frame firm_year" in html and "Validation OK" in html
    assert repr(study.validation).startswith("<ValidationReport OK: 0 error(s)")


def test_a_database_study_shows_its_url_redacted(study):
    import dataclasses

    db = dataclasses.replace(study, folder="postgresql://ann:s3cret@db.example/ipn")
    assert "s3cret" not in repr(db) and "s3cret" not in db._repr_html_()
    assert "database postgresql://ann:***@db.example/ipn" in repr(db)
