"""审核 — township mode (review its villages' months: 审核通过 / 退回 with reasons) and county mode
(the same for all villages of the county, plus 接收 and 重新打开).

The records come from the county server by sync (a township or county account pulls its villages'
records) or from offline packages imported on this PC.  Every action is a ``period`` record written
through the Repository in the single writer thread (``write_op``) and goes up with the next sync; the
county server checks again that this account may do it (``storage.periods.check_change``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QScrollArea, QSplitter,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, compact_combo, labelled
from desktop.ui.month_box import MonthBox
from desktop.ui.jobs import op, write_op
from desktop.ui.read_only_table import read_only_table
from desktop.ui.table_fit import keep_fitted
from storage import periods as P
from storage import reading
from storage.orgcode import OrgCode
from storage.schema import RECORD_TYPES
from storage.validation import display_text

STATUS_COLORS = {P.NOT_SUBMITTED: "#FFFFFF", P.SUBMITTED: "#DDEBF7", P.APPROVED: "#C6EFCE",
                 P.ACCEPTED: "#A9D08E", P.RETURNED: "#F4B183"}


def role_of(ctx: AppContext) -> str | None:
    """township / county for a collector's or county PC; None on a village PC (no review page)."""
    if ctx.identity is None or ctx.identity.demo:
        return None
    stored = ctx.stored.role
    if stored in ("township", "county", "admin"):
        return "county" if stored == "admin" else stored
    level = OrgCode(ctx.identity.org_code).level
    return level if level in ("township", "county") else None


def display_value(rt, name: str, value) -> str:
    return display_text(rt.field(name), value)


class ReturnDialog(QDialog):
    """退回: a general reason and, for each record selected in the review, its own note."""

    def __init__(self, parent: QWidget, title: str, records: list[tuple[str, dict, str]], *, notes: bool = True):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("原因（必填，写明哪里需要改正、怎么改）："))
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("reason")
        self.reason.setTabChangesFocus(True)
        layout.addWidget(self.reason)
        self.note_edits: list[tuple[str, str, str, QLineEdit]] = []
        if notes and records:
            layout.addWidget(QLabel("选中记录的具体意见（可不填）："))
            # many selected records must not push 确定 below the bottom of a small screen: they scroll
            notes_box = QScrollArea()
            notes_box.setWidgetResizable(True)
            notes_box.setFrameShape(QFrame.Shape.NoFrame)
            body = QWidget()
            form = QFormLayout(body)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            for type_name, row, summary in records:
                edit = QLineEdit()
                edit.setObjectName(f"note_{row['id']}")
                form.addRow(f"{RECORD_TYPES[type_name].label}（{summary}）", edit)
                self.note_edits.append((type_name, row["id"], summary, edit))
            notes_box.setWidget(body)
            layout.addWidget(notes_box, 1)
        self.error = QLabel("")
        self.error.setStyleSheet("color:#C00000")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def notes(self) -> list[P.RecordNote]:
        return [P.RecordNote(t, rid, edit.text().strip(), summary)
                for t, rid, summary, edit in self.note_edits if edit.text().strip()]

    def _check(self) -> None:
        if not self.reason.toPlainText().strip() and not self.notes():
            self.error.setText("请填写原因：写明哪里需要改正，村里才能照着改")
            self.reason.setFocus()
            return
        self.accept()


class ReviewPage(QWidget):
    def __init__(self, ctx: AppContext, role: str):
        super().__init__()
        self.ctx, self.role = ctx, role
        self.setObjectName("reviewPage")
        org = ctx.identity.org_code
        self.scope = OrgCode(org).scope if role == "township" else OrgCode(org).county.scope
        layout = QVBoxLayout(self)
        title = QLabel("审核（乡镇）" if role == "township" else "审核与接收（县民政局）")
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        bar = FlowLayout()  # wraps onto a second row on a small screen in large-font mode
        self.period_box = MonthBox()
        self.period_box.currentIndexChanged.connect(lambda _i: self.reload())
        bar.addWidget(labelled("月份(&M)：", self.period_box))
        self.township_box = QComboBox()  # county mode: one township at a time, or all
        self.township_box.setObjectName("township")
        self.township_box.addItem("全部乡镇/街道", "")
        op(lambda job: reading.units_in_scope(ctx.repo.engine, self.scope, level="township")).success(
            self._show_townships).run_in_background(self)
        self.township_box.currentIndexChanged.connect(lambda _i: self.reload())
        compact_combo(self.township_box, 5)
        self.township_box.setVisible(role == "county")
        if role == "county":
            bar.addWidget(labelled("乡镇/街道(&T)：", self.township_box))
        refresh = QPushButton("刷新(&S)")
        refresh.setToolTip("重新读取各村(社区)的月报状态（Alt+S）")
        refresh.clicked.connect(self.reload)
        bar.addWidget(refresh)
        self.summary = QLabel("")
        bar.addWidget(self.summary)
        layout.addLayout(bar)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.units = read_only_table(["村(社区)", "乡镇/街道", "状态", "提交时间", "本月记录"], name="units", single=True)
        # names take what is left; on a narrow screen 本月记录 and 提交时间 give way (in the detail on the right)
        self.units_fit = keep_fitted(self.units, stretch=0, optional=2)
        self.units.itemSelectionChanged.connect(self._show_selected)
        splitter.addWidget(self.units)

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel("请在左侧选择村(社区)")
        self.heading.setObjectName("detailHeading")
        self.heading.setWordWrap(True)
        dl.addWidget(self.heading)
        self.checklist = QLabel("")
        self.checklist.setObjectName("checklist")
        self.checklist.setWordWrap(True)
        dl.addWidget(self.checklist)
        self.records = read_only_table(["类别", "日期", "内容"], name="records")
        self.records_fit = keep_fitted(self.records, stretch=2)
        self.records.setToolTip("选中有问题的记录后点“退回”，可以逐条写意见；“修改记录”看这条记录改过什么")
        self.records.itemSelectionChanged.connect(self._update_history_button)
        dl.addWidget(self.records, 1)
        buttons = QHBoxLayout()
        self.approve_btn = QPushButton("审核通过")
        self.approve_btn.setObjectName("approve")
        self.return_btn = QPushButton("退回…")
        self.return_btn.setObjectName("return")
        self.accept_btn = QPushButton("接收")
        self.accept_btn.setObjectName("accept")
        self.reopen_btn = QPushButton("重新打开…")
        self.reopen_btn.setObjectName("reopen")
        # after 乡镇已审核 a record may change again (需重新审核): the reviewer sees what changed
        self.history_btn = QPushButton("修改记录(&L)…")
        self.history_btn.setObjectName("history")
        self.history_btn.setToolTip("查看选中记录的修改记录：谁在什么时候把什么改成了什么")
        self.history_btn.setEnabled(False)
        self.history_btn.clicked.connect(self.show_history)
        self.approve_btn.clicked.connect(self.approve)
        self.return_btn.clicked.connect(self.open_return_dialog)
        self.accept_btn.clicked.connect(self.accept_period)
        self.reopen_btn.clicked.connect(self.open_reopen_dialog)
        for b in (self.approve_btn, self.return_btn, self.accept_btn, self.reopen_btn, self.history_btn):
            buttons.addWidget(b)
        self.approve_btn.setVisible(role == "township")
        self.accept_btn.setVisible(role == "county")
        self.reopen_btn.setVisible(role == "county")
        buttons.addStretch(1)
        dl.addLayout(buttons)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        dl.addWidget(self.message)
        splitter.addWidget(detail)
        splitter.setSizes([520, 580])
        layout.addWidget(splitter, 1)
        self._rows: list[dict] = []
        self._month_rows: list[tuple[str, dict]] = []
        ctx.records_changed.connect(lambda name: self.reload() if name in ("period", "org_unit") else None)
        self.reload()

    # ------------------------------------------------------------------ data
    @property
    def period(self) -> str:
        return self.period_box.period

    def set_period(self, period: str) -> None:
        self.period_box.set_period(period)
        self.reload()

    def _show_townships(self, townships: list[dict]) -> None:
        for u in townships:
            self.township_box.addItem(u["name"], u["org_code"])

    def reload(self):
        """Read the villages' states for the month in a read job; the table fills when they arrive."""
        repo, scope, period = self.ctx.repo, self.scope, self.period
        only = (self.township_box.currentData() if self.role == "county" else "") or None
        self.reload_handle = (op(lambda job: reading.review_rows(repo, scope, period, township=only))
                              .success(lambda rows: self._show_rows(rows, period)).run_in_background(self))
        return self.reload_handle

    def _show_rows(self, rows: list[reading.ReviewRow], period: str) -> None:
        if period != self.period:
            return  # another month was chosen meanwhile: its own reload follows
        selected = self.selected_org()
        self._rows = []
        self.units.setRowCount(len(rows))
        waiting = 0
        for i, r in enumerate(rows):
            code, st = r.org_code, r.state
            self._rows.append({"org_code": code, "name": r.name, "state": st})
            waiting += st.status == (P.SUBMITTED if self.role == "township" else P.APPROVED)
            cells = [f"{r.name}（{code}）", r.township_name, st.display_status,
                     (st.submitted_at or "")[5:16].replace("T", " "), str(r.records)]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, code)
                if j == 2:
                    item.setBackground(QBrush(QColor(STATUS_COLORS.get(st.status, "#FFFFFF"))))
                    item.setForeground(QBrush(QColor("#000000")))
                self.units.setItem(i, j, item)
        self.units_fit.fit()
        what = "待审核" if self.role == "township" else "待接收"
        self.summary.setText(f"共 {len(rows)} 个村(社区)，{what} {waiting} 个")
        if selected:
            self.select_org(selected)
        else:
            self._show_selected()

    def selected_org(self) -> str | None:
        items = self.units.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def select_org(self, org_code: str) -> None:
        for i, row in enumerate(self._rows):
            if row["org_code"] == org_code:
                self.units.selectRow(i)
                self._show_selected()
                return

    def _current(self) -> dict | None:
        code = self.selected_org()
        return next((r for r in self._rows if r["org_code"] == code), None)

    def _show_selected(self) -> None:
        row = self._current()
        for b in (self.approve_btn, self.return_btn, self.accept_btn, self.reopen_btn):
            b.setEnabled(False)
        if row is None:
            self.heading.setText("请在左侧选择村(社区)")
            self.checklist.setText("")
            self.records.setRowCount(0)
            return
        st: P.PeriodState = row["state"]
        lines = [f"{row['name']}（{row['org_code']}） {P.period_label(self.period)}：{st.display_status}"]
        if st.submitted_at:
            lines.append(f"提交：{st.submitted_by or ''} {st.submitted_at[:16].replace('T', ' ')}")
        if st.reviewed_at:
            lines.append(f"审核或退回：{st.reviewed_by or ''} {st.reviewed_at[:16].replace('T', ' ')}")
        if st.reason:
            lines.append("原因：" + P.display_reason(st.reason))
        self.heading.setText("\n".join(lines))
        self.checklist.setText("正在读取…")
        self._month_rows = []
        self.records.setRowCount(0)
        repo, org, period = self.ctx.repo, row["org_code"], self.period

        def read(job):
            return P.completeness(repo, org, period), reading.month_records(repo.engine, org, period)

        self.detail_handle = op(read).success(lambda got: self._show_month(org, period, st, *got)).run_in_background(self)

    def _show_month(self, org: str, period: str, st: P.PeriodState, checklist, month_rows) -> None:
        if (org, period) != (self.selected_org(), self.period):
            return  # another village or month was chosen meanwhile
        self.checklist.setText("\n".join(f"{'√' if i.ok else ('×' if i.blocking else '○')} {i.label}：{i.detail}"
                                         for i in checklist.items if i.key != "state"))
        self._month_rows = month_rows
        self.records.setRowCount(len(self._month_rows))
        for i, (name, rec) in enumerate(self._month_rows):
            rt = RECORD_TYPES[name]
            content = "  ".join(display_value(rt, c, rec.get(c)) for c in rt.list_columns if c != rt.date_field)
            for j, text in enumerate((rt.label, str(rec[rt.date_field]), content)):
                self.records.setItem(i, j, QTableWidgetItem(text))
        self.records_fit.fit()
        can = {a: P.may_act(self.role, a) is None and st.status in P.ACTIONS[a][0] for a in P.ACTIONS}
        self.approve_btn.setEnabled(can["approve"])
        self.return_btn.setEnabled(can["return"])
        self.accept_btn.setEnabled(can["accept"] and not st.needs_rereview)
        self.accept_btn.setToolTip("乡镇审核后数据又有修改，需乡镇重新审核" if st.needs_rereview else "")
        self.reopen_btn.setEnabled(can["reopen"])

    def selected_records(self) -> list[tuple[str, dict, str]]:
        rows = sorted({i.row() for i in self.records.selectedIndexes()})
        out = []
        for r in rows:
            name, rec = self._month_rows[r]
            rt = RECORD_TYPES[name]
            summary = f"{rec[rt.date_field]} " + display_value(rt, rt.list_columns[1], rec.get(rt.list_columns[1]))
            out.append((name, rec, summary.strip()))
        return out

    def _update_history_button(self) -> None:
        self.history_btn.setEnabled(len({i.row() for i in self.records.selectedIndexes()}) == 1)

    def show_history(self) -> QDialog | None:
        """修改记录 of the one selected record of the month."""
        selected = self.selected_records()
        if len(selected) != 1:
            return None
        from desktop.ui.history_dialog import open_record_history

        name, rec, summary = selected[0]
        self.history_dialog = open_record_history(self, self.ctx.repo.engine, name, rec["id"],
                                                  f"{RECORD_TYPES[name].label} {summary}")
        return self.history_dialog

    # ------------------------------------------------------------------ actions
    def _run(self, label: str, fn) -> None:
        org, period = self.selected_org(), self.period
        actor_org = self.ctx.identity.org_code

        def done(st: P.PeriodState) -> None:
            self.message.setText(f"{label}完成：{P.period_label(period)} {st.status}。下次同步时上报县级服务器")
            self.ctx.period_changed.emit(period)
            self.reload()

        (write_op(lambda job: fn(org, period, actor_org)).affects("period")
         .success(done).failure(lambda exc: self._failed(label, exc)).run_in_background(self))

    def _failed(self, label: str, exc: BaseException) -> None:
        from desktop.ui.jobs import describe_error

        from desktop.ui.jobs import show_error

        self.reload()  # the state may have changed elsewhere (a sync): show what it is now
        self.message.setText(f"{label}没有完成：{describe_error(exc)}")
        show_error(self, exc, title=f"{label}没有完成")  # window-modal, never blocks the event loop

    def approve(self) -> None:
        self._run("审核通过", lambda org, p, me: P.approve(self.ctx.repo, org, p, role=self.role, actor_org=me))

    def accept_period(self) -> None:
        self._run("接收", lambda org, p, me: P.accept(self.ctx.repo, org, p, role=self.role, actor_org=me))

    def open_return_dialog(self) -> ReturnDialog:
        dialog = ReturnDialog(self, "退回填报期", self.selected_records())
        dialog.accepted.connect(lambda: self.return_with(dialog.reason.toPlainText(), dialog.notes()))
        dialog.open()
        return dialog

    def return_with(self, reason: str, notes: list[P.RecordNote]) -> None:
        self._run("退回", lambda org, p, me: P.return_period(self.ctx.repo, org, p, reason, notes=notes,
                                                             role=self.role, actor_org=me))

    def open_reopen_dialog(self) -> ReturnDialog:
        dialog = ReturnDialog(self, "重新打开已接收的填报期", [], notes=False)
        dialog.accepted.connect(lambda: self._run("重新打开", lambda org, p, me: P.reopen(
            self.ctx.repo, org, p, dialog.reason.toPlainText(), role=self.role, actor_org=me)))
        dialog.open()
        return dialog


def create_page(ctx: AppContext) -> QWidget | None:
    role = role_of(ctx)
    if role is None:
        return None  # a village PC: nothing to review
    return ReviewPage(ctx, role)


__all__ = ["create_page", "ReviewPage", "ReturnDialog", "role_of", "display_value"]
