"""The simulated surveys' measurement model: congeneric loadings, a weak trust item and a
common method factor, recorded in truth.toml's [measurement] and visible in the data."""

import itertools
import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from ipnstats.cli import main
from ipnstats.core.errors import SpecificationError
from ipnstats.simulate import simulate_study
from ipnstats.simulate.common import SCALES

SEED = 20211207
N_FIRMS = 1500  # about 17 000 written survey responses
METHOD = 0.35
SCALE_OF = {prefix: name for name, _label, prefix, _rev in SCALES}


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """The same seed without and with the method factor."""
    root = tmp_path_factory.mktemp("measurement")
    return {m: simulate_study(root / f"m{m}", n_firms=N_FIRMS, seed=SEED, method_factor=m)
            for m in (0.0, METHOD)}


def _truth(folder) -> dict:
    return tomllib.loads((folder / "truth.toml").read_text())["measurement"]


def _scored_items(folder) -> pd.DataFrame:
    """The 20 items of surveys.csv in the scored direction (reverse-coded: 8 - answer)."""
    surveys = pd.read_csv(folder / "surveys.csv")
    items = {}
    for _name, _label, prefix, rev in SCALES:
        for j in range(1, 6):
            column = surveys[f"{prefix}_{j}"].astype(float)
            items[f"{prefix}_{j}"] = 8 - column if j == rev else column
    return pd.DataFrame(items)


def _cross_pairs(columns):
    return [(a, b) for a, b in itertools.combinations(columns, 2)
            if a.split("_")[0] != b.split("_")[0]]


def _implied_cross_correlation(meas: dict, method: float) -> float:
    """Mean over item pairs of different scales of the correlation the truth implies.

    Latents of different scales are independent, so two such items share only the
    method term: covariance method^2, each variance (loading * latent_sd)^2 + method^2
    + item_noise_sd^2, plus 1/12 for rounding to whole answers (Sheppard).
    """
    var = {item: (lam * meas["latent_sd"][SCALE_OF[item.split("_")[0]]]) ** 2 + method ** 2
           + meas["item_noise_sd"] ** 2 + 1 / 12 for item, lam in meas["loadings"].items()}
    return float(np.mean([method ** 2 / math.sqrt(var[a] * var[b])
                          for a, b in _cross_pairs(meas["loadings"])]))


def _mean_cross_correlation(items: pd.DataFrame) -> float:
    corr = items.corr()
    return float(np.mean([corr.loc[a, b] for a, b in _cross_pairs(items.columns)]))


def test_truth_records_the_measurement_model(studies):
    meas = _truth(studies[METHOD])
    assert meas["method_factor"] == METHOD and meas["item_noise_sd"] == 0.9
    assert _truth(studies[0.0])["method_factor"] == 0.0
    items = [f"{prefix}_{j}" for _n, _l, prefix, _r in SCALES for j in range(1, 6)]
    for table in ("loadings", "standardized_loadings"):
        assert sorted(meas[table]) == sorted(items)
    assert sorted(meas["latent_sd"]) == sorted(meas["centre"]) == sorted(SCALE_OF.values())
    assert meas["reverse_coded"] == [f"{p}_{r}" for _n, _l, p, r in SCALES]
    for prefix, name in SCALE_OF.items():
        lams = [meas["loadings"][f"{prefix}_{j}"] for j in range(1, 6)]
        assert len(set(lams)) > 1  # congeneric, not tau-equivalent
        if name != "trust":  # the scale score keeps its expected relation to the latent
            assert sum(lams) / 5 == pytest.approx(1.0, abs=1e-12)
        assert 0.8 < meas["latent_sd"][name] < 1.1
    for item, lam in meas["loadings"].items():
        sd = meas["latent_sd"][SCALE_OF[item.split("_")[0]]]
        true = lam * sd / math.sqrt((lam * sd) ** 2 + METHOD ** 2 + 0.9 ** 2)
        assert meas["standardized_loadings"][item] == pytest.approx(true, abs=1e-6)
    weak = min(meas["standardized_loadings"], key=meas["standardized_loadings"].get)
    assert weak.startswith("tr_") and 0.35 <= meas["standardized_loadings"][weak] <= 0.45
    others = [v for k, v in meas["standardized_loadings"].items() if k != weak]
    assert min(others) > 0.6


def test_the_method_factor_raises_cross_scale_correlations_as_the_truth_implies(studies):
    items = {m: _scored_items(folder) for m, folder in studies.items()}
    rise = _mean_cross_correlation(items[METHOD]) - _mean_cross_correlation(items[0.0])
    implied = _implied_cross_correlation(_truth(studies[METHOD]), METHOD)
    # Same seed: only the method term differs. Its sampling error: the sample variance of
    # the N method draws (relative SD sqrt(2 / N)) and their sample covariance with the
    # rest of the mean item (SD sd(rest) / sqrt(N)), per unit of the mean item variance.
    base = items[0.0]
    n = len(base)
    rest_sd = float(base.mean(axis=1).std())
    mean_var = float(base.var().mean()) + METHOD ** 2
    se = math.hypot(METHOD ** 2 * math.sqrt(2 / n), 2 * METHOD * rest_sd / math.sqrt(n)) \
        / mean_var
    assert 0.05 < implied < 0.09
    assert abs(rise - implied) < 4 * se, (rise, implied, se)
    assert abs(_mean_cross_correlation(base)) < 4 * rest_sd / math.sqrt(n) + 0.01


def test_the_weak_trust_item_has_the_lowest_item_rest_correlation(studies):
    items = _scored_items(studies[METHOD])
    meas = _truth(studies[METHOD])
    weak = min(meas["standardized_loadings"], key=meas["standardized_loadings"].get)
    trust = items[[c for c in items if c.startswith("tr_")]]
    item_rest = {c: trust[c].corr(trust.drop(columns=c).mean(axis=1)) for c in trust}
    assert min(item_rest, key=item_rest.get) == weak
    assert max(v for k, v in item_rest.items() if k != weak) > item_rest[weak] + 0.1


def test_the_method_draws_leave_every_other_draw_alone(studies):
    """Tables that do not depend on survey answers are byte-identical with and without
    the method factor (its draws come from a stream of their own)."""
    for name in ("firms", "memberships", "meetings", "meeting_activity", "codebook"):
        suffix = ".toml" if name == "codebook" else ".csv"
        a, b = (studies[m] / f"{name}{suffix}" for m in (0.0, METHOD))
        assert a.read_bytes() == b.read_bytes(), name
    keys = ["firm_id", "date"]
    s0, s1 = (pd.read_csv(studies[m] / "surveys.csv") for m in (0.0, METHOD))
    assert s0[keys].equals(s1[keys])  # the same responses, other answers
    assert not s0.equals(s1)


def test_a_generator_seed_gives_the_same_study_as_its_int(tmp_path):
    by_int = simulate_study(tmp_path / "int", n_firms=60, seed=4)
    by_gen = simulate_study(tmp_path / "gen", n_firms=60, seed=np.random.default_rng(4))
    for path in sorted(by_int.glob("*.csv")):  # the .toml files record the int seed only
        assert path.read_bytes() == (by_gen / path.name).read_bytes(), path.name
    assert len(list(by_int.glob("*.csv"))) == 8


def test_a_generator_that_cannot_spawn_is_refused(tmp_path):
    legacy = np.random.Generator(np.random.RandomState(4)._bit_generator)  # no SeedSequence
    with pytest.raises(SpecificationError, match="cannot spawn"):
        simulate_study(tmp_path / "x", n_firms=60, seed=legacy)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bad", [-0.1, 3.5, float("nan"), "0.3", True, None])
def test_a_bad_method_factor_is_refused(tmp_path, bad):
    with pytest.raises(SpecificationError, match="method_factor must be a number in 0..3"):
        simulate_study(tmp_path / "x", n_firms=60, method_factor=bad)
    assert not (tmp_path / "x").exists()


def test_the_cli_sets_and_records_the_method_factor(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "s"), "--firms", "60", "--method-factor", "0.5"]) == 0
    assert _truth(tmp_path / "s")["method_factor"] == 0.5
    assert main(["simulate", str(tmp_path / "t"), "--firms", "60", "--method-factor", "-1"]) == 1
    assert "method_factor must be a number in 0..3" in capsys.readouterr().err
