"""Survey scales: scoring (reverse coding, two-thirds rule) and reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ipnstats.data.codebook import Scale


def item_matrix(surveys: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """The scale's items, reverse-coded items turned around (low + high - answer)."""
    names = list(scale.items)
    values = surveys[names].to_numpy(dtype="float64", na_value=np.nan, copy=True)
    turned = [i for i, name in enumerate(names) if name in scale.reverse]
    values[:, turned] = scale.low + scale.high - values[:, turned]
    return pd.DataFrame(values, index=surveys.index, columns=names)


def score(surveys: pd.DataFrame, scale: Scale) -> pd.Series:
    """Mean of the answered items when at least two thirds are answered, else missing."""
    items = item_matrix(surveys, scale)
    answered = items.notna().sum(axis=1)
    enough = answered * 3 >= 2 * len(scale.items)
    return items.mean(axis=1).where(enough).rename(scale.name)


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha on complete cases.

    alpha = k / (k - 1) * (1 - sum of item variances / variance of the total), as
    ``pingouin.cronbach_alpha(nan_policy="listwise")``. NaN when it is undefined: fewer
    than 2 items or complete cases, an item with one answer throughout, or a total
    that does not vary (:func:`undefined_reason` says which).
    """
    x = items.dropna().to_numpy(dtype=float)
    if _undefined(x, min_cases=2):
        return np.nan
    k = x.shape[1]
    total_var = x.sum(axis=1).var(ddof=1)
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)


def mcdonald_omega(items: pd.DataFrame, *, tol: float = 1e-8, max_iter: int = 1000) -> float:
    """McDonald's omega (total) from a one-factor minres solution on the item correlations.

    The factor is found by iterated principal-axis factoring, which converges to the
    minres solution (as ``psych::fa(fm="minres", nfactors=1)``):
    omega = (sum loadings)^2 / ((sum loadings)^2 + sum uniquenesses). NaN when it is
    undefined: fewer than 2 items or 3 complete cases, an item with one answer
    throughout (its correlations do not exist), or a total that does not vary.
    """
    x = items.dropna().to_numpy(dtype=float)
    if _undefined(x, min_cases=3):
        return np.nan
    r = np.corrcoef(x, rowvar=False)
    h2 = _start_communalities(r)
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


def _start_communalities(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, 1 - 1 / diag(R^-1) (a pseudo-inverse when R is
    singular), within [0, 1]."""
    diag = np.diag(np.linalg.pinv(r))
    with np.errstate(divide="ignore", invalid="ignore"):
        smc = 1 - 1 / diag
    return np.clip(np.nan_to_num(smc, nan=1.0, posinf=1.0, neginf=0.0), 0, 1)


def _undefined(x: np.ndarray, *, min_cases: int) -> bool:
    """Whether a reliability coefficient on the complete cases ``x`` is undefined."""
    if x.shape[1] < 2 or len(x) < min_cases:
        return True
    return bool((np.ptp(x, axis=0) == 0).any() or np.ptp(x.sum(axis=1)) == 0)


def undefined_reason(items: pd.DataFrame) -> str:
    """Why alpha or omega of ``items`` is missing ("" when both are defined)."""
    if items.shape[1] < 2:
        return "alpha and omega need at least 2 items"
    if not len(items):
        return "no survey rows: alpha and omega undefined"
    answers = items.to_numpy(dtype=float)
    missing = np.isnan(answers)
    empty = items.columns[missing.all(axis=0)]
    if len(empty):
        return (f"{_items_have(list(empty))} no answers, so there are no complete cases: "
                "alpha and omega undefined")
    x = answers[~missing.any(axis=1)]
    if len(x) < 2:
        return f"{len(x)} complete case(s): alpha and omega need at least 2 (omega 3)"
    same = np.ptp(x, axis=0) == 0
    if same.any():
        constant = [f"{c} ({v:g})" for c, v in zip(items.columns[same], x[0, same], strict=True)]
        return (f"{_items_have(constant)} the same answer in every complete case: "
                "alpha and omega undefined")
    if np.ptp(x.sum(axis=1)) == 0:
        return "the total score is the same in every complete case: alpha and omega undefined"
    if len(x) < 3:
        return "2 complete cases: omega needs at least 3"
    return ""


def _items_have(names: list[str]) -> str:
    return f"item {names[0]} has" if len(names) == 1 else f"items {', '.join(names)} have"


def item_rest_correlations(items: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the other items (complete cases); NaN
    where either does not vary or there are fewer than 2 complete cases."""
    x = items.dropna().to_numpy(dtype=float)
    total = x.sum(axis=1)
    return pd.Series({c: _correlation(x[:, i], total - x[:, i])
                      for i, c in enumerate(items.columns)}, dtype=float)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def reliability(surveys: pd.DataFrame, scales: tuple[Scale, ...]) -> pd.DataFrame:
    """Per scale: items, complete cases n, Cronbach's alpha, McDonald's omega, the
    lowest item-rest correlation (with its item), and a note saying why a coefficient
    is missing ("" when none is)."""
    rows = []
    for scale in scales:
        items = item_matrix(surveys, scale)
        rest = item_rest_correlations(items)
        rows.append({
            "scale": scale.name, "label": scale.label or scale.name,
            "items": ", ".join(scale.items), "n_items": len(scale.items),
            "n": int(items.dropna().shape[0]),
            "alpha": cronbach_alpha(items), "omega": mcdonald_omega(items),
            "min_item_rest": rest.min() if rest.notna().any() else np.nan,
            "weakest_item": rest.idxmin() if rest.notna().any() else "",
            "note": undefined_reason(items),
        })
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


RELIABILITY_COLUMNS = ["scale", "label", "items", "n_items", "n", "alpha", "omega",
                       "min_item_rest", "weakest_item", "note"]
