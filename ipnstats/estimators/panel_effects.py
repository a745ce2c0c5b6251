"""Which effects a :func:`~ipnstats.panel_regression` model holds: ``panel_effects=``
and the fixed effects after ``|`` in its formula.

Without ``|``, ``panel_effects=`` chooses the unit and time effects (each estimator's
defaults and options are :data:`DEFAULT_EFFECTS` and :data:`ALLOWED`). With it,
``"y ~ x | firm_id + year"`` reads as R fixest's and pyfixest's ``feols``: the effects
after ``|`` are absorbed. A fixed effect that is the ``unit=`` or ``time=`` column is the
panel's unit or time effect; any other column, or columns combined with ``^``
(``industry^year``: one level per observed industry-year), is an additional absorbed
fixed effect. What ``|`` means for each estimator:

- ``within``: the effects after ``|`` are what is absorbed (``panel_effects=`` may be
  left out; given, it must name the same unit and time effects);
- ``pooled``: with fixed effects it is the within estimator;
- ``random``, ``first_difference``, ``between``: a SpecificationError saying what to
  write (they do not absorb fixed effects).

Rows with a missing value in an additional fixed-effect column are left out and counted
like rows missing a formula variable (fixest and pyfixest drop them too); the unit and
time columns must be complete, as without ``|``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipnstats.core.errors import SpecificationError
from ipnstats.core.fixef import FixefTerm, fixef_codes, split_fixef
from ipnstats.core.formula import Design, missing_column_error
from ipnstats.estimators.linear import Absorbed
from ipnstats.inference.sandwich import nested_in
from ipnstats.results.notes import Note

DEFAULT_EFFECTS: dict[str, tuple[str, ...]] = {
    "within": ("unit", "time"), "random": ("unit",), "pooled": (),
    "first_difference": ("unit",), "between": ("unit",),
}
ALLOWED = {"within": ({"unit"}, {"time"}, {"unit", "time"}), "random": ({"unit"}, {"unit", "time"}),
           "pooled": (set(), {"time"}), "first_difference": ({"unit"}, {"unit", "time"}),
           "between": ({"unit"},)}
_NO_FIXEF = {
    "random": "the random-effects estimator models the unit effect as random and absorbs "
              "no fixed effects: drop the '| ...' part and choose panel_effects=('unit',) or "
              "('unit', 'time') (period dummies); put other effects before '|' as dummies "
              "(C(industry)), or use estimator='within' to absorb them",
    "first_difference": "first differences remove the unit effects and absorb no others: "
                        "drop the '| ...' part and choose panel_effects=('unit',) or ('unit', "
                        "'time') (period dummies); put other effects before '|' as dummies "
                        "(C(industry)), or use estimator='within' to absorb them",
    "between": "the between estimator regresses unit means and has no fixed effects: drop "
               "the '| ...' part (unit-level dummies such as C(industry) go before it), or "
               "use estimator='within' to absorb them",
}


@dataclass(frozen=True)
class FormulaEffects:
    """What a formula's ``|`` part asks of :func:`~ipnstats.panel_regression`.

    ``formula`` is the model part (before ``|``); ``estimator`` the estimator that fits it
    (``pooled`` with fixed effects is ``within``); ``panel_effects`` the unit and time
    effects of the model (from ``|`` when there is one, else from ``panel_effects=``);
    ``extra`` the other fixed effects; ``order`` every absorbed effect in the formula's
    order (``"unit"``, ``"time"`` or the position of an effect in ``extra``).
    """

    formula: str
    estimator: str
    panel_effects: frozenset[str]
    extra: tuple[FixefTerm, ...] = ()
    order: tuple[str | int, ...] = ()


def formula_effects(formula: str, estimator: str, panel_effects: Sequence[str] | None,
                    unit: str, time: str) -> FormulaEffects:
    """The effects of the model: ``panel_effects=`` checked for ``estimator`` and the
    ``|`` part of ``formula`` read (see the module docstring)."""
    _check_panel_columns(unit, time)
    split = split_fixef(formula)
    if not split.effects:
        return FormulaEffects(formula, estimator, check_effects(estimator, panel_effects))
    if estimator in _NO_FIXEF:
        raise SpecificationError(f"formula {formula!r} absorbs fixed effects after '|', "
                                 f"but {_NO_FIXEF[estimator]}")
    kinds = {(unit,): "unit", (time,): "time"}
    panel = [kinds.get(t.columns) for t in split.effects]
    extra = tuple(t for t, k in zip(split.effects, panel, strict=True) if k is None)
    order = tuple(k if k else extra.index(t) for t, k in zip(split.effects, panel, strict=True))
    absorbed = frozenset(k for k in panel if k)
    if panel_effects is not None:
        given = (panel_effects,) if isinstance(panel_effects, str) else tuple(panel_effects)
        if set(given) != absorbed:
            says = " and ".join(sorted(absorbed)) or "neither the unit nor the time effect"
            raise SpecificationError(
                f"panel_effects={given!r} disagrees with the fixed effects after '|' in "
                f"{formula!r}, which absorb {says} (unit={unit!r}, time={time!r}); name the "
                "fixed effects in one place: after '|' (and leave panel_effects out), or in "
                "panel_effects= without '|'")
    return FormulaEffects(split.formula, "within", absorbed, extra, order)


def check_effects(estimator: str, effects: Sequence[str] | None) -> frozenset[str]:
    """``panel_effects=`` (None: the estimator's default) as a set, or a SpecificationError
    naming the choices the estimator offers."""
    chosen = DEFAULT_EFFECTS[estimator] if effects is None else effects
    if isinstance(chosen, str):
        chosen = (chosen,)
    unknown = [e for e in chosen if e not in ("unit", "time")]
    if unknown or set(chosen) not in ALLOWED[estimator]:
        options = " or ".join(str(tuple(sorted(a))) for a in ALLOWED[estimator])
        raise SpecificationError(f"panel_effects={tuple(chosen)!r} is not available for the "
                                 f"{estimator} estimator; use {options}")
    return frozenset(chosen)


def _check_panel_columns(unit: str | None, time: str | None) -> None:
    if unit is None or time is None:
        missing = " and ".join(n for n, v in (("unit=", unit), ("time=", time)) if v is None)
        raise SpecificationError(
            f"panel_regression needs {missing}: the columns identifying the unit and the "
            "period, which give the panel its structure; the fixed effects to absorb go "
            "after '|', e.g. panel_regression(data, 'y ~ x | firm_id + year', "
            "unit='firm_id', time='year')")


def with_extra_effects(design: Design, data: pd.DataFrame, terms: Sequence[FixefTerm],
                       formula: str) -> tuple[Design, tuple[Absorbed, ...]]:
    """The design without rows missing an extra fixed effect, and the extra effects' codes
    on its rows (each labelled as written, ``"industry^year"``)."""
    for term in terms:
        for col in term.columns:
            if col not in data.columns:
                raise missing_column_error(col, data.columns,
                                           f"formula {formula!r} names fixed-effect column")
    coded = [fixef_codes(data, design.rows, t) for t in terms]
    keep = np.logical_and.reduce([c >= 0 for c, _ in coded]) if coded else None
    if keep is not None and not keep.all():
        if not keep.any():
            raise SpecificationError(
                f"no complete rows: each of the {design.rows.size:,} rows complete in the "
                f"model part of {formula!r} misses a fixed-effect column after '|'")
        design = dataclasses.replace(design, y=design.y[keep], X=design.X[keep],
                                     rows=design.rows[keep],
                                     n_missing=design.n_missing + int((~keep).sum()))
        coded = [_recode(c[keep]) for c, _ in coded]
    return design, tuple(Absorbed(t.label, c, g) for t, (c, g) in zip(terms, coded, strict=True))


def restrict(sets: Sequence[Absorbed], keep: np.ndarray) -> list[Absorbed]:
    """The absorbed effects on the kept rows, re-coded ``0 .. levels - 1``."""
    if keep.all():
        return list(sets)
    return [Absorbed(a.column, *_recode(a.codes[keep])) for a in sets]


def in_order(sets: dict[str | int, Absorbed], order: Sequence[str | int]) -> list[Absorbed]:
    """``sets`` (keyed ``"unit"``, ``"time"`` or an extra effect's position) in ``order``
    (empty: as given)."""
    return [sets[k] for k in order] if order else list(sets.values())


def redundancy_notes(sets: Sequence[Absorbed]) -> tuple[Note, ...]:
    """With three or more absorbed sets, a note for each set spanned by another (every
    level of the other lies within one of its levels: ``year`` and ``industry^year``)
    unless both are among the first two, whose redundancies K counts exactly
    (:func:`ipnstats.core.demean.absorbed_dof`)."""
    if len(sets) < 3:
        return ()
    notes, reported = [], set()
    for i, b in enumerate(sets):
        for j, a in enumerate(sets):
            if i == j or j in reported or (i < 2 and j < 2) or not nested_in(a.codes, b.codes):
                continue
            reported.add(i)
            notes.append(Note("fixed_effects_redundant",
                f"The fixed effect {b.column!r} is spanned by {a.column!r} (each {a.column} "
                f"level lies within one {b.column} level), so its {b.n_levels:,} levels add "
                "no parameters; with three or more absorbed sets K counts them all the same "
                "(as fixest and pyfixest do), which makes the standard errors slightly "
                f"conservative: leave {b.column!r} out after '|' for the exact count."))
            break
    return tuple(notes)


def _recode(codes: np.ndarray) -> tuple[np.ndarray, int]:
    out, levels = pd.factorize(codes)
    return out.astype(np.intp), len(levels)


__all__ = ["ALLOWED", "DEFAULT_EFFECTS", "FormulaEffects", "check_effects", "formula_effects",
           "in_order", "redundancy_notes", "restrict", "with_extra_effects"]
