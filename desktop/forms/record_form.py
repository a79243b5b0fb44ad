"""The record form: a dialog generated from a RecordType of the field schema.

Layout: one row per form field — the label (with a red * when required), the
input widget (unit as suffix) and, right under it, the Chinese message for
that field.  Validation runs on every keystroke with the same code the
repository, Excel import and sync use (``coerce_record`` = per-field
``coerce`` plus ``check_record`` cross-field rules); errors block saving,
warnings are shown but do not.  Messages of a required field that is still
empty appear once the user has been in that field or tried to save, so a blank
form does not open covered in red — the summary line under the form always
says what is missing.

Keyboard: Tab follows the form top to bottom; Enter saves (on a focused button
it presses the button); Esc cancels and asks before throwing away changes.

Reading: what the form shows (the record, choices, reference options, children, a leftover draft)
comes in one :class:`storage.form_reading.FormData`, which the app reads in a read job before it
opens the form; a form built without it reads it where it is built (tests, callers without an
event loop).  Writes and the month check before a save run as jobs (``desktop.forms.form_jobs``).

Child records (培训记录 in 社区工作者, 服务时长 in 志愿者) are edited in a
small table inside the parent's form (``desktop.forms.child_table``).  For a new
parent the children are kept in the form and written together with the parent
in one transaction (``Repository.bulk_write``), so a cancelled new parent leaves
nothing behind.  Drafts: ``desktop.forms.form_drafts``.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractButton, QDialog, QDialogButtonBox, QGridLayout, QLabel, QPushButton,
                               QRadioButton, QScrollArea, QVBoxLayout, QWidget)

from desktop.forms.child_table import ChildTable
from desktop.forms.form_drafts import FormDrafts
from desktop.forms.form_jobs import ask, run_read, run_write, warn
from desktop.forms.widgets import FieldWidget, MaskedWidget, widget_for
from desktop.ui.jobs import write_op
from storage.drafts import DraftData, DraftStore
from storage.form_reading import FormData, RecordNotFound, month_notices, read_form
from storage.models import new_id
from storage.orgcode import OrgCode, is_org_code
from storage.repository import Repository, WriteOp, WriteRefused
from storage.schema import children_of, record_type
from storage.validation import Issue, ValidationError, coerce, coerce_record, id_birth_date, is_blank, mask

log = logging.getLogger("taizhang.desktop.forms")

AUTOSAVE_MS = 3000
ERROR_COLOR = "#b00020"
WARNING_COLOR = "#8a5300"
REQUIRED_MARK = f"<span style='color:{ERROR_COLOR}'> *</span>"


class RecordForm(FormDrafts, QDialog):
    """A modal form for one record type; see the module docstring."""

    saved = Signal(dict)

    def __init__(self, repo: Repository, type_name: str, org_code: str, record_id: str | None = None,
                 parent: QWidget | None = None, *, parent_id: str | None = None, draft: DraftData | None = None,
                 collect_only: bool = False, initial: dict | None = None, autosave_ms: int = AUTOSAVE_MS,
                 data: FormData | None = None):
        super().__init__(parent)
        if data is None:
            data = read_form(repo, type_name, org_code, record_id, with_children=not collect_only,
                             with_draft=draft is None and not collect_only)
        self.data = data
        self.repo = repo
        self.rt = record_type(type_name)
        self.org_code = org_code
        self.record_id = record_id
        self.parent_id = parent_id
        self.collect_only = collect_only  # child of an unsaved parent: return values, write nothing
        self.autosave_ms = autosave_ms
        self.drafts = DraftStore(repo.engine)
        self.draft_id: str | None = draft.id if draft else None
        self.result_record: dict | None = None
        self.result_raw: dict | None = None
        self.choices = data.choices
        self._base_version: int | None = None
        self._touched: set[str] = set()
        self._show_all = False
        self._issues: list[Issue] = []
        self._values: dict = {}
        self._loading = True
        self._autosave_pending = False
        self._saving = False
        self.setObjectName(f"form_{type_name}")
        self.setModal(True)

        record = data.record
        self._base_date = None  # the stored record's date: moving it out of a submitted month changes that month
        if record is not None:
            self._base_version = record["version"]
            self._base_date = record.get(self.rt.date_field) if self.rt.date_field else None
            if self.rt.parent_field and not parent_id:
                self.parent_id = record.get(self.rt.parent_field)

        self._build()
        if record is not None:
            for name, w in self.widgets.items():
                w.set_raw(record.get(name))
        if initial:
            self._apply_raw(initial)
        self._initial_raw = self.raw_values()
        self._leftover_draft: DraftData | None = None
        self._reopen_child: dict | None = None
        if draft is not None:
            self._restore_draft(draft)
        elif record_id is not None and not collect_only:
            self._leftover_draft = data.leftover_draft
        for name, w in self.widgets.items():
            if not is_blank(w.raw()):
                self._touched.add(name)
        self._loading = False
        self._revalidate()

        what = self.rt.label
        if record_id is None:
            self.setWindowTitle(f"新建{what}")
        else:
            name = record.get("name") if record else None
            self.setWindowTitle(f"修改{what}" + (f"：{name}" if name else ""))
        if draft is not None:
            self.setWindowTitle(self.windowTitle() + "（从草稿恢复）")

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        if not collect_only:
            self.autosave_timer.start()
        QTimer.singleShot(0, self, self._focus_first)

    def _focus_first(self) -> None:
        first = next(iter(self.widgets.values()), None)
        if first is not None:
            first.setFocus()

    # ----------------------------------------------------------------- building

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.form_message = QLabel(self)
        self.form_message.setObjectName("form_message")
        self.form_message.setWordWrap(True)
        self.form_message.setStyleSheet(f"color:{ERROR_COLOR}")
        self.form_message.hide()
        outer.addWidget(self.form_message)
        self.notice = QLabel(self)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color:{WARNING_COLOR}")
        self.notice.hide()
        outer.addWidget(self.notice)

        body = QWidget(self)
        grid = QGridLayout(body)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(4)
        self.widgets: dict[str, FieldWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.messages: dict[str, QLabel] = {}
        row = 0
        for f in self.rt.form_fields:
            label = QLabel(f.label + (REQUIRED_MARK if f.required else ""), body)
            label.setObjectName(f"label_{f.name}")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            if f.help:
                label.setToolTip(f.help)
            options = self.data.ref_options.get(f.name, []) if f.type == "ref" else None
            w = widget_for(f, self.choices, options, body)
            if f.help:
                w.setToolTip(f.help)
            label.setBuddy(w.focus_widgets()[0])
            for target in w.focus_widgets():
                if not target.accessibleName():
                    target.setAccessibleName(f.label if target is w.focus_widgets()[0]
                                             else f"{f.label}：{getattr(target, 'text', lambda: '')()}")
                if f.help and not target.accessibleDescription():
                    target.setAccessibleDescription(f.help)
            message = QLabel(body)
            message.setObjectName(f"message_{f.name}")
            message.setWordWrap(True)
            message.hide()
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(w)
            cell.addWidget(message)
            grid.addWidget(label, row, 0)
            grid.addLayout(cell, row, 1)
            label.setContentsMargins(0, 6, 0, 0)
            self.widgets[f.name] = w
            self.labels[f.name] = label
            self.messages[f.name] = message
            w.changed.connect(lambda name=f.name: self._field_changed(name))
            if isinstance(w, MaskedWidget):
                w.revealed_changed.connect(lambda _on: self._revalidate())
                w.revealed_changed.connect(lambda on, name=f.name: on and self._record_reveal(name))
            row += 1

        self.child_tables: list[ChildTable] = []
        if not self.collect_only:
            for child in children_of(self.rt.name):
                table = ChildTable(self, child, self.data.children.get(child.name))
                table.changed.connect(self._children_edited)
                grid.addWidget(table, row, 0, 1, 2)
                self.child_tables.append(table)
                row += 1

        grid.setRowStretch(row, 1)  # spare height goes below the form, not into the rows

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        self.summary = QLabel(self)
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)

        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton("保存（Enter）", self)
        self.save_button.setObjectName("save")
        self.cancel_button = QPushButton("取消（Esc）", self)
        self.cancel_button.setObjectName("cancel")
        for b in (self.save_button, self.cancel_button):
            b.setAutoDefault(False)
            b.setDefault(False)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        outer.addWidget(self.buttons)

        chain: list[QWidget] = []
        for w in self.widgets.values():
            chain.extend(w.focus_widgets())
        for t in self.child_tables:
            chain.extend(t.focus_widgets())
        chain.extend([self.save_button, self.cancel_button])
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)
        self.tab_chain = chain

        body.adjustSize()
        hint = body.sizeHint()
        line = self.fontMetrics().height()  # scales with the large-font mode
        screen = self.screen().availableGeometry() if self.screen() else None
        max_h = screen.height() - 2 * line if screen else 760  # use the height there is (1024×768 screens)
        max_w = int(screen.width() * 0.9) if screen else 1200
        owner = self.parentWidget().window() if self.parentWidget() is not None else None
        if owner is not None and owner.isVisible():  # never larger than the (maximised) main window
            max_h, max_w = min(max_h, owner.height()), min(max_w, owner.width())
        self.resize(min(max_w, max(620, 34 * line, hint.width() + 60)), min(max_h, max(400, hint.height() + 8 * line)))

    # ----------------------------------------------------------------- values

    def field_widget(self, name: str) -> FieldWidget:
        return self.widgets[name]

    def raw_values(self) -> dict[str, Any]:
        """What the user entered, by field name (JSON-safe; what a draft stores)."""
        return {name: w.raw() for name, w in self.widgets.items()}

    def _apply_raw(self, raw: dict) -> None:
        for name, value in raw.items():
            if name in self.widgets:
                self.widgets[name].set_raw(value)

    def _context_values(self) -> dict[str, Any]:
        """Fields the form sets from its context (owner org, parent link), never shown for editing."""
        ctx: dict[str, Any] = {}
        names = self.rt.field_names
        if "org_code" in names and "org_code" not in self.widgets:
            ctx["org_code"] = self.org_code
        if self.rt.parent_field and self.rt.parent_field not in self.widgets:
            ctx[self.rt.parent_field] = self.parent_id
        if self.rt.name == "org_unit":
            # 层级 and 上级区划代码 follow from the 12-digit code itself.
            code = str(self.widgets["org_code"].raw() or "").strip()
            if is_org_code(code):
                org = OrgCode(code)
                ctx["level"] = org.level_label
                ctx["parent_code"] = str(org.parent) if org.parent is not None else None
        return ctx

    def pending_children(self) -> dict[str, list[dict]]:
        return {t.rt.name: list(t.pending) for t in self.child_tables if t.pending}

    def is_dirty(self) -> bool:
        if self.raw_values() != self._initial_raw:
            return True
        return any(t.pending for t in self.child_tables) and self.record_id is None

    # ----------------------------------------------------------------- validation

    def _field_changed(self, name: str) -> None:
        if self._loading:
            return
        self._touched.add(name)
        self._autosave_pending = True
        if name == "id_number":
            self._fill_from_id_number()
        self._revalidate()

    def _children_edited(self) -> None:
        self._autosave_pending = True
        self._revalidate()

    def _fill_from_id_number(self) -> None:
        """出生日期 and 性别 follow from a valid ID number when they are still empty."""
        f = self.rt.field("id_number")
        value, issue = coerce(f, self.widgets["id_number"].raw(), self.choices)
        if not value or (issue and issue.is_error):
            return
        birth = self.widgets.get("birth_date")
        if birth is not None and is_blank(birth.raw()):
            born = id_birth_date(value)
            if born:
                birth.set_raw(born)
        gender = self.widgets.get("gender")
        if gender is not None and is_blank(gender.raw()):
            gender.set_raw("男" if int(value[16]) % 2 else "女")

    def _record_reveal(self, field_name: str) -> None:
        """A stored ID number or phone shown in full (显示) is a disclosure: recorded once per form and field."""
        shown = getattr(self, "_revealed", set())
        self._revealed = shown
        if self.record_id is None or field_name in shown:
            return  # a value the user is typing into a new record is not a disclosure
        shown.add(field_name)
        from storage import disclosure

        label = self.rt.field(field_name).label

        def work(_job):
            return disclosure.record_disclosure(self.repo, action=disclosure.SCREEN, record_types=[self.rt.name],
                                                rows=1, purpose=f"查看{label}", org_code=self.org_code)

        write_op(work).affects("disclosure").run_in_background(self)

    def _revalidate(self) -> None:
        if self._loading:
            return
        raw = self.raw_values()
        raw.update(self._context_values())
        values, issues = coerce_record(self.rt, raw, self.choices)
        if self.collect_only and self.rt.parent_field:
            issues = [i for i in issues if i.field != self.rt.parent_field]
        if self.rt.name == "org_unit":
            # 层级/上级区划代码 follow from the code: the code's own message is the useful one
            issues = [i for i in issues if i.field not in ("level", "parent_code")]
        self._values = values
        self._issues = issues
        by_field: dict[str, list[Issue]] = {}
        general: list[Issue] = []
        for issue in issues:
            if issue.field in self.widgets:
                by_field.setdefault(issue.field, []).append(issue)
            else:
                general.append(issue)
        for name, label in self.messages.items():
            shown = [i for i in by_field.get(name, []) if self._should_show(name, i)]
            if shown:
                error = any(i.is_error for i in shown)
                text = "\n".join(i.message for i in shown)
                if name in self.rt.pii_fields and isinstance(self.widgets[name], MaskedWidget) \
                        and self.widgets[name].masked:
                    text = text.replace(self.widgets[name].raw(), mask(self.rt.field(name).type,
                                                                        self.widgets[name].raw()))
                label.setText(("" if error else "提示：") + text)
                label.setStyleSheet(f"color:{ERROR_COLOR if error else WARNING_COLOR}")
                label.setVisible(True)
            else:
                label.clear()
                label.setVisible(False)
        if general:
            self.form_message.setText("\n".join(i.message for i in general))
            self.form_message.show()
        else:
            self.form_message.hide()
        errors = [i for i in issues if i.is_error]
        self.save_button.setEnabled(not errors)
        if errors:
            names = []
            for i in errors:
                label = self.rt.field(i.field).label if i.field in self.rt.field_names else "整条记录"
                if label not in names:
                    names.append(label)
            self.summary.setText(f"还不能保存：请填写或改正 {'、'.join(names)}。")
            self.summary.setStyleSheet(f"color:{ERROR_COLOR}")
        else:
            warnings = [i for i in issues if not i.is_error]
            self.summary.setText("可以保存。" + ("（有提示，请留意，但不影响保存）" if warnings else ""))
            self.summary.setStyleSheet("")

    def _should_show(self, name: str, issue: Issue) -> bool:
        if self._show_all or name in self._touched:
            return True
        return not (issue.is_error and issue.message.endswith("必填，请填写"))

    def has_errors(self) -> bool:
        return any(i.is_error for i in self._issues)

    def issues(self) -> list[Issue]:
        return list(self._issues)

    def message_for(self, name: str) -> str:
        """The message currently shown beside a field ('' if none)."""
        label = self.messages[name]
        return label.text() if not label.isHidden() else ""

    # ----------------------------------------------------------------- keyboard

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if isinstance(focused, QAbstractButton) and not isinstance(focused, QRadioButton) \
                    and focused is not self.save_button:
                focused.click()
            else:
                self.save()
            event.accept()
            return
        super().keyPressEvent(event)  # Esc → reject()

    # ----------------------------------------------------------------- save / cancel

    def save(self) -> dict | None:
        """Validate and write.  Returns the saved record (or the collected values for a pending child)."""
        self._show_all = True
        self._revalidate()
        if self.has_errors():
            first = next((i.field for i in self._issues if i.is_error and i.field in self.widgets), None)
            if first:
                self.widgets[first].setFocus()
            return None
        if self.collect_only:
            self.result_raw = self.raw_values()
            self._finish()
            super().accept()
            return self.result_raw
        values = {name: self._values.get(name) for name in self.widgets}
        values.update(self._context_values())
        if self._refuse_future_date(values) or not self._confirm_period_edit(values):
            return None
        children = self.pending_children()
        try:
            record = run_write(self, lambda: self.write_to_repository(values, children), self)
        except (ValidationError, WriteRefused) as exc:
            warn(self, "没有保存", f"{exc}\n\n表单内容仍保留，请修改后再保存。", "save_failed")
            return None
        except Exception as exc:  # noqa: BLE001 - e.g. the disk is full or the database file is locked
            # Only the kind of error is logged: database errors carry the row's values (personal information).
            log.error("saving a %s record failed: %s", self.rt.name, type(exc).__name__)
            warn(self, "没有保存", "记录没有保存：数据库暂时无法写入（可能是磁盘已满或数据文件被其他程序占用）。\n"
                 "表单内容仍保留（草稿会继续自动保存），请稍后再按“保存”。如果一直失败，请联系县民政局信息管理员。",
                 "save_failed")
            return None
        self.result_record = record
        self.record_id = record["id"]
        self._finish()
        self.saved.emit(record)
        super().accept()
        return record

    def _refuse_future_date(self, values: dict) -> bool:
        """A service, hour or training dated after today is a typo (日期 in the future): say so, keep the form."""
        import datetime as dt

        from storage.periods import BEIJING

        day = values.get(self.rt.date_field) if self.rt.date_field else None
        if isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        today = dt.datetime.now(BEIJING).date()
        if not isinstance(day, dt.date) or day <= today:
            return False
        label = self.rt.field(self.rt.date_field).label
        warn(self, "日期晚于今天", f"{label}是 {day:%Y年%m月%d日}，晚于今天（{today:%Y年%m月%d日}）。\n"
             f"{self.rt.label}只记已经发生的事，请改正{label}后再保存。表单内容仍保留。", "future_date")
        self.widgets[self.rt.date_field].setFocus()
        return True

    def _confirm_period_edit(self, values: dict) -> bool:
        """A record of a submitted, approved or accepted month: say so before saving (periods.edit_notice)."""
        if not self.rt.date_field or self.data.own_org != self.org_code:
            return True  # the month end is the village's own; a township's review edits are not asked
        from storage.periods import period_of

        months = {period_of(values.get(self.rt.date_field)), period_of(self._base_date)} - {None}
        if not months:
            return True
        repo, org_code = self.repo, self.org_code
        for text, refused in run_read(self, lambda: month_notices(repo, org_code, months)):
            if refused:
                warn(self, "不能保存", text + "\n\n表单内容仍保留。", "period_locked")
                return False
            if not ask(self, "本月月报已提交", text, "confirm_period_edit", "仍然保存", "先不保存"):
                return False
        return True

    def write_to_repository(self, values: dict, pending_children: dict[str, list[dict]]) -> dict:
        """The ONE place a form writes records (the repository validates again and logs the change).

        New record: inserted together with the children entered meanwhile, in one
        transaction.  Existing record: updated with ``expected_version`` so an edit
        made elsewhere in the meantime is refused rather than overwritten.
        """
        if self.record_id is not None:
            return self.repo.update(self.rt.name, self.record_id, values, expected_version=self._base_version)
        if not pending_children:
            return self.repo.create(self.rt.name, values)
        record_id = new_id()
        ops = [WriteOp(self.rt.name, "insert", values, record_id)]
        for child_type, rows in pending_children.items():
            child_rt = record_type(child_type)
            for raw in rows:
                child = {k: v for k, v in raw.items() if k in child_rt.field_names}
                child["org_code"] = self.org_code
                child[child_rt.parent_field] = record_id
                ops.append(WriteOp(child_type, "insert", child))
        self.repo.bulk_write(ops)
        return self.repo.get(self.rt.name, record_id)

    def _finish(self) -> None:
        self.autosave_timer.stop()
        if self.draft_id:
            self._discard_draft()

    def reject(self) -> None:
        if self.is_dirty() and not self._confirm_discard():
            return
        self.autosave_timer.stop()
        if self.draft_id:
            self._discard_draft()
        super().reject()

    def _confirm_discard(self) -> bool:
        return ask(self, "放弃修改？", f"这份{self.rt.label}表单有尚未保存的内容。\n放弃后这些内容将不再保留。",
                   "confirm_discard", "放弃修改", "继续填写", destructive=True)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._leftover_draft is not None:
            QTimer.singleShot(0, self, self._offer_leftover_draft)
        if self._reopen_child:
            QTimer.singleShot(0, self, self._reopen_open_child)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        self.autosave_timer.stop()
        super().done(result)


def open_record_form(parent: QWidget | None, repo: Repository, type_name: str, org_code: str,
                     record_id: str | None = None, *, parent_id: str | None = None,
                     draft: DraftData | None = None) -> dict | None:
    """Open the form modally (after reading what it shows in a read job); returns the saved record dict,
    or None if cancelled."""
    try:
        data = run_read(parent, lambda: read_form(repo, type_name, org_code, record_id,
                                                  with_draft=draft is None))
        form = RecordForm(repo, type_name, org_code, record_id, parent, parent_id=parent_id, draft=draft, data=data)
    except RecordNotFound as exc:
        warn(parent, "无法打开", str(exc), "open_failed")
        return None
    form.exec()
    return form.result_record


__all__ = ["RecordForm", "RecordNotFound", "ChildTable", "open_record_form", "warn", "run_write", "AUTOSAVE_MS"]
