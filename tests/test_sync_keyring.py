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
    assert "已安全保存在本机" in out
    backend = next(line.split()[1] for line in out.splitlines() if line.startswith("BACKEND"))
    assert backend == "keyring.backends.SecretService"
    token = next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN"))
    assert token != "None" and len(token) > 30
    assert "同步完成" in out  # the second command signed in with the stored token: no password given
    # the token is in the keyring's files, never in the ledger's data directory
    assert token.encode() not in _db_bytes(client_home)


ADD_SERVICES = """
import datetime as dt
from storage.cli import open_repository
repo = open_repository()
for day in (3, 4):
    repo.create("service", {"org_code": "220102001001", "date": dt.date.today().replace(day=day), "category": "养老",
                            "mode": "上门", "target": "老年人", "persons": day})
print("PENDING", repo.unsent_count())
"""


@pytest.mark.skipif(not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
                    reason="gnome-keyring / dbus 未安装（./test.sh 会安装）")
def test_package_round_trip_with_keys_in_secret_service(server, tmp_path):
    """The whole offline path through the real CLI and the real Secret Service: the village signs in (its
    package signing key goes to the keyring, the public key to the server), exports a package; the
    township signs in and uploads it; the village reads the receipt, verified with the server's key."""
    home = tmp_path / "user"
    home.mkdir()
    village, town, stick = tmp_path / "village", tmp_path / "town", tmp_path / "stick"
    stick.mkdir()
    (tmp_path / "add.py").write_text(ADD_SERVICES, encoding="utf-8")
    # the county gives the township collector's PC its package key, to review packages locally
    server.admin("package-key", "-o", str(tmp_path / "county-key.pem"))
    script = f"""
set -e
echo -n keyring-unlock | gnome-keyring-daemon --unlock --components=secrets >/dev/null
export TAIZHANG_HOME={village}
echo '{PASSWORD}' | {CLI} login --server {server.url} --user cun
{sys.executable} {tmp_path / 'add.py'}
{CLI} export-package -o {stick / 'xingfu.tzpkg'}
{sys.executable} -c 'import keyring; print("KEY", keyring.get_password("taizhang-sync", "{server.url}|cun|package-signing-key"))'
export TAIZHANG_HOME={town}
echo '{PASSWORD}' | {CLI} login --server {server.url} --user zhen
{CLI} package-key {tmp_path / 'county-key.pem'}
{CLI} import-package {stick / 'xingfu.tzpkg'} < /dev/null
export TAIZHANG_HOME={village}
{CLI} import-receipt {stick / 'xingfu-回执.tzrcpt'}
# a PC signed in by the previous release has a token but no signing key: it is told to sign in again
{sys.executable} -c 'import keyring; keyring.delete_password("taizhang-sync", "{server.url}|cun|package-signing-key")'
{CLI} export-package -o {stick / 'old.tzpkg'} 2> {tmp_path / 'old.err'} && exit 9 || true
{CLI} sync < /dev/null
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "PYTHON_KEYRING", "XDG_RUNTIME"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    result = subprocess.run(["dbus-run-session", "--", "bash", "-c", script], env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "PENDING 2" in out and "已导出数据包" in out
    assert "数据包解密密钥已保存" in out and "本机已导入" in out  # the township PC opened the sealed package
    assert "已上传县级服务器：新写入 2 条" in out
    assert "本机 2 条变更已确认上传，尚未上传 0 条" in out
    old_login = (tmp_path / "old.err").read_text(encoding="utf-8")
    assert "旧版本台账程序登录的" in old_login and f"taizhang login --server {server.url} --user cun" in old_login
    assert not (stick / "old.tzpkg").exists()
    assert "同步完成" in out and "如需导出离线数据包，请重新登录一次" in out  # its sync works, with a hint
    private = next(line.split()[1] for line in out.splitlines() if line.startswith("KEY"))
    assert private != "None"
    from sync import package as PK

    signing_key = PK.private_key_from_text(private)
    with pytest.raises(PK.PackageError, match="已加密"):
        PK.read_package_file(stick / "xingfu.tzpkg")  # sealed: a lost stick discloses nothing
    county_key = PK.x25519_private_from_text((tmp_path / "county-key.pem").read_text())
    pkg = PK.read_package_file(stick / "xingfu.tzpkg", county_key)
    assert pkg.verify(signing_key.public_key())  # signed with the key kept in the keyring
    # the private key is in the keyring only: not in the PC's data directory, not in the server's database
    assert private.encode() not in _db_bytes(village)
    assert private.encode() not in (server.home.parent / "county.sqlite3").read_bytes()
    from storage.db import make_engine
    from sqlalchemy import text

    engine = make_engine(server.db_url)
    try:
        with engine.connect() as conn:
            keys = set(conn.execute(text("SELECT package_public_key FROM server_device")).scalars())
    finally:
        engine.dispose()
    assert PK.public_key_text(signing_key) in keys


def test_insecure_keyring_stores_nothing_and_says_so(server, tmp_path):
    env = dict(os.environ, TAIZHANG_HOME=str(tmp_path / "client"),
               PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring" if _has_keyrings_alt()
               else "keyring.backends.fail.Keyring", HOME=str(tmp_path / "userhome"))
    (tmp_path / "userhome").mkdir()
    cmd = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]
    login = subprocess.run([*cmd, "login", "--server", server.url, "--user", "cun"], input=PASSWORD + "\n",
                           text=True, capture_output=True, env=env, timeout=120)
    assert login.returncode == 0, login.stderr
    assert "没有能安全保存密码的地方" in login.stdout
    sync = subprocess.run([*cmd, "sync"], input="", text=True, capture_output=True, env=env, timeout=120)
    assert sync.returncode != 0 and "密码" in sync.stderr  # asks for the password again
    sync = subprocess.run([*cmd, "sync"], input=PASSWORD + "\n", text=True, capture_output=True, env=env,
                          timeout=120)
    assert sync.returncode == 0, sync.stderr
    assert b"mima" not in _db_bytes(tmp_path / "userhome")  # nothing written to a plaintext keyring file
    # no safe place for a package signing key: no offline packages on this PC, and it says why
    export = subprocess.run([*cmd, "export-package", "-o", str(tmp_path / "p.tzpkg")], input="", text=True,
                            capture_output=True, env=env, timeout=120)
    assert export.returncode == 1 and "不能导出离线数据包" in export.stderr and "联网同步" in export.stderr
    assert not (tmp_path / "p.tzpkg").exists()


def _has_keyrings_alt() -> bool:
    try:
        import keyrings.alt  # noqa: F401
    except ImportError:
        return False
    return True
