"""Power designs of the IPN hypotheses: what to simulate and which test to run.

``H1Design``, ``H2Design`` and ``H3Design`` draw a data set from the study simulator's
own generators and fit the estimator the study itself uses; :func:`ipnstats.power`
runs them as it runs any design of :mod:`ipnstats.planning.designs`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.planning.designs import (
    Replicate,
    TwoGroupDesign,
    _check,
    describe_design,
    term_replicate,
)
from ipnstats.results.vcov import Cluster


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
        from ipnstats.simulate.staggered import staggered_panel

        return staggered_panel(
            n_firms=self.n_firms, years=range(self.first_year, self.first_year + self.n_years),
            cohorts=(0, *self.cohorts), effect=effect + self.growth * tenure,
            n_groups=self.n_groups, group_size=self.group_size, group_sd=self.group_sd,
            rho=self.rho, noise_sd=self.noise_sd, seed=rng)

    def test(self, data: pd.DataFrame) -> Replicate:
        from ipnstats.estimators.did import participation_effect, twfe_did

        cluster = Cluster("group_id" if self.cluster == "group" else "firm_id")
        columns = dict(outcome="y", unit="firm_id", time="year", cohort="cohort")
        if self.estimator == "twfe":
            res = twfe_did(data, **columns, vcov=cluster)
        else:
            res = participation_effect(data, **columns, control_group=self.control_group,
                                       vcov=cluster, n_boot=0)
        return term_replicate(res, res.tidy()["term"].iloc[0])

    def describe(self) -> dict:
        return describe_design(self)


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
        from ipnstats.simulate.common import _Effects
        from ipnstats.simulate.framing import framing_exchanges

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
            from ipnstats.ipn.framing import framing_effect

            return term_replicate(framing_effect(data), "framing::loss")
        from ipnstats.estimators.moderation import moderation

        res = moderation(data, y="cognitive_shift", x="loss", w="receiver_loss_aversion",
                         vcov=Cluster("receiver_id", "sender_id"))
        return term_replicate(res, "loss:receiver_loss_aversion")

    def describe(self) -> dict:
        return describe_design(self)


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
        from ipnstats.simulate.common import _Effects

        if self.parameter == "sender_risk_aversion":
            from ipnstats.simulate.framing import framing_exchanges

            eff = dataclasses.replace(_Effects(), cs_sender_ra=effect)
            return framing_exchanges(n_receivers=self.n_receivers, n_senders=self.n_senders,
                                     exchanges_per_receiver=self.exchanges_per_receiver,
                                     effects=eff, seed=rng)
        from ipnstats.simulate.learning import learning_tasks

        eff = dataclasses.replace(_Effects(), task_exposure_x=effect)
        return learning_tasks(n_firms=self.n_firms, tasks_per_firm=tuple(self.tasks_per_firm),
                              share_exposed_firms=self.share_exposed_firms,
                              exposure_rate=self.exposure_rate, effects=eff, seed=rng)

    def test(self, data: pd.DataFrame) -> Replicate:
        if self.parameter == "sender_risk_aversion":
            from ipnstats.ipn.senders import sender_effects

            fit = sender_effects(data, covariates=("loss",))
            return term_replicate(fit, "sender_risk_aversion")
        fit = _learning_curve(data)
        return term_replicate(fit, fit.interaction_term)

    def describe(self) -> dict:
        return describe_design(self)


def _learning_curve(tasks: pd.DataFrame):
    """The study's learning curve: correlated random slopes, then uncorrelated, then
    intercepts only, stepping down while the fit is singular."""
    from ipnstats.estimators.learning import learning_curve

    for options in (dict(re_cov="unstructured"), dict(re_cov="diagonal"),
                    dict(random_slopes=False)):
        fit = learning_curve(tasks, outcome="outcome", experience="cum_experience",
                             unit="firm_id", moderator="exposure",
                             covariates=("log_n_sources",), **options)
        if not fit.singular:
            break
    return fit


DESIGNS = {"two_group": TwoGroupDesign, "h1": H1Design, "h2": H2Design, "h3": H3Design}

__all__ = ["DESIGNS", "H1Design", "H2Design", "H3Design"]
