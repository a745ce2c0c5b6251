"""Mutators of a table's headers, rows and cells (stage ``cells``), in any file format."""

from __future__ import annotations

import random
from pathlib import Path

from ipnstats.data.schema import TABLES

from .codebook_mutators import declare
from .records import is_csv
from .registry import column, edit_table, empty_cell, kind, mutator, pick, set_cell, some_rows

# --- headers (stage 2) ------------------------------------------------------------

@mutator("cells")
def header_delete_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng)
        name = records[0][j]
        for r in records:
            if j < len(r):
                del r[j]
        return f"deleted column {name!r}"
    return edit_table(folder, rng, change)


@mutator("cells")
def header_duplicate_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng, ("id", "integer", "date"))
        for r in records:
            r.append(r[j] if j < len(r) else "")
        return f"column {records[0][j]!r} appears twice (values copied)"
    return edit_table(folder, rng, change)


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
    return edit_table(folder, rng, change)


@mutator("cells")
def header_rename(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng, ("id",))
        old = records[0][j]
        new = rng.choice([old + "x", old[:-1], old.replace("_", " "), "", "?" * 3, old + " ",
                          "Unnamed: 0", old + "\u200b"])
        records[0][j] = new
        said = declare(folder, path.stem, columns={old: new}) if rng.random() < 0.3 else ""
        return f"column {old!r} renamed {new!r}{said}"
    return edit_table(folder, rng, change)


@mutator("cells")
def header_case(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng, ("id",))
        old = records[0][j]
        new = rng.choice(["".join(w.title() for w in old.split("_")).replace("Id", "ID"),
                          old.upper(), old.title(), f" {old} "])
        records[0][j] = new
        said = declare(folder, path.stem, columns={old: new}) if rng.random() < 0.5 else ""
        return f"column {old!r} renamed {new!r}{said}"
    return edit_table(folder, rng, change)


@mutator("cells")
def header_reorder(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        order = list(range(len(records[0])))
        rng.shuffle(order)
        for k, r in enumerate(records):
            records[k] = [r[j] if j < len(r) else "" for j in order]
        return "columns shuffled"
    return edit_table(folder, rng, change)


@mutator("cells")
def extra_columns(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        k = rng.randint(1, 3)
        for i in range(k):
            records[0].append(rng.choice(["notes", "comment", "", "id", f"extra_{i}"]))
            for r in records[1:]:
                r.append(rng.choice(["", "x", "1", "n/a"]))
        return f"{k} extra column(s)"
    return edit_table(folder, rng, change)


@mutator("cells")
def empty_column(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng)
        for i in range(1, len(records)):
            set_cell(records, i, j, empty_cell(path))
        return f"every cell of {records[0][j]!r} empty"
    return edit_table(folder, rng, change)


# --- rows (stage 2) ---------------------------------------------------------------

@mutator("cells")
def ragged_rows(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        rows = some_rows(records, rng, rng.randint(1, 4))
        for i in rows:
            if rng.random() < 0.5 and len(records[i]) > 1:
                del records[i][rng.randrange(len(records[i])):]
            else:
                records[i] += ["surplus"] * rng.randint(1, 3)
        return f"rows {rows} have the wrong number of fields"
    return edit_table(folder, rng, change, csv_only=True)


@mutator("cells")
def duplicate_rows(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        rows = some_rows(records, rng, rng.randint(1, 3))
        for i in reversed(rows):
            records.insert(i + 1, list(records[i]))
        return f"rows {rows} repeated"
    return edit_table(folder, rng, change)


@mutator("cells")
def header_only(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        del records[1:]
        return "every data row deleted (header only)"
    return edit_table(folder, rng, change)


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
        j = column(records, rng, ("id",))
        rows = some_rows(records, rng, rng.randint(1, 5))
        for i in rows:
            set_cell(records, i, j, rng.choice(["F99999", "nobody", "1.5", "F001 ", "f001"]))
        return f"{records[0][j]!r} in rows {rows} set to unknown ids"
    return edit_table(folder, rng, change, names=[n for n in TABLES if n != "firms"])


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
            j = column(records, rng, ("integer", "number", "binary"))
            rows = some_rows(records, rng, 1)
            if not rows:
                break
            text, native = rng.choice(EXTREMES)
            set_cell(records, rows[0], j, text if is_csv(path) else native)
            done.append(f"{records[0][j]}[{rows[0]}]={text}")
        return ", ".join(done) or "no rows"
    return edit_table(folder, rng, change)


@mutator("cells")
def odd_texts(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        done = []
        for _ in range(rng.randint(1, 4)):
            j = column(records, rng)
            rows = some_rows(records, rng, 1)
            if not rows:
                break
            text = rng.choice(TEXTS)
            set_cell(records, rows[0], j, text)
            done.append(f"{records[0][j]}[{rows[0]}]={text[:20]!r}")
        return ", ".join(done) or "no rows"
    return edit_table(folder, rng, change)


@mutator("cells")
def huge_cell(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j, rows = column(records, rng), some_rows(records, rng, 1)
        if not rows:
            return "no rows"
        set_cell(records, rows[0], j, rng.choice("xy,\"\n") * (129 * 1024 + rng.randrange(99)))
        return f"{records[0][j]}[{rows[0]}] is a cell over 128 KiB"
    return edit_table(folder, rng, change)


@mutator("cells")
def dates_day_first(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        js = [j for j, n in enumerate(records[0]) if kind(n) == "date"]
        for r in records[1:]:
            for j in js:
                if j < len(r) and isinstance(r[j], str) and len(r[j]) == 10 and r[j][4] == "-":
                    r[j] = f"{r[j][8:10]}/{r[j][5:7]}/{r[j][0:4]}"
        said = declare(folder, path.stem, date_format="%d/%m/%Y") if rng.random() < 0.5 else ""
        return f"dates written dd/mm/yyyy in {[records[0][j] for j in js]}{said}"
    return edit_table(folder, rng, change, names=["memberships", "meetings", "exchanges", "tasks",
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
        said = declare(folder, path.stem, decimal=",") if rng.random() < 0.5 else ""
        return f"{n} decimal points written as commas{said}"
    return edit_table(folder, rng, change, csv_only=True,
                      names=["financials", "exchanges", "tasks"])


@mutator("cells")
def constant_item(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        j = column(records, rng, ("number",))
        value = rng.choice(["4", "1", "7"]) if is_csv(path) else rng.choice([4, 1, 7])
        for i in range(1, len(records)):
            set_cell(records, i, j, value)
        return f"every answer to {records[0][j]!r} is {value}"
    return edit_table(folder, rng, change, names=["surveys"])


@mutator("cells")
def same_initiator(folder: Path, rng: random.Random) -> str:
    return _fill_column(folder, rng, "exchanges", "initiator", ["receiver", "sender"])


@mutator("cells")
def empty_meeting_id(folder: Path, rng: random.Random) -> str:
    return _fill_column(folder, rng, "exchanges", "meeting_id", [""])


def _fill_column(folder, rng, table, column, values) -> str:
    def change(records, path, rng):
        if column not in records[0]:
            return f"no column {column}"
        j, value = records[0].index(column), rng.choice(values)
        if value == "" and not is_csv(path):
            value = None
        for i in range(1, len(records)):
            set_cell(records, i, j, value)
        return f"every {column} is {value!r}"
    return edit_table(folder, rng, change, names=[table])


@mutator("cells")
def recode_values(folder: Path, rng: random.Random) -> str:
    """German labels for framing and initiator, declared in [tables.exchanges] values."""
    labels = {"framing": {"loss": "Verlust", "gain": "Gewinn", "neutral": "Neutral"},
              "initiator": {"receiver": "Empfänger", "sender": "Sender"}}

    def change(records, path, rng):
        done = {}
        for name, table in labels.items():
            if name in records[0] and rng.random() < 0.8:
                j = records[0].index(name)
                for r in records[1:]:
                    if j < len(r) and r[j] in table:
                        r[j] = table[r[j]]
                done[name] = {v: k for k, v in table.items()}
        said = declare(folder, path.stem, values=done) if done and rng.random() < 0.7 else ""
        return f"labels of {sorted(done)} in German{said}"
    return edit_table(folder, rng, change, names=["exchanges"])


@mutator("cells")
def odd_dates(folder: Path, rng: random.Random) -> str:
    dates = ["2019-02-30", "2019-13-01", "0001-01-01", "9999-12-31", "43831", "1e10",
             "2019-01-01T00:00:00+05:00", "2019-01-01 25:00", "2019/01/02", "02.01.2019",
             "01/02/2019", "2019-1-2", " 2019-01-02 ", "20190102", "2019-W01", "yesterday",
             "1799-12-31", "2200-12-31", "NaT", "-2019-01-01", "2019-01-01\x00"]

    def change(records, path, rng):
        js = [j for j, n in enumerate(records[0]) if kind(n) == "date"]
        if not js:
            return "no date column"
        done = []
        for i in some_rows(records, rng, rng.randint(1, 5)):
            j, value = rng.choice(js), rng.choice(dates)
            set_cell(records, i, j, value)
            done.append(f"{records[0][j]}[{i}]={value!r}")
        return ", ".join(done) or "no rows"
    return edit_table(folder, rng, change, names=["memberships", "meetings", "exchanges", "tasks",
                                             "surveys"])


@mutator("cells")
def wide_table(folder: Path, rng: random.Random) -> str:
    def change(records, path, rng):
        k = rng.choice([300, 1500])
        records[0] += [f"x{i}" for i in range(k)]
        for r in records[1:]:
            r += [str(i % 7) if is_csv(path) else i % 7 for i in range(k)]
        return f"{k} extra columns"
    return edit_table(folder, rng, change)
