"""Draft recovery after the app process is killed with SIGKILL in the middle of an edit.

A real child process opens a staff form offscreen, types into it like a user
(Chinese through input-method commits, digits as key presses, roles ticked
with the keyboard), waits for the regular 3-second autosave, keeps typing and
is then killed with SIGKILL.  This process then opens the same data directory,
finds the draft, restores it through the startup dialog (offer_drafts) and
saves it: the record carries exactly what was typed before the autosave.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from storage.db import open_database
from storage.drafts import DraftStore
from storage.repository import Repository
from storage.validation import id_check_char

from desktop.forms.drafts_dialog import DraftsDialog, offer_drafts
from desktop.forms.record_form import RecordForm
from tests.test_forms import when_modal

ROOT = Path(__file__).resolve().parents[1]
FIRST17 = "22010219750612" + "402"
ID_NUMBER = FIRST17 + id_check_char(FIRST17)

CHILD = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from storage.db import open_database
    from storage.drafts import DraftStore
    from storage.repository import Repository
    from desktop.forms.record_form import RecordForm

    org_code, id_number = sys.argv[1], sys.argv[2]
    repo = Repository(open_database(), actor="村干部", device_id="00000000-0000-4000-8000-00000000abcd")
    form = RecordForm(repo, "staff", org_code)  # the regular autosave interval
    form.show()

    def chinese(widget, text):
        widget.setFocus()
        ev = QInputMethodEvent()
        ev.setCommitString(text)
        QApplication.sendEvent(widget, ev)

    chinese(form.field_widget("name").edit, "王秀英")
    QTest.keyClicks(form.field_widget("id_number").edit, id_number)
    QTest.keyClicks(form.field_widget("phone").edit, "13912345678")
    roles = form.field_widget("roles").list
    roles.setFocus()
    roles.setCurrentRow(4)  # 网格员
    QTest.keyClick(roles, Qt.Key.Key_Space)
    form.field_widget("status").combo.setCurrentIndex(1)  # 在岗
    chinese(form.field_widget("joined_on").edit, "2019年4月1日")
    store = DraftStore(repo.engine)

    def poll():
        drafts = store.list()
        if drafts and drafts[0].values.get("joined_on") == "2019年4月1日":
            print("DRAFT_SAVED", drafts[0].id, flush=True)
            timer.stop()
            # still editing when the power goes: typed after the autosave, never saved
            chinese(form.field_widget("name").edit, "（未保存）")

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(100)
    print("TYPED", flush=True)
    app.exec()
""")


def _run_child_until_draft(home: Path, org_code: str) -> tuple[str, float]:
    env = dict(os.environ, TAIZHANG_HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    err_path = home / "child-stderr.txt"
    err = open(err_path, "w", encoding="utf-8")  # a file, not a pipe: a full pipe would block the child
    proc = subprocess.Popen([sys.executable, "-c", CHILD, org_code, ID_NUMBER], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        typed_at = None
        deadline = time.monotonic() + 60
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in iter(proc.stdout.readline, "")] and None,
                         daemon=True).start()
        while time.monotonic() < deadline:
            try:  # a hung child must not hang the test run
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith("TYPED"):
                typed_at = time.monotonic()
            if line.startswith("DRAFT_SAVED"):
                waited = time.monotonic() - (typed_at or time.monotonic())
                time.sleep(0.3)  # mid-edit: the form is open, more has been typed, nothing saved
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                assert proc.returncode == -signal.SIGKILL
                return line.split()[1], waited
        proc.kill()
        err.flush()
        raise AssertionError(f"the child never autosaved a draft: {err_path.read_text(encoding='utf-8')[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        err.close()


def test_draft_recovered_after_sigkill_mid_edit(qtbot, taizhang_home, village, repo):
    draft_id, waited = _run_child_until_draft(taizhang_home, village)
    assert waited < 10, "autosave should run every few seconds"

    # "next start": a fresh engine on the same database file
    engine = open_database(taizhang_home / "taizhang.sqlite3")
    repo2 = Repository(engine, actor="村干部", device_id="00000000-0000-4000-8000-00000000abcd")
    drafts = DraftStore(engine).list()
    assert [d.id for d in drafts] == [draft_id]
    draft = drafts[0]
    assert draft.record_type == "staff" and draft.record_id is None
    assert draft.values["name"] == "王秀英"  # what was typed after the autosave is not in it
    assert draft.values["id_number"] == ID_NUMBER and draft.values["roles"] == ["网格员"]
    assert repo2.count("staff") == 0  # nothing half-saved
    assert ID_NUMBER not in draft.summary() and "王秀英" in draft.summary()

    seen = {}

    def check_and_save(form: RecordForm):
        seen["title"] = form.windowTitle()
        seen["values"] = form.raw_values()
        id_widget = form.field_widget("id_number")
        seen["masked_text"] = id_widget.edit.text()
        id_widget.button.click()  # 显示
        seen["revealed_text"] = id_widget.edit.text()
        form.save()

    when_modal(check_and_save, RecordForm, timeout_ms=15000)
    when_modal(lambda dialog: dialog.restore_button.click(), DraftsDialog, timeout_ms=15000)
    saved = offer_drafts(None, repo2, org_code=village)

    assert "从草稿恢复" in seen["title"]
    assert seen["values"]["name"] == "王秀英" and seen["values"]["joined_on"] == "2019年4月1日"
    assert seen["values"]["phone"] == "13912345678" and seen["values"]["status"] == "在岗"
    assert seen["masked_text"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert seen["revealed_text"] == ID_NUMBER
    assert len(saved) == 1
    record = repo2.get("staff", saved[0]["id"])
    assert record["name"] == "王秀英" and record["id_number"] == ID_NUMBER and record["org_code"] == village
    assert record["roles"] == ["网格员"] and record["joined_on"].isoformat() == "2019-04-01"
    assert DraftStore(engine).list() == []
    assert offer_drafts(None, repo2) == []  # nothing left to offer: no dialog at all
    engine.dispose()


@pytest.mark.parametrize("choice", ["丢弃"])
def test_offered_draft_can_be_discarded(qtbot, repo, village, choice):
    store = DraftStore(repo.engine)
    store.save("service", {"note": "调解邻里纠纷", "persons": "3"}, context={"org_code": village})
    from tests.test_forms import answer_box

    def discard(dialog: DraftsDialog):
        assert dialog.list.count() == 1 and "服务记录（新建）" in dialog.list.item(0).text()
        answer_box(choice)
        dialog.discard_button.click()

    when_modal(discard, DraftsDialog)
    assert offer_drafts(None, repo) == []
    assert store.list() == []
    assert repo.count("service") == 0
