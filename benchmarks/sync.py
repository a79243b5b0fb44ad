"""``python -m benchmarks sync``: push 100,000 changes from one client to a real server over loopback.

Baseline, same run, same server: the very same batches (JSON + gzip on the client, as in the
real push) POSTed to the server's no-op endpoint, which decompresses and parses them and
writes nothing.  ``sync.push_ratio`` = real push throughput / baseline throughput.

Prints: sync.changes_per_s, sync.baseline_changes_per_s, sync.push_ratio, sync.batch_size,
sync.server_peak_mb; on SQLite also ``sync.raw_sql_floor_s`` (raw executemany of the rows the push
wrote — records, change log — batch by batch with a commit each, no Python checks) and
``sync.push_ratio_ceiling``: the ratio a push could reach if everything but that SQL were free
(the baseline's seconds, less its client-side encoding, which a real push overlaps, plus the floor);
then a second PC of the same village pulls everything afresh:
sync.pull_changes_per_s.  Options: --changes N (default 100000), --db URL (server database,
default a fresh SQLite file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VILLAGE = "220102001001"
ORGS = f"""区划代码,名称,城乡分类,易地扶贫搬迁集中安置社区
220102000000,基准县,,
220102001000,基准镇,,
{VILLAGE},基准村,农村社区,否
"""
PASSWORD = "benchmark-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _PeakRss:
    def __init__(self, pid: int):
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except Exception:  # noqa: BLE001 - process gone
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak


def _service_ops(n: int):
    import random

    from storage.choices import DEFAULT_CHOICES as C
    from storage.repository import WriteOp

    rng = random.Random(42)
    start = dt.date(2026, 1, 1)
    for _ in range(n):
        yield WriteOp("service", "insert", {
            "org_code": VILLAGE, "date": start + dt.timedelta(days=rng.randint(0, 300)),
            "category": rng.choice(C["service_category"]), "mode": rng.choice(C["service_mode"]),
            "target": rng.choice(C["service_target"]), "persons": rng.randint(1, 20),
            "provider": rng.choice(C["service_provider"]), "duration_hours": rng.choice([0.5, 1, 1.5, 2]),
            "satisfaction": rng.choice(C["satisfaction"]), "note": rng.choice(["", "电话回访满意", "送药上门"]) or None})


def raw_push_floor(server_db: Path, batch_sizes: list[int], dest: Path) -> float:
    """Seconds to write the rows the push wrote on the server (records, change log) with raw
    ``sqlite3.executemany``, in the push's batches with a commit each, into a fresh server database
    with the same schema and PRAGMAs: the SQL a push cannot avoid, with no Python checks at all."""
    import sqlite3

    from storage.db import SQLITE_PRAGMAS, open_server_database

    read = sqlite3.connect(server_db)
    tables = {}
    for table in ("service", "change_log"):
        where = "" if table == "service" else " WHERE record_type = 'service'"
        cur = read.execute(f"SELECT * FROM {table}{where} ORDER BY rowid")
        tables[table] = ([d[0] for d in cur.description], cur.fetchall())
    read.close()
    assert len({len(rows) for _, rows in tables.values()}) == 1, "one change-log row per new record"
    open_server_database(f"sqlite:///{dest}").dispose()
    conn = sqlite3.connect(dest, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    inserts = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
               for t, (cols, _) in tables.items()}
    started = time.perf_counter()
    done = 0
    for size in batch_sizes:
        conn.execute("BEGIN")
        for table, (_, rows) in tables.items():
            conn.executemany(inserts[table], rows[done:done + size])
        conn.execute("COMMIT")
        done += size
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sync")
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--db", help="server database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    root = Path(tempfile.mkdtemp(prefix="taizhang-bench-sync-"))
    os.environ["TAIZHANG_HOME"] = str(root / "client")
    db_url = args.db or f"sqlite:///{root / 'county.sqlite3'}"

    from county_server import cmd_admin
    from county_server.auth import add_account
    from county_server.models import create_server_tables
    from storage.db import open_database, open_server_database
    from storage.repository import Repository
    from sync.client import SyncClient

    # server database: org units and one village account
    (root / "orgs.csv").write_text(ORGS, encoding="utf-8")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        cmd_admin._load_orgs(argparse.Namespace(db=db_url, file=str(root / "orgs.csv")))
    engine = open_server_database(db_url)
    create_server_tables(engine)
    add_account(engine, "bench", PASSWORD, "village", VILLAGE)
    engine.dispose()

    port = _free_port()
    env = dict(os.environ, TAIZHANG_HOME=str(root / "server"))
    server = subprocess.Popen([sys.executable, "-c", "import sys; from county_server.cli import main; sys.exit(main())",
                               "--db", db_url, "serve", "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        import requests

        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if requests.get(url + "/api/v1/status", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        # the client: 100,000 pending changes
        local = open_database(root / "client" / "taizhang.sqlite3")
        repo = Repository(local, actor="基准测试")
        repo.bulk_write(_service_ops(args.changes))
        client = SyncClient(repo, url, "bench", retries=3, backoff=0.5, timeout=120)
        client.login(PASSWORD)

        # record the batches the client sent (each is settled once its answer is in), to send the
        # very same ones to the no-op endpoint; batches read ahead but never sent are not counted
        from sync.protocol import encode_push_rows as real_encode

        sent_batches: list[list] = []
        real_settle = client._settle

        def capture(changes, results, resolutions, **kwargs):
            sent_batches.append(list(changes))
            return real_settle(changes, results, resolutions, **kwargs)

        client._settle = capture
        rss = _PeakRss(server.pid)
        started = time.perf_counter()
        client.push()
        push_seconds = time.perf_counter() - started
        peak = rss.stop()
        del client._settle
        pushed = client.report.pushed
        assert repo.unsent_count() == 0, "push left changes unsent"
        assert client.report.applied == args.changes, client.report

        # baseline: the same batches, encoded the same way (JSON + gzip), to the no-op endpoint
        transport = client.transport
        encode_seconds = 0.0
        started = time.perf_counter()
        for i, rows in enumerate(sent_batches):
            t = time.perf_counter()
            body = real_encode(f"noop-{i}", rows)
            encode_seconds += time.perf_counter() - t
            transport.request("POST", "/noop", data=body, gzip_body=True)
        base_seconds = time.perf_counter() - started
        transport.close()
        local.dispose()

        # a second PC of the same village, signed in afresh, pulls everything (a new PC, or a full
        # re-pull after the server lost its cursor)
        other = open_database(root / "client2" / "taizhang.sqlite3")
        other_repo = Repository(other, actor="基准测试二")
        puller = SyncClient(other_repo, url, "bench", retries=3, backoff=0.5, timeout=120)
        puller.login(PASSWORD)
        started = time.perf_counter()
        puller.pull()
        pull_seconds = time.perf_counter() - started
        pulled = puller.report.pulled
        assert pulled >= args.changes, puller.report
        puller.transport.close()
        other.dispose()
    finally:
        server.terminate()
        server.wait(timeout=30)

    floor_seconds = None
    if not args.db:
        floor_seconds = raw_push_floor(root / "county.sqlite3", [len(b) for b in sent_batches], root / "floor.sqlite3")
    changes_per_s = pushed / push_seconds
    base_per_s = sum(len(b) for b in sent_batches) / base_seconds
    print(f"sync.changes: {pushed}")
    print(f"sync.changes_per_s: {changes_per_s:.0f}")
    print(f"sync.baseline_changes_per_s: {base_per_s:.0f}")
    print(f"sync.push_ratio: {changes_per_s / base_per_s:.2f}")
    print(f"sync.batch_size: {client.report.batch_size}")
    print(f"sync.batches: {len(sent_batches)}")
    print(f"sync.server_peak_mb: {peak / 1e6:.0f}")
    if floor_seconds is not None:
        print(f"sync.raw_sql_floor_s: {floor_seconds:.2f}  (push {push_seconds:.2f} s, baseline {base_seconds:.2f} s)")
        print(f"sync.push_ratio_ceiling: {base_seconds / (base_seconds - encode_seconds + floor_seconds):.2f}")
    print(f"sync.pull_changes_per_s: {pulled / pull_seconds:.0f}")
    print(f"sync.server_db: {'postgresql' if db_url.startswith('postgresql') else 'sqlite'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
