"""The H2 section of the study report: do loss-framed exchanges teach more?

:func:`fit_h2` estimates every H2 model on the exchange frame through ipnstats' public
functions and returns them in one frozen :class:`H2Results`; :func:`h2_section`
renders them: the framing table, the moderation tables with simple slopes, the
Johnson-Neyman figure, the conditional process table and the question-pattern table,
each with a plain-language reading, then the claims with the verdicts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from ipnstats.ipn.claims import (
    ALPHA,
    Check,
    Claim,
    attempt,
    check_or_untestable,
    no_table,
    one_sided,
)
from ipnstats.report.claims import ci_text, claims_table, p_text, render_parts
from ipnstats.report.document import Report
from ipnstats.results.vcov import Cluster
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table
from ipnstats.tables.regression import regression_table

RECEIVER, SENDER = "receiver_id", "sender_id"
LABELS = {"framing::loss": "Loss framing (vs gain)",
          "framing::neutral": "Neutral framing (vs gain)",
          "cognitive_shift": "Cognitive shift", "loss": "Loss framing",
          "cognitive_shift:loss": "Cognitive shift × loss",
          "receiver_loss_aversion": "Receiver loss aversion",
          "loss:receiver_loss_aversion": "Loss × receiver loss aversion",
          "Intercept": "Constant", "behavior_change": "Behavior change"}


@dataclass(frozen=True)
class H2Results:
    """Every H2 estimate behind the report section."""

    framing: object  # [crossed random effects, receiver FE, GEE logit] or Unavailable
    behavior: object  # moderation: behavior_change ~ cognitive_shift x loss (logit)
    loss_aversion: object  # moderation: cognitive_shift ~ loss x receiver_loss_aversion
    process: object  # PROCESS model 7
    questions: object  # question_patterns
    threshold: int


def fit_h2(ex: pd.DataFrame | None, *, threshold: int, n_boot: int = 999,
           seed: int = 0, absent: Collection[str] = ()) -> H2Results:
    """Fit the H2 models on an exchange frame (``Study.exchanges``).

    ``ex=None`` (a study without exchanges) or a table the claim needs among ``absent``
    (the study's missing tables, ``Study.skipped``; see
    :data:`~ipnstats.report.claims.NEEDS`) makes each analysis that needs it
    :class:`~ipnstats.report.claims.Unavailable`, with the reason.
    """
    from ipnstats.estimators.moderation import moderation
    from ipnstats.estimators.process import conditional_process
    from ipnstats.ipn.questions import question_patterns

    absent = {*absent, *(("exchanges",) if ex is None else ())}

    def fit(code: str, estimator, /, **options):
        return no_table(code, absent) or attempt(estimator, ex, **options)

    return H2Results(
        framing=fit("H2a", _framing_models),
        behavior=fit("H2b", moderation, y="behavior_change", x="cognitive_shift", w="loss",
                     family="binomial", vcov=Cluster(RECEIVER)),
        loss_aversion=fit("H2c", moderation, y="cognitive_shift", x="loss",
                          w="receiver_loss_aversion", vcov=Cluster(RECEIVER, SENDER)),
        process=fit("H2c", conditional_process, model=7, x="loss", m="cognitive_shift",
                    y="behavior_change", w="receiver_loss_aversion", cluster=RECEIVER,
                    n_boot=n_boot, seed=seed),
        questions=fit("H2d", question_patterns, seed=seed, n_boot=n_boot),
        threshold=threshold)


def _framing_models(ex: pd.DataFrame) -> list:
    from ipnstats.ipn.framing import framing_effect

    return [framing_effect(ex), framing_effect(ex, effects="fixed"),
            framing_effect(ex, outcome="behavior_change")]


# ---------------------------------------------------------------- rendering


def h2_section(report: Report, res: H2Results) -> Report:
    """Add the H2 heading, the analyses H2a-H2d with readings, and the claims table."""
    return claims_table(*h2_parts(report, res), "H2", H2_RULE)


def h2_parts(report: Report, res: H2Results) -> tuple[Report, list[Claim]]:
    """Add the H2 heading and the analyses H2a-H2d with readings; also return the claims."""
    report = report.add_heading("H2: Do loss-framed exchanges teach more than gain-framed "
                                "ones?")
    report = report.add_text(
        "Each exchange is one receiver's question to one sender, answered with a loss, gain "
        "or neutral framing. Receivers and senders appear in many exchanges, so every model "
        "accounts for that: crossed receiver and sender random intercepts, receiver fixed "
        "effects, or standard errors clustered by receiver (and sender).")
    report, claims = render_parts(report, res, (
        (_framing, "H2a", "framing and cognition", ("framing",),
         "Loss-framed exchanges shift cognition more than gain-framed ones"),
        (_behavior, "H2b", "from cognition to behavior", ("behavior",),
         "Cognition turns into behavior mainly under loss framing"),
        (_loss_aversion, "H2c", "the receiver's loss aversion", ("loss_aversion", "process"),
         "Receivers' loss aversion amplifies loss framing"),
        (_questions, "H2d", "question types and numbers", ("questions",),
         "Different question types for different senders, about three questions each")))
    return report, claims


H2_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided for H2a-H2c); H2d needs both a "
           "significant association and counts equivalent to three.")


def _framing(report: Report, res: H2Results):
    models = res.framing
    report = report.add_heading("H2a: framing and cognition", 2)
    report = report.add_table(regression_table(
        models, keep=["^framing::"], labels=LABELS, stats=("nobs", "n_units"),
        model_names=["Cognitive shift (RE)", "Cognitive shift (FE)", "Behavior change"],
        title="Framing of the sender's answer and the receiver's learning", label="h2a-framing",
        notes=("RE: crossed receiver and sender random intercepts (REML), Wald z. FE: receiver "
               "fixed effects, SEs clustered by receiver and sender. Behavior change: logistic "
               "GEE clustered by receiver (exchangeable), log-odds. Gain framing is the "
               "reference.",)))
    tidy = models[0].tidy().set_index("term")
    loss = tidy.loc["framing::loss"]
    p = one_sided(loss["estimate"], loss["p_value"])
    gee = models[2].tidy().set_index("term").loc["framing::loss"]
    neutral = (f"; a neutral framing differed from gain by "
               f"{tidy.loc['framing::neutral', 'estimate']:+.2f} "
               f"({ci_text(tidy.loc['framing::neutral'])})"
               if "framing::neutral" in tidy.index else "")
    text = (f"Reading: a loss-framed answer shifted the receiver's thinking by "
            f"{loss['estimate']:.2f} points more than a gain-framed one ({ci_text(loss)}, "
            f"{p_text(loss['p_value'])}){neutral}. "
            + ("Loss framing teaches more, as claimed." if p < ALPHA else
               "The data do not show that loss framing teaches more.")
            + f" On behavior change the loss-vs-gain log-odds difference is "
              f"{gee['estimate']:+.2f} ({ci_text(gee)}).")
    claim = Claim("H2a", "Loss-framed exchanges shift cognition more than gain-framed ones",
                  f"loss - gain {loss['estimate']:.3f} ({ci_text(loss)})", p, bool(p < ALPHA))
    return report.add_text(text), claim


def _behavior(report: Report, res: H2Results):
    mod = res.behavior
    report = report.add_heading("H2b: from cognition to behavior", 2)
    report = report.add_table(regression_table(
        [mod], labels=LABELS, stats=("nobs", "n_clusters"), model_names=["Behavior change"],
        title="Does framing moderate the cognition-to-behavior link?", label="h2b-moderation",
        notes=("Logit of behavior change; SEs clustered by receiver. Gain and neutral framing "
               "both have loss = 0.",)))
    slopes = mod.simple_slopes()
    slopes = slopes.assign(framing=slopes["w"].map({0.0: "Gain or neutral", 1.0: "Loss"}),
                           p_value=slopes["p_value"].map(fmt_p))
    report = report.add_table(frame_table(
        slopes[["framing", "scale", "estimate", "std_error", "conf_low", "conf_high",
                "p_value"]],
        labels={"framing": "Framing", "scale": "Scale", "estimate": "Slope of cognitive shift",
                "std_error": "SE", "conf_low": "95% CI low", "conf_high": "95% CI high",
                "p_value": "p"}, digits=3, label="h2b-slopes",
        title="Simple slopes: effect of one more point of cognitive shift on behavior change",
        notes=("Log-odds: the logit slope under each framing. Probability: average marginal "
               "effect on the chance of a behavior change, delta-method SE.",)))
    b = mod.tidy().set_index("term").loc["cognitive_shift:loss"]
    p = one_sided(b["estimate"], b["p_value"])
    lo = slopes[(slopes["scale"] == "log-odds")].set_index("w")["estimate"]
    pr = slopes[(slopes["scale"] == "probability")].set_index("w")["estimate"]
    text = (f"Reading: under gain or neutral framing one more point of cognitive shift raises "
            f"the log-odds of a behavior change by {lo[0.0]:.2f} (about {100 * pr[0.0]:.1f} "
            f"percentage points); under loss framing by {lo[1.0]:.2f} (about "
            f"{100 * pr[1.0]:.1f} points). The difference, {b['estimate']:.2f} "
            f"({ci_text(b)}), is "
            + ("significant: cognition turns into behavior mainly under loss framing."
               if p < ALPHA else "not significant, so the claim is not supported."))
    claim = Claim("H2b", "Cognition turns into behavior mainly under loss framing",
                  f"interaction {b['estimate']:.3f} ({ci_text(b)})", p, bool(p < ALPHA))
    return report.add_text(text), claim


def _loss_aversion(report: Report, res: H2Results):
    mod, proc = res.loss_aversion, res.process
    report = report.add_heading("H2c: the receiver's loss aversion", 2)
    report = report.add_table(regression_table(
        [mod], labels=LABELS, stats=("nobs", "n_clusters"), model_names=["Cognitive shift"],
        title="Does the receiver's loss aversion amplify loss framing?", label="h2c-moderation",
        notes=("OLS; SEs clustered by receiver and by sender (two-way). Loss framing's "
               "coefficient is its effect at a loss aversion of zero; see the simple slopes "
               "and the Johnson-Neyman figure for the observed range.",)))
    jn = mod.johnson_neyman()
    report = report.add_figure(
        mod.jn_plot(), "Effect of loss framing (vs gain or neutral) on cognitive shift along "
        "the receiver's loss aversion, with its 95% interval. Shaded: where the effect is "
        "significant (Johnson-Neyman).")
    b = mod.tidy().set_index("term").loc["loss:receiver_loss_aversion"]
    p = one_sided(b["estimate"], b["p_value"])
    slopes = mod.simple_slopes().set_index("label")
    report = report.add_text(
        f"Reading: each point of the receiver's loss aversion adds {b['estimate']:.3f} to the "
        f"effect of loss framing ({ci_text(b)}, {p_text(b['p_value'])}). At the 16th "
        f"percentile of loss aversion the loss effect is "
        f"{slopes.loc['16th percentile', 'estimate']:.2f}, at the 84th "
        f"{slopes.loc['84th percentile', 'estimate']:.2f}. {jn.significant_where}")
    report = report.add_table(_process_table(proc))
    idx = proc.index_of_moderated_mediation().iloc[0]
    sure = ("excludes zero: the indirect effect of loss framing on behavior through cognition "
            "grows with the receiver's loss aversion" if idx["conf_low"] > 0 or
            idx["conf_high"] < 0 else "includes zero: the moderation of the indirect effect "
            "is not established")
    report = report.add_text(
        f"Reading: in the conditional process model (PROCESS model 7) loss framing raises "
        f"cognitive shift more for loss-averse receivers, and cognitive shift raises the "
        f"chance of a behavior change. The index of moderated mediation is "
        f"{idx['estimate']:.4f} (bootstrap {ci_text(idx)}); its interval {sure}.")
    claim = Claim("H2c", "Receivers' loss aversion amplifies loss framing",
                  f"loss × loss aversion {b['estimate']:.3f} ({ci_text(b)})", p,
                  bool(p < ALPHA))
    return report, claim


def _process_table(proc):
    paths = proc.paths()
    paths = paths[paths["term"] != "Intercept"]
    name = LABELS.get
    rows = [{"part": f"{name(r.equation, r.equation)} ← {name(r.term, r.term)}",
             "estimate": r.estimate, "std_error": r.std_error, "conf_low": r.conf_low,
             "conf_high": r.conf_high,
             "p_value": fmt_p(r.p_value)} for r in paths.itertuples()]
    for r in proc.indirect_effects().itertuples():
        rows.append({"part": f"Indirect effect at loss aversion {r.w:.2f} ({r.label})",
                     "estimate": r.estimate, "std_error": r.std_error, "conf_low": r.conf_low,
                     "conf_high": r.conf_high, "p_value": fmt_p(r.p_value)})
    idx = proc.index_of_moderated_mediation().iloc[0]
    rows.append({"part": "Index of moderated mediation", "estimate": idx["estimate"],
                 "std_error": idx["std_error"], "conf_low": idx["conf_low"],
                 "conf_high": idx["conf_high"], "p_value": fmt_p(idx["p_value"])})
    return frame_table(pd.DataFrame(rows), labels={
        "part": "", "estimate": "Estimate", "std_error": "SE", "conf_low": "95% CI low",
        "conf_high": "95% CI high", "p_value": "p"}, digits=3, label="h2c-process",
        title="Conditional process model: loss framing → cognitive shift → behavior change, "
              "moderated by loss aversion",
        notes=("PROCESS model 7. Cognitive shift: OLS; behavior change: logit (log-odds). "
               f"Indirect effects and the index: receiver-cluster bootstrap, "
               f"{proc.n_boot:,} draws, percentile intervals; path SEs clustered by receiver. "
               "Loss-aversion values: 16th, 50th and 84th percentiles.",) + proc.warnings)


def _questions(report: Report, res: H2Results):
    qp = res.questions
    report = report.add_heading("H2d: question types and numbers", 2)
    g = qp.glance().iloc[0]
    tidy = qp.tidy()
    tidy = tidy[~tidy["term"].str.startswith("count_fe: ")]
    frame = tidy.assign(term=tidy["term"].map(lambda t: _question_label(t, g)),
                        p_value=tidy["p_value"].map(fmt_p))
    report = report.add_table(frame_table(
        frame[["term", "estimate", "std_error", "conf_low", "conf_high", "p_value"]],
        labels={"term": "", "estimate": "Estimate", "std_error": "SE",
                "conf_low": "95% CI low", "conf_high": "95% CI high", "p_value": "p"},
        digits=3, label="h2d-questions",
        title="Which questions receivers ask of which senders, and how many",
        notes=("Question type by sender industry: Pearson chi-square; Cramér's V with a "
               "receiver-cluster bootstrap interval. Number of questions: Poisson "
               "quasi-likelihood on sender industry, SEs clustered by receiver; the mean "
               f"count's p is the equivalence (TOST) test against {g['expected']:g} ± "
               f"{g['margin']:g}.",) + tuple(getattr(qp, "notes", ()))))
    text, claim = _questions_reading(qp, g)
    return report.add_text(text), claim


def _question_label(term: str, g: pd.Series) -> str:
    fixed = {"chi2": f"Pearson chi-square (df {int(g['chi2_df'])})",
             "cramers_v": "Cramér's V", "cramers_v_corrected": "Cramér's V, bias-corrected",
             "mean_count": "Mean questions per exchange",
             "count: Intercept": "Poisson: constant (log count)",
             "sender_effects": f"Wald: no sender-industry effect (chi-square, "
                               f"{int(g['wald_df'])} df)",
             "sender_effects_fe": "Same, with receiver fixed effects"}
    if term in fixed:
        return fixed[term]
    level = term.split("::", 1)[-1].replace("_", " ")
    return f"Poisson: sender industry {level}"


def _questions_reading(qp, g: pd.Series):
    assoc_p = float(g["chi2_p_value"])
    tost_p = float(g["tost_p_value"])
    supported = assoc_p < ALPHA and tost_p < ALPHA
    text = (f"Reading: the type of question depends on the sender's industry (chi-square "
            f"{p_text(assoc_p)}, Cramér's V = {g['cramers_v']:.3f}). Receivers ask "
            f"{g['mean_count']:.2f} questions per exchange on average; the equivalence test "
            f"against three (within ±{g['margin']:g}) gives {p_text(tost_p)}, and the number "
            f"asked shows no detectable difference across sender industries "
            f"({p_text(g['wald_p_value'])})"
            if g["wald_p_value"] >= ALPHA else
            f"Reading: the type of question depends on the sender's industry (chi-square "
            f"{p_text(assoc_p)}, Cramér's V = {g['cramers_v']:.3f}), but the number of "
            f"questions differs across sender industries ({p_text(g['wald_p_value'])})")
    text += (". Receivers ask different types of questions of different senders but about "
             "the same number, as claimed." if supported else
             ". The claim is not supported in full.")
    claim = Claim("H2d", "Different question types for different senders, about three "
                  "questions each", f"V = {g['cramers_v']:.3f}; mean {g['mean_count']:.2f}",
                  max(assoc_p, tost_p), bool(supported))
    return text, claim


def h2_checks(res: H2Results) -> list[Check]:
    """The H2 effects that the theory says are zero: neutral and gain framing teach the
    same, loss aversion does not matter without loss framing, and senders do not change
    how many questions are asked."""
    def neutral():
        row = res.framing[0].contrasts().set_index("term").loc["neutral - gain"]
        return f"neutral - gain {row['estimate']:+.3f} ({ci_text(row)})", row["p_value"]

    def loss_aversion():
        row = res.loss_aversion.tidy().set_index("term").loc["receiver_loss_aversion"]
        return f"slope {row['estimate']:+.3f} ({ci_text(row)})", row["p_value"]

    def senders():
        test = res.questions.sender_test
        return f"Wald chi2({test.df_num}) = {test.statistic:.2f}", test.p_value

    parts = (("framing", "H2a", "Neutral framing teaches the same as gain framing", neutral),
             ("loss_aversion", "H2c", "Loss aversion does not matter under gain framing",
              loss_aversion),
             ("questions", "H2d", "Senders do not change the number of questions", senders))
    return [check_or_untestable(getattr(res, name), code, what, compute)
            for name, code, what, compute in parts]
