"""The 2x2 covariate estimators (reg, ipw, dr) against moderndid (a port of R DRDID
and did), against att_gt.cell_effect without covariates, and their failure messages.

Published R did output for mpdta with ``xformla = ~lpop`` (default ``est_method =
"dr"``, never-treated controls, varying base period): tests/reference/did/
mpdta_lpop_dr.json, from the did reference manual (version 2.1.2, att_gt examples) and
the ddml "did" article, which agree; the standard errors printed there are
multiplier-bootstrap ones (bstrap = TRUE), so only the estimates are pinned.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from reference import load
from scipy.special import expit

from ipnstats.estimators.did.att_gt import cell_effect
from ipnstats.estimators.did.drdid import (
    ESTIMATORS,
    CellEstimationError,
    cell_std_error,
    drdid_panel,
    reg_did_panel,
    std_ipw_did_panel,
)

moderndid = pytest.importorskip("moderndid")


MODERNDID = {"reg": moderndid.reg_did_panel, "ipw": moderndid.std_ipw_did_panel,
             "dr": moderndid.drdid_panel}
_R_DID_DR = load("did/mpdta_lpop_dr")["att_gt"]  # the table above (tests/reference/did)
PUBLISHED_DR = dict(zip(_R_DID_DR["groups"], _R_DID_DR["att"], strict=True))


def _simulate(n=1000, seed=3):
    """A 2x2 panel with three covariates (normal, binary, uniform) that drive both
    treatment and the outcome trend, and a heterogeneous effect."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.binomial(1, 0.4, n), rng.uniform(-1, 1, n)
    X = np.column_stack([np.ones(n), x1, x2, x3])
    d = rng.binomial(1, expit(-0.3 + 0.6 * x1 - 0.5 * x2 + 0.4 * x3))
    dy = 1 + 0.5 * x1 + x2 - 0.5 * x3 + d * (2 + 0.3 * x1) + rng.normal(size=n)
    return dy, d, X


def _moderndid(method, dy, d, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODERNDID[method](y1=dy, y0=np.zeros_like(dy), d=d, covariates=X,
                                 influence_func=True)


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_matches_moderndid_on_simulated_panel(method):
    dy, d, X = _simulate()
    att, inf = ESTIMATORS[method](dy, d, X)
    ref = _moderndid(method, dy, d, X)
    np.testing.assert_allclose(att, ref.att, rtol=1e-10)
    np.testing.assert_allclose(cell_std_error(inf), ref.se, rtol=1e-10)
    np.testing.assert_allclose(inf, ref.att_inf_func, rtol=0, atol=1e-10 * np.abs(inf).max())
    assert abs(inf.mean()) < 1e-10 * np.abs(inf).max()  # centred: DRDID's sd = did's RMS


@pytest.mark.parametrize("method", ["ipw", "dr"])
def test_trimming_matches_moderndid(method):
    """Units with ps >= 0.995 among the controls get zero weight, as DRDID trims them."""
    rng = np.random.default_rng(7)
    high = np.r_[np.ones(997), np.zeros(3), rng.binomial(1, 0.3, 1000)]  # group A: 3 controls
    group = np.r_[np.ones(1000), np.zeros(1000)]
    x = rng.normal(size=2000)
    X = np.column_stack([np.ones(2000), group, x])
    d = high
    dy = 0.5 * group + x + d + rng.normal(size=2000)
    att, inf = ESTIMATORS[method](dy, d, X)
    ref = _moderndid(method, dy, d, X)
    np.testing.assert_allclose([att, cell_std_error(inf)], [ref.att, ref.se], rtol=1e-9)
    untrimmed, _ = ESTIMATORS[method](dy, d, X, trim_level=1.0)
    assert abs(untrimmed - att) > 1e-6


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_intercept_only_is_cell_effect(method):
    """X = intercept: the difference in mean changes, and (N / n) * inf placed on the
    cell's units is att_gt.cell_effect's all-units influence function."""
    rng = np.random.default_rng(11)
    N = 300
    group = rng.choice([0, 1, 2], size=N, p=[0.3, 0.5, 0.2])  # 2 = outside the cell
    dy_all = rng.normal(size=N) + (group == 1)
    treated, control = group == 1, group == 0
    expected_att, expected_inf = cell_effect(dy_all, treated, control)
    cell = group < 2
    att, inf = ESTIMATORS[method](dy_all[cell], treated[cell].astype(int),
                                  np.ones((cell.sum(), 1)))
    placed = np.zeros(N)
    placed[cell] = N / cell.sum() * inf
    np.testing.assert_allclose(att, expected_att, rtol=1e-12)
    np.testing.assert_allclose(placed, expected_inf, rtol=0, atol=1e-11)


def _mpdta_cell(data, g, t):
    """The (g, t) 2x2 with never-treated controls and the varying base period:
    outcome changes, treated indicator, [1, lpop at the base period], cell mask."""
    base = g - 1 if t >= g else t - 1
    wide = data.pivot(index="countyreal", columns="year", values="lemp")
    cohort = data.groupby("countyreal")["first.treat"].first()
    lpop = data[data["year"] == base].set_index("countyreal")["lpop"]
    cell = ((cohort == g) | (cohort == 0)).to_numpy()
    dy = (wide[t] - wide[base]).to_numpy()[cell]
    X = np.column_stack([np.ones(cell.sum()), lpop.reindex(wide.index).to_numpy()[cell]])
    return dy, (cohort == g).to_numpy()[cell].astype(int), X, cell


@pytest.fixture(scope="module")
def mpdta(reference_data):
    return pd.read_csv(reference_data / "mpdta.csv")


@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_mpdta_cell_matches_moderndid_att_gt(mpdta, method):
    """ATT(2004, 2004) with xformla = ~lpop: ATT and att_gt's analytic SE, which is
    sqrt(sum(IF_all**2)) / N with IF_all = (N / n) * inf on the cell's units."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(data=mpdta, yname="lemp", tname="year", idname="countyreal",
                               gname="first.treat", xformla="~lpop", est_method=method)
    dy, d, X, cell = _mpdta_cell(mpdta, 2004, 2004)
    att, inf = ESTIMATORS[method](dy, d, X)
    N, n = cell.size, cell.sum()
    placed = np.zeros(N)
    placed[cell] = N / n * inf
    se = np.sqrt(placed @ placed) / N
    np.testing.assert_allclose([att, se], [ref.att_gt[0], ref.se_gt[0]], rtol=1e-8)
    np.testing.assert_allclose(np.sort(placed), np.sort(np.asarray(ref.influence_func)[:, 0]),
                               rtol=0, atol=1e-8 * np.abs(placed).max())


def test_mpdta_dr_cells_match_published_did(mpdta):
    for g, published in PUBLISHED_DR.items():
        atts = [drdid_panel(*_mpdta_cell(mpdta, g, t)[:3])[0] for t in (2004, 2005, 2006, 2007)]
        np.testing.assert_allclose(atts, published, atol=0.5e-4, err_msg=f"cohort {g}")


def test_perfect_separation_raises():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    X = np.column_stack([np.ones(200), x])
    for estimator in (std_ipw_did_panel, drdid_panel):
        with pytest.raises(CellEstimationError, match="separation"):
            estimator(rng.normal(size=200), (x > 0).astype(int), X)


def test_quasi_separation_raises():
    """A dummy that is 1 only for some comparison units predicts them perfectly."""
    dy, d, X = _simulate(n=400)
    only_controls = np.zeros(400)
    only_controls[np.flatnonzero(d == 0)[:15]] = 1
    with pytest.raises(CellEstimationError, match=r"separation.*15 units \(0 treated"):
        drdid_panel(dy, d, np.column_stack([X, only_controls]))


def test_overlap_violation_raises_but_reg_runs():
    rng = np.random.default_rng(2)
    x = rng.normal(size=1000)
    X = np.column_stack([np.ones(1000), x])
    d = rng.binomial(1, expit(1 + 5 * x))
    dy = x + d + rng.normal(size=1000)
    with pytest.raises(CellEstimationError, match="overlap violated"):
        drdid_panel(dy, d, X)
    assert np.isfinite(std_ipw_did_panel(dy, d, X, overlap_limit=None)[0])
    assert np.isfinite(reg_did_panel(dy, d, X)[0])


def test_singular_control_design_raises():
    """A covariate that is zero for every comparison unit: OLS among them is singular."""
    dy, d, X = _simulate(n=400)
    X = np.column_stack([X[:, :2], d * X[:, 1]])
    for estimator in (reg_did_panel, drdid_panel):
        with pytest.raises(CellEstimationError, match=r"outcome regression among the \d+ "
                                                       "comparison units is singular"):
            estimator(dy, d, X)
    assert np.isfinite(std_ipw_did_panel(dy, d, X)[0])


def test_collinear_covariates_raise():
    dy, d, X = _simulate(n=400)
    X = np.column_stack([X, 2 * X[:, 1]])
    with pytest.raises(CellEstimationError, match="collinear"):
        std_ipw_did_panel(dy, d, X)
    with pytest.raises(CellEstimationError, match="collinear"):
        reg_did_panel(dy, d, X)


def test_degenerate_cells_raise():
    dy, d, X = _simulate(n=100)
    with pytest.raises(CellEstimationError, match="no treated units"):
        drdid_panel(dy, np.zeros(100, int), X)
    with pytest.raises(CellEstimationError, match="no comparison units"):
        reg_did_panel(dy, np.ones(100, int), X)
    with pytest.raises(CellEstimationError, match="non-finite"):
        drdid_panel(np.r_[np.nan, dy[1:]], d, X)


def test_bad_arguments_are_plain_value_errors():
    dy, d, X = _simulate(n=100)
    with pytest.raises(ValueError, match="intercept") as info:
        drdid_panel(dy, d, X[:, 1:])
    assert not isinstance(info.value, CellEstimationError)
    with pytest.raises(ValueError, match="d must be"):
        reg_did_panel(dy, 2 * d, X)
    with pytest.raises(ValueError, match="one row per unit"):
        reg_did_panel(dy[:-1], d, X)
