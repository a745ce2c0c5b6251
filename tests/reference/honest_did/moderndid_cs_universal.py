"""Robust intervals of moderndid 0.2.0's ``honest_did`` on its Callaway-Sant'Anna event
study of ``mpdta`` with a universal base period.

Run from the repository root: ``python tests/reference/honest_did/moderndid_cs_universal.py``
(moderndid.didhonest needs cvxpy for its FLCI; see SOURCE.md); writes
``moderndid_cs_universal.json`` beside it (about two minutes: moderndid's
least-favourable critical value solves 1000 LPs per polyhedron). ``att_gt(lemp ~ 1,
control_group = "nevertreated", base_period = "universal", est_method = "dr",
boot = FALSE)``, ``aggte(type = "dynamic")``, then for event times 0 and 2
``honest_did(sensitivity_type = "relative_magnitude", grid_points = 1000)`` (C-LF)
and ``honest_did(sensitivity_type = "smoothness", method = "FLCI")``, alpha 0.05. The
event study's coefficients and covariance (reference -1 dropped, as honest_did does)
are stored too.
"""

import json
import warnings
from pathlib import Path

import moderndid
import numpy as np
from moderndid.didhonest import honest_did

M_BAR = [0.5, 1.0, 1.5, 2.0]
M_SD = [0.0, 0.01, 0.02, 0.05]
EVENT_TIMES = [0, 2]


def main():
    data = moderndid.load_mpdta()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = moderndid.att_gt(data=data, yname="lemp", tname="year", idname="countyreal",
                              gname="first.treat", control_group="nevertreated",
                              base_period="universal", est_method="dr", boot=False)
        es = moderndid.aggte(gt, type="dynamic")
    events = np.asarray(es.event_times)
    keep = events != -1
    inf = np.asarray(es.influence_func)[:, keep]
    n = inf.shape[0]
    out = {"source": "moderndid 0.2.0 honest_did (C-LF, alpha 0.05, 1000 grid points) on "
                     "aggte(att_gt(base_period='universal'), type='dynamic'), mpdta",
           "n_rows": int(len(data)), "events": events[keep].astype(int).tolist(),
           "beta": np.asarray(es.att_by_event)[keep].tolist(),
           "sigma": (inf.T @ inf / n**2).tolist(), "cases": []}
    for e in EVENT_TIMES:
        for kind, kw in (("rm", {"sensitivity_type": "relative_magnitude",
                                 "m_bar_vec": M_BAR, "grid_points": 1000}),
                         ("sd", {"sensitivity_type": "smoothness", "method": "FLCI",
                                 "m_vec": M_SD})):
            res = honest_did(es, event_time=e, **kw)
            bounds = res.robust_ci.select(["lb", "ub"]).to_numpy()
            out["cases"].append({
                "method": kind, "event_time": e, "m_values": M_BAR if kind == "rm" else M_SD,
                "conf_low": bounds[:, 0].tolist(), "conf_high": bounds[:, 1].tolist(),
                "original": [float(res.original_ci.lb), float(res.original_ci.ub)]})
    Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
