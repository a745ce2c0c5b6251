"""The study's codebook: scales, labels and study settings, read from ``codebook.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .problems import ProblemLog

REQUIRED_SCALES = ("perceived_learning", "trust", "risk_aversion", "loss_aversion")
DEFAULT_STAGES = (("novice", 0), ("developing", 2), ("expert", 4))


@dataclass(frozen=True, slots=True)
class Scale:
    """A multi-item survey scale: items, the reverse-coded ones, the response range."""

    name: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()
    low: float = 1.0
    high: float = 7.0
    label: str = ""


@dataclass(frozen=True, slots=True)
class Codebook:
    """Study settings and scale definitions.

    Defaults: a firm is a member in calendar year t when its spells cover at least
    183 days of t; stages start at tenure 0 (novice), 2 (developing) and 4 (expert);
    no statistic on fewer than 3 firms is reported; a sender is risk averse when its
    risk_aversion score is above the median of all firms' scores.
    """

    name: str = "IPN study"
    scales: tuple[Scale, ...] = ()
    labels: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    member_year_min_days: int = 183
    stages: tuple[tuple[str, int], ...] = DEFAULT_STAGES
    disclosure_threshold: int = 3
    risk_averse_cutoff: float | str = "median"
    qualtrics_firm_id: str = "ExternalReference"
    qualtrics_date: str = "RecordedDate"
    qualtrics_items: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @property
    def items(self) -> list[str]:
        """Every survey item named by a scale, in codebook order."""
        return [item for s in self.scales for item in s.items]

    def scale(self, name: str) -> Scale:
        return next(s for s in self.scales if s.name == name)

    def label(self, variable: str) -> str:
        """The display label of a variable (its name when the codebook gives none)."""
        scale_labels = {s.name: s.label for s in self.scales if s.label}
        return self.labels.get(variable) or scale_labels.get(variable) or variable


def read_codebook(path: Path, log: ProblemLog) -> Codebook | None:
    """Parse ``codebook.toml``; every problem goes to ``log``; None when unusable."""
    file = path.name
    if not path.exists():
        log.add("error", "codebook", "missing_file",
                f"no codebook.toml in {path.parent}: it must name the survey scales",
                file=file)
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        log.add("error", "codebook", "unreadable_file", f"codebook.toml is not valid TOML: {exc}",
                file=file)
        return None
    return _build(raw, file, log)


def _build(raw: dict[str, Any], file: str, log: ProblemLog) -> Codebook:
    study = raw.get("study", {})
    qualtrics = raw.get("qualtrics", {})
    return Codebook(
        name=str(study.get("name", "IPN study")),
        scales=_scales(raw.get("scales", {}), file, log),
        labels=MappingProxyType({str(k): str(v) for k, v in raw.get("labels", {}).items()}),
        member_year_min_days=_int_setting(study, "member_year_min_days", 183, 1, 366, file, log),
        stages=_stages(raw.get("stages"), file, log),
        disclosure_threshold=_int_setting(study, "disclosure_threshold", 3, 1, 10_000, file, log),
        risk_averse_cutoff=study.get("risk_averse_cutoff", "median"),
        qualtrics_firm_id=str(qualtrics.get("firm_id", "ExternalReference")),
        qualtrics_date=str(qualtrics.get("date", "RecordedDate")),
        qualtrics_items=MappingProxyType(dict(qualtrics.get("items", {}))),
    )


def _scales(raw: dict, file: str, log: ProblemLog) -> tuple[Scale, ...]:
    scales = []
    for name, spec in raw.items():
        items = tuple(spec.get("items", ()))
        reverse = tuple(spec.get("reverse", ()))
        low, high = spec.get("range", (1, 7))
        if len(items) < 2:
            log.add("error", "codebook", "bad_scale",
                    f"scale {name!r} needs at least two items", file=file, column=name)
        stray = [r for r in reverse if r not in items]
        if stray:
            log.add("error", "codebook", "bad_scale",
                    f"scale {name!r}: reverse-coded {stray} are not among its items",
                    file=file, column=name)
        if not low < high:
            log.add("error", "codebook", "bad_scale",
                    f"scale {name!r}: range {low}..{high} must be increasing", file=file,
                    column=name)
        scales.append(Scale(name, items, reverse, float(low), float(high),
                            str(spec.get("label", ""))))
    for name in REQUIRED_SCALES:
        if name not in raw:
            log.add("error", "codebook", "missing_scale",
                    f"codebook.toml must define [scales.{name}] (items, reverse, range)",
                    file=file, column=name)
    return tuple(scales)


def _stages(raw: dict | None, file: str, log: ProblemLog) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return DEFAULT_STAGES
    stages = tuple(sorted(((str(k), v) for k, v in raw.items()), key=lambda kv: kv[1]))
    if not stages or stages[0][1] != 0 or not all(isinstance(v, int) for _, v in stages):
        log.add("error", "codebook", "bad_stages",
                "[stages] gives each stage's lowest tenure as a whole number; one must be 0",
                file=file, column="stages")
        return DEFAULT_STAGES
    return stages


def _int_setting(table: dict, key: str, default: int, lo: int, hi: int, file: str,
                 log: ProblemLog) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or not lo <= value <= hi:
        log.add("error", "codebook", "bad_setting",
                f"[study] {key} must be a whole number in {lo}..{hi}", file=file, column=key)
        return default
    return value
