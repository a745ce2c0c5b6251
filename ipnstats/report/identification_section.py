"""The "Identification and sensitivity" part of the robustness section, rendered from the
stored findings of :func:`ipnstats.ipn.identification.fit_identification`: Honest DiD
(table, figure, reading), sensemakr (table, contour figure, reading) and Oster's delta*.
Nothing is fitted here; a piece stored as ``{"unavailable": reason}`` is one sentence.
"""

from __future__ import annotations

import math

import pandas as pd

from ipnstats.figures.honest import honest_did_figure
from ipnstats.figures.sensitivity import sensitivity_contour_figure
from ipnstats.figures.style import new_figure
from ipnstats.report.balance_section import render_balance
from ipnstats.report.claims import not_testable_text
from ipnstats.report.document import Report
from ipnstats.report.selection_section import render_selection
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.frame import frame_table

TITLE = "Identification and sensitivity"
INTRO = ("Two threats to reading the effect of joining causally: trends that would have "
         "differed without joining, and confounders that the fixed effects and covariates "
         "miss. Honest DiD (Rambachan & Roth 2023) asks how far parallel trends may fail "
         "before the effect loses significance; sensemakr (Cinelli & Hazlett 2020) and "
         "Oster's (2019) delta ask how strong an omitted confounder would have to be.")
RESTRICTIONS = {"rm": "Relative magnitudes", "sd": "Smoothness"}
TARGETS = {"first": "Year of joining", "average": "Average of the post years"}
HONEST_NOTE = ("Relative magnitudes: the change of the violation of parallel trends from "
               "one year to the next after joining is at most M̄ times the largest such "
               "change before joining (conditional least-favourable hybrid intervals). "
               "Smoothness: the slope of the violation changes by at most M per year "
               "(fixed-length intervals). Breakdown: the smallest M̄ (or M) of the grid at "
               "which the robust 95% interval includes zero; '—': none up to {largest}.")
HONEST_CAPTION = ("Robust 95% intervals for the effect of joining as the allowed violation of "
                  "parallel trends grows; grey, leftmost: the interval under parallel trends. "
                  "Top: relative magnitudes (M̄); bottom: smoothness (M).")
CONTOUR_CAPTION = ("Sensitivity contours of the membership effect: the bias-adjusted "
                   "estimate for a confounder of given strength (partial R² with membership "
                   "and with the outcome); dashed: zero. Diamonds: confounders a multiple as "
                   "strong as a covariate (those within the plotted range).")


def render_identification(report: Report, ident: dict | None, outcome: str) -> Report:
    """The identification part of the robustness section (``ident``: the stored
    ``identification`` findings; None, for findings stored without it, adds nothing)."""
    if ident is None:
        return report
    report = report.add_heading(TITLE, 2).add_text(INTRO)
    report = _honest(report, ident["honest"], outcome)
    report = _sensemakr(report, ident["sensemakr"], outcome)
    report = report.add_text(oster_reading(ident["oster"]))
    threshold = int(ident.get("threshold", 1))
    report = render_balance(report, ident.get("balance"), outcome, threshold=threshold)
    return render_selection(report, ident.get("selection"), outcome, threshold=threshold)


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _signed(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}".replace("-", "\u2212")


def _ci(low, high) -> str:
    return f"{_signed(_num(low))} to {_signed(_num(high))}"


def _m(value) -> str:
    return f"{_num(value):.3g}"


# -- Honest DiD ---------------------------------------------------------------------------

def _honest(report: Report, honest: dict, outcome: str) -> Report:
    report = report.add_heading("Violations of parallel trends (Honest DiD)", 3)
    if "unavailable" in honest:
        return report.add_text(not_testable_text(honest["unavailable"]))
    summary = frame_from_json(honest["summary"])
    intervals = frame_from_json(honest["intervals"])
    report = report.add_table(honest_table(summary, intervals, outcome))
    report = report.add_figure(honest_figure(summary, intervals), HONEST_CAPTION)
    return report.add_text(honest_reading(honest))


def honest_table(summary: pd.DataFrame, intervals: pd.DataFrame, outcome: str):
    """Rows: the estimate, its interval under parallel trends, the robust intervals under
    relative magnitudes by M̄ and the breakdown values; columns: the year of joining and
    the average of the post years."""
    by = summary.set_index(["restriction", "target"])
    targets = [t for t in TARGETS if ("rm", t) in by.index]
    rm = intervals[intervals["restriction"] == "rm"]
    ms = sorted(rm["m"].unique())

    def cell(target: str, what: str, m: float | None = None) -> str:
        s = by.loc[("rm", target)]
        if what == "estimate":
            return _signed(_num(s["estimate"]))
        if what == "original":
            return _ci(s["conf_low"], s["conf_high"])
        if what == "m":
            r = rm[(rm["target"] == target) & (rm["m"] == m)].iloc[0]
            return _ci(r["conf_low"], r["conf_high"])
        restriction = "rm" if what == "rm" else "sd"
        if (restriction, target) not in by.index:
            return "—"
        b = by.loc[(restriction, target), "breakdown"]
        return "—" if pd.isna(b) else _m(b)

    rows = [("Estimate", "estimate", None), ("95% CI, parallel trends", "original", None),
            *((f"95% CI, relative magnitudes, M̄ = {m:g}", "m", m) for m in ms),
            ("Breakdown M̄ (relative magnitudes)", "rm", None),
            ("Breakdown M (smoothness)", "sd", None)]
    frame = pd.DataFrame([{"row": label, **{t: cell(t, what, m) for t in targets}}
                          for label, what, m in rows])
    largest = _m(summary.loc[summary["restriction"] == "rm", "largest_m"].max())
    return frame_table(frame, labels={"row": "", **{t: TARGETS[t] for t in targets}},
                       title=f"The effect of joining on {outcome} under violations of "
                             "parallel trends", label="honest-did",
                       notes=(HONEST_NOTE.format(largest=largest),))


def honest_figure(summary: pd.DataFrame, intervals: pd.DataFrame):
    """Four panels: relative magnitudes (top) and smoothness (bottom), the year of joining
    (left) and the post-year average (right), drawn from the stored frames."""
    fig, axes = new_figure(width=6.0, height=5.0, nrows=2, ncols=2)
    for i, method in enumerate(("rm", "sd")):
        for j, target in enumerate(("first", "average")):
            s = summary[(summary["restriction"] == method) & (summary["target"] == target)]
            cut = intervals[(intervals["restriction"] == method)
                            & (intervals["target"] == target)]
            if s.empty or cut.empty:
                axes[i, j].set_axis_off()
                continue
            s = s.iloc[0]
            honest_did_figure(cut, original=(float(s.conf_low), float(s.conf_high)),
                              method=method, ax=axes[i, j], ylabel="Effect" if j == 0 else "")
            axes[i, j].set_title(TARGETS[target], loc="left", fontsize=9)
    return fig


def honest_reading(honest: dict) -> str:
    """How large a violation of parallel trends, relative to the largest pre-period one,
    would overturn the effect of joining (H1a), in words."""
    summary = frame_from_json(honest["summary"]).set_index(["restriction", "target"])
    intervals = frame_from_json(honest["intervals"])
    smallest = intervals.loc[intervals["restriction"] == "rm", "m"].min()
    change = _num(honest["max_pre_change"])
    text = (f"Reading: before joining, the largest change in the gap between joiners and "
            f"the comparison firms from one year to the next is {change:.3f}. ")
    parts = []
    for target, words in (("first", "in the year of joining"),
                          ("average", "averaged over the years after joining")):
        if ("rm", target) not in summary.index:
            continue
        s = summary.loc[("rm", target)]
        if s["conf_low"] <= 0 <= s["conf_high"]:
            parts.append(f"{words}, the effect is not significant even under parallel trends")
            continue
        b = s["breakdown"]
        if pd.isna(b):
            parts.append(f"{words}, the effect stays significant even if the violation after "
                         f"joining changes by up to {_m(s['largest_m'])} times that much "
                         f"(up to {_num(s['largest_m']) * change:.3f} a year)")
        elif _num(b) <= smallest:
            parts.append(f"{words}, even the smallest violation examined, {_m(b)} times the "
                         f"largest before joining ({_num(b) * change:.3f} a year), makes the "
                         "effect insignificant")
        else:
            size = ("as large as the largest" if _num(b) == 1 else
                    f"{_m(b)} times the largest")
            parts.append(f"{words}, a violation {size} before joining "
                         f"({_num(b) * change:.3f} a year) makes the effect insignificant")
    if not parts:
        return text
    fragile = any(b <= 1 for b in summary.xs("rm")["breakdown"].dropna())
    close = (" A violation after joining no larger than those before it would overturn H1a: "
             "the causal reading rests on parallel trends holding closely." if fragile else
             " H1a survives violations after joining as large as the largest before it.")
    return text + "; ".join(p[:1].upper() + p[1:] if i == 0 else p
                            for i, p in enumerate(parts)) + "." + close


# -- sensemakr ----------------------------------------------------------------------------

def _sensemakr(report: Report, sens: dict, outcome: str) -> Report:
    report = report.add_heading("Omitted confounders (sensemakr and Oster's delta)", 3)
    if "unavailable" in sens:
        return report.add_text(not_testable_text(sens["unavailable"]))
    bounds = frame_from_json(sens["bounds"])
    report = report.add_table(sensemakr_table(sens, bounds, outcome))
    grid = frame_from_json(sens["grid"])
    top = grid[["r2dz_x", "r2yz_dx"]].to_numpy(float).max()
    marks = bounds[(bounds["r2dz_x"] <= top) & (bounds["r2yz_dx"] <= top)]
    marks = marks.assign(value=marks["adjusted_estimate"],
                         bound=marks["bound"].str.replace("_", " "))
    figure = sensitivity_contour_figure(grid, threshold=float(sens["threshold"]), bounds=marks,
                                        unadjusted=float(sens["estimate"]),
                                        treatment="membership")
    report = report.add_figure(figure, CONTOUR_CAPTION)
    return report.add_text(sensemakr_reading(sens, bounds))


def sensemakr_table(sens: dict, bounds: pd.DataFrame, outcome: str):
    """The unadjusted membership effect, then the bias-adjusted one for confounders 1, 2
    and 3 times as strong as each covariate."""
    first = {"bound": "Unadjusted", "r2dz_x": 0.0, "r2yz_dx": 0.0,
             "estimate": sens["estimate"], "se": sens["std_error"], "t": sens["t_value"],
             "ci": "—"}
    rows = [first] + [{"bound": b.bound.replace("_", " "), "r2dz_x": b.r2dz_x,
                       "r2yz_dx": b.r2yz_dx, "estimate": b.adjusted_estimate,
                       "se": b.adjusted_se, "t": b.adjusted_t,
                       "ci": _ci(b.conf_low, b.conf_high)} for b in bounds.itertuples()]
    absorbed = sens.get("absorbed") or []
    note = (f"TWFE regression of {outcome} on membership and the covariates, firm and year "
            f"effects, SEs clustered by firm ({sens['nobs']:,} firm-years). Partial R² of "
            f"membership with the outcome {sens['r2yd_x']:.4f}; robustness value RV "
            f"{sens['rv_q']:.3f} (RV at the 5% level {sens['rv_qa']:.3f}): a confounder "
            "explaining that share of the residual variance of both membership and the "
            "outcome would bring the estimate to zero (to insignificance).")
    capped = bounds[bounds["r2yz_dx"] >= 0.999]
    if len(capped):
        note += (f" Confounders {' and '.join(f'{k:g}' for k in capped['kd'])} times as strong "
                 "as " + " and ".join(sorted({b.replace('_', ' ') for b in capped['benchmark']}))
                 + " would explain all of the outcome's residual variance (partial R² capped "
                 "at 1): they leave no residual, hence the zero standard errors, and lie "
                 "outside the figure.")
    if absorbed:
        note += (f" Not a benchmark, absorbed by the firm and year effects: "
                 f"{', '.join(a.replace('_', ' ') for a in absorbed)}.")
    return frame_table(pd.DataFrame(rows), labels={
        "bound": "Confounder", "r2dz_x": "Partial R² with membership",
        "r2yz_dx": "Partial R² with outcome", "estimate": "Adjusted estimate", "se": "SE",
        "t": "t", "ci": "95% CI"}, digits=3,
        title="The membership effect adjusted for confounders as strong as the covariates",
        label="sensemakr", notes=(note,))


def sensemakr_reading(sens: dict, bounds: pd.DataFrame) -> str:
    """What the robustness value and the benchmarks say, in words."""
    rv, rv_a = _num(sens["rv_q"]), _num(sens["rv_qa"])
    text = (f"Reading: a confounder would have to explain {100 * rv:.1f}% of the residual "
            "variance of both membership and the outcome to erase the effect of joining, "
            f"and {100 * rv_a:.1f}% to make it insignificant. ")
    if bounds.empty:
        return text
    survives = bounds[bounds["conf_low"] > 0] if sens["estimate"] > 0 else \
        bounds[bounds["conf_high"] < 0]
    overturned = bounds.drop(survives.index)
    if overturned.empty:
        return text + (f"Even confounders {_m(bounds['kd'].max())} times as strong as the "
                       "strongest covariate leave it significant.")
    worst = overturned.sort_values("kd").iloc[0]
    return text + (f"A confounder {_m(worst['kd'])} times as strong as "
                   f"{str(worst['benchmark']).replace('_', ' ')} would already make it "
                   f"insignificant (adjusted estimate {_signed(worst['adjusted_estimate'])}).")


def oster_reading(oster: dict) -> str:
    """Oster's delta* and beta* in words, with the choice of R2max."""
    if "unavailable" in oster:
        return "Oster's delta: " + not_testable_text(oster["unavailable"])[:1].lower() + \
            not_testable_text(oster["unavailable"])[1:]
    delta = _num(oster["delta_star"])
    verdict = ("more strongly than on the observed covariates, the usual bar for a robust "
               "effect (delta above 1)" if abs(delta) > 1 else
               "less strongly than on the observed covariates: below the usual bar of 1, the "
               "effect is sensitive to selection on unobservables")
    return (f"Oster's delta: unobservables would have to select on membership "
            f"{abs(delta):.2f} times as strongly as the covariates "
            f"({', '.join(c.replace('_', ' ') for c in oster['covariates'])}) to bring the "
            f"effect to zero, {verdict}. With selection as strong as on the covariates the "
            f"bias-adjusted effect is {_signed(_num(oster['beta_star']))}. R²max, the share "
            "of variance a regression with the unobservables would explain, is "
            f"{oster['factor']:g} times the R² of the controlled regression within firm and "
            f"year ({_num(oster['r2_long']):.3f}, so {_num(oster['r2max']):.3f}), Oster's "
            "suggested value.")




def rv_sentence(sens: dict | None, model: str, treatment: str, outcome: str) -> str:
    """One sentence on the robustness value of a stored ``robustness_value`` finding
    (``None`` or unavailable: why there is none; ``""`` for a run stored before it)."""
    if sens is None:
        return ""
    if "unavailable" in sens:
        return f" Sensitivity to omitted confounders: not computed ({sens['unavailable']})"
    return (f" Sensitivity: in the {model}, an omitted confounder would have to explain "
            f"{100 * _num(sens['rv_q']):.1f}% of the residual variance of both {treatment} "
            f"and {outcome} to erase the effect (robustness value RV {_num(sens['rv_q']):.2f}) "
            f"and {100 * _num(sens['rv_qa']):.1f}% to make it insignificant at the 5% level.")


def robustness_column(stored: dict[str, dict]) -> dict[str, str]:
    """The verdict table's Robustness cells by claim code, from every stage's stored
    document: H1a the Delta-RM breakdown M̄ (post-year average), H2a and H3a the RV."""
    out = {}
    ident = _findings(stored, "robustness").get("identification") or {}
    honest = ident.get("honest") or {}
    if "summary" in honest:
        rows = frame_from_json(honest["summary"])
        rm = rows[(rows["restriction"] == "rm") & (rows["target"] == "average")]
        if len(rm):
            b, top = rm["breakdown"].iloc[0], rm["largest_m"].iloc[0]
            out["H1a"] = f"M̄ > {_m(top)}" if pd.isna(b) else f"M̄ {_m(b)}"
    for code, stage, part in (("H2a", "h2", "framing"), ("H3a", "h3", "senders")):
        sens = (_findings(stored, stage).get(part) or {}).get("sensitivity") or {}
        if "rv_q" in sens:
            out[code] = f"RV {_num(sens['rv_q']):.2f}"
    return out


def _findings(stored: dict[str, dict], stage: str) -> dict:
    return (stored.get(stage) or {}).get("findings") or {}


__all__ = ["honest_reading", "honest_table", "oster_reading", "render_identification",
           "robustness_column", "rv_sentence", "sensemakr_reading", "sensemakr_table"]
