"""Identification and sensitivity of the primary H1 effect, and the robustness values
of the H2a and H3a primary tests: what the robustness stage fits, and its findings.

- Honest DiD (Rambachan & Roth 2023) on the H1 event study refitted with a universal
  base period (Callaway-Sant'Anna; the base Rambachan & Roth and R HonestDiD recommend:
  pre-period effects relative to the year before joining): robust intervals under
  relative magnitudes (Delta-RM, Mbar 0.5 to 2) and smoothness (Delta-SD), for the first
  post period and the average of the post periods, with breakdown values.
- sensemakr (Cinelli & Hazlett 2020) on the TWFE membership effect with the H1
  covariates (``[H1] covariates``) as controls and as benchmarks (kd = 1, 2, 3), and
  Oster's (2019) ``delta*`` with R2max = 1.3 x the R² of the long (within) regression.

Every piece is JSON-ready; a piece that cannot be fitted is ``{"unavailable": reason}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.estimators.did import event_study, honest_did
from ipnstats.estimators.did.honest import event_coefficients
from ipnstats.estimators.panel import panel_regression
from ipnstats.estimators.sensitivity import oster, sensemakr
from ipnstats.ipn.balance import balance_findings
from ipnstats.ipn.selection_model import HORIZON, selection_findings
from ipnstats.results.stored import frame_to_json
from ipnstats.results.vcov import Cluster

#: the values of Mbar of the relative-magnitudes restriction
MBAR = (0.5, 1.0, 1.5, 2.0)
#: how many times as strong as each benchmark covariate the confounders are
KD = (1.0, 2.0, 3.0)
#: R2max of Oster's delta* as a multiple of the long regression's R² (Oster 2019)
R2MAX_FACTOR = 1.3
#: the points per side of the stored contour grid
GRID = 41
#: a partial R² at least this large is sensemakr's cap at 1
CAPPED = 0.999
#: the two-sided 95% normal critical value of the conventional interval
Z95 = 1.959963984540054
PANEL = {"unit": "firm_id", "time": "year", "cohort": "cohort"}
TREATED = "treated"


def _unavailable(error: Exception) -> dict:
    return {"unavailable": str(error).rstrip(".") + "."}


def fit_identification(fy: pd.DataFrame, *, outcome: str, covariates: Sequence[str],
                       n_boot: int, seed: int, threshold: int = 1,
                       instruments: Sequence[str] = ()) -> tuple[dict, dict]:
    """Findings (JSON-ready) and fitted results of the identification checks of the
    primary H1 effect on the firm-year frame ``fy``: ``honest`` (the Callaway-Sant'Anna
    event study of :func:`ipnstats.ipn.h1.fit_h1`, refitted with its settings but a
    universal base period), ``sensemakr`` and
    ``oster`` (the TWFE effect of membership with ``covariates`` as controls), and
    ``balance`` (:func:`ipnstats.ipn.balance.balance_findings`: entropy balancing of the
    never-members on ``covariates`` before joining, and the weighted effect), ``selection``
    (:func:`ipnstats.ipn.selection_model.selection_findings`: the endogenous-treatment
    model of growth over the event study's horizon, with ``instruments`` excluded from the
    growth equation). ``threshold`` (the disclosure threshold) is stored for the report."""
    results: dict = {}
    try:
        event = identification_event(fy, outcome, n_boot=n_boot, seed=seed)
        results["identification.event"] = event
        honest = honest_findings(event)
    except ValueError as error:
        honest = _unavailable(error)
    data = fy.assign(**{TREATED: ((fy["cohort"] > 0) & (fy["year"] >= fy["cohort"]))
                        .astype(float)})
    covs = [c for c in covariates if c in fy.columns]
    try:
        long = long_model(data, outcome, covs)
        results["identification.twfe_covariates"] = long
        sens = sensemakr_findings(long, covs)
    except ValueError as error:
        long, sens = None, _unavailable(error)
    try:
        kept = [c for c in covs if long is not None and c in long.params.index]
        delta = oster_findings(data, outcome, kept)
    except ValueError as error:
        delta = _unavailable(error)
    balance, weighted = balance_findings(fy, covs, outcome=outcome)
    results.update(weighted)
    event = results.get("identification.event")
    selection, fitted = selection_findings(
        fy, covs, outcome=outcome, instruments=instruments,
        twfe=None if event is None else event_effect(event, HORIZON - 1))
    results.update(fitted)
    return {"outcome": outcome, "honest": honest, "sensemakr": sens, "oster": delta,
            "balance": balance, "selection": selection, "threshold": int(threshold)}, results


def event_effect(event, e: int) -> dict | None:
    """The event study's effect at event time ``e`` (estimate, std_error, conf_low,
    conf_high); None when the study has no such term."""
    term = f"event::{e}"
    if term not in event.params.index:
        return None
    t = event.tidy().set_index("term").loc[term]
    return {"event_time": e, "estimate": float(t["estimate"]),
            "std_error": float(t["std_error"]), "conf_low": float(t["conf_low"]),
            "conf_high": float(t["conf_high"])}


# -- Honest DiD ---------------------------------------------------------------------------

def identification_event(fy: pd.DataFrame, outcome: str, *, n_boot: int, seed: int):
    """The event study of ``outcome`` that Honest DiD is run on: Callaway-Sant'Anna with a
    universal base period (the year before joining; Rambachan & Roth's recommendation),
    the H1 event study's window, -4 to 6 years around joining."""
    return event_study(fy, outcome=outcome, **PANEL, window=(-4, 6), n_boot=n_boot, seed=seed,
                       base_period="universal")


def survives(event, mbar: float, target: str = "first") -> bool:
    """Whether the effect of ``target`` (``"first"``: the year of joining; ``"average"``:
    the post-period average) stays significant (the 95% Delta-RM robust interval excludes
    0) when the violation of parallel trends after joining may be ``mbar`` times the
    largest before it: the claim's breakdown value is above ``mbar``. ``mbar = 0`` is the
    conventional interval."""
    params, vcov = event_coefficients(event)
    post = np.array([int(t.split("::")[1]) >= 0 for t in params.index])
    n_post = int(post.sum())
    weights = np.full(n_post, 1.0 / n_post) if target == "average" else np.eye(n_post)[0]
    if mbar == 0:
        estimate = weights @ params.to_numpy(float)[post]
        se = float(np.sqrt(weights @ np.asarray(vcov, float)[np.ix_(post, post)] @ weights))
        low, high = estimate - Z95 * se, estimate + Z95 * se
    else:
        res = honest_did(event, method="rm", m_values=(float(mbar),), l_vec=weights)
        low, high = res.conf_low[0], res.conf_high[0]
    return not low <= 0 <= high


def honest_findings(event) -> dict:
    """Robust intervals for the first post period and the post-period average under
    Delta-RM (:data:`MBAR`) and Delta-SD (HonestDiD's default M grid): ``intervals``
    (restriction, target, m, conf_low, conf_high), ``summary`` (per restriction and
    target: estimate, original interval, breakdown), and the largest change between
    consecutive pre-periods (``max_pre_change``, the unit Mbar is measured in)."""
    params, _ = event_coefficients(event)
    events = [int(t.split("::")[1]) for t in params.index]
    pre = sorted(e for e in events if e < -1)
    if len(pre) < 2:
        raise ValueError(f"the event study has {len(pre)} pre-period(s) before the reference "
                         "year; relative magnitudes need at least 2")
    num_post = sum(e >= 0 for e in events)
    targets = {"first": None, "average": np.full(num_post, 1.0 / num_post)}
    rows, summary = [], []
    for method, m_values in (("rm", MBAR), ("sd", None)):
        for target, l_vec in targets.items():
            res = honest_did(event, method=method, m_values=m_values, l_vec=l_vec)
            rows.append(res.tidy().drop(columns="method").assign(restriction=method,
                                                                 target=target))
            summary.append({"restriction": method, "target": target,
                            "estimate": res.estimate, "std_error": res.std_error,
                            "conf_low": res.original[0], "conf_high": res.original[1],
                            "breakdown": res.breakdown, "largest_m": max(res.m_values)})
    pre_values = params[[f"event::{e}" for e in pre]].to_numpy(float)
    changes = np.diff(np.append(pre_values, 0.0))  # the reference year -1 is 0
    intervals = pd.concat(rows, ignore_index=True)[["restriction", "target", "m", "conf_low",
                                                    "conf_high"]]
    return {"intervals": frame_to_json(intervals),
            "summary": frame_to_json(pd.DataFrame(summary)),
            "num_pre": len(pre), "num_post": num_post,
            "max_pre_change": float(np.max(np.abs(changes))), "alpha": 0.05}


# -- sensemakr and Oster ------------------------------------------------------------------

def long_model(data: pd.DataFrame, outcome: str, covariates: Sequence[str]):
    """The TWFE regression of ``outcome`` on membership and ``covariates`` (firm and year
    effects, SEs clustered by firm)."""
    formula = f"{outcome} ~ {' + '.join([TREATED, *covariates])}"
    return panel_regression(data, formula, unit="firm_id", time="year",
                            vcov=Cluster("firm_id"))


def sensemakr_findings(long, covariates: Sequence[str]) -> dict:
    """The sensemakr statistics of membership in ``long``, its bounds with each covariate
    that the fixed effects leave identified as benchmark (:data:`KD`), and the contour
    grid of the adjusted estimate (``GRID`` points a side)."""
    kept = [c for c in covariates if c in long.params.index]
    absorbed = [c for c in covariates if c not in kept]
    if not kept:
        raise ValueError("no covariate is left to benchmark against" + (
            f" (absorbed by the fixed effects: {', '.join(absorbed)})" if absorbed else ""))
    sens = sensemakr(long, TREATED, benchmark_covariates=kept, kd=KD)
    g = sens.glance().iloc[0]
    bounds = sens.bounds[["bound", "benchmark", "kd", "r2dz_x", "r2yz_dx",
                          "adjusted_estimate", "adjusted_se", "adjusted_t", "conf_low",
                          "conf_high"]]
    return {"estimate": float(g["estimate"]), "std_error": float(g["std_error"]),
            "t_value": float(g["statistic"]), "df": float(g["df"]),
            "r2yd_x": float(g["r2yd_x"]), "rv_q": float(g["rv_q"]), "rv_qa": float(g["rv_qa"]),
            "alpha": float(g["alpha"]), "benchmarks": kept, "absorbed": absorbed,
            "bounds": frame_to_json(bounds),
            "grid": frame_to_json(sens.contour_grid("estimate", lim=_plot_limit(bounds),
                                                    n=GRID)),
            "threshold": sens.threshold("estimate"), "nobs": int(long.nobs)}


def _plot_limit(bounds: pd.DataFrame) -> float:
    """The contour plot's largest partial R²: sensemakr's (0.4, or 1.25 x the bounds),
    leaving out bounds capped at 1 (a confounder explaining everything), which would
    squeeze the informative corner of the plot."""
    inside = bounds[(bounds["r2dz_x"] < CAPPED) & (bounds["r2yz_dx"] < CAPPED)]
    largest = inside[["r2dz_x", "r2yz_dx"]].to_numpy(float).max() if len(inside) else 0.0
    return float(min(max(0.4, 1.25 * largest), 0.99))


def oster_findings(data: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> dict:
    """Oster's ``delta*`` (the selection on unobservables, relative to the covariates,
    that would bring membership's effect to zero) and ``beta*`` (delta = 1) on the firm-
    and year-demeaned data, with R2max = :data:`R2MAX_FACTOR` x the long regression's
    within R² (capped at 1)."""
    from ipnstats.ipn.h1 import within

    if not covariates:
        raise ValueError("no covariate is left that the fixed effects do not absorb")
    columns = [outcome, TREATED, *covariates]
    demeaned = within(data, columns)
    formula = f"{outcome} ~ {' + '.join(columns[1:])}"
    r2_long = oster(demeaned, formula, TREATED, r2max=1.0).moments.r2_long
    r2max = min(R2MAX_FACTOR * r2_long, 1.0)
    res = oster(demeaned, formula, TREATED, r2max=r2max)
    m = res.moments
    return {"delta_star": float(res.delta_star), "beta_star": float(res.beta_star),
            "r2max": float(r2max), "r2_long": float(m.r2_long), "r2_short": float(m.r2_short),
            "beta_long": float(m.beta_long), "beta_short": float(m.beta_short),
            "factor": R2MAX_FACTOR, "covariates": list(covariates), "nobs": int(res.nobs)}


# -- the robustness value of one coefficient (H2a, H3a) --------------------------------------

def robustness_value(result, term: str) -> dict:
    """The sensemakr robustness values of ``term`` in the least-squares ``result``
    (``rv_q``, ``rv_qa``, partial R² ``r2yd_x``), or ``{"unavailable": reason}``."""
    try:
        g = sensemakr(result, term).glance().iloc[0]
    except ValueError as error:
        return _unavailable(error)
    return {"term": term, "rv_q": float(g["rv_q"]), "rv_qa": float(g["rv_qa"]),
            "r2yd_x": float(g["r2yd_x"]), "estimate": float(g["estimate"]),
            "alpha": float(g["alpha"])}


__all__ = ["KD", "MBAR", "R2MAX_FACTOR", "fit_identification", "honest_findings",
           "identification_event", "survives",
           "long_model", "oster_findings", "robustness_value", "sensemakr_findings"]
