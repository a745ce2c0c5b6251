"""``honest_did``: sensitivity of event-study effects to violations of parallel trends
(Rambachan & Roth 2023, R package HonestDiD).

Two restrictions on the post-period violations ``delta_post``:

- ``method="rm"`` (relative magnitudes, Delta-RM(Mbar)): no post-period change in
  the violation exceeds ``Mbar`` times the largest pre-period change. Intervals by
  the conditional-least-favourable hybrid test (HonestDiD's default "C-LF") inverted
  over a 1000-point grid, as ``createSensitivityResults_relativeMagnitudes``
  (:mod:`ipnstats.estimators.did.honest_arp`).
- ``method="sd"`` (smoothness, Delta-SD(M)): the slope of the violation changes by at
  most ``M`` per period. Intervals are the optimal fixed-length confidence intervals
  (FLCI), as ``createSensitivityResults(method = "FLCI")``
  (:mod:`ipnstats.estimators.did.honest_flci`).

The target is ``l' tau_post``: the first post period (the default) or a weighted
average of the post periods (``l_vec``).

Both restrictions read the pre-period coefficients as the violation's path relative to
the reference period: event-study coefficients normalised at -1 (the regression event
studies; Callaway-Sant'Anna with ``base_period="universal"``, whose pre-period effects
are long differences to the period before treatment and whose reference, 0 with no
standard error, is dropped). A Callaway-Sant'Anna event study with a varying base has
consecutive differences as pre-period effects; it is accepted with a note, as R
HonestDiD's ``honest_did`` warns, recommending the universal base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.did.honest_arp import rm_interval
from ipnstats.estimators.did.honest_flci import flci
from ipnstats.results.display import TidyDisplay
from ipnstats.results.notes import Note
from ipnstats.results.terms import term_keys

HonestMethod = Literal["rm", "sd"]
RM_DEFAULT = (0.5, 1.0, 1.5, 2.0)


@dataclass(frozen=True, repr=False)
class HonestDiDResult(TidyDisplay):
    """Robust confidence intervals for ``l' tau_post``, one per value of M (or Mbar).

    ``m_values``, ``conf_low`` and ``conf_high`` are aligned; ``original`` is the
    conventional interval (no violation allowed); ``breakdown`` is the smallest M in
    ``m_values`` whose robust interval includes 0 (``None`` if none does).
    """

    method: HonestMethod
    m_values: tuple[float, ...]
    conf_low: tuple[float, ...]
    conf_high: tuple[float, ...]
    original: tuple[float, float]
    estimate: float
    std_error: float
    num_pre: int
    num_post: int
    l_vec: tuple[float, ...]
    alpha: float
    notes: tuple[Note, ...] = ()

    @property
    def breakdown(self) -> float | None:
        """Smallest M whose robust interval includes 0 (None when none does)."""
        for m, lo, hi in sorted(zip(self.m_values, self.conf_low, self.conf_high,
                                    strict=True)):
            if lo <= 0 <= hi:
                return m
        return None

    def tidy(self) -> pd.DataFrame:
        """One row per M: ``m, conf_low, conf_high, method`` (``"FLCI"`` or ``"C-LF"``)."""
        label = "C-LF" if self.method == "rm" else "FLCI"
        return pd.DataFrame({"m": list(self.m_values), "conf_low": list(self.conf_low),
                             "conf_high": list(self.conf_high),
                             "method": [label] * len(self.m_values)})

    def glance(self) -> pd.DataFrame:
        """One row: restriction, target estimate and SE, original interval, breakdown."""
        return pd.DataFrame([{
            "restriction": "relative magnitudes" if self.method == "rm" else "smoothness",
            "estimate": self.estimate, "std_error": self.std_error,
            "conf_low": self.original[0], "conf_high": self.original[1],
            "breakdown": np.nan if self.breakdown is None else self.breakdown,
            "num_pre": self.num_pre, "num_post": self.num_post, "alpha": self.alpha}])


def honest_did(result_or_betas: object, sigma: object = None, *, num_pre: int | None = None,
               num_post: int | None = None, method: HonestMethod = "rm",
               m_values: object = None, l_vec: object = None,
               alpha: float = 0.05) -> HonestDiDResult:
    """Confidence intervals for post-period effects robust to non-parallel trends.

    Parameters
    ----------
    result_or_betas
        An event-study result (:func:`event_study` with any estimator,
        :func:`sun_abraham`): its ``event::e`` terms before its reference period
        (``reference``: -1, or ``-1 - anticipation`` for a universal-base
        Callaway-Sant'Anna study) are the pre-periods and those after it the post
        periods, the reference left out; or a vector of event-study coefficients,
        pre-periods first, reference omitted. For Callaway-Sant'Anna pass
        ``event_study(..., base_period="universal")`` (see the module notes).
    sigma
        Covariance matrix of the coefficients (required with a vector; with a
        result its ``cov`` is used).
    num_pre, num_post
        Numbers of pre- and post-period coefficients. Required with a vector; with
        a result they select the periods nearest the reference (default: all).
    method
        ``"rm"`` (relative magnitudes, default) or ``"sd"`` (smoothness).
    m_values
        Values of Mbar (``"rm"``, default 0.5, 1, 1.5, 2) or M (``"sd"``, default
        ten values from 0 to :func:`sd_upper_m`, as HonestDiD).
    l_vec
        Weights on the post periods (default: the first post period).
    alpha
        1 - confidence level.

    Returns
    -------
    HonestDiDResult
        ``tidy()`` (one row per M), ``glance()``, ``breakdown``, ``original``.

    Examples
    --------
    >>> import numpy as np
    >>> res = honest_did([0.004, -0.003, 0.001, 0.05], np.eye(4) * 1e-4, num_pre=3,
    ...                  num_post=1, method="sd", m_values=[0.0, 0.01, 0.02])
    >>> res.tidy()["conf_low"].round(3).tolist()
    [0.03, 0.018, 0.007]
    >>> res.breakdown is None
    True

    With an event study (``es = event_study(..., estimator="twfe")``, or
    ``event_study(..., base_period="universal")`` for Callaway-Sant'Anna):
    ``honest_did(es, method="rm")``.
    """
    beta, cov, num_pre, num_post = _event_coefficients(result_or_betas, sigma, num_pre,
                                                       num_post)
    weights = _l_vec(l_vec, num_post)
    alpha = _alpha(alpha)
    if method not in ("rm", "sd"):
        raise SpecificationError(f"method must be 'rm' or 'sd', got {method!r}")
    if method == "rm" and num_pre < 2:
        raise SpecificationError("method='rm' needs at least 2 pre-periods (the relative "
                                 "magnitudes bound compares pre-period changes)")
    ms = _m_values(m_values, method, beta, cov, num_pre)
    notes = _source_notes(result_or_betas)
    if method == "rm":
        bounds = [rm_interval(beta, cov, num_pre, num_post, weights, m, alpha) for m in ms]
        open_at = [m for m, b in zip(ms, bounds, strict=True) if b[2]]
        if open_at:
            notes += (Note("open_interval", f"At Mbar = {', '.join(f'{m:g}' for m in open_at)}"
                           " the accepted set reaches the end of the grid (identified set "
                           "-/+ 20 SE): the interval may be wider."),)
    else:
        bounds = [flci(beta, cov, num_pre, weights, m, alpha) for m in ms]
    estimate = float(weights @ beta[num_pre:])
    se = float(np.sqrt(weights @ cov[num_pre:, num_pre:] @ weights))
    z = stats.norm.ppf(1 - alpha / 2)
    return HonestDiDResult(method=method, m_values=tuple(ms),
                           conf_low=tuple(b[0] for b in bounds),
                           conf_high=tuple(b[1] for b in bounds),
                           original=(estimate - z * se, estimate + z * se), estimate=estimate,
                           std_error=se, num_pre=num_pre, num_post=num_post,
                           l_vec=tuple(float(w) for w in weights), alpha=alpha,
                           notes=notes)


def _source_notes(obj: object) -> tuple[Note, ...]:
    """The event study's note on binned end points, which then enter as coefficients,
    and a note on a Callaway-Sant'Anna varying base."""
    notes = ()
    has_note = getattr(obj, "has_note", None)
    if callable(has_note) and has_note("binned_endpoints"):
        notes += (Note("binned_endpoints", "The TWFE event study pools any event times "
                       "outside its window into the end points; such pooled coefficients "
                       "enter here as single periods (widen the window or lower num_pre)."),)
    extra = getattr(obj, "extra", None) or {}
    if extra.get("base_period") == "varying":
        notes += (Note("varying_base", "The Callaway-Sant'Anna event study has a varying "
                       "base period: its pre-period effects are changes between consecutive "
                       "periods, not paths relative to the reference period, which both "
                       "restrictions assume; refit with base_period='universal' "
                       "(Rambachan & Roth's and R HonestDiD's advice)."),)
    return notes


def reference_event(result: object) -> int:
    """The event time an event-study result is normalised at: its ``reference``
    (-1 for the regression studies, ``-1 - anticipation`` for a universal-base
    Callaway-Sant'Anna study), else -1."""
    reference = getattr(result, "reference", None)
    return -1 if reference is None else int(reference)


def event_coefficients(result: object) -> tuple[pd.Series, pd.DataFrame]:
    """The ``event::e`` estimates of an event-study result and their covariance,
    ordered by ``e``, the reference period (:func:`reference_event`) left out."""
    params, cov = getattr(result, "params", None), getattr(result, "cov", None)
    if not isinstance(params, pd.Series) or not isinstance(cov, pd.DataFrame):
        raise SpecificationError("honest_did needs an event-study result (params and cov "
                                 f"with event::e terms) or a coefficient vector; got "
                                 f"{type(result).__name__}")
    keys = term_keys(params.index).assign(term=params.index)
    reference = reference_event(result)
    keys = keys[keys["event"].notna() & keys["cohort"].isna() & (keys["event"] != reference)]
    if keys.empty:
        raise SpecificationError("the result has no event::e terms; pass an event study")
    keys = keys.sort_values("event")
    terms = keys["term"].tolist()
    return params[terms], cov.loc[terms, terms]


def _event_coefficients(obj, sigma, num_pre, num_post):
    if isinstance(obj, (list, tuple, np.ndarray, pd.Series)):
        return _from_vector(obj, sigma, num_pre, num_post)
    params, cov = event_coefficients(obj)
    ref = reference_event(obj)
    events = np.array([int(e) for e in term_keys(params.index)["event"]])
    pre, post = events[events < ref], events[events > ref]
    num_pre = len(pre) if num_pre is None else _count(num_pre, "num_pre", len(pre))
    num_post = len(post) if num_post is None else _count(num_post, "num_post", len(post))
    keep = list(pre[len(pre) - num_pre:]) + list(post[:num_post])
    expected = list(range(ref - num_pre, ref)) + list(range(ref + 1, ref + 1 + num_post))
    if keep != expected:
        raise SpecificationError(f"honest_did needs consecutive event times; the result "
                                 f"has {events.tolist()}")
    mask = np.isin(events, keep)
    beta, cov = params.to_numpy()[mask], cov.to_numpy()[np.ix_(mask, mask)]
    _check_sigma(cov, len(beta))
    return beta, cov, num_pre, num_post


def _count(value, name, available):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecificationError(f"{name} must be a positive integer, got {value!r}")
    if value > available:
        raise SpecificationError(f"{name}={value} but the result has only {available} "
                                 f"{'pre' if name == 'num_pre' else 'post'}-period "
                                 "coefficients")
    return int(value)


def _from_vector(betas, sigma, num_pre, num_post):
    beta = np.asarray(betas, dtype=float).ravel()
    if num_pre is None or num_post is None:
        raise SpecificationError("with a coefficient vector, give num_pre and num_post")
    num_pre = _count(num_pre, "num_pre", len(beta))
    num_post = _count(num_post, "num_post", len(beta))
    if num_pre + num_post != len(beta):
        raise SpecificationError(f"num_pre + num_post = {num_pre + num_post} but there are "
                                 f"{len(beta)} coefficients")
    if not np.all(np.isfinite(beta)):
        raise SpecificationError("the coefficients contain missing or infinite values")
    if sigma is None:
        raise SpecificationError("with a coefficient vector, give sigma (its covariance)")
    cov = np.asarray(sigma.to_numpy() if isinstance(sigma, pd.DataFrame) else sigma,
                     dtype=float)
    _check_sigma(cov, len(beta))
    return beta, cov, num_pre, num_post


def _check_sigma(cov: np.ndarray, n: int) -> None:
    if cov.shape != (n, n):
        raise SpecificationError(f"sigma must be {n} x {n} (one row per coefficient), "
                                 f"got shape {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise SpecificationError("sigma contains missing or infinite values")
    if not np.allclose(cov, cov.T, rtol=1e-6, atol=1e-12 * np.abs(cov).max()):
        raise SpecificationError("sigma must be symmetric")
    eig = np.linalg.eigvalsh((cov + cov.T) / 2)
    if eig.min() < -1e-10 * max(eig.max(), 0.0) or np.any(np.diag(cov) <= 0):
        raise SpecificationError("sigma must be positive semi-definite with positive "
                                 f"variances (smallest eigenvalue {eig.min():.3g})")


def _l_vec(l_vec, num_post: int) -> np.ndarray:
    if l_vec is None:
        out = np.zeros(num_post)
        out[0] = 1.0
        return out
    out = np.asarray(l_vec, dtype=float).ravel()
    if len(out) != num_post or not np.all(np.isfinite(out)) or not np.any(out != 0):
        raise SpecificationError(f"l_vec must have num_post = {num_post} finite weights, not "
                                 f"all zero; got {l_vec!r}")
    return out


def _alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be between 0 and 1, got {alpha!r}")
    return float(alpha)


def _m_values(m_values, method: str, beta: np.ndarray, cov: np.ndarray,
              num_pre: int) -> list[float]:
    if m_values is None:
        if method == "rm":
            return list(RM_DEFAULT)
        return [float(m) for m in np.linspace(0, sd_upper_m(beta, cov, num_pre), 10)]
    values = np.atleast_1d(np.asarray(m_values, dtype=float))
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise SpecificationError(f"m_values must be non-negative numbers, got {m_values!r}")
    return [float(m) for m in values]


def sd_upper_m(beta: np.ndarray, cov: np.ndarray, num_pre: int) -> float:
    """Top of the default M grid for Delta-SD, as HonestDiD's ``DeltaSD_upperBound_Mpre``:
    the largest upper 95% one-sided bound of the pre-period second differences (the
    reference period counted as 0); with one pre-period, its standard error."""
    if num_pre == 1:
        return float(np.sqrt(cov[0, 0]))
    n = num_pre + 1
    second = np.zeros((n - 2, n))
    for r in range(n - 2):
        second[r, r:r + 3] = [1.0, -2.0, 1.0]
    second = second[:, :num_pre]
    diffs = second @ beta[:num_pre]
    se = np.sqrt(np.diag(second @ cov[:num_pre, :num_pre] @ second.T))
    upper = float(np.max(diffs + stats.norm.ppf(0.95) * se))
    return upper if upper > 0 else float(np.sqrt(cov[0, 0]))
