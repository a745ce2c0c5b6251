"""Covariate-balancing weights for a binary treatment: entropy balancing and inverse
probability weights.

- :func:`entropy_balance`: Hainmueller (2012), as R ``ebal::ebalance``, Stata ``ebalance``
  and ``WeightIt(method = "ebal", estimand = "ATT")``. Control unit ``i`` gets
  ``w_i = q_i exp(c_i' lambda) / sum_j q_j exp(c_j' lambda)`` (``q``: base weights,
  ``c_i``: the balance constraints), the weights closest to ``q`` in Kullback-Leibler
  divergence whose weighted control means of ``c`` equal the treated means. ``lambda``
  minimises the convex dual ``log sum_i q_i exp((c_i - target)' lambda)``, solved here by
  Newton's method with step halving on standardised constraints. Treated units weigh 1;
  the control weights sum to the number of treated units (ebal's scale).
- :func:`ipw_weights`: a logit propensity score (statsmodels ``Logit``); ATT weights
  are 1 for the treated and ``p / (1 - p)`` for controls, ATE weights ``1 / p`` and
  ``1 / (1 - p)`` (WeightIt's ``method = "glm"``, unnormalised).

Check the result with :func:`~ipnstats.estimators.balance_table.balance_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.estimators.balance_covariates import (
    Covariates,
    aligned_weights,
    covariate_matrix,
    kish_ess,
    treatment_indicator,
)
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note

Estimand = Literal["att", "ate"]
#: a control group's Kish effective sample size below this share of its size gets a note
LOW_ESS_SHARE = 0.1
#: propensities beyond [EXTREME, 1 - EXTREME] are reported as extreme
EXTREME = 0.01


@dataclass(frozen=True, repr=False)
class EntropyBalanceResult(TidyDisplay):
    """Entropy-balancing weights (Hainmueller 2012).

    Attributes
    ----------
    treatment, covariates
        The treatment column and the covariate columns given.
    terms
        The balanced columns: the covariates (a text column as one indicator per level)
        and, with ``moments=2``, the squares of the non-binary ones (``"age^2"``).
    moments
        1 (means) or 2 (means and variances).
    weights
        One weight per row of ``data`` (its index): 1 for treated units, the balancing
        weights for controls (they sum to the number of treated units), missing for rows
        left out for a missing value.
    target
        The treated means of ``terms`` (the weighted control means equal them).
    table
        What ``tidy()`` returns.
    coefficients
        The dual solution ``lambda`` on the scale of ``terms`` (0 for a term dropped as
        collinear); ``log w_i = log q_i + c_i' lambda + constant``.
    converged, iterations, max_imbalance
        Whether Newton's method reached ``tol``, its iterations, and the largest
        remaining ``|weighted control mean - treated mean|`` over ``terms``, in control
        standard deviations.
    n_treated, n_control, ess_control
        Units in each group and the controls' Kish effective sample size.
    notes
        ``missing_dropped``, ``low_effective_sample``. (Terms collinear with others among
        the controls, such as the last level of a text column, are left out of the
        optimisation; the balance of every term is checked after it.)
    """

    treatment: str
    covariates: tuple[str, ...]
    terms: tuple[str, ...]
    moments: int
    weights: pd.Series = field(repr=False)
    target: pd.Series = field(repr=False)
    coefficients: pd.Series = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    converged: bool
    iterations: int
    max_imbalance: float
    n_treated: int
    n_control: int
    ess_control: float
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row per balanced term: ``term``, ``target`` (treated mean),
        ``control_mean`` (unweighted), ``weighted_mean`` (balanced controls),
        ``difference`` (weighted minus target) and ``coefficient`` (``lambda``)."""
        return self.table.copy()

    def glance(self) -> pd.DataFrame:
        """One row: the method, moments, group sizes, the controls' effective sample
        size, convergence and the largest remaining imbalance."""
        return pd.DataFrame([{
            "method": "entropy", "estimand": "att", "moments": self.moments,
            "n_treated": self.n_treated, "n_control": self.n_control,
            "ess_control": self.ess_control, "converged": self.converged,
            "iterations": self.iterations, "max_imbalance": self.max_imbalance}])


def entropy_balance(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str], *,
                    moments: Literal[1, 2] = 1, base_weights: str | None = None,
                    tol: float = 1e-10, max_iter: int = 200) -> EntropyBalanceResult:
    """Entropy-balancing weights for the controls (ATT), as R ``ebal``/Stata ``ebalance``.

    Parameters
    ----------
    data
        One row per unit.
    treatment
        A 0/1 (or boolean) column: 1 for treated units.
    covariates
        Columns to balance. A text or categorical column is balanced through one
        indicator per level (cobalt's ``splitfactor``).
    moments
        1: the weighted control means equal the treated means. 2: the means and the
        means of squares of the non-binary covariates, so that the weighted control
        variances (``sum w (x - m)^2 / sum w``) equal the treated ones (``/ n``).
    base_weights
        A column of positive base weights ``q`` for the controls (ebal's
        ``base.weight``; default: equal). Treated rows ignore it.
    tol
        Convergence: the largest imbalance, in control standard deviations.
    max_iter
        Newton iterations at most.

    Returns
    -------
    EntropyBalanceResult

    Raises
    ------
    EstimationError
        When no positive weights balance the covariates: a treated mean lies outside
        (or on the edge of) the range of the controls, or, jointly, outside their convex
        hull; or Newton's method does not converge in ``max_iter`` iterations.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (x + rng.normal(size=400) > 0.5).astype(int)})
    >>> eb = entropy_balance(df, "d", ["x"], moments=2)
    >>> eb.tidy()[["term", "target", "weighted_mean"]].round(4)
      term  target  weighted_mean
    0    x  0.7718         0.7718
    1  x^2  1.1916         1.1916
    >>> round(float(eb.weights[df.d == 0].sum()), 6), int((df.d == 1).sum())
    (143.0, 143)
    """
    if moments not in (1, 2):
        raise SpecificationError(f"moments must be 1 (means) or 2 (means and variances), "
                                 f"got {moments!r}")
    if not (isinstance(tol, float | int) and tol > 0):
        raise SpecificationError(f"tol must be a positive number, got {tol!r}")
    q_all = _base_weights(data, base_weights, treatment)
    cov = covariate_matrix(data, treatment, covariates, extra=q_all)
    C, terms = _constraints(cov, moments)
    treated, control = cov.d == 1, cov.d == 0
    target = C[treated].mean(axis=0)
    Cc = C[control]
    q = np.ones(Cc.shape[0]) if q_all is None else q_all[cov.rows][control]
    if q_all is not None and (q <= 0).any():
        raise SpecificationError(f"base_weights {base_weights!r} must be positive for the "
                                 f"control units; {int((q <= 0).sum()):,} are not")
    _check_ranges(Cc, target, terms)
    scale = Cc.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (Cc - target) / scale
    keep = _independent(Z)
    lam, its, converged = _solve_dual(Z[:, keep], q / q.sum(), tol, max_iter)
    w = _dual_weights(Z[:, keep], q / q.sum(), lam)
    imbalance = np.abs(w @ Z)
    if not converged or imbalance.max() > max(tol, 1e-8) * 10:
        _infeasible(terms, imbalance, its)
    n1 = int(treated.sum())
    weights = np.ones(cov.d.size)
    weights[control] = w * n1
    coef = np.zeros(len(terms))
    coef[keep] = lam / scale[keep]
    notes = cov.missing_note() + _ess_note(w, "control")
    table = pd.DataFrame({"term": terms, "target": target,
                          "control_mean": Cc.mean(axis=0), "weighted_mean": w @ Cc,
                          "difference": w @ Cc - target, "coefficient": coef})
    return EntropyBalanceResult(
        treatment=treatment, covariates=tuple(covariates) if not isinstance(covariates, str)
        else (covariates,), terms=terms, moments=int(moments),
        weights=aligned_weights(data, cov.rows, weights, "weight"),
        target=pd.Series(target, index=pd.Index(terms), name="target"), table=table,
        coefficients=pd.Series(coef, index=pd.Index(terms), name="coefficient"),
        converged=True, iterations=its, max_imbalance=float(imbalance.max()),
        n_treated=n1, n_control=int(control.sum()), ess_control=kish_ess(w), notes=notes)


def _base_weights(data: pd.DataFrame, base_weights: str | None,
                  treatment: str) -> np.ndarray | None:
    if base_weights is None:
        return None
    treatment_indicator(data, treatment)  # the data and treatment are checked first
    if not isinstance(base_weights, str) or base_weights not in data.columns:
        raise SpecificationError(f"base_weights must be the name of a column of data, got "
                                 f"{base_weights!r}")
    col = data[base_weights]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise SpecificationError(f"base_weights {base_weights!r} must be numeric")
    q = col.astype("float64").to_numpy(na_value=np.nan)
    if np.isinf(q).any():
        raise SpecificationError(f"base_weights {base_weights!r} has infinite values")
    return q


def _constraints(cov: Covariates, moments: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The balance constraints: the covariates, and squares of the non-binary ones."""
    if moments == 1:
        return cov.X, cov.names
    squared = ~cov.binary
    names = cov.names + tuple(f"{n}^2" for n, s in zip(cov.names, squared, strict=True) if s)
    return np.column_stack([cov.X, cov.X[:, squared] ** 2]), names


def _check_ranges(Cc: np.ndarray, target: np.ndarray, terms: tuple[str, ...]) -> None:
    """A treated mean outside (or at the edge of) the controls' range cannot be reached
    by positive weights."""
    lo, hi = Cc.min(axis=0), Cc.max(axis=0)
    span = np.maximum(hi - lo, np.abs(target)) * 1e-12
    bad = (target <= lo + span) | (target >= hi - span)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"entropy balancing is infeasible: the treated mean of {terms[j]!r} "
            f"({target[j]:.6g}) is not inside the range of the control units "
            f"([{lo[j]:.6g}, {hi[j]:.6g}]), so no positive control weights can match it. "
            "Leave the covariate out, coarsen it, or restrict the treated sample to the "
            "controls' support")


def _independent(Z: np.ndarray) -> np.ndarray:
    """Columns of ``Z`` not spanned by earlier ones and the constant (pivoted QR)."""
    from scipy.linalg import qr

    centered = Z - Z.mean(axis=0)
    _, r, piv = qr(centered, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > 1e-9 * max(diag.max(), 1e-300) * max(Z.shape)).sum()) if diag.size \
        else 0
    keep = np.zeros(Z.shape[1], dtype=bool)
    keep[np.sort(piv[:rank])] = True
    return keep


def _dual_weights(Z: np.ndarray, q: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``q_i exp(z_i' lambda)`` normalised to sum 1 (computed stably)."""
    eta = np.log(q) + Z @ lam
    w = np.exp(eta - eta.max())
    return w / w.sum()


def _dual(Z: np.ndarray, q: np.ndarray, lam: np.ndarray) -> float:
    eta = np.log(q) + Z @ lam
    top = eta.max()
    return float(top + np.log(np.exp(eta - top).sum()))


def _solve_dual(Z: np.ndarray, q: np.ndarray, tol: float,
                max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Newton's method on the dual with step halving; converged when every standardised
    imbalance (the gradient) is below ``tol``."""
    lam = np.zeros(Z.shape[1])
    value = _dual(Z, q, lam)
    for it in range(1, max_iter + 1):
        w = _dual_weights(Z, q, lam)
        grad = w @ Z
        if np.abs(grad).max() < tol:
            return lam, it - 1, True
        hess = (Z * w[:, None]).T @ Z - np.outer(grad, grad)
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
        t = 1.0
        new = _dual(Z, q, lam + step)
        while not new <= value + 1e-4 * t * (grad @ step) and t > 1e-10:
            t /= 2
            new = _dual(Z, q, lam + t * step)
        if t <= 1e-10:
            return lam, it, False
        lam, value = lam + t * step, new
    w = _dual_weights(Z, q, lam)
    return lam, max_iter, bool(np.abs(w @ Z).max() < tol)


def _infeasible(terms: tuple[str, ...], imbalance: np.ndarray, its: int) -> None:
    j = int(np.argmax(imbalance))
    raise EstimationError(
        f"entropy balancing did not converge after {its} Newton iterations: the treated "
        f"means lie (jointly) outside or on the edge of what positive control weights can "
        f"reach; the largest remaining imbalance is in {terms[j]!r} "
        f"({imbalance[j]:.3g} control SDs). Balance fewer terms (moments=1, fewer "
        "covariates or coarser categories) or restrict the treated sample to the "
        "controls' support")


def _ess_note(w: np.ndarray, group: str) -> tuple[Note, ...]:
    ess = kish_ess(w)
    if ess >= LOW_ESS_SHARE * w.size:
        return ()
    return (Note("low_effective_sample", f"The weighted {group} units have a Kish "
                 f"effective sample size of {ess:.1f} of {w.size:,}: a few units carry most "
                 "of the weight."),)


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

    from ipnstats.core.formula import build_design

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
    import warnings

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
        + _ess_note(w[d == 0], "control") \
        + (_ess_note(w[d == 1], "treated") if estimand == "ate" else ())
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
    from ipnstats.estimators.balance_covariates import covariate_names

    return covariate_names(covariates)


def _quoted(data: pd.DataFrame, name: str) -> str:
    """A column as a formula term: text columns as ``C(...)``, odd names quoted."""
    from ipnstats.core.formula import require_columns

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


__all__ = ["EntropyBalanceResult", "PropensityWeightsResult", "entropy_balance",
           "ipw_weights"]
