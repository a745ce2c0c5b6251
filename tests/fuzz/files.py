"""Mutators of a study's files: the table set, formats, delimiters, encodings, bytes,
names, links and the mapping that declares them (``[tables.<name>]``)."""

from __future__ import annotations

import random
import shutil
import warnings
from pathlib import Path

from ipnstats.data.schema import TABLES

from . import codebook_mutators
from .codebook_mutators import declare
from .records import is_csv, read_records, read_typed, write_records, write_typed
from .registry import kind, mutator, pick, table_files

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
    what = kind(name)
    if what in ("integer", "binary"):
        try:
            return int(text)
        except ValueError:
            return text
    if what == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if what == "date":
        import pandas as pd

        stamp = pd.to_datetime(text, errors="coerce")
        return text if pd.isna(stamp) else stamp
    return text


for _suffix in (".parquet", ".xlsx", ".dta", ".sav"):
    def _to(folder: Path, rng: random.Random, _s=_suffix) -> str:
        return _convert(folder, rng, _s)
    _to.__name__ = f"to_{_suffix[1:]}"
    mutator("convert")(_to)


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
    said = declare(folder, path.stem, delimiter=delimiter) if rng.random() < 0.5 else ""
    return f"{path.name} separated by {delimiter!r}{said}"


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
    said = declare(folder, path.stem, encoding=encoding) if rng.random() < 0.3 else ""
    return f"{path.name} encoded {encoding}{said}"


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


@mutator("delimiter")
def header_row_offset(folder: Path, rng: random.Random) -> str:
    """Lines of notes above the header (CSV or Excel), declared as header_row or not."""
    path = pick(folder, rng, names=[n for n in TABLES])
    if path is None or path.suffix.lower() not in (".csv", ".xlsx"):
        return "no CSV or Excel table"
    notes = ["Exported from CRM", "", "Confidential: do not share", "Period: 2015-2019"]
    k = rng.randint(1, 4)
    if is_csv(path):
        head = "".join(f"{line}\n" for line in notes[:k]).encode()
        path.write_bytes(head + path.read_bytes())
    else:
        import openpyxl

        book = openpyxl.load_workbook(path)
        sheet = book.worksheets[0]
        sheet.insert_rows(1, k)
        for i, line in enumerate(notes[:k], 1):
            sheet.cell(row=i, column=1, value=line or None)
        book.save(path)
    said = declare(folder, path.stem, header_row=k + 1) if rng.random() < 0.7 else ""
    return f"{path.name}: {k} line(s) above the header{said}"


@mutator("links")
def split_file(folder: Path, rng: random.Random) -> str:
    """A CSV table in 2-3 files under parts/, stacked through a file glob; sometimes a
    part has its columns in another order or lacks one, or is an Excel file."""
    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    records = read_records(path)
    header, rows = records[0], records[1:]
    k = rng.randint(2, 3)
    cuts = sorted(rng.randint(0, len(rows)) for _ in range(k - 1))
    parts = folder / "parts"
    parts.mkdir(exist_ok=True)
    odd = rng.choice(["", "", "reordered", "a column short", "Excel"])
    for n, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(rows)], strict=True)):
        part = [list(header), *[list(r) for r in rows[a:b]]]
        suffix = ".csv"
        if odd and n == k - 1:
            order = list(range(len(header)))
            if odd == "reordered":
                rng.shuffle(order)
            elif odd == "a column short" and len(order) > 1:
                del order[rng.randrange(len(order))]
            part = [[r[j] if j < len(r) else "" for j in order] for r in part]
            suffix = ".xlsx" if odd == "Excel" else ".csv"
        if suffix == ".xlsx":
            columns = [[r[j] if j < len(r) and r[j] != "" else None for r in part[1:]]
                       for j in range(len(part[0]))]
            write_typed(parts / f"{path.stem}-{n + 1}.xlsx", part[0], columns)
        else:
            write_records(parts / f"{path.stem}-{n + 1}.csv", part)
    path.unlink()
    said = declare(folder, path.stem, file=f"parts/{path.stem}-*")
    return f"{path.name} split into {k} files at rows {cuts}, {odd or 'alike'}{said}"


@mutator("links")
def moved_file(folder: Path, rng: random.Random) -> str:
    """A table file under another name in a subfolder, declared with file (or not)."""
    path = pick(folder, rng)
    if path is None:
        return "no table"
    exports = folder / "exports"
    exports.mkdir(exist_ok=True)
    target = exports / f"{path.stem.title()} export 2019{path.suffix}"
    shutil.move(path, target)
    pattern = rng.choice([f"exports/{target.name}", "exports/*" + path.suffix,
                          f"exports/{path.stem.title()}*"])
    said = declare(folder, path.stem, file=pattern) if rng.random() < 0.8 else " (undeclared)"
    return f"{path.name} moved to {target.relative_to(folder)}{said}"


def _excel_table(folder: Path, rng: random.Random) -> Path | None:
    """An Excel table of the study; when there is none, a CSV table converted to one."""
    files = [p for p in table_files(folder) if p.suffix.lower() == ".xlsx"]
    if not files and pick(folder, rng, csv_only=True) is not None:
        _convert(folder, rng, ".xlsx")
        files = [p for p in table_files(folder) if p.suffix.lower() == ".xlsx"]
    return rng.choice(files) if files else None


@mutator("links")
def excel_blank_rows(folder: Path, rng: random.Random) -> str:
    """Blank rows inside and after the data of an Excel table."""
    path = _excel_table(folder, rng)
    if path is None:
        return "no Excel or CSV table"
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    spots = sorted(rng.randint(2, sheet.max_row + 1) for _ in range(rng.randint(1, 3)))
    for k in reversed(spots):
        sheet.insert_rows(k)
    book.save(path)
    return f"{path.name}: blank rows inserted at {spots}"


@mutator("links")
def excel_far_cell(folder: Path, rng: random.Random) -> str:
    """A stray cell far right and below the data of an Excel table (the sheet's used
    range then spans up to column XFD), as spreadsheets often carry."""
    path = _excel_table(folder, rng)
    if path is None:
        return "no Excel or CSV table"
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    row, column = sheet.max_row + rng.randint(0, 3), rng.choice([200, 2000, 16384])
    sheet.cell(row=row, column=column, value=rng.choice(["x", " ", "total"]))
    book.save(path)
    return f"{path.name}: a stray cell at row {row}, column {column}"


@mutator("links")
def excel_sheets(folder: Path, rng: random.Random) -> str:
    """A notes sheet before the data in an Excel table, declared with sheet (or not)."""
    path = _excel_table(folder, rng)
    if path is None:
        return "no Excel or CSV table"
    import openpyxl

    book = openpyxl.load_workbook(path)
    data = book.worksheets[0].title
    notes = book.create_sheet("Notes", 0)
    notes["A1"] = "Read me first"
    book.save(path)
    choice = rng.choice([data, 1, None, None])
    said = declare(folder, path.stem, sheet=choice) if choice is not None else ""
    return f"{path.name}: a Notes sheet before {data!r}{said}"


@mutator("files")
def numeric_ids(folder: Path, rng: random.Random) -> str:
    """Firm ids F0001 -> 1 (or 1.0) in every CSV table, so a later conversion mixes an
    integer id column with text ones."""
    style = rng.choice(["{}", "{}.0", "00{}"])
    changed = []
    for path in table_files(folder, csv_only=True):
        records = read_records(path)
        js = [j for j, n in enumerate(records[0]) if n in ("firm_id", "receiver_id",
                                                             "sender_id")]
        if not js:
            continue
        for r in records[1:]:
            for j in js:
                if j < len(r) and r[j][:1] == "F" and r[j][1:].isdigit():
                    r[j] = style.format(int(r[j][1:]))
        write_records(path, records)
        changed.append(path.name)
    return f"firm ids written {style.format(7)!r} in {changed}"


@mutator("links")
def odd_names(folder: Path, rng: random.Random) -> str:
    """A table's file name in other case, or a folder where a table file would be."""
    path = pick(folder, rng)
    if path is None:
        return "no table"
    how = rng.choice(["upper suffix", "title stem", "folder", "hidden copy", "backup copy"])
    if how == "upper suffix":
        target = path.with_name(path.stem + path.suffix.upper())
    elif how == "title stem":
        target = path.with_name(path.stem.title() + path.suffix)
    elif how == "folder":
        (folder / f"{path.stem}.csv.d").mkdir(exist_ok=True)
        (folder / f"{path.stem}.xlsx").mkdir(exist_ok=path.suffix != ".xlsx")
        return f"a folder named {path.stem}.xlsx next to {path.name}"
    else:
        name = f".~lock.{path.name}#" if how == "hidden copy" else f"{path.name}.bak"
        shutil.copyfile(path, folder / name)
        return f"{path.name} copied to {name}"
    path.rename(target)
    return f"{path.name} renamed {target.name}"


@mutator("convert")
def parquet_types(folder: Path, rng: random.Random) -> str:
    """A table as Parquet with an unusual Arrow type in one column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = pick(folder, rng, csv_only=True)
    if path is None:
        return "no CSV table"
    records = read_records(path)
    header, rows = records[0], records[1:]
    j = rng.randrange(len(header))
    cells = [r[j] if j < len(r) else "" for r in rows]
    how = rng.choice(["uint64", "decimal", "timestamp_tz", "date32", "bool", "dictionary",
                      "list", "binary", "null", "large_string", "duration", "int8", "float16"])
    arrays = [pa.array([(r[k] if k < len(r) else "") or None for r in rows], pa.string())
              for k in range(len(header))]
    arrays[j] = _arrow_column(cells, how)
    pq.write_table(pa.Table.from_arrays(arrays, names=header), path.with_suffix(".parquet"))
    path.unlink()
    return f"{path.stem}.parquet with {header[j]!r} as {how}"


def _arrow_column(cells: list[str], how: str):
    import decimal

    import numpy as np
    import pyarrow as pa

    def num(text):
        try:
            return float(text)
        except ValueError:
            return None

    values = [num(c) for c in cells]
    ints = [None if v is None or v != v or abs(v) > 2**62 else int(v) for v in values]
    if how == "uint64":
        return pa.array([None if v is None else abs(v) + 2**63 for v in ints], pa.uint64())
    if how == "decimal":
        return pa.array([None if v is None else decimal.Decimal(str(v)) for v in values],
                        pa.decimal128(38, 6)) if all(v is None or abs(v) < 1e30 for v in
                                                     values) else pa.array(cells)
    if how in ("timestamp_tz", "date32"):
        import pandas as pd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stamps = pd.to_datetime(pd.Series(cells), errors="coerce")
        if how == "date32":
            return pa.array(stamps.dt.date.where(stamps.notna(), None), pa.date32())
        return pa.array(stamps.dt.tz_localize("Europe/Berlin", ambiguous="NaT",
                                              nonexistent="NaT"))
    if how == "bool":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if how == "dictionary":
        return pa.array(cells).dictionary_encode()
    if how == "list":
        return pa.array([[c, c] for c in cells], pa.list_(pa.string()))
    if how == "binary":
        return pa.array([c.encode() for c in cells], pa.binary())
    if how == "null":
        return pa.nulls(len(cells))
    if how == "large_string":
        return pa.array(cells, pa.large_string())
    if how == "duration":
        return pa.array([None if v is None else v for v in ints], pa.duration("s"))
    if how == "int8":
        return pa.array([None if v is None else int(v) % 128 for v in ints], pa.int8())
    with np.errstate(over="ignore"):
        return pa.array(np.array([np.nan if v is None else v for v in values], np.float16))
