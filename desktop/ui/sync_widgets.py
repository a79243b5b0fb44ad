"""同步 in the desktop app: the sync panel (on the 月报与同步 page), the sign-in dialog, conflicts.

A sync and a sign-in run as ``desktop.ui.jobs.network_op`` (the network thread), a sync with progress
and 取消; their local writes go to the single DB writer thread one transaction at a time
(``run_on_writer``), so a form save never waits for the server.  Conflict choices are ``write_op`` jobs.
``sync.client`` reports progress through a plain callable and reads the cancel flag of the job.  The device token lives only in the OS keyring; when the
keyring is insecure the panel says so and shows a password box for each sync instead.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from desktop.ui.context import AppContext, read_stored_settings
from desktop.ui.jobs import network_op, run_on_writer, write_op
from storage.schema import RECORD_TYPES
from storage.validation import display_text
from sync import credentials

log = logging.getLogger("taizhang.desktop.sync")

AUTO_SYNC_MINUTES = 15


def _field_label(record_type: str, name: str) -> str:
    rt = RECORD_TYPES.get(record_type)
    if name == "deleted":
        return "删除标记"
    try:
        return rt.field(name).label if rt else name
    except KeyError:
        return name


class LoginDialog(QDialog):
    """Sign in once: server address, user name, password, optional county CA file.

    修改密码 (or the server's answer that the password is a one-time one, after 重置密码 at the county)
    shows 新密码 twice; the sign-in then sets it, as ``taizhang passwd`` / ``taizhang login`` do."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, message: str = ""):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("登录县级服务器")
        self.info: dict | None = None
        layout = QVBoxLayout(self)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setObjectName("loginMessage")
        layout.addWidget(self.message)
        form = QFormLayout()
        self.server = QLineEdit(ctx.stored.server_url or "https://")
        self.server.setObjectName("loginServer")
        self.user = QLineEdit(ctx.stored.user)
        self.user.setObjectName("loginUser")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setObjectName("loginPassword")
        ca_row = QHBoxLayout()
        self.ca_file = QLineEdit(ctx.stored.ca_file)
        self.ca_file.setPlaceholderText("县民政局提供的证书文件（可不填）")
        browse = QPushButton("浏览…")
        browse.clicked.connect(self._browse)
        ca_row.addWidget(self.ca_file)
        ca_row.addWidget(browse)
        self.change_password = QCheckBox("同时修改密码(&C)")
        self.change_password.setObjectName("loginChangePassword")
        self.new_password, self.new_password2 = QLineEdit(), QLineEdit()
        for w, name in ((self.new_password, "loginNewPassword"), (self.new_password2, "loginNewPassword2")):
            w.setEchoMode(QLineEdit.EchoMode.Password)
            w.setObjectName(name)
            w.setPlaceholderText("至少8个字符")
        form.addRow("服务器地址：", self.server)
        form.addRow("用户名：", self.user)
        form.addRow("密码：", self.password)
        form.addRow("", self.change_password)
        form.addRow("新密码：", self.new_password)
        form.addRow("再次输入新密码：", self.new_password2)
        form.addRow("证书文件：", ca_row)
        layout.addLayout(form)
        self.form = form
        self.change_password.toggled.connect(self._show_new_password)
        self._show_new_password(False)
        if not credentials.keyring_is_secure():
            notice = QLabel(credentials.INSECURE_NOTICE + credentials.PACKAGES_NEED_KEYRING)
            notice.setWordWrap(True)
            notice.setObjectName("insecureKeyringNotice")
            layout.addWidget(notice)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("登录")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.sign_in)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.handle = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择证书文件", "", "证书 (*.pem *.crt *.cer);;所有文件 (*)")
        if path:
            self.ca_file.setText(path)

    def _show_new_password(self, shown: bool) -> None:
        for w in (self.new_password, self.new_password2):
            self.form.setRowVisible(w, shown)
        if shown:
            self.new_password.setFocus()

    def sign_in(self) -> None:
        server, user, password = self.server.text().strip(), self.user.text().strip(), self.password.text()
        if not server.startswith(("http://", "https://")) or len(server) < 10:
            self.message.setText("请填写完整的服务器地址，例如 https://tz.example.gov.cn")
            return
        if not user or not password:
            self.message.setText("请填写用户名和密码")
            return
        new_password = None
        if self.change_password.isChecked():
            new_password = self.new_password.text()
            if len(new_password) < 8:
                self.message.setText("新密码至少需要8个字符，请换一个更长的密码")
                self.new_password.setFocus()
                return
            if new_password != self.new_password2.text():
                self.message.setText("两次输入的新密码不一致，请重新输入")
                self.new_password2.clear()
                self.new_password2.setFocus()
                return
        ca = self.ca_file.text().strip() or None
        repo = self.ctx.repo
        self.buttons.setEnabled(False)
        self.message.setText("正在登录…")

        def work(job):
            from storage import local
            from sync.client import SyncClient

            # on the network thread, like a sync: the writer stays free for form saves while the server
            # answers, and each local write (the device id if new, the sign-in's settings) is handed to it
            run_on_writer(lambda: local.device_id(repo))
            client = SyncClient(repo, server, user, ca_file=ca, retries=1, timeout=30, cancel=job.cancelled,
                                writer=run_on_writer)
            try:
                info = client.login(password, new_password=new_password)
            finally:
                client.transport.close()
            # the settings and the identity (a first sign-in names the village) as the sign-in left them
            return info, read_stored_settings(repo), local.identity(repo)

        def done(answer):
            info, stored, identity = answer
            self.info = info
            self.ctx.remember_stored(stored)
            self.buttons.setEnabled(True)
            for w in (self.password, self.new_password, self.new_password2):
                w.clear()
            self.ctx.reload_identity(identity)
            self.accept()

        def failed(exc: BaseException):
            from sync.client import PasswordChangeRequired

            self.buttons.setEnabled(True)
            if isinstance(exc, PasswordChangeRequired):  # a one-time password: it signs in only with a new one
                self.change_password.setChecked(True)
                self.message.setText(str(exc))
                return
            self.message.setText(f"登录失败：{exc}")

        self.handle = network_op(work).success(done).failure(failed).run_in_background(self)


class ConflictsDialog(QDialog):
    """Open conflicts (both versions, the user chooses) and the changes the server refused."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        from sync.client import open_conflicts, rejection_summary, rejections

        self.ctx = ctx
        self.setWindowTitle("同步冲突与被拒绝的修改")
        self.resize(720, 480)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("同一条记录在本机和别处都被修改过。两个版本都已保留，请选择保留哪一个："))
        self.list = QListWidget()
        self.list.setObjectName("conflictList")
        for c in open_conflicts(ctx.repo):
            diffs = []
            for name, mine in c["local"].items():
                theirs = (c["server"] or {}).get(name)
                if mine != theirs:
                    rtype = c["record_type"]
                    diffs.append(f"{_field_label(rtype, name)}：本机“{_shown(mine, rtype, name)}”，"
                                 f"服务器“{_shown(theirs, rtype, name)}”")
            item = QListWidgetItem(f"{c['label']}（{c['org_code']}）  " + "；".join(diffs or ["内容相同"]))
            item.setData(Qt.ItemDataRole.UserRole, c["id"])
            self.list.addItem(item)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.keep_server = QPushButton("保留服务器的版本")
        self.keep_local = QPushButton("保留本机的版本（下次同步时上传）")
        self.keep_server.clicked.connect(lambda: self._choose("server"))
        self.keep_local.clicked.connect(lambda: self._choose("local"))
        row.addWidget(self.keep_server)
        row.addWidget(self.keep_local)
        layout.addLayout(row)
        rej = rejections(ctx.repo)
        self.rejected_title = QLabel()
        layout.addWidget(self.rejected_title)
        self.rejected = QListWidget()
        self.rejected.setObjectName("rejectedList")
        for r in reversed(rej):  # newest first; all of them, none dropped
            item = QListWidgetItem(f"{r['at'][:16].replace('T', ' ')}  {r['label']}（{r['org_code']}）"
                                   f"  {rejection_summary(r) or '（无内容）'}\n    拒绝原因：{r['reason']}")
            item.setData(Qt.ItemDataRole.UserRole, r)
            self.rejected.addItem(item)
        self.rejected.itemActivated.connect(lambda _item: self._show_rejected())
        layout.addWidget(self.rejected)
        self._update_rejected_title()
        row = QHBoxLayout()
        self.show_rejected = QPushButton("查看内容(&V)")
        self.show_rejected.setToolTip("查看被拒绝记录在本机保留的全部内容（回车键同样可以打开）")
        self.dismiss_rejected = QPushButton("已处理，不再显示(&D)")
        self.dismiss_rejected.setToolTip("按拒绝原因改正并重新录入后，把这一条从列表中移走（内容仍保存在本机数据库中）")
        self.show_rejected.clicked.connect(self._show_rejected)
        self.dismiss_rejected.clicked.connect(self._dismiss_rejected)
        row.addWidget(self.show_rejected)
        row.addWidget(self.dismiss_rejected)
        row.addStretch(1)
        layout.addLayout(row)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.handle = None

    def _choose(self, keep: str) -> None:
        item = self.list.currentItem()
        if item is None:
            QMessageBox.information(self, "同步冲突", "请先在列表中选择一条冲突")
            return
        conflict_id = item.data(Qt.ItemDataRole.UserRole)
        repo = self.ctx.repo

        def work(job):
            from sync.client import resolve_conflict

            resolve_conflict(repo, conflict_id, keep)

        def done(_):
            self.list.takeItem(self.list.row(item))
            self.ctx.refresh_unsent_count()

        self.handle = (write_op(work).affects(*RECORD_TYPES).success(done).run_in_background(self))


    # ----------------------------------------------------------------- refused changes

    def _update_rejected_title(self) -> None:
        n = self.rejected.count()
        self.rejected_title.setText(f"被服务器拒绝的修改（{n} 条）。这些记录已从本机台账中撤回，内容保留在这里；"
                                    "请按拒绝原因改正后重新录入：" if n else "没有被服务器拒绝的修改。")

    def _current_rejection(self) -> tuple[QListWidgetItem | None, dict | None]:
        item = self.rejected.currentItem()
        if item is None:
            QMessageBox.information(self, "被拒绝的修改", "请先在列表中选择一条被拒绝的修改")
            return None, None
        return item, item.data(Qt.ItemDataRole.UserRole)

    def _show_rejected(self) -> None:
        item, r = self._current_rejection()
        if r is None:
            return
        rt = RECORD_TYPES.get(r["record_type"])
        lines = [f"{r['label']}（区划代码 {r['org_code']}）", f"拒绝原因：{r['reason']}", ""]
        for f in (rt.fields if rt else ()):
            value = r["payload"].get(f.name)
            if value not in (None, "", []):
                lines.append(f"{f.label}：{_shown(value, r['record_type'], f.name)}")
        box = QMessageBox(QMessageBox.Icon.Information, "被拒绝记录的内容", "\n".join(lines), parent=self)
        box.setObjectName("rejectedContent")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addButton(QMessageBox.StandardButton.Close).setText("关闭")
        box.exec()

    def _dismiss_rejected(self) -> None:
        item, r = self._current_rejection()
        if r is None:
            return
        repo = self.ctx.repo
        rejection_id = r["id"]

        def work(job):
            from sync.client import dismiss_rejection

            dismiss_rejection(repo, rejection_id)

        def done(_):
            self.rejected.takeItem(self.rejected.row(item))
            self._update_rejected_title()

        self.handle = write_op(work).success(done).run_in_background(self)


def _shown(value, record_type: str = "", name: str = "") -> str:
    rt = RECORD_TYPES.get(record_type)
    field = next((f for f in rt.fields if f.name == name), None) if rt else None
    return display_text(field, value) or "空"  # ID numbers and phones stay masked here as everywhere else


class SyncPanel(QGroupBox):
    """The 同步 box: server, last sync, unsent count, 同步 / 取消, sign-in and conflicts."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__("与县级服务器同步", parent)
        self.ctx = ctx
        self.setObjectName("syncPanel")
        self.handle = None
        self.last_report = None
        self.last_error: BaseException | None = None
        layout = QVBoxLayout(self)
        self.server_label = QLabel()
        self.server_label.setObjectName("syncServer")
        layout.addWidget(self.server_label)
        self.unsent_label = QLabel()
        self.unsent_label.setObjectName("syncUnsent")
        layout.addWidget(self.unsent_label)
        self.insecure = QLabel(credentials.INSECURE_NOTICE)
        self.insecure.setWordWrap(True)
        self.insecure.setObjectName("insecureKeyringNotice")
        layout.addWidget(self.insecure)
        pw_row = QHBoxLayout()
        self.password_label = QLabel("密码：")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setObjectName("syncPassword")
        self.password.setPlaceholderText("每次同步时输入")
        pw_row.addWidget(self.password_label)
        pw_row.addWidget(self.password)
        layout.addLayout(pw_row)
        row = QHBoxLayout()
        self.sync_button = QPushButton("同步")
        self.sync_button.setObjectName("syncButton")
        self.sync_button.setToolTip("上传本机的修改，下载乡镇和县的修改，并核对两边一致（Ctrl+S）")
        self.sync_button.setShortcut("Ctrl+S")
        self.sync_button.clicked.connect(self.start_sync)
        self.login_button = QPushButton("登录…")
        self.login_button.setObjectName("loginButton")
        self.login_button.clicked.connect(lambda: self.open_login())
        self.conflicts_button = QPushButton("冲突与被拒绝的修改…")
        self.conflicts_button.setObjectName("conflictsButton")
        self.conflicts_button.clicked.connect(self.open_conflicts)
        row.addWidget(self.sync_button)
        row.addWidget(self.login_button)
        row.addWidget(self.conflicts_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("syncMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        ctx.unsent_count_changed.connect(lambda _n: self.refresh())
        ctx.identity_changed.connect(self.refresh)
        # background sync: every 15 minutes when the server answers, the token is in the OS keyring
        # and something is unsent (never with a password box, never on demo data)
        self.auto_timer = QTimer(self)
        self.auto_timer.setInterval(AUTO_SYNC_MINUTES * 60_000)
        self.auto_timer.timeout.connect(self.try_background_sync)
        self.auto_timer.start()
        self.refresh()

    # ------------------------------------------------------------------ state

    def refresh(self) -> None:
        url, user = self.ctx.stored.server_url, self.ctx.stored.user
        self.server_label.setText(f"服务器：{url}（用户 {user}）" if url else "尚未登录县级服务器，请先点“登录…”")
        self.unsent_label.setText(f"未上传的修改：{self.ctx.unsent_count} 条")
        insecure = not credentials.keyring_is_secure()
        self.insecure.setVisible(insecure)
        needs_password = insecure and bool(url)
        self.password.setVisible(needs_password)
        self.password_label.setVisible(needs_password)
        if self.ctx.is_demo:
            self.sync_button.setEnabled(False)
            self.sync_button.setToolTip("演示数据永远不会同步到县级服务器")
            self.message.setText("这是演示数据（幸福村），不会同步到县级服务器。")

    def open_login(self, message: str = "") -> LoginDialog:
        dialog = LoginDialog(self.ctx, self, message)
        dialog.accepted.connect(self._logged_in)
        dialog.open()
        self._dialog = dialog
        return dialog

    def _logged_in(self) -> None:
        dialog = self._dialog
        self.message.setText(f"已登录：{dialog.info['user']}（{dialog.info['org_name']} {dialog.info['org_code']}）")
        self.refresh()

    def open_conflicts(self) -> ConflictsDialog:
        dialog = ConflictsDialog(self.ctx, self)
        dialog.open()
        self._conflicts = dialog
        return dialog

    # ------------------------------------------------------------------ the 同步 action

    def try_background_sync(self) -> None:
        """Probe the server off the writer thread (3 s); sync quietly only if it answers."""
        from desktop.ui.jobs import op

        url, user = self.ctx.stored.server_url, self.ctx.stored.user
        busy = self.handle is not None and not self.handle.is_done()
        if busy or self.ctx.is_demo or not url or not user or not credentials.keyring_is_secure():
            return
        if self.ctx.unsent_count == 0:
            return

        def probe(job):
            import requests

            from sync.protocol import API_PREFIX

            if not credentials.load_token(url, user):
                return False
            try:
                return requests.get(url.rstrip("/") + API_PREFIX + "/status", timeout=3).ok
            except requests.RequestException:
                return False

        def reachable(ok: bool) -> None:
            if ok:
                self.start_sync(background=True)
            else:
                self.ctx.core_callbacks().sync_state(online=False, message="无法连接县服务器")

        op(probe).success(reachable).failure(lambda exc: None).run_in_background(self)

    def start_sync(self, background: bool = False) -> None:
        if self.handle is not None and not self.handle.is_done():
            return
        if self.ctx.is_demo:
            self.message.setText("演示数据永远不会同步到县级服务器。")
            return
        if not self.ctx.server_url():
            self.open_login("请先登录县级服务器")
            return
        password = self.password.text() or None
        if not credentials.keyring_is_secure() and not password:
            self.message.setText("本电脑不能安全保存登录凭据，请在“密码”框中输入密码后再同步。")
            self.password.setFocus()
            return
        self.password.clear()
        repo = self.ctx.repo
        callbacks = self.ctx.core_callbacks()

        retries = 1 if background else 5  # a background sync gives up quickly when the link is bad

        def work(job):
            from sync.client import SyncClient

            # on the network thread; each local write of the sync is handed to the writer thread
            client = SyncClient(repo, progress=lambda stage, done, total: job.progress(done, total, f"{stage}…"),
                                cancel=job.cancelled, retries=retries, timeout=30 if background else 60,
                                writer=run_on_writer)
            try:
                return client.sync(password=password or None)
            finally:
                client.transport.close()

        self.sync_button.setEnabled(False)
        self.message.setText("正在同步…")
        callbacks.sync_state(running=True, message="正在同步…")
        job = network_op(work)
        if not background:
            job = job.with_progress("正在与县级服务器同步")
        self.handle = (job.affects(*RECORD_TYPES)
                       .success(self._sync_done).failure(self._sync_failed).on_cancelled(self._sync_cancelled)
                       .run_in_background(self))

    def _sync_done(self, report) -> None:
        import datetime as dt

        self.last_report, self.last_error = report, None
        self.sync_button.setEnabled(True)
        text = "同步完成：" + report.summary()
        if report.messages:
            text += "\n" + "\n".join(report.messages[:5])
        self.message.setText(text)
        self.ctx.core_callbacks().sync_state(running=False, online=True, message="已同步",
                                             last_success_at=dt.datetime.now(dt.timezone.utc))
        self.ctx.refresh_unsent_count()
        self.refresh()

    def _sync_failed(self, exc: BaseException) -> None:
        from sync.client import LoginRequired, ServerUnreachable

        self.last_report, self.last_error = None, exc
        self.sync_button.setEnabled(True)
        self.ctx.core_callbacks().sync_state(running=False, online=not isinstance(exc, ServerUnreachable),
                                             message="同步未完成")
        self.message.setText(f"同步未完成：{exc}")
        self.ctx.refresh_unsent_count()
        if isinstance(exc, LoginRequired) and credentials.keyring_is_secure():
            self.open_login(f"{exc}。请重新登录。")

    def _sync_cancelled(self) -> None:
        self.sync_button.setEnabled(True)
        self.ctx.core_callbacks().sync_state(running=False, message="同步已取消")
        self.message.setText("同步已取消。本机数据完好，未上传的修改下次同步时继续上传。")
        self.ctx.refresh_unsent_count()


def create_widget(ctx: AppContext) -> SyncPanel:
    """Factory used by the 月报与同步 page (desktop/ui/periods_page.py)."""
    return SyncPanel(ctx)


__all__ = ["SyncPanel", "LoginDialog", "ConflictsDialog", "create_widget"]
