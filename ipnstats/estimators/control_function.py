"""Control-function (two-stage residual inclusion) logit for a binary outcome with one
continuous endogenous regressor (Rivers & Vuong 1988; Wooldridge 2010, sec. 15.7.2; Stata
``xtdhazard logit``'s first-stage residual approach, ``ivprobit``'s two-step cousin).

The model: ``y_i = 1[w_i'b + a x_i + c v_i + error > 0]`` (logistic error), with the
endogenous ``x_i = s_i'pi + v_i`` and ``s_i`` the exogenous regressors ``w_i`` plus the
excluded instruments. Stage 1 is least squares of ``x`` on ``s``; stage 2 the logit of
``y`` on ``w``, ``x`` and the first-stage residual ``v_hat`` (term
``first_stage_residual``). Its coefficient's z test is the Rivers-Vuong test of the
exogeneity of ``x`` (``c = 0``), valid with the uncorrected standard error too, as under
``c = 0`` the first stage does not move the second.

Standard errors (``se=``):

- ``"murphy_topel"`` (default): the second stage's covariance corrected for the
  estimated residual (Murphy & Topel 1985). With ``J = sum_i d s2_i / d pi'`` (the
  derivative of the logit's scores with respect to the first-stage coefficients, through
  ``v_hat``), ``V2`` the logit's inverse information and ``V1 = s^2 (S'S)^-1`` the first
  stage's covariance: ``V(b2) = V2 + V2 J V1 J' V2``, ``Cov(b2, pi) = V2 J V1`` (the
  term ``R`` of Murphy-Topel, ``sum s2_i s1_i'``, has expectation zero here and is
  omitted, as in Greene 2012 sec. 14.7): ``vcov="iid"``. ``vcov="hc0"`` and
  ``Cluster(col)`` are the robust and clustered versions (Hardin 2002; Wooldridge 2010,
  sec. 12.5.2): the sandwich of the stacked influence functions ``V2 (s2_i + J (S'S)^-1
  s_i v_i)`` and ``(S'S)^-1 s_i v_i``, summed per row, or within clusters times ``G / (G
  - 1)``. The default ``vcov=None`` follows ``cluster`` (as ``conditional_process``).
- ``"bootstrap"``: a nonparametric bootstrap (of the clusters of ``cluster=``) that redoes
  both stages ``n_boot`` times; the covariance is that of the draws (resamples whose
  logit does not converge are left out with a note). ``seed`` is recorded.

Terms: the second stage's (the formula's regressors and ``first_stage_residual``), then
the first stage's, prefixed ``first_stage::``. Inference uses the normal law.
``glance()`` adds the exogeneity test (``exogeneity_z``, ``exogeneity_p``) and the
first-stage Wald F of the excluded instruments (``first_stage_f``, under the same
covariance choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.special import expit

from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.core.formula import (
    build_design,
    column_names,
    complete_rows,
    formula_variables,
    require_columns,
    require_numeric_roles,
)
from ipnstats.core.seeds import Seed, as_generator, check_seed, recorded_seed
from ipnstats.estimators.glm import fit_logit
from ipnstats.estimators.treatment_effects import check_finite
from ipnstats.inference.sandwich import cluster_codes, cluster_sums
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, parse_vcov, require_cr1

SE = Literal["murphy_topel", "bootstrap"]
RESIDUAL = "first_stage_residual"
FIRST = "first_stage::"


@dataclass(frozen=True)
class CFData:
    """Outcome ``y``, second-stage regressors ``W`` (with the endogenous column at
    ``endog_col``), first-stage regressors ``S`` (the exogenous ones, then the
    instruments), cluster codes (or None), names."""

    y: np.ndarray
    W: np.ndarray
    S: np.ndarray
    endog_col: int
    codes: np.ndarray | None
    w_names: tuple[str, ...]
    s_names: tuple[str, ...]
    outcome: str
    n_instruments: int


@dataclass(frozen=True)
class TwoStage:
    """One fit of both stages: the second stage's coefficients (last: the residual's),
    the first stage's, the logit's inverse information, per-row quantities, convergence."""

    b: np.ndarray
    pi: np.ndarray
    bread: np.ndarray
    Ws: np.ndarray
    v: np.ndarray
    p: np.ndarray
    converged: bool
    notes: tuple


def control_function_logit(data: pd.DataFrame, formula: str, endogenous: str,
                           instruments: Sequence[str], *, vcov: object = None,
                           cluster: str | None = None, se: SE = "murphy_topel",
                           n_boot: int = 499, seed: Seed = None) -> Result:
    """Two-stage residual inclusion logit (Rivers & Vuong 1988) with one continuous
    endogenous regressor.

    Parameters
    ----------
    data
        One row per observation.
    formula
        ``"y ~ x + w1 + w2"``: the logit of the 0/1 outcome; the endogenous regressor is
        one of its terms.
    endogenous
        The endogenous regressor's column (continuous), a term of ``formula``.
    instruments
        Columns excluded from ``formula`` that shift ``endogenous``.
    vcov
        The Murphy-Topel covariance: ``"iid"`` (model-based), ``"hc0"`` (robust) or
        ``Cluster(col)`` (clustered); None (default) follows ``cluster``:
        ``Cluster(cluster)``, or ``"iid"`` without one.
    cluster
        A column of cluster identifiers: the resampling unit of the bootstrap, and the
        clusters of the default ``vcov``.
    se
        ``"murphy_topel"`` (analytic, default) or ``"bootstrap"`` (both stages redone).
    n_boot, seed
        Bootstrap replications and seed (``se="bootstrap"`` only; the seed is recorded).

    Returns
    -------
    Result
        Terms of the second stage (with ``first_stage_residual``), then ``first_stage::``
        terms. ``glance()`` adds ``exogeneity_z``, ``exogeneity_p`` (Rivers-Vuong) and
        ``first_stage_f``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> n = 3000
    >>> z, w, v = rng.normal(size=(3, n))
    >>> x = z + 0.5 * w + v
    >>> y = (rng.logistic(size=n) < -0.5 + 1.0 * x + 0.5 * w - 1.0 * v).astype(int)
    >>> df = pd.DataFrame({"y": y, "x": x, "w": w, "z": z})
    >>> res = control_function_logit(df, "y ~ x + w", "x", ["z"])
    >>> res.params[["x", "first_stage_residual"]].round(2).tolist()
    [0.97, -0.93]
    """
    if se not in ("murphy_topel", "bootstrap"):
        raise SpecificationError(f"se must be 'murphy_topel' or 'bootstrap', got {se!r}")
    spec = _vcov_spec(vcov, cluster, se)
    if se == "bootstrap":
        check_seed(seed)
        if not isinstance(n_boot, int | np.integer) or n_boot < 50:
            raise SpecificationError(f"n_boot must be an integer of at least 50, got {n_boot!r}")
    groups = spec.columns[0] if isinstance(spec, Cluster) else cluster
    cd, notes = cf_data(data, formula, endogenous, instruments, groups)
    fit = two_stage(cd)
    if not fit.converged:
        raise EstimationError("the second-stage logit did not converge: a regressor "
                              f"separates {cd.outcome!r}; drop or coarsen it")
    params = np.concatenate([fit.b, fit.pi])
    boot_notes: tuple = ()
    if se == "murphy_topel":
        cov = _murphy_topel(cd, fit) if spec == "iid" else _robust(cd, fit)
    else:
        cov, boot_notes = _bootstrap(cd, int(n_boot), seed)
    names = (cd.w_names + (RESIDUAL,) + tuple(FIRST + s for s in cd.s_names))
    k = fit.b.size
    z = float(fit.b[-1] / np.sqrt(cov[k - 1, k - 1]))
    q = cd.n_instruments
    inst = np.arange(k + cd.S.shape[1] - q, k + cd.S.shape[1])
    f = float(params[inst] @ linalg.solve(cov[np.ix_(inst, inst)], params[inst]) / q)
    extra = {"exogeneity_z": z, "exogeneity_p": float(2 * stats.norm.sf(abs(z))),
             "first_stage_f": f, "endogenous": endogenous,
             "instruments": ", ".join(instruments if not isinstance(instruments, str)
                                      else [instruments])}
    n = cd.y.size
    ll = float(cd.y @ np.log(fit.p) + (1 - cd.y) @ np.log1p(-fit.p))
    return Result(
        params=pd.Series(params, index=pd.Index(names)), vcov=spec,
        cov=pd.DataFrame(cov, index=names, columns=names), df_inference=None,
        estimator="Control-function logit (" + ("Murphy-Topel" if se == "murphy_topel"
                                                else "bootstrap") + " standard errors)",
        outcome=cd.outcome, formula=f"{formula}; first stage: {endogenous} ~ "
        + " + ".join(cd.s_names), nobs=n,
        n_clusters=None if cd.codes is None else int(cd.codes.max()) + 1,
        fit={"loglik": ll, "aic": -2 * ll + 2 * k, "bic": -2 * ll + np.log(n) * k},
        extra=extra, notes=notes + fit.notes, inference_notes=boot_notes,
        seed=recorded_seed(seed) if se == "bootstrap" else None,
        n_boot=int(n_boot) if se == "bootstrap" else None)


def cf_data(data: pd.DataFrame, formula: str, endogenous: str, instruments: Sequence[str],
            cluster: str | None) -> tuple[CFData, tuple]:
    """The complete rows (a note counts the others by column) and both stages' designs."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(formula, str) or "~" not in formula:
        raise SpecificationError(f"formula must be a string 'y ~ x + w', got {formula!r}")
    (endogenous,) = column_names(endogenous, "endogenous")
    instruments = column_names(instruments, "instruments")
    if not instruments:
        raise SpecificationError("instruments must name at least one column excluded from "
                                 "the formula")
    used = formula_variables(formula)
    require_columns(data, tuple(used), f"formula {formula!r} names column")
    if cluster is not None:
        require_columns(data, (cluster,), "cluster column")
    inside = sorted(set(instruments) & set(used))
    if inside:
        raise SpecificationError(f"instruments {inside} appear in the formula {formula!r}: "
                                 "an instrument must be excluded from the second stage")
    columns = list(dict.fromkeys(used + list(instruments)
                                 + ([] if cluster is None else [cluster])))
    require_numeric_roles(data, list(instruments), "instruments")
    frame, notes = complete_rows(data, columns, "rows", "left out of both stages")
    kept = np.flatnonzero(~data[columns].isna().any(axis=1).to_numpy())
    if len(frame) == 0:
        raise DataError(f"no row is complete in the columns {columns}: nothing to estimate")
    des = build_design(frame, formula)
    if endogenous not in des.names:
        raise SpecificationError(f"the endogenous regressor {endogenous!r} must be a term of "
                                 f"the formula {formula!r} (e.g. 'y ~ {endogenous} + w')")
    if any(endogenous in n.replace(" ", "").split(":") for n in des.names if n != endogenous):
        raise SpecificationError(f"the formula {formula!r} interacts {endogenous!r}: one "
                                 "endogenous term only (its residual controls for it)")
    check_finite(des, formula)
    _check_binary(des.y, des.outcome)
    j = des.names.index(endogenous)
    if np.unique(des.X[:, j]).size <= 2:
        raise DataError(f"the endogenous regressor {endogenous!r} takes two values or fewer: "
                        "the control function needs a continuous one (for a binary one see "
                        "treatment_effects)")
    exog = np.delete(des.X, j, axis=1)
    S = np.column_stack([exog, frame[list(instruments)].to_numpy(float)])
    if np.linalg.matrix_rank(S) < S.shape[1]:
        raise EstimationError(f"the instruments {list(instruments)} are collinear with each "
                              "other or with the exogenous regressors")
    codes = None if cluster is None else cluster_codes(data, kept, cluster)
    s_names = tuple(n for n in des.names if n != endogenous) + instruments
    return CFData(des.y, des.X, S, j, codes, des.names, s_names, des.outcome,
                  len(instruments)), notes


def _vcov_spec(vcov: object, cluster: str | None, se: str) -> object:
    """The covariance choice: ``vcov`` for Murphy-Topel (None: follow ``cluster``); with
    the bootstrap ``vcov`` must be None (``cluster`` is the resampling unit) and the
    result records ``Cluster(cluster)`` or ``"iid"``."""
    if cluster is not None and not isinstance(cluster, str):
        raise SpecificationError(f"cluster must be one column name, got {cluster!r}")
    if se == "bootstrap" and vcov is not None:
        raise SpecificationError("vcov= chooses the Murphy-Topel covariance; with "
                                 "se='bootstrap' leave it out (cluster= is the resampling unit)")
    if vcov is None:
        return "iid" if cluster is None else Cluster(cluster)
    spec = parse_vcov(vcov)
    if isinstance(spec, Cluster):
        require_cr1(spec, "the control-function logit")
        if len(spec.columns) != 1:
            raise SpecificationError("the control-function logit clusters on one column; "
                                     f"got {spec.columns}")
    elif spec not in ("iid", "hc0"):
        raise SpecificationError(f"vcov={spec!r}: the control-function logit offers 'iid', "
                                 "'hc0' or Cluster(col)")
    if cluster is not None and spec != Cluster(cluster):
        raise SpecificationError(f"cluster={cluster!r} and vcov={spec!r} disagree; give one")
    return spec


def _check_binary(y: np.ndarray, outcome: str) -> None:
    values = np.unique(y)
    if not np.isin(values, (0.0, 1.0)).all():
        raise DataError(f"the outcome {outcome!r} must be 0/1 (or boolean); it takes the "
                        f"values {values[:5].tolist()}{' ...' if values.size > 5 else ''}")
    if values.size < 2:
        raise DataError(f"the outcome {outcome!r} is always {values[0]:g}: nothing to model")


def two_stage(cd: CFData, rows: np.ndarray | None = None) -> TwoStage:
    """Least squares of the endogenous regressor on ``S``, then the logit of ``y`` on
    ``W`` and the residual (on the rows ``rows``, all by default)."""
    idx = slice(None) if rows is None else rows
    S, W, y = cd.S[idx], cd.W[idx], cd.y[idx]
    pi = linalg.lstsq(S, W[:, cd.endog_col])[0]
    v = W[:, cd.endog_col] - S @ pi
    Ws = np.column_stack([W, v])
    fit = fit_logit(Ws, y, rows="rows", outcome="the outcome's values")
    p = expit(Ws @ fit.beta)
    return TwoStage(fit.beta, pi, fit.bread, Ws, v, p, fit.converged, fit.notes)


def _cross_derivative(cd: CFData, fit: TwoStage) -> np.ndarray:
    """``J = sum_i d s2_i / d pi'``: ``s2_i = Ws_i (y_i - p_i)`` depends on ``pi`` through
    ``v_i = x_i - s_i'pi`` (its own column and the index ``c v_i``)."""
    k = fit.b.size
    J = (fit.Ws * (fit.p * (1 - fit.p) * fit.b[-1])[:, None]).T @ cd.S
    J[k - 1] -= (cd.y - fit.p) @ cd.S
    return J


def _murphy_topel(cd: CFData, fit: TwoStage) -> np.ndarray:
    """``[[V2 + V2 J V1 J' V2, V2 J V1], [V1 J' V2, V1]]`` (model-based)."""
    n, m = cd.S.shape
    V1 = (fit.v @ fit.v / (n - m)) * linalg.pinvh(cd.S.T @ cd.S)
    A = fit.bread @ _cross_derivative(cd, fit)
    top = np.hstack([fit.bread + A @ V1 @ A.T, A @ V1])
    cov = np.vstack([top, np.hstack([(A @ V1).T, V1])])
    return (cov + cov.T) / 2


def _robust(cd: CFData, fit: TwoStage) -> np.ndarray:
    """The sandwich of the stacked influence functions, summed within clusters (times
    ``G / (G - 1)``) or, without clusters, per row (no factor: HC0)."""
    inv_ss = linalg.pinvh(cd.S.T @ cd.S)
    infl1 = (cd.S * fit.v[:, None]) @ inv_ss
    scores = fit.Ws * (cd.y - fit.p)[:, None]
    infl2 = (scores + infl1 @ _cross_derivative(cd, fit).T) @ fit.bread
    stacked = np.hstack([infl2, infl1])
    if cd.codes is None:
        return stacked.T @ stacked
    sums = cluster_sums(stacked, cd.codes)
    g = sums.shape[0]
    return g / (g - 1) * sums.T @ sums


def _bootstrap(cd: CFData, n_boot: int, seed: Seed) -> tuple[np.ndarray, tuple]:
    """Covariance of both stages redone on resampled rows (or clusters)."""
    rng = as_generator(seed)
    codes = np.arange(cd.y.size) if cd.codes is None else cd.codes
    order = np.argsort(codes, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    draws, failed = [], 0
    for _ in range(n_boot):
        rows = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        with np.errstate(all="ignore"):
            fit = two_stage(cd, rows)
        if fit.converged and np.isfinite(fit.b).all() and np.unique(cd.y[rows]).size == 2:
            draws.append(np.concatenate([fit.b, fit.pi]))
        else:
            failed += 1
    if len(draws) < 2:
        raise EstimationError(f"the bootstrap failed in {failed} of {n_boot} resamples")
    notes = () if not failed else (Note(
        "bootstrap_failures", f"{failed} of {n_boot} bootstrap resamples did not converge "
        "(the logit separated the outcome) and were left out."),)
    return np.cov(np.asarray(draws), rowvar=False), notes


__all__ = ["CFData", "TwoStage", "cf_data", "control_function_logit", "two_stage"]
