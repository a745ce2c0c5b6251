"""Firms, their membership spells and year-level group rosters, and member years.

Memberships are simulated one year at a time: joins into groups of at most 20
simultaneous members, the year's meetings (:mod:`.meetings`), and exits whose hazard
falls with the year's benchmark rank (H1f).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.simulate.common import (
    INDUSTRIES,
    INDUSTRY_SHARES,
    OPEN,
    REGIONS,
    SCALES,
    _Config,
    _Effects,
    _expit,
    _jan1,
    _within_rank,
    _year_of,
)
from ipnstats.simulate.meetings import _meeting_year, _rank_pct

# --- firms ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Firms:
    """Latent firm traits (arrays indexed by firm code 0..n-1)."""

    founded: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    size: np.ndarray
    quality: np.ndarray
    interested: np.ndarray
    emp_fe: np.ndarray
    alpha: np.ndarray
    p_att: np.ndarray
    p_disc: np.ndarray
    crit: np.ndarray
    latent: dict
    respond: np.ndarray
    survey_day: np.ndarray
    drive: np.ndarray  # unobserved growth trait (selection on unobservables; truth.toml)


def _draw_firms(rng, cfg: _Config, eff: _Effects, drive: np.ndarray) -> _Firms:
    n = cfg.n_firms
    age = np.floor(rng.gamma(1.6, 9.0, n)).astype(np.int64)
    founded = np.clip(cfg.first_year + 5 - age, cfg.first_year - 60, cfg.last_year - 1)
    size, quality = rng.standard_normal(n), rng.standard_normal(n)
    latent = {name: rng.standard_normal(n) for name, *_ in SCALES}
    return _Firms(
        founded=founded, industry=rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARES),
        region=rng.integers(0, len(REGIONS), n), size=size, quality=quality,
        interested=rng.random(n) < eff.interested,
        emp_fe=np.log(8.0) + 0.85 * size + 0.25 * rng.standard_normal(n),
        alpha=np.log(1.2e6) + 0.9 * size + 0.15 * quality + 0.3 * rng.standard_normal(n),
        p_att=_expit(rng.normal(1.4, 0.8, n)), p_disc=_expit(rng.normal(0.8, 1.0, n)),
        crit=rng.gamma(4.0, 0.35, n), latent=latent,
        respond=_expit(rng.normal(1.4, 0.9, n)), survey_day=rng.integers(0, 330, n),
        drive=drive)


# --- memberships (one year at a time) ---------------------------------------------------

class _Spells:
    """Membership spells as they are simulated (days since 1970; OPEN while open)."""

    def __init__(self, n_firms: int, capacity: int):
        self.firm = np.zeros(capacity, np.int64)
        self.group = np.zeros(capacity, np.int64)
        self.join = np.zeros(capacity, np.int64)
        self.exit = np.full(capacity, OPEN, np.int64)
        self.current = np.full(n_firms, -1, np.int64)
        self.size = 0

    def add(self, firms: np.ndarray, groups: np.ndarray, days: np.ndarray) -> None:
        new = np.arange(self.size, self.size + firms.size)
        self.firm[new], self.group[new], self.join[new] = firms, groups, days
        self.current[firms] = new
        self.size += firms.size

    def close(self, firms: np.ndarray, days: np.ndarray) -> None:
        self.exit[self.current[firms]] = days

    def touching(self, first_day: int, last_day: int) -> np.ndarray:
        n = self.size
        return np.flatnonzero((self.join[:n] <= last_day) & (self.exit[:n] >= first_day))

    def frame(self) -> pd.DataFrame:
        n = self.size
        return pd.DataFrame({"firm": self.firm[:n], "group": self.group[:n],
                             "join": self.join[:n], "exit": self.exit[:n]})


@dataclass(slots=True)
class _Roster:
    """Year-level membership state: core = member in the current year."""

    core: np.ndarray
    ever: np.ndarray
    group: np.ndarray
    last: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Roster:
        return cls(np.zeros(n, bool), np.zeros(n, bool), np.full(n, -1, np.int64),
                   np.full(n, -(10**6), np.int64))

    def advance(self, joiners, groups, exiters, year: int, last_year: int) -> None:
        self.core[exiters] = False
        self.last[exiters] = year
        if year < last_year:
            self.core[joiners], self.ever[joiners], self.group[joiners] = True, True, groups


def _membership(rng, cfg: _Config, eff: _Effects, fx: _Firms):
    spells = _Spells(cfg.n_firms, cfg.n_firms * (cfg.n_years // 2 + 4))
    roster = _Roster.empty(cfg.n_firms)
    opens = _group_openings(cfg)
    day_of_month = rng.integers(3, 24, cfg.n_groups)
    _initial_members(rng, cfg, fx, spells, roster, opens)
    meetings, activity, core = [], [], np.zeros((cfg.n_firms, cfg.n_years), bool)
    for year in range(cfg.first_year - 1, cfg.last_year + 1):
        joiners, groups = _joins(rng, cfg, eff, fx, spells, roster, opens, year)
        exiters = np.zeros(0, np.int64)
        if year >= cfg.first_year:
            core[:, year - cfg.first_year] = roster.core
            meets, act = _meeting_year(rng, fx, spells, day_of_month, year)
            meetings.append(meets)
            activity.append(act)
            exiters = _exits(rng, cfg, eff, act, roster, spells, year)
        roster.advance(joiners, groups, exiters, year, cfg.last_year)
    return spells.frame(), pd.concat(meetings), pd.concat(activity), core


def _group_openings(cfg: _Config) -> np.ndarray:
    """Year each group starts taking members: a third before the panel, the rest spread."""
    first = max(1, cfg.n_groups // 3)
    later = np.linspace(cfg.first_year, cfg.last_year - 3, cfg.n_groups - first)
    return np.r_[np.full(first, cfg.first_year - 6), np.round(later)].astype(np.int64)


def _initial_members(rng, cfg, fx: _Firms, spells: _Spells, roster: _Roster, opens) -> None:
    """Firms that joined before the panel starts (still members in first_year - 1)."""
    y0 = cfg.first_year
    pick = fx.interested & (fx.founded <= y0 - 2) & (rng.random(cfg.n_firms) < 0.12)
    cand = np.flatnonzero(pick)
    groups = _allocate(rng, cfg, roster, cand, opens <= y0 - 1)
    firms, groups = cand[groups >= 0], groups[groups >= 0]
    first = rng.integers(np.maximum(fx.founded[firms], y0 - 6), y0)
    spells.add(firms, groups, _jan1(first) + rng.integers(0, 170, firms.size))
    roster.core[firms], roster.ever[firms], roster.group[firms] = True, True, groups


def _joins(rng, cfg, eff, fx, spells: _Spells, roster: _Roster, opens, year: int):
    """Firms whose first member year of a new spell is year + 1."""
    first = year + 1
    want = np.flatnonzero(_join_wishes(rng, cfg, eff, fx, roster, first))
    groups = _allocate(rng, cfg, roster, want, opens <= first,
                       fx.size if eff.formation == "chair" else None)
    firms, groups = want[groups >= 0], groups[groups >= 0]
    spells.add(firms, groups, _join_days(rng, cfg, fx, roster, firms, first))
    return firms, groups


def _join_wishes(rng, cfg, eff: _Effects, fx: _Firms, roster: _Roster, first: int):
    age = first - fx.founded
    drive = eff.join_drive * fx.drive if eff.selection > 0 else 0.0
    p_new = _expit(eff.join_intercept + eff.join_young * (age < 10) + eff.join_size * fx.size
                   + drive)
    new = fx.interested & ~roster.ever & (age >= 0)
    back = (fx.interested & roster.ever & ~roster.core & (first >= roster.last + 2)
            & (first <= cfg.last_year))
    u = rng.random(cfg.n_firms)
    return (new & (u < p_new)) | (back & (u < eff.rejoin))


def _allocate(rng, cfg: _Config, roster: _Roster, firms: np.ndarray, is_open,
              chair_size: np.ndarray | None = None) -> np.ndarray:
    """Group of each joining firm (-1: no room). Room = 20 - members of the current year.

    Formation ``"random"`` (the default, ``chair_size`` None): re-joiners go back to their
    old group with probability 1/2 when it has room; every other joiner takes a free slot
    drawn at random among the open groups. ``"chair"``: the same, but the chair sorts those
    other joiners by size (largest first) and fills the free slots in group order, so
    firms of similar size share a group.

    Counting the current year's members (exits happen early next year) keeps every
    day's membership at or below the cap: joins fall late this year or early next.
    """
    counts = np.bincount(roster.group[roster.core], minlength=cfg.n_groups)
    free = np.where(is_open, np.maximum(cfg.max_members - counts, 0), 0)
    out = np.full(firms.size, -1, np.int64)
    order = rng.permutation(firms.size)
    back = order[roster.ever[firms[order]] & (rng.random(firms.size) < 0.5)]
    old = roster.group[firms[back]]
    take = pd.Series(old).groupby(old).cumcount().to_numpy() < free[old]
    out[back[take]] = old[take]
    free = free - np.bincount(old[take], minlength=cfg.n_groups)
    rest = order[out[order] < 0]
    slots = rng.permutation(np.repeat(np.arange(cfg.n_groups), free))
    if chair_size is not None:
        slots = np.sort(slots)
        rest = rest[np.argsort(-chair_size[firms[rest]], kind="stable")]
    k = min(rest.size, slots.size)
    out[rest[:k]] = slots[:k]
    return out


def _join_days(rng, cfg, fx: _Firms, roster: _Roster, firms, first: int) -> np.ndarray:
    """Join date: late in first - 1 (a partial, non-member year) or by 19 June of first.

    Re-joins start early in ``first`` so the gap year stays a non-member year; a late
    join in the year before founding is kept for a few firms only (odd but real).
    """
    k = firms.size
    late = (rng.random(k) < 0.35) & ~roster.ever[firms]
    late &= (fx.founded[firms] < first) | (rng.random(k) < 0.2)
    late |= first > cfg.last_year
    offset = np.where(late, rng.integers(199, 358, k), rng.integers(0, 170, k))
    return np.where(late, _jan1(first - 1), _jan1(first)) + offset


def _exits(rng, cfg, eff: _Effects, act, roster: _Roster, spells: _Spells, year: int):
    """Members of ``year`` who leave early next year (H1f: logit on the year's rank)."""
    if year >= cfg.last_year:
        return np.zeros(0, np.int64)
    pct = pd.Series(_rank_pct(act["rank"], act["ranked"])).groupby(act["firm"].to_numpy())
    firms = np.flatnonzero(roster.core)
    x = pct.mean().reindex(firms).fillna(0.5).to_numpy()
    leave = rng.random(firms.size) < _expit(eff.exit_intercept + eff.exit_rank * x)
    out = firms[leave]
    spells.close(out, _jan1(year + 1) + rng.integers(0, 170, out.size))
    return out


# --- member years (the frame definitions) -----------------------------------------------

@dataclass(frozen=True, slots=True)
class _Grid:
    """Member years on the window first_year - 1 .. last_year (column 0 = first_year - 1)."""

    member: np.ndarray
    tenure: np.ndarray  # completed member years before t, over all calendar years
    cohort: np.ndarray  # first member year, 0 for never-members


def _member_grid(spells: pd.DataFrame, cfg: _Config) -> _Grid:
    """Member years by the 183-day rule (spells summed; open spells run to the data end)."""
    start = spells["join"].to_numpy()
    stop = np.minimum(spells["exit"].to_numpy(), _jan1(cfg.last_year + 1) - 1)
    y0 = int(min(_year_of(start).min(initial=cfg.first_year), cfg.first_year - 1))
    first, last = _year_of(start), _year_of(stop)
    per = np.maximum(last - first + 1, 0)
    spell = np.repeat(np.arange(start.size), per)
    year = first[spell] + _within_rank(per)
    days = (np.minimum(stop[spell], _jan1(year + 1) - 1)
            - np.maximum(start[spell], _jan1(year)) + 1)
    width = cfg.last_year - y0 + 1
    cell = spells["firm"].to_numpy()[spell] * width + (year - y0)
    total = np.bincount(cell, weights=days, minlength=cfg.n_firms * width)
    member = (total >= cfg.min_days).reshape(cfg.n_firms, width)
    tenure = np.cumsum(member, axis=1) - member
    cohort = np.where(member.any(axis=1), member.argmax(axis=1) + y0, 0)
    cut = cfg.first_year - 1 - y0
    return _Grid(member[:, cut:], tenure[:, cut:], cohort)


def _check_core(grid: _Grid, core: np.ndarray, cfg: _Config) -> None:
    """The simulated year-level roster must equal the 183-day rule on the written dates."""
    if not np.array_equal(grid.member[:, 1:], core):
        bad = int((grid.member[:, 1:] != core).sum())
        raise RuntimeError(f"simulator invariant broken: {bad} firm-years differ between the "
                           f"roster and the {cfg.min_days}-day rule")
