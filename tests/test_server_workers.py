"""``serve --workers N`` and concurrent pushes: on SQLite they queue behind the one writer (no
"database is locked"), on PostgreSQL N worker processes share the load; nothing lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from storage.db import open_server_database
from tests.serverproc import (VILLAGE, VILLAGE2, ServerProcess, SyncTestClient, ledger_ops, live_records,
                              scope_of, setup_county)

PCS = 6


def push_at_once(server, tmp_path) -> None:
    pcs = [SyncTestClient(tmp_path, f"pc{i}", server.url, "cun" if i % 2 else "cun2") for i in range(PCS)]
    for i, pc in enumerate(pcs):
        pc.repo.bulk_write(ledger_ops(VILLAGE if i % 2 else VILLAGE2, 120, seed=i))
    with ThreadPoolExecutor(PCS) as pool:
        reports = list(pool.map(lambda pc: pc.sync(retries=0), pcs))  # no retry may hide a failure
    assert all(r.rejected == 0 and r.unsent == 0 for r in reports)
    engine = open_server_database(server.db_url)
    try:
        held = live_records(engine, *scope_of("zhen"))
    finally:
        engine.dispose()
    for pc in pcs:
        mine = pc.live()
        assert all(held.get(key) == value for key, value in mine.items())
        pc.close()
    assert "database is locked" not in server.log()


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_pushes_queue_on_sqlite(tmp_path, workers):
    with ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "srv",
                       extra_args=["--workers", str(workers)]) as server:
        setup_county(server)
        push_at_once(server, tmp_path)


@pytest.mark.postgres
def test_several_workers_on_postgresql(tmp_path, pg_url):
    with ServerProcess(pg_url, home=tmp_path / "srv", extra_args=["--workers", "2"]) as server:
        setup_county(server)
        children = psutil.Process(server.proc.pid).children(recursive=True)
        assert len([c for c in children if "python" in c.name().lower()]) >= 2, children
        push_at_once(server, tmp_path)
