"""``mixed_model`` (random intercept, and intercept and slope) against statsmodels
``MixedLM``, both by REML.

What is compared: the REML log-likelihood (ipnstats' must be at least statsmodels'
minus ``LOGLIK_ATOL·max(1, |loglik|)``: a lower one is a fit stopped short of the
optimum); and, when both fits converge to the interior (no singular fit, every
variance of statsmodels above 1e-6 of the residual variance) at the same optimum (the
log-likelihoods within 1e-6), the fixed effects within ``1e-3`` of their SE and the
SEs within relative ``1e-3`` (optimiser tolerances, not rounding). SEs are lme4's
``σ²(X'V⁻¹X)⁻¹`` on both sides (:func:`lme4_se` computes them at statsmodels'
estimates; statsmodels' ``bse_fe``, from the Hessian, is another convention). statsmodels is given
the fixed-effect columns ipnstats kept (it has no collinearity handling).
"""

from __future__ import annotations

import warnings

import numpy as np

from ipnstats.estimators.mixed import mixed_model

from .common import kept_terms, peer_columns
from .outcome import LOGLIK_ATOL, Checker, Outcome

FAMILY = "mixed_model"
SAME_OPTIMUM = 1e-6
MIXED_RTOL = 1e-3


def check(design) -> Outcome:
    """A random intercept by unit, and (with 3+ periods) a random intercept and slope."""
    frame = design.frame()
    c = Checker(FAMILY, design)
    compare(c, frame, design, None)
    if design.n_periods >= 3:
        compare(c, frame, design, "1 + x1")
    return c.outcome()


def compare(c: Checker, frame, design, re_formula: str | None) -> None:
    label = f"re_formula={re_formula}"

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mixed_model(frame, design.formula(), groups="u", re_formula=re_formula)

    got = c.run(label, ours, lambda r: _peer(frame, kept_terms(r, design), re_formula))
    if got is None:
        return
    res, peer = got
    if not np.isfinite(peer.llf):
        c.peer_failures.append(f"{label}: statsmodels log-likelihood {peer.llf}")
        return
    ll, peer_ll = float(res.fit["loglik"]), float(peer.llf)
    c.n += 1
    if not ll >= peer_ll - LOGLIK_ATOL * max(1.0, abs(peer_ll)):
        c.fail(f"{label} loglik", f"ipnstats {ll:.10g} below statsmodels {peer_ll:.10g}")
    interior = (res.converged and not res.singular and peer.converged
                and np.all(np.diag(np.atleast_2d(peer.cov_re)) > 1e-6 * peer.scale))
    if interior and abs(ll - peer_ll) <= SAME_OPTIMUM * max(1.0, abs(peer_ll)):
        se = lme4_se(peer)
        c.close(f"{label} estimates", res.params, peer.fe_params, 0, 1e-3 * se)
        c.close(f"{label} std errors", res.std_errors, se, MIXED_RTOL)


def lme4_se(peer) -> np.ndarray:
    """lme4's fixed-effect SEs, ``sqrt(diag(σ²(X'V⁻¹X)⁻¹))`` with ``V = Z D Z' + I``
    (``D`` relative to σ²), at statsmodels' estimates: statsmodels' own ``bse_fe`` come
    from the Hessian of the whole likelihood, a different convention."""
    m = peer.model
    D = np.atleast_2d(np.asarray(peer.cov_re)) / peer.scale
    info = sum(X.T @ np.linalg.solve(Z @ D @ Z.T + np.eye(len(X)), X)
               for X, Z in zip(m.exog_li, m.exog_re_li, strict=True))
    return np.sqrt(np.diag(peer.scale * np.linalg.inv(info)))


def _peer(frame, terms, re_formula):
    import statsmodels.api as sm

    X = peer_columns(frame, terms)
    Z = np.ones((len(frame), 1)) if re_formula is None else np.column_stack(
        [np.ones(len(frame)), frame["x1"].to_numpy(float)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.MixedLM(frame["y"].to_numpy(float), X.to_numpy(), groups=frame["u"],
                           exog_re=Z)
        return model.fit(reml=True, method=["lbfgs", "nm"])
