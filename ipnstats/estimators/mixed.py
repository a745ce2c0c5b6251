"""Linear mixed models fitted as lme4 does: random intercepts, random slopes, crossed groups.

``mixed_model`` fits ``y = X beta + Z b + e`` with ``b ~ N(0, Sigma)``,
``e ~ N(0, sigma^2 I)``. ``Z`` stacks one block per random-effect term
``(columns | group)``: for every level of ``group``, a random coefficient on each
column (an intercept, a slope). Terms on different grouping columns are crossed
(receivers and senders) or nested, which only the labels tell apart (give nested
levels unique labels, as lme4 recommends).

Notes
-----
The fit follows Bates, Mächler, Bolker & Walker (2015, J Stat Softw 67(1), section 3):

- Each term's covariance is ``sigma^2 T T'`` with ``T`` lower triangular
  (``"unstructured"``: lme4's ``(1 + x | g)``) or diagonal (``"diagonal"``: lme4's
  ``(1 + x || g)``); ``theta`` holds ``T``'s free elements, column by column, and
  ``Lambda = blockdiag(I_levels (x) T)`` relates ``b = Lambda u``.
- Penalised least squares with ``M = Lambda'Z'Z Lambda + I`` gives ``beta``, the
  conditional modes and the penalised residual sum of squares ``r^2``;
  ``X'V^-1X = X'X - X'Z Lambda M^-1 Lambda'Z'X`` (Woodbury, ``V = Z Lambda Lambda'Z' + I``).
- Profiled deviance (ML) ``log|M| + n (1 + log(2 pi r^2 / n))``; the REML criterion
  adds ``log|X'V^-1X|`` and puts ``n - p`` for ``n``. ``sigma^2 = r^2 / (n - p)``
  (REML) or ``r^2 / n`` (ML). ``cov(beta) = sigma^2 (X'V^-1X)^-1`` (lme4's ``vcov``);
  inference is Wald z, as lme4's ``summary``, or with ``df="satterthwaite"`` t and F
  tests with lmerTest's Satterthwaite df (:mod:`ipnstats.estimators.lmm_df`), or with
  ``df="kenward-roger"`` pbkrtest's adjusted covariance and df
  (:mod:`ipnstats.estimators.lmm_kr`).
- Each evaluation uses cross-products computed once (``Z'Z``, ``Z'X``, ``Z'y``), so it
  costs ``O(q^3)`` whatever ``n``. The term with most levels is eliminated first (its
  block of ``Z'Z`` is block diagonal, one small block per level); only the Schur
  complement of the other terms gets a dense Cholesky (built from a sparse map of
  ``Z1'Zr`` when that is sparse). ``y`` and ``X`` are centred
  when the model has an intercept (a reparametrisation that leaves the deviance
  unchanged and saves digits).
- Optimiser: bounded L-BFGS-B (diagonal elements of ``T`` >= 0) from lme4's start
  (``T = I``) with the analytic gradient when every term is scalar
  (:mod:`ipnstats.estimators.lmm_gradient`), central differences otherwise. It has
  converged when it says so and the projected finite-difference gradient is below
  2e-3 (lme4's ``check.conv.grad``);
  otherwise bounded Nelder-Mead runs from several starts and the lowest deviance is
  kept, the same check deciding ``converged``. A fit with a parameter on its bound is
  accepted only after the deviance was compared at small positive values of that
  parameter (1e-3 to 1): the deviance depends on theta^2, so its slope is 0 at theta = 0
  even at a local maximum, and a gradient check alone would accept it; where a probe is
  lower, L-BFGS-B starts again from there. A diagonal element of ``T`` below 1e-4
  (lme4's ``isSingular``) is a singular fit.
- ``loglik`` is the REML log-likelihood (minus half lme4's "REML criterion") in REML
  fits, the log-likelihood in ML fits; AIC and BIC count the fixed effects, the
  covariance parameters and ``sigma``, as lme4 does.

For a binary outcome, ``family="binomial"`` fits a logistic GEE (statsmodels) with an
exchangeable working correlation within the first grouping column and robust
(sandwich) standard errors: population-averaged log odds, not lme4's subject-specific
``glmer`` coefficients (which are larger in absolute value by roughly
``sqrt(1 + 0.346 sigma_u^2)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg

from ipnstats.core.deprecation import deprecated_call
from ipnstats.core.formula import (
    SpecificationError,
    build_design,
    column_names,
    complete_rows,
    formula_variables,
    require_columns,
)
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators.gee import GEEResult, logistic_gee
from ipnstats.estimators.linear import independent_columns
from ipnstats.estimators.lmm import (  # noqa: F401  (SINGULAR_THETA, Optimum: part of this module's API)
    SINGULAR_THETA,
    Optimum,
    RandomTerm,
    Structure,
    conditional_modes,
    cross_products,
    gls_fit,
    minimise_deviance,
    split_theta,
)
from ipnstats.estimators.lmm_gradient import profiled_deviance
from ipnstats.estimators.lmm_inference import DfMethod, check_df_method, with_df
from ipnstats.results.notes import Note
from ipnstats.results.result import Result

# --------------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class MixedResult(Result):
    """A linear mixed model: fixed effects, random-effect covariances, conditional modes.

    ``terms`` are the random-effect terms' labels (the grouping column, ``group.1`` for
    a second term on the same column); ``covariances`` each term's covariance matrix;
    ``theta`` each term's free elements of the relative factor ``T``; ``modes`` each
    term's conditional modes (BLUPs) by level; ``residual_variance`` is ``sigma^2``.
    """

    converged: bool = True
    optimizer: str = ""
    terms: tuple[str, ...] = ()
    term_groups: Mapping[str, str] = field(default_factory=dict)
    structures: Mapping[str, str] = field(default_factory=dict)
    theta: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    covariances: Mapping[str, pd.DataFrame] = field(default_factory=dict, compare=False)
    residual_variance: float = np.nan
    modes: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        Result.__post_init__(self)
        for name in ("term_groups", "structures", "theta", "covariances", "modes"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def groups(self) -> tuple[str, ...]:
        """The grouping columns, each once, in the order of the terms."""
        return tuple(dict.fromkeys(self.term_groups[t] for t in self.terms))

    @property
    def singular(self) -> bool:
        """A variance on the boundary (lme4's ``isSingular``)."""
        return bool(self.extra.get("singular", False))

    @property
    def variances(self) -> Mapping[str, float]:
        """Each term's first variance (its intercept's, usually) and ``"Residual"``."""
        out = {t: float(self.covariances[t].iloc[0, 0]) for t in self.terms}
        return MappingProxyType(out | {"Residual": self.residual_variance})

    def tidy(self, conf_level: float = 0.95, effects: str = "fixed") -> pd.DataFrame:
        """``effects="fixed"``: the coefficient table; ``"ran_pars"``: the random-effect
        standard deviations and correlations (broom.mixed: ``sd__x``, ``cor__x.z``) with
        ``group`` and ``estimate`` (lme4 gives them no standard errors)."""
        if effects == "fixed":
            return Result.tidy(self, conf_level)
        if effects != "ran_pars":
            raise SpecificationError(f"effects must be 'fixed' or 'ran_pars', got {effects!r}")
        rows = []
        for t in self.terms:
            cov = self.covariances[t]
            sd = np.sqrt(np.diag(cov.to_numpy()))
            names = list(cov.index)
            rows += [(t, f"sd__{n}", s) for n, s in zip(names, sd, strict=True)]
            if self.structures.get(t) == "diagonal":
                continue
            for j in range(len(names)):
                for i in range(j + 1, len(names)):
                    denom = sd[i] * sd[j]
                    rows.append((t, f"cor__{names[j]}.{names[i]}",
                                 cov.iloc[i, j] / denom if denom > 0 else np.nan))
        rows.append(("Residual", "sd__Observation", np.sqrt(self.residual_variance)))
        return pd.DataFrame(rows, columns=["group", "term", "estimate"]).assign(
            effect="ran_pars")[["effect", "group", "term", "estimate"]]

    def variance_components(self) -> pd.DataFrame:
        """group, term, variance, std_dev, icc; the residual last.

        ``icc`` is the share of a random intercept's variance in the total variance of an
        observation at zero slopes (all intercept variances plus the residual); it is
        empty for slopes.
        """
        rows = [(t, name, float(cov.loc[name, name]))
                for t in self.terms for cov in [self.covariances[t]] for name in cov.index]
        rows.append(("Residual", "", float(self.residual_variance)))
        frame = pd.DataFrame(rows, columns=["group", "term", "variance"])
        frame["std_dev"] = np.sqrt(frame["variance"])
        intercept = frame["term"].isin(["(Intercept)", ""])
        total = frame.loc[intercept, "variance"].sum()
        frame["icc"] = np.where(intercept & (total > 0), frame["variance"] / total, np.nan)
        return frame

    def random_effects(self, group: str) -> pd.DataFrame:
        """Conditional modes (BLUPs) of the term ``group``: one row per level, one column
        per random coefficient (``(Intercept)``, slopes)."""
        if group not in self.modes:
            raise SpecificationError(
                f"{group!r} is not a grouping factor (random-effect term) of this "
                "model; it has "
                f"{list(self.terms)}")
        return self.modes[group].copy()


# --------------------------------------------------------------------------- fitting


def fit_lmm(frame: pd.DataFrame, y: np.ndarray, X: np.ndarray, names: Sequence[str],
            terms: Sequence[RandomTerm], *, reml: bool = True, outcome: str = "y",
            formula: str = "", notes: tuple[str, ...] = (),
            df: DfMethod = "wald") -> MixedResult:
    """Fit a linear mixed model on prepared arrays (see :func:`mixed_model`)."""
    check_df_method(df, reml)
    names = list(names)
    keep = independent_columns(X)
    if not keep.all():
        dropped = [n for n, k in zip(names, keep, strict=True) if not k]
        notes = notes + (Note("collinear_dropped",
            f"Dropped as collinear with the other fixed effects: "
            f"{', '.join(dropped)}."),)
        X, names = X[:, keep], [n for n, k in zip(names, keep, strict=True) if k]
    n = y.size
    if n <= X.shape[1]:
        raise SpecificationError(f"only {n} complete rows for {X.shape[1]} fixed effects")
    for t in terms:
        if t.n_levels < 2:
            raise SpecificationError(f"group column {t.group!r} has {t.n_levels} level(s) "
                                     "among the complete rows; a random effect needs at "
                                     "least 2")
        if t.n_levels * t.p >= n:
            raise SpecificationError(f"term ({' + '.join(t.names)} | {t.group}) has "
                                     f"{t.n_levels * t.p:,} random effects for {n:,} rows: "
                                     "they cannot be told apart from the residual")
    with single_threaded_blas():  # the whole fit: see single_threaded_blas
        return _fit(frame, y, X, names, terms, reml, outcome, formula, notes, df)


def _fit(frame, y, X, names, terms, reml, outcome, formula, notes, df="wald") -> MixedResult:
    Xc, yc, means = _centred(X, y, names)
    order = sorted(range(len(terms)), key=lambda i: -terms[i].n_levels)
    scales = [_column_scales(terms[i].values) for i in order]
    # the numerics see each random-effect column divided by its root mean square, so that
    # theta is free of the columns' units (a slope on a column of scale 1e6 would put the
    # optimum near theta = 1e-6, where the optimiser's steps overflow or stop short);
    # _assemble maps T, theta and the modes back to the columns' own scale
    ordered = [replace(terms[i], values=terms[i].values / s)
               for i, s in zip(order, scales, strict=True)]
    cp = cross_products(ordered, Xc, yc)
    objective, gradient = profiled_deviance(ordered, cp, reml)
    start = np.concatenate([t.start() for t in ordered])
    lower = np.concatenate([t.lower_bounds() for t in ordered])
    opt = minimise_deviance(objective, start.size, start, lower, gradient)
    res = _assemble(frame, outcome, formula, names, ordered, opt, cp, means, reml, notes,
                    scales)
    # Satterthwaite/Kenward-Roger df are invariant to the columns' scaling: the rescaled
    # terms and their theta describe the same model
    return with_df(res, df, X, y, ordered, opt.theta, reml)


def _column_scales(values: np.ndarray) -> np.ndarray:
    """Root mean square of each random-effect column whose RMS lies outside
    [1e-2, 1e2]; 1 for the others (an intercept, columns in ordinary units: their fits
    are unchanged) and for a column of zeros."""
    rms = np.sqrt(np.mean(values ** 2, axis=0))
    extreme = np.isfinite(rms) & (rms > 0) & ((rms < 1e-2) | (rms > 1e2))
    return np.where(extreme, rms, 1.0)


def _centred(X: np.ndarray, y: np.ndarray, names) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Centre ``y`` and the non-intercept columns when there is an intercept column."""
    if "Intercept" not in names:
        return X, y, None
    i = names.index("Intercept")
    xbar = X.mean(axis=0)
    xbar[i] = 0.0
    return X - xbar, y - y.mean(), (i, xbar, float(y.mean()))


def _uncentred(beta, cov, means) -> tuple[np.ndarray, np.ndarray]:
    """Map centred-fit estimates back: ``Intercept = b0 + ybar - xbar'b``."""
    if means is None:
        return beta, cov
    i, xbar, ybar = means
    A = np.eye(beta.size)
    A[i] -= xbar
    shift = np.zeros(beta.size)
    shift[i] = ybar
    return A @ beta + shift, A @ cov @ A.T


def _assemble(frame, outcome, formula, names, terms, opt, cp, means, reml, notes, scales):
    fit = gls_fit(split_theta(opt.theta, terms), cp)
    # back to the columns' own scale: Z = Z_s S, so T = S^-1 T_s and b = S^-1 b_s
    Ts = [T / s[:, None] for T, s in zip(split_theta(opt.theta, terms), scales, strict=True)]
    n, p = cp.n, fit.beta.size
    sigma2 = fit.r2 / (n - p if reml else n)
    beta, cov = _uncentred(fit.beta, sigma2 * linalg.inv(fit.xtvx), means)
    index = pd.Index(names)
    blups = np.split(conditional_modes(fit, cp),
                     np.cumsum([g * q for g, q in cp.shapes])[:-1])
    modes, covs, thetas = {}, {}, {}
    for t, T, b, sc in zip(terms, Ts, blups, scales, strict=True):
        modes[t.label] = pd.DataFrame(b.reshape(t.n_levels, t.p) / sc, columns=list(t.names),
                                      index=pd.Index(t.levels, name=t.group))
        covs[t.label] = pd.DataFrame(sigma2 * T @ T.T, index=list(t.names),
                                     columns=list(t.names))
        rows, cols = t._positions
        thetas[t.label] = tuple(map(float, T[rows, cols]))
    user = sorted(terms, key=lambda t: t.position)
    labels = tuple(t.label for t in user)
    loglik = -opt.value / 2
    n_par = p + opt.theta.size + 1
    method = "REML" if reml else "ML"
    singular = [t.label for t, T in zip(terms, Ts, strict=True)
                if np.abs(np.diag(T)).min() < SINGULAR_THETA]
    extra = {"method": method, "converged": opt.converged, "singular": bool(singular),
             **{f"var_{t.label}": float(covs[t.label].iloc[0, 0]) for t in user},
             "var_residual": float(sigma2),
             **{f"n_levels_{t.label}": t.n_levels for t in user}}
    return MixedResult(
        params=pd.Series(beta, index=index), cov=pd.DataFrame(cov, index=index, columns=index),
        vcov="iid", df_inference=None, estimator=f"linear mixed model ({method})",
        outcome=outcome, nobs=n, formula=formula,
        n_units=user[0].n_levels,
        fit={"loglik": loglik, "aic": -2 * loglik + 2 * n_par,
             "bic": float(-2 * loglik + np.log(n) * n_par), "sigma": float(np.sqrt(sigma2))},
        extra=extra, notes=notes + _fit_notes(terms, Ts, opt, singular),
        converged=opt.converged, optimizer=opt.optimizer, terms=labels,
        term_groups={t.label: t.group for t in terms},
        structures={t.label: t.structure for t in terms}, theta=thetas, covariances=covs,
        residual_variance=float(sigma2), modes=modes)


def _fit_notes(terms, Ts, opt: Optimum, singular) -> tuple[str, ...]:
    notes = []
    if not opt.converged:
        notes.append(Note("not_converged",
            f"The optimiser did not converge ({opt.optimizer}: {opt.message}); the "
            "estimates are those of the lowest deviance found and may be unreliable."))
    for label in singular:
        t = next(t for t in terms if t.label == label)
        if t.p == 1:
            notes.append(Note("boundary_fit",
                f"The {label} variance is estimated as zero (singular fit): its "
                "random intercepts add nothing; consider dropping the group."))
        else:
            notes.append(Note("singular_fit",
                f"The {label} random-effect covariance is singular (singular fit: "
                "a variance at zero or a correlation of +-1); consider a simpler "
                "random-effect structure, e.g. re_cov='diagonal' or no slope."))
    return tuple(notes)


# ----------------------------------------------------------------------- entry point


def mixed_model(data: pd.DataFrame, formula: str, *, groups: str | Sequence[str],
                re_formula: str | None = None, vc: Mapping[str, str] | None = None,
                reml: bool = True, family: str = "gaussian",
                re_cov: Structure = "unstructured",
                df: DfMethod = "wald") -> MixedResult | GEEResult:
    """Linear mixed model with random intercepts, random slopes and crossed groups (lme4).

    ``mixed_model(df, "Weight ~ Time", groups="Pig", re_formula="1 + Time")`` is lme4's
    ``lmer(Weight ~ Time + (1 + Time | Pig), REML = TRUE)``;
    ``mixed_model(ex, "y ~ x", groups=("receiver_id", "sender_id"))`` is
    ``lmer(y ~ x + (1 | receiver_id) + (1 | sender_id))``. Fitted by profiled REML (or
    ML) on its own sparse-aware implementation of lme4's algorithm (see the module
    notes): statsmodels' ``MixedLM`` handles crossed designs only through variance
    components nested in one all-encompassing group, which is slow for hundreds of
    senders and receivers, and its default optimiser can stop short of the optimum.

    Parameters
    ----------
    data
        One row per observation.
    formula
        Fixed effects, ``"y ~ x1 + x2 + x1:x2"`` (formulaic syntax, ``C(cat)`` for
        categories).
    groups
        One grouping column, or several crossed ones; each gets the random effects of
        ``re_formula``.
    re_formula
        The random-effect columns of each group in ``groups``: ``None`` or ``"1"`` for a
        random intercept (default), ``"1 + time"`` (or statsmodels' ``"~time"``) for a
        random intercept and slope, ``"0 + time"`` for a slope alone.
    vc
        Further random intercepts, as ``{label: column}`` (statsmodels'
        ``{label: "0 + C(column)"}`` is read too), crossed with ``groups``.
    reml
        REML (default, lme4's default) or maximum likelihood (to compare fixed effects
        by likelihood ratio).
    family
        ``"gaussian"``. Deprecated: ``"binomial"``, which returned a :class:`GEEResult`
        instead of a :class:`MixedResult`; call :func:`gee` instead.
    re_cov
        ``"unstructured"`` (correlated intercept and slopes, lme4's ``|``) or
        ``"diagonal"`` (uncorrelated, lme4's ``||``).
    df
        The fixed effects' reference law: ``"wald"`` (default: z, as lme4's ``summary``)
        or ``"satterthwaite"`` (t with per-term Satterthwaite df and F tests with
        lmerTest's denominator df, as ``lmerTest::lmer``, SAS ``ddfm=satterthwaite`` and
        Stata ``mixed, dfmethod(satterthwaite)``; what management papers that use R
        report), or ``"kenward-roger"`` (REML only: pbkrtest's adjusted covariance, with
        its SEs, and df; joint tests are refused; dense ``n x n``, up to 4,000 rows).

    Returns
    -------
    MixedResult
        ``tidy(effects="fixed"|"ran_pars")``, ``variance_components()``,
        ``random_effects(term)``, ``converged``, ``optimizer``, ``singular``; notes report
        left-out rows, dropped collinear terms, non-convergence and singular fits.
        ``n_units`` counts the levels of the first group; ``glance()["df_method"]`` and,
        with Satterthwaite, ``tidy()``'s ``df`` column and ``wald_test``'s ``df_denom``.
        (A :class:`GEEResult` only for the deprecated ``family="binomial"``.)

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"g": np.repeat(np.arange(40), 6), "t": np.tile(np.arange(6), 40)})
    >>> df["y"] = (rng.normal(0, 1, 40)[df["g"]] + (0.5 + rng.normal(0, .3, 40)[df["g"]])
    ...            * df["t"] + rng.normal(0, .5, len(df)))
    >>> res = mixed_model(df, "y ~ t", groups="g", re_formula="1 + t")
    >>> res.converged, res.variance_components()["term"].tolist()
    (True, ['(Intercept)', 't', ''])
    >>> sat = mixed_model(df, "y ~ t", groups="g", df="satterthwaite")  # lmerTest's t tests
    >>> sat.glance()["df_method"].iloc[0], sat.tidy()["df"].round().tolist()
    ('satterthwaite', [47.0, 199.0])
    """
    if family not in ("gaussian", "binomial"):
        raise SpecificationError(f"family must be 'gaussian' or 'binomial', got {family!r}")
    check_df_method(df, reml)
    if family == "binomial" and df != "wald":
        raise SpecificationError("family='binomial' fits a GEE with robust z tests; "
                                 f"df={df!r} is for gaussian mixed models")
    if family == "binomial":
        deprecated_call("mixed_model(family='binomial') is deprecated: it returns a "
                        "GEEResult, not a MixedResult; call gee(data, formula, groups=...) "
                        "instead")
    return _fit_model(data, formula, groups, re_formula, vc, reml, family, re_cov, df)


def gee(data: pd.DataFrame, formula: str, *, groups: str,
        family: Literal["binomial"] = "binomial") -> GEEResult:
    """Logistic GEE: population-averaged log odds of a 0/1 outcome, clustered by ``groups``.

    An exchangeable working correlation within ``groups`` (one column) and robust
    (sandwich) standard errors, as statsmodels' ``GEE(family=Binomial(),
    cov_struct=Exchangeable())`` and R's ``geepack::geeglm(..., family = binomial,
    corstr = "exchangeable")``. Formerly ``mixed_model(family="binomial")``.

    Parameters
    ----------
    data
        One row per observation.
    formula
        ``"y ~ x1 + x2"`` with a 0/1 outcome.
    groups
        The one grouping column.
    family
        ``"binomial"`` (the only family so far).

    Returns
    -------
    GEEResult

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"g": np.repeat(np.arange(60), 5), "x": rng.normal(size=300)})
    >>> df["y"] = (rng.random(300) < 1 / (1 + np.exp(-df["x"]))).astype(float)
    >>> type(gee(df, "y ~ x", groups="g")).__name__
    'GEEResult'
    """
    if family != "binomial":
        raise SpecificationError(f"family must be 'binomial', got {family!r}")
    return _fit_model(data, formula, groups, None, None, True, "binomial", "unstructured")


def _fit_model(data, formula, groups, re_formula, vc, reml, family, re_cov, df="wald"):
    gs = column_names(groups, "groups")
    if not gs:
        raise SpecificationError("groups must name at least one grouping column")
    vcs = _vc_columns(vc)
    re_text = _re_text(re_formula)
    if re_cov not in ("unstructured", "diagonal"):
        raise SpecificationError(f"re_cov must be 'unstructured' or 'diagonal', got {re_cov!r}")
    if "~" not in formula:
        raise SpecificationError(f"formula {formula!r} needs an outcome: 'y ~ x1 + x2'")
    re_vars = [v for v in formula_variables(f"y__ ~ {re_text}") if v != "y__"]
    group_cols = [*gs, *vcs.values()]
    require_columns(data, tuple(group_cols), "group column")
    for name in re_vars:
        require_columns(data, (name,), f"re_formula {re_formula!r} names column")
    used = list(dict.fromkeys([*formula_variables(formula), *re_vars, *group_cols]))
    require_columns(data, tuple(used), f"formula {formula!r} names column")
    frame, notes = complete_rows(data, used)
    design = build_design(frame, formula)
    if design.n_missing:
        notes += (Note("missing_dropped",
            f"{design.n_missing:,} rows where the formula's transformations give a "
            "missing value were left out."),)
    frame = frame.iloc[design.rows].reset_index(drop=True)
    terms = _terms(frame, gs, vcs, re_text, re_cov)
    label = _lme4_formula(formula, terms)
    if family == "binomial":
        if len(terms) > 1 or terms[0].names != ("(Intercept)",):
            raise SpecificationError("family='binomial' fits a logistic GEE: one grouping "
                                     "column with a random intercept only (no re_formula "
                                     "slopes, no vc)")
        return logistic_gee(design.y, design.X, design.names, terms[0].codes,
                            terms[0].group, outcome=design.outcome, formula=label, notes=notes)
    return fit_lmm(frame, design.y, design.X, design.names, terms, reml=reml,
                   outcome=design.outcome, formula=label, notes=notes, df=df)


def _vc_columns(vc: Mapping[str, str] | None) -> dict[str, str]:
    """``{label: column}`` from ``vc`` (plain columns or ``"0 + C(column)"``)."""
    out = {}
    for label, spec in dict(vc or {}).items():
        if not isinstance(spec, str):
            raise SpecificationError(f"vc[{label!r}] must be a column name, got {spec!r}")
        m = re.fullmatch(r"\s*0\s*\+\s*C\(\s*([^()]+?)\s*\)\s*", spec)
        out[str(label)] = m.group(1) if m else spec.strip()
    return out


def _re_text(re_formula: str | None) -> str:
    text = "1" if re_formula is None else str(re_formula).strip().lstrip("~").strip()
    if not text or "|" in text or "~" in text:
        raise SpecificationError(f"re_formula {re_formula!r} must list the random-effect "
                                 "columns, e.g. '1 + time' (the groups go in groups=)")
    return text


def _terms(frame: pd.DataFrame, gs, vcs: dict[str, str], re_text: str,
           re_cov: Structure) -> list[RandomTerm]:
    from formulaic import model_matrix

    try:
        mm = model_matrix(re_text, frame, output="pandas")
    except Exception as exc:
        raise SpecificationError(f"cannot evaluate re_formula {re_text!r}: {exc}") from None
    if len(mm) != len(frame):
        raise SpecificationError(f"re_formula {re_text!r} gives missing values")
    names = tuple("(Intercept)" if c == "Intercept" else str(c) for c in mm.columns)
    if not names:
        raise SpecificationError(f"re_formula {re_text!r} has no columns")
    values = mm.to_numpy(float)
    terms, seen = [], set()
    specs = [(g, g, names, values, re_cov) for g in gs]
    specs += [(label, col, ("(Intercept)",), np.ones((len(frame), 1)), "unstructured")
              for label, col in vcs.items()]
    for position, (label, col, nm, vals, cov) in enumerate(specs):
        while label in seen or label == "Residual":
            label = f"{label}.1"
        seen.add(label)
        codes, levels = pd.factorize(frame[col].to_numpy())
        terms.append(RandomTerm(label, col, nm, codes.astype(np.int64), pd.Index(levels),
                                vals, cov, position))
    return terms


def _lme4_formula(formula: str, terms: Sequence[RandomTerm]) -> str:
    def cols(t: RandomTerm) -> str:
        names = [("1" if n == "(Intercept)" else n) for n in t.names]
        if "1" not in names:
            names.insert(0, "0")
        return " + ".join(names)

    bars = "".join(f" + ({cols(t)} {'||' if t.structure == 'diagonal' and t.p > 1 else '|'}"
                   f" {t.group})" for t in terms)
    return formula + bars


__all__ = ["GEEResult", "MixedResult", "gee", "mixed_model"]
