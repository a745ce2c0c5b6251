"""Delta-RM (C-LF) intervals from moderndid 0.2.0 on random (beta, sigma) designs.

Run from the repository root: ``python tests/reference/honest_did/moderndid_rm.py``;
writes ``moderndid_rm.json`` beside it. moderndid.didhonest refuses to import without
cvxpy, which only its FLCI uses: a placeholder module lets the cvxpy-free
relative-magnitudes code load. For one post period moderndid's wrapper
``create_sensitivity_results_rm`` fails (it indexes its no-nuisance result as 2-D), so
the same union over (s, sign) of ``compute_arp_ci`` is assembled here, the
least-favourable critical value seeded 0 as moderndid does for several post periods.
"""

import itertools
import json
import sys
import types
from pathlib import Path

import numpy as np

sys.modules.setdefault("cvxpy", types.ModuleType("cvxpy"))
from moderndid.didhonest.arp_no_nuisance import compute_arp_ci  # noqa: E402
from moderndid.didhonest.arp_nuisance import compute_least_favorable_cv  # noqa: E402
from moderndid.didhonest.delta.rm import rm  # noqa: E402
from moderndid.didhonest.sensitivity import create_sensitivity_results_rm  # noqa: E402

M_VALUES = [0.5, 1.0, 2.0]
DESIGNS = [(1, 3, 1, False), (2, 2, 3, False), (3, 3, 2, True), (4, 4, 2, False)]


def design(seed, num_pre, num_post):
    rng = np.random.default_rng(seed)
    n = num_pre + num_post
    L = rng.normal(size=(n, n)) * 0.01
    sigma = L @ L.T + np.eye(n) * 1e-4
    beta = rng.normal(size=n) * 0.02
    beta[num_pre:] += 0.05
    return beta, sigma


def one_post(beta, sigma, num_pre, m_bar, alpha=0.05):
    ids = rm.compute_identified_set_rm(m_bar, beta, np.array([1.0]), num_pre, 1)
    sd = np.sqrt(sigma[-1, -1])
    lb, ub = ids.id_lb - 20 * sd, ids.id_ub + 20 * sd
    accept = np.zeros(1000, bool)
    for s, pos in itertools.product(range(-(num_pre - 1), 0), (True, False)):
        A = rm._create_relative_magnitudes_constraint_matrix(num_pre, 1, m_bar, s, pos)
        cv = compute_least_favorable_cv(None, A @ sigma @ A.T, alpha / 10, seed=0)
        out = compute_arp_ci(beta, sigma, A, np.zeros(len(A)), num_pre, 1, alpha=alpha,
                             hybrid_flag="LF", hybrid_kappa=alpha / 10, lf_cv=cv,
                             grid_lb=lb, grid_ub=ub)
        accept |= out.accept_grid
    grid = np.linspace(lb, ub, 1000)[accept]
    return [float(grid[0]), float(grid[-1])]


def main():
    cases = []
    for seed, num_pre, num_post, weighted in DESIGNS:
        beta, sigma = design(seed, num_pre, num_post)
        w = np.linspace(1.0, 0.5, num_post)
        l_vec = (w / w.sum()) if weighted else None
        if num_post == 1:
            bounds = [one_post(beta, sigma, num_pre, m) for m in M_VALUES]
        else:
            kw = {} if l_vec is None else {"l_vec": l_vec}
            out = create_sensitivity_results_rm(beta, sigma, num_pre, num_post,
                                                m_bar_vec=M_VALUES, **kw)
            bounds = out.select(["lb", "ub"]).to_numpy().tolist()
        cases.append({"seed": seed, "num_pre": num_pre, "num_post": num_post,
                      "beta": beta.tolist(), "sigma": sigma.tolist(),
                      "l_vec": None if l_vec is None else l_vec.tolist(),
                      "m_values": M_VALUES, "conf_low": [b[0] for b in bounds],
                      "conf_high": [b[1] for b in bounds]})
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps({"source": "moderndid 0.2.0 (method C-LF, alpha 0.05, "
                                          "1000 grid points)", "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
