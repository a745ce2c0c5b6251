"""``event_study``: effects by time since joining, with pointwise and uniform bands (H1b).

Three estimators give event-time effects on one interface:

- ``"cs"``: Callaway & Sant'Anna's event-time ("dynamic") aggregation of ATT(g,t),
  as R ``did::aggte(type = "dynamic", min_e, max_e)``; the uniform band comes from
  the multiplier bootstrap of the aggregated influence functions (bootstrap
  standard errors times the bootstrap sup-t critical value, as did's ``cband``).
  With ``base_period="universal"`` the pre-period effects are long differences to
  the period before treatment, and ``event::-1`` (``-1 - anticipation``) is the
  reference: 0 with no standard error (NaN variance), outside the band and the tests.
- ``"sunab"``: Sun & Abraham's interaction-weighted estimator, reference period -1.
- ``"twfe"``: the dynamic two-way fixed-effects regression on event-time dummies,
  reference period -1, with the window's end points binned (``e <= lo`` and
  ``e >= hi`` pooled into the end dummies, Schmidheiny & Siegloch 2023).

For the regression estimators the uniform band is the sup-t band of Montiel Olea &
Plagborg-Moller (2019): the 95% quantile of ``max |z|`` over draws of
``N(0, corr(V))``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import deprecated_call, former_defaults, renamed_classes
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.core.seeds import Seed, as_generator, recorded_seed
from ipnstats.estimators.did.aggregate import aggregate, without_reference_variance
from ipnstats.estimators.did.att_gt import check_base_period, vcov_from_influence
from ipnstats.estimators.did.bootstrap import multiplier_bootstrap
from ipnstats.results.inference import WaldTest, critical_value
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.terms import term_keys
from ipnstats.results.vcov import Cluster, parse_vcov

EventEstimator = Literal["cs", "sunab", "twfe"]
SUP_T_DRAWS = 10_000


@dataclass(frozen=True, repr=False)
class EventStudyResult(Result):
    """Event-time effects ``event::e`` (and ``ATT``, their post-period average).

    ``band_se`` and ``band_crit`` give the simultaneous 95% band ``estimate +/-
    band_crit * band_se``; ``reference`` is the event time normalised to zero
    (``None`` for Callaway-Sant'Anna's varying base, where -1 is estimated). The
    regression estimators leave the reference out of ``params``; Callaway-Sant'Anna
    with a universal base reports it as 0 with no standard error (NaN variance).
    """

    key_columns: tuple[str, ...] = ("event",)
    window: tuple[int, int] = (-4, 6)
    reference: int | None = None
    band_se: tuple[float, ...] = ()
    band_crit: float | None = None

    def estimates(self, conf_level: float = 0.95) -> pd.DataFrame:
        """event, estimate, std_error, pointwise CI, uniform band (95%)."""
        tidy = self.tidy(conf_level)
        out = tidy[tidy["event"].notna()].reset_index(drop=True)
        out["event"] = out["event"].astype(int)
        if self.band_crit is not None:
            half = self.band_crit * np.asarray(self.band_se, float)
            out["band_low"], out["band_high"] = out["estimate"] - half, out["estimate"] + half
        out = out[["event", "estimate", "std_error", "p_value", "conf_low", "conf_high"]
                  + [c for c in ("band_low", "band_high") if c in out]]
        return out.sort_values("event").reset_index(drop=True)

    def pretrend_test(self) -> WaldTest:
        """Joint Wald test that the pre-period effects in the window are zero."""
        keys = term_keys(self.params.index).assign(term=self.params.index)
        pre = keys[keys["event"].notna() & (keys["event"] < 0)]
        if pre.empty:
            raise SpecificationError("the window has no pre-period effects to test")
        pre = pre[self.std_errors[pre["term"]].notna().to_numpy()]  # not the reference
        first, last = int(pre["event"].min()), int(pre["event"].max())
        return self.wald_test(pre["term"].tolist(),
                              hypothesis=f"event-time effects {first} to {last} = 0")

    def plot(self, *, ax=None, ylabel: str | None = None):
        """Deprecated: use :func:`ipnstats.figures.event_study_plot` (``result`` first)."""
        deprecated_call("EventStudyResult.plot() is deprecated; use "
                        "ipnstats.figures.event_study_plot(result)")
        from ipnstats.figures.results import event_study_plot

        return event_study_plot(self, ax=ax, ylabel=ylabel)


@former_defaults(unit="firm_id", time="year", cohort="cohort")
def event_study(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                window: tuple[int, int] = (-4, 6), estimator: EventEstimator = "cs",
                control_group: str = "not_yet_treated", anticipation: int = 0,
                vcov: object = None, n_boot: int = 999, seed: Seed = 0,
                base_period: str = "varying") -> EventStudyResult:
    """Effects of joining by years since joining, from ``window[0]`` to ``window[1]``.

    Parameters
    ----------
    data
        A unit-by-period panel with ``cohort`` (first treated period, 0 = never).
    outcome, unit, time, cohort
        Columns (R did's ``yname``, ``idname``, ``tname``, ``gname``; required).
    window
        First and last event time shown (and, for ``"twfe"``, the binned end points).
    estimator
        ``"cs"`` (default), ``"sunab"`` or ``"twfe"``; see the module notes.
    control_group, anticipation
        For ``"cs"``: as :func:`participation_effect`.
    vcov
        ``None`` (the default) clusters on ``unit``; a peer-group cluster for shared
        shocks.
    n_boot, seed
        Multiplier-bootstrap draws for the CS uniform band (and the seed of the sup-t
        draws of the regression estimators).
    base_period
        For ``"cs"``: ``"varying"`` (default) or ``"universal"``, as
        :func:`participation_effect`; the universal base is the one Honest DiD
        (:func:`honest_did`) should read. The regression estimators always normalise
        -1 to zero and take only ``"varying"`` here (the default).

    Returns
    -------
    EventStudyResult
        ``estimates()``, ``pretrend_test()``; ``params`` hold ``event::e`` and
        ``ATT``, the average of the post-period effects. The figure is
        :func:`ipnstats.figures.event_study_plot`.

    Examples
    --------
    >>> es = event_study(fy, outcome="log_revenue", unit="firm_id", time="year",
    ...                  cohort="cohort")  # doctest: +SKIP
    >>> es.estimates()  # doctest: +SKIP
    """
    lo, hi = (int(w) for w in window)
    if not lo < 0 <= hi:
        raise SpecificationError(f"window must run from a negative to a non-negative event "
                                 f"time, e.g. (-4, 6); got {window!r}")
    require_columns(data, (outcome, unit, time, cohort), "column")
    vcov = Cluster(unit) if vcov is None else vcov
    check_base_period(base_period)
    if estimator == "cs":
        return _cs_event(data, outcome, unit, time, cohort, (lo, hi), control_group,
                         anticipation, vcov, n_boot, seed, base_period)
    if base_period != "varying":
        raise SpecificationError(f"base_period applies to estimator='cs'; the {estimator!r} "
                                 "event study already normalises event time -1 to zero")
    if estimator == "twfe":
        res = _twfe_event(data, outcome, unit, time, cohort, (lo, hi), vcov)
    elif estimator == "sunab":
        from ipnstats.estimators.did.sunab import sun_abraham

        res = sun_abraham(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                          vcov=vcov, window=(lo, hi))
    else:
        raise SpecificationError(f"estimator must be 'cs', 'sunab' or 'twfe', got {estimator!r}")
    return _regression_event(res, (lo, hi), seed)


def _cs_event(data, outcome, unit, time, cohort, window, control_group, anticipation, vcov,
              n_boot, seed, base_period="varying") -> EventStudyResult:
    from ipnstats.estimators.did.estimate import participation_effect

    cs = participation_effect(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                              control_group=control_group, anticipation=anticipation,
                              vcov=vcov, n_boot=0, seed=seed, base_period=base_period)
    agg = aggregate(cs.state.gt, cs.state.cohorts, "event")
    events = term_keys(agg.terms)["event"].fillna(10**9).to_numpy(int)
    inside = (events >= window[0]) & (events <= window[1])
    post = inside & (events >= 0)
    infl = np.column_stack([agg.influence[:, inside], agg.influence[:, post].mean(axis=1)])
    est = np.append(agg.estimates[inside], agg.estimates[post].mean())
    terms = [t for t, k in zip(agg.terms, inside, strict=True) if k] + ["ATT"]
    cov = without_reference_variance(vcov_from_influence(infl, cs.state.clusters),
                                     tuple(terms), agg.references)
    band_se, crit = (), None
    if n_boot:
        band_se, crit = _cs_band(infl[:, :-1], [t in agg.references for t in terms[:-1]],
                                 n_boot, seed, cs.state.clusters)
    index = pd.Index(terms)
    return EventStudyResult(params=pd.Series(est, index=index),
                      cov=pd.DataFrame(cov, index=index, columns=index), vcov=cs.vcov,
                      df_inference=None, estimator=f"{cs.estimator}, event study",
                      outcome=outcome, nobs=cs.nobs, n_units=cs.n_units,
                      n_clusters=cs.n_clusters, fixed_effects=cs.fixed_effects,
                      notes=cs.notes, inference_notes=cs.inference_notes, seed=recorded_seed(seed),
                      n_boot=n_boot or None, window=window,
                      reference=-1 - anticipation if base_period == "universal" else None,
                      band_se=band_se, band_crit=crit, extra={"base_period": base_period})


def _cs_band(influence: np.ndarray, reference: list[bool], n_boot: int, seed: Seed,
             clusters: np.ndarray | None) -> tuple[tuple[float, ...], float]:
    """Bootstrap SEs and the sup-t critical value of the estimated event times (the
    reference of a universal base, 0 by construction, is left out and gets NaN)."""
    keep = ~np.asarray(reference, bool)
    se, crit = multiplier_bootstrap(influence[:, keep], n_boot=n_boot,
                                    rng=as_generator(seed), clusters=clusters)
    full = np.full(keep.size, np.nan)
    full[keep] = se
    return tuple(float(s) for s in full), crit


def event_dummies(frame: pd.DataFrame, time: str, cohort: str,
                  window: tuple[int, int]) -> tuple[pd.DataFrame, list[str]]:
    """Binned event-time dummies ``ev_m4 ... ev_p6`` (reference -1 left out)."""
    lo, hi = window
    treated = frame[cohort].to_numpy() > 0
    e = np.where(treated, frame[time].to_numpy() - frame[cohort].to_numpy(), np.nan)
    e = np.clip(e, lo, hi)
    cols = {}
    for k in range(lo, hi + 1):
        if k != -1:
            cols[_dummy_name(k)] = (e == k).astype(float)
    return frame.assign(**cols), list(cols)


def _dummy_name(k: int) -> str:
    return f"ev_m{-k}" if k < 0 else f"ev_p{k}"


def _twfe_event(data, outcome, unit, time, cohort, window, vcov) -> Result:
    from ipnstats.estimators.panel import panel_regression

    frame, names = event_dummies(data, time, cohort, window)
    res = panel_regression(frame, f"{outcome} ~ " + " + ".join(names), unit=unit, time=time,
                           panel_effects=("unit", "time"), vcov=parse_vcov(vcov))
    rename = {_dummy_name(k): f"event::{k}" for k in range(window[0], window[1] + 1)}
    params = res.params.rename(rename)
    cov = res.cov.rename(index=rename, columns=rename)
    notes = res.notes + (Note("binned_endpoints",
        f"Event times before {window[0]} and after {window[1]} are pooled "
        "into the end points; -1 is the reference period."),)
    return replace(res, params=params, cov=cov, notes=notes,
                   estimator="two-way fixed effects, event study")


def _regression_event(res: Result, window: tuple[int, int], seed: Seed) -> EventStudyResult:
    """Keep ``event::e`` terms in the window, add their post average and sup-t band."""
    keys = term_keys(res.params.index).assign(term=res.params.index)
    keys = keys[keys["event"].notna() & keys["event"].between(*window)]
    terms = keys["term"].tolist()
    post = keys.loc[keys["event"] >= 0, "term"].tolist()
    V = res.cov.loc[terms, terms].to_numpy()
    weights = np.array([1.0 / len(post) if t in post else 0.0 for t in terms])
    est = np.append(res.params[terms].to_numpy(), weights @ res.params[terms].to_numpy())
    top = np.vstack([np.eye(len(terms)), weights])
    cov = top @ V @ top.T
    index = pd.Index(terms + ["ATT"])
    se = np.sqrt(np.diag(V))
    crit = sup_t_critical(V, res.df_inference, seed)
    return EventStudyResult(params=pd.Series(est, index=index),
                      cov=pd.DataFrame(cov, index=index, columns=index), vcov=res.vcov,
                      df_inference=res.df_inference, estimator=res.estimator,
                      outcome=res.outcome, formula=res.formula, nobs=res.nobs,
                      n_units=res.n_units, n_clusters=res.n_clusters,
                      fixed_effects=res.fixed_effects, fit=res.fit, collinear=res.collinear,
                      notes=res.notes, inference_notes=res.inference_notes,
                      seed=recorded_seed(seed),
                      window=window, reference=-1, band_se=tuple(float(s) for s in se),
                      band_crit=crit)


def sup_t_critical(V: np.ndarray, df: float | None, seed: Seed, conf_level: float = 0.95,
                   draws: int = SUP_T_DRAWS) -> float:
    """Critical value of the sup-t band: quantile of ``max_k |z_k|``, ``z ~ N(0, corr V)``.

    With a t reference law the draws are divided by ``sqrt(chi2(df)/df)`` (multivariate
    t). One estimate gives the pointwise critical value.
    """
    sd = np.sqrt(np.diag(V))
    if sd.size == 1:
        return critical_value(conf_level, df)
    corr = V / np.outer(sd, sd)
    rng = as_generator(seed)
    w, U = np.linalg.eigh((corr + corr.T) / 2)
    z = rng.standard_normal((draws, sd.size)) @ (U * np.sqrt(np.clip(w, 0, None))).T
    if df is not None:
        z /= np.sqrt(rng.chisquare(df, size=(draws, 1)) / df)
    return float(np.quantile(np.abs(z).max(axis=1), conf_level))


__getattr__ = renamed_classes(__name__, globals(), {"EventStudy": "EventStudyResult"})
