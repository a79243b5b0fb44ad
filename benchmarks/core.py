"""``python -m benchmarks core``: the repository's bulk path against raw sqlite3 executemany.

1. Generates N mixed records (default 100,000: service records, staff with
   trainings, volunteers with hours, teams, facilities, social organisations,
   yearly data; Chinese text, valid ID numbers and phones, some values typed the
   way Excel delivers them: "350平方米", "2024年3月5日", "是").
2. Writes them through ``Repository.bulk_write`` (validation ON, change log; the
   change log's payloads are the records' history) into a fresh database: ``core.bulk_records_per_s``.
3. Baseline in the same run: raw ``sqlite3.executemany`` writes exactly the same
   rows (the records and change-log rows the repository wrote, read
   back as tuples) in one transaction into another fresh database with the
   same schema and PRAGMAs: ``core.bulk_ratio`` = bulk records/s ÷ raw records/s.
4. ~200 interactive saves (``create``/``update``, each its own committed
   transaction: record + change log) on the filled database:
   ``core.save_ms`` (median).
5. ``core.peak_mb``: peak resident memory of this process during steps 1-4 (the
   generated records, the bulk write and the saves; before the baseline loads its rows).

Steps 2-3 run ``--rounds`` times (default 3) and the median ratio is reported,
with every round's ratio beside it: on a shared machine one pair of timings
can be off by a factor of two either way.

Targets (issue 2): bulk_ratio ≥ 0.5, save_ms ≤ 5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰建国建华志强春梅海燕文"
ACTIVITIES = ["敬老院慰问", "社区义诊", "环境整治", "防诈骗宣传", "关爱留守儿童", "助残服务", "垃圾分类宣传", "法律咨询"]
NOTES = [None, None, "电话回访满意", "协助办理医保报销", "送药上门", "调解邻里纠纷", "代办养老保险认证", "组织健康讲座"]
VILLAGES = [f"220102001{i:03d}" for i in range(1, 6)]


def _id_number(rng: random.Random) -> str:
    from storage.validation import id_check_char

    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 50))
    first17 = f"220102{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(n: int, seed: int = 7) -> list:
    """N mixed WriteOps, parents before children.

    As in an Excel import: parents (staff, volunteers, teams) carry the
    client-generated id their children refer to; other new records get theirs
    from the repository.
    """
    from storage.choices import DEFAULT_CHOICES as C
    from storage.repository import WriteOp, org_unit_id

    rng = random.Random(seed)
    ops = [WriteOp("org_unit", "insert", {"org_code": "220102000000", "name": "演示县", "level": "县"},
                   org_unit_id("220102000000")),
           WriteOp("org_unit", "insert", {"org_code": "220102001000", "name": "演示镇", "level": "乡镇/街道",
                                          "parent_code": "220102000000"}, org_unit_id("220102001000"))]
    for i, code in enumerate(VILLAGES):
        ops.append(WriteOp("org_unit", "insert", {"org_code": code, "name": f"第{i + 1}村", "level": "村/社区",
                                                  "parent_code": "220102001000", "urban_rural": "农村社区"},
                           org_unit_id(code)))
        ops.append(WriteOp("org_year", "insert", {"org_code": code, "year": 2024, "households": f"{rng.randint(300, 900)}户",
                                                  "population": rng.randint(1000, 3000), "urban_population": 0,
                                                  "total_building_area": "5,200㎡"}, None))
        for cat in ("综合服务设施/党群服务中心", "养老服务设施", "卫生室/社区卫生服务站", "便民商业网点"):
            ops.append(WriteOp("facility", "insert", {
                "org_code": code, "name": f"第{i + 1}村{cat.split('/')[0]}", "category": cat, "status": "在用",
                "building_area": f"{rng.randint(200, 600)}平方米", "activity_area": rng.randint(50, 200),
                "daily_open_hours": 8, "open_on_holidays": "是", "kiosks": 1, "ownership": "自有",
                "built_year": rng.randint(2000, 2022), "barrier_free": True, "address": f"第{i + 1}村{rng.randint(1, 9)}组"},
                None))
        teams = []
        for t in ("党员志愿服务队", "巾帼志愿服务队"):
            teams.append(_uuid(rng))
            ops.append(WriteOp("volunteer_team", "insert", {"org_code": code, "name": f"第{i + 1}村{t}",
                                                            "leader": _name(rng), "party_backbone": t.startswith("党员")},
                               teams[-1]))
        for k in range(4):
            ops.append(WriteOp("social_org", "insert", {"org_code": code, "name": f"第{i + 1}村协会{k + 1}",
                                                        "org_type": rng.choice(C["social_org_type"]),
                                                        "registration": "备案", "members": rng.randint(8, 60)},
                               None))
    day0 = dt.date(2024, 1, 1)
    while len(ops) < n:
        code = rng.choice(VILLAGES)
        kind = rng.random()
        if kind < 0.02:
            sid = _uuid(rng)
            ops.append(WriteOp("staff", "insert", {
                "org_code": code, "name": _name(rng), "gender": rng.choice(C["gender"]), "id_number": _id_number(rng),
                "phone": rng.choice(["138", "139", "186"]) + f"{rng.randint(0, 99_999_999):08d}",
                "political_status": rng.choice(C["political_status"]), "education": rng.choice(C["education"]),
                "roles": rng.sample(C["staff_role"], 2), "social_work_cert": "无",
                "joined_on": f"{rng.randint(2010, 2023)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
                "status": "在岗"}, sid))
            for _ in range(3):
                ops.append(WriteOp("training", "insert", {
                    "org_code": code, "staff_id": sid, "date": day0 + dt.timedelta(days=rng.randint(0, 300)),
                    "course": "社区治理能力提升培训", "days": rng.choice([0.5, 1, 2]), "level": rng.choice(C["training_level"])},
                    None))
        elif kind < 0.08:
            vid = _uuid(rng)
            ops.append(WriteOp("volunteer", "insert", {
                "org_code": code, "name": _name(rng), "gender": rng.choice(C["gender"]), "id_number": _id_number(rng),
                "phone": "139" + f"{rng.randint(0, 99_999_999):08d}", "party_member": rng.random() < 0.3,
                "registered": "否", "skills": "医疗、法律" if rng.random() < 0.5 else ["教育"]}, vid))
            for _ in range(3):
                ops.append(WriteOp("volunteer_hours", "insert", {
                    "org_code": code, "volunteer_id": vid, "date": f"2024-{rng.randint(1, 12)}-{rng.randint(1, 28)}",
                    "activity": rng.choice(ACTIVITIES), "hours": rng.choice([1, 2, 2.5, "3小时"]),
                    "beneficiary": "老年人"}, None))
        else:
            ops.append(WriteOp("service", "insert", {
                "org_code": code, "date": day0 + dt.timedelta(days=rng.randint(0, 330)),
                "category": rng.choice(C["service_category"]), "mode": rng.choice(C["service_mode"]),
                "target": rng.choice(C["service_target"]), "persons": rng.randint(1, 20),
                "provider": rng.choice(C["service_provider"]), "duration_hours": rng.choice([0.5, 1, 1.5, 2]),
                "satisfaction": rng.choice(C["satisfaction"]), "note": rng.choice(NOTES)}, None))
    return ops[:n]


def _fresh_db(directory: Path, name: str):
    from storage.db import open_database

    return open_database(directory / name)


def _tables():
    from storage.schema import write_order

    return list(write_order()) + ["change_log"]


def raw_baseline(src: Path, dest: Path) -> tuple[float, float, int]:
    """Raw executemany of exactly the rows the repository wrote, one transaction, same PRAGMAs."""
    read = sqlite3.connect(src)
    data = {}
    for table in _tables():
        cur = read.execute(f"SELECT * FROM {table}")
        cols = [d[0] for d in cur.description]
        data[table] = (cols, cur.fetchall())
    read.close()
    conn = sqlite3.connect(dest, isolation_level=None)
    from storage.db import SQLITE_PRAGMAS

    for pragma in SQLITE_PRAGMAS:  # exactly what the repository's connections get
        conn.execute(f"PRAGMA {pragma}")
    rows = sum(len(r) for _, r in data.values())
    gc.collect()
    start = time.perf_counter()
    cpu = time.process_time()
    conn.execute("BEGIN")
    for table, (cols, table_rows) in data.items():
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", table_rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    conn.close()
    return elapsed, cpu, rows


def interactive_saves(repo, count: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    timings = []
    made = []
    for i in range(count):
        start = time.perf_counter()
        if i % 2 == 0 or not made:
            rec = repo.create("service", {"org_code": rng.choice(VILLAGES), "date": "2024-06-01", "category": "养老",
                                          "mode": "上门", "target": "老年人", "persons": 2, "note": "上门探访"})
            made.append(rec["id"])
        else:
            repo.update("service", rng.choice(made), {"persons": rng.randint(1, 30), "note": "回访后修改人次"})
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def one_round(tmp: Path, n: int, saves: int, profile: bool) -> dict:
    """Bulk write into a fresh DB, optionally the interactive saves, then the raw baseline of the same rows."""
    from sqlalchemy import text

    from storage.repository import Repository

    ops = generate(n)
    engine = _fresh_db(tmp, "bulk.sqlite3")
    repo = Repository(engine, actor="基准测试", device_id="00000000-0000-4000-8000-0000000000be")
    repo.choices()
    gc.collect()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    start = time.perf_counter()
    cpu = time.process_time()
    results = repo.bulk_write(ops)
    out = {"bulk_s": time.perf_counter() - start, "bulk_cpu": time.process_time() - cpu}
    if profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(35)
    assert len(results) == n
    del results, ops
    with engine.connect() as conn:
        changes = conn.execute(text("SELECT count(*) FROM change_log")).scalar_one()
    assert changes == n
    out["saves"] = interactive_saves(repo, saves) if saves else []
    engine.dispose()
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the baseline's rows

    _fresh_db(tmp, "raw.sqlite3").dispose()  # same schema (created at head); same PRAGMAs in raw_baseline
    out["raw_s"], out["raw_cpu"], out["raw_rows"] = raw_baseline(tmp / "bulk.sqlite3", tmp / "raw.sqlite3")
    for name in ("bulk.sqlite3", "raw.sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            (tmp / (name + suffix)).unlink(missing_ok=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks core", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3,
                        help="bulk + baseline pairs; the median ratio is reported (shared machines are noisy)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first bulk write")
    args = parser.parse_args()

    rounds = []
    with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
        for i in range(max(1, args.rounds)):
            rounds.append(one_round(Path(tmp), args.records, args.saves if i == 0 else 0, args.profile and i == 0))
    n = args.records
    ratios = [r["raw_s"] / r["bulk_s"] for r in rounds]
    mid = rounds[ratios.index(statistics.median_low(ratios))]  # the round with the median ratio
    saves = rounds[0]["saves"]
    print(f"core.records: {n}")
    print(f"core.rounds: {len(rounds)}")
    print(f"core.bulk_ratio_each: {' '.join(f'{x:.2f}' for x in ratios)}")
    print(f"core.raw_rows: {mid['raw_rows']}")
    print(f"core.bulk_seconds: {mid['bulk_s']:.2f}")
    print(f"core.raw_seconds: {mid['raw_s']:.2f}")
    print(f"core.raw_records_per_s: {n / mid['raw_s']:.0f}")
    print(f"core.bulk_records_per_s: {n / mid['bulk_s']:.0f}")
    print(f"core.bulk_ratio: {statistics.median_low(ratios):.2f}")
    # CPU seconds of this process: steadier than wall time when other jobs share the machine
    cpu_ratios = [r["raw_cpu"] / r["bulk_cpu"] for r in rounds]
    print(f"core.bulk_cpu_ratio: {statistics.median(cpu_ratios):.2f}")
    if saves:  # --saves 0 measures the bulk write only
        print(f"core.save_ms: {statistics.median(saves):.2f}")
        print(f"core.save_p95_ms: {sorted(saves)[max(0, int(len(saves) * 0.95) - 1)]:.2f}")
    print(f"core.peak_mb: {rounds[0]['peak_mb']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
