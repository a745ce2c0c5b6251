"""htmt against semTools 0.5.6 on Holzinger & Swineford (1939); the model parser;
Fornell-Larcker; the marker correction and early-vs-late tests against base R
(tests/reference/semtools, tests/reference/measurement)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference import load
from semopy.examples import holzinger39

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.measurement.marker import marker_correction, marker_correction_matrix
from ipnstats.estimators.measurement.nonresponse import early_late
from ipnstats.estimators.measurement.validity import (
    classify_htmt,
    fornell_larcker,
    htmt,
    parse_measurement_model,
)

MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
HTMT = load("semtools/htmt")
HS = load("measurement/hs_checks")


@pytest.fixture(scope="module")
def hs():
    data = holzinger39.get_data()
    assert len(data) == 301
    return data


def ref(name):
    return np.array(HTMT[name], dtype=float)


@pytest.mark.parametrize(("kwargs", "name"), [({}, "htmt2"), ({"htmt2": False}, "htmt"),
                                              ({"htmt2": False, "absolute": False}, "htmt_signed")])
def test_htmt_matches_semtools(hs, kwargs, name):
    out = htmt(hs, MODEL, **kwargs)
    assert list(out.index) == list(out.columns) == HTMT["factors"]
    np.testing.assert_allclose(out.to_numpy(), ref(name), rtol=1e-12)


def test_htmt_done_when(hs):
    out = htmt(hs, MODEL, htmt2=False)
    assert [round(out.loc[a, b], 3) for a, b in [("visual", "textual"), ("visual", "speed"),
                                                 ("textual", "speed")]] == [0.424, 0.467, 0.290]


def test_htmt_reversed_item_and_absolute(hs):
    rev = hs.assign(x5=-hs["x5"])
    signed = htmt(rev, MODEL, htmt2=False, absolute=False).to_numpy()
    np.testing.assert_allclose(signed, ref("reversed_x5_signed"), rtol=1e-12)  # NaN and -1 too
    np.testing.assert_allclose(htmt(rev, MODEL, htmt2=False).to_numpy(),
                               ref("reversed_x5_absolute"), rtol=1e-12)


def test_htmt_listwise_deletion(hs):
    cells = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "semtools"
                        / "htmt_missing_cells.csv")
    data = hs.copy()
    for row, col in cells.itertuples(index=False):
        data.loc[data.index[row - 1], col] = np.nan
    np.testing.assert_allclose(htmt(data, MODEL).to_numpy(), ref("missing_listwise"), rtol=1e-12)


def test_model_as_dict_and_parser():
    assert parse_measurement_model(MODEL) == {"visual": ["x1", "x2", "x3"],
                                              "textual": ["x4", "x5", "x6"],
                                              "speed": ["x7", "x8", "x9"]}
    text = """# a comment
    f1 =~ NA*a + 1*b   # pre-multipliers
    f1 =~ c
    f2 =~ d + e
    f1 ~~ f2"""
    assert parse_measurement_model(text) == {"f1": ["a", "b", "c"], "f2": ["d", "e"]}
    assert parse_measurement_model({"f": "a"}) == {"f": ["a"]}
    for bad in ["", "# only a comment", "f1 =~ a + ", "just words", "f =~ a b"]:
        with pytest.raises(SpecificationError):
            parse_measurement_model(bad)


def test_htmt_errors(hs):
    with pytest.raises(SpecificationError, match="'X1' is not a column.*did you mean 'x1'"):
        htmt(hs, "v =~ X1 + x2 + x3; t =~ x4 + x5")
    with pytest.raises(DataError, match="'c' does not vary"):
        htmt(hs.assign(c=1.0), "v =~ x1 + c; t =~ x4 + x5")
    with pytest.raises(DataError, match="holds 'a'"):
        htmt(hs.assign(x1=["a"] + [1.0] * 300), MODEL)
    one = htmt(hs, "v =~ x1; t =~ x4 + x5")  # one indicator: NaN, as semTools
    assert np.isnan(one.loc["v", "t"]) and np.isfinite(one.loc["t", "t"])


def test_classify_htmt_thresholds():
    t = pd.DataFrame([[1, .84, .87], [.84, 1, .95], [.87, .95, 1]],
                     index=list("ABC"), columns=list("ABC"))
    v = classify_htmt(t).set_index(["factor_a", "factor_b"])["verdict"]
    assert v[("A", "B")] == "below strict" and v[("A", "C")] == "below liberal"
    assert v[("B", "C")] == "not discriminant"
    with pytest.raises(SpecificationError):
        classify_htmt(t, (0.9, 0.85))


def test_fornell_larcker():
    corr = pd.DataFrame([[1, .3, .75], [.3, 1, .2], [.75, .2, 1]],
                        index=list("ABC"), columns=list("ABC"))
    fl = fornell_larcker({"A": 0.64, "B": 0.5, "C": 0.49}, corr)
    assert fl.table.loc["A", "A"] == pytest.approx(0.8) and np.isnan(fl.table.loc["A", "C"])
    assert fl.table.loc["C", "A"] == 0.75
    flagged = fl.pairs[fl.pairs["exceeds"]][["factor_a", "factor_b"]].values.tolist()
    assert flagged == [["A", "C"]] and not fl.passed  # .75 > sqrt(.49) = .7
    with pytest.raises(SpecificationError, match="'D'"):
        fornell_larcker({"D": 0.5}, corr)
    with pytest.raises(DataError, match="AVE"):
        fornell_larcker({"A": 1.5}, corr)


def test_marker_correction_matches_lindell_whitney_in_r(hs):
    res = marker_correction(hs, ["x1", "x4", "x7"], marker="agemo")
    assert res.r_m == pytest.approx(HS["marker"]["r_m"], rel=1e-12) and res.n == 301
    for got, want in zip(res.pairs.itertuples(), HS["marker"]["pairs"], strict=True):
        assert (got.var_a, got.var_b) == (want["var_a"], want["var_b"])
        for key in ("r", "r_adjusted", "statistic", "p_value"):
            assert getattr(got, key) == pytest.approx(want[key], rel=1e-9), key
    assert res.tidy()["term"].tolist() == ["x1~x4", "x1~x7", "x4~x7"]
    m = res.corrected_matrix()
    assert m.loc["x7", "x4"] == m.loc["x4", "x7"] == res.pairs.loc[2, "r_adjusted"]


def test_marker_correction_options_and_errors():
    r = pd.DataFrame([[1, .5, -.1], [.5, 1, -.2], [-.1, -.2, 1]],
                     index=list("abm"), columns=list("abm"))
    with pytest.raises(DataError, match="no positive correlation"):
        marker_correction_matrix(r, n=100, marker="m")
    res = marker_correction_matrix(r, n=100, marker="m", r_m=0.1)
    assert res.pairs.loc[0, "r_adjusted"] == pytest.approx(0.4 / 0.9)
    assert res.pairs.loc[0, "df"] == 97
    assert len(marker_correction_matrix(r, n=100, r_m=0.1).pairs) == 3  # no marker to drop
    with pytest.raises(SpecificationError, match="marker="):
        marker_correction_matrix(r, n=100)
    with pytest.raises(SpecificationError, match="n must be"):
        marker_correction_matrix(r, n=3, r_m=0.1)
    with pytest.raises(SpecificationError, match="r_m"):
        marker_correction_matrix(r, n=50, r_m=1.0)


def test_early_late_matches_r(hs):
    res = early_late(hs, ["x1", "x4", "x7", "sex"], order="id", categorical=["sex"])
    t = res.tests.set_index("variable")
    assert res.n_early == res.n_late == 75
    for want in HS["welch"]:
        row = t.loc[want["variable"]]
        assert row["test"] == "welch_t"
        for key in ("statistic", "df", "p_value"):
            assert row[key] == pytest.approx(want[key], rel=1e-9), key
    assert t.loc["sex", "statistic"] == pytest.approx(HS["chisq_sex"]["statistic"], rel=1e-9)
    assert t.loc["sex", "p_value"] == pytest.approx(HS["chisq_sex"]["p_value"], rel=1e-9)
    np.testing.assert_allclose(t["p_adjusted"], HS["holm_x1_x4_x7_sex"], rtol=1e-9)
    grade = early_late(hs, ["grade"], order="id", categorical=["grade"]).tests.iloc[0]
    assert grade["statistic"] == pytest.approx(HS["chisq_grade"]["statistic"], rel=1e-9)
    assert res.tidy().loc[0, "estimate"] == pytest.approx(t.loc["x1", "mean_late"]
                                                          - t.loc["x1", "mean_early"])


def test_early_late_waves_and_errors(hs):
    d = hs.assign(wave=np.where(hs["id"] < 150, "first", "second"))
    res = early_late(d, ["x1"], order="wave", waves=("first", "second"))
    assert res.n_early + res.n_late == 301
    with pytest.raises(DataError, match="wave 'third'"):
        early_late(d, ["x1"], order="wave", waves=("first", "third"))
    with pytest.raises(SpecificationError, match="share= or waves="):
        early_late(d, ["x1"], order="wave", share=0.2, waves=("first", "second"))
    with pytest.raises(SpecificationError, match="share"):
        early_late(hs, ["x1"], order="id", share=0.7)
    with pytest.raises(DataError, match="fewer than 2"):
        early_late(hs.head(5), ["x1"], order="id", share=0.2)
    with pytest.raises(SpecificationError, match="categorical 'sex'"):
        early_late(hs, ["x1"], order="id", categorical=["sex"])
    with pytest.raises(SpecificationError, match="did you mean 'x1'"):
        early_late(hs, ["X1"], order="id")
    with pytest.raises(DataError, match="'school' holds .* categorical="):
        early_late(hs, ["school"], order="id")
