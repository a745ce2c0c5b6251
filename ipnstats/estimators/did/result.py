"""The result of a staggered difference-in-differences estimate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.estimators.did.aggregate import Kind, aggregate, without_reference_variance
from ipnstats.estimators.did.att_gt import BasePeriod, GroupTime, vcov_from_influence
from ipnstats.results.inference import WaldTest, critical_value
from ipnstats.results.result import Result
from ipnstats.results.terms import term_keys

#: the typed term keys ``tidy()`` of an aggregation carries, by kind
_KEYS = {"event": ("event",), "group": ("cohort",)}
#: The leads the default pre-trend test covers: those of event_study's default window.
PRETREND_EARLIEST = -4
#: The largest condition number of a covariance that a Wald test inverts as it is.
COND_LIMIT = 1e6


@dataclass(frozen=True)
class CSState:
    """What aggregations and tests need: cells, influence functions, cohorts, clusters,
    and the base period the cells compare with (``"varying"`` or ``"universal"``)."""

    gt: GroupTime
    cohorts: np.ndarray
    clusters: np.ndarray | None
    units: np.ndarray | None = None
    boot_se: np.ndarray | None = None
    band_crit: float | None = None
    base_period: BasePeriod = "varying"


@dataclass(frozen=True, repr=False)
class DiDResult(Result):
    """Callaway-Sant'Anna estimates: ``params`` holds the simple ATT.

    ``att_gt`` gives every group-time cell, ``aggregate(kind)`` the simple, group,
    event and calendar aggregations (each a :class:`~ipnstats.Result`), and
    ``pretrend_test()`` a well-conditioned joint Wald test of the pre-treatment effects.
    ``glance()`` has a ``base_period`` column (``extra``). Under a universal base period the cells
    at the base period (and the event time -1 - anticipation of the event aggregation)
    are references: estimate 0, no standard error, left out of the tests.
    """

    state: CSState | None = field(default=None, repr=False, compare=False)

    @property
    def att_gt(self) -> pd.DataFrame:
        """group, time, base, event, att, std_error, pointwise CI, uniform band, sizes."""
        gt = self.state.gt
        se = np.sqrt(np.diag(vcov_from_influence(gt.influence, self.state.clusters)))
        no_se = np.isnan(gt.cells["att"].to_numpy(float)) | _references(gt)
        se = np.where(no_se, np.nan, se)  # no cell, or a reference: no SE
        crit = critical_value(0.95, None)
        out = gt.cells[["group", "time", "base", "event", "post", "att"]].copy()
        out["std_error"] = se
        out["conf_low"], out["conf_high"] = out["att"] - crit * se, out["att"] + crit * se
        if self.state.band_crit is not None:
            bse = np.where(no_se, np.nan, self.state.boot_se)
            out["band_low"] = out["att"] - self.state.band_crit * bse
            out["band_high"] = out["att"] + self.state.band_crit * bse
        out[["n_treated", "n_control"]] = gt.cells[["n_treated", "n_control"]]
        return out.reset_index(drop=True)

    def aggregate(self, kind: Kind = "simple") -> Result:
        """The ``"simple"``, ``"group"``, ``"event"`` or ``"calendar"`` aggregation.

        Terms are ``ATT`` (the overall average), and ``event::e``, ``cohort::g`` or
        ``time::t`` for the components, as R ``did::aggte``; ``tidy()`` gives the
        event aggregation an ``event`` column and the group aggregation a ``cohort``
        column (:mod:`ipnstats.results.terms`).
        """
        agg = aggregate(self.state.gt, self.state.cohorts, kind)
        cov = without_reference_variance(vcov_from_influence(agg.influence, self.state.clusters),
                                         agg.terms, agg.references)
        index = pd.Index(agg.terms)
        return Result(params=pd.Series(agg.estimates, index=index),
                      cov=pd.DataFrame(cov, index=index, columns=index), vcov=self.vcov,
                      df_inference=None, estimator=f"{self.estimator}, {kind} aggregation",
                      outcome=self.outcome, nobs=self.nobs, n_units=self.n_units,
                      n_clusters=self.n_clusters, notes=self.notes,
                      inference_notes=self.inference_notes, seed=self.seed,
                      n_boot=self.n_boot, key_columns=_KEYS.get(kind, ()),
                      extra={"base_period": self.state.base_period})

    def unit_influence(self, kind: Kind = "simple") -> pd.DataFrame:
        """Each unit's contribution ``psi_i`` to the aggregated estimates (units x terms).

        Scaled so that, with units as clusters, ``Var = sum_i psi_i psi_i'``: two
        estimates from different samples of the same panel (e.g. subgroups sharing
        controls) have ``Var(a - b) = sum_i (psi_a,i - psi_b,i)^2`` after aligning units.
        """
        agg = aggregate(self.state.gt, self.state.cohorts, kind)
        return pd.DataFrame(agg.influence / self.state.gt.n_units,
                            index=pd.Index(self.state.units, name="unit"), columns=agg.terms)

    def pretrend_test(self, by: str = "auto", earliest: int | None = PRETREND_EARLIEST
                      ) -> WaldTest:
        """Wald test (chi-squared) that pre-treatment effects are zero.

        - ``by="cells"`` tests every pre-treatment ATT(g,t), as R did's pre-test. With
          many cohorts and few units per cohort that covariance is near singular (R did
          then reports no statistic); here the statistic then uses a generalized inverse
          of its eigen-directions with eigenvalues above ``1 / COND_LIMIT`` of the
          largest (:data:`COND_LIMIT` = 1e6), with as many degrees of freedom, and the
          test's ``note`` gives the condition number and the rank used.
        - ``by="event"`` tests the pre-treatment event-time aggregates from ``earliest``
          to -1 (default -4: the leads of :func:`~ipnstats.event_study`'s default window
          ``(-4, 6)``, the test the study report quotes; ``None``: every lead). They pool
          cohorts, so their covariance is well conditioned.
        - ``by="auto"`` (the default): the cell test when its covariance's condition
          number is at most :data:`COND_LIMIT` (then it is R did's number), otherwise
          the event-time test, with a note that gives the cells' condition number and
          rank and says that the leads were tested instead.

        Every test whose covariance is ill conditioned carries a note.
        """
        if by not in ("auto", "cells", "event"):
            raise SpecificationError(f"by must be 'auto', 'cells' or 'event', got {by!r}")
        if by == "event":
            return _event_pretrend(self.aggregate("event"), earliest)
        cells = self._cells_pretrend()
        if by == "cells" or not cells.note:
            return cells
        event = _event_pretrend(self.aggregate("event"), earliest)
        why = cells.note.split(":")[0]
        return replace(event, note=(f"{why}: their Wald test would be unreliable (R did reports "
                                    f"none), so the {event.hypothesis.removesuffix(' = 0')} "
                                    "are tested instead." + (f" {event.note}" if event.note
                                                             else "")))

    def _cells_pretrend(self) -> WaldTest:
        """R did's pre-test of every pre-treatment ATT(g,t), rank-checked."""
        gt = self.state.gt
        pre = np.flatnonzero((~gt.cells["post"]).to_numpy() & gt.cells["att"].notna().to_numpy()
                             & ~_references(gt))
        if pre.size == 0:
            raise EstimationError("no pre-treatment cells: the pre-trend test needs periods "
                                  "before a cohort's treatment")
        cov = vcov_from_influence(gt.influence[:, pre], self.state.clusters)
        att = gt.cells["att"].to_numpy()[pre]
        return conditioned_wald(att, cov, "all pre-treatment ATT(g,t) = 0",
                                "pre-treatment ATT(g,t)")


def conditioned_wald(estimates: np.ndarray, cov: np.ndarray, hypothesis: str,
                     what: str) -> WaldTest:
    """Chi-squared Wald test that ``estimates`` are zero, with a rank check.

    The covariance's eigen-directions with eigenvalues below ``1 / COND_LIMIT`` of the
    largest are left out (a generalized inverse of the rest, with as many degrees of
    freedom); when any is left out, or the covariance is otherwise ill conditioned, the
    test's note gives its condition number and the rank used.
    """
    from scipy import stats

    cov = (np.asarray(cov, float) + np.asarray(cov, float).T) / 2
    values, vectors = np.linalg.eigh(cov)
    top = values[-1] if values.size else 0.0
    if not top > 0:
        raise EstimationError(f"the covariance of the {what} is zero: nothing to test")
    keep = values > top / COND_LIMIT
    cond = top / values[0] if values[0] > 0 else np.inf
    z = vectors[:, keep].T @ np.asarray(estimates, float)
    w = float(np.sum(z ** 2 / values[keep]))
    rank = int(keep.sum())
    note = ""
    if rank < values.size:
        note = (f"The covariance of the {values.size} {what} has rank {rank} at relative "
                f"tolerance 1/{COND_LIMIT:.0e} (condition number {cond:.1e}): the statistic "
                f"uses a generalized inverse of that rank and has {rank} degrees of freedom; "
                "it is unreliable (R did reports none when the covariance is numerically "
                "singular). The event-time leads (by='event') are better conditioned.")
    return WaldTest(w, rank, None, float(stats.chi2.sf(w, rank)), hypothesis, note)


def _references(gt: GroupTime) -> np.ndarray:
    """Which cells are references of a universal base period (bool per cell)."""
    if "reference" not in gt.cells:
        return np.zeros(len(gt.cells), bool)
    return gt.cells["reference"].to_numpy(bool)


def _event_pretrend(event: Result, earliest: int | None) -> WaldTest:
    """Joint test of the pre-treatment event-time effects from ``earliest`` to -1 (a
    universal base's reference, which has no standard error, left out)."""
    keys = term_keys(event.params.index).assign(term=event.params.index)
    keys = keys[keys["event"].notna() & event.std_errors.notna().to_numpy()]
    lo = keys["event"].min() if earliest is None else earliest
    chosen = keys[(keys["event"] >= lo) & (keys["event"] < 0)]
    if chosen.empty:
        raise EstimationError("no pre-treatment event times to test")
    label = (f"event-time effects {int(chosen['event'].min())} to "
             f"{int(chosen['event'].max())} = 0")
    terms = chosen["term"].tolist()
    return conditioned_wald(event.params[terms].to_numpy(float),
                            event.cov.loc[terms, terms].to_numpy(float), label,
                            "pre-treatment event-time effects")
