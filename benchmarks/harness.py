"""Reusable pieces for the benchmarks: fresh-process jobs, medians, result lines, results.json.

A benchmark compares an ipnstats job with a "peer" job (what a user would otherwise
run). Each job is a Python snippet run in its own fresh interpreter, so that its peak
memory is its own: the child times the measured section itself (``time.perf_counter``
around the work only, imports excluded) and reports its own peak RSS (``VmHWM``).

Example::

    from harness import Job, compare, format_line

    ours = Job("load", setup="import ipnstats", work="rows = len(ipnstats.load_study(F).firm_year)")
    peer = Job("read_csv", setup="import pandas as pd", work="rows = len(pd.read_csv(P))")
    summary = compare(ours, peer, reps=3)
    print(format_line("case", summary, time_target=3.0, memory_target=2.5))
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

MARKER = "@@benchmark-result@@"

CHILD_TEMPLATE = """\
import json, resource, sys, time
_t0 = time.perf_counter()


def _peak_kib():
    # VmHWM is this process's own peak RSS. ru_maxrss is not on Linux: execve carries the
    # parent's high-water mark over (subprocess uses vfork), so a child started by a big
    # parent would report the parent's peak.
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
    except (OSError, StopIteration):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss // 1024 if sys.platform == "darwin" else maxrss


def _rss_kib():
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def _reset_peak():
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so that the
    # peak is the work's own: what the setup held and freed (data generation) is not in it.
    import gc
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


{setup}
_rss_setup = _peak_kib()
_peak_reset = {reset_peak} and _reset_peak()
_rss_start = _rss_kib()
_t1 = time.perf_counter()
{work}
_t2 = time.perf_counter()
_out = {{"seconds": _t2 - _t1, "setup_seconds": _t1 - _t0, "peak_rss_kib": _peak_kib(),
        "setup_rss_kib": _rss_setup, "start_rss_kib": _rss_start, "peak_reset": _peak_reset,
        "value": {result}}}
sys.stdout.flush()
print({marker!r} + json.dumps(_out), flush=True)
"""


class JobFailed(RuntimeError):
    """A benchmark job's subprocess exited with an error or printed no result."""


@dataclass(frozen=True)
class Job:
    """A snippet to run in a fresh interpreter.

    ``setup`` (imports, untimed) runs first, then ``work`` (the measured section),
    then ``result`` -- an expression giving a JSON-serialisable value that the parent
    can check (e.g. a row count). ``env`` entries are added to the child's environment.
    With ``reset_peak`` the peak-RSS mark is reset between setup and work (where
    ``/proc/self/clear_refs`` allows it), so that the reported peak is the memory held
    at the start of the work plus the work's own high-water mark, not a transient peak
    of the setup (e.g. while it generated the data).
    """

    name: str
    setup: str
    work: str
    result: str = "None"
    env: dict[str, str] = field(default_factory=dict)
    reset_peak: bool = False

    def script(self) -> str:
        """The complete child program."""
        return CHILD_TEMPLATE.format(setup=textwrap.dedent(self.setup).strip(),
                                     work=textwrap.dedent(self.work).strip(),
                                     result=self.result, marker=MARKER,
                                     reset_peak=bool(self.reset_peak))


@dataclass(frozen=True)
class Run:
    """One run of a job: measured seconds, peak RSS (bytes), and what the job returned."""

    seconds: float
    process_seconds: float  # wall time of the whole subprocess (start, imports, exit)
    setup_seconds: float
    peak_rss: int
    setup_rss: int
    value: object
    start_rss: int = 0  # RSS when the work started
    peak_reset: bool = False  # whether the peak mark was reset after the setup


def run_job(job: Job, *, python: str = sys.executable, cwd: str | Path | None = None,
            timeout: float | None = None) -> Run:
    """Run ``job`` in a fresh interpreter and return its :class:`Run`.

    Peak memory is read by the child itself: ``VmHWM`` of ``/proc/self/status`` (its own
    high-water RSS; never mixed up with the parent's or earlier children's), falling back
    to ``ru_maxrss`` where there is no ``/proc``.
    """
    env = {**os.environ, **job.env}
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", job.script()], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)
    process_seconds = time.perf_counter() - start
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise JobFailed(f"job {job.name!r} failed (exit {proc.returncode}):\n"
                        f"{proc.stderr[-4000:]}{proc.stdout[-2000:]}")
    out = json.loads(line[len(MARKER):])
    return Run(out["seconds"], process_seconds, out["setup_seconds"],
               out["peak_rss_kib"] * 1024, out["setup_rss_kib"] * 1024, out["value"],
               out["start_rss_kib"] * 1024, out["peak_reset"])


def alternate(jobs: list[Job], reps: int, *, progress=None, **kwargs) -> dict[str, list[Run]]:
    """Run the jobs in turn (a, b, a, b, ...) ``reps`` times; runs by job name.

    Alternating spreads drift (page cache, thermal, other load) evenly over the jobs.
    ``progress`` (optional) is called with (job name, rep, run) after each run.
    """
    runs: dict[str, list[Run]] = {job.name: [] for job in jobs}
    for rep in range(reps):
        for job in jobs:
            run = run_job(job, **kwargs)
            runs[job.name].append(run)
            if progress is not None:
                progress(job.name, rep, run)
    return runs


def summarise(runs: list[Run]) -> dict:
    """Medians of a job's runs (seconds, process seconds, peak RSS) plus the raw runs."""
    return {
        "seconds": statistics.median(r.seconds for r in runs),
        "process_seconds": statistics.median(r.process_seconds for r in runs),
        "setup_seconds": statistics.median(r.setup_seconds for r in runs),
        "peak_rss": int(statistics.median(r.peak_rss for r in runs)),
        "setup_rss": int(statistics.median(r.setup_rss for r in runs)),
        "values": [json.loads(v) for v in sorted({json.dumps(r.value) for r in runs})],
        "runs": [r.__dict__ for r in runs],
    }


def compare(ours: Job, peer: Job, reps: int, **kwargs) -> dict:
    """Alternate ``ours`` and ``peer``; medians of each and the ours/peer ratios."""
    runs = alternate([ours, peer], reps, **kwargs)
    return pair_summary(runs, ours.name, peer.name)


def pair_summary(runs: dict[str, list[Run]], ours: str, peer: str) -> dict:
    """Medians of jobs ``ours`` and ``peer`` among ``runs`` (from :func:`alternate`) and the
    ours/peer ratios; with several peers alternated together, one summary per peer."""
    a, b = summarise(runs[ours]), summarise(runs[peer])
    return {"ours": {"job": ours, **a}, "peer": {"job": peer, **b},
            "time_ratio": a["seconds"] / b["seconds"],
            "memory_ratio": a["peak_rss"] / b["peak_rss"],
            "reps": min(len(runs[ours]), len(runs[peer]))}


def verdict(ratio: float, target: float) -> str:
    """PASS when ``ratio`` is at most ``target``, else MISS."""
    return "PASS" if ratio <= target else "MISS"


def gib(n_bytes: float) -> str:
    """Bytes as a short human string (MiB below 1 GiB)."""
    return f"{n_bytes / 2**30:.2f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


def format_line(case: str, summary: dict, *, time_target: float,
                memory_target: float | None, peer_label: str = "peer") -> str:
    """One result line: times, time ratio, peak memories, memory ratio, targets and verdicts.

    ``memory_target=None``: the memory ratio is shown without a target or verdict.
    ``peer_label`` names the peer in the line (default ``"peer"``).
    """
    ours, peer = summary["ours"], summary["peer"]
    t, m = summary["time_ratio"], summary["memory_ratio"]
    memory = ("" if memory_target is None
              else f" (target <= {memory_target:g}: {verdict(m, memory_target)})")
    return (f"{case}: ipnstats {seconds(ours['seconds'])}, {peer_label} "
            f"{seconds(peer['seconds'])}, "
            f"ratio {ratio(t)} (target <= {time_target:g}: {verdict(t, time_target)}); "
            f"peak memory ipnstats {gib(ours['peak_rss'])}, {peer_label} "
            f"{gib(peer['peak_rss'])}, ratio {ratio(m)}{memory}")


def ratio(r: float) -> str:
    """A ratio with two decimals, two significant digits below 0.1."""
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def seconds(s: float) -> str:
    """Seconds with two decimals, three significant digits below 0.1 s."""
    return f"{s:.2f} s" if s >= 0.1 else f"{s:.3g} s"


def machine() -> dict:
    """Where the numbers were taken."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def merge_results(path: str | Path, benchmark: str, cases: dict, **extra) -> dict:
    """Merge ``cases`` into ``path`` under ``benchmark`` (other benchmarks' keys are kept).

    Cases are merged by name, so runs at another size do not erase earlier ones; each
    case should carry its own timestamp. The file is replaced atomically.
    """
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    entry = data.setdefault(benchmark, {})
    entry.setdefault("cases", {}).update(cases)
    entry.update(extra, updated=now())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private
    os.replace(tmp, path)
    return data


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
