"""The read API the desktop uses: Qt-free queries that pages and table models call from read jobs.

Nothing here writes, and nothing here knows Qt: a page runs these functions inside
``desktop.ui.jobs.op`` (a worker thread; WAL lets readers run beside the writer) and shows the
result when it arrives.  The pages and table models build no SQL of their own.

- record lists: :class:`RecordReader` — the ordered ids (SQLite rowids, packed) matching a
  :class:`RecordFilter` and a sort, and the display rows for a page of those ids;
- org units in a scope (:func:`units_in_scope`);
- the month review: the villages of a scope with their period state and month counts
  (:func:`review_rows`), and one village's records of the month (:func:`month_records`);
- a month's record counts per type for one unit, or per unit for a scope
  (:func:`month_records_per_type`, :func:`month_records_per_unit`).
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage.orgcode import LEVEL_LABELS, OrgCode, Scope
from storage.schema import RECORD_TYPES, Field, RecordType, record_type
from storage.validation import display_text, normalize_text, stored_value

_DIGITS = re.compile(r"^\d+[Xx]?$")


# --------------------------------------------------------------------------- record lists


@dataclass
class RecordFilter:
    """What a list shows: search text, exact-match filters, a date range, live or deleted rows."""

    search: str = ""
    equals: dict[str, str] = field(default_factory=dict)  # field name -> choice value
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Column:
    key: str  # field name, or "_parent" for the parent's name
    header: str
    field: Field | None
    sql: str  # SQL expression for SELECT and ORDER BY (table alias ``t``)


def columns_for(rt: RecordType) -> list[Column]:
    """The list columns of a type (``RecordType.list_columns``; a child type shows its parent's name first)."""
    cols = []
    if rt.parent and rt.parent_field:
        parent_field = rt.field(rt.parent_field)
        cols.append(Column("_parent", parent_field.label, None,
                           f'(SELECT p.name FROM "{rt.parent}" p WHERE p.id = t."{rt.parent_field}")'))
    for name in rt.list_columns:
        f = rt.field(name)
        header = f"{f.label}（{f.unit}）" if f.unit and f.unit != f.label else f.label
        cols.append(Column(name, header, f, f't."{name}"'))
    return cols


def display_value(f: Field | None, value: Any) -> str:
    """A stored (raw SQLite) value as a list shows it, as everywhere else (PII masked)."""
    return display_text(f, stored_value(f, value))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(rt: RecordType, flt: RecordFilter, org_code: str | None) -> tuple[str, list]:
    """SQL WHERE clause (table alias ``t``) and parameters for a filter."""
    # With a date range the date index is the selective one: a unary + keeps SQLite from choosing the
    # (org_code, deleted) index, which matches every row of the village and needs a sort (33 → 19 ms).
    ranged = bool(rt.date_field and (flt.date_from or flt.date_to))
    plus = "+" if ranged else ""
    clauses = [f"{plus}t.deleted = ?"]
    params: list[Any] = [1 if flt.deleted else 0]
    if org_code:
        clauses.append(f"{plus}t.org_code = ?")
        params.append(org_code)
    for name, value in flt.equals.items():
        if value in (None, ""):
            continue
        f = rt.field(name)
        if f.type == "multichoice":
            # JSON arrays may be stored with \u escapes: compare decoded items, not text
            clauses.append(f'EXISTS (SELECT 1 FROM json_each(t."{name}") WHERE json_each.value = ?)')
            params.append(value)
        else:
            clauses.append(f't."{name}" = ?')
            params.append(value)
    if ranged:
        if flt.date_from:
            clauses.append(f't."{rt.date_field}" >= ?')
            params.append(flt.date_from.isoformat())
        if flt.date_to:
            clauses.append(f't."{rt.date_field}" <= ?')
            params.append(flt.date_to.isoformat())
    q = normalize_text(flt.search).replace(" ", "") if flt.search else ""
    if q:
        ors, ps = [], []
        digits = bool(_DIGITS.match(q))
        for name in rt.search_fields:
            f = rt.field(name)
            if f.type in ("id_number", "phone"):
                if digits:  # "last digits of the ID or phone"
                    ors.append(f't."{name}" LIKE ? ESCAPE \'\\\'')
                    ps.append(f"%{_like_escape(q.upper() if f.type == 'id_number' else q)}")
            else:
                ors.append(f't."{name}" LIKE ? ESCAPE \'\\\'')
                ps.append(f"%{_like_escape(q)}%")
        if rt.parent and rt.parent_field:
            ors.append(f'(SELECT p.name FROM "{rt.parent}" p WHERE p.id = t."{rt.parent_field}") LIKE ? ESCAPE \'\\\'')
            ps.append(f"%{_like_escape(q)}%")
        if not ors:
            ors.append("0")
        clauses.append("(" + " OR ".join(ors) + ")")
        params.extend(ps)
    return " AND ".join(clauses), params


class RecordReader:
    """One record type's list for one org unit: ordered ids for a filter and sort, rows for ids.

    Ids are SQLite rowids in a packed array (100,000 of them ≈ 0.8 MB, no Python int objects), so
    a model can hold a whole result and fetch only the rows it shows.  Any thread may call it: each
    call takes its own pooled connection.
    """

    def __init__(self, engine: Engine, type_name: str, org_code: str | None):
        self.engine = engine
        self.rt = record_type(type_name)
        self.org_code = org_code
        self.columns = columns_for(self.rt)

    def order_by(self, sort_column: int | None = None, descending: bool = False) -> str:
        if sort_column is None or not 0 <= sort_column < len(self.columns):
            if self.rt.date_field:
                return f't."{self.rt.date_field}" DESC, t.rowid DESC'
            if "name" in self.rt.field_names:
                return 't."name" COLLATE PINYIN ASC, t.rowid ASC'
            return "t.rowid ASC"
        direction = "DESC" if descending else "ASC"
        col = self.columns[sort_column]
        # names and other free text in pinyin order (storage.collation), not by character code
        collate = " COLLATE PINYIN" if col.field is None or col.field.type == "text" else ""
        return f"{col.sql}{collate} {direction}, t.rowid {direction}"

    def condition(self, flt: RecordFilter, sort_column: int | None = None,
                  descending: bool = False) -> tuple[str, tuple, str]:
        """The list as shown, for a printout of it: (WHERE condition, its parameters, ORDER BY clause)
        over table alias ``t`` (``exchange.pdf.LedgerSelection`` takes them as they are)."""
        where, params = build_where(self.rt, flt, self.org_code)
        return where, tuple(params), f"ORDER BY {self.order_by(sort_column, descending)}"

    def total_fields(self) -> list[Field]:
        """The amounts a 合计 line adds up for the filtered rows: 人次 of services, 小时 of hours/trainings."""
        return [f for f in self.rt.fields if self.rt.date_field and f.type in ("int", "decimal")
                and f.unit in ("人次", "小时", "天")]

    def totals(self, flt: RecordFilter) -> dict[str, float]:
        """The sums over a filter, by unit (one SQL aggregate, never the rows)."""
        fields = self.total_fields()
        if not fields:
            return {}
        where, params = build_where(self.rt, flt, self.org_code)
        sums = ", ".join(f'COALESCE(SUM(t."{f.name}"), 0)' for f in fields)
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(f'SELECT {sums} FROM "{self.rt.name}" t WHERE {where}', tuple(params)).first()
        return {f.unit: float(v or 0) for f, v in zip(fields, row)}

    def id_query(self, flt: RecordFilter, sort_column: int | None = None,
                 descending: bool = False) -> tuple[str, tuple]:
        """The SQL and parameters of :meth:`ids` (also a cache key: equal queries, equal results)."""
        where, params = build_where(self.rt, flt, self.org_code)
        return (f'SELECT t.rowid FROM "{self.rt.name}" t WHERE {where} '
                f'ORDER BY {self.order_by(sort_column, descending)}', tuple(params))

    def ids(self, flt: RecordFilter, sort_column: int | None = None, descending: bool = False) -> array:
        return self.run_id_query(*self.id_query(flt, sort_column, descending))

    def run_id_query(self, sql: str, params: tuple) -> array:
        # a plain DB-API cursor, streamed into a packed array: 100,000 ids without 100,000 Row objects
        with self.engine.connect() as conn:
            cur = conn.connection.cursor()
            try:
                cur.execute(sql, params)
                return array("q", (r[0] for r in cur))
            finally:
                cur.close()

    def rows(self, rowids) -> list[tuple[str | None, int | None, tuple[str, ...]]]:
        """(record id, version, display texts) for each rowid, in the order given; a row deleted since
        the id query comes back as (None, None, empty texts)."""
        rowids = list(rowids)
        if not rowids:
            return []
        select_list = ", ".join(c.sql for c in self.columns)
        sql = (f'SELECT t.rowid, t.id, t.version, {select_list} FROM "{self.rt.name}" t '
               f'WHERE t.rowid IN ({", ".join("?" * len(rowids))})')
        with self.engine.connect() as conn:
            fetched = {r[0]: r for r in conn.exec_driver_sql(sql, tuple(rowids))}
        fields = [c.field for c in self.columns]
        out = []
        for rid in rowids:
            r = fetched.get(rid)
            if r is None:
                out.append((None, None, ("",) * len(fields)))
            else:
                out.append((r[1], r[2], tuple(display_value(f, v) for f, v in zip(fields, r[3:]))))
        return out

    def rowid_of(self, record_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(f'SELECT rowid FROM "{self.rt.name}" WHERE id = ?', (record_id,)).scalar()


# --------------------------------------------------------------------------- org units


def units_in_scope(engine: Engine, scope: Scope, *, level: str | None = None) -> list[dict]:
    """Live org units in a scope, by code; ``level`` ("county"/"township"/"village") narrows them."""
    from storage.models import table_for

    ou = table_for("org_unit")
    stmt = select(ou.c.id, ou.c.org_code, ou.c.name, ou.c.level, ou.c.urban_rural).where(
        ou.c.deleted.is_(False), scope.sql(ou.c.org_code)).order_by(ou.c.org_code)
    if level is not None:
        stmt = stmt.where(ou.c.level == LEVEL_LABELS[level])
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def latest_base_year(engine: Engine, until: int) -> int | None:
    """The latest year (not after ``until``) that has 年度基础数据 anywhere."""
    from storage.models import table_for

    oy = table_for("org_year")
    with engine.connect() as conn:
        return conn.execute(select(func.max(oy.c.year)).where(oy.c.deleted.is_(False), oy.c.year <= until)).scalar()


def records_by_id(engine: Engine, wanted: list[tuple[str, str]]) -> list[tuple[str, dict]]:
    """The stored rows of (record type, id) pairs, in that order; ids not found are left out."""
    from storage.models import table_for

    out = []
    with engine.connect() as conn:
        for type_name, rid in wanted:
            t = table_for(type_name)
            row = conn.execute(select(t).where(t.c.id == rid)).mappings().first()
            if row is not None:
                out.append((type_name, dict(row)))
    return out


# --------------------------------------------------------------------------- month review


def month_records(engine: Engine, org_code: str, period: str) -> list[tuple[str, dict]]:
    """The records that belong to a village's month (types a date places in it), oldest first."""
    from storage import periods as P
    from storage.models import table_for

    start, end = P.month_bounds(period)
    out = []
    with engine.connect() as conn:
        for name in P.dated_types():
            rt = RECORD_TYPES[name]
            t = table_for(name)
            col = t.c[rt.date_field]
            for row in conn.execute(select(t).where(t.c.org_code == org_code, t.c.deleted.is_(False),
                                                    col >= start, col < end).order_by(col)).mappings():
                out.append((name, dict(row)))
    return out


def _month_record_counts(engine: Engine, scope: Scope, period: str) -> dict[tuple[str, str], int]:
    """Live records dated in the month, by (record type, unit), for the units of a scope."""
    from storage import periods as P
    from storage.models import table_for

    start, end = P.month_bounds(period)
    counts: dict[tuple[str, str], int] = {}
    with engine.connect() as conn:
        for name in P.dated_types():
            t = table_for(name)
            col = t.c[RECORD_TYPES[name].date_field]
            for code, n in conn.execute(select(t.c.org_code, func.count()).where(
                    scope.sql(t.c.org_code), t.c.deleted.is_(False), col >= start, col < end)
                    .group_by(t.c.org_code)):
                counts[(name, code)] = n
    return counts


def month_records_per_type(engine: Engine, org_code: str, period: str) -> dict[str, int]:
    """One unit's live records of the month per dated type (what a submission covers), by type name."""
    from storage import periods as P

    counts = _month_record_counts(engine, OrgCode(org_code).scope, period)
    return {name: sum(n for (t, _code), n in counts.items() if t == name) for name in P.dated_types()}


def month_records_per_unit(engine: Engine, scope: Scope, period: str) -> dict[str, int]:
    """How many records each unit of the scope has in the month (all dated types together)."""
    out: dict[str, int] = {}
    for (_name, code), n in _month_record_counts(engine, scope, period).items():
        out[code] = out.get(code, 0) + n
    return out


@dataclass
class ReviewRow:
    org_code: str
    name: str
    township_name: str
    state: Any  # storage.periods.PeriodState
    records: int  # records of the month


def review_rows(repo, scope: Scope, period: str, *, township: str | None = None) -> list[ReviewRow]:
    """The villages of a scope (or of one ``township`` in it) with their state for the month."""
    from storage import periods as P

    units = units_in_scope(repo.engine, scope)
    names = {u["org_code"]: u["name"] for u in units}
    villages = [u for u in units if OrgCode(u["org_code"]).level == "village"
                and (not township or OrgCode(u["org_code"]).within(township))]
    states = P.list_states(repo, [v["org_code"] for v in villages], [period])
    counts = month_records_per_unit(repo.engine, scope, period)
    rows = []
    with repo.engine.connect() as conn:
        for v in villages:
            code = v["org_code"]
            st = states.get((code, period)) or P.PeriodState(code, period)
            if st.status in (P.SUBMITTED, P.APPROVED):
                st = P.state(conn, code, period)  # with 需重新审核 (changed after submission)
            rows.append(ReviewRow(code, v["name"], names.get(OrgCode(code).township.code, ""), st,
                                  counts.get(code, 0)))
    return rows


__all__ = ["RecordFilter", "Column", "columns_for", "display_value", "build_where", "RecordReader",
           "units_in_scope", "latest_base_year", "records_by_id", "month_records",
           "month_records_per_type", "month_records_per_unit", "ReviewRow", "review_rows"]
