"""The device token lands in the real OS keyring (gnome-keyring's Secret Service under
dbus-run-session), never in the database; with an insecure keyring nothing is stored."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.serverproc import PASSWORD, ServerProcess, setup_county

CLI = f"{sys.executable} -c 'import sys; from desktop.cli import main; sys.exit(main())'"


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    srv.start()
    setup_county(srv)
    yield srv
    srv.stop()


def _db_bytes(home) -> bytes:
    data = b""
    for path in glob.glob(os.path.join(home, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                data += fh.read()
    return data


@pytest.mark.skipif(not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
                    reason="gnome-keyring / dbus 未安装（./test.sh 会安装）")
def test_token_in_secret_service_not_in_database(server, tmp_path):
    home = tmp_path / "user"
    home.mkdir()
    client_home = tmp_path / "client"
    script = f"""
set -e
echo -n keyring-unlock | gnome-keyring-daemon --unlock --components=secrets >/dev/null
echo '{PASSWORD}' | {CLI} login --server {server.url} --user cun
{sys.executable} -c 'import keyring; print("BACKEND", type(keyring.get_keyring()).__module__); print("TOKEN", keyring.get_password("taizhang-sync", "{server.url}|cun"))'
{CLI} sync < /dev/null
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "PYTHON_KEYRING", "XDG_RUNTIME"))}
    env.update(HOME=str(home), TAIZHANG_HOME=str(client_home), XDG_DATA_HOME=str(home / ".local" / "share"))
    result = subprocess.run(["dbus-run-session", "--", "bash", "-c", script], env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "已保存在本机的系统密钥环中" in out
    backend = next(line.split()[1] for line in out.splitlines() if line.startswith("BACKEND"))
    assert backend == "keyring.backends.SecretService"
    token = next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN"))
    assert token != "None" and len(token) > 30
    assert "同步完成" in out  # the second command signed in with the stored token: no password given
    # the token is in the keyring's files, never in the ledger's data directory
    assert token.encode() not in _db_bytes(client_home)


def test_insecure_keyring_stores_nothing_and_says_so(server, tmp_path):
    env = dict(os.environ, TAIZHANG_HOME=str(tmp_path / "client"),
               PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring" if _has_keyrings_alt()
               else "keyring.backends.fail.Keyring", HOME=str(tmp_path / "userhome"))
    (tmp_path / "userhome").mkdir()
    cmd = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]
    login = subprocess.run([*cmd, "login", "--server", server.url, "--user", "cun"], input=PASSWORD + "\n",
                           text=True, capture_output=True, env=env, timeout=120)
    assert login.returncode == 0, login.stderr
    assert "没有安全的密码保管库" in login.stdout
    sync = subprocess.run([*cmd, "sync"], input="", text=True, capture_output=True, env=env, timeout=120)
    assert sync.returncode != 0 and "密码" in sync.stderr  # asks for the password again
    sync = subprocess.run([*cmd, "sync"], input=PASSWORD + "\n", text=True, capture_output=True, env=env,
                          timeout=120)
    assert sync.returncode == 0, sync.stderr
    assert b"mima" not in _db_bytes(tmp_path / "userhome")  # nothing written to a plaintext keyring file


def _has_keyrings_alt() -> bool:
    try:
        import keyrings.alt  # noqa: F401
    except ImportError:
        return False
    return True
