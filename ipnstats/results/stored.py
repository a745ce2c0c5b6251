"""Results as they are stored between a study run and its report.

A stage of the study run (``ipnstats run``) fits its models and keeps, in JSON, what
the report needs of them: :class:`StoredModel` (a model's ``tidy()``, ``glance()`` and
the labels a regression table shows) and plain frames (:func:`frame_to_json`). The
report (``ipnstats report``) renders from these alone and never refits, so changing
how a table or a reading looks never redoes an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ipnstats.results.notes import NOTE_CODES, HasNotes, Note, note_codes


def _plain(value: Any) -> Any:
    if value is pd.NA:  # a missing typed term key (Int64)
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def frame_to_json(frame: pd.DataFrame) -> dict:
    """A DataFrame as ``{"columns": [...], "data": [[...], ...]}`` (index dropped; NaN and
    infinities as ``None``); :func:`frame_from_json` reads it back.

    Examples
    --------
    >>> frame_to_json(pd.DataFrame({"a": [1.5, float("nan")], "b": ["x", "y"]}))
    {'columns': ['a', 'b'], 'data': [[1.5, None], ['x', 'y']]}
    """
    return {"columns": [str(c) for c in frame.columns],
            "data": [[_plain(v) for v in frame[c].tolist()] for c in frame.columns]}


def frame_from_json(stored: dict) -> pd.DataFrame:
    """The DataFrame of :func:`frame_to_json` (missing values as NaN in numeric columns).

    Examples
    --------
    >>> frame_from_json({"columns": ["a"], "data": [[1.5, None]]})["a"].tolist()
    [1.5, nan]
    """
    columns = {}
    for name, values in zip(stored["columns"], stored["data"], strict=True):
        numeric = any(isinstance(v, float) for v in values) or any(v is None for v in values)
        numeric = numeric and all(v is None or isinstance(v, int | float)
                                  and not isinstance(v, bool) for v in values)
        columns[name] = pd.Series(values, dtype="float64" if numeric else None)
    return pd.DataFrame(columns, columns=list(stored["columns"]))


@dataclass(frozen=True)
class StoredModel(HasNotes):
    """What a table shows of one fitted model, readable back from JSON.

    ``tidy()`` and ``glance()`` return the frames the fitted result returned (at its
    confidence level), so :func:`ipnstats.regression_table` renders a stored model as
    it renders the result itself.
    """

    coefficients: pd.DataFrame
    statistics: dict = field(default_factory=dict)
    outcome: str = ""
    fixed_effects: tuple[str, ...] = ()
    vcov: str = ""
    cluster: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    model: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistics", MappingProxyType(dict(self.statistics)))

    @classmethod
    def of(cls, result: Any) -> StoredModel:
        """The stored form of a fitted result (anything with ``tidy()`` and ``glance()``)."""
        glance = result.glance()
        stats = glance.iloc[0].to_dict() if len(glance) else {}
        vcov = getattr(result, "vcov", "")
        cluster = tuple(getattr(vcov, "columns", ()))
        return cls(result.tidy(), {k: _plain(v) for k, v in stats.items()},
                   str(getattr(result, "outcome", "") or ""),
                   tuple(getattr(result, "fixed_effects", ()) or ()),
                   str(stats.get("vcov", "") or ""), cluster,
                   tuple(getattr(result, "warnings", ()) or ()), type(result).__name__)

    def tidy(self) -> pd.DataFrame:
        return self.coefficients.copy()

    def glance(self) -> pd.DataFrame:
        return pd.DataFrame([dict(self.statistics)])

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.notes

    def to_json(self) -> dict:
        return {"model": self.model, "outcome": self.outcome,
                "fixed_effects": list(self.fixed_effects), "vcov": self.vcov,
                "cluster": list(self.cluster), "notes": [str(n) for n in self.notes],
                "note_codes": list(note_codes(self.notes)),
                "statistics": {k: _plain(v) for k, v in self.statistics.items()},
                "tidy": frame_to_json(self.coefficients)}

    @classmethod
    def from_json(cls, stored: dict) -> StoredModel:
        return cls(frame_from_json(stored["tidy"]), stored.get("statistics", {}),
                   stored.get("outcome", ""), tuple(stored.get("fixed_effects", ())),
                   stored.get("vcov", ""), tuple(stored.get("cluster", ())),
                   _notes(stored), stored.get("model", ""))

    def __repr__(self) -> str:
        return (f"StoredModel({self.model or 'model'} of {self.outcome or '?'}, "
                f"{len(self.coefficients)} terms)")


def _notes(stored: dict) -> tuple[str, ...]:
    """The stored notes, as :class:`Note` with their codes when the JSON has them (plain
    text from files written before notes had codes)."""
    texts = tuple(stored.get("notes", ()))
    codes = stored.get("note_codes")
    if codes is None or len(codes) != len(texts):
        return texts
    return tuple(Note(c, t) if c in NOTE_CODES and c != "other" else t
                 for c, t in zip(codes, texts, strict=True))


__all__ = ["StoredModel", "frame_from_json", "frame_to_json"]
