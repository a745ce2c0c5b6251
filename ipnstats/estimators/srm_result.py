"""The result of a Social Relations Model fit (:class:`SRMResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.results.display import TidyDisplay


@dataclass(frozen=True, repr=False)
class SRMResult(TidyDisplay):
    """A round-robin SRM fit (see :func:`ipnstats.estimators.srm.social_relations`).

    ``components``: one row per SRM component (actor, partner and relationship variance,
    actor-partner covariance = generalized reciprocity, relationship covariance = dyadic
    reciprocity) with estimate, standardized, std_error, statistic, df, p_value, as
    TripleR's ``varComp`` (within-group tests for one group, the between-group t-test
    for many). ``group_components``: every group's own table (a ``group`` column).
    ``effects``: actor and partner effects per person (TripleR ``getEffects``).
    ``relationship_effects``: one row per ordered dyad observed. ``excluded``: who was
    left out and why; ``excluded_groups``: groups left with fewer than 4 members.
    """

    outcome: str
    actor: str
    partner: str
    group: str | None
    method: str
    groups: tuple
    group_sizes: tuple
    components: pd.DataFrame = field(repr=False)
    group_components: pd.DataFrame = field(repr=False)
    effects: pd.DataFrame = field(repr=False)
    relationship_effects: pd.DataFrame = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    excluded_groups: tuple = ()
    n_missing_dyads: int = 0
    actor_reliability: float = np.nan
    partner_reliability: float = np.nan
    group_variance: float = np.nan
    loglik: float = np.nan
    converged: bool = True
    notes: tuple = ()

    @property
    def nobs(self) -> int:
        """The number of ratings (ordered dyads) observed in the groups analysed."""
        return int(self.relationship_effects["relationship"].notna().sum())

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """One row per component: term, estimate, std_error, statistic, p_value,
        conf_low, conf_high (t on the table's df), standardized."""
        c = self.components
        q = stats.t.ppf(0.5 + conf_level / 2, c["df"].where(c["df"] > 0))
        return pd.DataFrame({
            "term": c.index.to_numpy(), "estimate": c["estimate"].to_numpy(),
            "std_error": c["std_error"].to_numpy(), "statistic": c["statistic"].to_numpy(),
            "p_value": c["p_value"].to_numpy(),
            "conf_low": (c["estimate"] - q * c["std_error"]).to_numpy(),
            "conf_high": (c["estimate"] + q * c["std_error"]).to_numpy(),
            "standardized": c["standardized"].to_numpy()})

    def glance(self) -> pd.DataFrame:
        """One row: nobs, persons, groups, method, missing dyads, reliabilities, the
        variance of group means (many groups), logLik (REML) and converged."""
        return pd.DataFrame([{
            "nobs": self.nobs, "n_persons": int(sum(self.group_sizes)),
            "n_groups": len(self.groups), "method": self.method,
            "n_missing_dyads": self.n_missing_dyads,
            "n_excluded": len(self.excluded),
            "actor_reliability": self.actor_reliability,
            "partner_reliability": self.partner_reliability,
            "group_variance": self.group_variance, "loglik": self.loglik,
            "converged": self.converged}])

    def get_effects(self, group_mean: bool = False) -> pd.DataFrame:
        """Actor and partner effects per person (TripleR ``getEffects``); with
        ``group_mean`` the group's mean rating is added (TripleR ``effects.gm``)."""
        out = self.effects.drop(columns="mean").copy()
        if group_mean:
            out["actor"] += self.effects["mean"]
            out["partner"] += self.effects["mean"]
        return out
