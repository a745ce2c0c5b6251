"""Sample selection (Heckman 1979): an outcome observed only when a probit selection
equation says so, estimated by Heckman's two-step method or by maximum likelihood.

The model (R sampleSelection's "tobit-2", Stata's ``heckman``)::

    selected_i = 1[w_i' gamma + v_i > 0]
    y_i        = x_i' beta + e_i          observed when selected_i = 1
    (e_i, v_i) ~ N(0, [[sigma^2, rho sigma], [rho sigma, 1]])

Two-step (``method="twostep"``; sampleSelection ``selection(..., method = "2step")``,
Stata ``heckman, twostep``): a probit of selection on ``w`` (maximum likelihood,
observed information), then least squares of ``y`` on ``x`` and the inverse Mills ratio
``lambda_i = phi(w_i'g) / Phi(w_i'g)`` among the selected. Its coefficient is
``lambda`` (``beta_lambda = rho sigma``); ``sigma^2 = e'e / n_1 + mean(delta) b_lambda^2``
with ``delta_i = lambda_i (lambda_i + w_i'g)``, ``rho = b_lambda / sigma`` (truncated to
``[-1, 1]`` with a note, as Stata). The outcome equation's covariance is Heckman's
(1979) as Greene (2003, eq. 22-22) writes it,
``sigma^2 (X*'X*)^-1 [X*'(I - rho^2 D) X* + rho^2 F V_g F'] (X*'X*)^-1`` with
``X* = [X, lambda]``, ``D = diag(delta)``, ``F = X*'D W`` and ``V_g`` the probit's
covariance; the probit's covariance is its own; the covariance between the two
equations is not estimated (zero in ``cov``). ``sigma`` and ``rho`` are reported in
``glance()``.

Maximum likelihood (``method="ml"``; sampleSelection ``method = "ml"``, Stata
``heckman``): the bivariate-normal likelihood, maximised in ``(gamma, beta, log sigma,
atanh rho)`` from the two-step estimates (BFGS, then Newton steps on the numerical
Hessian of the analytic gradient). ``sigma`` and ``rho`` are parameters; their
covariance is the inverse observed information in ``(gamma, beta, sigma, rho)`` (equal
at the maximum to the delta method from Stata's ``lnsigma``/``athrho``). ``lambda =
rho sigma`` and its delta-method standard error are in ``glance()``. ``vcov="hc0"``,
``"hc1"`` and ``Cluster(...)`` give sandwich covariances of the scores
(:class:`~ipnstats.estimators.glm.MLEngine`, Stata's ``vce(robust)``/``vce(cluster)``).

Inference uses the normal law. Terms: the outcome equation's (plus ``lambda`` in the
two-step), ``sigma`` and ``rho`` (maximum likelihood), then the selection equation's,
prefixed ``selection::``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from scipy.special import log_ndtr

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.core.formula import build_design
from ipnstats.estimators.glm import MLEngine, newton
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import parse_vcov

Method = Literal["twostep", "ml"]
BOUNDARY = 0.99


@dataclass(frozen=True)
class SelectionData:
    """The estimation sample: selection design ``W`` (every row), indicator ``s``,
    outcome ``y`` and design ``X`` (selected rows), names and positions in ``data``."""

    W: np.ndarray
    s: np.ndarray
    X: np.ndarray
    y: np.ndarray
    w_names: tuple[str, ...]
    x_names: tuple[str, ...]
    outcome: str
    selection: str
    rows: np.ndarray
    n_missing: int


def mills(z: np.ndarray) -> np.ndarray:
    """The inverse Mills ratio ``phi(z) / Phi(z)``, stable in the left tail (``inf`` only
    where ``z`` itself is out of floating-point range, at a degenerate fit)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-0.5 * z**2 - 0.5 * np.log(2 * np.pi) - log_ndtr(z))


def fit_probit(W: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Probit by Newton-Raphson: coefficients, covariance (inverse observed information),
    log-likelihood, convergence."""
    q = 2 * s - 1.0

    def loglik(g: np.ndarray) -> float:
        return float(log_ndtr(q * (W @ g)).sum())

    def hessian(g: np.ndarray) -> np.ndarray:
        qe = q * (W @ g)
        m = mills(qe)
        return -(W * (m * (m + qe))[:, None]).T @ W

    def step(g: np.ndarray) -> np.ndarray:
        grad = W.T @ (q * mills(q * (W @ g)))
        return np.linalg.lstsq(-hessian(g), grad, rcond=None)[0]

    g, ll, converged = newton(loglik, step, np.zeros(W.shape[1]))
    return g, linalg.pinvh(-hessian(g)), ll, converged


def heckman(data: pd.DataFrame, outcome_formula: str, selection_formula: str, *,
            method: Method = "twostep", vcov: object = "iid") -> Result:
    """Heckman's sample-selection model by two steps or maximum likelihood.

    Parameters
    ----------
    data
        Every observation, selected or not; the outcome may be missing where the
        selection indicator is 0.
    outcome_formula
        ``"y ~ x1 + x2"``: the outcome equation, fitted on the selected rows.
    selection_formula
        ``"selected ~ w1 + w2"``: the probit selection equation; the outcome is a 0/1 (or
        boolean) column. Identification rests on a variable in ``w`` excluded from ``x``.
    method
        ``"twostep"`` (Heckman's, with his standard errors) or ``"ml"``. See the module
        notes for the conventions (R sampleSelection, Stata ``heckman``).
    vcov
        ``"iid"`` (the two-step's Heckman covariance, or the inverse observed information);
        with ``method="ml"`` also ``"hc0"``, ``"hc1"`` or :class:`ipnstats.Cluster`.

    Returns
    -------
    Result
        ``glance()`` shows ``sigma`` and adds ``n_selected``, ``n_censored``, ``rho``, ``lambda``
        (with ``lambda_se``) and, for ML, the log-likelihood. Notes: ``rho_boundary`` when
        rho is at (or, two-step, truncated to) -1 or 1, ``not_converged``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> w, x, v = rng.normal(size=(3, 2000))
    >>> s = (0.5 + w + 0.5 * x + v > 0).astype(int)
    >>> y = np.where(s == 1, 1 + 2 * x + 0.6 * v + 0.8 * rng.normal(size=2000), np.nan)
    >>> df = pd.DataFrame({"y": y, "x": x, "w": w, "s": s})
    >>> heckman(df, "y ~ x", "s ~ w + x").params[["x", "lambda"]].round(2)
    x         2.02
    lambda    0.66
    dtype: float64
    >>> heckman(df, "y ~ x", "s ~ w + x", method="ml").params[["x", "sigma", "rho"]].round(2)
    x        2.03
    sigma    1.02
    rho      0.68
    dtype: float64
    """
    if method not in ("twostep", "ml"):
        raise SpecificationError(f"method must be 'twostep' or 'ml', got {method!r}")
    spec = parse_vcov(vcov)
    if method == "twostep" and spec != "iid":
        raise SpecificationError(
            f"vcov={spec!r}: the two-step estimator has Heckman's (1979) covariance only "
            "(vcov='iid'); for robust or clustered standard errors use method='ml'")
    sd = selection_data(data, outcome_formula, selection_formula)
    notes = () if not sd.n_missing else (Note(
        "missing_dropped", f"{sd.n_missing:,} rows with a missing value in a selection "
        "variable (or, among the selected, an outcome variable) were left out."),)
    fit = _two_step(sd) if method == "twostep" else _ml(sd, data, spec)
    names = pd.Index(fit["names"])
    extra = {"n_selected": int(sd.s.sum()), "n_censored": int((sd.s == 0).sum())} | fit["extra"]
    return two_equation_result(
        fit, spec, names, fit["cov"], f"Heckman selection, {method_name(method)}",
        sd.outcome, f"{outcome_formula}; selection: {selection_formula}", sd.s.size, extra,
        notes)


def method_name(method: str) -> str:
    return "two-step" if method == "twostep" else "maximum likelihood"


def two_equation_result(fit: dict, spec, names: pd.Index, cov: np.ndarray, estimator: str,
                        outcome: str, formula: str, nobs: int, extra: dict,
                        notes: tuple) -> Result:
    """The result of a two-equation model (an outcome and a probit): ``fit`` is the
    estimator's dict (params, fit, notes, and optionally n_clusters, inference_notes,
    engine)."""
    return Result(
        params=pd.Series(fit["params"], index=names), vcov=spec,
        cov=pd.DataFrame(cov, index=names, columns=names), df_inference=None,
        estimator=estimator, outcome=outcome, formula=formula, nobs=nobs,
        n_clusters=fit.get("n_clusters"), fit=fit["fit"], extra=extra,
        notes=notes + fit["notes"], inference_notes=fit.get("inference_notes", ()),
        engine=fit.get("engine"))


def selection_data(data: pd.DataFrame, outcome_formula: str,
                   selection_formula: str) -> SelectionData:
    """Rows complete in the selection equation, and among the selected rows in the outcome
    equation too (selected rows missing an outcome variable are left out of both)."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    _check_indicator(data, selection_formula)
    sel = build_design(data, selection_formula)
    values = np.unique(sel.y)
    if not np.isin(values, (0.0, 1.0)).all():
        raise SpecificationError(
            f"the selection outcome {sel.outcome!r} must be 0/1 (or boolean); it takes the "
            f"values {values[:5].tolist()}{' ...' if values.size > 5 else ''}")
    if values.size < 2:
        raise EstimationError(f"the selection outcome {sel.outcome!r} is always "
                              f"{values[0]:g} on the complete rows: nothing to model")
    chosen = sel.rows[sel.y == 1]
    out = build_design(data.iloc[chosen], outcome_formula)
    if out.y.size <= out.X.shape[1] + 1:
        raise EstimationError(
            f"{out.y.size:,} selected rows have a complete outcome equation "
            f"({outcome_formula!r}), too few for its {out.X.shape[1]} coefficients and "
            "the inverse Mills ratio: check that the outcome is observed where "
            f"{sel.outcome!r} is 1")
    lost = chosen[np.setdiff1d(np.arange(chosen.size), out.rows)]
    keep = ~np.isin(sel.rows, lost)
    rows = sel.rows[keep]
    return SelectionData(sel.X[keep], sel.y[keep], out.X, out.y, sel.names, out.names,
                         out.outcome, sel.outcome, rows, len(data) - rows.size)


def _check_indicator(data: pd.DataFrame, selection_formula: str) -> None:
    """A selection outcome that is a column must be numeric or boolean (0/1)."""
    name = selection_formula.partition("~")[0].strip() if isinstance(selection_formula,
                                                                    str) else ""
    if name in data.columns and not (pd.api.types.is_numeric_dtype(data[name])
                                     or pd.api.types.is_bool_dtype(data[name])):
        raise SpecificationError(
            f"the selection outcome {name!r} must be 0/1 (or boolean); it has dtype "
            f"{data[name].dtype}: recode it, e.g. (data[{name!r}] == 'yes').astype(int)")


def _two_step(sd: SelectionData) -> dict:
    g, v_g, _, converged = fit_probit(sd.W, sd.s)
    chosen = sd.s == 1
    Ws = sd.W[chosen]
    index = Ws @ g
    lam = mills(index)
    delta = lam * (lam + index)
    Xs = np.column_stack([sd.X, lam])
    bread = linalg.pinvh(Xs.T @ Xs)
    b = bread @ (Xs.T @ sd.y)
    e = sd.y - Xs @ b
    n1 = sd.y.size
    sigma = float(np.sqrt(e @ e / n1 + delta.mean() * b[-1] ** 2))
    rho = b[-1] / sigma
    notes = _probit_notes(converged)
    if abs(rho) > 1:
        notes += (Note("rho_boundary", f"The two-step estimate of rho, {rho:.3f}, lies "
                       "outside [-1, 1]; it was truncated to "
                       f"{np.sign(rho):+.0f} for the covariance (as Stata's heckman, twostep)."),)
        rho = float(np.sign(rho))
    cov_b = heckman_covariance(Xs, delta, Ws, v_g, sigma, rho)
    k, p = Xs.shape[1], g.size
    cov = np.zeros((k + p, k + p))
    cov[:k, :k], cov[k:, k:] = cov_b, v_g
    names = sd.x_names + ("lambda",) + tuple(f"selection::{n}" for n in sd.w_names)
    extra = {"rho": float(rho), "lambda": float(b[-1]),
             "lambda_se": float(np.sqrt(cov[k - 1, k - 1]))}
    return {"params": np.concatenate([b, g]), "cov": cov, "names": names, "notes": notes,
            "extra": extra, "fit": {"df_resid": n1 - k, "sigma": sigma}}


def heckman_covariance(Xs: np.ndarray, delta: np.ndarray, W: np.ndarray, v_g: np.ndarray,
                       sigma: float, rho: float) -> np.ndarray:
    """Heckman's (1979) covariance of a regression on ``Xs`` whose last column is a
    hazard estimated by a probit on ``W`` (covariance ``v_g``):
    ``sigma^2 B [Xs'(I - rho^2 D) Xs + rho^2 F V_g F'] B`` with ``B = (Xs'Xs)^-1``,
    ``D = diag(delta)``, ``F = Xs' D W`` (Greene 2003, eq. 22-22). ``delta`` is minus the
    derivative of each hazard with respect to the probit index (``lambda (lambda + w'g)``)."""
    bread = linalg.pinvh(Xs.T @ Xs)
    F = (Xs * delta[:, None]).T @ W
    middle = (Xs * (1 - rho**2 * delta)[:, None]).T @ Xs + rho**2 * F @ v_g @ F.T
    cov = sigma**2 * bread @ middle @ bread
    return (cov + cov.T) / 2


def _probit_notes(converged: bool) -> tuple[Note, ...]:
    return () if converged else (Note("not_converged", "The selection probit did not "
                                      "converge in 100 Newton iterations."),)


def _unpack(theta: np.ndarray, p: int, k: int):
    return theta[:p], theta[p:p + k], theta[p + k], theta[p + k + 1]


def _loglik_parts(theta: np.ndarray, sd: SelectionData, natural: bool = False):
    """Per-observation log-likelihood and scores (rows: unselected, then selected).

    ``theta`` is ``(gamma, beta, log sigma, atanh rho)``, or with ``natural``
    ``(gamma, beta, sigma, rho)`` (scores then with respect to those)."""
    p, k = sd.W.shape[1], sd.X.shape[1]
    g, b, a, t = _unpack(theta, p, k)
    sigma, rho = (a, t) if natural else (np.exp(a), np.tanh(t))
    chosen = sd.s == 1
    W0, W1 = sd.W[~chosen], sd.W[chosen]
    e0 = W0 @ g
    ll0 = log_ndtr(-e0)
    s0 = np.column_stack([-mills(-e0)[:, None] * W0, np.zeros((e0.size, k + 2))])
    ll1, s1 = bivariate_parts(W1 @ g, sd.y - sd.X @ b, 1.0, W1, sd.X, sigma, rho, natural)
    return np.concatenate([ll0, ll1]), np.vstack([s0, s1])


def bivariate_parts(index: np.ndarray, resid: np.ndarray, q: np.ndarray | float,
                    W: np.ndarray, X: np.ndarray, sigma: float, rho: float,
                    natural: bool) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and scores of rows whose outcome ``y = x'b + e`` is observed with a
    probit's sign ``q`` (+1 or -1): ``log Phi(q (w'g + rho r) / sqrt(1 - rho^2)) +
    log phi(r) - log sigma``, ``r = resid / sigma``. Scores with respect to ``(g, b, log
    sigma, atanh rho)``, or with ``natural`` ``(g, b, sigma, rho)``."""
    r = resid / sigma
    root = np.sqrt(max(1.0 - rho**2, np.finfo(float).tiny))  # |rho| = 1 at a boundary
    z = q * (index + rho * r) / root
    m = q * mills(z)
    ll = log_ndtr(z) - np.log(sigma) - 0.5 * np.log(2 * np.pi) - 0.5 * r**2
    d_sigma = -m * rho * r / root - 1 + r**2  # d/d log sigma
    d_rho = m * (r + rho * index) / root  # d/d atanh rho
    if natural:
        d_sigma, d_rho = d_sigma / sigma, d_rho / root**2
    scores = np.column_stack([(m / root)[:, None] * W,
                              (r / sigma - m * rho / (sigma * root))[:, None] * X,
                              d_sigma, d_rho])
    return ll, scores


def _ml(sd: SelectionData, data: pd.DataFrame, spec) -> dict:
    start = _two_step(sd)
    p, k = sd.W.shape[1], sd.X.shape[1]
    rho0 = float(np.clip(start["extra"]["rho"], -BOUNDARY, BOUNDARY))
    theta0 = np.concatenate([start["params"][k + 1:], start["params"][:k],
                             [np.log(start["fit"]["sigma"]), np.arctanh(rho0)]])
    fit = fit_bivariate_ml(lambda th, natural: _loglik_parts(th, sd, natural), theta0, p=p,
                           k=k, data=data, rows=_score_rows(sd), spec=spec)
    names = sd.x_names + ("sigma", "rho") + tuple(f"selection::{n}" for n in sd.w_names)
    return fit | {"names": names}


def fit_bivariate_ml(parts: Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray]],
                     theta0: np.ndarray, *, p: int, k: int, data: pd.DataFrame,
                     rows: np.ndarray, spec, equation: str = "selection") -> dict:
    """Maximum likelihood of a probit (``p`` coefficients) and a linear equation (``k``)
    with bivariate-normal errors, ``theta = (gamma, beta, log sigma, atanh rho)``;
    ``parts(theta, natural)`` gives per-observation log-likelihoods and scores (rows at
    positions ``rows`` of ``data``). Estimates are reported in ``(beta, sigma, rho,
    gamma)`` with the covariance of ``spec`` (inverse observed information, or a score
    sandwich), ``lambda = rho sigma`` with its delta-method standard error, fit
    statistics and :func:`ml_notes`."""
    theta, ll, converged = maximize(lambda th: parts(th, False), theta0)
    natural = np.concatenate([theta[:p + k], [np.exp(theta[-2]), np.tanh(theta[-1])]])
    hess = score_hessian(lambda th: parts(th, True)[1], natural)
    sigma, rho = float(natural[-2]), float(natural[-1])
    order = np.r_[p:p + k + 2, :p]  # outcome, sigma, rho, then the probit
    engine = MLEngine(scores=parts(natural, True)[1], bread=linalg.pinvh(-hess), data=data,
                      rows=rows, keep=order)
    inf = engine.compute(spec)
    grad = np.zeros(order.size)
    grad[k], grad[k + 1] = rho, sigma
    extra = {"rho": rho, "lambda": rho * sigma,
             "lambda_se": float(np.sqrt(grad @ inf.cov @ grad))}
    n = rows.size
    fit = {"loglik": ll, "aic": -2 * ll + 2 * theta.size,
           "bic": -2 * ll + np.log(n) * theta.size, "sigma": sigma}
    return {"params": natural[order], "cov": inf.cov, "extra": extra, "fit": fit,
            "notes": ml_notes(converged, rho, hess, equation), "engine": engine,
            "n_clusters": inf.n_clusters, "inference_notes": inf.notes}


def _score_rows(sd: SelectionData) -> np.ndarray:
    """Positions in ``data`` of the score rows (unselected first, then selected)."""
    chosen = sd.s == 1
    return np.concatenate([sd.rows[~chosen], sd.rows[chosen]])


def maximize(parts: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
             theta0: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Maximise a log-likelihood whose ``parts(theta)`` are the per-observation
    log-likelihoods and scores: BFGS from ``theta0``, then Newton steps on the numerical
    Hessian of the analytic gradient (:func:`score_hessian`). Returns the estimate, its
    log-likelihood and whether Newton converged."""
    def negative(theta):
        ll, sc = parts(theta)
        return -float(ll.sum()), -sc.sum(axis=0)

    def step(theta):
        scores = lambda th: parts(th)[1]  # noqa: E731
        H = score_hessian(scores, theta)
        return np.linalg.lstsq(-H, scores(theta).sum(axis=0), rcond=None)[0]

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        opt = optimize.minimize(negative, theta0, jac=True, method="BFGS",
                                options={"gtol": 1e-8, "maxiter": 2000})
    return newton(lambda th: -negative(th)[0], step, opt.x, maxiter=50)


def score_hessian(scores: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient (the column sums of the
    per-observation ``scores(theta)``), symmetrised; each step is 1e-4 of the parameter's
    outer-product (BHHH) standard error, so that it suits the units of its variable (a
    coefficient of income in dollars moves the index as much as one of age in years)."""
    info = np.sqrt((scores(theta) ** 2).sum(axis=0))
    h = 1e-4 / np.where(info > 0, info, 1.0)
    cols = []
    for j in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[j] += h[j]
        down[j] -= h[j]
        cols.append((scores(up).sum(axis=0) - scores(down).sum(axis=0)) / (2 * h[j]))
    H = np.column_stack(cols)
    return (H + H.T) / 2


def ml_notes(converged: bool, rho: float, hess: np.ndarray,
             equation: str = "selection") -> tuple[Note, ...]:
    """Notes of a bivariate-normal ML fit: not converged, rho at the boundary, or an
    information matrix that is not positive definite (``equation`` names the probit)."""
    notes = ()
    if not converged:
        notes += (Note("not_converged", "The maximum-likelihood fit did not converge; the "
                       "estimates are those of the last iteration."),)
    if abs(rho) >= BOUNDARY:
        notes += (Note("rho_boundary", f"rho is estimated at {rho:.4f}, at the boundary of "
                       "[-1, 1]: the likelihood is flat there and the standard errors are "
                       "unreliable; compare the two-step estimates."),)
    elif not np.all(np.linalg.eigvalsh(-hess) > 0):
        notes += (Note("not_identified", "The information matrix is not positive definite "
                       "at the estimate: the model may not be identified (an exclusion "
                       f"restriction in the {equation} equation helps)."),)
    return notes


__all__ = ["SelectionData", "bivariate_parts", "fit_bivariate_ml", "fit_probit", "heckman",
           "heckman_covariance", "maximize", "method_name", "mills", "ml_notes",
           "score_hessian", "selection_data", "two_equation_result"]
