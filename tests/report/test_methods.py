"""The methods appendix, written at report time from the stored results of a stage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.ipn.claims import Unavailable
from ipnstats.pipeline.store import dumps, results_to_json
from ipnstats.report.methods import methods_paragraphs, paragraph


@pytest.fixture(scope="module")
def fit():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"firm_id": np.repeat(np.arange(40), 5),
                         "year": np.tile(np.arange(2015, 2020), 40),
                         "x": rng.normal(size=200)})
    data["y"] = 0.5 * data["x"] + rng.normal(size=200)
    return ipnstats.panel_regression(data, "y ~ x", unit="firm_id", time="year",
                                     vcov=ipnstats.Cluster("firm_id"))


def stored(results: dict, stage: str = "h1", findings: dict | None = None) -> dict:
    doc = {"stage": stage, "results": results_to_json(results, threshold=5),
           "findings": findings or {}}
    return json.loads(dumps(doc))


def test_a_paragraph_from_the_stored_glance_says_what_the_live_result_says(fit):
    live = fit.glance().iloc[0].to_dict()
    doc = stored({"practices": fit})
    from_json = doc["results"]["practices"]["glance"][0]
    text = paragraph("H1d", from_json, "fixest::feols")
    assert text == paragraph("H1d", live, "fixest::feols")
    assert text.startswith("H1d: within (fixed effects) of y, 200 observations of 40 units")
    assert "Standard errors: Clustered (firm_id), 40 clusters" in text
    assert text.endswith("Follows fixest::feols.")


def test_every_stored_model_with_a_reference_gets_its_paragraph_in_order(fit):
    doc = stored({"participation.log_revenue.twfe": fit, "event": Unavailable("no cohorts"),
                  "practices": fit, "not_a_reference": fit})
    paragraphs = methods_paragraphs(doc)
    assert [p.split(":")[0] for p in paragraphs] == ["H1a, TWFE", "H1d"]


def test_a_model_of_too_few_units_keeps_no_numbers_and_gets_no_paragraph(fit):
    doc = json.loads(dumps({"stage": "h1", "findings": {},
                            "results": results_to_json({"practices": fit}, threshold=50)}))
    assert "glance" not in doc["results"]["practices"]
    assert methods_paragraphs(doc) == ()


def test_robustness_and_configured_models_are_described(fit):
    facts = {"n_specifications": 144, "backend": "local", "n_jobs": 2,
             "dimensions": {"outcomes": ["log_revenue"], "estimators": ["twfe"],
                            "covariate_sets": ["none"], "samples": ["all"],
                            "clusters": ["firm"]}}
    doc = stored({"clustering.TWFE, clustered by firm": fit}, "robustness",
                 {"methods": facts})
    curve, check = methods_paragraphs(doc)
    assert curve.startswith("Specification curve: 144 specifications (outcomes: log revenue;")
    assert "joblib (2 workers" in curve and curve.endswith("Nelson (2020).")
    assert check.startswith("Clustering check (TWFE, clustered by firm): within")
    (model,) = methods_paragraphs(stored({"models.Size-adjusted": fit}, "models"))
    assert model.startswith("Additional model 'Size-adjusted': within")


def test_h1a_labels_follow_the_declared_primary_outcome(fit):
    """H1a moved to profit_margin: its models are H1a's, log revenue's are named by outcome."""
    models = {"participation.log_revenue.cs": fit, "participation.profit_margin.cs": fit,
              "participation.profit_margin.twfe": fit}
    labels = [p.split(":")[0] for p in
              methods_paragraphs(stored(models, findings={"outcome": "profit_margin"}))]
    assert labels == ["H1a, log revenue, CS", "H1a, primary", "H1a, TWFE"]
    labels = [p.split(":")[0] for p in methods_paragraphs(stored(models))]  # before outcome
    assert labels == ["H1a, primary", "H1a, profit margin, CS", "H1a, profit margin, TWFE"]
