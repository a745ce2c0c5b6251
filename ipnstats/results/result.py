"""The one result type that every ipnstats model returns.

A :class:`Result` is frozen: re-choosing inference (``with_vcov``) returns a new
result and never mutates this one. ``tidy()`` and ``glance()`` give the broom schema
(snake_case, defined once in :mod:`ipnstats.results.inference` and here); display
labels are applied only by the table renderers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.results.inference import WaldTest, coef_table, wald_test
from ipnstats.results.notes import HasNotes
from ipnstats.results.terms import add_term_keys
from ipnstats.results.vcov import SSC, VcovSpec, describe_vcov, parse_ssc, parse_vcov

GLANCE_COLUMNS = ("estimator", "outcome", "fixed_effects", "vcov", "nobs", "n_units",
                  "n_clusters", "df_resid", "r2", "r2_adj", "r2_within", "loglik", "aic",
                  "bic", "sigma", "seed", "n_boot")
#: The glance fields a notebook shows on the result's glance line.
_GLANCE_SHOWN = ("nobs", "n_units", "n_clusters", "vcov", "r2", "r2_within", "loglik", "seed",
                 "n_boot")


@dataclass(frozen=True, slots=True)
class Inference:
    """What a vcov choice yields: covariance, reference law and cluster counts."""

    cov: np.ndarray
    df: float | None
    n_clusters: int | None = None
    notes: tuple[str, ...] = ()
    #: Per-term degrees of freedom (Satterthwaite), which replace ``df`` in ``tidy()``.
    df_terms: np.ndarray | None = None
    #: The degrees of freedom of a test of ``R b = q`` (``R`` one or more rows) when
    #: they depend on the contrast (Satterthwaite); raises SpecificationError when
    #: the engine cannot give them.
    contrast_df: Callable[[np.ndarray], float] | None = None
    #: A joint test of ``R b = q`` with several rows that is not an F on ``contrast_df``
    #: (clubSandwich's HTZ): ``joint_test(b, R, q) -> (F, df_num, df_denom, p, note)``.
    joint_test: Callable[[np.ndarray, np.ndarray, np.ndarray],
                         tuple[float, int, float, float, str]] | None = None


class VcovEngine(Protocol):
    """Recomputes the covariance of a fitted model under another vcov choice."""

    def compute(self, spec: VcovSpec) -> Inference: ...

    def with_ssc(self, ssc: SSC) -> VcovEngine:
        """The same engine under other small-sample corrections."""
        ...


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Result(HasNotes):
    """Estimates of one model with their inference and fit statistics.

    Attributes
    ----------
    params
        Point estimates, indexed by term.
    cov
        Covariance matrix of ``params`` (a DataFrame indexed by term both ways).
    vcov
        The vcov choice behind ``cov`` (``"iid"``, ``"hc1"``, ``Cluster(...)`` ...).
    df_inference
        Degrees of freedom of the t law used for p-values and intervals; ``None``
        means the normal law.
    df_terms
        Per-term degrees of freedom (Satterthwaite: CR2 clusters, lmerTest's mixed
        models), which then replace ``df_inference`` in ``tidy()`` (as its ``df``
        column) and in ``wald_test``; None otherwise.
    estimator, outcome, formula
        What was estimated.
    nobs, n_units, n_clusters
        Observations used, distinct units (firms), clusters (the smaller dimension
        for two-way clustering).
    fixed_effects
        Columns whose fixed effects the model holds (absorbed or as dummies).
    fit
        Fit statistics: ``df_resid``, ``r2``, ``r2_adj``, ``r2_within``, ``loglik``,
        ``aic``, ``bic``, ``sigma`` where defined.
    extra
        Model-specific statistics shown by ``glance()`` after the common columns
        (e.g. ``sigma_u``, ``theta`` of random effects).
    collinear
        Regressors dropped because they were collinear with others or with the fixed
        effects, in formula order.
    n_singletons
        Observations alone in a fixed-effect group.
    notes
        Warnings about the fit (dropped rows, collinearity, singletons, convergence),
        printed by ``summary()`` and the reports: :class:`~ipnstats.results.notes.Note`
        strings with a stable ``.code``; ``has_note(code)`` and ``note_codes`` ask for
        them (test codes, never texts).
    inference_notes
        Warnings about the current vcov choice (few clusters, a repaired
        covariance); replaced by ``with_vcov``.
    seed, n_boot
        The random seed and replications of resampling-based inference, else None.
    key_columns
        The typed keys of the terms (:mod:`ipnstats.results.terms`: ``event``,
        ``cohort``, ``stage``, ``path``, ``mediator``, ``equation``, ``w``) that
        ``tidy()`` appends after the broom columns; empty for unkeyed terms.
    """

    params: pd.Series
    cov: pd.DataFrame
    vcov: VcovSpec
    df_inference: float | None
    estimator: str
    outcome: str
    nobs: int
    formula: str = ""
    n_units: int | None = None
    n_clusters: int | None = None
    fixed_effects: tuple[str, ...] = ()
    fit: Mapping[str, float | None] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)
    collinear: tuple[str, ...] = ()
    n_singletons: int = 0
    notes: tuple[str, ...] = ()
    inference_notes: tuple[str, ...] = ()
    seed: int | None = None
    n_boot: int | None = None
    engine: VcovEngine | None = field(default=None, repr=False, compare=False)
    key_columns: tuple[str, ...] = field(default=(), repr=False)
    df_terms: pd.Series | None = field(default=None, repr=False)
    contrast_df: Callable[[np.ndarray], float] | None = field(default=None, repr=False,
                                                             compare=False)
    joint_test: Callable[[np.ndarray, np.ndarray, np.ndarray],
                         tuple[float, int, float, float, str]] | None = field(
        default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fit", _frozen(self.fit))
        object.__setattr__(self, "extra", _frozen(self.extra))

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors, indexed by term."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def tidy(self, conf_level: float = 0.95) -> pd.DataFrame:
        """term, estimate, std_error, statistic, p_value, conf_low, conf_high, then the
        typed term keys of ``key_columns``; with per-term degrees of freedom
        (``df_terms``), a ``df`` column after ``p_value``."""
        df = (self.df_inference if self.df_terms is None
              else self.df_terms.reindex(self.params.index).to_numpy(float))
        return self._with_term_keys(coef_table(self.params, self.std_errors, df, conf_level))

    def _with_term_keys(self, table: pd.DataFrame,
                        equations: Sequence[str] = ()) -> pd.DataFrame:
        """``table`` with the ``key_columns`` of its terms appended (the one place
        ``tidy()`` adds them; ``equations`` as :func:`~ipnstats.results.terms.term_keys`)."""
        return add_term_keys(table, self.key_columns, equations=equations)

    def glance(self) -> pd.DataFrame:
        """One row: what the model is and how well it fits."""
        row = {
            "estimator": self.estimator, "outcome": self.outcome,
            "fixed_effects": ", ".join(self.fixed_effects),
            "vcov": describe_vcov(self.vcov), "nobs": self.nobs, "n_units": self.n_units,
            "n_clusters": self.n_clusters, "seed": self.seed, "n_boot": self.n_boot,
        }
        for name in GLANCE_COLUMNS:
            row.setdefault(name, self.fit.get(name))
        row = {name: row[name] for name in GLANCE_COLUMNS} | dict(self.extra)
        return pd.DataFrame([row])

    def with_vcov(self, vcov: object, *, ssc: SSC | None = None) -> Result:
        """A new result with another covariance choice, without refitting.

        ``ssc`` (:class:`~ipnstats.SSC`) re-chooses the small-sample corrections too;
        None keeps the fit's.

        Examples
        --------
        >>> res.with_vcov(ipnstats.Cluster("firm_id"))  # doctest: +SKIP
        >>> res.with_vcov("hc1", ssc=ipnstats.SSC(adj=False))  # doctest: +SKIP
        """
        spec = parse_vcov(vcov, dyadic=hasattr(self.engine, "dyadic"))
        if self.engine is None:
            raise SpecificationError(f"{self.estimator} results cannot re-choose their vcov; refit "
                             "the model with vcov=...")
        engine = self.engine
        if (ssc := parse_ssc(ssc)) is not None:
            if not hasattr(engine, "with_ssc"):
                raise SpecificationError(f"{self.estimator} results have no small-sample "
                                         "corrections to re-choose; call with_vcov without ssc=")
            engine = engine.with_ssc(ssc)
        inf = engine.compute(spec)
        cov = pd.DataFrame(inf.cov, index=self.params.index, columns=self.params.index)
        df_terms = (None if inf.df_terms is None
                    else pd.Series(inf.df_terms, index=self.params.index))
        return dataclasses.replace(self, cov=cov, vcov=spec, df_inference=inf.df,
                                   n_clusters=inf.n_clusters, inference_notes=inf.notes,
                                   engine=engine, df_terms=df_terms,
                                   contrast_df=inf.contrast_df, joint_test=inf.joint_test)

    def wald_test(self, terms: Sequence[str] | None = None, *, R: np.ndarray | None = None,
                  q: np.ndarray | float = 0.0, hypothesis: str | None = None) -> WaldTest:
        """Joint test that ``terms`` are all zero, or of ``R @ params = q``.

        F with the model's t degrees of freedom, chi-squared when inference is normal;
        with per-term (Satterthwaite) degrees of freedom, F with the denominator
        degrees of freedom of this contrast (``contrast_df``), or the estimator's own
        joint test (``joint_test``: CR2's HTZ test) when ``R`` has several rows.
        """
        names = list(self.params.index)
        if R is None:
            wanted = names if terms is None else list(terms)
            unknown = [t for t in wanted if t not in names]
            if unknown:
                raise SpecificationError(f"unknown terms {unknown}; the model has {names}")
            R = np.eye(len(names))[[names.index(t) for t in wanted]]
            label = " = ".join(wanted) + " = 0"
        else:
            label = "R b = q"
        R = np.atleast_2d(np.asarray(R, float))
        q_vec = np.broadcast_to(np.asarray(q, float), (R.shape[0],))
        df = self.df_inference
        label = label if hypothesis is None else hypothesis
        if self.df_terms is not None and R.shape[0] > 1 and self.joint_test is not None:
            stat, df_num, df_denom, p, note = self.joint_test(self.params.to_numpy(), R, q_vec)
            return WaldTest(stat, df_num, df_denom, p, label, note)
        if self.df_terms is not None:
            if self.contrast_df is None:
                raise SpecificationError(
                    "this result has per-term (Satterthwaite) degrees of freedom but no rule "
                    "for a joint test's; test each term with tidy()")
            df = float(self.contrast_df(R))
        return wald_test(self.params.to_numpy(), self.cov.to_numpy(), R, q_vec, df, label)

    def summary(self, conf_level: float = 0.95) -> str:
        """A plain-text summary: model, sample, fit, coefficients and notes."""
        from ipnstats.results.summary import summary_text

        return summary_text(self, conf_level)

    @property
    def warnings(self) -> tuple[str, ...]:
        """All notes: the fit's, then the current inference's."""
        return self.notes + self.inference_notes

    def __repr__(self) -> str:
        notes = len(self.warnings)
        return (f"<{type(self).__name__} {self.estimator}: {self.outcome}, "
                f"{len(self.params)} terms, nobs={self.nobs}, vcov={describe_vcov(self.vcov)}"
                + (f", {notes} note(s)>" if notes else ">"))

    def _repr_html_(self) -> str:
        """A notebook's display: the model, one glance line, ``tidy()``, the notes."""
        from ipnstats.results.display import glance_line, html_block

        title = f"{type(self).__name__} {self.estimator}: {self.outcome}"
        line = glance_line(self.glance(), _GLANCE_SHOWN)
        return html_block(title, line, self.tidy(), self.warnings)

    def __str__(self) -> str:
        return self.summary()
