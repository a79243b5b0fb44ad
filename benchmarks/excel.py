"""``python -m benchmarks excel``: import a 100,000-row workbook and compare with bare readers.

Generates a workbook in the template layout (mixed record types, Chinese
text, ID numbers and phones as text, trainings and hours referring to their
people by name + ID number), then in the same run measures:

- the import (read, validate every cell, plan, commit through
  Repository.bulk_write into a fresh SQLite database), in a child process so
  that its peak memory is its own;
- merely iterating all cells with openpyxl read-only (baseline 1);
- merely reading all cells with python-calamine (baseline 2).

Prints ``excel.rows_per_s``, ``excel.vs_openpyxl`` (openpyxl iteration ÷
import), ``excel.vs_calamine`` (import ÷ calamine read), ``excel.peak_mb``.
Also ``excel.raw_write_s``: raw ``sqlite3.executemany`` of exactly the rows the import
wrote (records and change log; one transaction, same schema and PRAGMAs) — the
floor under any import on SQLite, and ``excel.raw_write_vs_calamine``.  An import must read the
file and write those rows, so ``excel.vs_calamine_floor`` = (calamine read + raw write) ÷
calamine read and ``excel.vs_openpyxl_ceiling`` = openpyxl iteration ÷ (calamine read + raw
write) bound what any import done one step after the other can reach on this machine.
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
from pathlib import Path

ORG = "220102001001"


def _records(total: int, seed: int = 7) -> dict[str, list[dict]]:
    from storage.choices import DEFAULT_CHOICES as C
    from storage.demo import id_number, person_name, phone

    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    n_staff, n_vol, n_teams, n_fac, n_org = total // 100, total // 25, 20, 60, 40
    n_training, n_hours = total // 10, total // 4
    n_service = total - (n_staff + n_vol + n_teams + n_fac + n_org + n_training + n_hours + 1)
    out: dict[str, list[dict]] = {t: [] for t in ("org_year", "facility", "staff", "training", "volunteer_team",
                                                  "volunteer", "volunteer_hours", "service", "social_org")}
    out["org_year"].append({"year": 2024, "households": 820, "population": 2460, "total_building_area": 5200})
    for i in range(n_fac):
        out["facility"].append({"name": f"幸福村第{i + 1}服务站", "category": rng.choice(C["facility_category"]),
                                "status": "在用", "building_area": rng.randint(100, 800),
                                "activity_area": rng.randint(10, 99), "daily_open_hours": 8,
                                "open_on_holidays": True, "address": f"幸福村{i % 12 + 1}组"})
    staff = []
    for i in range(n_staff):
        p = {"name": person_name(rng) + str(i), "gender": rng.choice(C["gender"]),
             "id_number": id_number(rng), "phone": phone(rng), "roles": [rng.choice(C["staff_role"])],
             "status": "在岗", "education": rng.choice(C["education"]), "joined_on": start - dt.timedelta(days=i)}
        staff.append(p)
        out["staff"].append(p)
    for i in range(n_training):
        p = staff[i % n_staff]
        out["training"].append({"_staff_id:name": p["name"], "_staff_id:id_number": p["id_number"],
                                "date": start + dt.timedelta(days=i % 300), "course": f"社会工作实务第{i}期",
                                "days": 1, "level": rng.choice(C["training_level"])})
    for i in range(n_teams):
        out["volunteer_team"].append({"name": f"第{i + 1}志愿服务队", "leader": person_name(rng),
                                      "party_backbone": i % 2 == 0})
    vols = []
    for i in range(n_vol):
        v = {"name": person_name(rng) + f"{i}", "gender": rng.choice(C["gender"]), "id_number": id_number(rng),
             "phone": phone(rng), "party_member": rng.random() < 0.3, "_team_id:name": f"第{i % n_teams + 1}志愿服务队",
             "skills": rng.sample(C["volunteer_skill"], 2)}
        vols.append(v)
        out["volunteer"].append(v)
    for i in range(n_hours):
        v = vols[i % n_vol]
        out["volunteer_hours"].append({"_volunteer_id:name": v["name"], "_volunteer_id:id_number": v["id_number"],
                                       "date": start + dt.timedelta(days=i % 300), "activity": f"关爱空巢老人{i}",
                                       "hours": 2.5, "beneficiary": "空巢老人"})
    for i in range(n_service):
        out["service"].append({"date": start + dt.timedelta(days=i % 300),
                               "category": rng.choice(C["service_category"]), "mode": rng.choice(C["service_mode"]),
                               "target": rng.choice(C["service_target"]), "persons": rng.randint(1, 30),
                               "provider": rng.choice(C["service_provider"]), "duration_hours": 1.5,
                               "satisfaction": rng.choice(C["satisfaction"]), "note": f"入户走访，第{i}次服务，情况良好"})
    for i in range(n_org):
        out["social_org"].append({"name": f"幸福村第{i + 1}文体协会", "org_type": rng.choice(C["social_org_type"]),
                                  "members": rng.randint(5, 80), "brand": i < 3})
    return out


def generate(path: Path, total: int) -> int:
    from exchange.writer import write_workbook
    from storage.choices import DEFAULT_CHOICES

    records = _records(total)
    write_workbook(path, org_code=ORG, org_name="幸福村（性能测试）", period=None, choices=DEFAULT_CHOICES,
                   rows=records, kind="template")
    return sum(len(v) for v in records.values())


def openpyxl_iterate(path: Path) -> float:
    from openpyxl import load_workbook

    t = time.perf_counter()
    wb = load_workbook(path, read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        ws.reset_dimensions()
        for row in ws.iter_rows(values_only=True):
            for _ in row:
                n += 1
    wb.close()
    return time.perf_counter() - t


def calamine_read(path: Path) -> float:
    import python_calamine

    t = time.perf_counter()
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    n = 0
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).iter_rows():
            n += len(row)
    wb.close()
    return time.perf_counter() - t


def _child(path: str, db: str) -> None:
    """Runs in a fresh process: import once, report time and this process's peak memory."""
    import resource

    from exchange.importer import import_workbook
    from storage.db import open_database
    from storage.repository import Repository

    engine = open_database(db)
    repo = Repository(engine, actor="性能测试", device_id=None)
    repo.choices()
    t = time.perf_counter()
    result = import_workbook(repo, path)
    seconds = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "write_seconds": result.write_seconds,
                      "peak_mb": peak_kb / 1024, "status": result.status,
                      "created": result.total("create"), "errors": [e.message for e in result.errors[:3]]}))


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    total = int(os.environ.get("EXCEL_BENCH_ROWS", "100000"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        t = time.perf_counter()
        rows = generate(path, total)
        print(f"excel.generate_s: {time.perf_counter() - t:.1f}")
        print(f"excel.rows: {rows}")
        print(f"excel.file_mb: {path.stat().st_size / 1e6:.1f}")
        env = dict(os.environ, TAIZHANG_HOME=tmp)
        proc = subprocess.run([sys.executable, "-m", "benchmarks", "excel", "--child", str(path),
                               str(Path(tmp) / "bench.sqlite3")], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            sys.exit(f"import failed:\n{proc.stderr[-3000:]}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        if child["status"] != "imported" or child["created"] != rows:
            sys.exit(f"import did not import everything: {child}")
        cal = calamine_read(path)
        opx = openpyxl_iterate(path)
        imp = child["seconds"]
        # the floor under any import: raw executemany of exactly the rows this import wrote (records,
        # change log) into a fresh database with the same schema and PRAGMAs, no Python checks
        from benchmarks.core import raw_baseline
        from storage.db import open_database

        open_database(Path(tmp) / "raw.sqlite3").dispose()
        raw_s, _raw_cpu, raw_rows = raw_baseline(Path(tmp) / "bench.sqlite3", Path(tmp) / "raw.sqlite3")
        print(f"excel.import_s: {imp:.2f}")
        print(f"excel.plan_s: {imp - child['write_seconds']:.2f}")
        print(f"excel.bulk_write_s: {child['write_seconds']:.2f}")
        print(f"excel.calamine_read_s: {cal:.2f}")
        print(f"excel.openpyxl_iterate_s: {opx:.2f}")
        print(f"excel.rows_per_s: {rows / imp:.0f}")
        print(f"excel.vs_openpyxl: {opx / imp:.2f}")
        print(f"excel.vs_calamine: {imp / cal:.2f}")
        print(f"excel.peak_mb: {child['peak_mb']:.0f}")
        print(f"excel.raw_write_s: {raw_s:.2f}  ({raw_rows} rows: records and change log)")
        print(f"excel.raw_write_vs_calamine: {raw_s / cal:.2f}")
        print(f"excel.vs_calamine_floor: {(cal + raw_s) / cal:.2f}")
        print(f"excel.vs_openpyxl_ceiling: {opx / (cal + raw_s):.2f}")


if __name__ == "__main__":
    main()
