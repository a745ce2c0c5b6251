"""The model of a confirmatory factor analysis: parsed from a dict or lavaan syntax.

A model is either a dict ``{"visual": ["x1", "x2", "x3"], ...}`` (each factor and its
indicators) or a lavaan model string with ``=~`` lines (loadings) and ``~~`` lines
(residual covariances between items, factor (co)variances), separated by new lines or
``;``; ``#`` starts a comment. A term may carry one modifier, as in lavaan: a number
fixes the parameter (``1*x1``, ``0*x2``), ``NA`` frees it (``NA*x1`` frees a marker
loading) and a name labels it (parameters with the same label are equal).

>>> spec = parse_model("f =~ a + b + c  # one factor\\nb ~~ c")
>>> spec.factors, spec.items, [t.rhs for t in spec.covariances]
(('f',), ('a', 'b', 'c'), ['c'])
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ipnstats.core.errors import SpecificationError

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_OPERATORS = ("=~", "~~")


@dataclass(frozen=True, slots=True)
class Term:
    """One ``lhs op rhs`` term of the model with its modifier (fixed value or label)."""

    lhs: str
    op: str
    rhs: str
    fixed: float | None = None
    label: str | None = None
    free: bool = False  # NA*: free although the default would fix it


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """The parsed model: factors, items (in order of appearance) and terms."""

    factors: tuple[str, ...]
    items: tuple[str, ...]
    loadings: tuple[Term, ...]
    covariances: tuple[Term, ...]

    def indicators(self, factor: str) -> tuple[str, ...]:
        """The items loading on ``factor``, in model order."""
        return tuple(t.rhs for t in self.loadings if t.lhs == factor)


def parse_model(model: str | Mapping[str, Sequence[str]]) -> ModelSpec:
    """A :class:`ModelSpec` from a dict of factors or a lavaan model string."""
    if isinstance(model, Mapping):
        terms = _dict_terms(model)
    elif isinstance(model, str):
        terms = [t for stmt in _statements(model) for t in _parse_statement(stmt)]
    else:
        raise SpecificationError("model must be a dict {factor: [items]} or a lavaan model "
                                 f"string, not {type(model).__name__}")
    return _assemble(terms)


def _dict_terms(model: Mapping[str, Sequence[str]]) -> list[Term]:
    terms = []
    for factor, items in model.items():
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise SpecificationError(f"factor {factor!r}: give its items as a list of column "
                                     f"names, not {items!r}")
        terms += [Term(str(factor), "=~", _check_name(str(i), str(factor))) for i in items]
    return terms


def _statements(text: str) -> list[str]:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    stmts, current = [], ""
    for part in (p.strip() for line in lines for p in line.split(";")):
        if not part:
            continue
        # a line ending in '+' or starting with '+' continues the statement
        if current and (current.endswith("+") or part.startswith("+")):
            current += " " + part
        else:
            if current:
                stmts.append(current)
            current = part
    if current:
        stmts.append(current)
    if not stmts:
        raise SpecificationError("the model string has no '=~' line: write e.g. "
                                 "'visual =~ x1 + x2 + x3'")
    return stmts


def _parse_statement(stmt: str) -> list[Term]:
    ops = [op for op in _OPERATORS if op in stmt]
    if len(ops) != 1 or stmt.count(ops[0]) != 1:
        other = re.search(r"(~\*~|<~|:=|==|<|>|~)", stmt)
        hint = (f"operator {other.group(1)!r} is not supported (a CFA takes '=~' and '~~' "
                "only)") if other and not ops else "write 'factor =~ item + item' or 'a ~~ b'"
        raise SpecificationError(f"cannot parse model line {stmt!r}: {hint}")
    op = ops[0]
    lhs, rhs = (s.strip() for s in stmt.split(op))
    _check_name(lhs, stmt)
    parts = [p.strip() for p in rhs.split("+")]
    if not all(parts):
        raise SpecificationError(f"cannot parse model line {stmt!r}: an empty term around '+'")
    return [_parse_term(lhs, op, p, stmt) for p in parts]


def _parse_term(lhs: str, op: str, text: str, stmt: str) -> Term:
    if "*" not in text:
        return Term(lhs, op, _check_name(text, stmt))
    mod, _, name = (s.strip() for s in text.partition("*"))
    _check_name(name, stmt)
    if mod in ("NA", "NaN"):
        return Term(lhs, op, name, free=True)
    try:
        value = float(mod)
    except ValueError:
        if not _NAME.match(mod):
            raise SpecificationError(f"cannot parse modifier {mod!r} in model line {stmt!r}: "
                                     "use a number (fixed), NA (free) or a label") from None
        return Term(lhs, op, name, label=mod)
    if not math.isfinite(value):
        raise SpecificationError(f"model line {stmt!r}: a fixed value must be finite")
    return Term(lhs, op, name, fixed=value)


def _check_name(name: str, where: str) -> str:
    if not _NAME.match(name):
        raise SpecificationError(f"cannot parse {name!r} in model line {where!r}: a variable "
                                 "name has letters, digits, '_' or '.'")
    return name


def _assemble(terms: list[Term]) -> ModelSpec:
    loadings = [t for t in terms if t.op == "=~"]
    if not loadings:
        raise SpecificationError("the model has no factor: give at least one "
                                 "'factor =~ item + item' line")
    factors = tuple(dict.fromkeys(t.lhs for t in loadings))
    items = tuple(dict.fromkeys(t.rhs for t in loadings))
    seen = set()
    for t in loadings:
        if t.rhs in factors:
            raise SpecificationError(f"{t.rhs!r} is a factor and an indicator of {t.lhs!r}: "
                                     "second-order factors are not supported")
        if (t.lhs, t.rhs) in seen:
            raise SpecificationError(f"item {t.rhs!r} is listed twice under factor {t.lhs!r}")
        seen.add((t.lhs, t.rhs))
    if set(factors) & set(items):
        raise SpecificationError("a name is used both as a factor and as an item: "
                                 f"{sorted(set(factors) & set(items))}")
    covs = [_order_cov(t, factors, items) for t in terms if t.op == "~~"]
    return ModelSpec(factors, items, tuple(loadings), tuple(covs))


def _order_cov(t: Term, factors: tuple[str, ...], items: tuple[str, ...]) -> Term:
    kinds = {t.lhs in factors, t.rhs in factors}
    for name in (t.lhs, t.rhs):
        if name not in factors and name not in items:
            raise SpecificationError(f"'{t.lhs} ~~ {t.rhs}': {name!r} is neither a factor nor "
                                     "an item loading on one (add it to an '=~' line)")
    if len(kinds) != 1:
        raise SpecificationError(f"'{t.lhs} ~~ {t.rhs}': a covariance between a factor and an "
                                 "item is not part of a CFA")
    return t


def check_columns(spec: ModelSpec, columns: Sequence[str]) -> None:
    """A SpecificationError naming each item that is not a column (and its close match)."""
    cols = [str(c) for c in columns]
    missing = [i for i in spec.items if i not in cols]
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, cols, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SpecificationError(f"unknown column(s) in the model: {', '.join(hints)}")


def check_identified(spec: ModelSpec) -> None:
    """A SpecificationError for a factor with too few indicators to be identified."""
    for f in spec.factors:
        ind = spec.indicators(f)
        if len(ind) == 1:
            fixed = any(t.lhs == t.rhs == ind[0] and t.fixed is not None for t in spec.covariances)
            if not fixed:
                raise SpecificationError(
                    f"factor {f!r} has one indicator ({ind[0]!r}) and is not identified: give "
                    f"it at least two items or fix the residual variance ('{ind[0]} ~~ 0*"
                    f"{ind[0]}')")
        if len(ind) == 2 and len(spec.factors) == 1:
            raise SpecificationError(
                f"factor {f!r} has two indicators and no other factor: the model is not "
                "identified (a lone factor needs at least three items)")
