"""Village export (Excel and CSV) and templates, as pure functions over a repository and a scope."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Callable, Iterator

from exchange.layout import Column, columns_for, ref_key_fields, sheet_types
from exchange.writer import cell_value, write_workbook
from storage import disclosure
from storage.repository import Repository
from storage.schema import RECORD_TYPES, RecordType
from storage.validation import mask


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    year, month = (int(x) for x in period.split("-"))
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _org_name(repo: Repository, org_code: str | None) -> str | None:
    if not org_code:
        return None
    rows = repo.list("org_unit", where={"org_code": org_code})
    if rows:
        return rows[0]["name"]
    ident = repo.get_setting("org_code")
    return repo.get_setting("org_name") if ident == org_code else None


def write_template(repo: Repository, path: str | Path, *, org_code: str | None = None,
                   period: str | None = None) -> Path:
    return write_workbook(path, org_code=org_code, org_name=_org_name(repo, org_code), period=period,
                          choices=repo.choices(), kind="template")


def records_for_export(repo: Repository, org_code: str, period: str | None = None, *, full: bool = False
                       ) -> dict[str, list[dict]]:
    """Live records of one org (dated records of one period only, if given), ref keys filled in.

    ID numbers and phones are masked (110105********1234) unless ``full``: a full export is the
    caller's explicit choice, checked and recorded with storage.disclosure."""
    bounds = period_bounds(period) if period else None
    out: dict[str, list[dict]] = {}
    by_id: dict[str, dict[str, dict]] = {}
    for rt in sheet_types():
        rows = repo.list(rt.name, org_code=org_code)
        by_id[rt.name] = {r["id"]: r for r in rows}
        if bounds and rt.date_field:
            rows = [r for r in rows if r[rt.date_field] and bounds[0] <= r[rt.date_field] < bounds[1]]
        rows.sort(key=lambda r: (str(r.get(rt.date_field) or "") if rt.date_field else "", r["created_at"]))
        out[rt.name] = rows
    for rt in sheet_types():
        for f in rt.fields:
            if f.type != "ref":
                continue
            parents = by_id.get(f.ref, {})
            keys = ref_key_fields(RECORD_TYPES[f.ref])
            if f.required:  # children of a deleted parent are hidden with it (see Repository.delete)
                out[rt.name] = [r for r in out[rt.name] if r.get(f.name) in parents]
            for row in out[rt.name]:
                parent_id = row.get(f.name)
                parent = parents.get(parent_id) if parent_id else None
                row[f"_{f.name}:#"] = parent_id
                for k in keys:
                    row[f"_{f.name}:{k.name}"] = parent.get(k.name) if parent else None
    if not full:
        _mask_records(out)
    return out


def _mask_records(records: dict[str, list[dict]]) -> None:
    for name, rows in records.items():
        rt = RECORD_TYPES[name]
        masked = [(f.name, f.type) for f in rt.fields if f.pii]
        for f in rt.fields:  # a child's reference written as its parent's ID number
            if f.type == "ref":
                masked += [(f"_{f.name}:{k.name}", k.type) for k in ref_key_fields(RECORD_TYPES[f.ref]) if k.pii]
        for row in rows:
            for key, field_type in masked:
                if row.get(key):
                    row[key] = mask(field_type, row[key])


def pii_types(records: dict[str, list[dict]]) -> list[str]:
    """The record types of an export that carry personal information and have rows (for the disclosure record)."""
    return [name for name, rows in records.items() if rows and RECORD_TYPES[name].pii_fields]


def export_workbook(repo: Repository, path: str | Path, *, org_code: str, period: str | None = None,
                    progress: Callable[[int], None] | None = None, full: bool = False,
                    purpose: str | None = None) -> tuple[Path, int]:
    """The workbook, masked unless ``full`` (then allowed by role, with a ``purpose``, and recorded)."""
    if full:
        purpose = disclosure.check_full_allowed(repo, purpose)
    records = records_for_export(repo, org_code, period, full=full)
    if full:  # recorded before the file exists: a failed write leaves a record too much, never one too few
        disclosure.record_disclosure(repo, action=disclosure.EXPORT_XLSX, record_types=pii_types(records),
                                     rows=sum(len(records[t]) for t in pii_types(records)), purpose=purpose,
                                     file_name=Path(path).name, org_code=org_code)
    path = write_workbook(path, org_code=org_code, org_name=_org_name(repo, org_code), period=period,
                          choices=repo.choices(), rows=records, kind="export", progress=progress)
    return path, sum(len(v) for v in records.values())


def _csv_rows(rt: RecordType, cols: list[Column], records: list[dict]) -> Iterator[list]:
    yield [c.header for c in cols]
    for r in records:
        row = []
        for c in cols:
            if c.kind == "field":
                v = cell_value(c, r.get(c.key))
            elif c.kind == "record_id":
                v = r.get("id")
            elif c.kind == "record_version":
                v = r.get("version")
            else:
                v = r.get(f"_{c.key}")
            row.append("" if v is None else (v.isoformat() if isinstance(v, dt.date) else v))
        yield row


def export_csv(repo: Repository, out_dir: str | Path, *, org_code: str, period: str | None = None,
               types: list[str] | None = None, full: bool = False, purpose: str | None = None) -> list[Path]:
    """One CSV per record type, UTF-8 with BOM (so Excel and WPS open Chinese text correctly).

    ID and phone columns are plain text in CSV; Excel may still show them as
    numbers when opening a CSV by double-click, which is why the import refuses
    numeric IDs rather than guessing.
    """
    if full:
        purpose = disclosure.check_full_allowed(repo, purpose)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = records_for_export(repo, org_code, period, full=full)
    if full:  # recorded before the files exist, as for the workbook
        shown = [t for t in pii_types(records) if not types or t in types]
        disclosure.record_disclosure(repo, action=disclosure.EXPORT_CSV, record_types=shown,
                                     rows=sum(len(records[t]) for t in shown), purpose=purpose,
                                     file_name="、".join(f"{RECORD_TYPES[t].label}.csv" for t in shown) or out_dir.name,
                                     org_code=org_code)
    written = []
    for rt in sheet_types():
        if types and rt.name not in types:
            continue
        path = out_dir / f"{rt.label}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(_csv_rows(rt, columns_for(rt), records[rt.name]))
        written.append(path)
    return written
