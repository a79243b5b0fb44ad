"""A real, throwaway PostgreSQL for tests (no mocks, no fixed ports).

``postgres_url`` (session): initdb + pg_ctl a fresh cluster in a temp dir on
127.0.0.1 at a free port with trust auth, yields ``postgresql://…`` to a fresh
database, and stops the cluster at the end.  When the tests run as root (CI
does), the cluster runs as the ``postgres`` OS user, since PostgreSQL refuses
to run as root.

``pg_url`` / ``pg_engine`` (function): a database of its own for each test
(``CREATE DATABASE`` per test), dropped afterwards.

Tests using these are marked ``postgres``; when no PostgreSQL binaries are
installed they are skipped with a reason (./test.sh installs postgresql).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def _pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """One throwaway cluster: start(), url(dbname), create_database(), drop_database(), stop()."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="taizhang-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # cwd: the postgres user may not be allowed into the directory the tests run from
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120, cwd=self.root)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(self.bindir / "initdb", "-D", self.datadir, "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C.UTF-8" if _has_c_utf8() else "--no-locale")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        result = self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-l", self.root / "server.log",
                           "-o", opts, "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str | None = None) -> str:
        name = name or "t_" + uuid.uuid4().hex[:16]
        self._admin(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout.lower()
    except OSError:
        return False
    return "c.utf8" in out or "c.utf-8" in out


@pytest.fixture(scope="session")
def postgres_cluster():
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL 未安装（./test.sh 会通过 scripts/system-deps.sh 安装 postgresql）")
    cluster = PostgresCluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster) -> str:
    """URL of a fresh database in the session's throwaway cluster."""
    return postgres_cluster.url(postgres_cluster.create_database("taizhang_session"))


@pytest.fixture
def pg_url(postgres_cluster):
    """A database of this test's own (created empty, dropped afterwards)."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture
def pg_engine(pg_url):
    """An engine on this test's own PostgreSQL database, schema created at head."""
    from storage.db import open_server_database

    engine = open_server_database(pg_url)
    yield engine
    engine.dispose()
