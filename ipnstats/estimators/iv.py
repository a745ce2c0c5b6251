"""Instrumental variables: two-stage least squares, with absorbed fixed effects.

``iv_regression(data, "y ~ x | fe1 + fe2 | endog ~ z1 + z2")`` reads R fixest's IV
formula: the model part (formulaic syntax), the fixed effects to absorb (optional, as
:func:`~ipnstats.panel_regression` reads them: column names and ``a^b``), and the
endogenous regressors with their excluded instruments. The exogenous regressors are
their own instruments.

With absorbed fixed effects, ``y``, the regressors and the instruments go through the
same within transformation (:func:`ipnstats.core.demean.demean`) and 2SLS runs on the
transformed data; the degrees of freedom count the absorbed parameters as for least
squares (reghdfe/ivreghdfe, fixest). 2SLS is then least squares of ``y`` on the
first-stage fitted values ``X_hat = P_Z X`` with the structural residuals
``u = y - X b``, so :class:`~ipnstats.estimators.linear.LinearEngine` gives every
covariance from ``X_hat``, ``u`` and ``(X_hat' X_hat)^-1`` (the 2SLS sandwich):
``"iid"`` is ``u'u / (n - K) (X_hat' X_hat)^-1`` (Stata ``ivregress 2sls, small``,
``ivreg2, small``, fixest, linearmodels ``debiased=True``), ``"hc1"`` and
``Cluster(...)`` the usual factors (see :mod:`ipnstats.results.vcov`). HC2/HC3 and CR2
are refused (their leverages are not defined for 2SLS here).

First-stage diagnostics and Anderson-Rubin intervals: :mod:`ipnstats.estimators.iv_diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg

from ipnstats.core.demean import absorbed_dof, complete_grid, demean
from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.core.fixef import _top_level_split, split_fixef
from ipnstats.core.formula import Design, build_design, formula_variables, missing_column_error
from ipnstats.core.stats import fit_statistics
from ipnstats.estimators.linear import Absorbed, LinearEngine, independent_columns
from ipnstats.estimators.panel_effects import redundancy_notes, with_extra_effects
from ipnstats.results.inference import WaldTest
from ipnstats.results.notes import Note
from ipnstats.results.result import Inference, Result
from ipnstats.results.vcov import SSC, Cluster, VcovSpec, parse_ssc, parse_vcov


@dataclass(frozen=True, slots=True)
class IVFormula:
    """The parts of an IV formula: model (``y ~ exog``), fixed effects, endogenous
    regressors and excluded instruments (each a formulaic right-hand side)."""

    model: str
    fixef: str
    endogenous: str
    instruments: str


def split_iv(formula: str) -> IVFormula:
    """``"y ~ x | fe | endog ~ z"`` (or without ``| fe``) in its parts.

    >>> split_iv("lwage ~ exper | educ ~ fatheduc + motheduc")
    IVFormula(model='lwage ~ exper', fixef='', endogenous='educ', instruments='fatheduc + motheduc')
    """
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string such as 'y ~ x | endog ~ z'; "
                                 f"got {formula!r}")
    parts = _top_level_split(formula)
    if len(parts) not in (2, 3) or "~" not in parts[-1] or any("~" in p for p in parts[1:-1]):
        raise SpecificationError(
            f"formula {formula!r} is not an IV formula: write 'y ~ exog | endog ~ instruments' "
            "or, with fixed effects to absorb, 'y ~ exog | fe1 + fe2 | endog ~ instruments' "
            "(R fixest's syntax; 'y ~ 1 | endog ~ z' without exogenous regressors)")
    model = parts[0].strip()
    if "~" not in model:
        raise SpecificationError(f"formula {formula!r} needs an outcome: 'y ~ exog | endog ~ z'")
    endog, _, instr = parts[-1].partition("~")
    if not endog.strip() or not instr.strip() or "~" in instr:
        raise SpecificationError(
            f"formula {formula!r}: the IV part {parts[-1].strip()!r} must read "
            "'endog1 + endog2 ~ instrument1 + instrument2'")
    fixef = parts[1].strip() if len(parts) == 3 else ""
    split_fixef(f"{model} | {fixef}" if fixef else model)  # checks both parts
    return IVFormula(model, fixef, endog.strip(), instr.strip())


@dataclass(frozen=True)
class IVData:
    """The (within-transformed) data of a 2SLS fit, kept for its diagnostics.

    ``y``, ``endog`` (n x p), ``exog`` (n x k1, the intercept included without fixed
    effects) and ``instruments`` (n x L, the excluded ones) after collinear columns
    were dropped; the engine fields as :class:`LinearEngine`'s.
    """

    y: np.ndarray
    endog: np.ndarray
    exog: np.ndarray
    instruments: np.ndarray
    endog_names: tuple[str, ...]
    exog_names: tuple[str, ...]
    instrument_names: tuple[str, ...]
    data: pd.DataFrame
    rows: np.ndarray
    absorbed: tuple[Absorbed, ...] = ()
    absorbed_df: int = 0

    @property
    def Z(self) -> np.ndarray:
        """Every instrument: the excluded ones, then the exogenous regressors."""
        return np.column_stack([self.instruments, self.exog])

    def engine(self, X: np.ndarray, resid: np.ndarray, bread: np.ndarray,
               ssc: SSC | None = None) -> LinearEngine:
        """A least-squares covariance engine on these rows (first stages, AR tests)."""
        ssc = SSC() if ssc is None else ssc
        return IVEngine(X=X, resid=resid, bread=bread, data=self.data, rows=self.rows,
                        absorbed=self.absorbed, absorbed_df=self.absorbed_df,
                        column_codes=self.absorbed, ssc=ssc)


@dataclass(frozen=True)
class IVEngine(LinearEngine):
    """:class:`LinearEngine` for 2SLS (``X`` the first-stage fitted values): iid, HC0,
    HC1 and CR1 clusters; HC2, HC3 and CR2 are refused."""

    def compute(self, spec: VcovSpec) -> Inference:
        if spec in ("hc2", "hc3") or (isinstance(spec, Cluster) and spec.type == "cr2"):
            raise SpecificationError(
                f"vcov={spec!r} is not available for instrumental-variables models (its "
                "leverages are those of least squares); use 'iid', 'hc1' or Cluster(...) "
                "(CR1)")
        return super().compute(spec)


@dataclass(frozen=True, repr=False)
class IVResult(Result):
    """A 2SLS fit: ``tidy()``/``glance()`` as any result, plus ``first_stage()``
    (first-stage F statistics, the effective F) and ``anderson_rubin()`` (weak-instrument
    robust intervals, ``anderson_rubin_test()``), under the result's current vcov choice."""

    iv: IVData | None = field(default=None, repr=False, compare=False)

    def first_stage(self) -> pd.DataFrame:
        """One row per endogenous regressor; see
        :func:`ipnstats.estimators.iv_diagnostics.first_stage_table`."""
        from ipnstats.estimators.iv_diagnostics import first_stage_table

        return first_stage_table(self.iv, self.vcov, self._ssc(), self.df_inference is None)

    def anderson_rubin(self, conf_level: float = 0.95) -> pd.DataFrame:
        """The Anderson-Rubin confidence set of the one endogenous regressor; see
        :func:`ipnstats.estimators.iv_diagnostics.anderson_rubin_set`."""
        from ipnstats.estimators.iv_diagnostics import anderson_rubin_set

        return anderson_rubin_set(self.iv, self.vcov, self._ssc(), conf_level,
                                  self.df_inference is None)

    def anderson_rubin_test(self, value: float = 0.0) -> WaldTest:
        """The Anderson-Rubin test that the endogenous regressor's coefficient is
        ``value`` (robust to weak instruments); see
        :func:`ipnstats.estimators.iv_diagnostics.anderson_rubin_test`."""
        from ipnstats.estimators.iv_diagnostics import anderson_rubin_test

        return anderson_rubin_test(self.iv, self.vcov, self._ssc(), value,
                                   self.df_inference is None)

    def _ssc(self) -> SSC:
        return getattr(self.engine, "ssc", SSC())


def iv_regression(data: pd.DataFrame, formula: str, *, vcov: object = "iid",
                  ssc: SSC | None = None) -> IVResult:
    """Two-stage least squares, optionally with absorbed fixed effects (fixest's ``feols``
    IV, Stata's ``ivregress 2sls, small`` / ``ivreghdfe``).

    Parameters
    ----------
    data
        One row per observation.
    formula
        ``"y ~ exog | endog ~ instruments"`` or, absorbing fixed effects,
        ``"y ~ exog | firm_id + year | endog ~ instruments"`` (R fixest). Several
        endogenous regressors: ``"y ~ x | e1 + e2 ~ z1 + z2 + z3"``. ``"y ~ 1 | ..."``
        for no exogenous regressor. Rows missing any variable (or fixed-effect column)
        are left out and counted.
    vcov
        ``"iid"``, ``"hc0"``, ``"hc1"`` or :class:`ipnstats.Cluster` (CR1); change it later
        with ``result.with_vcov`` (the diagnostics follow).
    ssc
        Small-sample corrections (:class:`ipnstats.SSC`); None: ``SSC()``.

    Returns
    -------
    IVResult
        Endogenous regressors first, then the exogenous ones. ``first_stage()`` and
        ``anderson_rubin()`` give the weak-instrument diagnostics; ``glance()`` the IV R²
        (``1 - SSR/TSS`` with the structural residuals; it can be negative).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> z, u, e = rng.normal(size=(3, 500))
    >>> df = pd.DataFrame({"y": 1 + 0.5 * (z + u + e) + u, "d": z + u + e, "z": z})
    >>> res = iv_regression(df, "y ~ 1 | d ~ z", vcov="hc1")
    >>> round(float(res.params["d"]), 3)
    0.505
    >>> res.first_stage()[["endogenous", "f_robust", "f_effective_cv"]].round(2)
      endogenous  f_robust  f_effective_cv
    0          d    326.51           23.11
    >>> res.anderson_rubin()[["term", "conf_low", "conf_high"]].round(3)
      term  conf_low  conf_high
    0    d     0.418       0.58
    """
    parts = split_iv(formula)
    spec = parse_vcov(vcov)
    ssc = parse_ssc(ssc, SSC())
    design, blocks, absorbed, notes = _design(data, parts, formula)
    fit = _fit(design, blocks, absorbed, data)
    engine = fit.pop("engine").with_ssc(ssc)
    inf = engine.compute(spec)
    names = pd.Index(fit["iv"].endog_names + fit["iv"].exog_names)
    notes = notes + fit.pop("notes")
    return IVResult(
        params=pd.Series(fit["beta"], index=names), vcov=spec,
        cov=pd.DataFrame(inf.cov, index=names, columns=names), df_inference=inf.df,
        estimator="2SLS" + (" (absorbed fixed effects)" if absorbed else ""),
        outcome=design.outcome, formula=formula, nobs=engine.nobs,
        n_clusters=inf.n_clusters, fixed_effects=tuple(a.column for a in absorbed),
        fit=fit["stats"], extra={"endogenous": ", ".join(fit["iv"].endog_names),
                                 "instruments": ", ".join(fit["iv"].instrument_names)},
        collinear=fit["collinear"], notes=notes, inference_notes=inf.notes, engine=engine,
        iv=fit["iv"])


def _design(data: pd.DataFrame, parts: IVFormula, formula: str):
    """The complete rows' design ``[exog | endog | instruments]``, the column blocks,
    the absorbed effects and the notes."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    lhs = parts.model.partition("~")[0].strip()
    pieces = {"model": parts.model, "endogenous": f"{lhs} ~ 0 + {parts.endogenous}",
              "instruments": f"{lhs} ~ 0 + {parts.instruments}"}
    fe_terms = split_fixef(f"{parts.model} | {parts.fixef}").effects if parts.fixef else ()
    used = sorted({v for f in pieces.values() for v in formula_variables(f)}
                  | {c for t in fe_terms for c in t.columns})
    for name in used:
        if name not in data.columns:
            raise missing_column_error(name, data.columns, f"formula {formula!r} names column")
    complete = np.flatnonzero(data[used].notna().all(axis=1).to_numpy())
    if complete.size == 0:
        raise SpecificationError(f"no complete rows: each of the {len(data):,} rows has a "
                                 f"missing value in a variable of {formula!r}")
    sub = data.iloc[complete]
    built = {k: build_design(sub, f) for k, f in pieces.items()}
    rows = built["model"].rows
    for d in built.values():  # a transformation can give NaN (np.log(-1)): drop the row
        rows = np.intersect1d(rows, d.rows)
    mats = {k: d.X[np.searchsorted(d.rows, rows)] for k, d in built.items()}
    model = built["model"]
    names = {k: d.names for k, d in built.items()}
    if fe_terms:  # the fixed effects stand for the constant
        keep = [n != "Intercept" for n in names["model"]]
        mats["model"], names["model"] = mats["model"][:, keep], tuple(
            n for n, k in zip(names["model"], keep, strict=True) if k)
    overlap = set(names["endogenous"]) & (set(names["model"]) | set(names["instruments"]))
    if overlap:
        raise SpecificationError(f"formula {formula!r}: {sorted(overlap)} cannot be both "
                                 "endogenous and exogenous (or an instrument)")
    X = np.column_stack([mats["model"], mats["endogenous"], mats["instruments"]])
    design = Design(outcome=model.outcome, y=model.y[np.searchsorted(model.rows, rows)],
                    X=X, names=names["model"] + names["endogenous"] + names["instruments"],
                    intercept=model.intercept and not fe_terms, rows=complete[rows],
                    n_missing=len(data) - rows.size)
    design, absorbed = with_extra_effects(design, data, fe_terms, formula)
    blocks = (len(names["model"]), len(names["endogenous"]), len(names["instruments"]))
    notes = ()
    if design.n_missing:
        notes = (Note("missing_dropped", f"{design.n_missing:,} rows with a missing value in a "
                      "formula variable or fixed-effect column were left out."),)
    return design, blocks, absorbed, notes + redundancy_notes(absorbed)


def _fit(design: Design, blocks: tuple[int, int, int], absorbed: tuple[Absorbed, ...],
         data: pd.DataFrame) -> dict:
    """2SLS on the (within-transformed) design: coefficients, engine, statistics."""
    k1, p, _ = blocks
    M = np.asfortranarray(np.column_stack([design.y, design.X]))
    reference = ((M - M.mean(axis=0)) ** 2).sum(axis=0) if absorbed else None
    notes, k_abs, tss_within = (), 0, None
    if absorbed:
        effects = [(a.codes, a.n_levels) for a in absorbed]
        grid = complete_grid(effects)
        M, iters, converged = demean(M, effects, grid=grid, overwrite=True)
        k_abs = absorbed_dof(effects, grid=grid)
        tss_within = float(M[:, 0] @ M[:, 0])
        if not converged:
            notes += (Note("not_converged", "The within transformation did not converge in "
                           f"{iters} iterations."),)
    y, X = M[:, 0], M[:, 1:]
    exog, endog, instr = X[:, :k1], X[:, k1:k1 + p], X[:, k1 + p:]
    names = design.names
    zref = None if reference is None else np.concatenate([reference[1:k1 + 1],
                                                          reference[k1 + p + 1:]])
    keep_z = independent_columns(np.column_stack([exog, instr]), reference=zref)
    keep_exog, keep_instr = keep_z[:k1], keep_z[k1:]
    dropped = [n for n, k in zip(names[:k1] + names[k1 + p:], keep_z, strict=True) if not k]
    exog, instr = exog[:, keep_exog], instr[:, keep_instr]
    exog_names = tuple(n for n, k in zip(names[:k1], keep_exog, strict=True) if k)
    instr_names = tuple(n for n, k in zip(names[k1 + p:], keep_instr, strict=True) if k)
    endog_names = names[k1:k1 + p]
    _check_identified(endog, exog, instr, endog_names, instr_names, reference, k1, p)
    if dropped:
        notes += (Note("collinear_dropped", "Dropped as collinear (with other exogenous "
                       "regressors, instruments or the fixed effects): "
                       + ", ".join(dropped) + "."),)
    rows = design.rows
    iv = IVData(y, endog, exog, instr, endog_names, exog_names, instr_names, data, rows,
                tuple(absorbed), k_abs)
    beta, resid, xhat, bread = two_sls(y, np.column_stack([endog, exog]), iv.Z)
    stats = fit_statistics(design.y, resid, beta.size + k_abs,
                           centered=design.intercept or bool(absorbed), tss_within=tss_within)
    stats |= {"loglik": None, "aic": None, "bic": None}
    engine = iv.engine(xhat, resid, bread)
    return {"beta": beta, "engine": engine, "stats": stats, "iv": iv, "notes": notes,
            "collinear": tuple(dropped)}


def _check_identified(endog, exog, instr, endog_names, instr_names, reference, k1, p) -> None:
    """The order and (numerical) rank conditions: each endogenous regressor varies beyond
    the exogenous ones, and there are at least as many excluded instruments."""
    eref = None if reference is None else reference[k1 + 1:k1 + p + 1]
    keep = independent_columns(np.column_stack([exog, endog]),
                               reference=None if eref is None else np.concatenate(
                                   [np.zeros(exog.shape[1]), eref]))[exog.shape[1]:]
    if not keep.all():
        bad = [n for n, k in zip(endog_names, keep, strict=True) if not k]
        raise EstimationError(f"the endogenous regressor(s) {bad} are collinear with the "
                              "exogenous regressors or the fixed effects: nothing is left to "
                              "instrument; drop them from the IV part")
    if instr.shape[1] < endog.shape[1]:
        raise SpecificationError(
            f"{endog.shape[1]} endogenous regressor(s) ({', '.join(endog_names)}) need at least "
            f"as many excluded instruments; {instr.shape[1]} remain ("
            f"{', '.join(instr_names) or 'none'}) after dropping those collinear with the "
            "exogenous regressors or fixed effects: add instruments (the model is not "
            "identified)")


def two_sls(y: np.ndarray, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, ...]:
    """2SLS of ``y`` on ``X`` with instruments ``Z``: coefficients, structural residuals
    ``y - X b``, the first-stage fitted values ``P_Z X`` and ``(X_hat' X_hat)^-1``."""
    q, _ = linalg.qr(Z, mode="economic")
    xhat = q @ (q.T @ X)
    gram = xhat.T @ xhat
    try:
        factor = linalg.cho_factor(gram)
    except linalg.LinAlgError:
        raise EstimationError("the first-stage fitted values are collinear: the instruments "
                              "do not identify the endogenous regressors separately") from None
    beta = linalg.cho_solve(factor, xhat.T @ y)
    bread = linalg.cho_solve(factor, np.eye(X.shape[1]))
    return beta, y - X @ beta, xhat, (bread + bread.T) / 2


__all__ = ["IVData", "IVFormula", "IVResult", "iv_regression", "split_iv", "two_sls"]
