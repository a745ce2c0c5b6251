"""Look at export files as a person opening them would: which encoding, delimiter,
decimal mark, header row and sheet, which date format, and what each column holds.

Used by :mod:`ipnstats.data.init` to draft a codebook. Only the first
:data:`SAMPLE_ROWS` records of each table are read: every guess is made from them.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ipnstats.core.errors import DataError
from ipnstats.data.excel import read_sheet
from ipnstats.data.readers import _is_qualtrics

SAMPLE_ROWS = 5_000
#: Files looked at: the loader's suffixes, and text files it would read once renamed.
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".parquet", ".dta", ".sav")
DELIMITERS = (",", ";", "\t", "|")
MISSING = frozenset({"", "na", "n/a", "null", "nan", "none", "-", "."})
#: The same, as read_csv's na_values.
_NA_VALUES = sorted(MISSING | {m.upper() for m in MISSING} | {m.title() for m in MISSING})
_NUMBER = {".": re.compile(r"^[-+]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$"),
           ",": re.compile(r"^[-+]?(\d+|\d{1,3}(\.\d{3})+|\d{1,3}( \d{3})+)(,\d+)?$")}
_DAY_MONTH = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})$")
_ISO = re.compile(r"^\d{4}([-/])\d{1,2}\1\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


@dataclass(frozen=True)
class Profile:
    """What a column holds: its numbers (None: not all numbers), whether it holds dates,
    its labels (None: not numbers nor dates, and at most 12 distinct texts)."""

    numbers: pd.Series | None
    is_date: bool
    labels: list[str] | None


class Unreadable(DataError):
    """A file that cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class Source:
    """One table found in a file (a CSV file, or one sheet of a workbook).

    ``frame`` holds the first :data:`SAMPLE_ROWS` records under the file's own column
    names: text files as text (missing cells as None), other formats as their reader
    gives them. ``notes`` are what the sniffing was unsure of, for the user.
    """

    path: Path
    file: str  # relative to the folder, with "/"
    frame: pd.DataFrame
    sheet: str | None = None
    first_sheet: bool = True
    header_row: int = 1
    delimiter: str | None = None
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    qualtrics: bool = False
    questions: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    # (a Qualtrics export's question texts, a Stata or SPSS file's variable labels)
    notes: tuple[str, ...] = ()
    _profiles: dict = field(default_factory=dict, compare=False, repr=False)

    def profile(self, column: str) -> Profile:
        """What the column holds (worked out once)."""
        if column not in self._profiles:
            values = self.frame[column]
            numbers = as_numbers(values, self.decimal, self.thousands)
            is_date = numbers is None and is_date_column(values)
            self._profiles[column] = Profile(
                numbers, is_date, None if numbers is not None or is_date else labels(values))
        return self._profiles[column]

    @property
    def label(self) -> str:
        """The file (and sheet) as the user knows it."""
        return f"{self.file} (sheet {self.sheet!r})" if self.sheet else self.file


#: Table formats the loader does not read, and what to do about them.
OTHER_FORMATS = {".xls": "save it as .xlsx", ".xlsm": "save it as .xlsx",
                 ".xlsb": "save it as .xlsx", ".ods": "save it as .xlsx",
                 ".json": "export it as .csv", ".sas7bdat": "export it as .csv or .dta",
                 ".rds": "export it as .csv or .parquet", ".feather": "write it as .parquet"}


def find_files(folder: Path, suffixes=SUFFIXES) -> list[Path]:
    """Files with one of ``suffixes`` in ``folder`` and its subfolders, in name order
    (hidden ones and Excel's lock files ``~$...`` left out)."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith((".", "~$")) for part in p.relative_to(folder).parts))


def read_sources(folder: Path, path: Path) -> list[Source]:
    """The tables in one file (one per non-empty sheet of a workbook); raises
    :class:`Unreadable` with the reason when the file cannot be read."""
    file = path.relative_to(folder).as_posix()
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            return [_text_source(path, file)]
        if suffix == ".xlsx":
            return _workbook_sources(path, file)
        if suffix == ".parquet":
            return [Source(path, file, pd.read_parquet(path).head(SAMPLE_ROWS))]
        import pyreadstat

        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        frame, meta = reader(str(path), row_limit=SAMPLE_ROWS, apply_value_formats=True,
                             formats_as_category=False)
    except Unreadable:
        raise
    except Exception as exc:  # every reader library has its own error types
        raise Unreadable(f"cannot read {file}: {str(exc).strip()[:200]}") from exc
    questions = {k: v for k, v in meta.column_names_to_labels.items() if v}  # variable labels
    return [Source(path, file, frame, questions=MappingProxyType(questions))]


# --- text files -------------------------------------------------------------------------

def sniff_encoding(head: bytes) -> str:
    """"utf-8" when the bytes are UTF-8 (a cut multi-byte character at the end allowed),
    else "cp1252"."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sniff_delimiter(lines: list[str]) -> tuple[str, str | None]:
    """The delimiter among ``, ; tab |`` that splits the lines into the most fields, the
    same number on every line from some line on (the lines above: a title block); and a
    note when no delimiter does so."""
    best, best_width, consistent = ",", 1, False
    for delimiter in DELIMITERS:
        widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if r]
        if not widths:
            continue
        width, run = widths[-1], 0
        while run < len(widths) and widths[-1 - run] == width:
            run += 1
        same = run == len(widths) or (run >= 2 and run >= len(widths) / 2)
        if (same, width) > (consistent, best_width) and width > 1:
            best, best_width, consistent = delimiter, width, same
    note = None if consistent else (
        f"the lines do not split into the same number of fields with any of "
        f"{', '.join(map(repr, DELIMITERS))}: delimiter {best!r} is a guess")
    return best, note


def _text_source(path: Path, file: str) -> Source:
    head = path.read_bytes()[:1 << 20]
    if b"\x00" in head:
        raise Unreadable(f"{file} is a binary file, not a text table")
    encoding = sniff_encoding(head)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[:31]
    if len(lines) > 1 and len(head) == 1 << 20:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        raise Unreadable(f"{file} is empty")
    qualtrics = _is_qualtrics(head.lstrip(codecs.BOM_UTF8))
    delimiter, note = sniff_delimiter(lines[:3] if qualtrics else lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = 0 if qualtrics else header_index(rows)  # (a physical line: no quoted newlines)
    skip = [1, 2] if qualtrics else header
    frame = pd.read_csv(path, sep=delimiter, encoding="utf-8-sig" if encoding == "utf-8"
                        else encoding, header=0, skiprows=skip, dtype=str,
                        keep_default_na=False, na_values=_NA_VALUES, nrows=SAMPLE_ROWS,
                        on_bad_lines="skip", engine="python")
    frame = _clean(frame, missing=False)
    decimal, thousands, decimal_note = sniff_decimal(frame, delimiter)
    questions = dict(zip(rows[0], rows[1], strict=False)) if qualtrics and len(rows) > 1 else {}
    notes = tuple(n for n in (note, decimal_note, _duplicated(rows[header] if rows else []))
                  if n)
    return Source(path, file, frame, header_row=header + 1, delimiter=delimiter,
                  encoding=encoding, decimal=decimal, thousands=thousands, qualtrics=qualtrics,
                  questions=MappingProxyType(questions), notes=notes)


def _duplicated(names: list) -> str | None:
    """A note naming the column names given more than once (None: all different)."""
    names = [str(n).strip() for n in names if n is not None and n == n and str(n).strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    return (f"columns named more than once: {', '.join(twice)} (read as "
            f"{twice[0]!r}, {twice[0] + '.1'!r}, ...): rename them") if twice else None


def _clean(frame: pd.DataFrame, missing: bool = True) -> pd.DataFrame:
    """Column names stripped, unnamed empty columns dropped, and (``missing``) missing
    markers (NA, NULL, ...) as missing."""
    names, seen = [], set()
    for name in (str(c).strip() for c in frame.columns):  # repeated names as x, x.1, ...
        unique, k = name, 0
        while unique in seen:
            k += 1
            unique = f"{name}.{k}"
        seen.add(unique)
        names.append(unique)
    frame = frame.set_axis(names, axis=1)
    frame = frame.loc[:, [not (c.startswith("Unnamed:") and frame[c].isna().all())
                          for c in frame.columns]]
    if not missing:
        return frame
    return frame.apply(lambda s: s.where(~s.astype(str).str.strip().str.lower().isin(MISSING),
                                         None) if s.dtype == object or s.dtype == "str" else s)


_DECIMALS = {  # (decimals certainly, thousands certainly, either) per mark
    ",": (r"[-+]?(\d+,\d{1,2}|\d+,\d{4,}|0,\d+|\d{1,3}(\.\d{3})+,\d+)",
          r"[-+]?[1-9]\d{0,2}(\.\d{3}){2,}", r"[-+]?[1-9]\d{0,2},\d{3}"),
    ".": (r"[-+]?(\d+\.\d{1,2}|\d+\.\d{4,}|0\.\d+|\d{1,3}(,\d{3})+\.\d+)",
          r"[-+]?[1-9]\d{0,2}(,\d{3}){2,}", r"[-+]?[1-9]\d{0,2}\.\d{3}"),
}


def sniff_decimal(frame: pd.DataFrame, delimiter: str) -> tuple[str, str | None, str | None]:
    """Decimal mark and thousands separator of a text table, from its number-like cells
    (``1234,50``, ``1.234.567``); and a note when they are unsure (``1,234`` alone could be
    1234 or 1.234)."""
    count = {(mark, i): 0 for mark in _DECIMALS for i in range(3)}
    for name in frame.columns:
        values = _present(frame[name]).astype(str).str.strip()
        if (values.empty or not values.str.contains(r"[.,]").any()
                or not values.str.fullmatch(r"[-+]?[\d.,]*\d").all()):
            continue
        for mark, patterns in _DECIMALS.items():
            for i, pattern in enumerate(patterns):
                count[mark, i] += int(values.str.fullmatch(pattern).sum())
    comma, point = count[",", 0], count[".", 0]
    if comma and point:
        return ".", None, (f"numbers written both with decimal points ({point} cells) and "
                           f"decimal commas ({comma} cells): decimal = \".\" is a guess")
    if comma or count[",", 1]:
        return ",", ("." if count[",", 1] or _grouped(frame, ",") else None), None
    if point or count[".", 1]:
        return ".", ("," if count[".", 1] or _grouped(frame, ".") else None), None
    if count[",", 2] and delimiter != ",":
        return ",", None, ("numbers like 1,234 read with a decimal comma; if the comma "
                           "separates thousands, set decimal = \".\" and thousands = \",\"")
    if count[".", 2]:
        return ".", None, ("numbers like 1.234 read with a decimal point; if the point "
                           "separates thousands, set decimal = \",\" and thousands = \".\"")
    return ".", None, None


def _grouped(frame: pd.DataFrame, decimal: str) -> bool:
    """Whether some number groups its thousands (``1.234,50`` for decimal ",")."""
    sep = "." if decimal == "," else ","
    pattern = rf"[-+]?\d{{1,3}}(\{sep}\d{{3}})+\{decimal}\d+"
    return any(_present(frame[c]).astype(str).str.strip().str.fullmatch(pattern).any()
               for c in frame.columns)


def header_index(rows: list[list]) -> int:
    """0-based index of the first row whose cells look like column names: at least two,
    filling most of the table's width, all text that is not a number."""
    def filled(row):
        return [c for c in row if c is not None and str(c).strip() != "" and c == c]

    width = max((len(filled(r)) for r in rows[:30]), default=0)
    for i, row in enumerate(rows[:30]):
        cells = filled(row)
        if (len(cells) >= max(2, 0.6 * width)
                and all(isinstance(c, str) and not _is_number_text(c) for c in cells)):
            return i
    return 0


def _is_number_text(text: str) -> bool:
    return bool(_NUMBER["."].match(text.strip()) or _NUMBER[","].match(text.strip()))


# --- workbooks --------------------------------------------------------------------------

def _workbook_sources(path: Path, file: str) -> list[Source]:
    with pd.ExcelFile(path) as book:  # (only the used columns: a far stray cell is cheap)
        sheets = {name: read_sheet(book.book, name, header=None, nrows=SAMPLE_ROWS + 30,
                                   dtype=object).frame for name in book.sheet_names}
    out = []
    for position, (name, raw) in enumerate(sheets.items()):
        raw = raw.dropna(how="all").dropna(axis=1, how="all")
        if raw.shape[1] < 2 or raw.shape[0] < 2:
            continue  # a note, a title or an empty sheet
        top = raw.reset_index(drop=True)
        rows = top.head(30).to_numpy().tolist()
        i = header_index(rows)
        frame = top.iloc[i + 1:].reset_index(drop=True)
        frame.columns = [str(c).strip() for c in top.iloc[i]]
        frame = frame.loc[:, [c != "nan" for c in frame.columns]]
        header_row = int(raw.index[i]) + 1
        note = _duplicated(list(top.iloc[i]))
        out.append(Source(path, file, _clean(frame.infer_objects()), sheet=str(name),
                          first_sheet=position == 0, header_row=header_row,
                          notes=(note,) if note else ()))
    return out


# --- columns ----------------------------------------------------------------------------

def _present(values: pd.Series) -> pd.Series:
    return values[values.notna()]


def _inferred(present: pd.Series) -> str:
    return pd.api.types.infer_dtype(present, skipna=True)


def as_numbers(values: pd.Series, decimal: str = ".", thousands: str | None = None
               ) -> pd.Series | None:
    """The column as floats when every present value is a number (None otherwise)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float)
    present = _present(values)
    if present.empty:
        return None
    if _inferred(present) in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(values, errors="coerce").astype(float)
    texts = [str(v).strip() for v in present.tolist()]
    number = _NUMBER[decimal]
    if not all(number.match(t) for t in texts):
        return None
    group = "," if decimal == "." else "."
    out = np.full(len(values), np.nan)
    out[values.notna().to_numpy()] = [
        float(t.replace(thousands or " ", "").replace(" ", "").replace(group, "")
              .replace(",", ".")) for t in texts]
    return pd.Series(out, index=values.index)


def is_date_column(values: pd.Series) -> bool:
    """Whether every present value is a date (a date cell, or text that reads as one)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return True
    present = _present(values)
    if present.empty:
        return False
    if _inferred(present) in ("datetime", "datetime64", "date"):
        return True
    return all(_ISO.match(t) or _DAY_MONTH.match(t)
               for t in (str(v).strip() for v in present.tolist()))


def date_format(values: pd.Series) -> tuple[str | None, str | None]:
    """The strftime format of a date column (None: ISO or date cells, read by default)
    and a note when it is unsure: day-first or month-first cannot be told when no day
    is above 12."""
    present = _present(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or present.empty or \
            _inferred(present) in ("datetime", "datetime64", "date"):
        return None, None
    text = present.astype(str).str.strip()
    parts = text.str.extract(_DAY_MONTH)
    if parts[0].isna().all():
        return None, None  # ISO (YYYY-MM-DD, YYYY/MM/DD), read by default
    sep, year = parts[1].dropna().iloc[0], "%Y" if len(parts[3].dropna().iloc[0]) == 4 else "%y"
    first, second = parts[0].dropna().astype(int), parts[2].dropna().astype(int)
    day_first = f"%d{sep}%m{sep}{year}"
    if (first > 12).any() and not (second > 12).any():
        return day_first, None
    if (second > 12).any() and not (first > 12).any():
        return f"%m{sep}%d{sep}{year}", None
    if (first > 12).any():
        return day_first, "some dates have a day above 12 first, others second: check them"
    return day_first, (f"no day above 12 in {len(text)} dates: day-first ({day_first}) is a "
                       f"guess; month-first would be \"%m{sep}%d{sep}{year}\"")


def labels(values: pd.Series, limit: int = 12) -> list[str] | None:
    """The distinct texts of a column when there are at most ``limit`` (else None)."""
    present = _present(values)
    if present.empty:
        return None
    distinct = pd.unique(present.astype(str).str.strip())
    return sorted(distinct) if len(distinct) <= limit else None


def item_groups(source: Source, columns: list[str]) -> dict[str, list[str]]:
    """Columns that look like the items of a rating scale, by name prefix: at least two
    columns named prefix + number (``Q5_1``, ``pl_2``) holding small whole numbers."""
    groups: dict[str, list[str]] = {}
    for name in columns:
        match = re.fullmatch(r"(.*?\D)(\d+)", name)
        numbers = source.profile(name).numbers
        if match is None or numbers is None or numbers.dropna().empty:
            continue
        values = numbers.dropna()
        if (values == values.round()).all() and values.min() >= -10 and values.max() <= 11:
            groups.setdefault(match.group(1), []).append(name)
    return {prefix: sorted(names, key=lambda n: int(re.search(r"(\d+)$", n).group(1)))
            for prefix, names in groups.items() if len(names) >= 2}


def reverse_items(source: Source, items: list[str]) -> list[str]:
    """Items that run against the others (reverse-coded): those whose loading on the
    first principal component of the items' correlations has the minority sign (on a
    tie, the sign opposite to the first item's)."""
    numbers = pd.DataFrame({name: source.profile(name).numbers for name in items})
    corr = numbers.corr(min_periods=3).fillna(0.0).to_numpy()
    if len(items) < 2 or not np.abs(corr - np.eye(len(items))).any():
        return []
    loadings = np.linalg.eigh(corr)[1][:, -1]
    positive = loadings > 0
    forward = positive[0] if 2 * positive.sum() == len(items) else 2 * positive.sum() > len(items)
    return [name for name, sign, load in zip(items, positive, loadings, strict=True)
            if sign != forward and abs(load) > 1e-9]
