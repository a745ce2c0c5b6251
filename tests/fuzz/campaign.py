"""A fuzzing campaign: N mutated studies, the contract checked on each, counts printed.

    python -m tests.fuzz.campaign --n 5000 --workers 2 --seed 0 --timeout 30

Case ``i`` of seed ``s`` is a copy of one small simulated study with 1-4 mutators
applied (chosen, and applied, from random generators seeded by ``s`` and ``i``, so the
same seed gives the same studies). Each case runs in a worker process; one that takes
longer than ``--timeout`` seconds is killed and counted as a hang. Every
``--subprocess-every``-th case also runs ``python -m ipnstats validate`` as a process.
Prints the number of studies, the violations by kind, the run time and the first example
of each distinct failure (kind, where in ipnstats it raised, exception), with the
mutators that trigger it; exits 1 when any violation was found.
``--replay I --keep DIR`` writes case I to DIR and prints its violations in full.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from multiprocessing.connection import wait
from pathlib import Path

from .contract import CLI_COMMANDS, KINDS, Violation, check
from .mutate import SINGLE, apply
from .registry import NOT_APPLIED

BASE = {"n_firms": 24, "n_groups": 2, "first_year": 2015, "last_year": 2019, "seed": 17}
EXTRA_KINDS = {"crash": "worker process died", "mutator_error": "mutator failed (harness)",
               "harness_error": "contract check failed (harness)"}
HARNESS = {"mutator_error", "harness_error"}


def make_base(folder: Path) -> Path:
    """The small simulated study that every case starts from."""
    import ipnstats

    return Path(ipnstats.simulate_study(folder, **BASE))


def plan(seed: int, i: int) -> list[str]:
    """The mutators of case ``i``: 1-4 names (40 % of cases have one)."""
    rng = random.Random(f"{seed}:{i}")
    k = rng.choices([1, 2, 3, 4], weights=[40, 30, 20, 10])[0]
    return rng.choices(SINGLE, k=k)


def build(base: Path, folder: Path, seed: int, i: int) -> list[str]:
    """Write case ``i`` to ``folder`` (created); the mutators' descriptions."""
    shutil.copytree(base, folder)
    return apply(folder, plan(seed, i), random.Random(f"{seed}:{i}:apply"))


def run_case(base: Path, work: Path, seed: int, i: int, subprocess_cli: bool,
             timeout: float) -> dict:
    folder = work / f"case-{i}" / "study"
    start = time.perf_counter()
    try:
        done = build(base, folder, seed, i)
    except Exception as exc:  # noqa: BLE001 - a bug of the harness, reported apart
        import traceback

        shutil.rmtree(folder.parent, ignore_errors=True)
        v = Violation("mutator_error", "mutate", f"{type(exc).__name__}: {exc}"[:200], "",
                      traceback.format_exc())
        return {"i": i, "names": plan(seed, i), "done": [], "violations": [asdict(v)],
                "seconds": time.perf_counter() - start}
    try:
        found = check(folder, cli=(*CLI_COMMANDS, "init"), subprocess_cli=subprocess_cli,
                      time_limit=timeout)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return {"i": i, "names": plan(seed, i), "done": done,
            "violations": [asdict(v) for v in found], "seconds": time.perf_counter() - start}


def _worker(conn, base: str, work: str, seed: int, timeout: float) -> None:
    import warnings

    warnings.simplefilter("ignore")
    while True:
        job = conn.recv()
        if job is None:
            return
        i, sub = job
        conn.send(run_case(Path(base), Path(work), seed, i, sub, timeout))


class Pool:
    """Worker processes, each on its own pipe, one case at a time, killed on a hang."""

    def __init__(self, n: int, base: Path, work: Path, seed: int, timeout: float):
        self.ctx = mp.get_context("spawn")
        self.args = (str(base), str(work), seed, timeout)
        self.timeout = timeout
        self.slots = [self._start() for _ in range(n)]

    def _start(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "since": 0.0}

    def run(self, jobs: list[tuple[int, bool]], seed: int, on_result) -> None:
        queue = list(reversed(jobs))
        while queue or any(s["job"] for s in self.slots):
            for slot in self.slots:
                if slot["job"] is None and queue:
                    slot["job"], slot["since"] = queue.pop(), time.monotonic()
                    slot["conn"].send(slot["job"])
            busy = [s for s in self.slots if s["job"]]
            left = min(self.timeout - (time.monotonic() - s["since"]) for s in busy)
            ready = wait([s["conn"] for s in busy], timeout=max(left, 0.05))
            for k, slot in enumerate(self.slots):
                if slot["job"] is None:
                    continue
                i = slot["job"][0]
                if slot["conn"] in ready:
                    try:
                        on_result(slot["conn"].recv())
                        slot["job"] = None
                        continue
                    except (EOFError, OSError):
                        kind, text = "crash", f"exit code {slot['proc'].exitcode}"
                elif time.monotonic() - slot["since"] > self.timeout:
                    kind, text = "hang", f"no answer within {self.timeout:g} s: killed"
                else:
                    continue
                on_result({"i": i, "names": plan(seed, i), "done": [], "seconds": self.timeout,
                           "violations": [asdict(Violation(kind, "case", text))]})
                self._replace(k)

    def _replace(self, k: int) -> None:
        slot = self.slots[k]
        slot["proc"].kill()
        slot["proc"].join()
        slot["conn"].close()
        self.slots[k] = self._start()

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot["conn"].send(None)
            except OSError:
                pass
            slot["proc"].join(timeout=5)
            if slot["proc"].is_alive():
                slot["proc"].kill()


def group_key(v: dict) -> tuple[str, str]:
    """A distinct failure: where in ipnstats it raised and the exception (the same fault
    seen through validate_study, load_study and the CLI is one failure); for a violation
    without a traceback, its kind and rule."""
    if v["traceback"] and v["kind"] not in ("cli_exit_code",):
        return v["origin"] or "?", v["message"].split(":")[0]
    return v["kind"], v["origin"] or v["call"]


def summarize(results: list[dict], seconds: float, out=sys.stdout) -> int:
    """Print the counts and the first example of each distinct failure; the exit code."""
    studies_by_kind, total_by_kind = Counter(), Counter()
    groups: dict[tuple, dict] = {}
    bad_studies = 0
    for r in sorted(results, key=lambda r: r["i"]):
        kinds = {v["kind"] for v in r["violations"]}
        bad_studies += bool(kinds - HARNESS)
        studies_by_kind.update(kinds)
        for v in r["violations"]:
            total_by_kind[v["kind"]] += 1
        for key in {group_key(v) for v in r["violations"]}:
            g = groups.setdefault(key, {"studies": 0, "example": None, "names": Counter(),
                                        "single": Counter(), "kinds": set()})
            g["studies"] += 1
            g["kinds"].update(v["kind"] for v in r["violations"] if group_key(v) == key)
            g["names"].update(set(r["names"]))
            if len(r["names"]) == 1:
                g["single"][r["names"][0]] += 1
            if g["example"] is None:
                g["example"] = (r, next(v for v in r["violations"] if group_key(v) == key))
    p = lambda *a: print(*a, file=out)  # noqa: E731
    skipped = sum(NOT_APPLIED in d for r in results for d in r["done"])
    p(f"studies: {len(results)}   with a violation: {bad_studies}   run time: {seconds:.0f} s "
      f"({seconds / max(len(results), 1):.2f} s a study, wall clock)   mutations that could "
      f"not apply to what an earlier one left: {skipped}")
    p("violations by kind (studies / violations):")
    for kind, label in {**KINDS, **EXTRA_KINDS}.items():
        p(f"  {label:<34} {studies_by_kind[kind]:>6} / {total_by_kind[kind]}")
    p(f"distinct failures: {len(groups)} (most frequent first)")
    for n, (key, g) in enumerate(sorted(groups.items(), key=lambda kv: -kv[1]["studies"]), 1):
        r, v = g["example"]
        kinds = ", ".join(sorted(g["kinds"]))
        p(f"\n#{n} {key[0]} {key[1]}: {g['studies']} studies ({kinds})")
        trig = g["single"].most_common(6) or g["names"].most_common(6)
        label = "alone" if g["single"] else "among"
        p(f"   mutators ({label}): " + ", ".join(f"{m} x{c}" for m, c in trig))
        p(f"   example: case {r['i']}: {v['call']}: {v['message']}")
        for d in r["done"]:
            p(f"     - {d[:220]}")
        tb = [line for line in v["traceback"].strip().splitlines() if line.strip()]
        for line in tb[-6:]:
            p(f"     | {line[:220]}")
    return 1 if bad_studies or any(studies_by_kind[k] for k in HARNESS) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.campaign",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="number of mutated studies (500)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (0)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per study (30)")
    parser.add_argument("--start", type=int, default=0, help="first case number (0)")
    parser.add_argument("--subprocess-every", type=int, default=25, metavar="K",
                        help="also run `python -m ipnstats validate` as a process on every "
                             "K-th study (25; 0: never)")
    parser.add_argument("--json", type=Path, help="write every case's result to this file")
    parser.add_argument("--replay", type=int, metavar="I", help="only write and check case I")
    parser.add_argument("--keep", type=Path, help="with --replay: the folder to write it to")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ipnfuzz-") as tmp:
        base = make_base(Path(tmp) / "base")
        if args.replay is not None:
            return _replay(base, args)
        cases = range(args.start, args.start + args.n)
        every = args.subprocess_every
        jobs = [(i, bool(every) and i % every == every - 1) for i in cases]
        results: list[dict] = []
        start = time.perf_counter()

        def on_result(r: dict) -> None:
            results.append(r)
            if len(results) % 50 == 0:
                print(f"  ... {len(results)}/{len(jobs)} studies, "
                      f"{sum(bool(x['violations']) for x in results)} with violations, "
                      f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

        pool = Pool(args.workers, base, Path(tmp), args.seed, args.timeout)
        try:
            pool.run(jobs, args.seed, on_result)
        finally:
            pool.close()
        seconds = time.perf_counter() - start
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"campaign: seed {args.seed}, cases {args.start}..{args.start + args.n - 1}, "
          f"{args.workers} worker(s), timeout {args.timeout:g} s")
    return summarize(results, seconds)


def _replay(base: Path, args) -> int:
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ipnfuzz-case-")) / "study"
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    for d in build(base, folder, args.seed, args.replay):
        print(f"- {d}")
    print(f"case {args.replay} of seed {args.seed} written to {folder}")
    found = check(folder, cli=(*CLI_COMMANDS, "init"), subprocess_cli=True,
                  time_limit=args.timeout)
    for v in found:
        print(f"\n{v.short()}\n{v.traceback}")
    print(f"{len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
