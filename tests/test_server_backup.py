"""installers/server/backup-county-db.sh and restore-county-db.sh on a real county database:
SQLite (online backup while the server process is running) and PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import make_engine, open_server_database
from storage.repository import Repository, WriteOp

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "installers" / "server"
COUNTY, TOWN, VILLAGE = "220102000000", "220102001000", "220102001001"


def _seed(url: str, villages: int) -> None:
    engine = open_server_database(url)
    try:
        repo = Repository(engine, actor="县管理员", device_id="00000000-0000-4000-8000-00000000c0de")
        ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "测试县", "level": "县"}),
               WriteOp("org_unit", "insert", {"org_code": TOWN, "name": "测试镇", "level": "乡镇/街道",
                                              "parent_code": COUNTY})]
        ops += [WriteOp("org_unit", "insert", {"org_code": f"220102001{i:03d}", "name": f"第{i}村",
                                               "level": "村/社区", "parent_code": TOWN, "urban_rural": "农村社区"})
                for i in range(1, villages + 1)]
        repo.bulk_write(ops)
    finally:
        engine.dispose()


def _add_village(url: str, number: int) -> None:
    engine = make_engine(url)
    try:
        Repository(engine, actor="县管理员").create("org_unit", {
            "org_code": f"220102001{number:03d}", "name": f"第{number}村", "level": "村/社区",
            "parent_code": TOWN, "urban_rural": "农村社区"})
    finally:
        engine.dispose()


def _org_units(url: str) -> int:
    engine = make_engine(url)
    try:
        return Repository(engine, actor="x").count("org_unit")
    finally:
        engine.dispose()


def _run(script: str, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, TAIZHANG_ENV_FILE="/nonexistent", TAIZHANG_PYTHON=sys.executable)
    env.update(env_extra or {})
    return subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_sqlite_county_database_backup_and_restore(tmp_path):
    from tests.serverproc import ServerProcess

    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    _seed(url, villages=30)
    out = tmp_path / "backups"
    with ServerProcess(url, home=tmp_path / "server"):  # the server is running during the backup
        made = _run("backup-county-db.sh", "--db", url, "--out", str(out))
    assert made.returncode == 0, made.stderr
    dumps = list(out.glob("county-*.sqlite3"))
    assert len(dumps) == 1 and "备份完成" in made.stdout
    assert oct(dumps[0].stat().st_mode & 0o777) == "0o600"  # personal data: owner only
    conn = sqlite3.connect(str(dumps[0]))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM org_unit").fetchone()[0] == 32
    conn.close()

    _add_village(url, 99)  # a change after the backup, to be undone by the restore
    assert _org_units(url) == 33
    restored = _run("restore-county-db.sh", str(dumps[0]), "--db", url, "--yes", "--out", str(out))
    assert restored.returncode == 0, restored.stderr
    assert "恢复完成" in restored.stdout
    assert _org_units(url) == 32
    safety = [p for p in out.glob("county-*.sqlite3") if p != dumps[0]]
    assert len(safety) == 1  # the state before the restore was kept
    conn = sqlite3.connect(str(safety[0]))
    assert conn.execute("SELECT count(*) FROM org_unit").fetchone()[0] == 33
    conn.close()


def test_restore_refuses_without_confirmation_and_a_damaged_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    _seed(url, villages=3)
    declined = subprocess.run(["bash", str(SCRIPTS / "restore-county-db.sh"), str(tmp_path / "county.sqlite3"),
                               "--db", url], input="no\n", capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, TAIZHANG_ENV_FILE="/nonexistent"))
    assert declined.returncode == 1 and "已取消，数据库没有改动" in declined.stdout
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8192)
    result = _run("restore-county-db.sh", str(damaged), "--db", url, "--yes", "--out", str(tmp_path / "b"))
    assert result.returncode != 0
    assert _org_units(url) == 5


@pytest.mark.postgres
def test_postgresql_county_database_backup_and_restore(pg_url, tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed (postgresql-client)")
    _seed(pg_url, villages=40)
    out = tmp_path / "backups"
    made = _run("backup-county-db.sh", "--db", pg_url, "--out", str(out))
    assert made.returncode == 0, made.stderr
    dumps = list(out.glob("county-*.dump"))
    assert len(dumps) == 1
    listing = subprocess.run(["pg_restore", "--list", str(dumps[0])], capture_output=True, text=True, check=True)
    assert "TABLE DATA public org_unit" in listing.stdout and "TABLE DATA public change_log" in listing.stdout

    _add_village(pg_url, 98)
    _add_village(pg_url, 99)
    assert _org_units(pg_url) == 44
    restored = _run("restore-county-db.sh", str(dumps[0]), "--db", pg_url, "--yes", "--out", str(out))
    assert restored.returncode == 0, restored.stderr
    assert _org_units(pg_url) == 42
    engine = make_engine(pg_url)
    try:
        repo = Repository(engine, actor="x")
        assert repo.get("org_unit", repo_org_id("220102001099")) is None
        with engine.connect() as conn:  # the change log came back with the records
            from sqlalchemy import text

            assert conn.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 42
    finally:
        engine.dispose()
    assert len(list(out.glob("county-*.dump"))) == 2  # the safety dump made before restoring


def repo_org_id(code: str) -> str:
    from storage.repository import org_unit_id

    return org_unit_id(code)
