"""``python -m benchmarks fill``: the three example report templates (一表通) filled for the big county.

The county of ``benchmarks.indicators`` (400 villages in 20 townships, 1,000,000 service records,
10,000 staff and 10,000 volunteers) is generated once; then, in a fresh child process, each
shipped template is filled for the whole county (the per-village ones get 400 rows) and for one
township.  Keys: ``fill.<template>.county_s`` (first fill in the process), ``fill.<template>.township_s``,
``fill.peak_mb`` (peak RSS of the child after all fills), ``fill.cells_county`` (cells written).
"""

from __future__ import annotations

import json
import sys
import time

PERIODS = {"month": "2024-06", "quarter": "2024-Q2", "year": "2024"}


def measure(path: str) -> None:
    """Child process: fill every shipped template for the county and a township; print JSON."""
    import resource

    from benchmarks.indicators import COUNTY
    from reports.fill.fill import fill_template
    from reports.fill.library import builtin_templates
    from storage.db import make_engine

    engine = make_engine(path)
    township = COUNTY[:6] + "001000"
    out = {"templates": {}, "cells": 0}
    for entry in builtin_templates():
        period = PERIODS[entry.template.period_kind]
        started = time.perf_counter()
        result = fill_template(engine, entry.template, COUNTY, period)
        county_s = time.perf_counter() - started
        started = time.perf_counter()
        fill_template(engine, entry.template, township, period)
        out["templates"][entry.name] = {"county_s": county_s, "township_s": time.perf_counter() - started}
        out["cells"] += len(result.cells)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, ensure_ascii=False))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        return
    from benchmarks.indicators import generate_and_measure

    gen, m = generate_and_measure("benchmarks.fill")
    print(f"fill.generate_s: {gen['bulk_s'] + gen['service_s']:.1f}")
    for name, t in m["templates"].items():
        print(f"fill.{name}.county_s: {t['county_s']:.3f}")
        print(f"fill.{name}.township_s: {t['township_s']:.3f}")
    print(f"fill.cells_county: {m['cells']}")
    print(f"fill.peak_mb: {m['peak_mb']:.1f}")


if __name__ == "__main__":
    main()
