"""The Social Relations Model for round-robin data (Kenny, Kashy & Cook 2006, ch. 8;
R TripleR, Schönbrodt, Back & Schmukle 2012): :func:`social_relations`.

Every member of a group rates (or interacts with) every other member. A rating
``x_ij`` of partner ``j`` by actor ``i`` is ``mu + a_i + b_j + g_ij``: the actor effect,
the partner effect and the relationship effect. The SRM estimates the actor, partner and
relationship variances, the actor-partner covariance (generalized reciprocity) and the
relationship covariance (dyadic reciprocity). ``method="anova"`` is TripleR's estimator
and tests (:mod:`ipnstats.estimators.srm_anova`); ``method="reml"`` fits the same model by
restricted maximum likelihood (:mod:`ipnstats.estimators.srm_reml`).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> n = 8
>>> a, b = rng.normal(size=n), rng.normal(size=n)
>>> rows = [{"i": i, "j": j, "y": a[i] + b[j] + rng.normal()}
...         for i in range(n) for j in range(n) if i != j]
>>> fit = social_relations(pd.DataFrame(rows), "y", actor="i", partner="j")
>>> list(fit.tidy()["term"])[:2]
['actor_variance', 'partner_variance']
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators import srm_anova as anova
from ipnstats.estimators.srm_data import RoundRobin, check_columns, check_round_robin, round_robin
from ipnstats.estimators.srm_result import SRMResult

__all__ = ["SRMResult", "social_relations"]

MIN_GROUP = 4


def social_relations(data: pd.DataFrame, outcome: str, *, actor: str, partner: str,
                     group: str | None = None, na_rm: bool = True,
                     method: Literal["anova", "reml"] = "anova",
                     se: Literal["lashley_bond", "soremo"] = "lashley_bond",
                     self_ratings: Literal["error", "drop"] = "error") -> SRMResult:
    """Fit the Social Relations Model to round-robin ratings.

    Parameters
    ----------
    data
        One row per ordered dyad (actor rates partner).
    outcome, actor, partner, group
        Column names: the rating, who rates, who is rated, and the round-robin group
        (None: one group). Ids must be unique across groups.
    na_rm
        Handle missing ratings as TripleR's ``na.rm = TRUE``: participants who are not
        both actor and partner, or who gave or received no rating, are excluded; the
        remaining missing dyads are imputed for the effects and left out of the
        relationship sums (see :mod:`ipnstats.estimators.srm_data`). With False any
        missing dyad among the members is an error (TripleR's ``na.rm = FALSE``).
    method
        ``"anova"`` (TripleR) or ``"reml"`` (the likelihood version; no missing dyad
        imputation needed).
    se
        Many groups, ANOVA: the test of the pooled components, TripleR's ``se``:
        ``"lashley_bond"`` (its default: the groups' Bond-Lashley standard errors pooled,
        t on ``sum(n_g - 1)`` df) or ``"soremo"`` (the between-group t-test of SOREMO,
        ``k - 1`` df). One group: always the Bond-Lashley standard errors. Not used by
        ``method="reml"`` (Wald tests from the likelihood).
    self_ratings
        Rows with ``actor == partner`` and a value: ``"error"`` or ``"drop"`` (the SRM
        ignores them, as TripleR does). Such rows with a missing outcome are ignored.

    Returns
    -------
    SRMResult

    Notes
    -----
    A group with fewer than 4 members after the exclusions cannot be analysed: an error
    for a single group; with many groups it is left out with a note (TripleR). Effects of
    a component whose standardized variance is missing (a negative variance) are set
    missing, as TripleR's ``minVar = 0``.
    """
    _check_options(na_rm, method, self_ratings, se)
    check_columns(data, outcome, actor, partner, group)
    rows = check_round_robin(data, outcome, actor, partner, group, self_ratings == "drop")
    matrices = _matrices(rows, outcome, actor, partner, group)
    kept = [m for m in matrices if len(m.ids) >= MIN_GROUP]
    small = tuple(m.group for m in matrices if len(m.ids) < MIN_GROUP)
    if not kept:
        sizes = {m.group: len(m.ids) for m in matrices}
        raise DataError(f"no round-robin group has at least {MIN_GROUP} members after "
                        f"excluding participants (sizes: {sizes}); the SRM needs n >= 4")
    if group is None and small:
        raise DataError(f"the group has {len(matrices[0].ids)} members after exclusions; "
                        f"the SRM needs at least {MIN_GROUP}")
    n_missing = sum(int(np.isnan(m.matrix).sum()) - len(m.ids) for m in kept)
    if n_missing and not na_rm:
        raise DataError(f"{n_missing} dyad rating(s) are missing among the members kept; "
                        f"pass na_rm=True to handle them as TripleR does")
    notes = _sample_notes(matrices, small, n_missing)
    if method == "reml":
        from ipnstats.estimators.srm_reml import fit_reml
        return fit_reml(kept, data, outcome, actor, partner, group, matrices, small,
                        n_missing, notes)
    return _fit_anova(kept, data, outcome, actor, partner, group, matrices, small,
                      n_missing, notes, se)


def _check_options(na_rm, method, self_ratings, se) -> None:
    if se not in ("lashley_bond", "soremo"):
        raise SpecificationError(f"se must be 'lashley_bond' or 'soremo', not {se!r}")
    if not isinstance(na_rm, bool):
        raise SpecificationError(f"na_rm must be True or False, not {na_rm!r}")
    if method not in ("anova", "reml"):
        raise SpecificationError(f"method must be 'anova' or 'reml', not {method!r}")
    if self_ratings not in ("error", "drop"):
        raise SpecificationError(f"self_ratings must be 'error' or 'drop', not "
                                 f"{self_ratings!r}")


def _matrices(rows, outcome, actor, partner, group) -> list[RoundRobin]:
    if group is None:
        return [round_robin(rows, outcome, actor, partner, None)]
    return [round_robin(r, outcome, actor, partner, g)
            for g, r in rows.groupby(group, sort=True)]


def excluded_frame(matrices: list[RoundRobin]) -> pd.DataFrame:
    """Who was excluded, from which group, and why."""
    recs = [{"id": i, "group": m.group, "reason": why} for m in matrices
            for i, why in m.excluded]
    recs += [{"id": i, "group": m.group, "reason": "group has fewer than 4 members"}
             for m in matrices if len(m.ids) < MIN_GROUP for i in m.ids]
    return pd.DataFrame(recs, columns=["id", "group", "reason"])


def _sample_notes(matrices, small, n_missing) -> list:
    notes = []
    n_ex = sum(len(m.excluded) for m in matrices)
    if n_ex:
        notes.append(Note("missing_dropped", f"{n_ex} participant(s) excluded (only an actor or "
                          f"only a partner, or no valid rating given or received; "
                          f"see .excluded)"))
    if small:
        notes.append(Note("subgroup_not_estimable", f"group(s) {list(small)} have fewer than "
                          f"{MIN_GROUP} members and are left out"))
    if n_missing:
        notes.append(Note("missing_imputed", f"{n_missing} missing dyad rating(s): imputed "
                          f"for the actor and partner effects (TripleR's impute), left out "
                          f"of the relationship sums"))
    for m in matrices:
        if len(m.ids) >= MIN_GROUP and _too_many_missing(m):
            notes.append(Note("missing_imputed", f"group {m.group}: more missing dyads than "
                              f"TripleR recommends (Schönbrodt, Back & Schmukle); estimates "
                              f"might be biased"))
    return notes


def _too_many_missing(m: RoundRobin) -> bool:
    """TripleR's warning thresholds for missing dyads in a group of ``n``."""
    n = len(m.ids)
    k = int(np.isnan(m.matrix).sum()) - n
    limit = {4: 1, 5: 2, 6: 4, 7: 6, 8: 8}
    if n in limit:
        return k > limit[n]
    return n >= 10 and k / (n * n - n) > 0.20


def _fit_anova(kept, data, outcome, actor, partner, group, matrices, small, n_missing,
               notes, se) -> SRMResult:
    effs = [anova.group_effects(m) for m in kept]
    tables = [anova.group_table(e) for e in effs]
    sizes = np.array([len(m.ids) for m in kept], dtype=float)
    if group is None:
        comp = tables[0]
        rel = anova.reliabilities(comp["estimate"].to_dict(), sizes[0])
        group_var = np.nan
    else:
        comp = anova.pooled_table(tables, sizes, se)
        rel, group_var = _multi_extras(tables, sizes, comp, data, outcome, group)
    if (comp.loc[list(anova.TERMS[:3]), "estimate"] < 0).any():
        notes.append(Note("heywood_case", "a variance component is negative: its standardized "
                          "value, tests and the effects of that component are missing"))
    effects = _effects_frame(kept, effs, comp)
    return SRMResult(
        outcome=outcome, actor=actor, partner=partner, group=group,
        method="anova" if group is None else f"anova ({se})",
        groups=tuple(m.group for m in kept), group_sizes=tuple(len(m.ids) for m in kept),
        components=comp, group_components=_group_frame(kept, tables),
        effects=effects, relationship_effects=_relationship_frame(kept, effs),
        excluded=excluded_frame(matrices), excluded_groups=small,
        n_missing_dyads=n_missing, actor_reliability=rel[0], partner_reliability=rel[1],
        group_variance=group_var, notes=tuple(notes))


def _multi_extras(tables, sizes, comp, data, outcome, group):
    """Reliabilities at the pooled estimates and the mean group size; the variance of the
    group means less its SRM share (TripleR ``group.var``; the means over all rows)."""
    w = sizes - 1
    pooled = {k: float(np.sum(w * [t.loc[k, "estimate"] for t in tables]) / w.sum())
              for k in anova.TERMS}
    n = float(sizes.mean())
    rel = anova.reliabilities(pooled, n)
    est = comp["estimate"]
    means = data.groupby(group)[outcome].mean()
    group_var = float(means.var() - ((est["actor_variance"] + est["partner_variance"]
                                      + 2 * est["actor_partner_covariance"]) / n
                                     + (est["relationship_variance"]
                                        + est["relationship_covariance"]) / (n * (n - 1))))
    return rel, group_var


def _effects_frame(kept, effs, comp) -> pd.DataFrame:
    frames = [pd.DataFrame({"id": list(m.ids), "group": m.group, "actor": e["actor"],
                            "partner": e["partner"], "mean": e["mean"]})
              for m, e in zip(kept, effs, strict=True)]
    out = pd.concat(frames, ignore_index=True)
    std = comp["standardized"]
    for col, term in (("actor", "actor_variance"), ("partner", "partner_variance")):
        if not std[term] >= 0:  # TripleR minVar = 0: NaN or negative blanks the effects
            out[col] = np.nan
    return out


def _group_frame(kept, tables) -> pd.DataFrame:
    return pd.concat([t.reset_index().assign(group=m.group, n=len(m.ids))
                      for m, t in zip(kept, tables, strict=True)], ignore_index=True)


def _relationship_frame(kept, effs) -> pd.DataFrame:
    frames = []
    for m, e in zip(kept, effs, strict=True):
        n = len(m.ids)
        i, j = np.where(~np.eye(n, dtype=bool))
        ids = np.array(m.ids, dtype=object)
        frames.append(pd.DataFrame({"group": m.group, "actor": ids[i], "partner": ids[j],
                                    "relationship": e["relationship"][i, j]}))
    return pd.concat(frames, ignore_index=True)
