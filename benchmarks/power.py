"""Power benchmark: one Monte-Carlo power run on a Dask LocalCluster with 1 and 2 workers,
and locally on joblib with 1 and 2 workers; the numbers must be identical.

Run ``python benchmarks/power.py`` (part of ``make bench``); ``--help`` lists the options.
The design is the H1 default (15 peer groups of 20 firms, 10 years, Callaway-Sant'Anna
clustered by group): what a researcher planning an IPN study runs. Each configuration
is timed ``--reps`` times after a warm-up (imports on every worker), alternating, and the
medians are compared. Results go to ``benchmarks/results.json`` under ``"power"``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from harness import machine, merge_results, now

HERE = Path(__file__).resolve().parent


def _warm_up():
    import ipnstats.estimators.did.estimate  # noqa: F401
    import ipnstats.planning  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100,
                        help="replicates per effect size (100; 5 effect sizes)")
    parser.add_argument("--reps", type=int, default=3, help="timed runs per configuration (3)")
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    import ipnstats
    from ipnstats.ipn.designs import H1Design

    design = H1Design()
    kw = dict(effect_sizes=[0.0, 0.02, 0.04, 0.06, 0.08], reps=args.replicates, seed=7)
    n_fits = 5 * args.replicates
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=50)
    client = Client(cluster)
    runs: dict[str, list[float]] = {}
    reference = None
    try:
        client.run(_warm_up)
        ipnstats.power(design, **{**kw, "reps": 2}, n_jobs=2)  # start joblib's workers
        setups = {"local, 1 worker": dict(n_jobs=1), "local, 2 workers": dict(n_jobs=2),
                  "dask, 2 workers": dict(backend="dask", scheduler=client)}
        for rep in range(args.reps):
            for name, options in setups.items():
                start = time.perf_counter()
                res = ipnstats.power(design, **kw, **options)
                runs.setdefault(name, []).append(time.perf_counter() - start)
                reference = _same(reference, res, name)
                print(f"  {name} run {rep + 1}: {runs[name][-1]:.2f} s", file=sys.stderr)
    finally:
        client.close()
        cluster.close()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50) as one, Client(one) as client:
        client.run(_warm_up)
        for _rep in range(args.reps):
            start = time.perf_counter()
            res = ipnstats.power(design, **kw, backend="dask", scheduler=client)
            runs.setdefault("dask, 1 worker", []).append(time.perf_counter() - start)
            reference = _same(reference, res, "dask, 1 worker")

    med = {name: statistics.median(t) for name, t in runs.items()}
    dask_ratio = med["dask, 2 workers"] / med["dask, 1 worker"]
    local_ratio = med["local, 2 workers"] / med["local, 1 worker"]
    print(f"power, H1 design, {n_fits} Callaway-Sant'Anna fits: Dask 2 workers "
          f"{med['dask, 2 workers']:.2f} s vs 1 worker {med['dask, 1 worker']:.2f} s "
          f"(ratio {dask_ratio:.2f}); joblib 2 workers {med['local, 2 workers']:.2f} s vs "
          f"1 worker {med['local, 1 worker']:.2f} s (ratio {local_ratio:.2f}); "
          f"identical numbers on every backend")
    merge_results(args.results, "power", {f"h1/fits={n_fits}": {
        "medians_seconds": med, "runs_seconds": runs, "dask_2_vs_1": dask_ratio,
        "local_2_vs_1": local_ratio, "identical": True, "when": now(),
        "machine": machine()}})
    return 0


def _same(reference, res, name):
    if reference is not None and not res.draws.equals(reference.draws):
        raise SystemExit(f"power on {name} differs from the first run: not reproducible")
    return res if reference is None else reference


if __name__ == "__main__":
    sys.exit(main())
