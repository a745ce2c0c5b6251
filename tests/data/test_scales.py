"""Scale scoring and reliability, cross-checked against pingouin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest

from ipnstats.data.codebook import Scale
from ipnstats.data.scales import cronbach_alpha, item_matrix, mcdonald_omega, reliability, score


def _items(n=400, k=5, seed=1, missing=0.05):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    x = np.clip(np.round(4 + 1.2 * latent[:, None] + rng.normal(size=(n, k))), 1, 7)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])


def test_alpha_matches_pingouin_listwise():
    items = _items()
    expected, _ = pingouin.cronbach_alpha(items, nan_policy="listwise")
    assert cronbach_alpha(items) == pytest.approx(expected, abs=1e-12)


def test_reliability_table_matches_pingouin_after_reverse_coding():
    items = _items(seed=2)
    raw = items.copy()
    raw["i1"] = 8 - raw["i1"]  # stored reverse-coded
    scale = Scale("s", tuple(items.columns), reverse=("i1",), low=1, high=7)
    table = reliability(raw, (scale,))
    expected, _ = pingouin.cronbach_alpha(items, nan_policy="listwise")
    assert table.loc[0, "alpha"] == pytest.approx(expected, abs=1e-12)
    assert table.loc[0, "n"] == len(items.dropna())
    assert 0 < table.loc[0, "min_item_rest"] < 1


def test_omega_equals_alpha_for_parallel_items():
    """Equal loadings and uniquenesses (parallel items): omega equals standardized alpha."""
    rng = np.random.default_rng(3)
    latent = rng.normal(size=200_000)
    items = pd.DataFrame(latent[:, None] + rng.normal(size=(200_000, 4)))
    r = 0.5  # population inter-item correlation
    assert mcdonald_omega(items) == pytest.approx(4 * r / (1 + 3 * r), abs=3e-3)


def test_omega_with_unequal_loadings_recovers_population_value():
    rng = np.random.default_rng(4)
    loadings = np.array([0.9, 0.7, 0.5, 0.3])
    latent = rng.normal(size=300_000)
    noise = rng.normal(size=(300_000, 4)) * np.sqrt(1 - loadings**2)
    items = pd.DataFrame(latent[:, None] * loadings + noise)
    expected = loadings.sum() ** 2 / (loadings.sum() ** 2 + (1 - loadings**2).sum())
    assert mcdonald_omega(items) == pytest.approx(expected, abs=3e-3)


def test_score_two_thirds_rule_and_reverse():
    frame = pd.DataFrame({"a": [1, 1, np.nan, np.nan], "b": [2, np.nan, 2, np.nan],
                          "c": [7, 7, 7, 7]})
    scale = Scale("s", ("a", "b", "c"), reverse=("c",), low=1, high=7)
    assert list(item_matrix(frame, scale)["c"]) == [1, 1, 1, 1]
    result = score(frame, scale)
    assert result.iloc[0] == pytest.approx(4 / 3)
    assert result.iloc[1] == 1.0 and result.iloc[2] == 1.5
    assert np.isnan(result.iloc[3])
