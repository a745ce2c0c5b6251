"""Read one table file (CSV, Parquet, Excel, Stata, SPSS; Qualtrics CSV) into a raw frame.

Reading never coerces types beyond what the file format itself says: the column
parsers in :mod:`ipnstats.data.columns` do that, so every bad value can be named.
Line numbers are those a spreadsheet shows (header = line 1) for CSV and Excel, and
the 1-based row (observation) number for Parquet, Stata and SPSS files.
"""

from __future__ import annotations

import csv
import re
import sys
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ipnstats.core.errors import DataError
from ipnstats.data.arrow_frame import arrow_to_pandas
from ipnstats.data.columns import POOL
from ipnstats.data.excel import read_sheet

ENCODINGS = ("utf-8", "cp1252")
#: The csv module refuses fields over 128 KiB by default; a cell is as long as a file allows.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV file is laid out: its delimiter (None: sniffed from the header line), its
    encoding (None: UTF-8, else Windows-1252) and the line holding the column names."""

    delimiter: str | None = None
    encoding: str | None = None
    header_row: int = 1


class UnreadableFile(DataError):
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
    #: what problems name as the file: the file's name, or the database table or query
    label: str = ""
    csv: CsvOptions | None = None  # the options a CSV file was read with (line numbers)
    #: stacked files: (position of the part's first record, the part)
    parts: list[tuple[int, RawTable]] = field(default_factory=list, repr=False)
    #: warnings the reader has for the user: (rule, text), e.g. ("which_sheet", "...")
    notes: list[tuple[str, str]] = field(default_factory=list)
    _lines: list[int] | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self.label:
            self.label = self.path.name if self.path is not None else self.name

    def line_of(self, pos: int) -> int:
        """The line a spreadsheet shows for record ``pos`` (0-based)."""
        return self.locate(pos)[1]

    def locate(self, pos: int) -> tuple[str, int]:
        """The file (or database source) and the line of record ``pos`` (0-based)."""
        if self.parts:
            start, part = next((s, p) for s, p in reversed(self.parts) if s <= pos)
            return part.locate(pos - start)
        if self.csv is None:
            return self.label, self.first_line + pos
        if self._lines is None:
            self._lines = _record_start_lines(self.path, self.first_line - 1, self.csv)
        return self.label, (self._lines[pos] if pos < len(self._lines)
                            else self.first_line + pos)


def read_table(name: str, path: Path, *, text_columns: tuple[str, ...] = (),
               id_columns: tuple[str, ...] = (),
               categories: dict[str, pd.Index] | None = None,
               parsed: Future | None = None, csv_options: CsvOptions | None = None,
               sheet: str | int | None = None, header_row: int = 1) -> RawTable:
    """Read ``path`` into a :class:`RawTable`; raises :class:`UnreadableFile`.

    ``text_columns`` and ``id_columns`` (ids, whose values often come in runs, as in a
    table sorted by id) of a CSV file are read as categorical text. ``categories`` may
    give, per id column, the distinct ids it is expected to have (those of the table it
    refers to): when the column has exactly these, in this order, the categorical uses
    this very index. ``parsed``: the file parsed ahead by :func:`parse_csv` (a future,
    for the same path, columns and options), so that only the conversion is left to do.
    ``csv_options`` lay out a CSV file; ``sheet`` and ``header_row`` an Excel workbook.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            options = csv_options or CsvOptions()
            result = parsed.result() if parsed is not None else parse_csv(
                path, text_columns, id_columns, options)
            return _finish_csv(name, path, result, id_columns, categories or {}, options)
        if suffix == ".parquet":
            return RawTable(name, path, pd.read_parquet(path), first_line=1)
        if suffix == ".xlsx":
            return _read_excel(name, path, sheet, header_row)
        if suffix in (".dta", ".sav"):
            return RawTable(name, path, _read_stat(path), first_line=1)
    except UnreadableFile:
        raise
    except Exception as exc:  # every reader library has its own error types
        raise UnreadableFile(f"cannot read {path.name} as {suffix[1:]}: {_short(exc)}") from exc
    raise UnreadableFile(f"{path.name}: unsupported file type {suffix}")


def _read_excel(name: str, path: Path, sheet: str | int | None, header_row: int) -> RawTable:
    """One sheet of a workbook (the first, unless ``sheet`` names one), its column names on
    line ``header_row``."""
    with pd.ExcelFile(path) as book:
        sheets = list(book.sheet_names)
        if isinstance(sheet, str) and sheet not in sheets:
            close = [s for s in sheets if s.strip().lower() == sheet.strip().lower()]
            raise UnreadableFile(f"{path.name} has no sheet {sheet!r} (it has {sheets})"
                                 + (f"; did you mean {close[0]!r}?" if close else ""))
        if isinstance(sheet, int) and sheet >= len(sheets):
            raise UnreadableFile(f"{path.name} has {len(sheets)} sheet(s): no sheet at "
                                 f"position {sheet} (counted from 0)")
        chosen = sheets[sheet or 0] if not isinstance(sheet, str) else sheet
        read = read_sheet(book.book, chosen, header=header_row - 1)
    label = path.name if sheet is None else f"{path.name} [{chosen}]"
    notes = []
    if read.stray:
        more = read.n_stray - len(read.stray)
        notes.append(("stray_cell", "filled cells in columns without a name "
                      f"(header on line {header_row}): {', '.join(read.stray)}"
                      + (f" and {more} more" if more else "") + "; they are kept as columns "
                      "named 'Unnamed: <position>' that no check reads: delete them, or name "
                      "their column"))
    if sheet is None and len(sheets) > 1:
        notes.append(("which_sheet", f"{path.name} has {len(sheets)} sheets {sheets}: the "
                      f"first, {sheets[0]!r}, was read; set sheet = \"...\" in "
                      f"[tables.{name}] of codebook.toml to read another"))
    return RawTable(name, path, read.frame, first_line=header_row + 1, label=label,
                    notes=notes)


def _read_stat(path: Path) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    frame, _ = reader(str(path), apply_value_formats=True, formats_as_category=False)
    return frame


@dataclass
class ParsedCSV:
    """A CSV file as parsed, before its conversion to a frame."""

    table: pa.Table | None  # None when ragged rows made the slow reader take over
    frame: pd.DataFrame | None  # the slow reader's frame
    malformed: list[tuple[int, int, str]]
    skip: int  # header lines after the column names (Qualtrics exports: 2)
    qualtrics: bool

    def take_table(self) -> pa.Table:
        """The Arrow table, handed over: this object lets go of it."""
        table, self.table = self.table, None
        return table


def parse_csv(path: Path, text_columns: tuple[str, ...] = (),
              id_columns: tuple[str, ...] = (),
              options: CsvOptions | None = None) -> ParsedCSV:
    """Parse a CSV file (the costly part of :func:`read_table`, which lets go of the
    interpreter lock: it may run in another thread); raises :class:`UnreadableFile`."""
    options = options or CsvOptions()
    try:
        head = _head(path)
        encodings = _encodings(head, options)
        if b"\x00" in head and not encodings[0].startswith("utf-16"):
            raise UnreadableFile(f"{path.name} is a binary file, not a CSV text file (or a "
                                 "text in an encoding to name: encoding = \"...\" in "
                                 "codebook.toml)")
        qualtrics = _is_qualtrics(_first_lines(path, options.header_row + 2),
                                  options.header_row)
        skip = 2 if qualtrics else 0
        text_columns = tuple(dict.fromkeys(text_columns + id_columns))
        for encoding in encodings:  # UTF-8 (with or without BOM), else Windows-1252
            layout = _Layout(encoding, _delimiter(path, encoding, options), skip,
                             options.header_row - 1)
            try:
                table = _arrow_csv(path, layout, text_columns, id_columns)
            except UnreadableFile as exc:
                if "UTF8" in str(exc) and encoding != encodings[-1]:
                    continue
                raise
            if table is None or not any(pa.types.is_binary(t) for t in table.schema.types):
                break
        if table is None:  # ragged rows: read slowly so every record keeps its position
            frame, malformed = _python_csv(path, layout, encodings)
            return ParsedCSV(None, frame, malformed, skip, qualtrics)
        return ParsedCSV(table, None, [], skip, qualtrics)
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"cannot read {path.name} as csv: {_short(exc)}") from exc


@dataclass(frozen=True)
class _Layout:
    """A CSV file's encoding and delimiter, the header lines after the names (``skip``)
    and the lines before them (``before``)."""

    encoding: str
    delimiter: str
    skip: int
    before: int


def _encodings(head: bytes, options: CsvOptions) -> tuple[str, ...]:
    if options.encoding:
        return (options.encoding,)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("utf-16",)
    return ENCODINGS


def _delimiter(path: Path, encoding: str, options: CsvOptions) -> str:
    """The delimiter given, or the one of ``, ; tab |`` found most often outside quotes on
    the header line (a comma when none is)."""
    if options.delimiter:
        return options.delimiter
    line = _raw_line(path, encoding, options.header_row)
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def _raw_line(path: Path, encoding: str, number: int) -> str:
    """Line ``number`` (1-based) of a text file, at most 64 KiB of it."""
    with open(path, encoding=_python_encoding(encoding), errors="replace", newline="") as f:
        line = ""
        for _ in range(number):
            line = f.readline(1 << 16)
    return line


def _python_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding


def _finish_csv(name: str, path: Path, parsed: ParsedCSV, id_columns: tuple[str, ...],
                categories: dict[str, pd.Index], options: CsvOptions) -> RawTable:
    if parsed.table is not None:
        frame = arrow_to_pandas([parsed.take_table()], id_columns, categories)
    else:
        frame = parsed.frame
    return RawTable(name, path, frame, first_line=options.header_row + 1 + parsed.skip,
                    malformed=parsed.malformed, qualtrics=parsed.qualtrics, csv=options)


#: Bytes per read block: blocks are parsed in parallel; each becomes one chunk per column.
BLOCK_SIZE = 8 << 20
#: Bytes read to infer the column types before the whole file is read with them.
PROBE_SIZE = 1 << 20


def _arrow_csv(path: Path, layout: _Layout, text_columns: tuple[str, ...],
               id_columns: tuple[str, ...] = ()):
    """Read the CSV with pyarrow (None when a row has another number of fields than the
    header). Text columns are read as text (dictionary-encoded,
    except ``id_columns``); every other column gets the type pyarrow infers from all
    its values, as a plain inferring read would, but without holding the whole parsed
    file while inferring: the types inferred from the first block are given up front,
    and a column that does not fit its type after all is left to inference."""
    forced: dict[str, pa.DataType] = {}
    names = _header(path, layout)
    if len(set(names)) != len(names):
        id_columns = ()  # (columns are converted one by one, by name)
    for col in text_columns:
        if col in names:
            forced[col] = pa.string() if col in id_columns else pa.dictionary(pa.int32(),
                                                                            pa.string())
    read_options = pacsv.ReadOptions(encoding=layout.encoding, skip_rows=layout.before,
                                     skip_rows_after_names=layout.skip,
                                     block_size=BLOCK_SIZE)
    # no handler of invalid rows: pyarrow decodes a row's text as UTF-8 before it calls
    # one, and prints what fails; a ragged row stops this reader, and the slow one reads
    parse_options = pacsv.ParseOptions(delimiter=layout.delimiter)
    guessed = _probe_types(path, layout, forced)
    for _ in range(2 * len(names) + 1):
        try:
            table = pacsv.read_csv(
                path, read_options=read_options,
                parse_options=parse_options,
                convert_options=pacsv.ConvertOptions(column_types={**guessed, **forced},
                                                     strings_can_be_null=True),
                memory_pool=POOL,
            )
            return table
        except pa.ArrowInvalid as exc:
            if _RAGGED.search(str(exc)):
                return None  # a row with another number of fields: the slow reader reads
            col = _failed_column(str(exc), names)
            if col is not None and col in guessed:
                del guessed[col]  # the first block's type does not fit: infer from all values
                continue
            if col is None or col in forced:
                raise UnreadableFile(f"cannot read {path.name}: {_short(exc)}") from exc
            forced[col] = pa.string()  # a later block broke the inferred type: read as text
    raise UnreadableFile(f"cannot read {path.name}")


_RAGGED = re.compile(r"Expected \d+ columns, got \d+")


def _probe_types(path: Path, layout: _Layout,
                 forced: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
    """Types pyarrow infers for the columns from the first block of the file.

    Inference takes, for each column, the first type of a fixed sequence (null, int64,
    boolean, date, timestamp, float64, ..., string) that reads every value; so a type
    inferred from the first rows that also reads every later value is the type
    inferred from all values. Columns that are empty in the first block are left out.
    """
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=layout.encoding, skip_rows=layout.before,
                                           skip_rows_after_names=layout.skip,
                                           block_size=PROBE_SIZE, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter),
            convert_options=pacsv.ConvertOptions(column_types=forced,
                                                 strings_can_be_null=True),
        )
    except Exception:  # noqa: BLE001 - the full read reports (or gets over) the problem
        return {}
    try:
        schema = reader.schema
    finally:
        reader.close()
    names = schema.names
    return {f.name: f.type for f in schema
            if f.name not in forced and not pa.types.is_null(f.type)
            and not pa.types.is_binary(f.type) and names.count(f.name) == 1}


def _failed_column(message: str, names: list[str]) -> str | None:
    match = re.search(r"In CSV column #(\d+)", message)
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


def _python_csv(path: Path, layout: _Layout, encodings: tuple[str, ...]):
    """Every record of a file with ragged rows, padded or cut to the header's width, and
    the rows that were (position, field count, text); tries ``layout``'s encoding, then
    the later ones of ``encodings``."""
    tried = encodings[encodings.index(layout.encoding):] if layout.encoding in encodings \
        else (layout.encoding,)
    for encoding in tried:
        try:
            with open(path, newline="", encoding=_python_encoding(encoding)) as f:
                for _ in range(layout.before):
                    f.readline()
                rows = list(csv.reader(f, delimiter=layout.delimiter))
            break
        except UnicodeDecodeError:
            if encoding == tried[-1]:
                raise UnreadableFile(f"{path.name} is not a text file in {encoding}: set "
                                     "encoding = \"...\" in codebook.toml") from None
    if not rows:
        raise UnreadableFile(f"{path.name} has no header line")
    header, records = rows[0], [r for r in rows[1 + layout.skip:] if r]
    malformed = [(i, len(r), layout.delimiter.join(r)) for i, r in enumerate(records)
                 if len(r) != len(header)]
    width = len(header)
    fixed = [(r + [""] * width)[:width] for r in records]
    frame = pd.DataFrame(fixed, columns=header, dtype=object).replace({"": None})
    return frame, malformed


def _head(path: Path, size: int = 8192) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def _first_lines(path: Path, n: int, limit: int = 16 << 20) -> bytes:
    """The first ``n`` lines of a file, however wide (each up to ``limit`` bytes)."""
    with open(path, "rb") as f:
        return b"".join(f.readline(limit) for _ in range(n))


def _header(path: Path, layout: _Layout) -> list[str]:
    with open(path, newline="", encoding=_python_encoding(layout.encoding),
              errors="replace") as f:
        for _ in range(layout.before):
            f.readline()
        return next(csv.reader(f, delimiter=layout.delimiter), [])


def _is_qualtrics(head: bytes, header_row: int = 1) -> bool:
    lines = head.splitlines()[header_row - 1:header_row + 2]
    return len(lines) == 3 and b"ImportId" in lines[2]


def _record_start_lines(path: Path, header_records: int,
                        options: CsvOptions | None = None) -> list[int]:
    """Physical line on which each CSV data record starts (quoted newlines respected,
    blank lines skipped as the reader skips them); the lines before the header row and
    the first ``header_records`` records after them are left out."""
    options = options or CsvOptions()
    before = options.header_row - 1
    head = _head(path)
    for encoding in _encodings(head, options) + (("cp1252",) if not options.encoding else ()):
        try:
            with open(path, newline="", encoding=_python_encoding(encoding)) as f:
                for _ in range(before):
                    f.readline()
                reader = csv.reader(f, delimiter=_delimiter(path, encoding, options))
                starts, line = [], before + 1
                for row in reader:
                    if row:
                        starts.append(line)
                    line = before + reader.line_num + 1
            return starts[header_records - before:]
        except (UnicodeDecodeError, csv.Error):
            continue
    return []


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."
