"""``python -m benchmarks storm``: a county's month end against one real server.

``[--db sqlite|postgresql] [--villages 400] [--townships 20] [--concurrency 50] [--changes 300] [--workers N]``

Builds one county of ``--townships`` townships and ``--villages`` village databases, each with
a month of about ``--changes`` unsent changes (inserts, updates of service records, deletes, and
in one village per township two edits of facility records a township collector corrected on
the server first: conflicts).  Starts a real ``taizhang-server serve`` (on a real PostgreSQL
started the way the tests start one, for ``postgresql``), then:

1. one village syncs alone (``storm.single_client_changes_per_s``);
2. every other village runs the real sync client (push, pull, sanity check), ``--concurrency``
   at a time, each in its own process, while every township's collector pulls its villages
   over and over; all of them through a small TCP proxy that cuts about ``CUT_SHARE`` of its
   connections somewhere in the server's answer (the clients retry);
3. the townships sync a last time, and every client is compared with the server.

Prints ``storm.*``: villages, changes (pushed in the storm), wall_s, changes_per_s,
single_client_changes_per_s, concurrency_ratio, p95_village_s, errors (syncs that failed after
the client's own retries), lost (records a PC holds that the server lacks, or a township lacks
from the server, or versions that differ without an open conflict), duplicated (change ids the
server logged twice, records the server holds that the village does not), server_peak_mb (all
server processes together), and for context conflicts, repaired (groups the clients' own
sanity check had to repair), cut_connections, load (1-minute load average before and after).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import socket
import sqlite3
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

COUNTY = "220102000000"
PASSWORD = "storm-password-1"
CUT_SHARE = 0.03  # of the proxy's connections, cut somewhere in the server's answer
EXTRA_FIELDS = {"service": "note", "facility": "address"}


def township_code(t: int) -> str:
    return f"{COUNTY[:6]}{t:03d}000"


def village_code(t: int, v: int) -> str:
    return f"{COUNTY[:6]}{t:03d}{v:03d}"


@dataclass
class Pc:
    """One PC of the storm: its account, token and database."""

    code: str
    user: str
    token: str
    db: str
    conflict: bool = False


# --------------------------------------------------------------------------- the proxy


class CuttingProxy:
    """TCP proxy to the server that cuts a share of its connections partway through the server's bytes."""

    def __init__(self, target_port: int, share: float, seed: int = 7):
        self.target_port, self.share = target_port, share
        self.rng = random.Random(seed)
        self.cuts = 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                cut_at = self.rng.randint(200, 60_000) if self.rng.random() < self.share else None
            threading.Thread(target=self._serve, args=(client, cut_at), daemon=True).start()

    def _serve(self, client: socket.socket, cut_at: int | None) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        up = threading.Thread(target=self._pump, args=(client, server, None), daemon=True)
        up.start()
        self._pump(server, client, cut_at)
        up.join(timeout=1)

    def _pump(self, source: socket.socket, target: socket.socket, cut_at: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if cut_at is not None and sent + len(data) >= cut_at:
                    target.sendall(data[:max(0, cut_at - sent)])
                    with self.lock:
                        self.cuts += 1
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


# --------------------------------------------------------------------------- building the county


def _month_ops(code: str, changes: int, seed: int):
    """(first inserts, later inserts, updates and deletes) of one village's month."""
    from storage.repository import WriteOp
    from tests.serverproc import ledger_ops

    n_update, n_delete = changes // 5, changes // 15
    n_insert = changes - n_update - n_delete
    inserts = ledger_ops(code, max(1, n_insert - 35), seed=seed)[:n_insert]
    services = [op for op in inserts if op.record_type == "service"]
    n_update, n_delete = min(n_update, len(services) // 2), min(n_delete, len(services) // 2)
    later = [WriteOp("service", "update", {"note": f"月底补记{i}"}, op.record_id) for i, op in enumerate(services[:n_update])]
    later += [WriteOp("service", "delete", {}, op.record_id) for op in services[len(services) - n_delete:]]
    return inserts, later


def _facilities(ops) -> list[str]:
    return [op.record_id for op in ops if op.record_type == "facility"][:2]


def _open_pc(db: str, actor: str):
    from storage import local
    from storage.db import open_database
    from storage.repository import Repository

    engine = open_database(db)
    repo = Repository(engine, actor=actor)
    repo.device_id = local.device_id(repo)
    return engine, repo


def build_village(args: tuple) -> int:
    """Writes a village's month into its database (``stage`` first: only its first inserts)."""
    from storage.repository import WriteOp

    db, code, changes, seed, stage = args
    engine, repo = _open_pc(db, f"村{code[-3:]}")
    try:
        inserts, later = _month_ops(code, changes, seed)
        if stage == "first":
            repo.bulk_write(inserts[:40])
        elif stage == "rest":
            repo.bulk_write(inserts[40:])
            edits = [WriteOp("facility", "update", {"address": f"村民自报地址{i}"}, rid)
                     for i, rid in enumerate(_facilities(inserts))]
            repo.bulk_write(edits + later)
        else:
            repo.bulk_write(inserts)
            repo.bulk_write(later)
        return repo.unsent_count()
    finally:
        engine.dispose()


def _client(pc: Pc, url: str, repo):
    from sync.client import SyncClient

    client = SyncClient(repo, url, pc.user, retries=12, backoff=0.2, timeout=600)
    client.transport.token = pc.token  # signed in at setup, as a PC whose token is in its keyring
    return client


def sync_pc(args: tuple) -> dict:
    """One PC's whole sync (in a pool process): its time and report, or its error."""
    pc, url = args
    engine, repo = _open_pc(pc.db, pc.user)
    client = _client(pc, url, repo)
    start = time.perf_counter()
    try:
        report = client.sync()
        return {"code": pc.code, "seconds": time.perf_counter() - start, "pushed": report.pushed,
                "conflicts": report.conflicts, "rejected": report.rejected, "unsent": report.unsent,
                "repaired": len(report.mismatches), "error": None}
    except Exception as exc:  # noqa: BLE001 - counted, the storm goes on
        return {"code": pc.code, "seconds": time.perf_counter() - start, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        client.transport.close()
        engine.dispose()


def township_loop(pcs: list[Pc], url: str, ready, stop, results) -> None:
    """(own process) Every township collector pulls its villages again and again until ``stop``."""
    import sync.client  # noqa: F401 - imported before saying ready

    _as_a_pc()
    def one(pc: Pc) -> None:
        engine, repo = _open_pc(pc.db, pc.user)
        client = _client(pc, url, repo)
        pulls, errors = 0, []
        try:
            while not stop.is_set():
                try:
                    client.pull()
                    pulls += 1
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{type(exc).__name__}: {exc}")
                stop.wait(1.0)
        finally:
            client.transport.close()
            engine.dispose()
        results.put({"code": pc.code, "pulls": pulls, "errors": errors})

    threads = [threading.Thread(target=one, args=(pc,)) for pc in pcs]
    for t in threads:
        t.start()
    ready.set()
    for t in threads:
        t.join()


def _template(work: Path) -> Path:
    from storage.db import open_database

    path = work / "template.sqlite3"
    open_database(path).dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _accounts(url: str, pcs: list[Pc], roles: dict[str, str]) -> None:
    """Accounts and signed-in devices straight into the server database (setup, not measured):
    400 scrypt hashes and sign-ins would add minutes and measure nothing of the month end."""
    import uuid

    from county_server.auth import hash_password, token_hash
    from county_server.models import Account, Device, create_server_tables, utcnow
    from storage.db import open_server_database

    engine = open_server_database(url)
    create_server_tables(engine)
    hashed, now = hash_password(PASSWORD), utcnow()
    import datetime as dt

    with engine.begin() as conn:
        for pc in pcs:
            account = conn.execute(Account.__table__.insert().values(
                name=pc.user, password_hash=hashed, role=roles[pc.code], org_code=pc.code, disabled=False,
                created_at=now)).inserted_primary_key[0]
            conn.execute(Device.__table__.insert().values(
                id=str(uuid.uuid4()), account_id=account, client_device_id=str(uuid.uuid4()), device_name=pc.user,
                token_hash=token_hash(pc.token), created_at=now, expires_at=now + dt.timedelta(days=30)))
    engine.dispose()


def _load_orgs(url: str, work: Path, townships: int, per_township: int) -> None:
    import argparse as ap

    from county_server import cmd_admin

    lines = ["区划代码,名称,城乡分类,易地扶贫搬迁集中安置社区", f"{COUNTY},风暴县,,"]
    for t in range(1, townships + 1):
        lines.append(f"{township_code(t)},第{t}镇,,")
        lines += [f"{village_code(t, v)},第{t}镇{v}村,农村社区,否" for v in range(1, per_township + 1)]
    path = work / "orgs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cmd_admin._load_orgs(ap.Namespace(db=url, file=str(path)))


# --------------------------------------------------------------------------- comparing


def _live(conn, prefix: str) -> dict[tuple[str, str], int]:
    from sqlalchemy import select

    from storage.models import table_for
    from storage.schema import RECORD_TYPES

    out = {}
    for name in RECORD_TYPES:
        if name == "org_unit":
            continue
        t = table_for(name)
        for rid, version in conn.execute(select(t.c.id, t.c.version).where(
                t.c.deleted.is_(False), t.c.org_code.like(prefix + "%"))):
            out[(name, rid)] = version
    return out


def _open_conflicts(conn) -> set[str]:
    from sqlalchemy import select

    from storage.models import Conflict

    return set(conn.execute(select(Conflict.record_id).where(Conflict.resolved_at.is_(None))).scalars())


def compare(url: str, pcs: list[Pc], scope) -> tuple[int, int]:
    """(lost, duplicated) over every PC: see the module docstring."""
    from sqlalchemy import func, select

    from storage.db import make_engine, open_server_database
    from storage.models import ChangeLog

    server = open_server_database(url)
    lost = duplicated = 0
    with server.connect() as sconn:
        duplicated += sconn.execute(select(func.count() - func.count(func.distinct(ChangeLog.change_id)))
                                    .select_from(ChangeLog)).scalar()
        for pc in pcs:
            held = _live(sconn, scope(pc))
            engine = make_engine(pc.db)
            with engine.connect() as conn:
                mine, conflicted = _live(conn, scope(pc)), _open_conflicts(conn)
            engine.dispose()
            lost += len(set(mine) - set(held))
            lost += sum(1 for key, v in mine.items() if key in held and held[key] != v and key[1] not in conflicted)
            if pc.user.startswith("t"):
                lost += len(set(held) - set(mine))  # a township must have received all of its villages'
            else:
                duplicated += len(set(held) - set(mine))
    server.dispose()
    return lost, duplicated


# --------------------------------------------------------------------------- the run


class ServerMemory:
    """Peak RSS of the server and all its worker processes together."""

    def __init__(self, pid: int):
        import psutil

        self.root = psutil.Process(pid)
        self.peak = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self.stopped.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    def stop(self) -> float:
        self.stopped.set()
        self.thread.join()
        return self.peak / 1024 / 1024


def run(db: str = "sqlite", villages: int = 400, townships: int = 20, concurrency: int = 50, changes: int = 300,
        workers: int | None = None, work: Path | None = None, log=print) -> dict:
    import secrets

    from tests.serverproc import ServerProcess

    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="taizhang-storm-"))
    per_township = max(1, villages // townships)
    workers = workers or (2 if db == "postgresql" else 1)
    cluster = None
    load_before = os.getloadavg()[0]
    try:
        if db == "postgresql":
            from tests.postgres import PostgresCluster, _pg_bindir

            cluster = PostgresCluster(_pg_bindir())
            cluster.start()
            url = cluster.url(cluster.create_database("storm"))
        else:
            url = f"sqlite:///{work / 'county.sqlite3'}"

        log(f"准备：{townships} 个乡镇、{townships * per_township} 个村，每村约 {changes} 条变更…")
        from storage.db import open_server_database

        open_server_database(url).dispose()
        _load_orgs(url, work, townships, per_township)
        template = _template(work)
        village_pcs, township_pcs, roles = [], [], {}
        for t in range(1, townships + 1):
            code = township_code(t)
            roles[code] = "township"
            township_pcs.append(Pc(code, f"t{code}", secrets.token_urlsafe(24), str(work / f"t{code}.sqlite3")))
            for v in range(1, per_township + 1):
                vcode = village_code(t, v)
                roles[vcode] = "village"
                village_pcs.append(Pc(vcode, f"v{vcode}", secrets.token_urlsafe(24), str(work / f"v{vcode}.sqlite3"),
                                      conflict=(v == 2)))
        for pc in village_pcs + township_pcs:
            shutil.copyfile(template, pc.db)
        _accounts(url, village_pcs + township_pcs, roles)

        ctx = mp.get_context("spawn")
        with ctx.Pool(min(2, os.cpu_count() or 1)) as builders:
            builders.map(build_village, [(pc.db, pc.code, changes, i, "first" if pc.conflict else "all")
                                         for i, pc in enumerate(village_pcs)])

        server = ServerProcess(url, home=work / "server", extra_args=["--workers", str(workers)]).start()
        try:
            # earlier in the month: conflict villages synced once, their township corrected two facilities
            conflict_pcs = [pc for pc in village_pcs if pc.conflict]
            for pc in conflict_pcs:
                assert sync_pc((pc, server.url))["error"] is None
            for tpc in township_pcs:
                assert sync_pc((tpc, server.url))["error"] is None
                engine, repo = _open_pc(tpc.db, tpc.user)
                for pc in conflict_pcs:
                    if pc.code.startswith(tpc.code[:9]):
                        inserts, _ = _month_ops(pc.code, changes, village_pcs.index(pc))
                        for rid in _facilities(inserts):
                            repo.update("facility", rid, {"address": "乡镇核实后的地址"})
                engine.dispose()
                assert sync_pc((tpc, server.url))["error"] is None
            with ctx.Pool(min(2, os.cpu_count() or 1)) as builders:
                builders.map(build_village, [(pc.db, pc.code, changes, village_pcs.index(pc), "rest")
                                             for pc in conflict_pcs])

            proxy = CuttingProxy(server.port, CUT_SHARE)
            memory = ServerMemory(server.proc.pid)
            alone, rest = village_pcs[0], village_pcs[1:]
            with ctx.Pool(concurrency, initializer=_as_a_pc) as pool:
                pool.map(_warm, range(concurrency))  # imports done before the clock starts
                single = pool.apply(sync_pc, ((alone, proxy.url),))  # one PC alone, as niced as the rest
                log(f"单独一个村：{single}")
                ready, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
                townships_proc = ctx.Process(target=township_loop,
                                             args=(township_pcs, proxy.url, ready, stop, results))
                townships_proc.start()
                ready.wait(300)
                log(f"月底风暴：{len(rest)} 个村，每次 {concurrency} 个同时同步，{townships} 个乡镇同时下载…")
                start = time.perf_counter()
                outcomes = []
                for n, outcome in enumerate(pool.imap_unordered(sync_pc, [(pc, proxy.url) for pc in rest]), 1):
                    outcomes.append(outcome)
                    if outcome["error"]:
                        log(f"  {outcome['code']} 出错：{outcome['error'][:300]}")
                    if n % 50 == 0:
                        log(f"  已完成 {n}/{len(rest)}（{time.perf_counter() - start:.0f} 秒）")
                wall = time.perf_counter() - start
                stop.set()
                township_results = [results.get(timeout=900) for _ in township_pcs]
                townships_proc.join(timeout=900)
            final = [sync_pc((tpc, server.url)) for tpc in township_pcs]  # the collectors' last sync
            peak_mb = memory.stop()
            proxy.close()
            lost_v, dup_v = compare(url, village_pcs, lambda pc: pc.code)
            lost_t, dup_t = compare(url, township_pcs, lambda pc: pc.code[:9])
        finally:
            server.stop()

        errors = [o for o in [single, *outcomes, *final] if o["error"]]
        errors_in_pulls = sum(len(r["errors"]) for r in township_results)
        pushed = sum(o.get("pushed", 0) for o in outcomes)
        single_rate = single["pushed"] / single["seconds"]
        times = sorted(o["seconds"] for o in outcomes)
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else 0.0
        result = {
            "storm.db": db, "storm.workers": workers,
            "storm.villages": len(village_pcs), "storm.townships": len(township_pcs),
            "storm.changes": pushed, "storm.wall_s": round(wall, 2),
            "storm.changes_per_s": round(pushed / wall, 1),
            "storm.single_client_changes_per_s": round(single_rate, 1),
            "storm.concurrency_ratio": round(pushed / wall / single_rate, 2),
            "storm.p95_village_s": round(p95, 2), "storm.median_village_s": round(statistics.median(times), 2),
            "storm.errors": len(errors) + errors_in_pulls,
            "storm.lost": lost_v + lost_t, "storm.duplicated": dup_v + dup_t,
            "storm.server_peak_mb": round(peak_mb, 1),
            "storm.conflicts": sum(o.get("conflicts", 0) for o in outcomes),
            "storm.repaired": sum(o.get("repaired", 0) for o in [*outcomes, *final]),
            "storm.township_pulls": sum(r["pulls"] for r in township_results),
            "storm.cut_connections": proxy.cuts,
            "storm.load": f"{load_before:.2f} → {os.getloadavg()[0]:.2f}",
        }
        result["storm.error_messages"] = Counter(e["error"][:120] for e in errors).most_common(3)
        return result
    finally:
        if cluster is not None:
            cluster.stop()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _as_a_pc() -> None:
    """(each client process) Below the server's CPU priority: the villages' and townships' PCs are other
    machines in a county; on the one machine of the benchmark 50 runnable client processes would
    otherwise starve the server they are waiting for."""
    os.nice(10)


def _warm(_n: int) -> None:
    import sync.client  # noqa: F401 - the pool's processes import the client before the clock starts
    import tests.serverproc  # noqa: F401


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks storm", description="月底风暴：全县同时同步")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--villages", type=int, default=400)
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--changes", type=int, default=300, help="每村本月的变更数（约）")
    parser.add_argument("--workers", type=int, default=None, help="服务器工作进程数（默认：PostgreSQL 2，SQLite 1）")
    args = parser.parse_args()
    result = run(args.db, args.villages, args.townships, args.concurrency, args.changes, args.workers,
                 log=lambda m: print(m, flush=True))
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0
