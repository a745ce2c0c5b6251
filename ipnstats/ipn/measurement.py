"""The study's measurement model: do the survey scales measure what they claim?

Before H1c (perceived learning), H2c (loss aversion) and H3a (risk aversion) are tested
with averaged Likert scales, the Measurement section shows what reviewers ask for: a
confirmatory factor analysis of every multi-item scale of the codebook (fit, standardized
loadings, composite reliability and AVE), discriminant validity (HTMT and the
Fornell-Larcker criterion), invariance between the early and the late survey waves,
common-method variance (Harman's single factor and an unmeasured latent method factor),
and, for perceived learning, the agreement within peer groups that aggregating it to the
group would need (ICC(1), ICC(2), rwg(j)).

Choices, stated in the report:

- One survey per firm (its first complete one: every item answered) for the CFA, HTMT
  and the method-factor checks, so that the rows are independent firms and no firm is
  lost to a skipped item in one year; robust (MLR) standard errors and test. (Full
  information ML, ``cfa(..., missing="fiml")``, would use incomplete surveys too; with
  every firm answering many waves the complete first survey loses almost no firm.)
- Invariance: each firm's first survey in the early waves and its first in the late
  waves (split at the median survey year); firms answering in both periods appear in
  both groups, which the chi-square difference tests treat as independent.
- Method variance: Harman's single factor, an unmeasured latent method factor (equal
  loadings, orthogonal to the traits), and the co-movement of the scales within a firm
  from one survey to the next (:func:`occasion_check`), which a method factor of the
  survey occasion produces and distinct traits do not.
- Nonresponse: the earliest and the latest quarter of respondents within the survey year
  (Armstrong & Overton 1977), on the firms' first complete surveys.
- Aggregation: member firms' perceived learning by peer group and year (a group-year of
  fewer members than the disclosure threshold is left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.estimators.measurement.aggregation import aggregation
from ipnstats.estimators.measurement.cfa import cfa
from ipnstats.estimators.measurement.invariance import measurement_invariance
from ipnstats.estimators.measurement.method_factor import harman_test, ulmc
from ipnstats.estimators.measurement.nonresponse import early_late
from ipnstats.estimators.measurement.validity import fornell_larcker, htmt
from ipnstats.ipn.claims import Unavailable, attempt
from ipnstats.results.stored import frame_to_json

#: Conventional cut-offs the reading compares with (Hu & Bentler 1999 for fit; Fornell &
#: Larcker 1981 and Bagozzi & Yi 1988 for CR and AVE; Henseler et al. 2015 for HTMT).
CUTOFFS = {"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08, "cr": 0.70, "ave": 0.50,
           "htmt": 0.85, "loading": 0.50, "rwg_j": 0.70, "icc1": 0.05}
#: The scale whose aggregation to the peer group the section reports.
GROUP_SCALE = "perceived_learning"
#: The fit measures kept for the report (MLR: the scaled/robust variants too).
FIT_KEYS = ("chisq", "df", "pvalue", "chisq_scaled", "pvalue_scaled", "cfi", "tli", "rmsea",
            "rmsea_ci_lower", "rmsea_ci_upper", "srmr", "cfi_robust", "tli_robust",
            "rmsea_robust", "aic", "bic", "ntotal")


@dataclass(frozen=True)
class MeasurementResults:
    """The fitted measurement models of a study (each may be :class:`Unavailable`)."""

    model: dict
    labels: dict
    n_firms: int
    n_surveyed: int
    waves: tuple[str, str]
    cfa: object
    htmt: object
    invariance: object
    harman: object
    ulmc: object
    aggregation: object
    nonresponse: object
    occasion: object
    threshold: int


def first_per_firm(items: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each firm's first survey that answers every one of ``columns``."""
    complete = items[columns].notna().all(axis=1)
    return (items[complete].sort_values(["firm_id", "date"]).drop_duplicates("firm_id")
            .reset_index(drop=True))


def fit_measurement(items: pd.DataFrame | None, scales: Sequence, *, threshold: int = 3,
                    estimator: str = "mlr", seed: int = 0) -> MeasurementResults | Unavailable:
    """Fit the measurement models of the ``scales`` (objects with ``name``, ``items``,
    ``label``, ``low`` and ``high``, as the codebook's; three items or more) on ``items``,
    one row per survey: ``firm_id``, ``date``, ``year``, ``group_id`` (the firm's peer group
    that year, NaN for a non-member) and the items in scored direction
    (:func:`ipnstats.data.survey_frame.survey_items`); ``None``: the study has no surveys.
    ``threshold``: the disclosure threshold (smallest group-year aggregated); ``seed``:
    of the firm bootstrap of the occasion check (:func:`occasion_check`)."""
    scales = [s for s in scales if len(s.items) >= 3]
    if items is None:
        return Unavailable("the study has no surveys table")
    if not scales:
        return Unavailable("the codebook defines no scale of three or more items")
    model = {s.name: list(s.items) for s in scales}
    labels = {s.name: s.label or s.name for s in scales}
    columns = [i for s in scales for i in s.items]
    first = first_per_firm(items, columns)
    if len(first) < max(50, threshold):
        return Unavailable(f"{len(first)} firms answered a survey; a factor analysis "
                           "needs at least 50")
    fit = attempt(cfa, first, model, estimator=estimator)
    cut = int(np.median(items["year"]))
    waves = (f"{int(items['year'].min())}\u2013{cut}", f"{cut + 1}\u2013{int(items['year'].max())}")
    early = first_per_firm(items[items["year"] <= cut], columns).assign(wave=waves[0])
    late = first_per_firm(items[items["year"] > cut], columns).assign(wave=waves[1])
    both = pd.concat([early, late], ignore_index=True)
    pl = next((s for s in scales if s.name == GROUP_SCALE), None)
    agg = Unavailable(f"the codebook has no {GROUP_SCALE} scale")
    if pl is not None:
        members = items.dropna(subset=["group_id"]).assign(
            group_year=lambda d: d["group_id"].astype(str) + ":" + d["year"].astype(str))
        size = members.groupby("group_year")["firm_id"].transform("size")
        agg = attempt(aggregation, members[size >= threshold], list(pl.items),
                      group="group_year", scale_points=int(pl.high - pl.low + 1))
    return MeasurementResults(
        model=model, labels=labels, n_firms=len(first),
        n_surveyed=int(items["firm_id"].nunique()), waves=waves, cfa=fit,
        htmt=attempt(htmt, first, model),
        invariance=attempt(measurement_invariance, both, model, group="wave",
                           estimator="ml"),
        harman=attempt(harman_test, first, columns, estimator=estimator),
        ulmc=attempt(ulmc, first, model, estimator=estimator),
        aggregation=agg, nonresponse=attempt(_early_late, first, model),
        occasion=attempt(occasion_check, items, model, seed=seed),
        threshold=threshold)


def occasion_check(items: pd.DataFrame, model: dict, *, n_boot: int = 999,
                   seed: int = 0, conf_level: float = 0.95) -> dict:
    """Method variance of the survey occasion: how the scales' scores move together from
    one survey to the next within a firm.

    The scales measure distinct traits, so a firm's wave-to-wave changes in one should not
    go with its changes in another; what the answers of one survey share (the respondent's
    mood that day, acquiescence, the wording of that wave) makes them co-move. The check
    takes each firm's scale scores (mean of the answered items) in deviation from the
    firm's own mean over its surveys (firms with two surveys or more), and averages the
    correlations of those deviations over the pairs of scales; its interval is a firm
    bootstrap (percentile, ``n_boot`` draws). The average is an upper bound on the
    occasion's method variance where true changes of two constructs go together.
    Returns ``mean_r``, ``conf_low``, ``conf_high``, ``flag`` (the interval lies above
    zero), the pairs' correlations, and the surveys and firms used."""
    names = list(model)
    scores = items[["firm_id"]].assign(
        **{name: items[cols].mean(axis=1) for name, cols in model.items()}).dropna()
    scores = scores[scores.groupby("firm_id")["firm_id"].transform("size") >= 2]
    if scores["firm_id"].nunique() < 20 or len(names) < 2:
        raise ValueError("fewer than 20 firms answered two surveys or more")
    dev = scores.groupby("firm_id")[names].transform(lambda x: x - x.mean()).to_numpy()
    firm = pd.factorize(scores["firm_id"])[0]
    k = len(names)
    cross = np.zeros((firm.max() + 1, k * k))  # per firm: the deviations' cross-products
    np.add.at(cross, firm, (dev[:, :, None] * dev[:, None, :]).reshape(len(dev), k * k))
    upper = np.triu_indices(k, 1)

    def mean_r(m: np.ndarray) -> np.ndarray:
        m = m.reshape(-1, k, k)
        sd = np.sqrt(np.einsum("bii->bi", m))
        r = m / (sd[:, :, None] * sd[:, None, :])
        return r[:, upper[0], upper[1]].mean(axis=1)

    point = mean_r(cross.sum(axis=0)[None])[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(cross), np.full(len(cross), 1 / len(cross)), size=n_boot)
    boot = mean_r(draws @ cross)
    low, high = np.quantile(boot, [(1 - conf_level) / 2, (1 + conf_level) / 2])
    r = np.corrcoef(dev, rowvar=False)
    pairs = pd.DataFrame({"a": [names[i] for i in upper[0]], "b": [names[j] for j in upper[1]],
                          "r": r[upper]})
    return {"mean_r": float(point), "conf_low": float(low), "conf_high": float(high),
            "flag": bool(low > 0), "pairs": frame_to_json(pairs), "n_surveys": len(dev),
            "n_firms": int(firm.max() + 1), "n_boot": n_boot}


def _early_late(first: pd.DataFrame, model: dict):
    """Armstrong & Overton's check on the firms' first complete surveys: the scale
    scores of the earliest quarter of respondents within the survey year against the
    latest quarter (late respondents stand in for non-respondents)."""
    scores = first.assign(day=first["date"].dt.day_of_year,
                          **{name: first[items].mean(axis=1) for name, items in model.items()})
    return early_late(scores, list(model), order="day", share=0.25)


# ---------------------------------------------------------------------------- findings

def _plain(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None  # JSON has no NaN


def _fit_row(name: str, fit) -> dict:
    m = fit.fit_measures()
    return {"model": name, "nobs": int(fit.nobs),
            **{k: _plain(m[k]) for k in FIT_KEYS if k in m}}


def measurement_findings(res: MeasurementResults | Unavailable) -> dict:
    """What the Measurement section shows, JSON-ready; ``{"unavailable": reason}`` when
    the study cannot support it, and per part the reason a part could not be fitted."""
    if isinstance(res, Unavailable):
        return {"unavailable": res.reason}
    out: dict = {"labels": res.labels, "model": res.model, "n_firms": res.n_firms,
                 "n_surveyed": res.n_surveyed,
                 "waves": list(res.waves), "cutoffs": CUTOFFS, "threshold": res.threshold}
    if isinstance(res.cfa, Unavailable):
        return {**out, "unavailable": res.cfa.reason}
    fit = res.cfa
    rows = [_fit_row("traits", fit)]
    for name, part in (("single", res.harman), ("method", res.ulmc)):
        if not isinstance(part, Unavailable):
            rows.append(_fit_row(name, part.fit if name == "single" else part.method_fit))
    out["fits"] = frame_to_json(pd.DataFrame(rows))
    out["notes"] = [str(n) for n in fit.notes]
    out["loadings"] = frame_to_json(fit.loadings(standardized=True))
    rel = fit.reliability()
    out["reliability"] = frame_to_json(rel)
    corr = fit.factor_correlations()
    out["correlations"] = frame_to_json(corr.reset_index(names="factor"))
    out["htmt"] = ({"unavailable": res.htmt.reason} if isinstance(res.htmt, Unavailable)
                   else frame_to_json(res.htmt.reset_index(names="factor")))
    ave = dict(zip(rel["factor"], rel["ave"], strict=True))
    fl = attempt(fornell_larcker, ave, corr)
    out["fornell_larcker"] = (None if isinstance(fl, Unavailable) else
                              {"passed": fl.passed, "pairs": frame_to_json(fl.pairs)})
    out["invariance"] = ({"unavailable": res.invariance.reason}
                         if isinstance(res.invariance, Unavailable)
                         else {"table": frame_to_json(res.invariance.table()),
                               "n": [int(n) for n in _group_sizes(res.invariance)]})
    out["harman"] = (None if isinstance(res.harman, Unavailable) else
                     {"first_factor_share": res.harman.first_factor_share,
                      "first_component_share": res.harman.first_component_share})
    out["ulmc"] = (None if isinstance(res.ulmc, Unavailable) else _ulmc_findings(res.ulmc))
    out["occasion"] = (None if isinstance(res.occasion, Unavailable) else res.occasion)
    out["nonresponse"] = (None if isinstance(res.nonresponse, Unavailable) else
                          {"tests": frame_to_json(res.nonresponse.tests),
                           "n_early": res.nonresponse.n_early,
                           "n_late": res.nonresponse.n_late})
    out["aggregation"] = ({"unavailable": res.aggregation.reason}
                          if isinstance(res.aggregation, Unavailable)
                          else _aggregation_findings(res.aggregation))
    return out


def _group_sizes(inv) -> list[int]:
    """The respondents of each group of the configural model."""
    return list(inv.fits[0].nobs_group)


def _ulmc_findings(u) -> dict:
    comp = u.comparison()
    last = comp.iloc[-1]
    return {"chisq_diff": _plain(last["chisq_diff"]), "df_diff": _plain(last["df_diff"]),
            "p_diff": _plain(last["p_diff"]), "method_share": u.method_share,
            "items": frame_to_json(u.item_shares())}


def _aggregation_findings(a) -> dict:
    g = a.glance().iloc[0]
    return {"icc1": _plain(g["icc1"]), "icc2": _plain(g["icc2"]),
            "rwg_j_mean": _plain(g["rwg_j_mean"]), "rwg_j_median": _plain(g["rwg_j_median"]),
            "rwg_j_share_70": _plain(g["rwg_j_share_70"]), "ad_m_mean": _plain(g["ad_m_mean"]),
            "n_groups": int(g["n_groups"]), "n_obs": int(g["n_obs"]),
            "k0": _plain(g["k0"]), "icc": frame_to_json(a.icc)}


__all__ = ["CUTOFFS", "MeasurementResults", "fit_measurement", "first_per_firm",
           "measurement_findings", "occasion_check"]
