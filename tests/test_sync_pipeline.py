"""Issue 4 performance work keeps the rules: the batch apply's date fast path gives the same
outcome, date and stored payload as coercing the payload as sent, and the pipelined push (next batch read ahead
while the server works) sends every change once, drops the read-ahead after a rejection and
ends with the PC and the server holding the same records."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import func, select

from county_server.models import Rejection, SyncBatch
from storage.db import make_engine
from storage.models import ChangeLog
from storage.repository import Change
from storage.schema import RECORD_TYPES
from storage.validation import coerce_record
from sync.client import S_BATCH_SIZE
from tests.serverproc import VILLAGE, VILLAGE2, ServerProcess, SyncTestClient, live_records, scope_of, setup_county


def _change(date, persons=3) -> Change:
    rid = str(uuid.uuid4())
    payload = {"org_code": "220102001001", "date": date, "category": "养老", "mode": "上门",
               "target": "老年人", "persons": persons, "deleted": False}
    return Change(str(uuid.uuid4()), "service", rid, "220102001001", "insert", 0, 1, payload, "王会计",
                  "00000000-0000-4000-8000-00000000abcd", "2024-05-06T08:30:00+00:00")


@pytest.mark.parametrize("date", ["2024-05-06", "2024/5/6", "2024年5月6日", "2024-02-30", "1899-12-31",
                                  "2999-01-01", "２０２４-05-06", "2024-5-6", "20240506", "2024-W19-1", "", None])
def test_batch_apply_dates_same_outcome_as_coercing_the_payload(repo, village, date):
    """The fast path (strict ISO strings parsed first) = coerce_record on the payload as sent."""
    rt = RECORD_TYPES["service"]
    expected, issues = coerce_record(rt, {k: v for k, v in _change(date).payload.items() if k != "deleted"},
                                     repo.choices())
    errors = [i for i in issues if i.is_error]
    change = _change(date)
    with repo.engine.begin() as conn:
        [outcome] = repo.apply_changes(conn, [change])
    if errors:
        assert outcome == ("rejected", "服务记录：" + "；".join(i.message for i in errors))
        assert repo.get("service", change.record_id, include_deleted=True) is None
    else:
        assert outcome == ("applied", None)
        assert repo.get("service", change.record_id)["date"] == expected["date"]
        with repo.engine.connect() as conn:
            [payload] = conn.execute(select(ChangeLog.payload).where(ChangeLog.change_id == change.change_id)).one()
        assert json.loads(payload)["date"] == (expected["date"].isoformat() if expected["date"] else None)


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring.core

    keyring.core._keyring_backend = None
    yield
    keyring.core._keyring_backend = None


def test_pipelined_push_sends_each_change_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    server = ServerProcess(url, home=tmp_path / "server").start()
    engine = make_engine(url)
    a = SyncTestClient(tmp_path / "clients", "a", server.url, "cun")
    try:
        setup_county(server)
        a.sync()
        a.repo.set_setting(S_BATCH_SIZE, "100")
        ops = []
        for i in range(450):
            # two changes out of the village's scope in the first batch: rejected, read-ahead dropped
            org = VILLAGE2 if i in (10, 20) else VILLAGE
            ops.append(a.repo.create("service", {"org_code": org, "date": dt.date(2026, 3, 1 + i % 28),
                                                 "category": "养老", "mode": "上门", "target": "老年人",
                                                 "persons": 1 + i % 9}))
        client = a.client()
        prepared: list[int] = []
        real_prepare = client._prepare_batch

        def prepare(size, after_seq):
            out = real_prepare(size, after_seq)
            prepared.append(len(out[1]))
            return out

        client._prepare_batch = prepare
        report = client.sync(password="mima-12345678")
        client.transport.close()
        assert report.applied == 448 and report.rejected == 2 and report.conflicts == 0
        assert report.unsent == 0 and a.repo.unsent_count() == 0
        assert prepared, "the next batch was never read ahead"
        ids = [r["id"] for r in ops]
        with engine.connect() as conn:
            held = conn.execute(select(ChangeLog.record_id, func.count()).where(ChangeLog.record_id.in_(ids))
                                .group_by(ChangeLog.record_id)).all()
            batches = conn.execute(select(func.sum(SyncBatch.change_count))).scalar_one()
            rejected = conn.execute(select(func.count()).select_from(Rejection)).scalar_one()
        assert len(held) == 448 and {n for _, n in held} == {1}  # every change written once
        assert rejected == 2
        assert batches == 450  # batches as sent: no change sent twice (the sign-in sync sent none)
        assert a.live() == live_records(engine, *scope_of("cun"))
    finally:
        a.close()
        engine.dispose()
        server.stop()
