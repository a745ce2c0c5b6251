"""``wild_bootstrap`` (Rademacher, WCR and WCU) on a pooled regression clustered on
``g`` (2-12 clusters) against wildboottest's ``WildboottestCL``.

Both enumerate the ``2^G`` sign vectors when ``2^G <= reps`` (``REPS`` = 4,999 covers
G <= 12), so the p-values are exact and seed-free on both sides: compared to
``P_ATOL``; the bootstrap's t statistic (cluster-robust, Stata's factor) to ``RTOL``.
When wildboottest does not enumerate (it draws at random), the two p-values are
independent Monte Carlo estimates and must agree within ``3·√2`` Monte Carlo SEs
(``√(p(1−p)/reps)``): a tolerance justified by Monte Carlo error, never a tuned seed.

Named convention ``ties``: under WCR the all-plus and all-minus sign vectors rebuild
the data (up to sign), so two bootstrap t's equal ``|t|``; ipnstats does not count
ties (``|t*| > |t|`` up to 1e-9, boottest), wildboottest counts one or both when its
rounding lands above ``|t|``: its enumerated p-value is then 1 or 2 draws higher.
"""

from __future__ import annotations

import warnings

import numpy as np

from ipnstats import Cluster, panel_regression
from ipnstats.estimators.wild import wild_bootstrap

from .common import peer_columns
from .outcome import P_ATOL, RTOL, Checker, Outcome

FAMILY = "wild_bootstrap"
REPS = 4999
TIES = ("ties: under WCR the sign vectors +1 and -1 give |t*| = |t| exactly, ipnstats "
        "counts |t*| > |t| (boottest), wildboottest counts them when rounding lands above")


def check(design) -> Outcome:
    """WCR and WCU p-values of the first regressor's coefficient."""
    frame = design.frame()
    c = Checker(FAMILY, design)
    fit = c.run("pooled", lambda: panel_regression(
        frame, design.formula(), unit="u", time="t", estimator="pooled", panel_effects=(),
        vcov=Cluster("g")))
    if fit is None:
        return c.outcome()
    res = fit[0]
    term = next((t for t in res.params.index if t != "Intercept"), None)
    if term is None:
        return c.outcome()
    for impose_null in (True, False):
        compare(c, frame, res, term, impose_null)
    return c.outcome()


def compare(c: Checker, frame, res, term: str, impose_null: bool) -> None:
    label = f"{term} impose_null={impose_null}"

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wild_bootstrap(res, term, cluster="g", n_boot=REPS, impose_null=impose_null,
                                  ci=False)

    got = c.run(label, ours, lambda _: _peer(frame, res, term, impose_null))
    if got is None:
        return
    boot, (t, p, used) = got
    c.close(f"{label} statistic", boot.statistic, t, RTOL, 1e-12)
    if boot.enumerated and used == boot.reps:
        ties = round((p - boot.p_value) * boot.reps)
        tie = (TIES if impose_null and ties in (1, 2)
               and abs(p - boot.p_value - ties / boot.reps) <= P_ATOL else None)
        c.close(f"{label} p-value (enumerated)", boot.p_value, p, 0, P_ATOL, convention=tie)
    else:
        mc = 3 * np.sqrt(2) * np.sqrt(max(p * (1 - p), 1.0 / REPS) / REPS)
        c.close(f"{label} p-value (Monte Carlo)", boot.p_value, p, 0, mc)


def _peer(frame, res, term: str, impose_null: bool):
    from wildboottest.wildboottest import WildboottestCL

    X = peer_columns(frame, res.params.index)
    R = (X.columns == term).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = WildboottestCL(X=X.to_numpy(), Y=frame["y"].to_numpy(float),
                            cluster=frame["g"].to_numpy(), R=R, B=REPS, seed=7,
                            parallel=False)
        wb.get_scores(bootstrap_type="11", impose_null=impose_null)
        _, used, _ = wb.get_weights(weights_type="rademacher")
        wb.get_numer()
        wb.get_denom()
        wb.get_tboot()
        wb.get_vcov()
        wb.get_tstat()
        wb.get_pvalue(pval_type="two-tailed")
    return float(np.squeeze(wb.t_stat)), float(wb.pvalue), used
