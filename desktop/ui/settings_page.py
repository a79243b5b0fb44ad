"""设置: large-font mode, this PC's village/community, the county server address, backup, about.

The backup/restore box comes from ``desktop/ui/backup_widget.py`` (helper INSTALL) via
``desktop.ui.pages.SETTINGS_SECTIONS``; until it exists a Chinese note says what will be there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from desktop.ui import pages as page_registry
from desktop.ui.context import SERVER_URL_KEY, AppContext
from desktop.ui.first_run import check_server_url
from storage import __version__


class SettingsPage(QWidget):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("settings_page")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop; it follows the focused control
        outer.addWidget(scroll)
        inner = QWidget()
        scroll.setWidget(inner)
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(12, 8, 12, 8)
        title = QLabel("设置")
        title.setObjectName("pageTitle")
        layout.addWidget(title)

        display = QGroupBox("显示")
        dl = QVBoxLayout(display)
        self.large_font = QCheckBox("大字模式（字号放大，适合视力不好的同志；快捷键 Ctrl+Shift+L）")
        self.large_font.setObjectName("large_font")
        self.large_font.setChecked(ctx.settings.large_font)
        self.large_font.toggled.connect(ctx.set_large_font)
        ctx.settings_changed.connect(self._settings_changed)
        dl.addWidget(self.large_font)
        layout.addWidget(display)

        place = QGroupBox("本机单位")
        pl = QFormLayout(place)
        self.place_label = QLabel()
        self.place_label.setObjectName("place")
        pl.addRow("村(社区)：", self.place_label)
        self.server = QLineEdit(ctx.server_url())
        self.server.setObjectName("server_url")
        self.server.setPlaceholderText("如 http://192.168.1.10:8750，请向县民政局索取")
        self.server.setEnabled(not ctx.is_demo)
        self.server.returnPressed.connect(self.save_server)  # Enter saves, as in a form
        save = QPushButton("保存服务器地址")
        save.setObjectName("save_server")
        save.setEnabled(not ctx.is_demo)
        save.clicked.connect(self.save_server)
        row = QHBoxLayout()
        row.addWidget(self.server, 1)
        row.addWidget(save)
        pl.addRow("县服务器地址：", row)
        self.server_message = QLabel()
        self.server_message.setObjectName("fieldError")
        self.server_message.setWordWrap(True)
        pl.addRow("", self.server_message)
        if ctx.is_demo:
            self.leave_demo_button = QPushButton("结束演示，设置本村(社区)的正式台账…")
            self.leave_demo_button.setObjectName("leave_demo")
            self.leave_demo_button.setToolTip("演示数据会移到备份文件夹保存（不会删除），然后回到首次使用设置")
            self.leave_demo_button.clicked.connect(lambda: self.leave_demo())
            pl.addRow("", self.leave_demo_button)
        layout.addWidget(place)
        ctx.identity_changed.connect(self._show_place)
        self._show_place()

        for spec in page_registry.SETTINGS_SECTIONS:
            box = QGroupBox(spec.title)
            bl = QVBoxLayout(box)
            widget = page_registry.create_page(spec, ctx)
            if widget is None:
                continue
            bl.addWidget(widget)
            layout.addWidget(box)

        about = QGroupBox("关于")
        al = QVBoxLayout(about)
        from desktop.logging_setup import log_file_path

        info = QLabel(f"社区服务台账 版本 {__version__}\n数据库：{ctx.db_path or '内存'}\n日志文件：{log_file_path()}")
        info.setObjectName("about_info")
        info.setWordWrap(True)
        al.addWidget(info)
        layout.addWidget(about)
        layout.addStretch(1)

    def _show_place(self) -> None:
        ident = self.ctx.identity
        if ident is None:
            text = "尚未设置"
        else:
            text = f"{ident.org_name}（{ident.org_code}）"
            if ident.demo:
                text += "【演示数据，不会同步】"
        self.place_label.setText(text)

    def _settings_changed(self, key: str) -> None:
        if key == "large_font":
            self.large_font.blockSignals(True)
            self.large_font.setChecked(self.ctx.settings.large_font)
            self.large_font.blockSignals(False)

    def leave_demo(self, confirm: bool = True):
        """Ask, then let the app move the demo database aside and show the first-run setup."""
        if not confirm:
            self.ctx.setup_requested.emit()
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "结束演示",
                          "结束演示后，演示数据会移到数据目录的 backups 文件夹里保存（不会删除），"
                          "程序回到首次使用设置，请填写本村(社区)的区划代码和名称。\n\n确定结束演示吗？",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("结束演示")
        box.button(QMessageBox.StandardButton.No).setText("继续演示")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setObjectName("confirm_leave_demo")
        box.finished.connect(lambda _r: self.ctx.setup_requested.emit()
                             if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes) else None)
        self._leave_box = box
        box.open()
        return box

    def save_server(self) -> bool:
        url = self.server.text().strip().rstrip("/")
        problem = check_server_url(url)
        if problem:
            self.server_message.setText(problem)
            return False
        self.ctx.repo.set_setting(SERVER_URL_KEY, url)  # UI preference-sized write (documented exception)
        self.ctx.remember_stored(server_url=url)
        self.server_message.setText("已保存。" if url else "已清除服务器地址，本机只离线使用。")
        self.ctx.core_callbacks().sync_state(online=None)
        return True


def create_page(ctx: AppContext) -> QWidget:
    return SettingsPage(ctx)


__all__ = ["SettingsPage", "create_page"]
