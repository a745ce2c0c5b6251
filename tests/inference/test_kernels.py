"""The shared kernels each idea now has one home for: seeds (core/seeds), cluster sums,
factors and the two-way intersection (inference/sandwich), one-sided p-values
(results/inference), the BLAS thread limit (core/parallel) and the Newton loop of the
maximum-likelihood engines (estimators/glm)."""

import numpy as np
import pytest
from scipy import stats

from ipnstats.core.parallel import single_threaded_blas
from ipnstats.core.seeds import as_generator, check_seed, recorded_seed, seed_sequence
from ipnstats.estimators.glm import fit_logit, fit_poisson, newton
from ipnstats.inference.sandwich import (
    cluster_factor,
    cluster_meat,
    cluster_sums,
    intersection_codes,
    ssc_k,
)
from ipnstats.results.inference import one_sided_p, p_value, two_sided_p


def test_seeds_are_normalised_once():
    rng = np.random.default_rng(5)
    assert as_generator(rng) is rng
    assert as_generator(5).integers(0, 10**9) == np.random.default_rng(5).integers(0, 10**9)
    child = seed_sequence(5).spawn(3)[2]
    assert as_generator(child).random() == np.random.default_rng(child).random()
    assert recorded_seed(np.int64(5)) == 5 and isinstance(recorded_seed(np.int64(5)), int)
    assert recorded_seed(rng) is None and recorded_seed(True) is None
    copy = seed_sequence(np.random.SeedSequence(9))
    assert copy.spawn(1)[0].generate_state(2).tolist() == \
        np.random.SeedSequence(9).spawn(1)[0].generate_state(2).tolist()


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seeds_are_clear_errors(bad):
    with pytest.raises(ValueError, match="seed must be"):
        as_generator(bad)
    with pytest.raises(ValueError, match="non-negative integer"):
        check_seed(np.random.default_rng(0) if bad is True else bad, generator=False)


def test_cluster_sums_meat_and_intersection():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(50, 3))
    codes = rng.integers(0, 6, 50)
    sums = cluster_sums(values, codes)
    expected = np.array([values[codes == g].sum(axis=0) for g in range(6)])
    np.testing.assert_allclose(sums, expected, rtol=1e-12)
    np.testing.assert_allclose(cluster_meat(values, codes), expected.T @ expected, rtol=1e-12)
    other = rng.integers(0, 4, 50)
    both = intersection_codes(codes, other)
    cells = {(a, b) for a, b in zip(codes, other, strict=True)}
    assert both.max() + 1 == len(cells)
    for cell in cells:  # one code per cell, a different one for every cell
        mask = (codes == cell[0]) & (other == cell[1])
        assert len(set(both[mask])) == 1


def test_cluster_factor_and_k():
    assert cluster_factor(10, 100, 5) == pytest.approx(10 / 9 * 99 / 95)
    assert cluster_factor(10, 100, 5, adj=False) == pytest.approx(10 / 9)
    assert cluster_factor(10, 100, 5, cluster_adj=False) == pytest.approx(99 / 95)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        cluster_factor(1, 100, 5)
    firms = np.repeat(np.arange(10), 4)
    years = np.tile(np.arange(4), 10)
    absorbed = [(firms, 10), (years, 4)]
    assert ssc_k(2, absorbed, 13, "full", [firms]) == 15
    assert ssc_k(2, absorbed, 13, "none", [firms]) == 2
    assert ssc_k(2, absorbed, 13, "nested", [firms]) == 2 + 4  # firm effects nested
    assert ssc_k(2, absorbed, 13, "nested", [firms, years]) == 3  # all nested: a constant
    assert ssc_k(2, absorbed, 13, "nested") == 15  # no clusters: all count


def test_p_values():
    t = np.array([-2.0, 0.3, 1.7])
    np.testing.assert_allclose(one_sided_p(t, 12, "greater"), stats.t.sf(t, 12))
    np.testing.assert_allclose(one_sided_p(t, None, "less"), stats.norm.cdf(t))
    np.testing.assert_allclose(p_value(t, 12), two_sided_p(t, 12))
    np.testing.assert_allclose(p_value(t, None, "greater"), stats.norm.sf(t))
    with pytest.raises(ValueError, match="'greater' or 'less'"):
        one_sided_p(t, None, "two-sided")


def test_single_threaded_blas_is_a_context():
    with single_threaded_blas():
        assert float(np.ones((3, 3)) @ np.ones(3) @ np.ones(3)) == 9.0


def test_newton_is_the_engine_of_logit_and_poisson():
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(400), rng.normal(size=400)])
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.2 + 0.8 * X[:, 1])))).astype(float)
    sm = pytest.importorskip("statsmodels.api")
    np.testing.assert_allclose(fit_logit(X, y).beta, sm.Logit(y, X).fit(disp=0).params,
                               rtol=1e-7)
    counts = rng.poisson(np.exp(0.1 + 0.4 * X[:, 1])).astype(float)
    glm = sm.GLM(counts, X, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(fit_poisson(X, counts)[0].beta, glm.params, rtol=1e-7)
    # a concave quadratic: one full step lands on the maximum
    beta, ll, converged = newton(lambda b: -float((b - 3) @ (b - 3)), lambda b: 3 - b,
                                 np.zeros(2))
    np.testing.assert_allclose(beta, [3, 3])
    assert converged and ll == 0
