"""Outcomes of a cross-check and the comparisons behind them, with their tolerances.

Tolerances (documented in docs/inference.md, "Cross-checks"):

- estimates: ``|ours - peer| <= RTOL·|peer| + ATOL_SE·se``, i.e. relative 1e-6, or
  1e-6 of the standard error (so that a coefficient of a column scaled by 1e6 or 1e-6
  is judged on its own scale);
- standard errors: relative ``RTOL`` (1e-6), or both below ``ZERO_SE`` (1e-10) of the
  estimate's size, which is zero to rounding (scores that cancel exactly, e.g. one
  cluster holding every unit that is not a singleton);
- p-values: absolute ``P_ATOL`` (1e-6); degrees of freedom: exactly;
- likelihoods (mixed models): ours ``>=`` the peer's ``- LOGLIK_ATOL`` (1e-6 of
  ``max(1, |loglik|)``); estimates of converged interior fits within ``MIXED_RTOL``.

A comparison that fails is a disagreement unless it is named with a documented
convention (``convention=``), which the outcome then lists instead.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from ipnstats.core.errors import IpnstatsError

RTOL = 1e-6
ATOL_SE = 1e-6
P_ATOL = 1e-6
ZERO_SE = 1e-10
LOGLIK_ATOL = 1e-6

STATUSES = ("agree", "convention", "disagree", "refused", "raw_error", "peer_failed")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a family's ``check(design)`` found.

    ``status``: ``agree`` (every comparison within tolerance), ``convention`` (all
    differences explained by the named documented conventions), ``disagree``,
    ``refused`` (ipnstats raised an ipnstats error while the peer fitted), ``raw_error``
    (ipnstats raised another exception: a defect), ``peer_failed`` (the peer could not
    fit, or both refused: nothing to compare).
    """

    family: str
    design: str
    status: str
    details: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ()
    n_compared: int = 0


@dataclass
class Checker:
    """Collects comparisons for one design; ``outcome()`` summarises them."""

    family: str
    design: object
    failures: list[str] = field(default_factory=list)
    conventions: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    peer_failures: list[str] = field(default_factory=list)
    n: int = 0

    def fail(self, label: str, what: str, convention: str | None = None) -> None:
        if convention:
            names = ",".join(part.split(":")[0].strip() for part in convention.split("; "))
            self.conventions.append(f"{names} | {label}: {convention} ({what})")
        else:
            self.failures.append(f"{label}: {what}")

    def estimates(self, label, ours, theirs, se, convention=None) -> None:
        ours, theirs, se = (np.asarray(a, float) for a in (ours, theirs, se))
        self.n += 1
        if ours.shape != theirs.shape:
            return self.fail(label, f"{ours.size} estimates vs {theirs.size}", convention)
        tol = RTOL * np.abs(theirs) + ATOL_SE * np.nan_to_num(np.abs(se), nan=0.0) + 1e-300
        bad = ~(np.abs(ours - theirs) <= tol)
        if bad.any():
            self.fail(label, f"estimates differ by {_worst(ours, theirs)}", convention)

    def close(self, label, ours, theirs, rtol=RTOL, atol=0.0, convention=None) -> None:
        ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
        self.n += 1
        if ours.shape != theirs.shape:
            return self.fail(label, f"shapes {ours.shape} vs {theirs.shape}", convention)
        same_nan = np.isnan(ours) & np.isnan(theirs)
        ok = same_nan | (np.abs(ours - theirs) <= atol + rtol * np.abs(theirs))
        if not ok.all():
            self.fail(label, f"differ by {_worst(ours, theirs)} (ours {_fmt(ours)}, peer "
                             f"{_fmt(theirs)})", convention)

    def equal(self, label, ours, theirs, convention=None) -> None:
        self.n += 1
        if ours != theirs:
            self.fail(label, f"ours {ours!r}, peer {theirs!r}", convention)

    def run(self, label: str, fit, peer=None):
        """``fit()`` (ipnstats), then ``peer(result)``, or ``peer(None)`` when ipnstats
        refused (the peer then fits the whole design, so that a refusal is counted only
        when the peer fits it). Both results, or None after recording why."""
        try:
            ours = fit()
        except IpnstatsError as e:
            mine = e
            ours = None
        except Exception as e:  # noqa: BLE001 - a raw exception is what we look for
            self.raw.append(f"{label}: {type(e).__name__}: {e} at {_where(e)}")
            return None
        else:
            mine = None
        try:
            theirs = peer(ours) if peer is not None else True
        except Exception as e:  # noqa: BLE001 - any peer failure means: not comparable
            self.peer_failures.append(f"{label}: peer {type(e).__name__}: {str(e)[:120]}")
            return None
        if mine is not None:
            self.refusals.append(f"{label}: {type(mine).__name__}: {str(mine)[:200]}")
            return None
        return ours, theirs

    def outcome(self) -> Outcome:
        if self.raw:
            status, details = "raw_error", self.raw
        elif self.failures:
            status, details = "disagree", self.failures
        elif self.refusals:
            status, details = "refused", self.refusals
        elif self.conventions:
            status, details = "convention", []
        elif self.n:
            status, details = "agree", []
        else:
            status, details = "peer_failed", self.peer_failures
        return Outcome(self.family, repr(self.design), status, tuple(details),
                       tuple(self.conventions), self.n)


def _worst(a: np.ndarray, b: np.ndarray) -> str:
    d = np.abs(a - b)
    i = int(np.nanargmax(np.where(np.isnan(d), np.inf, d))) if d.size else 0
    rel = d.flat[i] / max(abs(b.flat[i]), 1e-300) if d.size else 0.0
    return f"{d.flat[i]:.3g} (relative {rel:.3g})" if d.size else "nothing"


def _fmt(a: np.ndarray) -> str:
    return np.array2string(a, precision=6, max_line_width=200)


def _where(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/ipnstats/" in f.filename]
    f = frames[-1] if frames else traceback.extract_tb(e.__traceback__)[-1]
    return f"{f.filename.split('/ipnstats/')[-1]}:{f.lineno} ({f.name})"
