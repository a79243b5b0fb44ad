"""Backup and restore of the local ledger (storage.backup): consistent while writing, restorable on
another PC of the same village, refused for another village, a newer program or a damaged file."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from storage import backup as bk
from storage.db import current_revision, head_revision, open_database
from storage.local import identity, set_identity
from storage.repository import Repository, WriteOp

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0.sqlite3"


def _staff(village: str, i: int) -> dict:
    """A valid 社区工作者 record (ID number with a correct check digit)."""
    from storage.choices import DEFAULT_CHOICES
    from storage.validation import id_check_char

    first17 = f"2201021980{1 + (i // 1000) % 12:02d}{1 + (i // 12000) % 28:02d}{i % 1000:03d}"
    return {"org_code": village, "name": f"工作人员{i}", "id_number": first17 + id_check_char(first17),
            "roles": [DEFAULT_CHOICES["staff_role"][0]], "status": DEFAULT_CHOICES["staff_status"][0]}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(path: Path) -> tuple[int, int]:
    """(staff records, staff inserts in the change log) — written in one transaction, so equal."""
    conn = sqlite3.connect(str(path))
    try:
        records = conn.execute("SELECT count(*) FROM staff").fetchone()[0]
        logged = conn.execute("SELECT count(*) FROM change_log WHERE record_type='staff' AND op='insert'").fetchone()[0]
        return records, logged
    finally:
        conn.close()


def _other_pc(tmp_path, monkeypatch, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    monkeypatch.setenv("TAIZHANG_HOME", str(home))
    return home


@pytest.fixture
def filled(repo, village):
    set_identity(repo, village, "测试村")
    repo.bulk_write([WriteOp("staff", "insert", _staff(village, i)) for i in range(300)])
    return repo


def test_backup_is_a_consistent_verified_copy_while_the_ledger_is_being_written(filled, village, tmp_path):
    repo = filled
    stop = threading.Event()
    written = []

    def writer():
        i = 1000
        while not stop.is_set():
            repo.create("staff", _staff(village, i))
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:  # the writer is really going
            stop.wait(0.01)
        steps = []
        info = bk.make_backup(tmp_path / "usb" / "台账.sqlite3", progress=lambda done, total: steps.append((done, total)))
        during = len(written)
        while len(written) < during + 20:  # and it is still going after the copy
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert info.path == tmp_path / "usb" / "台账.sqlite3" and info.path.is_file()
    assert not list(info.path.parent.glob("*.part"))
    assert steps and steps[-1][0] == steps[-1][1]
    records, logged = _counts(info.path)
    assert records == logged  # a snapshot between transactions: no record without its change-log row
    assert 300 + 20 <= records < 300 + len(written)  # the copy is of a moment during the writing
    assert info.org_code == village and info.records == records + 3  # + county, township, village
    assert not Path(str(info.path) + "-wal").exists()  # a single file to carry on a USB stick
    assert bk.inspect_backup(info.path).records == records + 3


def test_restore_on_another_pc_of_the_same_village(filled, village, tmp_path, monkeypatch):
    usb = bk.make_backup(tmp_path / "usb").path
    assert usb.parent == tmp_path / "usb" and usb.name.startswith("台账备份-测试村220102001001-")
    records, _ = _counts(usb)

    # PC 2 has never been used: no database at all.
    pc2 = _other_pc(tmp_path, monkeypatch, "pc2")
    result = bk.restore_backup(usb)
    assert result.safety_copy is None and result.migration == "current"
    engine = open_database()
    repo2 = Repository(engine, actor="测试员")
    assert repo2.count("staff") == records
    assert identity(repo2).org_code == village
    engine.dispose()

    # PC 3 was set up for the same village and has a few records of its own: they go to a safety copy.
    pc3 = _other_pc(tmp_path, monkeypatch, "pc3")
    engine = open_database()
    repo3 = Repository(engine, actor="测试员", device_id="00000000-0000-4000-8000-000000000003")
    set_identity(repo3, village, "测试村")
    repo3.create("staff", _staff(village, 9999))
    plan = bk.plan_restore(usb)
    assert any("1 条修改尚未上传" in w for w in plan.warnings), plan.warnings
    result = bk.restore_backup(usb, dispose=engine.dispose)
    assert result.safety_copy is not None and result.safety_copy.parent == pc3 / "backups"
    assert _counts(result.safety_copy)[0] == 1
    assert repo3.count("staff") == records  # the open engine sees the restored ledger
    engine.dispose()
    assert pc2 != pc3


def test_refuses_a_backup_of_another_village_and_changes_nothing(filled, village, tmp_path, monkeypatch):
    usb = bk.make_backup(tmp_path / "usb").path
    _other_pc(tmp_path, monkeypatch, "neighbour")
    engine = open_database()
    repo = Repository(engine, actor="测试员")
    set_identity(repo, "220102001002", "隔壁村")
    engine.dispose()
    db = bk.default_db_path()
    before = _digest(db)
    with pytest.raises(bk.BackupError) as err:
        bk.restore_backup(usb)
    message = str(err.value)
    assert "测试村（220102001001）" in message and "隔壁村（220102001002）" in message
    assert "只能恢复同一个村" in message and "本机数据没有改动" in message
    assert _digest(db) == before
    assert not (db.parent / "backups").exists() or not list((db.parent / "backups").glob("恢复前安全副本-*"))


def test_refuses_a_backup_made_by_a_newer_program(filled, tmp_path, monkeypatch):
    usb = bk.make_backup(tmp_path / "usb").path
    conn = sqlite3.connect(str(usb))
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.commit()
    conn.close()
    _other_pc(tmp_path, monkeypatch, "pc2")
    with pytest.raises(bk.BackupError, match="更新版本的台账程序.*请先安装最新版本"):
        bk.restore_backup(usb)
    assert not bk.default_db_path().exists()


def test_refuses_files_that_are_not_a_healthy_ledger(filled, tmp_path):
    text = tmp_path / "笔记.sqlite3"
    text.write_text("不是数据库", encoding="utf-8")
    with pytest.raises(bk.BackupError, match="不是社区服务台账的数据库备份"):
        bk.plan_restore(text)
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE x(a)")
    conn.commit()
    conn.close()
    with pytest.raises(bk.BackupError, match="不是社区服务台账的数据库备份"):
        bk.plan_restore(other)
    good = bk.make_backup(tmp_path / "good.sqlite3").path
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(good.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 8192):  # scribble over pages in the middle
        data[offset] = 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(bk.BackupError, match="损坏"):
        bk.plan_restore(damaged)
    with pytest.raises(bk.BackupError, match="找不到备份文件"):
        bk.plan_restore(tmp_path / "nothing.sqlite3")


def test_restoring_a_backup_of_the_previous_release_upgrades_it(tmp_path, monkeypatch):
    """A 0.1.0 backup (the release fixture) restored with the current program is backed up and migrated."""
    usb = tmp_path / "usb" / "台账备份-0.1.0.sqlite3"
    usb.parent.mkdir()
    shutil.copyfile(FIXTURE, usb)
    expected = bk.inspect_backup(usb)
    assert expected.revision == "0001"
    _other_pc(tmp_path, monkeypatch, "new-pc")
    result = bk.restore_backup(usb)
    assert result.migration == "upgraded"
    engine = open_database()
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert bk.current_info().records == expected.records
    assert list((bk.default_db_path().parent / "backups").glob("升级前备份-*-0001.sqlite3"))


def test_cancelling_a_backup_leaves_no_file(filled, tmp_path):
    dest = tmp_path / "cancelled.sqlite3"

    def cancel(done, total):
        raise bk.BackupCancelled("已取消备份。")

    with pytest.raises(bk.BackupCancelled):
        bk.make_backup(dest, progress=cancel)
    assert not dest.exists() and not list(tmp_path.glob("*.part"))


def test_cli_backup_and_restore(filled, village, tmp_path, monkeypatch, capsys):
    import io

    from desktop.cli import main

    def stdin(text):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    stdin("短口令\n")
    assert main(["backup", "--to", str(tmp_path / "usb")]) == 1
    assert "至少需要8个字符" in capsys.readouterr().err and not list((tmp_path / "usb").glob("*"))
    stdin("村里的备份口令2024\n")
    assert main(["backup", "--to", str(tmp_path / "usb")]) == 0
    captured = capsys.readouterr()
    assert "备份完成（已用口令加密）" in captured.out and "测试村（220102001001）" in captured.out
    assert "无法找回" in captured.err  # said plainly before the passphrase is set
    made = next((tmp_path / "usb").glob("台账备份-*.tzbak"))
    assert bk.is_encrypted(made)
    _other_pc(tmp_path, monkeypatch, "pc2")
    stdin("错误的口令123\n")
    assert main(["restore", str(made), "--yes"]) == 1
    assert "备份口令不对" in capsys.readouterr().err
    assert not [p for p in bk.backup_dir().iterdir() if p.name.startswith(bk.DECRYPTED_PREFIX)]
    stdin("村里的备份口令2024\n")
    assert main(["restore", str(made), "--yes"]) == 0
    assert "恢复完成：测试村（220102001001）" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    stdin("村里的备份口令2024\n")
    assert main(["restore", str(made)]) == 1
    assert "已取消，本机数据没有改动" in capsys.readouterr().out
    assert not [p for p in bk.backup_dir().iterdir() if p.name.startswith(bk.DECRYPTED_PREFIX)]


def test_an_encrypted_backup_holds_no_personal_information(filled, village, tmp_path):
    from storage import sealed_file

    staff = filled.list("staff")
    assert staff
    info = bk.make_backup(tmp_path / "usb", passphrase="村里的备份口令2024")
    data = info.path.read_bytes()
    assert data.startswith(sealed_file.MAGIC) and b"SQLite format 3" not in data
    for person in staff:
        assert person["id_number"].encode() not in data and person["name"].encode() not in data
    assert not list(bk.backup_dir().glob(".*.part"))  # the plain copy made on the way is gone
    with pytest.raises(bk.PassphraseNeeded):
        bk.plan_restore(info.path)
    with pytest.raises(bk.BackupError, match="口令不对"):
        bk.plan_restore(info.path, passphrase="another passphrase")
    damaged = bytearray(data)
    damaged[-100] ^= 1
    (tmp_path / "damaged.tzbak").write_bytes(bytes(damaged))
    with pytest.raises(bk.BackupError, match="口令不对|已损坏"):
        bk.plan_restore(tmp_path / "damaged.tzbak", passphrase="村里的备份口令2024")
    plan = bk.plan_restore(info.path, passphrase="村里的备份口令2024")
    assert plan.backup.records == bk.current_info().records
    bk.discard_decrypted(plan)
    assert not plan.backup.path.exists()
