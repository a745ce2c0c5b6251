"""Read fitted models of ipnstats, statsmodels and linearmodels into one summary shape.

The table layer reads only public attributes: ``tidy()``/``glance()`` of ipnstats
results, and the documented result attributes of statsmodels and linearmodels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ipnstats.results import Result
from ipnstats.results.inference import TIDY_COLUMNS
from ipnstats.results.stored import StoredModel


@dataclass(frozen=True)
class ModelSummary:
    """What a regression table needs of one model: its tidy frame and fit statistics."""

    tidy: pd.DataFrame
    stats: dict[str, Any]
    outcome: str
    fixed_effects: tuple[str, ...] = ()
    vcov: str = ""
    cluster: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def summarize(model: object, conf_level: float = 0.95) -> ModelSummary:
    """A :class:`ModelSummary` of an ipnstats, statsmodels or linearmodels result."""
    if isinstance(model, ModelSummary):
        return model
    if isinstance(model, Result):
        return _from_ipnstats(model, conf_level)
    if isinstance(model, StoredModel):
        return ModelSummary(model.tidy(), {k: v for k, v in model.statistics.items() if k not in
                                           ("estimator", "outcome", "vcov", "fixed_effects")},
                            model.outcome, model.fixed_effects, model.vcov, model.cluster,
                            model.notes)
    module = type(model).__module__.split(".")[0]
    if module == "statsmodels":
        return _from_statsmodels(model, conf_level)
    if module == "linearmodels":
        return _from_linearmodels(model, conf_level)
    raise TypeError(f"regression_table cannot read a {type(model).__name__} "
                    "(ipnstats, statsmodels and linearmodels results are supported)")


def _num(value: object) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _from_ipnstats(res: Result, conf_level: float) -> ModelSummary:
    from ipnstats.results import Cluster

    glance = res.glance().iloc[0].to_dict()
    stats = {k: v for k, v in glance.items() if k not in ("estimator", "outcome", "vcov",
                                                         "fixed_effects")}
    cluster = res.vcov.columns if isinstance(res.vcov, Cluster) else ()
    return ModelSummary(res.tidy(conf_level), stats, res.outcome, res.fixed_effects,
                        glance["vcov"], cluster, res.warnings)


def _tidy_frame(params, se, stat, p, ci: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"term": [str(t) for t in params.index],
                          "estimate": np.asarray(params, float), "std_error": np.asarray(se, float),
                          "statistic": np.asarray(stat, float), "p_value": np.asarray(p, float),
                          "conf_low": ci.iloc[:, 0].to_numpy(float),
                          "conf_high": ci.iloc[:, 1].to_numpy(float)})
    return frame[list(TIDY_COLUMNS)]


_SM_VCOV = {"nonrobust": "IID", "cluster": "Clustered", "HC0": "HC0", "HC1": "HC1",
            "HC2": "HC2", "HC3": "HC3", "HAC": "HAC"}


def _from_statsmodels(res: Any, conf_level: float) -> ModelSummary:
    params = pd.Series(res.params, index=getattr(res.params, "index", res.model.exog_names))
    ci = pd.DataFrame(np.asarray(res.conf_int(alpha=1 - conf_level)))
    tidy = _tidy_frame(params, res.bse, res.tvalues, res.pvalues, ci)
    stats = {"nobs": int(res.nobs), "r2": _num(getattr(res, "rsquared", None)),
             "r2_adj": _num(getattr(res, "rsquared_adj", None)),
             "pseudo_r2": _num(getattr(res, "prsquared", None)),
             "loglik": _num(getattr(res, "llf", None)), "aic": _num(getattr(res, "aic", None)),
             "bic": _num(getattr(res, "bic", None))}
    cov_type = getattr(res, "cov_type", "nonrobust")
    if cov_type == "cluster":
        groups = np.asarray(res.cov_kwds.get("groups"))
        stats["n_clusters"] = int(len(np.unique(groups, axis=0))) if groups.ndim else None
    outcome = str(getattr(res.model, "endog_names", ""))
    return ModelSummary(tidy, stats, outcome, (), _SM_VCOV.get(cov_type, str(cov_type)))


def _from_linearmodels(res: Any, conf_level: float) -> ModelSummary:
    ci = res.conf_int(level=conf_level)
    tidy = _tidy_frame(res.params, res.std_errors, res.tstats, res.pvalues, ci)
    stats = {"nobs": int(res.nobs), "r2": _num(getattr(res, "rsquared", None)),
             "r2_within": _num(getattr(res, "rsquared_within", None)),
             "loglik": _num(getattr(res, "loglik", None))}
    info = getattr(res, "entity_info", None)
    if info is not None:
        stats["n_units"] = int(info["total"])
    effects = _linearmodels_effects(res)
    name = _linearmodels_cov(res)
    cov = {"Unadjusted": "IID", "Homoskedastic": "IID", "Robust": "HC1",
           "Heteroskedastic": "HC1", "Clustered": "Clustered"}.get(name, name)
    outcome = str(res.model.dependent.vars[0])
    return ModelSummary(tidy, stats, outcome, effects, cov)


def _linearmodels_cov(res: Any) -> str:
    """The covariance estimator's name: ``cov_type`` where the result has it, else the
    "Cov. Estimator" line of the public summary (panel results)."""
    name = getattr(res, "cov_type", None)
    if name:
        return str(name)
    for row in res.summary.tables[0].data:
        cells = [str(c).strip() for c in row]
        for i, cell in enumerate(cells[:-1]):
            if cell.startswith("Cov. Estimator"):
                return cells[i + 1]
    return ""


def _linearmodels_effects(res: Any) -> tuple[str, ...]:
    included = getattr(res, "included_effects", None) or []
    try:
        names = list(res.model.dependent.dataframe.index.names)
    except AttributeError:
        return ()
    out = []
    for effect in included:
        if effect == "Entity":
            out.append(str(names[0]))
        elif effect == "Time":
            out.append(str(names[1]))
    return tuple(out)
