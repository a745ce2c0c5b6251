"""Who leaves the network (H1f): a discrete-time exit hazard of members.

``exit_hazard`` fits a logit of ``exit`` (a member in year t who is not a member in
t + 1) on member years, with peer-group and year fixed effects as dummies, or a Cox
model on the same rows as a robustness check. Both return an ipnstats
:class:`~ipnstats.Result` whose terms are the predictors only; the fixed effects are
named in ``fixed_effects``. The engines and their covariance conventions are those of
:mod:`ipnstats.estimators.glm`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.estimators.glm import (
    Adjustment,
    MLEngine,
    Model,
    adjustment_ssc,
    fit_cox,
    fit_logit,
)
from ipnstats.estimators.linear import Absorbed, independent_columns
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import SSC, Cluster, parse_ssc, parse_vcov


@renamed(exit="outcome", cluster_adjustment="ssc")
def exit_hazard(data: pd.DataFrame, *, outcome: str = "exit",
                predictors: Sequence[str] = ("benchmark_rank_pct", "critiques"),
                unit: str = "firm_id", time: str = "year", group: str | None = "group_id",
                member: str = "member", lag: int = 0, vcov: object = Cluster("firm_id"),
                model: Model = "logit", duration: str = "tenure",
                ssc: SSC | Adjustment | None = None) -> Result:
    """Hazard that a member leaves its peer network (H1f).

    Rows are member years (``member == 1``) with ``outcome`` coded: ``outcome`` is 1 when the
    firm is a member in t and not in t + 1 (``docs/study_folder.md``), so it is
    missing in the data's last year. Predictors are measured in the same year t by
    default (``lag=0``): a bad benchmark rank in t precedes leaving early in t + 1,
    which is how the ``outcome`` column is timed.

    Parameters
    ----------
    data
        The firm-year panel (``Study.firm_year``).
    outcome
        0/1 exit indicator (formerly ``exit=``).
    predictors
        Columns explaining exit.
    unit, time, group, member
        Firm, year, peer-group and 0/1 member-year columns; ``group=None`` leaves out
        the group effects.
    lag
        Measure predictors ``lag`` years before t (their terms become ``L<lag>.x``);
        member years without that earlier row are left out.
    vcov
        ``Cluster(...)`` (by firm by default), ``"iid"``, ``"hc0"`` or ``"hc1"``;
        change it later with ``result.with_vcov``.
    model
        ``"logit"``: discrete-time logit with group and year dummies. ``"cox"``:
        Cox model on the same rows in counting-process form, analysis time
        ``duration`` (completed member years, so a re-joiner resumes where it left),
        one interval ``(tenure, tenure + 1]`` per member year, Efron ties, baseline
        hazards stratified by peer group (its fixed effects) and year dummies.
    duration
        Analysis-time column of the Cox model.
    ssc
        Small-sample corrections (:class:`ipnstats.SSC`, fixest's ``ssc``), or the former
        ``cluster_adjustment=`` choices ``"stata"`` (default, ``G/(G-1)``) or
        ``"statsmodels"`` (``G/(G-1) (n-1)/(n-K)``); see the module notes.

    Returns
    -------
    Result
        Terms are the predictors; ``fixed_effects`` names the group and year effects.
        Groups or years whose member years all exit (or all stay) predict the outcome
        perfectly and are left out first, as Stata's ``logit`` does; the notes say how
        many, and flag separation and non-convergence.

    Examples
    --------
    >>> fy = ipnstats.load_study("data/example").firm_year  # doctest: +SKIP
    >>> ipnstats.exit_hazard(fy).tidy()  # doctest: +SKIP
    >>> ipnstats.exit_hazard(fy, model="cox").tidy()  # doctest: +SKIP
    """
    predictors = (predictors,) if isinstance(predictors, str) else tuple(predictors)
    _check_options(predictors, lag, model, ssc)
    cox_time = (duration,) if model == "cox" else ()
    effects = (group, time) if group else (time,)
    require_columns(data, (outcome, unit, member) + effects + predictors + cox_time, "column")
    spec = parse_vcov(vcov)
    ssc = parse_ssc(adjustment_ssc(ssc) if isinstance(ssc, str) else ssc,
                    adjustment_ssc("stata"))
    frame, terms, notes = _sample(data, outcome, predictors, unit, effects, member, lag,
                                  duration if model == "cox" else None)
    frame, dropped = _drop_perfect_levels(frame, outcome, effects)
    if frame.empty or frame[outcome].nunique() < 2:
        raise SpecificationError("no member years with both exits and stays are left in "
                                 f"{outcome!r}; the hazard cannot be estimated")
    return _estimate(data, frame, terms, outcome, unit, effects, duration, model, spec,
                     ssc, notes + dropped)


def _check_options(predictors, lag, model, ssc) -> None:
    if not predictors:
        raise SpecificationError("predictors needs at least one column")
    if not isinstance(lag, int | np.integer) or isinstance(lag, bool) or lag < 0:
        raise SpecificationError(f"lag must be a whole number of years >= 0, got {lag!r}")
    if model not in ("logit", "cox"):
        raise SpecificationError(f"model must be 'logit' or 'cox', got {model!r}")
    if not (ssc is None or isinstance(ssc, SSC) or ssc in ("stata", "statsmodels")):
        raise SpecificationError("ssc must be ipnstats.SSC(...), 'stata' or 'statsmodels', "
                                 f"got {ssc!r}")


def _lagged(data: pd.DataFrame, predictors, unit: str, time: str, lag: int) -> pd.DataFrame:
    """Predictors of year ``t - lag`` on the rows of year t (missing when absent)."""
    if lag == 0:
        return data[list(predictors)]
    earlier = data[[unit, time, *predictors]].assign(**{time: data[time] + lag})
    merged = data[[unit, time]].merge(earlier, on=[unit, time], how="left",
                                      validate="many_to_one")
    return merged[list(predictors)].set_axis(data.index)


def _sample(data, exit, predictors, unit, effects, member, lag, duration):
    """Member years with exit coded, the (lagged) predictors and the terms' names."""
    terms = [p if lag == 0 else f"L{lag}.{p}" for p in predictors]
    data = data.reset_index(drop=True)
    x = _lagged(data, predictors, unit, effects[-1], lag).set_axis(terms, axis=1)
    mask = ((data[member] == 1) & data[exit].notna()).to_numpy()
    cols = [unit, *effects, exit] + ([duration] if duration else [])
    frame = pd.concat([data[cols], x], axis=1)[mask].assign(_row=np.flatnonzero(mask))
    bad = ~frame[exit].isin((0, 1))
    if bad.any():
        raise SpecificationError(f"{exit!r} must be 0/1; {int(bad.sum()):,} member years have "
                                 "other values")
    complete = frame.drop(columns="_row").notna().all(axis=1)
    notes = (Note("missing_dropped",
        f"{int((~complete).sum()):,} of {len(frame):,} member years with {exit} coded "
        "have a missing predictor, group or duration and were left out."),) \
        if not complete.all() else ()
    return frame[complete], terms, notes


def _drop_perfect_levels(frame: pd.DataFrame, exit: str,
                         columns: tuple[str, ...]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Leave out levels of fixed effects whose rows all exit or all stay, until none do."""
    dropped = {c: [set(), 0] for c in columns}
    changed = True
    while changed:
        changed = False
        for col in columns:
            rate = frame.groupby(col, observed=True)[exit].mean()
            bad = rate.index[(rate == 0) | (rate == 1)]
            if len(bad):
                rows = frame[col].isin(bad)
                dropped[col][0].update(bad)
                dropped[col][1] += int(rows.sum())
                frame, changed = frame[~rows], True
    notes = tuple(Note("separation",
        f"{len(levels)} level(s) of {col!r} ({', '.join(map(str, sorted(levels)[:5]))}"
        f"{', ...' if len(levels) > 5 else ''}) in which no member year exits (or every "
        f"one does) predict {exit} perfectly; their {n:,} member years were left "
        "out, as Stata's logit does.")
                  for col, (levels, n) in dropped.items() if levels)
    return frame, notes


def _codes_and_levels(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, levels = pd.factorize(values)
    return codes, len(levels)


def _dummies(values: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    codes, levels = pd.factorize(values)
    D = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    return D, [f"{name}::{v}" for v in levels[1:]]


def _design(frame, terms, effects, model) -> tuple[np.ndarray, list[str]]:
    parts, names = [frame[terms].to_numpy(float)], list(terms)
    if model == "logit":
        parts.append(np.ones((len(frame), 1)))
        names.append("Intercept")
    for col in (effects if model == "logit" else effects[-1:]):
        D, dn = _dummies(frame[col], col)
        parts.append(D)
        names += dn
    return np.column_stack(parts), names


def _estimate(data, frame, terms, exit, unit, effects, duration, model, spec,
              ssc: SSC, notes) -> Result:
    X, names = _design(frame, terms, effects, model)
    ok = independent_columns(X)
    X, names = X[:, ok], [n for n, k in zip(names, ok, strict=True) if k]
    collinear = tuple(t for t, k in zip(terms, ok[:len(terms)], strict=True) if not k)
    y = frame[exit].to_numpy(float)
    if model == "logit":
        fit = fit_logit(X, y)
    else:
        tenure = frame[duration].to_numpy(float)
        strata = pd.factorize(frame[effects[0]])[0] if len(effects) == 2 else None
        fit = fit_cox(X, y, tenure, tenure + 1, strata)
    keep = np.array([names.index(t) for t in terms if t in names], dtype=int)
    dummies = effects if model == "logit" else effects[-1:]
    absorbed = tuple(Absorbed(c, *_codes_and_levels(frame[c])) for c in dummies)
    engine = MLEngine(fit.scores, fit.bread, data, frame["_row"].to_numpy(), keep, ssc,
                      absorbed=absorbed, absorbed_df=fit.scores.shape[1] - len(keep))
    inf = engine.compute(spec)
    index = pd.Index([names[i] for i in keep])
    k, n = X.shape[1], X.shape[0]
    if collinear:
        notes += (Note("collinear_dropped",
            "Dropped as collinear (with other predictors or the fixed effects): "
            + ", ".join(collinear) + "."),)
    label = ("discrete-time logit exit hazard" if model == "logit" else
             f"Cox proportional hazards (time: {duration}"
             + (f", strata: {effects[0]})" if len(effects) == 2 else ")"))
    return Result(
        params=pd.Series(fit.beta[keep], index=index), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=index, columns=index), df_inference=None,
        estimator=label, outcome=exit, nobs=n,
        formula=f"{exit} ~ {' + '.join(terms)} | {' + '.join(effects)}",
        n_units=int(frame[unit].nunique()), n_clusters=inf.n_clusters,
        fixed_effects=effects,
        fit={"loglik": fit.loglik, "aic": 2 * k - 2 * fit.loglik,
             "bic": k * np.log(n) - 2 * fit.loglik},
        extra={"n_exits": int(y.sum())}, collinear=collinear, notes=notes + fit.notes,
        inference_notes=inf.notes, engine=engine)


__all__ = ["exit_hazard"]
