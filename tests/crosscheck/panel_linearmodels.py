"""``panel_regression`` against linearmodels (PanelOLS, PooledOLS, RandomEffects,
FirstDifferenceOLS, BetweenOLS) under iid, robust and clustered covariances.

Matched conventions: linearmodels ``debiased=True`` (and ``group_debias=True`` with
clusters) is Stata's ``n/(n−K)`` and ``G/(G−1)·(n−1)/(n−K)``. Its K differs from
ipnstats' default in two documented ways, which the check matches with ``ssc=``:
a single absorbed effect nested in the clusters costs nothing, not even the constant
it stands for (``SSC(fixef_k="none")``); with two absorbed effects and clusters all
their levels count (``SSC(fixef_k="full")``). Named conventions (not agreement):

- ``fe_redundancy``: linearmodels counts ``N + T − 1`` two-way levels whatever the
  connectivity; ipnstats counts them net of one redundancy per connected component
  (reghdfe, fixest), so on a disconnected design ``n − K`` differs;
- p-values: clustered ones use ``t(G − 1)`` in ipnstats and ``t(n − K)`` in
  linearmodels, random effects the normal in ipnstats: not compared (df is).
"""

from __future__ import annotations

import warnings

import numpy as np

from ipnstats import SSC, Cluster, panel_regression

from .common import kept_terms, nested, peer_columns, se_convention
from .outcome import RTOL, ZERO_SE, Checker, Outcome

FAMILY = "panel_linearmodels"
VARIANTS = (("within", ("unit",)), ("within", ("unit", "time")), ("within", ("time",)),
            ("pooled", ()), ("random", ("unit",)), ("first_difference", ("unit",)),
            ("between", ("unit",)))
VCOVS = ("iid", "hc1", "g", "u")


def check(design) -> Outcome:
    """Every estimator of :data:`VARIANTS` under every covariance of :data:`VCOVS`."""
    frame = design.frame()
    c = Checker(FAMILY, design)
    for estimator, effects in VARIANTS:
        for vc in VCOVS:
            compare(c, frame, design, estimator, effects, vc)
    return c.outcome()


def matched_ssc(frame, estimator: str, effects, vc: str) -> SSC | None:
    """The SSC under which ipnstats counts K as linearmodels does (module notes)."""
    if estimator != "within" or vc in ("iid", "hc1"):
        return None
    col = {"unit": "u", "time": "t"}
    if len(effects) == 1 and nested(frame[col[effects[0]]], frame[vc]):
        return SSC(fixef_k="none")
    return SSC(fixef_k="full") if len(effects) == 2 else None


def compare(c: Checker, frame, design, estimator: str, effects, vc: str) -> None:
    label = f"{estimator}{list(effects)} {vc}"
    spec = vc if vc in ("iid", "hc1") else Cluster(vc)
    formula = design.formula(intercept=estimator != "first_difference")
    ssc = matched_ssc(frame, estimator, effects, vc)

    def ours():
        return panel_regression(frame, formula, unit="u", time="t", estimator=estimator,
                                panel_effects=effects, vcov=spec, ssc=ssc)

    intercept = estimator not in ("within", "first_difference")
    got = c.run(label, ours, lambda r: _peer(frame, kept_terms(r, design, intercept),
                                             estimator, effects, vc))
    if got is None:
        return
    res, peer = got
    convention = se_convention(res, frame, effects if estimator == "within" else (),
                               "linearmodels")
    c.estimates(f"{label} estimates", res.params, peer.params, peer.std_errors)
    c.close(f"{label} std errors", res.std_errors, peer.std_errors, RTOL,
            ZERO_SE * np.abs(res.params.to_numpy()), convention=convention)
    if vc in ("iid", "hc1") and estimator != "random":
        c.equal(f"{label} df", res.df_inference, float(peer.df_resid), convention=convention)
        c.close(f"{label} p-values", res.tidy()["p_value"], peer.pvalues, 0, 1e-6,
                convention=convention)


def _peer(frame, terms, estimator: str, effects, vc: str):
    from linearmodels.panel import (
        BetweenOLS,
        FirstDifferenceOLS,
        PanelOLS,
        PooledOLS,
        RandomEffects,
    )

    f = frame.set_index(["u", "t"], drop=False)
    X = peer_columns(f, terms)
    model = {"within": lambda: PanelOLS(f["y"], X, entity_effects="unit" in effects,
                                        time_effects="time" in effects),
             "pooled": lambda: PooledOLS(f["y"], X),
             "random": lambda: RandomEffects(f["y"], X),
             "first_difference": lambda: FirstDifferenceOLS(f["y"], X),
             "between": lambda: BetweenOLS(f["y"], X)}[estimator]()
    kw = {"iid": {"cov_type": "unadjusted"}, "hc1": {"cov_type": "robust"}}.get(
        vc, {"cov_type": "clustered", "clusters": f[[vc]], "group_debias": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(debiased=True, **kw)
