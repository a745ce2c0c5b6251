"""Inverse probability weights from a logit propensity score.

:func:`ipw_weights` fits ``P(treated | covariates)`` by a logit (statsmodels ``Logit``);
ATT weights are 1 for the treated and ``p / (1 - p)`` for controls, ATE weights ``1 / p``
and ``1 / (1 - p)`` (WeightIt's ``method = "glm"``, unnormalised). Check the balance they
reach with :func:`~ipnstats.estimators.balance_table.balance_table`; for exact balance
of means see :func:`~ipnstats.estimators.balance.entropy_balance`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.core.formula import build_design, require_columns
from ipnstats.estimators.balance_covariates import (
    aligned_weights,
    covariate_names,
    ess_note,
    kish_ess,
    treatment_indicator,
)
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note

Estimand = Literal["att", "ate"]
#: propensities beyond [EXTREME, 1 - EXTREME] are reported as extreme
EXTREME = 0.01


@dataclass(frozen=True, repr=False)
class PropensityWeightsResult(TidyDisplay):
    """Inverse-probability weights from a logit propensity score.

    Attributes
    ----------
    treatment, formula, estimand
        The treatment, the propensity formula fitted and ``"att"`` or ``"ate"``.
    weights, propensity
        One value per row of ``data`` (missing for rows left out).
    coefficients
        The logit's ``tidy()`` frame (``term``, ``estimate``, ``std_error``,
        ``statistic``, ``p_value``, ``conf_low``, ``conf_high``; statsmodels' normal-law
        inference).
    trim, n_trimmed
        The propensity bound (None) and how many propensities were moved to it.
    n_treated, n_control, ess_treated, ess_control
        Group sizes and Kish effective sample sizes of the weights.
    notes
        ``missing_dropped``, ``limited_overlap``, ``propensity_trimmed``,
        ``low_effective_sample``, ``not_converged``.
    """

    treatment: str
    formula: str
    estimand: str
    weights: pd.Series = field(repr=False)
    propensity: pd.Series = field(repr=False)
    coefficients: pd.DataFrame = field(repr=False)
    trim: float | None
    n_trimmed: int
    n_treated: int
    n_control: int
    ess_treated: float
    ess_control: float
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """The propensity model's coefficients."""
        return self.coefficients.copy()

    def glance(self) -> pd.DataFrame:
        """One row: estimand, group sizes, effective sample sizes, propensity range."""
        p = self.propensity.dropna()
        return pd.DataFrame([{
            "method": "ipw", "estimand": self.estimand, "n_treated": self.n_treated,
            "n_control": self.n_control, "ess_treated": self.ess_treated,
            "ess_control": self.ess_control, "propensity_min": float(p.min()),
            "propensity_max": float(p.max()), "trim": self.trim,
            "n_trimmed": self.n_trimmed}])


def ipw_weights(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str], *,
                estimand: Estimand = "att", trim: float | None = None
                ) -> PropensityWeightsResult:
    """Inverse-probability weights from a logit propensity score.

    Parameters
    ----------
    data
        One row per unit.
    treatment
        A 0/1 (or boolean) column.
    covariates
        Column names (text columns enter as dummies), or the right-hand side of a
        formula (``"age + I(age**2) + C(race)"``, formulaic syntax) for the logit.
    estimand
        ``"att"``: treated 1, controls ``p / (1 - p)``; ``"ate"``: treated ``1 / p``,
        controls ``1 / (1 - p)``.
    trim
        None, or a bound ``a`` in (0, 0.5): propensities are clipped to ``[a, 1 - a]``
        before the weights are formed (a note counts them).

    Returns
    -------
    PropensityWeightsResult
        Notes flag propensities beyond [0.01, 0.99] and treated units whose propensity
        exceeds every control's (``limited_overlap``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (x + rng.normal(size=400) > 0.5).astype(int)})
    >>> ipw = ipw_weights(df, "d", ["x"])
    >>> ipw.tidy()[["term", "estimate"]].round(3)
            term  estimate
    0  Intercept    -0.909
    1          x     2.126
    >>> bool((ipw.weights[df.d == 1] == 1).all())
    True
    """
    import statsmodels.api as sm

    if estimand not in ("att", "ate"):
        raise SpecificationError(f"estimand must be 'att' or 'ate', got {estimand!r}")
    if trim is not None and not (isinstance(trim, float | int) and 0 < trim < 0.5):
        raise SpecificationError(f"trim must be None or a number in (0, 0.5), got {trim!r}")
    treatment_indicator(data, treatment)
    rhs = covariates if isinstance(covariates, str) and not _is_column(data, covariates) \
        else " + ".join(_quoted(data, n) for n in _names(covariates))
    formula = f"{treatment} ~ {rhs}"
    design = build_design(data, formula)
    d = design.y
    if d.min() == d.max():
        raise EstimationError(f"the complete rows of {formula!r} are all "
                              f"{'treated' if d[0] == 1 else 'controls'}: both groups needed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.Logit(d, design.X).fit(disp=0, maxiter=100)
        except Exception as exc:  # perfect separation, singular design
            raise EstimationError(f"the propensity logit {formula!r} cannot be fitted: "
                                  f"{exc}") from None
    p_raw = fit.predict(design.X)
    p = p_raw if trim is None else np.clip(p_raw, trim, 1 - trim)
    w = np.where(d == 1, 1.0 if estimand == "att" else 1 / p,
                 p / (1 - p) if estimand == "att" else 1 / (1 - p))
    notes = _ipw_notes(design.n_missing, p_raw, d, trim, fit, caught) \
        + ess_note(w[d == 0], "control") \
        + (ess_note(w[d == 1], "treated") if estimand == "ate" else ())
    conf = np.asarray(fit.conf_int())
    coef = pd.DataFrame({"term": list(design.names), "estimate": fit.params,
                         "std_error": fit.bse, "statistic": fit.tvalues,
                         "p_value": fit.pvalues, "conf_low": conf[:, 0],
                         "conf_high": conf[:, 1]})
    n_trim = 0 if trim is None else int(((p_raw < trim) | (p_raw > 1 - trim)).sum())
    return PropensityWeightsResult(
        treatment=treatment, formula=formula, estimand=estimand,
        weights=aligned_weights(data, design.rows, w, "weight"),
        propensity=aligned_weights(data, design.rows, p, "propensity"),
        coefficients=coef, trim=trim, n_trimmed=n_trim, n_treated=int((d == 1).sum()),
        n_control=int((d == 0).sum()), ess_treated=kish_ess(w[d == 1]),
        ess_control=kish_ess(w[d == 0]), notes=notes)


def _is_column(data: pd.DataFrame, name: str) -> bool:
    return name in data.columns


def _names(covariates: str | Sequence[str]) -> tuple[str, ...]:
    return covariate_names(covariates)


def _quoted(data: pd.DataFrame, name: str) -> str:
    """A column as a formula term: text columns as ``C(...)``, odd names quoted."""
    require_columns(data, (name,), "covariate")
    term = name if name.isidentifier() else f"`{name}`"
    col = data[name]
    numeric = pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
    return term if numeric else f"C({term})"


def _ipw_notes(n_missing: int, p: np.ndarray, d: np.ndarray, trim: float | None, fit,
               caught: list) -> tuple[Note, ...]:
    notes: tuple[Note, ...] = ()
    if n_missing:
        notes += (Note("missing_dropped", f"{n_missing:,} rows with a missing treatment or "
                       "covariate were left out (their weight is missing)."),)
    if not fit.mle_retvals.get("converged", True):
        notes += (Note("not_converged", "The propensity logit did not converge."),)
    extreme = int(((p < EXTREME) | (p > 1 - EXTREME)).sum())
    beyond = int((p[d == 1] > p[d == 0].max()).sum())
    below = int((p[d == 0] < p[d == 1].min()).sum())
    if extreme or beyond:
        notes += (Note("limited_overlap", f"{extreme:,} propensities lie outside [{EXTREME}, "
                       f"{1 - EXTREME}]; {beyond:,} treated units have a propensity above "
                       f"every control's and {below:,} controls one below every treated "
                       "unit's: overlap is limited and the weights can be extreme."),)
    if trim is not None:
        n = int(((p < trim) | (p > 1 - trim)).sum())
        notes += (Note("propensity_trimmed", f"{n:,} propensities were clipped to "
                       f"[{trim:g}, {1 - trim:g}] before the weights were formed."),)
    for w in caught:
        notes += (Note("library_warning", f"statsmodels: {w.message}"),)
    return notes


__all__ = ["PropensityWeightsResult", "ipw_weights"]
