"""Robustness of the primary H1 effect: what the robustness stage fits, and its findings.

A specification curve (Simonsohn, Simmons & Nelson 2020) over outcome x estimator x
covariates x sample x clustering, and the primary effect (log revenue) under
alternative clusterings, with the wild cluster bootstrap (restricted, Rademacher or
Webb weights, as ``boottest``) wherever a TWFE clustering has fewer clusters than
``min_clusters``. :func:`robustness_findings` keeps, JSON-ready, what the report's
robustness section shows (:mod:`ipnstats.report.robustness_section`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.estimators.did import participation_effect
from ipnstats.estimators.panel import panel_regression
from ipnstats.estimators.speccurve import (
    DEFAULT_LABELS,
    SpecificationCurveResult,
    first_group_clusters,
    specification_curve,
)
from ipnstats.estimators.wild import wild_bootstrap
from ipnstats.ipn.claims import Unavailable, attempt
from ipnstats.results.stored import frame_to_json
from ipnstats.results.vcov import Cluster

PRIMARY = "log_revenue"
FIRST_GROUP = "first_group"
DIMENSIONS = ("outcome", "estimator", "covariates", "sample", "cluster")
#: the clusterings of the primary effect, by name
CLUSTERINGS = {"firm": Cluster("firm_id"), "first peer group": Cluster(FIRST_GROUP),
               "firm and year": Cluster("firm_id", "year")}
CURVE_COLUMNS = ("rank", *DIMENSIONS, "estimate", "std_error", "p_value", "conf_low",
                 "conf_high", "significance")


@dataclass(frozen=True)
class ClusteringFit:
    """The primary effect by one estimator under one clustering.

    ``result`` is the fitted model or :class:`Unavailable`; ``n_clusters`` the clusters
    it used; ``wild`` the wild cluster bootstrap of the effect (TWFE with fewer than
    ``min_clusters`` clusters only), ``weights`` its weights and ``by`` the column it
    resampled.
    """

    estimator: str
    cluster: str
    term: str
    result: object
    n_clusters: int | None = None
    wild: object | None = None
    weights: str = ""
    by: str = ""


@dataclass(frozen=True)
class RobustnessResults:
    """The specification curve, the clustering fits, and the settings they ran with."""

    curve: SpecificationCurveResult
    clustering: tuple[ClusteringFit, ...]
    wild_draws: int
    min_clusters: int
    seed: int
    outcome: str = PRIMARY  # the primary outcome


def n_specifications(rob: Mapping) -> int:
    """How many specifications the ``[robustness]`` settings ``rob`` make."""
    return int(np.prod([len(rob[k]) for k in ("outcomes", "estimators", "covariate_sets",
                                              "samples", "clusters")]))


def fit_robustness(firm_year: pd.DataFrame, rob: Mapping, *, seed: int,
                   progress: Callable[[str], None] | None = None,
                   labels: Mapping[str, str] | None = None,
                   outcome: str = PRIMARY) -> RobustnessResults:
    """Fit the specification curve and the clustering checks of ``[robustness]`` ``rob``;
    ``outcome`` is the primary outcome (H1a's) whose effect the clusterings check.

    ``labels`` are the display labels of the outcomes (the codebook's).

    ``progress`` (e.g. :class:`ipnstats.pipeline.progress.Progress`) is told what runs;
    its ``count(done, total, label)``, if it has one, follows the specifications.
    """
    say = progress or (lambda message: None)
    count = getattr(progress, "count", None)
    where = (f"Dask at {rob['scheduler'] or 'the current client'}" if rob["backend"] == "dask"
             else f"{rob['n_jobs']} worker(s)")
    say(f"specification curve: {n_specifications(rob)} specifications on {where}")
    curve = specification_curve(
        firm_year, outcomes=rob["outcomes"], estimators=rob["estimators"],
        covariate_sets=rob["covariate_sets"], samples=rob["samples"],
        cluster=rob["clusters"], unit="firm_id", time="year", cohort="cohort",
        group="group_id", exit="exit", labels=dict(labels or {}), n_jobs=rob["n_jobs"], seed=seed,
        backend=rob["backend"], scheduler=rob["scheduler"] or None,
        progress=None if count is None else
        (lambda done, total: count(done, total, "specifications")))
    say("alternative clustering and the wild cluster bootstrap")
    fits = fit_clusterings(firm_year, min_clusters=rob["min_clusters"],
                           wild_draws=rob["wild_draws"], seed=seed, outcome=outcome)
    return RobustnessResults(curve, fits, int(rob["wild_draws"]), int(rob["min_clusters"]),
                             seed, outcome)


def fit_clusterings(firm_year: pd.DataFrame, *, min_clusters: int, wild_draws: int,
                    seed: int, outcome: str = PRIMARY) -> tuple[ClusteringFit, ...]:
    """The primary effect by Callaway-Sant'Anna (one-way clusterings) and TWFE under each
    of :data:`CLUSTERINGS`, bootstrapped where a TWFE clustering has too few clusters."""
    fy = firm_year
    data = fy.assign(**{FIRST_GROUP: first_group_clusters(fy, "firm_id", "year", "group_id"),
                        "treated": ((fy["cohort"] > 0) & (fy["year"] >= fy["cohort"]))
                        .astype(float)})
    fits = []
    for name, vcov in CLUSTERINGS.items():
        cs = attempt(participation_effect, data, outcome=outcome, unit="firm_id", time="year",
                     cohort="cohort", vcov=vcov, n_boot=0,
                     seed=seed) if len(vcov.columns) == 1 else None
        twfe = attempt(panel_regression, data, f"{outcome} ~ treated", unit="firm_id",
                       time="year", vcov=vcov)
        for label, res, term in (("Callaway-Sant'Anna", cs, "ATT"), ("TWFE", twfe, "treated")):
            if res is not None:
                fits.append(_clustering_fit(label, name, res, term, data, vcov,
                                            min_clusters, wild_draws, seed))
    return tuple(fits)


def _clustering_fit(label: str, name: str, res, term: str, data: pd.DataFrame, vcov: Cluster,
                    min_clusters: int, wild_draws: int, seed: int) -> ClusteringFit:
    if not hasattr(res, "tidy"):
        return ClusteringFit(label, name, term, res)
    g = res.glance().iloc[0]
    n = int(g["n_clusters"]) if pd.notna(g["n_clusters"]) else _count(data, vcov)
    if label != "TWFE" or n >= min_clusters:
        return ClusteringFit(label, name, term, res, n)
    # two-way: bootstrap over the dimension with fewer clusters (its G is the binding one)
    column = min(vcov.columns, key=lambda c: data[c].nunique())
    weights = "webb" if n < 12 else "rademacher"
    boot = wild_bootstrap(res, term, cluster=column, weights=weights, n_boot=wild_draws,
                          seed=seed)
    return ClusteringFit(label, name, term, res, n, boot, weights,
                         column if len(vcov.columns) > 1 else "")


def _count(data: pd.DataFrame, vcov: Cluster) -> int:
    return int(data[list(vcov.columns)].drop_duplicates().shape[0])


def robustness_results(res: RobustnessResults) -> dict:
    """The fitted results by the names they are stored under in ``results`` (JSON)."""
    fits = {f"clustering.{f.estimator}, clustered by {f.cluster}": f.result
            for f in res.clustering if hasattr(f.result, "glance")}
    return {"specification_curve": res.curve, **fits}


# -- findings ------------------------------------------------------------------------------

def robustness_findings(res: RobustnessResults) -> dict:
    """JSON-ready findings: the specification curve (the estimated specifications the
    figure draws, each choice's count, median and share significant in the claimed
    direction, the numbers the reading quotes) and the clustering table's numbers."""
    return {"specification_curve": curve_findings(res.curve, res.outcome),
            "clustering": {"rows": [_clustering_row(f) for f in res.clustering],
                           "wild_draws": res.wild_draws, "min_clusters": res.min_clusters,
                           "seed": res.seed}}


def method_facts(curve: SpecificationCurveResult, rob: Mapping) -> dict:
    """What the methods paragraph of the specification curve says: its size, its
    dimensions and where it ran (the ``[robustness]`` settings ``rob``)."""
    return {"n_specifications": len(curve.tidy()),
            "dimensions": {k: [str(v) for v in rob[k]] for k in
                           ("outcomes", "estimators", "covariate_sets", "samples", "clusters")},
            "backend": rob["backend"], "n_jobs": rob["n_jobs"]}


def curve_findings(curve: SpecificationCurveResult, outcome: str = PRIMARY) -> dict:
    """The specification curve's findings (see :func:`robustness_findings`); ``outcome``
    is the primary outcome whose specifications are counted apart."""
    g = curve.glance().iloc[0]
    tidy = curve.tidy()
    est = tidy[tidy["status"] == "estimated"].copy()
    est["significance"] = significance(est, curve.alpha, curve.direction)
    est["same"] = est["significance"] == "same"
    by = [{"dimension": dim, "choice": choice, "n": len(rows),
           "median": rows["estimate"].median(), "share": rows["same"].mean()}
          for dim in DIMENSIONS for choice, rows in est.groupby(dim, sort=False)]
    primary = est[est["outcome"] == outcome]
    return {
        "estimates": frame_to_json(est[list(CURVE_COLUMNS)]),
        "choices": {dim: list(values) for dim, values in curve.choices.items()},
        "labels": dict(DEFAULT_LABELS) | dict(curve.labels),
        "alpha": curve.alpha, "direction": curve.direction,
        "n_specs": int(g["n_specs"]), "n_estimated": int(g["n_estimated"]),
        "share_same": float(g["share_significant_same_direction"]),
        "share_opposite": float(g["share_significant_opposite"]),
        "by_choice": frame_to_json(pd.DataFrame(by, columns=["dimension", "choice", "n",
                                                             "median", "share"])),
        "primary": {"outcome": outcome, "estimated": bool(len(primary)),
                    "n": len(primary),
                    "share_same": float(primary["same"].mean()) if len(primary) else None,
                    "median": float(primary["estimate"].median()) if len(primary) else None},
    }


def significance(frame: pd.DataFrame, alpha: float, direction: int) -> np.ndarray:
    """Per specification: ``"same"`` (``p_value < alpha`` with the claimed sign
    ``direction``), ``"opposite"`` (``p_value < alpha``, the other sign) or ``"none"``.

    Examples
    --------
    >>> rows = pd.DataFrame({"estimate": [0.2, -0.1, 0.3], "p_value": [0.01, 0.02, 0.4]})
    >>> significance(rows, 0.05, 1).tolist()
    ['same', 'opposite', 'none']
    """
    sig = frame["p_value"].to_numpy(float) < alpha
    same = np.sign(frame["estimate"].to_numpy(float)) == direction
    return np.where(sig & same, "same", np.where(sig, "opposite", "none"))


def _clustering_row(fit: ClusteringFit) -> dict:
    """One row of the clustering table, as numbers (the report formats them)."""
    row = {"estimator": fit.estimator, "cluster": fit.cluster}
    if isinstance(fit.result, Unavailable) or not hasattr(fit.result, "tidy"):
        return row | {"unavailable": getattr(fit.result, "reason", str(fit.result))}
    coef = fit.result.tidy().set_index("term").loc[fit.term]
    row |= {"n_clusters": fit.n_clusters, "estimate": float(coef["estimate"]),
            "std_error": float(coef["std_error"]), "p_value": float(coef["p_value"])}
    if fit.wild is not None:
        row["wild"] = {"p_value": float(fit.wild.p_value), "weights": fit.weights,
                       "by": fit.by}
    return row


__all__ = ["CLUSTERINGS", "PRIMARY", "ClusteringFit", "RobustnessResults",
           "curve_findings", "fit_clusterings", "fit_robustness", "n_specifications",
           "robustness_findings", "robustness_results", "significance"]
