"""Machine-readable results: report blocks, tables, claims and model results as JSON.

A stage writes one ``results/<stage>.json``; the report is rebuilt from these files
alone, so ``ipnstats report`` never refits anything. Figures are written beside the
results as SVG (for the report), PDF and PNG. Everything is written so that the same
results give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ipnstats.ipn.claims import Unavailable, claims_from_json, claims_to_json
from ipnstats.report.document import FigureBlock, Heading, PageBreak, Report, TableBlock, Text
from ipnstats.tables.model import Cell, Row, Table


def plain(value):
    """A JSON-safe copy: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is pd.NA:  # a missing typed term key (Int64)
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | str | bool) or value is None:
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """A DataFrame as a list of row dicts (JSON-safe)."""
    frame = frame.reset_index(drop=True)
    return [plain(dict(zip(frame.columns, row, strict=True)))
            for row in frame.itertuples(index=False, name=None)]


def dumps(obj) -> str:
    return json.dumps(plain(obj), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


# -- tables ----------------------------------------------------------------------------

def table_to_dict(table: Table) -> dict:
    return {"title": table.title, "label": table.label, "notes": list(table.notes),
            "header": [[_cell(c) for c in row] for row in table.header],
            "rows": [{"cells": [_cell(c) for c in r.cells], "section": r.section,
                      "heading": r.heading} for r in table.rows]}


def _cell(cell: Cell) -> dict:
    out = dataclasses.asdict(cell)
    out["notes"] = list(cell.notes)
    return {k: v for k, v in out.items() if v != getattr(Cell, k, None) or k == "text"}


def table_from_dict(d: dict) -> Table:
    def cell(c: dict) -> Cell:
        return Cell(**{**c, "notes": tuple(c.get("notes", ()))})

    return Table(header=tuple(tuple(cell(c) for c in row) for row in d["header"]),
                 rows=tuple(Row(tuple(cell(c) for c in r["cells"]), r["section"], r["heading"])
                            for r in d["rows"]),
                 title=d["title"], notes=tuple(d["notes"]), label=d["label"])


# -- report blocks ---------------------------------------------------------------------

def blocks_to_json(report: Report, figures: Path, stage: str) -> list[dict]:
    """The report's blocks; each figure is written to ``figures`` as SVG, PDF and PNG."""
    out, n = [], 0
    for block in report.blocks:
        if isinstance(block, Heading):
            out.append({"type": "heading", "text": block.text, "level": block.level})
        elif isinstance(block, Text):
            out.append({"type": "text", "text": block.text})
        elif isinstance(block, TableBlock):
            out.append({"type": "table", "table": table_to_dict(block.table)})
        elif isinstance(block, PageBreak):
            out.append({"type": "pagebreak"})
        elif isinstance(block, FigureBlock):
            n += 1
            name = f"{stage}-figure-{n}"
            figures.mkdir(parents=True, exist_ok=True)
            unchanged = not write_if_changed(figures / f"{name}.{block.kind}", block.data)
            kinds = ("pdf", "png") if callable(block.formats) else (k for k, _ in block.formats)
            if not (unchanged and all((figures / f"{name}.{k}").exists() for k in kinds)):
                for kind, data in block.exports():  # the same SVG: the same exports
                    write_if_changed(figures / f"{name}.{kind}", data)
            out.append({"type": "figure", "file": f"{name}.{block.kind}",
                        "caption": block.caption})
    return out


def blocks_from_json(report: Report, blocks: list[dict], figures: Path) -> Report:
    """Add stored blocks to a report (figures read back from ``figures``)."""
    for b in blocks:
        kind = b["type"]
        if kind == "heading":
            report = report.add_heading(b["text"], b["level"])
        elif kind == "text":
            report = report.add_text(b["text"])
        elif kind == "table":
            report = report.add_table(table_from_dict(b["table"]))
        elif kind == "pagebreak":
            report = report.add_page_break()
        elif kind == "figure":
            report = report.add_figure(figures / b["file"], b["caption"])
    return report


def tables_of(blocks: list[dict]) -> list[Table]:
    return [table_from_dict(b["table"]) for b in blocks if b["type"] == "table"]


# -- claims and results ------------------------------------------------------------------

def results_to_json(results: dict, threshold: int) -> dict:
    """``tidy()`` and ``glance()`` of every result; a model the data could not support is
    stored with its reason. A result whose ``glance()`` shows fewer units than the
    disclosure threshold keeps no numbers."""
    out = {}
    for name, res in results.items():
        if isinstance(res, Unavailable):
            out[name] = {"unavailable": res.reason}
            continue
        entry = {"model": type(res).__name__}
        glance = res.glance() if hasattr(res, "glance") else None
        if glance is not None:
            entry["glance"] = frame_records(glance)
        units = _units(glance)
        if units is not None and units < threshold:
            entry["suppressed"] = f"fewer than {threshold} units"
            entry.pop("glance", None)
        elif hasattr(res, "tidy"):
            entry["tidy"] = frame_records(res.tidy())
        out[name] = entry
    return out


def _units(glance: pd.DataFrame | None) -> int | None:
    if glance is None:
        return None
    for column in ("n_units", "n_firms", "n_clusters"):
        if column in glance and pd.notna(glance[column].iloc[0]):
            return int(glance[column].iloc[0])
    return None


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Write ``data`` unless the file already holds it (its time stamp then stays)."""
    data = data.encode() if isinstance(data, str) else data
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


__all__ = ["blocks_from_json", "blocks_to_json", "claims_from_json", "claims_to_json",
           "dumps", "frame_records", "plain", "results_to_json", "table_from_dict",
           "table_to_dict", "tables_of", "write_if_changed"]
