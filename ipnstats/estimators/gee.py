"""Logistic GEE: population-averaged log odds of a 0/1 outcome with an exchangeable
working correlation within groups and robust standard errors (statsmodels' ``GEE``).

The entry point is :func:`ipnstats.estimators.mixed.gee`; this module holds its result
type and the fit on arrays (also used by the study's framing and sender models).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.formula import SpecificationError
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster


@dataclass(frozen=True, repr=False)
class GEEResult(Result):
    """A logistic GEE: population-averaged log odds with robust standard errors and an
    exchangeable working correlation within ``groups``."""

    converged: bool = True
    optimizer: str = "statsmodels GEE (Fisher scoring)"
    groups: tuple[str, ...] = ()
    working_correlation: float = np.nan

    @property
    def singular(self) -> bool:
        return False

    def tidy(self, conf_level: float = 0.95, effects: str = "fixed") -> pd.DataFrame:
        """As :meth:`ipnstats.estimators.mixed.MixedResult.tidy`; ``"ran_pars"`` gives the
        working correlation."""
        if effects == "fixed":
            return Result.tidy(self, conf_level)
        if effects != "ran_pars":
            raise ValueError(f"effects must be 'fixed' or 'ran_pars', got {effects!r}")
        return pd.DataFrame({"effect": ["ran_pars"], "group": [self.groups[0]],
                             "term": ["working_correlation"],
                             "estimate": [self.working_correlation]})

    def variance_components(self) -> pd.DataFrame:
        """No variances in a GEE: one row with the exchangeable working correlation of the
        responses within a group in ``icc``."""
        return pd.DataFrame({"group": [self.groups[0]], "term": ["working correlation"],
                             "variance": [np.nan], "std_dev": [np.nan],
                             "icc": [self.working_correlation]})


def logistic_gee(y: np.ndarray, X: np.ndarray, names: Sequence[str], codes: np.ndarray,
                 group: str, *, outcome: str, formula: str,
                 notes: tuple[str, ...] = ()) -> GEEResult:
    """Logistic GEE (statsmodels), exchangeable within ``codes``, robust SEs."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    values = np.unique(y[~np.isnan(y)])
    if not np.isin(values, (0.0, 1.0)).all():
        raise SpecificationError(f"family='binomial' needs a 0/1 outcome; {outcome!r} has "
                                 f"values {values[:5].tolist()}")
    model = sm.GEE(y, X, groups=codes, family=sm.families.Binomial(),
                   cov_struct=sm.cov_struct.Exchangeable())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = model.fit()
    failed = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    notes += tuple(dict.fromkeys(f"statsmodels GEE did not converge: {w.message}"
                                 for w in failed))
    index = pd.Index(list(names))
    n_groups = int(np.unique(codes).size)
    return GEEResult(
        params=pd.Series(np.asarray(fit.params), index=index),
        cov=pd.DataFrame(np.asarray(fit.cov_params()), index=index, columns=index),
        vcov=Cluster(group, adjust=False), df_inference=None,
        estimator=f"logistic GEE (exchangeable within {group}, robust SEs; log odds)",
        outcome=outcome, nobs=int(y.size), formula=formula, n_units=n_groups,
        n_clusters=n_groups, notes=notes, converged=not failed, groups=(group,),
        working_correlation=float(np.ravel(model.cov_struct.dep_params)[0]),
        extra={"working_correlation": float(np.ravel(model.cov_struct.dep_params)[0]),
               "converged": not failed})


__all__ = ["GEEResult", "logistic_gee"]
