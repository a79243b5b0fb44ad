"""``taizhang-server admin …`` as real processes: exit 0 on success, non-zero with a Chinese message."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.serverproc import ORGS_CSV, PASSWORD, VILLAGE, ServerProcess

CMD = [sys.executable, "-c", "import sys; from county_server.cli import main; sys.exit(main())"]


def run(db_url: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, "--db", db_url, *args], input=input, text=True, capture_output=True, timeout=120)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'county.sqlite3'}"


def test_admin_commands(tmp_path, db_url):
    csv_path = tmp_path / "orgs.csv"
    csv_path.write_text(ORGS_CSV, encoding="utf-8")
    first = run(db_url, "admin", "load-orgs", str(csv_path))
    assert first.returncode == 0, first.stderr
    assert "新增 6 个" in first.stdout
    again = run(db_url, "admin", "load-orgs", str(csv_path))
    assert again.returncode == 0 and "未变 6 个" in again.stdout  # idempotent

    ok = run(db_url, "admin", "add-user", "cun", "--role", "village", "--org", VILLAGE, input=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    assert "账号已创建" in ok.stdout and "幸福村" in ok.stdout
    for args, words in [
        (("add-user", "cun", "--role", "village", "--org", VILLAGE), "已存在"),
        (("add-user", "zhen", "--role", "township", "--org", VILLAGE), "乡镇/街道级"),
        (("add-user", "far", "--role", "village", "--org", "220102009009"), "load-orgs"),
        (("add-user", "short", "--role", "village", "--org", VILLAGE), "至少需要8位"),
    ]:
        password = "1234" if "short" in args else PASSWORD
        bad = run(db_url, "admin", *args, input=password + "\n")
        assert bad.returncode != 0 and words in bad.stderr and "错误" in bad.stderr, (args, bad.stderr)

    none = run(db_url, "admin", "devices")
    assert none.returncode == 0 and "还没有设备" in none.stdout
    unknown = run(db_url, "admin", "revoke-device", "deadbeef")
    assert unknown.returncode != 0 and "没有编号" in unknown.stderr

    # the password is stored as a slow salted hash, never as given
    from sqlalchemy import select

    from county_server.models import Account
    from storage.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(Account.password_hash)).scalar_one()
    engine.dispose()
    assert stored.startswith("scrypt$32768$") and PASSWORD not in stored


def test_load_orgs_reports_every_bad_row_and_writes_nothing(tmp_path, db_url):
    bad = tmp_path / "bad.csv"
    bad.write_text("区划代码,名称,城乡分类,易地扶贫搬迁集中安置社区\n"
                   "220102000000,南关区,,\n"
                   "22010200100,短代码村,农村社区,否\n"
                   "220102001001,幸福村,乡下,否\n"
                   "220102001002,,城市社区,否\n", encoding="utf-8")
    result = run(db_url, "admin", "load-orgs", str(bad))
    assert result.returncode != 0
    for row in ("第3行", "第4行", "第5行"):
        assert row in result.stderr
    assert "未导入任何数据" in result.stderr
    missing_parent = tmp_path / "orphan.csv"
    missing_parent.write_text("220102001001,幸福村,农村社区,否\n", encoding="utf-8")  # no header, no township
    result = run(db_url, "admin", "load-orgs", str(missing_parent))
    assert result.returncode != 0 and "220102001000" in result.stderr


def test_load_orgs_from_a_spreadsheet_written_by_libreoffice(tmp_path, db_url):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice 未安装（./test.sh 会安装）")
    src = tmp_path / "orgs.csv"
    src.write_text(ORGS_CSV, encoding="utf-8")
    out = tmp_path / "lo"
    conv = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                           "--infilter=CSV:44,34,76", "--convert-to", "xlsx", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=180)
    xlsx = out / "orgs.xlsx"
    assert xlsx.exists(), conv.stderr
    result = run(db_url, "admin", "load-orgs", str(xlsx))
    assert result.returncode == 0, result.stderr
    assert "新增 6 个" in result.stdout


def test_revoke_a_signed_in_device(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    server = ServerProcess(db_url, home=tmp_path / "server")
    server.start()
    try:
        from tests.serverproc import setup_county

        setup_county(server, via_cli=True)
        import requests

        from sync.protocol import API_PREFIX, request_headers

        resp = requests.post(server.url + API_PREFIX + "/login", headers=request_headers(), timeout=30, json={
            "user": "cun", "password": PASSWORD, "device_id": "11111111-1111-4111-8111-111111111111",
            "device_name": "村委会电脑"})
        assert resp.status_code == 200, resp.text
        token = resp.json()["token"]
        listing = server.admin("devices").stdout
        assert "村委会电脑" in listing and "有效" in listing and token not in listing
        device = resp.json()["device"]
        assert "已撤销" in server.admin("revoke-device", device[:6]).stdout
        denied = requests.get(server.url + API_PREFIX + "/pull", headers=request_headers(token), timeout=30)
        assert denied.status_code == 401 and "撤销" in denied.json()["message"]
    finally:
        server.stop()
