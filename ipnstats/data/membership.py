"""Membership spells -> member years on a dense firm x year grid.

A firm is a member in calendar year t when its spells cover at least
``min_days`` days of t (days of several spells are added; the exit date is the
last day of membership; an open spell runs to the end of the data).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MemberGrid:
    """Member years of every firm: rows are firm codes, columns years first..last."""

    first_year: int
    member: np.ndarray  # bool (n_firms, n_years)
    group: np.ndarray  # group code of the spell covering most days (dtype of the spells'
    # group codes); -1 if none
    spell_used: np.ndarray  # bool per spell: contributes to at least one member year

    @property
    def n_years(self) -> int:
        return self.member.shape[1]

    def cohort(self) -> np.ndarray:
        """First member year per firm, 0 for firms never a member."""
        return self.cohorts

    def tenure_before(self) -> np.ndarray:
        """Completed member years before each year (int, firms x years)."""
        return self.tenure

    @cached_property
    def cohorts(self) -> np.ndarray:
        ever = self.member.any(axis=1)
        return np.where(ever, self.member.argmax(axis=1) + self.first_year, 0)

    @cached_property
    def tenure(self) -> np.ndarray:
        dtype = np.int16 if self.n_years < 2**15 else np.int32
        tenure = np.cumsum(self.member, axis=1, dtype=dtype)
        tenure -= self.member
        return tenure

    @cached_property
    def member_next(self) -> np.ndarray:
        """A member in the next year (False in the last year of the grid)."""
        out = np.zeros_like(self.member)
        out[:, :-1] = self.member[:, 1:]
        return out


def member_grid(firm: np.ndarray, group: np.ndarray, join: pd.Series, exit_: pd.Series, *,
                n_firms: int, first_year: int, last_year: int, min_days: int) -> MemberGrid:
    """Build the grid from spells given as firm codes, group codes and dates."""
    end_of_data = pd.Timestamp(year=last_year, month=12, day=31)
    start = join.to_numpy(dtype="datetime64[D]")
    stop = exit_.fillna(end_of_data).clip(upper=end_of_data).to_numpy(dtype="datetime64[D]")
    y0 = start.astype("datetime64[Y]").astype(np.int64) + 1970
    y1 = stop.astype("datetime64[Y]").astype(np.int64) + 1970
    n_per = np.maximum(y1 - y0 + 1, 0)
    # one row per spell and calendar year it touches (small integer types: spells x
    # years can be a few million rows)
    spell = np.repeat(np.arange(len(start), dtype=np.int32), n_per)
    year = _ranks(n_per)
    year += np.repeat(y0, n_per)
    lowest = int(y0.min(initial=first_year))
    jan1 = _jan1_days(lowest, max(int(y1.max(initial=last_year)), last_year) + 1)
    at = year - lowest
    days = np.minimum(stop.view(np.int64)[spell], jan1[at + 1] - 1)  # to Dec 31 or the exit
    days -= np.maximum(start.view(np.int64)[spell], jan1[at])  # from Jan 1 or the join
    days += 1
    del at
    n_years = last_year - first_year + 1
    cell = firm[spell] * n_years
    cell += year
    cell -= first_year
    del year
    size = n_firms * n_years
    if len(cell) and (cell[1:] >= cell[:-1]).all():  # spells sorted by firm and date
        member, main_group = _by_sorted_cells(cell, days, group[spell], size, min_days)
    else:
        member = np.bincount(cell, weights=days, minlength=size) >= min_days
        main_group = _main_group(cell, days, group[spell], size)
    return MemberGrid(first_year, member.reshape(n_firms, n_years),
                      main_group.reshape(n_firms, n_years),
                      _spells_used(spell, cell, member, len(start)))


def _by_sorted_cells(cell: np.ndarray, days: np.ndarray, group: np.ndarray, size: int,
                     min_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Member cells and each cell's main group (the first of its spells with the most
    days) when the spell-years come ordered by cell: linear, by runs of equal cells."""
    new = np.empty(len(cell), bool)
    new[0] = True
    np.not_equal(cell[1:], cell[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    cells = cell[starts]
    member = np.zeros(size, bool)
    member[cells[np.add.reduceat(days, starts) >= min_days]] = True
    run = np.cumsum(new) - 1
    longest = np.flatnonzero(days == np.maximum.reduceat(days, starts)[run])
    first = longest[np.r_[True, run[longest][1:] != run[longest][:-1]]]
    main_group = np.full(size, -1, dtype=group.dtype)
    main_group[cell[first]] = group[first]
    return member, main_group


def _ranks(n_per: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for each block of the repeat (vectorised)."""
    ranks = np.arange(n_per.sum())
    ranks -= np.repeat(np.cumsum(n_per) - n_per, n_per)
    return ranks


def _jan1_days(first: int, last: int) -> np.ndarray:
    """Days since 1970-01-01 of January 1 of the years ``first`` .. ``last``."""
    years = np.arange(first - 1970, last - 1970 + 1).astype("datetime64[Y]")
    return years.astype("datetime64[D]").view(np.int64)


def _main_group(cell: np.ndarray, days: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -1, dtype=group.dtype)
    if not len(cell):  # no spell touches the grid
        return out
    order = np.lexsort((-days, cell))  # per cell, the spell with most days first
    first = np.r_[True, cell[order][1:] != cell[order][:-1]]
    out[cell[order][first]] = group[order][first]
    return out


def _spells_used(spell: np.ndarray, cell: np.ndarray, member: np.ndarray, n: int) -> np.ndarray:
    used = np.zeros(n, bool)
    used[spell[member[cell]]] = True
    return used
