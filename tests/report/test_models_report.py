"""The configuration's own [[models]]: fitted in ipn.models, stored, and the "Additional
models" section rendered from the stored document alone (report/models_section.py)."""

from __future__ import annotations

import json

import pytest

import ipnstats
from ipnstats.data.findings import codebook_labels
from ipnstats.ipn.claims import Unavailable
from ipnstats.ipn.models import fit_models, models_findings, models_results
from ipnstats.pipeline.store import dumps
from ipnstats.report.document import Report, TableBlock, Text
from ipnstats.report.models_section import render_models
from ipnstats.report.sections import RENDERERS
from ipnstats.results.vcov import Cluster
from ipnstats.tables.regression import regression_table
from ipnstats.tables.render import to_markdown

MODELS = (
    {"name": "Size-adjusted", "formula": "log_revenue ~ member + log_employees",
     "estimator": "within", "cluster": "firm_id"},
    {"name": "Pooled", "formula": "log_revenue ~ member", "estimator": "pooled",
     "cluster": "group_id_missing"},
    {"name": "Log employees", "formula": "log_revenue ~ member + log(employees)",
     "estimator": "random", "cluster": "firm_id"},
)


@pytest.fixture(scope="module")
def fits(study):
    return fit_models(study.firm_year, MODELS)


def stored(findings: dict) -> dict:
    doc = {"stage": "models", "title": "Additional models", "findings": findings,
           "claims": [], "checks": [], "results": {}, "methods": [], "seeds": {},
           "disclosure_threshold": 5, "study_name": "x"}
    return json.loads(dumps(doc))


def test_fits_each_model_and_keeps_one_that_fails(study, fits):
    assert list(fits) == ["Size-adjusted", "Pooled", "Log employees"]
    assert isinstance(fits["Pooled"], Unavailable)
    assert "group_id_missing" in fits["Pooled"].reason
    direct = ipnstats.panel_regression(study.firm_year, MODELS[0]["formula"], unit="firm_id",
                                       time="year", vcov=Cluster("firm_id"))
    assert fits["Size-adjusted"].params.equals(direct.params)
    assert set(models_results(fits)) == {"models.Size-adjusted", "models.Pooled",
                                         "models.Log employees"}


def test_section_renders_as_the_fitted_models_do(study, fits):
    findings = models_findings(fits, MODELS, codebook_labels(study.codebook))
    report = RENDERERS["models"](Report(""), stored(findings))
    heading, intro, failed, table = report.blocks
    assert heading.text == "Additional models"
    assert isinstance(intro, Text) and isinstance(failed, Text)
    assert failed.text == f"Pooled: not estimable with these data: {fits['Pooled'].reason}"
    assert isinstance(table, TableBlock)
    ok = [fits["Size-adjusted"], fits["Log employees"]]
    live = regression_table(ok, model_names=["Size-adjusted", "Log employees"],
                            labels=study.codebook, stats=("nobs", "n_units", "r2_within"),
                            title="Additional models", label="extra-models", notes=(
                                "Size-adjusted: firm and year fixed effects; SEs clustered "
                                "by firm.", "Log employees: random firm effects; SEs "
                                "clustered by firm."))
    assert to_markdown(table.table) == to_markdown(live.as_table())
    assert "Log revenue" in to_markdown(table.table)  # the codebook's label


def test_rendering_twice_gives_the_same_blocks(study, fits):
    doc = stored(models_findings(fits, MODELS, codebook_labels(study.codebook)))
    assert render_models(Report(""), doc).blocks == render_models(
        Report(""), json.loads(json.dumps(doc))).blocks


def test_no_models_no_section():
    doc = stored(models_findings({}, (), {}))
    assert render_models(Report("x"), doc).blocks == ()
    only_failed = stored(models_findings({"A": Unavailable("no such column")},
                                         ({"name": "A", "estimator": "within",
                                           "cluster": "firm_id"},), {}))
    texts = [b.text for b in render_models(Report(""), only_failed).blocks]
    assert texts[-1] == "A: not estimable with these data: no such column"


OPTIONED = (
    {"name": "CR2, weighted", "formula": "log_revenue ~ member", "estimator": "pooled",
     "cluster": "firm_id", "cluster_type": "cr2", "weights": "employees"},
    {"name": "plm RE", "formula": "log_revenue ~ member", "estimator": "random",
     "cluster": "firm_id", "re_method": "swar"},
)


def test_optional_keys_reach_the_fit_and_the_table_note(study):
    fits = fit_models(study.firm_year, OPTIONED)
    weighted = ipnstats.panel_regression(
        study.firm_year, "log_revenue ~ member", unit="firm_id", time="year",
        estimator="pooled", weights="employees", vcov=Cluster("firm_id", type="cr2"))
    assert fits["CR2, weighted"].tidy().equals(weighted.tidy())
    assert "df" in fits["CR2, weighted"].tidy().columns
    assert "swar" in fits["plm RE"].glance().estimator[0]
    report = RENDERERS["models"](Report(""), stored(models_findings(fits, OPTIONED, {})))
    notes = " ".join(report.blocks[-1].table.notes)
    assert "weighted by employees (analytic weights)" in notes
    assert "CR2 standard errors clustered by firm, with Satterthwaite" in notes
    assert "as R plm's swar" in notes
