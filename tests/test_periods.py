"""storage.periods: the month-end state machine, roles, completeness checklist and the lock guard."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import periods as P
from storage.periods.locks import _locked_set as locked_set
from storage.repository import Change, Repository, WriteOp, WriteRefused
from tests.fixtures.county import write_unchecked

VILLAGE = "220102001001"
OTHER_VILLAGE = "220102002001"
TOWNSHIP = "220102001000"
COUNTY = "220102000000"
MONTH = "2024-03"

ID1 = "11010519491231002X"


def fill_month(repo, org=VILLAGE, month=MONTH, services=3):
    """A village with the standing registers and some services in the month."""
    start, _ = P.month_bounds(month)
    ops = [
        WriteOp("org_year", "insert", {"org_code": org, "year": start.year, "households": 320, "population": 980}),
        WriteOp("facility", "insert", {"org_code": org, "name": "村综合服务中心", "category": "综合服务设施/党群服务中心",
                                       "status": "在用", "building_area": 500}),
        WriteOp("staff", "insert", {"org_code": org, "name": "张伟", "id_number": ID1, "roles": ["网格员"],
                                    "status": "在岗"}),
    ]
    for i in range(services):
        ops.append(WriteOp("service", "insert", {"org_code": org, "date": start + dt.timedelta(days=i),
                                                 "category": "养老", "mode": "上门", "target": "老年人",
                                                 "persons": 2 + i}))
    return repo.bulk_write(ops)


def test_months_deadlines_and_ids():
    assert P.period_of(dt.date(2024, 3, 31)) == "2024-03"
    assert P.month_bounds("2024-12") == (dt.date(2024, 12, 1), dt.date(2025, 1, 1))
    assert P.previous_period(dt.date(2024, 1, 10)) == "2023-12"
    assert P.recent_periods(3, dt.date(2024, 3, 2)) == ["2024-02", "2024-01", "2023-12"]
    due = P.deadline("2024-03")
    assert due == dt.datetime(2024, 4, 5, 15, 59, 59, tzinfo=dt.timezone.utc)  # 23:59:59 Beijing time
    assert P.period_id(VILLAGE, MONTH) == P.period_id(VILLAGE, MONTH) != P.period_id(VILLAGE, "2024-04")
    with pytest.raises(ValueError, match="格式不对"):
        P.month_bounds("2024-13")


def test_reason_round_trip_with_record_notes():
    note = P.RecordNote("service", "12345678-1234-4234-8234-123456789012", "人次应为 5", "2024-03-02 养老")
    text = P.format_reason("请核对服务人次", [note])
    general, notes = P.parse_reason(text)
    assert general == "请核对服务人次"
    assert notes == [note]
    assert "[record:" not in P.display_reason(text)
    assert "服务记录（2024-03-02 养老）：人次应为 5" in P.display_reason(text)


def test_roles_and_scope():
    assert P.may_act("village", "submit", VILLAGE, VILLAGE) is None
    assert "不能审核通过" in P.may_act("village", "approve", VILLAGE, VILLAGE)
    assert P.may_act("township", "approve", TOWNSHIP, VILLAGE) is None
    assert "管辖范围" in P.may_act("township", "approve", TOWNSHIP, OTHER_VILLAGE)
    assert "只有县民政局可以接收" in P.may_act("township", "accept", TOWNSHIP, VILLAGE)
    assert P.may_act("county", "accept", COUNTY, VILLAGE) is None
    assert P.may_act("county", "return", COUNTY, VILLAGE) is None
    assert "不能重新打开" in P.may_act("township", "reopen", TOWNSHIP, VILLAGE)
    assert "不能提交" in P.may_act("township", "submit", TOWNSHIP, VILLAGE)


def test_transition_table():
    base = {"org_code": VILLAGE, "period": MONTH}
    assert P.check_transition(None, {**base, "status": P.SUBMITTED}) is None
    assert "不能从“未提交”直接改为“乡镇已审核”" in P.check_transition(None, {**base, "status": P.APPROVED})
    old = {**base, "status": P.SUBMITTED}
    assert "必须填写原因" in P.check_transition(old, {**base, "status": P.RETURNED, "reason": " "})
    assert P.check_transition(old, {**base, "status": P.RETURNED, "reason": "缺少服务对象"}) is None
    assert "不能从“已提交”直接改为“县已接收”" in P.check_transition(old, {**base, "status": P.ACCEPTED})
    # with a role, the server's view
    approved = {**base, "status": P.APPROVED}
    assert "只有县民政局可以接收" in P.check_transition(approved, {**base, "status": P.ACCEPTED},
                                                  role="township", actor_org=TOWNSHIP)
    assert P.check_transition(approved, {**base, "status": P.ACCEPTED}, role="county", actor_org=COUNTY) is None
    assert "不能审核通过" in P.check_transition(old, {**base, "status": P.APPROVED}, role="village",
                                            actor_org=VILLAGE)
    assert "不能删除" in P.check_transition(old, {**old, "deleted": True})


def test_checklist_lists_what_is_missing(repo, village):
    checklist = P.completeness(repo, VILLAGE, MONTH)
    assert not checklist.ok
    missing = {i.key for i in checklist.problems}
    assert {"month:service", "standing:facility", "standing:staff", "standing:org_year"} <= missing
    assert "还没有2024年3月的服务记录" in checklist.summary()
    with pytest.raises(P.PeriodError, match="还不能提交"):
        P.submit(repo, VILLAGE, MONTH)
    assert P.get_state(repo, VILLAGE, MONTH).status == P.NOT_SUBMITTED
    fill_month(repo)
    checklist = P.completeness(repo, VILLAGE, MONTH)
    assert checklist.ok, checklist.summary()
    assert next(i for i in checklist.items if i.key == "month:service").detail == "已录入 3 条"
    # a month with no services of its own is still incomplete
    assert not P.completeness(repo, VILLAGE, "2024-04").ok


def test_checklist_blocks_on_stored_errors(repo, village):
    fill_month(repo)
    # a record that reached the database without validation (e.g. an old import) is reported
    write_unchecked(repo, [WriteOp("facility", "insert", {"org_code": VILLAGE, "name": "活动室", "category": "其他",
                                                         "status": "在用", "building_area": 50, "activity_area": 80})])
    checklist = P.completeness(repo, VILLAGE, MONTH)
    assert not checklist.ok
    item = next(i for i in checklist.items if i.key == "errors")
    assert "活动室" in item.detail and "大于建筑面积" in item.detail


def test_full_cycle_locks_and_reopen(repo, village):
    fill_month(repo)
    st = P.submit(repo, VILLAGE, MONTH)
    assert st.status == P.SUBMITTED and st.submitted_by == "测试员" and st.version == 1
    with pytest.raises(P.PeriodError, match="不能审核通过"):
        P.approve(repo, VILLAGE, MONTH, role="village", actor_org=VILLAGE)
    with pytest.raises(P.PeriodError, match="管辖范围"):
        P.approve(repo, VILLAGE, MONTH, role="township", actor_org="220102002000")
    with pytest.raises(P.PeriodError, match="必须填写原因"):
        P.return_period(repo, VILLAGE, MONTH, "  ", actor_org=TOWNSHIP)
    svc = repo.list("service", org_code=VILLAGE)[0]
    st = P.return_period(repo, VILLAGE, MONTH, "服务人次有误",
                         notes=[P.RecordNote("service", svc["id"], "人次应为 5", "2024-03-01 养老")],
                         actor_org=TOWNSHIP)
    assert st.status == P.RETURNED
    assert [n.record_id for n in P.parse_reason(st.reason)[1]] == [svc["id"]]
    assert [s.period for s in P.returned_notices(repo, VILLAGE)] == [MONTH]
    repo.update("service", svc["id"], {"persons": 5})
    P.submit(repo, VILLAGE, MONTH)
    assert P.returned_notices(repo, VILLAGE) == []
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    with pytest.raises(P.PeriodError, match="只有县民政局可以接收"):
        P.accept(repo, VILLAGE, MONTH, role="township", actor_org=TOWNSHIP)
    st = P.accept(repo, VILLAGE, MONTH, actor_org=COUNTY)
    assert st.locked and st.status == P.ACCEPTED

    # locked: no insert, update, delete of the month's records, by any path
    with pytest.raises(WriteRefused, match="已由县民政局接收并锁定"):
        repo.update("service", svc["id"], {"persons": 6})
    with pytest.raises(WriteRefused, match="锁定"):
        repo.delete("service", svc["id"])
    with pytest.raises(WriteRefused, match="锁定"):
        repo.create("service", {"org_code": VILLAGE, "date": dt.date(2024, 3, 20), "category": "养老",
                                "mode": "上门", "target": "老年人", "persons": 1})
    with pytest.raises(WriteRefused, match="锁定"):
        repo.bulk_write([WriteOp("service", "insert", {"org_code": VILLAGE, "date": dt.date(2024, 4, 2),
                                                       "category": "养老", "mode": "上门", "target": "老年人",
                                                       "persons": 1}),
                         WriteOp("service", "insert", {"org_code": VILLAGE, "date": dt.date(2024, 3, 2),
                                                       "category": "养老", "mode": "上门", "target": "老年人",
                                                       "persons": 1})])
    assert repo.count("service", org_code=VILLAGE) == 3  # all or nothing: the April row was not written either
    # moving a record out of the locked month is also an edit of that month
    with pytest.raises(WriteRefused, match="锁定"):
        repo.update("service", svc["id"], {"date": dt.date(2024, 4, 1)})
    # another month, another village, and standing registers stay writable
    repo.create("service", {"org_code": VILLAGE, "date": dt.date(2024, 4, 2), "category": "养老",
                            "mode": "上门", "target": "老年人", "persons": 1})
    fac = repo.list("facility", org_code=VILLAGE)[0]
    repo.update("facility", fac["id"], {"daily_open_hours": 8})
    assert repo.get("service", svc["id"])["persons"] == 5

    with pytest.raises(P.PeriodError, match="必须填写原因"):
        P.reopen(repo, VILLAGE, MONTH, "")
    with pytest.raises(P.PeriodError, match="不能重新打开"):
        P.reopen(repo, VILLAGE, MONTH, "更正", role="township", actor_org=TOWNSHIP)
    st = P.reopen(repo, VILLAGE, MONTH, "统计口径调整，请补录", actor_org=COUNTY)
    assert st.status == P.RETURNED and "统计口径调整" in st.reason and not st.locked
    repo.update("service", svc["id"], {"persons": 6})


def test_edits_after_submit_send_back_to_review(repo, village):
    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    assert not P.get_state(repo, VILLAGE, MONTH).needs_rereview
    svc = repo.list("service", org_code=VILLAGE)[0]
    repo.update("service", svc["id"], {"persons": 9})
    st = P.get_state(repo, VILLAGE, MONTH)
    assert st.needs_rereview and "待重新审核" in st.display_status
    with pytest.raises(P.PeriodError, match="需乡镇重新审核"):
        P.accept(repo, VILLAGE, MONTH, actor_org=COUNTY)
    P.return_period(repo, VILLAGE, MONTH, "请确认修改", role="county", actor_org=COUNTY)
    P.submit(repo, VILLAGE, MONTH)
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    assert P.accept(repo, VILLAGE, MONTH, actor_org=COUNTY).locked


def test_guard_refuses_invalid_period_records_and_remote_changes(repo, village, engine):
    fill_month(repo)
    with pytest.raises(WriteRefused, match="不能从“未提交”直接改为“县已接收”"):
        repo.create("period", {"org_code": VILLAGE, "period": MONTH, "status": P.ACCEPTED},
                    record_id=P.period_id(VILLAGE, MONTH))
    P.submit(repo, VILLAGE, MONTH)
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    P.accept(repo, VILLAGE, MONTH, actor_org=COUNTY)
    with pytest.raises(WriteRefused, match="不能删除"):
        repo.delete("period", P.period_id(VILLAGE, MONTH))
    # a change made elsewhere (sync, package) into the locked month is rejected with the reason
    other = Repository(engine, actor="别处", device_id="00000000-0000-4000-8000-000000000002")
    change = Change(change_id="aaaaaaaa-0000-4000-8000-000000000001", record_type="service",
                    record_id="bbbbbbbb-0000-4000-8000-000000000001", org_code=VILLAGE, op="insert",
                    base_version=0, version=1,
                    payload={"org_code": VILLAGE, "date": "2024-03-09", "category": "养老", "mode": "上门",
                             "target": "老年人", "persons": 1, "deleted": False},
                    actor="别处", device_id=None, at="2024-03-09T08:00:00+00:00")
    with engine.begin() as conn:
        outcome, message = other.apply_change(conn, change)
    assert outcome == "rejected" and "锁定" in message
    assert repo.get("service", change.record_id) is None


def test_locked_months_read_inside_a_rolled_back_savepoint_are_forgotten(repo, village, engine):
    """A pulled page is tried at once inside a savepoint and, if it cannot be, rolled back and
    applied change by change: a month it locked must not stay locked for the rest of the page."""
    from storage.db import nested_transaction
    from storage.models import table_for

    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    month = repo.get("period", P.period_id(VILLAGE, MONTH))
    t = table_for("period")
    with engine.begin() as conn:
        assert (VILLAGE, MONTH) not in locked_set(conn)
        savepoint = nested_transaction(conn)
        conn.execute(t.update().where(t.c.id == month["id"]).values(status=P.ACCEPTED))
        P.forget_locked_periods()  # as lock_guard does when a period record is written
        assert (VILLAGE, MONTH) in locked_set(conn)
        savepoint.rollback()
        assert (VILLAGE, MONTH) not in locked_set(conn)


def test_server_check_change_by_role(repo, village, engine):
    fill_month(repo)
    pid = P.period_id(VILLAGE, MONTH)

    def change(status, reason=None, period=MONTH, record_id=pid):
        return Change(change_id="c", record_type="period", record_id=record_id, org_code=VILLAGE, op="update",
                      base_version=1, version=2, payload={"org_code": VILLAGE, "period": period, "status": status,
                                                          "reason": reason, "deleted": False},
                      actor="x", device_id=None, at="2024-04-01T00:00:00+00:00")

    P.submit(repo, VILLAGE, MONTH)
    with engine.connect() as conn:
        assert "不能审核通过" in P.check_change(conn, change(P.APPROVED), "village", VILLAGE)
        assert P.check_change(conn, change(P.APPROVED), "township", TOWNSHIP) is None
        assert "管辖范围" in P.check_change(conn, change(P.APPROVED), "township", "220102002000")
        assert "不能从“已提交”直接改为“县已接收”" in P.check_change(conn, change(P.ACCEPTED), "county", COUNTY)
        assert "编号与单位、月份不符" in P.check_change(conn, change(P.APPROVED, record_id=P.period_id(VILLAGE, "2024-04")),
                                                "township", TOWNSHIP)
        assert P.check_change(conn, Change("d", "service", "x", VILLAGE, "insert", 0, 1, {}, "x", None, "t"),
                              "village", VILLAGE) is None
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    with engine.connect() as conn:
        assert "不能修改乡镇或县已处理" in P.check_change(conn, change(P.APPROVED, reason="x"), "village", VILLAGE)
        assert "只有县民政局可以接收" in P.check_change(conn, change(P.ACCEPTED), "township", TOWNSHIP)
        assert P.check_change(conn, change(P.ACCEPTED), "county", COUNTY) is None


def test_server_refuses_accept_after_edits_since_review(repo, village, engine):
    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    accept = Change(change_id="c", record_type="period", record_id=P.period_id(VILLAGE, MONTH), org_code=VILLAGE,
                    op="update", base_version=2, version=3,
                    payload={"org_code": VILLAGE, "period": MONTH, "status": P.ACCEPTED, "deleted": False},
                    actor="县", device_id=None, at="2024-04-09T00:00:00+00:00")
    with engine.connect() as conn:
        assert P.check_change(conn, accept, "county", COUNTY) is None
    svc = repo.list("service", org_code=VILLAGE)[0]
    repo.update("service", svc["id"], {"persons": 30})
    with engine.connect() as conn:
        assert "需乡镇重新审核" in P.check_change(conn, accept, "county", COUNTY)


def test_withdraw_before_review_and_resubmit_after_edits(repo, village, engine):
    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    step = P.next_step(P.get_state(repo, VILLAGE, MONTH))
    assert step == P.NextStep("已提交，等待乡镇审核。乡镇审核之前，如发现错误可以撤回", "withdraw")
    # the checklist never shows the submitted state as a problem
    item = next(i for i in P.completeness(repo, VILLAGE, MONTH).items if i.key == "state")
    assert item.ok and not item.blocking
    with pytest.raises(P.PeriodError, match="不需要重新提交"):
        P.resubmit(repo, VILLAGE, MONTH)
    st = P.withdraw(repo, VILLAGE, MONTH)
    assert st.status == P.NOT_SUBMITTED and st.submitted_at is None
    assert P.next_step(st, P.completeness(repo, VILLAGE, MONTH)).action == "submit"
    assert P.submit_or_resubmit(repo, VILLAGE, MONTH).status == P.SUBMITTED
    # three edits after submitting: one sentence with the count, and 重新提交 is the next action
    for svc in repo.list("service", org_code=VILLAGE):
        repo.update("service", svc["id"], {"persons": 9})
    st = P.get_state(repo, VILLAGE, MONTH)
    assert P.next_step(st) == P.NextStep("提交后又修改了 3 条，请重新提交", "resubmit")
    assert "已经提交" in P.edit_notice(st)[0] and P.edit_notice(st)[1] is False
    st = P.submit_or_resubmit(repo, VILLAGE, MONTH)
    assert st.status == P.SUBMITTED and not st.needs_rereview
    # once the township reviewed it, it can no longer be withdrawn — here and on the server
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    with pytest.raises(P.PeriodError, match="不能撤回"):
        P.withdraw(repo, VILLAGE, MONTH)
    withdraw = Change(change_id="c", record_type="period", record_id=P.period_id(VILLAGE, MONTH), org_code=VILLAGE,
                      op="update", base_version=3, version=4,
                      payload={"org_code": VILLAGE, "period": MONTH, "status": P.NOT_SUBMITTED, "deleted": False},
                      actor="村", device_id=None, at="2024-04-09T00:00:00+00:00")
    resubmit = Change(change_id="d", record_type="period", record_id=P.period_id(VILLAGE, MONTH), org_code=VILLAGE,
                      op="update", base_version=3, version=4,
                      payload={"org_code": VILLAGE, "period": MONTH, "status": P.SUBMITTED, "deleted": False},
                      actor="村", device_id=None, at="2024-04-09T00:00:00+00:00")
    with engine.connect() as conn:
        assert "不能再撤回" in P.check_change(conn, withdraw, "village", VILLAGE)
        assert "不需要重新提交" in P.check_change(conn, resubmit, "village", VILLAGE)
    # an edit after the review: the village resubmits and the month goes back to the township
    svc = repo.list("service", org_code=VILLAGE)[0]
    repo.update("service", svc["id"], {"persons": 11})
    st = P.get_state(repo, VILLAGE, MONTH)
    assert P.next_step(st) == P.NextStep("乡镇审核后又修改了 1 条，请重新提交，由乡镇重新审核", "resubmit")
    with engine.connect() as conn:
        assert P.check_change(conn, resubmit, "village", VILLAGE) is None
    assert P.submit_or_resubmit(repo, VILLAGE, MONTH).status == P.SUBMITTED
    P.approve(repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    st = P.accept(repo, VILLAGE, MONTH, actor_org=COUNTY)
    assert P.edit_notice(st)[1] is True and "锁定" in P.next_step(st).sentence


def test_month_record_counts_per_type_and_per_unit(repo):
    """The read API's month counts: one unit's records per dated type, and a scope's per unit."""
    from storage import reading
    from storage.orgcode import OrgCode

    fill_month(repo, services=3)
    fill_month(repo, org=OTHER_VILLAGE, services=2)
    fill_month(repo, month="2024-04", services=4)  # another month: not counted
    repo.delete("service", repo.list("service", org_code=OTHER_VILLAGE)[0]["id"])  # deleted: not counted
    per_type = reading.month_records_per_type(repo.engine, VILLAGE, MONTH)
    assert set(per_type) == set(P.dated_types())
    assert per_type["service"] == 3 and sum(per_type.values()) == 3
    assert reading.month_records_per_unit(repo.engine, OrgCode(COUNTY).scope, MONTH) == {VILLAGE: 3,
                                                                                         OTHER_VILLAGE: 1}
    assert reading.month_records_per_unit(repo.engine, OrgCode(VILLAGE).scope, "2024-04") == {VILLAGE: 4}
