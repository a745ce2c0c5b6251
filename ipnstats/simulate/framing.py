"""A light exchange frame with known framing effects, for Monte-Carlo checks and power.

:func:`simulate_study` builds exchanges from a whole simulated network; coverage and
power checks need thousands of exchange frames and only the H2 variables. This
generator draws receivers and senders with their traits, random sender-receiver
pairs, framing (loss, gain, neutral) at random, and the cognitive shift and behavior
change with the same equations and parameters as :func:`simulate_study` (crossed
sender and receiver random intercepts included), so ``framing_truth()`` holds for both.
The outward sender traits of H3a (size, age, success, status) and same-industry pairs
are drawn too, correlated with the sender's risk aversion but with no effect of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ipnstats.core.seeds import rng_from
from ipnstats.simulate.common import FRAMING_SHARES, FRAMINGS, _Effects
from ipnstats.simulate.exchanges import change_probability, shift_mean

# H3a's outward sender traits: (column, mean, sd, correlation with risk aversion); each
# has no effect on cognitive shift. sender_status is the normal CDF of its draw (in [0, 1]).
SENDER_TRAITS = (("sender_size", 3.0, 1.0, 0.3), ("sender_age", 20.0, 10.0, 0.2),
                 ("sender_success", 0.05, 0.08, 0.2), ("sender_status", 0.0, 1.0, 0.3))
SAME_INDUSTRY = 0.3  # P(sender and receiver share an industry), independent of all else


def framing_truth(effects: _Effects | None = None) -> dict[str, float]:
    """The true H2 parameters: loss and neutral effects (vs gain) on cognitive shift at
    the mean receiver loss aversion, the loss x loss-aversion interaction, and the
    behavior-change logit's slopes of cognitive shift without and with loss framing;
    and H3a's: the effect of sender risk aversion on cognitive shift and the (truly zero)
    effects of the outward sender traits and of a same-industry pair."""
    eff = effects or _Effects()
    b0, b_cs, b_loss, b_x = eff.bc
    return {"loss": eff.cs_loss, "neutral": eff.cs_neutral,
            "loss_x_receiver_loss_aversion": eff.cs_la_x_loss,
            "receiver_loss_aversion": eff.cs_receiver_la,
            "slope_not_loss": b_cs, "slope_loss": b_cs + b_x,
            "sd_sender": eff.sd_sender, "sd_receiver": eff.sd_receiver,
            "sd_exchange": eff.sd_exchange, "sender_risk_aversion": eff.cs_sender_ra,
            **{name: 0.0 for name, *_ in SENDER_TRAITS}, "same_industry": 0.0}


def framing_exchanges(*, n_receivers: int = 150, n_senders: int = 150,
                      exchanges_per_receiver: int = 20, effects: _Effects | None = None,
                      framing_shares: tuple[float, float, float] = FRAMING_SHARES,
                      seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """Draw an exchange frame with the H2 and H3a columns of ``Study.exchanges``.

    The outward sender traits and ``same_industry`` are drawn from a generator spawned
    after all other draws, so the other columns, and the state ``seed`` is left in when it
    is a Generator, are those of a frame without them.

    Parameters
    ----------
    n_receivers, n_senders
        Firms that receive and that send (disjoint ids ``R0001``, ``S0001``...).
    exchanges_per_receiver
        Exchanges per receiver, each with a sender drawn at random.
    effects
        The generating parameters (default: those of :func:`simulate_study`).
    framing_shares
        Shares of loss, gain and neutral framing (default: the study's).
    seed
        An int or a numpy Generator.

    Returns
    -------
    DataFrame
        receiver_id, sender_id, framing (categorical loss/gain/neutral), loss (0/1),
        receiver_loss_aversion, sender_risk_aversion, cognitive_shift, behavior_change;
        the outward sender traits sender_size (log employees, mean 3, sd 1), sender_age
        (whole years >= 1, mean about 20, sd 10), sender_success (profit margin, mean
        0.05, sd 0.08) and sender_status (benchmark rank in [0, 1]), correlated about 0.3,
        0.2, 0.2 and 0.3 with the sender's risk aversion; same_industry (0/1, probability
        0.3). Cognitive shift does not depend on the traits nor on same_industry.

    Examples
    --------
    >>> ex = framing_exchanges(n_receivers=20, n_senders=20, exchanges_per_receiver=5)
    >>> len(ex), sorted(ex["framing"].cat.categories)
    (100, ['gain', 'loss', 'neutral'])
    >>> bool(ex["sender_status"].between(0, 1).all()), ex["same_industry"].dtype.name
    (True, 'int8')
    """
    eff = effects or _Effects()
    rng = rng_from(seed)
    la = np.clip(rng.normal(4.3, 1.0, n_receivers), 1, 7)  # receiver loss aversion (1-7)
    ra = np.clip(rng.normal(4.0, 1.0, n_senders), 1, 7)  # sender risk aversion
    receiver = np.repeat(np.arange(n_receivers), exchanges_per_receiver)
    sender = rng.integers(0, n_senders, receiver.size)
    framing = rng.choice(len(FRAMINGS), receiver.size, p=framing_shares)
    loss, neutral = (framing == 0).astype(float), (framing == 2).astype(float)
    x_la, x_ra = la[receiver] - la[receiver].mean(), ra[sender] - ra[sender].mean()
    shift = (shift_mean(eff, loss, neutral, x_ra, x_la)
             + rng.normal(0.0, eff.sd_sender, n_senders)[sender]
             + rng.normal(0.0, eff.sd_receiver, n_receivers)[receiver]
             + rng.normal(0.0, eff.sd_exchange, receiver.size))
    change = rng.random(receiver.size) < change_probability(eff, shift, loss)
    outward = _spawned(rng)  # after every draw above: their columns do not change
    traits = _sender_traits(outward, ra)
    same = outward.random(receiver.size) < SAME_INDUSTRY
    return pd.DataFrame({
        "receiver_id": pd.Categorical([f"R{i + 1:04d}" for i in receiver]),
        "sender_id": pd.Categorical([f"S{i + 1:04d}" for i in sender]),
        "framing": pd.Categorical.from_codes(framing, categories=list(FRAMINGS)),
        "loss": loss.astype(np.int8), "receiver_loss_aversion": la[receiver],
        "sender_risk_aversion": ra[sender], "cognitive_shift": shift,
        "behavior_change": change.astype(np.int8),
        **{name: value[sender] for name, value in traits.items()},
        "same_industry": same.astype(np.int8)})


def _spawned(rng: np.random.Generator) -> np.random.Generator:
    """A child generator that leaves ``rng``'s own stream untouched."""
    try:
        return rng.spawn(1)[0]
    except TypeError:  # a bit generator without a SeedSequence cannot spawn
        return rng


def _sender_traits(rng: np.random.Generator, ra: np.ndarray) -> dict[str, np.ndarray]:
    """Per sender, the outward traits of ``SENDER_TRAITS`` given risk aversion ``ra``."""
    z = ra - 4.0  # standardised risk aversion (drawn with mean 4, sd 1)
    out = {}
    for name, mean, sd, rho in SENDER_TRAITS:
        out[name] = mean + sd * (rho * z + np.sqrt(1.0 - rho**2) * rng.standard_normal(z.size))
    out["sender_age"] = np.maximum(np.round(out["sender_age"]), 1).astype(np.int64)
    out["sender_status"] = ndtr(out["sender_status"])
    return out
