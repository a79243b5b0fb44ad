"""A record form's drafts: while the form has unsaved changes it is written to the local draft table
every few seconds (``storage.drafts``), and the draft is discarded on save or on an explicit cancel.

:class:`FormDrafts` is a mixin of :class:`desktop.forms.record_form.RecordForm`: it uses the form's
widgets, child tables, ``drafts`` store and ``draft_id``.  See ``desktop.forms.drafts_dialog`` for
recovery after a crash.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy.exc import OperationalError

from desktop.ui.theme import mark_destructive
from storage.drafts import DraftData
from storage.validation import is_blank

log = logging.getLogger("taizhang.desktop.forms")


class FormDrafts:
    """Autosave, restore and the leftover-draft offer of a record form (see the module docstring)."""

    def draft_context(self) -> dict[str, Any]:
        ctx = {"org_code": self.org_code, "parent_id": self.parent_id, "base_version": self._base_version,
               "children": self.pending_children()}
        open_child = next((t.open_child_state() for t in self.child_tables if t.open_child is not None), None)
        if open_child:
            ctx["open_child"] = open_child
        return ctx

    def _mark_for_autosave(self) -> None:
        self._autosave_pending = True

    def autosave(self) -> bool:
        """Write the draft if anything changed since the last autosave; True if written."""
        if not self._autosave_pending or self.collect_only or self._saving:
            return False
        if not self.is_dirty():
            # Back to what is saved: nothing to keep.
            if self.draft_id:
                self._discard_draft()
            self._autosave_pending = False
            return False
        try:
            self.draft_id = self.drafts.save(self.rt.name, self.raw_values(), draft_id=self.draft_id,
                                             record_id=self.record_id, context=self.draft_context(),
                                             busy_timeout_ms=250)
        except OperationalError:
            # The database is busy (a long import holds the write lock): try again at the next tick.
            log.info("draft autosave of %s postponed: database busy", self.rt.name)
            return False
        self._autosave_pending = False
        return True

    def _restore_draft(self, draft: DraftData) -> None:
        was_loading = self._loading
        self._loading = True
        self.draft_id = draft.id
        self._apply_raw(draft.values)
        ctx = draft.context or {}
        drafted_on = ctx.get("base_version")
        if self.record_id is not None and drafted_on is not None and drafted_on != self._base_version:
            # The record changed after the draft was written (e.g. a sync): the draft's values are put
            # over the CURRENT record and saved against the current version — the user checks first.
            self.notice.setText(f"注意：这份草稿保存之后，这条{self.rt.record_noun}又被修改过"
                                f"（草稿基于第{drafted_on}版，现在是第{self._base_version}版）。"
                                "表单中是草稿的内容，请逐项核对后再保存。")
            self.notice.show()
        if ctx.get("parent_id") and not self.parent_id:
            self.parent_id = ctx["parent_id"]
        for table in self.child_tables:
            rows = (ctx.get("children") or {}).get(table.rt.name)
            if rows and table.deferred:
                table.pending = [dict(r) for r in rows]
                table.reload()
        self._reopen_child = ctx.get("open_child") if self.record_id is None else None
        self._autosave_pending = True
        self._initial_raw = {}  # restored content is unsaved by definition
        for name in self.widgets:
            self._initial_raw[name] = object()
        for name, w in self.widgets.items():
            if not is_blank(w.raw()):
                self._touched.add(name)
        self._loading = was_loading
        self._revalidate()

    def _offer_leftover_draft(self) -> None:
        """Opening a record that still has a draft (the user chose 以后再说 at startup): offer it."""
        draft, self._leftover_draft = self._leftover_draft, None
        if draft is None or not self.isVisible():
            return
        box = QMessageBox(QMessageBox.Icon.Question, "有未保存的草稿",
                          f"这条{self.rt.record_noun}有一份未保存的草稿（{draft.summary()}）。\n要用草稿的内容继续修改吗？",
                          parent=self)
        box.setObjectName("offer_leftover_draft")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        use = box.addButton("恢复草稿", QMessageBox.ButtonRole.AcceptRole)
        drop = box.addButton("丢弃草稿", QMessageBox.ButtonRole.DestructiveRole)
        mark_destructive(drop, use)
        box.setDefaultButton(use)
        box.setEscapeButton(drop)
        box.exec()
        if box.clickedButton() is use:
            self._restore_draft(draft)
            self.setWindowTitle(self.windowTitle() + "（从草稿恢复）")
        else:
            self.drafts.discard(draft.id)

    def _discard_draft(self) -> None:
        try:
            self.drafts.discard(self.draft_id)
        except OperationalError:
            log.warning("could not discard draft of %s (database busy); it will be offered again", self.rt.name)
        self.draft_id = None

    def _reopen_open_child(self) -> None:
        """The draft was written while a child's form was open: open it again where the user was."""
        state, self._reopen_child = self._reopen_child, None
        table = next((t for t in self.child_tables if t.rt.name == state.get("type")), None)
        if table is None or not self.isVisible():
            return
        index = state.get("index")
        if isinstance(index, int) and 0 <= index < len(table.pending):
            table.edit_pending(index, state.get("values") or {}, restored=True)
        else:
            table.add(state.get("values") or {}, restored=True)


__all__ = ["FormDrafts"]
