import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"
SHARED = ROOT.parent / "shared" / "reference" / "data"


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
