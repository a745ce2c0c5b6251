"""Run independent tasks locally (joblib) or on a Dask cluster, with identical results.

Monte-Carlo power, specification curves and other embarrassingly parallel jobs hand
:func:`run_tasks` a top-level function and a list of argument tuples. Results come back
in task order, whatever the backend, the number of workers or the order in which tasks
finish. Randomness never comes from a worker's state: a task that draws gets its own
stream from :func:`spawn_seeds` (``numpy.random.SeedSequence.spawn``), so task ``i``
draws the same numbers on any machine. Each task runs with one BLAS thread, so sums
are taken in the same order everywhere and the numbers agree to the last bit.

Backends
--------
``"local"``
    ``n_jobs=1`` runs the tasks in this process; more workers use joblib (loky
    processes). ``n_jobs=-1`` uses every core.
``"dask"``
    ``scheduler="tcp://host:port"`` connects to a running ``dask.distributed``
    scheduler (the client is closed afterwards); a ``dask.distributed.Client`` is used
    as it is and left open. Without ``scheduler`` the current client
    (``distributed.get_client()``) is used. Dask is an optional dependency:
    ``pip install ipnstats[dask]``. The workers need ipnstats installed.

Examples
--------
>>> from ipnstats.core.parallel import run_tasks, spawn_seeds
>>> def draw(mean, seed):
...     return float(np.random.default_rng(seed).normal(mean))
>>> tasks = [(m, s) for m, s in zip([0.0, 10.0], spawn_seeds(1, 2))]
>>> run_tasks(draw, tasks) == run_tasks(draw, tasks, n_jobs=2)  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import numpy as np

from ipnstats.core.errors import ConfigError
from ipnstats.core.seeds import seed_sequence

Backend = Literal["local", "dask"]
BACKENDS = ("local", "dask")


class BackendError(ConfigError):
    """A backend option that cannot be used (unknown name, Dask missing, no scheduler)."""


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child streams of ``seed`` (``SeedSequence(seed).spawn(n)``).

    The children depend only on ``seed`` and their index: child ``i`` is the same
    whether 10 or 10,000 are spawned, so adding repetitions keeps the earlier ones.
    """
    return seed_sequence(seed).spawn(n)


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """One BLAS thread inside the block.

    The products of tall matrices (n x k with small k: Gram matrices, scores,
    influence functions) and the small matrices of mixed-model optimisation are memory
    bound and gain little from threads, while on an oversubscribed machine a threaded
    call can stall for seconds waiting for a descheduled BLAS thread (measured on 2
    busy vCPUs: median 4 ms, worst 3 s; 5-10x slower mixed-model fits). Without
    threadpoolctl (optional: only speed depends on it) the block runs unchanged.
    """
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller():
    """The BLAS libraries loaded (found once: a search costs about 0.3 ms), or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def run_tasks(fn: Callable, tasks: Sequence[tuple], *, backend: Backend = "local",
              n_jobs: int = 1, scheduler: object = None, chunk_size: int | None = None,
              progress: Callable[[int], None] | None = None) -> list:
    """``[fn(*task) for task in tasks]``, computed in parallel, in task order.

    Parameters
    ----------
    fn
        A module-level function (it is pickled for the workers).
    tasks
        Argument tuples, one per task.
    backend
        ``"local"`` (joblib) or ``"dask"``; see the module notes.
    n_jobs
        Local workers (``1``: in this process; ``-1``: all cores). Ignored by Dask,
        which uses the cluster's workers.
    scheduler
        Dask only: ``"tcp://host:port"`` or a ``dask.distributed.Client``.
    chunk_size
        Tasks per unit of work sent to a worker (default: about four units per
        worker). It changes the overhead, never the results.
    progress
        Called with the number of tasks finished so far, after each unit of work.

    Returns
    -------
    list
        One result per task, in the order of ``tasks``.
    """
    if backend not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; "
                           f"got {backend!r}")
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise BackendError(f"n_jobs must be a non-zero integer, got {n_jobs!r}")
    tasks = list(tasks)
    if not tasks:
        return []
    if backend == "dask":
        return _run_dask(fn, tasks, scheduler, chunk_size, progress)
    if scheduler is not None:
        raise BackendError("scheduler= is a Dask option; use backend='dask' with it")
    workers = (os.cpu_count() or 1) if n_jobs < 0 else int(n_jobs)
    chunks = _chunks(len(tasks), chunk_size or _default_chunk(len(tasks), workers))
    if workers == 1:
        parts = (run_chunk(fn, tasks[a:b]) for a, b in chunks)
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=workers, return_as="generator")(
            delayed(run_chunk)(fn, tasks[a:b]) for a, b in chunks)
    return _collect(parts, chunks, progress)


def run_chunk(fn: Callable, tasks: Sequence[tuple]) -> list:
    """Run a unit of work with one BLAS thread (the same sums on every machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return [fn(*task) for task in tasks]


def _collect(parts: Iterator[list], chunks: list[tuple[int, int]],
             progress: Callable[[int], None] | None) -> list:
    out, done = [], 0
    for (a, b), part in zip(chunks, parts, strict=True):
        out.extend(part)
        done += b - a
        if progress is not None:
            progress(done)
    return out


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    size = max(1, int(size))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _default_chunk(n_tasks: int, workers: int) -> int:
    return max(1, math.ceil(n_tasks / (4 * max(workers, 1))))


def dask_client(scheduler: object = None) -> tuple[object, bool]:
    """The Dask client to use and whether this call created it (and must close it)."""
    try:
        from dask.distributed import Client, get_client
    except ImportError as err:
        raise BackendError("backend='dask' needs dask.distributed: "
                           "pip install 'ipnstats[dask]'") from err
    if isinstance(scheduler, Client):
        return scheduler, False
    if scheduler is None:
        try:
            return get_client(), False
        except ValueError as err:
            raise BackendError("backend='dask' needs scheduler='tcp://host:port' or a "
                               "dask.distributed.Client (none is running)") from err
    if not isinstance(scheduler, str):
        raise BackendError(f"scheduler must be an address such as 'tcp://host:8786' or a "
                           f"dask.distributed.Client, got {type(scheduler).__name__}")
    try:
        return Client(scheduler, timeout="20s"), True
    except OSError as err:
        raise BackendError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}") from err


def dask_workers(client) -> int:
    """Number of workers the client's cluster has now."""
    return len(client.scheduler_info().get("workers", {}))


def _run_dask(fn, tasks, scheduler, chunk_size, progress) -> list:
    from dask.distributed import as_completed

    client, owned = dask_client(scheduler)
    try:
        size = chunk_size or _default_chunk(len(tasks), max(dask_workers(client), 1))
        chunks = _chunks(len(tasks), size)
        futures = [client.submit(run_chunk, fn, tasks[a:b], pure=False) for a, b in chunks]
        if progress is not None:
            done = 0
            index = {f.key: b - a for f, (a, b) in zip(futures, chunks, strict=True)}
            for future in as_completed(futures):
                done += index[future.key]
                progress(done)
        parts = client.gather(futures)
    finally:
        if owned:
            client.close()
    return [result for part in parts for result in part]


__all__ = ["BACKENDS", "Backend", "BackendError", "dask_client", "dask_workers", "run_chunk",
           "run_tasks", "single_threaded_blas", "spawn_seeds"]
