"""The configuration's own models: ``[[models]]`` panel regressions on the firm-year panel.

Their formulas passed the restricted grammar when the configuration was read; here
they are fitted with :func:`~ipnstats.panel_regression` and shown in one table. A model
the data cannot support is reported with its reason, not raised.
"""

from __future__ import annotations

from ipnstats.data import Study
from ipnstats.ipn.claims import Unavailable, attempt
from ipnstats.pipeline.methods import paragraph
from ipnstats.report.document import Report
from ipnstats.results.vcov import Cluster
from ipnstats.tables.regression import regression_table

ESTIMATOR_NOTE = {"within": "firm and year fixed effects", "random": "random firm effects",
                  "pooled": "pooled OLS"}


def extra_models(study: Study, models) -> tuple[Report, dict, tuple[str, ...]]:
    """Fit every ``[[models]]`` entry; returns the report blocks, the results and the
    methods paragraphs."""
    report = Report("")
    if not models:
        return report, {}, ()
    fits = {m["name"]: attempt(_fit, study, m) for m in models}
    report = report.add_heading("Additional models").add_text(
        "Models declared in the configuration's [[models]] tables, on the firm-year panel.")
    ok = {name: res for name, res in fits.items() if not isinstance(res, Unavailable)}
    for name, res in fits.items():
        if isinstance(res, Unavailable):
            report = report.add_text(f"{name}: not estimable with these data: {res.reason}")
    if ok:
        notes = tuple(f"{m['name']}: {ESTIMATOR_NOTE[m['estimator']]}; SEs clustered by "
                      f"{m['cluster']}." for m in models if m["name"] in ok)
        report = report.add_table(regression_table(
            list(ok.values()), model_names=list(ok), labels=study.codebook,
            stats=("nobs", "n_units", "r2_within"), title="Additional models",
            label="extra-models", notes=notes))
    methods = tuple(paragraph(f"Additional model {name!r}", res,
                              "the configuration's formula, fitted by ipnstats.panel_regression")
                    for name, res in ok.items())
    results = {f"models.{name}": res for name, res in fits.items()}
    return report, results, methods


def _fit(study: Study, m):
    from ipnstats.estimators.panel import panel_regression

    return panel_regression(study.firm_year, m["formula"], unit="firm_id", time="year",
                            estimator=m["estimator"], vcov=Cluster(m["cluster"]))


__all__ = ["extra_models"]
