"""The configuration's own models: ``[[models]]`` panel regressions on the firm-year panel.

Their formulas passed the restricted grammar when the configuration was read; here
they are fitted with :func:`~ipnstats.panel_regression` (firm and year as the panel).
A model the data cannot support is kept as :class:`Unavailable` with its reason, not
raised. :func:`models_findings` keeps, JSON-ready, what the report's "Additional
models" section shows (:mod:`ipnstats.report.models_section`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ipnstats.estimators.panel import panel_regression
from ipnstats.ipn.claims import ALPHA, Claim, Unavailable, attempt, ci_text, num
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


def declared(claim: Claim, declaration: Mapping) -> Claim:
    """``claim`` under its declared ``id`` and ``text``, with the declared smallest effect
    of interest (``sesoi``) when :class:`Claim` carries one."""
    out = dataclasses.replace(claim, code=declaration["id"], claim=declaration["text"])
    if "sesoi" in declaration and "sesoi" in {f.name for f in dataclasses.fields(Claim)}:
        out = dataclasses.replace(out, sesoi=declaration["sesoi"])
    return out


def term_claim(result, declaration: Mapping, *, what: str = "", units: str = "") -> Claim:
    """The claim ``declaration`` (``term``, ``direction``) decided by one coefficient of a
    fitted ``result`` (or :class:`Unavailable`: not testable, with the reason).

    The test is two-sided; a directional claim also needs the estimate's sign ("greater":
    positive, "less": negative). ``what`` names the estimate in the evidence (default: the
    term); the claim carries the estimate, its standard error and ``units`` for the
    minimum detectable effect (:func:`~ipnstats.ipn.claims.adjudicate`).
    """
    term = declaration["term"]
    if isinstance(result, Unavailable):
        return declared(Claim("", "", result.reason, np.nan, None), declaration)
    tidy = result.tidy().set_index("term")
    if term not in tidy.index:
        return declared(Claim("", "", f"the model has no term {term!r} (its terms: "
                              f"{', '.join(map(str, tidy.index))})", np.nan, None), declaration)
    row = tidy.loc[term]
    estimate, p = float(row["estimate"]), float(row["p_value"])
    sign = {"greater": estimate > 0, "less": estimate < 0}.get(declaration["direction"], True)
    return declared(Claim("", "", f"{what or term} {num(estimate)} ({ci_text(row)})", p,
                          bool(p < ALPHA and sign), estimate=estimate,
                          std_error=float(row["std_error"]), alternative="two-sided",
                          units=units), declaration)


def models_claims(fits: Mapping, declarations: Sequence[Mapping]) -> list[Claim]:
    """The declared claims on ``[[models]]`` entries, each decided by its model's term."""
    return [term_claim(fits[d["analysis"]], d) for d in declarations]


__all__ = ["declared", "fit_model", "fit_models", "models_claims", "models_findings",
           "models_results", "term_claim"]
