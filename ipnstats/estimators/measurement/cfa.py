"""Confirmatory factor analysis by maximum likelihood, matching R lavaan 0.6 ``cfa()``.

Conventions (docs/inference.md, "Confirmatory factor analysis")
---------------------------------------------------------------
- ML on the biased (N-divisor) sample covariance, lavaan's ``likelihood = "normal"``;
  ``chisq = 2 N F_ML``. Identification by a marker (first loading 1) or, with
  ``std_lv=True``, factor variances fixed to 1. Single-group complete-data models
  have no mean structure (lavaan's default); groups and FIML add intercepts.
- ``estimator="ml"``: standard errors from the expected information (lavaan
  ``information = "expected"``); under ``missing="fiml"`` from the observed
  information (lavaan's default there).
- ``estimator="mlr"``: Huber-White sandwich with the observed information (Hessian) as
  bread and the casewise first-order information as meat, the Yuan-Bentler (Mplus)
  scaled chi-square and lavaan's scaled and robust CFI/TLI/RMSEA (lavaan 0.6
  ``estimator = "MLR"``, whose defaults are ``information = "observed"`` and
  ``test = "yuan.bentler.mplus"``).
- Heywood cases and non-convergence become notes on the result, never exceptions.

Holzinger & Swineford (1939), as lavaan's tutorial fits it (the data ship with semopy):

>>> from semopy.examples import holzinger39
>>> fit = cfa(holzinger39.get_data(), "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6;"
...           " speed =~ x7 + x8 + x9")
>>> round(fit.fit_measures()["chisq"], 3), fit.fit_measures()["df"]
(85.306, 24)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators.measurement.cfa_data import SampleData, prepare
from ipnstats.estimators.measurement.cfa_fit import (
    minimise,
    model_moments,
    observed_information,
)
from ipnstats.estimators.measurement.cfa_measures import basic_measures, srmr
from ipnstats.estimators.measurement.cfa_partable import ParTable, build_partable
from ipnstats.estimators.measurement.cfa_result import CFAResult, parameter_frame
from ipnstats.estimators.measurement.cfa_robust import robust_measures, sandwich
from ipnstats.estimators.measurement.cfa_spec import (
    check_columns,
    check_identified,
    parse_model,
)

Estimator = Literal["ml", "mlr"]
Missing = Literal["listwise", "fiml"]


def cfa(data: pd.DataFrame, model: str | Mapping[str, Sequence[str]], *,
        estimator: Estimator = "ml", std_lv: bool = False, group: str | None = None,
        group_equal: Sequence[str] = (), missing: Missing = "listwise") -> CFAResult:
    """Fit a confirmatory factor model by maximum likelihood (lavaan's ``cfa()``).

    Parameters
    ----------
    data
        One row per respondent, the items as numeric columns.
    model
        ``{"factor": ["item", ...]}`` or a lavaan model string (``=~``, ``~~``, ``#``).
    estimator
        ``"ml"`` (expected-information SEs) or ``"mlr"`` (robust SEs and scaled test).
    std_lv
        Fix factor variances to 1 instead of the first loading.
    group, group_equal
        A grouping column for a multi-group model, and the parameter classes held
        equal across groups (lavaan ``group.equal``: "loadings", "intercepts",
        "residuals", "residual_covariances", "lv_variances", "lv_covariances", "means").
    missing
        ``"listwise"`` drops rows with a missing item; ``"fiml"`` uses every observed
        value (casewise ML, lavaan ``missing = "ml"``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(400, 1))
    >>> df = pd.DataFrame(f @ [[1.0, 0.8, 0.6]] + rng.normal(size=(400, 3)),
    ...                   columns=["a", "b", "c"])
    >>> fit = cfa(df, {"f": ["a", "b", "c"]})
    >>> fit.fit_measures()["df"]
    0
    """
    estimator = _choice("estimator", estimator, ("ml", "mlr"))
    missing = _choice("missing", missing, ("listwise", "fiml"))
    if group_equal and group is None:
        raise SpecificationError("group_equal needs a group column (group=...)")
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    spec = parse_model(model)
    check_columns(spec, list(map(str, data.columns)))
    check_identified(spec)
    sample = prepare(data, spec.items, group, missing)
    pt = build_partable(spec, ngroups=len(sample.groups), std_lv=std_lv,
                        group_equal=group_equal,
                        meanstructure=group is not None or missing == "fiml")
    moments = sum(len(spec.items) * (len(spec.items) + 1) // 2 +
                  (len(spec.items) if pt.meanstructure else 0) for _ in sample.groups)
    if pt.npar > moments:
        raise SpecificationError(f"the model has {pt.npar} free parameters but the data "
                                 f"only {moments} sample moments: it is not identified")
    return _fit(spec, pt, sample, estimator=estimator, std_lv=std_lv, group=group,
                group_equal=tuple(group_equal), missing=missing, df=moments - pt.npar)


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    v = str(value).lower()
    if v not in options:
        raise SpecificationError(f"{name} must be one of {', '.join(map(repr, options))}, "
                                 f"not {value!r}")
    return v


def _fit(spec, pt: ParTable, sample: SampleData, *, estimator, std_lv, group, group_equal,
         missing, df) -> CFAResult:
    N = sum(sample.n)
    ybar = list(sample.means)
    x0 = start_values(pt, sample)
    opt = minimise(pt, list(sample.patterns), x0, ybar, N)
    notes = list(sample.notes)
    if not opt.converged:
        notes.append(Note("not_converged", f"the optimiser did not converge ({opt.message}; "
                          f"largest gradient {np.max(np.abs(opt.grad)):.2g}): the estimates "
                          "are not a maximum of the likelihood"))
    info_kind = "observed" if (missing == "fiml" or estimator == "mlr") else "expected"
    info = opt.info if info_kind == "expected" else \
        observed_information(pt, list(sample.patterns), opt.x, ybar, N)
    vcov = _inverse(info, N, notes)
    robust = {}
    if estimator == "mlr":
        vcov, robust = sandwich(pt, sample, opt.x, info, N, df, notes)
    mom = model_moments(pt, opt.x, ybar)
    loglik = -N * opt.f
    measures = basic_measures(loglik=loglik, loglik_h1=sample.loglik_h1,
                              loglik_b=sample.loglik_b, npar=pt.npar, df=df,
                              df_b=len(sample.groups) * len(pt.items) * (len(pt.items) - 1) / 2,
                              N=N, G=len(sample.groups))
    measures["srmr"] = srmr(sample.covs, sample.means, mom.sigma, mom.mu,
                            [n / N for n in sample.n], pt.meanstructure)
    if estimator == "mlr":
        measures.update(robust_measures(measures, robust, N, len(sample.groups),
                                        fiml=missing == "fiml"))
    params = parameter_frame(pt, opt.x, vcov, mom, sample.groups)
    notes += heywood_notes(pt, params, mom, sample.groups)
    return CFAResult(model=spec, estimator=estimator, std_lv=std_lv, group=group,
                     groups=sample.groups, group_equal=group_equal, missing=missing,
                     nobs=N, nobs_group=sample.n, params=params, vcov=vcov,
                     measures=measures, sample_cov=sample.covs, sample_mean=sample.means,
                     implied_cov=tuple(mom.sigma), converged=opt.converged,
                     notes=tuple(notes), information=info_kind)


def _inverse(info: np.ndarray, N: int, notes: list) -> np.ndarray:
    try:
        if np.linalg.cond(info) > 1e12:
            raise np.linalg.LinAlgError
        return np.linalg.inv(info) / N
    except np.linalg.LinAlgError:
        notes.append(Note("not_identified", "the information matrix is singular: the model "
                          "may not be identified; no standard errors"))
        return np.full(info.shape, np.nan)


def start_values(pt: ParTable, sample: SampleData) -> np.ndarray:
    """Start values: one-factor principal-axis loadings per factor (a tenth of them for an
    item that already loads on an earlier factor), residual variances half the item
    variances (as lavaan), factor covariances 0, intercepts the means."""
    vals = np.where(pt.free >= 0, np.nan, pt.value)
    for g, S in enumerate(sample.covs):
        sel = pt.group == g
        lam, psi = _factor_starts(pt, S)
        for r in np.flatnonzero(sel & (pt.free >= 0)):
            i, j, mat = pt.row[r], pt.col[r], pt.mat[r]
            vals[r] = (lam[i, j] if mat == 0 else 0.5 * S[i, i] if mat == 1 and i == j
                       else psi[i] if mat == 2 and i == j else
                       sample.means[g][i] if mat == 3 else 0.0)
    x0 = np.zeros(pt.npar)
    first = pt.first_rows()
    x0[pt.free[first]] = vals[first]
    return x0


def _factor_starts(pt: ParTable, S: np.ndarray):
    p, m = len(pt.items), len(pt.factors)
    lam, psi = np.zeros((p, m)), np.ones(m)
    used = set()
    ld = pt.mat == 0
    for j in range(m):
        idx = list(dict.fromkeys(pt.row[ld & (pt.col == j)]))
        vals, vecs = np.linalg.eigh(S[np.ix_(idx, idx)])
        load = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-6))
        load = load * (np.sign(load[0]) or 1.0)
        fixed = ld & (pt.col == j) & (pt.free < 0) & (pt.group == 0)
        marker = load[0] if not fixed.any() else load[idx.index(pt.row[fixed][0])]
        scale = marker / (pt.value[fixed][0] or 1.0) if fixed.any() else 1.0
        for k, i in enumerate(idx):
            # an item already loading on an earlier factor (a cross-loading, a method
            # factor) starts small but not at zero: at zero loadings the gradient of a
            # factor with free loadings vanishes and the optimiser never leaves them
            lam[i, j] = (0.1 if i in used else 1.0) * load[k] / scale
        used.update(idx)
        psi[j] = scale ** 2
    return lam, psi


def heywood_notes(pt: ParTable, params: pd.DataFrame, mom, groups) -> list[Note]:
    """Notes for negative residual variances, standardised loadings above 1 and a
    latent covariance matrix that is not positive definite."""
    notes = []
    where = lambda g: "" if groups[g] is None else f" in group {groups[g]!r}"  # noqa: E731
    for g in range(len(groups)):
        th = np.diag(mom.theta[g])
        bad = [pt.items[i] for i in np.flatnonzero(th < 0)]
        if bad:
            notes.append(Note("heywood_case", f"negative residual variance of {', '.join(bad)}"
                              f"{where(g)} (a Heywood case)"))
        p = params[(params["op"] == "=~") & (params["group"] == g + 1)]
        big = p[np.abs(p["std_all"]) > 1]
        if len(big):
            notes.append(Note("heywood_case", "standardized loading above 1: " + ", ".join(
                f"{a} =~ {b}" for a, b in zip(big["lhs"], big["rhs"], strict=True)) + where(g)))
        if np.linalg.eigvalsh(mom.psi[g]).min() <= 0:
            notes.append(Note("latent_not_positive_definite", "the latent (factor) covariance "
                              f"matrix is not positive definite{where(g)}"))
    return notes
