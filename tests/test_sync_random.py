"""A seeded randomized sync test: edits on four PCs (two of one village, a township, the county),
syncs, and SIGKILLs of either side mid-sync, interleaved.  After every round (all PCs synced until
quiet, conflicts chosen at random) the server and every PC hold exactly the same live records,
and every change a PC counts as sent is on the server: none lost, none duplicated."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import ChangeLog
from sync.client import open_conflicts, resolve_conflict
from tests.serverproc import VILLAGE, VILLAGE2, ServerProcess, SyncTestClient, live_records, scope_of, setup_county

SEED = 20240607
ROUNDS = 5


pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


def _service(rng: random.Random, org: str) -> dict:
    return {"org_code": org, "date": dt.date(2026, rng.randint(1, 10), rng.randint(1, 28)),
            "category": rng.choice(["养老", "助残", "就业", "文化"]), "mode": rng.choice(["窗口", "上门"]),
            "target": rng.choice(["老年人", "残疾人", "一般居民"]), "persons": rng.randint(1, 50),
            "note": rng.choice([None, "随机测试", "电话回访"])}


def _edit(rng: random.Random, c: SyncTestClient, orgs: list[str], steps: int) -> None:
    for _ in range(steps):
        live = c.repo.list("service")
        roll = rng.random()
        try:
            if roll < 0.45 or not live:
                c.repo.create("service", _service(rng, rng.choice(orgs)))
            elif roll < 0.8:
                rec = rng.choice(live)
                c.repo.update("service", rec["id"], {"persons": rng.randint(1, 99), "note": f"改{rng.randint(0, 999)}"})
            elif roll < 0.93:
                c.repo.delete("service", rng.choice(live)["id"])
            else:
                gone = c.repo.list("service", deleted=True)
                if gone:
                    c.repo.restore("service", rng.choice(gone)["id"])
        except Exception as exc:  # noqa: BLE001 - e.g. a locked month; the PC refuses like the UI would
            assert "锁定" in str(exc) or "删除" in str(exc), exc


def _converge(rng, server_engine, clients) -> None:
    """Sync every PC until nothing is unsent and no conflict is open, then once more to pull."""
    for attempt in range(6):
        for c in clients:
            c.sync()
        open_any = False
        for c in clients:
            for conflict in open_conflicts(c.repo):
                open_any = True
                resolve_conflict(c.repo, conflict["id"], rng.choice(["server", "local"]))
        print(f"  converge pass {attempt}: conflicts={open_any} unsent={[c.repo.unsent_count() for c in clients]}",
              flush=True)
        if not open_any and all(c.repo.unsent_count() == 0 for c in clients):
            break
    for c in clients:
        c.sync()


def _check(server_engine, clients, round_no: int) -> None:
    with server_engine.connect() as conn:
        server_ids = set(conn.execute(select(ChangeLog.change_id)).scalars())
        total = conn.execute(select(func.count()).select_from(ChangeLog.__table__)).scalar_one()
    assert total == len(server_ids)  # no change stored twice
    for c in clients:
        assert c.repo.unsent_count() == 0, f"round {round_no}: {c.name} has unsent changes"
        assert c.live() == live_records(server_engine, *scope_of(c.user)), f"round {round_no}: {c.name} differs"
        with c.engine.connect() as conn:
            acked = set(conn.execute(select(ChangeLog.change_id).where(ChangeLog.sync_state == "acked")).scalars())
        missing = acked - server_ids
        assert not missing, f"round {round_no}: {c.name} counts {len(missing)} changes as sent the server lacks"


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_randomized_edits_syncs_and_kills(db, tmp_path, request):
    rng = random.Random(SEED)
    url = f"sqlite:///{tmp_path / 'county.sqlite3'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    server = ServerProcess(url, home=tmp_path / "server")
    server.start()
    setup_county(server)
    server_engine = make_engine(url)
    a = SyncTestClient(tmp_path / "c", "a", server.url, "cun")
    b = SyncTestClient(tmp_path / "c", "b", server.url, "cun")
    t = SyncTestClient(tmp_path / "c", "t", server.url, "zhen")
    x = SyncTestClient(tmp_path / "c", "x", server.url, "xian")
    clients = [a, b, t, x]
    orgs = {"a": [VILLAGE] * 9 + [VILLAGE2], "b": [VILLAGE], "t": [VILLAGE, VILLAGE2], "x": [VILLAGE, VILLAGE2]}
    try:
        for c in clients:
            c.sync()
        for round_no in range(ROUNDS):
            for c in clients:
                _edit(rng, c, orgs[c.name], rng.randint(0, 25))
            event = rng.choice(["sync", "kill_client", "kill_server"])
            victim = rng.choice([a, b, t])
            if event == "sync":
                victim.sync()
            elif event == "kill_client":
                _edit(rng, victim, orgs[victim.name], 200)
                proc = victim.sync_subprocess()
                time.sleep(rng.uniform(0.3, 2.5))
                proc.kill()
                proc.wait(timeout=10)
            else:
                _edit(rng, victim, orgs[victim.name], 200)
                outcome: dict = {}

                def run(victim=victim, outcome=outcome):
                    try:
                        outcome["report"] = victim.sync(retries=12, backoff=0.1)
                    except Exception as exc:  # noqa: BLE001
                        outcome["error"] = exc

                worker = threading.Thread(target=run)
                worker.start()
                time.sleep(rng.uniform(0.2, 1.5))
                server.kill()
                server.start()
                worker.join(timeout=300)
                assert "error" not in outcome, outcome.get("error")
            started = time.monotonic()
            _converge(rng, server_engine, clients)
            _check(server_engine, clients, round_no)
            print(f"round {round_no}: {event} on {victim.name}, converged and checked in "
                  f"{time.monotonic() - started:.1f}s", flush=True)
    finally:
        for c in clients:
            c.close()
        server.stop()
        server_engine.dispose()
