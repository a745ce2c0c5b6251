"""The endogenous binary-treatment model (Maddala 1983, ch. 5; Stata ``etregress``, R
``sampleSelection::treatReg``), by Heckman's two steps or by maximum likelihood.

The model::

    y_i = x_i' beta + delta d_i + e_i
    d_i = 1[z_i' gamma + u_i > 0]
    (e_i, u_i) ~ N(0, [[sigma^2, rho sigma], [rho sigma, 1]])

``d`` is the left-hand side of the treatment formula and must be a regressor of the
outcome formula. Identification rests on a variable in ``z`` excluded from ``x`` (without
one, only the nonlinearity of the probit identifies the model).

Two-step (``method="twostep"``; Stata ``etregress, twostep``): a probit of ``d`` on ``z``
(maximum likelihood, observed information), then least squares of ``y`` on ``x``, ``d``
and the hazard (generalized residual) ``h_i = phi(z_i'g) / Phi(z_i'g)`` when ``d_i = 1``
and ``-phi(z_i'g) / (1 - Phi(z_i'g))`` when ``d_i = 0``. The hazard's coefficient is
``lambda = rho sigma``; ``sigma^2 = e'e / n + mean(delta_i) lambda^2`` with ``delta_i =
h_i (h_i + z_i'g)`` (``Var(e_i | d_i, z_i) = sigma^2 (1 - rho^2 delta_i)`` in either arm),
``rho = lambda / sigma`` (truncated to ``[-1, 1]`` with a note). Since ``dh_i / d(z_i'g)
= -delta_i`` in both arms, the outcome equation's covariance is Heckman's (1979)
:func:`~ipnstats.estimators.selection.heckman_covariance`, ``sigma^2 B [X*'(I - rho^2 D)
X* + rho^2 F V_g F'] B`` with ``X* = [X, d, h]``, ``B = (X*'X*)^-1``, ``D = diag(delta)``,
``F = X*'D Z``: the Murphy-Topel correction for the estimated hazard, with no cross term
because the outcome error's deviation from its conditional mean is uncorrelated with the
probit's score. The probit block is the probit's own covariance; the covariance between
the equations is not estimated (zero). The test of ``rho = 0`` is the z test of
``lambda = 0`` (under ``rho = 0`` the correction vanishes).

Maximum likelihood (``method="ml"``; Stata ``etregress``, ``treatReg(method = "ml")``):
with ``r_i = (y_i - x_i'beta - delta d_i) / sigma`` and ``q_i = 2 d_i - 1`` the
log-likelihood is ``sum log Phi(q_i (z_i'gamma + rho r_i) / sqrt(1 - rho^2)) + log phi(r_i)
- log sigma``, maximised with analytic scores in ``(gamma, beta, delta, log sigma, atanh
rho)`` from the two-step estimates (:func:`~ipnstats.estimators.selection.maximize`).
``sigma`` and ``rho`` are reported; the covariance is the inverse observed information
(numerical Hessian of the analytic scores) in ``(beta, delta, sigma, rho, gamma)``, or
with ``vcov="hc0"``, ``"hc1"``, ``Cluster(...)`` the sandwich of the scores
(:class:`~ipnstats.estimators.glm.MLEngine`). The test of ``rho = 0`` is the likelihood
ratio against the independent model (probit plus least squares), Stata's "LR test of
indep. eqns.", chi-squared with 1 df.

Effects: in this model the two potential outcomes share ``e``, so ``y_1 - y_0 = delta``
for every unit and ATE = ATET = ``delta`` (Stata's ``etregress`` without ``poutcomes``
reports the same); ``glance()`` shows them with their standard errors and
``conf_level`` intervals. What the naive comparison adds is the selection term: ``E[y |
d=1, x] - E[y | d=0, x] = delta + rho sigma phi(z'g) / (Phi(z'g)(1 - Phi(z'g)))``.

Terms: the outcome equation's, then ``lambda`` (two-step) or ``sigma`` and ``rho`` (ML),
then the treatment equation's, prefixed ``treatment::``. Inference uses the normal law.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.core.formula import (
    build_design,
    complete_rows,
    formula_variables,
    require_columns,
)
from ipnstats.estimators.glm import PERFECT
from ipnstats.estimators.selection import (
    BOUNDARY,
    bivariate_parts,
    fit_bivariate_ml,
    fit_probit,
    heckman_covariance,
    method_name,
    mills,
    two_equation_result,
)
from ipnstats.results.inference import critical_value
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import parse_vcov

Method = Literal["ml", "twostep"]
PREFIX = "treatment::"


@dataclass(frozen=True)
class TreatmentData:
    """The estimation sample: treatment design ``Z`` and indicator ``d``; outcome ``y``
    and design ``X`` (with ``d`` among its columns, at ``d_col``); names; positions of the
    rows in ``data``."""

    Z: np.ndarray
    d: np.ndarray
    X: np.ndarray
    y: np.ndarray
    z_names: tuple[str, ...]
    x_names: tuple[str, ...]
    outcome: str
    treatment: str
    d_col: int
    rows: np.ndarray


def treatment_effects(data: pd.DataFrame, outcome_formula: str, treatment_formula: str, *,
                      method: Method = "ml", vcov: object = "iid",
                      conf_level: float = 0.95) -> Result:
    """Linear regression with an endogenous binary treatment (Stata's ``etregress``).

    Parameters
    ----------
    data
        One row per observation.
    outcome_formula
        ``"y ~ d + x1 + x2"``: the outcome equation; it must contain the treatment ``d``.
    treatment_formula
        ``"d ~ z1 + x1"``: the probit treatment equation; ``d`` is a 0/1 (or boolean)
        column. Include a variable excluded from the outcome equation.
    method
        ``"ml"`` (full maximum likelihood) or ``"twostep"`` (Heckman's, with the
        Murphy-Topel-corrected covariance). See the module notes.
    vcov
        ``"iid"`` (the two-step's corrected covariance, or the inverse observed
        information); with ``method="ml"`` also ``"hc0"``, ``"hc1"`` or
        :class:`ipnstats.Cluster`.
    conf_level
        Level of the ATE and ATET intervals in ``glance()``.

    Returns
    -------
    Result
        ``glance()`` shows ``sigma`` and adds ``n_treated``, ``rho``, ``lambda`` (``rho
        sigma``, with ``lambda_se``), ``ate``/``atet`` with ``_se``, ``_conf_low``,
        ``_conf_high``, and the test of ``rho = 0`` (``rho_test`` "LR" or "Wald",
        ``rho_test_stat`` chi-squared(1), ``rho_test_p``). Notes: ``missing_dropped``,
        ``rho_boundary``, ``not_converged``, ``not_identified``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> n = 2000
    >>> x, z = rng.normal(size=(2, n))
    >>> u = rng.normal(size=n)
    >>> d = (0.3 + x + z + u > 0).astype(int)
    >>> y = 1 + 0.5 * x + 1.0 * d + 0.5 * u + 0.8 * rng.normal(size=n)
    >>> df = pd.DataFrame({"y": y, "d": d, "x": x, "z": z})
    >>> res = treatment_effects(df, "y ~ d + x", "d ~ x + z")
    >>> res.params[["d", "sigma", "rho"]].round(2).tolist()
    [0.99, 0.94, 0.52]
    """
    if method not in ("twostep", "ml"):
        raise SpecificationError(f"method must be 'ml' or 'twostep', got {method!r}")
    spec = parse_vcov(vcov)
    if method == "twostep" and spec != "iid":
        raise SpecificationError(
            f"vcov={spec!r}: the two-step estimator has Heckman's corrected covariance only "
            "(vcov='iid'); for robust or clustered standard errors use method='ml'")
    critical = critical_value(conf_level, None)
    td, notes = treatment_data(data, outcome_formula, treatment_formula)
    fit = _two_step(td) if method == "twostep" else _ml(td, data, spec)
    names = pd.Index(fit["names"])
    cov = fit["cov"]
    ate_se = float(np.sqrt(cov[td.d_col, td.d_col]))
    ate = float(fit["params"][td.d_col])
    effects = {}
    for which in ("ate", "atet"):
        effects |= {which: ate, f"{which}_se": ate_se,
                    f"{which}_conf_low": ate - critical * ate_se,
                    f"{which}_conf_high": ate + critical * ate_se}
    extra = {"n_treated": int(td.d.sum())} | fit["extra"] | effects
    return two_equation_result(fit, spec, names, cov,
                               f"Endogenous treatment, {method_name(method)}", td.outcome,
                               f"{outcome_formula}; treatment: {treatment_formula}",
                               td.d.size, extra, notes)


def treatment_data(data: pd.DataFrame, outcome_formula: str,
                   treatment_formula: str) -> tuple[TreatmentData, tuple[Note, ...]]:
    """The rows complete in both equations (a note counts the others by column), with
    the treatment checked: 0/1, both values present, in the outcome formula, not
    separated perfectly by one regressor of the treatment equation."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for what, formula in (("outcome", outcome_formula), ("treatment", treatment_formula)):
        if not isinstance(formula, str) or "~" not in formula:
            raise SpecificationError(f"the {what} formula must be a string 'lhs ~ rhs', "
                                     f"got {formula!r}")
    treat, _, rhs = treatment_formula.partition("~")
    treat = treat.strip()
    if treat in _rhs_columns(rhs):
        raise SpecificationError(f"the treatment {treat!r} is on both sides of the treatment "
                                 f"formula {treatment_formula!r}")
    _check_treatment(data, treat, outcome_formula)
    used = []
    for formula in (outcome_formula, treatment_formula):
        names = formula_variables(formula)
        require_columns(data, tuple(names), f"formula {formula!r} names column")
        used = list(dict.fromkeys(used + names))
    frame, notes = complete_rows(data, used, "rows", "left out of both equations")
    kept = np.flatnonzero(~data[used].isna().any(axis=1).to_numpy())
    if len(frame) == 0:
        raise DataError(f"no row is complete in the columns {used}: nothing to estimate")
    frame = frame.assign(**{treat: frame[treat].astype(float)})
    tr = build_design(frame, treatment_formula)
    out = build_design(frame, outcome_formula)
    _check_outcome_terms(out.names, treat, outcome_formula)
    for design, formula in ((out, outcome_formula), (tr, treatment_formula)):
        check_finite(design, formula)
    if tr.y.size != len(frame) or out.y.size != len(frame):
        raise SpecificationError("a formula term produced missing values (e.g. log of a "
                                 "non-positive value); transform the column first")
    values = np.unique(tr.y)
    if values.size < 2:
        raise DataError(f"the treatment {treat!r} is always {values[0]:g} on the "
                        f"{tr.y.size:,} complete rows: nothing to model")
    _check_separation(tr.X, tr.y, tr.names, treat)
    if out.y.size <= out.X.shape[1] + 1:
        raise EstimationError(f"{out.y.size:,} complete rows are too few for the outcome "
                              f"equation's {out.X.shape[1]} coefficients and the hazard")
    return TreatmentData(tr.X, tr.y, out.X, out.y, tr.names, out.names, out.outcome,
                         treat, out.names.index(treat), kept), notes


def _check_treatment(data: pd.DataFrame, treat: str, outcome_formula: str) -> None:
    """The treatment is a 0/1 (or boolean) column and a regressor of the outcome."""
    if treat not in data.columns:
        raise SpecificationError(
            f"the treatment formula's left-hand side {treat!r} must be a column of data "
            "(a 0/1 treatment indicator)")
    column = data[treat]
    if pd.api.types.is_bool_dtype(column):
        return
    if not pd.api.types.is_numeric_dtype(column):
        raise SpecificationError(
            f"the treatment {treat!r} must be 0/1 (or boolean); it has dtype {column.dtype}: "
            f"recode it, e.g. (data[{treat!r}] == 'yes').astype(int)")
    values = np.unique(column.dropna().to_numpy(float))
    if not np.isin(values, (0.0, 1.0)).all():
        raise DataError(f"the treatment {treat!r} must be 0/1 (or boolean); it takes the "
                        f"values {values[:5].tolist()}{' ...' if values.size > 5 else ''}")


def _rhs_columns(rhs: str) -> list[str]:
    """Columns named on the right-hand side of a formula."""
    return formula_variables(f"_lhs_ ~ {rhs}") if rhs.strip() else []


def check_finite(design, formula: str) -> None:
    """A DataError naming the terms with infinite values (e.g. the log of zero)."""
    bad = [design.outcome] if not np.isfinite(design.y).all() else []
    bad += [n for n, ok in zip(design.names, np.isfinite(design.X).all(axis=0), strict=True)
            if not ok]
    if bad:
        raise DataError(f"{bad} of the formula {formula!r} have infinite values (e.g. the log "
                        "of zero): drop those rows or transform otherwise")


def _check_outcome_terms(names: tuple[str, ...], treat: str, formula: str) -> None:
    """The treatment is a main effect of the outcome equation and in no other term."""
    if treat not in names:
        raise SpecificationError(
            f"the treatment {treat!r} must appear on the right of the outcome formula "
            f"{formula!r} as a term of its own (e.g. 'y ~ {treat} + x')")
    other = [n for n in names if n != treat and treat in n.replace(" ", "").split(":")]
    if other:
        raise SpecificationError(
            f"the outcome formula {formula!r} interacts the treatment {treat!r} ({other}): "
            "this model has one constant effect delta; fit the arms' heterogeneity otherwise")


def _check_separation(Z: np.ndarray, d: np.ndarray, names: tuple[str, ...],
                      treat: str) -> None:
    """A DataError when one regressor of the probit predicts the treatment perfectly."""
    for j, name in enumerate(names):
        col = Z[:, j]
        if np.ptp(col) == 0:
            continue
        lo1, hi1, lo0, hi0 = col[d == 1].min(), col[d == 1].max(), col[d == 0].min(), \
            col[d == 0].max()
        if hi0 <= lo1 or hi1 <= lo0:
            raise DataError(
                f"{name!r} predicts the treatment {treat!r} perfectly (every treated row "
                f"lies on one side of every untreated row): the probit has no maximum; "
                f"drop or recode {name!r}")


def _probit(td: TreatmentData) -> tuple[np.ndarray, np.ndarray, float, tuple]:
    g, v_g, ll, converged = fit_probit(td.Z, td.d)
    p = stats.norm.cdf(td.Z @ g)
    n_perfect = int(((p < PERFECT) | (p > 1 - PERFECT)).sum())
    if not converged:
        raise EstimationError(
            f"the treatment probit did not converge; it predicts {n_perfect:,} rows "
            f"perfectly (probability within {PERFECT:g} of 0 or 1): the regressors separate "
            f"{td.treatment!r}; drop or coarsen the regressor that separates it")
    notes = () if not n_perfect else (Note(
        "separation", f"The treatment probit predicts {n_perfect:,} rows perfectly "
        f"(probability within {PERFECT:g} of 0 or 1); their hazard rests on the tail of "
        "the normal law."),)
    return g, v_g, ll, notes


def hazard(index: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The generalized residual of the probit: ``phi/Phi`` for the treated,
    ``-phi/(1 - Phi)`` for the untreated, at ``index = z'g``."""
    return np.where(d == 1, mills(index), -mills(-index))


def _two_step(td: TreatmentData) -> dict:
    g, v_g, probit_ll, notes = _probit(td)
    index = td.Z @ g
    h = hazard(index, td.d)
    delta = h * (h + index)
    Xs = np.column_stack([td.X, h])
    if np.linalg.matrix_rank(Xs) < Xs.shape[1]:
        raise EstimationError(
            "the hazard of the treatment probit is collinear with the outcome equation's "
            "regressors: the model is not identified; give the treatment equation a "
            "regressor excluded from the outcome equation")
    b = linalg.lstsq(Xs, td.y)[0]
    e = td.y - Xs @ b
    n, k = Xs.shape
    sigma = float(np.sqrt(e @ e / n + delta.mean() * b[-1] ** 2))
    rho = b[-1] / sigma
    if abs(rho) > 1:
        notes += (Note("rho_boundary", f"The two-step estimate of rho, {rho:.3f}, lies outside "
                      f"[-1, 1]; it was truncated to {np.sign(rho):+.0f} for the covariance "
                      "(as Stata's etregress, twostep)."),)
        rho = float(np.sign(rho))
    cov = linalg.block_diag(heckman_covariance(Xs, delta, td.Z, v_g, sigma, rho), v_g)
    names = td.x_names + ("lambda",) + tuple(PREFIX + z for z in td.z_names)
    se = float(np.sqrt(cov[k - 1, k - 1]))
    stat = float((b[-1] / se) ** 2)
    extra = {"rho": float(rho), "lambda": float(b[-1]), "lambda_se": se,
             "rho_test": "Wald", "rho_test_stat": stat,
             "rho_test_p": float(stats.chi2.sf(stat, 1))}
    return {"params": np.concatenate([b, g]), "cov": cov, "names": names, "notes": notes,
            "extra": extra, "fit": {"df_resid": n - k, "sigma": sigma},
            "probit_loglik": probit_ll}


def loglik_parts(theta: np.ndarray, td: TreatmentData,
                 natural: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-observation log-likelihood and scores of the treatment-effects model.

    ``theta`` is ``(gamma, beta, log sigma, atanh rho)`` (``beta`` holds ``delta`` at the
    treatment's column), or with ``natural`` ``(gamma, beta, sigma, rho)``, the scores
    then with respect to those."""
    p, k = td.Z.shape[1], td.X.shape[1]
    g, b, a, t = theta[:p], theta[p:p + k], theta[p + k], theta[p + k + 1]
    sigma, rho = (a, t) if natural else (np.exp(a), np.tanh(t))
    return bivariate_parts(td.Z @ g, td.y - td.X @ b, 2 * td.d - 1.0, td.Z, td.X, sigma, rho,
                           natural)


def _independent_loglik(td: TreatmentData, probit_ll: float) -> float:
    """Log-likelihood under ``rho = 0``: the probit's plus least squares' (ML sigma)."""
    e = td.y - td.X @ linalg.lstsq(td.X, td.y)[0]
    n = td.y.size
    return probit_ll - 0.5 * n * (np.log(2 * np.pi) + np.log(e @ e / n) + 1)


def _ml(td: TreatmentData, data: pd.DataFrame, spec) -> dict:
    start = _two_step(td)
    p, k = td.Z.shape[1], td.X.shape[1]
    rho0 = float(np.clip(start["extra"]["rho"], -BOUNDARY, BOUNDARY))
    theta0 = np.concatenate([start["params"][k + 1:], start["params"][:k],
                             [np.log(start["fit"]["sigma"]), np.arctanh(rho0)]])
    try:
        fit = fit_bivariate_ml(lambda th, natural: loglik_parts(th, td, natural), theta0,
                               p=p, k=k, data=data, rows=td.rows, spec=spec,
                               equation="treatment")
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the maximum-likelihood fit failed ({exc}); the two-step "
                              "estimates (method='twostep') may show why") from None
    ll = fit["fit"]["loglik"]
    lr = float(max(2 * (ll - _independent_loglik(td, start["probit_loglik"])), 0.0))
    separation = tuple(n for n in start["notes"] if n.code == "separation")
    names = td.x_names + ("sigma", "rho") + tuple(PREFIX + z for z in td.z_names)
    return fit | {"names": names, "notes": separation + fit["notes"],
                  "extra": fit["extra"] | {"rho_test": "LR", "rho_test_stat": lr,
                                           "rho_test_p": float(stats.chi2.sf(lr, 1))}}


__all__ = ["TreatmentData", "check_finite", "hazard", "loglik_parts", "treatment_data",
           "treatment_effects"]
