"""Moderation: ``y ~ x + w + x:w + covariates``, simple slopes and Johnson-Neyman.

What R's ``interactions`` (``sim_slopes``, ``johnson_neyman``) and Hayes' PROCESS
model 1 report, for a linear (OLS) or a logistic outcome, with iid, HC or clustered
standard errors.

Conventions
-----------
- Terms: ``Intercept``, ``x``, ``w``, ``x:w``, then the covariates. With
  ``center=True`` x and w are mean-centred before the product is formed (PROCESS's
  ``center`` option); moderator values passed to or reported by ``simple_slopes``
  and ``johnson_neyman`` are always on w's original scale.
- The conditional effect of x at ``w = w0`` is ``b_x + b_xw (w0 - c_w)`` (``c_w`` the
  centring constant, 0 by default) with variance ``V_xx + 2 (w0 - c_w) V_x,xw +
  (w0 - c_w)^2 V_xw,xw``; t law on the model's degrees of freedom (``n - k`` for iid
  and HC, ``G - 1`` clustered), normal for the logit.
- Default moderator values: the 16th, 50th and 84th percentiles (PROCESS 3 and
  later), computed as PROCESS does: sorted values interpolated at position
  ``p (n + 1)`` (R ``quantile(type = 6)``, SPSS's HAVERAGE); a moderator with two
  values is probed at both. ``at="mean_sd"`` gives the mean and one SD (ddof 1)
  either side (PROCESS 2 and ``interactions``' default).
- ``vcov="hc3"`` reproduces PROCESS 2.16's default standard errors; PROCESS 3 and
  later default to ``"iid"``, as here.
- Logistic models report slopes on the log-odds scale and, as rows with
  ``scale == "probability"``, average marginal effects: the mean over the sample of
  ``dP/dx`` with w set to ``w0`` (a discrete change from 0 to 1 when x is binary),
  with delta-method standard errors (numerical Jacobian, as R ``marginaleffects``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from ipnstats.core.deprecation import deprecated_call
from ipnstats.core.formula import SpecificationError, require_numeric_roles
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.glm import MLEngine, fit_logit
from ipnstats.estimators.linear import LinearEngine, ols
from ipnstats.results.inference import check_conf_level, critical_value, two_sided_p
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import SSC, parse_ssc, parse_vcov

Family = Literal["gaussian", "binomial"]
_FAMILIES = ("gaussian", "binomial")
JN_POINTS = 21  # PROCESS's Johnson-Neyman table spans the moderator's range in 20 steps


def process_percentiles(values: np.ndarray, probs: Sequence[float] = (0.16, 0.5, 0.84)
                        ) -> np.ndarray:
    """Percentiles as PROCESS computes them: interpolation at position ``p (n + 1)``."""
    return np.percentile(np.asarray(values, float), np.asarray(probs) * 100, method="weibull")


def probe_values(values: np.ndarray, at: object) -> tuple[np.ndarray, list[str]]:
    """Moderator values to probe and their labels (see the module notes)."""
    v = np.asarray(values, float)
    uniques = np.unique(v)
    if at is None:
        if uniques.size == 2:
            return uniques, [f"{u:g}" for u in uniques]
        return process_percentiles(v), ["16th percentile", "50th percentile", "84th percentile"]
    if isinstance(at, str):
        if at != "mean_sd":
            raise SpecificationError(f"at must be None, 'mean_sd' or numbers, got {at!r}")
        m, s = v.mean(), v.std(ddof=1)
        return np.array([m - s, m, m + s]), ["mean - 1 SD", "mean", "mean + 1 SD"]
    points = np.atleast_1d(np.asarray(at, float))
    if points.ndim != 1 or not np.isfinite(points).all():
        raise SpecificationError(f"at must be finite numbers, got {at!r}")
    return points, [f"{p:g}" for p in points]


def conditional_effect(beta: np.ndarray, cov: np.ndarray, i: int, j: int,
                       at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and SE of ``beta[i] + beta[j] * at``."""
    est = beta[i] + beta[j] * at
    var = cov[i, i] + 2 * at * cov[i, j] + at**2 * cov[j, j]
    return est, np.sqrt(np.maximum(var, 0.0))


def effect_frame(w: np.ndarray, est: np.ndarray, se: np.ndarray, df: float | None,
                 conf_level: float) -> pd.DataFrame:
    """w, estimate, std_error, statistic, p_value, conf_low, conf_high."""
    crit = critical_value(conf_level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    return pd.DataFrame({"w": w, "estimate": est, "std_error": se, "statistic": stat,
                         "p_value": two_sided_p(stat, df), "conf_low": est - crit * se,
                         "conf_high": est + crit * se})


def jn_bounds(b1: float, b3: float, v11: float, v13: float, v33: float,
              crit: float) -> np.ndarray:
    """Real roots in w of ``(b1 + b3 w)^2 = crit^2 var(w)``, sorted (0, 1 or 2 of them)."""
    a = b3**2 - crit**2 * v33
    b = 2 * (b1 * b3 - crit**2 * v13)
    c = b1**2 - crit**2 * v11
    if abs(a) < 1e-14 * max(b3**2, crit**2 * v33, 1e-300):
        return np.array([-c / b]) if b != 0 else np.array([])
    disc = b * b - 4 * a * c
    if disc < 0:
        return np.array([])
    root = np.sqrt(disc)
    return np.sort(np.array([(-b - root) / (2 * a), (-b + root) / (2 * a)]))


@dataclass(frozen=True)
class JohnsonNeyman:
    """The Johnson-Neyman region of significance of the effect of x along w.

    ``bounds``: every real root (inside or outside the observed range of w);
    ``regions``: a frame of the intervals the bounds cut the real line into, whether x's
    effect is significant there, and the share of observations in each; ``effects``:
    the conditional effect and its interval at 21 points spanning w's range plus the
    bounds inside it (PROCESS's table); ``significant_where``: a sentence.
    """

    bounds: tuple[float, ...]
    in_range: tuple[bool, ...]
    regions: pd.DataFrame
    effects: pd.DataFrame
    alpha: float
    w_range: tuple[float, float]
    significant_where: str


@dataclass(frozen=True, repr=False)
class ModerationResult(Result):
    """A fitted moderation model; see :func:`moderation`.

    ``x``, ``w``: the focal predictor and moderator; ``family``; ``w_center`` and
    ``x_center`` the centring constants (0 unless ``center=True``); ``w_values`` and
    ``x_values`` the observed values on the estimation rows.
    """

    x: str = ""
    w: str = ""
    family: Family = "gaussian"
    x_center: float = 0.0
    w_center: float = 0.0
    w_values: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    x_values: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    design: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False,
                               compare=False)
    conf_level: float = 0.95

    @property
    def interaction(self) -> str:
        """The product term's name."""
        return f"{self.x}:{self.w}"

    def _positions(self) -> tuple[int, int]:
        names = list(self.params.index)
        return names.index(self.x), names.index(self.interaction)

    def simple_slopes(self, at: object = None, conf_level: float | None = None) -> pd.DataFrame:
        """The conditional effect of x at values of w.

        Parameters
        ----------
        at
            None (PROCESS's 16th, 50th and 84th percentiles, or both values of a
            binary w), ``"mean_sd"``, or numbers on w's scale.
        conf_level
            Defaults to the level the model was fitted with.

        Returns
        -------
        DataFrame
            ``w``, ``label``, ``scale`` ("log-odds" or "probability" for a logit,
            else "linear"), estimate, std_error, statistic, p_value, conf_low,
            conf_high.
        """
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        w0, labels = probe_values(self.w_values, at)
        i, j = self._positions()
        est, se = conditional_effect(self.params.to_numpy(), self.cov.to_numpy(), i, j,
                                     w0 - self.w_center)
        out = effect_frame(w0, est, se, self.df_inference, level)
        out.insert(1, "label", labels)
        out.insert(2, "scale", "log-odds" if self.family == "binomial" else "linear")
        if self.family == "binomial":
            ame = self._marginal_effects(w0, level)
            ame.insert(1, "label", labels)
            ame.insert(2, "scale", "probability")
            out = pd.concat([out, ame], ignore_index=True)
        return out

    def _marginal_effects(self, w0: np.ndarray, level: float) -> pd.DataFrame:
        beta, cov = self.params.to_numpy(), self.cov.to_numpy()
        est = np.array([self._ame(beta, w) for w in w0])
        jac = np.array([_jacobian(lambda b, w=w: self._ame(b, w), beta) for w in w0])
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac, cov, jac), 0.0))
        return effect_frame(w0, est, se, None, level)

    def _ame(self, beta: np.ndarray, w0: float) -> float:
        """Average marginal effect of x on P(y = 1) with w set to ``w0`` for every row."""
        X = self.design.copy()
        i, j = self._positions()
        w_pos = list(self.params.index).index(self.w)
        wc = w0 - self.w_center
        X[:, w_pos] = wc
        xs = self.x_values
        if np.isin(np.unique(xs), (0.0, 1.0)).all() and self.x_center == 0:
            X1, X0 = X.copy(), X.copy()
            X1[:, i], X1[:, j] = 1.0, wc
            X0[:, i], X0[:, j] = 0.0, 0.0
            return float(np.mean(expit(X1 @ beta) - expit(X0 @ beta)))
        X[:, j] = X[:, i] * wc
        p = expit(X @ beta)
        return float(np.mean(p * (1 - p)) * (beta[i] + beta[j] * wc))

    def johnson_neyman(self, alpha: float = 0.05) -> JohnsonNeyman:
        """Bounds of the region where x's effect is significant at ``alpha`` (two-sided).

        Solves ``(b_x + b_xw w)^2 = t_crit^2 var(b_x + b_xw w)`` exactly: both roots are
        reported whether or not they fall in the observed range of w.
        """
        level = check_conf_level(1 - alpha)
        i, j = self._positions()
        beta, cov = self.params.to_numpy(), self.cov.to_numpy()
        crit = critical_value(level, self.df_inference)
        roots = jn_bounds(beta[i], beta[j], cov[i, i], cov[i, j], cov[j, j], crit)
        roots = roots + self.w_center
        w = self.w_values
        lo, hi = float(w.min()), float(w.max())
        inside = roots[(roots >= lo) & (roots <= hi)]
        grid = np.unique(np.r_[np.linspace(lo, hi, JN_POINTS), inside])
        est, se = conditional_effect(beta, cov, i, j, grid - self.w_center)
        effects = effect_frame(grid, est, se, self.df_inference, level)
        regions = self._regions(roots, beta, cov, crit)
        return JohnsonNeyman(tuple(float(r) for r in roots),
                             tuple(bool(lo <= r <= hi) for r in roots), regions, effects,
                             alpha, (lo, hi), _describe_regions(regions, self.w, alpha, lo, hi))

    def _regions(self, roots, beta, cov, crit) -> pd.DataFrame:
        i, j = self._positions()
        edges = np.r_[-np.inf, roots, np.inf]
        rows = []
        w = self.w_values
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            mid = _midpoint(a, b)
            est, se = conditional_effect(beta, cov, i, j, np.array([mid - self.w_center]))
            share = float(np.mean((w > a) & (w <= b))) if np.isfinite(b) else float(np.mean(w > a))
            rows.append({"lower": a, "upper": b, "significant": bool(abs(est[0]) > crit * se[0]),
                         "sign": "positive" if est[0] > 0 else "negative", "share": share})
        return pd.DataFrame(rows)

    def plot(self, at: object = None, n_points: int = 50):
        """Deprecated: use :func:`ipnstats.figures.moderation_plot` (``result`` first)."""
        deprecated_call("ModerationResult.plot() is deprecated; use "
                        "ipnstats.figures.moderation_plot(result)")
        from ipnstats.figures.results import moderation_plot

        return moderation_plot(self, at=at, n_points=n_points)

    def predictions(self, at: object = None, n_points: int = 50,
                    conf_level: float | None = None) -> pd.DataFrame:
        """Predicted outcome over x's range at the probe values of w, with intervals."""
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        w0, labels = probe_values(self.w_values, at)
        xs = np.linspace(self.x_values.min(), self.x_values.max(), n_points)
        base = self.design.mean(axis=0)
        i, j = self._positions()
        w_pos = list(self.params.index).index(self.w)
        beta, cov = self.params.to_numpy(), self.cov.to_numpy()
        crit = critical_value(level, self.df_inference)
        parts = []
        for w, label in zip(w0, labels, strict=True):
            X = np.tile(base, (n_points, 1))
            X[:, i], X[:, w_pos] = xs - self.x_center, w - self.w_center
            X[:, j] = X[:, i] * X[:, w_pos]
            eta = X @ beta
            se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X, cov, X), 0.0))
            low, high = eta - crit * se, eta + crit * se
            if self.family == "binomial":
                eta, low, high = expit(eta), expit(low), expit(high)
            parts.append(pd.DataFrame({"x": xs, "w": w, "w_label": f"{self.w} = {label}",
                                       "estimate": eta, "conf_low": low, "conf_high": high}))
        return pd.concat(parts, ignore_index=True)

    def jn_plot(self, alpha: float = 0.05):
        """Deprecated: use :func:`ipnstats.figures.moderation_jn_plot` (``result`` first)."""
        deprecated_call("ModerationResult.jn_plot() is deprecated; use "
                        "ipnstats.figures.moderation_jn_plot(result)")
        from ipnstats.figures.results import moderation_jn_plot

        return moderation_jn_plot(self, alpha=alpha)


def _midpoint(a: float, b: float) -> float:
    if np.isinf(a) and np.isinf(b):
        return 0.0
    if np.isinf(a):
        return b - 1.0 - abs(b)
    if np.isinf(b):
        return a + 1.0 + abs(a)
    return (a + b) / 2


def _describe_regions(regions: pd.DataFrame, w: str, alpha: float,
                      lo: float, hi: float) -> str:
    """Where, within the observed range ``[lo, hi]`` of w, the effect is significant."""
    seen = regions[(regions["upper"] >= lo) & (regions["lower"] <= hi)]
    sig = seen[seen["significant"]]
    where = f"at any observed value of {w} ({lo:.4g} to {hi:.4g})"
    if sig.empty:
        return f"The effect is not significant (alpha = {alpha:g}) {where}."
    if len(sig) == len(seen):
        return f"The effect is significant (alpha = {alpha:g}) at every observed value of {w}."
    parts = []
    for r in sig.itertuples():
        if r.lower <= lo:
            parts.append(f"{w} <= {r.upper:.4g}")
        elif r.upper >= hi:
            parts.append(f"{w} >= {r.lower:.4g}")
        else:
            parts.append(f"{r.lower:.4g} <= {w} <= {r.upper:.4g}")
    return (f"The effect is significant (alpha = {alpha:g}) where " + " or ".join(parts)
            + f" ({sig['share'].sum():.1%} of the observations).")


def _jacobian(fun, beta: np.ndarray) -> np.ndarray:
    """Central-difference gradient of a scalar function of the coefficients."""
    out = np.empty_like(beta)
    for k in range(beta.size):
        h = 1e-6 * max(1.0, abs(beta[k]))
        up, down = beta.copy(), beta.copy()
        up[k] += h
        down[k] -= h
        out[k] = (fun(up) - fun(down)) / (2 * h)
    return out


# ----------------------------------------------------------------------- entry point


def moderation(data: pd.DataFrame, *, y: str, x: str, w: str, covariates: Sequence[str] = (),
               family: Family = "gaussian", vcov: object = "iid", center: bool = False,
               conf_level: float = 0.95, ssc: SSC | None = None) -> ModerationResult:
    """Does ``w`` moderate the effect of ``x`` on ``y``? ``y ~ x + w + x:w + covariates``.

    Parameters
    ----------
    data
        One row per observation; numeric or boolean columns.
    y, x, w
        Outcome, focal predictor and moderator.
    covariates
        Further numeric columns in the model.
    family
        ``"gaussian"`` (OLS) or ``"binomial"`` (logit by maximum likelihood; y 0/1).
    vcov
        ``"iid"``, ``"hc0"``-``"hc3"`` (HC2/HC3 for OLS only), ``Cluster(...)`` or
        ``Dyadic(sender, receiver)`` (dyadic-robust, OLS and logit).
    center
        Mean-centre x and w before forming the product.
    conf_level
        Level of the intervals ``simple_slopes`` and ``tidy`` give by default.
    ssc
        Small-sample corrections (:class:`ipnstats.SSC`); None: ``SSC()`` for OLS,
        ``SSC(adj=False)`` for the logit (see :mod:`ipnstats.results.vcov`).

    Returns
    -------
    ModerationResult
        ``tidy()``, ``simple_slopes()``, ``johnson_neyman()``; conventions in the
        module docstring. Figures: ``ipnstats.figures.moderation_plot(result)`` and
        ``moderation_jn_plot(result)`` (the methods ``plot()`` and ``jn_plot()`` are
        deprecated).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "w": rng.normal(size=300)})
    >>> df["y"] = 0.2 * df["x"] + 0.5 * df["x"] * df["w"] + rng.normal(size=300)
    >>> res = moderation(df, y="y", x="x", w="w")
    >>> res.simple_slopes(at="mean_sd")["estimate"].round(2).tolist()
    [-0.45, 0.11, 0.67]
    """
    covs = tuple(covariates)
    spec = parse_vcov(vcov, dyadic=True)
    ssc = parse_ssc(ssc)
    _check(data, y, x, w, covs, family)
    level = check_conf_level(conf_level)
    frame, notes = _complete(data, [y, x, w, *covs])
    yv = frame[y].to_numpy(float)
    xv, wv = frame[x].to_numpy(float), frame[w].to_numpy(float)
    _check_variation(xv, wv, yv, x, w, y, family)
    cx, cw = (xv.mean(), wv.mean()) if center else (0.0, 0.0)
    names = ("Intercept", x, w, f"{x}:{w}", *covs)
    X = np.column_stack([np.ones(len(frame)), xv - cx, wv - cw, (xv - cx) * (wv - cw),
                         frame[list(covs)].to_numpy(float)])
    rows = frame.attrs["rows"]
    if len(frame) <= X.shape[1]:
        raise SpecificationError(f"only {len(frame)} complete rows for {X.shape[1]} "
                                 "coefficients: the model cannot be estimated")
    fitter = _fit_logit if family == "binomial" else _fit_ols
    params, engine, fit, collinear, fit_notes = fitter(X, yv, names, data, rows, x, w)
    engine = engine if ssc is None else engine.with_ssc(ssc)
    inf = engine.compute(spec)
    index = pd.Index([n for n in names if n not in collinear])
    return ModerationResult(
        params=pd.Series(params, index=index),
        cov=pd.DataFrame(inf.cov, index=index, columns=index), vcov=spec,
        df_inference=inf.df, estimator="Moderation (OLS)" if family == "gaussian"
        else "Moderation (logit)", outcome=y, nobs=len(frame),
        formula=f"{y} ~ {x} * {w}" + "".join(f" + {c}" for c in covs),
        n_clusters=inf.n_clusters, fit=fit, collinear=collinear,
        notes=notes + fit_notes + _collinear_notes(collinear), inference_notes=inf.notes,
        engine=engine, x=x, w=w, family=family, x_center=float(cx), w_center=float(cw),
        w_values=wv, x_values=xv, design=X[:, [n not in collinear for n in names]],
        conf_level=level)


def _fit_ols(X, yv, names, data, rows, x, w):
    fit = ols(X, yv, names)
    _require_kept(fit.collinear, x, w)
    engine = LinearEngine(X[:, fit.keep], fit.resid, fit.bread, data, rows)
    stats = fit_statistics(yv, fit.resid, int(fit.keep.sum()), centered=True)
    return fit.beta, engine, stats, fit.collinear, ()


def _fit_logit(X, yv, names, data, rows, x, w):
    keep = _independent(X)
    collinear = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    _require_kept(collinear, x, w)
    fit = fit_logit(X[:, keep], yv, rows="observations",
                    outcome="the outcome's 1s from its 0s")
    engine = MLEngine(fit.scores, fit.bread, data, rows, np.arange(int(keep.sum())))
    n, k = X.shape[0], int(keep.sum())
    stats = {"loglik": fit.loglik, "aic": -2 * fit.loglik + 2 * k,
             "bic": -2 * fit.loglik + np.log(n) * k, "converged": fit.converged}
    return fit.beta, engine, stats, collinear, fit.notes


def _independent(X: np.ndarray) -> np.ndarray:
    from ipnstats.estimators.linear import independent_columns

    return independent_columns(X - np.r_[0, X[:, 1:].mean(axis=0)])


def _require_kept(collinear: tuple[str, ...], x: str, w: str) -> None:
    bad = [t for t in (x, w, f"{x}:{w}") if t in collinear]
    if bad:
        raise SpecificationError(f"{bad} are collinear with the other terms (or constant): "
                                 "the interaction is not identified")


def _collinear_notes(collinear: tuple[str, ...]) -> tuple[str, ...]:
    if not collinear:
        return ()
    return (Note("collinear_dropped",
        f"Covariates collinear with the other terms were dropped: {list(collinear)}."),)


def _check(data, y, x, w, covs, family) -> None:
    if family not in _FAMILIES:
        raise SpecificationError(f"family must be one of {_FAMILIES}, got {family!r}")
    require_numeric_roles(data, [y, x, w, *covs], "y, x, w, covariates")


def _check_variation(xv, wv, yv, x, w, y, family) -> None:
    for name, v, role in ((w, wv, "moderator"), (x, xv, "focal predictor")):
        if np.ptp(v) == 0:
            raise SpecificationError(
                f"the {role} {name!r} has no variation: all {v.size:,} rows used equal "
                f"{v[0]:g}, so its interaction with the other variable is not identified")
    if family == "binomial" and not np.isin(yv, (0.0, 1.0)).all():
        bad = np.unique(yv[~np.isin(yv, (0.0, 1.0))])[:5]
        raise SpecificationError(f"family='binomial' needs a 0/1 outcome; {y!r} has values "
                                 f"such as {bad.tolist()}")
    if family == "binomial" and np.ptp(yv) == 0:
        raise SpecificationError(f"the outcome {y!r} is {yv[0]:g} in every row used: a logit "
                                 "cannot be fitted")


def _complete(data: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Complete rows as floats; ``attrs["rows"]`` holds their positions in ``data``."""
    frame = data[columns].astype(float).reset_index(drop=True)
    missing = frame.isna().any(axis=1).to_numpy()
    notes: tuple[str, ...] = ()
    if missing.any():
        by = ", ".join(f"{c} ({int(k):,})" for c, k in frame.isna().sum().items() if k)
        notes = (Note("missing_dropped",
            f"{int(missing.sum()):,} of {len(frame):,} rows have a missing value (by "
            f"column: {by}) and were left out."),)
    out = frame[~missing]
    out.attrs["rows"] = np.flatnonzero(~missing)
    return out, notes


__all__ = ["JohnsonNeyman", "ModerationResult", "moderation", "process_percentiles"]
