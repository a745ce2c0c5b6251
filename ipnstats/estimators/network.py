"""Network position of nodes in directed, weighted networks built from an edge list.

:func:`network_measures` takes one row per tie event (an exchange, a citation, a
message), with the ``source`` and ``target`` node of each, and returns one row per
node (per ``by`` partition, e.g. per group and year) with its degree, strength,
betweenness, eigenvector centrality, Burt's constraint and effective size and, given
the nodes' ``groups``, its Gould-Fernandez brokerage role counts. networkx is the graph
engine; the conventions are those of R igraph and sna (docs/inference.md, "Network
measures"):

- A row is a tie ``source -> target``; rows of the same pair add up: the tie's weight
  is the number of rows, or the sum of the ``weight`` column. ``directed=False`` reads
  every row as an undirected tie.
- ``in_degree``/``out_degree`` count distinct neighbours; ``in_strength``/
  ``out_strength`` sum the weights.
- ``betweenness``: unweighted shortest paths (a weight is a tie's strength, not a
  distance), ``normalized=False`` as igraph: ordered pairs in a directed network,
  unordered pairs in an undirected one.
- ``eigenvector_in`` (a node is central when central nodes send to it, igraph's and
  networkx's directed eigenvector centrality) and ``eigenvector_out`` (the same on the
  reversed network), weighted, scaled to a maximum of 1 as igraph's ``scale=TRUE``.
  In a network that is not (strongly) connected it is not unique or is zero outside the
  dominant component: a ``disconnected_network`` note says so; where the power
  iteration fails it is NaN with a ``not_converged`` note; a network without ties has
  NaN.
- ``constraint`` and ``effective_size``: Burt's, on the mutual weights
  ``w_ij + w_ji`` (so direction does not matter), as networkx and igraph; NaN for an
  isolated node.
- Brokerage (Gould & Fernandez 1989) as R ``sna::brokerage``: node ``v`` brokers each
  two-path ``i -> v -> j`` of distinct nodes with no tie ``i -> j``, counted by the
  groups of ``i``, ``v``, ``j``: coordinator (all one group), itinerant (``i`` and ``j``
  in one group, ``v`` in another), representative (``i`` in ``v``'s group, ``j`` not),
  gatekeeper (``j`` in ``v``'s group, ``i`` not), liaison (three groups). Weights do not
  count; an undirected tie is a tie in both directions. :func:`brokerage_scores` adds
  sna's expected counts and z-scores.

Self-loops (a row whose source is its target) are an error: no measure here is defined
for them; drop them first.

>>> import pandas as pd
>>> ties = pd.DataFrame({"sender": ["a", "a", "b", "c"], "receiver": ["b", "b", "c", "a"]})
>>> m = network_measures(ties, source="sender", target="receiver")
>>> m[["node", "out_degree", "out_strength", "betweenness"]]
  node  out_degree  out_strength  betweenness
0    a           1           2.0          1.0
1    b           1           1.0          1.0
2    c           1           1.0          1.0
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import Note

__all__ = ["MEASURES", "ROLES", "brokerage_scores", "network_measures"]
#: The role columns of :func:`network_measures` given ``groups``, in sna's order
#: (w_I, w_O, b_IO, b_OI, b_O, t).
ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison", "total")
MEASURES = ("in_degree", "out_degree", "in_strength", "out_strength", "betweenness",
            "eigenvector_in", "eigenvector_out", "constraint", "effective_size")
_ROLE_CODE = {"coordinator": 0, "itinerant": 1, "representative": 2, "gatekeeper": 3,
              "liaison": 4}


def network_measures(data: pd.DataFrame, *, source: str, target: str,
                     weight: str | None = None, by: str | Sequence[str] | None = None,
                     groups: Mapping | pd.Series | None = None,
                     nodes: Iterable | None = None, directed: bool = True) -> pd.DataFrame:
    """Each node's network position, per ``by`` partition.

    Parameters
    ----------
    data
        The edge list: one row per tie event.
    source, target
        The columns of the tie's two nodes (the tie runs ``source -> target``).
    weight
        A numeric column of positive weights; None counts rows.
    by
        Columns whose every combination is a separate network (e.g. group and year).
    groups
        The group of each node, for brokerage: a mapping or Series node -> group (the
        same in every partition), or a Series indexed by (``*by``, node). Every node must
        have one.
    nodes
        Nodes to include even without ties (isolates): node ids (every partition), or a
        MultiIndex (``*by``, node); a partition there without ties is an empty network.
    directed
        False reads every row as an undirected tie.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``node``, :data:`MEASURES` and, given ``groups``, ``group``
        and ``brokerage_<role>`` for each of :data:`ROLES`; sorted by partition and
        node. ``attrs["notes"]`` holds the notes (a tuple of
        :class:`~ipnstats.core.notes.Note`).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.florentine_families_graph()
    >>> ties = nx.to_pandas_edgelist(g)
    >>> m = network_measures(ties, source="source", target="target", directed=False)
    >>> m.set_index("node").loc["Medici", ["betweenness", "constraint"]].round(4).tolist()
    [47.5, 0.2099]
    """
    keys = _as_list(by)
    ties = _checked_edges(data, source, target, weight, keys)
    extra = _by_partition(_node_table(nodes, keys), keys)
    lookup = None if groups is None else _group_lookup(groups, keys)
    rows, notes = [], _no_notes()
    for key, part in _partitions(ties, extra, keys):
        graph = _graph(part, extra_nodes=extra.get(key, []), directed=directed)
        frame = _measures(graph, key, notes)
        if lookup is not None:
            frame = frame.join(_brokerage(graph, _group_map(lookup, keys, key, graph)))
        for pos, (name, value) in enumerate(zip(keys, key, strict=True)):
            frame.insert(pos, name, value)
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    if keys:
        out = out.sort_values(keys, kind="stable", ignore_index=True)
    out.attrs["notes"] = _notes(notes, keys)
    return out


def brokerage_scores(data: pd.DataFrame, *, source: str, target: str,
                     groups: Mapping | pd.Series, by: str | Sequence[str] | None = None,
                     nodes: Iterable | None = None, directed: bool = True) -> pd.DataFrame:
    """Gould-Fernandez brokerage counts against their expectation in a random network,
    as R ``sna::brokerage``'s ``raw.nli``, ``exp.nli``, ``sd.nli`` and ``z.nli``.

    The null model is sna's: ties drawn independently with the network's density
    ``d = m / (N (N - 1))`` (``m`` directed ties, an undirected tie counting twice), the
    group sizes fixed; the expectation and standard deviation of each role count depend
    only on the broker's group. ``z = (count - expected) / sd`` is NaN where ``sd`` is 0.
    Arguments as :func:`network_measures` (weights do not count).

    Returns
    -------
    pandas.DataFrame
        One row per node and role (:data:`ROLES`): the ``by`` columns, ``node``,
        ``group``, ``role``, ``count``, ``expected``, ``sd``, ``z``.

    Examples
    --------
    >>> import pandas as pd
    >>> ties = pd.DataFrame({"s": ["a", "b", "c"], "t": ["b", "c", "d"]})
    >>> out = brokerage_scores(ties, source="s", target="t",
    ...                        groups={"a": 1, "b": 1, "c": 2, "d": 2})
    >>> b = out[(out["node"] == "b") & (out["count"] > 0)]
    >>> b[["role", "count"]].to_dict("list")
    {'role': ['representative', 'total'], 'count': [1, 1]}
    """
    keys = _as_list(by)
    ties = _checked_edges(data, source, target, None, keys)
    extra = _by_partition(_node_table(nodes, keys), keys)
    lookup = _group_lookup(groups, keys)
    frames = []
    for key, part in _partitions(ties, extra, keys):
        graph = _graph(part, extra_nodes=extra.get(key, []), directed=directed)
        group = _group_map(lookup, keys, key, graph)
        raw = _brokerage(graph, group)
        expected, sd = _brokerage_null(graph, group)
        count = raw[[f"brokerage_{r}" for r in ROLES]].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, (count - expected) / np.where(sd > 0, sd, 1.0), np.nan)
        frame = pd.DataFrame({
            "node": np.repeat(np.array(list(graph), dtype=object), len(ROLES)),
            "group": np.repeat(raw["group"].to_numpy(dtype=object), len(ROLES)),
            "role": np.tile(ROLES, len(graph)), "count": count.ravel().astype(np.int64),
            "expected": expected.ravel(), "sd": sd.ravel(), "z": z.ravel()})
        for pos, (name, value) in enumerate(zip(keys, key, strict=True)):
            frame.insert(pos, name, value)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(keys, kind="stable", ignore_index=True) if keys else out


def _brokerage_null(graph: nx.Graph, group: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """sna's expected role counts and their standard deviations, one row per node."""
    big_n = graph.number_of_nodes()
    m = graph.number_of_edges() * (1 if graph.is_directed() else 2)
    d = m / (big_n * (big_n - 1)) if big_n > 1 else np.nan
    p, q = d * d * (1 - d), d ** 3 * (1 - d) ** 3
    labels = list(dict.fromkeys(group.values()))
    sizes = np.array([sum(1 for g in group.values() if g == lab) for lab in labels], float)
    rows = {}
    for i, lab in enumerate(labels):
        n, rest = sizes[i], np.delete(sizes, i)
        e = np.array([(n - 1) * (n - 2), np.sum(rest * (rest - 1)), (big_n - n) * (n - 1),
                      (big_n - n) * (n - 1), rest.sum() ** 2 - np.sum(rest ** 2),
                      (big_n - 1) * (big_n - 2)]) * p
        extra = np.array([
            2 * (n - 1) * (n - 2) * (n - 3), 2 * np.sum(rest * (rest - 1) * (rest - 2)),
            2 * ((n - 1) * _choose2(big_n - n) + (big_n - n) * _choose2(n - 1)), 0.0,
            4 * np.sum(rest * _choose2(big_n - rest - n)),
            2 * (big_n - 1) * (big_n - 2) * (big_n - 3)]) * q
        extra[3] = extra[2]
        rows[lab] = (e, np.sqrt(e * (1 - p) + extra))
    expected = np.array([rows[group[v]][0] for v in graph]).reshape(-1, len(ROLES))
    sd = np.array([rows[group[v]][1] for v in graph]).reshape(-1, len(ROLES))
    return expected, sd


def _choose2(x: np.ndarray | float) -> np.ndarray | float:
    return x * (x - 1) / 2


# --- input --------------------------------------------------------------------------------

def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _checked_edges(edges: pd.DataFrame, source: str, target: str, weight: str | None,
                   keys: list[str]) -> pd.DataFrame:
    """``edges`` reduced to ``by``, ``_s``, ``_t``, ``_w`` columns, checked."""
    if not isinstance(edges, pd.DataFrame):
        raise SpecificationError("data (the edge list) must be a pandas DataFrame, not "
                                 f"{type(edges).__name__}")
    named = [source, target, *keys] + ([weight] if weight is not None else [])
    missing = [c for c in named if c not in edges.columns]
    if missing:
        raise SpecificationError("data (the edge list) has no column "
                                 f"{', '.join(map(repr, missing))}; its columns are "
                                 f"{', '.join(map(str, edges.columns))}")
    if not len(edges):
        raise SpecificationError("data (the edge list) has no rows: there is no network to measure")
    for col in [source, target, *keys]:
        n = int(edges[col].isna().sum())
        if n:
            raise DataError(f"column {col!r} is missing in {n} row(s) of the edge list; every tie "
                            "needs its nodes and partition")
    s, t = edges[source].astype(object), edges[target].astype(object)
    loops = (s == t).to_numpy()
    if loops.any():
        first = s[loops].iloc[0]
        raise DataError(f"{int(loops.sum())} row(s) of the edge list are self-loops ({source} == "
                        f"{target}, e.g. {first!r}); no network measure here is defined for "
                        "them: drop those rows first")
    out = pd.DataFrame({k: edges[k].to_numpy() for k in keys})
    out["_s"], out["_t"] = s.to_numpy(), t.to_numpy()
    out["_w"] = 1.0 if weight is None else _checked_weight(edges[weight], weight)
    return out


def _checked_weight(col: pd.Series, name: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise SpecificationError(f"weight column {name!r} must be numeric, not {col.dtype}")
    w = col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(f"weight column {name!r} has {int(bad.sum())} value(s) that are not "
                        f"finite and positive (e.g. {w[bad][0]!r}); a tie's weight is its "
                        "strength: drop rows that are not ties")
    return w


def _node_table(nodes: Iterable | None, keys: list[str]) -> pd.DataFrame | None:
    """``nodes`` as a frame of ``*keys``, ``_n`` (or None)."""
    if nodes is None:
        return None
    index = nodes if isinstance(nodes, pd.Index) else pd.Index(list(nodes))
    if isinstance(index, pd.MultiIndex):
        if index.nlevels != len(keys) + 1:
            raise SpecificationError(f"nodes has {index.nlevels} index levels; give node ids, "
                                     f"or a MultiIndex of ({', '.join(keys + ['node'])})")
        frame = index.to_frame(index=False, name=[*keys, "_n"])
    elif keys:
        raise SpecificationError("with by, give nodes as a MultiIndex of "
                                 f"({', '.join(keys + ['node'])})")
    else:
        frame = pd.DataFrame({"_n": index.to_numpy(dtype=object)})
    if frame.isna().any().any():
        raise DataError("nodes has missing values")
    return frame


def _by_partition(frame: pd.DataFrame | None, keys: list[str]) -> dict[tuple, list]:
    """The ``_n`` values of ``frame`` (nodes) listed by partition key (() without keys)."""
    if frame is None:
        return {}
    out: dict[tuple, list] = {}
    for row in frame[[*keys, "_n"]].itertuples(index=False, name=None):
        out.setdefault(tuple(row[:-1]), []).append(row[-1])
    return out


def _partitions(ties: pd.DataFrame, extra: dict[tuple, list], keys: list[str]):
    """(key tuple, ties of the partition), including partitions with nodes only."""
    if not keys:
        yield (), ties
        return
    grouped = {(k if isinstance(k, tuple) else (k,)): v
               for k, v in ties.groupby(keys, sort=False, observed=True)}
    for k in extra:
        grouped.setdefault(k, ties.iloc[:0])
    yield from grouped.items()


def _group_lookup(groups: Mapping | pd.Series, keys: list[str]) -> dict[tuple, dict]:
    """``groups`` as {partition key: {node: group}}; the key () holds the groups that
    apply to every partition (node -> group)."""
    series = groups if isinstance(groups, pd.Series) else pd.Series(dict(groups), dtype=object)
    series = series.dropna()
    if not isinstance(series.index, pd.MultiIndex):
        return {(): dict(zip(series.index, series.to_numpy(), strict=True))}
    if series.index.nlevels != len(keys) + 1:
        raise SpecificationError(f"groups has {series.index.nlevels} index levels; give "
                                 f"node -> group, or index it by ({', '.join(keys)}, node)")
    out: dict[tuple, dict] = {}
    for idx, group in zip(series.index, series.to_numpy(), strict=True):
        out.setdefault(tuple(idx[:-1]), {})[idx[-1]] = group
    return out


def _group_map(lookup: dict[tuple, dict], keys: list[str], key: tuple,
               graph: nx.Graph) -> dict:
    """node -> group for the nodes of ``graph``; an error names nodes without one."""
    found = lookup[key] if key in lookup else lookup.get((), {})
    missing = [n for n in graph if n not in found]
    if missing:
        where = f" in {dict(zip(keys, key, strict=True))}" if keys else ""
        raise SpecificationError(f"groups has no group for {len(missing)} node(s){where}, e.g. "
                                 f"{', '.join(map(repr, missing[:5]))}; brokerage needs every "
                                 "node's group")
    return {n: found[n] for n in graph}


# --- the graph and its measures ---------------------------------------------------------

def _graph(part: pd.DataFrame, *, extra_nodes: list, directed: bool) -> nx.Graph:
    """The (Di)Graph of a partition: weights summed over rows of a pair; for an
    undirected graph the rows a-b and b-a are one tie."""
    graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(sorted(set(part["_s"]) | set(part["_t"]) | set(extra_nodes),
                                key=str))
    for (s, t), w in part.groupby(["_s", "_t"], sort=False, observed=True)["_w"].sum().items():
        if graph.has_edge(s, t):
            graph[s][t]["weight"] += w
        else:
            graph.add_edge(s, t, weight=float(w))
    return graph


def _measures(graph: nx.Graph, key: tuple, notes: dict) -> pd.DataFrame:
    if graph.is_directed():
        deg = (graph.in_degree(), graph.out_degree(), graph.in_degree(weight="weight"),
               graph.out_degree(weight="weight"))
    else:
        deg = (graph.degree(), graph.degree(), graph.degree(weight="weight"),
               graph.degree(weight="weight"))
    eigen_in = _eigenvector(graph, key, notes)
    columns = dict(zip(MEASURES[:4], (dict(d) for d in deg), strict=True)) | {
        "betweenness": nx.betweenness_centrality(graph, normalized=False),
        "eigenvector_in": eigen_in,
        "eigenvector_out": (_eigenvector(graph.reverse(copy=False), key, _no_notes())
                            if graph.is_directed() else eigen_in),
        "constraint": _either_direction(nx.constraint, graph),
        "effective_size": _either_direction(nx.effective_size, graph),
    }
    order = list(graph)
    frame = pd.DataFrame({"node": pd.array(order, dtype=object)}
                         | {name: np.array([values[n] for n in order], dtype=float)
                            for name, values in columns.items()})
    frame[["in_degree", "out_degree"]] = frame[["in_degree", "out_degree"]].astype(np.int64)
    return frame


def _no_notes() -> dict[str, list]:
    return {"not_converged": [], "disconnected_network": [], "no_ties": []}


def _eigenvector(graph: nx.Graph, key: tuple, notes: dict) -> dict:
    """Weighted eigenvector centrality scaled to max 1; NaN (with a note) when the power
    iteration fails or the graph has no ties."""
    if graph.number_of_edges() == 0:
        notes["no_ties"].append(key)
        return dict.fromkeys(graph, np.nan)
    connected = (nx.is_strongly_connected(graph) if graph.is_directed()
                 else nx.is_connected(graph))
    if not connected:
        notes["disconnected_network"].append(key)
    values = _power_iteration(nx.to_numpy_array(graph, weight="weight"))
    if values is None:
        notes["not_converged"].append(key)
        return dict.fromkeys(graph, np.nan)
    values = values / values.max()
    values[np.abs(values) < 1e-12] = 0.0
    return dict(zip(graph, values.tolist(), strict=True))


def _power_iteration(adjacency: np.ndarray, *, max_iter: int = 2000,
                     tol: float = 1e-10) -> np.ndarray | None:
    """networkx's ``eigenvector_centrality`` on a dense matrix: ``x <- x + A'x``,
    normalised, from ``1/n``, until ``sum |x - x_last| < n tol`` (None if it never is)."""
    n = adjacency.shape[0]
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = last + adjacency.T @ last
        x = x / (np.linalg.norm(x) or 1.0)
        if np.abs(x - last).sum() < n * tol:
            return x
    return None


def _either_direction(measure, graph: nx.Graph) -> dict:
    """networkx's ``constraint``/``effective_size``, which use mutual weights but return
    NaN for a node without out-ties; such a node's value is read off the reversed graph
    (the mutual weights are the same)."""
    forward = measure(graph, weight="weight")
    if graph.is_directed():
        no_out = [n for n in graph if graph.out_degree(n) == 0 and graph.in_degree(n) > 0]
        if no_out:
            forward |= measure(graph.reverse(copy=False), nodes=no_out, weight="weight")
    return forward


def _brokerage(graph: nx.Graph, group: Mapping[Hashable, Hashable]) -> pd.DataFrame:
    """Gould-Fernandez role counts (sna::brokerage's raw.nli) of every node."""
    directed = graph if graph.is_directed() else graph.to_directed()
    counts = {n: [0] * 5 for n in directed}
    for v in directed:
        gv = group[v]
        for i in directed.predecessors(v):
            out_i = directed[i]
            for j in directed.successors(v):
                if j == i or j in out_i:
                    continue
                gi, gj = group[i], group[j]
                if gi == gv:
                    role = "coordinator" if gj == gv else "representative"
                elif gj == gv:
                    role = "gatekeeper"
                else:
                    role = "itinerant" if gi == gj else "liaison"
                counts[v][_ROLE_CODE[role]] += 1
    table = pd.DataFrame.from_dict(counts, orient="index", columns=list(ROLES[:5]),
                                   dtype=np.int64)
    table["total"] = table.sum(axis=1)
    table = table.add_prefix("brokerage_")
    table.insert(0, "group", pd.Series(group, dtype=object))
    table.index.name = "node"
    return table.reindex(list(graph)).reset_index(drop=True)


def _notes(found: dict, keys: list[str]) -> tuple[Note, ...]:
    def where(ks: list) -> str:
        if not keys:
            return "the network"
        first = ", ".join(f"{k}={v}" for k, v in zip(keys, ks[0], strict=True))
        return f"{len(ks)} network(s) (e.g. {first})"

    out = []
    if found["disconnected_network"]:
        out.append(Note("disconnected_network", f"Not (strongly) connected: "
                        f"{where(found['disconnected_network'])}; eigenvector centrality "
                        "there is not unique, or zero outside the dominant component."))
    if found["not_converged"]:
        out.append(Note("not_converged", "Eigenvector centrality did not converge in "
                        f"{where(found['not_converged'])}: it is NaN there."))
    if found["no_ties"]:
        out.append(Note("disconnected_network", f"No ties in {where(found['no_ties'])}: "
                        "eigenvector centrality is NaN there."))
    return tuple(out)
