"""The one write path (storage.repository.Repository), on SQLite and on a real PostgreSQL.

Every write: the record and exactly one change-log row (whose payloads give the record's
修改记录), in one transaction; a refused write leaves every table as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select, text

from storage.history import record_history
from storage.models import ChangeLog
from storage.repository import Change, Repository, ValidationError, WriteOp, WriteRefused, org_unit_id

VILLAGE = "220102001001"
DEVICE = "00000000-0000-4000-8000-000000000001"
ID_1 = "11010519491231002X"  # GB 11643's own example
ID_2 = "220102198503070015"


def _id(first17: str) -> str:
    from storage.validation import id_check_char

    return first17 + id_check_char(first17)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_engine(request, taizhang_home):
    if request.param == "sqlite":
        from storage.db import open_database

        eng = open_database(taizhang_home / "taizhang.sqlite3")
        yield eng
        eng.dispose()
    else:
        yield request.getfixturevalue("pg_engine")


@pytest.fixture
def brepo(backend_engine):
    repo = Repository(backend_engine, actor="测试员", device_id=DEVICE)
    repo.bulk_write([
        WriteOp("org_unit", "insert", {"org_code": "220102000000", "name": "测试县", "level": "县"}),
        WriteOp("org_unit", "insert", {"org_code": "220102001000", "name": "测试镇", "level": "乡镇/街道",
                                       "parent_code": "220102000000"}),
        WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "测试村", "level": "村/社区",
                                       "parent_code": "220102001000", "urban_rural": "农村社区"}),
    ])
    return repo


def snapshot(engine) -> dict:
    """Row counts of every record table plus the change log."""
    from storage.schema import RECORD_TYPES

    with engine.connect() as conn:
        counts = {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in RECORD_TYPES}
        counts["change_log"] = conn.execute(text("SELECT count(*) FROM change_log")).scalar_one()
        counts["versions"] = sorted(conn.execute(text("SELECT id, version FROM staff")).all())
    return counts


def changes_for(engine, record_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(ChangeLog).where(ChangeLog.record_id == record_id)
                            .order_by(ChangeLog.seq)).all()


def history_of(engine, change_id: str):
    """The 修改记录 entry of one change (storage.history, from the change log)."""
    with engine.connect() as conn:
        row = conn.execute(select(ChangeLog.record_type, ChangeLog.record_id)
                           .where(ChangeLog.change_id == change_id)).one()
        ids = list(conn.execute(select(ChangeLog.change_id).where(ChangeLog.record_id == row.record_id)
                                .order_by(ChangeLog.seq)).scalars())
    return record_history(engine, row.record_type, row.record_id)[ids.index(change_id)]


def fields_of(entry) -> set:
    return {(c.label, c.before, c.after) for c in entry.changes}


def staff_values(**over) -> dict:
    values = {"org_code": VILLAGE, "name": "张伟", "gender": "男", "id_number": ID_1,
              "roles": ["网格员"], "status": "在岗", "joined_on": "2020年3月5日"}
    values.update(over)
    return values


# --------------------------------------------------------------------------- create / update / delete / restore


def test_create_writes_record_and_one_change(brepo):
    before = snapshot(brepo.engine)
    rec = brepo.create("staff", staff_values(phone="138 0013 8000"))
    after = snapshot(brepo.engine)
    assert after["staff"] == before["staff"] + 1
    assert after["change_log"] == before["change_log"] + 1

    assert rec["version"] == 1 and rec["deleted"] is False
    assert rec["updated_by"] == "测试员"
    assert rec["joined_on"] == dt.date(2020, 3, 5)
    assert rec["phone"] == "13800138000"
    assert rec["roles"] == ["网格员"]
    uuid.UUID(rec["id"])  # client-generated UUID

    [change] = changes_for(brepo.engine, rec["id"])
    assert (change.op, change.base_version, change.version) == ("insert", 0, 1)
    assert change.actor == "测试员" and change.device_id == DEVICE
    assert change.sync_state == "pending" and change.org_code == VILLAGE
    payload = json.loads(change.payload)
    assert payload["name"] == "张伟" and payload["joined_on"] == "2020-03-05" and payload["deleted"] is False
    entry = history_of(brepo.engine, change.change_id)
    assert (entry.action, entry.actor, entry.changes) == ("新建", "测试员", [])


def test_update_history_shows_each_changed_field_old_and_new(brepo):
    rec = brepo.create("staff", staff_values())
    brepo.actor = "李主任"
    updated = brepo.update("staff", rec["id"], {"name": "张伟明", "phone": "13912345678", "gender": "男"},
                           expected_version=1)
    assert updated["version"] == 2 and updated["updated_by"] == "李主任"
    assert updated["created_at"] == rec["created_at"]
    assert updated["updated_at"] >= rec["updated_at"]
    changes = changes_for(brepo.engine, rec["id"])
    assert [(c.op, c.base_version, c.version) for c in changes] == [("insert", 0, 1), ("update", 1, 2)]
    entry = history_of(brepo.engine, changes[1].change_id)
    assert (entry.action, entry.actor) == ("修改", "李主任")
    assert fields_of(entry) == {("姓名", "张伟", "张伟明"), ("手机号", "", "139****5678")}


def test_update_of_list_and_date_fields_in_the_history(brepo):
    rec = brepo.create("staff", staff_values())
    brepo.update("staff", rec["id"], {"roles": ["网格员", "灾害信息员"], "joined_on": dt.date(2021, 1, 2)})
    change = changes_for(brepo.engine, rec["id"])[-1]
    from storage.schema import record_type

    label = record_type("staff").field
    assert fields_of(history_of(brepo.engine, change.change_id)) == {
        (label("roles").label, "网格员", "网格员、灾害信息员"), (label("joined_on").label, "2020-03-05", "2021-01-02")}


def test_delete_is_a_tombstone_and_restore_brings_it_back(brepo):
    rec = brepo.create("facility", {"org_code": VILLAGE, "name": "党群服务中心", "category": "综合服务设施/党群服务中心",
                                    "status": "在用", "building_area": "420平方米", "activity_area": 300})
    deleted = brepo.delete("facility", rec["id"])
    assert deleted["deleted"] is True and deleted["version"] == 2
    assert brepo.get("facility", rec["id"]) is None
    assert brepo.get("facility", rec["id"], include_deleted=True)["name"] == "党群服务中心"
    assert brepo.count("facility", org_code=VILLAGE) == 0
    assert [r["id"] for r in brepo.list("facility", deleted=True)] == [rec["id"]]
    with pytest.raises(WriteRefused, match="这条服务设施记录已删除，请先在“最近删除”中恢复再修改"):
        brepo.update("facility", rec["id"], {"name": "新名称"})
    with pytest.raises(WriteRefused, match="已经删除"):
        brepo.delete("facility", rec["id"])

    restored = brepo.restore("facility", rec["id"])
    assert restored["deleted"] is False and restored["version"] == 3
    assert brepo.count("facility", org_code=VILLAGE) == 1
    with pytest.raises(WriteRefused, match="没有被删除，无需恢复"):
        brepo.restore("facility", rec["id"])

    changes = changes_for(brepo.engine, rec["id"])
    assert [(c.op, c.version) for c in changes] == [("insert", 1), ("delete", 2), ("restore", 3)]
    assert json.loads(changes[1].payload)["deleted"] is True
    assert json.loads(changes[2].payload)["deleted"] is False
    deleted, restored = history_of(brepo.engine, changes[1].change_id), history_of(brepo.engine, changes[2].change_id)
    assert (deleted.action, deleted.changes, restored.action, restored.changes) == ("删除", [], "恢复", [])


def test_timestamps_are_utc_aware(brepo):
    rec = brepo.create("staff", staff_values())
    for key in ("created_at", "updated_at"):
        assert rec[key].tzinfo is not None and rec[key].utcoffset() == dt.timedelta(0)
    assert abs(rec["updated_at"] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    [(seq, change)] = [(s, c) for s, c in brepo.pending_changes(1000) if c.record_id == rec["id"]]
    at = dt.datetime.fromisoformat(change.at)
    assert at.utcoffset() == dt.timedelta(0)
    [entry] = record_history(brepo.engine, "staff", rec["id"])
    assert entry.at.tzinfo is not None and entry.at.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused():
    from storage.models import UTCDateTime

    with pytest.raises(ValueError, match="timezone-aware"):
        UTCDateTime().process_bind_param(dt.datetime(2024, 1, 1, 12, 0), None)


# --------------------------------------------------------------------------- refused writes change nothing


def test_validation_error_writes_nothing(brepo):
    brepo.create("staff", staff_values())
    before = snapshot(brepo.engine)
    with pytest.raises(ValidationError) as info:
        brepo.create("staff", staff_values(id_number="110105194912310021", phone="12345"))
    after = snapshot(brepo.engine)
    assert after == before
    fields = {i.field for i in info.value.issues}
    assert fields == {"id_number", "phone"}
    assert str(info.value).startswith("社区工作者：")
    assert "公民身份号码：校验位不正确（最后一位应为X）" in str(info.value)


def test_invalid_update_writes_nothing_and_keeps_version(brepo):
    rec = brepo.create("facility", {"org_code": VILLAGE, "name": "活动室", "category": "其他", "status": "在用",
                                    "building_area": 100})
    before = snapshot(brepo.engine)
    with pytest.raises(ValidationError, match="居民活动区域面积（150 m²）大于建筑面积（100 m²）"):
        brepo.update("facility", rec["id"], {"activity_area": 150})
    assert snapshot(brepo.engine) == before
    assert brepo.get("facility", rec["id"])["version"] == 1


def test_refusals_write_nothing(brepo):
    rec = brepo.create("staff", staff_values())
    brepo.update("staff", rec["id"], {"name": "张三"})
    before = snapshot(brepo.engine)
    with pytest.raises(WriteRefused, match=r"已被他人修改（版本2），请重新打开后再改"):
        brepo.update("staff", rec["id"], {"name": "李四"}, expected_version=1)
    with pytest.raises(WriteRefused, match="找不到要修改的社区工作者记录"):
        brepo.update("staff", str(uuid.uuid4()), {"name": "李四"})
    with pytest.raises(WriteRefused, match="已存在，不能重复新建"):
        brepo.create("staff", staff_values(), record_id=rec["id"])
    with pytest.raises(WriteRefused, match="未知的操作"):
        brepo.bulk_write([WriteOp("staff", "upsert", staff_values())])
    with pytest.raises(KeyError, match="未知的记录类型"):
        brepo.create("nonsense", {})
    assert snapshot(brepo.engine) == before


def test_guard_refusal_writes_nothing(brepo):
    rec = brepo.create("service", {"org_code": VILLAGE, "date": "2024-03-05", "category": "养老", "mode": "上门",
                                   "target": "老年人", "persons": 3})

    def locked_march(conn, rt, op, new, old):
        day = new.get("date")
        if rt.name == "service" and day and day.strftime("%Y-%m") == "2024-03":
            return "2024-03 填报期已被县里接收并锁定，不能再修改"
        return None

    brepo.guards.append(locked_march)
    before = snapshot(brepo.engine)
    with pytest.raises(WriteRefused, match="已被县里接收并锁定"):
        brepo.update("service", rec["id"], {"persons": 5})
    with pytest.raises(WriteRefused):
        brepo.bulk_write([WriteOp("service", "insert", {"org_code": VILLAGE, "date": "2024-04-01", "category": "养老",
                                                        "mode": "上门", "target": "老年人", "persons": 1}),
                          WriteOp("service", "delete", {}, rec["id"])])
    assert snapshot(brepo.engine) == before
    # other months still pass the guard
    brepo.create("service", {"org_code": VILLAGE, "date": "2024-04-01", "category": "养老", "mode": "上门",
                             "target": "老年人", "persons": 1})


# --------------------------------------------------------------------------- bulk


def _service(i: int, **over) -> WriteOp:
    values = {"org_code": VILLAGE, "date": dt.date(2024, 1, 1) + dt.timedelta(days=i % 300), "category": "养老",
              "mode": "上门", "target": "老年人", "persons": 1 + i % 20, "note": f"第{i}次上门探访"}
    values.update(over)
    return WriteOp("service", "insert", values)


def test_bulk_write_is_all_or_nothing(brepo):
    before = snapshot(brepo.engine)
    ops = [_service(i) for i in range(50)] + [_service(50, persons=-3)] + [_service(i) for i in range(51, 60)]
    with pytest.raises(ValidationError, match="人次：不能为负数，请核对后重新填写") as info:
        brepo.bulk_write(ops, chunk=20)  # the bad op is in the third chunk: two were already flushed
    assert info.value.op_index == 50
    assert snapshot(brepo.engine) == before


def test_bulk_write_trusts_only_values_validate_record_made(brepo, monkeypatch):
    """``Valid`` values (made only by ``validate_record``, read-only) are written without
    validating again; a plain dict is validated, and refused when invalid."""
    from storage import decision
    from storage.schema import RECORD_TYPES
    from storage.validation import Valid, validate_record

    raw = dict(_service(1).values, persons="3", date="2024-01-02")
    valid, _issues = validate_record(RECORD_TYPES["service"], raw, brepo.choices())
    assert isinstance(valid, Valid) and valid["persons"] == 3 and valid["date"] == dt.date(2024, 1, 2)
    invalid, issues = validate_record(RECORD_TYPES["service"], dict(raw, persons=-1), brepo.choices())
    assert invalid is None and [i.field for i in issues if i.is_error] == ["persons"]
    with pytest.raises(TypeError):
        Valid(raw, object())
    with pytest.raises(TypeError):
        valid["persons"] = -1

    checked = []
    coerce_record = decision.coerce_record
    monkeypatch.setattr(decision, "coerce_record",
                        lambda rt, *a, **k: checked.append(rt.name) or coerce_record(rt, *a, **k))
    [trusted] = brepo.bulk_write([WriteOp("service", "insert", valid)])
    assert checked == [] and brepo.get("service", trusted.record_id)["persons"] == 3
    [plain] = brepo.bulk_write([WriteOp("service", "insert", raw)])
    assert checked == ["service"] and brepo.get("service", plain.record_id)["persons"] == 3
    with pytest.raises(ValidationError, match="人次"):
        brepo.bulk_write([WriteOp("service", "insert", dict(raw, persons=-1))])


def test_bulk_write_writes_records_and_changes(brepo):
    seen = []
    ops = [_service(i) for i in range(120)]
    staff = WriteOp("staff", "insert", staff_values())
    ops.append(staff)
    before = snapshot(brepo.engine)
    results = brepo.bulk_write(ops, chunk=50, progress=seen.append)
    assert len(results) == 121 and seen == [50, 100, 121]
    assert staff.record_id == results[-1].record_id  # the op learns the id it was given
    after = snapshot(brepo.engine)
    assert after["service"] == before["service"] + 120
    assert after["change_log"] == before["change_log"] + 121
    with brepo.engine.connect() as conn:
        ids = {r.record_id for r in conn.execute(select(ChangeLog.record_id))}
    assert {r.record_id for r in results} <= ids
    assert len({r.change_id for r in results}) == 121

    # updates and deletes in bulk, referring to what exists
    upd = brepo.bulk_write([WriteOp("service", "update", {"persons": 99}, results[0].record_id),
                            WriteOp("service", "delete", {}, results[1].record_id)])
    assert [r.version for r in upd] == [2, 2]
    assert brepo.get("service", results[0].record_id)["persons"] == 99
    assert brepo.get("service", results[1].record_id) is None
    assert fields_of(history_of(brepo.engine, upd[0].change_id)) == {("人次", "1", "99")}


def test_org_unit_ids_are_deterministic(brepo):
    rec = brepo.get("org_unit", org_unit_id(VILLAGE))
    assert rec is not None and rec["name"] == "测试村"
    with pytest.raises(WriteRefused, match="已存在"):
        brepo.create("org_unit", {"org_code": VILLAGE, "name": "重复", "level": "村/社区",
                                  "urban_rural": "农村社区"})
    with pytest.raises(WriteRefused, match="组织机构记录的编号必须由区划代码生成"):
        brepo.create("org_unit", {"org_code": "220102001002", "name": "新村", "level": "村/社区",
                                  "urban_rural": "农村社区"}, record_id=str(uuid.uuid4()))


# --------------------------------------------------------------------------- apply_change (sync)


def _remote_change(record_id=None, base=0, version=1, op="insert", **payload_over) -> Change:
    payload = {"org_code": VILLAGE, "date": "2024-05-06", "category": "矛盾调解", "mode": "窗口",
               "target": "一般居民", "persons": 2, "provider": None, "duration_hours": 1.5, "satisfaction": "满意",
               "note": "调解邻里纠纷", "deleted": False}
    payload.update(payload_over)
    return Change(change_id=str(uuid.uuid4()), record_type="service", record_id=record_id or str(uuid.uuid4()),
                  org_code=VILLAGE, op=op, base_version=base, version=version, payload=payload, actor="王会计",
                  device_id="00000000-0000-4000-8000-000000000002", at="2024-05-06T08:30:00+00:00")


def _apply(repo, change, **kw):
    with repo.engine.begin() as conn:
        return repo.apply_change(conn, change, **kw)


def test_a_date_typed_another_way_is_parsed_or_refused_never_raised(brepo):
    # one odd value used to raise ValueError here, and a pulled page holding it failed on every retry
    other_spelling = _remote_change(date="2024/5/7")
    assert _apply(brepo, other_spelling) == ("applied", None)
    assert brepo.get("service", other_spelling.record_id)["date"] == dt.date(2024, 5, 7)

    before = snapshot(brepo.engine)
    impossible = _remote_change(date="2024-02-30")
    outcome, message = _apply(brepo, impossible)
    assert outcome == "rejected" and "“2024-02-30”不是有效日期" in message
    # a tombstone is written without validation: still refused in Chinese, not an exception
    tombstone = _remote_change(date="2024-02-30", deleted=True)
    assert _apply(brepo, tombstone) == (
        "rejected", "服务记录：日期“2024-02-30”不是有效日期（应为 2024-03-05 这样的格式），这条变更没有写入")
    # the batch path gives the same answers
    with brepo.engine.begin() as conn:
        outcomes = brepo.apply_changes(conn, [_remote_change(date="2024-02-30"),
                                              _remote_change(date="2024-02-30", deleted=True)])
    assert [o for o, _ in outcomes] == ["rejected", "rejected"]
    assert "不是有效日期" in outcomes[1][1]
    assert snapshot(brepo.engine) == before


def test_apply_change_outcomes(brepo):
    change = _remote_change()
    before = snapshot(brepo.engine)
    assert _apply(brepo, change) == ("applied", None)
    rec = brepo.get("service", change.record_id)
    assert rec["version"] == 1 and rec["updated_by"] == "王会计" and rec["date"] == dt.date(2024, 5, 6)
    assert rec["updated_at"] == dt.datetime(2024, 5, 6, 8, 30, tzinfo=dt.timezone.utc)
    [row] = changes_for(brepo.engine, change.record_id)
    assert row.change_id == change.change_id and row.sync_state == "remote" and row.actor == "王会计"
    assert brepo.unsent_count() == before["change_log"]  # remote changes are not sent back
    after_apply = snapshot(brepo.engine)

    # the same change again: duplicate, nothing written
    assert _apply(brepo, change) == ("duplicate", None)
    # the same change id with different content: rejected, nothing written
    forged = Change(**{**change.to_dict(), "payload": {**change.payload, "persons": 7}})
    outcome, message = _apply(brepo, forged)
    assert outcome == "rejected" and "同一变更编号已用于不同的内容" in message
    # based on a version that is not the current one: conflict, nothing written
    stale = _remote_change(change.record_id, base=0, version=1, persons=9)
    outcome, message = _apply(brepo, stale)
    assert outcome == "conflict" and "对方版本1，本机基于版本0" in message
    # invalid content: rejected with the field's message, nothing written
    bad = _remote_change(persons=-1)
    outcome, message = _apply(brepo, bad)
    assert outcome == "rejected" and message == "服务记录：人次：不能为负数，请核对后重新填写"
    unknown = Change(**{**_remote_change().to_dict(), "record_type": "spaceship"})
    assert _apply(brepo, unknown) == ("rejected", "未知的记录类型“spaceship”")
    assert snapshot(brepo.engine) == after_apply
    assert brepo.get("service", bad.record_id, include_deleted=True) is None

    # a follow-up change based on the current version applies; a remote delete leaves a tombstone
    follow = _remote_change(change.record_id, base=1, version=2, op="update", persons=4)
    assert _apply(brepo, follow)[0] == "applied"
    gone = _remote_change(change.record_id, base=2, version=3, op="delete", persons=4, deleted=True)
    assert _apply(brepo, gone)[0] == "applied"
    assert brepo.get("service", change.record_id) is None
    assert brepo.get("service", change.record_id, include_deleted=True)["version"] == 3
    entry = history_of(brepo.engine, follow.change_id)
    assert (entry.actor, fields_of(entry)) == ("王会计", {("人次", "2", "4")})


def test_apply_change_rolls_back_with_callers_transaction(brepo):
    before = snapshot(brepo.engine)
    change = _remote_change()
    with pytest.raises(RuntimeError):
        with brepo.engine.begin() as conn:
            assert brepo.apply_change(conn, change)[0] == "applied"
            raise RuntimeError("batch rejected later")
    assert snapshot(brepo.engine) == before


def test_guard_rejects_remote_change(brepo):
    brepo.guards.append(lambda conn, rt, op, new, old: "该填报期已锁定" if rt.name == "service" else None)
    before = snapshot(brepo.engine)
    assert _apply(brepo, _remote_change()) == ("rejected", "该填报期已锁定")
    assert snapshot(brepo.engine) == before


# --------------------------------------------------------------------------- outbox


def test_pending_changes_and_ack(brepo):
    start = brepo.unsent_count()
    recs = [brepo.create("staff", staff_values(id_number=_id(f"22010219850307{i:03d}"))) for i in range(3)]
    assert brepo.unsent_count() == start + 3
    pending = brepo.pending_changes(limit=1000)
    assert [c.record_id for _, c in pending][-3:] == [r["id"] for r in recs]
    seqs = [s for s, _ in pending]
    assert seqs == sorted(seqs)
    page = brepo.pending_changes(limit=2, after_seq=seqs[0])
    assert [s for s, _ in page] == seqs[1:3]
    brepo.mark_acked([c.change_id for _, c in pending])
    assert brepo.unsent_count() == 0
    with brepo.engine.connect() as conn:
        states = set(conn.execute(select(ChangeLog.sync_state)).scalars())
    assert states == {"acked"}


# --------------------------------------------------------------------------- choice lists


def test_choice_lists_extend_with_a_version(brepo):
    assert brepo.choice_versions()["facility_category"] == 1
    with pytest.raises(ValidationError, match="“老年食堂”不是可选项"):
        brepo.create("facility", {"org_code": VILLAGE, "name": "老年食堂", "category": "老年食堂", "status": "在用"})
    items = brepo.choices()["facility_category"] + ["老年食堂"]
    assert brepo.save_choice_list("facility_category", items) == 2
    assert brepo.choice_versions()["facility_category"] == 2
    rec = brepo.create("facility", {"org_code": VILLAGE, "name": "老年食堂", "category": "老年食堂", "status": "在用"})
    assert rec["category"] == "老年食堂"
    # another repository on the same database sees the extension
    other = Repository(brepo.engine, actor="另一台")
    assert "老年食堂" in other.choices()["facility_category"]
    # items in use cannot be dropped by an extension
    with pytest.raises(WriteRefused, match="选项列表只能增加选项，不能删除已有选项：老年食堂"):
        brepo.save_choice_list("facility_category", items[:-1])
    # an older version never overwrites a newer one (a county list arriving twice)
    assert brepo.save_choice_list("facility_category", items + ["新项"], version=2) == 2
    assert "新项" not in brepo.choices()["facility_category"]
    with pytest.raises(WriteRefused, match="没有名为“no_such_list”的选项列表"):
        brepo.save_choice_list("no_such_list", ["a"])


def test_settings_round_trip(brepo):
    assert brepo.get_setting("server_url") is None
    assert brepo.get_setting("server_url", "无") == "无"
    brepo.set_setting("server_url", "http://127.0.0.1:8765")
    brepo.set_setting("server_url", "http://10.0.0.2:8765")
    assert brepo.get_setting("server_url") == "http://10.0.0.2:8765"


def test_all_field_types_round_trip(brepo):
    """JSON, Date, Boolean, Float, Integer, UTC timestamps survive the bulk path on this backend."""
    team = brepo.create("volunteer_team", {"org_code": VILLAGE, "name": "党员志愿服务队", "party_backbone": "是"})
    vol = brepo.create("volunteer", {"org_code": VILLAGE, "name": "王芳", "gender": "女", "id_number": ID_2,
                                     "phone": "+86 139-1234-5678", "party_member": False, "registered": True,
                                     "registration_no": "ZY1234567890", "team_id": team["id"],
                                     "skills": "医疗、法律"})
    hours = brepo.create("volunteer_hours", {"org_code": VILLAGE, "volunteer_id": vol["id"], "date": "２０２４年３月５日",
                                             "activity": "义诊", "hours": "2.5小时"})
    org = brepo.create("social_org", {"org_code": VILLAGE, "name": "夕阳红协会", "org_type": "文体",
                                      "members": "36人", "brand": True})
    got = brepo.get("volunteer", vol["id"])
    assert got["skills"] == ["医疗", "法律"] and got["registered"] is True and got["party_member"] is False
    assert got["phone"] == "13912345678" and got["team_id"] == team["id"]
    assert brepo.get("volunteer_team", team["id"])["party_backbone"] is True
    h = brepo.get("volunteer_hours", hours["id"])
    assert h["date"] == dt.date(2024, 3, 5) and h["hours"] == 2.5
    assert brepo.get("social_org", org["id"])["members"] == 36
    year = brepo.create("org_year", {"org_code": VILLAGE, "year": "2024", "households": "820户",
                                     "total_building_area": "5,200㎡"})
    assert (year["year"], year["households"], year["total_building_area"]) == (2024, 820, 5200.0)


def test_bulk_write_same_record_twice_in_one_chunk(brepo):
    rid = str(uuid.uuid4())
    results = brepo.bulk_write([_service(1), WriteOp("service", "insert", _service(2).values, rid),
                                WriteOp("service", "update", {"persons": 12}, rid), _service(3)])
    assert [r.version for r in results] == [1, 1, 2, 1]
    assert brepo.get("service", rid)["persons"] == 12
    assert [c.version for c in changes_for(brepo.engine, rid)] == [1, 2]
    before = snapshot(brepo.engine)
    dup = str(uuid.uuid4())
    with pytest.raises(WriteRefused, match=f"服务记录{dup}已存在，不能重复新建"):
        brepo.bulk_write([WriteOp("service", "insert", _service(4).values, dup), _service(5),
                          WriteOp("service", "insert", _service(6).values, dup)])
    assert snapshot(brepo.engine) == before
    with pytest.raises(WriteRefused, match="已存在"):
        brepo.bulk_write([WriteOp("service", "insert", _service(7).values, rid)])
    assert snapshot(brepo.engine) == before


def test_generated_ids_are_unique_uuid4(brepo):
    results = brepo.bulk_write([_service(i) for i in range(1500)])  # more than one block of 512
    ids = [r.record_id for r in results] + [r.change_id for r in results]
    assert len(set(ids)) == 3000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
    # every other digit is random: each of the 30 random digit positions takes many values
    digits = [{value.replace("-", "")[i] for value in ids} for i in range(32)]
    assert [len(d) for i, d in enumerate(digits) if i not in (12, 16)] == [16] * 30
    assert digits[16] == set("89ab")


def test_generated_ids_never_repeat_across_threads_or_a_fork():
    import os
    import threading

    from storage.models import new_id

    seen: list[str] = []
    def draw():
        seen.extend(new_id() for _ in range(20000))
    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 80000
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child draws ids after the fork and hands them back
        os.write(write_fd, "\n".join(new_id() for _ in range(200)).encode())
        os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    child = set(os.read(read_fd, 1 << 20).decode().split("\n"))
    os.close(read_fd)
    parent = {new_id() for _ in range(200)}
    assert len(child) == 200 and not child & parent
