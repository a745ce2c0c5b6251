"""Simulate a complete study folder whose true effects are known.

:func:`simulate_study` writes the eight tables of a study folder as CSV, its
``codebook.toml`` and a ``truth.toml`` holding the true value of a parameter of
every hypothesis (H1a-H3c of ``DESIGN.md``), each defined in terms of the derived
frames of ``docs/study_folder.md``. The generator computes those frames' quantities
(member years under the 183-day rule, tenure, cohort, practice intensities, scale
scores, sender traits, prior exposure) with the same definitions, so an estimator
run on the folder can be checked against ``truth.toml``.

The mechanisms, in the order they are simulated:

1. firms: founding year, industry, region, size and latent traits;
2. memberships, year by year: joins (selection on age and size, groups of at most 20
   simultaneous members), monthly peer meetings and workshops with attendance,
   disclosure, critiques and benchmark ranks, and exits whose hazard falls with the
   year's benchmark rank (H1f); exited firms may re-join;
3. surveys: Likert items from latent scale scores; perceived learning rises in
   member years (H1c), risk and loss aversion are fixed firm traits;
4. financials: log revenue = firm effect + year effect + linear age + lagged
   perceived learning + the membership effect (H1a, H1b, H1d, H1e) + AR(1) noise;
   selection into joining is on firm traits only, so parallel trends hold given
   firm fixed effects while naive member/non-member comparisons are biased;
5. exchanges at peer meetings, with framing, sender and receiver traits and crossed
   sender and receiver random intercepts (H2a-H2d, H3a);
6. tasks: a log-linear learning curve driven by information sources and by prior
   exposure to risk-averse senders (H3b, H3c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

__all__ = ["simulate_study"]

INDUSTRIES = ("construction", "manufacturing", "retail", "hospitality",
              "professional_services", "transport")
INDUSTRY_SHARES = (0.22, 0.16, 0.20, 0.14, 0.18, 0.10)
REGIONS = ("north", "south", "east", "west", "central")
QUESTION_TYPES = ("operations", "marketing", "finance", "hr", "strategy")
FAVOURITE_QUESTION = (0, 0, 1, 3, 2, 4)  # per industry: the type its senders are asked most
FAVOURITE_BOOST = 0.30
FRAMINGS = ("loss", "gain", "neutral")
FRAMING_SHARES = (0.35, 0.35, 0.30)
# name, label, item prefix, 1-based reverse-coded item
SCALES = (("perceived_learning", "Perceived learning", "pl", 4), ("trust", "Trust", "tr", 2),
          ("risk_aversion", "Risk aversion", "ra", 3), ("loss_aversion", "Loss aversion", "la", 5))
ITEM_SHIFT = (0.15, -0.10, 0.05, 0.10, -0.20)  # item difficulties, answer units
LABELS = (
    ("log_revenue", "Log revenue"), ("revenue_growth", "Revenue growth (log points)"),
    ("profit_margin", "Profit margin"), ("roa", "Return on assets"),
    ("log_employees", "Log(1 + employees)"), ("employment_growth", "Employment growth"),
    ("member", "IPN member"), ("tenure", "Tenure (member years)"),
    ("attendance_rate", "Attendance rate"), ("disclosure_rate", "Disclosure rate"),
    ("critiques", "Critiques received per meeting"),
    ("benchmark_rank_pct", "Benchmark rank (percentile)"),
    ("cognitive_shift", "Cognitive shift"), ("behavior_change", "Behavior change"),
    ("loss", "Loss framing"), ("sender_risk_aversion", "Sender risk aversion"),
    ("receiver_loss_aversion", "Receiver loss aversion"), ("sender_size", "Sender size"),
    ("sender_age", "Sender age"), ("sender_success", "Sender profit margin"),
    ("sender_status", "Sender benchmark rank"), ("same_industry", "Same industry"),
    ("log_outcome", "Log months to break even"), ("log_n_sources", "Log information sources"),
    ("log_cum_experience", "Log cumulative experience"),
    ("prior_risk_averse", "Prior spontaneous questions from risk-averse senders"),
)
OPEN = 10**7  # exit day of an open spell (days since 1970)


@dataclass(frozen=True, slots=True)
class _Config:
    n_firms: int
    n_groups: int
    first_year: int
    last_year: int
    seed: int | str
    max_members: int = 20
    min_days: int = 183

    @property
    def n_years(self) -> int:
        return self.last_year - self.first_year + 1


@dataclass(frozen=True, slots=True)
class _Effects:
    """True parameters (see truth.toml for their exact meaning) and nuisance settings."""

    tau_base: float = 0.03  # H1b: direct effect at tenure 0 ...
    tau_step: float = 0.015  # ... plus this per completed member year ...
    tau_cap: int = 4  # ... up to this tenure
    young_join: float = 0.04  # H1e: cohort - founded_year < young_age
    small_join: float = 0.0  # H1e: employees_baseline < 10 (truly zero)
    young_age: int = 5
    # H1d: (column, coefficient on log_revenue, centring value)
    practices: tuple = (("attendance_rate", 0.15, 0.75), ("disclosure_rate", 0.10, 0.60),
                        ("critiques", 0.03, 1.20), ("benchmark_rank_pct", 0.10, 0.50))
    pl_member: float = 0.5  # H1c a path (latent answer units)
    pl_revenue: float = 0.04  # H1c b path
    pl_centre: float = 4.0
    exit_intercept: float = -1.2  # H1f
    exit_rank: float = -2.5
    cs_intercept: float = 5.0  # H2a, H2c, H3a
    cs_loss: float = 0.5
    cs_neutral: float = 0.0
    cs_sender_ra: float = 0.25
    cs_receiver_la: float = 0.0
    cs_la_x_loss: float = 0.2
    sd_sender: float = 0.5
    sd_receiver: float = 0.7
    sd_exchange: float = 1.2
    bc: tuple = (-1.75, 0.15, -1.45, 0.35)  # H2b: intercept, cs, loss, cs x loss
    task_intercept: float = math.log(14.0)  # H3b, H3c
    task_sources: float = -0.30
    task_experience: float = 0.0
    task_slope_sd: float = 0.05
    task_exposure_x: float = -0.06
    task_exposure: float = 0.0
    task_sd_firm: float = 0.3
    task_sd: float = 0.3
    join_intercept: float = -2.2  # selection into joining
    join_young: float = 0.9
    join_size: float = -0.5
    rejoin: float = 0.15
    interested: float = 0.75


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


# --- public entry point ---------------------------------------------------------------

def simulate_study(out_dir: str | Path, *, n_firms: int = 600, n_groups: int = 30,
                   first_year: int = 2008, last_year: int = 2022,
                   seed: int | np.random.Generator = 0) -> Path:
    """Write a synthetic IPN study folder whose true effects are known.

    The folder gets the eight tables of ``docs/study_folder.md`` as CSV (firms,
    memberships, financials, meetings, meeting_activity, surveys, exchanges, tasks),
    a ``codebook.toml`` and a ``truth.toml``. ``truth.toml`` gives, for every
    hypothesis H1a-H3c, the true parameters with a description of each in terms of
    the derived frames' columns, and the simulation settings. The same seed writes
    byte-identical files.

    Parameters
    ----------
    out_dir
        Folder to write; created when missing. Existing files of the same names are
        overwritten.
    n_firms
        Number of firms (about 30-40 % never join while groups have room).
    n_groups
        Number of peer groups; a group never has more than 20 simultaneous members.
    first_year, last_year
        Years of the financial panel and the surveys (inclusive).
    seed
        An int or a ``numpy.random.Generator``; normalised once with
        ``numpy.random.default_rng``.

    Returns
    -------
    pathlib.Path
        The study folder.

    Examples
    --------
    >>> import tempfile, tomllib
    >>> from ipnstats.simulate import simulate_study
    >>> folder = simulate_study(tempfile.mkdtemp(), n_firms=200, seed=1)
    >>> truth = tomllib.loads((folder / "truth.toml").read_text())
    >>> truth["H2a"]["loss"]["value"]
    0.5
    """
    cfg = _config(n_firms, n_groups, first_year, last_year, seed)
    rng = np.random.default_rng(seed)
    eff = _Effects()
    fx = _draw_firms(rng, cfg, eff)
    spells, meetings, activity, core = _membership(rng, cfg, eff, fx)
    grid = _member_grid(spells, cfg)
    _check_core(grid, core, cfg)
    surveys, scores = _surveys(rng, cfg, eff, fx, grid)
    fin, fy = _financials(rng, cfg, eff, fx, grid, _intensities(activity, cfg), scores)
    traits = {s: _trait(scores[s]) for s in ("risk_aversion", "loss_aversion")}
    ex, ex_info = _exchanges(rng, eff, fx, activity, traits)
    tasks, task_info = _tasks(rng, cfg, eff, fx, ex, traits["risk_aversion"])
    tables = _public_tables(cfg, fx, fin, spells, meetings, activity, surveys, ex, tasks)
    truth = _truth(cfg, eff, fy, scores, grid, ex_info, task_info)
    return _write(Path(out_dir), tables, _codebook(cfg), truth)


def _config(n_firms, n_groups, first_year, last_year, seed) -> _Config:
    if not isinstance(n_firms, int) or not 20 <= n_firms <= 99_999:
        raise ValueError(f"n_firms must be a whole number in 20..99999, got {n_firms!r}")
    if not isinstance(n_groups, int) or not 1 <= n_groups <= 999:
        raise ValueError(f"n_groups must be a whole number in 1..999, got {n_groups!r}")
    if not isinstance(first_year, int) or not isinstance(last_year, int) \
            or last_year - first_year < 4 or first_year < 1900:
        raise ValueError(f"need whole years with last_year >= first_year + 4 (and first_year "
                         f">= 1900); got first_year={first_year!r}, last_year={last_year!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer | np.random.Generator):
        raise ValueError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    recorded = "numpy Generator (state not recorded)" \
        if isinstance(seed, np.random.Generator) else int(seed)
    return _Config(n_firms, n_groups, first_year, last_year, recorded)


# --- small helpers ----------------------------------------------------------------------

def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _jan1(year) -> np.ndarray:
    """Day number (days since 1970-01-01) of 1 January of ``year``."""
    year = np.asarray(year, dtype=np.int64)
    return (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def _year_of(day) -> np.ndarray:
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]") \
        .astype(np.int64) + 1970


def _iso(day) -> np.ndarray:
    return np.datetime_as_string(np.asarray(day, dtype=np.int64).astype("datetime64[D]"))


def _within_rank(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ..., k-1 within each block of ``np.repeat(..., sizes)``."""
    return np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _ids(prefix: str, codes, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.asarray(codes + 1).astype(str), width))


# --- firms ------------------------------------------------------------------------------

def _draw_firms(rng, cfg: _Config, eff: _Effects) -> _Firms:
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
        respond=_expit(rng.normal(1.4, 0.9, n)), survey_day=rng.integers(0, 330, n))


# --- memberships, meetings and activity (one year at a time) ----------------------------

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
    groups = _allocate(rng, cfg, roster, want, opens <= first)
    firms, groups = want[groups >= 0], groups[groups >= 0]
    spells.add(firms, groups, _join_days(rng, cfg, fx, roster, firms, first))
    return firms, groups


def _join_wishes(rng, cfg, eff: _Effects, fx: _Firms, roster: _Roster, first: int):
    age = first - fx.founded
    p_new = _expit(eff.join_intercept + eff.join_young * (age < 10) + eff.join_size * fx.size)
    new = fx.interested & ~roster.ever & (age >= 0)
    back = (fx.interested & roster.ever & ~roster.core & (first >= roster.last + 2)
            & (first <= cfg.last_year))
    u = rng.random(cfg.n_firms)
    return (new & (u < p_new)) | (back & (u < eff.rejoin))


def _allocate(rng, cfg: _Config, roster: _Roster, firms: np.ndarray, is_open) -> np.ndarray:
    """Group of each joining firm (-1: no room). Room = 20 - members of the current year.

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


def _meeting_year(rng, fx: _Firms, spells: _Spells, day_of_month, year: int):
    touching = spells.touching(_jan1(year), _jan1(year + 1) - 1)
    meets = _meeting_dates(rng, np.unique(spells.group[touching]), day_of_month, year)
    act = _activity(rng, fx, _present(spells, touching, meets))
    return meets[meets["key"].isin(act["key"])], act


def _meeting_dates(rng, groups, day_of_month, year: int) -> pd.DataFrame:
    """Monthly peer meetings on the group's usual day, plus 2-4 workshops a year."""
    months = (np.datetime64(f"{year}-01", "M") + np.arange(12)).astype("datetime64[D]")
    peer_g = np.repeat(groups, 12)
    peer_d = (np.tile(months.astype(np.int64), groups.size) + day_of_month[peer_g] - 1
              + rng.integers(-2, 3, peer_g.size))
    work_g = np.repeat(groups, rng.integers(2, 5, groups.size))
    work_d = _jan1(year) + rng.integers(0, 365, work_g.size)
    peer = np.r_[np.ones(peer_g.size, bool), np.zeros(work_g.size, bool)]
    frame = pd.DataFrame({"group": np.r_[peer_g, work_g], "day": np.r_[peer_d, work_d],
                          "peer": peer})
    frame["key"] = year * 100_000 + np.arange(len(frame))
    return frame


def _present(spells: _Spells, touching, meets: pd.DataFrame) -> pd.DataFrame:
    members = pd.DataFrame({"firm": spells.firm[touching], "group": spells.group[touching],
                            "join": spells.join[touching], "exit": spells.exit[touching]})
    rows = meets.merge(members, on="group")
    rows = rows[(rows["join"] <= rows["day"]) & (rows["day"] <= rows["exit"])]
    return rows.sort_values(["key", "firm"]).reset_index(drop=True)


def _activity(rng, fx: _Firms, rows: pd.DataFrame) -> pd.DataFrame:
    """Attendance, disclosure, critiques and benchmark ranks of the firms at each meeting."""
    n, firm, peer = len(rows), rows["firm"].to_numpy(), rows["peer"].to_numpy()
    attended = rng.random(n) < fx.p_att[firm]
    disclosed = attended & peer & (rng.random(n) < fx.p_disc[firm])
    kpi = rng.normal(0.0, 0.5, fx.size.size)  # the firm's performance shock of the year
    score = np.round(fx.quality[firm] + kpi[firm] + rng.normal(0.0, 0.6, n), 1)
    rows = rows.assign(attended=attended, disclosed=disclosed,
                       critiques=np.where(attended & peer, rng.poisson(fx.crit[firm]), 0),
                       score=np.where(disclosed, score, np.nan))
    by = rows.groupby("key")
    rows["rank"] = by["score"].rank(method="min", ascending=False)
    rows["ranked"] = np.where(peer, by["disclosed"].transform("sum"), 0)
    return rows


def _rank_pct(rank, ranked) -> np.ndarray:
    """1 - (rank - 1) / (ranked - 1); 0.5 when one firm is ranked; NaN when unranked."""
    rank, ranked = np.asarray(rank, float), np.asarray(ranked, float)
    pct = np.where(ranked > 1, 1 - (rank - 1) / np.maximum(ranked - 1, 1), 0.5)
    return np.where(np.isnan(rank), np.nan, pct)


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


# --- derived firm-year quantities (the frame definitions) --------------------------------

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


def _intensities(act: pd.DataFrame, cfg: _Config) -> dict[str, np.ndarray]:
    """Practice intensities per firm x year (first_year..last_year), as the frame defines."""
    cell = act["firm"].to_numpy() * cfg.n_years + (_year_of(act["day"]) - cfg.first_year)
    size = cfg.n_firms * cfg.n_years
    att = act["attended"].to_numpy(float)
    pct = _rank_pct(act["rank"], act["ranked"])

    def total(w):
        return np.bincount(cell, weights=w, minlength=size).reshape(cfg.n_firms, cfg.n_years)

    rows, attended, ranked = total(np.ones(len(act))), total(att), total(~np.isnan(pct))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"attendance_rate": np.where(rows > 0, attended / rows, np.nan),
                "disclosure_rate": total(att * act["disclosed"]) / attended,
                "critiques": total(att * act["critiques"]) / attended,
                "benchmark_rank_pct": total(np.nan_to_num(pct)) / ranked}


# --- surveys ------------------------------------------------------------------------------

def _likert(latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Answers 1..7 (already in scored direction) from a latent score plus item noise."""
    return np.clip(np.rint(latent[..., None] + np.asarray(ITEM_SHIFT) + noise), 1, 7)


def _score(answers: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Scale score: mean of answered items when at least two thirds are answered."""
    answered = (~missing).sum(axis=-1)
    total = np.where(missing, 0.0, answers).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered * 3 >= 2 * answers.shape[-1], total / answered, np.nan)


def _latents(rng, eff: _Effects, fx: _Firms, member: np.ndarray) -> dict[str, np.ndarray]:
    shape = member.shape
    lat = fx.latent
    return {
        "perceived_learning": 4.0 + 0.85 * lat["perceived_learning"][:, None]
        + eff.pl_member * member + 0.35 * rng.standard_normal(shape),
        "trust": 4.4 + 0.85 * lat["trust"][:, None] + 0.35 * rng.standard_normal(shape),
        "risk_aversion": np.broadcast_to(4.0 + 0.9 * lat["risk_aversion"][:, None], shape),
        "loss_aversion": np.broadcast_to(4.3 + 0.9 * lat["loss_aversion"][:, None], shape),
    }


def _surveys(rng, cfg: _Config, eff: _Effects, fx: _Firms, grid: _Grid):
    """Survey waves first_year-1..last_year (only first_year.. are written).

    Returns the written table and, per scale, the score matrix: the frame's score
    where a survey is written, NaN otherwise; for perceived learning also the score
    revenue uses (``pl_used``: the written score, or the unwritten full answer) and
    its never-member counterfactual (``pl_never``, same item noise).
    """
    n, width = grid.member.shape
    years = np.arange(cfg.first_year - 1, cfg.last_year + 1)
    start = np.maximum(fx.founded, cfg.first_year)[:, None]
    written = (rng.random((n, width)) < fx.respond[:, None]) & (years >= start)
    scores, items = {}, {}
    for (name, _label, prefix, rev), latent in zip(SCALES, _latents(rng, eff, fx, grid.member)
                                                   .values(), strict=True):
        noise = rng.normal(0.0, 0.9, (n, width, 5))
        missing = rng.random((n, width, 5)) < 0.03
        answers = _likert(latent, noise)
        score = _score(answers, missing)
        scores[name] = np.where(written, score, np.nan)
        raw = np.where(missing, np.nan, answers)
        raw[..., rev - 1] = 8 - raw[..., rev - 1]
        items.update({f"{prefix}_{j + 1}": raw[..., j][written] for j in range(5)})
        if name == "perceived_learning":
            never = _likert(latent - eff.pl_member * grid.member, noise)
            full, full0 = answers.mean(axis=-1), never.mean(axis=-1)
            usable = written & ~np.isnan(score)
            scores["pl_used"] = np.where(usable, score, full)
            scores["pl_never"] = np.where(usable, _score(never, missing), full0)
    return _survey_table(rng, fx, written, years, items), scores


def _survey_table(rng, fx: _Firms, written, years, items: dict) -> pd.DataFrame:
    firm, col = np.nonzero(written)
    day = np.clip(fx.survey_day[firm] + rng.integers(-3, 4, firm.size), 0, 364)
    frame = pd.DataFrame({"firm": firm, "day": _jan1(years[col]) + day})
    for name, values in items.items():
        frame[name] = pd.array(values, dtype="Int64")
    return frame


def _trait(score: np.ndarray) -> np.ndarray:
    """The firm's mean scale score over all its (written) surveys; NaN without any."""
    answered = ~np.isnan(score)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered, score, 0).sum(axis=1) / answered.sum(axis=1)


# --- financials -------------------------------------------------------------------------

def _ar1(rng, n: int, t: int, rho: float, sd: float) -> np.ndarray:
    eps = np.empty((n, t))
    eps[:, 0] = sd * rng.standard_normal(n)
    for j in range(1, t):
        eps[:, j] = rho * eps[:, j - 1] + sd * math.sqrt(1 - rho**2) * rng.standard_normal(n)
    return eps


def _effect_parts(eff: _Effects, fx: _Firms, grid: _Grid, inten, scores):
    """The true membership effect on log revenue, split into its parts (firm x year)."""
    member, tenure = grid.member[:, 1:], grid.tenure[:, 1:]
    young = (grid.cohort > 0) & (grid.cohort - fx.founded < eff.young_age)
    small = np.maximum(np.rint(np.exp(fx.emp_fe)), 1) < 10
    direct = member * (eff.tau_base + eff.tau_step * np.minimum(tenure, eff.tau_cap)
                       + (eff.young_join * young + eff.small_join * small)[:, None])
    practice = sum(b * np.nan_to_num(inten[name] - centre) for name, b, centre in eff.practices)
    indirect = eff.pl_revenue * (scores["pl_used"][:, :-1] - scores["pl_never"][:, :-1])
    return {"direct": direct, "practice": member * practice, "indirect": indirect,
            "young": np.broadcast_to(young[:, None], member.shape),
            "small": np.broadcast_to(small[:, None], member.shape)}


def _financials(rng, cfg: _Config, eff: _Effects, fx: _Firms, grid: _Grid, inten, scores):
    n, t = cfg.n_firms, cfg.n_years
    years = np.arange(cfg.first_year, cfg.last_year + 1)
    age = years - fx.founded[:, None]
    gamma = np.cumsum(rng.normal(0.02, 0.03, t))
    never = (fx.alpha[:, None] + gamma + 0.03 * age + _ar1(rng, n, t, 0.5, 0.2)
             + eff.pl_revenue * (scores["pl_never"][:, :-1] - eff.pl_centre))
    parts = _effect_parts(eff, fx, grid, inten, scores)
    delta = parts["direct"] + parts["practice"] + parts["indirect"]
    log_rev = never + delta
    first = np.clip(fx.founded - cfg.first_year, 0, t - 1)
    ref = fx.alpha + gamma[first] + 0.03 * age[np.arange(n), first]
    log_emp = fx.emp_fe[:, None] + 0.5 * (log_rev - ref[:, None]) + 0.08 * rng.standard_normal(
        (n, t))
    revenue = np.rint(np.exp(log_rev))
    margin = rng.normal(0.06, 0.05, n)[:, None] + 0.04 * rng.standard_normal((n, t))
    assets = np.exp(rng.normal(math.log(0.6), 0.3, n)[:, None] + 0.1 * rng.standard_normal((n, t)))
    keep = (age >= 0) & (rng.random((n, t)) >= 0.02)
    firm, col = np.nonzero(keep)
    fin = pd.DataFrame({
        "firm": firm, "year": years[col], "revenue": revenue[keep].astype(np.int64),
        "net_income": np.rint(revenue * margin)[keep].astype(np.int64),
        "employees": np.maximum(np.rint(np.exp(log_emp)), 1)[keep].astype(np.int64),
        "total_assets": np.maximum(np.rint(revenue * assets), 1)[keep].astype(np.int64)})
    fy = _firm_year(grid, parts, delta, inten, scores, keep, years)
    return fin, fy


def _firm_year(grid: _Grid, parts, delta, inten, scores, keep, years) -> pd.DataFrame:
    """The simulator's view of the firm-year frame (rows = written financials)."""
    firm, col = np.nonzero(keep)
    cohort = grid.cohort[firm]
    year = years[col]
    frame = pd.DataFrame({
        "firm": firm, "year": year, "member": grid.member[:, 1:][keep],
        "next_member": grid.member[:, 1:][:, np.r_[1:len(years), len(years) - 1]][keep],
        "tenure": grid.tenure[:, 1:][keep], "cohort": cohort,
        "event_time": np.where(cohort > 0, year - cohort, np.nan), "delta": delta[keep],
        "pl_gap": (scores["pl_used"] - scores["pl_never"])[:, 1:][keep],
        "perceived_learning": scores["perceived_learning"][:, 1:][keep]})
    for name in ("direct", "practice", "indirect", "young", "small"):
        frame[name] = parts[name][keep]
    for name, values in inten.items():
        frame[name] = values[keep]
    return frame


# --- exchanges ----------------------------------------------------------------------------

def _meeting_pairs(rng, act: pd.DataFrame) -> pd.DataFrame:
    """Receiver/sender pairs among the firms attending each peer meeting."""
    a = act[act["attended"] & act["peer"]]
    key, firm = a["key"].to_numpy(), a["firm"].to_numpy()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, key.size])
    n_ex = np.where(counts >= 2, rng.poisson(0.45 * counts), 0)
    m = np.repeat(np.arange(starts.size), n_ex)
    c = counts[m]
    r = np.floor(rng.random(m.size) * c).astype(np.int64)
    s = (r + 1 + np.floor(rng.random(m.size) * (c - 1)).astype(np.int64)) % c
    ri, si = starts[m] + r, starts[m] + s
    end = np.minimum(a["exit"].to_numpy()[ri], a["exit"].to_numpy()[si])
    return pd.DataFrame({"key": key[ri], "day": a["day"].to_numpy()[ri], "receiver": firm[ri],
                         "sender": firm[si], "end": end})


def _outside_pairs(rng, pairs: pd.DataFrame, last_day: int) -> pd.DataFrame:
    """A few exchanges between meetings: met pairs talking again 1-14 days later."""
    pick = pairs[rng.random(len(pairs)) < 0.07]
    day = pick["day"].to_numpy() + rng.integers(1, 15, len(pick))
    ok = (day <= pick["end"].to_numpy()) & (day <= last_day)
    return pick.assign(day=day, key=-1)[ok]


def _question_types(rng, industry: np.ndarray) -> np.ndarray:
    probs = _question_probs()[industry]
    u = rng.random(industry.size)[:, None]
    return (u >= np.cumsum(probs, axis=1)).sum(axis=1).clip(0, len(QUESTION_TYPES) - 1)


def _question_probs() -> np.ndarray:
    """P(question_type | sender industry): uniform plus a boost on the favourite type."""
    k = len(QUESTION_TYPES)
    probs = np.full((len(INDUSTRIES), k), (1 - FAVOURITE_BOOST) / k)
    probs[np.arange(len(INDUSTRIES)), FAVOURITE_QUESTION] += FAVOURITE_BOOST
    return probs


def _exchanges(rng, eff: _Effects, fx: _Firms, act: pd.DataFrame, traits):
    pairs = _meeting_pairs(rng, act)
    last_day = int(act["day"].max())
    ex = pd.concat([pairs, _outside_pairs(rng, pairs, last_day)], ignore_index=True)
    ex = ex.sort_values(["day", "key", "receiver", "sender"], kind="stable",
                        ignore_index=True)
    n, sender, receiver = len(ex), ex["sender"].to_numpy(), ex["receiver"].to_numpy()
    s_ra, r_la = traits["risk_aversion"][sender], traits["loss_aversion"][receiver]
    centre = {"risk_aversion": float(np.nanmean(s_ra)), "loss_aversion": float(np.nanmean(r_la))}
    x_ra = np.nan_to_num(s_ra - centre["risk_aversion"])
    x_la = np.nan_to_num(r_la - centre["loss_aversion"])
    framing = rng.choice(len(FRAMINGS), n, p=FRAMING_SHARES)
    loss, neutral = framing == 0, framing == 2
    u_sender = rng.normal(0.0, eff.sd_sender, fx.size.size)
    v_receiver = rng.normal(0.0, eff.sd_receiver, fx.size.size)
    shift = np.round(eff.cs_intercept + eff.cs_loss * loss + eff.cs_neutral * neutral
                     + eff.cs_sender_ra * x_ra + eff.cs_receiver_la * x_la
                     + eff.cs_la_x_loss * x_la * loss + u_sender[sender] + v_receiver[receiver]
                     + rng.normal(0.0, eff.sd_exchange, n), 2)
    b0, b_cs, b_loss, b_x = eff.bc
    p_change = _expit(b0 + b_cs * shift + b_loss * loss + b_x * shift * loss)
    ex = ex.assign(framing=framing, spontaneous=rng.random(n) < _expit(-0.4 + 0.8 * x_ra),
                   question=_question_types(rng, fx.industry[sender]),
                   n_questions=1 + rng.binomial(4, 0.5, n), shift=shift,
                   change=rng.random(n) < p_change)
    info = {"centre": centre, "sd_sender_ra": float(np.nanstd(s_ra, ddof=1)),
            "sender_industry": fx.industry[sender], "n": n}
    return ex, info


# --- tasks --------------------------------------------------------------------------------

def _prior_counts(ex: pd.DataFrame, risk_averse: np.ndarray, firm, day) -> np.ndarray:
    """Sender-initiated exchanges from risk-averse senders received strictly before ``day``."""
    ev = ex[ex["spontaneous"].to_numpy() & risk_averse[ex["sender"].to_numpy()]]
    keys = np.sort(ev["receiver"].to_numpy() * OPEN + ev["day"].to_numpy())
    return np.searchsorted(keys, firm * OPEN + day) - np.searchsorted(keys, firm * OPEN)


def _tasks(rng, cfg: _Config, eff: _Effects, fx: _Firms, ex: pd.DataFrame, ra_trait):
    n = cfg.n_firms
    has, k = rng.random(n) < 0.4, rng.integers(3, 13, n)
    firm = np.repeat(np.flatnonzero(has), k[has])
    cum = _within_rank(k[has]) + 1
    lo = _jan1(np.maximum(fx.founded, cfg.first_year))[firm]
    hi = _jan1(cfg.last_year + 1) - 15
    day = lo + np.floor(rng.random(firm.size) * (hi - lo)).astype(np.int64)
    day = day[np.lexsort((day, firm))] + cum - 1  # sorted within firm, strictly increasing
    sources = 1 + rng.poisson(np.exp(0.6 * np.log(cum) + 0.3 * rng.standard_normal(n)[firm]))
    risk_averse = ra_trait > np.nanmedian(ra_trait)
    exposure = np.log1p(_prior_counts(ex, risk_averse, firm, day))
    log_cum = np.log(cum)
    slope = eff.task_experience + rng.normal(0.0, eff.task_slope_sd, n)[firm]
    log_out = (eff.task_intercept + rng.normal(0.0, eff.task_sd_firm, n)[firm]
               + eff.task_sources * np.log(sources) + slope * log_cum
               + eff.task_exposure_x * log_cum * exposure + eff.task_exposure * exposure
               + rng.normal(0.0, eff.task_sd, firm.size))
    tasks = pd.DataFrame({"firm": firm, "seq": cum, "day": day,
                          "outcome": np.maximum(np.round(np.exp(log_out), 2), 0.01),
                          "sources": sources})
    unexposed = exposure == 0
    return tasks, {"kappa": _slope(log_cum[unexposed], np.log(sources[unexposed])),
                   "share_exposed": float(np.mean(~unexposed))}


def _slope(x, y) -> float:
    """OLS slope of y on x (with an intercept)."""
    xd = x - x.mean()
    return float((xd * (y - y.mean())).sum() / (xd * xd).sum())


# --- public tables ------------------------------------------------------------------------

def _public_tables(cfg, fx, fin, spells, meetings, activity, surveys, ex, tasks) -> dict:
    fid = _ids("F", np.arange(cfg.n_firms), max(4, len(str(cfg.n_firms))))
    gid = _ids("G", np.arange(cfg.n_groups), max(2, len(str(cfg.n_groups))))
    meetings = meetings.assign(kind=np.where(meetings["peer"], "peer_meeting", "workshop"))
    meetings = meetings.sort_values(["day", "group", "kind", "key"], kind="stable")
    mid = pd.Series(_ids("M", np.arange(len(meetings)), max(5, len(str(len(meetings))))),
                    index=meetings["key"].to_numpy())
    return {
        "firms": _firms_table(fid, fx),
        "memberships": _memberships_table(fid, gid, spells),
        "financials": fin.assign(firm_id=fid[fin["firm"]])[
            ["firm_id", "year", "revenue", "net_income", "employees", "total_assets"]],
        "meetings": pd.DataFrame({"meeting_id": mid.to_numpy(),
                                  "group_id": gid[meetings["group"].to_numpy()],
                                  "date": _iso(meetings["day"]), "kind": meetings["kind"]}),
        "meeting_activity": _activity_table(fid, mid, activity),
        "surveys": _surveys_public(fid, surveys),
        "exchanges": _exchanges_table(fid, mid, ex),
        "tasks": pd.DataFrame({"firm_id": fid[tasks["firm"]], "seq": tasks["seq"],
                               "date": _iso(tasks["day"]), "outcome": tasks["outcome"],
                               "n_sources": tasks["sources"]}),
    }


def _firms_table(fid, fx: _Firms) -> pd.DataFrame:
    return pd.DataFrame({
        "firm_id": fid, "industry": np.asarray(INDUSTRIES)[fx.industry],
        "region": np.asarray(REGIONS)[fx.region], "founded_year": fx.founded,
        "employees_baseline": np.maximum(np.rint(np.exp(fx.emp_fe)), 1).astype(np.int64)})


def _memberships_table(fid, gid, spells: pd.DataFrame) -> pd.DataFrame:
    spells = spells.sort_values(["firm", "join"], kind="stable")
    exit_ = spells["exit"].to_numpy()
    return pd.DataFrame({
        "firm_id": fid[spells["firm"]], "group_id": gid[spells["group"]],
        "join_date": _iso(spells["join"]),
        "exit_date": np.where(exit_ == OPEN, "", _iso(np.where(exit_ == OPEN, 0, exit_)))})


def _activity_table(fid, mid: pd.Series, act: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "meeting_id": mid.reindex(act["key"]).to_numpy(), "firm_id": fid[act["firm"]],
        "attended": act["attended"].astype(np.int64).to_numpy(),
        "disclosed_financials": act["disclosed"].astype(np.int64).to_numpy(),
        "critiques_received": act["critiques"].to_numpy(),
        "benchmark_rank": pd.array(act["rank"].to_numpy(), dtype="Int64"),
        "ranked_firms": act["ranked"].to_numpy().astype(np.int64)})
    return out.sort_values(["meeting_id", "firm_id"], kind="stable", ignore_index=True)


def _surveys_public(fid, surveys: pd.DataFrame) -> pd.DataFrame:
    out = surveys.assign(firm_id=fid[surveys["firm"]], date=_iso(surveys["day"]))
    items = [c for c in surveys.columns if c not in ("firm", "day")]
    return out[["firm_id", "date", *items]].sort_values(["firm_id", "date"], ignore_index=True)


def _exchanges_table(fid, mid: pd.Series, ex: pd.DataFrame) -> pd.DataFrame:
    key = ex["key"].to_numpy()
    return pd.DataFrame({
        "exchange_id": _ids("X", np.arange(len(ex)), max(6, len(str(len(ex))))),
        "date": _iso(ex["day"]),
        "meeting_id": np.where(key < 0, "", mid.reindex(np.where(key < 0, mid.index[0], key))
                               .to_numpy()),
        "receiver_id": fid[ex["receiver"]], "sender_id": fid[ex["sender"]],
        "initiator": np.where(ex["spontaneous"], "sender", "receiver"),
        "question_type": np.asarray(QUESTION_TYPES)[ex["question"]],
        "n_questions": ex["n_questions"].to_numpy(),
        "framing": np.asarray(FRAMINGS)[ex["framing"]],
        "cognitive_shift": ex["shift"].to_numpy(),
        "behavior_change": ex["change"].astype(np.int64).to_numpy()})


# --- codebook and truth -------------------------------------------------------------------

def _codebook(cfg: _Config) -> dict:
    scales = {name: {"label": label, "items": [f"{prefix}_{j}" for j in range(1, 6)],
                     "reverse": [f"{prefix}_{rev}"], "range": [1, 7]}
              for name, label, prefix, rev in SCALES}
    return {
        "study": {"name": f"Simulated IPN study (ipnstats.simulate, seed {cfg.seed})",
                  "member_year_min_days": cfg.min_days, "disclosure_threshold": 3,
                  "risk_averse_cutoff": "median"},
        "stages": {"novice": 0, "developing": 2, "expert": 4},
        "scales": scales,
        "labels": dict(LABELS),
    }


def _p(value, description: str) -> dict:
    """One truth parameter: its value (float, or list of floats) and what it means."""
    if isinstance(value, list | tuple | np.ndarray):
        value = [round(float(v), 6) for v in value]
    else:
        value = round(float(value), 6)
    return {"value": value, "description": description}


def _mean(x) -> float:
    x = np.asarray(x, float)
    return float(x.mean()) if x.size else float("nan")


def _truth(cfg: _Config, eff: _Effects, fy: pd.DataFrame, scores, grid: _Grid, ex_info,
           task_info) -> dict:
    return {
        "simulation": _truth_settings(cfg, fy, grid),
        "H1a": _truth_h1a(cfg, fy), "H1b": _truth_h1b(eff, fy), "H1c": _truth_h1c(eff, fy),
        "H1d": _truth_h1d(eff), "H1e": _truth_h1e(eff, fy), "H1f": _truth_h1f(eff, fy),
        "H2a": _truth_h2a(eff, ex_info), "H2b": _truth_h2b(eff),
        "H2c": _truth_h2c(eff, ex_info), "H2d": _truth_h2d(ex_info),
        "H3a": _truth_h3a(eff, ex_info), "H3b": _truth_h3b(eff, task_info),
        "H3c": _truth_h3c(eff),
    }


def _truth_settings(cfg: _Config, fy: pd.DataFrame, grid: _Grid) -> dict:
    ever = grid.cohort > 0
    return {
        "generator": "ipnstats.simulate.simulate_study", "seed": cfg.seed,
        "n_firms": cfg.n_firms, "n_groups": cfg.n_groups, "first_year": cfg.first_year,
        "last_year": cfg.last_year, "max_group_members": cfg.max_members,
        "member_year_min_days": cfg.min_days,
        "n_member_years": int(fy["member"].sum()),
        "n_ever_members": int(ever.sum()), "share_never_member": round(1 - _mean(ever), 6),
        "notes": ("Values are true parameters of the generating process or exact averages of "
                  "the simulated individual effects over the rows named in each description. "
                  "Column names are those of the derived frames of docs/study_folder.md. The "
                  "true effect of membership on log_revenue of a firm-year is its log revenue "
                  "minus the log revenue the same firm would have had with no membership ever "
                  "(same shocks). n_member_years counts the member == 1 rows of the firm-year "
                  "panel (financials rows)."),
    }


def _truth_h1a(cfg: _Config, fy: pd.DataFrame) -> dict:
    key = fy["firm"].to_numpy() * 10_000 + fy["year"].to_numpy()
    has_base = np.isin(fy["firm"].to_numpy() * 10_000 + fy["cohort"].to_numpy() - 1, key)
    post = fy[(fy["event_time"] >= 0) & (fy["cohort"] > cfg.first_year) & has_base]
    events = np.arange(0, 9)
    by_event = post.groupby("event_time")["delta"].mean().reindex(events)
    return {
        "claim": "joining an IPN raises firm performance",
        "att_member_years": _p(_mean(fy.loc[fy["member"] == 1, "delta"]),
                               "mean true effect of membership on log_revenue over firm-year "
                               "rows with member == 1 (dynamic: grows with tenure, larger for "
                               "young joiners, includes the practice and perceived-learning "
                               "parts)"),
        "att_post_identified": _p(_mean(post["delta"]),
                                  "mean true effect on log_revenue over rows with event_time "
                                  ">= 0 of firms with first_year < cohort <= last_year that "
                                  "have a financials row in year cohort - 1 (a pre-period), "
                                  "years after an exit included: the target of the "
                                  "Callaway-Sant'Anna simple aggregation (base period cohort "
                                  "- 1, never-treated or not-yet-treated controls)"),
        "att_event_time": _p(by_event.to_numpy(),
                             "mean true effect on log_revenue by event_time 0..8 (list index "
                             "= event_time), same rows as att_post_identified"),
        "pre_trend": _p(0.0, "true effect at event_time < 0: exactly zero, and untreated "
                             "log_revenue follows firm + year effects (linear age is absorbed), "
                             "so parallel trends hold given firm fixed effects; joining "
                             "selects small and young firms, so raw member/non-member "
                             "comparisons are biased"),
    }


def _truth_h1b(eff: _Effects, fy: pd.DataFrame) -> dict:
    m = fy[fy["member"] == 1]
    stage = np.select([m["tenure"] >= 4, m["tenure"] >= 2], ["expert", "developing"], "novice")
    means = m["delta"].groupby(stage).mean()
    tenure = np.arange(eff.tau_cap + 1)
    out = {"claim": "the effect grows as a firm goes from novice to expert",
           "direct_by_tenure": _p(eff.tau_base + eff.tau_step * tenure,
                                  "direct effect on log_revenue in a member year by tenure "
                                  "0, 1, 2, 3, 4+ (list index = tenure; capped at 4), for a "
                                  "firm that did not join young, before the practice and "
                                  "perceived-learning parts")}
    for name in ("novice", "developing", "expert"):
        out[f"stage_{name}"] = _p(means.get(name, np.nan),
                                  f"mean true effect on log_revenue over member years in stage "
                                  f"{name} (tenure cut-offs 0/2/4)")
    return out


def _truth_h1c(eff: _Effects, fy: pd.DataFrame) -> dict:
    rows = fy[(fy["member"] == 1) & fy["perceived_learning"].notna()]
    a = _mean(rows["pl_gap"])
    direct = _mean((fy["direct"] + fy["practice"])[fy["member"] == 1])
    return {
        "claim": "perceived learning carries the effect to performance",
        "a_path_latent": _p(eff.pl_member, "membership raises the latent perceived_learning "
                                           "score by this many answer points in member years"),
        "a_path": _p(a, "mean over member-year rows with a perceived_learning score of that "
                        "score minus the score the firm would have reported as a never-member "
                        "(same item noise): the effect of member on perceived_learning in the "
                        "frame's scale points (below the latent value: answers are cut at 1..7)"),
        "b_path": _p(eff.pl_revenue, "log_revenue in year t rises by this per point of the "
                                     "firm's perceived_learning in year t-1 (the frame's "
                                     "column lagged one year within firm): its coefficient "
                                     "with firm and year fixed effects holding member in t-1 "
                                     "(and, optionally, member and tenure in t). Revenue uses "
                                     "the reported score itself, so there is no "
                                     "measurement-error attenuation"),
        "indirect": _p(a * eff.pl_revenue, "a_path * b_path: effect of a member year on the "
                                           "next year's log_revenue through perceived_learning"),
        "direct": _p(direct, "mean over member years of the membership effect on log_revenue "
                             "not through perceived_learning (direct + practice parts)"),
    }


def _truth_h1d(eff: _Effects) -> dict:
    kind = {"attendance_rate": "cooperative", "disclosure_rate": "cooperative",
            "critiques": "competitive", "benchmark_rank_pct": "competitive"}
    out = {"claim": "cooperative and competitive practices each matter"}
    for name, b, centre in eff.practices:
        out[name] = _p(b, f"{kind[name]} practice: coefficient of {name} on log_revenue (level) "
                          f"in a within-firm regression with firm and year fixed effects on "
                          f"member years (member == 1) with all four practice columns present; "
                          f"enters as {b} * ({name} - {centre}) in member years only, "
                          f"independent of tenure and of the revenue shocks")
    return out


def _truth_h1e(eff: _Effects, fy: pd.DataFrame) -> dict:
    m = fy[fy["member"] == 1]
    return {
        "claim": "IPNs help most firms at an early growth stage",
        "young_join": _p(eff.young_join, f"extra effect on log_revenue in every member year "
                                         f"for firms that join young: cohort - founded_year < "
                                         f"{eff.young_age} (interaction member x young_join)"),
        "small_join": _p(eff.small_join, "extra effect on log_revenue in member years for "
                                         "firms with employees_baseline < 10: truly zero"),
        "att_young_join": _p(_mean(m.loc[m["young"], "delta"]),
                             "mean true effect over member years of young joiners"),
        "att_old_join": _p(_mean(m.loc[~m["young"], "delta"]),
                           "mean true effect over member years of the other members"),
    }


def _truth_h1f(eff: _Effects, fy: pd.DataFrame) -> dict:
    last = fy["year"].max()
    rows = fy[(fy["member"] == 1) & (fy["year"] < last)]
    return {
        "claim": "competition can push firms to disengage",
        "intercept": _p(eff.exit_intercept, "intercept of the exit logit below"),
        "benchmark_rank_pct": _p(eff.exit_rank, "logit coefficient of benchmark_rank_pct in "
                                                "P(exit) over member years t < last year: exit = "
                                                "member in t and not a member in t+1 (183-day "
                                                "rule); low rank, more exits. Member years "
                                                "without a rank have logit intercept + 0.5 * "
                                                "this coefficient"),
        "exit_rate": _p(_mean(rows["next_member"] == 0),
                        "observed share of member years (t < last year, financials rows) with "
                        "exit = 1 (descriptive)"),
    }


def _truth_h2a(eff: _Effects, info) -> dict:
    return {
        "claim": "loss-framed exchanges shift cognition more than gain-framed ones",
        "loss": _p(eff.cs_loss, "difference in mean cognitive_shift, loss minus gain framing "
                                "(coefficient of loss with gain as reference, at the mean "
                                "receiver_loss_aversion of the exchange frame; framing is "
                                "assigned at random, so also the raw mean difference)"),
        "neutral": _p(eff.cs_neutral, "difference in mean cognitive_shift, neutral minus gain "
                                      "framing: truly zero"),
    }


def _truth_h2b(eff: _Effects) -> dict:
    b0, b_cs, b_loss, b_x = eff.bc
    text = ("in logit P(behavior_change = 1) = intercept + cognitive_shift_coef * "
            "cognitive_shift + loss_coef * loss + interaction * cognitive_shift * loss "
            "(gain and neutral framing both loss = 0), raw cognitive_shift")
    return {
        "claim": "cognition turns into behavior mainly under loss framing",
        "intercept": _p(b0, f"intercept {text}"),
        "cognitive_shift": _p(b_cs, f"cognitive_shift_coef {text}"),
        "loss": _p(b_loss, f"loss_coef {text}"),
        "cognitive_shift_x_loss": _p(b_x, f"interaction {text}"),
        "slope_not_loss": _p(b_cs, "simple slope of cognitive_shift (log-odds) when loss = 0"),
        "slope_loss": _p(b_cs + b_x, "simple slope of cognitive_shift (log-odds) when loss = 1"),
    }


def _truth_h2c(eff: _Effects, info) -> dict:
    return {
        "claim": "receivers' loss aversion amplifies loss framing",
        "loss_x_receiver_loss_aversion": _p(eff.cs_la_x_loss,
                                            "coefficient of loss x receiver_loss_aversion on "
                                            "cognitive_shift (per scale point)"),
        "receiver_loss_aversion": _p(eff.cs_receiver_la, "effect of receiver_loss_aversion on "
                                                         "cognitive_shift when loss = 0: truly "
                                                         "zero"),
        "receiver_loss_aversion_centre": _p(info["centre"]["loss_aversion"],
                                            "mean receiver_loss_aversion over exchange rows, "
                                            "where the loss effect equals H2a.loss"),
    }


def _truth_h2d(info) -> dict:
    probs = _question_probs()
    share = np.bincount(info["sender_industry"], minlength=len(INDUSTRIES)) / max(info["n"], 1)
    joint = share[:, None] * probs
    expected = share[:, None] * joint.sum(axis=0)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        phi2 = np.nansum((joint - expected) ** 2 / expected)
    v = math.sqrt(phi2 / (min(probs.shape) - 1))
    table = {INDUSTRIES[i]: {QUESTION_TYPES[j]: round(float(probs[i, j]), 6)
                             for j in range(len(QUESTION_TYPES))} for i in range(len(INDUSTRIES))}
    return {
        "claim": "receivers ask different question types of different senders but the same "
                 "number (about three)",
        "cramers_v": _p(v, "population Cramer's V of question_type x sender industry (sender "
                           "industry shares of the exchange frame): association present"),
        "mean_n_questions": _p(3.0, "mean n_questions: 1 + Binomial(4, 0.5), same for every "
                                    "sender and receiver"),
        "n_questions_sender_effect": _p(0.0, "effect of any sender trait (industry, risk "
                                             "aversion, size, ...) on n_questions: truly zero"),
        "question_type_probs": table,
    }


def _truth_h3a(eff: _Effects, info) -> dict:
    sd = info["sd_sender_ra"]
    zero = "on cognitive_shift, holding the rest: truly zero"
    return {
        "claim": "receivers learn more from risk-averse senders than from large, old, "
                 "successful or high-status ones",
        "sender_risk_aversion": _p(eff.cs_sender_ra, "coefficient of sender_risk_aversion "
                                                     "(per scale point) on cognitive_shift"),
        "sender_risk_aversion_per_sd": _p(eff.cs_sender_ra * sd,
                                          f"the same per SD of sender_risk_aversion over "
                                          f"exchange rows (SD = {sd:.4f})"),
        "sender_size": _p(0.0, f"sender_size {zero}"),
        "sender_age": _p(0.0, f"sender_age {zero}"),
        "sender_success": _p(0.0, f"sender_success {zero}"),
        "sender_status": _p(0.0, f"sender_status {zero}"),
        "same_industry": _p(0.0, f"same_industry {zero}"),
        "intercept": _p(eff.cs_intercept, "mean cognitive_shift under gain framing at the "
                                          "mean sender_risk_aversion and receiver_loss_aversion "
                                          "of the exchange frame"),
        "sender_risk_aversion_centre": _p(info["centre"]["risk_aversion"],
                                          "mean sender_risk_aversion over exchange rows"),
        "sd_sender": _p(eff.sd_sender, "SD of the sender random intercept"),
        "sd_receiver": _p(eff.sd_receiver, "SD of the receiver random intercept"),
        "sd_residual": _p(eff.sd_exchange, "residual SD of cognitive_shift (before rounding "
                                           "to 2 decimals)"),
    }


def _truth_h3b(eff: _Effects, info) -> dict:
    kappa = info["kappa"]
    return {
        "claim": "exposure to risk-averse senders steepens the receiver's learning curve",
        "log_cum_experience_x_exposure": _p(eff.task_exposure_x,
                                            "coefficient of log_cum_experience x "
                                            "log(1 + prior_risk_averse) on log_outcome, "
                                            "holding log_n_sources (negative: steeper)"),
        "exposure": _p(eff.task_exposure, "main effect of log(1 + prior_risk_averse) on "
                                          "log_outcome: truly zero"),
        "raw_slope_unexposed": _p(eff.task_sources * kappa,
                                  "slope of log_outcome on log_cum_experience (pooled OLS "
                                  "with an intercept) over unexposed tasks (prior_risk_averse "
                                  "== 0) when log_n_sources is left out: H3c.log_n_sources * "
                                  "kappa (the learning curve seen without sources)"),
        "kappa": _p(kappa, "pooled OLS slope of log_n_sources on log_cum_experience over "
                           "unexposed tasks (prior_risk_averse == 0)"),
        "random_slope_sd": _p(eff.task_slope_sd, "SD across firms of the firm's own "
                                                 "log_cum_experience slope (mean zero)"),
        "share_exposed": _p(info["share_exposed"], "share of tasks with prior_risk_averse > 0"),
    }


def _truth_h3c(eff: _Effects) -> dict:
    return {
        "claim": "more information sources for one experience teach more than more "
                 "experience",
        "log_n_sources": _p(eff.task_sources, "coefficient of log_n_sources on log_outcome "
                                              "(triangulation: negative, faster break-even)"),
        "log_cum_experience": _p(eff.task_experience,
                                 "coefficient of log_cum_experience on log_outcome holding "
                                 "log_n_sources, for unexposed tasks (reinforcement): truly "
                                 "zero on average across firms"),
        "intercept": _p(eff.task_intercept, "mean log_outcome of a first task (log_cum = 0) "
                                            "with one source, unexposed"),
        "sd_firm": _p(eff.task_sd_firm, "SD of the firm random intercept of log_outcome"),
        "sd_residual": _p(eff.task_sd, "residual SD of log_outcome"),
    }


# --- writing ------------------------------------------------------------------------------

def _write(folder: Path, tables: dict[str, pd.DataFrame], codebook: dict, truth: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    (folder / "codebook.toml").write_text(tomli_w.dumps(codebook), encoding="utf-8")
    (folder / "truth.toml").write_text(tomli_w.dumps(truth), encoding="utf-8")
    return folder
