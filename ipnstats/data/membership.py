"""Membership spells -> member years on a dense firm x year grid.

A firm is a member in calendar year t when its spells cover at least
``min_days`` days of t (days of several spells are added; the exit date is the
last day of membership; an open spell runs to the end of the data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MemberGrid:
    """Member years of every firm: rows are firm codes, columns years first..last."""

    first_year: int
    member: np.ndarray  # bool (n_firms, n_years)
    group: np.ndarray  # int32 group code of the spell covering most days; -1 if none
    spell_used: np.ndarray  # bool per spell: contributes to at least one member year

    @property
    def n_years(self) -> int:
        return self.member.shape[1]

    def cohort(self) -> np.ndarray:
        """First member year per firm, 0 for firms never a member."""
        ever = self.member.any(axis=1)
        return np.where(ever, self.member.argmax(axis=1) + self.first_year, 0)

    def tenure_before(self) -> np.ndarray:
        """Completed member years before each year (int, firms x years)."""
        return np.cumsum(self.member, axis=1, dtype=np.int32) - self.member


def member_grid(firm: np.ndarray, group: np.ndarray, join: pd.Series, exit_: pd.Series, *,
                n_firms: int, first_year: int, last_year: int, min_days: int) -> MemberGrid:
    """Build the grid from spells given as firm codes, group codes and dates."""
    end_of_data = pd.Timestamp(year=last_year, month=12, day=31)
    start = join.to_numpy(dtype="datetime64[D]")
    stop = exit_.fillna(end_of_data).clip(upper=end_of_data).to_numpy(dtype="datetime64[D]")
    y0 = start.astype("datetime64[Y]").astype(int) + 1970
    y1 = stop.astype("datetime64[Y]").astype(int) + 1970
    n_per = np.maximum(y1 - y0 + 1, 0)
    spell = np.repeat(np.arange(len(start)), n_per)
    year = y0[spell] + _ranks(n_per)
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    dec31 = (year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - 1
    days = (np.minimum(stop[spell], dec31) - np.maximum(start[spell], jan1)).astype(int) + 1
    n_years = last_year - first_year + 1
    cell = firm[spell] * n_years + (year - first_year)
    total = np.bincount(cell, weights=days, minlength=n_firms * n_years)
    member = (total >= min_days).reshape(n_firms, n_years)
    return MemberGrid(first_year, member, _main_group(cell, days, group[spell], member.size)
                      .reshape(n_firms, n_years),
                      _spells_used(spell, cell, member.ravel(), len(start)))


def _ranks(n_per: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for each block of the repeat (vectorised)."""
    starts = np.repeat(np.cumsum(n_per) - n_per, n_per)
    return np.arange(n_per.sum()) - starts


def _main_group(cell: np.ndarray, days: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -1, dtype=np.int32)
    order = np.lexsort((-days, cell))  # per cell, the spell with most days first
    first = np.r_[True, cell[order][1:] != cell[order][:-1]]
    out[cell[order][first]] = group[order][first]
    return out


def _spells_used(spell: np.ndarray, cell: np.ndarray, member: np.ndarray, n: int) -> np.ndarray:
    used = np.zeros(n, bool)
    used[spell[member[cell]]] = True
    return used
