"""Study designs for Monte-Carlo power: what to simulate and which test to run.

A design is a frozen dataclass of the numbers a researcher plans with. ``simulate``
draws one data set for a given size of the design's ``parameter`` from the study
simulator's own generators (:func:`~ipnstats.simulate.staggered.staggered_panel`,
:func:`~ipnstats.simulate.framing.framing_exchanges`,
:func:`~ipnstats.simulate.learning.learning_tasks`), and ``test`` fits the estimator the
study itself uses and returns the estimate, its standard error and the two-sided
p-value.

=================  ==========================================  =============================
design             parameter (what ``effect_sizes`` set)       test (as in the study run)
=================  ==========================================  =============================
``TwoGroupDesign``  mean difference                            pooled-variance t test
``H1Design``       effect of joining at tenure 0               Callaway-Sant'Anna simple ATT
                                                               (or TWFE), clustered
``H2Design``       ``"loss"``: loss vs gain framing             crossed random intercepts
                   ``"moderation"``: loss x loss aversion        OLS, two-way clustered
``H3Design``       ``"sender_risk_aversion"``                  sender traits (crossed RE)
                   ``"learning_curve"``: experience x exposure   learning curve (LMM)
=================  ==========================================  =============================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError


class Replicate(NamedTuple):
    """One simulated data set's test: estimate, SE, two-sided p and fit notes."""

    estimate: float
    std_error: float
    p_value: float
    converged: bool = True


def describe_design(design) -> dict:
    return {f.name: (list(v) if isinstance(v := getattr(design, f.name), tuple) else v)
            for f in dataclasses.fields(design)}


@dataclass(frozen=True)
class TwoGroupDesign:
    """Two groups of ``n_per_group`` with normal outcomes (SD ``sd``): the textbook
    design whose power has a closed form (:meth:`analytic_power`), to check the
    simulation machinery against.

    Examples
    --------
    >>> round(TwoGroupDesign(n_per_group=64).analytic_power(0.5), 3)
    0.801
    """

    n_per_group: int = 50
    sd: float = 1.0

    label = "two groups, t test"
    parameter = "mean difference"

    def simulate(self, effect: float, rng: np.random.Generator) -> pd.DataFrame:
        n = int(self.n_per_group)
        y = rng.normal(0.0, self.sd, 2 * n)
        y[n:] += effect
        return pd.DataFrame({"treated": np.repeat([0, 1], n), "y": y})

    def test(self, data: pd.DataFrame) -> Replicate:
        treated = data["treated"].to_numpy() == 1
        a, b = data["y"].to_numpy()[treated], data["y"].to_numpy()[~treated]
        res = stats.ttest_ind(a, b)
        diff = float(a.mean() - b.mean())
        return Replicate(diff, diff / float(res.statistic), float(res.pvalue))

    def analytic_power(self, effect: float, alpha: float = 0.05,
                       alternative: str = "two-sided") -> float:
        """Exact power of the two-sample t test (noncentral t)."""
        n = int(self.n_per_group)
        df, ncp = 2 * n - 2, effect / (self.sd * np.sqrt(2.0 / n))
        if alternative == "two-sided":
            crit = stats.t.ppf(1 - alpha / 2, df)
            return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
        crit = stats.t.ppf(1 - alpha, df)
        sign = 1.0 if alternative == "greater" else -1.0
        return float(stats.nct.sf(crit, df, sign * ncp))

    def describe(self) -> dict:
        return describe_design(self)


def term_replicate(result, term: str) -> Replicate:
    row = result.tidy().set_index("term").loc[term]
    converged = bool(getattr(result, "converged", True))
    return Replicate(float(row["estimate"]), float(row["std_error"]), float(row["p_value"]),
                     converged)


def _check(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise SpecificationError(f"{name} must be {rule}; got {value!r}")


__all__ = ["Replicate", "TwoGroupDesign", "describe_design", "term_replicate"]
