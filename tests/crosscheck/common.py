"""Helpers shared by the families: peer design matrices, nesting, connected components."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def peer_columns(frame: pd.DataFrame, terms) -> pd.DataFrame:
    """The regressors ipnstats kept (its term names) as plain columns for a peer:
    ``Intercept`` is a column of ones, ``C(cat)[T.b]`` the dummy of level b."""
    out = {}
    for term in terms:
        if term == "Intercept":
            out[term] = np.ones(len(frame))
        elif term.startswith("C(cat)[T."):
            out[term] = (frame["cat"].astype(str) == term[len("C(cat)[T."):-1]).astype(float)
        else:
            out[term] = frame[term].astype(float).to_numpy()
    return pd.DataFrame(out, index=frame.index)


def design_terms(design, intercept: bool = True) -> list[str]:
    """ipnstats' names of every regressor of ``design.formula(intercept)``."""
    terms = ["Intercept"] if intercept else []
    for r in design.regressors():
        terms += [f"C(cat)[T.{lv}]" for lv in ("b", "c")] if r == "cat" else [r]
    return terms


def kept_terms(res, design, intercept: bool = True) -> list[str]:
    """The terms ipnstats kept, or (``res`` None: it refused) every term of the design."""
    return list(res.params.index) if res is not None else design_terms(design, intercept)


def safe_names(columns) -> dict[str, str]:
    """Formula-safe names for a peer that parses formulas: ``C(cat)[T.b]`` -> ``cat_b``."""
    return {c: c.replace("C(cat)[T.", "cat_").replace("]", "") for c in columns}


def nested(inner: pd.Series, outer: pd.Series) -> bool:
    """Whether every group of ``inner`` lies within one group of ``outer``."""
    return bool((pd.DataFrame({"i": inner, "o": outer}).groupby("i")["o"].nunique() <= 1).all())


def n_components(a: pd.Series, b: pd.Series) -> int:
    """Connected components of the bipartite graph of two fixed effects' levels."""
    ia, ib = pd.factorize(a)[0], pd.factorize(b)[0]
    na, nb = ia.max() + 1, ib.max() + 1
    m = coo_matrix((np.ones(ia.size), (ia, ib + na)), shape=(na + nb, na + nb))
    return int(connected_components(m, directed=False)[0])


def se_convention(res, frame: pd.DataFrame, effects, peer: str) -> str | None:
    """The documented conventions that explain a difference in SEs, df and p-values
    between ``res`` and a peer, joined, or None:

    - ``covariance_repaired``: a two-way clustered covariance that is not PSD is
      repaired by ipnstats (eigenvalues clipped on the correlation scale), not by peers;
    - ``no_residual_df``: a saturated fit (n = K) has no SEs in ipnstats (NaN and a note),
      where a peer prints rounding noise;
    - ``fe_redundancy``: on a disconnected two-way design ipnstats counts the fixed-effect
      levels net of one redundancy per connected component (reghdfe, fixest); the peer
      counts ``N + T - 1``.
    """
    names = []
    if res.has_note("covariance_repaired"):
        names.append("covariance_repaired: ipnstats repairs a non-PSD two-way covariance")
    if res.has_note("no_residual_df"):
        names.append("no_residual_df: a saturated fit has no SEs in ipnstats")
    if len(effects) == 2 and n_components(frame["u"], frame["t"]) > 1:
        names.append(f"fe_redundancy: {peer} counts N+T-1 levels on a disconnected design")
    return "; ".join(names) or None
