import fcntl
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"

# Published reference cases (../shared/reference/data beside the checkout; CI clones it
# there). Another place: --reference-data=PATH or IPNSTATS_REFERENCE_DATA=PATH.
REFERENCE_ENV = "IPNSTATS_REFERENCE_DATA"
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "data"
MISSING_REFERENCE = "reference data not found at"
# A run that allows no skips (CI: .ci/run sets it): every skip is reported as a failure.
NO_SKIPS_ENV = "IPNSTATS_NO_SKIPS"


def pytest_addoption(parser):
    group = parser.getgroup("ipnstats")
    group.addoption("--reference-data", metavar="PATH", default=None,
                    help=f"folder of the published reference cases (default: ${REFERENCE_ENV}, "
                         f"else {DEFAULT_REFERENCE})")
    group.addoption("--no-skips", action="store_true", default=False,
                    help=f"report every skipped test as a failure (also {NO_SKIPS_ENV}=1)")


def reference_folder(config) -> Path:
    """--reference-data, else $IPNSTATS_REFERENCE_DATA, else ../shared/reference/data."""
    chosen = config.getoption("--reference-data") or os.environ.get(REFERENCE_ENV)
    return Path(chosen).expanduser().resolve() if chosen else DEFAULT_REFERENCE.resolve()


def no_skips(config) -> bool:
    return config.getoption("--no-skips") or os.environ.get(NO_SKIPS_ENV, "") not in ("", "0")


@pytest.fixture(scope="session")
def reference_data(pytestconfig) -> Path:
    """The folder of published reference cases; the test skips (and says where) when absent."""
    folder = reference_folder(pytestconfig)
    if not folder.is_dir():
        _skip_missing_reference(folder)
    return folder


def _skip_missing_reference(folder: Path) -> None:
    pytest.skip(f"{MISSING_REFERENCE} {folder} (set {REFERENCE_ENV} or --reference-data)")


_REFERENCE_SKIP_LINE = _skip_missing_reference.__code__.co_firstlineno


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_the_skip(report, config) -> None:
    if no_skips(config) and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (f"skipped in a run that allows no skips ({NO_SKIPS_ENV}=1 or "
                           f"--no-skips): {_skip_reason(report)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and MISSING_REFERENCE in _skip_reason(report):
        # one place for every such skip, so that `-ra` folds them into one line
        report.longrepr = (__file__, _REFERENCE_SKIP_LINE, _skip_reason(report))
    _fail_the_skip(report, item.config)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_the_skip(outcome.get_result(), collector.config)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    missing = [r for r in terminalreporter.stats.get("skipped", [])
               if MISSING_REFERENCE in _skip_reason(r)]
    if missing:
        terminalreporter.write_line(
            f"{MISSING_REFERENCE} {reference_folder(config)}: {len(missing)} tests skipped; "
            f"set {REFERENCE_ENV}=PATH (or --reference-data=PATH)", yellow=True, bold=True)


@pytest.fixture
def hand_study(tmp_path):
    from studies import write_study

    return write_study(tmp_path / "study")


@pytest.fixture(scope="session")
def study():
    """The bundled example study, loaded once (modules may define their own ``study``)."""
    import ipnstats

    return ipnstats.load_study(EXAMPLE)


@pytest.fixture(scope="session")
def truth():
    """The example study's truth.toml."""
    import tomllib

    return tomllib.loads((EXAMPLE / "truth.toml").read_text())


@pytest.fixture(scope="session")
def dask_cluster():
    """A Dask LocalCluster with two worker processes (one thread each) and its client."""
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def pg_url():
    """URL (password included) of a PostgreSQL server started for the session (tests/pg.py)."""
    from pg import PgServer, PostgresMissing

    try:
        server = PgServer()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    with server:
        yield server.url


def shared_build(tmp_path_factory, name: str, build):
    """``build(folder)`` run once per test run, its (JSON) value returned to every caller:
    under pytest-xdist the first worker that needs it builds it in the run's shared
    temporary folder ``name`` (under a lock) and the others wait for it and read it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / name  # this run's, shared
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "value.json"
        if done.exists():
            return json.loads(done.read_text())
        shared.mkdir(exist_ok=True)
        value = build(shared)
        done.write_text(json.dumps(value))
        return value


@pytest.fixture(scope="session")
def _example_runs(tmp_path_factory) -> list[dict]:
    """Two runs (``ipnstats run`` + ``report``) of the repository's configuration on
    data/example, each from scratch in a copy of the repository's layout (tests/runs.py):
    ``[{"out": output folder, "files": the files the report wrote}, ...]``, built once
    per test run (:func:`shared_build`) for every test that only reads them; a test that
    changes the study or the configuration makes its own run."""
    from runs import full_run

    def build(folder):
        return [{"out": str(out), "files": [str(p) for p in files]}
                for out, files in (full_run(folder / "run-a"), full_run(folder / "run-b"))]

    return shared_build(tmp_path_factory, "example-runs", build)


@pytest.fixture(scope="session")
def example_runs(_example_runs) -> tuple[Path, Path]:
    """The output folders of the two shared runs of the example (:func:`_example_runs`)."""
    return tuple(Path(r["out"]) for r in _example_runs)


@pytest.fixture(scope="session")
def written(_example_runs) -> tuple[Path, Path, list[Path], list[Path]]:
    """The example's study report, written twice (``(a, b, a_files, b_files)``: the output
    folders and the files ``ipnstats report`` wrote, PDF and HTML first): the shared runs
    of :func:`_example_runs`, read by tests/report/test_study_report.py and
    test_report_text.py."""
    (a, b) = (Path(r["out"]) for r in _example_runs)
    first, second = ([Path(p) for p in r["files"]] for r in _example_runs)
    return a, b, first, second


def covers_truth(row, value, level: float = 0.999) -> bool:
    """Whether one draw's estimate (a row with ``conf_low``/``conf_high``, a 95% interval)
    agrees with its true ``value``: the interval widened to ``level`` covers it.

    The example study is one draw: each 95% interval misses its truth one time in
    twenty, and the report tests check about sixty of them, so a test demanding that
    every one cover would fail by chance on most seeds (and choosing a seed that passes
    it is not allowed). At 99.9% a miss is a one-in-a-thousand event that points to a
    bug; that the 95% intervals cover at their nominal rate is shown over hundreds of
    draws by the simulation tests (``tests/*/test_*_simulation.py``).
    """
    from scipy.stats import norm

    low, high = float(row["conf_low"]), float(row["conf_high"])
    centre, half = (low + high) / 2, (high - low) / 2
    return abs(value - centre) <= half * norm.ppf(0.5 + level / 2) / norm.ppf(0.975)


#: The longest test files (minutes on two cores), run first: ``make test`` hands whole
#: files to its two workers (pytest-xdist ``--dist loadfile``), and a long file started
#: last would leave one worker idle while the other finishes it.
SLOW_FIRST = (
    "tests/pipeline/test_pipeline.py", "tests/test_readme.py",
    "tests/ipn/test_h3_simulation.py", "tests/ipn/test_h2_simulation.py",
    "tests/estimators/test_did_simulation.py",
    "tests/pipeline/test_make_config.py", "tests/planning/test_power.py",
    "tests/data/test_fuzz_contract.py", "tests/test_benchmarks.py",
    "tests/cli/test_cli.py", "tests/report/test_missing_tables.py",
    "tests/ipn/test_measurement.py", "tests/ipn/test_missing_survey.py",
    "tests/ipn/test_selection_simulation.py",
)
# tests/report/test_study_report.py and test_report_text.py read the example's two runs
# that test_pipeline.py (first) builds (``_example_runs``, shared between workers): they
# run late, when the runs exist, rather than wait for them.


def pytest_collection_modifyitems(session, config, items):
    """Put the tests of :data:`SLOW_FIRST` first, in that order (the rest keep theirs)."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}

    def key(item) -> int:
        path = Path(str(item.fspath)).resolve()
        try:
            name = path.relative_to(ROOT).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=key)
