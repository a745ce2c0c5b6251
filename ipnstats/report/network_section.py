"""The "Network" section: who learns from whom, rendered from the stored findings of
:func:`ipnstats.ipn.network_findings.fit_network` (social relations, network position and
exits, dyadic-robust SEs of the H2a and H3a tests, peer composition). Nothing is fitted
here; a piece stored as ``{"unavailable": reason}`` is one sentence.
"""

from __future__ import annotations

import math

import pandas as pd

from ipnstats.report.claims import not_testable_text
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import for_readers
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

TITLE = "Network: who learns from whom"
INTRO = ("The exchanges between firms form a network in each peer group and year: a tie "
         "runs from the sender, who answers, to the receiver, who asks. This section asks "
         "how much of learning belongs to the receiver, the sender or the pair; where firms "
         "sit in their group's network and whether that predicts leaving it; whether the "
         "exchange tests hold when exchanges sharing a firm are dependent; and whether "
         "firms do better when their peers are larger.")
COMPONENTS = {
    "actor_variance": "Receiver (learns from everyone)",
    "partner_variance": "Sender (teaches everyone)",
    "relationship_variance": "Pair (learns from this sender)",
    "actor_partner_covariance": "Generalized reciprocity",
    "relationship_covariance": "Dyadic reciprocity"}
MEASURES = {"in_degree": "In-degree (senders learned from)",
            "out_degree": "Out-degree (receivers taught)",
            "betweenness": "Betweenness", "eigenvector_in": "Eigenvector centrality (in)",
            "constraint": "Burt's constraint", "benchmark_rank_pct": "Benchmark rank",
            "critiques": "Critiques"}


def render_network(report: Report, doc: dict) -> Report:
    """The network section of a stored ``network`` stage document."""
    f = doc["findings"]
    report = report.add_heading(TITLE).add_text(INTRO)
    if "exchanges" in f:  # no exchanges: one sentence for the three parts that need them
        report = report.add_text(not_testable_text(f["exchanges"]["unavailable"]))
    for heading, part, render in (
            ("Learning between firms: the Social Relations Model", "srm", _srm),
            ("Network position and leaving the network", "position", _position),
            ("Network position and the gain from joining", "joining", _joining),
            ("The exchange tests with dyadic-robust standard errors", "dyadic", _dyadic),
            ("Peer composition: do larger peers help?", "peers", _peers)):
        if part not in f:
            continue
        report = report.add_heading(heading, 2)
        piece = f[part]
        report = (report.add_text(not_testable_text(piece["unavailable"]))
                  if "unavailable" in piece else render(report, piece))
    return report


def _num(value) -> float:
    """A stored number (None for NaN) as a float."""
    return math.nan if value is None else float(value)


def _ci(low, high) -> str:
    low, high = _num(low), _num(high)
    return "—" if math.isnan(low) or math.isnan(high) else f"[{low:.3f}, {high:.3f}]"


def _p(value) -> str:
    return "—" if math.isnan(_num(value)) else fmt_p(_num(value))


# -- the Social Relations Model --------------------------------------------------------------

def _srm(report: Report, srm: dict) -> Report:
    comps = frame_from_json(srm["components"]).set_index("term")
    rows = [{"component": label, "estimate": comps.loc[term, "estimate"],
             "se": comps.loc[term, "std_error"],
             "ci": _ci(comps.loc[term, "conf_low"], comps.loc[term, "conf_high"]),
             "share": (f"{100 * srm['shares'][term]:.0f}%" if term in srm["shares"] else
                       f"r = {comps.loc[term, 'standardized']:.2f}")}
            for term, label in COMPONENTS.items()]
    note = (f"The mean cognitive shift of each receiver-sender pair in a peer group over the "
            f"years ({srm['n_pairs']:,} pairs of {srm['n_persons']:,} firm-group "
            f"memberships in {srm['n_groups']} groups; {srm['n_missing_pairs']:,} pairs of "
            f"the groups never exchanged). Social Relations Model (Kenny, Kashy & Cook 2006) "
            f"by restricted maximum likelihood, one mean per group; Wald intervals. Share: "
            f"of the three variances; r: the covariance as a correlation. "
            f"{srm['n_exchanges_left_out']:,} exchanges with a party outside the receiver's "
            f"group that year are left out.")
    table = frame_table(pd.DataFrame(rows), labels={
        "component": "Component", "estimate": "Estimate", "se": "SE", "ci": "95% CI",
        "share": "Share or r"}, digits=3, title="Who learns from whom: variance of the "
        "cognitive shift by receiver, sender and pair", label="network-srm", notes=(note,))
    return report.add_table(table).add_text(srm_reading(srm, comps))


def srm_reading(srm: dict, comps: pd.DataFrame) -> str:
    s = srm["shares"]
    gen, dya = srm["generalized_reciprocity"], srm["dyadic_reciprocity"]

    def significant(term: str) -> bool:
        return not comps.loc[term, "conf_low"] <= 0 <= comps.loc[term, "conf_high"]

    text = (f"Reading: {100 * s['actor_variance']:.0f}% of the variation in how much a pair's "
            f"exchanges teach is the receiver's (some firms learn more from everyone), "
            f"{100 * s['partner_variance']:.0f}% the sender's (some firms teach everyone "
            f"more) and {100 * s['relationship_variance']:.0f}% the particular pair. ")
    text += (f"Firms that learn much {'also teach much' if gen > 0 else 'teach less'} "
             f"(r = {gen:.2f})" if significant("actor_partner_covariance") else
             f"Whether a firm learns much says nothing clear about whether it teaches much "
             f"(r = {gen:.2f}, interval includes zero)")
    text += ("; and when A learns from B, B " + ("also learns from A" if dya > 0 else
                                                 "learns less from A")
             + f" (r = {dya:.2f})." if significant("relationship_covariance") else
             f"; nor does A learning from B say whether B learns from A (r = {dya:.2f}).")
    return text


# -- network position -------------------------------------------------------------------------

def _position(report: Report, pos: dict) -> Report:
    dist = frame_from_json(pos["distribution"])
    if int(dist["n"].min()) < pos["threshold"]:
        return report.add_text("Not shown: fewer firm-years than the disclosure threshold.")
    dist = dist.assign(measure=dist["measure"].map(lambda m: MEASURES.get(m, m)))
    notes = (f"Member firm-years ({pos['n_firm_years']:,}) in their peer group's network of "
             "the year (ties: exchanges, sender to receiver, weighted by their number); "
             "betweenness not normalised (igraph); eigenvector centrality scaled to a "
             "maximum of 1 in each network; Burt's constraint over ties in either direction. "
             "Quartiles over firm-years; no firm is shown.",
             *(for_readers(n, MEASURES) for n in pos["notes"]))
    report = report.add_table(frame_table(dist, labels={
        "measure": "Measure", "n": "Firm-years", "mean": "Mean", "sd": "SD", "p25": "25%",
        "median": "Median", "p75": "75%"}, digits=2,
        title="Where member firms sit in their group's exchange network",
        label="network-position", notes=notes))
    exit_ = pos.get("exit", {})
    if "unavailable" in exit_:
        return report.add_text(not_testable_text(exit_["unavailable"]))
    terms = frame_from_json(exit_["terms"])
    rows = pd.DataFrame({"term": terms["term"].map(lambda m: MEASURES.get(m, m)),
                         "estimate": terms["estimate"], "se": terms["std_error"],
                         "ci": [_ci(lo, hi) for lo, hi in zip(terms["conf_low"],
                                                               terms["conf_high"],
                                                               strict=True)],
                         "p": terms["p_value"].map(fmt_p)})
    note = (f"Logit of leaving the network after year t among member years "
            f"({exit_['nobs']:,}), with group and year effects, SEs clustered by firm (H1f's "
            "model with the network position added); network measures per SD, the other "
            "predictors in their units.", *(for_readers(n, MEASURES) for n in exit_["notes"]))
    report = report.add_table(frame_table(rows, labels={
        "term": "Predictor", "estimate": "Log-odds", "se": "SE", "ci": "95% CI", "p": "p"},
        digits=3, title="Network position and leaving the network", label="network-exit",
        notes=note))
    net = terms[terms["term"].isin(list(MEASURES)[:5])]
    hits = net[net["p_value"] < 0.05]
    text = ("Reading: no network measure predicts leaving once the benchmark rank is held "
            "fixed (all p ≥ .05)." if hits.empty else
            "Reading: " + "; ".join(
                f"{MEASURES[t.term].lower()} {'raises' if t.estimate > 0 else 'lowers'} the "
                f"odds of leaving (log-odds {t.estimate:.2f} per SD, p {fmt_p(t.p_value)})"
                for t in hits.itertuples()) + ", with the benchmark rank held fixed.")
    return report.add_text(text)


def _joining(report: Report, joining: dict) -> Report:
    terms = joining["terms"]
    label = MEASURES.get(joining["measure"], joining["measure"]).lower()
    rows = pd.DataFrame([
        {"term": "Member (at the average position)", **_row(terms["member"])},
        {"term": f"Member x {label} (per SD)", **_row(terms["member_x_central"])}])
    note = (f"TWFE regression of {joining['outcome'].replace('_', ' ')} on membership and "
            f"membership times the firm's mean {label} over its member years, standardized "
            f"over the {joining['n_firms_with_position']:,} members with a position (0 for "
            f"never-members); firm and year effects, SEs clustered by firm "
            f"({joining['nobs']:,} firm-years).")
    report = report.add_table(frame_table(rows, labels={
        "term": "Term", "estimate": "Estimate", "se": "SE", "ci": "95% CI", "p": "p"},
        digits=3, title="The effect of membership by network position",
        label="network-joining", notes=(note,)))
    x = terms["member_x_central"]
    sign = ("more" if x["estimate"] > 0 else "less")
    text = (f"Reading: members whose {label} is one SD above the average gain "
            f"{abs(x['estimate']):.3f} {sign} from membership (p {_p(x['p_value'])}). "
            if x["p_value"] < 0.05 else
            f"Reading: the gain from membership does not differ clearly with {label} "
            f"(p {_p(x['p_value'])}). ")
    return report.add_text(text + "The position is measured after joining, so this says "
                           "who gains, not that a central position causes the gain: "
                           "firms that take part more (attend, disclose) are likely "
                           "also asked more.")


def _row(t: dict) -> dict:
    return {"estimate": _num(t["estimate"]), "se": _num(t["std_error"]),
            "ci": _ci(t["conf_low"], t["conf_high"]), "p": _p(t["p_value"])}


# -- dyadic dependence ------------------------------------------------------------------------

def _dyadic(report: Report, dyadic: dict) -> Report:
    rows, ratios = [], []
    labels = {"H2a": "H2a: loss against gain framing",
              "H3a": "H3a: sender risk aversion (per SD)"}
    for claim in ("H2a", "H3a"):
        piece = dyadic.get(claim, {})
        if "unavailable" in piece:
            continue
        fits = {f["vcov"]: f for f in piece["fits"]}
        two, dy = fits["two-way"], fits["dyadic"]
        ratio = _num(dy["std_error"]) / _num(two["std_error"])
        if math.isfinite(ratio):
            ratios.append(ratio)
        rows.append({"test": labels[claim], "estimate": _num(two["estimate"]),
                     "se2": _num(two["std_error"]), "p2": _p(two["p_value"]),
                     "sed": _num(dy["std_error"]), "pd": _p(dy["p_value"])})
    if not rows:
        return report.add_text(not_testable_text("the exchange tests could not be fitted."))
    note = ("Least squares of the cognitive shift on the primary test's term (H3a with the "
            "loss frame as covariate), without the random effects of the primary models. "
            "Two-way: clustered by sender and by receiver (Cameron, Gelbach & Miller 2011). "
            "Dyadic: exchanges that share a firm, as sender or receiver, are dependent "
            "(Aronow, Samii & Assenova 2015), with the one-way cluster small-sample factor "
            "over firms.")
    report = report.add_table(frame_table(pd.DataFrame(rows), labels={
        "test": "Test", "estimate": "Estimate", "se2": "SE, two-way", "p2": "p, two-way",
        "sed": "SE, dyadic", "pd": "p, dyadic"}, digits=3,
        title="The exchange tests with two-way and dyadic-robust standard errors",
        label="network-dyadic", notes=(note,)))
    if not ratios:
        return report.add_text("Reading: the standard errors cannot be estimated on so few "
                               "exchanges.")
    lo, hi = min(ratios), max(ratios)
    return report.add_text(
        f"Reading: the dyadic-robust standard errors are {lo:.2f} to {hi:.2f} times the "
        "two-way clustered ones; " + ("allowing every exchange of a firm, in either role, to "
                                      "be dependent does not weaken the tests." if hi < 1.2
                                      else "the tests are weaker once exchanges sharing a "
                                      "firm in either role are allowed to be dependent."))


# -- peer composition -------------------------------------------------------------------------

def _peers(report: Report, peers: dict) -> Report:
    rows = [{"estimator": label, "estimate": peers["fits"][k]["estimate"],
             "se": peers["fits"][k]["std_error"],
             "ci": _ci(peers["fits"][k]["conf_low"], peers["fits"][k]["conf_high"]),
             "p": fmt_p(peers["fits"][k]["p_value"])}
            for k, label in (("corrected", "Corrected for exclusion bias (GKN)"),
                             ("naive", "Naive leave-one-out"))]
    note = (f"Member firm-years ({peers['nobs']:,}) of {peers['n_group_years']:,} peer "
            f"groups x years ({peers['n_alone']:,} firm-years alone in their group left out). "
            f"{peers['outcome'].replace('_', ' ').capitalize()} on the mean baseline size "
            "(log of 1 + employees at baseline) of the group's other members that year and "
            "the firm's own, linear in means; the corrected fit also controls for the mean "
            "of all other firms of the year (Guryan, Kroft & Notowidigdo 2009) and year "
            "effects. SEs clustered by peer group (CR2). Randomization p: the groups of each "
            f"year re-drawn at random {peers['n_perm']:,} times (seed {peers['seed']}).")
    report = report.add_table(frame_table(pd.DataFrame(rows), labels={
        "estimator": "Estimator", "estimate": "Peer effect", "se": "SE", "ci": "95% CI",
        "p": "p"}, digits=3, title="Peers' size and the firm's outcome",
        label="network-peers", notes=(note, *(for_readers(n, {}) for n in peers["notes"]))))
    c = peers["fits"]["corrected"]
    found = c["p_value"] < 0.05 and peers["randomization_p"] < 0.05
    return report.add_text(
        f"Reading: a group whose other members are larger by one log point goes with "
        f"{c['estimate']:.3f} more {peers['outcome'].replace('_', ' ')} "
        f"({_ci(c['conf_low'], c['conf_high'])}; randomization p "
        f"{fmt_p(peers['randomization_p'])}): "
        + ("larger peers help." if found else "no evidence that larger peers help.")
        + " Groups are formed by joining, not at random, so this is an association unless "
          "the chair assigns joiners to groups at random; the randomization test assumes "
          "that rule.")


__all__ = ["render_network", "srm_reading"]
