"""The stages of a study run: what each fits, from which inputs and settings.

Each stage reads the study folder and its slice of the configuration and returns a
:class:`StageOutput`: the findings its report section is rendered from, its claims and
falsification checks (with multiplicity-adjusted verdicts) and every fitted result (for
``tidy()`` and ``glance()`` in JSON). This module is the one composition root of the study
run: the fitting is in :mod:`ipnstats.ipn`, the rendering in :mod:`ipnstats.report`,
which reads only the stored files. A stage depends only on the
input tables listed in :data:`STAGES` and on its configuration sections, which is what
lets ``make`` (and ``ipnstats run``) redo only what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ipnstats.core.errors import ConfigError
from ipnstats.data import Study
from ipnstats.data.findings import codebook_labels
from ipnstats.ipn.claims import Claim, Unavailable, adjudicate, adjudicate_checks
from ipnstats.pipeline.claims_config import primary_outcome, stage_of
from ipnstats.pipeline.config import StudyConfig

# the input tables behind each derived frame (codebook.toml included)
FIRM_YEAR_INPUTS = ("codebook", "firms", "memberships", "financials", "meetings",
                    "meeting_activity", "surveys")
EXCHANGE_INPUTS = (*FIRM_YEAR_INPUTS, "exchanges")
TASK_INPUTS = (*EXCHANGE_INPUTS, "tasks")


@dataclass(frozen=True)
class StageOutput:
    """What a stage stores: ``findings``, the JSON-ready numbers and frames its report
    section is rendered from (by :data:`ipnstats.report.sections.RENDERERS`, at report
    time, never refitting); its adjudicated claims and checks; every fitted result (for
    ``tidy()`` and ``glance()`` in JSON, from which the report also writes the methods
    paragraphs); the seeds."""

    claims: tuple = ()
    checks: tuple = ()
    results: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=dict)
    findings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    inputs: tuple[str, ...] | None  # input tables; None: every file of the study folder
    sections: tuple[str, ...]  # configuration sections the results depend on
    build: Callable[[Study, StudyConfig, Callable], StageOutput]
    family: str = ""  # "H1", "H2", "H3": skipped unless [run] hypotheses lists it


def declared(cfg: StudyConfig, name: str) -> list[dict]:
    """The declared claims stage ``name`` decides, in the configuration's order."""
    return [dict(c) for c in cfg.claims if stage_of(c) == name]


def sesoi(cfg: StudyConfig) -> dict[str, float]:
    """The declared smallest effects of interest by claim id (the bounds of the
    equivalence tests of that claim's falsification checks)."""
    return {c["id"]: c["sesoi"] for c in cfg.claims if "sesoi" in c}


def _verdicts(cfg: StudyConfig, claims: list[Claim], checks: list) -> tuple[tuple, tuple]:
    """A stage's claims and checks with multiplicity-adjusted p-values and verdicts; the
    claims are adjusted within their declared family."""
    v = cfg["verdict"]
    family = {c["id"]: c["family"] for c in cfg.claims}
    decided = {}
    for name in dict.fromkeys(family.get(c.code, "") for c in claims):
        members = [c for c in claims if family.get(c.code, "") == name]
        decided.update(zip((id(c) for c in members),
                           adjudicate(members, v["adjust"], v["alpha"]), strict=True))
    return (tuple(decided[id(c)] for c in claims),
            tuple(adjudicate_checks(checks, "holm", v["alpha"])))


# -- H1 ---------------------------------------------------------------------------------

def _h1(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.h1 import fit_h1
    from ipnstats.ipn.h1_findings import h1_checks, h1_claims, h1_findings

    run, h1 = cfg["run"], cfg["H1"]
    progress("fitting H1: staggered DiD, event study, stages, mediation, practices, exits")
    claimed = declared(cfg, "h1")
    outcomes = (*h1["outcomes"], *(c["outcome"] for c in claimed
                                   if c["analysis"] == "participation"))
    res = fit_h1(study.firm_year, threshold=study.codebook.disclosure_threshold,
                 n_boot=run["n_boot"], seed=run["seed"], firms=study.tables.get("firms"),
                 outcomes=tuple(dict.fromkeys(outcomes)), covariates=tuple(h1["covariates"]),
                 mediation_draws=h1["mediation_draws"], absent=study.skipped,
                 outcome=primary_outcome(cfg.claims))
    findings = {**h1_findings(res), "labels": codebook_labels(study.codebook),
                "outcome": res.outcome, "declared": claimed}
    if h1["imputations"] and "unavailable" not in findings["H1c"]:
        findings["H1c"]["imputed"] = _h1c_imputed(study, h1, run, res.outcome, progress)
    checks = h1_checks(res, sesoi(cfg), study.firm_year)
    claims, checks = _verdicts(cfg, h1_claims(res, findings, claimed), checks)
    results = {}
    for outcome, models in res.participation.items():
        names = ("twfe", "cs", "cs_covariates", "sunab")
        if isinstance(models, Unavailable):
            results[f"participation.{outcome}"] = models
        else:
            results.update({f"participation.{outcome}.{n}": m
                            for n, m in zip(names, models, strict=True)})
    for name in ("event", "stages", "mediation", "practices", "practices_std", "hazard",
                 "hazard_cox"):
        results[name] = getattr(res, name)
    if not isinstance(res.heterogeneity, Unavailable):
        results["heterogeneity.interaction"] = res.heterogeneity.interaction
    return StageOutput(findings=findings, claims=claims, checks=checks,
                       results=results,
                       seeds={"bootstrap": run["seed"]})


# -- H2 ---------------------------------------------------------------------------------

def _h2(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.h2 import fit_h2, h2_checks, h2_claims, h2_findings

    run = cfg["run"]
    progress("fitting H2: crossed random effects, moderation, PROCESS model 7, questions")
    res = fit_h2(study.exchanges, threshold=study.codebook.disclosure_threshold,
                 n_boot=cfg["H2"]["process_draws"], seed=run["seed"], absent=study.skipped)
    claims, checks = _verdicts(cfg, h2_claims(res, declared(cfg, "h2")), h2_checks(res, sesoi(cfg)))
    results = {"behavior": res.behavior, "loss_aversion": res.loss_aversion,
               "process": res.process}
    if isinstance(res.framing, Unavailable):
        results["framing"] = res.framing
    else:
        results.update({f"framing.{n}": m for n, m in
                        zip(("crossed", "receiver_fe", "gee"), res.framing, strict=True)})
    if not isinstance(res.questions, Unavailable):
        results.update({"questions.counts": res.questions.counts,
                        "questions.counts_fe": res.questions.counts_fe})
    return StageOutput(findings={**h2_findings(res), "declared": declared(cfg, "h2")},
                       claims=claims, checks=checks,
                       results=results,
                       seeds={"bootstrap": run["seed"]})


# -- H3 ---------------------------------------------------------------------------------

def _h3(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.h3 import fit_h3, h3_checks, h3_claims, h3_findings

    progress("fitting H3: crossed random effects, learning curves, triangulation")
    res = fit_h3(study.exchanges, study.tasks, threshold=study.codebook.disclosure_threshold,
                 absent=study.skipped)
    claims, checks = _verdicts(cfg, h3_claims(res, declared(cfg, "h3")), h3_checks(res, sesoi(cfg)))
    results = {"senders": res.senders, "learning_curve": res.curve,
               "triangulation": res.triangulation}
    return StageOutput(findings={**h3_findings(res), "declared": declared(cfg, "h3")},
                       claims=claims, checks=checks,
                       results=results, seeds={})


def _h1c_imputed(study: Study, h1: dict, run: dict, outcome: str, progress) -> dict:
    """H1c pooled over ``[H1] imputations`` imputations of the missing survey items."""
    from ipnstats.data.survey_frame import survey_items
    from ipnstats.ipn.missing import H1C_SCALE, h1c_imputed_findings

    progress(f"H1c: {h1['imputations']} imputations of the missing survey answers")
    scale = next((s for s in study.codebook.scales if s.name == H1C_SCALE), None)
    if scale is None:
        return {"unavailable": f"the codebook has no {H1C_SCALE} scale."}
    return h1c_imputed_findings(study.firm_year, survey_items(study),
                                scale_items=list(scale.items), m=h1["imputations"],
                                seed=run["seed"], n_boot=run["n_boot"], outcome=outcome)


# -- data appendix -------------------------------------------------------------------------

def _data(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.data.findings import data_findings
    from ipnstats.data.survey_frame import survey_items
    from ipnstats.ipn.measurement import fit_measurement, measurement_findings

    progress("describing the data: validation, sample flow, descriptives, reliability")
    progress("measurement: factor analysis, validity, invariance, method variance")
    measured = fit_measurement(survey_items(study), study.codebook.scales,
                               threshold=study.codebook.disclosure_threshold)
    return StageOutput(findings={**data_findings(study),
                                 "measurement": measurement_findings(measured)})


# -- robustness -----------------------------------------------------------------------------

def _robustness(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.robustness import (
        fit_robustness,
        method_facts,
        robustness_findings,
        robustness_results,
    )

    rob, run = cfg["robustness"], cfg["run"]
    res = fit_robustness(study.firm_year, rob, seed=run["seed"], progress=progress,
                         labels=codebook_labels(study.codebook),
                         outcome=primary_outcome(cfg.claims))
    from ipnstats.ipn.identification import fit_identification

    progress("identification: Honest DiD, sensemakr and Oster's delta")
    identification, fitted = fit_identification(
        study.firm_year, outcome=res.outcome, covariates=tuple(cfg["H1"]["covariates"]),
        n_boot=run["n_boot"], seed=run["seed"],
        threshold=study.codebook.disclosure_threshold,
        instruments=tuple(cfg["H1"]["selection_instruments"]))
    findings = {**robustness_findings(res), "methods": method_facts(res.curve, rob),
                "identification": identification}
    return StageOutput(findings=findings, results={**robustness_results(res), **fitted},
                       seeds={"wild bootstrap": run["seed"]})


# -- the exchange network -------------------------------------------------------------------

def _network(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.network_findings import fit_network

    run = cfg["run"]
    progress("network: social relations, network position, dyadic SEs, peer composition")
    exchanges = None if "exchanges" in study.skipped else study.exchanges
    findings, results = fit_network(exchanges, study.firm_year,
                                    threshold=study.codebook.disclosure_threshold,
                                    firms=study.tables.get("firms"),
                                    outcome=primary_outcome(cfg.claims), seed=run["seed"])
    return StageOutput(findings=findings, results=results,
                       seeds={"peer randomization": run["seed"]})


# -- extra models -----------------------------------------------------------------------------

def _models(study: Study, cfg: StudyConfig, progress) -> StageOutput:
    from ipnstats.ipn.models import fit_models, models_claims, models_findings, models_results

    fits = fit_models(study.firm_year, cfg.models)
    claimed = declared(cfg, "models")
    claims, _ = _verdicts(cfg, models_claims(fits, claimed), [])
    findings = models_findings(fits, cfg.models, codebook_labels(study.codebook))
    return StageOutput(findings={**findings, "declared": claimed}, claims=claims,
                       results=models_results(fits))


STAGES: tuple[Stage, ...] = (
    Stage("h1", "H1: participation and performance", FIRM_YEAR_INPUTS,
          ("run", "H1", "verdict", "claims:h1"), _h1, "H1"),
    Stage("h2", "H2: framing", EXCHANGE_INPUTS, ("run", "H2", "verdict", "claims:h2"), _h2,
          "H2"),
    Stage("h3", "H3: senders and learning curves", TASK_INPUTS,
          ("run", "H3", "verdict", "claims:h3"), _h3, "H3"),
    Stage("robustness", "Robustness of the primary H1 effect", FIRM_YEAR_INPUTS,
          ("run", "robustness", "primary", "h1_covariates"), _robustness, "H1"),
    Stage("network", "Who learns from whom: the exchange network", EXCHANGE_INPUTS,
          ("run", "primary"), _network, "H2"),
    Stage("models", "Additional models", FIRM_YEAR_INPUTS,
          ("models", "verdict:models", "claims:models"), _models),
    Stage("data", "Data and measurement", None, ("study",), _data),
)


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise ConfigError(f"unknown stage {name!r}; the stages are "
                     f"{', '.join(s.name for s in STAGES)}")


def active(cfg: StudyConfig) -> tuple[Stage, ...]:
    """The stages a configuration runs (a family left out of [run] hypotheses is skipped)."""
    return tuple(s for s in STAGES if not s.family or s.family in cfg.families)


__all__ = ["STAGES", "Stage", "StageOutput", "active", "stage"]
