"""Delta-RM (C-LF) intervals of moderndid 0.2.0's ``honest_did`` on its Callaway-Sant'Anna
event study of ``mpdta`` with a universal base period.

Run from the repository root: ``python tests/reference/honest_did/moderndid_cs_universal.py``;
writes ``moderndid_cs_universal.json`` beside it (under a minute; moderndid's
least-favourable critical value solves 1000 LPs per polyhedron). ``att_gt(lemp ~ 1,
control_group = "nevertreated", base_period = "universal", est_method = "dr",
boot = FALSE)``, ``aggte(type = "dynamic")``, then ``honest_did(event_time = 0,
sensitivity_type = "relative_magnitude", grid_points = 1000)``, alpha 0.05. The event
study's coefficients and covariance (reference -1 dropped, as honest_did does) are
stored too. moderndid.didhonest refuses to import without cvxpy, which only its FLCI
(Delta-SD) uses: a placeholder module lets the relative-magnitudes code load, and the
Delta-SD intervals are not produced here.
"""

import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np

sys.modules.setdefault("cvxpy", types.ModuleType("cvxpy"))
import moderndid  # noqa: E402
from moderndid.didhonest import honest_did  # noqa: E402

M_BAR = [0.5, 1.0, 1.5, 2.0]


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
           "sigma": (inf.T @ inf / n**2).tolist(), "event_time": 0, "m_values": M_BAR}
    res = honest_did(es, event_time=0, sensitivity_type="relative_magnitude",
                     m_bar_vec=M_BAR, grid_points=1000)
    bounds = res.robust_ci.select(["lb", "ub"]).to_numpy()
    out["conf_low"], out["conf_high"] = bounds[:, 0].tolist(), bounds[:, 1].tolist()
    out["original"] = [float(res.original_ci.lb), float(res.original_ci.ub)]
    Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
