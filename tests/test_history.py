"""A record's history (修改记录) read back from the audit log: storage.history.record_history."""

from __future__ import annotations

import datetime as dt
import uuid

from storage.history import OP_CREATE, OP_DELETE, OP_EDIT, OP_RESTORE, record_history
from storage.repository import Change

VILLAGE = "220102001001"
ID_1 = "11010519491231002X"  # GB 11643's own example
PHONE = "13800138000"


def _volunteer(repo, **extra):
    values = {"org_code": VILLAGE, "name": "王芳", "id_number": ID_1, "phone": PHONE, "party_member": False}
    values.update(extra)
    return repo.create("volunteer", values)


def test_history_reads_every_write_oldest_first_with_labels_and_masked_values(repo, village):
    team_a = repo.create("volunteer_team", {"org_code": VILLAGE, "name": "红袖标队"})
    team_b = repo.create("volunteer_team", {"org_code": VILLAGE, "name": "夕阳红队"})
    vol = _volunteer(repo, team_id=team_a["id"], skills=["医疗"])
    repo.update("volunteer", vol["id"], {"phone": "13912345678", "party_member": True, "team_id": team_b["id"],
                                         "skills": ["医疗", "法律"]})
    repo.delete("volunteer", vol["id"])
    repo.restore("volunteer", vol["id"])

    entries = record_history(repo.engine, "volunteer", vol["id"])

    assert [e.action for e in entries] == [OP_CREATE, OP_EDIT, OP_DELETE, OP_RESTORE]
    assert all(e.actor == "测试员" for e in entries)
    assert entries[0].changes == []
    edit = {c.label: (c.before, c.after) for c in entries[1].changes}
    assert edit == {
        "手机号": ("138****8000", "139****5678"),  # masked, never the whole number
        "党员": ("否", "是"),
        "所属志愿服务队": ("红袖标队", "夕阳红队"),  # a link shown by the record's name, not its id
        "专长": ("医疗", "医疗、法律"),
    }
    assert entries[2].changes == [] and entries[3].changes == []
    assert all(e.at.tzinfo is not None for e in entries)
    assert all(len(e.local_time()) == 16 for e in entries)  # 2026-11-23 15:04


def test_history_of_a_decimal_and_a_date_reads_as_typed(repo, village):
    rec = repo.create("service", {"org_code": VILLAGE, "date": "2024-06-01", "category": "养老", "mode": "上门",
                                  "target": "老年人", "persons": 2, "duration_hours": 1.5})
    repo.update("service", rec["id"], {"date": "2024年6月3日", "persons": 12, "duration_hours": 2})

    edit = record_history(repo.engine, "service", rec["id"])[1]

    assert {c.label: (c.before, c.after) for c in edit.changes} == {
        "日期": ("2024-06-01", "2024-06-03"), "人次": ("2", "12"), "时长": ("1.5", "2")}


def test_a_change_from_another_pc_keeps_its_author_and_time_and_comes_in_the_order_it_arrived(repo, village):
    vol = _volunteer(repo)
    at = dt.datetime(2026, 3, 5, 2, 30, tzinfo=dt.timezone.utc)  # that PC's clock: before the creation here
    payload = {**{k: vol.get(k) for k in ("org_code", "name", "gender", "id_number", "phone", "party_member",
                                          "registered", "registration_no", "team_id", "skills")},
               "name": "王芳芳"}
    change = Change(str(uuid.uuid4()), "volunteer", vol["id"], VILLAGE, "update", vol["version"],
                    vol["version"] + 1, payload, "镇上的李四", str(uuid.uuid4()), at.isoformat())
    with repo.engine.begin() as conn:
        assert repo.apply_change(conn, change)[0] == "applied"

    last = record_history(repo.engine, "volunteer", vol["id"])[-1]

    assert (last.actor, last.at, last.action) == ("镇上的李四", at, OP_EDIT)
    assert [(c.label, c.before, c.after) for c in last.changes] == [("姓名", "王芳", "王芳芳")]


def test_a_record_without_audit_rows_has_an_empty_history(repo, village):
    assert record_history(repo.engine, "volunteer", str(uuid.uuid4())) == []
