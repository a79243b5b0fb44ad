"""``python -m benchmarks indicators``: the county 达标 report over a big county.

400 villages/communities in 20 townships, 1,000,000 service records, 10,000 staff
and 10,000 volunteers (plus facilities, trainings, teams, social orgs, org_year).

Generation: everything except the service records goes through
``Repository.bulk_write`` (validated, with change log and audit).  The million
service records would take about three minutes that way (≈6k rows/s with change
log and audit rows), so they are written with the repository's own prepared
row converter straight into the ``service`` table in one transaction; the report
reads only record tables, so the measured part is unaffected.

Measured (in a fresh child process, so the peak memory is the report's and not
the generator's): build_report for the county, three times; then writing the
Excel workbook.  Keys: ``indicators.county_s`` (first run in the fresh process),
``indicators.county_s_median``, ``indicators.peak_mb`` (peak RSS after the three
reports), ``indicators.excel_s`` and ``indicators.excel_peak_mb`` (after the workbook).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

VILLAGES = 400
TOWNSHIPS = 20
SERVICES = 1_000_000
STAFF_PER_VILLAGE = 25
VOLUNTEERS_PER_VILLAGE = 25
COUNTY = "220112000000"
YEAR = 2024


def generate(path: Path) -> dict:
    from storage.choices import DEFAULT_CHOICES as C
    from storage.db import open_database
    from storage.models import new_id, utcnow
    from storage.executor import _tables
    from storage.repository import Repository, WriteOp, org_unit_id
    from storage.validation import id_check_char

    rng = random.Random(7)
    engine = open_database(path)
    repo = Repository(engine, actor="基准测试")
    ops: list[WriteOp] = []
    add = ops.append
    add(WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "基准县", "level": "县"}, org_unit_id(COUNTY)))
    villages = []
    for t in range(1, TOWNSHIPS + 1):
        tcode = f"220112{t:03d}000"
        add(WriteOp("org_unit", "insert", {"org_code": tcode, "name": f"第{t}镇", "level": "乡镇/街道",
                                           "parent_code": COUNTY}, org_unit_id(tcode)))
        if t % 2:
            add(WriteOp("facility", "insert", {"org_code": tcode, "name": f"第{t}镇社工站", "category": "社会工作站(点)",
                                               "status": "在用", "building_area": 120}))
        for v in range(1, VILLAGES // TOWNSHIPS + 1):
            code = f"220112{t:03d}{v:03d}"
            urban = v <= 8
            villages.append(code)
            add(WriteOp("org_unit", "insert", {"org_code": code, "name": f"第{t}镇{v}{'社区' if urban else '村'}",
                                               "level": "村/社区", "parent_code": tcode,
                                               "urban_rural": "城市社区" if urban else "农村社区"}, org_unit_id(code)))
            hh = rng.randint(300, 2500)
            add(WriteOp("org_year", "insert", {"org_code": code, "year": YEAR, "households": hh, "population": hh * 3,
                                               "urban_population": hh * 3 if urban else 0,
                                               "total_building_area": hh * 20}))
            for cat, area in (("综合服务设施/党群服务中心", rng.randint(250, 900)), ("养老服务设施", 200),
                              ("便民商业网点", 150), ("应急避难场所", 3000), ("卫生室/社区卫生服务站", 80),
                              ("体育健身场地", None)):
                add(WriteOp("facility", "insert", {
                    "org_code": code, "name": f"{code}{cat[:4]}", "category": cat,
                    "status": "在用" if rng.random() < 0.9 else "停用", "building_area": area,
                    "activity_area": area * 0.6 if area else None, "daily_open_hours": rng.choice([6, 8, 10]),
                    "open_on_holidays": rng.random() < 0.5, "kiosks": 1 if urban else 0}))
            add(WriteOp("volunteer_team", "insert", {"org_code": code, "name": f"{code}党员志愿服务队",
                                                     "party_backbone": True}))
            for i in range(8):
                add(WriteOp("social_org", "insert", {"org_code": code, "name": f"{code}组织{i}", "org_type": "文体"}))
            for i in range(STAFF_PER_VILLAGE):
                first17 = f"220112{1960 + rng.randint(0, 40)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
                          f"{rng.randint(0, 999):03d}"
                sid = new_id()
                left = rng.random() < 0.1
                add(WriteOp("staff", "insert", {
                    "org_code": code, "name": f"人员{i}", "id_number": first17 + id_check_char(first17),
                    "roles": ["党组织书记", "村(居)委会主任"] if i == 0 else (["两委委员"] if i < 4 else ["网格员"]),
                    "social_work_cert": rng.choice(C["social_work_cert"]), "status": "离岗" if left else "在岗",
                    "left_on": dt.date(YEAR, 3, 1) if left else None}, sid))
                add(WriteOp("training", "insert", {"org_code": code, "staff_id": sid, "date": dt.date(YEAR, 5, 1),
                                                   "course": "培训", "days": rng.choice([1, 2, 3])}))
            for i in range(VOLUNTEERS_PER_VILLAGE):
                first17 = f"220112{1960 + rng.randint(0, 45)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
                          f"{rng.randint(0, 999):03d}"
                add(WriteOp("volunteer", "insert", {"org_code": code, "name": f"志愿者{i}",
                                                    "id_number": first17 + id_check_char(first17)}))
    started = time.perf_counter()
    repo.bulk_write(ops)
    bulk_s = time.perf_counter() - started

    started = time.perf_counter()
    w = _tables(engine.dialect).records["service"]
    now = utcnow()
    cats, modes, targets = C["service_category"], C["service_mode"], C["service_target"]
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(days=d) for d in range(366)]
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        batch = []
        for n in range(SERVICES):
            batch.append(w.insert_row({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "version": 1, "created_at": now,
                "updated_at": now, "updated_by": "基准测试", "deleted": n % 97 == 0,
                "org_code": villages[n % len(villages)], "date": days[rng.randrange(366)],
                "category": "特殊困难老年人探访" if n % 10 == 0 else cats[n % len(cats)],
                "mode": modes[n % 4], "target": targets[n % len(targets)], "persons": 1 + n % 5}))
            if len(batch) == 50_000:
                cur.executemany(w.insert_sql, batch)
                batch.clear()
        if batch:
            cur.executemany(w.insert_sql, batch)
        cur.close()
    service_s = time.perf_counter() - started
    engine.dispose()
    return {"records_bulk": len(ops), "bulk_s": bulk_s, "service_s": service_s}


def measure(path: str) -> None:
    """Child process: time the county report and the Excel export; print JSON."""
    import resource

    from reports.excel import write_report
    from reports.profiles import find_profile
    from reports.report import build_report
    from storage.db import make_engine

    engine = make_engine(path)
    profile = find_profile("沈阳市")
    times, cpu = [], []
    report = None
    for _ in range(3):
        report = None
        started, cpu_started = time.perf_counter(), time.process_time()
        report = build_report(engine, COUNTY, YEAR, profile)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)  # all threads; robust when the machine is busy
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_report(report, Path(tmp) / "county.xlsx")
    excel_s = time.perf_counter() - started
    excel_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"times": times, "cpu": cpu, "load": os.getloadavg()[0], "excel_s": excel_s, "peak_mb": peak_kb / 1024,
                      "excel_peak_mb": excel_peak_kb / 1024,
                      "villages": len(report.scope.villages), "findings": len(report.quality)}))


def generate_and_measure(module: str) -> tuple[dict, dict]:
    """Generate the county in a temporary file, then run ``module --measure PATH`` in a fresh child
    process (its peak memory is its own) and return (generation figures, the child's last JSON line)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        gen = generate(path)
        out = subprocess.run([sys.executable, "-m", module, "--measure", str(path)],
                             check=True, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        return gen, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        return
    gen, m = generate_and_measure("benchmarks.indicators")
    times = sorted(m["times"])
    print(f"indicators.villages: {m['villages']}")
    print(f"indicators.services: {SERVICES}")
    print(f"indicators.staff_volunteers: {VILLAGES * (STAFF_PER_VILLAGE + VOLUNTEERS_PER_VILLAGE)}")
    print(f"indicators.generate_bulk_s: {gen['bulk_s']:.1f} ({gen['records_bulk']} records via Repository.bulk_write)")
    print(f"indicators.generate_services_s: {gen['service_s']:.1f}")
    print(f"indicators.county_s: {m['times'][0]:.3f}")
    print(f"indicators.county_s_median: {times[1]:.3f}")
    print(f"indicators.county_cpu_s: {sorted(m['cpu'])[1]:.3f} (CPU time of the report, median; machine load {m['load']:.1f})")
    print(f"indicators.excel_s: {m['excel_s']:.3f}")
    print(f"indicators.peak_mb: {m['peak_mb']:.1f}")
    print(f"indicators.excel_peak_mb: {m['excel_peak_mb']:.1f}")
    print(f"indicators.target_county_s: 2.0 ({'met' if m['times'][0] <= 2.0 else 'NOT met'})")


if __name__ == "__main__":
    main()
