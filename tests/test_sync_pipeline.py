"""The one executor keeps the rules for batches: a change's dates give the same outcome, date and
stored payload as coercing the payload as sent; the fields' fast checks give the same values and
Chinese messages as ``coerce`` itself; a batch gives the same outcomes, records and change log as
applying its changes one by one; a pulled page ends exactly as its changes pulled one page each,
conflicts included; a pulled page and its cursor, a pushed batch and its answers, commit
together; and the pipelined push (next batch read ahead while the server works) sends every
change once, drops the read-ahead after a rejection and ends with the PC and the server holding
the same records."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import func, select

from county_server.models import Rejection, SyncBatch
from storage.db import make_engine
from storage.models import ChangeLog
from storage.repository import Change, WriteOp
from storage.schema import RECORD_TYPES
from storage.validation import check_record, coerce, coerce_record
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


# Values a PC may send for each field type: clean, sloppy, wrong, and the ones that hash alike
# (True/1/1.0, 0.0/-0.0) which a careless memo would mix up.
_TRICKY = {
    "text": ["张三", " 张三 ", "张  三", "ＡＢＣ", "a\tb", "", "   ", "x" * 101, "x" * 501, 5, 0, True, 1.5, None],
    "ref": ["00000000-0000-4000-8000-000000000009", " 00000000-0000-4000-8000-000000000009", "", 7, None],
    "int": [3, 3.0, 3.5, -1, 0, 0.0, -0.0, True, False, 1, 1.0, "3", "３", "3人次", "三", 100_001, "", None,
            float("nan"), float("inf"), 2**40],
    "year": [2024, 2024.0, "2024", 1800, 3000, True, "二〇二四", None],
    "decimal": [0.5, 1, 1.0, True, 0.0, -0.0, -0.5, "1.5", "1.5小时", "350平方米", 25, 24.5, 1e308,
                float("nan"), float("-inf"), "abc", None, ""],
    "date": ["2024-05-06", "2024/5/6", "2024年5月6日", "2024-02-30", "1899-12-31", "2999-01-01",
             "２０２４-05-06", "2024-5-6", "20240506", " 2024-05-06", 45000, 45000.0, True, "", None],
    "period": ["2024-03", "2024-3", "2024年3月", "2024-13", "202403", 202403, None],
    "bool": [True, False, 1, 0, 1.0, 0.0, "是", "否", "yes", "2", 2, None, ""],
    "multichoice": [["党员"], ["党员", "党员"], "党员、团员", [], ["不存在"], [" 党员 "], None],
    "id_number": ["11010519491231002X", "11010519491231002x", "110105194912310021", "123", 11010519491231002,
                  None],
    "phone": ["13800138000", "138 0013 8000", "12345", "010-12345678", 13800138000, None],
    "credit_code": ["91350100M000100Y43", "91350100m000100y43", "123", None],
    "org_code": ["220102001001", "220102001000", " 220102001001", "22010200100", "abc", 220102001001, None],
}


def _tricky_payloads(rt, choices, rng, n):
    for _ in range(n):
        payload = {}
        for f in rt.fields:
            if rng.random() < 0.1:
                continue  # a field missing from the payload
            pool = list(_TRICKY.get(f.type, [None]))
            if f.type in ("choice", "multichoice") and f.choices:
                items = choices.get(f.choices, [])
                pool += items[:3] + [f" {items[0]}", items[0] + "x"] if items else []
                if f.type == "multichoice":
                    pool += [items[:2], [items[0], "不存在"]] if items else []
            payload[f.name] = rng.choice(pool)
        yield payload


def _strict(values: dict) -> list:
    """Values compared with their types and the sign of zero (3 == 3.0 == True is not the same value)."""
    return [(k, type(v).__name__, repr(v)) for k, v in sorted(values.items())]


@pytest.mark.parametrize("type_name", list(RECORD_TYPES))
def test_fast_checks_same_values_and_messages_as_coerce(repo, type_name):
    """coerce_record (each field's fast check, else ``coerce``) = ``coerce`` on every field, then the record checks."""
    import random

    rt = RECORD_TYPES[type_name]
    choices = repo.choices()
    rng = random.Random(f"coercer-{type_name}")
    for payload in _tricky_payloads(rt, choices, rng, 600):
        values, issues = coerce_record(rt, payload, choices)
        expected, want = {}, []
        for f in rt.fields:
            if f.name not in payload:
                continue
            if payload[f.name] is None or payload[f.name] == "":
                expected[f.name] = None
                continue
            value, issue = coerce(f, payload[f.name], choices)
            if issue:
                want.append(issue)
                if issue.is_error:
                    continue
            expected[f.name] = value
        want.extend(check_record(rt, expected, skip={i.field for i in want}))
        assert [(i.field, i.message, i.is_error) for i in issues] == [(i.field, i.message, i.is_error) for i in want], \
            payload
        assert _strict(values) == _strict(expected), payload


def _outcome_cases(village: str) -> list[Change]:
    """A batch with every outcome: new records, a record twice, a repeated change, bad values, conflicts."""
    actor, device = "王会计", "00000000-0000-4000-8000-00000000abcd"

    def change(rid, op, base, version, at="2024-05-06T08:30:00+00:00", cid=None, rtype="service", **values):
        # every field, as a PC's change log holds it
        payload = {f.name: None for f in RECORD_TYPES["service"].fields}
        payload.update(org_code=village, date="2024-05-06", category="养老", mode="上门", target="老年人", persons=3,
                       deleted=False)
        payload.update(values)
        return Change(cid or str(uuid.uuid4()), rtype, rid, village, op, base, version, payload, actor, device, at)

    r1, r2, r3, r4 = (str(uuid.uuid4()) for _ in range(4))
    first = change(r1, "insert", 0, 1)
    return [
        first,
        change(r1, "update", 1, 2, persons=5, note="  送药上门  "),          # the same record again in the batch
        change(r1, "update", 1, 2, persons=6),                             # stale base version: conflict
        Change(first.change_id, "service", r1, village, "insert", 0, 1, dict(first.payload), actor, device,
               first.at),                                                   # the same change again: duplicate
        Change(first.change_id, "service", r1, village, "insert", 0, 1, dict(first.payload, persons=9), actor,
               device, first.at),                                           # same id, other content: rejected
        change(r2, "insert", 0, 1, persons=-1, category="不存在", mode=None),  # several messages in one
        change(r3, "insert", 0, 1, persons="3", duration_hours="1.5小时", note=" 送药 "),  # sloppy but valid
        change(r3, "delete", 1, 2, deleted=True),                          # a tombstone is not validated
        change(r3, "restore", 2, 3),
        change(r4, "insert", 5, 6),                                         # never held here: taken as new
        change(str(uuid.uuid4()), "insert", 0, 1, rtype="no_such_type"),
        change(str(uuid.uuid4()), "insert", 0, 1, date="2024-02-30"),
        change(str(uuid.uuid4()), "insert", 0, 1, persons=3.0, duration_hours=-0.0, note="x" * 501),
    ]


def _fresh_repo(tmp_path, monkeypatch, name):
    """A new local database holding the test county's three org units."""
    from storage.db import open_database
    from storage.repository import Repository, WriteOp

    monkeypatch.setenv("TAIZHANG_HOME", str(tmp_path / name))
    engine = open_database(tmp_path / name / "taizhang.sqlite3")
    repo = Repository(engine, actor="测试员")
    repo.bulk_write([WriteOp("org_unit", "insert", {"org_code": code, "name": name_, "level": level,
                                                    "parent_code": parent, "urban_rural": kind})
                     for code, name_, level, parent, kind in (
                         ("220102000000", "测试县", "县", None, None),
                         ("220102001000", "测试镇", "乡镇/街道", "220102000000", None),
                         ("220102001001", "测试村", "村/社区", "220102001000", "农村社区"))])
    return repo


def _service_content(repo):
    """Service records' change log (with sync state), their 修改记录 and the records, in order."""
    from storage.history import record_history

    with repo.engine.connect() as conn:
        log = conn.execute(select(ChangeLog.change_id, ChangeLog.record_id, ChangeLog.op, ChangeLog.version,
                                  ChangeLog.payload, ChangeLog.sync_state).where(ChangeLog.record_type == "service")
                           .order_by(ChangeLog.seq)).all()
    history = [(rid, [(e.actor, e.action, sorted((c.label, c.before, c.after) for c in e.changes))
                      for e in record_history(repo.engine, "service", rid)])
               for rid in sorted({r.record_id for r in log})]
    return ([tuple(r) for r in log], history,
            sorted((r["id"], r["version"], r["deleted"], r["persons"], r["note"], r["date"])
                   for r in repo.list("service") + repo.list("service", deleted=True)))


def test_batch_apply_same_outcomes_records_and_log_as_one_by_one(tmp_path, monkeypatch):
    """apply_changes (one batch, set-wise lookups, memo) = apply_change for each change in turn."""
    cases = _outcome_cases("220102001001")
    batch_repo, single_repo = _fresh_repo(tmp_path, monkeypatch, "batch"), _fresh_repo(tmp_path, monkeypatch, "single")
    with batch_repo.engine.begin() as conn:
        batch_outcomes = batch_repo.apply_changes(conn, cases)
    single_outcomes = []
    with single_repo.engine.begin() as conn:
        for c in cases:
            try:
                single_outcomes.append(single_repo.apply_change(conn, c))
            except ValueError:  # apply_change parses an ISO-looking date strictly; the batch reports it
                single_outcomes.append(None)
    assert [o[0] for o in batch_outcomes] == ["applied", "applied", "conflict", "duplicate", "rejected",
                                              "rejected", "applied", "applied", "applied", "applied",
                                              "rejected", "rejected", "rejected"]
    assert batch_outcomes[5][1] == ("服务记录：服务类别：“不存在”不是可选项，请从下拉列表中选择（养老、托育、助残、就业、卫生健康、"
                                    "教育、文化、体育等）；人次：不能为负数，请核对后重新填写；服务方式：必填，请填写")
    for got, want in zip(batch_outcomes, single_outcomes):
        if want is not None:
            assert got == want
    assert batch_outcomes[11][1] == "服务记录：日期：“2024-02-30”不是有效日期，请按 2024-03-05 或 2024年3月5日 的格式填写"

    assert _service_content(batch_repo) == _service_content(single_repo)
    batch_repo.engine.dispose()
    single_repo.engine.dispose()


pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


def _pulled_page(village: str) -> list[Change]:
    """A page as the server sends it: records made on other PCs, edited and deleted within the page."""
    device, at = "00000000-0000-4000-8000-00000000beef", "2024-05-06T08:30:00+00:00"

    def change(rid, op, base, version, **values):
        payload = {f.name: None for f in RECORD_TYPES["service"].fields}
        payload.update(org_code=village, date="2024-05-06", category="养老", mode="上门", target="老年人", persons=3,
                       deleted=False)
        payload.update(values)
        return Change(str(uuid.uuid4()), "service", rid, village, op, base, version, payload, "李站长", device, at)

    ids = [str(uuid.uuid4()) for _ in range(6)]
    page = [change(rid, "insert", 0, 1, persons=i + 1) for i, rid in enumerate(ids)]
    page += [change(ids[0], "update", 1, 2, persons=9, note="县里更正"), change(ids[1], "delete", 1, 2, deleted=True),
             change(ids[0], "update", 2, 3, persons=10, note="再次更正")]
    return page


def _pull_page(repo, page, *, one_by_one: bool = False):
    """What ``SyncClient.pull`` does with one page (or with each change as a page of its own)."""
    from sync.client import S_CURSOR, SyncClient

    client = SyncClient(repo, "http://127.0.0.1:9")  # no request is made
    for part in ([c] for c in page) if one_by_one else [page]:
        with repo.engine.begin() as conn:
            client._apply_pulled(conn, part)
            client._put_setting(conn, S_CURSOR, "page-1")
    return client


def test_pulled_page_same_as_change_by_change(tmp_path, monkeypatch):
    """A page with records made, edited and deleted within it ends as its changes pulled one by one."""
    page_repo, one_repo = _fresh_repo(tmp_path, monkeypatch, "page"), _fresh_repo(tmp_path, monkeypatch, "one")
    page = _pulled_page("220102001001")
    whole = _pull_page(page_repo, page)
    single = _pull_page(one_repo, page, one_by_one=True)
    assert whole.report.pulled == single.report.pulled == len(page)
    assert _service_content(page_repo) == _service_content(one_repo)
    assert {s for *_, s in _service_content(page_repo)[0]} == {"remote"}
    page_repo.engine.dispose()
    one_repo.engine.dispose()


def test_pulled_page_with_a_conflict_keeps_both_versions(tmp_path, monkeypatch):
    """A change meeting an unsent local edit is settled in its place in the page: the local version
    is kept as a conflict, the server's adopted, and the later changes of the page apply on it."""
    from storage.models import Conflict

    repos = []
    for name in ("page", "one"):
        repo = _fresh_repo(tmp_path, monkeypatch, name)
        repos.append(repo)
    page = _pulled_page("220102001001")
    for repo in repos:
        # this PC edited the first record locally (same id, unsent) before the server's version arrives
        repo.bulk_write([WriteOp("service", "insert", dict(page[0].payload, persons=7, note="本机修改"),
                                 page[0].record_id)])
    whole = _pull_page(repos[0], page)
    single = _pull_page(repos[1], page, one_by_one=True)
    assert whole.report.pulled == single.report.pulled == len(page)
    assert whole.report.conflicts == single.report.conflicts == 1

    def kept(repo):
        with repo.engine.connect() as conn:
            return [(r.record_id, json.loads(r.local_payload)["note"], json.loads(r.server_payload)["persons"])
                    for r in conn.execute(select(Conflict))]

    assert kept(repos[0]) == kept(repos[1]) == [(page[0].record_id, "本机修改", 1)]
    page_log, one_log = _service_content(repos[0])[0], _service_content(repos[1])[0]
    # the local insert has its own (random) change id; every pulled change is held once
    assert page_log[1:] == one_log[1:] and len(page_log) == len(page) + 1
    assert _service_content(repos[0])[2] == _service_content(repos[1])[2]
    assert repos[0].get("service", page[0].record_id)["note"] == "再次更正"
    for repo in repos:
        repo.engine.dispose()


def test_pulled_page_and_cursor_commit_together(tmp_path, monkeypatch):
    """The page's savepoint nests in the page's transaction (storage.db.nested_transaction; a bare
    SAVEPOINT would have opened the transaction and its release committed the page on its own):
    if the transaction fails after the page, the page and the cursor both go."""
    from sync.client import S_CURSOR, SyncClient

    repo = _fresh_repo(tmp_path, monkeypatch, "atomic")
    client = SyncClient(repo, "http://127.0.0.1:9")
    with pytest.raises(RuntimeError):
        with repo.engine.begin() as conn:
            client._apply_pulled(conn, _pulled_page("220102001001"))
            client._put_setting(conn, S_CURSOR, "page-1")
            raise RuntimeError("power cut before the commit")
    assert repo.get_setting(S_CURSOR) is None
    assert _service_content(repo) == ([], [], [])
    repo.engine.dispose()


def test_push_batch_and_its_answers_commit_together(tmp_path, monkeypatch):
    """The server applies a batch and stores its answers in one transaction: a failure after the
    changes (here: in settling resolutions) leaves neither the changes nor the batch."""
    from types import SimpleNamespace

    from county_server import api_sync
    from county_server.auth import Principal
    from county_server.cmd_packages import server_state
    from sync.protocol import batch_digest

    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    setup_county(SimpleNamespace(home=tmp_path, db_url=url))
    engine = make_engine(url)
    state = server_state(engine, str(tmp_path / "receipt.key"))
    cun = Principal(1, "cun", "village", "220102001001", "device-1")
    changes = [_change("2024-05-06", persons=n) for n in (1, 2, 3)]
    results, _ = api_sync._apply_batch(state, cun, "b-1", batch_digest(c.change_id for c in changes), changes, [])
    assert [r["outcome"] for r in results] == ["applied", "applied", "applied"]

    later = [_change("2024-05-07", persons=n) for n in (4, 5)]
    monkeypatch.setattr(api_sync, "_resolve", lambda conn, resolutions, now: 1 / 0)  # fails after the changes
    with pytest.raises(ZeroDivisionError):
        api_sync._apply_batch(state, cun, "b-2", batch_digest(c.change_id for c in later), later, [])
    with engine.connect() as conn:
        held = set(conn.execute(select(ChangeLog.change_id)).scalars())
        batches = set(conn.execute(select(SyncBatch.batch_id)).scalars())
    assert {c.change_id for c in changes} <= held
    assert not held & {c.change_id for c in later} and batches == {"b-1"}
    engine.dispose()


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


def test_pull_fetches_the_next_page_while_applying_and_moves_the_cursor_only_on_commit(tmp_path, monkeypatch):
    """Page n+1 is fetched while page n is applied.  A failure applying a page leaves the cursor at
    the last committed page, and the next pull fetches from there: nothing skipped, nothing twice."""
    import threading

    from sync.client import S_CURSOR, SyncClient

    repo = _fresh_repo(tmp_path, monkeypatch, "ahead")
    pages = [_pulled_page("220102001001") for _ in range(3)]
    fetched: list[str | None] = []
    second_fetched = threading.Event()

    class ScriptedServer:  # what the county server's /pull answers, page by page
        incarnation = None  # no restore seen (the real transport takes it from each answer's header)

        def request(self, method, path, params=None, **kw):
            assert (method, path) == ("GET", "/pull")
            cursor = params.get("cursor")
            fetched.append(cursor)
            n = 0 if cursor is None else int(cursor.split("-")[1])
            if n == 1:
                second_fetched.set()
            return {"changes": [c.to_dict() for c in pages[n]], "cursor": f"page-{n + 1}",
                    "more": n + 1 < len(pages), "choice_lists": {}}

    client = SyncClient(repo, "http://127.0.0.1:9")
    client.transport = ScriptedServer()
    real_apply = client._apply_pulled
    applied_while_ahead = []

    def apply(conn, changes, fail_on=None):
        # page 1 waits until page 2 has been requested: the fetch ahead runs beside the apply
        applied_while_ahead.append(second_fetched.wait(10) if not applied_while_ahead else True)
        if changes[0].change_id == pages[1][0].change_id and fail_on == "page 2":
            raise RuntimeError("disk full")
        return real_apply(conn, changes)

    client._apply_pulled = lambda conn, changes: apply(conn, changes, fail_on="page 2")
    with pytest.raises(RuntimeError, match="disk full"):
        client.pull()
    assert applied_while_ahead[0] is True
    assert repo.get_setting(S_CURSOR) == "page-1"  # page 2 failed: its fetch ahead counted for nothing
    log, _audit, records = _service_content(repo)
    assert len(log) == 9 and len(records) == 6  # page 1 only

    client._apply_pulled = lambda conn, changes: apply(conn, changes)
    fetched.clear()
    client.pull()
    assert fetched == ["page-1", "page-2"]  # resumed where the committed cursor said
    assert repo.get_setting(S_CURSOR) == "page-3"
    log, _audit, records = _service_content(repo)
    assert len(records) == 18 and len(log) == 27 and len({row[0] for row in log}) == 27
    repo.engine.dispose()
