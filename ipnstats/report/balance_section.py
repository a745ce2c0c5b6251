"""Covariate balance before the DiD, in the identification part of the robustness
section: rendered from the stored findings of :func:`ipnstats.ipn.balance.balance_findings`
(entropy balancing of the never-members on the joiners' covariates in the year before
joining, and the membership effect refitted with the weights). Nothing is fitted here.
"""

from __future__ import annotations

import pandas as pd

from ipnstats.report.claims import not_testable_text
from ipnstats.report.document import Report
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.frame import frame_table

HEADING = "Covariate balance of joiners and never-members (entropy balancing)"
#: an absolute standardized difference above this is a conventional sign of imbalance
SMD_RULE = 0.1


def render_balance(report: Report, balance: dict | None, outcome: str, *,
                   threshold: int) -> Report:
    """The balance table before and after entropy balancing, and the weighted membership
    effect beside the unweighted one (``balance``: the stored findings; None adds
    nothing). Groups smaller than the disclosure ``threshold`` are not shown."""
    if balance is None:
        return report
    report = report.add_heading(HEADING, 3)
    if "unavailable" in balance.get("balance", {}):
        return report.add_text(not_testable_text(balance["balance"]["unavailable"]))
    small = min(balance["n_joiners"], balance["n_never"])
    if small < threshold:
        return report.add_text(
            f"Not shown: a group has fewer firms than the disclosure threshold of {threshold}.")
    report = report.add_table(balance_table_view(balance, outcome))
    return report.add_text(balance_reading(balance))


def balance_table_view(balance: dict, outcome: str):
    """Covariate means of joiners and never-members, the standardized differences before
    and after weighting, and the variance ratios."""
    table = frame_from_json(balance["balance"])
    rows = pd.DataFrame({
        "term": table["term"].str.replace("_", " "),
        "mean_treated": table["mean_treated"], "mean_control": table["mean_control"],
        "mean_control_weighted": table["mean_control_weighted"],
        "diff_unweighted": table["diff_unweighted"], "diff_weighted": table["diff_weighted"],
        "var_ratio_unweighted": table["var_ratio_unweighted"],
        "var_ratio_weighted": table["var_ratio_weighted"]})
    ref = balance["reference"]
    note = (f"Joiners: {balance['n_joiners']:,} firms, covariates in their "
            f"{ref['joiners']}; never-members: {balance['n_never']:,} firms, covariates in "
            f"their {ref['never_members']} ({ref['never_reference_year']}). Firms that were "
            f"members from the start of the panel ({balance['n_always_member']:,}) have no "
            "pre-join year and are left out. Standardized difference: the difference in "
            "means over the joiners' standard deviation (the ATT convention of R's cobalt); "
            "for a 0/1 covariate, the difference in proportions. Entropy balancing (Hainmueller "
            "2012) reweights the never-members so that their means equal the joiners'; the "
            f"effective number of never-members is {balance['ess_never']:,.0f}.")
    return frame_table(rows, labels={
        "term": "Covariate", "mean_treated": "Mean, joiners",
        "mean_control": "Mean, never-members", "mean_control_weighted": "Weighted mean, never",
        "diff_unweighted": "Std. difference", "diff_weighted": "Std. difference, weighted",
        "var_ratio_unweighted": "Variance ratio", "var_ratio_weighted": "Variance ratio, weighted"},
        digits=3, title="Covariates of joiners and never-members before joining",
        label="balance", notes=(note,))


def balance_reading(balance: dict) -> str:
    """How unbalanced the groups were, and whether weighting them moves the effect."""
    before, after = balance["max_abs_smd_before"], balance["max_abs_smd_after"]
    w, u = balance["weighted"], balance["unweighted"]
    state = ("balanced already" if before <= SMD_RULE else
             f"unbalanced (largest standardized difference {before:.2f}, above the "
             f"conventional {SMD_RULE})")
    moved = w["estimate"] - u["estimate"]
    inside = u["conf_low"] <= w["estimate"] <= u["conf_high"]
    text = (f"Reading: before joining, joiners and never-members were {state}; after "
            f"entropy balancing the largest difference is {abs(after):.2f}. The TWFE effect "
            f"of membership on the same {u['n_firms']:,} firms is {_signed(w['estimate'])} "
            f"(SE {w['std_error']:.3f}) with the weights against {_signed(u['estimate'])} "
            f"(SE {u['std_error']:.3f}) without: a change of {_signed(moved)}, ")
    text += ("inside the unweighted 95% interval, so the observed differences between the "
             "groups do not drive the estimate." if inside else
             "outside the unweighted 95% interval: the effect depends on how the groups "
             "differ in these covariates.")
    return text + (" Balance on observed covariates says nothing about unobserved ones; the "
                   "sensitivity analyses above address those.")


def _signed(value: float) -> str:
    return f"{value:.3f}"  # Report.add_text typesets the minus sign


__all__ = ["balance_reading", "balance_table_view", "render_balance"]
