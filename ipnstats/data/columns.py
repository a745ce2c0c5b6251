"""Column parsers: raw values in, typed values and a mask of unparseable cells out.

Each parser takes the column as read and returns ``(values, bad)``, where ``bad``
marks non-empty cells that could not be read as the kind asks. Missing cells are
never ``bad`` here: whether a column may be empty is checked by the caller.

Also here: id look-ups (:func:`id_index`, :func:`id_codes`) and the helpers for the
large arrays of reading and deriving (:func:`empty`, :func:`take`, :func:`used_codes`).
"""

from __future__ import annotations

import mmap
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ipnstats.core.errors import SpecificationError
from ipnstats.data.conventions import date_format_problem, date_hint, marked_numbers, number_marks

__all__ = ["POOL", "date_format_problem", "date_hint", "empty", "full", "id_codes", "id_index",
           "number_marks", "parse_binary", "parse_choice", "parse_date", "parse_id",
           "parse_integer", "parse_number", "parse_text", "recode", "take", "used_codes"]

_MONEY = re.compile(
    r"^(?P<neg>-)?(?P<open>\()?\s*[$€£]?\s*"
    r"(?P<num>\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+)\s*(?P<close>\))?$"
)
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}
_DATE_FORMATS = ("%Y/%m/%d", "%d.%m.%Y")


def _blank(s: pd.Series) -> pd.Series:
    """Strip text; empty strings become missing."""
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def _clean_categories(s: pd.Series, clean) -> pd.Series:
    """Text as a categorical whose distinct values went through ``clean``.

    ``clean`` maps an Arrow array of distinct texts to cleaned texts ("" = missing);
    values that become equal are merged. The cost grows with the number of distinct
    values; a column that needs no cleaning is returned as it is. Text that is not yet
    categorical gets its categories in order of first appearance, as a CSV file's do,
    so that the same data give the same categories from any source.
    """
    if not isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(s.astype("str"))
        s = pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(
            pd.Index(uniques, dtype="str"))), index=s.index, name=s.name)
    cat = s.cat
    categories = cat.categories
    if not len(categories):  # every cell missing (or no rows): nothing to clean
        if categories.astype("str").dtype == categories.dtype:
            return s
        return s.cat.set_categories(pd.Index([], dtype="str"))
    cleaned = clean(categories)
    if len(cleaned) and not pc.any(pc.equal(cleaned, "")).as_py():
        text = categories.astype("str")
        if text.dtype == categories.dtype:  # text already: compare in Arrow
            same = pc.all(pc.equal(cleaned, _arrow(categories))).as_py()
        else:
            same = (_texts(cleaned) == categories.to_numpy(dtype=object)).all()
        if same:
            return s if text.dtype == categories.dtype else s.cat.set_categories(text)
    norm = _texts(cleaned)
    uniq, inverse = np.unique(norm, return_inverse=True)
    codes = cat.codes.to_numpy()
    new_codes = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
    blank = np.flatnonzero(uniq == "")
    if len(blank):  # blank texts are missing values
        new_codes = np.where(new_codes == blank[0], -1, new_codes)
        new_codes = new_codes - (new_codes > blank[0])
        uniq = np.delete(uniq, blank[0])
    out = pd.Categorical.from_codes(new_codes, dtype=pd.CategoricalDtype(
        pd.Index(uniq, dtype="str")))
    return pd.Series(out, index=s.index, name=s.name)


def _arrow(categories: pd.Index) -> pa.Array:
    return pa.array(categories.astype("str"), type=pa.string())


def _arrow_text(categories: pd.Index) -> pa.Array:
    return pc.utf8_trim_whitespace(_arrow(categories))


def _texts(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _normalise_ids(categories: pd.Index) -> pa.Array:
    """Strip spaces and a trailing ``.0`` (ids stored as floats) from distinct ids."""
    text = _arrow_text(categories)
    if not pc.any(pc.match_substring(text, ".0")).as_py():
        return text  # (a plain substring search is much faster than the pattern)
    return pc.replace_substring_regex(text, pattern=r"^(-?\d+)\.0+$", replacement=r"\1")


def _stripped(categories: pd.Index) -> pa.Array:
    return _arrow_text(categories)


def _stripped_lower(categories: pd.Index) -> pa.Array:
    return pc.utf8_lower(_arrow_text(categories))


def _series(s) -> None:
    """Parsers take one column; a frame here is two columns of one name."""
    if not isinstance(s, pd.Series):
        raise TypeError(f"a column parser takes a pandas Series, not {type(s).__name__} "
                        "(a DataFrame here means a duplicated column header)")


def parse_id(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Identifiers as categorical text; ``1``, ``1.0`` and `` 1 `` are one id."""
    _series(s)
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Float64")
    return _clean_categories(s, _normalise_ids), np.zeros(len(s), bool)


def parse_text(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Free text as a categorical, stripped; empty means missing."""
    _series(s)
    return _clean_categories(s, _stripped), np.zeros(len(s), bool)


def parse_number(s: pd.Series, *, decimal: str = ".",
                 thousands: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """Numbers; also ``1,234.50``, ``$1,234`` and accounting negatives ``(1,234)``.

    With ``decimal=","`` the decimal mark is a comma (``1.234,56``, ``-3,5``,
    ``(1.234,50)``, ``€ 1.234,56``), and the thousands separator ``thousands`` (``"."``,
    ``","``, ``" "``, ``"'"``) or by default a point or a space; ``thousands`` alone
    (e.g. ``"'"``: ``1'234.50``) works with ``decimal="."`` too. Non-finite values
    (``inf``, ``1e400``, also in a column of floats) are bad cells, their values NaN.
    """
    _series(s)
    marks = number_marks(decimal, thousands)
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        values = s.astype("float64")
        if s.dtype.kind != "i" and not _all_finite(values.to_numpy()):  # (ints hold no inf)
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                return values.where(~infinite), infinite
        return values, np.zeros(len(s), bool)
    if marks is not None:
        return marked_numbers(s, *marks)
    text = _blank(s)
    present = text.notna().to_numpy()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan,
                                                         copy=True)
    todo = np.isnan(values) & present
    if todo.any():
        values[todo] = [_money(t) for t in text[todo]]
    infinite = np.isinf(values)
    if infinite.any():
        values[infinite] = np.nan
    return pd.Series(values, index=s.index, name=s.name), np.isnan(values) & present


def _all_finite(values: np.ndarray) -> bool:
    """True when ``values`` are surely all finite: their sum is (a quick test, without
    a mask; False also when values are missing or the sum overflows)."""
    with np.errstate(invalid="ignore", over="ignore"):  # (inf - inf, overflow)
        return bool(np.isfinite(np.add.reduce(values)))


def _money(text: str) -> float:
    match = _MONEY.match(text)
    if not match or bool(match["open"]) != bool(match["close"]):
        return np.nan
    value = float(match["num"].replace(",", ""))
    return -value if (match["neg"] or match["open"]) else value


_INT64_LIMIT = 2.0**63  # a float at or above it (in magnitude) is no int64


def parse_integer(s: pd.Series, *, decimal: str = ".", thousands: str | None = None
                  ) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Whole numbers: returns values, unparseable cells, and non-integral numbers.

    Numbers are read as :func:`parse_number` reads them. A value of magnitude 2**63 or
    more is a bad cell (it does not fit a 64-bit integer; in a column of floats or text
    that includes the values from 2**63 - 512 up, which a float rounds to 2**63), as
    are non-finite values: the values returned never wrap when made integers. Integer
    columns without missing values come back as int64, others as floats.
    """
    _series(s)
    number_marks(decimal, thousands)  # (refuses marks it does not handle)
    dtype = s.dtype
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype):
        none = np.zeros(len(s), bool)
        unsigned = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        if unsigned.kind == "u" and unsigned.itemsize == 8:  # (numpy or nullable uint64)
            big = (s > np.iinfo(np.int64).max).to_numpy(dtype=bool, na_value=False)
            if big.any():
                return s.astype("float64").where(~big), big, none
        if isinstance(dtype, np.dtype) or not s.hasnans:
            return s.astype(np.int64), none, none
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values, bad = s.astype("float64"), np.zeros(len(s), bool)  # (inf: caught below)
    else:
        values, bad = parse_number(s, decimal=decimal, thousands=thousands)
    array = values.to_numpy()
    if len(array) and (np.fmax.reduce(array) >= _INT64_LIMIT
                       or np.fmin.reduce(array) <= -_INT64_LIMIT):  # (no mask unless needed)
        with np.errstate(invalid="ignore"):
            big = np.abs(array) >= _INT64_LIMIT
        values, bad = values.where(~big), bad | big
    fractional = (values.notna() & (values != np.round(values))).to_numpy()
    return values.where(~fractional), bad, fractional


def parse_binary(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """0/1 values; true/false and yes/no accepted, case and spaces forgiven."""
    _series(s)
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64")
        bad = (values.notna() & ~values.isin([0.0, 1.0])).to_numpy()
        return values.where(~bad), bad
    text = _blank(s).str.lower()
    values = pd.Series(np.where(text.isin(list(_TRUE)), 1.0,
                                np.where(text.isin(list(_FALSE)), 0.0, np.nan)),
                       index=s.index, name=s.name)
    return values, (values.isna() & text.notna()).to_numpy()


def parse_choice(s: pd.Series, choices: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """One of ``choices``; case and surrounding spaces forgiven."""
    _series(s)
    text = _clean_categories(s, _stripped_lower)
    ok = text.isin(list(choices)).to_numpy()
    values = text.cat.set_categories(list(choices))
    return values, ~ok & text.notna().to_numpy()


def parse_date(s: pd.Series, *, date_format: str | None = None
               ) -> tuple[pd.Series, np.ndarray]:
    """Calendar dates (time of day dropped): ISO 8601, YYYY/MM/DD or DD.MM.YYYY; with a
    strftime ``date_format`` (e.g. ``"%d/%m/%Y"``), text in exactly that format.

    Columns that are dates already (Excel, Parquet) are taken as they are, whatever
    ``date_format`` says; numbers (``20190304`` read as an integer) are read as text.
    """
    _series(s)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):  # (with a time zone: its wall time)
        return _local(s).dt.normalize(), np.zeros(len(s), bool)
    if s.dtype == object and s.map(lambda v: hasattr(v, "year") or v is None).all():
        values = _local(pd.to_datetime(s.map(_wall_time), errors="coerce"))
        return values.dt.normalize(), (values.isna() & s.notna()).to_numpy()
    if date_format is not None:
        problem = date_format_problem(date_format)
        if problem:
            raise SpecificationError(problem)
        return _formatted_dates(s, date_format)
    text = _blank(s)
    present = text.notna().to_numpy()
    values = _iso_dates(text)
    for fmt in _DATE_FORMATS:
        todo = (values.isna().to_numpy() & present)
        if not todo.any():
            break
        values[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype(
            "datetime64[s]")
    values = values.dt.normalize()
    return values, values.isna().to_numpy() & present


#: a time zone after a time of day (minutes or seconds, maybe fractions): kept is the time
_OFFSET = r"(:\d{2}(?:\.\d+)?)(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _iso_dates(text: pd.Series) -> pd.Series:
    """ISO 8601 dates and times as dates of ``datetime64[s]``, at the wall time written
    (a time zone is dropped: the calendar day is the one the source wrote)."""
    try:
        values = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError, OverflowError):  # mixed time zones, say
        local = text.str.replace(_OFFSET, r"\1", regex=True)
        values = pd.to_datetime(local, format="ISO8601", errors="coerce")
    return _local(values)


def _local(values: pd.Series) -> pd.Series:
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.astype("datetime64[s]")


def _wall_time(value):
    """A date or time without its time zone (its wall time kept)."""
    tz = getattr(value, "tzinfo", None)
    return value.replace(tzinfo=None) if tz is not None else value


def _formatted_dates(s: pd.Series, date_format: str) -> tuple[pd.Series, np.ndarray]:
    """Text dates in ``date_format``; in a column of objects (Excel), cells that are
    dates already are taken as they are."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("Float64").astype("str").str.replace(r"\.0$", "", regex=True)
    dated = s.map(lambda v: hasattr(v, "year")).to_numpy(bool) if s.dtype == object else None
    text = _blank(s.where(~dated, None) if dated is not None and dated.any() else s)
    present = text.notna().to_numpy()
    codes, distinct = pd.factorize(text)  # dates repeat: each distinct text is read once
    read = pd.to_datetime(pd.Series(distinct, dtype=object), format=date_format,
                          errors="coerce").to_numpy(dtype="datetime64[s]")
    values = pd.Series(np.append(read, np.datetime64("NaT", "s"))[codes], index=s.index,
                       name=s.name)
    if dated is not None and dated.any():
        values[dated] = pd.to_datetime(s[dated].tolist()).astype("datetime64[s]")
    values = values.dt.normalize()
    return values, values.isna().to_numpy() & present


def recode(s: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Values replaced by ``mapping`` (source text, stripped -> new text); values not in
    the mapping are kept as they are. Categorical columns are recoded on their
    categories; other columns come back categorical (numbers as their text, ``1.0`` as
    ``"1"``), or as they came when no value is in the mapping.

    Examples
    --------
    >>> recode(pd.Series(["Verlust", " Gewinn", "neutral"]),
    ...        {"Verlust": "loss", "Gewinn": "gain"}).tolist()
    ['loss', 'gain', 'neutral']
    """
    _series(s)
    if not mapping:
        return s
    source = s
    if not isinstance(s.dtype, pd.CategoricalDtype):
        numeric = pd.api.types.is_numeric_dtype(s.dtype)
        s = s.astype("str").astype("category")
        if numeric:  # 1.0 -> "1", as the file shows it
            s = s.cat.rename_categories(_texts(_normalise_ids(s.cat.categories)))
    text = list(s.cat.categories.astype("str"))
    new = [str(mapping.get(t.strip(), t)) for t in text]
    if new == text:
        return source  # nothing to recode: the column as it came
    uniq, inverse = np.unique(np.asarray(new, dtype=object), return_inverse=True)
    codes = s.cat.codes.to_numpy()
    new_codes = np.where(codes >= 0, np.append(inverse, -1)[codes], -1)
    out = pd.Categorical.from_codes(new_codes, dtype=pd.CategoricalDtype(
        pd.Index(uniq, dtype="str")))
    return pd.Series(out, index=s.index, name=s.name)


def id_index(ids: pd.Series) -> pd.Index:
    """The distinct ids of a column as a text index, for :func:`id_codes`."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        categories = ids.cat.categories
        seen = used_codes(ids.cat.codes.to_numpy(), len(categories))
        if seen.all() and categories.astype("str").dtype == categories.dtype:
            return categories  # the same object: its hash table is built once
        return pd.Index(categories[seen]).astype("str")
    return pd.Index(ids.dropna().astype("str").unique())


def used_codes(codes: np.ndarray, n: int, block: int = 1 << 20) -> np.ndarray:
    """Which of the codes 0..n-1 occur in ``codes`` (-1, missing, is ignored), in blocks
    so that no index array of the full length is made."""
    seen = np.zeros(n + 1, bool)  # last slot: -1
    for start in range(0, len(codes), block):
        seen[codes[start:start + block]] = True
    return seen[:n]


def id_codes(values: pd.Series, ids: pd.Series | pd.Index) -> np.ndarray:
    """Position of each id of ``values`` in ``ids`` (-1: missing or unknown).

    ``ids`` is an index of distinct ids (see :func:`id_index`) or a column. When
    ``values`` is categorical only its categories are looked up, so the cost grows
    with the number of distinct ids, not with the number of rows; when its categories
    are ``ids`` themselves, the codes are the positions (int32 or int64 codes).
    """
    reference = ids if isinstance(ids, pd.Index) else id_index(ids)
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        codes = values.cat.codes.to_numpy()
        if categories is reference or (categories.dtype == reference.dtype
                                       and categories.equals(reference)):
            return codes if codes.dtype.itemsize >= 4 else codes.astype(np.int32)
        lookup = _sorted_lookup(reference, categories)
        if lookup is None:
            lookup = reference.get_indexer(categories.astype("str"))
        small = np.int32 if len(reference) < 2**31 - 1 else np.int64
        lookup = np.append(lookup, -1).astype(small)  # code -1 (missing) -> -1
        return take(lookup, codes)
    present = values.notna().to_numpy()
    found = reference.get_indexer(values.astype("str")).astype(np.int64)
    return np.where(present, found, -1)


def _pool() -> pa.MemoryPool:
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # pyarrow built without jemalloc (e.g. on Windows)
        return pa.system_memory_pool()
    # Arrow builds jemalloc to keep freed pages for a second; handed back to the system
    # at once, they are still warm when the next large array asks for pages (the
    # firm-year columns, right after the financials are converted: measured 0.4 s of
    # page faults instead of 0.9-1.0 s). Affects only jemalloc arenas made from now on.
    pa.jemalloc_set_decay_ms(0)
    return pool


#: Allocator for what Arrow reads (and :func:`empty` where there is no ``mmap``):
#: jemalloc, in pages of the usual size (the default pool, mimalloc, asks for huge ones).
POOL = _pool()
_LARGE = 4 << 20  # bytes from which numpy asks the kernel for transparent huge pages


_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux


def empty(n: int, dtype) -> np.ndarray:
    """An uninitialised array of ``n`` values, for a large column (to be filled whole).

    Arrays of 4 MiB and more are not numpy's: numpy asks the kernel to back them with
    transparent huge pages, and on virtual machines that hand freed memory back to the
    host in huge-page blocks each fresh huge page is a costly host fault (measured on
    the benchmark VM, 1.5 GB written into new arrays: 3.3-3.5 s of system time with
    numpy's huge pages, 0.5-0.7 s in pages of the usual 4 KiB). On Linux the array is
    an anonymous mapping of its own, its pages mapped when it is made (``MAP_POPULATE``:
    0.28 s instead of 0.53 s for 800 MB of page faults) and given back when it is
    freed; elsewhere it is an Arrow buffer from :data:`POOL`. The array keeps either
    alive.
    """
    dtype = np.dtype(dtype)
    size = n * dtype.itemsize
    if size < _LARGE:
        return np.empty(n, dtype)
    if _POPULATE:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE
        return np.frombuffer(mmap.mmap(-1, size, flags=flags), dtype=dtype)
    return np.frombuffer(pa.allocate_buffer(size, memory_pool=POOL), dtype=dtype)


def full(n: int, value, dtype) -> np.ndarray:
    """:func:`empty`, filled with ``value``."""
    out = empty(n, dtype)
    out.fill(value)
    return out


def _sorted_lookup(reference: pd.Index, values: pd.Index) -> np.ndarray | None:
    """``reference.get_indexer(values)`` by binary search, for texts of one length in
    bytes (zero-padded ids) with ``reference`` sorted: None when that does not hold."""
    ref, val = _fixed_width(reference), _fixed_width(values)
    if ref is None or val is None or ref.dtype != val.dtype or not len(ref):
        return None
    if not (ref[1:] > ref[:-1]).all():
        return None
    pos = np.minimum(np.searchsorted(ref, val), len(ref) - 1)
    return np.where(ref[pos] == val, pos, -1)


def _fixed_width(index: pd.Index) -> np.ndarray | None:
    """The texts of ``index`` as a numpy bytes array (a view of the Arrow data) when all
    are non-empty, with no NUL byte, and of one length in bytes; otherwise None."""
    if not len(index) or index.astype("str").dtype != index.dtype:
        return None
    arr = pa.array(index)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], offset_type)[arr.offset:arr.offset + len(arr) + 1]
    width = int(offsets[1] - offsets[0])
    if width < 1 or (np.diff(offsets) != width).any():
        return None
    data = np.frombuffer(arr.buffers()[2], np.uint8, count=len(arr) * width,
                         offset=int(offsets[0]))
    if not data.all():  # a NUL byte: numpy would drop it at the end of a text
        return None
    return data.view(f"S{width}")


def take(values: np.ndarray, indices: np.ndarray, out: np.ndarray | None = None,
         block: int = 1 << 18) -> np.ndarray:
    """``values[indices]`` into :func:`empty` (or ``out``), in blocks: numpy would first
    copy narrow integer indices into a full-length array of 64-bit ones, and buffer the
    whole output. Indices lie in ``-len(values) .. len(values) - 1`` (-1: the last)."""
    if out is None:
        out = empty(len(indices), values.dtype)
    for start in range(0, len(indices), block):  # (mode "wrap": -1 is the last, unbuffered)
        np.take(values, indices[start:start + block], out=out[start:start + block], mode="wrap")
    return out
