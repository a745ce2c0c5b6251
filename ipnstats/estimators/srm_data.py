"""Round-robin data for the Social Relations Model: long rows to one square matrix per
group, with R TripleR's (1.5.4, ``long2matrix`` and ``impute``) rules for participants
and dyads that are missing.

Per group (TripleR ``long2matrix(reduce = TRUE, minData = 1)``):

1. a participant who appears only as an actor or only as a partner is excluded;
2. then, repeatedly, a participant who gave no valid rating or received none (a row or a
   column of the matrix without a value) is excluded, with the corresponding column and
   row, until none is left;
3. a group left with 3 or fewer members is excluded (the SRM needs ``n >= 4``).

Missing dyads of the members kept are imputed as TripleR's ``impute(na.rm =
"meansNA")`` does: each missing rating is replaced by the mean of its row mean and its
column mean, repeated until the actor and partner effects change by at most 0.01 (at most
100 rounds, else a single round); relationship effects of the imputed ratings are then set
missing again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError

#: TripleR's ``impute``: stop when effects change by at most this much; at most MAX_ROUNDS.
STRESS_MAX = 0.01
MAX_ROUNDS = 100


@dataclass(frozen=True)
class RoundRobin:
    """One group's round-robin matrix (rows actors, columns partners, NaN diagonal)."""

    group: object
    ids: tuple
    matrix: np.ndarray
    excluded: tuple  # (id, reason) pairs


def check_columns(data: pd.DataFrame, outcome: str, actor: str, partner: str,
                  group: str | None) -> None:
    """Errors for a missing column, a non-numeric outcome or missing ids."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError("social_relations needs a pandas DataFrame of dyadic rows")
    cols = [outcome, actor, partner] + ([group] if group is not None else [])
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise SpecificationError(f"column(s) {absent} not in the data; the columns are "
                                 f"{list(data.columns)}")
    if len(set(cols)) < len(cols):
        raise SpecificationError(f"outcome, actor, partner and group must be different "
                                 f"columns; got {cols}")
    if not pd.api.types.is_numeric_dtype(data[outcome]):
        raise DataError(f"the outcome {outcome!r} is not numeric ({data[outcome].dtype})")
    for c in cols[1:]:
        n = int(data[c].isna().sum())
        if n:
            raise DataError(f"{n} row(s) have a missing {c!r}; every rating needs its actor, "
                            f"partner and group")


def check_round_robin(data: pd.DataFrame, outcome: str, actor: str, partner: str,
                      group: str | None, drop_self: bool = False) -> pd.DataFrame:
    """The rows without self-ratings, after the round-robin checks (errors otherwise).
    A self-rating with a value is an error unless ``drop_self``."""
    self_rows = data[actor].to_numpy() == data[partner].to_numpy()
    rated_self = self_rows & data[outcome].notna().to_numpy()
    if rated_self.any() and not drop_self:
        who = data.loc[rated_self, actor].unique()[:5].tolist()
        raise DataError(f"{int(rated_self.sum())} row(s) have an actor rating itself "
                        f"({actor} == {partner}, e.g. {who}); the SRM uses ratings of others "
                        f"only: drop them or pass self_ratings='drop' (rows with a missing "
                        f"outcome are ignored)")
    rows = data.loc[~self_rows]
    keys = [actor, partner] if group is None else [group, actor, partner]
    dup = rows.duplicated(keys, keep=False)
    if dup.any():
        ex = rows.loc[dup, keys].drop_duplicates().head(3).to_dict("records")
        raise DataError(f"{int(dup.sum())} rows repeat a dyad (the same actor rating the same "
                        f"partner), e.g. {ex}; keep one rating per ordered pair")
    if group is not None:
        per_id = pd.concat([rows[[actor, group]].set_axis(["id", "g"], axis=1),
                            rows[[partner, group]].set_axis(["id", "g"], axis=1)])
        n_groups = per_id.drop_duplicates().groupby("id")["g"].size()
        shared = n_groups[n_groups > 1].index.tolist()
        if shared:
            raise DataError(f"participant id(s) {shared[:5]} appear in more than one group; "
                            f"ids must be unique across groups (TripleR requires it too)")
    return rows


def round_robin(rows: pd.DataFrame, outcome: str, actor: str, partner: str,
                group_value=None) -> RoundRobin:
    """One group's matrix after TripleR's exclusion of participants (rules 1-2)."""
    actors, partners = set(rows[actor]), set(rows[partner])
    both = sorted(actors & partners)
    excluded = [(i, "only an actor: never a partner" if i in actors
                 else "only a partner: never an actor")
                for i in sorted(actors ^ partners, key=str)]
    sub = rows[rows[actor].isin(both) & rows[partner].isin(both)]
    wide = sub.pivot(index=actor, columns=partner, values=outcome)
    wide = wide.reindex(index=both, columns=both)
    m = wide.to_numpy(dtype=float, copy=True)
    np.fill_diagonal(m, np.nan)
    ids = list(both)
    while len(ids):
        valid = ~np.isnan(m)
        drop = (valid.sum(axis=1) < 1) | (valid.sum(axis=0) < 1)
        if not drop.any():
            break
        excluded += [(i, "no valid rating given or received")
                     for i, d in zip(ids, drop, strict=True) if d]
        keep = ~drop
        m = m[np.ix_(keep, keep)]
        ids = [i for i, k in zip(ids, keep, strict=True) if k]
    return RoundRobin(group_value, tuple(ids), m, tuple(excluded))


def quick_effects(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Actor and partner effects (Kenny 1994; TripleR ``quickeffects``) and the grand
    mean of the non-missing cells of ``m``."""
    n = m.shape[0]
    mi = np.nanmean(m, axis=1)
    mj = np.nanmean(m, axis=0)
    mm = float(np.nanmean(m))
    a = (n - 1) ** 2 / (n * (n - 2)) * mi + (n - 1) / (n * (n - 2)) * mj - (n - 1) / (n - 2) * mm
    b = (n - 1) ** 2 / (n * (n - 2)) * mj + (n - 1) / (n * (n - 2)) * mi - (n - 1) / (n - 2) * mm
    return a, b, mm


def impute(m: np.ndarray) -> tuple[np.ndarray, int]:
    """TripleR's ``impute(na.rm = "meansNA")``: the matrix with missing off-diagonal
    cells filled (diagonal NaN) and the number of rounds (0: the single-round fallback)."""
    missing = np.isnan(m)  # includes the diagonal, which TripleR fills while iterating
    out = m.copy()
    a0, b0, _ = quick_effects(out)
    for rounds in range(1, MAX_ROUNDS + 2):
        if rounds > MAX_ROUNDS:
            return _impute_once(m), 0
        fill = (np.nanmean(out, axis=1)[:, None] + np.nanmean(out, axis=0)[None, :]) / 2
        out[missing] = fill[missing]
        a, b, _ = quick_effects(out)
        stress = max(np.abs(a - a0).max(), np.abs(b - b0).max())
        a0, b0 = a, b
        if stress <= STRESS_MAX:
            break
    np.fill_diagonal(out, np.nan)
    return out, rounds


def _impute_once(m: np.ndarray) -> np.ndarray:
    out = m.copy()
    missing = np.isnan(out)
    fill = (np.nanmean(out, axis=1)[:, None] + np.nanmean(out, axis=0)[None, :]) / 2
    out[missing] = fill[missing]
    np.fill_diagonal(out, np.nan)
    return out
