"""Weighted ``panel_regression`` (within one- and two-way, pooled) against pyfixest
``feols(..., weights=, weights_type=)``: analytic weights (the design's positive ``w``)
and frequency weights (``fw``, whole numbers 1-4 drawn from ``w``), under iid, HC1 and
CRV1 one- and two-way covariances, with singletons kept (pyfixest ``fixef_rm="none"``),
under the SSC drawn per design as in :mod:`tests.crosscheck.panel_pyfixest`.

Named conventions: those of :func:`tests.crosscheck.common.se_convention`.
"""

from __future__ import annotations

import numpy as np

from .outcome import Checker, Outcome
from .panel_pyfixest import SSCS, VARIANTS, compare

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
                compare(c, frame, design, estimator, effects, vc, ssc, False, column, kind)
    return c.outcome()
