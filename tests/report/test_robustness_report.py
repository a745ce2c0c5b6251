"""The robustness stage: what ipn.robustness fits and stores, and the section rendered
from the stored document alone (report/robustness_section.py)."""

from __future__ import annotations

import ast
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipnstats
import ipnstats.report.robustness_section as section
from ipnstats.estimators.wild import wild_bootstrap
from ipnstats.figures import figure_bytes
from ipnstats.ipn.claims import Unavailable
from ipnstats.ipn.robustness import (
    ClusteringFit,
    _clustering_row,
    fit_robustness,
    robustness_findings,
    robustness_results,
    significance,
)
from ipnstats.pipeline.store import dumps
from ipnstats.report.document import FigureBlock, Report, TableBlock, Text
from ipnstats.report.robustness_section import render_robustness
from ipnstats.report.sections import RENDERERS
from ipnstats.tables.render import to_markdown

ROB = {"outcomes": ["log_revenue", "roa"], "estimators": ["twfe", "sunab"],
       "covariate_sets": {"none": [], "size": ["log_employees"]}, "samples": ["all"],
       "clusters": ["firm", "group"], "min_clusters": 50, "wild_draws": 99, "n_jobs": 1,
       "backend": "local", "scheduler": ""}


@pytest.fixture(scope="module")
def firm_year(tmp_path_factory) -> pd.DataFrame:
    folder = ipnstats.simulate_study(tmp_path_factory.mktemp("rob") / "study", n_firms=120,
                                     n_groups=6, seed=1)
    return ipnstats.load_study(folder).firm_year


@pytest.fixture(scope="module")
def fitted(firm_year):
    return fit_robustness(firm_year, ROB, seed=3,
                          labels={"log_revenue": "Log revenue", "roa": "Return on assets"})


def stored(findings: dict) -> dict:
    """The stage document as ``ipnstats report`` reads it back from JSON."""
    doc = {"stage": "robustness", "title": "Robustness of the primary H1 effect",
           "findings": findings, "claims": [], "checks": [], "results": {}, "methods": [],
           "seeds": {"wild bootstrap": 3}, "disclosure_threshold": 3, "study_name": "x"}
    return json.loads(dumps(doc))


def json_ready(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_ready(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_ready(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


# -- fitting and findings (ipn) -----------------------------------------------------------

def test_findings_are_json_ready_and_agree_with_the_curve(fitted):
    findings = robustness_findings(fitted)
    assert json_ready(findings)
    f = findings["specification_curve"]
    tidy = fitted.curve.tidy()
    est = tidy[tidy["status"] == "estimated"]
    g = fitted.curve.glance().iloc[0]
    assert f["n_specs"] == 2 * 2 * 2 * 1 * 2 == len(tidy)
    assert f["n_estimated"] == len(est) == len(f["estimates"]["data"][0]) == 12  # no sunab+size
    assert f["share_same"] == pytest.approx(g["share_significant_same_direction"])
    assert f["share_opposite"] == pytest.approx(g["share_significant_opposite"])
    by = pd.DataFrame(dict(zip(f["by_choice"]["columns"], f["by_choice"]["data"],
                               strict=True)))
    roa = est[est["outcome"] == "roa"]
    row = by[(by["dimension"] == "outcome") & (by["choice"] == "roa")].iloc[0]
    assert row["n"] == len(roa) and row["median"] == pytest.approx(roa["estimate"].median())
    assert row["share"] == pytest.approx(((roa["p_value"] < 0.05) & (roa["estimate"] > 0))
                                         .mean())
    primary = est[est["outcome"] == "log_revenue"]
    assert f["primary"] == {"outcome": "log_revenue", "estimated": True, "n": len(primary),
                            "share_same": pytest.approx(((primary["p_value"] < 0.05)
                                                         & (primary["estimate"] > 0)).mean()),
                            "median": pytest.approx(primary["estimate"].median())}
    assert f["labels"]["log_revenue"] == "Log revenue" and f["labels"]["twfe"] == "TWFE"


def test_clustering_rows_and_the_wild_bootstrap(fitted, firm_year):
    rows = robustness_findings(fitted)["clustering"]["rows"]
    assert [(r["estimator"], r["cluster"]) for r in rows] == [
        ("Callaway-Sant'Anna", "firm"), ("TWFE", "firm"),
        ("Callaway-Sant'Anna", "first peer group"), ("TWFE", "first peer group"),
        ("TWFE", "firm and year")]
    # the wild bootstrap: TWFE only, where there are fewer than min_clusters (50) clusters
    wild = {r["cluster"]: r.get("wild") for r in rows if r["estimator"] == "TWFE"}
    assert wild["firm"] is None  # 120 firms
    assert {r["cluster"]: r["n_clusters"] for r in rows if r["estimator"] == "TWFE"} == {
        "firm": 120, "first peer group": 49, "firm and year": 15}
    assert wild["first peer group"]["weights"] == "rademacher"
    assert wild["first peer group"]["by"] == ""  # one-way
    assert wild["firm and year"] == {"p_value": pytest.approx(wild["firm and year"]["p_value"]),
                                     "weights": "rademacher", "by": "year"}  # the smaller G
    # the p-value is the bootstrap's, with the stage's draws and seed
    fit = next(f for f in fitted.clustering if f.cluster == "firm and year")
    again = wild_bootstrap(fit.result, "treated", cluster="year", weights="rademacher",
                           reps=99, seed=3)
    assert wild["firm and year"]["p_value"] == again.p_value
    results = robustness_results(fitted)
    assert set(results) == {"specification_curve", *(
        f"clustering.{r['estimator']}, clustered by {r['cluster']}" for r in rows)}


def test_an_unavailable_fit_is_a_row_with_its_reason():
    row = _clustering_row(ClusteringFit("TWFE", "firm", "treated", Unavailable("no variation")))
    assert row == {"estimator": "TWFE", "cluster": "firm", "unavailable": "no variation"}


def test_significance_by_direction():
    rows = pd.DataFrame({"estimate": [0.2, -0.1, 0.3, -0.4], "p_value": [0.01, 0.02, 0.4,
                                                                          np.nan]})
    assert significance(rows, 0.05, 1).tolist() == ["same", "opposite", "none", "none"]
    assert significance(rows, 0.05, -1).tolist() == ["opposite", "same", "none", "none"]


# -- rendering from the stored document ----------------------------------------------------

@pytest.fixture(scope="module")
def doc(fitted) -> dict:
    return stored(robustness_findings(fitted))


@pytest.fixture(scope="module")
def rendered(doc) -> Report:
    return RENDERERS["robustness"](Report(""), doc)


def test_section_renders_from_the_stored_document(fitted, doc, rendered):
    report = rendered
    headings = [b.text for b in report.blocks if type(b).__name__ == "Heading"]
    assert headings == ["Robustness of the primary H1 effect", "Specification curve",
                        "Alternative clustering"]
    tables = {b.table.label: b.table for b in report.blocks if isinstance(b, TableBlock)}
    assert set(tables) == {"spec-curve-choices", "clustering"}
    # the figure is the one the fitted curve draws
    figures = [b for b in report.blocks if isinstance(b, FigureBlock)]
    assert len(figures) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # .plot() is being deprecated
        expected = figure_bytes(fitted.curve.plot(), "svg")
    assert figures[0].data == expected
    # the reading quotes the stored numbers
    f = doc["findings"]["specification_curve"]
    reading = [b.text for b in report.blocks if isinstance(b, Text)][-1]
    assert reading.startswith(f"Reading: {100 * f['share_same']:.0f}% of the 12 estimated")
    assert f"{100 * f['primary']['share_same']:.0f}% of {f['primary']['n']} do" in reading
    assert f"median estimate of {f['primary']['median']:.3f}." in reading
    # the clustering table: formatted G, p and the wild bootstrap column
    md = re.sub(" +", " ", to_markdown(tables["clustering"]))
    assert "| TWFE | firm and year | 15 |" in md and "(rademacher, by year)" in md
    assert "99 draws, seed 3" in " ".join(tables["clustering"].notes)
    choices = re.sub(" +", " ", to_markdown(tables["spec-curve-choices"]))
    assert "| Choice | Option | Specifications | Median estimate |" in choices
    assert "| Estimator | TWFE | 8 |" in choices and "| Covariates | size | 4 |" in choices


def test_rendering_twice_gives_the_same_blocks(doc, rendered):
    again = render_robustness(Report(""), json.loads(json.dumps(doc)))
    assert again.blocks == rendered.blocks


def test_unavailable_rows_and_no_primary_specification(doc):
    findings = json.loads(json.dumps(doc["findings"]))
    findings["clustering"]["rows"][0] = {
        "estimator": "Callaway-Sant'Anna", "cluster": "firm", "unavailable": "no treated firm"}
    findings["specification_curve"]["primary"] = {
        "outcome": "log_revenue", "estimated": False, "n": 0, "share_same": None,
        "median": None}
    report = section._clustering(Report(""), findings["clustering"])
    table = next(b.table for b in report.blocks if isinstance(b, TableBlock))
    assert "not estimable: no treated firm" in to_markdown(table)
    reading = section._reading(findings["specification_curve"])
    assert reading.endswith("log revenue, the primary outcome, has no estimated "
                            "specification.")
    assert "nan" not in reading


RENDERER_MODULES = ("robustness_section", "models_section", "data_section")


@pytest.mark.parametrize("module", RENDERER_MODULES)
def test_renderers_import_no_estimator_and_fit_nothing(module):
    """report/<section>.py imports no estimator, inference, data-loading or study-layer
    fitting module: only ipn.claims of the study layer."""
    path = Path(ipnstats.__file__).parent / "report" / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    ours = {m for m in imported if m.startswith("ipnstats")}
    assert ours  # the scan sees the imports
    assert not {m for m in ours if m.startswith(("ipnstats.estimators", "ipnstats.inference",
                                                 "ipnstats.data", "ipnstats.planning",
                                                 "ipnstats.simulate"))}
    assert {m for m in ours if m.startswith("ipnstats.ipn")} <= {"ipnstats.ipn.claims"}
