"""The H1 section of the study report: does joining an IPN raise firm performance?

:func:`fit_h1` estimates every H1 model on the firm-year frame through ipnstats'
public functions and returns them in one frozen :class:`H1Results`;
:func:`h1_section` renders them: a table or figure per analysis, each with a
two-sentence reading (what the estimate shows, how sure we are), and the claims
with whether the data support each. Every model's warnings (pre-trends, few
clusters, collinearity, cells without controls) go into the tables' notes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.estimators.did import event_study, participation_effect
from ipnstats.ipn.claims import ALPHA, Check, Claim, Unavailable, check_or_untestable, no_table
from ipnstats.ipn.claims import attempt as _attempt
from ipnstats.ipn.stages import stage_effects
from ipnstats.report.claims import ci_text as _ci
from ipnstats.report.claims import claims_table, not_testable_text
from ipnstats.report.claims import p_text as _p
from ipnstats.report.document import Report
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table
from ipnstats.tables.regression import regression_table

OUTCOMES = {"log_revenue": "Log revenue", "profit_margin": "Profit margin",
            "employment_growth": "Employment growth"}
ESTIMATORS = ("TWFE", "CS", "CS + covariates", "Sun-Abraham")
COVARIATES = ("age", "log_employees")
CLAIMS = {"H1a": "Joining an IPN raises firm performance (log revenue)",
          "H1b": "The effect grows from novice to expert",
          "H1c": "Perceived learning carries the effect to performance",
          "H1d": "Cooperative and competitive practices each matter",
          "H1e": "IPNs help firms most at an early growth stage (young joiners)",
          "H1f": "Competition pushes low-ranked firms to disengage"}
PRACTICE_LABELS = {"attendance_rate": "Attendance rate", "disclosure_rate": "Disclosure rate",
                   "critiques": "Critiques received", "benchmark_rank_pct": "Benchmark rank (pct.)"}


@dataclass(frozen=True)
class H1Results:
    """Every H1 estimate behind the report section."""

    participation: dict  # outcome -> [TWFE, CS, CS + covariates, Sun-Abraham]
    event: Result
    stages: Result
    mediation: Result
    practices: Result
    practices_std: Result
    heterogeneity: object
    hazard: Result
    hazard_cox: Result
    threshold: int
    covariates: tuple[str, ...] = COVARIATES


def fit_h1(fy: pd.DataFrame, *, threshold: int, n_boot: int = 999, seed: int = 0,
           firms: pd.DataFrame | None = None, outcomes: tuple[str, ...] = tuple(OUTCOMES),
           covariates: tuple[str, ...] = COVARIATES, mediation_draws: int = 5000,
           absent: Collection[str] = ()) -> H1Results:
    """Fit the H1 models on a firm-year frame (``Study.firm_year``).

    ``outcomes`` are the outcomes of the participation table (log revenue, the primary
    outcome, is always fitted); ``covariates`` those of the doubly robust CS column.
    A table a claim needs among ``absent`` (the study's missing tables,
    ``Study.skipped``; see :data:`~ipnstats.report.claims.NEEDS`) makes its models
    :class:`~ipnstats.report.claims.Unavailable`, with the reason: no surveys, no H1c;
    no meetings or meeting activity, no H1d and H1f.
    """
    from ipnstats.ipn.hazard import exit_hazard
    from ipnstats.ipn.practices import heterogeneity, practice_effects

    def fit(code: str, estimator, /, *args, **options):
        return no_table(code, absent) or _attempt(estimator, *args, **options)

    cov = tuple(c for c in covariates if c in fy.columns)
    wanted = dict.fromkeys(("log_revenue", *outcomes))
    participation = {o: _attempt(_four_estimators, fy, o, n_boot, seed, cov)
                     for o in wanted if o in fy}
    return H1Results(
        participation=participation,
        event=_attempt(event_study, fy, outcome="log_revenue", window=(-4, 6), n_boot=n_boot,
                       seed=seed),
        stages=_attempt(stage_effects, fy, outcome="log_revenue", n_boot=n_boot, seed=seed),
        mediation=fit("H1c", _fit_mediation, fy, seed, mediation_draws),
        practices=fit("H1d", practice_effects, fy, outcome="log_revenue"),
        practices_std=fit("H1d", practice_effects, fy, outcome="log_revenue",
                          standardize=True),
        heterogeneity=_attempt(heterogeneity, fy, outcome="log_revenue", firms=firms),
        hazard=fit("H1f", exit_hazard, fy), hazard_cox=fit("H1f", exit_hazard, fy, model="cox"),
        threshold=threshold, covariates=cov)


def _four_estimators(fy, outcome, n_boot, seed, cov):
    common = dict(outcome=outcome, vcov=Cluster("firm_id"), seed=seed)
    return [participation_effect(fy, estimator="twfe", **common),
            participation_effect(fy, n_boot=n_boot, **common),
            participation_effect(fy, covariates=cov, n_boot=0, **common),
            participation_effect(fy, estimator="sunab", **common)]


def next_year_frame(fy: pd.DataFrame, outcome: str = "log_revenue", unit: str = "firm_id",
                    time: str = "year") -> pd.DataFrame:
    """Each firm-year with the firm's ``outcome`` of the next year (``<outcome>_next``)."""
    nxt = fy[[unit, time, outcome]].assign(**{time: fy[time] - 1})
    nxt = nxt.rename(columns={outcome: f"{outcome}_next"})
    return fy.merge(nxt, on=[unit, time], how="inner")


def within(frame: pd.DataFrame, columns: list[str], unit: str = "firm_id",
           time: str = "year") -> pd.DataFrame:
    """``columns`` with firm and year means swept out (complete rows only)."""
    from ipnstats.core.demean import demean

    rows = frame.dropna(subset=columns)
    effects = [(pd.factorize(rows[c])[0], rows[c].nunique()) for c in (unit, time)]
    M, _, _ = demean(rows[columns].to_numpy(float), effects)
    return rows[[unit, time]].assign(**dict(zip(columns, M.T, strict=True)))


def _fit_mediation(fy: pd.DataFrame, seed: int, n_boot: int = 5000):
    from ipnstats.estimators.mediation import mediation

    data = within(next_year_frame(fy), ["member", "perceived_learning", "log_revenue_next"])
    return mediation(data, x="member", m="perceived_learning", y="log_revenue_next",
                     cluster="firm_id", n_boot=n_boot, seed=seed)


# ---------------------------------------------------------------- rendering


def h1_section(report: Report, res: H1Results) -> Report:
    """Add the H1 heading, the analyses H1a-H1f with readings, and the claims table."""
    return _claims(*h1_parts(report, res))


def h1_parts(report: Report, res: H1Results) -> tuple[Report, list[Claim]]:
    """Add the H1 heading and the analyses H1a-H1f with readings; also return the claims."""
    report = report.add_heading("H1: Does joining an Industry Peer Network raise firm "
                                "performance?")
    report = report.add_text(
        "Firms join in different years, so the participation effect is estimated by "
        "staggered difference-in-differences: each cohort of joiners is compared with "
        "firms that have not joined yet, from the year before joining on (Callaway & "
        "Sant'Anna 2021). The two-way fixed-effects regression and Sun & Abraham's "
        "estimator are shown beside it. Standard errors are clustered by firm.")
    claims = []
    parts = ((_participation, "H1a", "the participation effect", ("participation",)),
             (_event_and_stages, "H1b", "novice to expert", ("event", "stages")),
             (_mediation, "H1c", "learning as the mechanism", ("mediation",)),
             (_practices, "H1d", "cooperative and competitive practices",
              ("practices", "practices_std")),
             (_heterogeneity, "H1e", "who benefits", ("heterogeneity",)),
             (_hazard, "H1f", "disengagement", ("hazard", "hazard_cox")))
    for part, code, title, needs in parts:
        missing = _unavailable(res, needs)
        if missing:
            report = report.add_heading(f"{code}: {title}", 2).add_text(
                not_testable_text(missing))
            claims.append(Claim(code, CLAIMS[code], missing, np.nan, None))
            continue
        report, claim = part(report, res)
        claims.append(claim)
    return report, claims


def _unavailable(res: H1Results, needs: tuple[str, ...]) -> str:
    """The reason an analysis cannot be shown, or "" when all its models were fitted."""
    for name in needs:
        value = getattr(res, name)
        if name == "participation":  # the primary outcome decides
            if "log_revenue" not in value:
                return "the firm-year panel has no log revenue."
            value = value["log_revenue"]
        if isinstance(value, Unavailable):
            return value.reason
    return ""


def _pct(log_points: float) -> str:
    return f"{100 * (np.exp(log_points) - 1):.1f}%"


def _participation(report: Report, res: H1Results):
    report = report.add_heading("H1a: the participation effect", 2)
    for outcome, models in res.participation.items():
        label = OUTCOMES.get(outcome, outcome.replace("_", " ").capitalize())
        if isinstance(models, Unavailable):
            report = report.add_text(f"{label}: not estimable ({models.reason})")
            continue
        report = report.add_table(regression_table(
            models, keep=["ATT"], labels={"ATT": "Effect of joining"}, model_names=ESTIMATORS,
            stats=("nobs", "n_units"), title=f"Effect of joining an IPN on {label.lower()}",
            label=f"h1a-{outcome}",
            notes=("TWFE: two-way fixed effects on the member indicator. CS: Callaway-Sant'Anna "
                   "simple ATT, not-yet-joined firms as controls. CS + covariates: doubly "
                   f"robust on {' and '.join(res.covariates) or 'no covariates'} in the base "
                   "year. Sun-Abraham: interaction-weighted average of post-joining effects, "
                   "never-members as controls.",)))
    primary = res.participation["log_revenue"][1]
    row = primary.tidy().iloc[0]
    sure = ("The interval excludes zero" if row["p_value"] < ALPHA
            else "The interval includes zero, so the data cannot rule out no effect")
    pre = any(n.startswith("Pre-trend test rejects") for n in primary.notes)
    trust = (", but the pre-trend test rejects parallel trends, so it may be biased."
             if pre else "; the years before joining do not contradict parallel trends.")
    twfe = res.participation["log_revenue"][0].params["ATT"]
    text = (f"Reading: in the years after joining, members' log revenue was "
            f"{row['estimate']:.3f} log points (about {_pct(row['estimate'])}) higher than "
            f"that of comparable firms that had not joined yet (Callaway-Sant'Anna, {_ci(row)}, "
            f"{_p(row['p_value'])}). {sure}{trust} The TWFE estimate ({twfe:.3f}) is smaller "
            "because it also compares late joiners with firms that joined earlier, whose "
            "effects were still growing.")
    claim = Claim("H1a", CLAIMS["H1a"],
                  f"ATT {row['estimate']:.3f} ({_ci(row)})", float(row["p_value"]),
                  bool(row["p_value"] < ALPHA and row["estimate"] > 0))
    return report.add_text(text), claim


def _event_and_stages(report: Report, res: H1Results):
    es, st = res.event, res.stages
    pre = es.pretrend_test()
    report = report.add_heading("H1b: novice to expert", 2)
    report = report.add_figure(es.plot(ylabel="Effect on log revenue"),
                               "Effect of joining on log revenue by years since joining "
                               "(Callaway-Sant'Anna, firm-clustered). Whiskers: pointwise 95% "
                               "intervals; shading: simultaneous 95% band.")
    est = es.estimates().set_index("event")
    last = int(est.index.max())
    verdict = ("which casts doubt on parallel trends" if pre.p_value < ALPHA
               else "as parallel trends require")
    report = report.add_text(
        f"Reading: the effect is {est.loc[0, 'estimate']:.3f} in the year of joining and "
        f"{est.loc[last, 'estimate']:.3f} after {last} years. Before joining the estimates are "
        f"jointly {'different from' if pre.p_value < ALPHA else 'not different from'} zero "
        f"(chi2({pre.df_num}) = {pre.statistic:.2f}, {_p(pre.p_value)}), {verdict}.")
    tidy = st.tidy().set_index("term")
    rows = [{"stage": s.capitalize(), **tidy.loc[f"stage::{s}", ["estimate", "std_error",
                                                                  "conf_low", "conf_high"]],
             "n": st.extra[f"n_{s}"]} for s in st.stages]
    report = report.add_table(frame_table(pd.DataFrame(rows), labels={
        "stage": "Stage", "estimate": "Effect", "std_error": "SE", "conf_low": "95% CI low",
        "conf_high": "95% CI high", "n": "Member years"}, digits=3,
        title="Effect of membership on log revenue by stage", label="h1b-stages",
        notes=("Imputation estimator (Borusyak, Jaravel & Spiess 2024): firm and year effects "
               "fitted on years before joining and on never-members; firm-cluster bootstrap, "
               f"{st.n_boot} draws. Stages by tenure: novice 0-1, developing 2-3, expert 4+ "
               "years.",) + st.warnings))
    rise = st.rise_test().set_index("contrast")
    p_all = float(rise.loc["all steps", "p_value"])
    steps = "; ".join(f"{c} {r['estimate']:+.3f} (one-sided {_p(r['p_value'])})"
                      for c, r in rise.drop(index="all steps").iterrows())
    verdict = ("Each step is significant, so the effect rises from novice to expert."
               if p_all < ALPHA else
               "Not every step is significant, so a steady rise is not established.")
    report = report.add_text(f"Reading: the effect changes with tenure ({steps}). {verdict}")
    return report, Claim("H1b", CLAIMS["H1b"], steps, p_all,
                         bool(p_all < ALPHA))


def _mediation(report: Report, res: H1Results):
    med = res.mediation
    tidy = med.tidy().set_index("term")
    paths = (("a::perceived_learning", "Membership → perceived learning (a)"),
             ("b::perceived_learning", "Perceived learning → next-year log revenue (b)"),
             ("direct", "Direct effect (c')"), ("total", "Total effect (c)"),
             ("indirect::perceived_learning", "Indirect effect (a × b)"))
    frame = pd.DataFrame([{"path": label, **tidy.loc[term, ["estimate", "std_error",
                                                             "conf_low", "conf_high",
                                                             "p_value"]]}
                          for term, label in paths])
    frame["p_value"] = frame["p_value"].map(fmt_p)
    table = frame_table(frame, labels={
        "path": "Path", "estimate": "Estimate", "std_error": "SE", "conf_low": "95% CI low",
        "conf_high": "95% CI high", "p_value": "p"}, digits=3,
        title="Mediation of the membership effect by perceived learning", label="h1c-mediation",
        notes=("Member and perceived learning in year t, log revenue in t + 1; firm and year "
               "effects swept out of all three. Path SEs clustered by firm; indirect effect: "
               f"firm-cluster bootstrap, {med.n_boot:,} draws, percentile interval (the "
               "within transformation is not redone within draws).",) + med.warnings)
    ind = tidy.loc["indirect::perceived_learning"]
    sure = ("The bootstrap interval excludes zero, so learning carries part of the effect."
            if ind["conf_low"] > 0 or ind["conf_high"] < 0 else
            "The bootstrap interval includes zero, so the mechanism is not established.")
    text = (f"Reading: membership raises perceived learning by "
            f"{tidy.loc['a::perceived_learning', 'estimate']:.2f} scale points, and each point "
            f"goes with {tidy.loc['b::perceived_learning', 'estimate']:.3f} more log revenue "
            f"the next year: an indirect effect of {ind['estimate']:.3f} ({_ci(ind)}), "
            f"{100 * med.proportion_mediated:.0f}% of the total. {sure}")
    claim = Claim("H1c", CLAIMS["H1c"],
                  f"indirect {ind['estimate']:.3f} ({_ci(ind)})", float(ind["p_value"]),
                  bool(ind["conf_low"] > 0))
    report = report.add_heading("H1c: learning as the mechanism", 2)
    return report.add_table(table).add_text(text), claim


def _practices(report: Report, res: H1Results):
    pr = res.practices
    tests = pr.block_tests()
    coop, comp = tests.iloc[0], tests.iloc[1]
    eq = res.practices_std.block_tests().iloc[2]
    report = report.add_heading("H1d: cooperative and competitive practices", 2)
    report = report.add_table(regression_table(
        [pr], labels=PRACTICE_LABELS, model_names=["Log revenue"],
        stats=("nobs", "n_units", "r2_within"), label="h1d-practices",
        title="Practices and log revenue, within member firms",
        notes=("Member years only; firm and year fixed effects; SEs clustered by firm.",
               f"Cooperative block = 0: {_p(coop.p_value)}. Competitive block = 0: "
               f"{_p(comp.p_value)}. Equal blocks (mean coefficient per SD of each practice): "
               f"{_p(eq.p_value)}.")))
    both = coop.p_value < ALPHA and comp.p_value < ALPHA
    text = ("Reading: within a member firm, years of more attendance and disclosure "
            "(cooperative) and of more critiques and a better benchmark rank (competitive) go "
            f"with higher revenue; the cooperative block is jointly {_sig(coop.p_value)} "
            f"({_p(coop.p_value)}) and the competitive block {_sig(comp.p_value)} "
            f"({_p(comp.p_value)}). Per standard deviation of each practice, the two blocks "
            + ("differ" if eq.p_value < ALPHA else "do not differ significantly")
            + f" ({_p(eq.p_value)}).")
    claim = Claim("H1d", CLAIMS["H1d"],
                  f"cooperative {_p(coop.p_value)}, competitive {_p(comp.p_value)}",
                  float(max(coop.p_value, comp.p_value)), bool(both))
    return report.add_text(text), claim


def _sig(p: float) -> str:
    return "significant" if p < ALPHA else "not significant"


def _heterogeneity(report: Report, res: H1Results):
    het = res.heterogeneity
    k = res.threshold
    tidy = het.subgroups.tidy().set_index("term")
    rows = []
    for term, row in tidy.iterrows():
        n = het.n_treated.get(term)
        small = n is not None and n < k
        rows.append({"term": term, "estimate": np.nan if small else row["estimate"],
                     "std_error": np.nan if small else row["std_error"],
                     "p_value": np.nan if small else row["p_value"],
                     "n": "—" if n is None else (f"<{k}" if small else f"{n:,}")})
    report = report.add_heading("H1e: who benefits", 2)
    rows = pd.DataFrame(rows).assign(p_value=lambda f: f["p_value"].map(fmt_p))
    report = report.add_table(frame_table(rows, labels={
        "term": "Subgroup", "estimate": "ATT", "std_error": "SE", "p_value": "p",
        "n": "Joiners"}, digits=3, title="Effect of joining by age and size at joining",
        label="h1e-subgroups", notes=tuple(het.definitions.values()) + (
            "Callaway-Sant'Anna simple ATT per subgroup (all not-yet-joined firms as controls); "
            "differences with SEs from the firms' influence functions.",) + het.notes))
    report = report.add_table(regression_table(
        [het.interaction], model_names=["Log revenue"], stats=("nobs", "n_units"),
        title="Membership effect with interactions", label="h1e-interactions"))
    diff = [t for t in tidy.index if t.startswith("ATT[young_join=1] -")]
    if not diff:
        return report, Claim("H1e", CLAIMS["H1e"], "no young joiners",
                             np.nan, None)
    d = tidy.loc[diff[0]]
    p_one = float(d["p_value"] / 2 if d["estimate"] > 0 else 1 - d["p_value"] / 2)
    text = (f"Reading: firms that joined young gained {d['estimate']:+.3f} more than older "
            f"joiners ({_ci(d)}). "
            + ("The difference is significant, in line with the claim that IPNs help most at an "
               "early growth stage." if p_one < ALPHA else
               "The difference is not significant, so the data do not show that young joiners "
               "benefit more."))
    claim = Claim("H1e", CLAIMS["H1e"],
                  f"young - old {d['estimate']:+.3f} ({_ci(d)})", p_one, bool(p_one < ALPHA))
    return report.add_text(text), claim


def _hazard(report: Report, res: H1Results):
    logit, cox = res.hazard, res.hazard_cox
    report = report.add_heading("H1f: disengagement", 2)
    report = report.add_table(regression_table(
        [logit, cox], labels=PRACTICE_LABELS, model_names=["Logit", "Cox"],
        stats=("nobs", "n_units"), title="Exit from the network", label="h1f-hazard",
        notes=("Logit: discrete-time hazard of leaving (member in t, not in t + 1) on member "
               "years with peer-group and year effects, SEs clustered by firm. Cox: "
               "proportional hazards on membership spells, robust SEs clustered by firm.",)))
    row = logit.tidy().set_index("term").loc["benchmark_rank_pct"]
    p_one = float(row["p_value"] / 2 if row["estimate"] < 0 else 1 - row["p_value"] / 2)
    text = (f"Reading: a member ranked at the top of its group's benchmark rather than the "
            f"bottom has {row['estimate']:+.2f} log-odds of leaving the next year "
            f"({_ci(row)}). "
            + ("Low-ranked firms are significantly more likely to leave: competition can push "
               "firms out." if p_one < ALPHA else
               "The data do not show that low-ranked firms leave more."))
    claim = Claim("H1f", CLAIMS["H1f"],
                  f"logit {row['estimate']:+.2f} ({_ci(row)})", p_one, bool(p_one < ALPHA))
    return report.add_text(text), claim


def _claims(report: Report, claims: list[Claim]) -> Report:
    return claims_table(report, claims, "H1", H1_RULE)


H1_RULE = (f"Supported: the primary test rejects at the {ALPHA:.0%} level in the "
           "claimed direction (one-sided for H1b, H1e, H1f).")


def h1_checks(res: H1Results) -> list[Check]:
    """The H1 effects that the theory says are zero: no effect before joining (parallel
    pre-trends) and no extra effect for small joiners."""
    def pre_trends():
        pre = res.event.pretrend_test()
        return f"chi2({pre.df_num}) = {pre.statistic:.2f}", pre.p_value

    def small_joiners():
        d = res.heterogeneity.subgroups.tidy().set_index("term").loc[
            "ATT[small_join=1] - ATT[small_join=0]"]
        return f"difference {d['estimate']:+.3f} ({_ci(d)})", d["p_value"]

    return [check_or_untestable(res.event, "H1a", "No effect before joining (pre-trends)",
                                pre_trends),
            check_or_untestable(res.heterogeneity, "H1e",
                                "Small joiners gain no more than larger ones", small_joiners)]
