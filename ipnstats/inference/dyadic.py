"""Dyadic-robust sandwich covariances (Fafchamps & Gubert 2007; Aronow, Samii & Assenova
2015, "Cluster-robust variance estimation for dyadic data", Political Analysis 23(4)).

On exchange data each observation ``d`` links two nodes ``a_d != b_d`` (a sender and a
receiver firm, in one namespace). Observations that share a node, in either role, may
be dependent; the meat is

    M = sum over pairs (d, d') with {a_d, b_d} and {a_d', b_d'} intersecting of s_d s_d'^T

(``d = d'`` included). Two-way clustering by sender and by receiver misses the pairs in
which one firm is the sender of one observation and the receiver of the other.

Computation in O(n k^2): with ``S_i`` the sum of the scores of every observation
involving node ``i``, ``sum_i S_i S_i^T`` counts each pair ``(d, d')`` once per node
the two share, i.e. ``|{a_d, b_d} & {a_d', b_d'}|`` times (0, 1 or 2). It counts
twice exactly the pairs on the same unordered node pair ``p = {a, b}`` (``d = d'``
included; direction does not matter), so

    M = sum_i S_i S_i^T - sum_p P_p P_p^T,

``P_p`` the sum of the scores on unordered pair ``p``. This is ASA's equation
``sum_i V_{C_i} - V_D - (N - 2) V_0`` (each ``V_{C_i}`` clusters the observations involving
``i`` and leaves the others alone; ``V_D`` clusters by pair; ``V_0`` is HC0): summing the
``V_{C_i}`` meats adds every observation's own term ``N - 2`` more times than wanted.

Special cases (pinned in ``tests/inference/test_dyadic.py``): when no node is both a
sender and a receiver, ``M`` is Cameron-Gelbach-Miller's two-way meat ``M_s + M_r -
M_sr``; when every observation has its own receiver that sends nothing, ``M`` is the
one-way meat clustered by sender.

Small-sample factor: ``N/(N-1) * (n-1)/(n-K)`` (``N`` distinct nodes), the one-way
cluster factor with nodes as clusters, under :class:`~ipnstats.results.vcov.SSC`'s
``cluster_adj`` and ``adj``; ``adjust=False`` drops it (R ``dyadRobust``, which uses
HC0-type terms throughout). Stata's ``dyadclust`` instead combines ``regress``'s own
factors term by term (each ``V_{C_i}`` with its ``G/(G-1)*(n-1)/(n-K)``, ``V_0`` with
``n/(n-K)``), which has no closed form as one factor; ours is the convention of one-way
clusters with ``G = N``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.core.demean import group_sums
from ipnstats.core.errors import SpecificationError
from ipnstats.core.formula import require_columns
from ipnstats.inference.sandwich import cluster_factor, sandwich
from ipnstats.results.vcov import SSC


def node_codes(data: pd.DataFrame, rows: np.ndarray, sender: str,
               receiver: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes ``0..N-1`` of the two node columns on the estimation rows (``rows``
    positions in ``data``), in one namespace, and ``N``.

    A SpecificationError names the column when a node id is missing, when the two
    columns hold ids of different kinds (numbers and text never match), and when an
    observation links a node to itself.
    """
    require_columns(data, (sender, receiver), "dyadic node column")
    values = [data[c].to_numpy()[rows] for c in (sender, receiver)]
    for column, v in zip((sender, receiver), values, strict=True):
        missing = int(pd.isna(v).sum())
        if missing:
            raise SpecificationError(f"dyadic node column {column!r} has {missing:,} missing "
                                     "values among the estimation rows; drop those rows or "
                                     "fill the ids")
    kinds = [pd.api.types.is_numeric_dtype(data[c]) for c in (sender, receiver)]
    if kinds[0] != kinds[1]:
        raise SpecificationError(
            f"dyadic node columns {sender!r} and {receiver!r} must hold ids of one kind (a firm "
            "has the same id as sender and as receiver); one is numeric and the other is not: "
            "convert one of them")
    codes, levels = pd.factorize(np.concatenate([values[0], values[1]]))
    a, b = codes[:len(rows)], codes[len(rows):]
    if (self_dyads := int((a == b).sum())):
        raise SpecificationError(
            f"{self_dyads:,} observation(s) have {sender!r} equal to {receiver!r} (a self-dyad): "
            "dyadic-robust standard errors need two different nodes per observation; drop "
            "those rows")
    return a.astype(np.int64), b.astype(np.int64), len(levels)


def pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes of the unordered node pairs ``{a, b}``: ``(i, j)`` and ``(j, i)`` share one."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    codes, _ = pd.factorize(low * (int(high.max()) + 1) + high)
    return codes


def dyadic_meat(scores: np.ndarray, a: np.ndarray, b: np.ndarray,
                n_nodes: int | None = None) -> np.ndarray:
    """``sum_i S_i S_i^T - sum_p P_p P_p^T``: the sum of ``s_d s_d'^T`` over the pairs of
    observations sharing a node (see the module notes); ``a``, ``b`` node codes."""
    n_nodes = int(max(a.max(), b.max())) + 1 if n_nodes is None else n_nodes
    node = group_sums(scores, a, n_nodes) + group_sums(scores, b, n_nodes)
    pairs = pair_codes(a, b)
    pair = group_sums(scores, pairs, int(pairs.max()) + 1)
    meat = node.T @ node - pair.T @ pair
    return (meat + meat.T) / 2


def dyadic_vcov(bread: np.ndarray, scores: np.ndarray, a: np.ndarray, b: np.ndarray, *,
                n: int, k: float, ssc: SSC | None = None, adjust: bool = True) -> np.ndarray:
    """Dyadic-robust ``B M B`` times ``N/(N-1) * (n-1)/(n-K)`` (``ssc``'s ``cluster_adj``
    and ``adj``, default ``SSC()``; none when not ``adjust``), ``N`` the distinct nodes in
    ``a`` and ``b``.

    Not repaired when it is not positive semi-definite (see
    :func:`~ipnstats.inference.sandwich.clip_to_psd`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.integers(0, 10, 200), rng.integers(0, 10, 200)
    >>> keep = a != b
    >>> X = np.column_stack([np.ones(200), rng.normal(size=200)])[keep]
    >>> s = X * rng.normal(size=(keep.sum(), 1))
    >>> v = dyadic_vcov(np.linalg.inv(X.T @ X), s, a[keep], b[keep], n=len(s), k=2)
    >>> v.shape
    (2, 2)
    """
    ssc = SSC() if ssc is None else ssc
    n_nodes = count_nodes(a, b)
    meat = dyadic_meat(scores, a, b, int(max(a.max(), b.max())) + 1)
    factor = (cluster_factor(n_nodes, n, k, adj=ssc.adj, cluster_adj=ssc.cluster_adj)
              if adjust else 1.0)
    return factor * sandwich(bread, meat)


def count_nodes(a: np.ndarray, b: np.ndarray) -> int:
    """Distinct nodes among ``a`` and ``b``."""
    return int(np.unique(np.concatenate([a, b])).size)
