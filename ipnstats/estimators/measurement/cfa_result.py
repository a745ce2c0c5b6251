"""The result of a CFA (:class:`CFAResult`) and lavaan's ``lavTestLRT``
(:func:`chisq_difference`).

Standardised solutions as lavaan's ``standardizedSolution``: ``std_lv`` scales by the
factor standard deviations, ``std_all`` also by the model-implied item standard
deviations (a residual covariance becomes the residual correlation).
``reliability()``: semTools ``compRelSEM`` (omega at its defaults:
``(sum lambda)^2 psi / 1'S1`` with S the observed covariance of the factor's items) and
``AVE`` (``sum lambda^2 psi / sum diag S``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.cfa_partable import ParTable
from ipnstats.estimators.measurement.cfa_spec import ModelSpec
from ipnstats.results.display import TidyDisplay

_OP = {0: "=~", 1: "~~", 2: "~~", 3: "~1", 4: "~1"}


def parameter_frame(pt: ParTable, x: np.ndarray, vcov: np.ndarray, mom, groups) -> pd.DataFrame:
    """lavaan's ``parameterEstimates(standardized = TRUE)`` for the fitted model."""
    est = np.where(pt.free >= 0, x[np.maximum(pt.free, 0)], pt.value)
    se = np.where(pt.free >= 0, np.sqrt(np.abs(np.diag(vcov)))[np.maximum(pt.free, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(pt.free >= 0, est / se, np.nan)
        std_lv, std_all = _standardised(pt, est, mom)
    q = stats.norm.ppf(0.975)
    frame = pd.DataFrame({
        "lhs": pt.lhs, "op": [_OP[m] for m in pt.mat], "rhs": pt.rhs, "group": pt.group + 1,
        "free": pt.free + 1, "estimate": est, "std_error": se, "z": z,
        "p_value": 2 * stats.norm.sf(np.abs(z)), "ci_lower": est - q * se,
        "ci_upper": est + q * se, "std_lv": std_lv, "std_all": std_all})
    frame.loc[pt.free < 0, ["z", "p_value"]] = np.nan
    return frame


def _standardised(pt: ParTable, est: np.ndarray, mom) -> tuple[np.ndarray, np.ndarray]:
    std_lv, std_all = np.empty(len(est)), np.empty(len(est))
    for r, (g, mat, i, j) in enumerate(zip(pt.group, pt.mat, pt.row, pt.col, strict=True)):
        sd_f = np.sqrt(np.diag(mom.psi[g]))
        sd_y = np.sqrt(np.diag(mom.sigma[g]))
        v = est[r]
        if mat == 0:
            std_lv[r] = v * sd_f[j]
            std_all[r] = std_lv[r] / sd_y[i]
        elif mat == 1 and i == j:
            std_lv[r], std_all[r] = v, v / sd_y[i] ** 2
        elif mat == 1:  # a residual covariance: the residual correlation (lavaan)
            th = np.diag(mom.theta[g])
            std_lv[r], std_all[r] = v, v / np.sqrt(th[i] * th[j])
        elif mat == 2:
            std_lv[r] = std_all[r] = v / (sd_f[i] * sd_f[j])
        elif mat == 3:
            std_lv[r], std_all[r] = v, v / sd_y[i]
        else:
            std_lv[r] = std_all[r] = v / sd_f[i]
    return std_lv, std_all


@dataclass(frozen=True, repr=False)
class CFAResult(TidyDisplay):
    """A fitted confirmatory factor model (see :func:`ipnstats.estimators.measurement.cfa`)."""

    model: ModelSpec
    estimator: str
    std_lv: bool
    group: str | None
    groups: tuple
    group_equal: tuple
    missing: str
    nobs: int
    nobs_group: tuple
    params: pd.DataFrame = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    measures: Mapping = field(repr=False)
    sample_cov: tuple = field(repr=False)
    sample_mean: tuple = field(repr=False)
    implied_cov: tuple = field(repr=False)
    converged: bool = True
    notes: tuple = ()
    information: str = "expected"

    def __post_init__(self):
        plain = {k: v.item() if isinstance(v, np.generic) else v
                 for k, v in dict(self.measures).items()}  # Python numbers: JSON, display
        object.__setattr__(self, "measures", MappingProxyType(plain))

    def fit_measures(self) -> dict:
        """The fit measures (lavaan ``fitMeasures`` names with underscores)."""
        return dict(self.measures)

    def parameters(self) -> pd.DataFrame:
        """Every model parameter (free and fixed), lavaan's ``parameterEstimates``."""
        return self.params.drop(columns="free").copy()

    def loadings(self, standardized: bool = True) -> pd.DataFrame:
        """The factor loadings: factor, item, estimate, std_error, z, p_value (and
        std_all when ``standardized``; a group column for multi-group models)."""
        p = self.params[self.params["op"] == "=~"]
        out = pd.DataFrame({"factor": p["lhs"], "item": p["rhs"], "estimate": p["estimate"],
                            "std_error": p["std_error"], "z": p["z"], "p_value": p["p_value"]})
        if standardized:
            out["std_all"] = p["std_all"]
        if len(self.groups) > 1:
            out.insert(0, "group", [self.groups[g - 1] for g in p["group"]])
        return out.reset_index(drop=True)

    def _group_index(self, group) -> int:
        if group is None:
            return 0
        if group not in self.groups:
            raise SpecificationError(f"unknown group {group!r}; the groups are {self.groups}")
        return self.groups.index(group)

    def factor_correlations(self, group=None) -> pd.DataFrame:
        """The model-implied factor correlation matrix (of ``group``, default the first)."""
        g = self._group_index(group) + 1
        f = list(self.model.factors)
        out = pd.DataFrame(np.eye(len(f)), index=f, columns=f)
        p = self.params[(self.params["group"] == g) & (self.params["op"] == "~~")]
        for a, b, v in zip(p["lhs"], p["rhs"], p["std_all"], strict=True):
            if a in f and b in f and a != b:
                out.loc[a, b] = out.loc[b, a] = v
        return out

    def reliability(self) -> pd.DataFrame:
        """Per factor (and group): omega (semTools ``compRelSEM``) and AVE (``AVE``)."""
        rows = []
        items = list(self.model.items)
        for g, S in enumerate(self.sample_cov):
            p = self.params[self.params["group"] == g + 1]
            for f in self.model.factors:
                ld = p[(p["op"] == "=~") & (p["lhs"] == f)]
                idx = [items.index(i) for i in ld["rhs"]]
                psi = p[(p["op"] == "~~") & (p["lhs"] == f) & (p["rhs"] == f)]["estimate"].iloc[0]
                lam = ld["estimate"].to_numpy()
                sub = S[np.ix_(idx, idx)]
                rows.append({"group": self.groups[g], "factor": f,
                             "omega": lam.sum() ** 2 * psi / sub.sum(),
                             "ave": (lam ** 2).sum() * psi / np.trace(sub)})
        out = pd.DataFrame(rows)
        return out if len(self.groups) > 1 else out.drop(columns="group")

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """One row per free parameter: term, estimate, std_error, statistic, p_value,
        conf_low, conf_high (Wald, normal)."""
        p = self.params[self.params["free"] > 0].drop_duplicates("free")
        q = stats.norm.ppf(0.5 + conf_level / 2)
        grp = (lambda g: "") if len(self.groups) == 1 else (lambda g: f" [{self.groups[g - 1]}]")
        term = [f"{a} {o} {b}".strip() + grp(g) for a, o, b, g in
                zip(p["lhs"], p["op"], p["rhs"], p["group"], strict=True)]
        return pd.DataFrame({"term": term, "estimate": p["estimate"].to_numpy(),
                             "std_error": p["std_error"].to_numpy(),
                             "statistic": p["z"].to_numpy(), "p_value": p["p_value"].to_numpy(),
                             "conf_low": (p["estimate"] - q * p["std_error"]).to_numpy(),
                             "conf_high": (p["estimate"] + q * p["std_error"]).to_numpy()})

    def glance(self) -> pd.DataFrame:
        """One row: the fit measures, nobs, estimator and converged."""
        row = dict(self.measures)
        row.update(nobs=self.nobs, estimator=self.estimator, converged=self.converged)
        return pd.DataFrame([row])

    def chisq_diff(self, other: CFAResult) -> pd.DataFrame:
        """lavaan's ``lavTestLRT(self, other)``; see :func:`chisq_difference`."""
        return chisq_difference(self, other)


def chisq_difference(*results: CFAResult) -> pd.DataFrame:
    """Chi-square difference tests of nested models, lavaan's ``lavTestLRT``.

    Models are ordered by their degrees of freedom (fewest first) and each is tested
    against the one before. ML: the plain difference of chi-squares. MLR: the
    Satorra-Bentler (2001) scaled difference, ``(T1 - T0) / cd`` with
    ``cd = (df1 c1 - df0 c0) / (df1 - df0)`` and ``c`` each model's scaling factor
    (lavTestLRT's default ``method = "satorra.bentler.2001"``); NaN where ``cd`` is not
    positive, 0 where the fits are the same.
    """
    if len(results) < 2:
        raise SpecificationError("chisq_difference needs at least two fitted models")
    if len({r.estimator for r in results}) > 1:
        raise SpecificationError("the models were fitted with different estimators")
    if len({r.nobs for r in results}) > 1:
        raise SpecificationError("the models were fitted on different numbers of rows")
    res = sorted(results, key=lambda r: r.measures["df"])
    rows = []
    for k, r in enumerate(res):
        m = r.measures
        row = {"df": m["df"], "aic": m["aic"], "bic": m["bic"], "chisq": m["chisq"],
               "chisq_diff": np.nan, "df_diff": np.nan, "p_diff": np.nan}
        if k:
            m0 = res[k - 1].measures
            ddf = m["df"] - m0["df"]
            diff = m["chisq"] - m0["chisq"]
            if r.estimator == "mlr" and ddf > 0:
                cd = (m["df"] * m["chisq_scaling_factor"]
                      - m0["df"] * m0["chisq_scaling_factor"]) / ddf
                # the same fit (e.g. an extra factor whose variance went to zero) differs
                # by nothing; a scaling that is not positive leaves the test undefined
                # (Satorra & Bentler 2010 propose a correction), so it is NaN
                diff = 0.0 if abs(diff) < 1e-9 else (diff / cd if cd > 0 else np.nan)
            row.update(chisq_diff=diff, df_diff=ddf,
                       p_diff=stats.chi2.sf(diff, ddf) if ddf > 0 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)
