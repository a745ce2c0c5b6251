"""Mutators of ``codebook.toml``: wrong types, bad settings, clashing names, broken TOML.

Each is a pure function of ``(folder, random.Random)`` returning what it did;
:data:`EDITS` maps their names to them (registered by :mod:`tests.fuzz.mutate`).
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import tomli_w

CODEBOOK = "codebook.toml"


def _load(folder: Path) -> dict | None:
    try:
        return tomllib.loads((folder / CODEBOOK).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None


def _save(folder: Path, book: dict) -> None:
    (folder / CODEBOOK).write_text(tomli_w.dumps(book), encoding="utf-8")


def _scale(book: dict, rng: random.Random) -> tuple[str, dict] | None:
    scales = book.get("scales")
    if not isinstance(scales, dict) or not scales:
        return None
    name = rng.choice(sorted(scales))
    spec = scales[name]
    return (name, spec) if isinstance(spec, dict) else None


def _with_book(change):
    """A mutator that parses the codebook, ``change(book, rng) -> text``, writes it back."""
    def edit(folder: Path, rng: random.Random) -> str:
        book = _load(folder)
        if book is None:
            return "no readable codebook"
        what = change(book, rng)
        _save(folder, book)
        return what
    edit.__name__ = change.__name__
    return edit


def cb_wrong_type(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    choices = [("study", "member_year_min_days", "183"), ("study", "disclosure_threshold", 2.5),
               ("study", "name", ["a", "b"]), ("stages", "developing", "2"),
               ("study", "risk_averse_cutoff", [1, 2]), ("labels", None, 5),
               ("scales", None, [1, 2]), ("qualtrics", "items", "Q1"), ("study", None, "x"),
               ("stages", None, [0, 2, 4]), ("qualtrics", "firm_id", 3)]
    if found:
        name, spec = found
        choices += [(name, "items", spec.get("items", ["x"])[0] if spec.get("items") else "x"),
                    (name, "reverse", 3), (name, "range", "1-7"), (name, "range", [1]),
                    (name, "range", ["a", "b"]), (name, "label", {"a": 1}),
                    (name, "items", [1, 2, 3]), (name, "items", {"a": "b"}),
                    (name, "range", [1, 7, 9]), (name, "range", [1, float("inf")]),
                    (name, "range", [float("nan"), 7])]
    section, key, value = rng.choice(choices)
    if section in book.get("scales", {}):
        book["scales"][section][key] = value
        return f"[scales.{section}] {key} = {value!r}"
    if key is None:
        book[section] = value
        return f"[{section}] replaced by {value!r}"
    if not isinstance(book.get(section), dict):
        book[section] = {}
    book[section][key] = value
    return f"[{section}] {key} = {value!r}"


def cb_bad_setting(book: dict, rng: random.Random) -> str:
    key, value = rng.choice([
        ("disclosure_threshold", -1), ("disclosure_threshold", 0), ("member_year_min_days", -5),
        ("member_year_min_days", 400), ("risk_averse_cutoff", 7), ("risk_averse_cutoff", -100),
        ("risk_averse_cutoff", "mean"), ("risk_averse_cutoff", True),
        ("risk_averse_cutoff", float("nan")), ("disclosure_threshold", 10**30),
        ("risk_averse_cutoff", 1e308), ("member_year_min_days", True)])
    book.setdefault("study", {})[key] = value
    return f"[study] {key} = {value!r}"


def cb_risk_cutoff_7(book: dict, rng: random.Random) -> str:
    book.setdefault("study", {})["risk_averse_cutoff"] = 7
    return "[study] risk_averse_cutoff = 7 (no sender is risk averse)"


def cb_bad_stages(book: dict, rng: random.Random) -> str:
    stages = rng.choice([{"novice": 1, "expert": 4}, {"novice": 0, "expert": 0},
                         {"novice": 0, "developing": -2}, {}, {"novice": 0, "a": 2**70},
                         {"novice": 0, "developing": 2.5}])
    book["stages"] = stages
    return f"[stages] = {stages}"


def cb_item_twice(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    if not found or not isinstance(found[1].get("items"), list) or not found[1]["items"]:
        return "no scale with items"
    name, spec = found
    item = rng.choice(spec["items"])
    other = _scale(book, rng)
    if rng.random() < 0.5 and other and other[0] != name and isinstance(other[1].get("items"),
                                                                         list):
        other[1]["items"].append(item)
        return f"item {item!r} of scale {name!r} also listed in scale {other[0]!r}"
    spec["items"].append(item)
    return f"item {item!r} listed twice in scale {name!r}"


def cb_scale_clash(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    if not found:
        return "no scale"
    name, spec = found
    new = rng.choice(["year", "firm_id", "member", "revenue", "cohort", "log_revenue", "date"])
    book["scales"][new] = dict(spec)
    if rng.random() < 0.5 and name not in ("perceived_learning", "trust", "risk_aversion",
                                           "loss_aversion"):
        del book["scales"][name]
    return f"scale {name!r} copied as a scale named {new!r}"


def cb_item_clash(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    if not found or not isinstance(found[1].get("items"), list):
        return "no scale with items"
    name, spec = found
    new = rng.choice(["firm_id", "date", "year", "ExternalReference", ""])
    spec["items"] = list(spec["items"]) + [new]
    return f"scale {name!r} lists the column {new!r} as an item"


def cb_unknown_keys(book: dict, rng: random.Random) -> str:
    where = rng.choice(["top", "study", "scale", "stages"])
    if where == "top":
        book["extra_section"] = {"x": 1}
    elif where == "stages":
        book.setdefault("stages", {"novice": 0})["Expert "] = 6
    elif where == "scale" and _scale(book, rng):
        _scale(book, rng)[1]["itemz"] = ["a"]
    else:
        book.setdefault("study", {})["disclosure_treshold"] = 3
    return f"unknown key added ({where})"


def cb_delete_scale(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    if not found:
        return "no scale"
    del book["scales"][found[0]]
    return f"scale {found[0]!r} deleted"


def cb_missing_items(book: dict, rng: random.Random) -> str:
    found = _scale(book, rng)
    if not found:
        return "no scale"
    name, spec = found
    spec["items"] = list(spec.get("items", [])) + ["not_in_surveys"]
    return f"scale {name!r} names an item that no survey column has"


def cb_broken_toml(folder: Path, rng: random.Random) -> str:
    path = folder / CODEBOOK
    if not path.exists():
        return "no codebook"
    data = path.read_bytes()
    how = rng.choice(["cut", "garbage", "quote", "binary", "empty", "dupkey", "deep", "utf16",
                      "cp1252"])
    if how == "cut":
        data = data[:rng.randrange(len(data) + 1)]
    elif how == "garbage":
        data += b"\n[[[\n"
    elif how == "quote":
        data = data.replace(b'"', b"", 1)
    elif how == "binary":
        data = b"\xff\xfe\x00" + data
    elif how == "empty":
        data = b""
    elif how == "deep":
        data += b"\n[deep]\nx = " + b"[" * 3000 + b"]" * 3000 + b"\n"
    elif how == "utf16":
        data = data.decode("utf-8", errors="replace").encode("utf-16")
    elif how == "cp1252":
        data = data.replace(b'name = "', "name = \"Études é ".encode("cp1252"), 1)
    else:
        data += b'\n[study]\nname = "again"\n'
    path.write_bytes(data)
    return f"codebook.toml damaged ({how})"


def cb_delete(folder: Path, rng: random.Random) -> str:
    path = folder / CODEBOOK
    if not path.exists():
        return "no codebook"
    path.unlink()
    return "codebook.toml deleted"


EDITS = {f.__name__: _with_book(f) for f in (
    cb_wrong_type, cb_bad_setting, cb_risk_cutoff_7, cb_bad_stages, cb_item_twice,
    cb_scale_clash, cb_item_clash, cb_unknown_keys, cb_delete_scale, cb_missing_items)}
EDITS |= {"cb_broken_toml": cb_broken_toml, "cb_delete": cb_delete}


def declare(folder: Path, table: str, **keys) -> str:
    """Add ``keys`` to ``[tables.<table>]`` of the codebook (the mapping); what was added."""
    book = _load(folder)
    if book is None:
        return " (codebook unreadable: nothing declared)"
    tables = book.setdefault("tables", {})
    if not isinstance(tables, dict):
        return " (codebook [tables] is not a table: nothing declared)"
    section = tables.setdefault(table, {})
    if not isinstance(section, dict):
        return f" ([tables.{table}] is not a table: nothing declared)"
    for key, value in keys.items():
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key] = {**section[key], **value}
        else:
            section[key] = value
    _save(folder, book)
    return f"; declared [tables.{table}] {keys}"


BAD_MAPPINGS = [
    ("file", "../outside.csv"), ("file", "/etc/passwd"), ("file", "*"), ("file", "**/*.csv"),
    ("file", ""), ("file", 3), ("file", "no such file.csv"), ("file", "C:\\data\\x.csv"),
    ("header_row", 0), ("header_row", -1), ("header_row", 10**9), ("header_row", "3"),
    ("header_row", 50), ("sheet", 99), ("sheet", "Nope"), ("sheet", -1), ("sheet", [1]),
    ("delimiter", ";;"), ("delimiter", ""), ("delimiter", ","), ("decimal", "x"),
    ("decimal", ","), ("thousands", "x"), ("thousands", "."), ("date_format", "%Q"),
    ("date_format", "%d"), ("date_format", ""), ("date_format", "%d/%m/%Y"),
    ("encoding", "klingon"), ("encoding", "utf-16"), ("encoding", "cp1252"),
    ("columns", {"firm_id": "Nope"}), ("columns", {"nope": "firm_id"}), ("columns", 3),
    ("columns", {"firm_id": 3}), ("columns", {"year": "firm_id", "firm_id": "year"}),
    ("values", 3), ("values", {"framing": {"loss": "nope"}}), ("values", {"firm_id": "x"}),
    ("values", {"attended": {"0": "yes"}}), ("table", "crm.x"), ("query", "DROP TABLE x"),
    ("unknown_key", 1)]


def cb_bad_mapping(folder: Path, rng: random.Random) -> str:
    from ipnstats.data.schema import TABLES

    table = rng.choice([*sorted(TABLES), "nonsense", "Firms"])
    key, value = rng.choice(BAD_MAPPINGS)
    if table == "nonsense" or rng.random() < 0.05:
        book = _load(folder)
        if book is None:
            return "no readable codebook"
        book["tables"] = rng.choice([{table: {key: value}}, [1, 2], "x"])
        _save(folder, book)
        return f"[tables] = {book['tables']!r}"
    return f"[tables.{table}] {key} = {value!r}" + declare(folder, table, **{key: value})


EDITS["cb_bad_mapping"] = cb_bad_mapping
