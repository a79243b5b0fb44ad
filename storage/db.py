"""Opening a database: data directory, engine with PRAGMAs, migrations with backup.

Durability: SQLite in WAL mode with ``synchronous=FULL``.  WAL lets the UI read
while a worker writes; FULL makes every committed transaction survive a power
cut (NORMAL could lose the last commits on power loss, which village PCs on
unreliable power must not).  An interactive save still commits in well under
5 ms, and bulk writes commit once per batch, so FULL costs little.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

DB_FILENAME = "taizhang.sqlite3"


class DatabaseError(RuntimeError):
    """A database problem with a Chinese message for the user."""


class DatabaseTooNew(DatabaseError):
    pass


class MigrationFailed(DatabaseError):
    pass


def data_dir() -> Path:
    """Per-user data directory; ``TAIZHANG_HOME`` overrides it (tests, portable installs)."""
    override = os.environ.get("TAIZHANG_HOME")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("Taizhang", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / DB_FILENAME


# Every SQLite connection gets these (the benchmark's raw baseline uses the same tuple).
# cache_size: 32 MB instead of SQLite's 2 MB default.  A bulk write of 100,000 records
# inserts random UUIDs into the id and change-id indexes; with 2 MB of cache that turns
# disk-bound.  The cache is allocated only as pages are used.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=10000",
                  "cache_size=-32000")


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(f"PRAGMA {pragma}")
    cur.close()
    from storage.collation import install_sqlite_collation

    install_sqlite_collation(dbapi_conn)  # ORDER BY name COLLATE PINYIN (lists sort names by pinyin)


def make_engine(url: str | Path, pool: dict | None = None) -> Engine:
    """An engine for a path or URL (sqlite:///…, postgresql://…).

    ``pool``: PostgreSQL connection-pool arguments (``pool_size``, ``max_overflow``, ``pool_timeout``);
    the county server sizes them to its worker processes (``county_server.cmd_serve``).
    """
    url = str(url)
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        # hide_parameters: an SQL error's text never carries a record's values (ID numbers, phones).
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **(pool or {}))
    return engine


# --------------------------------------------------------------------------- migrations

def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def backup_sqlite(src: Path, dest: Path) -> Path:
    """A consistent copy through SQLite's online backup API (safe while the DB is open)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # sqlite3's "with" only commits; close explicitly, or a connection left open on the
    # database would see it replaced under it when a failed migration restores the backup.
    source = sqlite3.connect(str(src))
    try:
        target = sqlite3.connect(str(dest))
        try:
            source.backup(target)
            ok = target.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    if ok != "ok":
        raise MigrationFailed(f"升级前备份数据库失败（备份文件检查结果：{ok}），没有进行升级，原数据库没有被改动。")
    return dest


def prepare_database(engine: Engine, db_path: Path | None = None) -> str:
    """Create a new database at head, or back up and upgrade an older one.

    Returns what happened: 'created', 'current' or 'upgraded'.
    """
    from alembic import command

    from storage.models import metadata

    cfg = _alembic_config(engine)
    head = head_revision()
    has_tables = bool(inspect(engine).get_table_names())
    revision = current_revision(engine) if has_tables else None
    if not has_tables:
        metadata.create_all(engine)
        command.stamp(cfg, head)
        return "created"
    if revision == head:
        return "current"
    if revision is not None and revision not in known_revisions():
        raise DatabaseTooNew(
            f"数据库由更新版本的台账程序创建（版本标记 {revision}），本程序无法打开。"
            "请安装最新版本的社区服务台账后再打开，数据没有被改动。")
    backup = None
    if db_path is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = db_path.parent / "backups" / f"升级前备份-{stamp}-{revision}.sqlite3"
        n = 1
        while target.exists():  # never overwrite an earlier backup
            n += 1
            target = target.with_name(f"升级前备份-{stamp}-{revision}-{n}.sqlite3")
        backup = backup_sqlite(db_path, target)
        log.info("backed up database before migration to %s", backup)
    try:
        if revision is None:
            raise MigrationFailed("数据库缺少版本标记，不是台账数据库或已损坏。")
        command.upgrade(cfg, head)
    except Exception as exc:
        engine.dispose()
        if backup is not None:
            # copy beside, then rename over: a crash mid-restore leaves either file whole
            restoring = db_path.with_name(db_path.name + ".restoring")
            shutil.copyfile(backup, restoring)
            for suffix in ("-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
            os.replace(restoring, db_path)
        log.exception("migration failed")
        where = f"已从备份 {backup} 恢复原数据库，" if backup else ""
        # the technical error (English, SQL) goes to the log only; the user gets Chinese
        reason = str(exc).rstrip("。") if isinstance(exc, MigrationFailed) else "升级步骤执行出错（技术细节已写入日志）"
        raise MigrationFailed(
            f"数据库升级失败：{reason}。{where}原有数据没有丢失。请联系县民政局信息管理员，"
            "并把数据目录中的日志文件发给他。") from exc
    return "upgraded"


def open_database(path: Path | str | None = None) -> Engine:
    """Open (creating or upgrading) the local database."""
    db_path = Path(path) if path else default_db_path()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(db_path)
    prepare_database(engine, db_path)
    return engine


def open_server_database(url: str, pool: dict | None = None) -> Engine:
    engine = make_engine(url, pool)
    db_path = None
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        db_path = Path(engine.url.database)
        db_path.parent.mkdir(parents=True, exist_ok=True)
    prepare_database(engine, db_path)
    install_writer_lock(engine)
    return engine


def nested_transaction(conn):
    """``conn.begin_nested()`` that really nests on SQLite.

    The sqlite3 module opens its transaction only at the first INSERT/UPDATE/DELETE.  A SAVEPOINT
    sent before that starts the transaction itself, and releasing it COMMITS everything so far:
    the caller's "one transaction" would end at the first savepoint.  So on SQLite the
    transaction is opened first.
    """
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")
    return conn.begin_nested()


# The county server's pull cursor is change_log.seq.  On PostgreSQL seq comes from a sequence, handed
# out at INSERT time but visible only at COMMIT: if a transaction holding seq 10 commits after one
# holding seq 11, a pull in between moves its cursor past 10 for ever.  So every transaction that
# writes to a ledger table takes ONE transaction-scoped advisory lock first (a statement-level
# BEFORE trigger on each table: it fires before the statement touches a row or draws a seq), and
# the pull takes the same lock before reading max(seq).  Writers therefore commit in seq order,
# whoever they are (push, Excel import, load-orgs, period reviews, conflict resolution, raw SQL).
# SQLite needs nothing: it has one writer at a time, and a seq is drawn under that write lock.
PG_WRITER_LOCK = 4_240_001  # county_server.api_sync takes the same key (push: at BEGIN; pull: before reading)
_LOCK_FUNCTION = "taizhang_serialize_writers"


def install_writer_lock(engine: Engine) -> None:
    """(PostgreSQL) The statement triggers that make every ledger writer take ``PG_WRITER_LOCK``.

    Idempotent; run at every server start, so a table added by a later migration is covered too.
    """
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    from storage.models import metadata

    with engine.begin() as conn:
        conn.execute(text(f"""
            CREATE OR REPLACE FUNCTION {_LOCK_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock({PG_WRITER_LOCK});
                RETURN NULL;
            END $$"""))
        existing = set(inspect(conn).get_table_names())
        # only missing triggers are created: CREATE TRIGGER locks the table against writers
        have = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        for name in sorted(metadata.tables):
            trigger = f"{name}_serialize_writers"
            if name not in existing or trigger in have:
                continue
            conn.execute(text(f'CREATE TRIGGER "{trigger}" BEFORE INSERT OR UPDATE OR DELETE ON "{name}" '
                              f"FOR EACH STATEMENT EXECUTE FUNCTION {_LOCK_FUNCTION}()"))
