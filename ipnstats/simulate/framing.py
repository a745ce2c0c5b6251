"""A light exchange frame with known framing effects, for Monte-Carlo checks and power.

:func:`simulate_study` builds exchanges from a whole simulated network; coverage and
power checks need thousands of exchange frames and only the H2 variables. This
generator draws receivers and senders with their traits, random sender-receiver
pairs, framing (loss, gain, neutral) at random, and the cognitive shift and behavior
change with the same equations and parameters as :func:`simulate_study` (crossed
sender and receiver random intercepts included), so ``framing_truth()`` holds for both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import FRAMING_SHARES, FRAMINGS, _Effects
from .exchanges import change_probability, shift_mean


def framing_truth(effects: _Effects | None = None) -> dict[str, float]:
    """The true H2 parameters: loss and neutral effects (vs gain) on cognitive shift at
    the mean receiver loss aversion, the loss x loss-aversion interaction, and the
    behavior-change logit's slopes of cognitive shift without and with loss framing."""
    eff = effects or _Effects()
    b0, b_cs, b_loss, b_x = eff.bc
    return {"loss": eff.cs_loss, "neutral": eff.cs_neutral,
            "loss_x_receiver_loss_aversion": eff.cs_la_x_loss,
            "receiver_loss_aversion": eff.cs_receiver_la,
            "slope_not_loss": b_cs, "slope_loss": b_cs + b_x,
            "sd_sender": eff.sd_sender, "sd_receiver": eff.sd_receiver,
            "sd_exchange": eff.sd_exchange}


def framing_exchanges(*, n_receivers: int = 150, n_senders: int = 150,
                      exchanges_per_receiver: int = 20, effects: _Effects | None = None,
                      seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """Draw an exchange frame with the H2 columns of ``Study.exchanges``.

    Parameters
    ----------
    n_receivers, n_senders
        Firms that receive and that send (disjoint ids ``R0001``, ``S0001``...).
    exchanges_per_receiver
        Exchanges per receiver, each with a sender drawn at random.
    effects
        The generating parameters (default: those of :func:`simulate_study`).
    seed
        An int or a numpy Generator.

    Returns
    -------
    DataFrame
        receiver_id, sender_id, framing (categorical loss/gain/neutral), loss (0/1),
        receiver_loss_aversion, sender_risk_aversion, cognitive_shift, behavior_change.

    Examples
    --------
    >>> ex = framing_exchanges(n_receivers=20, n_senders=20, exchanges_per_receiver=5)
    >>> len(ex), sorted(ex["framing"].cat.categories)
    (100, ['gain', 'loss', 'neutral'])
    """
    eff = effects or _Effects()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    la = np.clip(rng.normal(4.3, 1.0, n_receivers), 1, 7)  # receiver loss aversion (1-7)
    ra = np.clip(rng.normal(4.0, 1.0, n_senders), 1, 7)  # sender risk aversion
    receiver = np.repeat(np.arange(n_receivers), exchanges_per_receiver)
    sender = rng.integers(0, n_senders, receiver.size)
    framing = rng.choice(len(FRAMINGS), receiver.size, p=FRAMING_SHARES)
    loss, neutral = (framing == 0).astype(float), (framing == 2).astype(float)
    x_la, x_ra = la[receiver] - la[receiver].mean(), ra[sender] - ra[sender].mean()
    shift = (shift_mean(eff, loss, neutral, x_ra, x_la)
             + rng.normal(0.0, eff.sd_sender, n_senders)[sender]
             + rng.normal(0.0, eff.sd_receiver, n_receivers)[receiver]
             + rng.normal(0.0, eff.sd_exchange, receiver.size))
    change = rng.random(receiver.size) < change_probability(eff, shift, loss)
    return pd.DataFrame({
        "receiver_id": pd.Categorical([f"R{i + 1:04d}" for i in receiver]),
        "sender_id": pd.Categorical([f"S{i + 1:04d}" for i in sender]),
        "framing": pd.Categorical.from_codes(framing, categories=list(FRAMINGS)),
        "loss": loss.astype(np.int8), "receiver_loss_aversion": la[receiver],
        "sender_risk_aversion": ra[sender], "cognitive_shift": shift,
        "behavior_change": change.astype(np.int8)})
