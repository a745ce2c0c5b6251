"""H3b: learning curves, and whether exposure to risk-averse senders steepens them.

``learning_curve`` fits the log-linear (Wright 1936; Argote & Epple 1990) learning
curve ``log y_it = a_i + b_i log x_it + e_it``, with ``y`` the task outcome (time or
cost: it falls as firms learn) and ``x`` cumulative experience, as a linear mixed model
with firm random intercepts ``a_i`` and, by default, random slopes ``b_i`` (correlated,
lme4's ``(1 + log_x | firm)``). With a moderator ``m`` (exposure), the mean slope is
``b + c m``: ``c < 0`` means a steeper curve, faster learning, at higher exposure.

``learning_rate(at)`` reports the progress ratio ``2^(b + c m)``: the outcome after a
doubling of experience as a share of the outcome before (0.8 is the classic "80%
curve"). Its interval maps the slope's Wald interval through ``2^s`` (monotone), so it
is not symmetric.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import deprecated_call, former_defaults, renamed
from ipnstats.core.formula import (
    SpecificationError,
    column_names,
    complete_rows,
    require_numeric_roles,
)
from ipnstats.estimators.mixed import MixedResult, RandomTerm, fit_lmm
from ipnstats.results.inference import check_conf_level, coef_table


@dataclass(frozen=True, repr=False)
class LearningCurveResult(MixedResult):
    """A learning-curve mixed model, with the terms it is read by.

    ``experience_term`` is the slope's term (``log(cum_experience)`` in the log-linear
    form), ``moderator`` and ``interaction_term`` the moderator's (or empty),
    ``moderator_values`` the moderator over the estimation rows, ``experience_range``
    the observed range of experience, ``form`` ``"log_linear"`` or ``"linear"``.
    """

    form: str = "log_linear"
    experience: str = ""
    experience_term: str = ""
    moderator: str = ""
    interaction_term: str = ""
    moderator_values: np.ndarray | None = dataclasses.field(default=None, repr=False,
                                                            compare=False)
    experience_range: tuple[float, float] = (np.nan, np.nan)

    def _at(self, at: object) -> tuple[np.ndarray, list[str]]:
        if not self.moderator:
            if at is not None:
                raise SpecificationError(
                    "this curve has no moderator; call learning_rate() without at")
            return np.zeros(1), ["all"]
        if at is None:
            values = np.quantile(self.moderator_values, [0.1, 0.9])
            return values, [f"{self.moderator} = {v:.3g} (10th pct)" if i == 0 else
                            f"{self.moderator} = {v:.3g} (90th pct)"
                            for i, v in enumerate(values)]
        values = np.atleast_1d(np.asarray(at, float))
        return values, [f"{self.moderator} = {v:.3g}" for v in values]

    def slopes(self, at: object = None, conf_level: float = 0.95) -> pd.DataFrame:
        """The mean learning slope ``b + c m`` at moderator values ``at`` (default: its
        10th and 90th percentiles), tidy columns plus ``at`` (the moderator value)."""
        values, labels = self._at(at)
        names = list(self.params.index)
        R = np.zeros((values.size, len(names)))
        R[:, names.index(self.experience_term)] = 1.0
        if self.moderator:
            R[:, names.index(self.interaction_term)] = values
        est = R @ self.params.to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", R, self.cov.to_numpy(), R))
        table = coef_table(pd.Series(est, index=labels), pd.Series(se, index=labels),
                           self.df_inference, check_conf_level(conf_level))
        return table.assign(at=values)

    def learning_rate(self, at: object = None, conf_level: float = 0.95) -> pd.DataFrame:
        """The progress ratio ``2^slope`` at moderator values ``at`` with its interval.

        Columns: term (label), at, slope, std_error (of the slope), p_value (slope = 0),
        learning_rate, conf_low, conf_high (``2^`` of the slope's interval).
        """
        if self.form != "log_linear":
            raise SpecificationError("the learning rate 2^b is defined for form='log_linear'")
        s = self.slopes(at, conf_level)
        return pd.DataFrame({"term": s["term"], "at": s["at"], "slope": s["estimate"],
                             "std_error": s["std_error"], "p_value": s["p_value"],
                             "learning_rate": 2.0 ** s["estimate"],
                             "conf_low": 2.0 ** s["conf_low"],
                             "conf_high": 2.0 ** s["conf_high"]}).reset_index(drop=True)

    def predictions(self, at: object = None, n_points: int = 60,
                    conf_level: float = 0.95) -> pd.DataFrame:
        """Mean predicted outcome along experience at moderator values ``at``.

        Fixed effects only (a typical firm), other covariates at zero; in the
        log-linear form the log prediction and its interval are mapped back with
        ``exp`` (the median outcome). Columns: experience, label, estimate, conf_low,
        conf_high.
        """
        level = check_conf_level(conf_level)
        values, labels = self._at(at)
        lo, hi = self.experience_range
        grid = np.linspace(lo, hi, n_points)
        xg = np.log(grid) if self.form == "log_linear" else grid
        names = list(self.params.index)
        frames = []
        for v, label in zip(values, labels, strict=True):
            R = np.zeros((grid.size, len(names)))
            if "Intercept" in names:
                R[:, names.index("Intercept")] = 1.0
            R[:, names.index(self.experience_term)] = xg
            if self.moderator:
                R[:, names.index(self.moderator)] = v
                R[:, names.index(self.interaction_term)] = xg * v
            est = R @ self.params.to_numpy()
            se = np.sqrt(np.einsum("ij,jk,ik->i", R, self.cov.to_numpy(), R))
            t = coef_table(pd.Series(est), pd.Series(se), self.df_inference, level)
            back = np.exp if self.form == "log_linear" else (lambda a: a)
            frames.append(pd.DataFrame({"experience": grid, "label": label,
                                        "estimate": back(t["estimate"].to_numpy()),
                                        "conf_low": back(t["conf_low"].to_numpy()),
                                        "conf_high": back(t["conf_high"].to_numpy())}))
        return pd.concat(frames, ignore_index=True)

    def plot(self, at: object = None, ylabel: str | None = None, xlabel: str | None = None):
        """Deprecated: use :func:`ipnstats.figures.learning_plot` (``result`` first)."""
        deprecated_call("LearningCurveResult.plot() is deprecated; use "
                        "ipnstats.figures.learning_plot(result)")
        from ipnstats.figures.results import learning_plot

        return learning_plot(self, at=at, ylabel=ylabel, xlabel=xlabel)


# ----------------------------------------------------------------------- entry point


@renamed(tasks="data")
@former_defaults(outcome="outcome", experience="cum_experience", unit="firm_id")
def learning_curve(data: pd.DataFrame, *, outcome: str, experience: str, unit: str,
                   moderator: str | None = None, covariates: Sequence[str] = (),
                   form: str = "log_linear", random_slopes: bool = True,
                   re_cov: str = "unstructured", reml: bool = True) -> LearningCurveResult:
    """The learning curve of repeated tasks, optionally moderated.

    Parameters
    ----------
    data
        The task frame (``Study.tasks``): one row per task.
    outcome
        The task's time or cost (positive in the log-linear form). Required, as
        ``experience`` and ``unit`` (the study passes ``outcome``, ``cum_experience``
        and ``firm_id``).
    experience
        Cumulative experience (1 for a unit's first task).
    unit
        The unit column (a firm): random intercepts (and slopes) per unit.
    moderator
        A numeric column that may change the slope, e.g. exposure to risk-averse
        senders ``log(1 + prior_risk_averse)``; enters as a main effect and its
        product with the experience term. Used as it is (not logged).
    covariates
        Further numeric columns, used as they are (e.g. ``log_n_sources``).
    form
        ``"log_linear"`` (log outcome on log experience) or ``"linear"``.
    random_slopes
        Firm random slopes on experience.
    re_cov
        ``"unstructured"`` (slopes correlated with intercepts, lme4's
        ``(1 + x | firm)``) or ``"diagonal"`` (uncorrelated, ``(1 + x || firm)``).
    reml
        REML (default) or ML.

    Returns
    -------
    LearningCurveResult
        A ``MixedResult`` (``variance_components()``, ``random_effects(unit)``,
        ``converged``) with ``slopes(at)``, ``learning_rate(at)`` and
        ``predictions(at)``; the figure is ``ipnstats.figures.learning_plot(result)``
        (the method ``plot(at)`` is deprecated). Terms: ``Intercept``,
        ``log(<experience>)`` (or the column in the linear form), the moderator and
        ``log(<experience>):<moderator>``, the covariates.

    Examples
    --------
    >>> from ipnstats.simulate import learning_tasks
    >>> tasks = learning_tasks(n_firms=120, seed=1)
    >>> res = learning_curve(tasks, outcome="outcome", experience="cum_experience",
    ...                      unit="firm_id", moderator="exposure",
    ...                      covariates=("log_n_sources",))
    >>> res.learning_rate(at=[0.0, 1.0])["at"].tolist()
    [0.0, 1.0]
    """
    covs = column_names(covariates, "covariates")
    if form not in ("log_linear", "linear"):
        raise SpecificationError(f"form must be 'log_linear' or 'linear', got {form!r}")
    mods = () if moderator is None else (moderator,)
    require_numeric_roles(data, [outcome, experience, *mods, *covs],
                          "outcome, experience, moderator, covariates")
    used = [outcome, experience, *mods, *covs, unit]
    frame, notes = complete_rows(data, used, "tasks")
    if form == "log_linear":
        labels = data.index[data[used].notna().all(axis=1)]  # the user's row labels
        for col in (outcome, experience):
            _require_positive(frame, col, labels)
    y = frame[outcome].to_numpy(float)
    x = frame[experience].to_numpy(float)
    y, x = (np.log(y), np.log(x)) if form == "log_linear" else (y, x)
    x_term = f"log({experience})" if form == "log_linear" else experience
    columns = {"Intercept": np.ones(len(frame)), x_term: x}
    interaction = ""
    if moderator is not None:
        m = frame[moderator].to_numpy(float)
        interaction = f"{x_term}:{moderator}"
        columns |= {moderator: m, interaction: x * m}
    columns |= {c: frame[c].to_numpy(float) for c in covs}
    codes, levels = pd.factorize(frame[unit].to_numpy())
    re_names = ("(Intercept)", x_term) if random_slopes else ("(Intercept)",)
    values = np.column_stack([np.ones(len(frame)), x])[:, :len(re_names)]
    if re_cov not in ("unstructured", "diagonal"):
        raise SpecificationError(f"re_cov must be 'unstructured' or 'diagonal', got {re_cov!r}")
    term = RandomTerm(unit, unit, re_names, codes.astype(np.int64), pd.Index(levels), values,
                      re_cov)
    label = (f"{'log(' + outcome + ')' if form == 'log_linear' else outcome} ~ "
             f"{' + '.join(list(columns)[1:])} + ({' + '.join(['1', *re_names[1:]])} "
             f"{'||' if re_cov == 'diagonal' and random_slopes else '|'} {unit})")
    fit = fit_lmm(frame, y, np.column_stack(list(columns.values())), list(columns), [term],
                  reml=reml, outcome=outcome, formula=label, notes=notes)
    for needed in (x_term, interaction):
        if needed and needed not in fit.params.index:
            raise SpecificationError(f"{needed!r} is collinear with the other terms: the "
                                     "learning slope is not identified")
    mixed_fields = {f.name: getattr(fit, f.name) for f in dataclasses.fields(MixedResult)}
    return LearningCurveResult(
        **mixed_fields | {"estimator": f"learning curve, {fit.estimator}"}, form=form,
        experience=experience, experience_term=x_term, moderator=moderator or "",
        interaction_term=interaction,
        moderator_values=None if moderator is None else frame[moderator].to_numpy(float),
        experience_range=(float(frame[experience].min()), float(frame[experience].max())))


def _require_positive(frame: pd.DataFrame, col: str, labels: pd.Index) -> None:
    values = frame[col].to_numpy(float)
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        shown = ", ".join(f"row {labels[i]}: {values[i]:g}" for i in bad[:5])
        raise SpecificationError(f"column {col!r} has {bad.size} value(s) <= 0, which have no "
                                 f"logarithm ({shown}); use form='linear' or fix the data")


__all__ = ["LearningCurveResult", "learning_curve"]
