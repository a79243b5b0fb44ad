"""The desktop app (current code, started like `taizhang` in its own process, offscreen) opening
the previous release's database: backed up and migrated, its main window shown; a migration that
fails is rolled back to the backup and explained in a Chinese dialog, never a crash.
tests/test_installers.py repeats this with the installed .deb build."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from storage import __version__
from storage.db import head_revision

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0.sqlite3"
PREFIX = "TAIZHANG_SELF_TEST "


def _start_app(home: Path) -> tuple[int, list[str], str]:
    env = dict(os.environ, TAIZHANG_HOME=str(home), QT_QPA_PLATFORM="offscreen", TAIZHANG_SELF_TEST="1")
    result = subprocess.run([sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main([]))"],
                            env=env, capture_output=True, text=True, timeout=180)
    lines = [line[len(PREFIX):] for line in result.stdout.splitlines() if line.startswith(PREFIX)]
    return result.returncode, lines, result.stdout + result.stderr


def _query(db: Path, sql: str):
    conn = sqlite3.connect(str(db))
    try:
        rows = conn.execute(sql).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _counts(db: Path) -> list:
    return _query(db, "SELECT (SELECT count(*) FROM service), (SELECT count(*) FROM staff), "
                      "(SELECT count(*) FROM change_log)")  # (0009 drops the audit table: not counted)


def test_app_opens_the_previous_release_database_after_backing_it_up(tmp_path):
    home = tmp_path / "pc"
    home.mkdir()
    db = home / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    before = _counts(db)
    assert _query(db, "SELECT version_num FROM alembic_version") == [("0001",)]
    code, lines, output = _start_app(home)
    assert code == 0, output
    assert len(lines) == 1 and lines[0].startswith(f"window: 社区服务台账 {__version__}"), output
    assert "幸福村（演示数据）（220102001001）" in lines[0]
    assert _query(db, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert _counts(db) == before
    saved = list((home / "backups").glob("升级前备份-*-0001.sqlite3"))
    assert len(saved) == 1 and _counts(saved[0]) == before
    assert _query(db, "SELECT name FROM sqlite_master WHERE name = 'ix_staff_id_number'")  # 0002 applied


def test_a_failed_migration_is_rolled_back_and_explained_in_chinese(tmp_path):
    home = tmp_path / "pc"
    home.mkdir()
    db = home / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    _query(db, "CREATE INDEX ix_volunteer_name ON volunteer(name)")  # 0002 will trip over it
    before = _counts(db)
    code, lines, output = _start_app(home)
    assert code == 1, output
    assert len(lines) == 1, output
    assert lines[0].startswith("message: 无法打开台账数据库: 数据库升级失败")
    assert "已从备份" in lines[0] and "原有数据没有丢失" in lines[0]
    assert _query(db, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert _counts(db) == before
    assert "Traceback" not in "".join(lines)


def test_a_database_from_a_newer_program_is_refused_unchanged(tmp_path):
    home = tmp_path / "pc"
    home.mkdir()
    db = home / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    _query(db, "UPDATE alembic_version SET version_num = '0099'")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    code, lines, output = _start_app(home)
    assert code == 1 and len(lines) == 1, output
    assert "更新版本的台账程序" in lines[0] and "请安装最新版本的社区服务台账" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert not (home / "backups").exists() or not list((home / "backups").iterdir())
