"""Callaway-Sant'Anna (``participation_effect(estimator="cs")``, no covariates) against
moderndid's ``att_gt`` and ``aggte`` on small balanced staggered panels: never-treated
and not-yet-treated controls; every ATT(g,t) cell and the simple, event, group and
calendar aggregations with their analytic (influence-function) SEs. Cohorts are drawn
per unit among the periods after the first (and never treated).

Matched conventions: varying base period, no anticipation, units as clusters
(moderndid's analytic SEs, ``boot=False``); estimates to ``RTOL`` of the SE scale,
SEs to ``RTOL``.
"""

from __future__ import annotations

import warnings

import numpy as np

import ipnstats

from .outcome import RTOL, Checker, Outcome

FAMILY = "did_cs"
RANGES = {"n_periods": (3, 6), "gap_share": (0.0,), "n_singletons": (0, 0), "n_units": (6, 40)}
FIRST = 2001
AGGREGATIONS = (("simple", "simple"), ("event", "dynamic"), ("group", "group"),
                ("calendar", "calendar"))


def staggered(design):
    """The design's balanced panel with a cohort column (0 = never treated) and an
    effect of 0.5 from the cohort's period on."""
    frame = design.frame()
    rng = np.random.default_rng([design.seed, 19])
    choices = np.concatenate([[0], FIRST + np.arange(1, design.n_periods)])
    cohort = choices[rng.integers(0, choices.size, design.n_units)]
    frame["year"] = frame["t"] + FIRST
    frame["cohort"] = cohort[frame["u"]]
    treated = (frame["cohort"] > 0) & (frame["year"] >= frame["cohort"])
    frame["y"] = frame["y"] + 0.5 * treated
    return frame


def check(design) -> Outcome:
    frame = staggered(design)
    c = Checker(FAMILY, design)
    for control in ("never_treated", "not_yet_treated"):
        compare(c, frame, control)
    return c.outcome()


def compare(c: Checker, frame, control: str) -> None:
    label = control

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ipnstats.participation_effect(
                frame, outcome="y", unit="u", time="year", cohort="cohort",
                control_group=control, n_boot=0)

    got = c.run(label, ours, lambda: _peer(frame, control))
    if got is None:
        return
    res, (ref, aggs) = got
    scale = np.nan_to_num(np.asarray(ref.se_gt, float), nan=0.0)
    c.estimates(f"{label} att_gt", res.att_gt["att"], ref.att_gt, scale)
    c.close(f"{label} att_gt SEs", res.att_gt["std_error"], ref.se_gt, RTOL, 1e-12)
    for kind, agg in zip((k for k, _ in AGGREGATIONS), aggs, strict=True):
        ours_agg = res.aggregate(kind)
        c.estimates(f"{label} {kind} ATT", ours_agg.params["ATT"], agg.overall_att,
                    agg.overall_se)
        c.close(f"{label} {kind} SE", ours_agg.std_errors["ATT"], agg.overall_se, RTOL, 1e-12)
        if kind != "simple":
            parts = [t for t in ours_agg.params.index if t != "ATT"]
            c.estimates(f"{label} {kind} parts", ours_agg.params[parts], agg.att_by_event,
                        np.nan_to_num(np.asarray(agg.se_by_event, float)))
            c.close(f"{label} {kind} part SEs", ours_agg.std_errors[parts], agg.se_by_event,
                    RTOL, 1e-12)


def _peer(frame, control: str):
    import moderndid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(data=frame, yname="y", tname="year", idname="u",
                               gname="cohort", control_group=control.replace("_", ""),
                               boot=False, cband=False)
        aggs = [moderndid.aggte(ref, type=m, cband=False) for _, m in AGGREGATIONS]
    return ref, aggs
