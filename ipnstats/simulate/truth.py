"""The true parameters of every hypothesis (H1a-H3c) written to ``truth.toml``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ipnstats.simulate.common import (
    INDUSTRIES,
    ITEM_SHIFT,
    LOADINGS,
    QUESTION_TYPES,
    SCALE_CENTRE,
    SCALES,
    _Config,
    _Effects,
)
from ipnstats.simulate.exchanges import _question_probs
from ipnstats.simulate.firms import _Grid


def _p(value, description: str) -> dict:
    """One truth parameter: its value (float, or list of floats) and what it means."""
    if isinstance(value, list | tuple | np.ndarray):
        value = [round(float(v), 6) for v in value]
    else:
        value = round(float(value), 6)
    return {"value": value, "description": description}


def _mean(x) -> float:
    x = np.asarray(x, float)
    return float(x.mean()) if x.size else float("nan")


def _truth(cfg: _Config, eff: _Effects, fy: pd.DataFrame, latent: dict, grid: _Grid, ex_info,
           task_info, drive: np.ndarray) -> dict:
    return {
        "simulation": _truth_settings(cfg, fy, grid),
        "measurement": _truth_measurement(eff, latent),
        "selection": _truth_selection(eff, grid, drive),
        "H1a": _truth_h1a(cfg, eff, fy), "H1b": _truth_h1b(eff, fy), "H1c": _truth_h1c(eff, fy),
        "H1d": _truth_h1d(eff), "H1e": _truth_h1e(eff, fy), "H1f": _truth_h1f(eff, fy),
        "H2a": _truth_h2a(eff, ex_info), "H2b": _truth_h2b(eff),
        "H2c": _truth_h2c(eff, ex_info), "H2d": _truth_h2d(ex_info),
        "H3a": _truth_h3a(eff, ex_info), "H3b": _truth_h3b(eff, task_info),
        "H3c": _truth_h3c(eff),
    }


def _truth_settings(cfg: _Config, fy: pd.DataFrame, grid: _Grid) -> dict:
    ever = grid.cohort > 0
    return {
        "generator": "ipnstats.simulate.simulate_study", "seed": cfg.seed,
        "n_firms": cfg.n_firms, "n_groups": cfg.n_groups, "first_year": cfg.first_year,
        "last_year": cfg.last_year, "max_group_members": cfg.max_members,
        "member_year_min_days": cfg.min_days,
        "n_member_years": int(fy["member"].sum()),
        "n_ever_members": int(ever.sum()), "share_never_member": round(1 - _mean(ever), 6),
        "notes": ("Values are true parameters of the generating process or exact averages of "
                  "the simulated individual effects over the rows named in each description. "
                  "Column names are those of the derived frames of docs/study_folder.md. The "
                  "true effect of membership on log_revenue of a firm-year is its log revenue "
                  "minus the log revenue the same firm would have had with no membership ever "
                  "(same shocks). n_member_years counts the member == 1 rows of the firm-year "
                  "panel (financials rows)."),
    }


def _truth_measurement(eff: _Effects, latent: dict) -> dict:
    """The survey measurement model; ``latent``: per scale, the written responses' latents."""
    sd = {name: float(np.std(latent[name], ddof=1)) if latent[name].size > 1 else float("nan")
          for name, *_ in SCALES}
    loadings, standardized = {}, {}
    for name, _label, prefix, _rev in SCALES:
        for j, lam in enumerate(LOADINGS[name]):
            loadings[f"{prefix}_{j + 1}"] = lam
            standardized[f"{prefix}_{j + 1}"] = round(lam * sd[name] / math.sqrt(
                (lam * sd[name]) ** 2 + eff.method_factor ** 2 + eff.item_noise_sd ** 2), 6)
    return {
        "method_factor": eff.method_factor, "item_noise_sd": eff.item_noise_sd,
        "method_stream": "M is drawn from numpy.random.default_rng(seed).spawn(1)[0] (a "
                         "Generator seed: its first spawned child), apart from every other "
                         "draw",
        "loadings": loadings, "item_shift": {f"item_{j + 1}": v for j, v in enumerate(ITEM_SHIFT)},
        "centre": dict(SCALE_CENTRE),
        "latent_mean": {k: round(float(np.mean(v)), 6) if v.size else float("nan")
                        for k, v in latent.items()},
        "latent_sd": {k: round(v, 6) for k, v in sd.items()},
        "standardized_loadings": standardized,
        "reverse_coded": [f"{prefix}_{rev}" for _name, _label, prefix, rev in SCALES],
        "notes": ("Item j of scale s in a survey response, in the scored direction, before "
                  "rounding to a whole answer and clipping to 1..7: centre[s] + loadings[item] "
                  "* (latent - centre[s]) + item_shift[item_j] + method_factor * M + e, with "
                  "latent the response's latent score of s (answer units), M ~ N(0, 1) one draw "
                  "per response shared by every item of every scale, e ~ N(0, item_noise_sd^2) "
                  "per item. Latents of different scales are independent; risk_aversion and "
                  "loss_aversion are fixed firm traits, perceived_learning rises by H1c."
                  "a_path_latent in member years. A reverse-coded item is written as 8 minus "
                  "its answer, so M enters it with the opposite sign in surveys.csv. latent_mean "
                  "and latent_sd are over the written responses (surveys.csv rows). "
                  "standardized_loadings: loadings * latent_sd / sqrt((loadings * latent_sd)^2 "
                  "+ method_factor^2 + item_noise_sd^2), the item's correlation with its latent "
                  "before rounding and clipping"),
    }


def _truth_selection(eff: _Effects, grid: _Grid, drive: np.ndarray) -> dict:
    ever = grid.cohort > 0
    gap = _mean(drive[ever]) - _mean(drive[~ever]) if eff.selection > 0 else 0.0
    return {
        "strength": _p(eff.selection, "log points of yearly revenue growth per SD of the firm's "
                                      "unobserved drive (N(0, 1), drawn from numpy.random."
                                      "default_rng(seed).spawn(2)[1]); 0 = no selection on "
                                      "unobservables"),
        "join_drive": _p(eff.join_drive if eff.selection > 0 else 0.0,
                         "the drive's coefficient in the log-odds of joining (0 when strength "
                         "is 0)"),
        "drive_gap": _p(gap, "mean drive of ever-members minus never-members (0 when strength "
                             "is 0)"),
        "trend_gap": _p(eff.selection * gap,
                        "strength * drive_gap: how much faster, in log points a year, "
                        "ever-members' untreated revenue grows than never-members': the "
                        "violation of parallel trends per year, before and after joining"),
        "violation_mbar": _p(1.0 if eff.selection > 0 else 0.0,
                             "the violation in Rambachan-Roth relative magnitudes (Delta-RM) "
                             "for every post period: the trend is linear, so each post-period "
                             "change of the bias equals each pre-period change (Mbar = 1); 0 "
                             "without selection. A robust interval at this Mbar covers the "
                             "true effect"),
        "bias_first_post": _p(eff.selection * gap,
                              "approximate bias of the event-time-0 effect against the base "
                              "year cohort - 1 (one year of trend_gap); k + 1 years of it at "
                              "event time k"),
    }


def _truth_h1a(cfg: _Config, eff: _Effects, fy: pd.DataFrame) -> dict:
    key = fy["firm"].to_numpy() * 10_000 + fy["year"].to_numpy()
    has_base = np.isin(fy["firm"].to_numpy() * 10_000 + fy["cohort"].to_numpy() - 1, key)
    post = fy[(fy["event_time"] >= 0) & (fy["cohort"] > cfg.first_year) & has_base]
    events = np.arange(0, 9)
    by_event = post.groupby("event_time")["delta"].mean().reindex(events)
    return {
        "claim": "joining an IPN raises firm performance",
        "att_member_years": _p(_mean(fy.loc[fy["member"] == 1, "delta"]),
                               "mean true effect of membership on log_revenue over firm-year "
                               "rows with member == 1 (dynamic: grows with tenure, larger for "
                               "young joiners, includes the practice and perceived-learning "
                               "parts)"),
        "att_post_identified": _p(_mean(post["delta"]),
                                  "mean true effect on log_revenue over rows with event_time "
                                  ">= 0 of firms with first_year < cohort <= last_year that "
                                  "have a financials row in year cohort - 1 (a pre-period), "
                                  "years after an exit included: the target of the "
                                  "Callaway-Sant'Anna simple aggregation (base period cohort "
                                  "- 1, never-treated or not-yet-treated controls)"),
        "att_event_time": _p(by_event.to_numpy(),
                             "mean true effect on log_revenue by event_time 0..8 (list index "
                             "= event_time), same rows as att_post_identified"),
        "pre_trend": _p(0.0, "true effect at event_time < 0: exactly zero, and untreated "
                             "log_revenue follows firm + year effects (linear age is absorbed), "
                             "so parallel trends hold given firm fixed effects; joining "
                             "selects small and young firms, so raw member/non-member "
                             "comparisons are biased"
                        + ("" if eff.selection == 0 else
                           ". Here parallel trends FAIL: see [selection] (joiners' untreated "
                           "revenue grows trend_gap faster a year)")),
    }


def _truth_h1b(eff: _Effects, fy: pd.DataFrame) -> dict:
    m = fy[fy["member"] == 1]
    stage = np.select([m["tenure"] >= 4, m["tenure"] >= 2], ["expert", "developing"], "novice")
    means = m["delta"].groupby(stage).mean()
    tenure = np.arange(eff.tau_cap + 1)
    out = {"claim": "the effect grows as a firm goes from novice to expert",
           "direct_by_tenure": _p(eff.tau_base + eff.tau_step * tenure,
                                  "direct effect on log_revenue in a member year by tenure "
                                  "0, 1, 2, 3, 4+ (list index = tenure; capped at 4), for a "
                                  "firm that did not join young, before the practice and "
                                  "perceived-learning parts")}
    for name in ("novice", "developing", "expert"):
        out[f"stage_{name}"] = _p(means.get(name, np.nan),
                                  f"mean true effect on log_revenue over member years in stage "
                                  f"{name} (tenure cut-offs 0/2/4)")
    return out


def _truth_h1c(eff: _Effects, fy: pd.DataFrame) -> dict:
    rows = fy[(fy["member"] == 1) & fy["perceived_learning"].notna()]
    a = _mean(rows["pl_gap"])
    direct = _mean((fy["direct"] + fy["practice"])[fy["member"] == 1])
    return {
        "claim": "perceived learning carries the effect to performance",
        "a_path_latent": _p(eff.pl_member, "membership raises the latent perceived_learning "
                                           "score by this many answer points in member years"),
        "a_path": _p(a, "mean over member-year rows with a perceived_learning score of that "
                        "score minus the score the firm would have reported as a never-member "
                        "(same item noise): the effect of member on perceived_learning in the "
                        "frame's scale points (below the latent value: answers are cut at 1..7)"),
        "b_path": _p(eff.pl_revenue, "log_revenue in year t rises by this per point of the "
                                     "firm's perceived_learning in year t-1 (the frame's "
                                     "column lagged one year within firm): its coefficient "
                                     "with firm and year fixed effects holding member in t-1 "
                                     "(and, optionally, member and tenure in t). Revenue uses "
                                     "the reported score itself, so there is no "
                                     "measurement-error attenuation"),
        "indirect": _p(a * eff.pl_revenue, "a_path * b_path: effect of a member year on the "
                                           "next year's log_revenue through perceived_learning"),
        "direct": _p(direct, "mean over member years of the membership effect on log_revenue "
                             "not through perceived_learning (direct + practice parts)"),
    }


def _truth_h1d(eff: _Effects) -> dict:
    kind = {"attendance_rate": "cooperative", "disclosure_rate": "cooperative",
            "critiques": "competitive", "benchmark_rank_pct": "competitive"}
    out = {"claim": "cooperative and competitive practices each matter"}
    for name, b, centre in eff.practices:
        out[name] = _p(b, f"{kind[name]} practice: coefficient of {name} on log_revenue (level) "
                          f"in a within-firm regression with firm and year fixed effects on "
                          f"member years (member == 1) with all four practice columns present; "
                          f"enters as {b} * ({name} - {centre}) in member years only, "
                          f"independent of tenure and of the revenue shocks")
    return out


def _truth_h1e(eff: _Effects, fy: pd.DataFrame) -> dict:
    m = fy[fy["member"] == 1]
    return {
        "claim": "IPNs help most firms at an early growth stage",
        "young_join": _p(eff.young_join, f"extra effect on log_revenue in every member year "
                                         f"for firms that join young: cohort - founded_year < "
                                         f"{eff.young_age} (interaction member x young_join)"),
        "small_join": _p(eff.small_join, "extra effect on log_revenue in member years for "
                                         "firms with employees_baseline < 10: truly zero"),
        "att_young_join": _p(_mean(m.loc[m["young"], "delta"]),
                             "mean true effect over member years of young joiners"),
        "att_old_join": _p(_mean(m.loc[~m["young"], "delta"]),
                           "mean true effect over member years of the other members"),
    }


def _truth_h1f(eff: _Effects, fy: pd.DataFrame) -> dict:
    last = fy["year"].max()
    rows = fy[(fy["member"] == 1) & (fy["year"] < last)]
    return {
        "claim": "competition can push firms to disengage",
        "intercept": _p(eff.exit_intercept, "intercept of the exit logit below"),
        "benchmark_rank_pct": _p(eff.exit_rank, "logit coefficient of benchmark_rank_pct in "
                                                "P(exit) over member years t < last year: exit = "
                                                "member in t and not a member in t+1 (183-day "
                                                "rule); low rank, more exits. Member years "
                                                "without a rank have logit intercept + 0.5 * "
                                                "this coefficient"),
        "exit_rate": _p(_mean(rows["next_member"] == 0),
                        "observed share of member years (t < last year, financials rows) with "
                        "exit = 1 (descriptive)"),
    }


def _truth_h2a(eff: _Effects, info) -> dict:
    return {
        "claim": "loss-framed exchanges shift cognition more than gain-framed ones",
        "loss": _p(eff.cs_loss, "difference in mean cognitive_shift, loss minus gain framing "
                                "(coefficient of loss with gain as reference, at the mean "
                                "receiver_loss_aversion of the exchange frame; framing is "
                                "assigned at random, so also the raw mean difference)"),
        "neutral": _p(eff.cs_neutral, "difference in mean cognitive_shift, neutral minus gain "
                                      "framing: truly zero"),
    }


def _truth_h2b(eff: _Effects) -> dict:
    b0, b_cs, b_loss, b_x = eff.bc
    text = ("in logit P(behavior_change = 1) = intercept + cognitive_shift_coef * "
            "cognitive_shift + loss_coef * loss + interaction * cognitive_shift * loss "
            "(gain and neutral framing both loss = 0), raw cognitive_shift")
    return {
        "claim": "cognition turns into behavior mainly under loss framing",
        "intercept": _p(b0, f"intercept {text}"),
        "cognitive_shift": _p(b_cs, f"cognitive_shift_coef {text}"),
        "loss": _p(b_loss, f"loss_coef {text}"),
        "cognitive_shift_x_loss": _p(b_x, f"interaction {text}"),
        "slope_not_loss": _p(b_cs, "simple slope of cognitive_shift (log-odds) when loss = 0"),
        "slope_loss": _p(b_cs + b_x, "simple slope of cognitive_shift (log-odds) when loss = 1"),
    }


def _truth_h2c(eff: _Effects, info) -> dict:
    return {
        "claim": "receivers' loss aversion amplifies loss framing",
        "loss_x_receiver_loss_aversion": _p(eff.cs_la_x_loss,
                                            "coefficient of loss x receiver_loss_aversion on "
                                            "cognitive_shift (per scale point)"),
        "receiver_loss_aversion": _p(eff.cs_receiver_la, "effect of receiver_loss_aversion on "
                                                         "cognitive_shift when loss = 0: truly "
                                                         "zero"),
        "receiver_loss_aversion_centre": _p(info["centre"]["loss_aversion"],
                                            "mean receiver_loss_aversion over exchange rows, "
                                            "where the loss effect equals H2a.loss"),
    }


def _truth_h2d(info) -> dict:
    probs = _question_probs()
    share = np.bincount(info["sender_industry"], minlength=len(INDUSTRIES)) / max(info["n"], 1)
    joint = share[:, None] * probs
    expected = share[:, None] * joint.sum(axis=0)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        phi2 = np.nansum((joint - expected) ** 2 / expected)
    v = math.sqrt(phi2 / (min(probs.shape) - 1))
    table = {INDUSTRIES[i]: {QUESTION_TYPES[j]: round(float(probs[i, j]), 6)
                             for j in range(len(QUESTION_TYPES))} for i in range(len(INDUSTRIES))}
    return {
        "claim": "receivers ask different question types of different senders but the same "
                 "number (about three)",
        "cramers_v": _p(v, "population Cramer's V of question_type x sender industry (sender "
                           "industry shares of the exchange frame): association present"),
        "mean_n_questions": _p(3.0, "mean n_questions: 1 + Binomial(4, 0.5), same for every "
                                    "sender and receiver"),
        "n_questions_sender_effect": _p(0.0, "effect of any sender trait (industry, risk "
                                             "aversion, size, ...) on n_questions: truly zero"),
        "question_type_probs": table,
    }


def _truth_h3a(eff: _Effects, info) -> dict:
    sd = info["sd_sender_ra"]
    zero = "on cognitive_shift, holding the rest: truly zero"
    return {
        "claim": "receivers learn more from risk-averse senders than from large, old, "
                 "successful or high-status ones",
        "sender_risk_aversion": _p(eff.cs_sender_ra, "coefficient of sender_risk_aversion "
                                                     "(per scale point) on cognitive_shift"),
        "sender_risk_aversion_per_sd": _p(eff.cs_sender_ra * sd,
                                          f"the same per SD of sender_risk_aversion over "
                                          f"exchange rows (SD = {sd:.4f})"),
        "sender_size": _p(0.0, f"sender_size {zero}"),
        "sender_age": _p(0.0, f"sender_age {zero}"),
        "sender_success": _p(0.0, f"sender_success {zero}"),
        "sender_status": _p(0.0, f"sender_status {zero}"),
        "same_industry": _p(0.0, f"same_industry {zero}"),
        "intercept": _p(eff.cs_intercept, "mean cognitive_shift under gain framing at the "
                                          "mean sender_risk_aversion and receiver_loss_aversion "
                                          "of the exchange frame"),
        "sender_risk_aversion_centre": _p(info["centre"]["risk_aversion"],
                                          "mean sender_risk_aversion over exchange rows"),
        "sd_sender": _p(eff.sd_sender, "SD of the sender random intercept"),
        "sd_receiver": _p(eff.sd_receiver, "SD of the receiver random intercept"),
        "sd_residual": _p(eff.sd_exchange, "residual SD of cognitive_shift (before rounding "
                                           "to 2 decimals)"),
    }


def _truth_h3b(eff: _Effects, info) -> dict:
    kappa = info["kappa"]
    return {
        "claim": "exposure to risk-averse senders steepens the receiver's learning curve",
        "log_cum_experience_x_exposure": _p(eff.task_exposure_x,
                                            "coefficient of log_cum_experience x "
                                            "log(1 + prior_risk_averse) on log_outcome, "
                                            "holding log_n_sources (negative: steeper)"),
        "exposure": _p(eff.task_exposure, "main effect of log(1 + prior_risk_averse) on "
                                          "log_outcome: truly zero"),
        "raw_slope_unexposed": _p(eff.task_sources * kappa,
                                  "slope of log_outcome on log_cum_experience (pooled OLS "
                                  "with an intercept) over unexposed tasks (prior_risk_averse "
                                  "== 0) when log_n_sources is left out: H3c.log_n_sources * "
                                  "kappa (the learning curve seen without sources)"),
        "kappa": _p(kappa, "pooled OLS slope of log_n_sources on log_cum_experience over "
                           "unexposed tasks (prior_risk_averse == 0)"),
        "random_slope_sd": _p(eff.task_slope_sd, "SD across firms of the firm's own "
                                                 "log_cum_experience slope (mean zero)"),
        "share_exposed": _p(info["share_exposed"], "share of tasks with prior_risk_averse > 0"),
    }


def _truth_h3c(eff: _Effects) -> dict:
    return {
        "claim": "more information sources for one experience teach more than more "
                 "experience",
        "log_n_sources": _p(eff.task_sources, "coefficient of log_n_sources on log_outcome "
                                              "(triangulation: negative, faster break-even)"),
        "log_cum_experience": _p(eff.task_experience,
                                 "coefficient of log_cum_experience on log_outcome holding "
                                 "log_n_sources, for unexposed tasks (reinforcement): truly "
                                 "zero on average across firms"),
        "intercept": _p(eff.task_intercept, "mean log_outcome of a first task (log_cum = 0) "
                                            "with one source, unexposed"),
        "sd_firm": _p(eff.task_sd_firm, "SD of the firm random intercept of log_outcome"),
        "sd_residual": _p(eff.task_sd, "residual SD of log_outcome"),
    }
