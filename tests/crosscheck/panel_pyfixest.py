"""``panel_regression`` (within one- and two-way, pooled) against pyfixest ``feols``:
iid, HC1 (``"hetero"``) and CRV1 one- and two-way covariances, under a small-sample
correction drawn per design (``SSC`` and pyfixest's ``ssc()`` name the same choices),
with singletons kept (``fixef_rm="none"``) and dropped (``drop_singletons=True``,
pyfixest's default ``"singleton"``).

Named conventions (:func:`tests.crosscheck.common.se_convention`): ``fe_redundancy``,
``covariance_repaired``, ``no_residual_df``. ``"hc1"`` is HC0 times ``n/(n−K)``
whatever ``adj``, pyfixest's ``"hetero"`` with ``k_adj=False`` is ``"hc0"``: matched by
name, so agreement.
"""

from __future__ import annotations

import warnings

import numpy as np

from ipnstats import SSC, Cluster, panel_regression

from .common import kept_terms, peer_columns, safe_names, se_convention
from .outcome import RTOL, ZERO_SE, Checker, Outcome

FAMILY = "panel_pyfixest"
VARIANTS = (("within", ("unit",)), ("within", ("unit", "time")), ("pooled", ()))
VCOVS = ("iid", "hc1", "g", "u", "u+t")
SSCS = (SSC(), SSC(adj=False), SSC(cluster_adj=False), SSC(fixef_k="full"),
        SSC(fixef_k="none"), SSC(cluster_df="conventional"),
        SSC(adj=False, cluster_adj=False, fixef_k="full", cluster_df="conventional"))
FIXEF_K = {"nested": "nonnested", "full": "full", "none": "none"}


def check(design) -> Outcome:
    """Every variant x covariance, singletons kept and dropped, one SSC per design."""
    frame = design.frame()
    ssc = SSCS[design.seed % len(SSCS)]
    c = Checker(FAMILY, design)
    for estimator, effects in VARIANTS:
        for vc in VCOVS:
            for drop in (False, True) if effects else (False,):
                compare(c, frame, design, estimator, effects, vc, ssc, drop)
    return c.outcome()


def _spec(vc: str, adj: bool):
    if vc == "hc1":
        return "hc1" if adj else "hc0"
    return vc if vc == "iid" else Cluster(*vc.split("+"))


def compare(c: Checker, frame, design, estimator, effects, vc, ssc: SSC, drop: bool,
            weights: str | None = None, weights_type: str = "aweights") -> None:
    """One fit against pyfixest's; ``weights`` names a weight column of ``frame``."""
    label = f"{estimator}{list(effects)} {vc} {ssc!r} drop_singletons={drop}"
    options = {"drop_singletons": drop} if estimator == "within" else {}
    if weights is not None:
        label += f" {weights_type}"
        options |= {"weights": weights, "weights_type": weights_type}

    def ours():
        return panel_regression(frame, design.formula(), unit="u", time="t",
                                estimator=estimator, panel_effects=effects,
                                vcov=_spec(vc, ssc.adj), ssc=ssc, **options)

    got = c.run(label, ours, lambda r: _peer(frame, kept_terms(r, design, not effects),
                                             effects, vc, ssc, drop, strict=r is not None,
                                             weights=weights))
    if got is None:
        return
    res, peer = got[0], got[1].tidy()
    conv = se_convention(res, frame, effects, "pyfixest")
    c.estimates(f"{label} estimates", res.params, peer["Estimate"], peer["Std. Error"])
    c.close(f"{label} std errors", res.std_errors, peer["Std. Error"], RTOL,
            ZERO_SE * np.abs(res.params.to_numpy()), convention=conv)
    c.close(f"{label} p-values", res.tidy()["p_value"], peer["Pr(>|t|)"], 0, 1e-6,
            convention=conv)


def _peer(frame, terms, effects, vc, ssc: SSC, drop: bool, strict: bool = True,
          weights: str | None = None):
    import pyfixest as pf

    X = peer_columns(frame, terms)
    names = safe_names(X.columns)
    data = X.rename(columns=names).assign(y=frame["y"], u=frame["u"], t=frame["t"],
                                          g=frame["g"])
    if weights is not None:
        data[weights] = frame[weights].to_numpy()
    rhs = [names[c] for c in X.columns if c != "Intercept"]
    fml = "y ~ " + ("" if "Intercept" in X.columns or effects else "0 + ")
    fml += " + ".join(rhs) if rhs else "1"
    fml += (" | " + " + ".join({"unit": "u", "time": "t"}[e] for e in effects)) if effects else ""
    vcov = {"iid": "iid", "hc1": "hetero"}.get(vc, {"CRV1": vc})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighting = ({} if weights is None else
                     {"weights": weights, "weights_type": "fweights" if weights == "fw"
                      else "aweights"})
        fit = pf.feols(fml, data=data, vcov=vcov, fixef_rm="singleton" if drop else "none",
                       **weighting,
                       ssc=pf.ssc(k_adj=ssc.adj, G_adj=ssc.cluster_adj,
                                  k_fixef=FIXEF_K[ssc.fixef_k], G_df=ssc.cluster_df),
                       collin_tol=1e-14, fixef_tol=1e-14, fixef_maxiter=100_000)
    if strict and (len(fit.coef()) != len(terms) or not np.all(np.isfinite(fit.coef()))):
        raise RuntimeError(f"pyfixest kept {list(fit.coef().index)}")
    return fit
