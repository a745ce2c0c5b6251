"""The Measurement section: the survey scales' factor analysis, reliability, validity,
invariance, common-method checks and within-group agreement, rendered from the data
stage's stored ``measurement`` findings (:func:`ipnstats.ipn.measurement.measurement_findings`).
"""

from __future__ import annotations

import math

import pandas as pd

from ipnstats.report.document import Report
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

#: Where each scale enters the hypotheses (the claims that use it).
USED_BY = {"perceived_learning": "H1c", "loss_aversion": "H2c", "risk_aversion": "H3a"}
_MODELS = {"traits": "Scales as separate factors", "single": "One factor (Harman)",
           "method": "Scales + a method factor"}
_LEVELS = {"configural": "Configural (same structure)", "metric": "Metric (equal loadings)",
           "scalar": "Scalar (+ equal intercepts)", "strict": "Strict (+ equal residuals)"}


def _num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:.{digits}f}".replace("-", "\u2212")


def _ratio(x) -> str:
    """A CFI, loading or correlation without the leading zero (APA: bounded by 1)."""
    text = _num(x)
    return text.replace("0.", ".", 1) if text.lstrip("\u2212").startswith("0.") else text


def _and(names: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _robust(row: dict, key: str):
    """The robust (MLR) variant of a fit measure when there is one, else the ML one."""
    for name in (f"{key}_robust", f"{key}_scaled", key):
        value = row.get(name)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return value
    return None


def render_measurement(report: Report, findings: dict | None) -> Report:
    """Add the Measurement section (nothing when the data stage stored none)."""
    if not findings:
        return report
    report = report.add_heading("Measurement: are the survey scales valid?")
    if "unavailable" in findings:
        return report.add_text(f"Not estimable with these data: {findings['unavailable']}.")
    labels, cut = findings["labels"], findings["cutoffs"]
    used = ", ".join(f"{labels[s].lower()} ({c})" for s, c in USED_BY.items() if s in labels)
    report = report.add_text(
        "Several claims rest on averaged Likert scales: " + used + ". A confirmatory factor "
        "analysis of every scale, on each firm's first survey with every item answered "
        f"({findings['n_firms']:,} of the {findings.get('n_surveyed', findings['n_firms']):,} "
        "firms that answered a survey; robust MLR standard errors and test), asks whether "
        "each scale's items measure one construct, how reliably, and whether the "
        "constructs are distinct.")
    fits = pd.DataFrame(frame_from_json(findings["fits"]))
    report = report.add_table(_fit_table(fits))
    report = report.add_table(_loadings_table(findings, labels))
    report = report.add_table(_validity_table(findings, labels))
    report = report.add_text(_validity_reading(findings, fits, labels, cut))
    report = _invariance(report, findings)
    report = report.add_text(_method_reading(findings, fits))
    report = report.add_text(_occasion_reading(findings))
    report = report.add_text(_nonresponse_reading(findings, labels))
    return _aggregation(report, findings, labels, cut)


def _fit_table(fits: pd.DataFrame):
    rows = []
    for r in fits.to_dict("records"):
        low, high = r.get("rmsea_ci_lower"), r.get("rmsea_ci_upper")
        rows.append({"model": _MODELS.get(r["model"], r["model"]),
                     "chisq": _num(_robust(r, "chisq"), 1), "df": int(r["df"]),
                     "cfi": _ratio(_robust(r, "cfi")), "tli": _ratio(_robust(r, "tli")),
                     "rmsea": _ratio(_robust(r, "rmsea")),
                     "ci": f"[{_ratio(low)}, {_ratio(high)}]" if low is not None else "",
                     "srmr": _ratio(r.get("srmr")), "n": int(r["nobs"])})
    return frame_table(pd.DataFrame(rows), labels={
        "model": "Model", "chisq": "χ² (scaled)", "df": "df", "cfi": "CFI", "tli": "TLI",
        "rmsea": "RMSEA", "ci": "RMSEA 90% CI", "srmr": "SRMR", "n": "Firms"},
        title="Fit of the measurement models", label="measurement-fit", notes=(
            "Maximum likelihood with robust (Huber-White) standard errors and the "
            "Yuan-Bentler scaled χ² (lavaan's MLR); CFI, TLI and RMSEA are the robust "
            "versions. Common cut-offs (Hu & Bentler 1999): CFI and TLI ≥ .95, RMSEA ≤ .06, "
            "SRMR ≤ .08. One factor: Harman's single-factor test. Method factor: one "
            "latent factor loading on every item, uncorrelated with the scales "
            "(unmeasured latent method construct).",))


def _loadings_table(findings: dict, labels: dict):
    ld = frame_from_json(findings["loadings"])
    first = ~ld["factor"].duplicated()  # the scale named once, on its first item
    frame = pd.DataFrame({
        "scale": ld["factor"].map(labels).where(first, ""), "item": ld["item"],
        "loading": ld["std_all"].map(_ratio),
        "se": [_num(se) if pd.notna(p) else "" for se, p in
               zip(ld["std_error"], ld["p_value"], strict=True)],
        "p": ld["p_value"].map(lambda p: fmt_p(p) if pd.notna(p) else "")})
    weak = ld.loc[ld["std_all"] < findings["cutoffs"]["loading"], "item"].tolist()
    notes = ["Standardized loadings (both the factor and the item standardized); SE and p "
             "of the unstandardized loading (the first item of each scale fixes its "
             "metric, so it has none). Reverse-coded items are scored in the scale's "
             "direction."]
    if weak:
        notes.append(f"Below .50: {', '.join(weak)}; such an item shares less than a "
                     "quarter of its variance with its scale.")
    return frame_table(frame, labels={"scale": "Scale", "item": "Item",
                                      "loading": "Loading", "se": "SE", "p": "p"},
                       title="Standardized factor loadings", label="measurement-loadings",
                       notes=tuple(notes))


def _validity_table(findings: dict, labels: dict):
    rel = frame_from_json(findings["reliability"]).set_index("factor")
    factors = list(rel.index)
    htmt = findings["htmt"]
    table = (frame_from_json(htmt).set_index("factor")
             if isinstance(htmt, dict) and "columns" in htmt else None)
    rows = []
    for i, f in enumerate(factors):
        row = {"scale": labels.get(f, f), "cr": _ratio(rel.loc[f, "omega"]),
               "ave": _ratio(rel.loc[f, "ave"]), "root": _ratio(math.sqrt(rel.loc[f, "ave"]))}
        for j, g in enumerate(factors[:-1]):
            row[g] = _ratio(table.loc[f, g]) if table is not None and j < i else ""
        rows.append(row)
    short = {g: f"HTMT: {labels.get(g, g)}" for g in factors[:-1]}
    return frame_table(pd.DataFrame(rows), labels={
        "scale": "Scale", "cr": "CR (ω)", "ave": "AVE", "root": "√AVE", **short},
        title="Reliability and discriminant validity", label="measurement-validity", notes=(
            "CR: composite reliability (ω, as semTools compRelSEM); AVE: average variance "
            "extracted; cut-offs CR ≥ .70 and AVE ≥ .50 (Fornell & Larcker 1981). HTMT: "
            "heterotrait-monotrait ratio of correlations (HTMT2, Henseler, Ringle & "
            "Sarstedt 2015; semTools' default); below .85 the scales are distinct.",))


def _validity_reading(findings: dict, fits: pd.DataFrame, labels: dict, cut: dict) -> str:
    r = fits.set_index("model").loc["traits"].to_dict()
    cfi, rmsea, srmr = _robust(r, "cfi"), _robust(r, "rmsea"), r.get("srmr")
    good = (cfi is not None and cfi >= cut["cfi"] and rmsea is not None
            and rmsea <= cut["rmsea"] and srmr is not None and srmr <= cut["srmr"])
    rel = frame_from_json(findings["reliability"])
    low_cr = [labels.get(f, f).lower() for f, v in zip(rel["factor"], rel["omega"],
                                                        strict=True) if v < cut["cr"]]
    low_ave = [labels.get(f, f).lower() for f, v in zip(rel["factor"], rel["ave"],
                                                         strict=True) if v < cut["ave"]]
    text = (f"Reading: the scales fit {'well' if good else 'less well than the usual cut-offs'} "
            f"as separate factors (robust CFI {_ratio(cfi)}, RMSEA {_ratio(rmsea)}, SRMR "
            f"{_ratio(srmr)}). ")
    text += ("Every scale's composite reliability reaches .70" if not low_cr else
             f"Composite reliability stays below .70 for {_and(low_cr)}")
    text += (" and every AVE .50." if not low_ave else
             f"; the AVE stays below .50 for {_and(low_ave)}, so those items share less "
             "variance with their scale than error.")
    htmt = findings["htmt"]
    if isinstance(htmt, dict) and "columns" in htmt:
        t = frame_from_json(htmt).set_index("factor")
        high = max(abs(float(t.loc[a, b])) for a in t.index for b in t.columns
                   if a != b and b in t.index)
        text += (f" The largest HTMT is {_ratio(high)}: "
                 + ("the constructs are distinct." if high < cut["htmt"] else
                    "two constructs may not be distinct."))
    fl = findings.get("fornell_larcker")
    if fl is not None:
        text += (" No factor correlation exceeds the square roots of the AVEs "
                 "(Fornell-Larcker)." if fl["passed"] else
                 " Some factor correlation exceeds the square root of an AVE "
                 "(Fornell-Larcker).")
    return text


def _invariance(report: Report, findings: dict) -> Report:
    inv = findings["invariance"]
    if "unavailable" in inv:
        return report.add_text(f"Invariance across survey waves is not estimable with these "
                               f"data: {inv['unavailable']}.")
    t = frame_from_json(inv["table"])
    waves = findings["waves"]
    frame = pd.DataFrame({
        "level": t["level"].map(_LEVELS), "chisq": t["chisq"].map(lambda x: _num(x, 1)),
        "df": t["df"].astype(int), "dchisq": t["chisq_diff"].map(lambda x: _num(x, 1)),
        "ddf": t["df_diff"].map(lambda x: "" if pd.isna(x) else f"{int(x)}"),
        "p": t["p_diff"].map(lambda x: "" if pd.isna(x) else fmt_p(x)),
        "cfi": t["cfi"].map(_ratio), "dcfi": t["delta_cfi"].map(_num),
        "rmsea": t["rmsea"].map(_ratio), "drmsea": t["delta_rmsea"].map(_num)})
    n = inv.get("n", [])
    sizes = f" ({n[0]:,} and {n[1]:,} firms)" if len(n) == 2 else ""
    report = report.add_table(frame_table(frame, labels={
        "level": "Model", "chisq": "χ²", "df": "df", "dchisq": "Δχ²", "ddf": "Δdf",
        "p": "p", "cfi": "CFI", "dcfi": "ΔCFI", "rmsea": "RMSEA", "drmsea": "ΔRMSEA"},
        title="Measurement invariance across survey waves", label="measurement-invariance",
        notes=(f"Each firm's first survey in the early waves ({waves[0]}) and in the late "
               f"waves ({waves[1]}){sizes}; maximum likelihood. Each model adds equality "
               "constraints to the one above; Δ against it. Invariance holds at a level "
               "when ΔCFI ≥ −.010 and ΔRMSEA ≤ .015 (Chen 2007); the χ² difference test "
               "is sensitive to sample size.",)))
    held = "configural"
    for rec in t.to_dict("records")[1:]:
        if rec["delta_cfi"] >= -0.010 and rec["delta_rmsea"] <= 0.015:
            held = rec["level"]
        else:
            break
    return report.add_text(
        f"Reading: by the change in fit, the scales are {held}-invariant across the waves"
        + (", so scores of early and late surveys compare on one metric." if held in
           ("scalar", "strict") else
           "; mean scores of early and late surveys should not be compared directly."))


def _method_reading(findings: dict, fits: pd.DataFrame) -> str:
    h, u = findings.get("harman"), findings.get("ulmc")
    parts = []
    if h is not None:
        share = h["first_component_share"]
        parts.append(f"Harman's test: one factor explains {share:.0%} of the items' variance "
                     f"(first principal component){' — below half' if share < 0.5 else ''}, "
                     "and a single factor fits much worse than the separate scales")
    found = u is not None and u["p_diff"] is not None and u["p_diff"] < 0.05
    if u is not None and u["p_diff"] is None:
        parts.append("the scaled χ² difference of a method factor on every item is not "
                     "defined here (a scaling correction that is not positive)")
        u = None
    if u is not None:
        test = (f"χ² difference {_num(u['chisq_diff'], 1)} on {int(u['df_diff'])} df, "
                f"p {fmt_p(u['p_diff'])}")
        parts.append(f"a method factor on every item improves the fit ({test}) and takes "
                     f"{u['method_share']:.1%} of an item's variance on average" if found else
                     f"a method factor on every item does not improve the fit ({test})")
    if not parts:
        return ""
    if not found:
        verdict = ("No evidence of common-method variance in the survey answers.")
    elif u["method_share"] < 0.25:
        verdict = ("Common-method variance is present but small (below the 25% typical of "
                   "self-reports, Williams, Cote & Buckley 1989): associations among the "
                   "scales are somewhat inflated; associations with financial outcomes, "
                   "which come from another source, are not.")
    else:
        verdict = ("Common-method variance is substantial: associations among the scales "
                   "should be read with caution.")
    return "Reading (common-method variance): " + "; ".join(parts) + ". " + verdict


def _occasion_reading(findings: dict) -> str:
    o = findings.get("occasion")
    if not o:
        return ""
    r = (f"r̄ = {_ratio(o['mean_r'])}, 95% CI {_ratio(o['conf_low'])} to "
         f"{_ratio(o['conf_high'])}; {o['n_surveys']:,} surveys of {o['n_firms']:,} firms, "
         f"firm bootstrap")
    if o["flag"]:
        return ("Reading (method factor of the survey occasion): from one survey to the next, "
                f"a firm's scores on the distinct scales move together ({r}). What one "
                "survey's answers share beyond the traits, a common method factor, inflates "
                "the associations among survey measures taken on the same occasion; the "
                "associations of survey scales with financial outcomes or with the exchange "
                "records, which come from other sources, are not.")
    return ("Reading (method factor of the survey occasion): from one survey to the next, "
            f"a firm's scores on the distinct scales do not move together ({r}): no sign "
            "of a common method factor on the survey occasion.")


def _nonresponse_reading(findings: dict, labels: dict) -> str:
    nr = findings.get("nonresponse")
    if not nr:
        return ""
    t = frame_from_json(nr["tests"])
    diffs = ", ".join(f"{labels.get(v, v).lower()} {_num(late - early, 2)}"
                      for v, early, late in zip(t["variable"], t["mean_early"], t["mean_late"],
                                                strict=True))
    worst = float(t["p_adjusted"].min())
    return (f"Reading (nonresponse): the latest quarter of respondents within the survey year "
            f"({nr['n_late']:,} firms), who stand in for firms that did not answer, differ from "
            f"the earliest quarter ({nr['n_early']:,}) by {diffs} scale points (late minus "
            f"early; Welch tests, smallest Holm-adjusted p {fmt_p(worst)}): "
            + ("no sign of nonresponse bias (Armstrong & Overton 1977)." if worst >= 0.05 else
               "late respondents differ, a sign of nonresponse bias (Armstrong & Overton "
               "1977)."))


def _aggregation(report: Report, findings: dict, labels: dict, cut: dict) -> Report:
    agg = findings["aggregation"]
    if "unavailable" in agg:
        return report
    name = labels.get("perceived_learning", "Perceived learning")
    frame = pd.DataFrame([{
        "icc1": _ratio(agg["icc1"]), "icc2": _ratio(agg["icc2"]),
        "rwg": _ratio(agg["rwg_j_mean"]), "rwg_md": _ratio(agg["rwg_j_median"]),
        "share": f"{agg['rwg_j_share_70']:.0%}" if agg["rwg_j_share_70"] is not None else "",
        "adm": _num(agg["ad_m_mean"], 2), "groups": agg["n_groups"], "n": agg["n_obs"]}])
    report = report.add_heading("Aggregating perceived learning to the peer group", 2)
    report = report.add_table(frame_table(frame, labels={
        "icc1": "ICC(1)", "icc2": "ICC(2)", "rwg": "Mean rwg(j)", "rwg_md": "Median rwg(j)",
        "share": "rwg(j) > .70", "adm": "Mean AD(M)", "groups": "Group-years",
        "n": "Surveys"}, title=f"Agreement on {name.lower()} within peer groups",
        label="measurement-aggregation", notes=(
            "Member firms' surveys by peer group and year; group-years with fewer members "
            f"than the disclosure threshold ({findings['threshold']}) are left out. ICC(1), "
            "ICC(2): one-way ANOVA (Bliese 2000); rwg(j) against a uniform null; AD(M): "
            "average deviation from the group mean.",)))
    icc1, rwg = agg["icc1"] or 0.0, agg["rwg_j_mean"] or 0.0
    ok = icc1 >= cut["icc1"] and rwg >= cut["rwg_j"]
    share = (f"group membership accounts for {icc1:.0%} of its variance" if icc1 > 0 else
             "group membership accounts for none of its variance")
    return report.add_text(
        f"Reading: members of a group agree on their learning (mean rwg(j) {_ratio(rwg)}) "
        f"and {share} (ICC(1) {_ratio(icc1)}); "
        + ("a group-level learning climate could be formed by averaging." if ok else
           "a group-level learning climate formed by averaging would rest on weak "
           "agreement or little between-group variance, so the study keeps it a firm-level "
           "construct."))


__all__ = ["render_measurement"]
