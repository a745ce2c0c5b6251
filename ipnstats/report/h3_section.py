"""The H3 section of the study report: do receivers learn more from risk-averse senders?

:func:`fit_h3` estimates every H3 model through ipnstats' public functions and returns
them in one frozen :class:`H3Results`; :func:`h3_section` renders them: the
sender-traits table (crossed random effects and two-way clustered OLS side by side)
with the trait comparisons, the learning-curve table, learning rates and figure, and
the triangulation table, each with a plain-language reading, then the claims.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.ipn.claims import (
    ALPHA,
    Check,
    Claim,
    Unavailable,
    attempt,
    check,
    check_or_untestable,
    no_table,
    one_sided,
)
from ipnstats.report.claims import ci_text, claims_table, p_text, render_parts
from ipnstats.report.document import Report
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table
from ipnstats.tables.regression import regression_table

OUTWARD = ("sender_size", "sender_age", "sender_success", "sender_status", "same_industry")
FOCAL = "sender_risk_aversion"
EXPOSURE = "exposure"
INTERACTION = "log_cum_experience_x_exposure"
LABELS = {"sender_risk_aversion": "Risk aversion (inward)", "sender_size": "Size",
          "sender_age": "Age", "sender_success": "Success (profit margin)",
          "sender_status": "Status (benchmark rank)", "same_industry": "Same industry",
          "log(cum_experience)": "Log cumulative experience",
          "exposure": "Exposure to risk-averse senders",
          "log(cum_experience):exposure": "Log experience × exposure",
          INTERACTION: "Log experience × exposure",
          "log_n_sources": "Log information sources", "log(n_sources)": "Log information sources",
          "Intercept": "Constant"}


@dataclass(frozen=True)
class H3Results:
    """Every H3 estimate behind the report section."""

    senders: object  # SenderEffectsResult or Unavailable
    curve: object  # LearningCurveResult or Unavailable
    curve_steps: tuple[str, ...]  # how the random-effect structure was simplified
    triangulation: object  # TriangulationResult or Unavailable
    threshold: int


def task_design(tasks: pd.DataFrame) -> pd.DataFrame:
    """The task frame with ``exposure = log(1 + prior_risk_averse)`` and its product with
    log experience (the columns the H3b and H3c models use)."""
    exposure = np.log1p(tasks["prior_risk_averse"].astype(float))
    return tasks.assign(**{EXPOSURE: exposure,
                           INTERACTION: tasks["log_cum_experience"] * exposure})


def fit_h3(ex: pd.DataFrame | None, tasks: pd.DataFrame | None, *, threshold: int,
           absent: Collection[str] = ()) -> H3Results:
    """Fit the H3 models on the exchange and task frames (``Study.exchanges``, ``.tasks``).

    A frame that is ``None`` (the study has no such table) or a table a claim needs
    among ``absent`` (the study's missing tables, ``Study.skipped``; see
    :data:`~ipnstats.report.claims.NEEDS`) makes each analysis that needs it
    :class:`~ipnstats.report.claims.Unavailable`, with the reason. The exposure to
    risk-averse senders comes from the exchanges and the surveys: without either, H3b
    and H3c are not testable (H3c's experience slope is the one at no exposure; left
    out, exposure would load on experience), and without the meetings and their
    activity the senders' status, one of H3a's outward traits, is unknown.
    """
    from ipnstats.ipn.senders import sender_effects
    from ipnstats.ipn.triangulation import triangulation

    absent = {*absent, *(("exchanges",) if ex is None else ()),
              *(("tasks",) if tasks is None else ())}
    senders = no_table("H3a", absent)
    if senders is None:
        exchanges = ex.assign(neutral=(ex["framing"] == "neutral").astype(float))
        senders = attempt(sender_effects, exchanges, covariates=("loss", "neutral"))
    if tasks is None:
        why = no_table("H3c", absent)
        return H3Results(senders=senders, curve=why, curve_steps=(), triangulation=why,
                         threshold=threshold)
    tk = task_design(tasks)
    curve, steps = (no_table("H3b", absent), ())
    if curve is None:
        curve, steps = _curve(tk)
    return H3Results(senders=senders, curve=curve, curve_steps=steps,
                     triangulation=no_table("H3c", absent) or attempt(
                         triangulation, tk, covariates=(EXPOSURE, INTERACTION)),
                     threshold=threshold)


def _curve(tk: pd.DataFrame) -> tuple[object, tuple[str, ...]]:
    """The maximal random-effect structure the data support (Barr et al. 2013, simplified
    as Matuschek et al. 2017 advise when the fit is singular): correlated intercepts and
    slopes, then uncorrelated, then intercepts only."""
    from ipnstats.estimators.learning import learning_curve

    steps = []
    tries = ((dict(re_cov="unstructured"), "correlated firm random intercepts and slopes"),
             (dict(re_cov="diagonal"), "uncorrelated firm random intercepts and slopes"),
             (dict(random_slopes=False), "firm random intercepts only"))
    for options, label in tries:
        fit = attempt(learning_curve, tk, moderator=EXPOSURE, covariates=("log_n_sources",),
                      **options)
        if isinstance(fit, Unavailable) or not fit.singular or "random_slopes" in options:
            return fit, tuple(steps)
        steps.append(f"The model with {label} was a singular fit; it was simplified.")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- rendering


def h3_section(report: Report, res: H3Results) -> Report:
    """Add the H3 heading, the analyses H3a-H3c with readings, and the claims table."""
    return claims_table(*h3_parts(report, res), "H3", H3_RULE)


def h3_parts(report: Report, res: H3Results) -> tuple[Report, list[Claim]]:
    """Add the H3 heading and the analyses H3a-H3c with readings; also return the claims."""
    report = report.add_heading("H3: Do receivers learn more from risk-averse senders?")
    report = report.add_text(
        "H3a compares what receivers learn from senders with different traits: risk "
        "aversion, an inward psychological trait, against the outward traits the literature "
        "emphasises. H3b and H3c follow firms down their learning curves over repeated "
        "tasks: whether exposure to risk-averse senders steepens the curve, and whether "
        "firms learn more from several information sources for one experience "
        "(triangulation) than from more experience (reinforcement).")
    report, claims = render_parts(report, res, (
        (_senders, "H3a", "sender traits", ("senders",),
         "Receivers learn more from risk-averse senders than from outward traits"),
        (_curve_part, "H3b", "learning curves", ("curve",),
         "Exposure to risk-averse senders steepens the learning curve"),
        (_triangulation, "H3c", "triangulation versus reinforcement", ("triangulation",),
         "More information sources teach more than more experience")))
    return report, claims


H3_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided). H3a needs risk aversion's effect to "
           "exceed every outward trait's (Holm-adjusted across the five "
           "comparisons; the largest adjusted p is shown).")


def _senders(report: Report, res: H3Results):
    se = res.senders
    report = report.add_heading("H3a: sender traits", 2)
    vc = se.variance_components().set_index("group")["std_dev"]
    sd_text = ", ".join(f"{g.replace('_id', '')} {v:.2f}" for g, v in vc.items())
    report = report.add_table(regression_table(
        {"Mixed model": se, "Two-way clustered OLS": se.robustness},
        keep=[f"^{t}$" for t in (FOCAL, *OUTWARD)], labels=LABELS,
        stats=("nobs", "n_units", "n_clusters"),
        title="Sender traits and the receiver's cognitive shift (effects of one SD)",
        label="h3a-traits",
        notes=("Each trait standardized to one SD over the estimation rows. Mixed model: "
               "crossed receiver and sender random intercepts (REML), Wald z; random-effect "
               f"SDs: {sd_text}. OLS: SEs clustered by sender and by receiver. Both hold "
               "the framing of the answer (loss, neutral vs gain) constant.",)))
    comp = se.comparisons().set_index("term")
    rob = se.comparisons("robustness").set_index("term")
    rows = [{"comparison": LABELS[t.split(" - ")[1]].split(" (")[0],
             "estimate": r.estimate, "conf_low": r.conf_low, "conf_high": r.conf_high,
             "p_one_sided": fmt_p(r.p_one_sided), "p_holm": fmt_p(r.p_holm),
             "ols": rob.loc[t, "estimate"], "ols_p_holm": fmt_p(rob.loc[t, "p_holm"])}
            for t, r in comp.iterrows()]
    report = report.add_table(frame_table(
        pd.DataFrame(rows), digits=3, label="h3a-comparisons",
        labels={"comparison": "Risk aversion minus", "estimate": "Difference",
                "conf_low": "95% CI low", "conf_high": "95% CI high",
                "p_one_sided": "p (one-sided)", "p_holm": "p (Holm)",
                "ols": "Difference (OLS)", "ols_p_holm": "p (Holm, OLS)"},
        title="Does risk aversion teach more than each outward trait?",
        notes=("Wald tests of the difference of per-SD effects against risk aversion's being "
               "larger (one-sided), Holm-adjusted across the five comparisons; mixed model, "
               "and two-way clustered OLS on the right.",)))
    focal = se.tidy().set_index("term").loc[FOCAL]
    p_focal = one_sided(focal["estimate"], focal["p_value"])
    p_all = float(max(comp["p_holm"].max(), p_focal))
    beaten = int((comp["p_holm"] < ALPHA).sum())
    text = (f"Reading: a sender one SD more risk averse shifts the receiver's thinking by "
            f"{focal['estimate']:.3f} points ({ci_text(focal)}, {p_text(focal['p_value'])}). "
            f"Its effect exceeds that of {beaten} of the 5 outward traits after Holm's "
            f"adjustment; the outward traits' own effects are "
            + ", ".join(f"{LABELS[t].split(' (')[0].lower()} {v:+.3f}"
                        for t, v in se.params.reindex(OUTWARD).dropna().items())
            + ". " + ("Receivers learn more from risk-averse senders than any outward trait "
                      "would predict, as claimed." if p_all < ALPHA else
                      "The claim is not supported in full.")
            + " The two-way clustered OLS model tells the same story"
            + (" (every comparison significant)." if (rob["p_holm"] < ALPHA).all() else
               f" only in part ({int((rob['p_holm'] < ALPHA).sum())} of 5 comparisons "
               "significant)."))
    claim = Claim("H3a", "Receivers learn more from risk-averse senders than from outward "
                  "traits", f"risk aversion {focal['estimate']:.3f} per SD "
                  f"({ci_text(focal)}); exceeds {beaten}/5", p_all, bool(p_all < ALPHA))
    return report.add_text(text), claim


def _curve_part(report: Report, res: H3Results):
    curve = res.curve
    report = report.add_heading("H3b: learning curves", 2)
    vc = curve.variance_components()
    sds = "; ".join(f"{'firm ' + r.term if r.group != 'Residual' else 'residual'} SD "
                    f"{r.std_dev:.3f}" for r in vc.itertuples())
    report = report.add_table(regression_table(
        [curve], labels=LABELS, stats=("nobs", "n_units"), model_names=["Log task outcome"],
        title="Learning curve: log task outcome on log cumulative experience",
        label="h3b-curve",
        notes=(f"Linear mixed model (REML), firm random effects, Wald z. {curve.formula}. "
               f"Exposure = log(1 + spontaneous questions received from risk-averse senders "
               f"before the task). Variance components: {sds}.",) + res.curve_steps
        + curve.notes))
    rates = curve.learning_rate(at=[0.0, float(np.quantile(curve.moderator_values, 0.9))])
    rates = rates.assign(term=["No exposure", "High exposure (90th percentile)"],
                         p_value=rates["p_value"].map(fmt_p))
    report = report.add_table(frame_table(
        rates[["term", "at", "slope", "std_error", "learning_rate", "conf_low", "conf_high",
               "p_value"]], digits=3, label="h3b-rates",
        labels={"term": "", "at": "Exposure", "slope": "Slope", "std_error": "SE",
                "learning_rate": "Progress ratio", "conf_low": "95% CI low",
                "conf_high": "95% CI high", "p_value": "p (slope = 0)"},
        title="Learning rates: the outcome after a doubling of experience, as a share",
        notes=("Progress ratio 2^slope (0.9: each doubling of experience cuts the outcome "
               "by 10%); its interval is 2^ of the slope's. Information sources held at "
               "one.",)))
    report = report.add_figure(
        curve.plot(at=[0.0, float(np.quantile(curve.moderator_values, 0.9))],
                   ylabel="Task outcome (typical firm, one source)",
                   xlabel="Cumulative experience (tasks)"),
        "Predicted task outcome along cumulative experience for a typical firm with one "
        "information source, without exposure and at the 90th percentile of exposure to "
        "risk-averse senders, with 95% intervals (fixed effects only).")
    b = curve.tidy().set_index("term").loc[curve.interaction_term]
    p = one_sided(b["estimate"], b["p_value"], positive=False)
    low, high = rates["learning_rate"].to_numpy()
    text = (f"Reading: without exposure to risk-averse senders a doubling of experience "
            f"leaves the outcome at {100 * low:.1f}% of its level; at high exposure at "
            f"{100 * high:.1f}%. Each unit of exposure changes the learning slope by "
            f"{b['estimate']:+.3f} ({ci_text(b)}, one-sided {p_text(p)}): "
            + ("exposure to risk-averse senders steepens the learning curve, as claimed."
               if p < ALPHA else "the data do not show a steeper curve with exposure."))
    claim = Claim("H3b", "Exposure to risk-averse senders steepens the learning curve",
                  f"experience × exposure {b['estimate']:.3f} ({ci_text(b)})", p,
                  bool(p < ALPHA))
    return report.add_text(text), claim


def _triangulation(report: Report, res: H3Results):
    tri = res.triangulation
    report = report.add_heading("H3c: triangulation versus reinforcement", 2)
    comp = tri.comparison().iloc[0]
    report = report.add_table(regression_table(
        [tri], labels=LABELS, stats=("nobs", "n_units", "n_clusters"),
        model_names=["Log task outcome"], label="h3c-triangulation",
        title="Information sources and experience, within firm",
        extra_rows={"Sources − experience": [f"{comp['estimate']:.3f}"],
                    "p (one-sided, sources teach more)": [fmt_p(comp["p_one_sided"])]},
        notes=("Firm fixed effects; SEs clustered by firm. Both variables in logs, so the "
               "coefficients are elasticities: the effect of doubling the sources for one "
               "experience against doubling experience (at no exposure).",)))
    src = tri.tidy().set_index("term").loc[tri.sources_term]
    exp_ = tri.tidy().set_index("term").loc[tri.experience_term]
    p = float(comp["p_one_sided"])
    text = (f"Reading: within a firm, doubling the information sources for one task changes "
            f"the outcome by {100 * (2 ** src['estimate'] - 1):+.1f}% ({ci_text(src)} for "
            f"the log slope); doubling experience, holding sources, by "
            f"{100 * (2 ** exp_['estimate'] - 1):+.1f}% ({ci_text(exp_)}). The difference "
            f"of the slopes is {comp['estimate']:.3f} (one-sided {p_text(p)}): "
            + ("firms learn more from triangulating sources than from repeating the "
               "experience, as claimed." if p < ALPHA else
               "the data do not show that sources teach more than experience."))
    claim = Claim("H3c", "More information sources teach more than more experience",
                  f"sources − experience {comp['estimate']:.3f} "
                  f"(95% CI {comp['conf_low']:.3f} to {comp['conf_high']:.3f})", p,
                  bool(p < ALPHA))
    return report.add_text(text), claim


def h3_checks(res: H3Results) -> list[Check]:
    """The H3 effects that the theory says are zero: the outward sender traits, exposure
    without experience, and experience without more sources."""
    def term(result, name: str, unit: str = ""):
        def compute():
            row = result.tidy().set_index("term").loc[name]
            return f"{row['estimate']:+.3f}{unit} ({ci_text(row)})", row["p_value"]
        return compute

    if isinstance(res.senders, Unavailable):
        checks = [check_or_untestable(res.senders, "H3a", "The outward traits of the sender "
                                      "do not matter", None)]
    else:
        checks = [check("H3a", f"{LABELS[t]} of the sender does not matter",
                        term(res.senders, t, " per SD")) for t in OUTWARD]
    checks.append(check_or_untestable(res.curve, "H3b", "Exposure alone does not shift the "
                                      "curve", term(res.curve, EXPOSURE)))
    checks.append(check_or_untestable(res.triangulation, "H3c", "More experience alone does "
                                      "not teach more (reinforcement)",
                                      term(res.triangulation, "log(cum_experience)")))
    return checks
