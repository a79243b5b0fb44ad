"""导入导出: Excel templates and exports for this village, and importing workbooks.

All the work is in ``exchange`` (Qt-free, shared with the CLIs); this page asks
where, runs it through the job helper (exports as read jobs, imports as write
jobs on the single DB writer thread, both with progress and 取消) and shows
the import summary — to create / to update / unchanged / rejected, errors
grouped by error → column → rows — in Chinese.

Imports are scoped to this PC's unit: a township imports its villages'
workbooks, a village its own filled-in template; another unit's workbook is
refused.  Every workbook is imported entirely or not at all.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from desktop.ui.fill_box import FillBox
from desktop.ui.flow_layout import FlowLayout, labelled, scrolling_body
from desktop.ui.jobs import JobCancelled, describe_error, op, write_op
from storage.db import data_dir
from storage.schema import workbook_types

PERIOD_RE = re.compile(r"^\s*(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?\s*$")


def report_dir() -> Path:
    return data_dir() / "导入错误报告"


def normalise_period(text: str) -> str | None:
    """'' → None (all); '2024-3' / '2024年3月' → '2024-03'; anything else → ValueError (Chinese)."""
    if not text.strip():
        return None
    m = PERIOD_RE.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"填报期“{text.strip()}”格式不对，应为“年-月”，如 2024-03；留空表示导出全部")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


class ExchangePage(QWidget):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("exchange_page")
        self.handle = None
        self.results = []  # ImportResult of the last batch (set by the worker; read on the UI thread)
        layout = scrolling_body(self)  # scrolls rather than outgrow a small screen in large-font mode
        title = QLabel("导入导出")
        title.setObjectName("pageTitle")
        layout.addWidget(title)

        export_box = QGroupBox("导出（交给乡镇、县或留档）")
        ex = QVBoxLayout(export_box)
        period_row = QHBoxLayout()
        self.period = QLineEdit()
        self.period.setObjectName("export_period")
        self.period.setPlaceholderText("如 2024-03；留空导出全部")
        self.period.setMaximumWidth(260)
        period_row.addWidget(labelled("填报期(&Q)（可留空）：", self.period))
        period_row.addStretch(1)
        ex.addLayout(period_row)
        # Masked by default; full numbers only when chosen, with a purpose, and recorded (storage.disclosure).
        full_row = QHBoxLayout()
        self.full_export = QCheckBox("导出完整的身份号码和手机号(&F)")
        self.full_export.setObjectName("export_full")
        self.full_export.setToolTip("默认导出的身份号码、手机号是遮挡的（如 110105********1234）。"
                                    "完整导出须填写用途，每次都会记录并同步到县里。")
        self.purpose = QLineEdit()
        self.purpose.setObjectName("export_purpose")
        self.purpose.setPlaceholderText("用途，如：报县民政局年度核查")
        self.purpose.setEnabled(False)
        self.full_export.toggled.connect(self.purpose.setEnabled)
        full_row.addWidget(self.full_export)
        full_row.addWidget(labelled("用途(&U)：", self.purpose), 1)
        ex.addLayout(full_row)
        buttons = FlowLayout()
        self.template_button = QPushButton("生成填报模板(&T)…")
        self.template_button.setObjectName("make_template")
        self.template_button.setToolTip("生成空白的 Excel 填报模板：每类记录一张表，带下拉选项、填写说明（Alt+T）")
        self.template_button.clicked.connect(self.choose_template_file)
        self.export_button = QPushButton("导出为 Excel(&X)…")
        self.export_button.setObjectName("export_xlsx")
        self.export_button.setToolTip("把本村(社区)的台账导出为 Excel，县里导入时会更新而不会重复（Alt+X）")
        self.export_button.clicked.connect(self.choose_export_file)
        self.csv_button = QPushButton("导出为 CSV(&S)…")
        self.csv_button.setObjectName("export_csv")
        self.csv_button.setToolTip("每类记录一个 CSV 文件（UTF-8 带 BOM），保存到所选文件夹（Alt+S）")
        self.csv_button.clicked.connect(self.choose_csv_folder)
        for b in (self.template_button, self.export_button, self.csv_button):
            buttons.addWidget(b)
        ex.addLayout(buttons)
        layout.addWidget(export_box)

        import_box = QGroupBox("导入 Excel 工作簿")
        im = QVBoxLayout(import_box)
        note = QLabel("每个工作簿要么全部导入，要么全部不导入；有错误的工作簿会生成带批注的错误报告，"
                      "可发回报送单位改正。建议先勾选“只检查”看一遍结果。")
        note.setWordWrap(True)
        im.addWidget(note)
        self.dry_run = QCheckBox("只检查，不导入（试运行）(&K)")
        self.dry_run.setObjectName("dry_run")
        self.dry_run.setChecked(True)
        im.addWidget(self.dry_run)
        row = FlowLayout()
        self.import_files_button = QPushButton("选择工作簿导入(&I)…")
        self.import_files_button.setObjectName("import_files")
        self.import_files_button.clicked.connect(self.choose_import_files)
        self.import_folder_button = QPushButton("导入整个文件夹(&D)…")
        self.import_folder_button.setObjectName("import_folder")
        self.import_folder_button.clicked.connect(self.choose_import_folder)
        self.import_files_button.setToolTip("选择一个或多个 Excel 工作簿导入（Alt+I）")
        self.import_folder_button.setToolTip("导入所选文件夹里的全部工作簿（Alt+D）")
        self.dry_run.setToolTip("勾选时只检查、不写入任何数据（Alt+K）")
        self.reports_button = QPushButton("打开错误报告文件夹(&O)")
        self.reports_button.setObjectName("open_reports")
        self.reports_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(report_dir()))))
        for b in (self.import_files_button, self.import_folder_button, self.reports_button):
            row.addWidget(b)
        im.addLayout(row)
        layout.addWidget(import_box)
        self.fill_box = FillBox(ctx)  # 报表（一表通）; reads its templates when shown
        layout.addWidget(self.fill_box)

        self.status = QLabel()
        self.status.setObjectName("exchange_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.summary = QPlainTextEdit()
        self.summary.setObjectName("import_summary")
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("导入结果将显示在这里")
        font = QFont(self.summary.font())
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.summary.setFont(font)
        self.summary.setMinimumHeight(self.summary.fontMetrics().lineSpacing() * 6)  # the page scrolls instead
        layout.addWidget(self.summary, 1)
        self._busy(False)

    # ------------------------------------------------------------------ helpers

    @property
    def org_code(self) -> str | None:
        ident = self.ctx.identity
        return ident.org_code if ident else None

    def _busy(self, busy: bool) -> None:
        no_org = self.org_code is None
        for b in (self.export_button, self.csv_button):
            b.setEnabled(not busy and not no_org)
        for b in (self.template_button, self.import_files_button, self.import_folder_button):
            b.setEnabled(not busy)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b03a2e;" if error else "")
        self.status.setText(text)

    def _period(self) -> str | None | bool:
        try:
            return normalise_period(self.period.text())
        except ValueError as exc:
            self._say(str(exc), error=True)
            self.period.setFocus()
            return False

    def _full_choice(self) -> tuple[bool, str | None] | None:
        """(full, purpose) as chosen; None (and a message) if full is chosen without a purpose."""
        if not self.full_export.isChecked():
            return False, None
        purpose = self.purpose.text().strip()
        if not purpose:
            self._say("导出完整的身份号码和手机号时请填写用途，它会和本次导出一起记录。", error=True)
            self.purpose.setFocus()
            return None
        return True, purpose

    @staticmethod
    def _export_job(work, full: bool):
        """A masked export only reads; a full one also writes its disclosure record (the writer thread)."""
        return write_op(work).affects("disclosure") if full else op(work)

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self._say(describe_error(exc), error=True)

    # ------------------------------------------------------------------ file choosers (UI only)

    def choose_template_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "保存填报模板", str(Path.home() / "台账填报模板.xlsx"),
                                              "Excel 工作簿 (*.xlsx)")
        if path:
            self.make_template(Path(path))

    def choose_export_file(self) -> None:
        name = (self.ctx.identity.org_name if self.ctx.identity else "台账") + "-台账导出.xlsx"
        path, _ = QFileDialog.getSaveFileName(self, "导出为 Excel", str(Path.home() / name),
                                              "Excel 工作簿 (*.xlsx)")
        if path:
            self.export_to(Path(path))

    def choose_csv_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择保存 CSV 的文件夹", str(Path.home()))
        if folder:
            self.export_csv_to(Path(folder))

    def choose_import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "选择要导入的工作簿", str(Path.home()),
                                                "Excel 工作簿 (*.xlsx *.xlsm)")
        if paths:
            self.import_paths([Path(p) for p in paths], dry_run=self.dry_run.isChecked())

    def choose_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择存放工作簿的文件夹", str(Path.home()))
        if folder:
            self.import_paths([Path(folder)], dry_run=self.dry_run.isChecked())

    # ------------------------------------------------------------------ actions (also driven by tests)

    def make_template(self, path: Path) -> None:
        period = self._period()
        if period is False:
            return
        repo, org = self.ctx.repo, self.org_code

        def work(job):
            from exchange.export import write_template

            job.progress(0, 0, "正在生成模板…")
            return write_template(repo, path, org_code=org, period=period)

        self._busy(True)
        self._say("正在生成模板…")
        self.handle = (op(work).with_progress("正在生成填报模板")
                       .success(lambda p: (self._busy(False), self._say(f"已生成填报模板：{p}")))
                       .failure(self._failed)
                       .run_in_background(self))

    def export_to(self, path: Path) -> None:
        period, choice = self._period(), self._full_choice()
        if period is False or choice is None:
            return
        repo, org = self.ctx.repo, self.org_code
        full, purpose = choice

        def work(job):
            from exchange.export import export_workbook

            return export_workbook(repo, path, org_code=org, period=period, full=full, purpose=purpose,
                                   progress=lambda n: job.progress(n, 0, f"已写出 {n} 条"))

        def done(result):
            self._busy(False)
            written, n = result
            self._say(f"已导出 {n} 条记录到 {written}" + (f"（填报期 {period}）" if period else "") + _how(full))

        self._busy(True)
        self._say("正在导出…")
        self.handle = (self._export_job(work, full).with_progress("正在导出 Excel").success(done).failure(self._failed)
                       .on_cancelled(lambda: (self._busy(False), self._say("已取消导出")))
                       .run_in_background(self))

    def export_csv_to(self, folder: Path) -> None:
        period, choice = self._period(), self._full_choice()
        if period is False or choice is None:
            return
        repo, org = self.ctx.repo, self.org_code
        full, purpose = choice

        def work(job):
            from exchange.export import export_csv

            job.progress(0, 0, "正在导出 CSV…")
            return export_csv(repo, folder, org_code=org, period=period, full=full, purpose=purpose)

        self._busy(True)
        self.handle = (self._export_job(work, full).with_progress("正在导出 CSV")
                       .success(lambda paths: (self._busy(False),
                                               self._say(f"已导出 {len(paths)} 个 CSV 文件（UTF-8 带 BOM）到 {folder}"
                                                         + _how(full))))
                       .failure(self._failed)
                       .run_in_background(self))

    def import_paths(self, paths: list[Path], *, dry_run: bool) -> None:
        repo, scope = self.ctx.repo, self.org_code
        self.results = []
        self.summary.clear()

        def work(job):
            from exchange.importer import import_files

            def progress(p):
                text = f"第 {p.file_index + 1}/{p.file_count} 个：{p.path.name}，{p.stage} {p.rows} 行"
                try:
                    job.progress(p.file_index, p.file_count, text)
                except JobCancelled:
                    pass  # the importer sees the flag next and rolls the current workbook back

            return import_files(repo, paths, scope=scope, dry_run=dry_run, report_dir=report_dir(),
                                progress=progress, cancel=job.cancelled, on_result=self.results.append)

        def show(cancelled: bool = False):
            self._busy(False)
            # 取消 may land while the job runs: the importer then returns normally with the workbook
            # in progress marked cancelled (rolled back) — the user must still read "已取消"
            cancelled = cancelled or any(r.status == "cancelled" for r in self.results)
            text = "\n\n".join(r.text() for r in self.results)
            ok = sum(1 for r in self.results if r.ok)
            rejected = sum(1 for r in self.results if r.status == "rejected")
            verb = "可导入" if dry_run else "已导入"
            head = f"共 {len(self.results)} 个工作簿：{verb} {ok} 个，拒绝 {rejected} 个"
            if dry_run:
                head += "（试运行，未写入任何数据；取消勾选“只检查”后再导入）"
            if cancelled:
                head = "已取消：正在导入的工作簿未写入任何数据。" + head
            self.summary.setPlainText(head + "\n\n" + text)
            self._say(head, error=bool(rejected) or cancelled)

        self._busy(True)
        self._say("正在检查工作簿…" if dry_run else "正在导入…")
        job = write_op(work) if not dry_run else op(work)
        if not dry_run:
            job = job.affects(*workbook_types())
        self.handle = (job.with_progress("正在检查工作簿" if dry_run else "正在导入工作簿")
                       .success(lambda _results: show())
                       .failure(self._failed)
                       .on_cancelled(lambda: show(cancelled=True))
                       .run_in_background(self))


def _how(full: bool) -> str:
    return "；身份号码和手机号完整，本次导出已记录" if full else "；身份号码和手机号已遮挡"


def create_page(ctx) -> QWidget:
    return ExchangePage(ctx)
