"""An Arrow table as the DataFrame the readers return: text columns categorical, numbers
copied once out of their chunks, each Arrow column released as soon as it is converted.

Split from :mod:`ipnstats.data.readers` (which parses the files); used by its CSV path.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ipnstats.data.columns import POOL, empty, take


def arrow_to_pandas(holder: list[pa.Table], id_columns: tuple[str, ...],
               categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    """The table (taken out of ``holder``) as a DataFrame, column by column, each Arrow
    column released as soon as it is converted. The result is what
    ``Table.to_pandas(date_as_object=False)`` gives (text columns categorical), built
    without consolidating columns: each column of numbers is copied once, out of its
    Arrow chunks into one array (see :func:`columns.empty`)."""
    table = holder.pop()
    names = table.column_names
    if len(set(names)) != len(names):  # (the id columns were read dictionary-encoded)
        return table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    if table.num_rows == 0:
        for name in id_columns:
            if name in names:
                i = names.index(name)
                table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
        return table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    columns = dict(zip(names, table.columns, strict=True))
    n = table.num_rows
    del table
    numbers = [name for name, col in columns.items() if col.null_count == 0
               and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type))]
    out = {}
    # the numbers are copied in a second thread (numpy lets go of the interpreter lock)
    # while the text columns are converted here; small tables do it all in this thread
    with ThreadPoolExecutor(max_workers=1) as worker:  # (its thread starts on a submit)
        copy = worker.submit if n >= PARALLEL_ROWS else _now
        copies = {name: copy(_concat_numbers, columns.pop(name)) for name in numbers}
        for name in names:
            if name in copies:
                continue
            col = columns.pop(name)
            if pa.types.is_dictionary(col.type):
                out[name] = _dictionary_categorical(col)
            elif name in id_columns and pa.types.is_string(col.type):
                out[name] = _runs_categorical(col, (categories or {}).get(name))
            else:
                out[name] = col.to_pandas(date_as_object=False, memory_pool=POOL)
            del col  # (its pages go back at once, warm for what comes next)
        for name, done in copies.items():
            out[name] = done.result()
    return pd.DataFrame({name: out[name] for name in names}, index=pd.RangeIndex(n), copy=False)


PARALLEL_ROWS = 1 << 20  # rows from which numbers are copied in a second thread


def _now(func, *args) -> Future:
    """``func(*args)``, done here, as a finished future."""
    done: Future = Future()
    done.set_result(func(*args))
    return done


def _concat_numbers(col: pa.ChunkedArray) -> np.ndarray:
    out = empty(len(col), col.type.to_pandas_dtype())
    pos = 0
    for chunk in col.chunks:
        out[pos:pos + len(chunk)] = chunk.to_numpy()
        pos += len(chunk)
    return out


def _run_starts(col: pa.ChunkedArray) -> np.ndarray:
    """Whether each value differs from the one before (the first does; missing values
    differ from everything), compared chunk by chunk."""
    new = empty(len(col), bool)
    pos, last = 0, None
    for chunk in col.chunks:
        m = len(chunk)
        if not m:
            continue
        first = chunk[0]
        new[pos] = (last is None or not (last.is_valid and first.is_valid)
                    or last.as_py() != first.as_py())
        same = pc.fill_null(pc.equal(chunk.slice(1), chunk.slice(0, m - 1)), False)
        np.logical_not(same.to_numpy(zero_copy_only=False), out=new[pos + 1:pos + m])
        pos, last = pos + m, chunk[m - 1]
    return new


def _categorical(codes: np.ndarray, categories: pa.Array | pd.Index) -> pd.Categorical:
    if isinstance(categories, pa.Array):
        categories = pd.Index(categories.to_pandas(), dtype="str")
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories),
                                     validate=False)


def _dictionary_categorical(col: pa.ChunkedArray) -> pd.Categorical:
    """A dictionary-encoded column (one dictionary per chunk) as one categorical."""
    if col.num_chunks == 0:
        return _categorical(np.zeros(0, np.int32), pa.array([], pa.string()))
    col = pa.Table.from_arrays([col], names=["c"]).unify_dictionaries().column(0)
    codes = empty(len(col), np.int32)
    pos = 0
    for chunk in col.chunks:
        indices = chunk.indices
        if indices.null_count:
            indices = pc.fill_null(indices, -1)
        codes[pos:pos + len(chunk)] = indices.to_numpy()
        pos += len(chunk)
    return _categorical(codes, col.chunk(0).dictionary)


def _runs_categorical(col: pa.ChunkedArray, known: pd.Index | None = None) -> pd.Categorical:
    """A text column as a categorical, categories in order of first appearance.

    Equal neighbours are found first, so that only the first value of each run of
    equal values is hashed (a table sorted by this column: one per distinct value);
    when the run heads come strictly increasing, they are the categories as they are,
    and when they are ``known``'s texts, ``known`` is the categories' index.
    """
    n = len(col)
    new = _run_starts(col)
    codes = np.cumsum(new, dtype=np.int32, out=empty(n, np.int32))  # run number + 1
    codes -= 1
    heads = pc.filter(col, pa.array(new), memory_pool=POOL).combine_chunks()
    del new
    if heads.null_count or (len(heads) > 1 and not pc.all(pc.less(
            heads.slice(0, len(heads) - 1), heads.slice(1))).as_py()):
        head_codes, uniques = pd.factorize(pd.array(heads, dtype="str"))
        take(head_codes.astype(np.int32), codes, out=codes)
        return _categorical(codes, pd.Index(uniques, dtype="str"))
    if (known is not None and len(known) == len(heads)
            and known.astype("str").dtype == known.dtype
            and pc.all(pc.equal(pa.array(known).cast(pa.string()), heads)).as_py()):
        return _categorical(codes, known)
    return _categorical(codes, heads)  # run heads strictly increasing: each its own category
