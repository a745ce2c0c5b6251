"""The ``df=`` choice of a linear mixed model: Wald z, Satterthwaite or Kenward-Roger.

``"wald"`` keeps lme4's ``summary`` (z and chi-squared); ``"satterthwaite"`` adds
lmerTest's per-term df and joint-test rule (:mod:`ipnstats.estimators.lmm_df`);
``"kenward-roger"`` replaces the covariance by pbkrtest's adjusted one and adds its df
(:mod:`ipnstats.estimators.lmm_kr`). See docs/inference.md, "Mixed models".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.lmm import RandomTerm
from ipnstats.estimators.lmm_df import EIGEN_TOL, VarparModel, satterthwaite
from ipnstats.estimators.lmm_kr import kenward_roger
from ipnstats.results.notes import Note
from ipnstats.results.result import Result

DfMethod = Literal["wald", "satterthwaite", "kenward-roger"]
DF_METHODS = ("wald", "satterthwaite", "kenward-roger")
R = TypeVar("R", bound=Result)


def check_df_method(df: object, reml: bool = True) -> None:
    """``df`` must be one of :data:`DF_METHODS`; Kenward-Roger needs REML."""
    if df not in DF_METHODS:
        raise SpecificationError(f"df must be 'wald' (z, lme4's summary), 'satterthwaite' "
                                 f"(t, lmerTest's default) or 'kenward-roger' (pbkrtest), "
                                 f"got {df!r}")
    if df == "kenward-roger" and not reml:
        raise SpecificationError("df='kenward-roger' is defined for REML fits only (as in "
                                 "pbkrtest and lmerTest); use reml=True, or "
                                 "df='satterthwaite' with reml=False")


def with_df(res: R, df: str, X: np.ndarray, y: np.ndarray, terms: Sequence[RandomTerm],
            theta: np.ndarray, reml: bool) -> R:
    """``res`` (a fitted mixed model with ``fit["sigma"]``) with its df method in
    ``extra["df_method"]`` and, for Satterthwaite and Kenward-Roger, per-term df
    (``df_terms``) and the joint-test rule (``contrast_df``); Kenward-Roger also puts its
    adjusted covariance in ``cov``. ``X`` as reported (not centred), ``theta`` in the
    order of ``terms``."""
    extra = {**res.extra, "df_method": df}
    if df == "wald":
        return dataclasses.replace(res, extra=extra)
    model = VarparModel(np.asarray(X, float), np.asarray(y, float), tuple(terms), reml)
    varpar = np.append(theta, res.fit["sigma"])
    if df == "kenward-roger":
        kr = kenward_roger(model, varpar)
        cov = pd.DataFrame(kr.vcov_adjusted, index=res.params.index, columns=res.params.index)
        return dataclasses.replace(res, extra=extra, cov=cov, contrast_df=kr.contrast_df,
                                   df_terms=pd.Series(kr.df_terms(), index=res.params.index))
    sat = satterthwaite(model, varpar)
    notes = res.notes
    if (sat.eigenvalues < -EIGEN_TOL).any():
        notes += (Note("df_hessian",
            "The Hessian of the deviance in the variance parameters has a negative "
            "eigenvalue (lmerTest: 'Model failed to converge'); the Satterthwaite df leave "
            "that direction out and may be unreliable."),)
    return dataclasses.replace(res, extra=extra, notes=notes, contrast_df=sat.contrast_df,
                               df_terms=pd.Series(sat.df_terms(), index=res.params.index))


__all__ = ["DF_METHODS", "DfMethod", "check_df_method", "with_df"]
