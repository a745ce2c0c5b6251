"""H3a: which sender traits teach receivers most? Standardized trait effects, compared.

``sender_effects`` regresses the receiver's learning (cognitive shift) on the sender's
traits, an inward psychological one (risk aversion) and the literature's outward ones
(size, age, success, status, same industry), each standardized to one SD over the
estimation rows so that their effects compare. Two models, side by side:

- the main model: crossed sender and receiver random intercepts (lme4's
  ``lmer(y ~ z1 + ... + (1 | receiver) + (1 | sender))``, REML, Wald z), or for a 0/1
  outcome a logistic GEE clustered on receivers;
- the robustness model: pooled OLS (logit for a 0/1 outcome) with standard errors
  clustered two ways, by sender and by receiver (Cameron, Gelbach & Miller 2011;
  Stata ``reghdfe y z*, noabsorb vce(cluster sender receiver)``, fixest
  ``vcov = ~sender + receiver``).

``comparisons()`` tests, in each model, that the focal trait's effect exceeds each
other trait's: ``H0: b_focal - b_k <= 0`` against ``b_focal - b_k > 0`` (a Wald test
on the difference with the full covariance), with Holm's adjustment across the
comparisons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    missing_column_error,
    require_numeric_roles,
)
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.crossed import crossed_effects
from ipnstats.estimators.gee import logistic_gee
from ipnstats.estimators.glm import MLEngine, fit_logit
from ipnstats.estimators.linear import LinearEngine, ols
from ipnstats.inference.multiplicity import adjust_pvalues
from ipnstats.results.inference import check_conf_level, coef_table, one_sided_p
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster

TRAITS = ("risk_aversion", "size", "age", "success", "status", "same_industry")


@dataclass(frozen=True, repr=False)
class SenderEffectsResult(Result):
    """Sender-trait effects (per SD when ``standardized``) from the main model.

    ``traits`` are the trait columns (terms of ``params``), ``focal`` the one compared
    with the others, ``trait_sd`` the SDs used to standardize; ``model`` is the main
    fit (a ``MixedResult`` with ``variance_components()``, or the GEE) and
    ``robustness`` the two-way clustered pooled model.
    """

    traits: tuple[str, ...] = ()
    focal: str = ""
    standardized: bool = True
    trait_sd: Mapping[str, float] = field(default_factory=dict)
    model: Result | None = field(default=None, repr=False, compare=False)
    robustness: Result | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        object.__setattr__(self, "trait_sd", MappingProxyType(dict(self.trait_sd)))

    def comparisons(self, model: str = "main", conf_level: float = 0.95) -> pd.DataFrame:
        """``focal - other`` for each other trait: tidy columns plus ``p_one_sided``
        (against ``focal > other``) and ``p_holm`` (Holm across the comparisons).

        ``model="main"`` (this result) or ``"robustness"`` (two-way clustered OLS).
        """
        fit = {"main": self, "robustness": self.robustness}.get(model)
        if fit is None:
            raise SpecificationError(f"model must be 'main' or 'robustness', got {model!r}")
        return trait_comparisons(fit, self.focal, [t for t in self.traits if t != self.focal],
                                 conf_level)

    def variance_components(self) -> pd.DataFrame:
        """The main model's variance components (see ``MixedResult``)."""
        return self.model.variance_components()


def trait_comparisons(fit: Result, focal: str, others: Sequence[str],
                      conf_level: float = 0.95) -> pd.DataFrame:
    """One-sided Wald tests of ``b_focal > b_k`` for each ``k`` in ``others``."""
    level = check_conf_level(conf_level)
    names = list(fit.params.index)
    kept = [k for k in others if k in names]
    R = np.zeros((len(kept), len(names)))
    for i, k in enumerate(kept):
        R[i, names.index(focal)], R[i, names.index(k)] = 1.0, -1.0
    est = R @ fit.params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", R, fit.cov.to_numpy(), R))
    labels = [f"{focal} - {k}" for k in kept]
    table = coef_table(pd.Series(est, index=labels), pd.Series(se, index=labels),
                       fit.df_inference, level)
    table["p_one_sided"] = one_sided_p(table["statistic"].to_numpy(), fit.df_inference,
                                       "greater")
    table["p_holm"] = adjust_pvalues(table["p_one_sided"].to_numpy(), "holm")
    return table


# ----------------------------------------------------------------------- entry point


@renamed(exchanges="data")
def sender_effects(data: pd.DataFrame, *, outcome: str = "cognitive_shift",
                   traits: Sequence[str] = TRAITS, sender: str = "sender_id",
                   receiver: str = "receiver_id", covariates: Sequence[str] = (),
                   standardize: bool = True, family: str = "gaussian",
                   focal: str | None = None) -> SenderEffectsResult:
    """Sender traits' effects on what receivers learn, inward against outward (H3a).

    Parameters
    ----------
    data
        The exchange frame (``Study.exchanges``): one row per exchange.
    outcome
        What the receiver learned, e.g. ``"cognitive_shift"`` (or the 0/1
        ``"behavior_change"`` with ``family="binomial"``).
    traits
        Sender traits; each names the column ``sender_<trait>`` when it exists, else
        the column itself (``same_industry``).
    sender, receiver
        Sender and receiver id columns.
    covariates
        Numeric columns held constant, left unstandardized (e.g. framing dummies).
    standardize
        Divide each trait (centred) by its SD over the estimation rows: coefficients
        are effects of one SD, comparable across traits.
    family
        ``"gaussian"`` (crossed random intercepts) or ``"binomial"`` (logistic GEE on
        receivers; the robustness model is a logit with two-way clustered SEs).
    focal
        The trait compared with the others (default: the first of ``traits``).

    Returns
    -------
    SenderEffectsResult
        The main model's estimates (terms: Intercept, the trait columns, covariates);
        ``robustness`` (two-way clustered pooled model), ``comparisons()``,
        ``variance_components()``; notes count left-out rows.

    Examples
    --------
    >>> from ipnstats.simulate import framing_exchanges
    >>> ex = framing_exchanges(n_receivers=60, n_senders=60, exchanges_per_receiver=15)
    >>> res = sender_effects(ex, covariates=("loss",))
    >>> res.comparisons()["term"].tolist()[:2]
    ['sender_risk_aversion - sender_size', 'sender_risk_aversion - sender_age']
    """
    trait_cols = _trait_columns(data, column_names(traits, "traits"))
    covs = column_names(covariates, "covariates")
    if family not in ("gaussian", "binomial"):
        raise SpecificationError(f"family must be 'gaussian' or 'binomial', got {family!r}")
    focal_col = trait_cols[0] if focal is None else _trait_columns(data, (focal,))[0]
    if focal_col not in trait_cols:
        raise SpecificationError(f"focal trait {focal!r} is not among traits {list(traits)}")
    require_numeric_roles(data, [outcome, *trait_cols, *covs], "outcome, traits, "
                          "covariates")
    frame, notes = complete_rows(data, [outcome, *trait_cols, *covs, sender, receiver],
                                 "exchanges")
    sd = {c: float(frame[c].std(ddof=1)) for c in trait_cols}
    flat = [c for c, s in sd.items() if not s > 0]
    if flat:
        raise SpecificationError(f"trait column(s) {flat} do not vary over the {len(frame):,} "
                                 "complete exchanges")
    design = frame.copy()
    if standardize:
        for c in trait_cols:
            design[c] = (frame[c] - frame[c].mean()) / sd[c]
    x = (*trait_cols, *covs)
    if family == "gaussian":
        main = _crossed(design, outcome, x, receiver, sender)
        robust = _pooled_ols(design, outcome, x, sender, receiver)
    else:
        X = np.column_stack([np.ones(len(design)), design[list(x)].to_numpy(float)])
        main = logistic_gee(design[outcome].to_numpy(float), X, ("Intercept", *x),
                            pd.factorize(design[receiver].to_numpy())[0], receiver,
                            outcome=outcome, formula=f"logit {outcome} ~ {' + '.join(x)}")
        robust = _pooled_logit(design, outcome, x, sender, receiver)
    return SenderEffectsResult(
        **{f.name: getattr(main, f.name) for f in dataclasses.fields(Result)}
        | {"notes": notes + main.notes}, traits=trait_cols, focal=focal_col,
        standardized=standardize, trait_sd=sd, model=main, robustness=robust)


def _trait_columns(data: pd.DataFrame, traits: tuple[str, ...]) -> tuple[str, ...]:
    absent = [t for t in traits if f"sender_{t}" not in data.columns and t not in data.columns]
    if absent:
        raise missing_column_error(f"sender_{absent[0]}", data.columns,
                                   f"trait {absent[0]!r} (column 'sender_{absent[0]}' or "
                                   f"'{absent[0]}'):")
    cols = tuple(f"sender_{t}" if f"sender_{t}" in data.columns else t for t in traits)
    if len(set(cols)) != len(cols):
        raise SpecificationError(f"traits name a column twice: {list(traits)}")
    return cols


def _crossed(design, outcome, x, receiver, sender) -> Result:
    repeated = int((design[sender].value_counts() > 1).sum())
    groups, notes = (receiver, sender), ()
    if repeated < 2:
        groups = (receiver,)
        notes = (Note("random_effect_dropped",
            f"Sender random intercepts were left out: only {repeated} sender(s) have "
            "more than one exchange."),)
    fit = crossed_effects(design, outcome=outcome, covariates=x, groups=groups)
    return dataclasses.replace(fit, notes=notes + fit.notes)


def _pooled_ols(design, outcome, x, sender, receiver) -> Result:
    n = len(design)
    X = np.column_stack([np.ones(n), design[list(x)].to_numpy(float)])
    yv = design[outcome].to_numpy(float)
    names = ("Intercept", *x)
    fit = ols(X, yv, names)
    engine = LinearEngine(X[:, fit.keep], fit.resid, fit.bread, design, np.arange(n))
    spec = Cluster(sender, receiver)
    inf = engine.compute(spec)
    index = pd.Index(fit.names)
    return Result(
        params=pd.Series(fit.beta, index=index), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=index, columns=index), df_inference=inf.df,
        estimator="pooled OLS, SEs clustered by sender and receiver", outcome=outcome,
        nobs=n, formula=f"{outcome} ~ {' + '.join(x)}", n_clusters=inf.n_clusters,
        fit=fit_statistics(yv, fit.resid, int(fit.keep.sum()), centered=True),
        collinear=fit.collinear, inference_notes=inf.notes, engine=engine,
        notes=((Note("collinear_dropped",
            "Dropped as collinear: " + ", ".join(fit.collinear) + ".")),)
        if fit.collinear else ())


def _pooled_logit(design, outcome, x, sender, receiver) -> Result:
    n = len(design)
    X = np.column_stack([np.ones(n), design[list(x)].to_numpy(float)])
    fit = fit_logit(X, design[outcome].to_numpy(float), rows="exchanges",
                    outcome="the outcome's 1s from its 0s")
    engine = MLEngine(fit.scores, fit.bread, design, np.arange(n), np.arange(X.shape[1]))
    spec = Cluster(sender, receiver)
    inf = engine.compute(spec)
    index = pd.Index(["Intercept", *x])
    k = X.shape[1]
    return Result(
        params=pd.Series(fit.beta, index=index), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=index, columns=index), df_inference=inf.df,
        estimator="pooled logit, SEs clustered by sender and receiver", outcome=outcome,
        nobs=n, formula=f"logit {outcome} ~ {' + '.join(x)}", n_clusters=inf.n_clusters,
        fit={"loglik": fit.loglik, "aic": -2 * fit.loglik + 2 * k,
             "bic": -2 * fit.loglik + np.log(n) * k},
        notes=fit.notes, inference_notes=inf.notes, engine=engine)


__all__ = ["SenderEffectsResult", "sender_effects", "trait_comparisons"]
