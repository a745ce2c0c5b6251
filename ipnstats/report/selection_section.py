"""Self-selection into membership, modelled, in the identification part of the robustness
section: rendered from the stored findings of
:func:`ipnstats.ipn.selection_model.selection_findings` (the event study's DiD effect,
least squares and the endogenous-treatment model of growth over the same horizon).
Nothing is fitted here.
"""

from __future__ import annotations

import pandas as pd

from ipnstats.report.claims import not_testable_text
from ipnstats.report.document import Report
from ipnstats.tables.frame import frame_table

HEADING = "Selection on unobservables: the endogenous-treatment model"


def render_selection(report: Report, selection: dict | None, outcome: str, *,
                     threshold: int) -> Report:
    """The three estimates of the effect of joining on growth, and what the model says
    about selection on unobservables (``selection``: the stored findings; None adds
    nothing). Groups smaller than the disclosure ``threshold`` are not shown."""
    if selection is None:
        return report
    report = report.add_heading(HEADING, 3)
    if "model" in selection and "unavailable" in selection["model"]:
        return report.add_text(not_testable_text(selection["model"]["unavailable"]))
    if min(selection["n_joiners"], selection["n_never"]) < threshold:
        return report.add_text(
            f"Not shown: a group has fewer firms than the disclosure threshold of {threshold}.")
    report = report.add_table(selection_table(selection, outcome))
    return report.add_text(selection_reading(selection))


def selection_table(selection: dict, outcome: str):
    """The effect of joining on the change in ``outcome`` by three designs."""
    h = selection["horizon"]
    rows = []
    twfe = selection.get("twfe")
    if twfe is not None:
        rows.append(_row("Event study (DiD), year " + str(twfe["event_time"] + 1)
                         + " of membership", twfe, "all firm-years"))
    n = selection["n_joiners"] + selection["n_never"]
    rows.append(_row("Least squares on the covariates", selection["ols"], f"{n:,} firms"))
    rows.append(_row("Endogenous treatment (ML)", selection["endogenous"], f"{n:,} firms"))
    test = selection["rho_test"]
    covs = ", ".join(c.replace("_", " ") for c in selection["covariates"]) or "none"
    inst = ", ".join(c.replace("_", " ") for c in selection["instruments"])
    identified = (f"Instruments, in the joining equation only: {inst}." if inst else
                  "No instrument: no variable is excluded from the growth equation, so the "
                  "model is identified by the normality of its errors alone.")
    note = (f"Outcome: the change in {outcome.replace('_', ' ')} from the reference year "
            f"(joiners: their last year before joining; never-members: the year nearest "
            f"to the joiners' median one) to {h} years later; firms without that year "
            f"({selection['n_without_later_year']:,}) and firms that were members from the "
            f"start ({selection['n_always_member']:,}) are left out. Covariates, in the "
            f"reference year: {covs}. Least squares: HC1 standard errors. Endogenous "
            f"treatment (Maddala 1983; Stata etregress): a probit of joining and a linear "
            f"growth equation with correlated errors; ρ = {selection['rho']:.2f}, "
            f"σ = {selection['sigma']:.3f}; likelihood-ratio test of ρ = 0: "
            f"χ²(1) = {test['statistic']:.2f}, p = {_p(test['p_value'])}. {identified} The "
            f"event study's effect is measured against the year before joining, the same "
            f"span.")
    return frame_table(pd.DataFrame(rows), labels={
        "design": "Design", "estimate": "Effect of joining", "se": "SE", "ci": "95% CI",
        "sample": "Sample"}, digits=3,
        title=f"The effect of joining on {h}-year growth, with and without selection on "
              "unobservables", label="selection_model", notes=(note,))


def selection_reading(selection: dict) -> str:
    """What the model says about selection on unobservables, in words."""
    e, o = selection["endogenous"], selection["ols"]
    rho, p = selection["rho"], selection["rho_test"]["p_value"]
    ratio = e["std_error"] / o["std_error"]
    text = (f"Reading: allowing the unobservables that make a firm join to also make it "
            f"grow, the effect of joining is {e['estimate']:.3f} (SE {e['std_error']:.3f}) "
            f"against {o['estimate']:.3f} (SE {o['std_error']:.3f}) by least squares; the "
            f"errors' correlation is {rho:.2f} ")
    if p < 0.05:
        text += (f"and differs from zero (p = {_p(p)}): "
                 + ("firms that join would have grown faster anyway, so the comparisons "
                    "that ignore it overstate the effect." if rho > 0 else
                    "firms that join would have grown more slowly anyway, so the "
                    "comparisons that ignore it understate the effect."))
    else:
        text += (f"and does not differ from zero (p = {_p(p)}): the data do not detect "
                 "selection on unobservables, nor can they rule it out")
        text += ("; with no instrument the model is identified by its functional form "
                 f"alone, its standard error is {ratio:.1f} times that of least squares, and "
                 "it is a weak check." if not selection["instruments"] and ratio > 2 else ".")
    return text


def _row(design: str, effect: dict, sample: str) -> dict:
    return {"design": design, "estimate": effect["estimate"], "se": effect["std_error"],
            "ci": f"[{effect['conf_low']:.3f}, {effect['conf_high']:.3f}]", "sample": sample}


def _p(value: float) -> str:
    return "< .001" if value < 0.001 else f"{value:.3f}".lstrip("0")


__all__ = ["render_selection", "selection_reading", "selection_table"]
