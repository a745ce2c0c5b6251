"""Triangulation versus reinforcement (H3c): do firms learn more from more sources?

Seed talk's hypothesis: what a firm learns from one task grows with the number of
information sources it draws on for that task (triangulation), rather than with the
amount of experience it has accumulated (reinforcement). :func:`triangulation` fits,
within firm,

``log(outcome) = a_firm + b_s log(sources) + b_e log(experience) + covariates + e``

(the Wright/Argote log-linear learning curve; ``form="linear"`` uses the columns as
they are) and :meth:`TriangulationResult.comparison` tests ``b_s - b_e``.

Conventions
-----------
- Coefficients of the log-linear form are elasticities: ``b_s`` is the percentage
  change in the outcome for a 1% increase in sources, so ``2 ** b_s`` against
  ``2 ** b_e`` compares doubling the sources with doubling the experience. In the
  linear form the two coefficients are per unit of their columns, and comparing them
  only makes sense when those units are comparable.
- Firm fixed effects are absorbed (:func:`~ipnstats.estimators.panel.panel_regression`,
  ``estimator="within"``, ``panel_effects=("unit",)``); the order of tasks (``seq``) plays
  no role in the estimator, so no time column is needed.
- Rows with a missing value in a model column are left out and counted. Firms with a
  single complete task are then left out and counted: alone in its firm, a task is
  fit exactly by the firm effect and adds nothing within firm. Dropping these
  singletons changes no estimate, only the small-sample factor and the number of
  clusters, exactly as Stata ``reghdfe`` and pyfixest (``fixef_rm="singleton"``, its
  default) do; R fixest keeps them unless ``fixef.rm = "singleton"``.
- Nonpositive values under a log are an error naming the column, never dropped.
- Default standard errors: clustered by firm (CR1, Stata's
  ``G/(G-1) (n-1)/(n-K)`` with the firm effects nested in the clusters left out of
  K) and ``t(G - 1)``, as ``reghdfe y x1 x2, absorb(firm) vce(cluster firm)``.
- The comparison ``b_s - b_e`` has variance ``V_ss + V_ee - 2 V_se`` from the full
  covariance; it uses the model's reference law (``t(G - 1)`` clustered, ``t(n - K)``
  otherwise), so its two-sided p-value equals the Wald test of ``b_s = b_e``. With
  ``lower_is_better=True`` (outcomes are times or costs, which learning lowers)
  triangulation is ``b_s < b_e``: the one-sided p-value tests that alternative.
"""

from __future__ import annotations

import dataclasses
import keyword
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed
from ipnstats.core.formula import SpecificationError, require_columns, require_numeric_roles
from ipnstats.estimators.panel import panel_regression
from ipnstats.results.inference import (
    check_conf_level,
    critical_value,
    one_sided_p,
    two_sided_p,
)
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, parse_vcov

Form = Literal["log_linear", "linear"]
_FORMS = ("log_linear", "linear")
_LABELS = {"log_linear": "log-linear", "linear": "linear"}
SHOWN_ROWS = 5  # offending rows quoted in an error message


def linear_contrast(params: np.ndarray, cov: np.ndarray,
                    weights: np.ndarray) -> tuple[float, float]:
    """Estimate and standard error of ``weights @ params``."""
    var = float(weights @ cov @ weights)
    return float(weights @ params), float(np.sqrt(max(var, 0.0)))


@dataclass(frozen=True, repr=False)
class TriangulationResult(Result):
    """A fitted triangulation model; see :func:`triangulation`.

    ``sources`` and ``experience`` are the data columns, ``sources_term`` and
    ``experience_term`` their terms in ``params`` (``"log(n_sources)"``,
    ``"log(cum_experience)"`` in the log-linear form); ``form``; ``n_missing`` rows
    left out for a missing value and ``n_single_task_firms`` firms left out with
    a single complete task.
    """

    sources: str = ""
    experience: str = ""
    sources_term: str = ""
    experience_term: str = ""
    form: Form = "log_linear"
    n_missing: int = 0
    n_single_task_firms: int = 0

    def comparison(self, conf_level: float = 0.95, *,
                   lower_is_better: bool = True) -> pd.DataFrame:
        """Test of ``b_sources - b_experience``: triangulation against reinforcement.

        Parameters
        ----------
        conf_level
            Level of the two-sided interval.
        lower_is_better
            The outcome falls as firms learn (times, costs): triangulation is
            ``b_sources < b_experience``. ``False`` (quality, revenue) flips it.

        Returns
        -------
        DataFrame
            One row: ``term``, ``estimate``, ``std_error``, ``statistic``,
            ``p_value`` (two-sided), ``p_one_sided`` (against the triangulation
            alternative), ``conf_low``, ``conf_high``, ``alternative`` (that
            hypothesis in symbols) and ``direction``: ``"triangulation"`` or
            ``"reinforcement"``, whichever the estimate leans to (``"neither"`` at 0).
        """
        level = check_conf_level(conf_level)
        names = list(self.params.index)
        weights = np.zeros(len(names))
        weights[names.index(self.sources_term)] = 1.0
        weights[names.index(self.experience_term)] = -1.0
        est, se = linear_contrast(self.params.to_numpy(), self.cov.to_numpy(), weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = float(np.float64(est) / se)
        df, crit = self.df_inference, critical_value(level, self.df_inference)
        sign = "<" if lower_is_better else ">"
        return pd.DataFrame([{
            "term": f"{self.sources_term} - {self.experience_term}", "estimate": est,
            "std_error": se, "statistic": stat, "p_value": float(two_sided_p(stat, df)),
            "p_one_sided": float(one_sided_p(stat, df,
                                             "less" if lower_is_better else "greater")),
            "conf_low": est - crit * se, "conf_high": est + crit * se,
            "alternative": f"{self.sources_term} {sign} {self.experience_term}",
            "direction": _direction(est, lower_is_better)}])

    def summary(self, conf_level: float = 0.95) -> str:
        """The model's summary followed by the comparison (lower outcome = learning)."""
        row = self.comparison(conf_level).iloc[0]
        return (super().summary(conf_level) + f"\n\nTriangulation vs reinforcement: "
                f"{row['term']} = {row['estimate']:.4f} (SE {row['std_error']:.4f}), "
                f"p = {row['p_value']:.4g}, one-sided p ({row['alternative']}) = "
                f"{row['p_one_sided']:.4g}")


def _direction(estimate: float, lower_is_better: bool) -> str:
    if estimate == 0:
        return "neither"
    return "triangulation" if (estimate < 0) == lower_is_better else "reinforcement"


# ----------------------------------------------------------------------- entry point


@renamed(tasks="data")
def triangulation(data: pd.DataFrame, *, outcome: str = "outcome", sources: str = "n_sources",
                  experience: str = "cum_experience", unit: str = "firm_id",
                  covariates: Sequence[str] = (), form: Form = "log_linear",
                  vcov: object = None) -> TriangulationResult:
    """Does learning grow with the sources of one task or with accumulated experience?

    Regresses the task outcome on the number of information sources and the
    cumulative experience within firm (firm fixed effects), by default in logs, and
    compares the two coefficients (H3c).

    Parameters
    ----------
    data
        One row per task, e.g. :func:`ipnstats.data.dyads.task_frame`.
    outcome, sources, experience
        Numeric columns: the task outcome (a time or cost), the number of
        information sources drawn on, the cumulative number of tasks.
    unit
        The firm column; its fixed effects are absorbed.
    covariates
        Further numeric columns entered as they are (e.g. an exposure moderator
        and its product with ``log_n_sources``).
    form
        ``"log_linear"``: log of outcome, sources and experience (elasticities; all
        three must be positive). ``"linear"``: the columns as they are.
    vcov
        ``None`` (default): ``Cluster(unit)``. Or ``"iid"``, ``"hc1"``, ``"hc3"``, ...,
        ``Cluster(...)``; re-choose later with ``result.with_vcov``.

    Returns
    -------
    TriangulationResult
        ``tidy()``, ``glance()``, ``comparison()``; conventions in the module
        docstring.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> firm = np.repeat(np.arange(40), 8)
    >>> seq = np.tile(np.arange(1, 9), 40)
    >>> src = rng.poisson(seq / 2) + 1
    >>> log_out = rng.normal(size=40)[firm] - 0.3 * np.log(src) + rng.normal(0, 0.2, 320)
    >>> tasks = pd.DataFrame({"firm_id": firm, "seq": seq, "cum_experience": seq,
    ...                       "n_sources": src, "outcome": np.exp(log_out)})
    >>> res = triangulation(tasks)
    >>> res.params.round(2).to_dict()
    {'log(n_sources)': -0.27, 'log(cum_experience)': -0.02}
    >>> res.comparison()[["estimate", "direction"]].round(2).to_dict("records")
    [{'estimate': -0.25, 'direction': 'triangulation'}]
    """
    covs = tuple(covariates)
    spec = Cluster(unit) if vcov is None else parse_vcov(vcov)
    _check(data, outcome, sources, experience, unit, covs, form)
    if form == "log_linear":
        _check_positive(data, (outcome, sources, experience))
    frame, n_missing, notes = _complete(data, [outcome, sources, experience, *covs])
    frame, n_single, single_notes = _drop_single_task_firms(frame, unit)
    formula, s_term, e_term = model_formula(outcome, sources, experience, covs, form)
    # panel_regression asks for a time column but reads it only for time effects
    base = panel_regression(frame, formula, unit=unit, time=unit, panel_effects=("unit",),
                            estimator="within", vcov=spec)
    _require_identified(base, {s_term: sources, e_term: experience}, unit)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Result)}
    fields |= {"estimator": f"Triangulation ({_LABELS[form]}, within firm)",
               "notes": notes + single_notes + base.notes,
               "extra": {"form": form, "n_single_task_firms": n_single}}
    return TriangulationResult(**fields, sources=sources, experience=experience,
                               sources_term=s_term, experience_term=e_term, form=form,
                               n_missing=n_missing, n_single_task_firms=n_single)


def model_formula(outcome: str, sources: str, experience: str, covariates: Sequence[str],
                  form: Form) -> tuple[str, str, str]:
    """The formula and the terms of sources and experience (as formulaic names them)."""
    def term(col: str) -> str:
        return f"log({_quote(col)})" if form == "log_linear" else col

    rhs = " + ".join([term(sources), term(experience), *map(_quote, covariates)])
    lhs = term(outcome) if form == "log_linear" else _quote(outcome)
    return f"{lhs} ~ {rhs}", term(sources), term(experience)


def _quote(col: str) -> str:
    """A column name as formulaic reads it (backticks around non-identifiers)."""
    return col if col.isidentifier() and not keyword.iskeyword(col) else f"`{col}`"


def _check(tasks, outcome, sources, experience, unit, covs, form) -> None:
    if form not in _FORMS:
        raise SpecificationError(f"form must be one of {_FORMS}, got {form!r}")
    require_numeric_roles(tasks, [outcome, sources, experience, *covs],
                          "outcome, sources, experience, covariates")
    require_columns(tasks, (unit,), "unit column")
    if unit in (outcome, sources, experience, *covs):
        raise SpecificationError(f"the unit column {unit!r} is also a model variable")
    missing = int(tasks[unit].isna().sum())
    if missing:
        raise SpecificationError(f"unit column {unit!r} is missing in {missing:,} rows; "
                                 "drop or fill them first")


def _check_positive(tasks: pd.DataFrame, columns: Sequence[str]) -> None:
    """Nonpositive values under a log: an error naming the column and the rows."""
    for col in columns:
        values = tasks[col].to_numpy(float)
        bad = np.flatnonzero(values <= 0)  # NaN compares False: missing rows are counted later
        if bad.size:
            shown = ", ".join(f"{i} ({values[i]:g})" for i in bad[:SHOWN_ROWS])
            more = ", ..." if bad.size > SHOWN_ROWS else ""
            raise SpecificationError(
                f"form='log_linear' takes the log of {col!r}, but {bad.size:,} rows have "
                f"{col} <= 0 (row positions, 0-based, with values: {shown}{more}); fix or "
                "drop those rows, or use form='linear'")


def _complete(tasks: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, int, tuple[str, ...]]:
    """Rows complete in ``columns`` (as floats), how many were left out, and a note."""
    values = tasks[columns].astype(float).reset_index(drop=True)
    missing = values.isna().any(axis=1).to_numpy()
    frame = tasks.reset_index(drop=True)
    frame[columns] = values
    frame = frame[~missing]
    if not missing.any():
        return frame, 0, ()
    by = ", ".join(f"{c} ({int(k):,})" for c, k in values.isna().sum().items() if k)
    return frame, int(missing.sum()), (
        Note("missing_dropped",
            f"{int(missing.sum()):,} of {len(values):,} tasks have a missing value (by column: "
            f"{by}) and were left out."),)


def _drop_single_task_firms(frame: pd.DataFrame, unit: str
                            ) -> tuple[pd.DataFrame, int, tuple[str, ...]]:
    """Leave out firms with one complete task; count them."""
    size = frame.groupby(unit, sort=False, observed=True)[unit].transform("size").to_numpy()
    single = size == 1
    n_single = int(single.sum())
    if n_single == len(frame):
        raise SpecificationError(f"no firm in {unit!r} has two complete tasks: effects within "
                                 "firm cannot be estimated")
    if not n_single:
        return frame, 0, ()
    return frame[~single], n_single, (
        Note("singleton_dropped",
            f"{n_single:,} firms have a single complete task and were left out: alone in its firm, "
            "a task adds nothing within firm (as reghdfe and pyfixest drop singletons)."),)


def _require_identified(res: Result, terms: dict[str, str], unit: str) -> None:
    lost = [col for term, col in terms.items() if term in res.collinear]
    if lost:
        raise SpecificationError(
            f"{lost} do not vary within {unit!r} once the other terms are held fixed (they "
            "are constant within every firm or collinear with the other regressors): the "
            "comparison of sources with experience is not identified")


__all__ = ["TriangulationResult", "linear_contrast", "model_formula", "one_sided_p",
           "triangulation"]
