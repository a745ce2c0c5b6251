"""Weak-instrument diagnostics of a 2SLS fit: first-stage F statistics, the effective F
of Montiel Olea & Pflueger (2013), and Anderson-Rubin confidence sets.

Every statistic is computed on the data 2SLS used (after the within transformation of
absorbed fixed effects), with the covariance choice and small-sample corrections of the
result it is asked of (``IVResult.with_vcov`` changes them too):

- first-stage F (``f_stat``): the conventional F test that the excluded instruments'
  coefficients are zero in the first stage of each endogenous regressor, ``iid``
  covariance, ``F(L, n - K_Z)`` with ``K_Z`` every instrument and absorbed parameter
  (Stata ``ivreg2``'s first-stage F, fixest ``fitstat(~ivf)``);
- robust F (``f_robust``): the same Wald test under the result's vcov (HC1 or
  cluster-robust), divided by ``L`` (fixest ``fitstat(~ivwald)``; with one endogenous
  regressor a Kleibergen-Paap style Wald F; under ``"hc1"`` the robust F that Stata's
  ``gfweakivtest`` prints after ``ivreg2, robust``);
- effective F (one endogenous regressor): ``pi' Q pi / tr(V_pi Q)`` with ``pi`` the
  excluded instruments' first-stage coefficients, ``Q = Z~'Z~`` (instruments after
  partialling out the exogenous regressors) and ``V_pi`` their robust covariance
  (Montiel Olea & Pflueger 2013, eq. 3; Stata ``weakivtest``); under ``iid`` it is the
  conventional F. Its critical value ``f_effective_cv`` is the *generalized* one for a
  worst-case 2SLS Nagar bias of ``tau = 10%`` of their benchmark at ``alpha = 5%``
  (:func:`generalized_cv`; Stata ``weakivtest``/``gfweakivtest``, pinned against its
  printed values), ``f_effective_cv_simplified`` the *simplified* upper bound (their
  section 4.2: ``x = 1/tau``); with one instrument both are 23.109;
- Anderson-Rubin (Anderson & Rubin 1949): the set of ``b0`` for which the excluded
  instruments' coefficients in the regression of ``y - b0 x`` on every instrument
  are jointly zero by the Wald F test under the result's vcov, referred to ``F(L, df)``
  with the first-stage df (``df`` of the result's vcov: ``n - K_Z`` or ``G - 1``). Its
  boundary points are the real roots of ``det(c V(b0) - g(b0) g(b0)')``, a polynomial
  of degree ``2L`` in ``b0``; the set can be an interval, a union of two half-lines, the
  whole line (weak instruments) or empty (over-identification rejected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.polynomial import chebyshev
from scipy import linalg, optimize, stats

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.iv import IVData, two_sls
from ipnstats.results.inference import WaldTest, check_conf_level, wald_test
from ipnstats.results.vcov import SSC, VcovSpec

TAU = 0.10
ALPHA = 0.05


def _first_stage(iv: IVData, target: np.ndarray, ssc: SSC):
    """Coefficients of ``target`` on every instrument, its residuals and the engine."""
    Z = iv.Z
    bread = linalg.pinvh(Z.T @ Z)
    coef = bread @ (Z.T @ target)
    resid = target - Z @ coef
    return coef, resid, iv.engine(Z, resid, bread, ssc)


def first_stage_table(iv: IVData, spec: VcovSpec, ssc: SSC, normal: bool = False,
                      tau: float = TAU) -> pd.DataFrame:
    """One row per endogenous regressor: ``endogenous``, ``n_instruments``,
    ``partial_r2`` (of the excluded instruments), ``f_stat``, ``f_df_denom``,
    ``f_p_value`` (conventional, iid), ``f_robust``, ``f_robust_df_denom``,
    ``f_robust_p_value`` (under ``spec``), ``vcov``, and with one endogenous regressor
    ``f_effective``, ``f_effective_cv`` and ``f_effective_cv_simplified`` (Montiel
    Olea-Pflueger: generalized and simplified critical values for a bias of ``tau``,
    alpha = 5%)."""
    L = iv.instruments.shape[1]
    R = np.eye(iv.Z.shape[1])[:L]
    rows = []
    for j, name in enumerate(iv.endog_names):
        x = iv.endog[:, j]
        coef, resid, engine = _first_stage(iv, x, ssc)
        conv = _f_test(coef, engine.compute("iid"), R)
        inf = engine.compute(spec)
        rob = _f_test(coef, inf, R, normal)
        row = {"endogenous": name, "n_instruments": L, "partial_r2": _partial_r2(iv, x, resid),
               "f_stat": conv.statistic, "f_df_denom": conv.df_denom, "f_p_value": conv.p_value,
               "f_robust": rob.statistic, "f_robust_df_denom": rob.df_denom,
               "f_robust_p_value": rob.p_value, "vcov": str(spec)}
        if iv.endog.shape[1] == 1:
            row |= effective_f(coef[:L], inf.cov[:L, :L], _partialled(iv), tau)
            row["f_effective_cv"] = _generalized(iv, spec, ssc, resid, engine,
                                                 inf.cov[:L, :L], tau)
        rows.append(row)
    return pd.DataFrame(rows)


def _generalized(iv: IVData, spec: VcovSpec, ssc: SSC, ex: np.ndarray, engine,
                 v_x: np.ndarray, tau: float = TAU) -> float:
    """:func:`generalized_cv` from the reduced forms' covariances under ``spec`` (the
    cross-covariance by polarisation: ``V(e_y - e_x) = V_y - 2 V_yx + V_x``)."""
    L = iv.instruments.shape[1]
    _, ey, _ = _first_stage(iv, iv.y, ssc)
    v_y = _engine_at(engine, ey).compute(spec).cov[:L, :L]
    v_diff = _engine_at(engine, ey - ex).compute(spec).cov[:L, :L]
    z = _partialled(iv)
    return generalized_cv(v_y, (v_y + v_x - v_diff) / 2, v_x, z.T @ z, tau)


def _f_test(coef: np.ndarray, inf, R: np.ndarray, normal: bool = False) -> WaldTest:
    test = wald_test(coef, inf.cov, R, np.zeros(R.shape[0]), None if normal else inf.df)
    if normal:  # chi2(L) / L, reported as an F with no denominator df
        return WaldTest(test.statistic / R.shape[0], test.df_num, None, test.p_value, "")
    return test


def _partialled(iv: IVData) -> np.ndarray:
    """The excluded instruments after partialling out the exogenous regressors."""
    if iv.exog.shape[1] == 0:
        return iv.instruments
    coef = linalg.lstsq(iv.exog, iv.instruments)[0]
    return iv.instruments - iv.exog @ coef


def _partial_r2(iv: IVData, x: np.ndarray, resid: np.ndarray) -> float:
    """Share of the variation of ``x`` left by the exogenous regressors that the excluded
    instruments explain (Shea's partial R² with one endogenous regressor)."""
    restricted = x if iv.exog.shape[1] == 0 else x - iv.exog @ linalg.lstsq(iv.exog, x)[0]
    ssr_r = float(restricted @ restricted)
    return 1 - float(resid @ resid) / ssr_r if ssr_r > 0 else float("nan")


def effective_f(pi: np.ndarray, v_pi: np.ndarray, z_tilde: np.ndarray,
                tau: float = TAU, alpha: float = ALPHA) -> dict[str, float]:
    """Montiel Olea-Pflueger effective F and its simplified critical value.

    ``pi``: the excluded instruments' first-stage coefficients; ``v_pi`` their (robust)
    covariance; ``z_tilde`` the instruments with the exogenous regressors partialled out.

    >>> round(effective_f(np.array([1.0]), np.array([[0.01]]), np.ones((10, 1)))
    ...       ["f_effective_cv_simplified"], 3)
    23.109
    """
    Q = z_tilde.T @ z_tilde
    S = v_pi @ Q
    trace = float(np.trace(S))
    f_eff = float(pi @ Q @ pi) / trace if trace > 0 else float("nan")
    return {"f_effective": f_eff, "f_effective_cv_simplified": simplified_cv(S, tau, alpha)}


def generalized_cv(v_y: np.ndarray, v_yx: np.ndarray, v_x: np.ndarray, Q: np.ndarray,
                   tau: float = TAU, alpha: float = ALPHA) -> float:
    """Montiel Olea & Pflueger's generalized critical value for 2SLS (Nagar bias relative
    to their worst-case benchmark, as Stata's ``weakivtest``).

    ``v_y``, ``v_yx``, ``v_x``: the (robust) covariances of the reduced-form coefficients
    of ``y`` and of the endogenous ``x`` on the excluded instruments (after partialling
    out the exogenous regressors) and their cross-covariance; ``Q = Z~'Z~``. With the
    instruments orthonormalised, ``W_ab = Q^1/2 V_ab Q^1/2`` (any common scale cancels)
    and ``B = sup_b |tr(S12) - 2 lambda(S12)| / sqrt(tr(S1) tr(S2))`` over ``b`` and the
    extreme eigenvalues ``lambda`` of ``S12 = W12 - b W2``, ``S1 = W1 - 2 b W12 + b^2 W2``,
    ``S2 = W2``; the critical value is Patnaik's with ``x = B / tau``.
    """
    root = linalg.sqrtm(Q).real
    w1, w12, w2 = (root @ v @ root for v in (v_y, (v_yx + v_yx.T) / 2, v_x))
    bias = _worst_nagar_bias(w1, w12, w2)
    return _patnaik(np.linalg.eigvalsh((w2 + w2.T) / 2), bias / tau, alpha)


def _nagar_bias(b: float, w1, w12, w2) -> float:
    s12 = w12 - b * w2
    s1 = w1 - 2 * b * w12 + b**2 * w2
    denom = np.sqrt(max(np.trace(s1) * np.trace(w2), 0.0))
    if denom == 0:
        return 0.0
    eig = np.linalg.eigvalsh((s12 + s12.T) / 2)
    return float(max(abs(np.trace(s12) - 2 * eig[0]), abs(np.trace(s12) - 2 * eig[-1]))
                 / denom)


def _worst_nagar_bias(w1, w12, w2) -> float:
    """The supremum over ``b`` of :func:`_nagar_bias`: its limit as ``|b| -> inf``
    (``|1 - 2 lambda_min(W2) / tr(W2)|``), a grid over ``b = tan(t)``, then a bounded
    refinement around the grid's best."""
    eig2 = np.linalg.eigvalsh((w2 + w2.T) / 2)
    limit = abs(1 - 2 * eig2[0] / eig2.sum())
    grid = np.tan(np.linspace(-np.pi / 2, np.pi / 2, 4001)[1:-1])
    values = np.array([_nagar_bias(b, w1, w12, w2) for b in grid])
    i = int(values.argmax())
    lo, hi = np.arctan(grid[max(i - 1, 0)]), np.arctan(grid[min(i + 1, grid.size - 1)])
    best = optimize.minimize_scalar(lambda t: -_nagar_bias(np.tan(t), w1, w12, w2),
                                    bounds=(lo, hi), method="bounded",
                                    options={"xatol": 1e-12})
    return max(limit, float(values[i]), -float(best.fun))


def _patnaik(eig: np.ndarray, x: float, alpha: float) -> float:
    """``chi2_{K_eff}(x K_eff)^-1(1 - alpha) / K_eff`` with ``K_eff`` from the
    eigenvalues ``eig`` of ``W2``."""
    trace = float(eig.sum())
    if not trace > 0:
        return float("nan")
    k_eff = trace**2 * (1 + 2 * x) / (float((eig**2).sum()) + 2 * x * trace * float(eig.max()))
    return float(stats.ncx2.ppf(1 - alpha, k_eff, x * k_eff) / k_eff)


def simplified_cv(S: np.ndarray, tau: float = TAU, alpha: float = ALPHA) -> float:
    """Montiel Olea & Pflueger's simplified critical value: Patnaik's approximation
    ``chi2_{K_eff}(x K_eff)^-1(1 - alpha) / K_eff`` with ``x = 1 / tau`` and
    ``K_eff = tr(S)^2 (1 + 2x) / (tr(S'S) + 2x tr(S) lambda_max(S))`` (``S`` proportional
    to the covariance of the orthonormalised first-stage coefficients)."""
    return _patnaik(np.linalg.eigvals(S).real, 1 / tau, alpha)


def _ar_pieces(iv: IVData, ssc: SSC):
    if iv.endog.shape[1] != 1:
        raise SpecificationError(
            f"Anderson-Rubin confidence sets are for one endogenous regressor; this model has "
            f"{iv.endog.shape[1]} ({', '.join(iv.endog_names)})")
    cy, ey, engine = _first_stage(iv, iv.y, ssc)
    cx, ex, _ = _first_stage(iv, iv.endog[:, 0], ssc)
    return cy, ey, cx, ex, engine


def _ar_stat(b0: float, pieces, spec: VcovSpec, L: int) -> tuple[float, float | None]:
    """The Wald statistic ``g' V^-1 g`` of ``b0`` (not divided by ``L``) and its df."""
    cy, ey, cx, ex, engine = pieces
    g = (cy - b0 * cx)[:L]
    inf = _engine_at(engine, ey - b0 * ex).compute(spec)
    return float(g @ linalg.pinvh(inf.cov[:L, :L]) @ g), inf.df


def _engine_at(engine, resid: np.ndarray):
    import dataclasses

    return dataclasses.replace(engine, resid=resid)


def anderson_rubin_test(iv: IVData, spec: VcovSpec, ssc: SSC, value: float = 0.0,
                        normal: bool = False) -> WaldTest:
    """The Anderson-Rubin test that the endogenous regressor's coefficient is ``value``."""
    pieces = _ar_pieces(iv, ssc)
    L = iv.instruments.shape[1]
    w, df = _ar_stat(value, pieces, spec, L)
    label = f"{iv.endog_names[0]} = {value:g} (Anderson-Rubin)"
    if normal or df is None:
        return WaldTest(w / L, L, None, float(stats.chi2.sf(w, L)), label)
    return WaldTest(w / L, L, float(df), float(stats.f.sf(w / L, L, df)), label)


def anderson_rubin_set(iv: IVData, spec: VcovSpec, ssc: SSC,
                       conf_level: float = 0.95, normal: bool = False) -> pd.DataFrame:
    """The Anderson-Rubin confidence set: one row per interval (``term``, ``conf_level``,
    ``conf_low``, ``conf_high``; infinite ends for half-lines or the whole line), no
    rows when the set is empty."""
    conf_level = check_conf_level(conf_level)
    pieces = _ar_pieces(iv, ssc)
    L = iv.instruments.shape[1]
    _, df = _ar_stat(0.0, pieces, spec, L)
    crit = (float(stats.chi2.ppf(conf_level, L)) if normal or df is None
            else L * float(stats.f.ppf(conf_level, L, df)))
    centre, scale = _centre_and_scale(iv, pieces, spec)
    roots = _boundary(pieces, spec, L, crit, centre, scale)
    cx, ex, engine = pieces[2], pieces[3], pieces[4]
    v_xx = _engine_at(engine, ex).compute(spec).cov[:L, :L]
    at_infinity = float(cx[:L] @ linalg.pinvh(v_xx) @ cx[:L]) <= crit
    edges = np.concatenate([[-np.inf], roots, [np.inf]])
    accepted = [_ar_stat((a + b) / 2, pieces, spec, L)[0] <= crit
                if np.isfinite(a) and np.isfinite(b) else at_infinity
                for a, b in zip(edges[:-1], edges[1:], strict=True)]
    intervals = _merge(edges, accepted)
    return pd.DataFrame([{"term": iv.endog_names[0], "conf_level": conf_level,
                          "conf_low": lo, "conf_high": hi} for lo, hi in intervals],
                        columns=["term", "conf_level", "conf_low", "conf_high"])


def _centre_and_scale(iv: IVData, pieces, spec: VcovSpec) -> tuple[float, float]:
    beta, resid, xhat, bread = two_sls(iv.y, np.column_stack([iv.endog, iv.exog]), iv.Z)
    engine = iv.engine(xhat, resid, bread, pieces[4].ssc)
    se = float(np.sqrt(engine.compute(spec).cov[0, 0]))
    scale = 10 * se if np.isfinite(se) and se > 0 else 1.0 + abs(beta[0])
    return float(beta[0]), scale


def _boundary(pieces, spec: VcovSpec, L: int, crit: float, centre: float,
              scale: float) -> np.ndarray:
    """Real roots in ``b0`` of ``det(crit V(b0) - g g')`` (degree ``2L``), sorted."""
    cy, ey, cx, ex, engine = pieces
    nodes = np.cos(np.pi * (np.arange(2 * L + 1) + 0.5) / (2 * L + 1))
    values = []
    for t in nodes:
        b0 = centre + scale * t
        g = (cy - b0 * cx)[:L]
        V = _engine_at(engine, ey - b0 * ex).compute(spec).cov[:L, :L]
        values.append(np.linalg.det(crit * V - np.outer(g, g)))
    values = np.asarray(values)
    coef = chebyshev.chebfit(nodes, values / np.max(np.abs(values)), 2 * L)
    roots = chebyshev.chebroots(coef)
    real = roots[np.abs(roots.imag) <= 1e-7 * (1 + np.abs(roots.real))].real
    return np.sort(centre + scale * real)


def _merge(edges: np.ndarray, accepted: list[bool]) -> list[tuple[float, float]]:
    """Consecutive accepted segments between ``edges`` joined into intervals."""
    out: list[tuple[float, float]] = []
    for (a, b), ok in zip(zip(edges[:-1], edges[1:], strict=True), accepted, strict=True):
        if not ok:
            continue
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], float(b))
        else:
            out.append((float(a), float(b)))
    return out


__all__ = ["anderson_rubin_set", "anderson_rubin_test", "effective_f", "first_stage_table",
           "simplified_cv"]
