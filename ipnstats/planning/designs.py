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
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ..results.vcov import Cluster


class Replicate(NamedTuple):
    """One simulated data set's test: estimate, SE, two-sided p and fit notes."""

    estimate: float
    std_error: float
    p_value: float
    converged: bool = True


def _describe(design) -> dict:
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
        return _describe(self)


@dataclass(frozen=True)
class H1Design:
    """Staggered joins of firms into peer groups (H1a).

    ``n_firms`` firms are observed for ``n_years`` years from ``first_year``:
    ``n_groups * group_size`` of them join, each in one of the ``cohorts`` (equal
    shares), and fill ``n_groups`` peer groups of ``group_size``; the others never join
    and belong to no group (with group clustering each is its own cluster, as in the
    study run). The effect of joining is ``effect`` in the
    joining year and grows by ``growth`` per year of tenure for ``growth_years``
    years. Outcomes carry a firm effect, a common trend, a group-year shock (SD
    ``group_sd``) and AR(1) noise (``rho``, innovation SD ``noise_sd``), as
    :func:`~ipnstats.simulate.staggered.staggered_panel` draws them. The test is the
    study's: Callaway-Sant'Anna's simple ATT (``estimator="cs"``, analytic SEs) or the
    TWFE coefficient (``"twfe"``), clustered by peer group or by firm.
    """

    n_firms: int = 500
    n_groups: int = 15
    group_size: int = 20
    first_year: int = 2012
    n_years: int = 10
    cohorts: tuple[int, ...] = (2015, 2016, 2017, 2018)
    growth: float = 0.0
    growth_years: int = 4
    rho: float = 0.5
    noise_sd: float = 0.2
    group_sd: float = 0.05
    estimator: Literal["cs", "twfe"] = "cs"
    cluster: Literal["group", "firm"] = "group"
    control_group: Literal["not_yet_treated", "never_treated"] = "not_yet_treated"

    label = "H1: staggered joins into peer groups"
    parameter = "effect of joining"

    def __post_init__(self):
        _check(self.estimator in ("cs", "twfe"), "estimator", self.estimator, "'cs' or 'twfe'")
        _check(self.cluster in ("group", "firm"), "cluster", self.cluster, "'group' or 'firm'")
        joiners = self.n_groups * self.group_size
        _check(self.n_groups >= 1 and self.group_size >= 1 and joiners <= self.n_firms,
               "n_firms", self.n_firms, f"at least n_groups x group_size = {joiners}")
        years = range(self.first_year, self.first_year + self.n_years)
        _check(len(self.cohorts) > 0 and all(c in years[1:] for c in self.cohorts), "cohorts",
               self.cohorts, f"join years within {years[1]}-{years[-1]}")

    def simulate(self, effect: float, rng: np.random.Generator) -> pd.DataFrame:
        tenure = np.minimum(np.arange(self.n_years), self.growth_years)
        from ..simulate.staggered import staggered_panel

        return staggered_panel(
            n_firms=self.n_firms, years=range(self.first_year, self.first_year + self.n_years),
            cohorts=(0, *self.cohorts), effect=effect + self.growth * tenure,
            n_groups=self.n_groups, group_size=self.group_size, group_sd=self.group_sd,
            rho=self.rho, noise_sd=self.noise_sd, seed=rng)

    def test(self, data: pd.DataFrame) -> Replicate:
        from ..models.did import participation_effect

        cluster = Cluster("group_id" if self.cluster == "group" else "firm_id")
        res = participation_effect(data, outcome="y", unit="firm_id", time="year",
                                   cohort="cohort", estimator=self.estimator,
                                   control_group=self.control_group, vcov=cluster, n_boot=0)
        return _term(res, res.tidy()["term"].iloc[0])

    def describe(self) -> dict:
        return _describe(self)


@dataclass(frozen=True)
class H2Design:
    """Question exchanges framed as losses, gains or neutrally (H2a, H2c).

    ``n_receivers`` firms each receive ``exchanges_per_receiver`` answers from senders
    drawn at random among ``n_senders``, framed with ``framing_shares`` (loss, gain,
    neutral). ``parameter="loss"`` varies the effect of loss against gain framing on
    cognitive shift (``moderation`` held fixed) and tests it as the study does, with
    crossed receiver and sender random intercepts; ``"moderation"`` varies the loss x
    receiver loss aversion interaction (``loss_effect`` held fixed), tested by OLS with
    SEs clustered by receiver and sender. Variance components default to the study
    simulator's.
    """

    n_receivers: int = 150
    n_senders: int = 150
    exchanges_per_receiver: int = 20
    framing_shares: tuple[float, float, float] = (0.35, 0.35, 0.30)
    parameter: Literal["loss", "moderation"] = "loss"
    loss_effect: float = 0.5
    moderation: float = 0.2
    sd_sender: float = 0.5
    sd_receiver: float = 0.7
    sd_exchange: float = 1.2

    label = "H2: loss- vs gain-framed exchanges"

    def __post_init__(self):
        _check(self.parameter in ("loss", "moderation"), "parameter", self.parameter,
               "'loss' or 'moderation'")
        _check(len(self.framing_shares) == 3 and abs(sum(self.framing_shares) - 1) < 1e-9,
               "framing_shares", self.framing_shares, "three shares summing to 1")

    def simulate(self, effect: float, rng: np.random.Generator) -> pd.DataFrame:
        from ..simulate.common import _Effects
        from ..simulate.framing import framing_exchanges

        loss, mod = ((effect, self.moderation) if self.parameter == "loss"
                     else (self.loss_effect, effect))
        eff = dataclasses.replace(_Effects(), cs_loss=loss, cs_la_x_loss=mod,
                                  sd_sender=self.sd_sender, sd_receiver=self.sd_receiver,
                                  sd_exchange=self.sd_exchange)
        return framing_exchanges(n_receivers=self.n_receivers, n_senders=self.n_senders,
                                 exchanges_per_receiver=self.exchanges_per_receiver,
                                 effects=eff, framing_shares=tuple(self.framing_shares),
                                 seed=rng)

    def test(self, data: pd.DataFrame) -> Replicate:
        if self.parameter == "loss":
            from ..models.framing import framing_effect

            return _term(framing_effect(data), "framing::loss")
        from ..models.moderation import moderation

        res = moderation(data, y="cognitive_shift", x="loss", w="receiver_loss_aversion",
                         vcov=Cluster("receiver_id", "sender_id"))
        return _term(res, "loss:receiver_loss_aversion")

    def describe(self) -> dict:
        return _describe(self)


@dataclass(frozen=True)
class H3Design:
    """Learning from risk-averse senders (H3a) and steeper learning curves (H3b).

    ``parameter="sender_risk_aversion"`` varies the effect of a sender's risk aversion
    (per point of its 1-7 scale, SD about 1) on the receiver's cognitive shift, in the
    exchange design of :class:`H2Design`, and tests it with the study's sender-traits
    model (crossed random intercepts, traits standardised: the estimate is per SD).
    ``"learning_curve"`` varies the experience x exposure interaction of the task
    design: ``n_firms`` firms with ``tasks_per_firm`` tasks, a share
    ``share_exposed_firms`` receiving questions from risk-averse senders at
    ``exposure_rate`` per task; the test is the study's learning curve (firm random
    intercepts and slopes, simplified as the study does when the fit is singular).
    Negative values steepen the curve.
    """

    parameter: Literal["sender_risk_aversion", "learning_curve"] = "sender_risk_aversion"
    n_receivers: int = 150
    n_senders: int = 150
    exchanges_per_receiver: int = 20
    n_firms: int = 200
    tasks_per_firm: tuple[int, int] = (3, 12)
    share_exposed_firms: float = 0.5
    exposure_rate: float = 0.6

    label = "H3: learning from risk-averse senders"

    def __post_init__(self):
        _check(self.parameter in ("sender_risk_aversion", "learning_curve"), "parameter",
               self.parameter, "'sender_risk_aversion' or 'learning_curve'")

    def simulate(self, effect: float, rng: np.random.Generator) -> pd.DataFrame:
        from ..simulate.common import _Effects

        if self.parameter == "sender_risk_aversion":
            from ..simulate.framing import framing_exchanges

            eff = dataclasses.replace(_Effects(), cs_sender_ra=effect)
            return framing_exchanges(n_receivers=self.n_receivers, n_senders=self.n_senders,
                                     exchanges_per_receiver=self.exchanges_per_receiver,
                                     effects=eff, seed=rng)
        from ..simulate.learning import learning_tasks

        eff = dataclasses.replace(_Effects(), task_exposure_x=effect)
        return learning_tasks(n_firms=self.n_firms, tasks_per_firm=tuple(self.tasks_per_firm),
                              share_exposed_firms=self.share_exposed_firms,
                              exposure_rate=self.exposure_rate, effects=eff, seed=rng)

    def test(self, data: pd.DataFrame) -> Replicate:
        if self.parameter == "sender_risk_aversion":
            from ..models.senders import sender_effects

            return _term(sender_effects(data, covariates=("loss",)), "sender_risk_aversion")
        fit = _learning_curve(data)
        return _term(fit, fit.interaction_term)

    def describe(self) -> dict:
        return _describe(self)


def _learning_curve(tasks: pd.DataFrame):
    """The study's learning curve: correlated random slopes, then uncorrelated, then
    intercepts only, stepping down while the fit is singular."""
    from ..models.learning import learning_curve

    for options in (dict(re_cov="unstructured"), dict(re_cov="diagonal"),
                    dict(random_slopes=False)):
        fit = learning_curve(tasks, moderator="exposure", covariates=("log_n_sources",),
                             **options)
        if not fit.singular:
            break
    return fit


def _term(result, term: str) -> Replicate:
    row = result.tidy().set_index("term").loc[term]
    converged = bool(getattr(result, "converged", True))
    return Replicate(float(row["estimate"]), float(row["std_error"]), float(row["p_value"]),
                     converged)


def _check(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {rule}; got {value!r}")


DESIGNS = {"two_group": TwoGroupDesign, "h1": H1Design, "h2": H2Design, "h3": H3Design}

__all__ = ["DESIGNS", "H1Design", "H2Design", "H3Design", "Replicate", "TwoGroupDesign"]
