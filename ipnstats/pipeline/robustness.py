"""The robustness section of the primary H1 effect.

A specification curve over outcome x estimator x covariates x sample x clustering,
and the primary effect under alternative clusterings, with the wild cluster bootstrap
(restricted, Rademacher or Webb weights, as ``boottest``) wherever a clustering has
fewer clusters than ``min_clusters``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.data import Study
from ipnstats.estimators.did import participation_effect
from ipnstats.estimators.panel import panel_regression
from ipnstats.estimators.speccurve import DEFAULT_LABELS, first_group_clusters, specification_curve
from ipnstats.estimators.wild import wild_bootstrap
from ipnstats.ipn.claims import attempt
from ipnstats.pipeline.methods import paragraph
from ipnstats.report.document import Report
from ipnstats.results.vcov import Cluster
from ipnstats.tables.format import fmt_p
from ipnstats.tables.frame import frame_table

PRIMARY = "log_revenue"
FIRST_GROUP = "first_group"
LABELS = {"log_revenue": "Log revenue", "revenue_growth": "Revenue growth",
          "profit_margin": "Profit margin", "roa": "Return on assets",
          "employment_growth": "Employment growth"}
CHOICES = {**DEFAULT_LABELS, **LABELS}


def robustness_section(study: Study, rob, run, progress) -> tuple[Report, dict, tuple]:
    """The report blocks, the results and the methods paragraphs of the robustness stage."""
    fy = study.firm_year
    report = Report("").add_heading("Robustness of the primary H1 effect").add_text(
        "Does the effect of joining on performance depend on how it is estimated? The "
        "specification curve (Simonsohn, Simmons & Nelson 2020) estimates it under every "
        "combination of the choices a reasonable analyst could make; the second table "
        "changes only how the standard errors are clustered.")
    where = (f"Dask at {rob['scheduler'] or 'the current client'}" if rob["backend"] == "dask"
             else f"{rob['n_jobs']} worker(s)")
    progress(f"specification curve: {_n_specs(rob)} specifications on {where}")
    curve = specification_curve(
        fy, outcomes=rob["outcomes"], estimators=rob["estimators"],
        covariate_sets=rob["covariate_sets"], samples=rob["samples"],
        clusters=rob["clusters"], labels=LABELS, n_jobs=rob["n_jobs"], seed=run["seed"],
        backend=rob["backend"], scheduler=rob["scheduler"] or None,
        progress=lambda done, total: progress.count(done, total, "specifications"))
    report = _curve(report, curve)
    progress("alternative clustering and the wild cluster bootstrap")
    report, fits = _clustering(report, fy, rob, run)
    results = {"specification_curve": curve,
               **{f"clustering.{name}": res for name, res in fits.items()}}
    methods = (
        f"Specification curve: {len(curve.tidy())} specifications ({_dims(rob)}); "
        "Callaway-Sant'Anna and Sun-Abraham as in H1a, TWFE by ipnstats.panel_regression; "
        + (f"run in parallel with joblib ({rob['n_jobs']} workers, " if rob["backend"] == "local"
           else "run on a Dask cluster (")
        + "results independent of the number of workers). Follows Simonsohn, Simmons & "
        "Nelson (2020).",
        *(paragraph(f"Clustering check ({name})", res, "reghdfe / fixest")
          for name, res in fits.items() if hasattr(res, "glance")))
    return report, results, methods


def _n_specs(rob) -> int:
    return int(np.prod([len(rob[k]) for k in ("outcomes", "estimators", "covariate_sets",
                                              "samples", "clusters")]))


def _dims(rob) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {', '.join(rob[k])}"
                     for k in ("outcomes", "estimators", "covariate_sets", "samples",
                               "clusters"))


def _curve(report: Report, curve) -> Report:
    g = curve.glance().iloc[0]
    tidy = curve.tidy()
    est = tidy[tidy["status"] == "estimated"]
    report = report.add_heading("Specification curve", 2).add_figure(
        curve.plot(labels=LABELS),
        "Specification curve of the effect of joining. Top: estimates with 95% intervals, "
        "sorted; filled: significant in the claimed (positive) direction. Bottom: the "
        "choices behind each estimate.")
    by = []
    for dim in ("outcome", "estimator", "covariates", "sample", "cluster"):
        for choice, rows in est.groupby(dim, sort=False):
            sig = ((rows["p_value"] < curve.alpha) & (rows["estimate"] > 0)).mean()
            by.append({"dimension": dim.capitalize(), "choice": CHOICES.get(choice, choice),
                       "n": len(rows), "median": rows["estimate"].median(), "share": sig})
    report = report.add_table(frame_table(pd.DataFrame(by), labels={
        "dimension": "Choice", "choice": "Option", "n": "Specifications",
        "median": "Median estimate", "share": "Share significant > 0"}, digits=3,
        title="Specification curve by choice", label="spec-curve-choices", notes=(
            f"{int(g['n_estimated'])} of {int(g['n_specs'])} specifications could be "
            "estimated; the others are listed with their reason in "
            "results/robustness.json (e.g. Sun-Abraham takes no covariates). Estimates are in "
            "each outcome's own units. The no-exits sample keeps firms that never left the "
            "network, a choice made after joining: it selects the survivors, and its larger "
            "estimates should be read that way.",)))
    primary = est[est["outcome"] == PRIMARY]
    share_primary = ((primary["p_value"] < curve.alpha) & (primary["estimate"] > 0)).mean()
    return report.add_text(
        f"Reading: {100 * g['share_significant_same_direction']:.0f}% of the "
        f"{int(g['n_estimated'])} estimated specifications find a significantly positive "
        f"effect of joining ({100 * g['share_significant_opposite']:.0f}% a significantly "
        f"negative one); on log revenue, the primary outcome, "
        f"{100 * share_primary:.0f}% of {len(primary)} do, with a median estimate of "
        f"{primary['estimate'].median():.3f}.")


def _clustering(report: Report, fy: pd.DataFrame, rob, run) -> tuple[Report, dict]:
    data = fy.assign(**{FIRST_GROUP: first_group_clusters(fy, "firm_id", "year", "group_id"),
                        "treated": ((fy["cohort"] > 0) & (fy["year"] >= fy["cohort"]))
                        .astype(float)})
    clusterings = {"firm": Cluster("firm_id"), "first peer group": Cluster(FIRST_GROUP),
                   "firm and year": Cluster("firm_id", "year")}
    fits, rows = {}, []
    for name, vcov in clusterings.items():
        cs = attempt(participation_effect, data, outcome=PRIMARY, vcov=vcov, n_boot=0,
                     seed=run["seed"]) if len(vcov.columns) == 1 else None
        twfe = attempt(panel_regression, data, f"{PRIMARY} ~ treated", unit="firm_id",
                       time="year", vcov=vcov)
        for label, res, term in (("Callaway-Sant'Anna", cs, "ATT"), ("TWFE", twfe, "treated")):
            if res is None:
                continue
            rows.append(_row(label, name, res, term, data, rob, run, vcov))
            if hasattr(res, "glance"):
                fits[f"{label}, clustered by {name}"] = res
    frame = pd.DataFrame(rows)
    report = report.add_heading("Alternative clustering", 2).add_table(frame_table(
        frame, labels={"estimator": "Estimator", "cluster": "Clusters by", "G": "Clusters",
                       "estimate": "Effect", "std_error": "SE", "p": "p",
                       "wild": "Wild bootstrap p"}, digits=3,
        title="The primary effect on log revenue under alternative clusterings",
        label="clustering", notes=(
            "First peer group: the group a firm first joined; never-members are their own "
            "clusters. Firm and year: two-way clustering (Cameron, Gelbach & Miller 2011), "
            "TWFE only.",
            f"Wild cluster bootstrap p (restricted, as boottest; {rob['wild_draws']:,} draws, "
            f"seed {run['seed']}) for every TWFE clustering with fewer than "
            f"{rob['min_clusters']} clusters, where cluster-robust standard errors are "
            "unreliable; two-way clusterings are bootstrapped over their smaller dimension. "
            "'—': enough clusters.")))
    return report, fits


def _row(label, name, res, term, data, rob, run, vcov) -> dict:
    if not hasattr(res, "tidy"):
        return {"estimator": label, "cluster": name, "G": "—", "estimate": np.nan,
                "std_error": np.nan, "p": f"not estimable: {res.reason}", "wild": "—"}
    row = res.tidy().set_index("term").loc[term]
    g = res.glance().iloc[0]
    n = g["n_clusters"] if pd.notna(g["n_clusters"]) else _count(data, vcov)
    wild = "—"
    if label == "TWFE" and n < rob["min_clusters"]:
        # two-way: bootstrap over the dimension with fewer clusters (its G is the binding one)
        column = min(vcov.columns, key=lambda c: data[c].nunique())
        weights = "webb" if n < 12 else "rademacher"
        boot = wild_bootstrap(res, term, cluster=column, weights=weights,
                              reps=rob["wild_draws"], seed=run["seed"])
        by = f", by {column}" if len(vcov.columns) > 1 else ""
        wild = f"{fmt_p(boot.p_value)} ({weights}{by})"
    return {"estimator": label, "cluster": name, "G": f"{int(n):,}",
            "estimate": row["estimate"], "std_error": row["std_error"],
            "p": fmt_p(row["p_value"]), "wild": wild}


def _count(data: pd.DataFrame, vcov: Cluster) -> int:
    return int(data[list(vcov.columns)].drop_duplicates().shape[0])


__all__ = ["robustness_section"]
