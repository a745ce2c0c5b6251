"""Survey scales: scoring (reverse coding, two-thirds rule) and reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .codebook import Scale


def item_matrix(surveys: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """The scale's items, reverse-coded items turned around (low + high - answer)."""
    items = surveys[list(scale.items)].astype("float64")
    for item in scale.reverse:
        items[item] = scale.low + scale.high - items[item]
    return items


def score(surveys: pd.DataFrame, scale: Scale) -> pd.Series:
    """Mean of the answered items when at least two thirds are answered, else missing."""
    items = item_matrix(surveys, scale)
    answered = items.notna().sum(axis=1)
    enough = answered * 3 >= 2 * len(scale.items)
    return items.mean(axis=1).where(enough).rename(scale.name)


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha on complete cases.

    alpha = k / (k - 1) * (1 - sum of item variances / variance of the total), as
    ``pingouin.cronbach_alpha(nan_policy="listwise")``.
    """
    x = items.dropna().to_numpy()
    k = x.shape[1]
    if len(x) < 2 or k < 2:
        return np.nan
    total_var = x.sum(axis=1).var(ddof=1)
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)


def mcdonald_omega(items: pd.DataFrame, *, tol: float = 1e-8, max_iter: int = 1000) -> float:
    """McDonald's omega (total) from a one-factor minres solution on the item correlations.

    The factor is found by iterated principal-axis factoring, which converges to the
    minres solution (as ``psych::fa(fm="minres", nfactors=1)``):
    omega = (sum loadings)^2 / ((sum loadings)^2 + sum uniquenesses).
    """
    x = items.dropna().to_numpy()
    if len(x) < 3 or x.shape[1] < 2:
        return np.nan
    r = np.corrcoef(x, rowvar=False)
    h2 = 1 - 1 / np.diag(np.linalg.pinv(r))  # squared multiple correlations to start
    for _ in range(max_iter):
        reduced = r.copy()
        np.fill_diagonal(reduced, h2)
        values, vectors = np.linalg.eigh(reduced)
        loadings = vectors[:, -1] * np.sqrt(max(values[-1], 0))
        new_h2 = np.clip(loadings**2, 0, 1)
        if np.max(np.abs(new_h2 - h2)) < tol:
            break
        h2 = new_h2
    loadings = loadings * np.sign(loadings.sum())
    common = loadings.sum() ** 2
    return common / (common + (1 - loadings**2).sum())


def item_rest_correlations(items: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the other items (complete cases)."""
    x = items.dropna()
    total = x.sum(axis=1)
    return pd.Series({c: np.corrcoef(x[c], total - x[c])[0, 1] for c in x.columns})


def reliability(surveys: pd.DataFrame, scales: tuple[Scale, ...]) -> pd.DataFrame:
    """Per scale: items, complete cases n, Cronbach's alpha, McDonald's omega, and the
    lowest item-rest correlation (with its item)."""
    rows = []
    for scale in scales:
        items = item_matrix(surveys, scale)
        rest = item_rest_correlations(items)
        rows.append({
            "scale": scale.name, "label": scale.label or scale.name,
            "items": ", ".join(scale.items), "n_items": len(scale.items),
            "n": int(items.dropna().shape[0]),
            "alpha": cronbach_alpha(items), "omega": mcdonald_omega(items),
            "min_item_rest": rest.min() if len(rest) else np.nan,
            "weakest_item": rest.idxmin() if rest.notna().any() else "",
        })
    return pd.DataFrame(rows)
