"""The mutator registry and the helpers mutators share: finding and editing tables.

A mutator is a pure function of ``(folder, random.Random)``: it changes the folder in
place, draws every choice from the ``Random`` it is given (files are visited in sorted
order) and returns one line saying what it did. ``@mutator(stage)`` registers it in
:data:`MUTATORS`; the stage orders mutators in a combination (see :mod:`.mutate`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipnstats.data.schema import FILE_SUFFIXES, TABLES

from .records import NotWritable, is_csv, read_records, write_records

Edit = Callable[[Path, random.Random], str]


@dataclass(frozen=True)
class Mutator:
    """One kind of damage: ``stage`` orders mutators in a combination."""

    name: str
    stage: int
    edit: Edit

    def __call__(self, folder: Path, rng: random.Random) -> str:
        try:
            return f"{self.name}: {self.edit(Path(folder), rng)}"
        except NotWritable as exc:
            return f"{self.name}: not applied ({exc})"
        except Exception as exc:  # noqa: BLE001 - a file an earlier mutator broke beyond use
            return f"{self.name}: {NOT_APPLIED} ({type(exc).__name__}: {str(exc)[:100]})"


MUTATORS: dict[str, Mutator] = {}
#: Said by a mutator that could not read what it was to change (the campaign counts them).
NOT_APPLIED = "could not apply"
STAGES = {"files": 0, "convert": 1, "cells": 2, "delimiter": 3, "encoding": 4, "bytes": 5,
          "links": 6}


def mutator(stage: str):
    def register(edit: Edit) -> Edit:
        MUTATORS[edit.__name__] = Mutator(edit.__name__, STAGES[stage], edit)
        return edit
    return register


# --- finding tables ---------------------------------------------------------------

def table_files(folder: Path, *, csv_only: bool = False) -> list[Path]:
    """The study's table files (name = a table of the schema), sorted."""
    files = sorted(p for p in folder.iterdir() if p.stem in TABLES
                   and p.suffix.lower() in FILE_SUFFIXES and p.is_file())
    return [p for p in files if is_csv(p)] if csv_only else files


def pick(folder: Path, rng: random.Random, *, csv_only: bool = False,
         names: Sequence[str] | None = None) -> Path | None:
    files = table_files(folder, csv_only=csv_only)
    if names is not None:
        files = [p for p in files if p.stem in names] or files
    return rng.choice(files) if files else None


def edit_table(folder: Path, rng: random.Random, change, *, csv_only: bool = False,
          names: Sequence[str] | None = None) -> str:
    """Pick a table, read its records, ``change(records, path, rng) -> text``, write back."""
    path = pick(folder, rng, csv_only=csv_only, names=names)
    if path is None:
        return "no table to change"
    records = read_records(path)
    if not records or not records[0]:
        return f"{path.name} has no header: left as it is"
    what = change(records, path, rng)
    write_records(path, records)
    return f"{path.name}: {what}"


def column(records: list[list], rng: random.Random, kinds: Sequence[str] = ()) -> int | None:
    header = records[0]
    if not header:
        return None
    wanted = [j for j, name in enumerate(header) if kind(name) in kinds] if kinds else []
    return rng.choice(wanted) if wanted else rng.randrange(len(header))


def kind(name: str) -> str | None:
    for spec in TABLES.values():
        for column in spec.columns:
            if column.name == name:
                return column.kind
    return "number" if name[:3] in ("pl_", "tr_", "ra_", "la_") else None


def some_rows(records: list[list], rng: random.Random, k: int) -> list[int]:
    n = len(records) - 1
    return sorted(rng.sample(range(1, n + 1), min(k, n))) if n > 0 else []


def set_cell(records: list[list], row: int, col: int, value) -> None:
    record = records[row]
    if col >= len(record):
        record.extend([""] * (col + 1 - len(record)))
    record[col] = value


def empty_cell(path: Path):
    return "" if is_csv(path) else None

