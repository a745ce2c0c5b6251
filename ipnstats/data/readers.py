"""Read one table file (CSV, Parquet, Excel, Stata, SPSS; Qualtrics CSV) into a raw frame.

Reading never coerces types beyond what the file format itself says: the column
parsers in :mod:`ipnstats.data.columns` do that, so every bad value can be named.
Line numbers are those a spreadsheet shows (header = line 1) for CSV and Excel, and
the 1-based row (observation) number for Parquet, Stata and SPSS files.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ENCODINGS = ("utf-8", "cp1252")


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message says why, for the user."""


@dataclass
class RawTable:
    """A table as read from its file, before any validation."""

    name: str
    path: Path
    frame: pd.DataFrame
    first_line: int  # line (or row) number of record 0
    malformed: list[tuple[int, int, str]] = field(default_factory=list)  # (pos, n_fields, text)
    qualtrics: bool = False
    _lines: list[int] | None = field(default=None, repr=False)

    def line_of(self, pos: int) -> int:
        """The line a spreadsheet shows for record ``pos`` (0-based)."""
        if self.path.suffix.lower() != ".csv":
            return self.first_line + pos
        if self._lines is None:
            self._lines = _record_start_lines(self.path, self.first_line - 1)
        return self._lines[pos] if pos < len(self._lines) else self.first_line + pos


def read_table(name: str, path: Path, *, text_columns: tuple[str, ...] = ()) -> RawTable:
    """Read ``path`` into a :class:`RawTable`; raises :class:`UnreadableFile`."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(name, path, text_columns)
        if suffix == ".parquet":
            return RawTable(name, path, pd.read_parquet(path), first_line=1)
        if suffix == ".xlsx":
            return RawTable(name, path, pd.read_excel(path, sheet_name=0), first_line=2)
        if suffix in (".dta", ".sav"):
            return RawTable(name, path, _read_stat(path), first_line=1)
    except UnreadableFile:
        raise
    except Exception as exc:  # every reader library has its own error types
        raise UnreadableFile(f"cannot read {path.name} as {suffix[1:]}: {_short(exc)}") from exc
    raise UnreadableFile(f"{path.name}: unsupported file type {suffix}")


def _read_stat(path: Path) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    frame, _ = reader(str(path), apply_value_formats=True, formats_as_category=False)
    return frame


def _read_csv(name: str, path: Path, text_columns: tuple[str, ...]) -> RawTable:
    head = _head(path)
    if b"\x00" in head:
        raise UnreadableFile(f"{path.name} is a binary file, not a CSV text file")
    qualtrics = _is_qualtrics(head)
    skip = 2 if qualtrics else 0
    for encoding in ENCODINGS:  # UTF-8 (with or without BOM), else Windows-1252
        try:
            table, bad_rows = _arrow_csv(path, encoding, skip, text_columns)
        except UnreadableFile as exc:
            if "UTF8" in str(exc) and encoding != ENCODINGS[-1]:
                continue
            raise
        if not any(pa.types.is_binary(t) for t in table.schema.types):
            break
    if bad_rows:  # ragged rows: re-read slowly so every record keeps its position
        frame, malformed = _python_csv(path, encoding, skip)
    else:
        frame = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
        malformed = []
        del table
    return RawTable(name, path, frame, first_line=2 + skip, malformed=malformed,
                    qualtrics=qualtrics)


def _arrow_csv(path: Path, encoding: str, skip: int, text_columns: tuple[str, ...]):
    bad_rows: list[str] = []

    def on_bad_row(row):
        bad_rows.append(row.text)
        return "skip"

    forced: dict[str, pa.DataType] = {}
    names = _header(path, encoding)
    for col in text_columns:
        if col in names:
            forced[col] = pa.dictionary(pa.int32(), pa.string())
    for _ in range(len(names) + 1):
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding, skip_rows_after_names=skip,
                                               block_size=1 << 20),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad_row),
                convert_options=pacsv.ConvertOptions(column_types=forced,
                                                     strings_can_be_null=True),
            )
            return table, bad_rows
        except pa.ArrowInvalid as exc:
            col = _failed_column(str(exc), names)
            if col is None or col in forced:
                raise UnreadableFile(f"cannot read {path.name}: {_short(exc)}") from exc
            forced[col] = pa.string()  # a later block broke the inferred type: read as text
            bad_rows.clear()
    raise UnreadableFile(f"cannot read {path.name}")


def _failed_column(message: str, names: list[str]) -> str | None:
    match = re.search(r"In CSV column #(\d+)", message)
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


def _python_csv(path: Path, encoding: str, skip: int):
    with open(path, newline="", encoding=encoding + ("-sig" if encoding == "utf-8" else "")) as f:
        rows = list(csv.reader(f))
    header, records = rows[0], [r for r in rows[1 + skip:] if r]
    malformed = [(i, len(r), ",".join(r)) for i, r in enumerate(records) if len(r) != len(header)]
    width = len(header)
    fixed = [(r + [""] * width)[:width] for r in records]
    frame = pd.DataFrame(fixed, columns=header, dtype=object).replace({"": None})
    return frame, malformed


def _head(path: Path, size: int = 8192) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def _header(path: Path, encoding: str) -> list[str]:
    with open(path, newline="", encoding=encoding + ("-sig" if encoding == "utf-8" else ""),
              errors="replace") as f:
        return next(csv.reader(f), [])


def _is_qualtrics(head: bytes) -> bool:
    lines = head.splitlines()[:3]
    return len(lines) == 3 and b"ImportId" in lines[2]


def _record_start_lines(path: Path, header_records: int) -> list[int]:
    """Physical line on which each CSV data record starts (quoted newlines respected,
    blank lines skipped as the reader skips them)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, newline="", encoding=encoding) as f:
                reader = csv.reader(f)
                starts, line = [], 1
                for row in reader:
                    if row:
                        starts.append(line)
                    line = reader.line_num + 1
            return starts[header_records:]
        except UnicodeDecodeError:
            continue
    return []


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."
