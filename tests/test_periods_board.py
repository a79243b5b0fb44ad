"""reports.completeness: the board per village and month, rates per township and county, Excel export."""

from __future__ import annotations

import datetime as dt

from storage import periods as P
from storage.repository import WriteOp
from reports import completeness as C

COUNTY = "220102000000"
T1, T2 = "220102001000", "220102002000"
V = {"a": "220102001001", "b": "220102001002", "c": "220102001003", "d": "220102002001"}


def tree(repo):
    ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "测试县", "level": "县"}),
           WriteOp("org_unit", "insert", {"org_code": T1, "name": "东镇", "level": "乡镇/街道", "parent_code": COUNTY}),
           WriteOp("org_unit", "insert", {"org_code": T2, "name": "西镇", "level": "乡镇/街道", "parent_code": COUNTY})]
    for key, code in V.items():
        ops.append(WriteOp("org_unit", "insert", {"org_code": code, "name": f"{key}村", "level": "村/社区",
                                                  "parent_code": code[:9] + "000", "urban_rural": "农村社区"}))
    repo.bulk_write(ops)


def period_record(repo, code, month, status, submitted_at=None, reason=None):
    repo.create("period", {"org_code": code, "period": month, "status": P.SUBMITTED,
                           "submitted_at": submitted_at}, record_id=P.period_id(code, month))
    if status == P.RETURNED:
        repo.update("period", P.period_id(code, month), {"status": P.RETURNED, "reason": reason})
    elif status == P.APPROVED:
        repo.update("period", P.period_id(code, month), {"status": P.APPROVED})


def test_board_cells_and_rates(repo, tmp_path):
    tree(repo)
    period_record(repo, V["a"], "2024-03", P.SUBMITTED, "2024-04-03T02:00:00+00:00")  # on time
    period_record(repo, V["b"], "2024-03", P.APPROVED, "2024-04-08T02:00:00+00:00")  # late
    period_record(repo, V["c"], "2024-03", P.RETURNED, "2024-04-02T02:00:00+00:00", "服务记录缺少服务对象")
    # the due day ends at 23:59:59 Beijing time = 15:59:59 UTC
    period_record(repo, V["d"], "2024-03", P.SUBMITTED, "2024-04-05T15:59:00+00:00")
    period_record(repo, V["a"], "2024-04", P.SUBMITTED, "2024-05-01T01:00:00+00:00")
    now = dt.datetime(2024, 5, 3, tzinfo=dt.timezone.utc)
    board = C.build_board(repo, COUNTY, ["2024-03", "2024-04"], now=now)
    assert [r.org_code for r in board.rows] == sorted(V.values())
    assert board.cell(V["a"], "2024-03").kind == C.ON_TIME
    assert board.cell(V["b"], "2024-03").kind == C.LATE
    assert board.cell(V["b"], "2024-03").text == "逾期提交·乡镇已审核"
    assert board.cell(V["c"], "2024-03").kind == C.RETURNED
    assert board.cell(V["d"], "2024-03").kind == C.ON_TIME
    assert board.cell(V["b"], "2024-04").kind == C.NOT_YET  # due 2024-05-05, not passed yet
    later = C.build_board(repo, COUNTY, ["2024-04"], now=dt.datetime(2024, 5, 6, tzinfo=dt.timezone.utc))
    assert later.cell(V["b"], "2024-04").kind == C.OVERDUE

    march = board.total["2024-03"]
    assert (march.villages, march.reported, march.on_time, march.returned) == (4, 3, 2, 1)
    assert march.reporting_rate == 0.75 and march.on_time_rate == 0.5
    east = board.townships[T1][1]["2024-03"]
    assert board.townships[T1][0] == "东镇"
    assert (east.villages, east.reported, east.on_time) == (3, 2, 1)
    assert board.townships[T2][1]["2024-03"].on_time_rate == 1.0
    assert C.percent(east.reporting_rate) == "66.7%"

    # a township sees only its villages
    tboard = C.build_board(repo, T2, ["2024-03"], now=now)
    assert [r.org_code for r in tboard.rows] == [V["d"]]

    # a different deadline day changes on time/late, from the setting
    repo.set_setting("period_deadline_day", "10")
    assert C.build_board(repo, COUNTY, ["2024-03"], now=now).cell(V["b"], "2024-03").kind == C.ON_TIME

    path = C.export_xlsx(board, tmp_path / "board.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    detail = wb["明细"]
    assert detail["D2"].value == "2024年3月" and detail["E2"].value == "2024年4月"
    rows = {r[2]: r for r in detail.iter_rows(min_row=3, values_only=True)}
    assert rows[V["c"]][3] == C.RETURNED and rows[V["a"]][3] == C.ON_TIME
    assert detail.cell(row=3 + sorted(V.values()).index(V["c"]), column=4).comment.text == "服务记录缺少服务对象"
    summary = list(wb["汇总"].iter_rows(min_row=2, values_only=True))
    total_march = next(r for r in summary if r[0] == "测试县（合计）" and r[1] == "2024年3月")
    assert total_march[2:] == (4, 3, 2, 1, 0.75, 0.5)
