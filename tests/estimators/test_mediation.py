"""mediation (PROCESS model 4): paths against pingouin and Hayes' PROCESS output, the
vectorised (cluster) bootstrap against brute force, BCa by hand, cluster-bootstrap
coverage on a simulated firm panel, and the result's contract."""

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from reference import load

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.estimators.mediation import bootstrap_indirect, jackknife_indirect, mediation
from ipnstats.inference import bootstrap as bs


def simulate(n=500, seed=42, a=0.5, b=0.4, direct=0.2):
    """Cross-section with known paths and one covariate ``w``."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "w": rng.normal(size=n)})
    df["m"] = a * df["x"] + 0.3 * df["w"] + rng.normal(size=n)
    df["m2"] = -0.3 * df["x"] + rng.normal(size=n)
    df["y"] = b * df["m"] + 0.3 * df["m2"] + direct * df["x"] - 0.2 * df["w"] + rng.normal(size=n)
    return df


def simulate_panel(rng, n_firms, n_years, a=0.5, b=0.4, direct=0.2, firm_sd=2.0):
    """Firm panel whose x, mediator and outcome errors all have firm components."""
    firm = np.repeat(np.arange(n_firms), n_years)
    n = firm.size

    def firm_part():
        return firm_sd * rng.normal(size=n_firms)[firm]

    x = firm_part() + rng.normal(size=n)
    m = a * x + firm_part() + rng.normal(size=n)
    y = b * m + direct * x + firm_part() + rng.normal(size=n)
    return pd.DataFrame({"firm_id": firm, "x": x, "m": m, "y": y})


def ols_coef(X, y):
    return np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]


def brute_indirect(df, x="x", m="m", y="y", covs=()):
    """a * b by two least-squares fits on the frame as given."""
    a = ols_coef(df[[x, *covs]].to_numpy(), df[m].to_numpy())[1]
    b = ols_coef(df[[x, *covs, m]].to_numpy(), df[y].to_numpy())[-1]
    return a * b


# ---------------------------------------------------------------- against pingouin


@pytest.fixture(scope="module")
def cross_section():
    return simulate()


def test_paths_and_indirect_match_pingouin(cross_section):
    res = mediation(cross_section, x="x", m="m", y="y", covariates=["w"], n_boot=200)
    pgo = pg.mediation_analysis(cross_section, x="x", m="m", y="y", covar="w", n_boot=50,
                                seed=1).set_index("path")
    tidy = res.tidy().set_index("term")
    for ours, theirs in (("a::m", "m ~ X"), ("direct", "Direct"), ("total", "Total")):
        np.testing.assert_allclose(tidy.loc[ours, ["estimate", "std_error"]].to_numpy(float),
                                   pgo.loc[theirs, ["coef", "se"]].to_numpy(float), rtol=1e-8)
        np.testing.assert_allclose(tidy.loc[ours, "p_value"], pgo.loc[theirs, "pval"], rtol=1e-6)
    # pingouin's "Y ~ m" row regresses y on m and the covariates WITHOUT x, so it is not
    # Hayes' b; its indirect effect does use b from y ~ x + m + covariates:
    full = pg.linear_regression(cross_section[["x", "w", "m"]], cross_section["y"],
                                as_dataframe=True).set_index("names")
    np.testing.assert_allclose(tidy.loc["b::m", ["estimate", "std_error"]].to_numpy(float),
                               full.loc["m", ["coef", "se"]].to_numpy(float), rtol=1e-8)
    np.testing.assert_allclose(tidy.loc["indirect::m", "estimate"], pgo.loc["Indirect", "coef"],
                               rtol=1e-10)


def test_parallel_mediators_match_pingouin(cross_section):
    res = mediation(cross_section, x="x", m=["m", "m2"], y="y", n_boot=200)
    pgo = pg.mediation_analysis(cross_section, x="x", m=["m", "m2"], y="y", n_boot=50,
                                seed=1).set_index("path")
    p = res.params
    np.testing.assert_allclose(p[["a::m", "a::m2", "direct", "total"]],
                               pgo.loc[["m ~ X", "m2 ~ X", "Direct", "Total"], "coef"], rtol=1e-8)
    np.testing.assert_allclose(res.std_errors[["a::m", "a::m2", "direct", "total"]],
                               pgo.loc[["m ~ X", "m2 ~ X", "Direct", "Total"], "se"], rtol=1e-8)
    np.testing.assert_allclose(p[["indirect::m", "indirect::m2"]],
                               pgo.loc[["Indirect m", "Indirect m2"], "coef"], rtol=1e-10)
    # OLS identity: total = direct + sum of the indirect effects
    np.testing.assert_allclose(p["total"], p["direct"] + p["indirect::total"], rtol=1e-10)
    assert res.proportion_mediated == pytest.approx(p["indirect::total"] / p["total"])


def test_percentile_bootstrap_agrees_with_pingouin_draws(cross_section):
    res = mediation(cross_section, x="x", m="m", y="y", covariates=["w"], n_boot=5000, seed=7)
    table, dist = pg.mediation_analysis(cross_section, x="x", m="m", y="y", covar="w",
                                        n_boot=5000, seed=1, return_dist=True)
    se = res.std_errors["indirect::m"]
    # two independent runs of 5,000 draws: bootstrap SEs within 5%, the 2.5% and 97.5%
    # quantiles within 0.2 bootstrap SE (about 4 Monte-Carlo SDs of their difference)
    assert se == pytest.approx(dist.std(ddof=1), rel=0.05)
    ci = res.tidy().set_index("term").loc["indirect::m", ["conf_low", "conf_high"]]
    np.testing.assert_allclose(ci.to_numpy(float), np.percentile(dist, [2.5, 97.5]), atol=0.2 * se)
    # on pingouin's own draws our bias-corrected interval is pingouin's, exactly
    indirect = table.set_index("path").loc["Indirect"]
    ours_bc = bs.bca_interval(dist[:, None], np.array([indirect["coef"]]), 0.95, 0.0)[0]
    np.testing.assert_allclose(ours_bc, indirect[["CI2.5", "CI97.5"]].to_numpy(float), rtol=1e-12)


# ------------------------------------------------ vectorised bootstrap and intervals


def test_vectorised_draws_equal_brute_force_resamples(cross_section):
    df = cross_section.iloc[:60].copy()
    df["firm_id"] = np.arange(60) // 4
    codes = df["firm_id"].to_numpy()
    cols = ["x", "w", "m", "y"]
    Z = df[cols].to_numpy()
    Z = np.column_stack([np.ones(len(Z)), Z - Z.mean(axis=0)])
    for groups in (np.arange(60), codes):  # rows, then clusters of 4 rows
        n_groups = int(groups.max()) + 1
        pieces = bs.cluster_moments(Z, groups, n_groups)
        draws = bootstrap_indirect(pieces, 1, 1, 25, np.random.default_rng(3))
        counts = bs.draw_counts(np.random.default_rng(3), n_groups, 25)
        for b in range(25):
            rows = np.repeat(np.arange(60), counts[b][groups])  # each row of a drawn cluster
            expected = brute_indirect(df.iloc[rows], covs=["w"])
            np.testing.assert_allclose(draws[b, 0], expected, rtol=1e-9)


def test_jackknife_acceleration_equals_delete_one_refits(cross_section):
    df = cross_section.iloc[:80].assign(firm_id=np.arange(80) // 5)
    res = mediation(df, x="x", m="m", y="y", covariates=["w"], cluster="firm_id", n_boot=50,
                    ci="bca")
    jack = np.array([brute_indirect(df[df["firm_id"] != g], covs=["w"]) for g in range(16)])
    d = jack.mean() - jack
    expected = (d**3).sum() / (6 * (d**2).sum() ** 1.5)
    np.testing.assert_allclose(res.bootstrap.acceleration, [expected], rtol=1e-8)
    # delete-one-row when not clustered
    Z = df[["x", "w", "m", "y"]].to_numpy()
    Z = np.column_stack([np.ones(80), Z - Z.mean(axis=0)])
    rows = jackknife_indirect(bs.cluster_moments(Z, np.arange(80), 80), 1, 1)[:, 0]
    np.testing.assert_allclose(rows, [brute_indirect(df.drop(index=i), covs=["w"])
                                      for i in range(80)], rtol=1e-9)
    assert bs.jackknife_acceleration(rows[:, None])[0] != 0


def test_bca_by_hand():
    draws = (np.arange(1000) / 1000)[:, None]
    # 841 of 1,000 draws lie below 0.8405: z0 = Phi^-1(0.841) = 0.998576. With a = 0.05
    # and 90%: z0 + (z0 -+ 1.644854) / (1 - a (z0 -+ 1.644854)) = 0.372538 and 4.044547,
    # whose Phi are 0.645250 and 0.999974; linear quantiles of 0..0.999 are 0.999 p.
    ci = bs.bca_interval(draws, np.array([0.8405]), 0.90, 0.05)[0]
    np.testing.assert_allclose(ci, [0.999 * 0.6452505, 0.999 * 0.9999738], rtol=1e-6)


def test_bca_equals_percentile_when_symmetric_and_centred():
    half = np.linspace(0.01, 3, 2000)
    draws = np.r_[1 - half, 1 + half][:, None]  # symmetric about the estimate 1
    np.testing.assert_allclose(bs.bca_interval(draws, np.array([1.0]), 0.95, 0.0),
                               bs.percentile_interval(draws, 0.95), rtol=1e-12)
    # acceleration bends the interval towards the long tail
    skewed = bs.bca_interval(draws, np.array([1.0]), 0.95, 0.1)[0]
    assert skewed[0] > bs.percentile_interval(draws, 0.95)[0, 0]


def test_bootstrap_p_value_convention():
    draws = np.r_[-np.ones(30), np.ones(969), np.nan][:, None]
    # 30 of the 999 successful draws are <= 0: p = 2 (30 + 1) / (999 + 1)
    assert bs.bootstrap_p_value(draws)[0] == pytest.approx(0.062)
    assert bs.bootstrap_p_value(np.ones((999, 1)))[0] == pytest.approx(0.002)  # never 0


# ------------------------------------------------------------- clustered firm panel


def test_cluster_bootstrap_is_wider_and_covers_on_a_firm_panel():
    rng = np.random.default_rng(5)
    big = simulate_panel(rng, n_firms=200, n_years=8)
    by_firm = mediation(big, x="x", m="m", y="y", cluster="firm_id", n_boot=999)
    by_row = mediation(big, x="x", m="m", y="y", n_boot=999)
    se_firm, se_row = by_firm.std_errors["indirect::m"], by_row.std_errors["indirect::m"]
    assert se_firm > 1.5 * se_row  # errors share firm components: rows are not independent
    assert by_firm.n_clusters == 200 and by_firm.bootstrap.n_clusters == 200
    assert by_firm.std_errors["a::m"] > 1.5 * by_row.std_errors["a::m"]
    # coverage of the true indirect effect 0.5 * 0.4 over 50 simulated panels
    hits = {"firm_id": 0, None: 0}
    for rep in range(50):
        df = simulate_panel(rng, n_firms=50, n_years=6)
        for cluster in hits:
            row = mediation(df, x="x", m="m", y="y", cluster=cluster, n_boot=299,
                            seed=rep).tidy().set_index("term").loc["indirect::m"]
            hits[cluster] += row["conf_low"] <= 0.2 <= row["conf_high"]
    assert hits["firm_id"] / 50 >= 0.84
    assert hits[None] / 50 <= hits["firm_id"] / 50 - 0.1  # the row bootstrap under-covers


# -------------------------------------------------------------- published references


def test_process_model4_parity(reference_data):
    """PROCESS 2.16.3 for SPSS, Model 4, two parallel mediators, HC3, 5,000 BC draws."""
    data = pd.read_csv(reference_data / "process_parity" / "Data_Model4.csv")
    res = mediation(data, x="x", m=["m1", "m2"], y="y", n_boot=5000, ci="bc", seed=1)
    hc3 = res.with_vcov("hc3").tidy().set_index("term")
    printed = load("process/model4")  # tests/reference/process
    paths = {"a::m1": ("m1", "x"), "a::m2": ("m2", "x"), "b::m1": ("y", "m1"),
             "b::m2": ("y", "m2"), "direct": ("y", "x")}
    for term, (outcome, label) in paths.items():
        values = printed["outcomes"][outcome]["model"][label][:3]  # coeff, se, t
        np.testing.assert_allclose(hc3.loc[term, ["estimate", "std_error", "statistic"]]
                                   .to_numpy(float), values, atol=0.00005 + 1e-9)
    np.testing.assert_allclose(hc3.loc["direct", ["conf_low", "conf_high"]].to_numpy(float),
                               printed["direct_effect"]["row"][4:], atol=0.00005)
    boot = res.tidy().set_index("term")
    terms = ["indirect::m1", "indirect::m2", "indirect::total"]
    indirect = printed["indirect_effects"]["rows"]  # Effect, Boot SE, BootLLCI, BootULCI
    rows = [indirect[label] for label in ("m1", "m2", "TOTAL")]
    np.testing.assert_allclose(boot.loc[terms, "estimate"], [r[0] for r in rows], atol=5e-5)
    # Monte-Carlo quantities: boot SE and bias-corrected bounds of 5,000 draws
    np.testing.assert_allclose(boot.loc[terms, "std_error"], [r[1] for r in rows], atol=0.003)
    np.testing.assert_allclose(boot.loc[terms, ["conf_low", "conf_high"]].to_numpy(float),
                               [r[2:] for r in rows], atol=0.012)


def test_hayes_estress(reference_data):
    """Hayes (2018), economic stress -> depressed affect -> withdrawal intentions (n = 262):
    sec. 3.5 (no covariates) and table 4.1 (covariates ese, sex, tenure), as printed
    (tests/reference/hayes/book.json)."""
    book = load("hayes/book")["estress"]
    data = pd.read_csv(reference_data / "hayes" / "estress.csv")
    plain = mediation(data, x="estress", m="affect", y="withdraw", n_boot=2000)
    terms = ["a::affect", "b::affect", "direct", "total", "indirect::affect"]
    paths = [book["no_covariates"][k] for k in ("a", "b", "c_prime", "c")]  # (b, se)
    np.testing.assert_allclose(plain.params[terms],
                               [p[0] for p in paths] + [book["no_covariates"]["ab"]], atol=5e-4)
    np.testing.assert_allclose(plain.std_errors[terms[:4]], [p[1] for p in paths], atol=5e-4)
    assert plain.nobs == 262 and plain.df_inference == 259
    low, high = plain.tidy().set_index("term").loc["indirect::affect", ["conf_low", "conf_high"]]
    assert 0.05 < low < 0.09 and 0.18 < high < 0.22
    adjusted = mediation(data, x="estress", m="affect", y="withdraw",
                         covariates=["ese", "sex", "tenure"], n_boot=2000)
    with_covariates = book["covariates"]
    np.testing.assert_allclose(adjusted.params[["a::affect", "b::affect", "indirect::affect"]],
                               [with_covariates[k] for k in ("a", "b", "ab")], atol=5e-4)
    assert adjusted.params["direct"] == pytest.approx(with_covariates["c_prime"], abs=6e-4)


# ------------------------------------------------------------------ result contract


def test_result_tidy_glance_and_vcov_choices(cross_section):
    df = cross_section.assign(firm_id=np.arange(len(cross_section)) // 10)
    res = mediation(df, x="x", m="m", y="y", covariates=["w"], n_boot=300, ci="bca", seed=3)
    tidy = res.tidy()
    assert list(tidy["term"]) == ["a::m", "b::m", "direct", "total", "indirect::m"]
    assert list(tidy.columns) == ["term", "estimate", "std_error", "statistic", "p_value",
                                  "conf_low", "conf_high", "path", "mediator", "equation"]
    ind = tidy.set_index("term").loc["indirect::m"]
    np.testing.assert_allclose([ind["conf_low"], ind["conf_high"]],
                               res.bootstrap.interval(0.95)[0])
    assert ind["std_error"] == pytest.approx(np.std(res.indirect_draws["indirect::m"], ddof=1))
    # paths: t intervals on their own equation's df (n - 3 for a, n - 4 for b and c')
    assert res.path_df["a::m"] == 497 and res.path_df["b::m"] == 496
    narrow = res.tidy(conf_level=0.5).set_index("term")
    assert narrow.loc["indirect::m", "conf_high"] < ind["conf_high"]
    glance = res.glance().iloc[0]
    assert (glance["n_boot"], glance["seed"], glance["ci_method"], glance["nobs"]) == (
        300, 3, "bca", 500)
    assert glance["n_clusters"] is None and res.vcov == "iid"
    hc3 = res.with_vcov("hc3")
    assert hc3.std_errors["indirect::m"] == res.std_errors["indirect::m"]
    assert hc3.std_errors["a::m"] != res.std_errors["a::m"]
    with pytest.raises(SpecificationError, match="cluster='firm_id'"):
        res.with_vcov(Cluster("firm_id"))
    clustered = mediation(df, x="x", m="m", y="y", cluster="firm_id", n_boot=100)
    assert clustered.vcov == Cluster("firm_id") and clustered.n_clusters == 50
    assert clustered.path_df["a::m"] == 49 and clustered.df_inference == 49
    with pytest.raises(SpecificationError, match="refit with cluster=None"):
        clustered.with_vcov("hc1")
    assert "indirect::m" in res.summary()


def test_missing_rows_are_dropped_and_counted(cross_section):
    df = cross_section.copy()
    df.loc[[1, 2, 3], "m"] = np.nan
    df.loc[[3, 4], "w"] = np.nan
    res = mediation(df, x="x", m="m", y="y", covariates=["w"], n_boot=100)
    assert res.nobs == 496
    assert "4 of 500 rows have a missing value (by column: m (3), w (2))" in res.notes[0]
    complete = mediation(df.dropna(), x="x", m="m", y="y", covariates=["w"], n_boot=100)
    pd.testing.assert_series_equal(res.params, complete.params)


def test_failed_draws_are_counted():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=40), "rare": np.r_[1.0, 1.0, np.zeros(38)]})
    df["m"] = 0.5 * df["x"] + rng.normal(size=40)
    df["y"] = 0.5 * df["m"] + rng.normal(size=40)
    res = mediation(df, x="x", m="m", y="y", covariates=["rare"], n_boot=400)
    failed = res.glance().iloc[0]["n_failed_draws"]
    assert 20 < failed < 400  # resamples without either 'rare' row
    assert f"{failed:,} of 400 bootstrap draws failed" in res.notes[0]
    assert np.isfinite(res.tidy()[["std_error", "conf_low", "conf_high"]].to_numpy()).all()


def test_errors_name_the_column(cross_section):
    with pytest.raises(SpecificationError, match="'xx' is not in the data; did you mean 'x'"):
        mediation(cross_section, x="xx", m="m", y="y")
    with pytest.raises(SpecificationError, match="cluster column 'firm' .*did you mean"):
        mediation(cross_section.assign(firm_id=1), x="x", m="m", y="y", cluster="firm")
    with pytest.raises(SpecificationError, match="more than one role"):
        mediation(cross_section, x="x", m="m", y="y", covariates=["m"])
    with pytest.raises(SpecificationError, match="not numeric"):
        mediation(cross_section.assign(w="a"), x="x", m="m", y="y", covariates=["w"])
    with pytest.raises(SpecificationError, match="ci must be"):
        mediation(cross_section, x="x", m="m", y="y", ci="normal")
    with pytest.raises(SpecificationError, match="constant or collinear"):
        mediation(cross_section.assign(m3=cross_section["x"] * 2), x="x", m="m3", y="y")


def test_lazy_export():
    assert ipnstats.mediation is mediation
