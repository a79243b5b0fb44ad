"""月报与同步 — the month end on a village PC, and packages on a township PC.

Village PC: the month being reported (last month by default), its state and history, the
completeness checklist (what is missing, what to do), 提交月报; notices of returned months with the
township's or county's reasons, which stay on top of the page until the month is resubmitted; the
sync box (``desktop/ui/sync_widgets.py`` when present); offline packages: 导出数据包 and 导入回执.
Township/county PC: 导入村里的数据包 (checked, applied here for review, uploaded to the county server
when signed in, receipt written next to the package).
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFileDialog, QFrame, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import scrolling_body
from desktop.ui.month_box import MonthBox
from desktop.ui.jobs import describe_error, op, write_op
from storage import periods as P
from storage.validation import org_level
from sync import package as PK

log = logging.getLogger("taizhang.desktop.periods")


def _sync_box(ctx: AppContext) -> QWidget | None:
    """The sync helper's widget, if this build has it (desktop/ui/sync_widgets.py)."""
    try:
        module = importlib.import_module("desktop.ui.sync_widgets")
    except ModuleNotFoundError as exc:
        if exc.name == "desktop.ui.sync_widgets":
            return None
        raise
    for name in ("create_widget", "SyncPanel", "SyncWidget"):
        factory = getattr(module, name, None)
        if factory is not None:
            return factory(ctx)
    return None


class PeriodsPage(QWidget):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("periodsPage")
        self.org = ctx.identity.org_code
        self.is_village = org_level(self.org) == "village"
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
            self.status = QLabel("")
            self.status.setObjectName("status")
            bar.addWidget(self.status, 1)
            bl.addLayout(bar)
            self.history = QLabel("")
            self.history.setWordWrap(True)
            bl.addWidget(self.history)
            bl.addWidget(QLabel("提交前检查："))
            self.checklist = QListWidget()
            self.checklist.setObjectName("checklist")
            bl.addWidget(self.checklist)
            buttons = QHBoxLayout()
            self.submit_btn = QPushButton("提交月报")
            self.submit_btn.setObjectName("submit")
            self.submit_btn.clicked.connect(self.submit)
            recheck = QPushButton("重新检查")
            recheck.clicked.connect(self.reload)
            buttons.addWidget(self.submit_btn)
            buttons.addWidget(recheck)
            buttons.addStretch(1)
            bl.addLayout(buttons)
            layout.addWidget(box, 1)

        sync_widget = None
        try:
            sync_widget = _sync_box(ctx)
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
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
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

    # ------------------------------------------------------------------ state
    @property
    def period(self) -> str:
        return self.period_box.period

    def set_period(self, period: str) -> None:
        self.period_box.set_period(period)
        self.reload()

    def reload(self) -> None:
        self.unsent.setText(f"本机未上传的变更：{self.ctx.repo.unsent_count()} 条")
        if not self.is_village:
            return
        self._show_notices()
        st = P.get_state(self.ctx.repo, self.org, self.period)
        self.status.setText(f"状态：{st.display_status}")
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
        checklist = P.completeness(self.ctx.repo, self.org, self.period)
        self.checklist.clear()
        for item in checklist.items:
            row = QListWidgetItem(f"{'√' if item.ok else '×'}  {item.label}：{item.detail}")
            row.setForeground(QBrush(QColor("#006100" if item.ok else "#C00000")))
            self.checklist.addItem(row)
        self.submit_btn.setEnabled(checklist.ok)
        self.submit_btn.setToolTip("" if checklist.ok else checklist.summary())
        self.submit_btn.setText("重新提交月报" if st.status == P.RETURNED else "提交月报")

    def _show_notices(self) -> None:
        while self.notices_layout.count():
            w = self.notices_layout.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        notices = P.returned_notices(self.ctx.repo, self.org)
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
    def submit(self):
        period = self.period

        def done(st: P.PeriodState) -> None:
            self.message.setText(f"{P.period_label(period)}的月报已提交。同步（或导出数据包交给乡镇）后乡镇即可审核")
            self.ctx.period_changed.emit(period)
            self.reload()

        return (write_op(lambda job: P.submit(self.ctx.repo, self.org, period, actor_org=self.org))
                .affects("period").success(done).failure(self._failed).run_in_background(self))

    def _failed(self, exc: BaseException) -> None:
        from desktop.ui.jobs import show_error

        self.message.setText(describe_error(exc))
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
        repo, ident = self.ctx.repo, self.ctx.identity
        try:
            key = self.key_provider()
            county = PK.county_package_key(repo)  # packages are always encrypted to the county
        except Exception as exc:  # noqa: BLE001 - no sign-in / no keyring: tell the user what to do
            self._failed(exc)
            return None

        def work(job):
            data, pkg = PK.build_package(repo, key, org_code=ident.org_code, org_name=ident.org_name,
                                         user=repo.get_setting("user") or "", recipient=county)
            out = Path(path)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(out)
            return pkg

        def done(pkg: PK.Package) -> None:
            self.message.setText(f"已导出数据包 {path}：{len(pkg.changes)} 条变更。请交给乡镇收集员，"
                                 "拿回回执后点“导入回执”；在此之前这些变更仍算作未上传")

        return op(work).with_progress("正在导出数据包").success(done).failure(self._failed).run_in_background(self)

    def choose_receipt(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "导入回执", str(Path.home()), "台账回执 (*.tzrcpt)")
        if path:
            self.import_receipt(path)

    def import_receipt(self, path: str | Path):
        repo = self.ctx.repo
        try:
            key = self.receipt_key_provider()
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None

        def work(job):
            receipt = PK.read_receipt(Path(path).read_bytes())
            return receipt, PK.apply_receipt(repo, receipt, key)

        def done(result) -> None:
            receipt, marked = result
            self.message.setText(f"回执已读入：{receipt.summary()}。本机 {marked} 条变更已确认上传")
            self.reload()

        return (write_op(work).affects("period").success(done).failure(self._failed).run_in_background(self))

    def choose_package(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "导入村里的数据包", str(Path.home()), "台账数据包 (*.tzpkg)")
        if path:
            self.import_package(path)

    def import_package(self, path: str | Path, *, upload: bool = True):
        repo = self.ctx.repo
        role = "county" if org_level(self.org) == "county" else "township"

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

        return (write_op(work).affects("service", "period").success(self.message.setText).failure(self._failed)
                .run_in_background(self))


def create_page(ctx: AppContext) -> QWidget | None:
    if ctx.identity is None:
        return None
    return PeriodsPage(ctx)


__all__ = ["create_page", "PeriodsPage"]
