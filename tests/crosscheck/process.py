"""``conditional_process`` PROCESS models 1 (moderation) and 4 (mediation) against
pyprocessmacro, iid SEs (PROCESS 3+): every path's estimate and SE, and the indirect
effect's point estimate. Bootstrap SEs and intervals are not compared (the draws
differ); ``tests/estimators/test_process.py`` checks them within Monte Carlo error.

Roles: x = ``x1`` (possibly scaled by 1e-6 or 1e6), w or m = ``x2``, y = ``y``.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import ipnstats

from .outcome import RTOL, Checker, Outcome

FAMILY = "process"
RANGES = {"n_x": (2, 3)}
BOOT = 200


def check(design) -> Outcome:
    frame = design.frame()[["x1", "x2", "y"]]
    c = Checker(FAMILY, design)
    for model in (1, 4):
        compare(c, frame, model)
    return c.outcome()


def compare(c: Checker, frame, model: int) -> None:
    roles = {"w": "x2"} if model == 1 else {"m": "x2"}

    def ours():
        return ipnstats.conditional_process(frame, model=model, x="x1", y="y", n_boot=BOOT,
                                            seed=1, **roles)

    got = c.run(f"model {model}", ours, lambda _: _peer(frame, model))
    if got is None:
        return
    res, ref = got
    paths = res.paths()
    theirs = ref[ref["component"] == "outcome"]
    mine, peer, peer_se, se = [], [], [], []
    for _, row in theirs.iterrows():
        term = {"Cons": "Intercept"}.get(row["term"], row["term"]).replace("*", ":")
        hit = paths[(paths["equation"] == row["outcome"]) & (paths["term"] == term)]
        c.equal(f"model {model} {row['outcome']}::{term} present", len(hit), 1)
        if len(hit) == 1:
            mine.append(hit["estimate"].iloc[0])
            se.append(hit["std_error"].iloc[0])
            peer.append(row["estimate"])
            peer_se.append(row["std_error"])
    c.estimates(f"model {model} paths", mine, peer, peer_se)
    c.close(f"model {model} path SEs", se, peer_se, RTOL)
    if model == 4:
        ind = ref[ref["component"] == "indirect"]
        ours_ind = res.indirect_effects()
        ours_ind = ours_ind[ours_ind["mediator"] == "x2"]
        c.estimates("model 4 indirect", ours_ind["estimate"], ind["estimate"],
                    ind["std_error"])


def _peer(frame, model: int):
    from pyprocessmacro import Process

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        p = Process(data=frame, model=model, x="x1", y="y", boot=BOOT, percent=True,
                    spotlight="percentiles", suppr_init=True,
                    m=["x2"] if model == 4 else "x2")  # PROCESS 2 names model 1's w "m"
        return p.tidy()
