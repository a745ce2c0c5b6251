"""Omitted-variable sensitivity of linear results: sensemakr and Oster's psacalc.

- :func:`sensemakr`: Cinelli & Hazlett (2020) for one term of a least-squares
  :class:`~ipnstats.Result` (pooled, within, weighted, clustered): the partial R² of the
  treatment, the robustness values and the bias-adjusted estimates of confounders as
  strong as named benchmark covariates. The numerics are
  :mod:`ipnstats.inference.sensitivity`.
- :func:`oster`: Oster's (2019) ``delta*`` and ``beta*`` from the short, long and
  auxiliary regressions, fitted here on the long formula's rows
  (:mod:`ipnstats.inference.oster`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.formula import build_design
from ipnstats.estimators.linear import LinearEngine, ols
from ipnstats.inference.oster import (
    OsterMoments,
    OsterResult,
    check_r2max,
    oster_beta,
    oster_delta,
)
from ipnstats.inference.sensitivity import (
    SensitivityResult,
    bounds_table,
    group_partial_r2,
    sensitivity_stats,
)
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import describe_vcov

Benchmarks = Sequence[str] | Mapping[str, Sequence[str]]


def sensemakr(result: Result, treatment: str, *, benchmark_covariates: Benchmarks = (),
              kd: float | Sequence[float] = (1,), ky: float | Sequence[float] | None = None,
              q: float = 1.0, alpha: float = 0.05, reduce: bool = True) -> SensitivityResult:
    """Sensitivity of ``treatment``'s estimate to omitted confounders (R sensemakr).

    Parameters
    ----------
    result
        A least-squares result (``panel_regression`` and the other linear fits).
    treatment
        The term studied, as named in ``result.params``.
    benchmark_covariates
        Terms to bound confounders by: names of terms (one bound each), or a mapping
        from a label to several terms (a group, e.g. a factor's dummies: their joint
        partial R², as sensemakr's named lists).
    kd, ky
        How many times as strong as the benchmark the confounder is in explaining the
        treatment (``kd``) and the outcome (``ky``, default ``kd``); one bound per pair.
    q, alpha
        The share of the estimate that the confounder should explain away (1: all of
        it), and the level of ``RV_{q,alpha}`` and of the adjusted intervals.
    reduce
        Whether the confounder moves the estimate towards zero (sensemakr's default).

    Returns
    -------
    SensitivityResult

    Notes
    -----
    As sensemakr, everything works from the t statistics and the residual degrees of
    freedom ``n - K`` (absorbed fixed effects counted in ``K``). The treatment's t is the
    result's: with a clustered or robust vcov the partial R² and robustness values are
    those of that t (a note says so). A benchmark needs its partial R² with the outcome
    (its t in ``result``) and with the treatment: its t in the regression of the treatment
    on the other regressors (as sensemakr's ``update(model, treatment ~ . - treatment)``),
    fitted here on the same rows, transformation (within, weights) and vcov choice.

    Examples
    --------
    >>> import numpy as np, pandas as pd, ipnstats
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x1": rng.normal(size=200), "id": range(200), "t": 1})
    >>> df["d"] = 0.5 * df.x1 + rng.normal(size=200)
    >>> df["y"] = df.d + 0.3 * df.x1 + rng.normal(size=200)
    >>> res = ipnstats.panel_regression(df, "y ~ d + x1", unit="id", time="t",
    ...                                 estimator="pooled")
    >>> s = sensemakr(res, "d", benchmark_covariates=["x1"], kd=(1, 2))
    >>> s.tidy().bound.tolist()
    ['unadjusted', '1x x1', '2x x1']
    >>> round(s.rv_q, 3)
    0.495
    """
    if not isinstance(result, Result):
        raise SpecificationError(f"sensemakr needs a fitted ipnstats Result (e.g. of "
                                 f"panel_regression); got {type(result).__name__}")
    names = list(result.params.index)
    _check_term(treatment, names, "treatment")
    engine = _linear_engine(result)
    df = float(engine.df_resid())
    est = float(result.params[treatment])
    se = float(result.std_errors[treatment])
    stats_ = sensitivity_stats(est, se, df, q=q, alpha=alpha)
    kd_, ky_ = _multipliers(kd, ky)
    groups = _benchmark_groups(benchmark_covariates, names, treatment)
    benchmarks = _benchmark_r2(result, engine, treatment, groups, df) if groups else []
    bounds = bounds_table({"estimate": est, "se": se, "df": df, "alpha": alpha,
                           "reduce": bool(reduce)}, benchmarks, kd_, ky_)
    vcov = describe_vcov(result.vcov)
    notes = () if result.vcov == "iid" else (Note("sensitivity_robust_t",
        f"The partial R² and robustness values use the {vcov} t statistic with the residual "
        f"degrees of freedom ({df:g}), as sensemakr does with a robust or clustered fit."),)
    return SensitivityResult(
        treatment=treatment, outcome=result.outcome, estimate=est, std_error=se,
        t_value=stats_["t_value"], df=df, r2yd_x=stats_["r2yd_x"], f2yd_x=stats_["f2yd_x"],
        rv_q=stats_["rv_q"], rv_qa=stats_["rv_qa"], q=float(q), alpha=float(alpha),
        reduce=bool(reduce), bounds=bounds, vcov=vcov, notes=notes)


def _check_term(term: object, names: list[str], what: str) -> None:
    if not isinstance(term, str) or term not in names:
        raise SpecificationError(f"{what} {term!r} is not a term of the model; its terms are "
                                 f"{names}")
    if term == "Intercept":
        raise SpecificationError(f"the intercept cannot be the {what}")


def _linear_engine(result: Result) -> LinearEngine:
    engine = result.engine
    if not isinstance(engine, LinearEngine) or engine.X.shape[1] != len(result.params):
        raise SpecificationError(
            f"sensemakr needs a least-squares result (e.g. panel_regression); "
            f"{result.estimator!r} results do not carry their regression design")
    return engine


def _multipliers(kd, ky) -> tuple[list[float], list[float]]:
    kd_ = [float(k) for k in np.atleast_1d(kd)]
    ky_ = kd_ if ky is None else [float(k) for k in np.atleast_1d(ky)]
    if len(ky_) != len(kd_):
        raise SpecificationError(f"kd and ky must have the same length; got {len(kd_)} and "
                                 f"{len(ky_)}")
    if not all(np.isfinite(k) and k > 0 for k in kd_ + ky_):
        raise SpecificationError(f"kd and ky must be positive numbers; got {kd_} and {ky_}")
    return kd_, ky_


def _benchmark_groups(benchmarks: Benchmarks, names: list[str],
                      treatment: str) -> dict[str, tuple[str, ...]]:
    if isinstance(benchmarks, str):
        benchmarks = (benchmarks,)
    groups = ({str(k): tuple([v] if isinstance(v, str) else v) for k, v in benchmarks.items()}
              if isinstance(benchmarks, Mapping) else {b: (b,) for b in benchmarks})
    for terms in groups.values():
        if not terms:
            raise SpecificationError("a benchmark group names no terms")
        for term in terms:
            _check_term(term, names, "benchmark covariate")
            if term == treatment:
                raise SpecificationError(f"the treatment {treatment!r} cannot be its own "
                                         "benchmark")
    return groups


def _benchmark_r2(result: Result, engine: LinearEngine, treatment: str,
                  groups: dict[str, tuple[str, ...]], df: float) -> list[tuple[str, float, float]]:
    """(label, partial R² with the treatment, partial R² with the outcome) per benchmark."""
    names = list(result.params.index)
    j = names.index(treatment)
    others = [n for n in names if n != treatment]
    X_o = np.delete(engine.X, j, axis=1)
    fit = ols(X_o, engine.X[:, j], tuple(others))
    if not fit.keep.all():
        raise SpecificationError("the treatment regression is collinear; drop redundant terms")
    t_engine = dataclasses.replace(engine, X=X_o, resid=fit.resid, bread=fit.bread)
    t_cov = pd.DataFrame(t_engine.compute(result.vcov).cov, index=others, columns=others)
    t_params = pd.Series(fit.beta, index=others)
    t_df = float(t_engine.df_resid())
    return [(label, _partial_r2(t_params, t_cov, terms, t_df),
             _partial_r2(result.params, result.cov, terms, df))
            for label, terms in groups.items()]


def _partial_r2(params: pd.Series, cov: pd.DataFrame, terms: Sequence[str], df: float) -> float:
    """Partial R² of ``terms`` from their Wald statistic (t² for one term)."""
    b = params[list(terms)].to_numpy(float)
    V = cov.loc[list(terms), list(terms)].to_numpy(float)
    f_value = float(b @ np.linalg.solve(V, b)) / len(terms)
    return group_partial_r2(f_value, len(terms), df)


def oster(data: pd.DataFrame, formula: str, treatment: str, *, r2max: float,
          delta: float = 1.0, beta: float = 0.0, mcontrol: Sequence[str] = ()) -> OsterResult:
    """Oster's (2019) ``beta*`` (for ``delta``) and ``delta*`` (for ``beta``), as psacalc.

    Parameters
    ----------
    data
        The frame.
    formula
        The long (controlled) regression, ``"y ~ x + w1 + w2"`` (formulaic syntax:
        ``C(group)`` for a factor). Rows with a missing formula variable are left out of
        every regression.
    treatment
        The term studied.
    r2max
        The R² of a regression that would also hold the unobservables (Oster suggests 1.3
        times the long R², capped at 1).
    delta, beta
        The relative selection for ``beta*`` (1: as much as on the observables) and the
        coefficient ``delta*`` should reach (0: no effect).
    mcontrol
        Terms kept in the short regression too (psacalc's ``mcontrol``: controls unrelated
        to the treatment); by default the short regression is the outcome on the
        treatment and an intercept.

    Returns
    -------
    OsterResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"w": rng.normal(size=200)})
    >>> df["x"] = 0.5 * df.w + rng.normal(size=200)
    >>> df["y"] = df.x + 0.3 * df.w + rng.normal(size=200)
    >>> r = oster(df, "y ~ x + w", "x", r2max=0.9)
    >>> round(r.beta_star, 3), round(r.delta_star, 3)
    (-0.196, 0.876)
    """
    design = build_design(data, formula)
    names = list(design.names)
    _check_term(treatment, names, "treatment")
    for term in mcontrol:
        _check_term(term, names, "mcontrol term")
    X, y, j = design.X, design.y, names.index(treatment)
    keep = [i for i, n in enumerate(names) if n == "Intercept" or n in mcontrol]
    always = X[:, keep] if keep else np.zeros((len(y), 0))
    long_fit = ols(X, y, tuple(names))
    if not long_fit.keep.all():
        raise SpecificationError(f"the long regression is collinear "
                                 f"({', '.join(long_fit.collinear)}); drop redundant terms")
    short = ols(np.column_stack([X[:, j], always]), y, ("x",) + tuple(f"m{i}" for i in keep))
    aux = ols(np.delete(X, j, axis=1), X[:, j], tuple(n for n in names if n != treatment))
    x_m = ols(always, X[:, j], tuple(f"m{i}" for i in keep)).resid if keep else X[:, j]
    r2 = _r2(y, design.intercept)
    moments = OsterMoments(
        beta_short=float(short.beta[0]), r2_short=r2(short.resid),
        beta_long=float(long_fit.beta[j]), r2_long=r2(long_fit.resid),
        var_y=float(np.var(y, ddof=1)), var_x=float(np.var(x_m, ddof=1)),
        tau_x=float(np.var(aux.resid, ddof=1)))
    check_r2max(r2max, moments.r2_long)
    b_star, alternatives = oster_beta(moments, r2max, delta)
    notes = (Note("missing_dropped", f"{design.n_missing:,} rows with a missing value in a "
                  "formula variable were left out of every regression."),
             ) if design.n_missing else ()
    return OsterResult(treatment=treatment, outcome=design.outcome, moments=moments,
                       r2max=float(r2max), delta=float(delta), beta=float(beta),
                       beta_star=b_star, beta_star_alternatives=alternatives,
                       delta_star=oster_delta(moments, r2max, beta), nobs=len(y), notes=notes)


def _r2(y: np.ndarray, centred: bool):
    tss = float(((y - y.mean()) ** 2).sum() if centred else (y**2).sum())
    return lambda resid: 1.0 - float(resid @ resid) / tss


__all__ = ["oster", "sensemakr"]
