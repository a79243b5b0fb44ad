"""A restored county server says so: a new incarnation on every answer, and a PC whose cursor
the server's sequence has since moved past pulls everything again, keeping its unsent changes."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from county_server import incarnation
from storage.db import open_server_database
from sync.protocol import cursor_incarnation
from tests.serverproc import (PASSWORD, VILLAGE, VILLAGE2, ServerProcess, SyncTestClient, ledger_ops, live_records,
                              scope_of, setup_county)

SCRIPTS = Path(__file__).resolve().parent.parent / "installers" / "server"


def copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    dst.close()
    src.close()


def server_live(server, user: str) -> dict:
    engine = open_server_database(server.db_url)
    try:
        return live_records(engine, *scope_of(user))
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["copied_back", "restore_script"])
def test_restore_then_other_pushes_then_a_pull_gets_everything(tmp_path, how):
    db = tmp_path / "county.sqlite3"
    server = ServerProcess(f"sqlite:///{db}", home=tmp_path / "server").start()
    try:
        setup_county(server)
        cun, cun2, zhen = (SyncTestClient(tmp_path, user, server.url, user) for user in ("cun", "cun2", "zhen"))
        cun.repo.bulk_write(ledger_ops(VILLAGE, 40, seed=1))
        cun.sync()
        zhen.sync()
        copy_sqlite(db, tmp_path / "backup.sqlite3")  # the nightly backup
        cun.repo.bulk_write(ledger_ops(VILLAGE, 40, seed=2))
        cun.sync()
        zhen.sync()  # zhen's cursor now lies past the backup's end
        before = zhen.repo.get_setting("sync.cursor")

        if how == "copied_back":  # an administrator copies the file back by hand
            server.stop()
            copy_sqlite(tmp_path / "backup.sqlite3", db)
        else:
            server.stop()
            result = subprocess.run(["bash", str(SCRIPTS / "restore-county-db.sh"), str(tmp_path / "backup.sqlite3"),
                                     "--db", server.db_url, "--yes", "--out", str(tmp_path / "safety")],
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
        server.start()

        cun2.repo.bulk_write(ledger_ops(VILLAGE2, 150, seed=3))  # other PCs push: seq passes zhen's cursor
        cun2.sync()
        engine = open_server_database(server.db_url)
        new = incarnation.marker(engine)
        engine.dispose()
        assert new != cursor_incarnation(before)

        zhen.repo.bulk_write(ledger_ops(VILLAGE2, 3, seed=4))  # unsent on zhen's PC
        unsent = zhen.repo.unsent_count()
        client = zhen.client()
        try:
            client.login(PASSWORD)
            assert client.transport.incarnation == new  # every answer names it
            client.pull()  # the pull alone: no sanity check to repair anything afterwards
        finally:
            client.transport.close()
        assert client.report.full_repull
        assert cursor_incarnation(zhen.repo.get_setting("sync.cursor")) == new
        assert zhen.repo.unsent_count() == unsent
        theirs, mine = server_live(server, "zhen"), zhen.live()
        missing = set(theirs) - set(mine)
        assert not missing, f"{len(missing)} of the server's {len(theirs)} records were not pulled"
        assert all(mine[key] == theirs[key] for key in theirs)
    finally:
        server.stop()


def test_settle_keeps_or_renews_the_incarnation(tmp_path):
    engine = open_server_database(f"sqlite:///{tmp_path / 'county.sqlite3'}")
    from county_server.models import create_server_tables

    create_server_tables(engine)
    path = tmp_path / "incarnation.json"
    first = incarnation.settle(engine, path)
    assert incarnation.settle(engine, path) == first  # an ordinary restart: the same
    path.unlink()
    second = incarnation.settle(engine, path)  # the data directory is new (or the file was lost)
    assert second != first
    path.write_text('{"incarnation": "%s", "high_water": 10}' % second)  # it had seen seq 10; the db has 0
    assert incarnation.settle(engine, path) != second
    engine.dispose()
