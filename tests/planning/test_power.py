"""Monte-Carlo power: against the closed form, size at a zero effect, reproducibility on
every backend (joblib workers, a two-worker Dask LocalCluster), designs, configuration."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import ipnstats
from ipnstats.cli import main
from ipnstats.core.parallel import BackendError, run_tasks, spawn_seeds
from ipnstats.ipn.designs import H1Design, H2Design, H3Design
from ipnstats.pipeline.power import PowerConfigError, load_power_config
from ipnstats.planning import TwoGroupDesign, clopper_pearson
from ipnstats.planning.power import crossing


def _within_mc_error(simulated: float, exact: float, reps: int, z: float = 4.0) -> bool:
    return abs(simulated - exact) <= z * np.sqrt(exact * (1 - exact) / reps) + 1e-12


@pytest.fixture(scope="module")
def two_group():
    design = TwoGroupDesign(n_per_group=25, sd=2.0)
    res = ipnstats.power(design, effect_sizes=[0.0, 0.8, 1.6, 2.4], reps=3000, seed=11)
    return design, res


def test_power_matches_the_noncentral_t_closed_form(two_group):
    design, res = two_group
    t = res.tidy()
    exact = [design.analytic_power(e) for e in t["effect_size"]]
    assert exact[1] == pytest.approx(0.2, abs=0.1) and exact[3] > 0.9  # an informative range
    for sim, ex in zip(t["power"], exact, strict=True):
        assert _within_mc_error(sim, ex, 3000), (sim, ex)
    # the Monte-Carlo intervals cover the exact power
    assert ((t["conf_low"] <= exact) & (exact <= t["conf_high"])).all()


def test_zero_effect_gives_power_close_to_alpha(two_group):
    _, res = two_group
    zero = res.tidy().iloc[0]
    assert _within_mc_error(zero["power"], 0.05, 3000)
    assert zero["conf_low"] <= 0.05 <= zero["conf_high"]


def test_one_sided_power_matches_its_closed_form():
    design = TwoGroupDesign(n_per_group=20)
    res = ipnstats.power(design, effect_sizes=[0.0, 0.6], reps=2000, seed=3,
                         alternative="greater")
    sim = res.tidy()["power"].to_numpy()
    for s, e in zip(sim, [0.0, 0.6], strict=True):
        assert _within_mc_error(s, design.analytic_power(e, alternative="greater"), 2000)


def test_mde_reads_the_curve_where_it_crosses_the_target(two_group):
    design, res = two_group
    # exact MDE of this design: solve analytic_power(d) = 0.8
    grid = np.linspace(0, 3, 3001)
    exact = grid[np.argmax([design.analytic_power(d) >= 0.8 for d in grid])]
    assert res.mde() == pytest.approx(exact, abs=0.15)  # linear interpolation on a coarse grid
    assert res.mde_normal() == pytest.approx(exact, abs=0.15)
    g = res.glance().iloc[0]
    assert g["mde"] == res.mde() and g["reps"] == 3000 and g["seed"] == 11


def test_normal_mde_uses_the_one_sided_quantile_when_the_test_is_one_sided():
    from scipy import stats

    design = TwoGroupDesign(n_per_group=20)
    for alternative, tail in (("two-sided", 0.025), ("greater", 0.05), ("less", 0.05)):
        res = ipnstats.power(design, effect_sizes=[0.0, 0.5], reps=50, seed=4,
                             alternative=alternative)
        d = res.draws
        se = d.loc[d["effect_size"] == 0.0, "std_error"].median()
        expected = (stats.norm.isf(tail) + stats.norm.ppf(0.8)) * se
        assert res.mde_normal() == pytest.approx(expected, rel=1e-12)
        assert res.mde_normal() > 0  # a magnitude, also for "less"


def test_crossing_is_nan_when_the_target_is_not_reached():
    import pandas as pd

    t = pd.DataFrame({"effect_size": [0.0, 0.1], "power": [0.05, 0.5]})
    assert np.isnan(crossing(t, 0.8))
    assert crossing(t.assign(power=[0.05, 0.85]), 0.8) == pytest.approx(0.1 * 0.75 / 0.8)


def test_clopper_pearson_is_the_exact_binomial_interval():
    from scipy import stats

    low, high = clopper_pearson(7, 50)
    ci = stats.binomtest(7, 50).proportion_ci(method="exact")
    assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_results_do_not_depend_on_workers_and_extend_with_reps():
    design = TwoGroupDesign(n_per_group=10)
    one = ipnstats.power(design, effect_sizes=[0.0, 1.0], reps=40, seed=5)
    two = ipnstats.power(design, effect_sizes=[0.0, 1.0], reps=40, seed=5, n_jobs=2)
    assert one.draws.equals(two.draws)
    more = ipnstats.power(design, effect_sizes=[0.0, 1.0], reps=60, seed=5)
    first = more.draws[more.draws["rep"] < 40].reset_index(drop=True)
    assert first.equals(one.draws)
    other = ipnstats.power(design, effect_sizes=[0.0, 1.0], reps=40, seed=6)
    assert not other.draws["estimate"].equals(one.draws["estimate"])


def test_progress_is_reported_up_to_the_total():
    seen = []
    ipnstats.power(TwoGroupDesign(n_per_group=5), effect_sizes=[0.0, 1.0], reps=10, seed=0,
                   progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (20, 20) and all(b == 20 for _, b in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bad_options_are_reported_together():
    with pytest.raises(ValueError) as err:
        ipnstats.power(TwoGroupDesign(), effect_sizes=[], reps=1, alpha=2.0, seed=-1)
    msg = str(err.value)
    for part in ("effect_sizes", "reps", "alpha", "seed"):
        assert part in msg
    with pytest.raises(ValueError, match="design must be a design"):
        ipnstats.power(object(), effect_sizes=[0.1], reps=10)


def test_failed_fits_are_counted_not_hidden():
    class Fragile(TwoGroupDesign):
        def test(self, data):
            if data["y"].iloc[0] > 0:
                raise np.linalg.LinAlgError("singular matrix")
            return super().test(data)

    res = ipnstats.power(Fragile(n_per_group=8), effect_sizes=[0.0], reps=60, seed=1)
    t = res.tidy().iloc[0]
    assert 0 < t["failed"] < 60 and t["reps"] == 60 - t["failed"]
    assert "could not be fitted" in res.notes[0] and "singular matrix" in res.notes[0]


# --- the H1-H3 designs -----------------------------------------------------------------------

@pytest.mark.parametrize("design, effect, expected", [
    (H1Design(), 0.08, 0.08),
    (H1Design(estimator="twfe", cluster="firm"), 0.08, 0.08),
    (H2Design(), 0.5, 0.5),
    (H2Design(parameter="moderation"), 0.3, 0.3),
    (H3Design(), 0.5, 0.5),  # per point of risk aversion; the study's estimate is per SD
    (H3Design(parameter="learning_curve"), -0.1, -0.1),
])
def test_each_design_recovers_its_effect(design, effect, expected):
    res = ipnstats.power(design, effect_sizes=[effect], reps=6, seed=2, n_jobs=2)
    t = res.tidy().iloc[0]
    assert t["failed"] == 0
    # mean of 6 estimates within 4 Monte-Carlo SEs of the truth (SD of risk aversion ~1)
    assert abs(t["mean_estimate"] - expected) < 4 * t["sd_estimate"] / np.sqrt(6) + 0.1 * abs(
        expected)
    assert t["power"] > 0.5


def test_h1_size_under_a_zero_effect():
    design = H1Design(n_firms=200, n_groups=8, group_size=15)
    res = ipnstats.power(design, effect_sizes=[0.0], reps=150, seed=4, n_jobs=2)
    t = res.tidy().iloc[0]
    assert t["conf_low"] <= 0.10 and t["power"] <= 0.13  # near alpha; 8 clusters over-reject
    assert abs(t["mean_estimate"]) < 3 * t["sd_estimate"] / np.sqrt(150)


def test_h1_power_grows_with_the_effect():
    design = H1Design(n_firms=200, n_groups=6, group_size=20)
    res = ipnstats.power(design, effect_sizes=[0.0, 0.05, 0.15], reps=30, seed=9, n_jobs=2)
    p = res.tidy()["power"].to_numpy()
    assert p[0] < p[1] < p[2] or p[2] == 1.0 and p[0] < p[2]


def test_designs_refuse_impossible_settings():
    with pytest.raises(ValueError, match="cohorts"):
        H1Design(cohorts=(2030,))
    with pytest.raises(ValueError, match="at least n_groups x group_size = 300"):
        H1Design(n_firms=200)
    with pytest.raises(ValueError, match="framing_shares"):
        H2Design(framing_shares=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="parameter"):
        H3Design(parameter="traits")


# --- Dask ------------------------------------------------------------------------------------

def test_dask_run_equals_the_local_run_exactly(dask_cluster, capsys):
    cluster, client = dask_cluster
    design = H1Design(n_firms=160, n_groups=6, group_size=20)
    kw = dict(effect_sizes=[0.0, 0.1], reps=16, seed=21)
    local = ipnstats.power(design, **kw)
    client.run(_warm_up)  # imports on every worker, so the times compare the work alone
    start = time.perf_counter()
    on_two = ipnstats.power(design, **kw, backend="dask", scheduler=client)
    two_s = time.perf_counter() - start
    assert on_two.draws.equals(local.draws)  # bit for bit
    assert on_two.glance().iloc[0]["n_workers"] == 2
    # the scheduler's address works as well as the client, and a one-worker cluster gives
    # the same numbers again
    by_address = ipnstats.power(design, **kw, backend="dask", scheduler=cluster.scheduler_address)
    assert by_address.draws.equals(local.draws)
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as one_cluster, \
            distributed.Client(one_cluster) as one_client:
        one_client.run(_warm_up)
        start = time.perf_counter()
        on_one = ipnstats.power(design, **kw, backend="dask", scheduler=one_client)
        one_s = time.perf_counter() - start
    assert on_one.draws.equals(local.draws)
    with capsys.disabled():
        print(f"\n[dask power] {len(local.draws)} H1 replicates: 1 worker {one_s:.2f} s, "
              f"2 workers {two_s:.2f} s (ratio {two_s / one_s:.2f})")


def test_dask_progress_and_errors(dask_cluster):
    _, client = dask_cluster
    seen = []
    out = run_tasks(_square, [(i,) for i in range(9)], backend="dask", scheduler=client,
                    chunk_size=2, progress=seen.append)
    assert out == [i * i for i in range(9)] and seen[-1] == 9
    with pytest.raises(BackendError, match="scheduler must be"):
        run_tasks(_square, [(1,)], backend="dask", scheduler=42)


def _warm_up():
    import ipnstats.estimators.did.estimate  # noqa: F401
    import ipnstats.planning  # noqa: F401


def _square(i):
    return i * i


def test_backend_options_are_checked():
    with pytest.raises(BackendError, match="backend must be"):
        run_tasks(_square, [(1,)], backend="spark")
    with pytest.raises(BackendError, match="Dask option"):
        run_tasks(_square, [(1,)], scheduler="tcp://localhost:1")
    with pytest.raises(BackendError, match="n_jobs"):
        run_tasks(_square, [(1,)], n_jobs=0)


def test_spawned_streams_depend_on_seed_and_index_only():
    a = [s.generate_state(2).tolist() for s in spawn_seeds(7, 3)]
    b = [s.generate_state(2).tolist() for s in spawn_seeds(7, 5)][:3]
    assert a == b and a[0] != a[1]


# --- configuration and command line ------------------------------------------------------------

CONFIG = """
[design]
hypothesis = "two_group"
n_per_group = 20

[power]
effect_sizes = [0.0, 0.5, 1.0]
reps = 40
seed = 8

[run]
n_jobs = 1
progress = "never"

[output]
dir = "out"
"""


def test_power_command_writes_table_json_and_curve(tmp_path, capsys):
    cfg = tmp_path / "power.toml"
    cfg.write_text(CONFIG)
    assert main(["power", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "Minimum detectable effect" in out
    for name in ("power.csv", "power.md", "power.json", "power_curve.pdf", "power_curve.png",
                 "power_curve.svg"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    body = json.loads((tmp_path / "out" / "power.json").read_text())
    assert [r["effect_size"] for r in body["power"]] == [0.0, 0.5, 1.0]
    assert body["design"] == {"n_per_group": 20, "sd": 1.0}
    direct = ipnstats.power(TwoGroupDesign(n_per_group=20), effect_sizes=[0.0, 0.5, 1.0],
                            reps=40, seed=8)
    assert [r["power"] for r in body["power"]] == direct.tidy()["power"].tolist()


def test_power_configuration_problems_are_listed_at_once(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[design]\nhypothesis = "h1"\ngroups = 3\nn_years = "ten"\n'
                   '[power]\nreps = 1\nalpha = 5\n[run]\nbackend = "spark"\n[extra]\n')
    with pytest.raises(PowerConfigError) as err:
        load_power_config(cfg)
    msg = str(err.value)
    for part in ("unknown section [extra]", "unknown key 'groups'", "n_years must be int",
                 "effect_sizes is required", "reps must be at least 2", "alpha must be",
                 "backend must be"):
        assert part in msg, part
    assert main(["power", str(cfg)]) == 1
    err_out = capsys.readouterr().err
    assert "Traceback" not in err_out and "unknown key 'groups'" in err_out
