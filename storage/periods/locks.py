"""The month lock: the Repository guard that refuses any write into an accepted (县已接收) month."""

from __future__ import annotations

import threading

from sqlalchemy import Connection, select

from storage.models import table_for
from storage.periods.months import period_label, period_of
from storage.periods.rules import check_transition
from storage.periods.states import ACCEPTED
from storage.schema import RecordType

_cache = threading.local()  # .locked: (transaction, its set); one entry per thread


def _locked_set(conn: Connection) -> set[tuple[str, str]]:
    """(org code, period) pairs that are locked; cached for the current transaction.

    Keyed by the innermost one: a savepoint rolled back (a pulled page retried change by change)
    may have locked or unlocked a month, so what was read inside it must not outlive it.
    Every write asks (a bulk write 100,000 times), so the cache is a thread-local attribute
    rather than ``conn.info``, which cost twice as much to reach.
    """
    txn = conn.get_nested_transaction() or conn.get_transaction()
    cached = getattr(_cache, "locked", None)
    if cached is not None and cached[0] is txn:
        return cached[1]
    t = table_for("period")
    rows = conn.execute(select(t.c.org_code, t.c.period).where(
        t.c.status == ACCEPTED, t.c.deleted.is_(False))).all()
    locked = {(r[0], r[1]) for r in rows}
    if txn is not None:  # outside a transaction nothing identifies what was read
        _cache.locked = (txn, locked)
    return locked


def forget_locked_periods() -> None:
    """Drop this thread's cached locks: a period record was just written."""
    _cache.locked = None


def lock_refusal(org_code: str, period: str, label: str) -> str:
    return (f"{period_label(period)}的台账已由县民政局接收并锁定，不能新增、修改或删除该月的{label}。"
            "如确需更正，请联系县民政局重新打开该填报期")


def lock_guard(conn: Connection, rt: RecordType, op: str, new: dict, old: dict | None) -> str | None:
    """Repository guard: no write into an accepted period; period records follow the state machine."""
    if rt.month_workflow:
        forget_locked_periods()  # this write may lock or unlock a month
        return check_transition(old, new)
    if not rt.date_field:
        return None
    locked = _locked_set(conn)
    if not locked:
        return None
    for values in (new, old):
        if not values:
            continue
        p = period_of(values.get(rt.date_field))
        if p and (values.get("org_code"), p) in locked:
            return lock_refusal(values.get("org_code"), p, rt.label)
    return None
