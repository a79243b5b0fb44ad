"""Offering unsaved forms back after a crash or power cut.

``offer_drafts(parent, repo)`` is called once at startup.  It lists the drafts
left in the local database (newest first, described without personal
information) and lets the user 恢复 (reopen the form pre-filled), 丢弃 (after a
confirmation) or 以后再说 (keep them; they are offered again next start).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from storage.drafts import DraftData, DraftStore
from storage.repository import Repository
from storage.form_reading import read_form

from desktop.forms.form_jobs import run_read, warn
from desktop.forms.record_form import RecordForm, RecordNotFound


class DraftsDialog(QDialog):
    def __init__(self, repo: Repository, parent: QWidget | None = None, *, default_org_code: str | None = None):
        super().__init__(parent)
        self.repo = repo
        self.store = DraftStore(repo.engine)
        self.default_org_code = default_org_code
        self.saved_records: list[dict] = []
        self.setObjectName("drafts_dialog")
        self.setWindowTitle("恢复未保存的表单")
        layout = QVBoxLayout(self)
        intro = QLabel("上次关闭程序时（例如断电或程序异常退出），下列表单还没有保存。\n"
                       "选中一项后按“恢复”继续填写，或按“丢弃”删除这份草稿。", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget(self)
        self.list.setObjectName("drafts_list")
        self.list.itemActivated.connect(lambda _i: self.restore_selected())
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.restore_button = QPushButton("恢复", self)
        self.restore_button.setObjectName("restore_draft")
        self.discard_button = QPushButton("丢弃", self)
        self.discard_button.setObjectName("discard_draft")
        self.later_button = QPushButton("以后再说", self)
        self.later_button.setObjectName("later")
        for b in (self.restore_button, self.discard_button, self.later_button):
            b.setAutoDefault(False)
        self.restore_button.setDefault(True)
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        layout.addLayout(buttons)
        self.restore_button.clicked.connect(self.restore_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.later_button.clicked.connect(self.reject)
        self.resize(620, 360)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for draft in self.store.list():
            item = QListWidgetItem(draft.summary(), self.list)
            item.setData(Qt.ItemDataRole.UserRole, draft.id)
        if self.list.count():
            self.list.setCurrentRow(0)
        has = self.list.count() > 0
        self.restore_button.setEnabled(has)
        self.discard_button.setEnabled(has)

    def selected_draft(self) -> DraftData | None:
        item = self.list.currentItem()
        return self.store.load(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def form_for(self, draft: DraftData) -> RecordForm:
        """The form reopened with the draft's content (raises RecordNotFound if the record is gone)."""
        ctx = draft.context or {}
        org_code = ctx.get("org_code") or self.default_org_code or ""
        repo = self.repo
        data = run_read(self, lambda: read_form(repo, draft.record_type, org_code, draft.record_id, with_draft=False))
        return RecordForm(repo, draft.record_type, org_code, draft.record_id, self,
                          parent_id=ctx.get("parent_id"), draft=draft, data=data)

    def restore_selected(self) -> dict | None:
        draft = self.selected_draft()
        if draft is None:
            return None
        try:
            form = self.form_for(draft)
        except RecordNotFound:
            warn(self, "无法恢复",
                                f"这份草稿修改的{draft.type_noun}已被删除，草稿无法恢复，已将其丢弃。"
                                "如需恢复该记录，请到“最近删除”中操作。", "restore_failed")
            self.store.discard(draft.id)
            self.reload()
            return None
        form.exec()
        self.reload()
        if form.result_record is not None:
            self.saved_records.append(form.result_record)
        if self.list.count() == 0:
            self.accept()
        return form.result_record

    def discard_selected(self) -> None:
        draft = self.selected_draft()
        if draft is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "丢弃草稿？",
                          f"确定丢弃这份草稿吗？\n{draft.summary()}\n丢弃后无法找回。", parent=self)
        box.setObjectName("confirm_discard_draft")
        yes = box.addButton("丢弃", QMessageBox.ButtonRole.DestructiveRole)
        no = box.addButton("保留", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no)
        box.exec()
        if box.clickedButton() is yes:
            self.store.discard(draft.id)
            self.reload()
            if self.list.count() == 0:
                self.accept()


def offer_drafts(parent: QWidget | None, repo: Repository, *, org_code: str | None = None) -> list[dict]:
    """At startup: offer unsaved forms back.  Returns the records saved from restored drafts."""
    if not DraftStore(repo.engine).list():
        return []
    dialog = DraftsDialog(repo, parent, default_org_code=org_code)
    dialog.exec()
    return dialog.saved_records


__all__ = ["DraftsDialog", "offer_drafts"]
