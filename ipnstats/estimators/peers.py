"""Peer composition effects: does a unit do better when its group's other members are
better (Sacerdote 2001; Guryan, Kroft & Notowidigdo 2009; Cai & Szeidl 2018)?

Units (firms) are placed in groups of varying size, within randomization pools (the
group's cohort, year or round): a group lies inside one pool. For a pre-determined
characteristic ``x`` (measured before the groups were formed), the regressors are

- ``peer_mean``: the leave-one-out mean of ``x`` over the *other* members of the unit's
  group, ``(S_g - x_i) / (n_g - 1)``;
- ``pool_loo_mean`` (``correction="gkn"``): the leave-one-out mean of ``x`` over every
  other unit of the unit's pool, ``(S_k - x_i) / (N_k - 1)``.

**Exclusion bias.** Drawing one's peers without replacement from a finite pool that
excludes oneself makes the peer mean negatively correlated with one's own ``x``: under
random assignment within the pool, ``E[peer_mean_i | x_i, pool] = pool_loo_mean_i``,
which falls by ``1 / (N_k - 1)`` per unit of ``x_i``. A regression of an outcome related
to ``x_i`` (or of ``x_i`` itself, the balance test) on the peer mean is then biased
downwards even under random assignment. Guryan, Kroft & Notowidigdo (2009, eq. 2 and
Table 3) remove the bias by controlling for the leave-me-out mean of the unit's
randomization urn, ``pool_loo_mean``, which is that conditional expectation; their urn
fixed effects are ``pool_effects=True``. ``correction=None`` leaves it out (the naive
estimate, biased; a ``peer_exclusion_bias`` note says so).

**What is identified (the reflection problem; Manski 1993).** ``method="loo"`` regresses
the outcome on ``peer_mean`` (and the controls): with random assignment within pools, its
coefficient is the reduced-form effect of peers' characteristic on one's outcome.
``method="linear_in_means"`` adds the unit's own ``x`` (the individual effect). In the
linear-in-means model ``y_i = a + b ybar_-i + c x_i + d xbar_-i + e_i`` the coefficient
on ``peer_mean`` is the *composite* social effect of peers' characteristic, the
contextual effect ``d`` together with what passes through the endogenous effect ``b``;
because ``x`` is pre-determined and assigned, it is identified, but ``b`` and ``d`` are
not separated (Manski's reflection problem; separating them through varying group sizes,
Lee 2007, needs the full structural model and is not attempted). Correlated effects
(common shocks to a group) are not separated either; cluster by group (the default,
CR2).

:func:`peer_randomization_test` gives the randomization p-value of the peer coefficient
by re-drawing the groups under the rule that formed them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.formula import require_columns
from ipnstats.core.seeds import Seed, as_generator, check_seed, recorded_seed
from ipnstats.estimators.panel import panel_regression
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note
from ipnstats.results.result import Result
from ipnstats.results.vcov import Cluster

Method = Literal["loo", "linear_in_means"]
Correction = Literal["gkn"] | None
Formation = Literal["random"] | Callable[[pd.DataFrame, np.random.Generator], object]
PEER, POOL = "peer_mean", "pool_loo_mean"
_ROW, _TIME, _POOL = "_peer_row", "_peer_time", "_peer_pool"


def leave_one_out_mean(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``(sum of values in the row's block - the row's value) / (block size - 1)``.

    ``codes`` are block codes 0..k-1; every block needs at least two rows.
    """
    sums = np.bincount(codes, weights=values)
    sizes = np.bincount(codes)
    return (sums[codes] - values) / (sizes[codes] - 1)


@dataclass(frozen=True, slots=True)
class PeerDesign:
    """The characteristic, the group and pool codes of each row, and the two means."""

    x: np.ndarray
    group_codes: np.ndarray
    pool_codes: np.ndarray
    peer: np.ndarray
    pool_loo: np.ndarray


def peer_design(data: pd.DataFrame, characteristic: str, *, group: str,
                pool: str | None = None, unit: str | None = None) -> PeerDesign:
    """Check the grouping and compute :data:`PEER` and :data:`POOL` for every row.

    Errors (:class:`~ipnstats.core.errors.DataError`): a missing or non-numeric
    characteristic (a peer mean would silently change), a missing group or pool, a group
    of one (no peers), a group spread over two pools, a pool holding a single group (no
    randomization), a unit twice in a group.
    """
    require_columns(data, tuple(c for c in (characteristic, group, pool, unit) if c),
                    "peer column")
    x = _numeric(data[characteristic], characteristic)
    for name in (group, pool):
        if name is not None and data[name].isna().any():
            raise DataError(f"{name!r} is missing on {int(data[name].isna().sum())} row(s): "
                            "every row must belong to a group and a pool; drop those rows")
    gcodes, glabels = pd.factorize(data[group], sort=True)
    sizes = np.bincount(gcodes)
    if (sizes < 2).any():
        alone = ", ".join(map(str, glabels[sizes < 2][:5]))
        raise DataError(f"group(s) of size 1 in {group!r} ({alone}): a unit alone has no "
                        "peers; drop those rows or merge the groups")
    if unit is not None and data.duplicated([group, unit]).any():
        raise DataError(f"a unit of {unit!r} appears twice in a group of {group!r}: give "
                        "one row per member of each group (e.g. the year it joined)")
    pcodes = (np.zeros(len(data), np.int64) if pool is None
              else pd.factorize(data[pool], sort=True)[0])
    _check_nesting(gcodes, pcodes, group, pool)
    return PeerDesign(x, gcodes, pcodes, leave_one_out_mean(x, gcodes),
                      leave_one_out_mean(x, pcodes))


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise DataError(f"peer characteristic {name!r} must be numeric, got {column.dtype}")
    x = column.to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise DataError(f"peer characteristic {name!r} is missing or infinite on "
                        f"{int((~np.isfinite(x)).sum())} row(s): every member's value enters "
                        "its peers' means; impute it or drop the whole group")
    return x


def _check_nesting(gcodes: np.ndarray, pcodes: np.ndarray, group: str,
                   pool: str | None) -> None:
    pairs = np.unique(np.column_stack([gcodes, pcodes]), axis=0)
    if np.bincount(pairs[:, 0]).max() > 1:
        raise DataError(f"a group of {group!r} spans several pools of {pool!r}: groups are "
                        "formed within a pool, so each must lie in one")
    if np.bincount(pairs[:, 1]).min() < 2:
        where = "the data" if pool is None else f"a pool of {pool!r}"
        raise DataError(f"{where} holds a single group: peers are drawn from a pool of "
                        "several groups (its leave-one-out mean equals the peer mean)")


def peer_effects(data: pd.DataFrame, outcome: str, peer_characteristic: str, *,
                 group: str, pool: str | None = None, unit: str | None = None,
                 covariates: Sequence[str] = (), method: Method = "loo",
                 correction: Correction = "gkn", pool_effects: bool | None = None,
                 vcov: object = None) -> Result:
    """Regress an outcome on the leave-one-out mean of the group's other members.

    Parameters
    ----------
    data
        One row per member of a group (a unit in several groups has several rows).
    outcome
        The outcome column (rows missing it still count as peers of the others).
    peer_characteristic
        A pre-determined numeric characteristic, known for every row.
    group
        The group column; every group needs two or more members.
    pool
        The randomization pool (cohort, year) each group was formed in; None: one pool.
    unit
        The unit id, checked to appear once per group.
    covariates
        Further numeric regressors (column names).
    method
        ``"loo"``: the peer mean only; ``"linear_in_means"``: also the own
        characteristic (see the module notes on what is identified).
    correction
        ``"gkn"``: control for the pool's leave-one-out mean (Guryan, Kroft &
        Notowidigdo 2009); None: the naive, exclusion-biased estimate.
    pool_effects
        Absorb pool fixed effects (GKN's urn effects), so that peers are compared within
        the pool they were drawn from; None: when ``pool`` is given. The exclusion bias
        is a within-pool bias: across pools of i.i.d. units it averages out, and without
        pool effects differences between pools' means enter the estimate.
    vcov
        None: ``Cluster(group, type="cr2")`` (groups are small: with groups of 3-7 and
        pool effects, CR1 understated the standard error by about 10 % in the Monte
        Carlo of ``tests/estimators/test_peers.py``, CR2 did not); else any ``vcov`` of
        :func:`panel_regression`.

    Returns
    -------
    Result
        Terms ``peer_mean`` (the peer effect), ``pool_loo_mean`` (with ``"gkn"``), the
        own characteristic (``linear_in_means``), the covariates; ``glance()`` adds
        ``method``, ``correction``, ``n_groups`` and ``n_pools``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"pool": np.repeat([0, 1], 40), "quality": rng.normal(size=80)})
    >>> d["group"] = d["pool"] * 10 + rng.permutation(np.arange(80) % 10)
    >>> d["growth"] = rng.normal(size=80)
    >>> res = peer_effects(d, "growth", "quality", group="group", pool="pool")
    >>> list(res.tidy()["term"])
    ['peer_mean', 'pool_loo_mean']
    """
    pool_effects = _check_options(method, correction, pool_effects, pool)
    design = peer_design(data, peer_characteristic, group=group, pool=pool, unit=unit)
    frame, formula = _frame_and_formula(data, design, outcome, peer_characteristic,
                                        covariates, method, correction, pool_effects)
    res = panel_regression(frame, formula, unit=_ROW, time=_TIME,
                           estimator="within" if pool_effects else "pooled",
                           vcov=Cluster(group, type="cr2") if vcov is None else vcov)
    notes = res.notes if correction else res.notes + (Note(
        "peer_exclusion_bias", "No exclusion-bias correction: within a finite pool the "
        "leave-one-out peer mean is negatively correlated with one's own characteristic, "
        "so this estimate is biased downwards when the outcome rises with one's own "
        "characteristic beyond what the controls absorb (use correction='gkn')."),)
    extra = {"method": method, "correction": correction or "none",
             "n_groups": int(design.group_codes.max() + 1),
             "n_pools": int(design.pool_codes.max() + 1)}
    return dataclasses.replace(res, estimator=f"peer effects ({method})", notes=notes,
                               extra=dict(res.extra) | extra)


def _check_options(method, correction, pool_effects, pool) -> bool:
    if method not in ("loo", "linear_in_means"):
        raise SpecificationError(f"method must be 'loo' or 'linear_in_means', got {method!r}")
    if correction not in ("gkn", None):
        raise SpecificationError(f"correction must be 'gkn' or None, got {correction!r}")
    if pool_effects is None:
        return pool is not None
    if not isinstance(pool_effects, bool) or (pool_effects and pool is None):
        raise SpecificationError("pool_effects=True needs pool= (the column of the "
                                 f"randomization pools); got pool_effects={pool_effects!r}")
    return pool_effects


def _frame_and_formula(data, design, outcome, characteristic, covariates, method,
                       correction, pool_effects) -> tuple[pd.DataFrame, str]:
    covariates = list(covariates)
    require_columns(data, (outcome, *covariates), "column")
    for name in (outcome, characteristic, *covariates):
        if not name.isidentifier():
            raise SpecificationError(f"column name {name!r}: peer_effects needs plain "
                                     "names (letters, digits, underscores); rename it")
    for name in (outcome, *covariates):
        if not (pd.api.types.is_numeric_dtype(data[name])
                or pd.api.types.is_bool_dtype(data[name])):
            raise DataError(f"column {name!r} must be numeric (outcome or covariate), got "
                            f"{data[name].dtype}")
    own = [characteristic] if method == "linear_in_means" else []
    terms = [PEER] + ([POOL] if correction else []) + own + covariates
    if len(set(terms)) < len(terms) or outcome in terms:
        raise SpecificationError(f"a column plays two roles among outcome, characteristic "
                                 f"and covariates: {[outcome, *own, *covariates]}")
    if taken := [c for c in (PEER, POOL, _ROW, _TIME, _POOL) if c in data.columns]:
        raise SpecificationError(f"data already has column(s) {taken}, names peer_effects "
                                 "gives its regressors; rename them")
    frame = data.reset_index(drop=True).assign(**{
        PEER: design.peer, POOL: design.pool_loo, _ROW: np.arange(len(data)), _TIME: 0,
        _POOL: design.pool_codes})
    formula = f"{outcome} ~ {' + '.join(terms)}" + (f" | {_POOL}" if pool_effects else "")
    return frame, formula


@dataclass(frozen=True, slots=True, repr=False)
class PeerRandomizationTest(TidyDisplay):
    """The peer coefficient, its randomization p-value and the re-drawn coefficients."""

    estimate: float
    p_value: float
    draws: np.ndarray
    n_perm: int
    formation: str
    method: str
    correction: str
    seed: int | None
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        """One row: ``term, estimate, p_value, n_perm, formation``."""
        return pd.DataFrame({"term": [PEER], "estimate": [self.estimate],
                             "p_value": [self.p_value], "n_perm": [self.n_perm],
                             "formation": [self.formation]})


def peer_randomization_test(data: pd.DataFrame, outcome: str, peer_characteristic: str,
                            *, group: str, pool: str | None = None,
                            unit: str | None = None,
                            covariates: Sequence[str] = (), method: Method = "loo",
                            correction: Correction = "gkn", pool_effects: bool | None = None,
                            formation: Formation = "random", n_perm: int = 999,
                            seed: Seed = None) -> PeerRandomizationTest:
    """Randomization inference for the peer coefficient of :func:`peer_effects`.

    The groups are re-drawn ``n_perm`` times under the rule that formed them, the peer
    means recomputed, and the coefficient refitted with the same controls (by
    Frisch-Waugh-Lovell: the controls do not change with the groups). Under the sharp
    null that peers' characteristic affects no one's outcome, the observed coefficient
    is one more draw, and the two-sided p-value ``(1 + #{|b_r| >= |b|}) / (1 + n_perm)``
    is exact (uniform on its grid).

    Parameters
    ----------
    formation
        ``"random"``: group labels shuffled within each pool, keeping every group's
        size. Or a callable ``formation(data, rng)`` returning one group label per row,
        drawn as the groups were truly formed (e.g. the chair's sort by size with its
        noise); its groups must lie within the pools. A deterministic rule re-draws the
        same groups, and the p-value is then 1.
    n_perm, seed
        Re-draws (at least 19) and the seed of the re-draws (recorded). The other
        parameters are as in :func:`peer_effects` (its ``vcov`` is irrelevant here).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"pool": np.repeat([0, 1], 40), "quality": rng.normal(size=80)})
    >>> d["group"] = d["pool"] * 10 + rng.permutation(np.arange(80) % 10)
    >>> d["growth"] = rng.normal(size=80)
    >>> test = peer_randomization_test(d, "growth", "quality", group="group",
    ...                                pool="pool", n_perm=99, seed=3)
    >>> 0 < test.p_value <= 1
    True
    """
    pool_effects = _check_options(method, correction, pool_effects, pool)
    if isinstance(n_perm, bool) or not isinstance(n_perm, int | np.integer) or n_perm < 19:
        raise SpecificationError(f"n_perm must be a whole number >= 19, got {n_perm!r}")
    if not (formation == "random" or callable(formation)):
        raise SpecificationError(f"formation must be 'random' or a callable(data, rng) "
                                 f"returning group labels, got {formation!r}")
    check_seed(seed)
    design = peer_design(data, peer_characteristic, group=group, pool=pool, unit=unit)
    frame, _ = _frame_and_formula(data, design, outcome, peer_characteristic, covariates,
                                  method, correction, pool_effects)
    rows, resid_y, controls = _partialled(frame, outcome, covariates, method,
                                          peer_characteristic, correction, pool_effects)
    estimate = _slope(design.peer[rows], controls, resid_y)
    rng = as_generator(seed)
    draws = np.array([_slope(_redrawn_peer(data, design, formation, rng, group, pool)[rows],
                             controls, resid_y) for _ in range(int(n_perm))])
    p = (1 + np.sum(np.abs(draws) >= np.abs(estimate) * (1 - 1e-12))) / (1 + n_perm)
    name = "random" if formation == "random" else getattr(formation, "__name__", "callable")
    notes = (Note("p_value_method", f"Randomization p-value: (1 + #{{|b_r| >= |b|}}) / (1 + "
                  f"{n_perm}) over {n_perm} re-draws of the groups ({name} formation)."),)
    if np.allclose(draws, estimate):
        notes += (Note("p_value_method", "Every re-draw gave the observed coefficient: the "
                       "formation rule is deterministic, so the test has no power (p = 1)."),)
    return PeerRandomizationTest(estimate, float(p), draws, int(n_perm), name, method,
                                 correction or "none", recorded_seed(seed), notes)


def _partialled(frame, outcome, covariates, method, characteristic, correction,
                pool_effects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complete rows, the outcome residualised on the controls, and the controls'
    orthonormal basis (intercept or pool dummies, pool mean, own ``x``, covariates)."""
    cols = [outcome, *covariates]
    rows = np.flatnonzero(frame[cols].notna().all(axis=1).to_numpy())
    parts = [pd.get_dummies(frame[_POOL]).to_numpy(float) if pool_effects
             else np.ones((len(frame), 1))]
    parts += [frame[[POOL]].to_numpy(float)] if correction else []
    parts += [frame[[characteristic]].to_numpy(float)] if method == "linear_in_means" else []
    parts += [frame[list(covariates)].to_numpy(float)] if covariates else []
    W = np.column_stack(parts)[rows]
    u, s, _ = np.linalg.svd(W, full_matrices=False)
    basis = u[:, s > s.max() * 1e-10]
    y = frame[outcome].to_numpy(float)[rows]
    return rows, y - basis @ (basis.T @ y), basis


def _slope(peer: np.ndarray, basis: np.ndarray, resid_y: np.ndarray) -> float:
    p = peer - basis @ (basis.T @ peer)
    return float(p @ resid_y / (p @ p))


def _redrawn_peer(data, design, formation, rng, group, pool) -> np.ndarray:
    if formation == "random":
        order = np.lexsort((rng.random(len(design.x)), design.pool_codes))
        by_pool = np.argsort(design.pool_codes, kind="stable")
        codes = np.empty_like(design.group_codes)
        codes[order] = design.group_codes[by_pool]
        return leave_one_out_mean(design.x, codes)
    labels = np.asarray(formation(data, rng))
    if labels.shape != (len(data),) or pd.isna(labels).any():
        raise SpecificationError(f"formation must return one group label per row ({len(data)}), "
                                 f"none missing; got an array of shape {labels.shape}")
    codes = pd.factorize(labels, sort=True)[0]
    if (np.bincount(codes) < 2).any():
        raise SpecificationError("formation returned a group of size 1")
    _check_nesting(codes, design.pool_codes, group, pool)
    return leave_one_out_mean(design.x, codes)
