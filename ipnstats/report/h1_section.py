"""The H1 section of the study report: does joining an IPN raise firm performance?

:func:`render_h1` renders the stored H1 stage document (the findings of
:func:`ipnstats.ipn.h1_findings.h1_findings` and the adjudicated claims): a table or
figure per analysis, each with a two-sentence reading (what the estimate shows, how
sure we are), and the claims with whether the data support each. Every model's
warnings (pre-trends, few clusters, collinearity, cells without controls) are written
once, for readers, in the "Estimation notes" appendix; each table's notes name those
that concern its models. Nothing is estimated here: every number and every condition that
chooses a reading's wording comes from the stored document.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ipnstats.figures.bands import event_study_figure
from ipnstats.ipn.claims import claims_from_json, contrast, num
from ipnstats.report.claims import ci_text as _ci
from ipnstats.report.claims import claims_table, not_testable_text
from ipnstats.report.claims import p_text as _p
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import for_readers, noted_regression_table, reader_label
from ipnstats.report.missing_section import render_imputed
from ipnstats.results.stored import StoredModel, frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

ESTIMATORS = ("TWFE", "CS", "CS + covariates", "Sun-Abraham")
MEDIATION_LABELS = {"a::perceived_learning": "Membership → perceived learning (a)",
                    "b::perceived_learning": "Perceived learning → next-year log revenue (b)",
                    "direct": "Direct effect (c')", "total": "Total effect (c)",
                    "indirect::perceived_learning": "Indirect effect (a × b)"}
#: Labels of the subgroup indicators of H1e (defined in the H1 findings, not the codebook).
SUBGROUPS = {"young_join": ("Young at joining", "young"),
             "small_join": ("Small at joining", "small")}


def render_h1(report: Report, doc: dict) -> Report:
    """Add the H1 section of a stored stage document (``results/h1.json``): the heading,
    the analyses H1a-H1f with readings, and the claims table."""
    report = _analyses(report, doc["findings"])
    return claims_table(report, claims_from_json(doc["claims"]), "H1",
                        doc["findings"]["rule"])


def _analyses(report: Report, findings: dict) -> Report:
    """Add the H1 heading and the analyses H1a-H1f with readings (no claims table)."""
    report = report.add_heading("H1: Does joining an Industry Peer Network raise firm "
                                "performance?")
    report = report.add_text(
        "Firms join in different years, so the participation effect is estimated by "
        "staggered difference-in-differences: each cohort of joiners is compared with "
        "firms that have not joined yet, from the year before joining on (Callaway & "
        "Sant'Anna 2021). The two-way fixed-effects regression and Sun & Abraham's "
        "estimator are shown beside it. Standard errors are clustered by firm.")
    parts = ((_participation, "H1a", "the participation effect"),
             (_event_and_stages, "H1b", "novice to expert"),
             (_mediation, "H1c", "learning as the mechanism"),
             (_practices, "H1d", "cooperative and competitive practices"),
             (_heterogeneity, "H1e", "who benefits"),
             (_hazard, "H1f", "disengagement"))
    for part, code, title in parts:
        f = findings[code]
        if "unavailable" in f:
            report = report.add_heading(f"{code}: {title}", 2).add_text(
                not_testable_text(f["unavailable"]))
        else:
            report = part(report, f, findings)
    return report


def _pct(log_points: float) -> str:
    return f"{100 * (np.exp(log_points) - 1):.1f}%"


def _models(stored: list[dict]) -> list[StoredModel]:
    return [StoredModel.from_json(m) for m in stored]


def _label(findings: dict, column: str) -> str:
    """A column's label: the codebook's (stored with the findings), else its name."""
    return findings.get("labels", {}).get(column) or column.replace("_", " ").capitalize()


def _labels(findings: dict) -> dict[str, str]:
    """The codebook labels with those of the H1e subgroup indicators and the exit
    indicator the hazard models derive."""
    return ({"exit": "Exit from the network"} | {k: v[0] for k, v in SUBGROUPS.items()}
            | dict(findings.get("labels", {})))


def _units(findings: dict, outcome: str) -> str:
    """What an effect on ``outcome`` is measured in, for a table note."""
    if outcome.startswith("log_"):
        return ("Effects in log points (0.05 is about 5%) of "
                f"{reader_label(outcome, findings.get('labels', {}))}.")
    return (f"Effects are differences in {reader_label(outcome, findings.get('labels', {}))}, "
            "in its recorded units.")


def _subgroup(term: str) -> str:
    """``ATT[young_join=1] - ATT[young_join=0]`` -> ``Difference, young − not young``."""
    cells = re.findall(r"ATT\[(\w+)=(\d)\]", term)
    if not cells:
        return for_readers(term, {})
    name = cells[0][0]
    label, word = SUBGROUPS.get(name, (name.replace("_", " ").capitalize(),
                                       name.replace("_", " ")))
    if len(cells) == 2:
        return f"Difference, {word} − not {word}"
    return label if cells[0][1] == "1" else f"Not {label[0].lower()}{label[1:]}"


def _outcome(findings: dict) -> str:
    """The H1 family's primary outcome (H1a's, declared in the configuration)."""
    return findings.get("outcome", "log_revenue")


def _in_log_points(findings: dict) -> str:
    """`` (log points)`` for a logged primary outcome, else nothing."""
    return " (log points)" if _outcome(findings).startswith("log_") else ""


def _primary(findings: dict) -> str:
    """The primary outcome's label, in running text ("log revenue")."""
    label = _label(findings, _outcome(findings))
    return label[:1].lower() + label[1:]


def _participation(report: Report, f: dict, findings: dict) -> Report:
    report = report.add_heading("H1a: the participation effect", 2)
    for entry in f["outcomes"]:
        outcome = entry["outcome"]
        label = _label(findings, outcome)
        if "unavailable" in entry:
            report = report.add_text(f"{label}: not estimable ({entry['unavailable']})")
            continue
        report = report.add_table(noted_regression_table(
            _models(entry["models"]), keep=["ATT"],
            labels={**findings.get("labels", {}), "ATT": "Effect of joining"},
            model_names=ESTIMATORS, stats=("nobs", "n_units"),
            title=f"Effect of joining an IPN on {label.lower()}", label=f"h1a-{outcome}",
            notes=("TWFE: two-way fixed effects on the member indicator. CS: Callaway-Sant'Anna "
                   "simple ATT, not-yet-joined firms as controls. CS + covariates: doubly "
                   f"robust on {_covariates(findings)} in the base "
                   "year. Sun-Abraham: interaction-weighted average of post-joining effects, "
                   "never-members as controls.", _units(findings, outcome))))
    row = f["primary"]
    sure = ("The interval excludes zero" if f["excludes_zero"]
            else "The interval includes zero, so the data cannot rule out no effect")
    trust = (", but the pre-trend test rejects parallel trends, so it may be biased."
             if f["pretrend_rejected"]
             else "; the years before joining do not contradict parallel trends.")
    amount = (f"{row['estimate']:.3f} log points (about {_pct(row['estimate'])})"
              if _outcome(findings).startswith("log_") else f"{row['estimate']:.3f}")
    text = (f"Reading: in the years after joining, members' {_primary(findings)} was "
            f"{amount} higher than "
            f"that of comparable firms that had not joined yet (Callaway-Sant'Anna, {_ci(row)}, "
            f"{_p(row['p_value'])}). {sure}{trust} The TWFE estimate ({f['twfe']:.3f}) is "
            "smaller because it also compares late joiners with firms that joined earlier, "
            "whose effects were still growing.")
    return report.add_text(text)


def _covariates(findings: dict) -> str:
    labels = findings.get("labels", {})
    return " and ".join(reader_label(c, labels) for c in findings["covariates"]) or \
        "no covariates"


def _event_and_stages(report: Report, f: dict, findings: dict) -> Report:
    pre = f["pretrend"]
    report = report.add_heading("H1b: novice to expert", 2)
    report = report.add_figure(event_study_figure(frame_from_json(f["event"]),
                                                  xlabel="Years since joining",
                                                  ylabel=f"Effect on {_primary(findings)}"
                                                         + _in_log_points(findings)),
                               f"Effect of joining on {_primary(findings)} by years since "
                               "joining "
                               "(Callaway-Sant'Anna, firm-clustered). Whiskers: pointwise 95% "
                               "intervals; shading: simultaneous 95% band.")
    verdict = ("which casts doubt on parallel trends" if pre["rejected"]
               else "as parallel trends require")
    report = report.add_text(
        f"Reading: the effect is {f['effect_at_joining']:.3f} log points in the year of "
        f"joining and {f['effect_at_last']:.3f} after {f['last_event']} years. Before joining the "
        f"estimates are jointly {'different from' if pre['rejected'] else 'not different from'}"
        f" zero (chi2({pre['df']}) = {pre['statistic']:.2f}, {_p(pre['p_value'])}), "
        f"{verdict}.")
    stages = frame_from_json(f["stages"])
    stages["stage"] = stages["stage"].str.capitalize()
    report = report.add_table(frame_table(stages, labels={
        "stage": "Stage", "estimate": "Effect", "std_error": "SE", "conf_low": "95% CI low",
        "conf_high": "95% CI high", "n": "Member years"}, digits=3,
        title=f"Effect of membership on {_primary(findings)} by stage", label="h1b-stages",
        notes=("Imputation estimator (Borusyak, Jaravel & Spiess 2024): firm and year effects "
               "fitted on years before joining and on never-members; firm-cluster bootstrap, "
               f"{f['n_boot']} draws. Stages by tenure: novice 0–1, developing 2–3, "
               "expert 4+ years. " + _units(findings, _outcome(findings)),
               *(for_readers(n, _labels(findings)) for n in f["notes"]))))
    steps = "; ".join(f"{contrast(r.contrast)} {num(r.estimate, sign=True)} "
                      f"(one-sided {_p(r.p_value)})"
                      for r in frame_from_json(f["steps"]).itertuples())
    verdict = ("Each step is significant, so the effect rises from novice to expert."
               if f["every_step"] else
               "Not every step is significant, so a steady rise is not established.")
    return report.add_text(f"Reading: the effect changes with tenure ({steps}). {verdict}")


def _mediation(report: Report, f: dict, findings: dict) -> Report:
    frame = frame_from_json(f["paths"])
    labels = {k: v.replace("log revenue", _primary(findings))
              for k, v in MEDIATION_LABELS.items()}
    frame = frame.assign(term=frame["term"].map(labels),
                         p_value=frame["p_value"].map(fmt_p)).rename(columns={"term": "path"})
    table = frame_table(frame, labels={
        "path": "Path", "estimate": "Estimate", "std_error": "SE", "conf_low": "95% CI low",
        "conf_high": "95% CI high", "p_value": "p"}, digits=3,
        title="Mediation of the membership effect by perceived learning", label="h1c-mediation",
        notes=(f"Member and perceived learning in year t, {_primary(findings)} in t + 1; firm "
               "and year "
               "effects swept out of all three. Path SEs clustered by firm; indirect effect: "
               f"firm-cluster bootstrap, {f['n_boot']:,} draws, percentile interval (the "
               "within transformation is not redone within draws). The perceived-learning "
               "scale's factor structure, reliability and invariance: Measurement section.",
               *(for_readers(n, _labels(findings)) for n in f["notes"])))
    ind = f["indirect"]
    sure = ("The bootstrap interval excludes zero, so learning carries part of the effect."
            if f["excludes_zero"] else
            "The bootstrap interval includes zero, so the mechanism is not established.")
    text = (f"Reading: membership raises perceived learning by {f['a']:.2f} scale points, and "
            f"each point goes with {f['b']:.3f} more {_primary(findings)} the next year: an "
            "indirect "
            f"effect of {ind['estimate']:.3f} ({_ci(ind)}), "
            f"{100 * f['proportion_mediated']:.0f}% of the total. {sure}")
    report = report.add_heading("H1c: learning as the mechanism", 2)
    report = report.add_table(table).add_text(text)
    return render_imputed(report, f.get("imputed"))


def _practices(report: Report, f: dict, findings: dict) -> Report:
    coop, comp, equal = f["p_cooperative"], f["p_competitive"], f["p_equal"]
    report = report.add_heading("H1d: cooperative and competitive practices", 2)
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["model"])], labels=_labels(findings),
        model_names=[_label(findings, _outcome(findings))],
        stats=("nobs", "n_units", "r2_within"),
        label="h1d-practices",
        title=f"Practices and {_primary(findings)}, within member firms",
        notes=("Member years only; firm and year fixed effects; SEs clustered by firm.",
               f"Cooperative block = 0: {_p(coop)}. Competitive block = 0: {_p(comp)}. Equal "
               f"blocks (mean coefficient per SD of each practice): {_p(equal)}.")))
    text = ("Reading: within a member firm, years of more attendance and disclosure "
            "(cooperative) and of more critiques and a better benchmark rank (competitive) go "
            f"with higher revenue; the cooperative block is jointly "
            f"{_sig(f['cooperative_significant'])} ({_p(coop)}) and the competitive block "
            f"{_sig(f['competitive_significant'])} ({_p(comp)}). Per standard deviation of "
            "each practice, the two blocks "
            + ("differ" if f["blocks_differ"] else "do not differ significantly")
            + f" ({_p(equal)}).")
    return report.add_text(text)


def _sig(significant: bool) -> str:
    return "significant" if significant else "not significant"


def _joiners(n: float, suppressed: bool, k: int) -> str:
    if suppressed:
        return f"<{k}" if k > 2 else "—"
    return "—" if pd.isna(n) else f"{int(n):,}"


def _hidden_note(rows: pd.DataFrame, k: int) -> tuple[str, ...]:
    """Why cells of the subgroup table are blank, when some are."""
    if not rows["suppressed"].any():
        return ()
    return (f"Subgroups of fewer than {k} joiners are not shown, nor the other subgroup of "
            "the same split, nor the split's difference and its interaction with membership "
            "(Table of interactions), so that none can be derived from the total number of "
            "joiners or from another estimate.",)


def _heterogeneity(report: Report, f: dict, findings: dict) -> Report:
    k = findings["threshold"]
    rows = frame_from_json(f["subgroups"])
    if "withheld" not in rows:
        rows = rows.assign(withheld=False)
    hidden = _hidden_note(rows, k)
    rows = rows.assign(p_value=rows["p_value"].map(fmt_p),
                       term=rows["term"].map(_subgroup),
                       n=[_joiners(n, s, k) for n, s in zip(rows["n"], rows["suppressed"],
                                                           strict=True)])
    report = report.add_heading("H1e: who benefits", 2)
    report = report.add_table(frame_table(rows.drop(columns=["suppressed", "withheld"]), labels={
        "term": "Subgroup", "estimate": "ATT", "std_error": "SE", "p_value": "p",
        "n": "Joiners"}, digits=3, title="Effect of joining by age and size at joining",
        label="h1e-subgroups", notes=(*(_definition(d) for d in f["definitions"]),
            "Callaway-Sant'Anna simple ATT per subgroup (all not-yet-joined firms as controls); "
            "differences with SEs from the firms' influence functions. "
            + _units(findings, _outcome(findings)),
            *hidden, *(for_readers(n, _labels(findings)) for n in f["notes"]))))
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["interaction"])], labels=_labels(findings),
        model_names=[_label(findings, _outcome(findings))],
        stats=("nobs", "n_units"), title="Membership effect with interactions",
        label="h1e-interactions", notes=hidden))
    d = f["young"]
    if d is None:
        return report.add_text(f"Reading: {f.get('young_missing', 'no young joiners')}, so the "
                               "claim is not testable with these data.")
    text = (f"Reading: firms that joined young gained {d['estimate']:+.3f} more than older "
            f"joiners ({_ci(d)}). "
            + ("The difference is significant, in line with the claim that IPNs help most at an "
               "early growth stage." if d["significant"] else
               "The difference is not significant, so the data do not show that young joiners "
               "benefit more."))
    return report.add_text(text)


def _definition(text: str) -> str:
    """``young_join: cohort - founded_year < 5 (joiners only)`` in words."""
    name, _, rule = text.partition(": ")
    words = {"young_join": "Young at joining: founded less than 5 years before joining "
                           "(joiners only).",
             "small_join": "Small at joining: fewer than 10 employees in the base year."}
    if name in words and rule.replace(" ", "") in ("cohort-founded_year<5(joinersonly)",
                                                  "employees_baseline<10"):
        return words[name]
    return for_readers(text, {k: v[0] for k, v in SUBGROUPS.items()})


def _hazard(report: Report, f: dict, findings: dict) -> Report:
    report = report.add_heading("H1f: disengagement", 2)
    report = report.add_table(noted_regression_table(
        _models([f["logit"], f["cox"]]), labels=_labels(findings),
        model_names=["Logit", "Cox"],
        stats=("nobs", "n_units"), title="Exit from the network", label="h1f-hazard",
        notes=("Logit: discrete-time hazard of leaving (member in t, not in t + 1) on member "
               "years with peer-group and year effects, SEs clustered by firm. Cox: "
               "proportional hazards on membership spells, robust SEs clustered by firm.",)))
    row = f["rank"]
    text = (f"Reading: a member ranked at the top of its group's benchmark rather than the "
            f"bottom has {row['estimate']:+.2f} log-odds of leaving the next year "
            f"({_ci(row)}). "
            + ("Low-ranked firms are significantly more likely to leave: competition can push "
               "firms out." if f["significant"] else
               "The data do not show that low-ranked firms leave more."))
    return report.add_text(text)


__all__ = ["render_h1"]
