"""The robustness section of the primary H1 effect, rendered from its stored findings.

The findings are those of :func:`ipnstats.ipn.robustness.robustness_findings`: the
specification curve (figure, table by choice, reading) and the primary effect under
alternative clusterings, then the identification checks
(:mod:`ipnstats.report.identification_section`). Nothing is fitted here.
"""

from __future__ import annotations

import math

import pandas as pd

from ipnstats.figures.speccurve import specification_curve_plot
from ipnstats.report.document import Report
from ipnstats.report.identification_section import render_identification
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

TITLE = "Robustness of the primary H1 effect"
INTRO = ("Does the effect of joining on performance depend on how it is estimated? The "
         "specification curve (Simonsohn, Simmons & Nelson 2020) estimates it under every "
         "combination of the choices a reasonable analyst could make; the second table "
         "changes only how the standard errors are clustered.")
CURVE_CAPTION = ("Specification curve of the effect of joining. Top: estimates with 95% "
                 "intervals, sorted; filled: significant in the claimed (positive) direction. "
                 "Bottom: the choices behind each estimate.")
CURVE_NOTE = ("{estimated} of {specs} specifications could be estimated; the others "
              "cannot be (e.g. Sun-Abraham takes no covariates). Estimates are in each "
              "outcome's own units (log points for log revenue). The no-exits sample "
              "keeps firms that never left the network, a choice made after joining: it "
              "selects the survivors, and its larger estimates should be read that way.")
CLUSTERING_NOTES = (
    "First peer group: the group a firm first joined; never-members are their own "
    "clusters. Firm and year: two-way clustering (Cameron, Gelbach & Miller 2011), "
    "TWFE only.",
    "Wild cluster bootstrap p (restricted, as boottest; {draws:,} draws, seed {seed}) for "
    "every TWFE clustering with fewer than {min_clusters} clusters, where cluster-robust "
    "standard errors are unreliable; two-way clusterings are bootstrapped over their "
    "smaller dimension. '—': enough clusters.")


def render_robustness(report: Report, doc: dict) -> Report:
    """The robustness section of a stored ``robustness`` stage document."""
    findings = doc["findings"]
    report = report.add_heading(TITLE).add_text(INTRO)
    report = _curve(report, findings["specification_curve"])
    label = _primary_label(findings["specification_curve"])
    report = _clustering(report, findings["clustering"], label)
    return render_identification(report, findings.get("identification"), label)


def _number(value) -> float:
    """A stored number (``None`` for NaN) as a float."""
    return math.nan if value is None else float(value)


def _curve(report: Report, curve: dict) -> Report:
    labels = curve["labels"]
    estimates = frame_from_json(curve["estimates"])
    figure = specification_curve_plot(
        estimates, choices=curve["choices"], labels=labels, conf_level=1 - curve["alpha"],
        direction=curve["direction"], n_specs=curve["n_specs"])
    report = report.add_heading("Specification curve", 2).add_figure(figure, CURVE_CAPTION)
    by = frame_from_json(curve["by_choice"])
    by["dimension"] = by["dimension"].str.capitalize()
    by["choice"] = [labels.get(c, c) for c in by["choice"]]
    report = report.add_table(frame_table(by, labels={
        "dimension": "Choice", "choice": "Option", "n": "Specifications",
        "median": "Median estimate", "share": "Share significant > 0"}, digits=3,
        title="Specification curve by choice", label="spec-curve-choices", notes=(
            CURVE_NOTE.format(estimated=curve["n_estimated"], specs=curve["n_specs"]),)))
    return report.add_text(_reading(curve))


def _reading(curve: dict) -> str:
    primary = curve["primary"]
    text = (f"Reading: {100 * _number(curve['share_same']):.0f}% of the "
            f"{curve['n_estimated']} estimated specifications find a significantly positive "
            f"effect of joining ({100 * _number(curve['share_opposite']):.0f}% a "
            "significantly negative one); ")
    label = _primary_label(curve)
    if not primary["estimated"]:
        return text + f"{label}, the primary outcome, has no estimated specification."
    return text + (f"on {label}, the primary outcome, "
                   f"{100 * _number(primary['share_same']):.0f}% of {primary['n']} do, with "
                   f"a median estimate of {_number(primary['median']):.3f}.")


def _primary_label(curve: dict) -> str:
    """The primary outcome's label, in running text ("log revenue")."""
    outcome = curve["primary"]["outcome"]
    label = curve["labels"].get(outcome, outcome)
    return label[:1].lower() + label[1:]


def _clustering(report: Report, clustering: dict, outcome: str = "log revenue") -> Report:
    frame = pd.DataFrame([_row(r) for r in clustering["rows"]],
                         columns=["estimator", "cluster", "G", "estimate", "std_error", "p",
                                  "wild"])
    notes = (CLUSTERING_NOTES[0], CLUSTERING_NOTES[1].format(
        draws=clustering["wild_draws"], seed=clustering["seed"],
        min_clusters=clustering["min_clusters"]))
    return report.add_heading("Alternative clustering", 2).add_table(frame_table(
        frame, labels={"estimator": "Estimator", "cluster": "Clusters by", "G": "Clusters",
                       "estimate": "Effect", "std_error": "SE", "p": "p",
                       "wild": "Wild bootstrap p"}, digits=3,
        title=f"The primary effect on {outcome} under alternative clusterings",
        label="clustering", notes=notes))


def _row(row: dict) -> dict:
    if "unavailable" in row:
        return {"estimator": row["estimator"], "cluster": row["cluster"], "G": "—",
                "estimate": math.nan, "std_error": math.nan,
                "p": f"not estimable: {row['unavailable']}", "wild": "—"}
    wild = "—"
    if row.get("wild"):
        w = row["wild"]
        by = f", by {w['by']}" if w["by"] else ""
        wild = f"{fmt_p(_number(w['p_value']))} ({w['weights']}{by})"
    return {"estimator": row["estimator"], "cluster": row["cluster"],
            "G": f"{int(row['n_clusters']):,}", "estimate": _number(row["estimate"]),
            "std_error": _number(row["std_error"]), "p": fmt_p(_number(row["p_value"])),
            "wild": wild}


__all__ = ["render_robustness"]
