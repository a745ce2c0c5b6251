"""A throwaway PostgreSQL server for the tests, in a temporary directory.

``PgServer`` runs ``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` package as an
unprivileged user (the server refuses to run as root: as root it uses the ``postgres``
system user, creating one with ``useradd`` when there is none), listens on 127.0.0.1 on
a free port and on a Unix socket in the temporary directory, asks every client for a
password (scram-sha-256), and holds one test role with a password that owns a database
``ipn``. ``stop()`` (also at interpreter exit, as a safety net) stops the server with
``pg_ctl stop -m fast`` and removes the directory: no server is left running.

>>> with PgServer() as server:            # doctest: +SKIP
...     print(server.url)                 # postgresql://ann:...@127.0.0.1:54321/ipn
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "ann"
DATABASE = "ipn"
ADMIN = "ipn_admin"


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries (initdb, pg_ctl) are not installed."""


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``psql``: PATH first, then Debian's."""
    found = shutil.which("initdb")
    candidates = [Path(os.path.realpath(found)).parent] if found else []
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=_version, reverse=True)
    for bindir in candidates:
        if all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "psql")):
            return bindir
    raise PostgresMissing("PostgreSQL is not installed (no initdb/pg_ctl/psql on PATH or in "
                          "/usr/lib/postgresql/*/bin): apt-get install postgresql")


def _version(bindir: Path) -> float:
    try:
        return float(bindir.parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The unprivileged user that runs the server, or None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                        "postgres"], check=True, capture_output=True)
    return "postgres"


class PgServer:
    """A PostgreSQL server in a temporary directory; see the module docstring."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.password = secrets.token_urlsafe(12)
        self.admin_password = secrets.token_urlsafe(12)
        self.port = 0
        self.root: Path | None = None
        self._as = _server_user()

    @property
    def url(self) -> str:
        """The test role's URL, password included."""
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def admin_url(self) -> str:
        """The superuser's URL, password included."""
        return f"postgresql://{ADMIN}:{self.admin_password}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, server_side: bool = True, **kwargs) -> subprocess.CompletedProcess:
        cmd = list(args)
        if server_side and self._as:
            cmd = ["runuser", "-u", self._as, "--", *cmd]
            kwargs.setdefault("cwd", self.root)  # a directory the server's user can enter
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120,
                              **kwargs)

    def start(self) -> PgServer:
        """initdb, start on a free port, create the test role and the ``ipn`` database."""
        # as root, in /tmp: the server's user must reach the directory (TMPDIR may be private)
        where = "/tmp" if self._as and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="ipnstats-pg-", dir=where))
        atexit.register(self.stop)
        pwfile = self.root / "pw"
        pwfile.write_text(self.admin_password + "\n")
        if self._as:
            shutil.chown(self.root, self._as)
            shutil.chown(pwfile, self._as)
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", ADMIN, "-E", "UTF8",
                  "--locale=C", "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync")
        pwfile.unlink()
        for _ in range(5):
            self.port = _free_port()
            opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l",
                          str(self.root / "log"), "-o", opts, "-w", "start")
                break
            except subprocess.CalledProcessError:
                continue  # the port was taken between the probe and the start
        else:
            raise RuntimeError(f"PostgreSQL did not start: {self._log()}")
        self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{self.password}'",
                  f"CREATE DATABASE {DATABASE} OWNER {USER}", database="postgres")
        return self

    def psql(self, *sql: str, database: str = DATABASE) -> str:
        """Run SQL commands (each in its own transaction) as the superuser; psql's output."""
        env = {**os.environ, "PGPASSWORD": self.admin_password}
        commands = [arg for command in sql for arg in ("-c", command)]
        out = self._run(str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN, "-d", database,
                        "-At", *commands, server_side=False, env=env)
        return out.stdout

    def _log(self) -> str:
        log = self.root / "log" if self.root else None
        return log.read_text()[-2000:] if log and log.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; safe to call twice."""
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                          "stop")
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                          "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
