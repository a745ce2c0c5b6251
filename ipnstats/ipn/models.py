"""The configuration's own models: ``[[models]]`` panel regressions on the firm-year panel.

Their formulas passed the restricted grammar when the configuration was read; here
they are fitted with :func:`~ipnstats.panel_regression` (firm and year as the panel).
A model the data cannot support is kept as :class:`Unavailable` with its reason, not
raised. :func:`models_findings` keeps, JSON-ready, what the report's "Additional
models" section shows (:mod:`ipnstats.report.models_section`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ipnstats.estimators.panel import panel_regression
from ipnstats.ipn.claims import Unavailable, attempt
from ipnstats.results.stored import StoredModel
from ipnstats.results.vcov import Cluster

#: The optional ``[[models]]`` keys passed on to :func:`~ipnstats.panel_regression`.
OPTIONS = ("weights", "weights_type", "re_method")


def fit_model(firm_year: pd.DataFrame, model: Mapping):
    """One ``[[models]]`` entry (``formula``, ``estimator``, ``cluster`` with its
    ``cluster_type``, and optionally ``weights``, ``weights_type``, ``re_method``)
    fitted."""
    vcov = Cluster(model["cluster"], type=model.get("cluster_type", "cr1"))
    options = {key: model[key] for key in OPTIONS if key in model}
    return panel_regression(firm_year, model["formula"], unit="firm_id", time="year",
                            estimator=model["estimator"], vcov=vcov, **options)


def fit_models(firm_year: pd.DataFrame, models: Sequence[Mapping]) -> dict:
    """``{name: fitted result or Unavailable}`` of every ``[[models]]`` entry, in order."""
    return {m["name"]: attempt(fit_model, firm_year, m) for m in models}


def models_findings(fits: Mapping, models: Sequence[Mapping],
                    labels: Mapping[str, str]) -> dict:
    """JSON-ready findings: per model, its name, estimator and clustering, and the stored
    model (or ``{"unavailable": reason}``); ``labels`` are the display labels of terms
    (e.g. :func:`ipnstats.data.findings.codebook_labels`)."""
    out = []
    for m in models:
        res = fits[m["name"]]
        entry = {"name": m["name"], "estimator": m["estimator"], "cluster": m["cluster"]}
        entry |= {key: m[key] for key in ("cluster_type", *OPTIONS) if key in m}
        if isinstance(res, Unavailable):
            entry["unavailable"] = res.reason
        else:
            entry["model"] = StoredModel.of(res).to_json()
        out.append(entry)
    return {"models": out, "labels": dict(labels)}


def models_results(fits: Mapping) -> dict:
    """The fitted results by the names they are stored under in ``results`` (JSON)."""
    return {f"models.{name}": res for name, res in fits.items()}


__all__ = ["fit_model", "fit_models", "models_findings", "models_results"]
