"""The H2 section of the study report: do loss-framed exchanges teach more?

:func:`render_h2` renders the stored H2 stage document (the findings of
:func:`ipnstats.ipn.h2.h2_findings` and the adjudicated claims): the framing table, the
moderation tables with simple slopes, the Johnson-Neyman figure, the conditional process
table and the question-pattern table, each with a plain-language reading, then the
claims with the verdicts. It fits nothing.
"""

from __future__ import annotations

import pandas as pd

from ipnstats.figures.moderation import johnson_neyman_figure
from ipnstats.ipn.claims import claims_from_json
from ipnstats.report.claims import ci_text, claims_table, not_testable_text, p_text
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import for_readers, noted_regression_table
from ipnstats.report.identification_section import rv_sentence
from ipnstats.results.stored import StoredModel, frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

LABELS = {"framing::loss": "Loss framing (vs gain)",
          "framing::neutral": "Neutral framing (vs gain)",
          "cognitive_shift": "Cognitive shift", "loss": "Loss framing",
          "cognitive_shift:loss": "Cognitive shift × loss",
          "receiver_loss_aversion": "Receiver loss aversion",
          "loss:receiver_loss_aversion": "Loss × receiver loss aversion",
          "Intercept": "Constant", "behavior_change": "Behavior change"}
ESTIMATE_LABELS = {"estimate": "Estimate", "std_error": "SE", "conf_low": "95% CI low",
                   "conf_high": "95% CI high", "p_value": "p"}


def render_h2(report: Report, doc: dict) -> Report:
    """Add the H2 section of a stored stage document: the heading, the analyses H2a-H2d
    with readings (or why one is not testable), and the claims table."""
    findings = doc["findings"]
    report = report.add_heading("H2: Do loss-framed exchanges teach more than gain-framed "
                                "ones?")
    report = report.add_text(
        "Each exchange is one receiver's question to one sender, answered with a loss, gain "
        "or neutral framing. Receivers and senders appear in many exchanges, so every model "
        "accounts for that: crossed receiver and sender random intercepts, receiver fixed "
        "effects, or standard errors clustered by receiver (and sender).")
    for name, code, title, render in (
            ("framing", "H2a", "framing and cognition", _framing),
            ("behavior", "H2b", "from cognition to behavior", _behavior),
            ("loss_aversion", "H2c", "the receiver's loss aversion", _loss_aversion),
            ("questions", "H2d", "question types and numbers", _questions)):
        f = findings[name]
        report = report.add_heading(f"{code}: {title}", 2)
        report = (report.add_text(not_testable_text(f["unavailable"])) if "unavailable" in f
                  else render(report, f))
    return claims_table(report, claims_from_json(doc["claims"]), "H2", findings["rule"])


def _framing(report: Report, f: dict) -> Report:
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(m) for m in f["models"]], keep=["^framing::"], labels=LABELS,
        stats=("nobs", "n_units"),
        model_names=["Cognitive shift (RE)", "Cognitive shift (FE)", "Behavior change"],
        title="Framing of the sender's answer and the receiver's learning", label="h2a-framing",
        notes=("RE: crossed receiver and sender random intercepts (REML), Wald z. FE: receiver "
               "fixed effects, SEs clustered by receiver and sender. Behavior change: logistic "
               "GEE clustered by receiver (exchangeable), log-odds. Gain framing is the "
               "reference. Cognitive shift in points of its scale.",)))
    loss, neutral, gee = f["loss"], f["neutral"], f["gee_loss"]
    neutral = (f"; a neutral framing differed from gain by {neutral['estimate']:+.2f} "
               f"({ci_text(neutral)})" if neutral is not None else "")
    return report.add_text(
        f"Reading: a loss-framed answer shifted the receiver's thinking by "
        f"{loss['estimate']:.2f} scale points more than a gain-framed one ({ci_text(loss)}, "
        f"{p_text(loss['p_value'])}){neutral}. "
        + ("Loss framing teaches more, as claimed." if loss["significant"] else
           "The data do not show that loss framing teaches more.")
        + f" On behavior change the loss-vs-gain log-odds difference is "
          f"{gee['estimate']:+.2f} ({ci_text(gee)})."
        + rv_sentence(f.get("sensitivity"), "receiver fixed-effects model", "loss framing",
                      "the cognitive shift"))


def _behavior(report: Report, f: dict) -> Report:
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["model"])], labels=LABELS, stats=("nobs", "n_clusters"),
        model_names=["Behavior change"],
        title="Does framing moderate the cognition-to-behavior link?", label="h2b-moderation",
        notes=("Logit of behavior change, coefficients in log-odds; SEs clustered by "
               "receiver. Loss framing is coded 1, gain and neutral framing 0.",)))
    slopes = frame_from_json(f["slopes"])
    slopes = slopes.assign(framing=slopes["w"].map({0.0: "Gain or neutral", 1.0: "Loss"}),
                           p_value=slopes["p_value"].map(fmt_p))
    report = report.add_table(frame_table(
        slopes[["framing", "scale", "estimate", "std_error", "conf_low", "conf_high",
                "p_value"]],
        labels={"framing": "Framing", "scale": "Scale", **ESTIMATE_LABELS,
                "estimate": "Slope of cognitive shift"}, digits=3, label="h2b-slopes",
        title="Simple slopes: effect of one more point of cognitive shift on behavior change",
        notes=("Log-odds: the logit slope under each framing. Probability: average marginal "
               "effect on the chance of a behavior change, delta-method SE.",)))
    b, lo, pr = f["interaction"], f["slope_log_odds"], f["slope_probability"]
    return report.add_text(
        f"Reading: under gain or neutral framing one more point of cognitive shift raises "
        f"the log-odds of a behavior change by {lo['gain_or_neutral']:.2f} (about "
        f"{100 * pr['gain_or_neutral']:.1f} percentage points); under loss framing by "
        f"{lo['loss']:.2f} (about {100 * pr['loss']:.1f} points). The difference, "
        f"{b['estimate']:.2f} ({ci_text(b)}), is "
        + ("significant: cognition turns into behavior mainly under loss framing."
           if b["significant"] else "not significant, so the claim is not supported."))


def _loss_aversion(report: Report, f: dict) -> Report:
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["model"])], labels=LABELS, stats=("nobs", "n_clusters"),
        model_names=["Cognitive shift"],
        title="Does the receiver's loss aversion amplify loss framing?", label="h2c-moderation",
        notes=("OLS; SEs clustered by receiver and by sender (two-way). Loss framing's "
               "coefficient is its effect at a loss aversion of zero; see the simple slopes "
               "and the Johnson-Neyman figure for the observed range. The loss-aversion "
               "scale's validity: Measurement section.",)))
    jn = f["johnson_neyman"]
    report = report.add_figure(
        johnson_neyman_figure(frame_from_json(jn["effects"]), frame_from_json(jn["regions"]),
                              w=jn["w"], x=jn["x"], alpha=jn["alpha"], bounds=jn["bounds"],
                              labels=LABELS),
        "Effect of loss framing (vs gain or neutral) on cognitive shift (scale points) along "
        "the receiver's loss aversion, with its 95% interval. Shaded: where the effect is "
        "significant (Johnson-Neyman).")
    b = f["interaction"]
    report = report.add_text(
        f"Reading: each point of the receiver's loss aversion adds {b['estimate']:.3f} to the "
        f"effect of loss framing ({ci_text(b)}, {p_text(b['p_value'])}). At the 16th "
        f"percentile of loss aversion the loss effect is {f['slope_p16']:.2f}, at the 84th "
        f"{f['slope_p84']:.2f} scale points. {_where(jn['significant_where'])}")
    proc = f["process"]
    report = report.add_table(_process_table(proc))
    idx = proc["index"]
    sure = ("excludes zero: the indirect effect of loss framing on behavior through cognition "
            "grows with the receiver's loss aversion" if f["index_excludes_zero"] else
            "includes zero: the moderation of the indirect effect is not established")
    return report.add_text(
        f"Reading: in the conditional process model (PROCESS model 7) loss framing raises "
        f"cognitive shift more for loss-averse receivers, and cognitive shift raises the "
        f"chance of a behavior change. The index of moderated mediation is "
        f"{idx['estimate']:.4f} (bootstrap {ci_text(idx)}); its interval {sure}.")


def _where(text: str) -> str:
    """The stored Johnson-Neyman sentence in words (labels, no ``alpha =``, ≥ and ≤)."""
    text = for_readers(text, LABELS).replace(" >= ", " ≥ ").replace(" <= ", " ≤ ")
    return text.replace(" > ", " above ").replace(" < ", " below ")


def _estimate_row(part: str, row) -> dict:
    return {"part": part, **{k: row[k] for k in ("estimate", "std_error", "conf_low",
                                                  "conf_high")},
            "p_value": fmt_p(row["p_value"])}


def _process_table(proc: dict):
    paths = frame_from_json(proc["paths"])
    paths = paths[paths["term"] != "Intercept"]
    name = LABELS.get
    rows = [_estimate_row(f"{name(r['equation'], r['equation'])} ← {name(r['term'], r['term'])}",
                          r) for _, r in paths.iterrows()]
    rows += [_estimate_row(f"Indirect effect at loss aversion {r['w']:.2f} ({r['label']})", r)
             for _, r in frame_from_json(proc["indirect_effects"]).iterrows()]
    rows.append(_estimate_row("Index of moderated mediation", proc["index"]))
    return frame_table(pd.DataFrame(rows), labels={"part": "", **ESTIMATE_LABELS}, digits=3,
                       label="h2c-process",
                       title="Conditional process model: loss framing → cognitive shift → "
                             "behavior change, moderated by loss aversion",
                       notes=("PROCESS model 7. Cognitive shift: OLS; behavior change: logit "
                              "(log-odds). Indirect effects and the index: receiver-cluster "
                              f"bootstrap, {proc['n_boot']:,} draws, percentile intervals; "
                              "path SEs clustered by receiver. Loss-aversion values: 16th, "
                              "50th and 84th percentiles.",
                              *(for_readers(w, LABELS) for w in proc["warnings"])))


def _questions(report: Report, f: dict) -> Report:
    g = frame_from_json(f["glance"]).iloc[0]
    tidy = frame_from_json(f["tidy"])
    tidy = tidy[~tidy["term"].str.startswith("count_fe: ")]
    frame = tidy.assign(term=tidy["term"].map(lambda t: _question_label(t, g)),
                        p_value=tidy["p_value"].map(fmt_p))
    report = report.add_table(frame_table(
        frame[["term", "estimate", "std_error", "conf_low", "conf_high", "p_value"]],
        labels={"term": "", **ESTIMATE_LABELS}, digits=3, label="h2d-questions",
        title="Which questions receivers ask of which senders, and how many",
        notes=("Question type by sender industry: Pearson chi-square; Cramér's V with a "
               "receiver-cluster bootstrap interval. Number of questions: Poisson "
               "quasi-likelihood on sender industry, SEs clustered by receiver; the mean "
               f"count's p is the equivalence (TOST) test against {g['expected']:g} ± "
               f"{g['margin']:g}.", *(for_readers(n, LABELS) for n in f["notes"]))))
    return report.add_text(_questions_reading(f, g))


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


def _questions_reading(f: dict, g: pd.Series) -> str:
    assoc = (f"Reading: the type of question depends on the sender's industry (chi-square "
             f"{p_text(g['chi2_p_value'])}, Cramér's V = {g['cramers_v']:.3f})")
    text = (f"{assoc}, but the number of questions differs across sender industries "
            f"({p_text(g['wald_p_value'])})" if f["counts_differ"] else
            f"{assoc}. Receivers ask {g['mean_count']:.2f} questions per exchange on average; "
            f"the equivalence test against three (within ±{g['margin']:g}) gives "
            f"{p_text(g['tost_p_value'])}, and the number asked shows no detectable "
            f"difference across sender industries ({p_text(g['wald_p_value'])})")
    return text + (". Receivers ask different types of questions of different senders but "
                   "about the same number, as claimed." if f["supported"] else
                   ". The claim is not supported in full.")


__all__ = ["LABELS", "render_h2"]
