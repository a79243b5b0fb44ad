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

    def start(self, timeout: float = 30.0) -> "ServerProcess":
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

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
