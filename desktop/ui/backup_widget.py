"""设置 → 备份与恢复: back the ledger up to a folder (a USB stick), restore it from a backup.

All the work is in ``storage.backup`` (Qt-free); this box only asks where, confirms, and runs it
through the job helper: a backup is a read job (the app keeps working while it copies), a restore
is a write job on the single DB writer thread.  Every outcome is written in the box in Chinese.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QVBoxLayout, QWidget)

from desktop.ui.jobs import describe_error, op, write_op
from desktop.ui.theme import mark_destructive
from storage import backup as bk
from storage import local
from storage import sealed_file
from storage.schema import RECORD_TYPES


class PassphraseDialog(QDialog):
    """The backup passphrase: set (typed twice) when a backup is made, asked when one is restored."""

    def __init__(self, parent: QWidget | None, *, new: bool):
        super().__init__(parent)
        self.new = new
        self.setObjectName("passphrase_dialog")
        self.setWindowTitle("设置备份口令" if new else "输入备份口令")
        layout = QVBoxLayout(self)
        text = ("备份文件会用这个口令加密，U盘丢失也不会泄露身份号码和手机号。在另一台电脑上恢复时需要输入它。"
                if new else "这个备份已加密，请输入制作备份时设置的口令。")
        intro = QLabel(text + "\n" + sealed_file.FORGOTTEN)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.first = QLineEdit()
        self.first.setObjectName("passphrase")
        self.first.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("备份口令(&P)：", self.first)
        self.second = QLineEdit()
        self.second.setObjectName("passphrase_again")
        self.second.setEchoMode(QLineEdit.EchoMode.Password)
        if new:
            form.addRow("再输入一次(&A)：", self.second)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("passphrase_error")
        self.error.setStyleSheet("color: #b03a2e;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def passphrase(self) -> str:
        return self.first.text()

    def accept(self) -> None:
        try:
            if self.new:
                sealed_file.check_new_passphrase(self.first.text(), self.second.text())
            elif not self.first.text():
                raise ValueError("请输入备份口令")
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class BackupWidget(QWidget):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("backup_widget")
        self.handle = None
        self.confirm_box: QMessageBox | None = None
        self.passphrase_box: PassphraseDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("备份会把本机全部台账复制成一个文件，程序打开时也可以备份。建议每月底备份一次，"
                       "把备份文件存到U盘。换了电脑时，在新电脑上安装本程序后用“从备份恢复”"
                       "即可继续使用（只能恢复本村/社区的备份）。")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.last = QLabel()
        self.last.setObjectName("backup_last")
        self.last.setWordWrap(True)
        layout.addWidget(self.last)
        row = QHBoxLayout()
        self.backup_button = QPushButton("备份到…")
        self.backup_button.setObjectName("backup_now")
        self.backup_button.setToolTip("选择U盘或文件夹，把本机台账备份到那里")
        self.backup_button.clicked.connect(self.choose_backup_folder)
        self.restore_button = QPushButton("从备份恢复…")
        self.restore_button.setObjectName("restore")
        self.restore_button.setToolTip("选择一个备份文件，用它替换本机台账（恢复前自动保存当前数据）")
        self.restore_button.clicked.connect(self.choose_backup_file)
        self.open_folder = QPushButton("打开备份文件夹")
        self.open_folder.setObjectName("open_backup_folder")
        self.open_folder.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(bk.backup_dir()))))
        for button in (self.backup_button, self.restore_button, self.open_folder):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("backup_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.show_last_backup()

    # ------------------------------------------------------------------ helpers

    def _db_path(self) -> Path:
        return Path(self.ctx.db_path) if self.ctx.db_path else bk.default_db_path()

    def show_last_backup(self) -> None:
        found = bk.list_backups()
        ours = [p for p in found if p.name.startswith("台账备份")]
        if ours:
            when = dt.datetime.fromtimestamp(ours[0].stat().st_mtime)
            self.last.setText(f"本机备份文件夹中最近的备份：{when:%Y-%m-%d %H:%M}（{ours[0].name}）")
        else:
            self.last.setText(f"本机备份文件夹（{bk.backup_dir()}）中还没有备份。")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setProperty("error", error)
        self.status.setStyleSheet("color: #b03a2e;" if error else "")
        self.status.setText(text)

    def _busy(self, busy: bool) -> None:
        self.backup_button.setEnabled(not busy)
        self.restore_button.setEnabled(not busy)

    # ------------------------------------------------------------------ backup

    def choose_backup_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择备份位置（如U盘）", str(bk.backup_dir()))
        if folder:
            self.backup_to(Path(folder))

    def _ask_passphrase(self, *, new: bool, then) -> None:
        """Ask for the passphrase (window-modal, never blocking the event loop), then ``then(passphrase)``."""
        box = PassphraseDialog(self, new=new)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def finished(result: int) -> None:
            self.passphrase_box = None
            if result == QDialog.DialogCode.Accepted:
                then(box.passphrase())
            else:
                self._busy(False)
                self._say("已取消，本机数据没有改动。")

        box.finished.connect(finished)
        self.passphrase_box = box
        box.open()

    def backup_to(self, folder: Path, passphrase: str | None = None):
        """Back up to ``folder``, encrypted with a passphrase (asked, twice, if not given)."""
        if passphrase is None:
            self._ask_passphrase(new=True, then=lambda p: self.backup_to(folder, p))
            return None
        db_path = self._db_path()

        def work(job):
            return bk.make_backup(folder, db_path=db_path, passphrase=passphrase,
                                  progress=lambda done, total: job.progress(done, total, "正在备份台账…"))

        self._busy(True)
        self._say("正在备份…")
        self.handle = (op(work).with_progress("正在备份本机台账")
                       .success(self._backup_done).failure(self._failed).on_cancelled(self._cancelled)
                       .run_in_background(self))
        return self.handle

    def _backup_done(self, info: bk.BackupInfo) -> None:
        self._busy(False)
        self._say(f"备份完成（已用口令加密）：{info.path}\n{info.summary()}\n{sealed_file.FORGOTTEN}")
        self.show_last_backup()

    # ------------------------------------------------------------------ restore

    def choose_backup_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择备份文件", str(bk.backup_dir()),
                                              "台账备份 (*.tzbak *.sqlite3);;所有文件 (*)")
        if path:
            self.restore_from(Path(path))

    def restore_from(self, path: Path, passphrase: str | None = None):
        """Check the backup (read job; an encrypted one after its passphrase), then ask before replacing anything."""
        if passphrase is None and bk.is_encrypted(path):
            self._busy(True)
            self._ask_passphrase(new=False, then=lambda p: self.restore_from(path, p))
            return None
        db_path = self._db_path()
        self._busy(True)
        self._say("正在检查备份文件…")
        self.handle = (op(lambda job: bk.plan_restore(path, db_path=db_path, passphrase=passphrase))
                       .with_progress("正在检查备份文件")
                       .success(self._confirm_restore).failure(self._failed).on_cancelled(self._cancelled)
                       .run_in_background(self))
        return self.handle

    def _confirm_restore(self, plan: bk.RestorePlan) -> None:
        lines = [f"备份内容：{plan.backup.summary()}"]
        if plan.current is not None:
            lines.append(f"本机现有：{plan.current.summary()}")
        lines += [f"注意：{w}" for w in plan.warnings]
        lines.append("恢复前会自动把本机现有数据另存一份安全副本。确定用这个备份替换本机台账吗？")
        box = QMessageBox(QMessageBox.Icon.Question, "从备份恢复", "\n\n".join(lines),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("restore_confirm")
        box.button(QMessageBox.StandardButton.Yes).setText("恢复")
        box.button(QMessageBox.StandardButton.No).setText("不恢复")
        mark_destructive(box.button(QMessageBox.StandardButton.Yes), box.button(QMessageBox.StandardButton.No))
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.finished.connect(lambda result: self._confirmed(plan, result))
        self.confirm_box = box
        box.open()

    def _confirmed(self, plan: bk.RestorePlan, result: int) -> None:
        self.confirm_box = None
        if result != QMessageBox.StandardButton.Yes:
            bk.discard_decrypted(plan)
            self._busy(False)
            self._say("没有恢复，本机数据没有改动。")
            return
        db_path = self._db_path()
        repo = self.ctx.repo

        def work(job):
            result = bk.restore_backup(plan.backup.path, db_path=db_path, dispose=repo.engine.dispose,
                                       progress=lambda done, total: job.progress(done, total, "正在恢复台账…"))
            return result, local.identity(repo)  # the restored ledger's village, read here

        self._say("正在恢复…")
        self.handle = (write_op(work).with_progress("正在从备份恢复台账")
                       .affects(*RECORD_TYPES)
                       .success(self._restore_done).failure(self._failed).on_cancelled(self._cancelled)
                       .run_in_background(self))

    def _restore_done(self, answer: tuple[bk.RestoreResult, local.Identity | None]) -> None:
        result, identity = answer
        self._busy(False)
        self.ctx.reload_identity(identity)
        text = f"恢复完成：{result.backup.village}，记录 {result.backup.records} 条。"
        if result.safety_copy:
            text += f"\n恢复前的数据已另存为 {result.safety_copy}"
        if result.migration == "upgraded":
            text += "\n这个备份来自旧版本程序，已升级到当前版本。"
        self._say(text)
        self.show_last_backup()

    # ------------------------------------------------------------------ outcomes

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self._say(describe_error(exc), error=True)

    def _cancelled(self) -> None:
        self._busy(False)
        self._say("已取消，本机数据没有改动。")


def create_widget(ctx) -> QWidget:
    return BackupWidget(ctx)
