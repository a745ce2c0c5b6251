"""A cross-check campaign: N random designs over the families, each checked against
its peer; counts printed per family, a JSON summary written.

    python -m tests.crosscheck.campaign --n 500 --seed 0 --workers 2 --timeout 60

Design ``i`` of seed ``s`` goes to family ``i mod F`` (the families of
:data:`tests.crosscheck.registry.FAMILIES`, or ``--families``) and is drawn by
:func:`tests.crosscheck.design.draw` from ``numpy.random.default_rng([s, i])``, so the
same seed gives the same designs; each runs in a worker process and one that takes
longer than ``--timeout`` seconds is killed and counted as a timeout. Prints, per
family: designs, agreements, agreements up to documented conventions, disagreements
(outside documented conventions), refusals (a clear ipnstats error while the peer
fits), raw Python errors, peer failures and timeouts; then every disagreement, raw
error and refusal with its design (``Design(...)`` replays it: ``--replay I``).
Exits 1 on any disagreement, raw error or timeout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np

from .design import draw
from .outcome import Outcome
from .registry import FAMILIES

COLUMNS = (("designs", None), ("agree", "agree"), ("convention", "convention"),
           ("disagree", "disagree"), ("refused", "refused"), ("raw error", "raw_error"),
           ("peer failed", "peer_failed"), ("timeout", "timeout"))
FAILING = ("disagree", "raw_error", "timeout")


def case(seed: int, i: int, families: list[str]):
    """Family name and design of case ``i``."""
    name = families[i % len(families)]
    rng = np.random.default_rng([seed, i])
    return name, draw(rng, int(rng.integers(2**31)), FAMILIES[name].design_ranges())


def run_case(seed: int, i: int, families: list[str]) -> dict:
    name, design = case(seed, i, families)
    start = time.perf_counter()
    try:
        out = FAMILIES[name].check(design)
    except Exception as e:  # noqa: BLE001 - a fault of the harness or the peer, reported
        out = Outcome(name, repr(design), "raw_error",
                      (f"harness: {type(e).__name__}: {e}",))
    return {"i": i, **asdict(out), "seconds": time.perf_counter() - start}


def _worker(conn, seed: int, families: list[str]) -> None:
    import warnings

    warnings.simplefilter("ignore")
    while (i := conn.recv()) is not None:
        conn.send(run_case(seed, i, families))


class Pool:
    """Worker processes, one case at a time each, killed and replaced on a timeout."""

    def __init__(self, n: int, seed: int, families: list[str], timeout: float):
        self.ctx, self.args, self.timeout = mp.get_context("spawn"), (seed, families), timeout
        self.slots = [self._start() for _ in range(n)]

    def _start(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "since": 0.0}

    def run(self, jobs: list[int], on_result) -> None:
        queue = list(reversed(jobs))
        while queue or any(s["job"] is not None for s in self.slots):
            for slot in self.slots:
                if slot["job"] is None and queue:
                    slot["job"], slot["since"] = queue.pop(), time.monotonic()
                    slot["conn"].send(slot["job"])
            busy = [s for s in self.slots if s["job"] is not None]
            left = min(self.timeout - (time.monotonic() - s["since"]) for s in busy)
            ready = wait([s["conn"] for s in busy], timeout=max(left, 0.05))
            for k, slot in enumerate(self.slots):
                if slot["job"] is None:
                    continue
                if slot["conn"] in ready:
                    try:
                        on_result(slot["conn"].recv())
                        slot["job"] = None
                        continue
                    except (EOFError, OSError):
                        status, text = "raw_error", f"worker died ({slot['proc'].exitcode})"
                elif time.monotonic() - slot["since"] > self.timeout:
                    status, text = "timeout", f"no answer within {self.timeout:g} s: killed"
                else:
                    continue
                name, design = case(*self.args[:1], slot["job"], self.args[1])
                on_result({"i": slot["job"], "family": name, "design": repr(design),
                           "status": status, "details": [text], "conventions": [],
                           "n_compared": 0, "seconds": self.timeout})
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


def counts(results: list[dict]) -> dict[str, Counter]:
    """Per family (and ``"all"``): the number of designs of each status."""
    table: dict[str, Counter] = {}
    for r in results:
        for key in (r["family"], "all"):
            table.setdefault(key, Counter())[r["status"]] += 1
    return table


def summarize(results: list[dict], seconds: float, out=sys.stdout) -> int:
    """Print the counts table, the conventions met and every failing design; exit code."""
    p = lambda *a: print(*a, file=out)  # noqa: E731
    table = counts(results)
    p(f"{'family':<20}" + "".join(f"{c:>12}" for c, _ in COLUMNS))
    for fam in [*sorted(k for k in table if k != "all"), "all"]:
        row = table[fam]
        cells = [sum(row.values())] + [row[s] for _, s in COLUMNS[1:]]
        p(f"{fam:<20}" + "".join(f"{v:>12}" for v in cells))
    p(f"run time {seconds:.0f} s ({seconds / max(len(results), 1):.2f} s a design, wall clock)")
    conventions = Counter(name for r in results
                          for name in {n for c in r["conventions"]
                                       for n in c.split(" | ")[0].split(",")})
    if conventions:
        p("documented conventions met (designs): " + ", ".join(
            f"{k} x{v}" for k, v in conventions.most_common()))
    for status in ("disagree", "raw_error", "timeout", "refused"):
        bad = [r for r in sorted(results, key=lambda r: r["i"]) if r["status"] == status]
        if bad:
            p(f"\n{status}: {len(bad)} designs")
        for r in bad[:40]:
            p(f"  case {r['i']} {r['family']}: {r['design']}")
            for d in r["details"][:3]:
                p(f"     - {d[:300]}")
    return 1 if any(table.get("all", Counter())[s] for s in FAILING) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crosscheck.campaign",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="number of designs (500)")
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per design (60)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help=f"comma-separated families ({','.join(FAMILIES)})")
    parser.add_argument("--out", type=Path,
                        default=Path(tempfile.gettempdir()) / "ipnstats-crosscheck.json",
                        help="JSON summary (default: $TMPDIR/ipnstats-crosscheck.json)")
    parser.add_argument("--replay", type=int, metavar="I",
                        help="run case I in this process and print its outcome")
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if args.replay is not None:
        print(json.dumps(run_case(args.seed, args.replay, families), indent=1))
        return 0
    results: list[dict] = []
    start = time.perf_counter()

    def on_result(r: dict) -> None:
        results.append(r)
        if len(results) % 50 == 0:
            print(f"  ... {len(results)}/{args.n} designs, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)

    pool = Pool(args.workers, args.seed, families, args.timeout)
    try:
        pool.run(list(range(args.n)), on_result)
    finally:
        pool.close()
    seconds = time.perf_counter() - start
    print(f"crosscheck: seed {args.seed}, {args.n} designs, families {', '.join(families)}, "
          f"{args.workers} worker(s), timeout {args.timeout:g} s")
    code = summarize(results, seconds)
    summary = {"seed": args.seed, "n": args.n, "families": families, "seconds": seconds,
               "counts": {k: dict(v) for k, v in counts(results).items()},
               "exit_code": code,
               "designs": sorted(results, key=lambda r: r["i"])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1, default=str))
    print(f"summary written to {args.out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
