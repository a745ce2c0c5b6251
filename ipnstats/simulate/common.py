"""Shared constants, the run and effect settings, and small date, id and logit helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ipnstats.core.errors import SpecificationError
from ipnstats.core.seeds import recorded_seed

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
# Congeneric loadings per scale: answer units per answer unit of the scale's latent score
# (deviation from its centre). Mean 1.0 except on trust, whose item 4 is weak (standardized
# loading about .39 with the default method factor); trust enters no hypothesis.
LOADINGS = {"perceived_learning": (1.15, 1.05, 1.0, 0.95, 0.85),
            "trust": (1.1, 1.0, 0.95, 0.45, 1.05),
            "risk_aversion": (0.9, 1.1, 1.0, 1.15, 0.85),
            "loss_aversion": (1.05, 0.85, 1.15, 1.0, 0.95)}
SCALE_CENTRE = {"perceived_learning": 4.0, "trust": 4.4, "risk_aversion": 4.0,
                "loss_aversion": 4.3}  # latent score of a firm at its trait mean
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
    item_noise_sd: float = 0.9  # survey items: unique noise SD (answer units) ...
    method_factor: float = 0.35  # ... and the common method factor's loading on every item
    selection: float = 0.0  # log-revenue growth per year per SD of the unobserved drive ...
    join_drive: float = 1.0  # ... and the drive's loading on the log-odds of joining
    membership_effect: float = 1.0  # multiplies every part of the true H1 effect
    peer_effect: float = 0.0  # log revenue per unit of the group's other members' mean size
    formation: str = "random"  # how joiners are placed in groups: "random" or "chair"


def _config(n_firms, n_groups, first_year, last_year, seed) -> _Config:
    if not isinstance(n_firms, int) or not 20 <= n_firms <= 99_999:
        raise SpecificationError(f"n_firms must be a whole number in 20..99999, got {n_firms!r}")
    if not isinstance(n_groups, int) or not 1 <= n_groups <= 999:
        raise SpecificationError(f"n_groups must be a whole number in 1..999, got {n_groups!r}")
    if not isinstance(first_year, int) or not isinstance(last_year, int) \
            or last_year - first_year < 4 or first_year < 1900:
        raise SpecificationError(
            f"need whole years with last_year >= first_year + 4 (and first_year "
            f">= 1900); got first_year={first_year!r}, last_year={last_year!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer | np.random.Generator):
        raise SpecificationError(
            f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    recorded = recorded_seed(seed)
    recorded = "numpy Generator (state not recorded)" if recorded is None else recorded
    return _Config(n_firms, n_groups, first_year, last_year, recorded)


def _effects(method_factor, selection=0.0, membership_effect=1.0, peer_effect=0.0,
             formation="random") -> _Effects:
    """The default effects with the survey method factor (checked: 0..3 answer units), the
    selection on an unobserved growth trait (0..0.2 log points a year per SD) and the
    scale of the true membership effect on revenue (0..5; 0 = joining does nothing)."""
    for name, value, top in (("method_factor", method_factor, 3),
                             ("selection", selection, 0.2),
                             ("membership_effect", membership_effect, 5)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) \
                or not 0 <= value <= top:
            raise SpecificationError(f"{name} must be a number in 0..{top} ({_KNOBS[name]}), "
                                     f"got {value!r}")
    if isinstance(peer_effect, bool) or not isinstance(peer_effect, int | float | np.number) \
            or not -1 <= peer_effect <= 1:
        raise SpecificationError(f"peer_effect must be a number in -1..1 (log revenue per unit "
                                 f"of the peers' mean size), got {peer_effect!r}")
    if formation not in ("random", "chair"):
        raise SpecificationError(f"formation must be 'random' or 'chair', got {formation!r}")
    base, k = _Effects(), float(membership_effect)
    return replace(base, method_factor=float(method_factor), selection=float(selection),
                   peer_effect=float(peer_effect), formation=formation,
                   tau_base=k * base.tau_base, tau_step=k * base.tau_step,
                   young_join=k * base.young_join, small_join=k * base.small_join,
                   practices=tuple((c, k * b, m) for c, b, m in base.practices),
                   pl_revenue=k * base.pl_revenue)


_KNOBS = {"method_factor": "answer units; 0 = no method factor",
          "selection": "log points of revenue growth a year per SD of the unobserved drive; "
                       "0 = no selection on unobservables",
          "membership_effect": "multiple of the default true effect of membership; 0 = none"}


def _child_generator(rng: np.random.Generator) -> np.random.Generator:
    """A generator apart from ``rng``'s stream: the next child spawned from ``rng``.

    For an int seed the first child is ``default_rng(seed).spawn(1)[0]`` (the survey
    method factor's draws) and the second ``default_rng(seed).spawn(2)[1]`` (the
    unobserved drive of selection); a Generator seed gives the same children as its int
    unless it has spawned before. Spawning does not advance ``rng``, so every other draw
    of a study is what it would be without these.
    """
    try:
        return rng.spawn(1)[0]
    except TypeError as exc:  # a bit generator built without a SeedSequence
        raise SpecificationError("seed: this numpy Generator cannot spawn a child generator "
                                 "(it has no SeedSequence); pass an int seed or a Generator "
                                 "made by numpy.random.default_rng") from exc


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
