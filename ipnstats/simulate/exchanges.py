"""Exchanges between firms at and between peer meetings, and the tasks they feed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.simulate.common import (
    FAVOURITE_BOOST,
    FAVOURITE_QUESTION,
    FRAMING_SHARES,
    FRAMINGS,
    INDUSTRIES,
    OPEN,
    QUESTION_TYPES,
    _Config,
    _Effects,
    _expit,
    _jan1,
    _within_rank,
)
from ipnstats.simulate.firms import _Firms

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


def shift_mean(eff: _Effects, loss, neutral, x_ra, x_la) -> np.ndarray:
    """Expected cognitive shift (H2a, H2c, H3a) given framing and centred traits."""
    return (eff.cs_intercept + eff.cs_loss * loss + eff.cs_neutral * neutral
            + eff.cs_sender_ra * x_ra + eff.cs_receiver_la * x_la
            + eff.cs_la_x_loss * x_la * loss)


def change_probability(eff: _Effects, shift, loss) -> np.ndarray:
    """P(behavior_change = 1) (H2b): logit in the shift, loss framing and their product."""
    b0, b_cs, b_loss, b_x = eff.bc
    return _expit(b0 + b_cs * shift + b_loss * loss + b_x * shift * loss)


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
    shift = np.round(shift_mean(eff, loss, neutral, x_ra, x_la) + u_sender[sender]
                     + v_receiver[receiver] + rng.normal(0.0, eff.sd_exchange, n), 2)
    p_change = change_probability(eff, shift, loss)
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


def task_log_outcome(eff: _Effects, *, firm_effect, slope, log_cum, log_sources, exposure,
                     noise) -> np.ndarray:
    """Log outcome of a task (H3b, H3c): the learning curve in cumulative experience.

    ``task_intercept + firm_effect + task_sources * log_sources + slope * log_cum
    + task_exposure_x * log_cum * exposure + task_exposure * exposure + noise``, where
    ``slope`` is the firm's own experience slope (``task_experience`` plus its random
    deviation), ``exposure`` is ``log1p(prior_risk_averse)`` and ``firm_effect`` and
    ``noise`` are the firm random intercept and the task residual. Arrays broadcast.
    """
    return (eff.task_intercept + firm_effect
            + eff.task_sources * log_sources + slope * log_cum
            + eff.task_exposure_x * log_cum * exposure + eff.task_exposure * exposure
            + noise)


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
    firm_effect = rng.normal(0.0, eff.task_sd_firm, n)[firm]
    log_out = task_log_outcome(eff, firm_effect=firm_effect, slope=slope, log_cum=log_cum,
                               log_sources=np.log(sources), exposure=exposure,
                               noise=rng.normal(0.0, eff.task_sd, firm.size))
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
