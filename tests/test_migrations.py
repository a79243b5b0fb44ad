"""Migrations: new DB at head, release fixtures upgrade after a backup, newer DBs refused, failures restored."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage.db import (DatabaseTooNew, MigrationFailed, current_revision, head_revision, known_revisions,
                        open_database, open_server_database, prepare_database)
from storage.history import record_history
from storage.repository import Repository
from storage.schema import record_type

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = sorted(FIXTURES.glob("release-*.sqlite3"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def indexes(engine) -> dict[str, set[str]]:
    insp = inspect(engine)
    return {t: {i["name"] for i in insp.get_indexes(t)} for t in insp.get_table_names()}


def schema(engine) -> dict:
    insp = inspect(engine)
    return {t: ({c["name"] for c in insp.get_columns(t)}, {i["name"] for i in insp.get_indexes(t)})
            for t in insp.get_table_names()}


def sqlite_revision(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


def test_head_is_after_the_baseline():
    assert head_revision() == "0009"
    assert known_revisions() == {"0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"}


def test_new_database_is_created_at_head(tmp_path):
    engine = open_database(tmp_path / "new.sqlite3")
    try:
        assert current_revision(engine) == head_revision()
        assert "ix_staff_id_number" in indexes(engine)["staff"]
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert prepare_database(engine, tmp_path / "new.sqlite3") == "current"
    finally:
        engine.dispose()
    assert not (tmp_path / "backups").exists()  # nothing to back up for a new database


@pytest.mark.postgres
def test_new_server_database_on_postgresql_is_at_head(pg_url):
    engine = open_server_database(pg_url)
    try:
        assert current_revision(engine) == head_revision()
        assert "ix_volunteer_id_number" in indexes(engine)["volunteer"]
        assert prepare_database(engine) == "current"
    finally:
        engine.dispose()


def test_there_is_a_fixture_for_every_release():
    assert [p.name for p in RELEASES] == ["release-0.1.0.sqlite3"]
    for path in RELEASES:
        assert path.stat().st_size < 1_000_000
        assert not Path(str(path) + "-wal").exists()


@pytest.mark.parametrize("fixture", RELEASES, ids=lambda p: p.stem)
def test_release_fixture_upgrades_after_backup(fixture, tmp_path):
    db = tmp_path / "taizhang.sqlite3"
    shutil.copyfile(fixture, db)
    old_revision = sqlite_revision(db)
    assert old_revision in known_revisions() and old_revision != head_revision()
    conn = sqlite3.connect(db)
    counts_before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("service", "staff", "volunteer", "facility", "change_log", "audit_log")}
    # what the audit rows said of each record's writes: (actor, action, fields), in order
    audited: dict[tuple[str, str], list] = {}
    for change_id, rtype, rid, field, new, actor in conn.execute(
            "SELECT change_id, record_type, record_id, field, new_value, actor FROM audit_log ORDER BY id"):
        writes = audited.setdefault((rtype, rid), [])
        if not writes or writes[-1][0] != change_id:
            writes.append([change_id, actor, "修改", set()])
        if field == "*":
            writes[-1][2] = "新建"
        elif field == "deleted":
            writes[-1][2] = "删除" if new in ("True", "true", "1") else "恢复"
        else:
            writes[-1][3].add(field)
    conn.close()
    assert counts_before["service"] > 0 and counts_before["staff"] > 0

    engine = open_database(db)
    try:
        assert current_revision(engine) == head_revision()
        # the upgraded schema is exactly what a new database gets
        fresh = open_database(tmp_path / "fresh.sqlite3")
        assert schema(engine) == schema(fresh)
        fresh.dispose()

        repo = Repository(engine, actor="升级测试")
        assert {t: repo.count(t) + repo.count(t, deleted=True) for t in ("service", "staff", "volunteer", "facility")
                } == {t: counts_before[t] for t in ("service", "staff", "volunteer", "facility")}
        staff = repo.list("staff")[0]
        assert staff["name"] and len(staff["id_number"]) == 18 and staff["created_at"].tzinfo is not None
        # 0009 dropped the audit table: each record's history, now read from the change log, says the same
        assert "audit_log" not in inspect(engine).get_table_names()
        assert audited
        for (rtype, rid), writes in audited.items():
            labels = {f.name: f.label for f in record_type(rtype).fields}
            history = record_history(engine, rtype, rid)
            assert [(e.actor, e.action, {c.label for c in e.changes}) for e in history] == \
                [(actor, action, {labels[f] for f in fields}) for _cid, actor, action, fields in writes]
        # the upgraded database takes writes through the one write path
        updated = repo.update("staff", staff["id"], {"phone": "13912345678"})
        assert updated["version"] == staff["version"] + 1
    finally:
        engine.dispose()

    backups = list((tmp_path / "backups").glob("*.sqlite3"))
    assert len(backups) == 1 and old_revision in backups[0].name and "升级前备份" in backups[0].name
    assert sqlite_revision(backups[0]) == old_revision
    conn = sqlite3.connect(backups[0])
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM change_log").fetchone()[0] == counts_before["change_log"]
        assert "ix_staff_id_number" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def test_database_from_a_newer_version_is_refused_and_unchanged(tmp_path):
    db = tmp_path / "taizhang.sqlite3"
    open_database(db).dispose()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    conn.commit()
    conn.close()
    before = digest(db)
    with pytest.raises(DatabaseTooNew) as info:
        open_database(db)
    assert str(info.value) == ("数据库由更新版本的台账程序创建（版本标记 0099_from_the_future），本程序无法打开。"
                               "请安装最新版本的社区服务台账后再打开，数据没有被改动。")
    assert digest(db) == before
    assert sqlite_revision(db) == "0099_from_the_future"
    assert not (tmp_path / "backups").exists()


def test_failed_migration_restores_the_backup(tmp_path):
    """An index 0002 wants to create already exists (made by hand): the upgrade fails half-way."""
    db = tmp_path / "taizhang.sqlite3"
    shutil.copyfile(RELEASES[0], db)
    conn = sqlite3.connect(db)
    conn.execute("CREATE INDEX ix_staff_name ON staff (name, gender)")
    conn.commit()
    services = conn.execute("SELECT count(*) FROM service").fetchone()[0]
    conn.close()

    with pytest.raises(MigrationFailed) as info:
        open_database(db)
    message = str(info.value)
    assert message.startswith("数据库升级失败：")
    assert "已从备份" in message and "恢复原数据库，原有数据没有丢失。请联系县民政局信息管理员" in message
    backups = list((tmp_path / "backups").glob("*.sqlite3"))
    assert len(backups) == 1 and str(backups[0]) in message

    # the database is the one from before the attempt: old revision, all records, the hand-made index
    assert sqlite_revision(db) == "0001"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM service").fetchone()[0] == services
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "ix_staff_name" in names and "ix_facility_name" not in names
    finally:
        conn.close()

    # once the obstacle is gone, the same database upgrades
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX ix_staff_name")
    conn.commit()
    conn.close()
    engine = open_database(db)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_database_without_version_stamp_is_refused_and_restored(tmp_path):
    db = tmp_path / "taizhang.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('别人的数据')")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationFailed, match="数据库缺少版本标记，不是台账数据库或已损坏"):
        open_database(db)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("别人的数据",)]
        assert conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("notes",)]
    finally:
        conn.close()


def test_fixture_script_reproduces_the_release_schema(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(FIXTURES / "make_release_fixture.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "schema matches" in result.stdout


@pytest.mark.parametrize("fixture", RELEASES, ids=lambda p: p.stem)
def test_refused_sync_changes_move_from_the_old_settings_list_to_their_table(fixture, tmp_path):
    """0004: the 0.1.0 client kept refusals as one JSON setting; each becomes a row, nothing dropped."""
    import json

    from sync.client import rejections

    db = tmp_path / "taizhang.sqlite3"
    shutil.copyfile(fixture, db)
    old = [{"change_id": f"c{i}", "record_type": "service", "label": "服务记录", "record_id": f"r{i}",
            "org_code": "220102001002", "op": "insert", "reason": f"不在本账号的范围内（{i}）",
            "payload": {"persons": i, "note": "入户走访"}, "at": f"2026-10-0{i + 1}T08:00:00+00:00"}
           for i in range(3)]
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO setting (key, value) VALUES ('sync.rejections', ?)", (json.dumps(old),))
    conn.commit()
    conn.close()
    engine = open_database(db)
    try:
        repo = Repository(engine)
        moved = rejections(repo)
        assert [r["reason"] for r in moved] == [e["reason"] for e in old]
        assert [r["payload"] for r in moved] == [e["payload"] for e in old]
        assert moved[0]["at"].startswith("2026-10-01T08:00:00") and moved[0]["label"] == "服务记录"
        assert repo.get_setting("sync.rejections") is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("fixture", RELEASES, ids=lambda p: p.stem)
def test_volunteers_and_hours_survive_the_registers_migration(fixture, tmp_path):
    """0005 adds the 民政部令第67号 fields: every volunteer and hour record keeps every value it had."""
    db = tmp_path / "taizhang.sqlite3"
    shutil.copyfile(fixture, db)

    def rows(conn, table):
        columns = [r[1] for r in sqlite3.connect(fixture).execute(f"PRAGMA table_info({table})")]
        return sorted(conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())

    old = sqlite3.connect(db)
    before = {t: rows(old, t) for t in ("volunteer", "volunteer_hours", "volunteer_team")}
    old.close()
    assert before["volunteer"] and before["volunteer_hours"]
    engine = open_database(db)
    engine.dispose()
    new = sqlite3.connect(db)
    try:
        assert {t: rows(new, t) for t in before} == before
        assert new.execute("SELECT count(*) FROM volunteer WHERE consent_on IS NOT NULL").fetchone()[0] == 0
        assert new.execute("SELECT count(*) FROM elderly_person").fetchone()[0] == 0
    finally:
        new.close()
