"""Firm-year outcomes: survey answers and scale scores, financials, the firm-year frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ipnstats.simulate.common import (
    ITEM_SHIFT,
    LOADINGS,
    SCALE_CENTRE,
    SCALES,
    _Config,
    _Effects,
    _jan1,
)
from ipnstats.simulate.firms import _Firms, _Grid

# --- surveys ------------------------------------------------------------------------------

def _likert(name: str, latent: np.ndarray, common: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Answers 1..7 (already in scored direction) of the items of scale ``name``.

    Item j of a response: ``centre + LOADINGS[name][j] * (latent - centre) + ITEM_SHIFT[j]
    + common + noise[j]``, rounded and clipped to 1..7, where ``centre`` is
    ``SCALE_CENTRE[name]``, ``latent`` the response's latent score (answer units) and
    ``common`` its method-factor term (the same on every item of every scale).
    """
    centre = SCALE_CENTRE[name]
    item = centre + (latent - centre)[..., None] * np.asarray(LOADINGS[name]) \
        + np.asarray(ITEM_SHIFT) + common[..., None] + noise
    return np.clip(np.rint(item), 1, 7)


def _score(answers: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Scale score: mean of answered items when at least two thirds are answered."""
    answered = (~missing).sum(axis=-1)
    total = np.where(missing, 0.0, answers).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered * 3 >= 2 * answers.shape[-1], total / answered, np.nan)


def _latents(rng, eff: _Effects, fx: _Firms, member: np.ndarray) -> dict[str, np.ndarray]:
    """Latent scale scores (answer units) of every firm and survey wave."""
    shape = member.shape
    lat, c = fx.latent, SCALE_CENTRE
    return {
        "perceived_learning": c["perceived_learning"] + 0.85 * lat["perceived_learning"][:, None]
        + eff.pl_member * member + 0.35 * rng.standard_normal(shape),
        "trust": c["trust"] + 0.85 * lat["trust"][:, None] + 0.35 * rng.standard_normal(shape),
        "risk_aversion": np.broadcast_to(c["risk_aversion"] + 0.9 * lat["risk_aversion"][:, None],
                                         shape),
        "loss_aversion": np.broadcast_to(c["loss_aversion"] + 0.9 * lat["loss_aversion"][:, None],
                                         shape),
    }


def _surveys(rng, method_rng, cfg: _Config, eff: _Effects, fx: _Firms, grid: _Grid):
    """Survey waves first_year-1..last_year (only first_year.. are written).

    Returns the written table; per scale the score matrix (the frame's score where a
    survey is written, NaN otherwise; for perceived learning also the score revenue
    uses, ``pl_used``: the written score, or the unwritten full answer, and its
    never-member counterfactual ``pl_never``, same item noise and method term); and per
    scale the latent scores of the written responses (for truth.toml).
    The method-factor draws (one N(0, 1) per firm and wave) come from ``method_rng``,
    so ``rng`` is drawn exactly as without them.
    """
    n, width = grid.member.shape
    years = np.arange(cfg.first_year - 1, cfg.last_year + 1)
    start = np.maximum(fx.founded, cfg.first_year)[:, None]
    written = (rng.random((n, width)) < fx.respond[:, None]) & (years >= start)
    common = eff.method_factor * method_rng.standard_normal((n, width))
    latents = _latents(rng, eff, fx, grid.member)
    scores, items = {}, {}
    for (name, _label, prefix, rev), latent in zip(SCALES, latents.values(), strict=True):
        noise = rng.normal(0.0, eff.item_noise_sd, (n, width, 5))
        missing = rng.random((n, width, 5)) < 0.03
        answers = _likert(name, latent, common, noise)
        score = _score(answers, missing)
        scores[name] = np.where(written, score, np.nan)
        raw = np.where(missing, np.nan, answers)
        raw[..., rev - 1] = 8 - raw[..., rev - 1]
        items.update({f"{prefix}_{j + 1}": raw[..., j][written] for j in range(5)})
        if name == "perceived_learning":
            never = _likert(name, latent - eff.pl_member * grid.member, common, noise)
            full, full0 = answers.mean(axis=-1), never.mean(axis=-1)
            usable = written & ~np.isnan(score)
            scores["pl_used"] = np.where(usable, score, full)
            scores["pl_never"] = np.where(usable, _score(never, missing), full0)
    written_latent = {name: latent[written] for name, latent in latents.items()}
    return _survey_table(rng, fx, written, years, items), scores, written_latent


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


def _financials(rng, cfg: _Config, eff: _Effects, fx: _Firms, grid: _Grid, inten, scores,
                peer=None):
    n, t = cfg.n_firms, cfg.n_years
    years = np.arange(cfg.first_year, cfg.last_year + 1)
    age = years - fx.founded[:, None]
    gamma = np.cumsum(rng.normal(0.02, 0.03, t))
    never = (fx.alpha[:, None] + gamma + 0.03 * age + _ar1(rng, n, t, 0.5, 0.2)
             + eff.pl_revenue * (scores["pl_never"][:, :-1] - eff.pl_centre)
             + eff.selection * fx.drive[:, None] * (years - cfg.first_year))
    parts = _effect_parts(eff, fx, grid, inten, scores)
    delta = parts["direct"] + parts["practice"] + parts["indirect"]
    log_rev = never + delta if peer is None else never + delta + eff.peer_effect * peer
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
