"""The records behind an indicator's numerator, with the same filters the counting used."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from reports.facts import (CERTIFIED, COMMERCE, COMPREHENSIVE, ELDERLY, SOCIAL_WORK_STATION, facility_live,
                           is_committee, staff_in_post, trained_between, year_bounds)
from reports.indicators import BY_ID, IndicatorResult
from storage.models import table_for
from storage.schema import record_type
from storage.validation import mask


def _where(result: IndicatorResult):
    d = result.drill
    iid, year = d.indicator_id, d.year
    rt = BY_ID[iid].record_type
    t = table_for(rt)
    codes = list(d.village_codes)
    if rt == "facility":
        if iid == "I11":
            return t, and_(facility_live(t, year), t.c.category == SOCIAL_WORK_STATION,
                           t.c.org_code.in_(list(d.township_codes)))
        cond = facility_live(t, year)
        if iid in ("I1", "I2", "I4"):
            cond = and_(cond, t.c.category == COMPREHENSIVE)
        elif iid == "I3":
            cond = and_(cond, t.c.category.in_([COMPREHENSIVE, COMMERCE]))
        elif iid == "I6":
            cond = and_(cond, t.c.category == COMPREHENSIVE, t.c.building_area.isnot(None),
                        t.c.activity_area.isnot(None))
        elif iid == "I7":
            cond = and_(cond, t.c.kiosks > 0)
        elif iid == "I8":
            cond = and_(cond, t.c.category == ELDERLY)
        return t, and_(cond, t.c.org_code.in_(codes))
    if rt == "staff":
        cond = and_(staff_in_post(t, year), t.c.org_code.in_(codes))
        if iid in ("I12", "I13"):
            cond = and_(cond, t.c.social_work_cert.in_(CERTIFIED))
        elif iid == "I14":
            first, last = year_bounds(year)
            cond = and_(cond, is_committee(t), trained_between(t, first, last))
        return t, cond
    return t, and_(t.c.deleted.is_(False), t.c.org_code.in_(codes))  # social_org


def _chunks(seq, n=500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def record_ids(engine: Engine, result: IndicatorResult) -> list[str]:
    if result.drill is None:
        return []
    t, cond = _where(result)
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(t.c.id).where(cond).order_by(t.c.org_code, t.c.id))]


def drill_rows(engine: Engine, result: IndicatorResult, names: dict[str, str] | None = None,
               limit: int = 5000) -> tuple[str, list[str], list[list[str]]]:
    """(the record type's noun, column headers, rows as display text with PII masked)."""
    if result.drill is None:
        return "", [], []
    _, cond = _where(result)
    return table_rows(engine, BY_ID[result.indicator_id].record_type, cond, names, limit)


def table_rows(engine: Engine, rt_name: str, cond, names: dict[str, str] | None = None,
               limit: int = 5000) -> tuple[str, list[str], list[list[str]]]:
    """The records of a type matching a condition, as the list shows them (also behind a filled report cell);
    returns (the type's noun: 服务设施记录, 服务记录), headers, rows."""
    rt = record_type(rt_name)
    t = table_for(rt_name)
    cols = list(rt.list_columns)
    headers = ["村(社区)"] + [rt.field(c).label for c in cols]
    names = names or {}
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(cond).order_by(t.c.org_code, t.c.id).limit(limit)).mappings().all()
    out = []
    for r in rows:
        line = [names.get(r["org_code"], r["org_code"])]
        for c in cols:
            f = rt.field(c)
            v = r[c]
            if f.pii:
                line.append(mask(f.type, v))
            elif v is None:
                line.append("")
            elif isinstance(v, bool):
                line.append("是" if v else "否")
            elif isinstance(v, list):
                line.append("、".join(map(str, v)))
            elif isinstance(v, float):
                line.append(f"{v:g}")
            else:
                line.append(str(v))
        out.append(line)
    return rt.record_noun, headers, out
