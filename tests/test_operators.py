"""Who is at the PC: chosen from the staff list (optional PIN), recorded on every write, submission and
return, shown in 修改记录 and the month page, carried by sync to the county's review."""

from __future__ import annotations

import pytest

from storage import operators
from storage import periods as P
from tests.serverproc import VILLAGE, ServerProcess, SyncTestClient, setup_county
from tests.test_exchange_util import valid_id


def _staff(repo, name, n, org=VILLAGE, status="在岗"):
    values = {"org_code": org, "name": name, "id_number": valid_id(n), "roles": ["网格员"], "status": status}
    if status == "离岗":
        values["left_on"] = "2024-01-01"
    return repo.create("staff", values)


@pytest.fixture
def shared_pc(repo, village):
    from storage import local

    local.set_identity(repo, village, "测试村")
    for n, name in enumerate(("王会计", "李主任", "赵网格员"), 1):
        _staff(repo, name, n)
    _staff(repo, "已离岗", 9, status="离岗")
    return repo


def test_choosing_a_name_with_an_optional_pin(shared_pc):
    repo = shared_pc
    assert operators.staff_names(repo) == sorted(["王会计", "李主任", "赵网格员"])
    assert operators.needs_choice(repo) and operators.start_of_day(repo) is None
    with pytest.raises(operators.OperatorError, match="不在本村"):
        operators.choose(repo, "已离岗")
    operators.choose(repo, "王会计", "2468")  # the first PIN typed becomes hers
    assert repo.actor == "王会计" and operators.has_pin(repo, "王会计")
    with pytest.raises(operators.OperatorError, match="PIN 不对"):
        operators.choose(repo, "王会计", "1357")
    with pytest.raises(operators.OperatorError, match="PIN 不对"):
        operators.choose(repo, "王会计")
    assert operators.choose(repo, "李主任") == "李主任"  # no PIN: none asked
    assert operators.last_operator(repo) == "李主任"
    assert "2468" not in (repo.get_setting(operators.S_PINS) or "")


def test_a_pc_with_one_member_of_staff_is_not_asked(repo, village):
    from storage import local

    local.set_identity(repo, village, "测试村")
    _staff(repo, "孙书记", 1)
    assert not operators.needs_choice(repo)
    assert operators.start_of_day(repo) == "孙书记" and repo.actor == "孙书记"


def test_writes_and_submissions_record_the_person_and_reach_the_county(tmp_path, insecure_keyring):
    from storage.history import record_history

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        pc = SyncTestClient(tmp_path / "clients", "pc", server.url, "cun")
        try:
            pc.sync()
            repo = pc.repo
            from tests.test_periods import fill_month

            fill_month(repo, month="2026-10", services=1)
            for n, name in enumerate(("王会计", "李主任"), 11):
                _staff(repo, name, n)
            operators.choose(repo, "王会计")
            svc = repo.create("service", {"org_code": VILLAGE, "date": "2026-10-03", "category": "养老",
                                          "mode": "上门", "target": "老年人", "persons": 2})
            operators.choose(repo, "李主任")
            repo.update("service", svc["id"], {"persons": 3})
            P.submit(repo, VILLAGE, "2026-10")
            history = record_history(repo.engine, "service", svc["id"])
            assert [e.actor for e in history][:2] in (["王会计", "李主任"], ["李主任", "王会计"])
            assert P.get_state(repo, VILLAGE, "2026-10").submitted_by == "李主任"
            pc.sync()
            # at the county: the record, its history and the month's submitter name the person
            from storage.db import make_engine
            from storage.repository import Repository

            server_engine = make_engine(server.db_url)
            county = Repository(server_engine)
            try:
                assert county.get("service", svc["id"])["updated_by"] == "李主任"
                assert {e.actor for e in record_history(server_engine, "service", svc["id"])} >= {"王会计", "李主任"}
                assert P.get_state(county, VILLAGE, "2026-10").submitted_by == "李主任"
                # a return names its reviewer the same way
                county.actor = "镇审核员"
                P.return_period(county, VILLAGE, "2026-10", "请补充", role="township", actor_org="220102001000")
                assert P.get_state(county, VILLAGE, "2026-10").reviewed_by == "镇审核员"
            finally:
                server_engine.dispose()
        finally:
            pc.close()


def test_the_app_asks_who_is_at_the_pc_and_shows_it(qtbot, shared_pc, taizhang_home):
    from desktop.ui.app import AppController, open_context
    from desktop.ui.jobs import runner

    operators.choose(shared_pc, "赵网格员", "1234")
    shared_pc.engine.dispose()
    ctx = open_context(taizhang_home / "taizhang.sqlite3")
    controller = AppController(ctx)
    try:
        dialog = controller.start()
        assert controller.window is None and dialog.objectName() == "operator_dialog"
        assert dialog.names.currentItem().text() == "赵网格员"  # the last person, preselected
        dialog.pin.setText("9999")
        dialog.accept()
        assert "PIN 不对" in dialog.error.text() and controller.window is None
        dialog.pin.setText("1234")
        dialog.accept()
        qtbot.waitUntil(lambda: controller.window is not None, timeout=10000)
        assert ctx.repo.actor == "赵网格员"
        assert controller.window.status_operator.text() == "操作人：赵网格员"
        saved = ctx.repo.create("service", {"org_code": VILLAGE, "date": "2024-03-05", "category": "养老",
                                            "mode": "上门", "target": "老年人", "persons": 1})
        assert saved["updated_by"] == "赵网格员"
    finally:
        runner().wait_idle(30)
        if controller.window is not None:
            controller.window.close()
            controller.window.deleteLater()
        ctx.repo.engine.dispose()
