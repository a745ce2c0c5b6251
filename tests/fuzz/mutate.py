"""Mutators of a study folder: each a pure function of ``(folder, random.Random)``.

A mutator changes the folder in place, draws every choice from the ``Random`` it is
given (files are visited in sorted order), and returns one line saying what it did, for
reports. :data:`MUTATORS` maps each name to its :class:`Mutator`; :func:`apply` runs a
sequence of them in stage order (codebook and table set, format conversion, headers
and cells, delimiter, encoding, bytes, files), so that a combination stays coherent:
cells are edited before the file is re-encoded, and bytes are flipped last.
Conversions to Parquet, Excel, Stata or SPSS keep later edits in the new format.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipnstats.data.schema import FILE_SUFFIXES, TABLES

from . import codebook_mutators
from .records import NotWritable, is_csv, read_records, read_typed, write_records, write_typed

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


MUTATORS: dict[str, Mutator] = {}
STAGES = {"files": 0, "convert": 1, "cells": 2, "delimiter": 3, "encoding": 4, "bytes": 5,
          "links": 6}


def mutator(stage: str):
    def register(edit: Edit) -> Edit:
        MUTATORS[edit.__name__] = Mutator(edit.__name__, STAGES[stage], edit)
        return edit
    return register


def apply(folder: Path, names: Sequence[str], rng: random.Random) -> list[str]:
    """Apply the mutators ``names`` to ``folder`` in stage order; their descriptions."""
    chosen = sorted((MUTATORS[n] for n in names), key=lambda m: m.stage)
    return [m(folder, rng) for m in chosen]


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


def _edit(folder: Path, rng: random.Random, change, *, csv_only: bool = False,
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


def _column(records: list[list], rng: random.Random, kinds: Sequence[str] = ()) -> int | None:
    header = records[0]
    if not header:
        return None
    wanted = [j for j, name in enumerate(header) if _kind(name) in kinds] if kinds else []
    return rng.choice(wanted) if wanted else rng.randrange(len(header))


def _kind(name: str) -> str | None:
    for spec in TABLES.values():
        for column in spec.columns:
            if column.name == name:
                return column.kind
    return "number" if name[:3] in ("pl_", "tr_", "ra_", "la_") else None


def _rows(records: list[list], rng: random.Random, k: int) -> list[int]:
    n = len(records) - 1
    return sorted(rng.sample(range(1, n + 1), min(k, n))) if n > 0 else []


def _set(records: list[list], row: int, col: int, value) -> None:
    record = records[row]
    if col >= len(record):
        record.extend([""] * (col + 1 - len(record)))
    record[col] = value


# --- the table set (stage 0) ------------------------------------------------------

@mutator("files")
def delete_optional_table(folder: Path, rng: random.Random) -> str:
    files = [p for p in table_files(folder) if not TABLES[p.stem].required]
    if not files:
        return "no optional table left"
    path = rng.choice(files)
    path.unlink()
    return f"deleted {path.name}"


@mutator("files")
def delete_required_table(folder: Path, rng: random.Random) -> str:
    files = [p for p in table_files(folder) if TABLES[p.stem].required]
    if not files:
        return "no required table left"
    path = rng.choice(files)
    path.unlink()
    return f"deleted {path.name}"


for _edit_name, _edit_func in codebook_mutators.EDITS.items():
    MUTATORS[_edit_name] = Mutator(_edit_name, STAGES["files"], _edit_func)


# --- format conversion (stage 1) --------------------------------------------------

def _convert(folder: Path, rng: random.Random, suffix: str) -> str:
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table to convert"
    records = read_records(path)
    header, rows = records[0], records[1:]
    columns = [[_native(r[j] if j < len(r) else "", header[j], rng) for r in rows]
               for j in range(len(header))]
    target = path.with_suffix(suffix)
    write_typed(target, header, columns)
    path.unlink()
    return f"{path.name} -> {target.name}"


def _native(text: str, name: str, rng: random.Random):
    """A CSV cell as the value a typed file would hold (dates as text or as dates)."""
    if text == "":
        return None
    kind = _kind(name)
    if kind in ("integer", "binary"):
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "date":
        import pandas as pd

        stamp = pd.to_datetime(text, errors="coerce")
        return text if pd.isna(stamp) else stamp
    return text


for _suffix in (".parquet", ".xlsx", ".dta", ".sav"):
    def _to(folder: Path, rng: random.Random, _s=_suffix) -> str:
        return _convert(folder, rng, _s)
    _to.__name__ = f"to_{_suffix[1:]}"
    mutator("convert")(_to)


# --- headers (stage 2) ------------------------------------------------------------

@mutator("cells")
def header_delete_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng)
        name = records[0][j]
        for r in records:
            if j < len(r):
                del r[j]
        return f"deleted column {name!r}"
    return _edit(folder, rng, change)


@mutator("cells")
def header_duplicate_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng, ("id", "integer", "date"))
        for r in records:
            r.append(r[j] if j < len(r) else "")
        return f"column {records[0][j]!r} appears twice (values copied)"
    return _edit(folder, rng, change)


@mutator("cells")
def header_duplicate_name(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        header = records[0]
        if len(header) < 2:
            return "too few columns"
        i, j = rng.sample(range(len(header)), 2)
        old = header[j]
        header[j] = header[i]
        return f"column {old!r} renamed to the name of column {header[i]!r}"
    return _edit(folder, rng, change)


@mutator("cells")
def header_rename(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng, ("id",))
        old = records[0][j]
        new = rng.choice([old + "x", old[:-1], old.replace("_", " "), "", "?" * 3, old + " ",
                          "Unnamed: 0", old + "\u200b"])
        records[0][j] = new
        return f"column {old!r} renamed {new!r}"
    return _edit(folder, rng, change)


@mutator("cells")
def header_case(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng, ("id",))
        old = records[0][j]
        new = rng.choice(["".join(w.title() for w in old.split("_")).replace("Id", "ID"),
                          old.upper(), old.title(), f" {old} "])
        records[0][j] = new
        return f"column {old!r} renamed {new!r}"
    return _edit(folder, rng, change)


@mutator("cells")
def header_reorder(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        order = list(range(len(records[0])))
        rng.shuffle(order)
        for k, r in enumerate(records):
            records[k] = [r[j] if j < len(r) else "" for j in order]
        return "columns shuffled"
    return _edit(folder, rng, change)


@mutator("cells")
def extra_columns(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        k = rng.randint(1, 3)
        for i in range(k):
            records[0].append(rng.choice(["notes", "comment", "", "id", f"extra_{i}"]))
            for r in records[1:]:
                r.append(rng.choice(["", "x", "1", "n/a"]))
        return f"{k} extra column(s)"
    return _edit(folder, rng, change)


@mutator("cells")
def empty_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng)
        for i in range(1, len(records)):
            _set(records, i, j, _empty(path))
        return f"every cell of {records[0][j]!r} empty"
    return _edit(folder, rng, change)


def _empty(path: Path):
    return "" if is_csv(path) else None


# --- rows (stage 2) ---------------------------------------------------------------

@mutator("cells")
def ragged_rows(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        rows = _rows(records, rng, rng.randint(1, 4))
        for i in rows:
            if rng.random() < 0.5 and len(records[i]) > 1:
                del records[i][rng.randrange(len(records[i])):]
            else:
                records[i] += ["surplus"] * rng.randint(1, 3)
        return f"rows {rows} have the wrong number of fields"
    return _edit(folder, rng, change, csv_only=True)


@mutator("cells")
def duplicate_rows(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        rows = _rows(records, rng, rng.randint(1, 3))
        for i in reversed(rows):
            records.insert(i + 1, list(records[i]))
        return f"rows {rows} repeated"
    return _edit(folder, rng, change)


@mutator("cells")
def header_only(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        del records[1:]
        return "every data row deleted (header only)"
    return _edit(folder, rng, change)


@mutator("cells")
def blank_lines(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    lines = path.read_bytes().split(b"\n")
    spots = sorted(rng.sample(range(1, len(lines) + 1), min(3, len(lines))))
    for k in reversed(spots):
        lines.insert(k, rng.choice([b"", b"   ", b",,,", b"\r"]))
    path.write_bytes(b"\n".join(lines))
    return f"{path.name}: blank or empty lines inserted at {spots}"


@mutator("cells")
def orphan_ids(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng, ("id",))
        rows = _rows(records, rng, rng.randint(1, 5))
        for i in rows:
            _set(records, i, j, rng.choice(["F99999", "nobody", "1.5", "F001 ", "f001"]))
        return f"{records[0][j]!r} in rows {rows} set to unknown ids"
    return _edit(folder, rng, change, names=[n for n in TABLES if n != "firms"])


# --- cell values (stage 2) --------------------------------------------------------

EXTREMES = [("9223372036854775808", 2**63), ("-9223372036854775809", -2**63 - 1),
            ("18446744073709551616", 2**64), ("1e400", "1e400"), ("inf", float("inf")),
            ("-inf", float("-inf")), ("NaN", float("nan")), ("Infinity", "Infinity"),
            ("-1e308", -1e308), ("0", 0), ("-0", -0.0), ("1e-320", 1e-320),
            ("2147483648", 2147483648), ("-1", -1), ("99999999999999999999.5", 1e20)]
TEXTS = ["x" * 5000, "Ünïcødé ✓ 日本語 🚀", '=HYPERLINK("x")', "=cmd|' /C calc'!A0",
         "+1", "@SUM(A1)", "\t", " ", "NULL", "N/A", '"', "a\nb", "a,b", "\u202eevil",
         "０１２", "1,234.50", "$1,234", "(1,234)", "TRUE", "1.0", "F001 "]


@mutator("cells")
def extreme_values(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        done = []
        for _ in range(rng.randint(1, 4)):
            j = _column(records, rng, ("integer", "number", "binary"))
            rows = _rows(records, rng, 1)
            if not rows:
                break
            text, native = rng.choice(EXTREMES)
            _set(records, rows[0], j, text if is_csv(path) else native)
            done.append(f"{records[0][j]}[{rows[0]}]={text}")
        return ", ".join(done) or "no rows"
    return _edit(folder, rng, change)


@mutator("cells")
def odd_texts(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        done = []
        for _ in range(rng.randint(1, 4)):
            j = _column(records, rng)
            rows = _rows(records, rng, 1)
            if not rows:
                break
            text = rng.choice(TEXTS)
            _set(records, rows[0], j, text)
            done.append(f"{records[0][j]}[{rows[0]}]={text[:20]!r}")
        return ", ".join(done) or "no rows"
    return _edit(folder, rng, change)


@mutator("cells")
def huge_cell(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j, rows = _column(records, rng), _rows(records, rng, 1)
        if not rows:
            return "no rows"
        _set(records, rows[0], j, rng.choice("xy,\"\n") * (129 * 1024 + rng.randrange(99)))
        return f"{records[0][j]}[{rows[0]}] is a cell over 128 KiB"
    return _edit(folder, rng, change)


@mutator("cells")
def dates_day_first(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        js = [j for j, n in enumerate(records[0]) if _kind(n) == "date"]
        for r in records[1:]:
            for j in js:
                if j < len(r) and isinstance(r[j], str) and len(r[j]) == 10 and r[j][4] == "-":
                    r[j] = f"{r[j][8:10]}/{r[j][5:7]}/{r[j][0:4]}"
        return f"dates written dd/mm/yyyy in {[records[0][j] for j in js]}"
    return _edit(folder, rng, change, names=["memberships", "meetings", "exchanges", "tasks",
                                             "surveys"])


@mutator("cells")
def decimal_commas(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        n = 0
        for r in records[1:]:
            for j, v in enumerate(r):
                if isinstance(v, str) and "." in v and v.replace(".", "", 1).lstrip("-").isdigit():
                    r[j] = v.replace(".", ",")
                    n += 1
        return f"{n} decimal points written as commas"
    return _edit(folder, rng, change, csv_only=True, names=["financials", "exchanges", "tasks"])


@mutator("cells")
def constant_item(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = _column(records, rng, ("number",))
        value = rng.choice(["4", "1", "7"]) if is_csv(path) else rng.choice([4, 1, 7])
        for i in range(1, len(records)):
            _set(records, i, j, value)
        return f"every answer to {records[0][j]!r} is {value}"
    return _edit(folder, rng, change, names=["surveys"])


@mutator("cells")
def same_initiator(folder: Path, rng: random.Random) -> str:
    return _set_column(folder, rng, "exchanges", "initiator", ["receiver", "sender"])


@mutator("cells")
def empty_meeting_id(folder: Path, rng: random.Random) -> str:
    return _set_column(folder, rng, "exchanges", "meeting_id", [""])


def _set_column(folder, rng, table, column, values) -> str:
    def change(records, path, rng):
        if column not in records[0]:
            return f"no column {column}"
        j, value = records[0].index(column), rng.choice(values)
        if value == "" and not is_csv(path):
            value = None
        for i in range(1, len(records)):
            _set(records, i, j, value)
        return f"every {column} is {value!r}"
    return _edit(folder, rng, change, names=[table])


# --- CSV text (stages 3-5) --------------------------------------------------------

@mutator("delimiter")
def other_delimiter(folder: Path, rng: random.Random) -> str:
    import csv
    import io

    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    delimiter = rng.choice([";", ";", "\t", "|"])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(read_records(path))
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return f"{path.name} separated by {delimiter!r}"


@mutator("delimiter")
def qualtrics_export(folder: Path, rng: random.Random) -> str:
    """surveys.csv as Qualtrics exports it: three header rows, its own column names, the
    items renamed to question ids and mapped back in [qualtrics.items]."""
    import csv
    import io

    path = folder / "surveys.csv"
    if not path.is_file():
        return "no surveys.csv"
    records = read_records(path)
    header = records[0]
    if "firm_id" not in header or "date" not in header:
        return "surveys.csv has no firm_id and date columns: left as it is"
    f, d = header.index("firm_id"), header.index("date")
    items = [j for j in range(len(header)) if j not in (f, d)]
    qids = {header[j]: f"Q{k + 1}_1" for k, j in enumerate(items)}
    with_time = rng.random() < 0.5
    out = [["StartDate", "RecordedDate", "ExternalReference", *qids.values()],
           ["Start Date", "Recorded Date", "External Data Reference",
            *[f"How much do you agree? - {h}" for h in qids]],
           ['{"ImportId":"startDate"}', '{"ImportId":"recordedDate"}',
            '{"ImportId":"externalDataReference"}',
            *[f'{{"ImportId":"QID{k + 1}_1"}}' for k in range(len(qids))]]]
    for r in records[1:]:
        r = r + [""] * (len(header) - len(r))
        date = r[d] + (" 10:22:31" if with_time and r[d] else "")
        out.append([date, date, r[f], *[r[j] for j in items]])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(out)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    book = codebook_mutators._load(folder)
    if book is not None:
        book["qualtrics"] = {"items": {q: item for item, q in qids.items()}}
        codebook_mutators._save(folder, book)
    return f"surveys.csv as a Qualtrics export ({'date and time' if with_time else 'dates'})"


@mutator("encoding")
def encode(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"{path.name} is not UTF-8: left as it is"
    encoding = rng.choice(["cp1252", "utf-16", "utf-8-sig", "utf-16-le", "latin-1"])
    if encoding in ("cp1252", "latin-1") and rng.random() < 0.7:
        lines = text.split("\n")
        k = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
        lines[k] = lines[k].replace(",", ",Café ", 1) if "," in lines[k] else lines[k]
        text = "\n".join(lines)
    path.write_bytes(text.encode(encoding, errors="replace"))
    return f"{path.name} encoded {encoding}"


@mutator("bytes")
def invalid_utf8(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    data = bytearray(path.read_bytes())
    spots = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(1, 3)))
    junk = rng.choice([b"\xff", b"\xc3\x28", b"\x80\x81", b"\xed\xa0\x80", b"\x9d"])
    for k in reversed(spots):
        data[k:k] = junk
    path.write_bytes(bytes(data))
    return f"{path.name}: bytes {junk!r} inserted at {spots}"


@mutator("bytes")
def byte_flips(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng)
    if path is None:
        return "no table"
    data = bytearray(path.read_bytes())
    if not data:
        return f"{path.name} is empty"
    spots = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 6)))
    for k in spots:
        data[k] = rng.choice([rng.randrange(256), ord(rng.choice(',"\n\r;0-.'))])
    path.write_bytes(bytes(data))
    return f"{path.name}: bytes at {spots} changed"


@mutator("bytes")
def truncate(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng)
    if path is None:
        return "no table"
    data = path.read_bytes()
    cut = rng.randrange(len(data)) if data else 0
    while 0 < cut < len(data) - 1 and data[cut - 1:cut] == b"\n":
        cut += 1  # mid-row, not at a line end
    path.write_bytes(data[:cut])
    return f"{path.name} cut at byte {cut} of {len(data)}"


@mutator("bytes")
def zero_bytes(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng)
    if path is None:
        return "no table"
    path.write_bytes(b"")
    return f"{path.name} emptied (0 bytes)"


@mutator("bytes")
def line_endings(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    data = path.read_bytes()
    style = rng.choice([b"\r\n", b"\r", b"mixed", b"nul"])
    if style == b"mixed":
        lines = data.split(b"\n")
        data = b"".join(line + rng.choice([b"\n", b"\r\n"]) for line in lines[:-1]) + lines[-1]
    elif style == b"nul":
        k = rng.randrange(len(data) + 1)
        data = data[:k] + b"\x00" + data[k:]
    else:
        data = data.replace(b"\n", style)
    path.write_bytes(data)
    return f"{path.name}: line ends {style!r}"


# --- files (stage 6) --------------------------------------------------------------

@mutator("links")
def two_files(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng)
    if path is None:
        return "no table"
    others = [s for s in (".csv", ".parquet", ".xlsx") if s != path.suffix.lower()]
    target = path.with_suffix(rng.choice(others))
    if is_csv(target):
        frame = read_typed(path)
        frame.to_csv(target, index=False)
    else:
        shutil.copyfile(path, target)  # a second file (of the wrong format) for one table
    return f"{path.name} and {target.name} both present"


@mutator("links")
def symlink_outside(folder: Path, rng: random.Random) -> str:
    path = pick(folder, rng)
    if path is None:
        return "no table"
    outside = folder.parent / f"outside-{folder.name}"
    outside.mkdir(exist_ok=True)
    target = outside / path.name
    shutil.move(path, target)
    path.symlink_to(target)
    return f"{path.name} is a symlink to {target} (outside the folder)"


SINGLE = sorted(MUTATORS)
