"""A real ``taizhang-server serve`` subprocess on 127.0.0.1 for tests (reusable by every feature).

    with ServerProcess(db_url) as server:       # picks a free port, waits until /api/v1/status answers
        server.url                               # "http://127.0.0.1:PORT"
        server.admin("add-user", "cun", "--role", "village", "--org", code, input="password\\n")
        server.kill()                            # SIGKILL (crash), then server.start() again on the same port

Each server gets its own ``TAIZHANG_HOME`` unless one is given.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from sync.protocol import API_PREFIX

SERVER_CMD = [sys.executable, "-c", "import sys; from county_server.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: str | Path | None = None) -> dict:
    env = dict(os.environ)
    if home:
        env["TAIZHANG_HOME"] = str(home)
    env.pop("TAIZHANG_DB_URL", None)
    return env


class ServerProcess:
    def __init__(self, db_url: str, *, home: str | Path | None = None, port: int | None = None,
                 extra_args: list[str] | None = None):
        self.db_url = db_url
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="taizhang-server-"))
        self.port = port or free_port()
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*SERVER_CMD, "--db", self.db_url, "admin", *args], input=input, text=True,
                                capture_output=True, env=server_env(self.home), timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"admin {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def start(self, timeout: float = 120.0) -> "ServerProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*SERVER_CMD, "--db", self.db_url, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             *self.extra_args], stdout=log, stderr=subprocess.STDOUT, env=server_env(self.home))
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + API_PREFIX + "/status", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become ready in {timeout}s:\n{self.log()}")

    def terminal(self) -> str:
        """What the server wrote on its terminal (Chinese lines, county_server.serverlog)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_file(self) -> str:
        """Its log file, ``<数据目录>/logs/county-server.log``: every record in full (English, tracebacks)."""
        path = self.home / "logs" / "county-server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log(self) -> str:
        """Everything the server logged: its terminal and its log file."""
        return self.terminal() + self.log_file()

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush — a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------- a small county for sync tests

COUNTY, TOWNSHIP, OTHER_TOWNSHIP = "220102000000", "220102001000", "220102002000"
VILLAGE, VILLAGE2, FAR_VILLAGE = "220102001001", "220102001002", "220102002001"
PASSWORD = "mima-12345678"
ORGS_CSV = f"""区划代码,名称,城乡分类,易地扶贫搬迁集中安置社区
{COUNTY},南关区,,
{TOWNSHIP},永吉街道,,
{OTHER_TOWNSHIP},桃源街道,,
{VILLAGE},幸福村,农村社区,否
{VILLAGE2},和平社区,城市社区,是
{FAR_VILLAGE},桃源村,农村社区,否
"""
USERS = {"cun": ("village", VILLAGE), "cun2": ("village", VILLAGE2), "zhen": ("township", TOWNSHIP),
         "xian": ("county", COUNTY)}


def setup_county(server: ServerProcess, *, via_cli: bool = False) -> None:
    """Org-unit tree and one account per role (through the real admin commands when ``via_cli``;
    in-process otherwise, which is the same code without five interpreter start-ups)."""
    csv_path = server.home / "orgs.csv"
    csv_path.write_text(ORGS_CSV, encoding="utf-8")
    if via_cli:
        server.admin("load-orgs", str(csv_path))
        for name, (role, org) in USERS.items():
            server.admin("add-user", name, "--role", role, "--org", org, input=PASSWORD + "\n")
        return
    import argparse

    from county_server import cmd_admin
    from county_server.auth import add_account
    from county_server.models import create_server_tables
    from storage.db import open_server_database

    cmd_admin._load_orgs(argparse.Namespace(db=server.db_url, file=str(csv_path)))
    engine = open_server_database(server.db_url)
    create_server_tables(engine)
    for name, (role, org) in USERS.items():
        add_account(engine, name, PASSWORD, role, org)
    engine.dispose()


def device_token(server: ServerProcess, user: str = "cun") -> str:
    """Signs ``user`` in over HTTP (a fresh device) and returns its token."""
    import uuid

    from sync.protocol import request_headers

    answer = requests.post(server.url + API_PREFIX + "/login", headers=request_headers(), timeout=60, json={
        "user": user, "password": PASSWORD, "device_id": str(uuid.uuid4()), "device_name": "测试"})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def scope_of(user: str) -> tuple[list[str], str]:
    from storage.orgcode import OrgCode

    role, org = USERS[user]
    return [OrgCode(org).scope.prefix], OrgCode(org).county.scope.prefix


def live_records(engine, prefixes: list[str], org_prefix: str) -> dict:
    """{(type, id): (version, field values)} of live records in a scope — what both sides must agree on."""
    from sqlalchemy import select

    from storage.models import table_for
    from storage.repository import payload_of
    from storage.schema import RECORD_TYPES

    out = {}
    with engine.connect() as conn:
        for name, rt in RECORD_TYPES.items():
            t = table_for(name)
            for row in conn.execute(select(t).where(t.c.deleted.is_(False))).mappings():
                org = row["org_code"] or ""
                if any(org.startswith(p) for p in prefixes) or (rt.county_maintained and org.startswith(org_prefix)):
                    out[(name, row["id"])] = (row["version"], payload_of(rt, dict(row)))
    return out


class SyncTestClient:
    """A real client: its own TAIZHANG_HOME and SQLite database, signing in with the password each sync."""

    def __init__(self, root: Path, name: str, server_url: str, user: str):
        from storage import local
        from storage.db import open_database
        from storage.repository import Repository

        self.name, self.user, self.server_url = name, user, server_url
        self.home = Path(root) / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.engine = open_database(self.home / "taizhang.sqlite3")
        self.repo = Repository(self.engine, actor=name)
        self.repo.device_id = local.device_id(self.repo)
        self.last_client = None

    def client(self, **kw):
        from sync.client import SyncClient

        kw.setdefault("retries", 3)
        kw.setdefault("backoff", 0.05)
        kw.setdefault("timeout", 30)
        return SyncClient(self.repo, self.server_url, self.user, **kw)

    def sync(self, **kw):
        c = self.client(**kw)
        self.last_client = c
        try:
            return c.sync(password=PASSWORD)
        finally:
            c.transport.close()

    def env(self) -> dict:
        env = dict(os.environ)
        env["TAIZHANG_HOME"] = str(self.home)
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        return env

    def sync_subprocess(self) -> subprocess.Popen:
        """``taizhang sync`` as its own process (to be SIGKILLed); the password comes on stdin."""
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())",
                                 "sync", "--retries", "3", "--backoff", "0.05"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(), text=True)
        proc.stdin.write(PASSWORD + "\n")
        proc.stdin.flush()
        return proc

    def live(self) -> dict:
        return live_records(self.engine, *scope_of(self.user))

    def close(self) -> None:
        self.engine.dispose()


def ledger_ops(org: str, records: int, seed: int = 1):
    """A realistic mix of records for one village (the demo generator's mix, for a real org code)."""
    import datetime as dt
    import random
    import uuid as _uuid

    from storage.demo import _ops

    rng = random.Random(seed)
    ops = []
    for op in _ops(rng, org, records, dt.date.today().year):
        if op.op == "insert" and op.record_id is None:
            op.record_id = str(_uuid.UUID(int=rng.getrandbits(128), version=4))
        ops.append(op)
    return ops


class ResponseDroppingProxy:
    """A tiny HTTP proxy on 127.0.0.1 that forwards every request to the server and, when
    ``drop(method, path)`` says so, throws the server's answer away and closes the connection:
    the server has committed, the client never hears about it (a response lost on the network).

    ``delay(method, path)`` (seconds, optional) holds an answer back that long: a slow link."""

    def __init__(self, target_port: int, drop, delay=None):
        import http.client
        import http.server
        import threading

        self.dropped: list[str] = []
        self.received: list[str] = []
        self.answered: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                proxy.received.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if delay is not None:
                    time.sleep(delay(self.command, self.path))
                proxy.answered.append(self.path)
                if drop(self.command, self.path):
                    proxy.dropped.append(self.path)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
