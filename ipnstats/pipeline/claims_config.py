"""Declared claims: the ``[[claims]]`` tables of a study configuration.

A claim names its ``id`` ("H1a"), ``family`` (the claims adjusted together for
multiplicity, "H1"), ``text`` (what it asserts, as the verdict table prints it), the
``analysis`` whose test decides it (one of :data:`ANALYSES`, or the ``name`` of a
``[[models]]`` entry), its ``outcome``, the tested quantity ``term``, the ``direction``
("greater", "less", "two-sided") and, for a null claim, ``sesoi`` (the smallest effect of
interest: it bounds the equivalence tests of the falsification checks filed under the
claim's id). A configuration without ``[[claims]]`` declares
:data:`DEFAULT_CLAIMS`, H1a-H3c as ipnstats ships them.

The first ``participation`` claim of family H1 names the H1 family's primary outcome: the
outcome of the event study, the tenure stages, the mediation, the practices, who benefits
and the robustness of the primary effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

#: The four estimators of a participation analysis, in the order they are fitted.
PARTICIPATION_TERMS = ("twfe", "cs", "cs_covariates", "sunab")
DIRECTIONS = ("greater", "less", "two-sided")
CLAIM_KEYS = {"id": str, "family": str, "text": str, "analysis": str, "outcome": str,
              "term": str, "direction": str, "sesoi": float}
REQUIRED = ("id", "family", "text", "analysis")
MAX_CLAIMS = 50


@dataclass(frozen=True)
class Analysis:
    """What a study analysis offers a claim: the stage that fits it, the frame its
    outcome is a column of, the outcome it fixes (``""``: any column of the frame), the
    terms it tests (empty: any) and the directions its test has."""

    stage: str
    frame: str
    outcome: str = ""
    terms: tuple[str, ...] = ()
    directions: tuple[str, ...] = DIRECTIONS


#: The analyses of the study layer a claim can rest on, by name.
ANALYSES: dict[str, Analysis] = {
    "participation": Analysis("h1", "firm_year", terms=PARTICIPATION_TERMS),
    "stages": Analysis("h1", "firm_year", terms=("all steps",), directions=("greater",)),
    "mediation": Analysis("h1", "firm_year", terms=("indirect::perceived_learning",),
                          directions=("greater",)),
    "practices": Analysis("h1", "firm_year", terms=("both blocks",),
                          directions=("two-sided",)),
    "heterogeneity": Analysis("h1", "firm_year", terms=("young - old",),
                              directions=("greater",)),
    "exit_hazard": Analysis("h1", "firm_year", "exit", ("benchmark_rank_pct",), ("less",)),
    "framing": Analysis("h2", "exchanges", "cognitive_shift", ("loss - gain",), ("greater",)),
    "behavior": Analysis("h2", "exchanges", "behavior_change", ("interaction",),
                         ("greater",)),
    "loss_aversion": Analysis("h2", "exchanges", "cognitive_shift", ("interaction",),
                              ("greater",)),
    "questions": Analysis("h2", "exchanges", "n_questions", ("association",),
                          ("two-sided",)),
    "senders": Analysis("h3", "exchanges", "cognitive_shift", ("sender_risk_aversion",),
                        ("greater",)),
    "learning_curve": Analysis("h3", "tasks", "outcome", ("log_cum_experience_x_exposure",),
                               ("greater",)),
    "triangulation": Analysis("h3", "tasks", "outcome", ("sources - experience",),
                              ("greater",)),
}
#: The analyses whose outcome follows the H1 family's primary outcome.
PRIMARY_OUTCOME_ANALYSES = ("stages", "mediation", "practices", "heterogeneity")


def _claim(id_, text, analysis, term, direction, outcome=None):
    family = id_[:2]
    outcome = outcome or ANALYSES[analysis].outcome or "log_revenue"
    return MappingProxyType({"id": id_, "family": family, "text": text, "analysis": analysis,
                             "outcome": outcome, "term": term, "direction": direction})


#: H1a-H3c as ipnstats ships them (``analyses/ipn_study.toml`` declares the same).
DEFAULT_CLAIMS: tuple[MappingProxyType, ...] = (
    _claim("H1a", "Joining an IPN raises firm performance (log revenue)", "participation",
           "cs", "greater"),
    _claim("H1b", "The effect grows from novice to expert", "stages", "all steps", "greater"),
    _claim("H1c", "Perceived learning carries the effect to performance", "mediation",
           "indirect::perceived_learning", "greater"),
    _claim("H1d", "Cooperative and competitive practices each matter", "practices",
           "both blocks", "two-sided"),
    _claim("H1e", "IPNs help firms most at an early growth stage (young joiners)",
           "heterogeneity", "young - old", "greater"),
    _claim("H1f", "Competition pushes low-ranked firms to disengage", "exit_hazard",
           "benchmark_rank_pct", "less"),
    _claim("H2a", "Loss-framed exchanges shift cognition more than gain-framed ones",
           "framing", "loss - gain", "greater"),
    _claim("H2b", "Cognition turns into behavior mainly under loss framing", "behavior",
           "interaction", "greater"),
    _claim("H2c", "Receivers' loss aversion amplifies loss framing", "loss_aversion",
           "interaction", "greater"),
    _claim("H2d", "Different question types for different senders, about three questions "
           "each", "questions", "association", "two-sided"),
    _claim("H3a", "Receivers learn more from risk-averse senders than from outward traits",
           "senders", "sender_risk_aversion", "greater"),
    _claim("H3b", "Exposure to risk-averse senders steepens the learning curve",
           "learning_curve", "log_cum_experience_x_exposure", "greater"),
    _claim("H3c", "More information sources teach more than more experience", "triangulation",
           "sources - experience", "greater"),
)


def claims_from_raw(raw, models: tuple, path: Path,
                    problems: list[str]) -> tuple[MappingProxyType, ...]:
    """The checked ``[[claims]]`` tables (``raw`` is None: :data:`DEFAULT_CLAIMS`);
    ``models`` the checked ``[[models]]`` entries, whose names are analyses too. Every
    problem is appended to ``problems`` with the file and the key."""
    if raw is None:
        return DEFAULT_CLAIMS
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        problems.append(f"{path}: [[claims]] must be an array of tables (write [[claims]] "
                        "above each claim)")
        return DEFAULT_CLAIMS
    if len(raw) > MAX_CLAIMS:
        problems.append(f"{path}: {len(raw):,} [[claims]]; at most {MAX_CLAIMS}")
    named = {m["name"]: m for m in models if isinstance(m.get("name"), str)
             and isinstance(m.get("formula"), str)}
    out, seen = [], set()
    for i, given in enumerate(raw[:MAX_CLAIMS]):
        where = f"{path}: [[claims]] #{i + 1}"
        claim = _one_claim(given, named, where, problems)
        if claim is None:
            continue
        if claim["id"] in seen:
            problems.append(f"{where}: id {claim['id']!r} is declared more than once")
        seen.add(claim["id"])
        out.append(claim)
    primary = primary_outcome(out)
    for i, claim in enumerate(out):
        if claim["analysis"] not in PRIMARY_OUTCOME_ANALYSES:
            continue
        if not claim["outcome"]:
            out[i] = MappingProxyType({**claim, "outcome": primary})
        elif claim["outcome"] != primary:
            problems.append(f"{path}: [[claims]] {claim['id']}: the {claim['analysis']} "
                            f"analysis is fitted on the H1 family's primary outcome "
                            f"{primary!r} (the outcome of its first participation claim); "
                            f"outcome = {claim['outcome']!r} differs")
    return tuple(out)


def _one_claim(given: dict, models: dict, where: str,
               problems: list[str]) -> MappingProxyType | None:
    before = len(problems)
    for key in sorted(set(given) - set(CLAIM_KEYS)):
        problems.append(f"{where}: unknown key {key!r} (known: {', '.join(CLAIM_KEYS)})")
    for key in REQUIRED:
        if key not in given:
            problems.append(f"{where}: {key} is required")
    claim = {}
    for key, kind in CLAIM_KEYS.items():
        value = given.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            problems.append(f"{where}: {key} = {value!r} must be {kind.__name__}")
        elif kind is str and value is not None and not value.strip():
            problems.append(f"{where}: {key} is empty")
        elif value is not None:
            claim[key] = value
    if len(problems) > before:
        return None
    name = f"{where} ({claim['id']})"
    claim.setdefault("direction", "greater")
    if claim["direction"] not in DIRECTIONS:
        problems.append(f"{name}: direction = {claim['direction']!r} must be one of "
                        f"{', '.join(DIRECTIONS)}")
    if "sesoi" in claim and not claim["sesoi"] > 0:
        problems.append(f"{name}: sesoi = {claim['sesoi']!r} must be a positive number (the "
                        "smallest effect of interest, in the units of the estimate)")
    if claim["analysis"] in models:
        _model_claim(claim, models[claim["analysis"]], name, problems)
    elif claim["analysis"] in ANALYSES:
        _analysis_claim(claim, ANALYSES[claim["analysis"]], name, problems)
    else:
        problems.append(f"{name}: analysis = {claim['analysis']!r} is neither a study analysis "
                        f"({', '.join(ANALYSES)}) nor the name of a [[models]] entry"
                        + (f" ({', '.join(map(repr, models))})" if models else ""))
    return MappingProxyType(claim)


def _model_claim(claim: dict, model, name: str, problems: list[str]) -> None:
    outcome = model["formula"].split("~", 1)[0].strip()
    claim.setdefault("outcome", outcome)
    if claim["outcome"] != outcome:
        problems.append(f"{name}: outcome = {claim['outcome']!r}, but [[models]] "
                        f"{model['name']!r} models {outcome!r}")
    if "term" not in claim:
        problems.append(f"{name}: term is required for a claim on a [[models]] entry (the "
                        "coefficient it tests, e.g. term = \"member\")")


def _analysis_claim(claim: dict, analysis: Analysis, name: str, problems: list[str]) -> None:
    if analysis.outcome:
        claim.setdefault("outcome", analysis.outcome)
        if claim["outcome"] != analysis.outcome:
            problems.append(f"{name}: the {claim['analysis']} analysis models "
                            f"{analysis.outcome!r}; outcome = {claim['outcome']!r} cannot "
                            "change that")
    elif "outcome" not in claim and claim["analysis"] in PRIMARY_OUTCOME_ANALYSES:
        claim["outcome"] = ""  # the primary outcome, filled in by claims_from_raw
    elif "outcome" not in claim:
        problems.append(f"{name}: outcome is required for a {claim['analysis']} claim")
    claim.setdefault("term", analysis.terms[0] if analysis.terms else "")
    if analysis.terms and claim["term"] not in analysis.terms:
        problems.append(f"{name}: term = {claim['term']!r}; the {claim['analysis']} analysis "
                        f"tests {', '.join(map(repr, analysis.terms))}")
    if claim["direction"] not in analysis.directions:
        problems.append(f"{name}: direction = {claim['direction']!r}; the "
                        f"{claim['analysis']} test is {', '.join(analysis.directions)}")


def stage_of(claim) -> str:
    """The stage that decides a claim: its analysis's, or "models" for a [[models]] entry."""
    analysis = ANALYSES.get(claim["analysis"])
    return analysis.stage if analysis else "models"


def primary_outcome(claims, default: str = "log_revenue") -> str:
    """The H1 family's primary outcome: that of its first participation claim (else
    ``default``)."""
    return next((c["outcome"] for c in claims if c["family"] == "H1"
                 and c["analysis"] == "participation" and c.get("outcome")), default)


__all__ = ["ANALYSES", "DEFAULT_CLAIMS", "DIRECTIONS", "PARTICIPATION_TERMS", "Analysis",
           "claims_from_raw", "primary_outcome", "stage_of"]
