"""月报与同步 — the month end on a village PC, and packages on a township PC.

Village PC: the month being reported (last month by default), its state and history, the
completeness checklist (what is missing, what to do), 提交月报; notices of returned months with the
township's or county's reasons, which stay on top of the page until the month is resubmitted; the
sync box (``desktop/ui/sync_widgets.py`` when present); offline packages: 导出数据包 and 导入回执.
Township/county PC: 导入村里的数据包 (checked, applied here for review, uploaded to the county server
when signed in, receipt written next to the package).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFileDialog, QFrame, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, scrolling_body
from desktop.ui.month_box import MonthBox
from desktop.ui.jobs import ask, describe_error, op, write_op
from desktop.ui.sync_widgets import create_widget as sync_box
from desktop.ui.printing import PaperJob, paper_buttons
from storage import periods as P
from storage import reading
from storage.orgcode import OrgCode
from storage.schema import RECORD_TYPES
from sync import package as PK

log = logging.getLogger("taizhang.desktop.periods")


class PeriodsPage(QWidget):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("periodsPage")
        self.org = ctx.identity.org_code
        self.is_village = OrgCode(self.org).level == "village"
        self.key_provider = self._device_key  # tests replace this with a key from a real sign-in
        self.receipt_key_provider = self._receipt_key  # the county server's receipt public key
        layout = scrolling_body(self)  # scrolls rather than outgrow a 1366×768 screen in large-font mode
        title = QLabel("月报与同步")
        title.setObjectName("pageTitle")
        layout.addWidget(title)

        self.notices = QFrame()
        self.notices.setObjectName("notices")
        self.notices.setStyleSheet("#notices{border:2px solid #C00000;border-radius:4px;background:#FFF2F2}")
        self.notices_layout = QVBoxLayout(self.notices)
        layout.addWidget(self.notices)
        self.notices.setVisible(False)

        if self.is_village:
            box = QGroupBox("本月月报")
            bl = QVBoxLayout(box)
            bar = QHBoxLayout()
            bar.addWidget(QLabel("月份："))
            self.period_box = MonthBox()
            self.period_box.currentIndexChanged.connect(lambda _i: self.reload())
            bar.addWidget(self.period_box)
            bar.addStretch(1)
            bl.addLayout(bar)
            # the month's state in one plain sentence, with the one next action (P.next_step)
            self.status = QLabel("")
            self.status.setObjectName("status")
            self.status.setWordWrap(True)
            self.status.setStyleSheet("font-weight:bold")
            bl.addWidget(self.status)
            # what just happened (submitted, withdrawn, refused), right under the state — where the eyes are
            self.message = QLabel("")
            self.message.setObjectName("message")
            self.message.setWordWrap(True)
            self.message.setVisible(False)
            bl.addWidget(self.message)
            self.history = QLabel("")
            self.history.setWordWrap(True)
            bl.addWidget(self.history)
            bl.addWidget(QLabel("提交前检查："))
            self.checklist = QListWidget()
            self.checklist.setObjectName("checklist")
            bl.addWidget(self.checklist)
            buttons = FlowLayout()  # wraps onto a second row on a small screen in large-font mode
            self.submit_btn = QPushButton("提交月报…")
            self.submit_btn.setObjectName("submit")
            self.submit_btn.clicked.connect(self.submit)
            self.withdraw_btn = QPushButton("撤回提交…")
            self.withdraw_btn.setObjectName("withdraw")
            self.withdraw_btn.clicked.connect(self.withdraw)
            recheck = QPushButton("重新检查")
            recheck.clicked.connect(self.reload)
            self.confirm_btn = QPushButton("所选台账本月无变化")
            self.confirm_btn.setObjectName("confirm_unchanged")
            self.confirm_btn.setToolTip("在上面的清单中选中“确认……”各行（可多选），核对无误后点此确认；有变化请直接修改台账")
            self.confirm_btn.clicked.connect(self.confirm_unchanged)
            self.checklist.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
            buttons.addWidget(self.submit_btn)
            buttons.addWidget(self.confirm_btn)
            buttons.addWidget(self.withdraw_btn)
            buttons.addWidget(recheck)
            for b in paper_buttons(self, self.paper_job):  # the month's 月报表, to sign and stamp
                buttons.addWidget(b)
            bl.addLayout(buttons)
            layout.addWidget(box, 1)

        sync_widget = None
        try:
            sync_widget = sync_box(ctx)
        except Exception:  # noqa: BLE001 - a broken sync box must not take the month end down
            log.exception("sync widget failed")
        if sync_widget is not None:
            layout.addWidget(sync_widget)

        pkg = QGroupBox("离线数据包（没有网络时用U盘带到乡镇）")
        pl = QHBoxLayout(pkg)
        if self.is_village:
            self.export_btn = QPushButton("导出数据包…")
            self.export_btn.setObjectName("exportPackage")
            self.export_btn.clicked.connect(self.choose_export)
            self.receipt_btn = QPushButton("导入回执…")
            self.receipt_btn.setObjectName("importReceipt")
            self.receipt_btn.clicked.connect(self.choose_receipt)
            pl.addWidget(self.export_btn)
            pl.addWidget(self.receipt_btn)
        else:
            self.import_btn = QPushButton("导入村里的数据包…")
            self.import_btn.setObjectName("importPackage")
            self.import_btn.clicked.connect(self.choose_package)
            pl.addWidget(self.import_btn)
        self.unsent = QLabel("")
        self.unsent.setVisible(sync_widget is None)  # the sync box shows the count itself
        pl.addWidget(self.unsent, 1)
        layout.addWidget(pkg)
        if not self.is_village:
            self.message = QLabel("")
            self.message.setObjectName("message")
            self.message.setWordWrap(True)
            layout.insertWidget(1, self.message)  # under the title, not below the fold
        self.confirm_box: QMessageBox | None = None
        # a message about the month's state (submitted, withdrawn) and the test of when it is still true:
        # a later reload (a sync bringing the township's return, an edit) takes it away once it is not
        self._state_message: tuple[str, str, Callable[[P.PeriodState], bool]] | None = None
        if not self.is_village:
            layout.addStretch(1)
        # The checklist reads the whole month: a sync or restore emits records_changed once per record
        # type, and each save once or twice. Coalesce them, and skip the work while the page is hidden.
        self._stale = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(300)
        self._reload_timer.timeout.connect(self.reload)
        ctx.records_changed.connect(lambda _name: self._records_changed())
        ctx.unsent_count_changed.connect(lambda n: self.unsent.setText(f"本机未上传的变更：{n} 条"))
        self.reload()

    def _records_changed(self) -> None:
        if self.isVisible():
            self._reload_timer.start()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.reload()

    # ------------------------------------------------------------------ paper
    def paper_job(self) -> PaperJob | None:
        """The month's submission slip (月报表) from ``reports.paper``: counts, checklist, signatures."""
        from reports.paper import write_month_slip

        if not self.is_village:
            return None
        repo, org, period = self.ctx.repo, self.org, self.period
        name = self.ctx.identity.org_name if self.ctx.identity else ""
        return PaperJob("月报表", f"{name}{period}月报表.pdf",
                        lambda path, _progress: write_month_slip(repo, path, org, period, org_name=name))

    # ------------------------------------------------------------------ state
    @property
    def period(self) -> str:
        return self.period_box.period

    def set_period(self, period: str) -> None:
        self.period_box.set_period(period)
        self.reload()

    def reload(self, then=None):
        """Read the month's state, checklist and returned notices in a read job; shown when they arrive
        (then ``then()``, e.g. the submit confirmation, which must see the month as it is now)."""
        repo, org = self.ctx.repo, self.org
        period = self.period if self.is_village else None

        def read(job):
            if period is None:
                return repo.unsent_count(), None, None, None, None
            return (repo.unsent_count(), P.returned_notices(repo, org), P.get_state(repo, org, period),
                    P.completeness(repo, org, period), reading.month_records_per_type(repo.engine, org, period))

        def show(got) -> None:
            self._show_month(period, *got)
            if then is not None and period == self.period:
                then()

        self.reload_handle = op(read).success(show).run_in_background(self)
        return self.reload_handle

    def _show_month(self, period: str | None, unsent: int, notices, st, checklist, counts) -> None:
        self.unsent.setText(f"本机未上传的变更：{unsent} 条")
        if period is None or period != self.period:
            return  # a township PC has no month box; or another month was chosen meanwhile
        self._show_notices(notices)
        self._drop_stale_message(period, st)
        lines = []
        if st.submitted_at:
            lines.append(f"提交：{st.submitted_by or ''} {st.submitted_at[:16].replace('T', ' ')}")
        if st.reviewed_at:
            lines.append(f"审核或退回：{st.reviewed_by or ''} {st.reviewed_at[:16].replace('T', ' ')}")
        if st.accepted_at:
            lines.append(f"县接收：{st.accepted_by or ''} {st.accepted_at[:16].replace('T', ' ')}（本月台账已锁定，"
                         "如需更正请联系县民政局）")
        lines.append(f"截止日：{P.deadline(self.period).astimezone(P.BEIJING):%Y年%m月%d日}")
        self.history.setText("\n".join(lines))
        self.checklist.clear()
        for item in checklist.items:
            if item.key == "state":
                continue  # the sentence above says it
            mark = "√" if item.ok else ("×" if item.blocking else "○")
            row = QListWidgetItem(f"{mark}  {item.label}：{item.detail}")
            row.setForeground(QBrush(QColor("#006100" if item.ok else ("#C00000" if item.blocking else "#9C5700"))))
            row.setData(Qt.ItemDataRole.UserRole, item.key)
            self.checklist.addItem(row)
        self.state, self.checks, self.step, self.counts = st, checklist, P.next_step(st, checklist), counts
        self.status.setText(f"{P.period_label(self.period)}：{self.step.sentence}")
        can_submit = self.step.action in ("submit", "resubmit")
        self.submit_btn.setEnabled(can_submit)
        self.submit_btn.setText("重新提交月报…" if st.status != P.NOT_SUBMITTED else "提交月报…")
        if can_submit:
            self.submit_btn.setToolTip("先显示要提交的内容，确认后才提交")
        elif st.status in (P.NOT_SUBMITTED, P.RETURNED):
            self.submit_btn.setToolTip("还不能提交：" + checklist.summary())
        else:
            self.submit_btn.setToolTip(f"不需要提交：{self.step.sentence}")
        self.withdraw_btn.setVisible(st.status == P.SUBMITTED)
        self.withdraw_btn.setEnabled(self.step.action == "withdraw")
        self.withdraw_btn.setToolTip("乡镇审核之前可以撤回；撤回后本月回到“未提交”，改好后再提交"
                                     if self.step.action == "withdraw" else "有修改时请直接重新提交")

    def _show_notices(self, notices: list[P.PeriodState]) -> None:
        while self.notices_layout.count():
            w = self.notices_layout.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.notices.setVisible(bool(notices))
        self.notice_labels: list[QLabel] = []
        for st in notices:
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            text = QLabel(f"{P.period_label(st.period)}的月报被退回（{st.reviewed_by or ''}）："
                          f"\n{P.display_reason(st.reason)}\n请按意见改正后重新提交。")
            text.setWordWrap(True)
            text.setObjectName("notice")
            self.notice_labels.append(text)
            go = QPushButton("去处理")
            go.setAutoDefault(True)  # Enter presses it (the page's other buttons: MainWindow)
            go.setToolTip(f"转到{P.period_label(st.period)}的月报，改正后重新提交")
            go.clicked.connect(lambda _c=False, p=st.period: self.set_period(p))
            rl.addWidget(text, 1)
            rl.addWidget(go)
            self.notices_layout.addWidget(row)

    # ------------------------------------------------------------------ actions
    def submit_summary(self) -> str:
        """What a submission covers: the month's records per type and the checklist, for the confirmation."""
        counts = self.counts
        lines = [f"将把{P.period_label(self.period)}的月报提交给乡镇审核，包括本月的："]
        lines += [f"    {RECORD_TYPES[name].label}：{n} 条" for name, n in counts.items()]
        lines.append("\n提交前检查：")
        lines += [f"    {'√' if i.ok else '×'} {i.label}：{i.detail}" for i in self.checks.items if i.key != "state"]
        lines.append("\n提交后，乡镇审核之前仍可以撤回。")
        return "\n".join(lines)

    def submit(self):
        """Show what will be submitted and ask once (after reading the month afresh); the submission
        runs only after 确认提交."""
        return self.reload(then=self._ask_submit)

    def _ask_submit(self) -> QMessageBox:
        period = self.period
        again = self.step.action == "resubmit"
        title = "重新提交月报" if again or self.state.status == P.RETURNED else "提交月报"
        return self._confirm(title, self.submit_summary(), "确认提交", "暂不提交", "confirm_submit",
                             lambda: self._run_submit(period))

    def _run_submit(self, period: str):
        def done(st: P.PeriodState) -> None:
            self.reload()
            self._say_state(period, lambda s: s.status == P.SUBMITTED and not s.needs_rereview,
                            f"{P.period_label(period)}的月报已提交。联网同步（或导出数据包交给乡镇）后，乡镇即可审核；"
                            "乡镇审核之前如发现错误，可以点“撤回提交”。")
            self.ctx.period_changed.emit(period)

        return (write_op(lambda job: P.submit_or_resubmit(self.ctx.repo, self.org, period, actor_org=self.org))
                .affects("period").success(done).failure(self._failed).run_in_background(self))

    def confirm_unchanged(self):
        """The selected standing registers (确认… rows) did not change this month (carried forward)."""
        period = self.period
        keys = [i.data(Qt.ItemDataRole.UserRole) or "" for i in self.checklist.selectedItems()]
        names = [k.split(":", 1)[1] for k in keys if k.startswith("confirm:")]
        if not names:
            self.message.setText("请先在清单中选中要确认的“确认……”行（可按住 Ctrl 多选）")
            return None

        def done(_st: P.PeriodState) -> None:
            self.message.setText(f"已确认{P.period_label(period)}以下台账无变化："
                                 + "、".join(P.RECORD_TYPES[n].label for n in names))
            self.reload()

        return (write_op(lambda job: P.confirm_unchanged(self.ctx.repo, self.org, period, names))
                .affects("period").success(done).failure(self._failed).run_in_background(self))

    def withdraw(self) -> QMessageBox:
        period = self.period
        return self._confirm("撤回提交", f"撤回{P.period_label(period)}的月报？\n\n撤回后本月回到“未提交”，"
                             "乡镇暂时不会审核它。改好后请再次提交。\n（联网同步后乡镇那边也会看到已撤回；"
                             "如果乡镇已经审核，撤回会被拒绝。）", "撤回", "不撤回", "confirm_withdraw",
                             lambda: self._run_withdraw(period))

    def _run_withdraw(self, period: str):
        def done(st: P.PeriodState) -> None:
            self.reload()
            self._say_state(period, lambda s: s.status == P.NOT_SUBMITTED,
                            f"{P.period_label(period)}的月报已撤回，现在是“未提交”。改好后请再次提交。")
            self.ctx.period_changed.emit(period)

        return (write_op(lambda job: P.withdraw(self.ctx.repo, self.org, period, actor_org=self.org))
                .affects("period").success(done).failure(self._failed).run_in_background(self))

    def _confirm(self, title: str, text: str, yes: str, no: str, name: str,
                 on_yes: Callable[[], object]) -> QMessageBox:
        """One deliberate confirmation (``jobs.ask``); focus goes back to the button that opened it."""
        opener = self.focusWidget()
        box = ask(self, title, text, yes, on_yes, no=no, name=name)
        box.finished.connect(lambda _r: self._refocus(opener))
        self.confirm_box = box
        return box

    def _refocus(self, widget: QWidget | None) -> None:
        """Back to the page and the button that opened the box (a keyboard user goes on from there)."""
        self.window().activateWindow()
        target = widget if widget is not None and widget.isEnabled() and widget.isVisible() else self.status
        target.setFocus()

    def _say(self, text: str, error: bool = False) -> None:
        """Show a result under the month's state and scroll it into view."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setStyleSheet("color:#C00000" if error else "color:#006100")
        scroll = self.findChild(QScrollArea, "pageScroll")
        if scroll is not None:
            scroll.ensureWidgetVisible(self.message)

    def _say_state(self, period: str, still_true: Callable[[P.PeriodState], bool], text: str) -> None:
        """Say something about the month's state; it stays only while ``still_true`` holds for that month."""
        self._say(text)
        self._state_message = (period, text, still_true)

    def _drop_stale_message(self, period: str, st: P.PeriodState) -> None:
        """Hide a state message the month no longer bears out (another month shown, or the state moved on,
        e.g. the township returned it), so the page never says 已提交 beside 已退回."""
        if self._state_message is None:
            return
        said_period, text, still_true = self._state_message
        if self.message.text() != text:
            self._state_message = None  # something else was said since
        elif said_period != period or not still_true(st):
            self._state_message = None
            self.message.setText("")
            self.message.setVisible(False)

    def _failed(self, exc: BaseException) -> None:
        from desktop.ui.jobs import show_error

        self._say(describe_error(exc), error=True)
        show_error(self, exc)  # window-modal, never blocks the event loop

    def _device_key(self) -> bytes:
        from sync.package_cli import device_key

        return device_key(self.ctx.repo)

    def _receipt_key(self):
        from sync.package_cli import receipt_key

        return receipt_key(self.ctx.repo)

    def choose_export(self) -> None:
        name = f"{self.ctx.identity.org_name}-{P.previous_period()}.tzpkg"
        path, _ = QFileDialog.getSaveFileName(self, "导出离线数据包", str(Path.home() / name), "台账数据包 (*.tzpkg)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path):
        repo, ident, key_provider = self.ctx.repo, self.ctx.identity, self.key_provider

        def work(job):
            # the keys are read here, not on the UI thread; no sign-in or no keyring fails the job with
            # a Chinese message saying what to do
            key = key_provider()
            county = PK.county_package_key(repo)  # packages are always encrypted to the county
            data, pkg = PK.build_package(repo, key, org_code=ident.org_code, org_name=ident.org_name,
                                         user=repo.get_setting("user") or "", recipient=county)
            out = Path(path)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(out)
            return pkg

        def done(pkg: PK.Package) -> None:
            self._say(f"已导出数据包 {path}：{len(pkg.changes)} 条变更。请交给乡镇收集员，"
                      "拿回回执后点“导入回执”；在此之前这些变更仍算作未上传")

        return op(work).with_progress("正在导出数据包").success(done).failure(self._failed).run_in_background(self)

    def choose_receipt(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "导入回执", str(Path.home()), "台账回执 (*.tzrcpt)")
        if path:
            self.import_receipt(path)

    def import_receipt(self, path: str | Path):
        repo, key_provider = self.ctx.repo, self.receipt_key_provider

        def work(job):
            receipt = PK.read_receipt(Path(path).read_bytes())
            return receipt, PK.apply_receipt(repo, receipt, key_provider())

        def done(result) -> None:
            receipt, marked = result
            self._say(f"回执已读入：{receipt.summary()}。本机 {marked} 条变更已确认上传")
            self.reload()

        return (write_op(work).affects("period").success(done).failure(self._failed).run_in_background(self))

    def choose_package(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "导入村里的数据包", str(Path.home()), "台账数据包 (*.tzpkg)")
        if path:
            self.import_package(path)

    def import_package(self, path: str | Path, *, upload: bool = True):
        repo = self.ctx.repo
        role = "county" if OrgCode(self.org).level == "county" else "township"

        def work(job):
            from sync.package_cli import county_decrypt_key

            data = Path(path).read_bytes()
            decrypt = county_decrypt_key(repo)
            if PK.is_sealed(data) and decrypt is None and upload:
                text = "数据包已加密，本机没有县里发的解密密钥，不在本机导入"
            else:
                pkg = PK.read_package(data, decrypt)
                local_result = PK.import_locally(repo, pkg, role=role, actor_org=self.org)
                text = f"本机已导入{local_result.summary()}"
            if upload:
                from sync.package_cli import _upload_as_this_pc
                import base64

                try:
                    answer = _upload_as_this_pc(repo, data)
                except Exception as exc:  # noqa: BLE001 - the local import stands; upload again later
                    return text + f"。未能上传县级服务器：{describe_error(exc)}"
                out = Path(path).with_name(Path(path).stem + "-回执.tzrcpt")
                out.write_bytes(base64.b64decode(answer["receipt"]))
                text += f"。已上传县级服务器：{answer['summary']}。回执：{out}"
            return text

        return (write_op(work).affects("service", "period").success(self._say).failure(self._failed)
                .run_in_background(self))


def create_page(ctx: AppContext) -> QWidget | None:
    if ctx.identity is None:
        return None
    return PeriodsPage(ctx)


__all__ = ["create_page", "PeriodsPage"]
