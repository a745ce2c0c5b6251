"""Weighted ``panel_regression`` (within one- and two-way, pooled) against pyfixest
``feols(..., weights=, weights_type=)``: analytic weights (the design's positive ``w``)
and frequency weights (``fw``, whole numbers 1-4 drawn from ``w``), under iid, HC1 and
CRV1 one- and two-way covariances, with singletons kept (pyfixest ``fixef_rm="none"``),
under the SSC drawn per design as in :mod:`tests.crosscheck.panel_pyfixest`.

Named conventions: those of :func:`tests.crosscheck.common.se_convention`.
"""

from __future__ import annotations

import numpy as np

from ipnstats import panel_regression

from .common import kept_terms, se_convention
from .outcome import RTOL, ZERO_SE, Checker, Outcome
from .panel_pyfixest import SSCS, VARIANTS, _peer, _spec

FAMILY = "panel_weights"
VCOVS = ("iid", "hc1", "g", "u+t")
KINDS = (("w", "aweights"), ("fw", "fweights"))


def check(design) -> Outcome:
    """Every variant x covariance x kind of weights, one SSC per design."""
    frame = design.frame()
    frame = frame.assign(fw=1 + np.floor(frame["w"].rank(pct=True) * 3.999).astype(int))
    ssc = SSCS[design.seed % len(SSCS)]
    c = Checker(FAMILY, design)
    for estimator, effects in VARIANTS:
        for vc in VCOVS:
            for column, kind in KINDS:
                _compare(c, frame, design, estimator, effects, vc, ssc, column, kind)
    return c.outcome()


def _compare(c: Checker, frame, design, estimator, effects, vc, ssc, column, kind) -> None:
    label = f"{estimator}{list(effects)} {vc} {kind} {ssc!r}"

    def ours():
        return panel_regression(frame, design.formula(), unit="u", time="t",
                                estimator=estimator, panel_effects=effects,
                                vcov=_spec(vc, ssc.adj), ssc=ssc, weights=column,
                                weights_type=kind)

    got = c.run(label, ours, lambda r: _peer(frame, kept_terms(r, design, not effects),
                                             effects, vc, ssc, False,
                                             strict=r is not None, weights=column))
    if got is None:
        return
    res, peer = got[0], got[1].tidy()
    conv = se_convention(res, frame, effects, "pyfixest")
    c.estimates(f"{label} estimates", res.params, peer["Estimate"], peer["Std. Error"])
    c.close(f"{label} std errors", res.std_errors, peer["Std. Error"], RTOL,
            ZERO_SE * np.abs(res.params.to_numpy()), convention=conv)
    c.close(f"{label} p-values", res.tidy()["p_value"], peer["Pr(>|t|)"], 0, 1e-6,
            convention=conv)
