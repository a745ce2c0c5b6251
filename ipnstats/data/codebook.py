"""The study's codebook: scales, labels, study settings and the table mapping, read from
``codebook.toml``.

Every value is type-checked here, once: a wrong type, an unknown key or a name that
would clash with a derived column is a problem in the log (rule ``bad_codebook``,
``bad_scale``, ``bad_setting``, ...), never an exception. The ``[tables.<name>]``
sections map a researcher's own files or database tables onto the schema (see
:mod:`.mapping`).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ipnstats.data.mapping import TableMapping, read_mappings
from ipnstats.data.problems import ProblemLog
from ipnstats.data.schema import TABLES

REQUIRED_SCALES = ("perceived_learning", "trust", "risk_aversion", "loss_aversion")
DEFAULT_STAGES = (("novice", 0), ("developing", 2), ("expert", 4))
SECTIONS = ("study", "stages", "scales", "labels", "qualtrics", "tables")
STUDY_KEYS = ("name", "member_year_min_days", "disclosure_threshold", "risk_averse_cutoff")
SCALE_KEYS = ("items", "reverse", "range", "label")
QUALTRICS_KEYS = ("firm_id", "date", "items")
#: Columns the study layer derives or reads: a scale or an item may not take these names.
RESERVED = frozenset(
    {c for t in TABLES.values() for c in t.column_names}
    | {"member", "ever_member", "cohort", "event_time", "tenure", "stage", "exit", "age",
       "log_revenue", "profit_margin", "roa", "log_employees", "revenue_growth",
       "employment_growth", "attendance_rate", "disclosure_rate", "critiques",
       "benchmark_rank_pct", "loss", "same_industry", "sender_risk_averse",
       "cum_experience", "log_cum_experience", "log_outcome", "log_n_sources",
       "prior_spontaneous", "prior_risk_averse"})


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
    """Study settings, scale definitions and the mapping of the study's own tables.

    Defaults: a firm is a member in calendar year t when its spells cover at least
    183 days of t; stages start at tenure 0 (novice), 2 (developing) and 4 (expert);
    no statistic on fewer than 3 firms is reported; a sender is risk averse when its
    risk_aversion score is above the median of all firms' scores. ``tables`` holds a
    :class:`~ipnstats.data.mapping.TableMapping` per table named in ``[tables]``.
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
    tables: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

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

    def mapping(self, table: str) -> TableMapping:
        """The mapping of ``table`` (an empty one when the codebook gives none)."""
        return self.tables.get(table) or TableMapping(table)


def read_codebook(path: Path, log: ProblemLog) -> Codebook | None:
    """Parse ``codebook.toml``; every problem goes to ``log``; None when unusable."""
    file = path.name
    if not path.is_file():
        log.add("error", "codebook", "missing_file",
                f"no codebook.toml in {path.parent}: it must name the survey scales"
                if path.name == "codebook.toml" else f"no codebook file {path}", file=file)
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        log.add("error", "codebook", "unreadable_file", f"{file} is not valid TOML: {exc}",
                file=file)
        return None
    except RecursionError:  # (Python's TOML reader recurses into nested arrays and tables)
        log.add("error", "codebook", "unreadable_file", f"{file} nests arrays or tables too "
                "deeply to be read", file=file)
        return None
    return build_codebook(raw, file, log)


def build_codebook(raw: dict[str, Any], file: str, log: ProblemLog) -> Codebook:
    """A :class:`Codebook` from parsed TOML; every problem goes to ``log``."""
    check = _Checker(file, log)
    check.keys(raw, SECTIONS, "")
    study = check.table(raw, "study")
    check.keys(study, STUDY_KEYS, "[study] ")
    qualtrics = check.table(raw, "qualtrics")
    check.keys(qualtrics, QUALTRICS_KEYS, "[qualtrics] ")
    scales = _scales(check.table(raw, "scales"), check)
    return Codebook(
        name=check.text(study, "name", "IPN study", "[study] "),
        scales=scales,
        labels=MappingProxyType(_labels(check.table(raw, "labels"), check)),
        member_year_min_days=check.integer(study, "member_year_min_days", 183, 1, 366),
        stages=_stages(raw.get("stages"), check),
        disclosure_threshold=check.integer(study, "disclosure_threshold", 3, 1, 10_000),
        risk_averse_cutoff=_cutoff(study, check),
        qualtrics_firm_id=check.text(qualtrics, "firm_id", "ExternalReference", "[qualtrics] "),
        qualtrics_date=check.text(qualtrics, "date", "RecordedDate", "[qualtrics] "),
        qualtrics_items=MappingProxyType(_qualtrics_items(qualtrics, check)),
        tables=MappingProxyType(read_mappings(check.table(raw, "tables"), scales, file, log)),
    )


@dataclass
class _Checker:
    """Type checks of codebook values; each failure is one problem in the log."""

    file: str
    log: ProblemLog

    def problem(self, message: str, column: str = "", rule: str = "bad_codebook") -> None:
        self.log.add("error", "codebook", rule, message, file=self.file, column=column)

    def keys(self, table: dict, known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                self.problem(f"{where}unknown key {key!r}{hint}", column=str(key))

    def table(self, raw: dict, name: str) -> dict:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            self.problem(f"[{name}] must be a table (a [{name}] section), not {_kind(value)}",
                         column=name)
            return {}
        return value

    def text(self, table: dict, key: str, default: str, where: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.problem(f"{where}{key} must be a text in quotes, not {_kind(value)}",
                         column=key)
            return default
        return value

    def integer(self, table: dict, key: str, default: int, lo: int, hi: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.problem(f"[study] {key} must be a whole number in {lo}..{hi}, not {value!r}",
                         column=key, rule="bad_setting")
            return default
        return value

    def names(self, value, where: str, column: str) -> tuple[str, ...] | None:
        """A list of non-empty texts without repeats; None (and a problem) otherwise."""
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            self.problem(f"{where} must be a list of names in quotes, e.g. [\"a\", \"b\"], "
                         f"not {value!r}", column=column, rule="bad_scale")
            return None
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            self.problem(f"{where} lists {repeated} more than once", column=column,
                         rule="bad_scale")
        return tuple(dict.fromkeys(v.strip() for v in value))


def _kind(value) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a text",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _scales(raw: dict, check: _Checker) -> tuple[Scale, ...]:
    scales, owner = [], {}
    for name, spec in raw.items():
        where = f"[scales.{name}]"
        if not isinstance(spec, dict):
            check.problem(f"{where} must be a table with items, reverse, range", column=name,
                          rule="bad_scale")
            continue
        check.keys(spec, SCALE_KEYS, f"{where} ")
        if name in RESERVED or not name.isidentifier():
            check.problem(f"scale name {name!r} is taken by a column of the study (or is not "
                          "a plain name): rename the scale", column=name, rule="bad_scale")
            continue
        items = check.names(spec.get("items", []), f"{where} items", name)
        reverse = check.names(spec.get("reverse", []), f"{where} reverse", name)
        bounds = _range(spec.get("range", [1, 7]), where, name, check)
        if items is None or reverse is None or bounds is None:
            continue
        if len(items) < 2:
            check.problem(f"scale {name!r} needs at least two items (items = [...])",
                          column=name, rule="bad_scale")
        stray = [r for r in reverse if r not in items]
        if stray:
            check.problem(f"scale {name!r}: reverse-coded {stray} are not among its items",
                          column=name, rule="bad_scale")
        for item in items:
            if item in RESERVED or item in raw:
                check.problem(f"scale {name!r}: item name {item!r} is taken by a column of "
                              "the study", column=item, rule="bad_scale")
            elif item in owner:
                check.problem(f"item {item!r} is in both scale {owner[item]!r} and {name!r}",
                              column=item, rule="bad_scale")
            owner.setdefault(item, name)
        label = check.text(spec, "label", "", f"{where} ")
        scales.append(Scale(name, items, reverse, *bounds, label))
    for name in REQUIRED_SCALES:
        if name not in raw:
            check.problem(f"codebook.toml must define [scales.{name}] (items, reverse, range)",
                          column=name, rule="missing_scale")
    return tuple(scales)


def _range(value, where: str, name: str, check: _Checker) -> tuple[float, float] | None:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        check.problem(f"{where} range must be two numbers, e.g. [1, 7], not {value!r}",
                      column=name, rule="bad_scale")
        return None
    low, high = float(value[0]), float(value[1])
    if not low < high or abs(high) > 1e6 or abs(low) > 1e6:
        check.problem(f"scale {name!r}: range {value[0]}..{value[1]} must be increasing",
                      column=name, rule="bad_scale")
        return None
    return low, high


def _labels(raw: dict, check: _Checker) -> dict[str, str]:
    out = {}
    for key, value in raw.items():
        if isinstance(value, str):
            out[str(key)] = value
        else:
            check.problem(f"[labels] {key} must be a text in quotes, not {_kind(value)}",
                          column=str(key))
    return out


def _stages(raw, check: _Checker) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return DEFAULT_STAGES
    good = isinstance(raw, dict) and raw and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 200 for v in raw.values())
    if good:
        stages = tuple(sorted(((str(k), v) for k, v in raw.items()), key=lambda kv: kv[1]))
        tenures = [v for _, v in stages]
        good = stages[0][1] == 0 and len(set(tenures)) == len(tenures)
    if not good:
        check.problem("[stages] gives each stage's lowest tenure as a whole number from 0, "
                      "e.g. novice = 0, developing = 2; one must be 0 and no two equal",
                      column="stages", rule="bad_stages")
        return DEFAULT_STAGES
    return stages


def _cutoff(study: dict, check: _Checker) -> float | str:
    value = study.get("risk_averse_cutoff", "median")
    if value == "median" or (isinstance(value, int | float) and not isinstance(value, bool)
                             and abs(value) < 1e6 and value == value):
        return value
    check.problem(f"[study] risk_averse_cutoff must be \"median\" or a number, not {value!r}",
                  column="risk_averse_cutoff", rule="bad_setting")
    return "median"


def _qualtrics_items(qualtrics: dict, check: _Checker) -> dict[str, str]:
    items = qualtrics.get("items", {})
    if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
        check.problem("[qualtrics] items must be a table of source column = item name, e.g. "
                      "{ Q5_1 = \"pl_1\" }", column="items")
        return {}
    return dict(items)
