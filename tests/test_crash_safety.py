"""Crash safety: a real writer process is killed with SIGKILL at random moments.

The writer (a separate Python process) writes through the Repository: bulk
batches of service records, single creates, updates and deletes, and prints a
line after every commit.  After each kill the database must open, pass
``PRAGMA integrity_check``, and be consistent: every record has its change-log
rows (one per version), no change-log row lacks its record, every change has
its payload, every bulk batch is all there or not there at all, and every
commit the writer reported is there.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from storage.schema import RECORD_TYPES

WRITER = textwrap.dedent('''
    import datetime as dt, random, sys
    from storage.db import open_database
    from storage.repository import Repository, WriteOp

    db, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    repo = Repository(open_database(db), actor="崩溃测试", device_id="00000000-0000-4000-8000-00000000000c")
    village = "220102001001"
    if repo.get_setting("crash_setup") is None:
        repo.bulk_write([
            WriteOp("org_unit", "insert", {"org_code": "220102000000", "name": "测试县", "level": "县"}),
            WriteOp("org_unit", "insert", {"org_code": "220102001000", "name": "测试镇", "level": "乡镇/街道",
                                           "parent_code": "220102000000"}),
            WriteOp("org_unit", "insert", {"org_code": village, "name": "测试村", "level": "村/社区",
                                           "parent_code": "220102001000", "urban_rural": "农村社区"})])
        repo.set_setting("crash_setup", "1")

    def service(tag, i):
        return {"org_code": village, "date": dt.date(2024, 1, 1) + dt.timedelta(days=i % 360),
                "category": "养老", "mode": "上门", "target": "老年人", "persons": 1 + i % 9,
                "note": f"{tag}第{i}条"}

    print("ready", flush=True)
    ids = []
    n = 0
    while True:
        n += 1
        kind = rng.random()
        if kind < 0.45:
            size = rng.choice([50, 300, 1000, 3000])
            tag = f"批次{seed}-{n}-{size}"
            results = repo.bulk_write([WriteOp("service", "insert", service(tag, i)) for i in range(size)],
                                      chunk=rng.choice([200, 5000]))
            ids.extend(r.record_id for r in results[:20])
            print("bulk", tag, flush=True)
        elif kind < 0.75 or not ids:
            rec = repo.create("service", service(f"单条{seed}-{n}", n))
            ids.append(rec["id"])
            print("create", rec["id"], flush=True)
        elif kind < 0.92:
            rid = rng.choice(ids)
            rec = repo.get("service", rid)
            if rec is not None:
                repo.update("service", rid, {"persons": rec["persons"] % 50 + 1, "duration_hours": n % 8})
                print("update", rid, rec["version"] + 1, flush=True)
        else:
            rid = rng.choice(ids)
            if repo.get("service", rid) is not None:
                repo.delete("service", rid)
                print("delete", rid, flush=True)
''')


def run_and_kill(db: Path, seed: int, script: Path) -> list[str]:
    rng = random.Random(seed)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(seed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.uniform(0.2, 2.5))
        assert proc.poll() is None, proc.stderr.read()  # still writing: the kill lands mid-work
        os.kill(proc.pid, signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return out.splitlines()


def check_consistent(db: Path, reported: list[str]) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        versions = {}
        for name in RECORD_TYPES:
            for rid, version in conn.execute(f"SELECT id, version FROM {name}"):
                versions[(name, rid)] = version
        changes: dict[tuple[str, str], list[int]] = {}
        for rtype, rid, version in conn.execute("SELECT record_type, record_id, version FROM change_log"):
            changes.setdefault((rtype, rid), []).append(version)
        # every record has one change-log row per version; no change-log row lacks its record
        assert set(changes) == set(versions), "records and change log disagree"
        for key, version in versions.items():
            assert sorted(changes[key]) == list(range(1, version + 1)), key
        # every change carries its record's payload (what 修改记录 is derived from)
        assert conn.execute("SELECT count(*) FROM change_log WHERE payload IS NULL OR payload = ''").fetchone()[0] == 0
        # bulk batches are all or nothing
        for tag, count in conn.execute("SELECT substr(note, 1, instr(note, '第') - 1), count(*) FROM service "
                                       "WHERE note LIKE '批次%' GROUP BY 1"):
            assert count == int(tag.rsplit("-", 1)[1]), tag
        # every commit the writer reported survived the kill
        for line in reported:
            kind, *rest = line.split()
            if kind == "bulk":
                size = int(rest[0].rsplit("-", 1)[1])
                got = conn.execute("SELECT count(*) FROM service WHERE note LIKE ?", (rest[0] + "第%",)).fetchone()[0]
                assert got == size, line
            elif kind == "create":
                assert ("service", rest[0]) in versions, line
            elif kind == "update":
                assert versions[("service", rest[0])] >= int(rest[1]), line
            elif kind == "delete":
                assert conn.execute("SELECT deleted FROM service WHERE id = ?", (rest[0],)).fetchone() == (1,), line
        return {"records": len(versions), "changes": sum(len(v) for v in changes.values())}
    finally:
        conn.close()


def test_sigkill_at_random_moments_leaves_a_consistent_database(tmp_path):
    from storage.db import open_database
    from storage.repository import Repository

    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    db = tmp_path / "taizhang.sqlite3"
    started = time.monotonic()
    totals = []
    for seed in (11, 23, 37, 41, 59, 67):
        reported = run_and_kill(db, seed, script)
        totals.append(check_consistent(db, reported))
        # the database opens through the normal path and takes writes again
        engine = open_database(db)
        repo = Repository(engine)
        assert repo.count("org_unit") == 3
        engine.dispose()
        if time.monotonic() - started > 45:
            break
    assert len(totals) >= 3
    # the writer got real work done before the kills (otherwise this test proves nothing)
    assert totals[-1]["records"] > 100 and totals[-1]["changes"] >= totals[-1]["records"]
    assert [t["records"] for t in totals] == sorted(t["records"] for t in totals)
