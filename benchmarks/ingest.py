"""Ingest benchmark: ``ipnstats.load_study`` (firm-year panel) against a bare ``pandas.read_csv``.

Run ``python benchmarks/ingest.py`` (``make bench``); ``--help`` lists the options.
A synthetic study (1,000,000 firms, 10,000,000 financials rows by default) is written
once to ``benchmarks/_data/ingest/firms_<N>/`` and reused; each job then runs in its
own fresh interpreter, alternating, and the medians are compared against the targets.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from harness import Job, compare, format_line, machine, merge_results, now, verdict

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data" / "ingest"
RESULTS = HERE / "results.json"
BENCHMARK = "ingest"
GENERATOR_VERSION = 1  # bump when the generated data change: cached folders are rebuilt
SEED = 20240611
FIRST_YEAR, LAST_YEAR = 2013, 2022  # financials years
FIRST_JOIN_YEAR = 2011  # spells start from 2011-01-01 on
TIME_TARGET, MEMORY_TARGET = 3.0, 2.5

INDUSTRIES = ["manufacturing", "construction", "retail", "wholesale", "it", "logistics",
              "hospitality", "health", "finance", "agriculture", "energy", "services"]
REGIONS = ["north", "south", "east", "west", "central", "coast", "alpine", "islands"]

CODEBOOK = """\
[study]
name = "Ingest benchmark study (synthetic)"

[scales.perceived_learning]
items = ["pl_1", "pl_2", "pl_3"]
range = [1, 7]

[scales.trust]
items = ["tr_1", "tr_2", "tr_3"]
range = [1, 7]

[scales.risk_aversion]
items = ["ra_1", "ra_2", "ra_3"]
range = [1, 7]

[scales.loss_aversion]
items = ["la_1", "la_2", "la_3"]
range = [1, 7]
"""


# --- data generation ------------------------------------------------------------------------

def id_strings(prefix: str, numbers: np.ndarray, width: int, repeat: int = 1) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, each repeated ``repeat``
    times (built as bytes, without a Python string per row)."""
    head = np.frombuffer(prefix.encode(), np.uint8)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers.astype(np.int64)[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    chars = np.concatenate([np.broadcast_to(head, (len(numbers), len(head))), digits], axis=1)
    if repeat > 1:
        chars = np.repeat(chars, repeat, axis=0)
    n, w = chars.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32 if n * w < 2**31 else np.int64)
    kind = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets),
                                           pa.py_buffer(np.ascontiguousarray(chars))])


def pick(labels: list[str], codes: np.ndarray) -> pa.Array:
    """Labels chosen by integer codes, as a plain Arrow string array."""
    return pc.take(pa.array(labels), pa.array(codes))


def firms_table(rng: np.random.Generator, n: int, ids: pa.Array) -> pa.Table:
    """firm_id, industry, region, founded_year (before any join and any financials year),
    baseline size."""
    return pa.table({
        "firm_id": ids,
        "industry": pick(INDUSTRIES, rng.integers(0, len(INDUSTRIES), n)),
        "region": pick(REGIONS, rng.integers(0, len(REGIONS), n)),
        "founded_year": rng.integers(1950, FIRST_JOIN_YEAR + 1, n),
        "employees_baseline": np.round(rng.lognormal(2.5, 1.2, n)).astype(np.int64),
    })


def memberships_table(rng: np.random.Generator, n: int) -> pa.Table:
    """Staggered spells for ~40% of firms: 1-3 spells each, re-joins after a gap, some open.

    Spells of a firm never overlap (each join is after the previous exit), exits are
    after joins, and nothing starts after the data end; an exit beyond the data end
    becomes an open spell (still a member), which is then the firm's last.
    """
    members = np.flatnonzero(rng.random(n) < 0.4)
    n_spells = rng.choice([1, 2, 3], size=len(members), p=[0.7, 0.25, 0.05])
    firm = np.repeat(members, n_spells)
    m = len(firm)
    first = np.r_[True, firm[1:] != firm[:-1]]
    last = np.r_[firm[1:] != firm[:-1], True]
    length = rng.integers(90, 2200, m)  # days from join to exit
    gap = np.where(first, 0, rng.integers(30, 1000, m))  # days from previous exit to join
    step = length + gap
    within = np.cumsum(step) - np.repeat(np.cumsum(step)[first] - step[first], n_spells)
    base = np.datetime64(f"{FIRST_JOIN_YEAR}-01-01") + rng.integers(0, 11 * 365, len(members))
    join = np.repeat(base, n_spells) + (within - length)
    exit_ = join + length
    end = np.datetime64(f"{LAST_YEAR}-12-31")
    keep = join <= end
    open_ = (last & (rng.random(m) < 0.5)) | (exit_ > end)
    exit_ = np.where(open_, np.datetime64("NaT"), exit_).astype("datetime64[D]")
    firm, join, exit_ = firm[keep], join[keep].astype("datetime64[D]"), exit_[keep]
    n_groups = max(1, len(members) // 15)
    group = rng.integers(1, n_groups + 1, len(firm))
    return pa.table({
        "firm_id": id_strings("F", firm + 1, 7),
        "group_id": id_strings("G", group, 5),
        "join_date": pa.array(join),
        "exit_date": pa.array(exit_, mask=np.isnat(exit_)),
    })


def financials_table(rng: np.random.Generator, n: int) -> pa.Table:
    """Ten years (2013-2022) per firm, sorted by firm and year; money with 2 decimals."""
    years = LAST_YEAR - FIRST_YEAR + 1
    level = rng.normal(13.0, 1.5, n)[:, None]
    growth = rng.normal(0.03, 0.15, (n, years)).cumsum(axis=1)
    revenue = np.round(np.exp(level + growth), 2).ravel()
    revenue[rng.random(revenue.size) < 0.001] = 0.0  # a few dormant firm-years
    margin = rng.normal(0.05, 0.1, revenue.size)
    return pa.table({
        "firm_id": id_strings("F", np.arange(1, n + 1), 7, repeat=years),
        "year": np.tile(np.arange(FIRST_YEAR, LAST_YEAR + 1, dtype=np.int64), n),
        "revenue": revenue,
        "net_income": np.round(revenue * margin, 2),
        "employees": np.round(revenue / 150_000 * rng.lognormal(0, 0.3, revenue.size))
                       .astype(np.int64),
        "total_assets": np.round(revenue * rng.uniform(0.5, 2.5, revenue.size) + 1000, 2),
    })


def write_csv(table: pa.Table, path: Path) -> None:
    """Unquoted CSV as a typical export writes it (dates ISO, empty = missing)."""
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none", batch_size=1 << 20))


def generate(folder: Path, n_firms: int, seed: int = SEED) -> None:
    """Write the study (firms, memberships, financials, codebook) to ``folder``."""
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    ids = id_strings("F", np.arange(1, n_firms + 1), 7)
    write_csv(firms_table(rng, n_firms, ids), tmp / "firms.csv")
    write_csv(memberships_table(rng, n_firms), tmp / "memberships.csv")
    write_csv(financials_table(rng, n_firms), tmp / "financials.csv")
    (tmp / "codebook.toml").write_text(CODEBOOK, encoding="utf-8")
    meta = {"firms": n_firms, "seed": seed, "generator": GENERATOR_VERSION}
    (tmp / "meta.json").write_text(json.dumps(meta) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def ensure_study(n_firms: int, *, regenerate: bool = False) -> tuple[Path, float | None]:
    """The cached study folder for ``n_firms``; (re)generated when missing, stale or asked.
    Returns the folder and the seconds spent generating (None when cached)."""
    folder = DATA / f"firms_{n_firms}"
    meta = folder / "meta.json"
    expected = {"firms": n_firms, "seed": SEED, "generator": GENERATOR_VERSION}
    if not regenerate and meta.exists() and json.loads(meta.read_text()) == expected:
        return folder, None
    start = time.perf_counter()
    generate(folder, n_firms)
    return folder, time.perf_counter() - start


# --- the benchmark ----------------------------------------------------------------------------

def jobs(folder: Path) -> tuple[Job, Job]:
    """(a) load_study and its firm-year panel; (b) a bare pandas.read_csv of financials."""
    ours = Job("ipnstats.load_study",
               setup="import ipnstats",
               work=f"study = ipnstats.load_study({str(folder)!r})\n"
                    "rows = len(study.firm_year)",
               result="rows")
    peer = Job("pandas.read_csv",
               setup="import pandas as pd",
               work=f"df = pd.read_csv({str(folder / 'financials.csv')!r})\nrows = len(df)",
               result="rows")
    return ours, peer


def progress(name: str, rep: int, run) -> None:
    print(f"  rep {rep + 1} {name:<20} {run.seconds:7.2f} s measured, "
          f"{run.process_seconds:7.2f} s with start-up, peak {run.peak_rss / 2**30:.2f} GiB",
          file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1_000_000,
                        help="number of firms (financials rows = 10 x firms); default 1,000,000")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each job (default 3)")
    parser.add_argument("--regenerate", action="store_true",
                        help="rewrite the cached study even if it exists")
    args = parser.parse_args(argv)

    folder, gen_seconds = ensure_study(args.firms, regenerate=args.regenerate)
    sizes = {p.stem: p.stat().st_size for p in folder.glob("*.csv")}
    print(f"study: {folder} ({args.firms:,} firms; "
          + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in sorted(sizes.items()))
          + (f"; generated in {gen_seconds:.1f} s)" if gen_seconds else "; cached)"),
          file=sys.stderr, flush=True)

    ours, peer = jobs(folder)
    summary = compare(ours, peer, args.reps, progress=progress, cwd=HERE.parent)
    ours_rows, peer_rows = summary["ours"]["values"], summary["peer"]["values"]
    rows_match = len(ours_rows) == 1 and ours_rows == peer_rows
    case = f"load_study firm_year, {args.firms:,} firms / {10 * args.firms:,} rows"
    print(format_line(case, summary, time_target=TIME_TARGET, memory_target=MEMORY_TARGET))
    print(f"  rows: ipnstats {ours_rows}, read_csv {peer_rows}: "
          f"{'same' if rows_match else 'DIFFERENT'}; with interpreter start-up and imports: "
          f"ipnstats {summary['ours']['process_seconds']:.2f} s, "
          f"peer {summary['peer']['process_seconds']:.2f} s")

    record = {
        **summary, "when": now(), "firms": args.firms, "financials_rows": 10 * args.firms,
        "file_bytes": sizes, "rows_match": rows_match, "generation_seconds": gen_seconds,
        "targets": {"time_ratio": TIME_TARGET, "memory_ratio": MEMORY_TARGET},
        "verdicts": {"time": verdict(summary["time_ratio"], TIME_TARGET),
                     "memory": verdict(summary["memory_ratio"], MEMORY_TARGET)},
        "machine": machine(),
    }
    merge_results(RESULTS, BENCHMARK, {f"load_study/firms={args.firms}": record})
    print(f"results: {RESULTS}", file=sys.stderr)
    return 0 if rows_match else 1


if __name__ == "__main__":
    sys.exit(main())
