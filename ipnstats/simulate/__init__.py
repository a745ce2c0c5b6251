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
3. surveys: Likert items from latent scale scores with congeneric loadings, item
   noise and a common method factor (``truth.toml``'s ``[measurement]``); perceived
   learning rises in member years (H1c), risk and loss aversion are fixed firm traits;
4. financials: log revenue = firm effect + year effect + linear age + lagged
   perceived learning + the membership effect (H1a, H1b, H1d, H1e) + AR(1) noise;
   selection into joining is on firm traits only, so parallel trends hold given
   firm fixed effects while naive member/non-member comparisons are biased;
5. exchanges at peer meetings, with framing, sender and receiver traits and crossed
   sender and receiver random intercepts (H2a-H2d, H3a);
6. tasks: a log-linear learning curve driven by information sources and by prior
   exposure to risk-averse senders (H3b, H3c).

For Monte-Carlo checks, two light generators share these equations and parameters:
:func:`framing_exchanges` (exchange frames for H2 and H3a, true values in
:func:`framing_truth`) and :func:`learning_tasks` (task frames for H3b and H3c, true
values in :func:`learning_truth`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ipnstats.core.seeds import as_generator
from ipnstats.simulate.common import _child_generator, _config, _effects
from ipnstats.simulate.exchanges import _exchanges, _tasks
from ipnstats.simulate.firms import _check_core, _draw_firms, _member_grid, _membership
from ipnstats.simulate.framing import framing_exchanges, framing_truth
from ipnstats.simulate.learning import learning_tasks, learning_truth
from ipnstats.simulate.meetings import _intensities
from ipnstats.simulate.outcomes import _financials, _surveys, _trait
from ipnstats.simulate.peers import _peer_size, _truth_peers
from ipnstats.simulate.tables import _codebook, _public_tables, _write
from ipnstats.simulate.truth import _truth

__all__ = ["framing_exchanges", "framing_truth", "learning_tasks", "learning_truth",
           "simulate_study"]


def simulate_study(out_dir: str | Path, *, n_firms: int = 600, n_groups: int = 30,
                   first_year: int = 2008, last_year: int = 2022,
                   seed: int | np.random.Generator = 0, method_factor: float = 0.35,
                   selection: float = 0.0, membership_effect: float = 1.0,
                   peer_effect: float = 0.0, formation: str = "random") -> Path:
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
    method_factor
        Answer units added to every survey item of a response per unit of that
        response's common method factor (one N(0, 1) draw per firm and survey wave, in
        the scored direction, before rounding; 0 = none). Its draws come from a
        generator of their own (see ``truth.toml``'s ``[measurement]``), so the other
        draws, and every table but surveys and what depends on survey scores
        (financials, exchanges, tasks), do not depend on it.
    selection
        Selection on an unobservable: every firm has an unobserved ``drive`` (N(0, 1), from
        a generator of its own) that adds ``selection`` log points a year to its revenue
        growth and, when ``selection > 0``, ``join_drive`` (1) to its log-odds of joining.
        Joiners then grow faster before and after they join, so parallel trends fail
        (``truth.toml``'s ``[selection]`` records the gap and the violation). 0 (the
        default) writes the study the simulator always wrote.
    membership_effect
        Multiplies every part of the true effect of membership on revenue (direct,
        tenure, young joiners, practices, perceived learning); 0 = joining does nothing,
        1 (the default) = the effects in ``truth.toml``.
    peer_effect
        Log revenue added in each member year per unit of the leave-one-out mean latent
        size of the other members of the firm's group that year (-1..1; 0, the default,
        writes the study the simulator always wrote). Set, or with ``formation="chair"``,
        ``truth.toml`` gains a ``[peers]`` section (coefficient, characteristic, rule).
    formation
        How joiners are placed in groups: ``"random"`` (the default and the simulator's
        rule before this option: a random free slot among open groups, re-joiners back
        to their old group half the time; firms that joined before the panel are always
        placed this way) or ``"chair"`` (the chair sorts each year's other joiners by size
        into the free slots in group order, so similar firms share a group).

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
    eff = _effects(method_factor, selection, membership_effect, peer_effect, formation)
    rng = as_generator(seed)
    method_rng = _child_generator(rng)
    drive = _child_generator(rng).standard_normal(cfg.n_firms)
    fx = _draw_firms(rng, cfg, eff, drive)
    spells, meetings, activity, core = _membership(rng, cfg, eff, fx)
    grid = _member_grid(spells, cfg)
    _check_core(grid, core, cfg)
    surveys, scores, latent = _surveys(rng, method_rng, cfg, eff, fx, grid)
    peers = eff.peer_effect != 0 or eff.formation != "random"
    peer = _peer_size(spells, grid, fx.size, cfg) if peers else None
    fin, fy = _financials(rng, cfg, eff, fx, grid, _intensities(activity, cfg), scores, peer)
    traits = {s: _trait(scores[s]) for s in ("risk_aversion", "loss_aversion")}
    ex, ex_info = _exchanges(rng, eff, fx, activity, traits)
    tasks, task_info = _tasks(rng, cfg, eff, fx, ex, traits["risk_aversion"])
    tables = _public_tables(cfg, fx, fin, spells, meetings, activity, surveys, ex, tasks)
    truth = _truth(cfg, eff, fy, latent, grid, ex_info, task_info, fx.drive)
    if peers:
        truth["peers"] = _truth_peers(eff, peer, grid)
    return _write(Path(out_dir), tables, _codebook(cfg), truth)
