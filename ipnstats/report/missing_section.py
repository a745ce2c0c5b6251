"""H1c with the missing survey answers imputed: rendered from the stored findings of
:func:`ipnstats.ipn.missing.h1c_imputed_findings` (complete cases against the estimates
pooled over the imputations by Rubin's rules). Nothing is fitted here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ipnstats.report.claims import not_testable_text
from ipnstats.report.document import Report
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

#: short labels of the H1c terms (the table has many number columns)
SHORT = {"a::perceived_learning": "a (membership → learning)",
         "b::perceived_learning": "b (learning → next year)",
         "indirect::perceived_learning": "a × b (indirect)"}


def render_imputed(report: Report, imputed: dict | None,
                   labels: Mapping[str, str] = SHORT) -> Report:
    """The H1c paths on complete cases and pooled over the imputations, with a reading
    (``imputed``: the stored findings; None adds nothing; ``labels``: the term labels)."""
    if imputed is None:
        return report
    if "unavailable" in imputed:
        return report.add_text("Multiple imputation of the missing survey answers: "
                               + not_testable_text(imputed["unavailable"]))
    return report.add_table(imputed_table(imputed, labels)).add_text(imputed_reading(imputed))


def imputed_table(imputed: dict, labels: Mapping[str, str]):
    """One row per path: the complete-case estimate and SE, the pooled estimate, SE,
    95% interval and p, the Barnard-Rubin df and the fraction of missing information."""
    rows = []
    for t in imputed["terms"]:
        cc, mi = t["complete_case"], t["imputed"]
        rows.append({"path": labels.get(t["term"], t["term"]), "cc": cc["estimate"],
                     "cc_se": cc["std_error"], "mi": mi["estimate"], "mi_se": mi["std_error"],
                     "ci": f"[{mi['conf_low']:.3f}, {mi['conf_high']:.3f}]",
                     "p": fmt_p(mi["p_value"]), "df": f"{mi['df']:,.0f}",
                     "fmi": mi["fmi"]})
    first = imputed["terms"][0]
    note = (f"Complete cases: the {first['complete_case']['n']:,} firm-years with a "
            f"perceived-learning score; imputed: all {imputed['n_rows']:,} firm-years of the "
            f"analysis ({imputed['n_no_survey']:,} without a survey, "
            f"{imputed['n_partial']:,} partly answered; "
            f"{100 * imputed['share_items_missing']:.0f}% of the items missing). The missing "
            f"items, not the scores, were imputed {imputed['m']} times (seed "
            f"{imputed['seed']}) by chained equations with Bayesian linear regression, within "
            "the firm (its means of the other variables as predictors), from the other "
            "items, membership, this and next year's outcome and the years; the scale was "
            "rescored from each completed set and the mediation refitted. Pooled by Rubin's "
            "rules with Barnard-Rubin degrees of freedom (df); FMI: the fraction of missing "
            "information. The indirect effect's pooled interval is a t interval on the "
            "pooled bootstrap SE, the complete-case one in the table above a percentile "
            "interval.")
    return frame_table(pd.DataFrame(rows), labels={
        "path": "Path", "cc": "Complete", "cc_se": "SE", "mi": "Pooled (MI)",
        "mi_se": "SE ", "ci": "95% CI", "p": "p", "df": "df", "fmi": "FMI"}, digits=3,
        title="H1c with the missing survey answers imputed", label="h1c-imputed",
        notes=(note,))


def imputed_reading(imputed: dict) -> str:
    """Whether imputing the non-respondents changes the mechanism's estimates."""
    moved = []
    for t in imputed["terms"]:
        cc, mi = t["complete_case"], t["imputed"]
        moved.append(abs(mi["estimate"] - cc["estimate"]) / cc["std_error"])
    indirect = imputed["terms"][-1]["imputed"]
    sign = ("excludes zero" if indirect["conf_low"] > 0 or indirect["conf_high"] < 0 else
            "includes zero")
    size = ("less than half a standard error" if max(moved) < 0.5 else
            f"up to {max(moved):.1f} standard errors")
    return (f"Reading: keeping the firm-years without a usable survey answer, by imputing "
            f"their items, moves the estimates by {size} of the complete-case analysis, and "
            f"the pooled interval of the indirect effect {sign}. Complete-case analysis "
            "assumes the answers are missing completely at random; multiple imputation "
            "only that they are missing at random given the variables of the imputation "
            "model.")


__all__ = ["imputed_reading", "imputed_table", "render_imputed"]
