"""The "Additional models" section: the configuration's ``[[models]]``, rendered from
the stored findings of :func:`ipnstats.ipn.models.models_findings` in one regression
table. Nothing is fitted here."""

from __future__ import annotations

from ipnstats.ipn.claims import claims_from_json
from ipnstats.report.claims import claims_table
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import noted_regression_table, reader_label
from ipnstats.results.stored import StoredModel

CLAIM_RULE = ("Supported: the model's coefficient differs from zero at the 5% level "
              "(two-sided test) with the claimed sign.")
ESTIMATOR_NOTE = {"within": "firm and year fixed effects", "random": "random firm effects",
                  "pooled": "pooled OLS"}


def _model_note(m: dict, labels: dict) -> str:
    """How one model was fitted, for readers: effects, weights, the standard errors."""
    what = ESTIMATOR_NOTE[m["estimator"]]
    if m["estimator"] == "random" and m.get("re_method", "stata") != "stata":
        what += f" (variance components as R plm's {m['re_method']})"
    if "weights" in m:
        kind = "frequency" if m.get("weights_type") == "fweights" else "analytic"
        what += f", weighted by {reader_label(m['weights'], labels)} ({kind} weights)"
    by = reader_label(m["cluster"], labels)
    se = (f"CR2 standard errors clustered by {by}, with Satterthwaite degrees of "
          "freedom" if m.get("cluster_type") == "cr2" else f"SEs clustered by {by}")
    return f"{m['name']}: {what}; {se}."


def render_models(report: Report, doc: dict) -> Report:
    """The section of a stored ``models`` stage document (nothing without models), with
    the claims declared on its models."""
    report = _render_models(report, doc)
    claims = claims_from_json(doc.get("claims", []))
    if not claims:
        return report
    families = ", ".join(dict.fromkeys(d["family"] for d in doc["findings"]["declared"]))
    return claims_table(report, claims, families, CLAIM_RULE)


def _render_models(report: Report, doc: dict) -> Report:
    findings = doc["findings"]
    models = findings.get("models", [])
    if not models:
        return report
    report = report.add_heading("Additional models").add_text(
        "Further models declared in the study's configuration, on the firm-year panel.")
    for m in models:
        if "unavailable" in m:
            report = report.add_text(f"{m['name']}: not estimable with these data: "
                                     f"{m['unavailable']}")
    fitted = [m for m in models if "model" in m]
    if not fitted:
        return report
    notes = tuple(_model_note(m, findings["labels"]) for m in fitted)
    return report.add_table(noted_regression_table(
        [StoredModel.from_json(m["model"]) for m in fitted],
        model_names=[m["name"] for m in fitted], labels=findings["labels"],
        stats=("nobs", "n_units", "r2_within"), title="Additional models",
        label="extra-models", notes=notes))


__all__ = ["render_models"]
