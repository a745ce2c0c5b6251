"""A table file as a list of records, read and written back in its own format.

``read_records(path)`` gives ``[header, *rows]``: for CSV every cell is text ("" =
empty), for Parquet, Excel, Stata and SPSS cells are Python values (None = missing).
``write_records(path, records)`` writes them back in the file's format; for the typed
formats a column keeps its type when its values still fit it, and becomes text
otherwise. A writer that refuses the records (Stata and SPSS have no duplicated names,
for instance) raises :class:`NotWritable`, and the file is left as it was.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import sys
import warnings
from pathlib import Path

import pandas as pd

csv.field_size_limit(sys.maxsize)

TYPED = (".parquet", ".xlsx", ".dta", ".sav")


class NotWritable(Exception):
    """The format cannot hold these records."""


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def decode(data: bytes) -> str:
    """Text of a CSV file: UTF-16 by its BOM, else UTF-8 (BOM dropped), else Windows-1252,
    else Latin-1 (which reads any bytes)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The most frequent of ``, ; tab |`` on the first line (comma on ties)."""
    first = text.split("\n", 1)[0]
    return max([",", ";", "\t", "|"], key=lambda d: (first.count(d), d == ","))


def csv_rows(path: Path, header_row: int = 1) -> list[list[str]]:
    """Every record of a CSV file from line ``header_row`` on, blank lines included (as
    empty lists)."""
    text = decode(path.read_bytes()).replace("\x00", "")
    if header_row > 1:
        text = "".join(text.splitlines(keepends=True)[header_row - 1:])
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text)))


def read_records(path: Path) -> list[list]:
    """``[header, *rows]`` of a table file (see the module docstring)."""
    if is_csv(path):
        return [r for r in csv_rows(path) if r] or [[]]
    frame = read_typed(path)
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return [[str(c) for c in frame.columns], *rows]


def read_typed(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    if suffix == ".xlsx":
        return pd.read_excel(path, sheet_name=0)
    import pyreadstat

    reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
    return reader(str(path))[0]


def _cell(value):
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def write_records(path: Path, records: list[list]) -> None:
    """Write ``records`` to ``path`` in its format; :class:`NotWritable` if it cannot."""
    if is_csv(path):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(records)
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return
    header, rows = records[0], records[1:]
    width = len(header)
    rows = [(list(r) + [None] * width)[:width] for r in rows]
    columns = [[r[j] for r in rows] for j in range(width)]
    write_typed(path, header, columns)


def write_typed(path: Path, header: list[str], columns: list[list]) -> None:
    """Write columns of Python values to a typed format, each column typed when it can
    be (numbers, or dates), else as text."""
    suffix = path.suffix.lower()
    data = [_typed(values, suffix) for values in columns]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _WRITERS[suffix](path, header, data)
    except NotWritable:
        raise
    except Exception as exc:  # noqa: BLE001 - each writer has its own errors
        raise NotWritable(f"{suffix[1:]} writer refused: {type(exc).__name__}: "
                          f"{str(exc)[:120]}") from exc


def _typed(values: list, suffix: str) -> pd.Series:
    present = [v for v in values if v is not None]
    if present and all(_is_int(v) for v in present):
        if len(present) == len(values):
            return pd.Series(values, dtype="int64")
        return pd.Series([math.nan if v is None else float(v) for v in values])
    if present and all(_is_int(v) or isinstance(v, float) for v in present):
        return pd.Series([math.nan if v is None else float(v) for v in values])
    if present and all(isinstance(v, datetime.date) for v in present):
        return pd.Series(pd.to_datetime(values))
    return pd.Series([None if v is None else str(v) for v in values], dtype=object)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63


def _write_parquet(path, header, data) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [pa.array(s.where(s.notna(), None) if s.dtype == object else s,
                       from_pandas=True) for s in data]
    pq.write_table(pa.Table.from_arrays(arrays, names=list(header)), path)


def _frame(header, data) -> pd.DataFrame:
    frame = pd.concat(data, axis=1, ignore_index=True) if data else pd.DataFrame()
    frame.columns = list(header)
    return frame


def _write_excel(path, header, data) -> None:
    _frame(header, data).to_excel(path, index=False)


def _write_stata(path, header, data) -> None:
    if len(set(header)) != len(header):
        raise NotWritable("Stata cannot hold duplicated column names")
    frame = _frame(header, data)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].fillna("")
    frame.to_stata(path, write_index=False, version=118)


def _write_spss(path, header, data) -> None:
    import pyreadstat

    if len(set(header)) != len(header):
        raise NotWritable("SPSS cannot hold duplicated column names")
    pyreadstat.write_sav(_frame(header, data), str(path))


_WRITERS = {".parquet": _write_parquet, ".xlsx": _write_excel, ".dta": _write_stata,
            ".sav": _write_spss}
