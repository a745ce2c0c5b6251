"""network_measures against R igraph 1.3.5 and sna 2.7 on the Florentine marriage network
(tests/reference/network), plus its input checks and invariances."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.core.notes import note_codes
from ipnstats.estimators.network import MEASURES, ROLES, brokerage_scores, network_measures
from tests.reference import load

FLO = load("network/florentine")
BROKERAGE = load("network/brokerage")
FAMILIES = FLO["families"]


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v == "NaN" else v for v in values], dtype=float)


def _flo_matrix() -> np.ndarray:
    """R's `flo` built from networkx's graph (15 families) plus the isolated Pucci."""
    g = nx.florentine_families_graph()
    g.add_node("Pucci")
    return nx.to_numpy_array(g, nodelist=FAMILIES, dtype=int)


def _ties(matrix: np.ndarray) -> pd.DataFrame:
    rows, cols = np.nonzero(matrix)
    return pd.DataFrame({"from": np.array(FAMILIES)[rows], "to": np.array(FAMILIES)[cols]})


def _by_family(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("node").loc[FAMILIES]


def test_the_matrix_built_from_networkx_is_r_flo():
    assert (_flo_matrix() == np.array(FLO["flo"])).all()
    assert (np.array(BROKERAGE["flo"]) == np.array(FLO["flo"])).all()


def test_florentine_undirected_matches_igraph_and_the_published_numbers():
    ties = nx.to_pandas_edgelist(nx.florentine_families_graph())
    m = network_measures(ties, source="source", target="target", directed=False,
                         nodes=FAMILIES)
    m = _by_family(m)
    ref = FLO["undirected"]
    np.testing.assert_array_equal(m["in_degree"], ref["degree"])
    np.testing.assert_array_equal(m["out_degree"], ref["degree"])
    np.testing.assert_allclose(m["betweenness"], ref["betweenness"], rtol=1e-10)
    np.testing.assert_allclose(m["constraint"], _floats(ref["constraint"]), rtol=1e-10)
    np.testing.assert_allclose(m["eigenvector_in"], ref["eigenvector"], atol=1e-8)
    assert m.loc["Medici", "constraint"] == pytest.approx(0.2099, abs=5e-5)
    assert m.loc["Guadagni", "constraint"] == pytest.approx(0.2500, abs=5e-5)
    assert m.loc["Strozzi", "constraint"] == pytest.approx(0.4583, abs=5e-5)
    assert m.loc["Medici", "betweenness"] == pytest.approx(47.5)
    assert m.loc["Guadagni", "betweenness"] == pytest.approx(23.1667, abs=5e-5)
    assert np.isnan(m.loc["Pucci", "constraint"]) and np.isnan(m.loc["Pucci", "effective_size"])
    # the isolated Pucci makes the graph disconnected: said in a note
    assert "disconnected_network" in note_codes(m.attrs["notes"])


def test_florentine_without_the_isolate_is_connected_and_matches_igraph():
    ties = nx.to_pandas_edgelist(nx.florentine_families_graph())
    m = network_measures(ties, source="source", target="target", directed=False)
    ref = FLO["undirected_15"]
    got = m.set_index("node").loc[ref["families"], "eigenvector_in"]
    np.testing.assert_allclose(got, ref["eigenvector"], atol=1e-8)
    assert m.attrs["notes"] == ()
    # effective size, binary undirected: degree - 2 ties among neighbours / degree
    medici = m.set_index("node").loc["Medici"]
    assert medici["effective_size"] == pytest.approx(6 - 2 * 1 / 6)


def test_florentine_as_a_directed_graph_with_both_directions_matches_igraph():
    m = _by_family(network_measures(_ties(_flo_matrix()), source="from", target="to",
                                    nodes=FAMILIES))
    ref = FLO["directed"]
    np.testing.assert_array_equal(m["in_degree"], ref["in_degree"])
    np.testing.assert_array_equal(m["out_degree"], ref["out_degree"])
    np.testing.assert_allclose(m["betweenness"], ref["betweenness"], rtol=1e-10)
    np.testing.assert_allclose(m["constraint"], _floats(ref["constraint"]), rtol=1e-10)
    np.testing.assert_allclose(m["eigenvector_in"], ref["eigenvector_in"], atol=1e-8)
    np.testing.assert_allclose(m["eigenvector_out"], ref["eigenvector_in"], atol=1e-8)
    assert m.loc["Medici", "betweenness"] == pytest.approx(95.0)  # ordered pairs: 2 x 47.5


@pytest.mark.parametrize("case", ["undirected", "directed"])
def test_brokerage_matches_sna(case):
    matrix = np.array(BROKERAGE["flo" if case == "undirected" else "directed_matrix"])
    groups = dict(zip(FAMILIES, BROKERAGE["cl"], strict=True))
    m = _by_family(network_measures(_ties(matrix), source="from", target="to",
                                    groups=groups, nodes=FAMILIES))
    got = m[[f"brokerage_{role}" for role in ROLES]].to_numpy()
    np.testing.assert_array_equal(got, np.array(BROKERAGE[case]["raw"]))
    assert (m["group"].to_numpy() == BROKERAGE["cl"]).all()


@pytest.mark.parametrize("case", ["undirected", "directed"])
def test_brokerage_expected_counts_and_z_scores_match_sna(case):
    matrix = np.array(BROKERAGE["flo" if case == "undirected" else "directed_matrix"])
    groups = dict(zip(FAMILIES, BROKERAGE["cl"], strict=True))
    out = brokerage_scores(_ties(matrix), source="from", target="to", groups=groups,
                           nodes=FAMILIES)
    for column, key in (("count", "raw"), ("expected", "expected"), ("sd", "sd"), ("z", "z")):
        wide = out.pivot(index="node", columns="role", values=column).loc[FAMILIES, ROLES]
        ref = np.array([_floats(row) for row in BROKERAGE[case][key]])
        np.testing.assert_allclose(wide.to_numpy(float), ref, rtol=1e-10, atol=1e-12,
                                   err_msg=column)


def test_medici_brokerage_roles():
    groups = dict(zip(FAMILIES, BROKERAGE["cl"], strict=True))
    ties = nx.to_pandas_edgelist(nx.florentine_families_graph())
    m = network_measures(ties, source="source", target="target", directed=False,
                         groups=groups).set_index("node")
    roles = m.loc["Medici", [f"brokerage_{role}" for role in ROLES]].tolist()
    assert roles == [2, 2, 7, 7, 10, 28]  # coordinator ... liaison, total (R sna 2.7)


def test_repeated_rows_add_up_to_strength_and_weights_sum():
    edges = pd.DataFrame({"s": ["a", "a", "a", "b", "c"], "t": ["b", "b", "c", "c", "a"],
                          "w": [1.0, 2.0, 0.5, 1.0, 4.0]})
    counted = network_measures(edges, source="s", target="t").set_index("node")
    assert counted.loc["a", "out_strength"] == 3 and counted.loc["a", "out_degree"] == 2
    assert counted.loc["b", "in_strength"] == 2 and counted.loc["b", "in_degree"] == 1
    weighted = network_measures(edges, source="s", target="t", weight="w").set_index("node")
    assert weighted.loc["a", "out_strength"] == 3.5 and weighted.loc["a", "in_strength"] == 4
    # betweenness ignores weights: the same either way
    np.testing.assert_array_equal(weighted["betweenness"], counted["betweenness"])


def test_partitions_are_separate_networks_and_isolates_are_kept():
    one = pd.DataFrame({"s": ["a", "b", "c"], "t": ["b", "c", "a"]})
    two = pd.DataFrame({"s": ["a", "a", "d"], "t": ["b", "d", "a"]})
    both = pd.concat([one.assign(year=2001), two.assign(year=2002)], ignore_index=True)
    nodes = pd.MultiIndex.from_tuples([(2001, "z"), (2003, "a")], names=["year", "node"])
    m = network_measures(both, source="s", target="t", by="year", nodes=nodes)
    assert list(m.columns[:2]) == ["year", "node"]
    for year, part in ((2001, one), (2002, two)):
        alone = network_measures(part, source="s", target="t")
        got = m[m["year"] == year].drop(columns="year")
        got = got[got["node"] != "z"].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, alone, check_dtype=False)
    z = m[(m["year"] == 2001) & (m["node"] == "z")].iloc[0]
    assert z["in_degree"] == 0 and z["betweenness"] == 0 and np.isnan(z["constraint"])
    empty = m[m["year"] == 2003]
    assert len(empty) == 1 and np.isnan(empty["eigenvector_in"].iloc[0])
    assert "disconnected_network" in note_codes(m.attrs["notes"])


def test_eigenvector_that_does_not_converge_is_nan_with_a_note():
    path = pd.DataFrame({"s": ["a", "b"], "t": ["b", "c"]})  # acyclic: no dominant vector
    m = network_measures(path, source="s", target="t")
    assert m["eigenvector_in"].isna().all()
    assert "not_converged" in note_codes(m.attrs["notes"])
    assert m["betweenness"].tolist() == [0.0, 1.0, 0.0]


def test_results_do_not_depend_on_node_labels():
    rng = np.random.default_rng(7)
    n = 12
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j and rng.random() < 0.3]
    edges = pd.DataFrame(pairs, columns=["s", "t"]).assign(w=rng.integers(1, 5, len(pairs)))
    groups = {i: i % 3 for i in range(n)}
    base = network_measures(edges, source="s", target="t", weight="w", groups=groups)
    perm = rng.permutation(n)
    label = {i: f"firm{perm[i]:02d}x" for i in range(n)}
    renamed = edges.assign(s=edges["s"].map(label), t=edges["t"].map(label))
    shuffled = renamed.sample(frac=1.0, random_state=3)
    other = network_measures(shuffled, source="s", target="t", weight="w",
                             groups={label[i]: g for i, g in groups.items()})
    other = other.set_index("node").loc[[label[i] for i in base["node"]]]
    cols = [*MEASURES, *[f"brokerage_{r}" for r in ROLES]]
    np.testing.assert_allclose(other[cols].to_numpy(float), base[cols].to_numpy(float),
                               atol=1e-8)


@pytest.mark.parametrize(("edges", "kwargs", "error", "match"), [
    (pd.DataFrame({"s": ["a", "b"], "t": ["a", "c"]}), {}, DataError, "self-loops"),
    (pd.DataFrame({"s": ["a"], "t": ["b"]}).iloc[:0], {}, SpecificationError, "no rows"),
    (pd.DataFrame({"s": ["a"], "t": ["b"]}), {"weight": "w"}, SpecificationError,
     "no column 'w'"),
    (pd.DataFrame({"s": ["a"], "t": ["b"], "w": ["x"]}), {"weight": "w"},
     SpecificationError, "must be numeric"),
    (pd.DataFrame({"s": ["a"], "t": ["b"], "w": [0.0]}), {"weight": "w"}, DataError,
     "finite and positive"),
    (pd.DataFrame({"s": ["a", None], "t": ["b", "c"]}), {}, DataError, "missing in 1 row"),
    (pd.DataFrame({"s": ["a", "b"], "t": ["b", "c"]}), {"groups": {"a": 1, "b": 1}},
     SpecificationError, "no group for 1 node"),
    (pd.DataFrame({"s": ["a"], "t": ["b"], "y": [1]}), {"by": "y", "nodes": ["a"]},
     SpecificationError, "MultiIndex"),
])
def test_bad_input_is_a_clear_error(edges, kwargs, error, match):
    with pytest.raises(error, match=match):
        network_measures(edges, source="s", target="t", **kwargs)


def test_groups_can_change_by_partition():
    edges = pd.DataFrame({"s": ["a", "b", "a", "b"], "t": ["b", "c", "b", "c"],
                          "year": [1, 1, 2, 2]})
    groups = pd.Series([1, 1, 2, 2, 1, 1],
                       index=pd.MultiIndex.from_product([[1, 2], ["a", "b", "c"]]))
    m = network_measures(edges, source="s", target="t", by="year", groups=groups)
    b = m.set_index(["year", "node"]).loc[[(1, "b"), (2, "b")]]
    assert b["brokerage_representative"].tolist() == [1, 0]  # a, b in one group; c not
    assert b["brokerage_gatekeeper"].tolist() == [0, 1]  # year 2: a alone, b and c together
