"""Crossed (or nested) random intercepts with numeric fixed effects: lme4's
``lmer(y ~ x1 + ... + (1 | g1) + (1 | g2))`` without a formula.

A thin front end of :func:`ipnstats.estimators.mixed.fit_lmm` (profiled REML as lme4; see
:mod:`ipnstats.estimators.mixed` for the numerics, the optimiser and convergence checks) for
callers that hold column names rather than a formula.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    require_numeric_roles,
)
from ipnstats.estimators.lmm_inference import DfMethod, check_df_method
from ipnstats.estimators.mixed import (  # noqa: F401  (re-exported: the crossed API's names)
    SINGULAR_THETA,
    MixedResult,
    RandomTerm,
    fit_lmm,
    minimise_deviance,
)


@renamed(y="outcome", x="covariates")
def crossed_effects(data: pd.DataFrame, *, outcome: str, covariates: Sequence[str] = (),
                    groups: str | Sequence[str], reml: bool = True,
                    df: DfMethod = "wald") -> MixedResult:
    """Linear mixed model with random intercepts for crossed or nested groups (lme4).

    The model of ``lmer(outcome ~ 1 + x1 + ... + (1 | g1) + (1 | g2) + ...)``, fitted by
    profiled REML (or ML) as lme4 does; see the module notes.

    Parameters
    ----------
    data
        One row per observation.
    outcome
        Numeric outcome column (formerly ``y=``).
    covariates
        Numeric columns with fixed effects besides the intercept (make dummies for
        categories; formerly ``x=``).
    groups
        One or several grouping columns, each with a random intercept, e.g.
        ``("receiver_id", "sender_id")``.
    reml
        REML (default, lme4's default) or maximum likelihood.
    df
        ``"wald"`` (default, z as lme4's ``summary``), ``"satterthwaite"`` (lmerTest's t
        and F tests) or ``"kenward-roger"`` (pbkrtest; REML only); see
        :func:`~ipnstats.estimators.mixed.mixed_model`.

    Returns
    -------
    MixedResult
        Terms ``Intercept`` and ``covariates``; ``cov`` is ``sigma^2 (X'V^-1X)^-1`` and inference
        is Wald z (``df_inference=None``) or, with ``df="satterthwaite"`` or
        ``"kenward-roger"``, t with per-term df (``tidy()``'s ``df`` column).
        ``variance_components()``, ``random_effects(group)``, ``converged`` and
        ``optimizer``; ``n_units`` counts the levels of the first group. Notes report
        left-out rows, non-convergence and variances estimated as zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"r": rng.integers(0, 30, 900), "s": rng.integers(0, 30, 900)})
    >>> df["y"] = (rng.normal(0, 0.5, 30)[df["r"]] + rng.normal(0, 0.8, 30)[df["s"]]
    ...            + rng.normal(size=900))
    >>> res = crossed_effects(df, outcome="y", groups=("r", "s"))
    >>> res.variance_components()["group"].tolist()
    ['r', 's', 'Residual']
    """
    check_df_method(df, reml)
    y = outcome
    xs = column_names(covariates, "covariates")
    gs = column_names(groups, "groups")
    _check_columns(data, y, xs, gs)
    frame, notes = complete_rows(data, [y, *xs, *gs])
    terms = _intercept_terms(frame, gs)
    X = np.column_stack([np.ones(len(frame)), frame[list(xs)].to_numpy(float)])
    bad = [n for n, k in zip(("Intercept", *xs), _independent(X), strict=True) if not k]
    if bad:
        raise SpecificationError(f"covariate(s) {bad} are constant or collinear with the "
                                 "intercept and the other covariates; drop them")
    formula = f"{y} ~ {' + '.join(['1', *xs])}"
    return fit_lmm(frame, frame[y].to_numpy(float), X, ("Intercept", *xs), terms, reml=reml,
                   outcome=y, formula=formula + "".join(f" + (1 | {g})" for g in gs),
                   notes=notes, df=df)


def _independent(X: np.ndarray) -> np.ndarray:
    from ipnstats.estimators.linear import independent_columns

    return independent_columns(X)


def _intercept_terms(frame: pd.DataFrame, gs: tuple[str, ...]) -> list[RandomTerm]:
    terms = []
    for position, g in enumerate(gs):
        codes, levels = pd.factorize(frame[g].to_numpy())
        if len(levels) >= len(frame):
            raise SpecificationError(f"group column {g!r} has a level for every row "
                                     f"({len(levels):,}): its variance cannot be told apart "
                                     "from the residual's")
        terms.append(RandomTerm(g, g, ("(Intercept)",), codes.astype(np.int64),
                                pd.Index(levels), np.ones((len(frame), 1)),
                                position=position))
    return terms


# ------------------------------------------------------------------- checks


def _check_columns(data: pd.DataFrame, y: str, xs: tuple[str, ...],
                   gs: tuple[str, ...]) -> None:
    if not gs or "Residual" in gs:
        raise SpecificationError("groups must name at least one grouping column, none of them "
                                 f"called 'Residual' (rename it); got {list(gs)}")
    require_numeric_roles(data, [y, *xs, *gs], "outcome, covariates, groups",
                          numeric=[y, *xs])


__all__ = ["crossed_effects"]
