"""Backup and restore of the local ledger database (no Qt).

A backup is a consistent, single-file copy made with SQLite's online backup
API, so it is safe while the app is open and writing.  It is written to a
temporary name, checked (``PRAGMA integrity_check``, a Taizhang schema, this
village's identity) and only then renamed into place: a half-written backup
never looks finished.

A restore is meant for "the old PC died, put the ledger on the new PC of the
same village": it refuses a backup of another village, a backup made by a
newer program (newer schema), and anything that is not a healthy Taizhang
database.  Before it overwrites anything it keeps a safety copy of the current
database in ``<data dir>/backups``.  Older backups are upgraded after the
restore through the normal migration path (``storage.db.prepare_database``).

Backups made for carrying away (``taizhang backup``, 设置 → 备份与恢复) are encrypted with a
passphrase chosen when they are made (``storage.sealed_file``: scrypt + AES-256-GCM; a ``.tzbak``
file): a lost USB stick discloses nothing, and any PC of the same village restores it with the
passphrase.  The plain copy is made and checked in the local ``backups`` folder (beside the
database, which holds the same data), encrypted onto the target, and deleted.  A restore decrypts
into that folder, checks the result as before, and deletes the decrypted copy afterwards.  The
automatic copies that never leave the PC (before an upgrade, before a restore) stay plain.

CLI: ``taizhang backup [--to FILE]``, ``taizhang restore FILE [--yes]`` (the passphrase is asked, or
read from standard input when it is not a terminal).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from storage import sealed_file
from storage.db import DatabaseError, data_dir, default_db_path, known_revisions, prepare_database, make_engine

log = logging.getLogger(__name__)

BACKUP_SUFFIX = ".sqlite3"
SEALED_SUFFIX = ".tzbak"  # a passphrase-encrypted backup
DECRYPTED_PREFIX = ".解密中-"  # a restore's decrypted copy in the local backups folder, deleted afterwards
PAGES_PER_STEP = 512  # 2 MB per step at 4 KB pages: progress moves, the writer is never blocked long

Progress = Callable[[int, int], None]  # (done, total) in pages; raise to cancel


class BackupError(DatabaseError):
    """A backup or restore that cannot be done; the message is Chinese and says what to do."""


class BackupCancelled(BackupError):
    pass


class PassphraseNeeded(BackupError):
    """An encrypted backup was given without its passphrase."""


@dataclass
class BackupInfo:
    """What a backup file (or the current database) holds."""

    path: Path
    org_code: str | None
    org_name: str | None
    demo: bool
    revision: str | None
    records: int  # live (not deleted) records of all types
    pending_changes: int  # changes not yet uploaded to the county server
    size: int
    modified: dt.datetime

    @property
    def village(self) -> str:
        if not self.org_code:
            return "（未设置单位）"
        return f"{self.org_name or ''}（{self.org_code}）"

    def summary(self) -> str:
        kind = "演示数据" if self.demo else "正式台账"
        return (f"{self.village}，{kind}，记录 {self.records} 条，未上传修改 {self.pending_changes} 条，"
                f"文件 {self.size / 1024 / 1024:.1f} MB，时间 {self.modified:%Y-%m-%d %H:%M}")


@dataclass
class RestorePlan:
    backup: BackupInfo  # for an encrypted backup: its decrypted copy (deleted after the restore)
    current: BackupInfo | None
    warnings: list[str] = field(default_factory=list)
    original: Path | None = None  # the file the user chose


@dataclass
class RestoreResult:
    backup: BackupInfo
    safety_copy: Path | None
    migration: str  # 'current' or 'upgraded'


# --------------------------------------------------------------------------- reading a file


def _record_tables() -> list[str]:
    from storage.schema import RECORD_TYPES

    return list(RECORD_TYPES)


def _read_info(conn: sqlite3.Connection, path: Path) -> BackupInfo:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "setting" not in tables or "alembic_version" not in tables or "change_log" not in tables:
        raise BackupError(f"文件 {path} 不是社区服务台账的数据库备份，不能使用。请选择以“台账备份”开头的文件。")
    settings = dict(conn.execute("SELECT key, value FROM setting WHERE key IN ('org_code','org_name','demo')"))
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    records = 0
    for name in _record_tables():
        if name in tables:
            records += conn.execute(f'SELECT count(*) FROM "{name}" WHERE deleted = 0').fetchone()[0]
    pending = conn.execute("SELECT count(*) FROM change_log WHERE sync_state = 'pending'").fetchone()[0]
    stat = path.stat()
    return BackupInfo(path=path, org_code=settings.get("org_code") or None, org_name=settings.get("org_name"),
                      demo=settings.get("demo") == "1", revision=revision[0] if revision else None,
                      records=records, pending_changes=pending, size=stat.st_size,
                      modified=dt.datetime.fromtimestamp(stat.st_mtime))


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if [r[0] for r in result] != ["ok"]:
        raise BackupError(f"备份文件 {path} 已损坏（完整性检查未通过），不能使用。请换一个备份文件。")


def inspect_backup(path: Path | str) -> BackupInfo:
    """Open a backup read-only, check it is a healthy Taizhang database and say what it holds."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}。")
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"文件 {path} 不是社区服务台账的数据库备份，不能使用。")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"无法打开备份文件 {path}：{exc}。") from exc
    try:
        _check_integrity(conn, path)
        return _read_info(conn, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件 {path} 无法读取（{exc}），可能已损坏。请换一个备份文件。") from exc
    finally:
        conn.close()


def current_info(db_path: Path | None = None) -> BackupInfo | None:
    """What the local database holds now, or None if there is none yet."""
    db_path = Path(db_path) if db_path else default_db_path()
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return None
    conn = sqlite3.connect(str(db_path))
    try:
        return _read_info(conn, db_path)
    except BackupError:
        return None
    finally:
        conn.close()


# --------------------------------------------------------------------------- backup


def default_backup_name(info: BackupInfo | None = None, now: dt.datetime | None = None,
                        suffix: str = BACKUP_SUFFIX) -> str:
    now = now or dt.datetime.now()
    who = ""
    if info and info.org_code:
        name = "".join("_" if ch in '\\/:*?"<>|' else ch for ch in (info.org_name or ""))  # Windows/FAT-safe
        who = f"-{name}{info.org_code}"
    return f"台账备份{who}-{now:%Y%m%d-%H%M%S}{suffix}"


def backup_dir() -> Path:
    path = data_dir() / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _online_copy(src: Path, dest: Path, progress: Progress | None) -> None:
    def step(_status, remaining, total):
        if progress is not None:
            progress(total - remaining, total)  # may raise BackupCancelled: sqlite aborts the copy

    source = sqlite3.connect(str(src), timeout=30)
    target = sqlite3.connect(str(dest))
    try:
        # Hold one read transaction on the source for the whole copy: in WAL mode the writer goes on
        # undisturbed and every step copies from the same snapshot.  Without it SQLite restarts the
        # copy after each write by another connection, which under steady writing never finishes.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        source.backup(target, pages=PAGES_PER_STEP, progress=step)
        source.rollback()
        # A single self-contained file (no -wal beside it) that can be carried on a USB stick.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()


def make_backup(dest: Path | str | None = None, *, db_path: Path | None = None,
                progress: Progress | None = None, passphrase: str | None = None) -> BackupInfo:
    """Copy the local database consistently (even while it is being written) and verify the copy.

    With a ``passphrase`` the backup is a ``.tzbak`` file encrypted with it (what users make)."""
    db_path = Path(db_path) if db_path else default_db_path()
    current = current_info(db_path)
    if current is None:
        raise BackupError("本机还没有台账数据，无需备份。")
    if passphrase is not None:
        try:
            sealed_file.check_new_passphrase(passphrase)
        except ValueError as exc:
            raise BackupError(str(exc)) from None
    suffix = SEALED_SUFFIX if passphrase is not None else BACKUP_SUFFIX
    if dest is None:
        dest = backup_dir() / default_backup_name(current, suffix=suffix)
    dest = Path(dest)
    if dest.is_dir() or (not dest.exists() and dest.suffix.lower() != suffix):
        dest = dest / default_backup_name(current, suffix=suffix)  # a folder (e.g. the USB stick): a dated name in it
    if dest.resolve() == db_path.resolve():
        raise BackupError("备份文件不能和正在使用的数据库是同一个文件，请换一个位置。")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"无法在 {dest.parent} 建立备份文件夹：{exc.strerror or exc}。请换一个位置（如U盘）。") from exc
    partial = dest.with_name(dest.name + ".part")
    # The plain copy of an encrypted backup never touches the target (a USB stick keeps deleted data).
    plain = backup_dir() / f".{dest.stem}.plain.part" if passphrase is not None else partial
    partial.unlink(missing_ok=True)
    plain.unlink(missing_ok=True)
    try:
        _online_copy(db_path, plain, progress)
        info = inspect_backup(plain)
        if info.org_code != current.org_code:
            raise BackupError("备份校验失败：备份中的单位与本机不一致。请重试。")
        if passphrase is not None:
            sealed_file.seal_file(plain, partial, passphrase)
            plain.unlink()
            info.size = partial.stat().st_size
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"备份失败：{exc}。原数据库没有改动。请确认目标位置有足够空间后重试。") from exc
    except OSError as exc:
        raise BackupError(f"备份失败：无法写入 {dest}（{exc.strerror or exc}）。"
                          "请确认U盘已插好、有足够空间后重试。") from exc
    finally:
        partial.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
    info.path = dest
    log.info("backup written to %s (%d records)", dest, info.records)
    mark_backup(db_path)
    return info


# --------------------------------------------------------------------------- reminder

BACKUP_MARK = "last-backup.txt"  # beside the database: when this PC last made a backup (UTC, ISO)
REMIND_AFTER_DAYS = 7


def mark_backup(db_path: Path | None = None, when: dt.datetime | None = None) -> None:
    db_path = Path(db_path) if db_path else default_db_path()
    when = when or dt.datetime.now(dt.timezone.utc)
    try:
        (db_path.parent / BACKUP_MARK).write_text(when.isoformat(), encoding="utf-8")
    except OSError:  # a read-only data folder: the reminder simply comes again
        log.warning("could not note the backup time beside %s", db_path)


def days_since_backup(db_path: Path | None = None, now: dt.datetime | None = None) -> int:
    """Whole days since the last backup made on this PC.  The count starts when the program first asks
    (a new installation is not told off on its first day)."""
    db_path = Path(db_path) if db_path else default_db_path()
    now = now or dt.datetime.now(dt.timezone.utc)
    mark = db_path.parent / BACKUP_MARK
    try:
        last = dt.datetime.fromisoformat(mark.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        mark_backup(db_path, now)
        return 0
    return max(0, (now - last).days)


def backup_reminder(db_path: Path | None = None, now: dt.datetime | None = None) -> str | None:
    """A gentle line for the main window, or None when a backup is recent enough."""
    days = days_since_backup(db_path, now)
    if days < REMIND_AFTER_DAYS:
        return None
    return (f"已经 {days} 天没有备份台账了。电脑坏了台账就找不回来，建议现在备份一份到U盘"
            "（设置 → 备份与恢复）。")


def list_backups() -> list[Path]:
    """Backup files in the data directory's backups folder, newest first (not opened: that is cheap)."""
    found = [*backup_dir().glob(f"*{BACKUP_SUFFIX}"), *backup_dir().glob(f"*{SEALED_SUFFIX}")]
    return sorted((p for p in found if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True)


def is_encrypted(path: Path | str) -> bool:
    return sealed_file.is_sealed(path)


def _decrypted_copy(path: Path, passphrase: str | None) -> Path:
    """An encrypted backup opened into the local backups folder (deleted after the restore)."""
    if passphrase is None:
        raise PassphraseNeeded(f"备份文件 {path.name} 已加密，请输入制作备份时设置的口令。")
    plain = backup_dir() / f"{DECRYPTED_PREFIX}{path.stem}{BACKUP_SUFFIX}"
    try:
        sealed_file.open_file(path, plain, passphrase)
    except sealed_file.WrongPassphrase:
        raise BackupError("备份口令不对（或备份文件已损坏、被改动），没有恢复，本机数据没有改动。"
                          "请输入制作这个备份时设置的口令；口令忘记后无法找回。") from None
    except OSError as exc:
        plain.unlink(missing_ok=True)
        raise BackupError(f"无法读取备份文件 {path}：{exc.strerror or exc}。") from None
    return plain


def discard_decrypted(plan: RestorePlan) -> None:
    """Delete a restore's decrypted copy (after the restore, or when the user declines)."""
    if plan.original is not None and plan.backup.path.name.startswith(DECRYPTED_PREFIX):
        plan.backup.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- restore


def plan_restore(backup_path: Path | str, *, db_path: Path | None = None,
                 passphrase: str | None = None) -> RestorePlan:
    """Check a backup against this PC; raise BackupError if it must be refused, else list warnings.

    An encrypted backup is decrypted with ``passphrase`` into the local backups folder first
    (``plan.backup.path``; ``discard_decrypted(plan)`` deletes it, as ``restore_backup`` does)."""
    original = Path(backup_path) if is_encrypted(backup_path) else None
    if original is None:
        return _plan_restore(Path(backup_path), db_path)
    plain = _decrypted_copy(original, passphrase)
    try:
        plan = _plan_restore(plain, db_path)
    except BaseException:
        plain.unlink(missing_ok=True)
        raise
    plan.original = original
    return plan


def _plan_restore(backup_path: Path, db_path: Path | None) -> RestorePlan:
    backup = inspect_backup(backup_path)
    if backup.revision is None:
        raise BackupError(f"备份文件 {backup.path} 缺少数据库版本标记，不能恢复。")
    if backup.revision not in known_revisions():
        raise BackupError(
            f"这个备份由更新版本的台账程序制作（数据库版本 {backup.revision}），本机程序太旧，不能恢复。"
            "请先安装最新版本的社区服务台账，再恢复这个备份。本机数据没有改动。")
    if not backup.org_code:
        raise BackupError("这个备份里没有设置村（社区），不能恢复。请选择正式台账的备份。")
    current = current_info(db_path)
    plan = RestorePlan(backup=backup, current=current)
    if current is not None and current.org_code and not current.demo:
        if current.org_code != backup.org_code:
            raise BackupError(
                f"这个备份属于{backup.village}，本机的台账是{current.village}，不能恢复到本机。"
                "只能恢复同一个村（社区）的备份。请选择本村的备份文件，本机数据没有改动。")
    if current is not None and current.demo and not backup.demo:
        plan.warnings.append("本机现在是演示数据，恢复后演示数据将被备份中的正式台账替换。")
    lost = _pending_not_in_backup(current.path, backup.path) if current is not None else 0
    if lost:
        plan.warnings.append(
            f"本机有 {lost} 条修改尚未上传到县级服务器、也不在这个备份里，恢复后它们不在台账中"
            "（恢复前会自动保存一份安全副本，可交给县民政局信息管理员找回）。")
    if current is not None and current.records > backup.records:
        plan.warnings.append(f"本机现有记录 {current.records} 条，比备份中的 {backup.records} 条多。")
    return plan


def _pending_not_in_backup(db_path: Path, backup_path: Path) -> int:
    """Changes made on this PC, not yet uploaded, that the backup does not contain."""
    conn = sqlite3.connect(db_path.resolve().as_uri(), uri=True)
    try:
        conn.execute("ATTACH DATABASE ? AS bak", (f"{backup_path.resolve().as_uri()}?mode=ro",))
        return conn.execute(
            "SELECT count(*) FROM main.change_log AS c WHERE c.sync_state = 'pending' "
            "AND NOT EXISTS (SELECT 1 FROM bak.change_log AS b WHERE b.change_id = c.change_id)").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def restore_backup(backup_path: Path | str, *, db_path: Path | None = None,
                   progress: Progress | None = None, dispose: Callable[[], None] | None = None,
                   passphrase: str | None = None) -> RestoreResult:
    """Replace the local database with a checked backup, keeping a safety copy of the current one.

    ``dispose`` is called before the database is overwritten, so that the caller can close its
    pooled connections (the app's engine).  Every connection opened afterwards sees the restored data.
    ``backup_path`` may be an encrypted backup (with ``passphrase``) or a plan's decrypted copy.
    """
    db_path = Path(db_path) if db_path else default_db_path()
    plan = plan_restore(backup_path, db_path=db_path, passphrase=passphrase)
    if Path(backup_path).name.startswith(DECRYPTED_PREFIX):
        plan.original = Path(backup_path)  # a decrypted copy handed over from an earlier plan: ours to delete
    try:
        return _restore(plan, db_path, progress, dispose)
    finally:
        discard_decrypted(plan)


def _restore(plan: RestorePlan, db_path: Path, progress: Progress | None,
             dispose: Callable[[], None] | None) -> RestoreResult:
    safety = None
    if plan.current is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safety = backup_dir() / f"恢复前安全副本-{stamp}{BACKUP_SUFFIX}"
        try:
            _online_copy(db_path, safety, None)
        except (sqlite3.Error, OSError) as exc:
            safety.unlink(missing_ok=True)
            raise BackupError(f"无法保存恢复前的安全副本（{exc}），没有进行恢复，本机数据没有改动。") from exc
    if dispose is not None:
        dispose()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{plan.backup.path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(str(db_path), timeout=30)
    try:
        # Page-by-page into the live file through SQLite (not a file copy): correct with WAL and
        # with other connections open, and possible on Windows where an open file cannot be replaced.
        # The copy is one write transaction on the target: cancelled or failed, it rolls back whole.
        target.execute("PRAGMA journal_mode=WAL")
        source.backup(target, pages=PAGES_PER_STEP,
                      progress=(lambda _s, rem, tot: progress(tot - rem, tot)) if progress else None)
        problems = [r[0] for r in target.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError("恢复后的数据库完整性检查未通过。")
    except (sqlite3.Error, BackupError) as exc:
        target.close()
        source.close()
        if safety is not None:
            _put_back(safety, db_path)
        where = f"已用安全副本 {safety} 还原本机原来的数据。" if safety else ""
        raise BackupError(f"恢复失败：{exc}。{where}") from exc
    finally:
        target.close()  # closing twice is harmless; a cancel (exception from progress) lands here too
        source.close()
    engine = make_engine(db_path)
    try:
        migration = prepare_database(engine, db_path)  # an older backup is backed up and upgraded here
    finally:
        engine.dispose()
    log.info("restored %s onto %s (safety copy %s, %s)", plan.backup.path, db_path, safety, migration)
    return RestoreResult(backup=plan.backup, safety_copy=safety, migration=migration)


def _put_back(safety: Path, db_path: Path) -> None:
    source = sqlite3.connect(str(safety))
    target = sqlite3.connect(str(db_path), timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# --------------------------------------------------------------------------- CLI


def _cli_progress(done: int, total: int) -> None:
    print(f"\r{done * 100 // max(total, 1)}%", end="", file=sys.stderr)


def _read_passphrase(prompt: str, *, confirm: bool) -> str:
    """From the terminal (hidden; asked twice for a new one), or one line of standard input."""
    import getpass

    if sys.stdin is None or not sys.stdin.isatty():
        return (sys.stdin.readline() if sys.stdin else "").rstrip("\r\n")
    first = getpass.getpass(prompt)
    if confirm:
        try:
            sealed_file.check_new_passphrase(first, getpass.getpass("再输入一次备份口令："))
        except ValueError as exc:
            raise BackupError(str(exc)) from None
    return first


def _backup_cmd(args) -> int:
    print(sealed_file.FORGOTTEN, file=sys.stderr)
    passphrase = _read_passphrase("设置备份口令（至少8个字符）：", confirm=True)
    info = make_backup(args.to, progress=_cli_progress, passphrase=passphrase)
    print(file=sys.stderr)
    print(f"备份完成（已用口令加密）：{info.path}")
    print(info.summary())
    return 0


def _restore_cmd(args) -> int:
    passphrase = _read_passphrase("备份口令：", confirm=False) if is_encrypted(args.file) else None
    plan = plan_restore(args.file, passphrase=passphrase)
    try:
        return _confirm_and_restore(args, plan)
    finally:
        discard_decrypted(plan)


def _confirm_and_restore(args, plan: RestorePlan) -> int:
    print(f"备份内容：{plan.backup.summary()}")
    if plan.current:
        print(f"本机现有：{plan.current.summary()}")
    for warning in plan.warnings:
        print(f"注意：{warning}")
    if not args.yes:
        answer = input("确定用这个备份替换本机台账吗？输入 y 确认：").strip().lower()
        if answer not in ("y", "yes", "是"):
            print("已取消，本机数据没有改动。")
            return 1
    result = restore_backup(plan.backup.path, progress=_cli_progress)
    print(file=sys.stderr)
    print(f"恢复完成：{result.backup.village}，记录 {result.backup.records} 条。")
    if result.safety_copy:
        print(f"恢复前的数据已另存为 {result.safety_copy}")
    if result.migration == "upgraded":
        print("备份来自旧版本程序，已升级到当前版本。")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="备份本机台账数据库（用口令加密；可在程序打开时进行）")
    p.add_argument("--to", metavar="文件或文件夹", help="备份文件位置（默认：数据目录下的 backups 文件夹）")
    p.set_defaults(func=_backup_cmd)
    p = sub.add_parser("restore", help="从备份恢复本机台账（只接受本村的备份，恢复前自动保存安全副本）")
    p.add_argument("file", metavar="备份文件")
    p.add_argument("--yes", action="store_true", help="不询问，直接恢复")
    p.set_defaults(func=_restore_cmd)
