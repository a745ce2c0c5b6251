"""Krippendorff's alpha against Krippendorff's (2011) worked example; Cohen's kappa
against R psych 2.2.9 and scikit-learn; edge cases."""

import numpy as np
import pandas as pd
import pytest
from reference import load
from sklearn.metrics import cohen_kappa_score

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.measurement.agreement import cohen_kappa, krippendorff_alpha

KRIPP = load("agreement/krippendorff")
KAPPA = load("agreement/kappa")


def coders():
    return pd.DataFrame({k: pd.array(v, dtype="Float64") for k, v in KRIPP["coders"].items()})


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_reproduces_krippendorffs_worked_example(level):
    res = krippendorff_alpha(coders(), list("ABCD"), measurement=level)
    assert round(res.alpha, 3) == KRIPP["alpha"][level]
    assert (res.n_units, res.n_values) == (11, 40)  # unit 12 has one value: not pairable
    assert res.has_note("missing_dropped")


def test_alpha_nominal_takes_labels_and_is_one_for_perfect_agreement():
    labels = coders().apply(lambda c: c.map({1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}))
    assert krippendorff_alpha(labels, list("ABCD")).alpha == pytest.approx(0.7434210526)
    same = pd.DataFrame({"x": [1, 2, 3, 1], "y": [1, 2, 3, 1]})
    assert krippendorff_alpha(same, ["x", "y"], measurement="interval").alpha == 1.0


def test_alpha_edge_cases():
    const = pd.DataFrame({"x": [2, 2, 2], "y": [2, 2, 2]})
    res = krippendorff_alpha(const, ["x", "y"])
    assert np.isnan(res.alpha) and res.has_note("constant_item")
    with pytest.raises(DataError, match="two coders"):
        krippendorff_alpha(pd.DataFrame({"x": [1, None], "y": [None, 2]}), ["x", "y"])
    with pytest.raises(SpecificationError, match="unknown level"):
        krippendorff_alpha(const, ["x", "y"], measurement="ratio-ish")
    with pytest.raises(SpecificationError, match="at least two coder"):
        krippendorff_alpha(const, ["x"])
    with pytest.raises(DataError, match="'x' holds 'a'"):
        krippendorff_alpha(pd.DataFrame({"x": ["a", 1], "y": [1, 2]}), ["x", "y"],
                           measurement="interval")


@pytest.fixture(scope="module")
def ratings():
    from pathlib import Path
    return pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "agreement"
                       / "kappa_ratings.csv")


@pytest.mark.parametrize(("weights", "key", "sk"), [(None, "unweighted", None),
                                                    ("linear", "linear", "linear"),
                                                    ("quadratic", "quadratic", "quadratic")])
def test_kappa_matches_psych_and_sklearn(ratings, weights, key, sk):
    res = cohen_kappa(ratings, "rater1", "rater2", weights=weights)
    assert res.n == KAPPA["n"] and res.has_note("missing_dropped")
    assert res.kappa == pytest.approx(KAPPA[key], abs=1e-12)
    both = ratings.dropna()
    assert res.kappa == pytest.approx(cohen_kappa_score(both.rater1, both.rater2, weights=sk),
                                      abs=1e-12)


def test_unweighted_se_and_interval_match_psych(ratings):
    res = cohen_kappa(ratings, "rater1", "rater2")
    assert res.std_error ** 2 == pytest.approx(KAPPA["var_unweighted"], rel=1e-10)
    assert (res.conf_low, res.kappa, res.conf_high) == pytest.approx(KAPPA["confid"], rel=1e-10)
    tidy = res.tidy().iloc[0]
    assert tidy["term"] == "kappa" and tidy["p_value"] < 0.01


def _weighted_kappa(pairs, weights):
    """Weighted kappa of 1-5 ratings (rows: rater 1, rater 2), in numpy."""
    p = np.bincount((pairs[:, 0] - 1) * 5 + pairs[:, 1] - 1, minlength=25).reshape(5, 5)
    p = p / p.sum()
    power = 2 if weights == "quadratic" else 1
    d = np.abs(np.subtract.outer(np.arange(5), np.arange(5))) ** power
    return 1 - np.sum(d * p) / np.sum(d * np.outer(p.sum(1), p.sum(0)))


def test_weighted_se_agrees_with_a_bootstrap_not_psych(ratings):
    """psych 2.2.9's weighted variance differs from Fleiss, Cohen & Everitt (1969);
    a row bootstrap of these 58 rows sides with ours."""
    both = ratings.dropna().to_numpy(int)
    rng = np.random.default_rng(7)
    for weights, psych_var in (("quadratic", KAPPA["psych_var_weighted_quadratic"]),
                               ("linear", None)):
        se = cohen_kappa(ratings, "rater1", "rater2", weights=weights).std_error
        draws = [_weighted_kappa(both[rng.integers(0, len(both), len(both))], weights)
                 for _ in range(2000)]
        assert np.std(draws) == pytest.approx(se, rel=0.1)
        if psych_var is not None:
            assert abs(np.std(draws) - np.sqrt(psych_var)) > abs(np.std(draws) - se)


def test_identity_weights_reduce_to_unweighted_se(ratings):
    from ipnstats.estimators.measurement.agreement import _kappa_se
    both = ratings.dropna()
    tab = pd.crosstab(both.rater1, both.rater2).to_numpy() / len(both)
    assert _kappa_se(tab, np.eye(5), len(both)) == pytest.approx(
        np.sqrt(KAPPA["var_unweighted"]), rel=1e-10)


def test_two_by_two_and_categories():
    tb = KAPPA["two_by_two"]
    d = pd.DataFrame({"a": tb["a"], "b": tb["b"]})
    assert cohen_kappa(d, "a", "b").kappa == pytest.approx(tb["kappa"], abs=1e-12)
    # numbers sort numerically (psych sorts labels as text: 10 before 2)
    d10 = pd.DataFrame({"a": [1, 2, 10, 10, 2], "b": [1, 10, 10, 2, 2]})
    res = cohen_kappa(d10, "a", "b", weights="linear")
    assert list(res.table.index) == [1, 2, 10]
    assert res.kappa == pytest.approx(cohen_kappa_score(d10.a, d10.b, weights="linear"))
    wide = cohen_kappa(d10, "a", "b", weights="linear", categories=[1, 2, 5, 10])
    assert wide.kappa != res.kappa  # an unused category in between changes the distances
    with pytest.raises(DataError, match="not among categories"):
        cohen_kappa(d10, "a", "b", categories=[1, 2])
    with pytest.raises(DataError, match="single category"):
        cohen_kappa(pd.DataFrame({"a": [1, 1], "b": [1, 1]}), "a", "b")
    with pytest.raises(SpecificationError, match="did you mean 'b'"):
        cohen_kappa(d10, "a", "B")
    with pytest.raises(SpecificationError, match="unknown weights"):
        cohen_kappa(d10, "a", "b", weights="cubic")
