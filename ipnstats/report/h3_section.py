"""The H3 section of the study report: do receivers learn more from risk-averse senders?

:func:`render_h3` renders the stored document of the ``h3`` stage (its findings, made by
:func:`ipnstats.ipn.h3.h3_findings`, and its adjudicated claims): the sender-traits table
(crossed random effects and two-way clustered OLS side by side) with the trait
comparisons, the learning-curve table, learning rates and figure, and the triangulation
table, each with a plain-language reading, then the claims. It fits nothing.
"""

from __future__ import annotations

import pandas as pd

from ipnstats.figures.learning import learning_curve_plot
from ipnstats.ipn.claims import Claim, claims_from_json
from ipnstats.report.claims import ci_text, claims_table, not_testable_text, p_text
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import for_readers, noted_regression_table
from ipnstats.report.identification_section import rv_sentence
from ipnstats.results.stored import StoredModel, frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

LABELS = {"outcome": "Log task outcome",
          "sender_risk_aversion": "Risk aversion (inward)", "sender_size": "Size",
          "sender_age": "Age", "sender_success": "Success (profit margin)",
          "sender_status": "Status (benchmark rank)", "same_industry": "Same industry",
          "log(cum_experience)": "Log cumulative experience",
          "exposure": "Exposure to risk-averse senders",
          "log(cum_experience):exposure": "Log experience × exposure",
          "log_cum_experience_x_exposure": "Log experience × exposure",
          "log_n_sources": "Log information sources", "log(n_sources)": "Log information sources",
          "Intercept": "Constant", "cognitive_shift": "Cognitive shift",
          "log_outcome": "Log task outcome", "log(outcome)": "Log task outcome"}


def render_h3(report: Report, doc: dict) -> Report:
    """Add the H3 section of the stored ``h3`` stage document ``doc``: the heading, the
    analyses H3a-H3c with readings (or why each is not testable), and the claims table."""
    findings = doc["findings"]
    report = report.add_heading("H3: Do receivers learn more from risk-averse senders?")
    report = report.add_text(
        "H3a compares what receivers learn from senders with different traits: risk "
        "aversion, an inward psychological trait, against the outward traits the literature "
        "emphasises. H3b and H3c follow firms down their learning curves over repeated "
        "tasks: whether exposure to risk-averse senders steepens the curve, and whether "
        "firms learn more from several information sources for one experience "
        "(triangulation) than from more experience (reinforcement).")
    parts = ((_senders, "H3a", "sender traits", "senders"),
             (_curve, "H3b", "learning curves", "curve"),
             (_triangulation, "H3c", "triangulation versus reinforcement", "triangulation"))
    for render, code, title, part in parts:
        stored = findings[part]
        if "unavailable" in stored:
            report = report.add_heading(f"{code}: {title}", 2).add_text(
                not_testable_text(stored["unavailable"]))
        else:
            report = render(report.add_heading(f"{code}: {title}", 2), stored)
    claims = claims_from_json(doc["claims"], Claim)
    return claims_table(report, claims, "H3", findings["rule"])


def _senders(report: Report, f: dict) -> Report:
    vc = frame_from_json(f["random_effects"])
    sd_text = ", ".join(f"{g.replace('_id', '')} {v:.2f}"
                        for g, v in zip(vc["group"], vc["std_dev"], strict=True))
    report = report.add_table(noted_regression_table(
        {"Mixed model": StoredModel.from_json(f["mixed"]),
         "Two-way clustered OLS": StoredModel.from_json(f["ols"])},
        keep=[f"^{t}$" for t in f["traits"]], labels=LABELS,
        stats=("nobs", "n_units", "n_clusters"),
        title="Sender traits and the receiver's cognitive shift (effects of one SD)",
        label="h3a-traits",
        notes=("Each trait standardized to one SD over the estimation rows. Mixed model: "
               "crossed receiver and sender random intercepts (REML), Wald z; random-effect "
               f"SDs: {sd_text}. OLS: SEs clustered by sender and by receiver. Both hold "
               "the framing of the answer (loss, neutral vs gain) constant. The risk-aversion "
               "scale's validity: Measurement section.",)))
    comp = frame_from_json(f["comparisons"])
    rows = pd.DataFrame({
        "comparison": [LABELS[t].split(" (")[0] for t in comp["trait"]],
        **{k: comp[k] for k in ("estimate", "conf_low", "conf_high")},
        "p_one_sided": comp["p_one_sided"].map(fmt_p), "p_holm": comp["p_holm"].map(fmt_p),
        "ols": comp["ols"], "ols_p_holm": comp["ols_p_holm"].map(fmt_p)})
    report = report.add_table(frame_table(
        rows, digits=3, label="h3a-comparisons",
        labels={"comparison": "Risk aversion minus", "estimate": "Difference",
                "conf_low": "95% CI low", "conf_high": "95% CI high",
                "p_one_sided": "p (one-sided)", "p_holm": "p (Holm)",
                "ols": "Difference (OLS)", "ols_p_holm": "p (Holm, OLS)"},
        title="Does risk aversion teach more than each outward trait?",
        notes=("Wald tests of the difference of per-SD effects against risk aversion's being "
               "larger (one-sided), Holm-adjusted across the five comparisons; mixed model, "
               "and two-way clustered OLS on the right.",)))
    focal, outward = f["focal"], frame_from_json(f["outward"])
    n = f["n_outward"]
    text = (f"Reading: a sender one SD more risk averse shifts the receiver's thinking by "
            f"{focal['estimate']:.3f} points ({ci_text(focal)}, {p_text(focal['p_value'])}). "
            f"Its effect exceeds that of {f['beaten']} of the {n} outward traits after Holm's "
            f"adjustment; the outward traits' own effects are "
            + ", ".join(f"{LABELS[t].split(' (')[0].lower()} {v:+.3f}"
                        for t, v in zip(outward["trait"], outward["estimate"], strict=True))
            + ". " + ("Receivers learn more from risk-averse senders than any outward trait "
                      "would predict, as claimed." if f["supported"] else
                      "The claim is not supported in full.")
            + " The two-way clustered OLS model tells the same story"
            + (" (every comparison significant)." if f["ols_all_significant"] else
               f" only in part ({f['ols_significant']} of {n} comparisons significant).")
            + rv_sentence(f.get("sensitivity"), "two-way clustered OLS model",
                          "the sender's risk aversion", "the cognitive shift"))
    return report.add_text(text)


def _term(term: str) -> str:
    """A random effect's term in words: ``(Intercept)`` -> ``intercept``."""
    return "intercept" if term in ("(Intercept)", "Intercept") else \
        LABELS.get(term, term).lower()


def _curve(report: Report, f: dict) -> Report:
    vc = frame_from_json(f["variance_components"])
    sds = "; ".join(f"{'firm ' + _term(r.term) if r.group != 'Residual' else 'residual'} SD "
                    f"{r.std_dev:.3f}" for r in vc.itertuples())
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["model"])], labels=LABELS, stats=("nobs", "n_units"),
        model_names=["Log task outcome"],
        title="Learning curve: log task outcome on log cumulative experience",
        label="h3b-curve",
        notes=("Linear mixed model (REML): log task outcome on log cumulative experience, "
               "exposure, their interaction and log information sources, with a random "
               "intercept and a random slope of log experience per firm; Wald z. "
               f"Exposure = log(1 + spontaneous questions received from risk-averse senders "
               f"before the task). Variance components: {sds}.",)
        + tuple(for_readers(n, LABELS) for n in (*f["steps"], *f["notes"]))))
    rates = frame_from_json(f["rates"])
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
        learning_curve_plot(frame_from_json(f["predictions"]), experience=f["experience"],
                            ylabel="Task outcome (typical firm, one source)",
                            xlabel="Cumulative experience (tasks)"),
        "Predicted task outcome along cumulative experience for a typical firm with one "
        "information source, without exposure and at the 90th percentile of exposure to "
        "risk-averse senders, with 95% intervals (fixed effects only).")
    b = f["interaction"]
    low, high = rates["learning_rate"].to_numpy()
    text = (f"Reading: without exposure to risk-averse senders a doubling of experience "
            f"leaves the outcome at {100 * low:.1f}% of its level; at high exposure at "
            f"{100 * high:.1f}%. Each unit of exposure changes the learning slope by "
            f"{b['estimate']:+.3f} ({ci_text(b)}, one-sided {p_text(f['p_one_sided'])}): "
            + ("exposure to risk-averse senders steepens the learning curve, as claimed."
               if f["steepens"] else "the data do not show a steeper curve with exposure."))
    return report.add_text(text)


def _triangulation(report: Report, f: dict) -> Report:
    comp = f["comparison"]
    report = report.add_table(noted_regression_table(
        [StoredModel.from_json(f["model"])], labels=LABELS,
        stats=("nobs", "n_units", "n_clusters"),
        model_names=["Log task outcome"], label="h3c-triangulation",
        title="Information sources and experience, within firm",
        extra_rows={"Sources − experience": [f"{comp['estimate']:.3f}"],
                    "p (one-sided, sources teach more)": [fmt_p(comp["p_one_sided"])]},
        notes=("Firm fixed effects; SEs clustered by firm. Both variables in logs, so the "
               "coefficients are elasticities: the effect of doubling the sources for one "
               "experience against doubling experience (at no exposure).",)))
    src, exp_ = f["sources"], f["experience"]
    text = (f"Reading: within a firm, doubling the information sources for one task changes "
            f"the outcome by {100 * f['sources_change']:+.1f}% ({ci_text(src)} for "
            f"the log slope); doubling experience, holding sources, by "
            f"{100 * f['experience_change']:+.1f}% ({ci_text(exp_)}). The difference "
            f"of the slopes is {comp['estimate']:.3f} (one-sided "
            f"{p_text(comp['p_one_sided'])}): "
            + ("firms learn more from triangulating sources than from repeating the "
               "experience, as claimed." if f["sources_teach_more"] else
               "the data do not show that sources teach more than experience."))
    return report.add_text(text)


__all__ = ["LABELS", "render_h3"]
