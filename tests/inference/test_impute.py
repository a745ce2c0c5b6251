"""impute and with_imputations: pooled intervals cover the truth under MAR (Monte Carlo),
reproducible draws, cluster means as predictors, another imputer through the hook,
pooled simple slopes and indirect effects, and clear errors for bad input."""

import numpy as np
import pandas as pd
import pytest
from reference import load

from ipnstats import EstimationError, SpecificationError, mediation, moderation
from ipnstats.inference.imputation import Imputations, impute, norm_draw, with_imputations
from ipnstats.inference.pooling import pool

TRUE = 0.5


def _ols_tidy(df: pd.DataFrame) -> pd.DataFrame:
    """y ~ x + z by least squares, as a tidy table (the analysis model of the MC)."""
    X = np.column_stack([np.ones(len(df)), df["x"].to_numpy(), df["z"].to_numpy()])
    y = df["y"].to_numpy()
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    resid = y - X @ b
    s2 = resid @ resid / (len(y) - 3)
    return pd.DataFrame({"term": ["Intercept", "x", "z"], "estimate": b,
                         "std_error": np.sqrt(s2 * np.diag(xtx_inv))})


def _mar_sample(rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    """y = 1 + 0.5 x + 0.5 z + e with z missing for ~30% of rows, more often for high y
    (missing at random given the observed y)."""
    x = rng.normal(size=n)
    z = 0.5 * x + rng.normal(size=n)
    y = 1 + TRUE * x + TRUE * z + rng.normal(size=n)
    p_miss = 1 / (1 + np.exp(-(-1.1 + (y - y.mean()) / y.std())))
    return pd.DataFrame({"y": y, "x": x, "z": np.where(rng.random(n) < p_miss, np.nan, z)})


def test_pooled_intervals_cover_the_truth_under_mar():
    rng = np.random.default_rng(2026)
    covered, share_missing, complete_case = [], [], []
    for _ in range(500):
        df = _mar_sample(rng)
        share_missing.append(df.z.isna().mean())
        sets = impute(df, m=5, seed=rng, method="norm")
        tidy = pool([_ols_tidy(d) for d in sets], dfcom=len(df) - 3).tidy().set_index("term")
        covered.append([tidy.conf_low[t] <= TRUE <= tidy.conf_high[t] for t in ("x", "z")])
        complete_case.append(_ols_tidy(df.dropna()).estimate[1])
    assert 0.27 < np.mean(share_missing) < 0.33
    coverage = np.mean(covered, axis=0)
    assert np.all((coverage >= 0.93) & (coverage <= 0.97)), coverage
    # the design matters: complete cases are biased for x under this MAR mechanism
    assert abs(np.mean(complete_case) - TRUE) > 0.03


def test_norm_draw_follows_the_posterior_predictive():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(400), rng.normal(size=400)])
    y = X @ [1.0, 2.0] + rng.normal(scale=0.5, size=400)
    x0 = np.array([1.0, 1.0])
    draws = np.array([norm_draw(X, y, x0[None, :], rng)[0] for _ in range(4000)])
    b, ssr = np.linalg.lstsq(X, y, rcond=None)[:2]
    sigma = np.sqrt(ssr[0] / (400 - 2))
    leverage = x0 @ np.linalg.inv(X.T @ X) @ x0
    assert draws.mean() == pytest.approx(x0 @ b, abs=0.03)
    assert draws.std() == pytest.approx(sigma * np.sqrt(1 + leverage), rel=0.04)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """60 firms x 5 years; x, z and y share a firm effect; 30% of x missing."""
    rng = np.random.default_rng(0)
    firm = np.repeat(np.arange(60), 5)
    effect = rng.normal(size=60)[firm] * 2
    x = effect + rng.normal(size=300)
    z = rng.normal(size=300) + effect
    y = 1 + 0.5 * x + 0.3 * z + effect + rng.normal(size=300)
    df = pd.DataFrame({"firm_id": firm, "year": np.tile(np.arange(5), 60), "x": x, "z": z,
                       "y": y, "sector": np.where(firm % 2 == 0, "a", "b")})
    df.loc[rng.random(300) < 0.3, "x"] = np.nan
    return df


@pytest.mark.parametrize("method", ["pmm", "norm"])
def test_impute_fills_only_the_missing_values_reproducibly(panel, method):
    imp = impute(panel, m=3, seed=5, method=method, n_iter=3)
    again = impute(panel, m=3, seed=5, method=method, n_iter=3)
    assert isinstance(imp, Imputations) and len(imp) == 3 and imp.seed == 5
    assert imp.imputed == ("x",) and imp.n_missing == (int(panel.x.isna().sum()),)
    observed = panel.x.notna()
    for done, twin in zip(imp, again, strict=True):
        assert done.x.notna().all()
        pd.testing.assert_frame_equal(done.loc[observed], panel.loc[observed])
        pd.testing.assert_frame_equal(done, twin)
    assert not imp[0].x.equals(imp[1].x)  # each data set has its own draws
    if method == "pmm":  # predictive mean matching imputes observed values
        assert set(imp[0].x[~observed]) <= set(panel.x[observed])
    assert imp.missing().share_missing.iloc[0] == pytest.approx(observed.eq(False).mean())


def test_cluster_means_carry_the_firm_effect_into_the_imputations():
    """x holds a large firm effect that y barely shows: the firm's other years tell
    more about a missing x than the row's y, so with unit= the imputed x are closer
    to the true x."""
    rng = np.random.default_rng(4)
    firm = np.repeat(np.arange(80), 5)
    x_true = 2 * rng.normal(size=80)[firm] + rng.normal(size=400)
    panel = pd.DataFrame({"firm_id": firm, "x": x_true, "z": rng.normal(size=400),
                          "y": 0.5 * x_true + rng.normal(size=400)})
    missing = rng.random(400) < 0.3
    panel.loc[missing, "x"] = np.nan

    def error(imp):
        return np.mean([np.sqrt(np.mean((d.x.to_numpy()[missing] - x_true[missing]) ** 2))
                        for d in imp])

    by_firm = impute(panel, m=5, seed=3, method="norm", unit="firm_id")
    assert by_firm.unit == "firm_id"
    assert error(by_firm) < 0.85 * error(impute(panel, m=5, seed=3, method="norm"))
    pmm = impute(panel, m=2, seed=3, unit="firm_id", n_iter=3)
    assert error(pmm) < 0.85 * error(impute(panel, m=2, seed=3, n_iter=3))


def test_with_imputations_pools_the_fits_and_takes_another_imputer(panel):
    def ols(d):
        X = np.column_stack([np.ones(len(d)), d.x, d.z])
        b = np.linalg.lstsq(X, d.y.to_numpy(), rcond=None)[0]
        res = d.y.to_numpy() - X @ b
        se = np.sqrt(res @ res / (len(d) - 3) * np.diag(np.linalg.inv(X.T @ X)))
        return pd.DataFrame({"term": ["Intercept", "x", "z"], "estimate": b, "std_error": se})

    pooled = with_imputations(panel, ols, m=4, seed=11, method="norm",
                              columns=["x", "z", "y"], unit="firm_id")
    by_hand = pool([ols(d) for d in impute(panel, m=4, seed=11, method="norm",
                                           columns=["x", "z", "y"], unit="firm_id")])
    pd.testing.assert_frame_equal(pooled.tidy(), by_hand.tidy())
    assert pooled.seed == 11 and pooled.m == 4

    calls = []

    def mean_imputer(data, m, seed):
        calls.append((m, seed))
        return [data.fillna({"x": data.x.mean() + i}) for i in range(m)]

    hooked = with_imputations(panel, ols, m=3, seed=4, imputer=mean_imputer, dfcom=296)
    assert calls == [(3, 4)] and hooked.dfcom == 296
    assert hooked.rubin().set_index("term").loc["Intercept", "b"] > 0


def test_pooled_simple_slopes_and_indirect_effects(panel):
    sets = impute(panel, m=4, seed=8, method="norm", columns=["x", "z", "y"])
    mods = [moderation(d, y="y", x="z", w="x") for d in sets]
    slopes = [r.simple_slopes(at=[-1.0, 0.0, 1.0]) for r in mods]
    pooled = pool(slopes, dfcom=mods[0].glance().df_resid.iloc[0])
    tidy = pooled.tidy()
    assert list(tidy.columns[:3]) == ["w", "label", "scale"] and len(tidy) == 3
    est = np.column_stack([s.estimate for s in slopes])
    var = np.column_stack([s.std_error for s in slopes]) ** 2
    np.testing.assert_allclose(tidy.estimate, est.mean(axis=1))
    np.testing.assert_allclose(tidy.std_error ** 2,
                               var.mean(axis=1) + 1.25 * est.var(axis=1, ddof=1))
    # percentiles of w differ between imputations: pool by their labels
    by_label = pool([r.simple_slopes() for r in mods], by=["label", "scale"])
    assert list(by_label.tidy().label) == list(mods[0].simple_slopes().label)
    with pytest.raises(SpecificationError, match="same rows"):
        pool([r.simple_slopes() for r in mods])

    meds = [mediation(d, x="x", m="z", y="y", n_boot=200, seed=1) for d in sets]
    pooled_med = pool(meds)
    rows = pooled_med.tidy()
    assert len(rows) == len(meds[0].tidy())
    indirect = rows[rows.path == "indirect"]
    assert len(indirect) == 1
    mine = [m.tidy().query("path == 'indirect'").iloc[0] for m in meds]
    assert indirect.estimate.iloc[0] == pytest.approx(np.mean([r.estimate for r in mine]))
    assert indirect.std_error.iloc[0] > np.sqrt(np.mean([r.std_error ** 2 for r in mine]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"m": 1}, "m must be"), ({"m": 2.5}, "m must be"), ({"seed": -1}, "seed"),
    ({"method": "mice"}, "method"), ({"unit": "nope"}, "unit column"),
    ({"columns": ["nope"]}, "not in the data"), ({"columns": ["x", "sector"]}, "not numeric"),
    ({"columns": ["z", "y"]}, "no missing"), ({"columns": ["x"]}, "at least two"),
    ({"n_iter": 0}, "n_iter"), ({"columns": ["x", "y", "empty"]}, "fewer than 2 observed"),
])
def test_bad_imputation_options_are_clear_errors(panel, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        impute(panel.assign(empty=np.nan), **kwargs)


def test_other_bad_input_is_a_clear_error(panel):
    with pytest.raises(SpecificationError, match="DataFrame"):
        impute(panel.to_numpy())
    with pytest.raises(SpecificationError, match="fit must be"):
        with_imputations(panel, "y ~ x")
    with pytest.raises(SpecificationError, match="return 3 DataFrames"):
        with_imputations(panel, _ols_tidy, m=3, imputer=lambda d, m, s: [d])
    with pytest.raises(SpecificationError, match="options of impute"):
        with_imputations(panel, _ols_tidy, imputer=lambda d, m, s: [d] * m, method="norm")
    with pytest.raises(SpecificationError, match="missing values"):
        impute(panel.assign(firm_id=panel.firm_id.where(panel.year > 0)), unit="firm_id")
    tiny = pd.DataFrame({"a": [1.0, 2, np.nan, np.nan], "b": [1.0, 2, 3, 4],
                         "c": [2.0, 1, 3, 5]})
    with pytest.raises(EstimationError, match="observed values"):
        impute(tiny, method="norm")


def test_a_runaway_chain_is_a_clear_error():
    """mice's 25-row nhanes in 5 clusters: 8 coefficients on ~15 observed values per
    column feed back on each other until the draws run away."""
    nhanes = pd.DataFrame(load("mice/nhanes")["data"]).astype(float)
    nhanes["cluster"] = np.arange(25) % 5
    with pytest.raises(EstimationError, match="diverged"):
        impute(nhanes, m=5, seed=0, method="norm", unit="cluster")
    assert len(impute(nhanes, m=5, seed=0, method="norm")) == 5  # single level: fine


def test_norm_draw_leaves_out_predictors_without_information():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(60), rng.normal(size=60), np.zeros(60)])
    y = X[:, 1] + rng.normal(size=60)
    a = norm_draw(X, y, np.array([[1.0, 0.5, 1.0]]), np.random.default_rng(1))
    b = norm_draw(X[:, :2], y, np.array([[1.0, 0.5]]), np.random.default_rng(1))
    assert a == pytest.approx(b)  # the all-zero column changes nothing
    dup = np.column_stack([X[:, :2], X[:, 1]])  # mice's ridge carries a duplicated column
    assert np.isfinite(norm_draw(dup, y, dup[:1], np.random.default_rng(1))).all()
