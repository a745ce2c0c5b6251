"""Sun & Abraham (2021) interaction-weighted event-study estimator.

One saturated two-way fixed-effects regression gives every cohort-specific effect
CATT(g, e); interaction weights then average them into event-time effects, as R
fixest's ``sunab()`` with ``aggregate()`` does.

Conventions
-----------
- ``cohort`` is the first treated period, 0 for never-treated units (R did). Units
  treated at or before the first period (always treated) are dropped; cohorts after
  the last period are never treated within the sample (fixest does the same).
- The regression is ``y_it = a_i + l_t + sum_{g, e != reference} d_{g,e} 1{G_i = g,
  t - g = e} + u_it``, estimated by :func:`ipnstats.panel_regression` (within, unit
  and time effects). Relative periods are ``e = t - g`` in the units of ``time``.
  Control units get no dummies.
- Controls: the never-treated units. With ``control="last_cohort"``, or when there
  are no never-treated units, the latest treated cohort is the control and every
  period from its treatment on is dropped (Sun & Abraham 2021, Sect. 4: with
  ``C = {max E_i}`` only periods ``t < max E_i`` are used); never-treated units are
  then left out.
- Unidentified parts of an unbalanced panel are left out, with a note: periods in
  which no control unit is observed, and treated cohorts never observed at the
  reference period (their effects would otherwise silently be relative to another
  cell).
- ``window=(lo, hi)`` trims: observations of treated units at relative periods
  outside ``[lo, hi]`` are dropped before the regression. Nothing is binned: a bin
  (or an omitted relative period) forces effects of different periods into one
  coefficient, which contaminates the others when effects vary (Sun & Abraham 2021,
  Prop. 3). In a panel balanced within cohorts the window's CATT(g,e) equal those of
  the full saturated regression; standard errors change slightly.
- Interaction weights are fixest's ``aggregate()`` weights: the share of cohort ``g``
  among the treated observations at relative period ``e`` in the estimation sample,
  ``n_{g,e} / sum_g n_{g,e}``. The overall ``ATT`` (fixest ``agg = "ATT"``) averages
  every post-treatment cell (``e >= 0``) with weights ``n_{g,e} / sum n``.
- The weights are treated as fixed: ``Var = W V W'`` with ``V`` the regression's
  covariance (fixest; Sun & Abraham's own variance adds a term for the estimated
  shares). Inference is the regression's: by default clustered by unit, ``t(G - 1)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.deprecation import renamed_classes
from ipnstats.core.formula import SpecificationError, require_columns
from ipnstats.results.notes import Note, code_of
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster, parse_vcov

ControlCohort = Literal["never_treated", "last_cohort"]
PREFIX = "_sa_"


@dataclass(frozen=True, repr=False)
class SunAbrahamResult(Result):
    """Sun-Abraham estimates: ``params`` holds ``event::e`` and the overall ``ATT``.

    ``regression`` is the saturated regression (terms ``cohort::g:event::e``),
    ``interaction_weights`` the weight of each cohort cell in each aggregated term,
    and ``cohort_effects`` every CATT(g, e) with its standard error.
    """

    key_columns: tuple[str, ...] = ("event",)
    regression: Result | None = field(default=None, repr=False, compare=False)
    interaction_weights: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def cohort_effects(self) -> pd.DataFrame:
        """group, event, estimate, std_error, n_obs of every estimated CATT(g, e)."""
        cells = self.interaction_weights.drop_duplicates(["group", "event"])
        names = [cell_name(g, e) for g, e in zip(cells["group"], cells["event"], strict=True)]
        out = cells[["group", "event"]].reset_index(drop=True)
        out["estimate"] = self.regression.params[names].to_numpy()
        out["std_error"] = self.regression.std_errors[names].to_numpy()
        out["n_obs"] = cells["n_obs"].to_numpy()
        return out.sort_values(["group", "event"], ignore_index=True)

    def with_vcov(self, vcov: object) -> SunAbrahamResult:
        """A new result with another covariance choice, without refitting.

        Examples
        --------
        >>> res.with_vcov("hc1")  # doctest: +SKIP
        """
        regression = self.regression.with_vcov(vcov)
        W = weight_matrix(self.interaction_weights, self.params.index, regression.params.index)
        cov = pd.DataFrame(W @ regression.cov.to_numpy() @ W.T, index=self.params.index,
                           columns=self.params.index)
        return dataclasses.replace(self, regression=regression, cov=cov, vcov=regression.vcov,
                                   df_inference=regression.df_inference,
                                   n_clusters=regression.n_clusters,
                                   inference_notes=regression.inference_notes)


def sun_abraham(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                vcov: object = None, control: ControlCohort = "never_treated",
                reference: int = -1, window: tuple[int, int] | None = None) -> SunAbrahamResult:
    """Event-time effects of a staggered treatment by Sun & Abraham (2021).

    Parameters
    ----------
    data
        A unit-by-period panel (balance is not required).
    outcome, unit, time
        Columns of the outcome, the unit and the (numeric) period.
    cohort
        First treated period; 0 for never-treated units.
    vcov
        Covariance of the saturated regression; ``Cluster(unit)`` by default.
    control
        ``"never_treated"``, or ``"last_cohort"``: the latest treated cohort, with
        the periods from its treatment on dropped.
    reference
        The omitted relative period (``-1``: the period before treatment).
    window
        ``(lo, hi)``: keep treated observations with ``lo <= t - g <= hi`` only
        (trimming; see the module notes). Must contain ``reference``.

    Returns
    -------
    SunAbrahamResult
        ``params``: ``event::e`` for each relative period but ``reference``, then
        ``ATT``; ``cohort_effects``, ``interaction_weights``, ``regression``.

    Examples
    --------
    >>> res = sun_abraham(mpdta, outcome="lemp", unit="countyreal", time="year",
    ...                   cohort="first.treat")  # doctest: +SKIP
    >>> res.tidy()  # doctest: +SKIP
    """
    require_columns(data, (outcome, unit, time, cohort), "column")
    _check_options(control, reference, window)
    spec = parse_vcov(Cluster(unit) if vcov is None else vcov)
    frame, notes = estimation_sample(data, outcome, unit, time, cohort, control=control,
                                     reference=reference, window=window)
    frame, cells = add_cell_dummies(frame, reference)
    regression = _saturated_regression(frame, outcome, unit, time, cells, spec)
    cells, dropped = _identified(cells, regression)
    if dropped:
        notes += (Note("collinear_dropped",
            f"{dropped} cohort x period cells are collinear with the fixed effects and "
            "left out of the aggregation."),)
    weights = interaction_weights(cells)
    return _result(regression, weights, outcome, unit, time, cohort, notes + regression.notes)


def _check_options(control: str, reference: int, window: tuple[int, int] | None) -> None:
    if control not in ("never_treated", "last_cohort"):
        raise SpecificationError(f"control must be 'never_treated' or 'last_cohort', got "
                                 f"{control!r}")
    if window is not None and not (len(window) == 2 and window[0] <= reference <= window[1]):
        raise SpecificationError(f"window must be (lo, hi) with lo <= reference <= hi "
                                 f"(reference={reference}); got {window!r}")


def estimation_sample(data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
                      *, control: ControlCohort, reference: int,
                      window: tuple[int, int] | None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows used, with ``_cohort`` (0 for controls) and ``_event`` (relative period, NaN
    for controls) columns, and notes on what was left out and why."""
    frame, notes = _recode_cohorts(data, outcome, unit, time, cohort)
    frame, more = _control_cohort(frame, unit, time, control)
    notes += more
    frame, more = _periods_with_controls(frame, time)
    notes += more
    frame["_event"] = np.where(frame["_cohort"] > 0, frame[time] - frame["_cohort"], np.nan)
    frame, more = _trim(frame, window)
    notes += more
    frame, more = _cohorts_with_reference(frame, reference)
    return frame.reset_index(drop=True), notes + more


def _recode_cohorts(data: pd.DataFrame, outcome: str, unit: str, time: str,
                    cohort: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows with an outcome, ``_cohort``; always treated out, late cohorts never treated."""
    frame = data[data[outcome].notna()].copy()
    _check_cohort(frame, unit, time, cohort)
    g = frame[cohort].to_numpy(float)
    always, late = (g > 0) & (g <= frame[time].min()), g > frame[time].max()
    notes = []
    if always.any():
        notes.append(Note("always_treated_dropped",
            f"{frame.loc[always, unit].nunique():,} units treated in or before the "
            "first period (always treated) were left out: they have no pre-period."))
    if late.any():
        notes.append(Note("late_cohort",
            f"{frame.loc[late, unit].nunique():,} units first treated after the last "
            "period are never treated within the sample."))
    frame["_cohort"] = np.where(late, 0.0, g)
    return frame[~always], tuple(notes)


def _trim(frame: pd.DataFrame,
          window: tuple[int, int] | None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Drop treated observations at relative periods outside the window."""
    if window is None:
        return frame, ()
    out = frame["_event"].notna() & ~frame["_event"].between(*window)
    if not out.any():
        return frame, ()
    return frame[~out], (Note("window_trimmed",
        f"{int(out.sum()):,} treated observations outside the event window "
        f"{tuple(window)} were left out (trimmed, not binned)."),)


def _periods_with_controls(frame: pd.DataFrame,
                           time: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Drop periods in which no control unit is observed: no cell there is identified."""
    controlled = frame.loc[frame["_cohort"] == 0, time].unique()
    lost = frame[time].isin(controlled).to_numpy()
    if lost.all():
        return frame, ()
    periods = ", ".join(label(t) for t in np.unique(frame.loc[~lost, time]))
    return frame[lost], (Note("no_controls",
        f"No control unit is observed in period(s) {periods}; their "
        f"{int((~lost).sum()):,} observations were left out."),)


def _check_cohort(frame: pd.DataFrame, unit: str, time: str, cohort: str) -> None:
    for col in (time, cohort):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise SpecificationError(f"column {col!r} must be numeric (periods such as years); "
                                     f"got {frame[col].dtype}")
    if frame[cohort].isna().any():
        raise SpecificationError(f"cohort column {cohort!r} has missing values; use 0 for "
                                 "never-treated units")
    varying = frame.groupby(unit, observed=True)[cohort].nunique()
    varying = varying.index[varying > 1]
    if len(varying):
        raise SpecificationError(f"cohort column {cohort!r} varies within {len(varying):,} units "
                                 f"(e.g. {list(varying[:3])}); it must be each unit's first "
                                 "treated period")


def _control_cohort(frame: pd.DataFrame, unit: str, time: str,
                    control: ControlCohort) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Recode the control cohort to 0 and drop what it cannot serve as control for."""
    never = frame["_cohort"] == 0
    treated = np.unique(frame.loc[~never, "_cohort"])
    if control == "never_treated" and never.any():
        return frame, ()
    if treated.size < 2:
        raise SpecificationError("the last-treated cohort can serve as control only when "
                                 "there are at least two treated cohorts; add never-treated "
                                 "units")
    last = treated[-1]
    why = ("control='last_cohort'" if control == "last_cohort"
           else "there are no never-treated units")
    note = (Note("last_cohort_control",
        f"The last-treated cohort ({label(last)}) is the control group ({why}); periods "
        f"from {label(last)} on were dropped"
        + (f", and {frame.loc[never, unit].nunique():,} never-treated units left out."
           if never.any() else ".")))
    frame = frame[~never & (frame[time] < last)].copy()
    frame.loc[frame["_cohort"] == last, "_cohort"] = 0.0
    return frame, (note,)


def _cohorts_with_reference(frame: pd.DataFrame,
                            reference: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Drop treated cohorts never observed at the reference period: their effects have no
    base to be measured from (they would be relative to whichever cell is collinear)."""
    treated = frame["_cohort"] > 0
    based = frame.loc[treated & (frame["_event"] == reference), "_cohort"].unique()
    lost = treated & ~frame["_cohort"].isin(based)
    if not lost.any():
        return frame, ()
    groups = ", ".join(label(g) for g in np.unique(frame.loc[lost, "_cohort"]))
    return frame[~lost], (Note("no_base_period",
        f"Cohort(s) {groups} are not observed at the reference period "
        f"({reference}) and were left out."),)


def label(value: float) -> str:
    """A period as printed in terms: ``2004``, ``-3`` (integers without ``.0``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def cell_name(group: float, event: float) -> str:
    """Term of one cohort x relative-period cell in the saturated regression."""
    return f"cohort::{label(group)}:event::{label(event)}"


def add_cell_dummies(frame: pd.DataFrame, reference: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add one 0/1 column per (cohort, relative period) cell but the reference period.

    Returns the frame and the cells: group, event, column, n_obs (observations).
    """
    treated = frame["_event"].notna() & (frame["_event"] != reference)
    cells = (frame[treated].groupby(["_cohort", "_event"]).size()
             .rename("n_obs").reset_index().rename(columns={"_cohort": "group",
                                                            "_event": "event"}))
    for col in ("group", "event"):
        if np.all(np.mod(cells[col], 1) == 0):
            cells[col] = cells[col].astype(np.int64)
    cells["column"] = [f"{PREFIX}{i}" for i in range(len(cells))]
    g, e = frame["_cohort"].to_numpy(), frame["_event"].to_numpy()
    dummies = {c: ((g == cg) & (e == ce)).astype(float)
               for c, cg, ce in zip(cells["column"], cells["group"], cells["event"], strict=True)}
    block = pd.DataFrame(dummies, index=frame.index)
    return pd.concat([frame, block], axis=1), cells


def _saturated_regression(frame: pd.DataFrame, outcome: str, unit: str, time: str,
                          cells: pd.DataFrame, spec) -> Result:
    """The regression on the cell dummies, its terms renamed ``cohort::g:event::e``."""
    from ipnstats.estimators.panel import panel_regression

    if cells.empty:
        raise SpecificationError("no treated cohort x period cells to estimate; check the "
                                 "cohort column and the window")
    y = "_sa_outcome"  # any outcome name, even one a formula cannot parse
    formula = f"{y} ~ " + " + ".join(cells["column"])
    result = panel_regression(frame.assign(**{y: frame[outcome]}), formula, unit=unit,
                              time=time, panel_effects=("unit", "time"), estimator="within",
                              vcov=spec)
    names = dict(zip(cells["column"], map(cell_name, cells["group"], cells["event"]),
                     strict=True))
    notes = tuple(n for n in result.notes if code_of(n) != "collinear_dropped")
    return dataclasses.replace(
        result, params=result.params.rename(names),
        cov=result.cov.rename(index=names, columns=names),
        collinear=tuple(names.get(c, c) for c in result.collinear), outcome=outcome,
        formula=f"{outcome} ~ cohort x relative period cells | {unit} + {time}", notes=notes,
        key_columns=("cohort", "event"))


def _identified(cells: pd.DataFrame, regression: Result) -> tuple[pd.DataFrame, int]:
    names = [cell_name(g, e) for g, e in zip(cells["group"], cells["event"], strict=True)]
    keep = np.isin(names, regression.params.index)
    return cells[keep].reset_index(drop=True), int((~keep).sum())


def interaction_weights(cells: pd.DataFrame) -> pd.DataFrame:
    """Weights of each cell in each term: ``event::e`` by cohort share, ``ATT`` by count.

    Columns term, group, event, n_obs, weight; the weights of a term sum to one.
    """
    event = cells.assign(term=[f"event::{label(e)}" for e in cells["event"]])
    event["weight"] = event["n_obs"] / event.groupby("event")["n_obs"].transform("sum")
    post = cells[cells["event"] >= 0].assign(term="ATT")
    post["weight"] = post["n_obs"] / post["n_obs"].sum()
    out = pd.concat([event.sort_values(["event", "group"]), post], ignore_index=True)
    return out[["term", "group", "event", "n_obs", "weight"]]


def weight_matrix(weights: pd.DataFrame, terms: pd.Index, coefficients: pd.Index) -> np.ndarray:
    """``W`` (terms x regression coefficients) with ``params = W @ beta``."""
    W = np.zeros((len(terms), len(coefficients)))
    rows = terms.get_indexer(weights["term"])
    cols = coefficients.get_indexer([cell_name(g, e) for g, e in
                                     zip(weights["group"], weights["event"], strict=True)])
    np.add.at(W, (rows, cols), weights["weight"].to_numpy())
    return W


def _result(regression: Result, weights: pd.DataFrame, outcome: str, unit: str, time: str,
            cohort: str, notes: tuple[str, ...]) -> SunAbrahamResult:
    terms = pd.Index(pd.unique(weights["term"]))
    W = weight_matrix(weights, terms, regression.params.index)
    cov = W @ regression.cov.to_numpy() @ W.T
    return SunAbrahamResult(
        params=pd.Series(W @ regression.params.to_numpy(), index=terms),
        cov=pd.DataFrame(cov, index=terms, columns=terms), vcov=regression.vcov,
        df_inference=regression.df_inference,
        estimator="Sun-Abraham (interaction-weighted)", outcome=outcome,
        formula=f"{outcome} ~ sunab({cohort}, {time}) | {unit} + {time}",
        nobs=regression.nobs, n_units=regression.n_units, n_clusters=regression.n_clusters,
        fixed_effects=(unit, time), fit=regression.fit, notes=notes,
        inference_notes=regression.inference_notes, regression=regression,
        interaction_weights=weights)


__getattr__ = renamed_classes(__name__, globals(), {"SunAbraham": "SunAbrahamResult"})
