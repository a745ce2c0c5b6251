"""H1d practice_effects and H1e heterogeneity: simulated truth (data/example/truth.toml),
hand-computed Wald tests, and influence-function SEs of subgroup differences on small
hand-built panels."""


import numpy as np
import pandas as pd
import pytest
from conftest import covers_truth
from scipy import stats

from ipnstats import SpecificationError
from ipnstats.estimators.did import participation_effect
from ipnstats.ipn.practices import PracticeResult, heterogeneity, practice_effects

PRACTICES = ("attendance_rate", "disclosure_rate", "critiques", "benchmark_rank_pct")


@pytest.fixture(scope="module")
def raw(study):
    return practice_effects(study.firm_year)


@pytest.fixture(scope="module")
def hetero(study):
    return heterogeneity(study.firm_year, firms=study.tables["firms"])


def _covers(row, value):
    return covers_truth(row, value)  # 99.9%: one draw (see conftest.covers_truth)


# --- H1d ----------------------------------------------------------------------------------

def test_practice_coefficients_cover_truth(raw, truth):
    tidy = raw.tidy().set_index("term")
    assert list(tidy.index) == list(PRACTICES)
    for term in PRACTICES:
        assert _covers(tidy.loc[term], truth["H1d"][term]["value"]), term
    assert raw.fixed_effects == ("firm_id", "year")
    assert raw.nobs == 3039  # member years with every practice present
    assert raw.cooperative == PRACTICES[:2] and raw.competitive == PRACTICES[2:]


def _hand_wald(res, R):
    """F = (Rb)'(R V R')^-1 (Rb) / J and its p-value with the model's t df."""
    R = np.atleast_2d(R)
    b, V = res.params.to_numpy(), res.cov.to_numpy()
    diff = R @ b
    w = float(diff @ np.linalg.solve(R @ V @ R.T, diff))
    j = R.shape[0]
    return w / j, float(stats.f.sf(w / j, j, res.df_inference))


@pytest.mark.parametrize("standardize", [False, True])
def test_block_tests_equal_hand_computation(study, standardize):
    res = practice_effects(study.firm_year, standardize=standardize)
    eye = np.eye(4)
    hypotheses = [eye[[0, 1]], eye[[2, 3]], np.array([0.5, 0.5, -0.5, -0.5]),
                  eye[[0, 1]] - eye[[2, 3]]]
    tests = res.block_tests()
    assert len(tests) == 4
    for (_, row), R in zip(tests.iterrows(), hypotheses, strict=True):
        f, p = _hand_wald(res, R)
        assert row["statistic"] == pytest.approx(f, rel=1e-10)
        assert row["p_value"] == pytest.approx(p, rel=1e-8)
        assert row["df_denom"] == res.df_inference == res.n_clusters - 1


def test_block_contrast_matches_equality_test(raw):
    contrast = raw.block_contrast().set_index("term")
    diff = contrast.loc["cooperative - competitive"]
    assert diff["estimate"] == pytest.approx(raw.params[:2].mean() - raw.params[2:].mean())
    equal = raw.block_tests().iloc[2]
    assert diff["statistic"] ** 2 == pytest.approx(equal["statistic"], rel=1e-10)


def test_standardize_rescales_coefficients_only(study, raw):
    std = practice_effects(study.firm_year, standardize=True)
    fy = study.firm_year
    sample = fy[fy["member"] == 1].dropna(subset=["log_revenue", *PRACTICES])
    for p in PRACTICES:
        assert std.scales[p] == pytest.approx(sample[p].std(), rel=1e-12)
        assert raw.scales[p] == 1.0
        assert std.params[p] == pytest.approx(raw.params[p] * std.scales[p], rel=1e-8)
    np.testing.assert_allclose(std.tidy()["statistic"], raw.tidy()["statistic"], rtol=1e-8)
    np.testing.assert_allclose(std.block_tests()["statistic"][:2],
                               raw.block_tests()["statistic"][:2], rtol=1e-8)
    assert std.standardized and not raw.standardized
    assert "Block tests" in std.summary() and "mean cooperative" in str(std)
    assert not any("own units" in n for n in std.notes)
    assert any("own units" in n for n in raw.notes)


def test_with_vcov_refreshes_block_tests(raw):
    hc1 = raw.with_vcov("hc1")
    assert isinstance(hc1, PracticeResult)
    assert hc1.cooperative == raw.cooperative
    f, _ = _hand_wald(hc1, np.eye(4)[[0, 1]])
    assert hc1.block_tests()["statistic"][0] == pytest.approx(f, rel=1e-10)
    assert hc1.block_tests()["statistic"][0] != pytest.approx(raw.block_tests()["statistic"][0])


def test_unequal_blocks_have_no_elementwise_test(study):
    res = practice_effects(study.firm_year, competitive=("critiques",))
    tests = res.block_tests()
    assert len(tests) == 3
    f, _ = _hand_wald(res, np.array([0.5, 0.5, -1.0]))
    assert tests["statistic"][2] == pytest.approx(f, rel=1e-10)


def test_practice_errors(study):
    fy = study.firm_year
    with pytest.raises(SpecificationError, match="'critiques' is not in the data"):
        practice_effects(fy.drop(columns="critiques"))
    with pytest.raises(SpecificationError, match="'log_revnue' is not in the data"):
        practice_effects(fy, outcome="log_revnue")
    with pytest.raises(SpecificationError, match="appear once"):
        practice_effects(fy, competitive=("critiques", "attendance_rate"))
    with pytest.raises(SpecificationError, match="at least one"):
        practice_effects(fy, cooperative=())
    with pytest.raises(SpecificationError, match="never 1"):
        practice_effects(fy.assign(member=0))


# --- H1e ----------------------------------------------------------------------------------

def test_heterogeneity_covers_truth(hetero, truth):
    tidy = hetero.tidy().set_index("term")
    young = tidy.loc["member:young_join"]
    assert young["estimate"] > 0 and _covers(young, truth["H1e"]["young_join"]["value"])
    assert _covers(tidy.loc["member:small_join"], truth["H1e"]["small_join"]["value"])
    diff = tidy.loc["ATT[young_join=1] - ATT[young_join=0]"]
    true_diff = truth["H1e"]["att_young_join"]["value"] - truth["H1e"]["att_old_join"]["value"]
    assert diff["estimate"] > 0 and _covers(diff, true_diff)
    assert diff["estimate"] == pytest.approx(tidy.loc["ATT[young_join=1]", "estimate"]
                                             - tidy.loc["ATT[young_join=0]", "estimate"])
    assert set(hetero.tidy()["model"]) == {"subgroup_att", "interaction"}
    assert hetero.definitions["small_join"] == "small_join: employees_baseline < 10"


def test_subgroup_se_equals_participation_effect(study, hetero):
    """Each subgroup ATT and SE is participation_effect's on that subsample."""
    fy = study.firm_year
    firms = study.tables["firms"]
    young = (fy["cohort"] - fy["founded_year"] < 5) & (fy["cohort"] > 0)
    sub = fy[(fy["cohort"] == 0) | young]
    direct = participation_effect(sub, outcome="log_revenue", unit="firm_id", time="year",
                                  cohort="cohort", n_boot=0)
    tidy = hetero.subgroups.tidy().set_index("term").loc["ATT[young_join=1]"]
    assert tidy["estimate"] == pytest.approx(direct.params["ATT"], rel=1e-12)
    assert tidy["std_error"] == pytest.approx(direct.std_errors["ATT"], rel=1e-10)
    small = firms.set_index("firm_id")["employees_baseline"] < 10
    assert hetero.n_treated["ATT[small_join=1]"] <= int(small.sum())


def _panel(dy_treated: dict[str, list[float]], n_never: int, rng) -> pd.DataFrame:
    """Two periods (1, 2); treated units join in period 2, ``flag`` marks their subgroup."""
    rows = []
    for flag, changes in dy_treated.items():
        for i, dy in enumerate(changes):
            y0 = rng.normal()
            rows += [(f"{flag}{i}", 1, y0, 2, 0, int(flag == "a")),
                     (f"{flag}{i}", 2, y0 + dy, 2, 1, int(flag == "a"))]
    for i in range(n_never):
        y0 = rng.normal()
        rows += [(f"c{i}", 1, y0, 0, 0, 0), (f"c{i}", 2, y0 + rng.normal(), 0, 0, 0)]
    return pd.DataFrame(rows, columns=["firm_id", "year", "y", "cohort", "member", "flag"])


def test_difference_se_shared_controls_cancel():
    """a - b = mean dY_a - mean dY_b: the shared never-treated controls drop out."""
    rng = np.random.default_rng(1)
    changes = {"a": list(rng.normal(1.0, 1.0, 7)), "b": list(rng.normal(0.0, 2.0, 9))}
    data = _panel(changes, 11, rng)
    res = heterogeneity(data, outcome="y", by=("flag",)).subgroups
    a, b = np.array(changes["a"]), np.array(changes["b"])
    se = np.sqrt(a.var() / a.size + b.var() / b.size)
    diff = "ATT[flag=1] - ATT[flag=0]"
    assert res.params[diff] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert res.std_errors[diff] == pytest.approx(se, rel=1e-10)
    se_a, se_b = res.std_errors["ATT[flag=1]"], res.std_errors["ATT[flag=0]"]
    assert res.std_errors[diff] < np.hypot(se_a, se_b)  # the controls' part cancels


def test_difference_se_without_shared_controls_is_pythagorean():
    """No never-treated firms: each subgroup's controls are its own later joiners, the
    two samples are disjoint and Var(a - b) = Var(a) + Var(b)."""
    rng = np.random.default_rng(2)
    rows = []
    for flag in (1, 0):
        for i in range(12):
            cohort = 3 if i < 5 else 4
            ys = rng.normal(size=4).cumsum() + (0.5 * flag) * (np.arange(1, 5) >= cohort)
            rows += [(f"{flag}-{i}", t, ys[t - 1], cohort, int(t >= cohort), flag)
                     for t in (1, 2, 3, 4)]
    data = pd.DataFrame(rows, columns=["firm_id", "year", "y", "cohort", "member", "flag"])
    res = heterogeneity(data, outcome="y", by=("flag",)).subgroups
    se = res.std_errors
    assert se["ATT[flag=1] - ATT[flag=0]"] == pytest.approx(
        np.hypot(se["ATT[flag=1]"], se["ATT[flag=0]"]), rel=1e-12)
    assert res.cov.loc["ATT[flag=1]", "ATT[flag=0]"] == 0.0


def test_small_join_falls_back_to_employees_before_joining():
    rng = np.random.default_rng(3)
    data = _panel({"a": [1.0, 2.0, 0.5], "b": [0.0, 0.3, -0.2]}, 4, rng)
    emp = {"a0": 5, "a1": 50, "a2": 8, "b0": 30, "b1": 2, "b2": 12}
    data["employees"] = data["firm_id"].map(emp).fillna(20).where(data["year"] == 1, 99)
    res = heterogeneity(data, outcome="y", by=("small_join",))
    assert "year before joining" in res.definitions["small_join"]
    assert res.n_treated == {"ATT[small_join=1]": 3, "ATT[small_join=0]": 3}


def test_heterogeneity_errors(study):
    fy = study.firm_year
    with pytest.raises(SpecificationError, match="moderator 'size_class' is not in the data"):
        heterogeneity(fy, by=("size_class",))
    with pytest.raises(SpecificationError, match="varies within"):
        heterogeneity(fy, by=("tenure",))
    with pytest.raises(SpecificationError, match="0/1"):
        heterogeneity(fy, by=("founded_year",))
    with pytest.raises(SpecificationError, match="founded_year"):
        heterogeneity(fy.drop(columns="founded_year"), by=("young_join",))
    with pytest.raises(SpecificationError, match="'log_revnue' is not in the data"):
        heterogeneity(fy, outcome="log_revnue")


def test_subgroup_without_joiners_is_not_estimable():
    rng = np.random.default_rng(4)
    data = _panel({"a": [1.0, 2.0, 0.5]}, 4, rng)
    res = heterogeneity(data, outcome="y", by=("flag",))
    tidy = res.subgroups.tidy().set_index("term")
    assert np.isfinite(tidy.loc["ATT[flag=1]", "std_error"])
    assert tidy.loc[["ATT[flag=0]", "ATT[flag=1] - ATT[flag=0]"]].isna().all().all()
    assert any("no joiners have flag = 0" in n for n in res.subgroups.notes)
    assert res.n_treated["ATT[flag=0]"] == 0


def test_practice_without_within_variation(study):
    fy = study.firm_year
    constant = fy.groupby("firm_id", observed=True)["critiques"].transform("mean")
    with pytest.raises(SpecificationError, match=r"\['critiques'\] never change within a firm"):
        practice_effects(fy.assign(critiques=constant))
