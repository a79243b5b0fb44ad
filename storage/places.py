"""Place names for statistical division codes: the county level and above (GB/T 2260) ship with the
program (storage/data/gbt2260_counties.csv, its source stated in the file); township and village
names arrive with the county's org tree (``org_unit`` records) at the first sync."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "gbt2260_counties.csv"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(line for line in f if not line.startswith("#"))
        next(rows)  # header
        return {code: name for code, name, _type in rows}


def county_name(code: str) -> str | None:
    """“吉林省长春市南关区” for any code starting with the county's six digits, or None if unknown."""
    code = (code or "")[:6]
    names = _names()
    county = names.get(code)
    if len(code) < 6 or county is None or code.endswith("00"):
        return None
    parts = [names.get(code[:2] + "0000"), names.get(code[:4] + "00"), county]
    return "".join(p for p in dict.fromkeys(parts) if p)


__all__ = ["county_name"]
