"""Do loss-framed exchanges shift cognition more than gain-framed ones (H2a)?

``framing_effect`` regresses an exchange outcome on the framing of the exchange
(dummies for every level but the reference) and optional covariates, with the
dependence of a receiver's (and a sender's) exchanges handled in one of three ways:

- gaussian, ``effects="random"``: a linear mixed model with receiver random
  intercepts and crossed sender random intercepts, fitted by REML as lme4
  (:func:`~ipnstats.estimators.crossed.crossed_effects`); model-based SEs, Wald z.
- gaussian, ``effects="fixed"``: receiver fixed effects (within transformation) with
  SEs clustered two ways, by receiver and sender (one way, by receiver, without a
  sender column); ``t(G - 1)`` with G the smaller number of clusters.
- binomial: a logistic GEE with receivers as clusters, exchangeable working
  correlation and robust (sandwich) SEs, coefficients on the log-odds scale
  (statsmodels ``GEE``); normal inference.

Notes
-----
The fixed-effects ``Intercept`` is Stata's ``xtreg, fe`` constant: the regression of
``y - ybar_i + ybar`` on ``x - xbar_i + xbar`` and a constant, i.e. the mean receiver
effect, so that ``means()`` are defined. Its slopes and residuals are the within
ones; the iid degrees of freedom are ``n - k - G`` (k slopes, G receivers). The
shared clustered-SE engine counts that constant once more than ``xtreg`` when the
receiver effects are nested in the clusters (``(n-1)/(n-k-2)`` rather than
``(n-1)/(n-k-1)``, a relative change of about ``1/n`` in the variance).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from ipnstats.core.demean import demean
from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    require_numeric_roles,
)
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.crossed import crossed_effects
from ipnstats.estimators.gee import logistic_gee
from ipnstats.estimators.linear import Absorbed, LinearEngine, ols
from ipnstats.results.inference import coef_table
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster

Effects = Literal["random", "fixed"]
Family = Literal["gaussian", "binomial"]


@dataclass(frozen=True, repr=False)
class FramingResult(Result):
    """Framing effects (each level against ``reference``), with contrasts and means.

    ``levels`` lists the framing levels, the reference first; ``family`` is
    ``"gaussian"`` or ``"binomial"`` (log-odds coefficients); ``covariate_means`` are
    the covariates' means over the estimation rows, where ``means()`` are evaluated;
    ``model`` is the underlying fit (a ``MixedResult`` for random effects, with its
    ``variance_components()``), else None.
    """

    framing: str = "framing"
    levels: tuple[str, ...] = ()
    family: str = "gaussian"
    covariate_means: Mapping[str, float] = field(default_factory=dict)
    model: Result | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        object.__setattr__(self, "covariate_means",
                           MappingProxyType(dict(self.covariate_means)))

    def term(self, level: str) -> str | None:
        """The term of a framing level (None for the reference)."""
        return None if level == self.levels[0] else f"{self.framing}::{level}"

    def contrasts(self, conf_level: float = 0.95) -> pd.DataFrame:
        """All pairwise level differences, e.g. ``loss - gain``, ``loss - neutral``.

        Each non-reference level against the reference first, then the other pairs.
        Tidy columns (term, estimate, std_error, statistic, p_value, conf_low,
        conf_high); log odds ratios in binomial models.
        """
        ref, others = self.levels[0], self.levels[1:]
        pairs = [(a, ref) for a in others] + list(itertools.combinations(others, 2))
        rows = np.array([self._level_row(a) - self._level_row(b) for a, b in pairs])
        labels = [f"{a} - {b}" for a, b in pairs]
        return self._combinations(rows, labels, conf_level)

    def means(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Model-implied mean outcome of each level at the covariate means.

        Gaussian: tidy columns for the linear prediction. Binomial: the predicted
        probability, its delta-method SE and the interval of the log odds mapped to
        probabilities (``statistic`` and ``p_value`` are NaN).
        """
        base = np.zeros(len(self.params))
        names = list(self.params.index)
        base[names.index("Intercept")] = 1.0
        for name, mean in self.covariate_means.items():
            base[names.index(name)] = mean
        rows = np.array([base + self._level_row(level) for level in self.levels])
        table = self._combinations(rows, list(self.levels), conf_level)
        return table if self.family == "gaussian" else _probabilities(table)

    def _level_row(self, level: str) -> np.ndarray:
        row = np.zeros(len(self.params))
        term = self.term(level)
        if term is not None:
            row[list(self.params.index).index(term)] = 1.0
        return row

    def _combinations(self, rows: np.ndarray, labels: list[str],
                      conf_level: float) -> pd.DataFrame:
        est = rows @ self.params.to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", rows, self.cov.to_numpy(), rows))
        return coef_table(pd.Series(est, index=labels), pd.Series(se, index=labels),
                          self.df_inference, conf_level)


def _probabilities(table: pd.DataFrame) -> pd.DataFrame:
    p = expit(table["estimate"])
    return table.assign(estimate=p, std_error=p * (1 - p) * table["std_error"],
                        statistic=np.nan, p_value=np.nan, conf_low=expit(table["conf_low"]),
                        conf_high=expit(table["conf_high"]))


# ----------------------------------------------------------------------- entry point


@renamed(exchanges="data", effects="receiver_effects")
def framing_effect(data: pd.DataFrame, *, outcome: str = "cognitive_shift",
                   framing: str = "framing", reference: str = "gain",
                   receiver: str = "receiver_id", sender: str | None = "sender_id",
                   receiver_effects: Effects = "random", covariates: Sequence[str] = (),
                   family: Family | None = None) -> FramingResult:
    """Effect of an exchange's framing on its outcome, each level against ``reference``.

    Parameters
    ----------
    data
        One row per exchange (``Study.exchanges``).
    outcome
        Numeric outcome, e.g. ``"cognitive_shift"`` or the 0/1 ``"behavior_change"``.
    framing
        Categorical framing column (loss / gain / neutral).
    reference
        The level the others are compared with.
    receiver, sender
        Receiver and sender columns; ``sender=None`` leaves out sender effects and
        clusters.
    receiver_effects
        (Formerly ``effects=``.) Gaussian models: ``"random"`` (crossed receiver and
        sender random intercepts, REML; receiver only when fewer than 2 senders have
        several exchanges) or
        ``"fixed"`` (receiver fixed effects, SEs clustered by receiver and sender).
        Binomial models take only the default.
    covariates
        Numeric columns added to the model (make dummies for categories).
    family
        ``"gaussian"`` or ``"binomial"`` (logistic GEE clustered on receivers,
        exchangeable working correlation, robust SEs, log-odds coefficients; sender
        dependence is not modelled). None: binomial when the outcome is 0/1.

    Returns
    -------
    FramingResult
        Terms ``Intercept``, ``<framing>::<level>`` for each non-reference level and
        the covariates; ``contrasts()`` (all pairs of levels) and ``means()``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ex = pd.DataFrame({"receiver_id": rng.integers(0, 40, 800),
    ...                    "sender_id": rng.integers(0, 40, 800),
    ...                    "framing": rng.choice(["loss", "gain", "neutral"], 800)})
    >>> ex["cognitive_shift"] = (5 + 0.5 * (ex["framing"] == "loss")
    ...                          + rng.normal(0, 0.7, 40)[ex["receiver_id"]]
    ...                          + rng.normal(size=800))
    >>> res = framing_effect(ex)
    >>> res.contrasts()["term"].tolist()
    ['loss - gain', 'neutral - gain', 'loss - neutral']
    >>> framing_effect(ex, receiver_effects="fixed").vcov
    Cluster('receiver_id', 'sender_id')

    On a study: ``ipnstats.framing_effect(ipnstats.load_study("data/example").exchanges)``.
    """
    covs = column_names(covariates, "covariates")
    _check_options(data, outcome, framing, receiver, sender, covs, receiver_effects, family)
    fam = _family(data[outcome], outcome, family)
    if fam == "binomial" and receiver_effects == "fixed":
        raise SpecificationError("effects='fixed' is for gaussian outcomes; a 0/1 outcome gets "
                                 "a logistic GEE clustered on receivers (leave "
                                 "receiver_effects as is)")
    sender_used = sender if fam == "gaussian" else None
    used = [outcome, framing, receiver, *([sender_used] if sender_used else []), *covs]
    frame, notes = complete_rows(data, used, "exchanges")
    levels = _levels(frame[framing], framing, reference)
    dummies = pd.DataFrame({f"{framing}::{lv}": (frame[framing] == lv).to_numpy(float)
                            for lv in levels[1:]})
    design = pd.concat([frame.drop(columns=framing), dummies], axis=1)
    x = (*dummies.columns, *covs)
    if fam == "binomial":
        base, model = _gee(design, outcome, x, receiver), None
    elif receiver_effects == "random":
        base, model = _mixed(design, outcome, x, receiver, sender_used)
    else:
        base, model = _within(design, outcome, x, receiver, sender_used), None
    kept = [c for c in covs if c in base.params.index]
    return FramingResult(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Result)}
                         | {"notes": notes + base.notes}, framing=framing,
                         levels=tuple(str(lv) for lv in levels), family=fam,
                         covariate_means={c: float(frame[c].mean()) for c in kept},
                         model=model)


# ------------------------------------------------------------------- the three models


def _mixed(design, outcome, x, receiver, sender) -> tuple[Result, Result]:
    groups, notes = (receiver,), ()
    if sender is not None:
        repeated = int((design[sender].value_counts() > 1).sum())
        if repeated >= 2:
            groups = (receiver, sender)
        else:
            notes = (Note("random_effect_dropped",
                f"Sender random intercepts were left out: only {repeated} sender(s) "
                "have more than one exchange."),)
    fit = crossed_effects(design, outcome=outcome, covariates=x, groups=groups)
    label = f"linear mixed model (REML), random intercepts: {', '.join(groups)}"
    base = dataclasses.replace(Result(**{f.name: getattr(fit, f.name)
                                         for f in dataclasses.fields(Result)}),
                               estimator=label, notes=notes + fit.notes)
    return base, fit


def _within(design, outcome, x, receiver, sender) -> Result:
    """Receiver fixed effects, Stata ``xtreg, fe`` constant, clustered SEs."""
    codes, lv = pd.factorize(design[receiver].to_numpy())
    g, n = len(lv), len(design)
    M = design[[outcome, *x]].to_numpy(float)
    within, _, _ = demean(M, [(codes, g)])
    aug = within + M.mean(axis=0)
    X = np.column_stack([np.ones(n), aug[:, 1:]])
    reference = np.r_[n, ((M[:, 1:] - M[:, 1:].mean(axis=0)) ** 2).sum(axis=0)]
    fit = ols(X, aug[:, 0], ("Intercept", *x), reference=reference)
    lost = [t for t in fit.collinear if "::" in t or t == "Intercept"]
    if lost:
        raise SpecificationError(f"{lost} are constant within every {receiver!r}: the framing "
                                 "effect is not identified with receiver fixed effects")
    engine = LinearEngine(X[:, fit.keep], fit.resid, fit.bread, design, np.arange(n),
                          absorbed=(Absorbed(receiver, codes, g),), absorbed_df=g - 1)
    spec = Cluster(receiver, sender) if sender else Cluster(receiver)
    inf = engine.compute(spec)
    names = pd.Index(fit.names)
    notes = ((Note("collinear_dropped",
        "Dropped as collinear (with other covariates or the receiver fixed effects): "
        + ", ".join(fit.collinear) + ".")),) if fit.collinear else ()
    return Result(
        params=pd.Series(fit.beta, index=names), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=names, columns=names), df_inference=inf.df,
        estimator=f"within ({receiver} fixed effects)", outcome=outcome, nobs=n,
        formula=f"{outcome} ~ {' + '.join(x)} | {receiver}", n_units=g,
        n_clusters=inf.n_clusters, fixed_effects=(receiver,),
        fit=fit_statistics(M[:, 0], fit.resid, len(fit.beta) + g - 1, centered=True,
                           tss_within=float(within[:, 0] @ within[:, 0])),
        collinear=fit.collinear, notes=notes, inference_notes=inf.notes, engine=engine)


def _gee(design, outcome, x, receiver) -> Result:
    """Logistic GEE, exchangeable working correlation within receivers, robust SEs."""
    X = np.column_stack([np.ones(len(design)), design[list(x)].to_numpy(float)])
    codes = pd.factorize(design[receiver].to_numpy())[0]
    return logistic_gee(design[outcome].to_numpy(float), X, ("Intercept", *x), codes, receiver,
                        outcome=outcome, formula=f"logit {outcome} ~ {' + '.join(x)}")


# ------------------------------------------------------------------- checks and data


def _check_options(data, outcome, framing, receiver, sender, covs, effects, family) -> None:
    if effects not in ("random", "fixed"):
        raise SpecificationError(f"effects must be 'random' or 'fixed', got {effects!r}")
    if family not in (None, "gaussian", "binomial"):
        raise SpecificationError(f"family must be None, 'gaussian' or 'binomial', got {family!r}")
    require_numeric_roles(data, [outcome, framing, receiver, *([sender] if sender else []),
                                 *covs], "outcome, framing, receiver, sender, covariates",
                          numeric=[outcome, *covs])


def _family(values: pd.Series, outcome: str, family: Family | None) -> Family:
    binary = bool(values.dropna().isin((0, 1)).all()) and values.notna().any()
    if family == "binomial" and not binary:
        raise SpecificationError(f"family='binomial' needs a 0/1 outcome; {outcome!r} has "
                                 "other values")
    return family or ("binomial" if binary else "gaussian")


def _levels(values: pd.Series, framing: str, reference: object) -> list:
    """Observed levels, the reference first (category order, else sorted)."""
    present = set(values.unique())
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = [c for c in values.cat.categories if c in present]
    else:
        levels = sorted(present, key=str)
    if len(levels) < 2:
        raise SpecificationError(f"framing column {framing!r} has a single level "
                                 f"({levels[0]!r}) among the complete rows: nothing to compare"
                                 if levels else f"framing column {framing!r} has no values")
    match = [lv for lv in levels if lv == reference or str(lv) == str(reference)]
    if not match:
        raise SpecificationError(f"reference level {reference!r} is not in {framing!r}; the "
                                 f"levels found are {[str(lv) for lv in levels]}")
    return [match[0]] + [lv for lv in levels if lv != match[0]]


__all__ = ["FramingResult", "framing_effect"]
