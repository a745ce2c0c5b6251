"""Callaway-Sant'Anna (``participation_effect(estimator="cs")``, no covariates) against
moderndid's ``att_gt`` and ``aggte`` on small balanced staggered panels: never-treated
and not-yet-treated controls; every ATT(g,t) cell and the simple, event, group and
calendar aggregations with their analytic (influence-function) SEs. Cohorts are drawn
per unit among the periods after the first (and never treated).

Matched conventions: varying base period, no anticipation, units as clusters
(moderndid's analytic SEs, ``boot=False``); estimates to ``RTOL`` of the SE scale,
SEs to ``RTOL``. Cells and aggregation parts are matched by (cohort, period) or
their key; a cell only one side lists must be one the other cannot estimate (without
never-treated units moderndid drops the periods from the last cohort's start, ipnstats
lists them as not identified). Named convention ``tiny_se_na``: R did reports an SE
below ``sqrt(eps)·10`` as NA, ipnstats reports it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import ipnstats

from .outcome import RTOL, Checker, Outcome

FAMILY = "did_cs"
RANGES = {"n_periods": (3, 6), "gap_share": (0.0,), "n_singletons": (0, 0), "n_units": (6, 40)}
FIRST = 2001
TINY_SE = np.sqrt(np.finfo(float).eps) * 10
TINY = ("tiny_se_na: R did (and moderndid) report an SE below sqrt(eps)*10 as NA, ipnstats "
        "reports it (0 for a cell of one treated and one control unit)")
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

    got = c.run(label, ours, lambda _: _peer(frame, control))
    if got is None:
        return
    res, (ref, aggs) = got
    ours = res.att_gt.assign(key=lambda d: list(zip(d["group"], d["time"], strict=True)))
    peer = pd.DataFrame({"key": list(zip(ref.groups, ref.times, strict=True)),
                         "att": ref.att_gt, "se": ref.se_gt})
    _compare_parts(c, f"{label} att_gt", ours.set_index("key")["att"],
                   ours.set_index("key")["std_error"], peer.set_index("key")["att"],
                   peer.set_index("key")["se"])
    for (kind, _), agg in zip(AGGREGATIONS, aggs, strict=True):
        mine = res.aggregate(kind)
        c.estimates(f"{label} {kind} ATT", mine.params["ATT"], agg.overall_att, agg.overall_se)
        _se(c, f"{label} {kind} SE", np.array([mine.std_errors["ATT"]]),
            np.array([agg.overall_se], float))
        if kind != "simple":
            parts = [t for t in mine.params.index if t != "ATT"]
            keys = [float(t.split("::")[1]) for t in parts]
            _compare_parts(c, f"{label} {kind}", pd.Series(mine.params[parts].to_numpy(), keys),
                           pd.Series(mine.std_errors[parts].to_numpy(), keys),
                           pd.Series(np.asarray(agg.att_by_event, float), agg.event_times),
                           pd.Series(np.asarray(agg.se_by_event, float), agg.event_times))


def _compare_parts(c: Checker, label: str, att, se, peer_att, peer_se) -> None:
    """Cells (or aggregation parts) by key: a key only one side has must be one the other
    side cannot estimate (NaN); the common keys are compared."""
    only_ours = att.index.difference(peer_att.index)
    only_peer = peer_att.index.difference(att.index)
    c.n += 1
    if att[only_ours].notna().any() or peer_att[only_peer].notna().any():
        c.fail(label, f"estimated cells differ: ours only {list(only_ours)}, "
                      f"peer only {list(only_peer)}")
    common = att.index.intersection(peer_att.index)
    c.estimates(f"{label} estimates", att[common], peer_att[common],
                np.nan_to_num(peer_se[common].to_numpy(float)))
    _se(c, f"{label} SEs", se[common].to_numpy(float), peer_se[common].to_numpy(float))


def _se(c: Checker, label: str, se: np.ndarray, peer_se: np.ndarray) -> None:
    tiny = np.isnan(peer_se) & (se <= TINY_SE)
    c.close(label, np.where(tiny, np.nan, se), peer_se, RTOL, 1e-12)
    if tiny.any():
        c.fail(label, f"{int(tiny.sum())} SEs", convention=TINY)


def _peer(frame, control: str):
    import moderndid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(data=frame, yname="y", tname="year", idname="u",
                               gname="cohort", control_group=control.replace("_", ""),
                               boot=False, cband=False)
        aggs = [moderndid.aggte(ref, type=m, cband=False) for _, m in AGGREGATIONS]
    return ref, aggs
