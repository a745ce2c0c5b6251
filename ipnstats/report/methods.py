"""Generated methods paragraphs: for each model, the estimator, the standard errors and
clusters, the bootstrap draws and seed, and the reference the implementation follows.

Written at report time from a stage's stored results (the ``glance()`` of every model
in ``results/<stage>.json``), so the paragraph says what was actually run, and a change
to its wording refits nothing. :func:`methods_paragraphs` writes them for readers:
column names as their codebook labels ("clustered by firm", not ``Clustered (firm_id)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from ipnstats.report.estimation_notes import for_readers, reader_label

REFERENCES = {
    "twfe": "two-way fixed effects, as reghdfe / fixest::feols",
    "cs": "Callaway & Sant'Anna (2021), as R did::att_gt and aggte (simple aggregation)",
    "cs_covariates": "Callaway & Sant'Anna (2021) with Sant'Anna & Zhao (2020) doubly "
                     "robust cells, as R did's doubly robust estimator",
    "sunab": "Sun & Abraham (2021), as fixest::sunab",
    "event": "Callaway & Sant'Anna (2021) dynamic aggregation with a multiplier-bootstrap "
             "uniform band, as R did's dynamic aggregation",
    "stages": "Borusyak, Jaravel & Spiess (2024) imputation estimator",
    "mediation": "Hayes (2022) PROCESS model 4 on within-transformed data",
    "practices": "within estimator with firm and year effects, as fixest::feols",
    "hazard": "discrete-time logit hazard (Allison 1982)",
    "hazard_cox": "Cox (1972) proportional hazards with Lin & Wei (1989) robust SEs",
    "framing.crossed": "linear mixed model, profiled REML as lme4 (Bates et al. 2015)",
    "framing.receiver_fe": "within estimator, two-way clustered SEs (Cameron, Gelbach & "
                           "Miller 2011)",
    "framing.gee": "logistic GEE (Liang & Zeger 1986), as statsmodels",
    "behavior": "logit moderation with simple slopes (Hayes 2022, PROCESS model 1)",
    "loss_aversion": "OLS moderation with Johnson-Neyman intervals (Hayes 2022)",
    "process": "PROCESS model 7 (Hayes 2022), cluster bootstrap of the conditional "
               "indirect effects",
    "questions.counts": "Poisson quasi-maximum likelihood (Wooldridge 1999)",
    "senders": "crossed random effects, profiled REML as lme4 (Baayen, Davidson & Bates "
               "2008)",
    "learning_curve": "log-linear learning curve (Argote 2013) with firm random slopes, "
                      "profiled REML as lme4",
    "triangulation": "within-firm log-linear regression, as fixest::feols",
}
#: The labels of H1a's models on the declared primary outcome, by estimator (the
#: outcome comes from the stored H1 findings, :func:`model_label`).
PRIMARY_LABELS = {"twfe": "H1a, TWFE", "cs": "H1a, primary", "cs_covariates": "H1a, covariates",
                  "sunab": "H1a, Sun-Abraham"}
LABELS = {"event": "H1b, event study",
          "stages": "H1b, stages", "mediation": "H1c", "practices": "H1d", "hazard": "H1f",
          "hazard_cox": "H1f, Cox", "framing.crossed": "H2a, primary",
          "framing.receiver_fe": "H2a, receiver FE", "framing.gee": "H2a, behavior",
          "behavior": "H2b", "loss_aversion": "H2c", "process": "H2c, PROCESS",
          "questions.counts": "H2d", "senders": "H3a", "learning_curve": "H3b",
          "triangulation": "H3c"}


def paragraph(label: str, glance: Mapping, reference: str) -> str:
    """One methods paragraph from a model's ``glance()`` row (a mapping)."""
    g = dict(glance)

    def has(key: str) -> bool:
        return key in g and g[key] is not None and pd.notna(g[key]) and g[key] != ""

    text = f"{label}: {g['estimator']} of {g['outcome']}"
    text += f", {int(g['nobs']):,} observations" if has("nobs") else ""
    text += f" of {int(g['n_units']):,} units" if has("n_units") else ""
    text += f"; fixed effects {g['fixed_effects']}" if has("fixed_effects") else ""
    text += f"; weighted by {g['weights']}" if has("weights") else ""
    text += f". Standard errors: {g['vcov']}" if has("vcov") else "."
    text += f", {int(g['n_clusters']):,} clusters" if has("n_clusters") else ""
    if has("n_boot"):
        text += f"; bootstrap {int(g['n_boot']):,} draws"
        text += f", seed {int(g['seed'])}" if has("seed") else ""
    return text + f". Follows {reference}."


ESTIMATOR_NAMES = {"twfe": "TWFE", "cs": "CS", "cs_covariates": "CS + covariates",
                   "sunab": "Sun-Abraham"}
#: Labels of columns the study derives (not in the codebook).
DERIVED_LABELS = {"first_group": "First peer group", "log(outcome)": "Log task outcome"}


def model_label(name: str, primary: str = "log_revenue") -> str:
    """The methods label of a stored model: ``participation.<primary>.cs`` -> ``H1a,
    primary`` for the H1 family's declared primary outcome ``primary`` (the stored H1
    findings' ``outcome``), another outcome's model by :func:`_label`, the other
    analyses from :data:`LABELS`."""
    if name.startswith("participation."):
        _, outcome, estimator = name.split(".", 2)
        if outcome == primary and estimator in PRIMARY_LABELS:
            return PRIMARY_LABELS[estimator]
    return LABELS.get(name) or _label(name)


def _label(name: str) -> str:
    """``participation.profit_margin.cs`` -> ``H1a, profit margin, CS``."""
    if name.startswith("participation."):
        _, outcome, estimator = name.split(".", 2)
        return (f"H1a, {outcome.replace('_', ' ')}, "
                f"{ESTIMATOR_NAMES.get(estimator, estimator.replace('_', ' + '))}")
    return name


def _glance(entry: Mapping) -> Mapping | None:
    rows = entry.get("glance") or []
    return rows[0] if rows else None


def methods_paragraphs(doc: Mapping) -> tuple[str, ...]:
    """The paragraphs of one stored stage document: a paragraph for every stored model
    that has a reference (H1-H3), the robustness checks, the configuration's models."""
    results, out = doc.get("results", {}), []
    primary = (doc.get("findings", {}) or {}).get("outcome") or "log_revenue"
    if doc.get("stage") == "robustness":
        facts = doc.get("findings", {}).get("methods")
        if facts:
            out.append(_curve_paragraph(facts))
        if doc.get("findings", {}).get("identification"):
            out.append(IDENTIFICATION_PARAGRAPH)
    for name, entry in results.items():
        glance = _glance(entry)
        if glance is None:
            continue
        if name.startswith("clustering."):
            out.append(paragraph(f"Clustering check ({name.removeprefix('clustering.')})",
                                 glance, "reghdfe / fixest"))
        elif name.startswith("models."):
            out.append(paragraph(f"Additional model {name.removeprefix('models.')!r}", glance,
                                 "the configuration's formula, fitted by "
                                 "ipnstats' panel regression"))
        else:
            key = name.split(".", 2)[-1] if name.startswith("participation.") else name
            if key in REFERENCES:
                out.append(paragraph(model_label(name, primary), glance,
                                     REFERENCES[key]))
    return tuple(for_reader(p, _labels(doc)) for p in out)


def _labels(doc: Mapping) -> dict[str, str]:
    """The labels a stage stored: the codebook's, or the specification curve's."""
    findings = doc.get("findings", {}) or {}
    curve = findings.get("specification_curve", {}) or {}
    return DERIVED_LABELS | dict(curve.get("labels", {}) or {}) | \
        dict(findings.get("labels", {}) or {})


def _names(listed: str, labels: Mapping[str, str]) -> str:
    """``"firm_id, year"`` -> ``"firm and year"``."""
    names = [reader_label(n.strip(), labels) for n in listed.split(",") if n.strip()]
    return " and ".join(names)


def for_reader(text: str, labels: Mapping[str, str]) -> str:
    """A methods paragraph with labels for column names: ``fixed effects firm_id, year``
    reads ``firm and year fixed effects``, ``Clustered (firm_id)`` ``clustered by firm``.

    Examples
    --------
    >>> for_reader("H1: OLS of log_revenue; fixed effects firm_id, year. Standard errors: "
    ...            "Clustered (firm_id).", {"log_revenue": "Log revenue"})
    'H1: OLS of log revenue; firm and year fixed effects. Standard errors: clustered by firm.'
    """
    text = re.sub(r"Clustered \(([^)]*)\)", lambda m: f"clustered by {_names(m[1], labels)}",
                  text)
    text = re.sub(r"fixed effects ((?:[\w()]+, )*[\w()]+)(?=[.;])",
                  lambda m: f"{_names(m[1], labels)} fixed effects", text)
    text = re.sub(r"\b(outcomes|estimators|covariate sets|samples|clusters): ([^;)]+)",
                  lambda m: f"{m[1]}: " + ", ".join(labels.get(v.strip(), v.strip())
                                                   for v in m[2].split(",")), text)
    text = re.sub(r"\blog\(outcome\)", reader_label("log(outcome)", labels), text)
    return for_readers(text, labels)


IDENTIFICATION_PARAGRAPH = (
    "Identification and sensitivity: the Callaway-Sant'Anna event study of H1b refitted "
    "with its settings but a universal base period (the year before joining) and passed "
    "to ipnstats.honest_did (Rambachan & Roth 2023, as R "
    "HonestDiD: relative magnitudes with M̄ 0.5 to 2 by the conditional least-favourable "
    "hybrid test, smoothness by fixed-length intervals on HonestDiD's default M grid), for "
    "the year of joining and the average of the post years; the TWFE effect of membership "
    "with the H1 covariates as controls (firm and year effects, SEs clustered by firm) "
    "passed to ipnstats.sensemakr (Cinelli & Hazlett 2020, as R sensemakr; benchmarks the "
    "covariates the fixed effects leave identified, 1, 2 and 3 times as strong) and "
    "ipnstats.oster (Oster 2019, as Stata psacalc, on the firm- and year-demeaned data; "
    "R²max 1.3 times the controlled regression's R², Oster's suggestion). Covariate "
    "balance: each joiner's H1 covariates in its last year before joining and each "
    "never-member's in the year nearest to the joiners' median one, never-members "
    "reweighted by ipnstats.entropy_balance (Hainmueller 2012, as R ebal; first moments) "
    "and the TWFE effect refitted with the weights; standardized differences by "
    "ipnstats.balance_table (as R cobalt, ATT). Selection on unobservables: the change in "
    "the outcome over three years from the same reference years, by least squares (HC1) "
    "and by ipnstats.treatment_effects (the endogenous-treatment model, as Stata "
    "etregress, maximum likelihood; joining a probit on the covariates and any "
    "[H1] selection_instruments).")


def _curve_paragraph(facts: Mapping) -> str:
    """The specification curve's paragraph from the facts its stage stored."""
    dims = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}"
                     for k, v in facts["dimensions"].items())
    where = (f"run in parallel with joblib ({facts['n_jobs']} workers, "
             if facts["backend"] == "local" else "run on a Dask cluster (")
    return (f"Specification curve: {facts['n_specifications']} specifications ({dims}); "
            "Callaway-Sant'Anna and Sun-Abraham as in H1a, TWFE by "
            f"ipnstats.panel_regression; {where}results independent of the number of "
            "workers). Follows Simonsohn, Simmons & Nelson (2020).")


__all__ = ["LABELS", "PRIMARY_LABELS", "REFERENCES", "methods_paragraphs", "model_label",
           "paragraph"]
