"""The data side of a CFA: the rows used, groups, missing-data patterns, sample
moments (N divisor, as lavaan's ``likelihood = "normal"``) and, under FIML, the
saturated (h1) moments by the EM algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.notes import Note
from ipnstats.estimators.measurement.cfa_fit import LOG2PI, Pattern


@dataclass(frozen=True, slots=True)
class SampleData:
    """Items per group (rows x items, NaN where missing) and their moments."""

    groups: tuple          # group labels (None for one group)
    values: tuple          # per group: (n_g x p) array
    means: tuple           # per group: sample (complete) or EM (FIML) means
    covs: tuple            # per group: N-divisor covariance (complete) or EM (FIML)
    patterns: tuple
    loglik_h1: float
    loglik_b: float
    notes: tuple

    @property
    def n(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)


def prepare(data: pd.DataFrame, items, group, missing) -> SampleData:
    """Select the items (and group), drop rows as ``missing`` says, compute moments."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if group is not None and group not in data.columns:
        raise SpecificationError(f"group column {group!r} is not in the data")
    frame = data[list(items)]
    bad = [c for c in items if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise SpecificationError(f"item column(s) {bad} are not numeric")
    values = frame.to_numpy(dtype=float)
    keep = ~np.isnan(values).any(axis=1) if missing == "listwise" else \
        ~np.isnan(values).all(axis=1)
    if group is not None:
        keep &= data[group].notna().to_numpy()
    notes = []
    if (~keep).any():
        notes.append(Note("missing_dropped", f"{int((~keep).sum())} of {len(keep)} rows "
                          "were left out (a missing item" + (" or group" if group else "")
                          + (")" if missing == "listwise" else "; all items missing)")))
    if group is None:
        labels, blocks = (None,), [values[keep]]
    else:
        gcol = data[group].to_numpy()[keep]
        labels = tuple(pd.unique(gcol))
        blocks = [values[keep][gcol == lab] for lab in labels]
    p = len(items)
    for lab, b in zip(labels, blocks, strict=True):
        if len(b) <= p:
            where = "" if lab is None else f" in group {lab!r}"
            raise SpecificationError(f"{len(b)} usable rows{where} for {p} items: a CFA needs "
                                     "more rows than items")
    pats, means, covs, ll1, llb = [], [], [], 0.0, 0.0
    for g, b in enumerate(blocks):
        gp = _patterns(g, b)
        if missing == "listwise":
            m, S = b.mean(axis=0), np.cov(b, rowvar=False, bias=True)
        else:
            m, S = em_moments(b, gp)
        where = "" if labels[g] is None else f" in group {labels[g]!r}"
        if np.any(np.diag(S) <= 0):
            raise SpecificationError(f"an item has no variance{where}")
        if np.linalg.eigvalsh(S / np.sqrt(np.outer(np.diag(S), np.diag(S))))[0] < 1e-10:
            raise SpecificationError(f"the items' covariance matrix{where} is singular: an "
                                     "item is a linear combination of others; drop it")
        pats += gp
        means.append(m)
        covs.append(S)
        ll1 += pattern_loglik(gp, m, S)
        llb += _baseline_loglik(b)
    return SampleData(labels, tuple(blocks), tuple(means), tuple(covs), tuple(pats),
                      ll1, llb, tuple(notes))


def _patterns(g: int, b: np.ndarray) -> list[Pattern]:
    obs = ~np.isnan(b)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    out = []
    for k, key in enumerate(keys):
        rows = np.flatnonzero(inverse.ravel() == k)
        o = np.flatnonzero(key)
        y = b[np.ix_(rows, o)]
        out.append(Pattern(g, o, len(rows), y.mean(axis=0),
                           np.atleast_2d(np.cov(y, rowvar=False, bias=True)) if len(rows) > 1
                           else np.zeros((len(o), len(o))), rows))
    return out


def pattern_loglik(patterns, mean, cov) -> float:
    """The normal log-likelihood of the patterns' cases at ``mean``, ``cov``."""
    ll = 0.0
    for pat in patterns:
        o = pat.obs
        sig = cov[np.ix_(o, o)]
        r = pat.mean - mean[o]
        _, logdet = np.linalg.slogdet(sig)
        ll -= 0.5 * pat.n * (len(o) * LOG2PI + logdet +
                             np.sum(np.linalg.inv(sig) * (pat.cov + np.outer(r, r))))
    return float(ll)


def _baseline_loglik(b: np.ndarray) -> float:
    """Independence model: each item's own (available-case) ML mean and variance."""
    ll = 0.0
    for col in b.T:
        y = col[~np.isnan(col)]
        ll -= 0.5 * len(y) * (LOG2PI + np.log(np.var(y)) + 1)
    return float(ll)


def em_moments(b: np.ndarray, patterns, *, tol: float = 1e-11, max_iter: int = 5000):
    """Saturated ML mean and covariance with missing values (EM algorithm)."""
    p = b.shape[1]
    mu = np.nanmean(b, axis=0)
    sig = np.diag(np.nanvar(b, axis=0))
    n = len(b)
    for _ in range(max_iter):
        t1, t2 = np.zeros(p), np.zeros((p, p))
        for pat in patterns:
            o = pat.obs
            mis = np.setdiff1d(np.arange(p), o)
            y = np.full((pat.n, p), np.nan)
            y[:, o] = b[np.ix_(pat.rows, o)]
            c = np.zeros((p, p))
            if len(mis):
                beta = np.linalg.solve(sig[np.ix_(o, o)], sig[np.ix_(o, mis)])
                y[:, mis] = mu[mis] + (y[:, o] - mu[o]) @ beta
                c[np.ix_(mis, mis)] = sig[np.ix_(mis, mis)] - sig[np.ix_(mis, o)] @ beta
            t1 += y.sum(axis=0)
            t2 += y.T @ y + pat.n * c
        new_mu = t1 / n
        new_sig = t2 / n - np.outer(new_mu, new_mu)
        done = max(np.abs(new_mu - mu).max(), np.abs(new_sig - sig).max()) < tol
        mu, sig = new_mu, new_sig
        if done:
            break
    return mu, sig
